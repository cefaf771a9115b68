/* SPDX-License-Identifier: MIT */
/*
 * Timing, medians and output shared by the benchmark files.
 *
 * Every figure is one line "name: value unit" (or "name: skipped"), so a
 * script can pick figures out with grep. A figure is the median of several
 * runs: the median ignores the odd run disturbed by an interrupt or a
 * page-cache hiccup, where a mean would not.
 */
#ifndef LWP_BENCH_UTIL_H
#define LWP_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Returned by a peer benchmark that is not built or cannot run here. */
#define BENCH_SKIPPED (-1.0)

/* One run of a benchmark over n operations; returns ns per operation. */
typedef double (*bench_run_fn)(long n);

static inline double bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Median of v[0..n-1]; sorts v in place. */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* One benchmark of a group, and its result. */
struct bench_item {
    bench_run_fn fn;
    long n;
    double ns; /* median ns per operation, or BENCH_SKIPPED */
};

/* Runs every item `runs` times, round-robin, and stores each median.
 * Round-robin rather than item after item: figures that are compared with
 * each other then share whatever else the machine was doing. An item whose
 * first run is skipped is not run again. */
static inline void bench_group(struct bench_item *items, int count, int runs)
{
    double *v = malloc((size_t)(count * runs) * sizeof(*v));

    if (!v) {
        perror("bench: malloc");
        exit(1);
    }
    for (int r = 0; r < runs; r++)
        for (int i = 0; i < count; i++)
            if (r == 0 || v[i * runs] != BENCH_SKIPPED)
                v[i * runs + r] = items[i].fn(items[i].n);
    for (int i = 0; i < count; i++)
        items[i].ns = v[i * runs] == BENCH_SKIPPED
                          ? BENCH_SKIPPED
                          : bench_median(v + i * runs, runs);
    free(v);
}

static inline void bench_print(const char *name, double value,
                               const char *unit)
{
    if (value == BENCH_SKIPPED)
        printf("%s: skipped\n", name);
    else if (value >= 1000.0 || value == (double)(long)value)
        printf("%s: %.0f %s\n", name, value, unit);
    else
        printf("%s: %.2f %s\n", name, value, unit);
    fflush(stdout);
}

/* Prints num/den, or "skipped" when either side is missing. */
static inline void bench_ratio(const char *name, double num, double den)
{
    if (num == BENCH_SKIPPED || den == BENCH_SKIPPED || den <= 0.0)
        printf("%s: skipped\n", name);
    else
        printf("%s: %.2f ratio\n", name, num / den);
    fflush(stdout);
}

static inline void bench_fail(const char *what, int code)
{
    fprintf(stderr, "bench: %s failed (%d)\n", what, code);
    exit(1);
}

/* Other processes on the machine inflate every figure: headers print the
 * load average, so a reader can tell a slow library from a busy box.
 * Fills buf with /proc/loadavg's first line, or "?". */
static inline void bench_loadavg(char *buf, size_t size)
{
    FILE *f = fopen("/proc/loadavg", "r");

    snprintf(buf, size, "?");
    if (!f)
        return;
    if (!fgets(buf, (int)size, f))
        snprintf(buf, size, "?");
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
}

/* The options of bench_lwp and bench_iomgr: --quick sets *div to 10 (the
 * benchmark divides its counts by it), --runs N sets *runs (1..99). */
static inline void bench_parse_args(int argc, char **argv, int *runs,
                                    long *div)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            *div = 10;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc &&
                   atoi(argv[i + 1]) >= 1 && atoi(argv[i + 1]) <= 99) {
            *runs = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--quick] [--runs N]\n", argv[0]);
            exit(2);
        }
    }
}

#ifdef _GNU_SOURCE
#include <sched.h>

/* The last CPU of this process's affinity mask (the one `taskset -c N`
 * gave), or -1 if the mask cannot be read. */
static inline int bench_last_cpu(void)
{
    cpu_set_t set;

    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return -1;
    for (int c = CPU_SETSIZE - 1; c >= 0; c--)
        if (CPU_ISSET(c, &set))
            return c;
    return -1;
}
#endif

#endif /* LWP_BENCH_UTIL_H */
