/* SPDX-License-Identifier: MIT */
/*
 * echo_client: load generator and checker for echo_server.
 *
 *   echo_client -p port [-n connections] [-m messages] [-s size]
 *               [-t timeout_seconds] [-R resets] [-I idle_seconds]
 *
 * Opens `connections` TCP connections to 127.0.0.1:port (default 10), one
 * LWP each, and sends `messages` messages of `size` bytes on each (default
 * 100 of 64 bytes). Every message is a round trip: the next one leaves only
 * when the whole echo of the previous one is back. The bytes come from a
 * generator seeded by (connection, message), so an echo that is late,
 * misplaced or from another connection does not match; every echoed byte is
 * compared. Waits use IOMGR_WaitIO and give up after the timeout (default
 * 10 s per wait).
 *
 * -R resets: first open `resets` connections one after another and reset
 * each at once (SO_LINGER 0, so close sends RST): the burst a server must
 * absorb without keeping the next client waiting. -I idle_seconds: after
 * its round trips each connection stays open, sends nothing and expects
 * the server to close it (end of stream) within idle_seconds: checks a
 * server's idle timeout (echo_server -i).
 *
 * Prints the throughput (messages/s, payload MB/s each way, MB = 10^6
 * bytes), the round-trip latency percentiles (CLOCK_MONOTONIC) and the
 * slowest first answer (connect plus first round trip). On runs
 * longer than about 2 s a progress line goes to stderr every second.
 *
 * Exit status: 0 if every round trip came back intact, 1 on any connection
 * failure, verification error or timeout, 2 on bad usage.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lwp/lwp.h>

#include "echo_common.h"

#define STACK_SIZE (32 * 1024)
#define MAX_CONNS 100000
#define MAX_ROUND_TRIPS 25000000L /* latencies kept: 8 bytes each */

struct conn {
    int id;
    int fd;
    char *tx, *rx;     /* message sent, echo received */
    uint64_t *lat;     /* round-trip times in ns, one per message */
    long done;         /* round trips completed and verified */
    uint64_t first_ns; /* from the start of connect to the first echo */
};

struct config {
    int port;
    int conns;
    long msgs;
    long size;
    int timeout_ms;
    int resets;  /* -R: connections reset before the run */
    int idle_ms; /* -I: wait this long for the server to close; 0 = no */
};

static struct config cfg = {-1, 10, 100, 64, 10000, 0, 0};
static struct conn *conns;
static int n_finished, n_failed;
static long long total_done;
static char all_finished; /* event: the last connection LWP is done */
static uint64_t t_start;

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s -p port [-n connections (default 10)] [-m messages "
            "per connection (default 100)] [-s size in bytes (default 64)] "
            "[-t timeout in s per wait (default 10)] [-R connections to "
            "reset first (default 0)] [-I s: expect the server to close "
            "each connection within s seconds of its last round trip]\n",
            argv0);
    exit(2);
}

static void parse_options(int argc, char **argv)
{
    int opt;

    while ((opt = getopt(argc, argv, "p:n:m:s:t:R:I:h")) != -1) {
        switch (opt) {
        case 'p':
            cfg.port = (int)echo_parse_long('p', optarg, 1, 65535);
            break;
        case 'n':
            cfg.conns = (int)echo_parse_long('n', optarg, 1, MAX_CONNS);
            break;
        case 'm':
            cfg.msgs = echo_parse_long('m', optarg, 1, MAX_ROUND_TRIPS);
            break;
        case 's':
            cfg.size = echo_parse_long('s', optarg, 1, 16L << 20);
            break;
        case 't':
            cfg.timeout_ms = 1000 * (int)echo_parse_long('t', optarg, 1, 3600);
            break;
        case 'R':
            cfg.resets = (int)echo_parse_long('R', optarg, 0, MAX_CONNS);
            break;
        case 'I':
            cfg.idle_ms = 1000 * (int)echo_parse_long('I', optarg, 1, 3600);
            break;
        default:
            usage(argv[0]);
        }
    }
    if (optind != argc || cfg.port < 0)
        usage(argv[0]);
    if ((long long)cfg.conns * cfg.msgs > MAX_ROUND_TRIPS) {
        fprintf(stderr, "at most %ld round trips in all (-n times -m)\n",
                MAX_ROUND_TRIPS);
        exit(2);
    }
}

