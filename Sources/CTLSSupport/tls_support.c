#include "tls_support.h"

#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct zkt_ctx {
    SSL_CTX *ssl_ctx;
    int verify;
};

struct zkt_conn {
    SSL *ssl;
    BIO *in;   // network -> OpenSSL
    BIO *out;  // OpenSSL -> network
};

// The newest OpenSSL error, or `fallback`.
static void error_text(char *err, size_t err_len, const char *prefix, const char *fallback) {
    unsigned long code = ERR_peek_last_error();
    char reason[256];
    if (code != 0) {
        ERR_error_string_n(code, reason, sizeof reason);
    } else {
        snprintf(reason, sizeof reason, "%s", fallback);
    }
    ERR_clear_error();
    if (err && err_len) snprintf(err, err_len, "%s%s", prefix, reason);
}

zkt_ctx *zkt_ctx_new(const char *ca_file, const char *cert_file, const char *key_file, int verify,
                     char *err, size_t err_len) {
    ERR_clear_error();
    SSL_CTX *ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!ssl_ctx) {
        error_text(err, err_len, "TLS: ", "cannot create a context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ssl_ctx, TLS1_2_VERSION);
    int ok = ca_file ? SSL_CTX_load_verify_locations(ssl_ctx, ca_file, NULL) : SSL_CTX_set_default_verify_paths(ssl_ctx);
    if (ok != 1) {
        error_text(err, err_len, "TLS: cannot load the CA file: ", "unreadable");
        SSL_CTX_free(ssl_ctx);
        return NULL;
    }
    if (cert_file) {
        if (SSL_CTX_use_certificate_chain_file(ssl_ctx, cert_file) != 1) {
            error_text(err, err_len, "TLS: cannot load the certificate file: ", "unreadable");
            SSL_CTX_free(ssl_ctx);
            return NULL;
        }
        if (!key_file || SSL_CTX_use_PrivateKey_file(ssl_ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ssl_ctx) != 1) {
            error_text(err, err_len, "TLS: cannot use the key file: ", "missing or not the certificate's key");
            SSL_CTX_free(ssl_ctx);
            return NULL;
        }
    }
    SSL_CTX_set_verify(ssl_ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    zkt_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        SSL_CTX_free(ssl_ctx);
        if (err && err_len) snprintf(err, err_len, "TLS: out of memory");
        return NULL;
    }
    ctx->ssl_ctx = ssl_ctx;
    ctx->verify = verify;
    return ctx;
}

void zkt_ctx_free(zkt_ctx *ctx) {
    if (!ctx) return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

zkt_conn *zkt_conn_new(zkt_ctx *ctx, const char *name, char *err, size_t err_len) {
    ERR_clear_error();
    zkt_conn *conn = calloc(1, sizeof *conn);
    if (!conn) goto fail;
    conn->ssl = SSL_new(ctx->ssl_ctx);
    conn->in = BIO_new(BIO_s_mem());
    conn->out = BIO_new(BIO_s_mem());
    if (!conn->ssl || !conn->in || !conn->out) goto fail;
    SSL_set_bio(conn->ssl, conn->in, conn->out);  // the SSL owns both BIOs from here
    SSL_set_connect_state(conn->ssl);
    if (name && *name) {
        X509_VERIFY_PARAM *param = SSL_get0_param(conn->ssl);
        // An IP address is checked against the certificate's IP entries and sent without SNI.
        if (X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1) {
            ERR_clear_error();
            SSL_set_tlsext_host_name(conn->ssl, name);
            if (ctx->verify && SSL_set1_host(conn->ssl, name) != 1) goto fail;
        }
    }
    return conn;
fail:
    error_text(err, err_len, "TLS: ", "cannot create a connection");
    if (conn) {
        if (conn->ssl) {
            SSL_free(conn->ssl);  // frees the BIOs once they are attached
        } else {
            BIO_free(conn->in);
            BIO_free(conn->out);
        }
        free(conn);
    }
    return NULL;
}

void zkt_conn_free(zkt_conn *conn) {
    if (!conn) return;
    SSL_free(conn->ssl);
    free(conn);
}

int zkt_feed(zkt_conn *conn, const uint8_t *data, size_t len) {
    return len == 0 || BIO_write(conn->in, data, (int)len) == (int)len ? ZKT_OK : ZKT_ERROR;
}

size_t zkt_output_pending(zkt_conn *conn) { return BIO_ctrl_pending(conn->out); }

size_t zkt_take_output(zkt_conn *conn, uint8_t *buffer, size_t capacity) {
    int n = BIO_read(conn->out, buffer, (int)(capacity > 0x7fffffff ? 0x7fffffff : capacity));
    return n > 0 ? (size_t)n : 0;
}

// A failed SSL call: a certificate problem (ours or theirs) is a refusal, the rest an error.
static int failure(zkt_conn *conn, int rc, char *err, size_t err_len, const char *prefix) {
    int code = SSL_get_error(conn->ssl, rc);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return ZKT_WANT;
    if (code == SSL_ERROR_ZERO_RETURN) return ZKT_CLOSED;
    long verify = SSL_get_verify_result(conn->ssl);
    if (verify != X509_V_OK) {
        ERR_clear_error();
        if (err && err_len) snprintf(err, err_len, "%scertificate verify failed: %s", prefix, X509_verify_cert_error_string(verify));
        return ZKT_REFUSED;
    }
    unsigned long last = ERR_peek_last_error();
    int library = ERR_GET_LIB(last);
    int reason = ERR_GET_REASON(last);
    error_text(err, err_len, prefix, code == SSL_ERROR_SYSCALL ? "connection closed" : "protocol error");
    if (library == ERR_LIB_SSL && (reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE || reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
                                   reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA || reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN ||
                                   reason == SSL_R_TLSV1_ALERT_ACCESS_DENIED || reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE ||
                                   reason == SSL_R_CERTIFICATE_VERIFY_FAILED)) {
        return ZKT_REFUSED;
    }
    return ZKT_ERROR;
}

int zkt_handshake(zkt_conn *conn, char *err, size_t err_len) {
    ERR_clear_error();
    int rc = SSL_do_handshake(conn->ssl);
    if (rc == 1) return ZKT_OK;
    int result = failure(conn, rc, err, err_len, "TLS handshake failed: ");
    return result == ZKT_CLOSED ? ZKT_ERROR : result;
}

int zkt_write(zkt_conn *conn, const uint8_t *data, size_t len, char *err, size_t err_len) {
    ERR_clear_error();
    while (len > 0) {
        int chunk = len > 0x40000000 ? 0x40000000 : (int)len;
        int n = SSL_write(conn->ssl, data, chunk);
        if (n <= 0) {
            int result = failure(conn, n, err, err_len, "TLS: ");
            return result == ZKT_REFUSED ? ZKT_REFUSED : ZKT_ERROR;  // memory BIOs never want
        }
        data += n;
        len -= (size_t)n;
    }
    return ZKT_OK;
}

long zkt_read(zkt_conn *conn, uint8_t *buffer, size_t capacity, char *err, size_t err_len) {
    ERR_clear_error();
    int n = SSL_read(conn->ssl, buffer, (int)(capacity > 0x7fffffff ? 0x7fffffff : capacity));
    if (n > 0) return n;
    return failure(conn, n, err, err_len, "TLS: ");
}
