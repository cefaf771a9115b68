/* SPDX-License-Identifier: MIT */
/*
 * bench_rpc: our RPC layer next to a raw UDP ping-pong and ONC RPC over
 * UDP, under the same closed-loop load in the same run.
 *
 *     taskset -c 1 bench_rpc [--quick] [--runs N] [--conns 1,10,100,1000]
 *                            [--peers raw,rawev,rawsec,onc,open,secure] [--duration S]
 *                            [--idle N] [--cpu N | --no-pin]
 *
 * A call is 64 bytes echoed back as 64 bytes. Each measurement forks a
 * server (raw: blocking recvfrom/sendto; rawev: the same after each
 * epoll_wait, the floor of a server behind a readiness poller, which our
 * listener is by design; rawsec: rawev plus rpc2sec's open and seal of
 * every datagram on both sides, the floor of an rpc2sec server; onc:
 * libtirpc's svc_run with an
 * rpcgen dispatcher; open/secure: ours at RPC2_OPENKIMONO/RPC2_SECURE,
 * SERVER_LWPS LWPs in GetRequest -> SendResponse) and a client process
 * keeping `conns` connections with exactly one call outstanding each (raw
 * and onc: one UDP socket per connection in one epoll loop; ours: one LWP
 * per connection in RPC2_MakeRPC; see bench_rpc_udp.c, bench_rpc_ours.c).
 * After a warm-up the client times every call of the window. Per peer and
 * connection count it prints p50/p99 round trip, calls/s and the server's
 * CPU (user + system: its process CPU clock over the window, read by the
 * client, so the server stays a single-threaded process) per call, the
 * medians over the runs; runs take turns over the peers (as bench_group
 * does). For ours it also prints the median bind latency and the VmRSS
 * growth per idle connection of server and client after binding --idle
 * connections (default 10,000; a time bound stops earlier on a slow
 * binder and says how many it bound). Ratios (median of each run's ratio)
 * compare ours with raw UDP and with ONC; the targets are printed
 * next to them, never asserted.
 *
 * Server and client are pinned to one CPU (--cpu N, default the last CPU
 * we may use, hence taskset above) and run SCHED_BATCH, as bench_echo's
 * are (see bench_echo_proc.c for why); --no-pin lets the kernel place
 * them. A peer that cannot run prints "<peer>: unavailable (reason)" and
 * "skipped" figures, and the others go on. Default: 3 runs, a 0.2 s
 * warm-up and a 0.5 s window, well under 2 minutes; --quick: 1 run of
 * short windows and 2,000 idle connections.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <rpc2/rpc2.h>

#include "bench_echo.h"
#include "bench_rpc.h"
#include "bench_util.h"

#define MAX_RUNS 15
#define MAX_COUNTS 8
#define SETUP_SLACK_S 60.0 /* binds of 1,000 connections, generously */
#define PORT_WAIT_MS 10000

static const char *const peer_names[PEERS] = {"raw",  "rawev", "rawsec",
                                                 "onc",  "open",  "secure"};

static int counts[MAX_COUNTS] = {1, 10, 100, 1000};
static int n_counts = 4;
static int peer_on[PEERS] = {1, 1, 1, 1, 1, 1};
static int opt_runs = 3;
static int opt_idle = 10000;
static int opt_binds = 200;
static int pin_cpu = -2; /* -2: choose; -1: not pinned */
static double warm_s = 0.2, run_s = 0.5, idle_limit_s = 20.0;

/* ---- One measurement ---- */

struct server_arg {
    enum rpc_peer peer;
    int reply_fd;
};

static int server_main(void *arg)
{
    const struct server_arg *sa = arg;

    switch (sa->peer) {
    case PEER_RAW:
        return raw_serve(sa->reply_fd);
    case PEER_RAWEV:
        return rawev_serve(sa->reply_fd);
    case PEER_RAWSEC:
        return rawsec_serve(sa->reply_fd);
    case PEER_ONC:
        return onc_serve(sa->reply_fd);
    case PEER_OPEN:
        return ours_serve(sa->reply_fd, RPC2_OPENKIMONO);
    default:
        return ours_serve(sa->reply_fd, RPC2_SECURE);
    }
}

