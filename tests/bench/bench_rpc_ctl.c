/* SPDX-License-Identifier: MIT */
/*
 * bench_rpc's measuring plumbing: the server's CPU and VmRSS, read from
 * the client (the server's CPU clock through clock_getcpuclockid, exact to
 * the nanosecond and covering only the window; its /proc status), and the
 * latency samples.
 *
 * Nothing runs in the server for this: an earlier control thread there
 * made every server a multi-threaded process, and glibc then wraps each
 * system call of a multi-threaded process in cancellation bookkeeping and
 * takes real locks in malloc, a cost per call that no single-threaded
 * server pays (it is what bench_echo's servers are measured as).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_rpc.h"

int64_t rpc_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t vmrss_at(const char *status)
{
    char line[128];
    long kb = -1;
    FILE *f = fopen(status, "r");

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : (int64_t)kb * 1024;
}

int64_t rpc_vmrss(void)
{
    return vmrss_at("/proc/self/status");
}

static int write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The server's CPU clock in microseconds, or -1. */
static int64_t server_cpu_us(pid_t server)
{
    clockid_t clock;
    struct timespec ts;

    if (clock_getcpuclockid(server, &clock) != 0 ||
        clock_gettime(clock, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t rpc_ctl_ask(const struct rpc_load *ld, char cmd)
{
    static int64_t start = -1; /* one window at a time per client */
    char status[64];
    int64_t now;

    switch (cmd) {
    case CTL_START:
        start = server_cpu_us(ld->server);
        return start < 0 ? -1 : 0;
    case CTL_END:
        now = server_cpu_us(ld->server);
        return now < 0 || start < 0 ? -1 : now - start;
    case CTL_RSS:
        snprintf(status, sizeof(status), "/proc/%ld/status", (long)ld->server);
        return vmrss_at(status);
    default:
        return -1;
    }
}

void rpc_report_port(int reply_fd, int port, const char *error)
{
    char msg[sizeof(int) + 120] = {0};

    memcpy(msg, &port, sizeof(port));
    if (error)
        snprintf(msg + sizeof(port), 120, "%s", error);
    if (write_full(reply_fd, msg, sizeof(msg)) != 0)
        _exit(1);
}

/* ---- Samples ---- */

int rpc_samples_init(struct rpc_samples *s, long cap)
{
    s->n = s->total = 0;
    s->cap = cap;
    s->ns = malloc((size_t)cap * sizeof(*s->ns));
    return s->ns ? 0 : -1;
}

void rpc_samples_add(struct rpc_samples *s, int64_t ns)
{
    s->total++;
    if (s->n < s->cap)
        s->ns[s->n++] = ns > (int64_t)UINT32_MAX ? UINT32_MAX
                        : ns < 0                 ? 0
                                                 : (uint32_t)ns;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

static double quantile_us(const struct rpc_samples *s, double q)
{
    long i = (long)(q * (double)s->n);

    if (i >= s->n)
        i = s->n - 1;
    return s->ns[i] / 1e3;
}

void rpc_samples_summarise(struct rpc_samples *s, double window_s,
                           int64_t srv_cpu_us, struct rpc_result *r)
{
    if (s->n == 0 || window_s <= 0 || srv_cpu_us < 0) {
        snprintf(r->error, sizeof(r->error), "no call measured");
        return;
    }
    qsort(s->ns, (size_t)s->n, sizeof(*s->ns), cmp_u32);
    r->calls = s->total;
    r->cps = (double)s->total / window_s;
    r->p50_us = quantile_us(s, 0.50);
    r->p99_us = quantile_us(s, 0.99);
    r->srv_cpu_us = (double)srv_cpu_us / (double)s->total;
    r->ok = 1;
}

void rpc_samples_free(struct rpc_samples *s)
{
    free(s->ns);
    s->ns = NULL;
}
