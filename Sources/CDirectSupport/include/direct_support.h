/* epoll and eventfd for the direct driver: Swift's Glibc module does not expose them, and
 * struct epoll_event is packed, so these small wrappers hand over plain values instead. */
#ifndef DIRECT_SUPPORT_H
#define DIRECT_SUPPORT_H

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

enum {
    ZKD_IN = EPOLLIN, ZKD_OUT = EPOLLOUT, ZKD_ERR = EPOLLERR, ZKD_HUP = EPOLLHUP, ZKD_RDHUP = EPOLLRDHUP,
};

static inline int zkd_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static inline int zkd_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

/* Watches fd once (EPOLLONESHOT) for events, tagged with token; adds it when not yet there. */
static inline int zkd_epoll_arm(int epoll, int fd, uint32_t events, uint64_t token, int oneshot) {
    struct epoll_event event;
    event.events = events | (oneshot ? EPOLLONESHOT : 0);
    event.data.u64 = token;
    if (epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event) == 0) return 0;
    return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
}

/* Waits for up to 64 events; fills tokens and events, returns how many (or -1). */
static inline int zkd_epoll_wait(int epoll, uint64_t *tokens, uint32_t *events, int timeout) {
    struct epoll_event ready[64];
    int n = epoll_wait(epoll, ready, 64, timeout), i;
    for (i = 0; i < n; i++) {
        tokens[i] = ready[i].data.u64;
        events[i] = ready[i].events;
    }
    return n;
}

/* A receive buffer of ZKD_READ_BUFFER_SIZE bytes owned by the calling thread (freed when it
 * exits): reads need no allocation per call, and idle sessions hold no buffer. NULL if out of
 * memory. */
enum { ZKD_READ_BUFFER_SIZE = 64 * 1024 };
void *zkd_thread_read_buffer(void);

#endif
