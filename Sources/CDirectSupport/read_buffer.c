/* The per-thread receive buffer of the direct driver (see direct_support.h). */
#include <pthread.h>
#include <stdlib.h>

#include "direct_support.h"

static pthread_key_t buffer_key;
static pthread_once_t buffer_once = PTHREAD_ONCE_INIT;

static void make_key(void) { pthread_key_create(&buffer_key, free); }

void *zkd_thread_read_buffer(void) {
    void *buffer;
    pthread_once(&buffer_once, make_key);
    buffer = pthread_getspecific(buffer_key);
    if (buffer == NULL) {
        buffer = malloc(ZKD_READ_BUFFER_SIZE);
        if (buffer != NULL && pthread_setspecific(buffer_key, buffer) != 0) {
            free(buffer);
            buffer = NULL;
        }
    }
    return buffer;
}
