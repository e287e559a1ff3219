/* bare: the ceiling. One blocking TCP socket, ZooKeeper frames written by hand, no library.
 *
 *   bare HOST:PORT WORKLOAD N SECONDS
 *
 * WORKLOAD: exists | get | set   sequential: write one request, read its reply, repeat
 *           pexists | pget       pipelined: write BENCH_WINDOW (default 1000) requests, then for
 *                                each reply read (one frame at a time) write one more request
 * Stops after N ops or SECONDS, whichever comes first. Paths: BENCH_PATH (default /bench/node,
 * read workloads) and BENCH_SET_PATH (default /bench/set, the set workload; 100-byte value).
 * Replies are read through a user-space buffer (recv() as much as is there, then frame by frame).
 * Prints one JSON line (see common.h). Build: gcc -O2 -o bare bare.c */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>
#include "common.h"

static int fd = -1;
static unsigned char rbuf[1 << 20];
static size_t rstart, rend;

static void die(const char *msg) { fprintf(stderr, "bare: %s (errno %d: %s)\n", msg, errno, strerror(errno)); exit(1); }

static void write_all(const void *p, size_t n) {
    const unsigned char *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0) { if (errno == EINTR) continue; die("write"); }
        b += w; n -= (size_t)w;
    }
}

static void fill(size_t need) {   /* make rend - rstart >= need */
    if (rend - rstart >= need) return;
    if (rstart > 0) { memmove(rbuf, rbuf + rstart, rend - rstart); rend -= rstart; rstart = 0; }
    if (need > sizeof rbuf) die("frame too large");
    while (rend < need) {
        ssize_t r = recv(fd, rbuf + rend, sizeof rbuf - rend, 0);
        if (r < 0) { if (errno == EINTR) continue; die("recv"); }
        if (r == 0) { errno = 0; die("connection closed by server"); }
        rend += (size_t)r;
    }
}

static uint32_t get32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static unsigned char *put32(unsigned char *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; return p + 4; }
static unsigned char *put64(unsigned char *p, uint64_t v) { p = put32(p, (uint32_t)(v >> 32)); return put32(p, (uint32_t)v); }

/* Returns a pointer to the payload of the next frame; *len gets its length. Valid until the next call. */
static const unsigned char *read_frame(uint32_t *len) {
    fill(4);
    *len = get32(rbuf + rstart);
    fill(4 + (size_t)*len);
    const unsigned char *p = rbuf + rstart + 4;
    rstart += 4 + *len;
    return p;
}

/* request builders: return the frame length; xid at offset 4 */
static size_t build_read(unsigned char *f, int type, const char *path) {
    size_t pl = strlen(path);
    unsigned char *p = f + 4;
    p = put32(p, 0); p = put32(p, (uint32_t)type);
    p = put32(p, (uint32_t)pl); memcpy(p, path, pl); p += pl;
    *p++ = 0;   /* watch = false, one byte */
    put32(f, (uint32_t)(p - f - 4));
    return (size_t)(p - f);
}

static size_t build_set(unsigned char *f, const char *path, const unsigned char *data, size_t dl) {
    size_t pl = strlen(path);
    unsigned char *p = f + 4;
    p = put32(p, 0); p = put32(p, 5);
    p = put32(p, (uint32_t)pl); memcpy(p, path, pl); p += pl;
    p = put32(p, (uint32_t)dl); memcpy(p, data, dl); p += dl;
    p = put32(p, 0xffffffffu);   /* version -1 */
    put32(f, (uint32_t)(p - f - 4));
    return (size_t)(p - f);
}

static void connect_to(const char *cs) {
    char host[256];
    const char *first_end = strchr(cs, ',');
    size_t n = first_end ? (size_t)(first_end - cs) : strlen(cs);
    if (n >= sizeof host) die("connect string too long");
    memcpy(host, cs, n); host[n] = 0;
    char *colon = strrchr(host, ':');
    if (!colon) die("connect string must be HOST:PORT");
    *colon = 0;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) die("getaddrinfo");
    fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) die("connect");
    freeaddrinfo(ai);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    /* ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly */
    unsigned char f[64], *p = f + 4;
    p = put32(p, 0); p = put64(p, 0); p = put32(p, 30000); p = put64(p, 0);
    p = put32(p, 16); memset(p, 0, 16); p += 16;
    *p++ = 0;
    put32(f, (uint32_t)(p - f - 4));
    write_all(f, (size_t)(p - f));
    uint32_t len;
    const unsigned char *r = read_frame(&len);
    if (len < 20) die("short ConnectResponse");
    uint32_t timeout = get32(r + 4);
    if (timeout == 0) { errno = 0; die("session refused (negotiated timeout 0)"); }
}

