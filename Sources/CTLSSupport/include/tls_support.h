#ifndef ZK_TLS_SUPPORT_H
#define ZK_TLS_SUPPORT_H
// TLS through memory BIOs (Debian's OpenSSL): the caller keeps its own socket and moves the
// ciphertext; these calls only turn bytes into bytes. Messages go into `err` (never key data).
#include <stddef.h>
#include <stdint.h>

typedef struct zkt_ctx zkt_ctx;
typedef struct zkt_conn zkt_conn;

enum {
    ZKT_OK = 1,
    ZKT_WANT = 0,      // needs more input from the network
    ZKT_ERROR = -1,    // the connection is broken (retrying may help)
    ZKT_REFUSED = -2,  // a certificate failed one way or the other (retrying will not help)
    ZKT_CLOSED = -3,   // the peer closed the TLS session
};

// NULL with a message when a file cannot be used. verify: check the peer and its name.
zkt_ctx *zkt_ctx_new(const char *ca_file, const char *cert_file, const char *key_file, int verify,
                     char *err, size_t err_len);
void zkt_ctx_free(zkt_ctx *ctx);

// A client connection that expects `name` (a DNS name, sent as SNI, or an IP address).
zkt_conn *zkt_conn_new(zkt_ctx *ctx, const char *name, char *err, size_t err_len);
void zkt_conn_free(zkt_conn *conn);

// Ciphertext from the network.
int zkt_feed(zkt_conn *conn, const uint8_t *data, size_t len);
// Ciphertext for the network: how much waits, and taking it.
size_t zkt_output_pending(zkt_conn *conn);
size_t zkt_take_output(zkt_conn *conn, uint8_t *buffer, size_t capacity);

// Advances the handshake: ZKT_OK once done, ZKT_WANT, ZKT_ERROR or ZKT_REFUSED.
int zkt_handshake(zkt_conn *conn, char *err, size_t err_len);
// Encrypts all of `data` (after the handshake): ZKT_OK or ZKT_ERROR.
int zkt_write(zkt_conn *conn, const uint8_t *data, size_t len, char *err, size_t err_len);
// Decrypts into `buffer`: bytes read (> 0), or ZKT_WANT, ZKT_ERROR, ZKT_REFUSED, ZKT_CLOSED.
long zkt_read(zkt_conn *conn, uint8_t *buffer, size_t capacity, char *err, size_t err_len);

#endif