static int client_main(void *arg)
{
    const struct rpc_load *ld = arg;
    struct rpc_result r = {0};

    if (ld->peer < PEER_OPEN)
        udp_client(ld, &r);
    else
        ours_client(ld, &r);
    if (write(ld->result_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
        return 1;
    return r.ok ? 0 : 1;
}

/* Reads len bytes within timeout_ms; 0, or -1 on EOF, error or time-out. */
static int read_within(int fd, void *buf, size_t len, int timeout_ms)
{
    char *p = buf;
    double deadline = bench_now_ns() + timeout_ms * 1e6;

    while (len > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int left = (int)((deadline - bench_now_ns()) / 1e6);
        int ready = left > 0 ? poll(&pfd, 1, left) : 0;
        ssize_t n;

        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            return -1;
        n = read(fd, p, len);
        if (n == 0 || (n < 0 && errno != EINTR))
            return -1;
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
    }
    return 0;
}

/* The server's port, or 0 with the reason in error. */
static int wait_port(int fd, char *error)
{
    char msg[sizeof(int) + 120];
    int port;

    if (read_within(fd, msg, sizeof(msg), PORT_WAIT_MS) != 0) {
        snprintf(error, 120, "server did not start");
        return 0;
    }
    memcpy(&port, msg, sizeof(port));
    if (port <= 0)
        snprintf(error, 120, "%s", msg + sizeof(port));
    return port > 0 ? port : 0;
}

static void close_pair(int *p)
{
    close(p[0]);
    close(p[1]);
}

static void run_client(struct rpc_load *ld, int *res, struct rpc_result *r,
                       double timeout_s)
{
    pid_t client;

    ld->result_fd = res[1];
    client = echo_spawn(client_main, ld, pin_cpu);
    close(res[1]);
    if (read_within(res[0], r, sizeof(*r), (int)(timeout_s * 1000)) != 0) {
        memset(r, 0, sizeof(*r));
        snprintf(r->error, sizeof(r->error), "client died or timed out");
    }
    echo_reap(client, r->ok ? 0 : SIGKILL);
}

static struct rpc_result measure(enum rpc_peer peer, int conns, int idle)
{
    struct rpc_load ld = {.peer = peer, .conns = conns, .idle_conns = idle,
                          .binds = opt_binds, .warm_s = warm_s,
                          .run_s = run_s, .limit_s = idle_limit_s};
    struct server_arg sa = {.peer = peer};
    struct rpc_result r = {0};
    int rep[2], res[2];
    pid_t server;

    if (pipe(rep) != 0 || pipe(res) != 0)
        bench_fail("pipe", errno);
    sa.reply_fd = rep[1];
    server = echo_spawn(server_main, &sa, pin_cpu);
    ld.port = wait_port(rep[0], r.error);
    ld.server = server;
    if (ld.port > 0)
        run_client(&ld, res, &r,
                   idle ? idle_limit_s + SETUP_SLACK_S
                        : warm_s + run_s + SETUP_SLACK_S);
    else
        close(res[1]);
    close(res[0]);
    close_pair(rep);
    echo_reap(server, SIGKILL);
    return r;
}

/* ---- Medians and report ---- */

typedef struct rpc_result peer_runs[MAX_RUNS];

#define FIELD(res, off) (*(const double *)((const char *)(res) + (off)))

static double median_of(const struct rpc_result *res, int runs, size_t off)
{
    double v[MAX_RUNS];
    int n = 0;

    for (int r = 0; r < runs; r++)
        if (res[r].ok)
            v[n++] = FIELD(&res[r], off);
    return n ? bench_median(v, n) : BENCH_SKIPPED;
}

/* Median over the runs where both succeeded of ours / peer: the two were
 * measured seconds apart, under the same machine conditions. */
static double median_ratio(const struct rpc_result *ours,
                           const struct rpc_result *peer, int runs,
                           size_t off)
{
    double v[MAX_RUNS];
    int n = 0;

    for (int r = 0; r < runs; r++)
        if (ours[r].ok && peer[r].ok && FIELD(&peer[r], off) > 0.0)
            v[n++] = FIELD(&ours[r], off) / FIELD(&peer[r], off);
    return n ? bench_median(v, n) : BENCH_SKIPPED;
}

static void print_fig(const char *scope, const char *who, const char *what,
                      double v, const char *unit)
{
    char name[96];

    snprintf(name, sizeof(name), "rpc_%s_%s_%s", scope, who, what);
    bench_print(name, v, unit);
}

static void report_count(int conns, const peer_runs *res)
{
    char scope[16];

    snprintf(scope, sizeof(scope), "%d", conns);
    for (int p = 0; p < PEERS; p++) {
        const struct rpc_result *x = res[p];
        long resent = 0;

        print_fig(scope, peer_names[p], "p50_us",
                  median_of(x, opt_runs, offsetof(struct rpc_result, p50_us)),
                  "us");
        print_fig(scope, peer_names[p], "p99_us",
                  median_of(x, opt_runs, offsetof(struct rpc_result, p99_us)),
                  "us");
        print_fig(scope, peer_names[p], "calls_per_s",
                  median_of(x, opt_runs, offsetof(struct rpc_result, cps)),
                  "calls/s");
        print_fig(scope, peer_names[p], "srv_cpu_us",
                  median_of(x, opt_runs,
                            offsetof(struct rpc_result, srv_cpu_us)),
                  "us");
        for (int r = 0; r < opt_runs; r++)
            resent += x[r].ok ? x[r].resent : 0;
        if (resent)
            printf("# %s at %d: %ld calls resent after a lost datagram\n",
                   peer_names[p], conns, resent);
    }
}

/* Ratios of one of ours against raw and ONC at one connection count, as
 * far as the issue sets targets for them. */
static void report_ratios(int conns, const peer_runs *res)
{
    const size_t p50 = offsetof(struct rpc_result, p50_us),
                 cpu = offsetof(struct rpc_result, srv_cpu_us),
                 cps = offsetof(struct rpc_result, cps);
    char name[96];

    for (int p = PEER_OPEN; p <= PEER_SECURE; p++) {
        const char *o = peer_names[p];

        snprintf(name, sizeof(name), "rpc_%d_%s_rtt_vs_raw", conns, o);
        bench_ratio(name, median_ratio(res[p], res[PEER_RAW], opt_runs, p50),
                    1.0);
        snprintf(name, sizeof(name), "rpc_%d_%s_srv_cpu_vs_raw", conns, o);
        bench_ratio(name, median_ratio(res[p], res[PEER_RAW], opt_runs, cpu),
                    1.0);
        snprintf(name, sizeof(name), "rpc_%d_%s_calls_vs_onc", conns, o);
        bench_ratio(name, median_ratio(res[p], res[PEER_ONC], opt_runs, cps),
                    1.0);
        snprintf(name, sizeof(name), "rpc_%d_%s_rtt_vs_rawev", conns, o);
        bench_ratio(name, median_ratio(res[p], res[PEER_RAWEV], opt_runs, p50),
                    1.0);
        snprintf(name, sizeof(name), "rpc_%d_%s_srv_cpu_vs_rawev", conns, o);
        bench_ratio(name,
                    median_ratio(res[p], res[PEER_RAWEV], opt_runs, cpu), 1.0);
        snprintf(name, sizeof(name), "rpc_%d_%s_rtt_vs_rawsec", conns, o);
        bench_ratio(name,
                    median_ratio(res[p], res[PEER_RAWSEC], opt_runs, p50), 1.0);
        snprintf(name, sizeof(name), "rpc_%d_%s_srv_cpu_vs_rawsec", conns, o);
        bench_ratio(name,
                    median_ratio(res[p], res[PEER_RAWSEC], opt_runs, cpu), 1.0);
    }
    /* The floors against each other, in the same run: what a target
     * relative to one of them can mean on this machine. */
    snprintf(name, sizeof(name), "rpc_%d_rawev_rtt_vs_raw", conns);
    bench_ratio(name, median_ratio(res[PEER_RAWEV], res[PEER_RAW], opt_runs, p50),
                1.0);
    snprintf(name, sizeof(name), "rpc_%d_rawev_srv_cpu_vs_raw", conns);
    bench_ratio(name, median_ratio(res[PEER_RAWEV], res[PEER_RAW], opt_runs, cpu),
                1.0);
    snprintf(name, sizeof(name), "rpc_%d_rawsec_rtt_vs_raw", conns);
    bench_ratio(name, median_ratio(res[PEER_RAWSEC], res[PEER_RAW], opt_runs, p50),
                1.0);
    snprintf(name, sizeof(name), "rpc_%d_rawsec_srv_cpu_vs_raw", conns);
    bench_ratio(name,
                median_ratio(res[PEER_RAWSEC], res[PEER_RAW], opt_runs, cpu),
                1.0);
    snprintf(name, sizeof(name), "rpc_%d_raw_calls_vs_onc", conns);
    bench_ratio(name, median_ratio(res[PEER_RAW], res[PEER_ONC], opt_runs, cps),
                1.0);
}

/* The first failure of a peer says why and takes it out of the run. */
static void note_failure(enum rpc_peer p, const struct rpc_result *r)
{
    if (r->ok || !peer_on[p])
        return;
    printf("%s: unavailable (%s)\n", peer_names[p],
           r->error[0] ? r->error : "unknown error");
    fflush(stdout);
    peer_on[p] = 0;
}

static void one_count(int conns)
{
    static peer_runs res[PEERS];

    memset(res, 0, sizeof(res));
    for (int r = 0; r < opt_runs; r++)
        for (int p = 0; p < PEERS; p++)
            if (peer_on[p]) {
                res[p][r] = measure((enum rpc_peer)p, conns, 0);
                note_failure((enum rpc_peer)p, &res[p][r]);
            }
    report_count(conns, res);
    report_ratios(conns, res);
}

static void idle_figures(void)
{
    static peer_runs res[PEERS];

    memset(res, 0, sizeof(res));
    for (int r = 0; r < opt_runs; r++)
        for (int p = PEER_OPEN; p <= PEER_SECURE; p++)
            if (peer_on[p]) {
                res[p][r] = measure((enum rpc_peer)p, 0, opt_idle);
                note_failure((enum rpc_peer)p, &res[p][r]);
            }
    for (int p = PEER_OPEN; p <= PEER_SECURE; p++) {
        const char *o = peer_names[p];
        int bound = 0;

        print_fig("bind", o, "us",
                  median_of(res[p], opt_runs,
                            offsetof(struct rpc_result, bind_us)),
                  "us");
        print_fig("idle", o, "srv_rss_per_conn",
                  median_of(res[p], opt_runs,
                            offsetof(struct rpc_result, rss_srv_b)),
                  "bytes");
        print_fig("idle", o, "cli_rss_per_conn",
                  median_of(res[p], opt_runs,
                            offsetof(struct rpc_result, rss_cli_b)),
                  "bytes");
        for (int r = 0; r < opt_runs; r++)
            if (res[p][r].ok && (bound == 0 || res[p][r].idle_bound < bound))
                bound = res[p][r].idle_bound;
        if (bound && bound < opt_idle)
            printf("# %s: only %d idle connections bound within %.0f s\n", o,
                   bound, idle_limit_s);
    }
}

/* ---- Set-up ---- */

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--quick] [--runs N] [--conns N,N...] "
            "[--peers raw,rawev,rawsec,onc,open,secure] [--duration S] [--idle N] "
            "[--cpu N | --no-pin]\n",
            argv0);
    exit(2);
}

