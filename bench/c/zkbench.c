/* zkbench: the official ZooKeeper C client (libzookeeper_mt, Debian libzookeeper-mt-dev).
 *
 *   zkbench HOST:PORT WORKLOAD N SECONDS
 *
 * WORKLOAD: exists | get | set   sequential sync calls: zoo_exists / zoo_get (100 B) / zoo_set (100 B)
 *           pexists | pget       async zoo_aexists / zoo_aget keeping BENCH_WINDOW (default 1000)
 *                                requests outstanding (each completion issues the next) until N done
 *           idle                 N sessions held by this one process for SECONDS; reports RSS,
 *                                CPU over the hold, and the thread count (2 threads per handle)
 * Op workloads stop after N ops or SECONDS, whichever comes first. Paths: BENCH_PATH (default
 * /bench/node), BENCH_SET_PATH (default /bench/set). BENCH_SESSION_TIMEOUT (ms, default 30000;
 * idle uses BENCH_IDLE_SESSION_TIMEOUT, default 10000).
 * Build: gcc -O2 -o zkbench zkbench.c -lzookeeper_mt -lpthread */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#define THREADED 1   /* the sync API (zoo_exists, zoo_get, zoo_set) is declared only for the mt library */
#include <zookeeper/zookeeper.h>
#include "common.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long connected;      /* sessions that reached CONNECTED */

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh; (void)path; (void)ctx;
    if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) {
        pthread_mutex_lock(&mu);
        connected++;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
}

/* Waits until `want` sessions are connected or `secs` pass; returns the number connected. */
static long wait_connected(long want, double secs) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)secs;
    pthread_mutex_lock(&mu);
    while (connected < want)
        if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT) break;
    long c = connected;
    pthread_mutex_unlock(&mu);
    return c;
}

static int env_int(const char *k, int d) { const char *v = getenv(k); return v ? atoi(v) : d; }

/* ---- pipelined state ---- */
static zhandle_t *pzh;
static const char *ppath;
static int pget_mode;
static long p_n, p_issued, p_done, p_errors, p_stop;
static double *p_sent, *p_lat, p_deadline, p_tlast;

static void issue_locked(void);