static void close_session(int xid) {
    unsigned char f[12];
    put32(f, 8); put32(f + 4, (uint32_t)xid); put32(f + 8, (uint32_t)-11);
    write_all(f, sizeof f);
    uint32_t len;
    read_frame(&len);
    close(fd);
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: bare HOST:PORT exists|get|set|pexists|pget N SECONDS\n"); return 2; }
    const char *cs = argv[1], *workload = argv[2];
    long n = atol(argv[3]);
    double limit = atof(argv[4]);
    const char *path = getenv("BENCH_PATH") ? getenv("BENCH_PATH") : "/bench/node";
    const char *set_path = getenv("BENCH_SET_PATH") ? getenv("BENCH_SET_PATH") : "/bench/set";
    int window = getenv("BENCH_WINDOW") ? atoi(getenv("BENCH_WINDOW")) : 1000;
    int pipelined = workload[0] == 'p';
    const char *op = pipelined ? workload + 1 : workload;
    int type;
    if (strcmp(op, "exists") == 0) type = 3;
    else if (strcmp(op, "get") == 0) type = 4;
    else if (strcmp(op, "set") == 0 && !pipelined) type = 5;
    else { fprintf(stderr, "bare: unsupported workload %s\n", workload); return 2; }

    connect_to(cs);
    unsigned char req[512], value[100];
    memset(value, 'x', sizeof value);
    size_t rl = type == 5 ? build_set(req, set_path, value, sizeof value) : build_read(req, type, path);
    double *lat = malloc(sizeof(double) * (size_t)n);
    double *sent = pipelined ? malloc(sizeof(double) * (size_t)n) : NULL;
    if (!lat || (pipelined && !sent)) die("malloc");
    long done = 0, errors = 0, issued = 0;
    int xid = 1;

    usage_t u0 = usage_now();
    double t0 = now_s(), deadline = t0 + limit, t_end;
    if (!pipelined) {
        while (done < n) {
            put32(req + 4, (uint32_t)xid);
            double ts = now_s();
            write_all(req, rl);
            uint32_t len;
            const unsigned char *r = read_frame(&len);
            double te = now_s();
            if (len < 16 || get32(r) != (uint32_t)xid) { errno = 0; die("unexpected reply"); }
            if (get32(r + 12) != 0) errors++;
            lat[done++] = (te - ts) * 1e6;
            xid++;
            if ((done & 63) == 0 && te > deadline) break;
        }
    } else {
        /* xid = issue index + 1, so a reply's xid finds its send time */
        int stop = 0;
        while (issued < n && issued < window) {
            put32(req + 4, (uint32_t)(issued + 1));
            sent[issued] = now_s();
            write_all(req, rl);
            issued++;
        }
        while (done < issued) {
            uint32_t len;
            const unsigned char *r = read_frame(&len);
            double te = now_s();
            uint32_t rx = get32(r);
            if (len < 16 || rx < 1 || rx > (uint32_t)issued) { errno = 0; die("unexpected reply"); }
            if (get32(r + 12) != 0) errors++;
            lat[done++] = (te - sent[rx - 1]) * 1e6;
            if (!stop && (done & 63) == 0 && te > deadline) stop = 1;
            if (!stop && issued < n) {
                put32(req + 4, (uint32_t)(issued + 1));
                sent[issued] = te;
                write_all(req, rl);
                issued++;
            }
        }
        xid = (int)issued + 1;
    }
    t_end = now_s();
    usage_t u1 = usage_now();
    close_session(xid);
    print_ops_result("bare", workload, done, errors, t_end - t0, lat, done, u0, u1, pipelined ? window : 1);
    return 0;
}