static void choose_peers(char *list, const char *argv0)
{
    memset(peer_on, 0, sizeof(peer_on));
    for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
        int p = 0;

        while (p < PEERS && strcmp(peer_names[p], name) != 0)
            p++;
        if (p == PEERS)
            usage(argv0);
        peer_on[p] = 1;
    }
}

static void choose_counts(char *list, const char *argv0)
{
    n_counts = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        int n = atoi(tok);

        if (n < 1 || n > 100000 || n_counts == MAX_COUNTS)
            usage(argv0);
        counts[n_counts++] = n;
    }
    if (n_counts == 0)
        usage(argv0);
}

/* Options taking a value; 0 if argv[i] is not one of them. */
static int value_option(char **argv, int i, const char *argv0)
{
    const char *o = argv[i], *v = argv[i + 1];

    if (strcmp(o, "--runs") == 0)
        opt_runs = atoi(v);
    else if (strcmp(o, "--conns") == 0)
        choose_counts(argv[i + 1], argv0);
    else if (strcmp(o, "--peers") == 0)
        choose_peers(argv[i + 1], argv0);
    else if (strcmp(o, "--duration") == 0)
        run_s = atof(v);
    else if (strcmp(o, "--idle") == 0)
        opt_idle = atoi(v);
    else if (strcmp(o, "--cpu") == 0)
        pin_cpu = atoi(v);
    else
        return 0;
    return 1;
}

