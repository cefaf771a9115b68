/* SPDX-License-Identifier: MIT */
/*
 * The load of bench_echo: a libev client that keeps every connection in
 * lock-step (one 64-byte message out, its whole echo back, the next one
 * out) and times each round trip. It does the least a client can (one
 * read, one write and one clock read per round trip, and a share of one
 * epoll_wait), so the server it shares the CPU with is the bottleneck.
 *
 * The measured window is framed by the server's CPU clock, read from here
 * (clock_getcpuclockid) at both ends: that is exact to the nanosecond and
 * covers only the window. /proc/PID/stat counts 10 ms ticks, too coarse
 * for sub-second windows, and the rusage wait4 returns would include
 * connection set-up and tear-down.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_echo.h"

#define BATCH 64 /* connections set up per round of handshakes */

/* Latency histogram: exact below 64 ns, then 64 buckets per power of two,
 * so a percentile is off by at most 1/128 of its value. */
#define HIST_BITS 6
#define HIST_SUB (1 << HIST_BITS)
#define HIST_BUCKETS (HIST_SUB * 42)

struct conn {
    ev_io w;      /* first member: callbacks cast the watcher back */
    int got;      /* bytes of the current echo received so far */
    int64_t sent; /* when the current message went out, ns */
};

static struct {
    struct conn *conns;
    int n;
    int failed;
    int measuring;
    long rts;
    clockid_t srv_clock;
    int64_t t0, t1, srv0, srv1, own0, own1;
    uint64_t hist[HIST_BUCKETS];
} cl;

static char msg[ECHO_MSG];

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- Histogram ---- */

static int hist_index(uint64_t v)
{
    int e, i;

    if (v < HIST_SUB)
        return (int)v;
    e = 63 - __builtin_clzll(v); /* v is in [2^e, 2^(e+1)), e >= 6 */
    i = (e - HIST_BITS + 1) * HIST_SUB +
        (int)((v >> (e - HIST_BITS)) & (HIST_SUB - 1));
    return i < HIST_BUCKETS ? i : HIST_BUCKETS - 1;
}

/* The middle of bucket i, ns. */
static double hist_value(int i)
{
    int e = i / HIST_SUB + HIST_BITS - 1;
    uint64_t width;

    if (i < HIST_SUB)
        return i;
    width = (uint64_t)1 << (e - HIST_BITS);
    return (double)((uint64_t)(HIST_SUB + i % HIST_SUB) * width) +
           (double)width / 2.0;
}

static double hist_quantile(double q)
{
    uint64_t total = 0, seen = 0, want;

    for (int i = 0; i < HIST_BUCKETS; i++)
        total += cl.hist[i];
    want = (uint64_t)ceil(q * (double)total);
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += cl.hist[i];
        if (seen >= want && seen > 0)
            return hist_value(i);
    }
    return 0;
}

/* ---- Lock-step ---- */

static void fail(struct ev_loop *loop, const char *what)
{
    if (!cl.failed)
        fprintf(stderr, "bench_echo: client: %s: %s\n", what,
                errno ? strerror(errno) : "connection closed");
    cl.failed = 1;
    ev_break(loop, EVBREAK_ALL);
}

/* One message is ever in flight per connection, so this write into a
 * nearly empty socket buffer always completes. */
static void send_msg(struct ev_loop *loop, struct conn *c, int64_t now)
{
    c->sent = now;
    c->got = 0;
    if (write(c->w.fd, msg, ECHO_MSG) != ECHO_MSG)
        fail(loop, "write");
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct conn *c = (struct conn *)w;
    char buf[ECHO_MSG];
    ssize_t n = read(w->fd, buf, (size_t)(ECHO_MSG - c->got));
    int64_t now;

    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        errno = n < 0 ? errno : 0;
        fail(loop, "read");
        return;
    }
    c->got += (int)n;
    if (c->got < ECHO_MSG)
        return;
    now = clock_ns(CLOCK_MONOTONIC);
    if (cl.measuring) {
        cl.hist[hist_index((uint64_t)(now - c->sent))]++;
        cl.rts++;
    }
    send_msg(loop, c, now);
}

static void on_window_start(struct ev_loop *loop, ev_timer *w, int revents)
{
    memset(cl.hist, 0, sizeof(cl.hist));
    cl.rts = 0;
    cl.measuring = 1;
    cl.own0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    cl.srv0 = clock_ns(cl.srv_clock);
    cl.t0 = clock_ns(CLOCK_MONOTONIC);
}

static void on_window_end(struct ev_loop *loop, ev_timer *w, int revents)
{
    cl.t1 = clock_ns(CLOCK_MONOTONIC);
    cl.srv1 = clock_ns(cl.srv_clock);
    cl.own1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    cl.measuring = 0;
    ev_break(loop, EVBREAK_ALL);
}