/* Message `msg` of connection `id`: a splitmix64 stream seeded by both. */
static void fill_pattern(char *buf, size_t len, int id, long msg)
{
    uint64_t state = ((uint64_t)id << 40) ^ (uint64_t)msg;
    size_t i;

    for (i = 0; i < len; i += 8) {
        uint64_t z = state += 0x9e3779b97f4a7c15u;

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        z ^= z >> 31;
        memcpy(buf + i, &z, len - i < 8 ? len - i : 8);
    }
}

static void set_nodelay(int fd)
{
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Returns NULL, or what failed (errno says why). */
static const char *conn_connect(struct conn *c, const struct echo_io *io)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(int);
    int err;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return "socket";
    set_nodelay(c->fd);
    echo_loopback(&sa, cfg.port);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return NULL;
    if (errno != EINPROGRESS || echo_wait(c->fd, IOMGR_WRITE, io) < 0)
        return "connect";
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return "connect";
    errno = err;
    return err == 0 ? NULL : "connect";
}

/* Send c->tx and read its echo into c->rx. The echo is read while the
 * message is still going out: a message larger than the socket buffers
 * would otherwise deadlock, both sides waiting for room to write. */
static const char *round_trip(struct conn *c, size_t len,
                              const struct echo_io *io)
{
    size_t sent = 0, got = 0;
    ssize_t n;
    int ready;

    while (got < len) {
        if (sent < len) {
            n = send(c->fd, c->tx + sent, len - sent, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                return "send";
            sent += n > 0 ? (size_t)n : 0;
        }
        ready =
            echo_wait(c->fd, IOMGR_READ | (sent < len ? IOMGR_WRITE : 0), io);
        if (ready < 0)
            return sent < len ? "send" : "receive";
        if (!(ready & IOMGR_READ))
            continue;
        n = recv(c->fd, c->rx + got, len - got, 0);
        if (n == 0) {
            errno = 0; /* reported as "closed by the server" */
            return "receive";
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return "receive";
        got += n > 0 ? (size_t)n : 0;
    }
    return NULL;
}

static int verify(const struct conn *c, size_t len, long msg)
{
    size_t i;

    if (memcmp(c->tx, c->rx, len) == 0)
        return 0;
    for (i = 0; c->tx[i] == c->rx[i]; i++)
        continue;
    fprintf(stderr,
            "echo_client: connection %d, message %ld: byte %zu is 0x%02x, "
            "expected 0x%02x\n",
            c->id, msg, i, (unsigned char)c->rx[i], (unsigned char)c->tx[i]);
    return -1;
}

/* -I: after the last round trip, the server must end the connection
 * within cfg.idle_ms. Returns NULL, or what failed (errno says why). */
static const char *expect_idle_close(struct conn *c)
{
    struct echo_io io = {cfg.idle_ms, NULL};
    char byte;
    ssize_t n = echo_recv_some(c->fd, &byte, 1, 1, &io);

    if (n == 0 || (n < 0 && errno == ECONNRESET))
        return NULL;
    if (n > 0)
        errno = EBADMSG; /* the server sent something unasked */
    return "waiting for the server to close the idle connection";
}

/* Runs every round trip of one connection; returns 0 if all verified. */
static int conn_run(struct conn *c)
{
    struct echo_io io = {cfg.timeout_ms, NULL};
    uint64_t t_connect = echo_now_ns();
    const char *what = conn_connect(c, &io);
    long m;

    for (m = 0; what == NULL && m < cfg.msgs; m++) {
        uint64_t t0;

        fill_pattern(c->tx, (size_t)cfg.size, c->id, m);
        t0 = echo_now_ns();
        what = round_trip(c, (size_t)cfg.size, &io);
        if (what != NULL)
            break;
        c->lat[m] = echo_now_ns() - t0;
        if (m == 0)
            c->first_ns = echo_now_ns() - t_connect;
        if (verify(c, (size_t)cfg.size, m) != 0)
            return -1;
        c->done++;
        total_done++;
    }
    if (what == NULL && cfg.idle_ms > 0)
        what = expect_idle_close(c);
    if (what == NULL)
        return 0;
    fprintf(stderr, "echo_client: connection %d, message %ld: %s: %s\n", c->id,
            m, what,
            errno == 0 ? "connection closed by the server" : strerror(errno));
    return -1;
}

static void conn_main(void *arg)
{
    struct conn *c = arg;

    if (conn_run(c) != 0)
        n_failed++;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (++n_finished == cfg.conns)
        LWP_NoYieldSignal(&all_finished);
}

static void progress_main(void *arg)
{
    long long total = (long long)cfg.conns * cfg.msgs;

    (void)arg;
    while (echo_sleep_ms(1000) == 0) {
        double secs = (double)(echo_now_ns() - t_start) / 1e9;

        if (secs < 1.5)
            continue; /* short runs stay quiet */
        fprintf(stderr,
                "progress: %.0f s: %lld of %lld round trips (%.0f/s), "
                "%d of %d connections finished\n",
                secs, total_done, total, (double)total_done / secs, n_finished,
                cfg.conns);
    }
}

static int alloc_conns(void)
{
    int i;

    conns = calloc((size_t)cfg.conns, sizeof(*conns));
    if (conns == NULL)
        return -1;
    for (i = 0; i < cfg.conns; i++) {
        struct conn *c = &conns[i];

        c->id = i;
        c->fd = -1;
        c->tx = malloc((size_t)cfg.size);
        c->rx = malloc((size_t)cfg.size);
        c->lat = malloc((size_t)cfg.msgs * sizeof(uint64_t));
        if (c->tx == NULL || c->rx == NULL || c->lat == NULL)
            return -1;
    }
    return 0;
}

static void free_conns(void)
{
    int i;

    for (i = 0; conns != NULL && i < cfg.conns; i++) {
        free(conns[i].tx);
        free(conns[i].rx);
        free(conns[i].lat);
    }
    free(conns);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Percentile p of the sorted array v[0..n-1] (the element p% of the way
 * from the smallest to the largest), in microseconds. */
static double pct_us(const uint64_t *v, long long n, double p)
{
    long long k = (long long)(p / 100.0 * (double)(n - 1) + 0.5);

    return (double)v[k] / 1e3;
}

static void print_latency(void)
{
    uint64_t *all =
        malloc((size_t)(total_done ? total_done : 1) * sizeof(uint64_t));
    long long n = 0;
    int i;

    if (all == NULL || total_done == 0) {
        free(all);
        return;
    }
    for (i = 0; i < cfg.conns; i++) {
        memcpy(all + n, conns[i].lat, (size_t)conns[i].done * sizeof(*all));
        n += conns[i].done;
    }
    qsort(all, (size_t)n, sizeof(*all), cmp_u64);
    printf("  latency per round trip: p50 %.1f us, p99 %.1f us, "
           "p99.9 %.1f us, max %.1f us\n",
           pct_us(all, n, 50), pct_us(all, n, 99), pct_us(all, n, 99.9),
           (double)all[n - 1] / 1e3);
    free(all);
}

/* The slowest connection's connect plus first round trip, in ms. */
static double slowest_first_ms(void)
{
    uint64_t worst = 0;
    int i;

    for (i = 0; i < cfg.conns; i++)
        if (conns[i].done > 0 && conns[i].first_ns > worst)
            worst = conns[i].first_ns;
    return (double)worst / 1e6;
}

static void report(double secs)
{
    double bytes = (double)total_done * (double)cfg.size;

    printf("echo_client: %lld round trips of %ld bytes on %d connections "
           "in %.3f s\n",
           total_done, cfg.size, cfg.conns, secs);
    printf("  throughput: %.0f messages/s, %.2f MB/s of payload each way\n",
           (double)total_done / secs, bytes / secs / 1e6);
    print_latency();
    printf("  slowest first answer (connect + first round trip): %.1f ms\n",
           slowest_first_ms());
    printf("  verified: %.0f bytes echoed intact; %d of %d connections "
           "failed\n",
           bytes, n_failed, cfg.conns);
}

/* One connection of the -R burst: a blocking connect (the loopback
 * handshake completes inside connect while the listen backlog has room,
 * so the burst goes as fast as the kernel allows), then a reset
 * (SO_LINGER 0: close sends RST). Returns 0, or -1 with errno. */
static int connect_and_reset(void)
{
    struct sockaddr_in sa;
    struct linger now = {1, 0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc, err;

    if (fd < 0)
        return -1;
    echo_loopback(&sa, cfg.port);
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    if (rc == 0)
        rc = setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
    err = errno;
    close(fd);
    errno = err;
    return rc;
}

/* -R: open cfg.resets connections one after another, each reset as soon
 * as it is established. The whole process waits in each connect: this is
 * a burst, not a load with LWPs. */
static int reset_burst(void)
{
    int i;

    for (i = 0; i < cfg.resets; i++)
        if (connect_and_reset() != 0) {
            fprintf(stderr, "echo_client: reset burst, connection %d: %s\n", i,
                    strerror(errno));
            return -1;
        }
    if (cfg.resets > 0)
        printf("echo_client: %d connections opened and reset\n", cfg.resets);
    return 0;
}

static int start_lwps(PROCESS *progress)
{
    int i, rc;

    for (i = 0; i < cfg.conns; i++) {
        /* The new LWP runs at once: it connects and sends its first
         * message before the next one is created. */
        rc = LWP_CreateProcess(conn_main, STACK_SIZE, LWP_NORMAL_PRIORITY,
                               &conns[i], "echo client", NULL);
        if (rc != LWP_SUCCESS) {
            fprintf(stderr, "echo_client: connection LWP %d: %s\n", i,
                    LWP_StrError(rc));
            n_failed++;
            n_finished++;
        }
    }
    rc = LWP_CreateProcess(progress_main, STACK_SIZE, LWP_NORMAL_PRIORITY, NULL,
                           "progress", progress);
    return rc == LWP_SUCCESS ? 0 : -1;
}

int main(int argc, char **argv)
{
    PROCESS progress = NULL;
    long need;
    int rc;

    parse_options(argc, argv);
    signal(SIGPIPE, SIG_IGN);    /* belt and braces with MSG_NOSIGNAL */
    need = (long)cfg.conns + 64; /* sockets + stdio + libev's own */
    if (echo_raise_nofile(need) < need) {
        fprintf(stderr,
                "echo_client: %d connections need %ld descriptors "
                "(RLIMIT_NOFILE is lower)\n",
                cfg.conns, need);
        return 1;
    }
    rc = IOMGR_Initialize();
    if (rc != LWP_SUCCESS || alloc_conns() != 0) {
        fprintf(stderr, "echo_client: set-up failed: %s\n",
                rc != LWP_SUCCESS ? LWP_StrError(rc) : "out of memory");
        return 1;
    }
    if (reset_burst() != 0)
        return 1;
    printf("echo_client: %d connections x %ld messages x %ld bytes to "
           "127.0.0.1:%d\n",
           cfg.conns, cfg.msgs, cfg.size, cfg.port);
    fflush(stdout);
    t_start = echo_now_ns();
    if (start_lwps(&progress) != 0)
        fprintf(stderr, "echo_client: no progress LWP\n");
    while (n_finished < cfg.conns)
        LWP_WaitProcess(&all_finished);
    if (progress != NULL)
        LWP_DestroyProcess(progress); /* parked in its sleep */
    report((double)(echo_now_ns() - t_start) / 1e9);

    free_conns();
    IOMGR_Finalize();
    rc = LWP_TerminateProcessSupport();
    return n_failed == 0 && rc == LWP_SUCCESS &&
                   total_done == (long long)cfg.conns * cfg.msgs
               ? 0
               : 1;
}