static void parse(int argc, char **argv)
{
    int quick = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--no-pin") == 0)
            pin_cpu = -1;
        else if (i + 1 < argc && value_option(argv, i, argv[0]))
            i++;
        else
            usage(argv[0]);
    }
    if (quick) {
        opt_runs = 1;
        warm_s = 0.05;
        run_s = 0.15;
        opt_idle = opt_idle < 2000 ? opt_idle : 2000;
        idle_limit_s = 5.0;
    }
    if (opt_runs < 1 || opt_runs > MAX_RUNS || run_s <= 0 || run_s > 60 ||
        opt_idle < 0 || pin_cpu < -2)
        usage(argv[0]);
    warm_s = fmin(fmax(warm_s, run_s / 3), 2.0);
}

/* Soft limit up to the hard one: 1,000 raw or ONC connections are 1,000
 * sockets in the client (children inherit the limit). */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

/* Default: the last CPU of our affinity mask (the one taskset gave). */
static void choose_cpu(void)
{
    if (pin_cpu == -2)
        pin_cpu = bench_last_cpu();
}

static void print_header(void)
{
    char load[64], cpu[48] = "not pinned";

    bench_loadavg(load, sizeof(load));
    if (pin_cpu >= 0)
        snprintf(cpu, sizeof(cpu), "pinned to CPU %d, SCHED_BATCH", pin_cpu);
    printf("# bench_rpc: 64-byte echo, closed loop; median of %d runs, "
           "%.2f s warm-up + %.2f s window; server and client %s; idle "
           "figures over %d connections; loadavg %s\n",
           opt_runs, warm_s, run_s, cpu, opt_idle, load);
    printf("# targets (issue 17, not asserted), open and secure alike: "
           "rtt_vs_raw <= 1.40 at 1; srv_cpu_vs_raw <= 1.40 at 1, <= 1.50 "
           "at 100; calls_vs_onc >= 1.40 at 100; bind <= 200 us; "
           "rss_per_conn <= 1024 bytes\n");
    if (peer_on[PEER_ONC] && !onc_available()) {
        printf("onc: skipped (built without libtirpc/rpcgen)\n");
        peer_on[PEER_ONC] = 0;
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    double t0 = bench_now_ns();

    parse(argc, argv);
    signal(SIGPIPE, SIG_IGN); /* a dead child is an error, not our end */
    echo_proc_init();
    raise_nofile();
    choose_cpu();
    print_header();
    for (int i = 0; i < n_counts; i++)
        one_count(counts[i]);
    if (opt_idle > 0 && (peer_on[PEER_OPEN] || peer_on[PEER_SECURE]))
        idle_figures();
    bench_print("bench_total_s", (bench_now_ns() - t0) / 1e9, "s");
    return 0;
}