/* ---- Set-up ---- */

static int read_full(int fd, char *buf, int len)
{
    for (int got = 0; got < len;) {
        ssize_t n = read(fd, buf + got, (size_t)(len - got));

        if (n <= 0 && !(n < 0 && errno == EINTR))
            return -1;
        got += n > 0 ? (int)n : 0;
    }
    return 0;
}

/* Closed by an RST when the client exits (linger 0): no TIME_WAIT left
 * behind, so the 10,000 sockets of one run do not weigh on the next. */
static int connect_one(const struct sockaddr_in *sa)
{
    struct linger abort_on_close = {.l_onoff = 1, .l_linger = 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close,
               sizeof(abort_on_close));
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
        close(fd);
        return -1;
    }
    echo_nodelay(fd);
    return fd;
}

/* Connects [from, from + count) and makes one blocking round trip on
 * each, so the server has accepted a whole batch before the next one
 * knocks: the listen backlog never overflows (an overflow costs a 1 s SYN
 * retransmission). */
static int connect_batch(const struct sockaddr_in *sa, int from, int count)
{
    char buf[ECHO_MSG];

    for (int i = from; i < from + count; i++) {
        int fd = connect_one(sa);

        cl.conns[i].w.fd = fd;
        if (fd < 0 || write(fd, msg, ECHO_MSG) != ECHO_MSG)
            return -1;
    }
    for (int i = from; i < from + count; i++)
        if (read_full(cl.conns[i].w.fd, buf, ECHO_MSG) != 0)
            return -1;
    return 0;
}

static int connect_all(const struct echo_load *ld)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)ld->port)};

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < ld->conns; i += BATCH) {
        int count = ld->conns - i < BATCH ? ld->conns - i : BATCH;

        if (connect_batch(&sa, i, count) != 0) {
            perror("bench_echo: client: connect");
            return -1;
        }
    }
    return 0;
}

static int setup(const struct echo_load *ld)
{
    memset(msg, 'e', sizeof(msg));
    cl.n = ld->conns;
    cl.conns = calloc((size_t)cl.n, sizeof(*cl.conns));
    if (!cl.conns || clock_getcpuclockid(ld->server, &cl.srv_clock) != 0) {
        fprintf(stderr, "bench_echo: client: set-up failed\n");
        return -1;
    }
    return connect_all(ld);
}

/* ---- Run ---- */

/* Every connection sends its first message, then the clock starts: with
 * 10,000 connections the first round alone takes a good part of a second. */
static void run(const struct echo_load *ld)
{
    struct ev_loop *loop = ev_default_loop(0);
    int64_t now = clock_ns(CLOCK_MONOTONIC);
    ev_timer start, end;

    for (int i = 0; i < cl.n && !cl.failed; i++) {
        struct conn *c = &cl.conns[i];

        fcntl(c->w.fd, F_SETFL, fcntl(c->w.fd, F_GETFL) | O_NONBLOCK);
        ev_io_init(&c->w, on_readable, c->w.fd, EV_READ);
        ev_io_start(loop, &c->w);
        send_msg(loop, c, now);
    }
    ev_timer_init(&start, on_window_start, ld->warm_s, 0.);
    ev_timer_init(&end, on_window_end, ld->warm_s + ld->run_s, 0.);
    ev_now_update(loop);
    ev_timer_start(loop, &start);
    ev_timer_start(loop, &end);
    if (!cl.failed)
        ev_run(loop, 0);
}

static void summarise(struct echo_result *r)
{
    double rts = (double)cl.rts;

    r->ok = !cl.failed && cl.rts > 0 && cl.srv0 >= 0 && cl.srv1 >= 0;
    if (!r->ok) {
        if (!cl.failed)
            fprintf(stderr, "bench_echo: client: no round trip measured\n");
        return;
    }
    r->round_trips = cl.rts;
    r->rtps = rts / ((double)(cl.t1 - cl.t0) / 1e9);
    r->p50_us = hist_quantile(0.50) / 1e3;
    r->p99_us = hist_quantile(0.99) / 1e3;
    r->srv_cpu_us = (double)(cl.srv1 - cl.srv0) / 1e3 / rts;
    r->cli_cpu_us = (double)(cl.own1 - cl.own0) / 1e3 / rts;
}

int echo_client(const struct echo_load *ld)
{
    struct echo_result r = {0};

    if (setup(ld) == 0)
        run(ld);
    else
        cl.failed = 1;
    summarise(&r);
    if (write(ld->result_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
        return 1;
    return r.ok ? 0 : 1;
}