static void complete(long idx, int rc) {
    double t = now_s();
    pthread_mutex_lock(&mu);
    p_lat[p_done++] = (t - p_sent[idx]) * 1e6;
    if (rc != ZOK) p_errors++;
    p_tlast = t;
    if (!p_stop && (p_done & 63) == 0 && t > p_deadline) p_stop = 1;
    if (!p_stop && p_issued < p_n) issue_locked();
    if (p_done == p_issued) pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void stat_done(int rc, const struct Stat *stat, const void *data) { (void)stat; complete((long)(intptr_t)data, rc); }
static void data_done(int rc, const char *v, int vl, const struct Stat *stat, const void *data) {
    (void)v; (void)vl; (void)stat; complete((long)(intptr_t)data, rc);
}

static void issue_locked(void) {
    long idx = p_issued++;
    p_sent[idx] = now_s();
    int rc = pget_mode ? zoo_aget(pzh, ppath, 0, data_done, (void *)(intptr_t)idx)
                       : zoo_aexists(pzh, ppath, 0, stat_done, (void *)(intptr_t)idx);
    if (rc != ZOK) { fprintf(stderr, "zkbench: async call failed: %s\n", zerror(rc)); exit(1); }
}

static zhandle_t *open_session(const char *cs, int timeout_ms) {
    zhandle_t *zh = zookeeper_init(cs, watcher, timeout_ms, 0, NULL, 0);
    if (!zh) { perror("zookeeper_init"); exit(1); }
    return zh;
}

static int run_idle(const char *cs, long n, double hold) {
    int tmo = env_int("BENCH_IDLE_SESSION_TIMEOUT", 10000);
    long base_rss = proc_status("VmRSS"), base_threads = proc_status("Threads");
    zhandle_t **zhs = calloc((size_t)n, sizeof *zhs);
    double t0 = now_s();
    for (long i = 0; i < n; i++) zhs[i] = open_session(cs, tmo);
    long c = wait_connected(n, 60);
    double t_conn = now_s() - t0;
    if (c < n) fprintf(stderr, "zkbench: only %ld of %ld sessions connected\n", c, n);
    usage_t u0 = usage_now();
    double h0 = now_s();
    sleep((unsigned)hold);
    double held = now_s() - h0;
    usage_t u1 = usage_now();
    long rss = proc_status("VmRSS"), threads = proc_status("Threads");
    for (long i = 0; i < n; i++) zookeeper_close(zhs[i]);
    printf("{\"client\":\"c\",\"workload\":\"idle\",\"sessions\":%ld,\"connected\":%ld,\"connect_s\":%.3f,"
           "\"seconds\":%.3f,\"session_timeout_ms\":%d,\"cpu_user_s\":%.6f,\"cpu_sys_s\":%.6f,"
           "\"rss_kb\":%ld,\"base_rss_kb\":%ld,\"max_rss_kb\":%ld,\"threads\":%ld,\"base_threads\":%ld}\n",
           n, c, t_conn, held, tmo, u1.user - u0.user, u1.sys - u0.sys, rss, base_rss, proc_status("VmHWM") > rss ? proc_status("VmHWM") : rss,
           threads, base_threads);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: zkbench HOST:PORT exists|get|set|pexists|pget|idle N SECONDS\n"); return 2; }
    const char *cs = argv[1], *workload = argv[2];
    long n = atol(argv[3]);
    double limit = atof(argv[4]);
    const char *path = getenv("BENCH_PATH") ? getenv("BENCH_PATH") : "/bench/node";
    const char *set_path = getenv("BENCH_SET_PATH") ? getenv("BENCH_SET_PATH") : "/bench/set";
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zoo_set_log_stream(stderr);

    if (strcmp(workload, "idle") == 0) return run_idle(cs, n, limit);
    int pipelined = workload[0] == 'p';
    const char *op = pipelined ? workload + 1 : workload;
    int kind = strcmp(op, "exists") == 0 ? 3 : strcmp(op, "get") == 0 ? 4 : (!pipelined && strcmp(op, "set") == 0) ? 5 : 0;
    if (!kind) { fprintf(stderr, "zkbench: unsupported workload %s\n", workload); return 2; }

    zhandle_t *zh = open_session(cs, env_int("BENCH_SESSION_TIMEOUT", 30000));
    if (wait_connected(1, 30) < 1) { fprintf(stderr, "zkbench: not connected\n"); return 1; }
    double *lat = malloc(sizeof(double) * (size_t)n);
    long done = 0, errors = 0;
    int window = 1;
    char value[100], buf[1024];
    memset(value, 'x', sizeof value);
    struct Stat st;

    usage_t u0 = usage_now();
    double t0 = now_s(), deadline = t0 + limit, t_end;
    if (!pipelined) {
        while (done < n) {
            double ts = now_s();
            int rc, len = sizeof buf;
            if (kind == 3) rc = zoo_exists(zh, path, 0, &st);
            else if (kind == 4) rc = zoo_get(zh, path, 0, buf, &len, &st);
            else rc = zoo_set(zh, set_path, value, sizeof value, -1);
            double te = now_s();
            if (rc != ZOK) errors++;
            lat[done++] = (te - ts) * 1e6;
            if ((done & 63) == 0 && te > deadline) break;
        }
        t_end = now_s();
    } else {
        window = env_int("BENCH_WINDOW", 1000);
        pzh = zh; ppath = path; pget_mode = kind == 4; p_n = n; p_deadline = deadline;
        p_sent = malloc(sizeof(double) * (size_t)n); p_lat = lat;
        pthread_mutex_lock(&mu);
        while (p_issued < n && p_issued < window) issue_locked();
        while (p_done < p_issued) pthread_cond_wait(&cv, &mu);
        done = p_done; errors = p_errors; t_end = p_tlast;
        pthread_mutex_unlock(&mu);
    }
    usage_t u1 = usage_now();
    zookeeper_close(zh);
    print_ops_result("c", workload, done, errors, t_end - t0, lat, done, u0, u1, window);
    return 0;
}
