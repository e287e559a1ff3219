/* Shared helpers for the C benchmark peers: clocks, rusage, percentiles, the JSON result line.
 * Result line convention (see bench/run.sh): exactly one line on stdout starting with '{'. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct { double user, sys; long maxrss_kb; } usage_t;

static inline usage_t usage_now(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    usage_t u = { ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6,
                  ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6, ru.ru_maxrss };
    return u;
}

/* A field of /proc/self/status, in its own unit (kB for Vm*, a count for Threads); -1 if absent. */
static inline long proc_status(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t n = strlen(key);
    long v = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') { v = strtol(line + n + 1, NULL, 10); break; }
    fclose(f);
    return v;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n samples (sorts in place). */
static inline double percentile(double *v, long n, double p) {
    if (n <= 0) return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    long k = (long)(p / 100.0 * (double)n + 0.999999) - 1;
    if (k < 0) k = 0;
    if (k >= n) k = n - 1;
    return v[k];
}

/* Sorts lat_us; prints the standard result line for an op workload. */
static inline void print_ops_result(const char *client, const char *workload, long ops, long errors,
                                    double seconds, double *lat_us, long nlat, usage_t u0, usage_t u1,
                                    int window) {
    double p50 = percentile(lat_us, nlat, 50), p99 = percentile(lat_us, nlat, 99);
    printf("{\"client\":\"%s\",\"workload\":\"%s\",\"ops\":%ld,\"errors\":%ld,\"seconds\":%.6f,"
           "\"window\":%d,\"p50_us\":%.1f,\"p99_us\":%.1f,\"cpu_user_s\":%.6f,\"cpu_sys_s\":%.6f,"
           "\"max_rss_kb\":%ld}\n",
           client, workload, ops, errors, seconds, window, p50, p99, u1.user - u0.user,
           u1.sys - u0.sys, u1.maxrss_kb);
    fflush(stdout);
}
#endif
