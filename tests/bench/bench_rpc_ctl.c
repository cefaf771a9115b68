/* SPDX-License-Identifier: MIT */
/*
 * bench_rpc's measuring plumbing: the server's control thread (its own
 * getrusage over the client's window, and its VmRSS), the client's side
 * of that channel, and the latency samples.
 *
 * The control thread is an OS thread that only ever sleeps in read(): it
 * touches no LWP or RPC state, and getrusage(RUSAGE_SELF) counts every
 * thread of the server, the serving one included.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_rpc.h"

struct ctl {
    int ctl_fd, reply_fd;
};

int64_t rpc_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cpu_us(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
           ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

int64_t rpc_vmrss(void)
{
    char line[128];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : (int64_t)kb * 1024;
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

static int read_full(int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = read(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *ctl_thread(void *arg)
{
    const struct ctl *c = arg;
    int64_t start = 0, answer;
    char cmd;

    while (read_full(c->ctl_fd, &cmd, 1) == 0) {
        switch (cmd) {
        case CTL_START:
            start = cpu_us();
            answer = 0;
            break;
        case CTL_END:
            answer = cpu_us() - start;
            break;
        case CTL_RSS:
            answer = rpc_vmrss();
            break;
        default:
            answer = -1;
        }
        if (write_full(c->reply_fd, &answer, sizeof(answer)) != 0)
            break;
    }
    return NULL; /* the client is gone; the coordinator kills us */
}

int rpc_ctl_start(int ctl_fd, int reply_fd)
{
    static struct ctl c;
    pthread_t t;

    c.ctl_fd = ctl_fd;
    c.reply_fd = reply_fd;
    if (pthread_create(&t, NULL, ctl_thread, &c) != 0)
        return -1;
    pthread_detach(t);
    return 0;
}

int64_t rpc_ctl_ask(const struct rpc_load *ld, char cmd)
{
    int64_t answer;

    if (write_full(ld->ctl_fd, &cmd, 1) != 0 ||
        read_full(ld->reply_fd, &answer, sizeof(answer)) != 0)
        return -1;
    return answer;
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
