/* SPDX-License-Identifier: MIT */
/*
 * bench_echo: a TCP echo server of one LWP per connection over IOMGR,
 * next to a libev callback server and a State Threads server, under the
 * same load in the same run.
 *
 *     taskset -c 1 bench_echo [--quick] [--runs N] [--no-pin] [--conns N]
 *                             [--servers NAME,NAME...] [--window SECONDS]
 *
 * Each measurement forks a server (ours through IOMGR_WaitIO, ours through
 * IOMGR_Select, both again with LWP_CREATE_SHARED_STACK connections
 * ("waitio-sh", "select-sh"), ours written as Coda code is ("coda": read
 * first, IOMGR_Select only on EAGAIN, a 64 KiB stack per connection, the
 * shape of ST's own server), libev, libev reading into a stack-sized
 * block per connection, libev making the Coda shape's system calls
 * ("libevrf": it reads again until EAGAIN after each echo, the floor of
 * the Coda shape on libev), ST) on a fresh 127.0.0.1 socket and a client
 * process (bench_echo_client.c) that keeps 1, 100, 1,000 or 10,000
 * connections in lock-step: warm-up, then a timed window. Per server and
 * connection count it prints round trips per second, p50 and p99 latency
 * and the server's CPU per round trip (medians over the runs), then ours /
 * peer ratios (the median of each run's ratio). CPU per
 * round trip is the steadier figure: throughput and latency also depend
 * on how the kernel schedules the two processes. For the Coda shape
 * against ST it also prints the ratio of the CPU pooled over all runs
 * (_pooled), the better estimate over many runs.
 *
 * Client and server are pinned to one CPU (the last one we may use; hence
 * taskset above to choose it) and run as SCHED_BATCH (no wake-up
 * preemption; see bench_echo_proc.c) because on a small machine that gives
 * the steadiest figures; --no-pin lets the kernel place them. --runs sets how
 * many runs each figure is the median of (default 5); runs take turns
 * over the servers (as bench_group does), every other run in reverse
 * order, so all of them share whatever else the machine was doing.
 * --quick: 3 runs of short windows (one run at 10,000 connections), for
 * a smoke run. --window sets the timed window in seconds (default 0.8).
 * --conns N measures N connections only; --servers coda,st (say) runs
 * only the servers named. Naming "coda-twin" as well measures the Coda
 * shape a second time in a peer's place: coda against coda-twin is how
 * far apart this machine measures two identical servers, the resolution
 * of every ratio of the run. A connection count needing more fds than
 * the hard RLIMIT_NOFILE allows prints "skipped", as does ST when it is
 * not found.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
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
#include <sys/socket.h>
#include <unistd.h>

#include "bench_echo.h"
#include "bench_util.h"

#define MAX_RUNS 99
#define FD_SPARE 64          /* fds a process needs besides connections */
#define SETUP_SLACK_MS 60000 /* set-up of 10,000 connections, generous */
#define QUICK_BIG 10000      /* --quick runs this many connections once */
#define SLOW_RTPS 40000.0    /* round trips/s that every server beats */
#define MAX_WINDOW_S 600.0   /* --window */

static int conn_counts[] = {1, 100, 1000, 10000};
static int n_counts = (int)(sizeof(conn_counts) / sizeof(conn_counts[0]));

static const char *const kind_names[ECHO_KINDS] = {
    "waitio", "select", "waitio-sh", "select-sh", "coda",
    "libev",  "libevstk", "libevrf", "st", "coda-twin"};

static int opt_runs = 5;
static int kind_on[ECHO_KINDS] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
static int opt_quick;
static int opt_pin = 1;
static int pin_cpu = -1;
static long nofile;
static double warm_s = 0.2, run_s = 0.8;
/* With many connections a lock-step round (every connection served once)
 * lasts long: the warm-up and the window also span at least this many
 * rounds, sized for a pessimistic throughput (SLOW_RTPS). */
static double warm_rounds = 2, run_rounds = 4;

/* ---- One measurement ---- */

struct server_arg {
    int kind;
    int lfd;
};

static int server_main(void *arg)
{
    const struct server_arg *sa = arg;

    switch (sa->kind) {
    case ECHO_WAITIO:
    case ECHO_SELECT:
    case ECHO_WAITIO_SHARED:
    case ECHO_SELECT_SHARED:
    case ECHO_CODA:
        echo_serve_lwp(sa->lfd, (enum echo_kind)sa->kind);
        break;
    case ECHO_CODA_TWIN:
        echo_serve_lwp(sa->lfd, ECHO_CODA);
        break;
    case ECHO_LIBEV:
    case ECHO_LIBEV_STACK:
    case ECHO_LIBEV_READ_FIRST:
        echo_serve_libev(sa->lfd, sa->kind == ECHO_LIBEV_STACK,
                         sa->kind == ECHO_LIBEV_READ_FIRST);
        break;
    default:
        echo_serve_st(sa->lfd);
    }
    return 1; /* a server returns only when it failed */
}

static int client_main(void *arg)
{
    return echo_client(arg);
}

static int listen_socket(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        bench_fail("listen socket", errno);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Reads the client's result; 0 if it died or outlived the time bound. */
static int read_result(int fd, struct echo_result *r, int timeout_ms)
{
    char *p = (char *)r;
    size_t got = 0;
    double deadline = bench_now_ns() + timeout_ms * 1e6;

    while (got < sizeof(*r)) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int left = (int)((deadline - bench_now_ns()) / 1e6);
        int ready = left > 0 ? poll(&pfd, 1, left) : 0;
        ssize_t n;

        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0) {
            fprintf(stderr, "bench_echo: client timed out\n");
            return 0;
        }
        n = read(fd, p + got, sizeof(*r) - got);
        if (n == 0 || (n < 0 && errno != EINTR))
            return 0;
        got += n > 0 ? (size_t)n : 0;
    }
    return 1;
}

static void size_window(struct echo_load *ld)
{
    double round_s = ld->conns / SLOW_RTPS;

    ld->warm_s = fmax(warm_s, warm_rounds * round_s);
    ld->run_s = fmax(run_s, run_rounds * round_s);
}

static struct echo_result measure(int kind, int conns)
{
    struct server_arg sa = {.kind = kind};
    struct echo_load ld = {.conns = conns};
    struct echo_result r = {0};
    int pfd[2], timeout;
    pid_t client;

    size_window(&ld);
    timeout = (int)((ld.warm_s + ld.run_s) * 1000) + SETUP_SLACK_MS;

    sa.lfd = listen_socket(&ld.port);
    ld.server = echo_spawn(server_main, &sa, pin_cpu);
    close(sa.lfd);
    if (pipe2(pfd, O_CLOEXEC) != 0)
        bench_fail("pipe", errno);
    ld.result_fd = pfd[1];
    client = echo_spawn(client_main, &ld, pin_cpu);
    close(pfd[1]);
    if (!read_result(pfd[0], &r, timeout))
        r.ok = 0;
    close(pfd[0]);
    echo_reap(client, r.ok ? 0 : SIGKILL);
    echo_reap(ld.server, SIGKILL);
    if (!r.ok)
        fprintf(stderr, "bench_echo: %s at %d connections: run failed\n",
                kind_names[kind], conns);
    return r;
}

/* ---- Medians and report ---- */

struct figures {
    double rtps, p50, p99, cpu, cli;
};

/* One server's runs at one connection count. */
typedef struct echo_result echo_runs[MAX_RUNS];

#define FIELD(res, offset) (*(const double *)((const char *)(res) + (offset)))

/* Median of one field over the successful runs, or BENCH_SKIPPED. */
static double median_of(const struct echo_result *res, int runs, size_t offset)
{
    double v[MAX_RUNS];
    int n = 0;

    for (int r = 0; r < runs; r++)
        if (res[r].ok)
            v[n++] = FIELD(&res[r], offset);
    return n ? bench_median(v, n) : BENCH_SKIPPED;
}

static struct figures medians(const struct echo_result *res, int runs)
{
    struct figures f = {
        median_of(res, runs, offsetof(struct echo_result, rtps)),
        median_of(res, runs, offsetof(struct echo_result, p50_us)),
        median_of(res, runs, offsetof(struct echo_result, p99_us)),
        median_of(res, runs, offsetof(struct echo_result, srv_cpu_us)),
        median_of(res, runs, offsetof(struct echo_result, cli_cpu_us)),
    };
    return f;
}

static void print_fig(int conns, const char *who, const char *what, double v,
                      const char *unit)
{
    char name[96];

    snprintf(name, sizeof(name), "echo_%d_%s_%s", conns, who, what);
    bench_print(name, v, unit);
}

/* Median, over the runs where both servers succeeded, of ours / peer for
 * one field. A run's servers are measured seconds apart, so each ratio
 * compares them under the same machine conditions: steadier than a ratio
 * of medians when the machine's speed drifts from run to run. */
static double median_ratio(const struct echo_result *ours,
                           const struct echo_result *peer, int runs,
                           size_t offset)
{
    double v[MAX_RUNS];
    int n = 0;

    for (int r = 0; r < runs; r++)
        if (ours[r].ok && peer[r].ok && FIELD(&peer[r], offset) > 0.0)
            v[n++] = FIELD(&ours[r], offset) / FIELD(&peer[r], offset);
    return n ? bench_median(v, n) : BENCH_SKIPPED;
}

/* ours / peer of the server CPU pooled over the runs where both
 * succeeded: each one's CPU summed over those runs, over its round trips
 * summed. Every round trip weighs the same, so over many runs this is
 * the steadier estimate (the median of ratios throws most runs away). */
static double pooled_cpu_ratio(const struct echo_result *ours,
                               const struct echo_result *peer, int runs)
{
    double cpu[2] = {0, 0}, rts[2] = {0, 0};

    for (int r = 0; r < runs; r++) {
        if (!ours[r].ok || !peer[r].ok)
            continue;
        cpu[0] += ours[r].srv_cpu_us * (double)ours[r].round_trips;
        rts[0] += (double)ours[r].round_trips;
        cpu[1] += peer[r].srv_cpu_us * (double)peer[r].round_trips;
        rts[1] += (double)peer[r].round_trips;
    }
    if (rts[0] <= 0 || rts[1] <= 0 || cpu[1] <= 0)
        return BENCH_SKIPPED;
    return (cpu[0] / rts[0]) / (cpu[1] / rts[1]);
}

static void print_pooled(int conns, int ours, int peer, const echo_runs *res,
                         int runs)
{
    char name[96];

    snprintf(name, sizeof(name), "echo_%d_%s_cpu_vs_%s_pooled", conns,
             kind_names[ours], kind_names[peer]);
    bench_ratio(name, pooled_cpu_ratio(res[ours], res[peer], runs), 1.0);
}

static void print_ratio(int conns, int ours, const char *what, int peer,
                        size_t offset, const echo_runs *res, int runs)
{
    char name[96];

    snprintf(name, sizeof(name), "echo_%d_%s_%s_vs_%s", conns, kind_names[ours],
             what, kind_names[peer]);
    bench_ratio(name, median_ratio(res[ours], res[peer], runs, offset), 1.0);
}

static void report(int conns, const echo_runs *res, int runs)
{
    const size_t cpu = offsetof(struct echo_result, srv_cpu_us),
                 rtps = offsetof(struct echo_result, rtps),
                 p99 = offsetof(struct echo_result, p99_us);
    struct figures f[ECHO_KINDS];

    for (int k = 0; k < ECHO_KINDS; k++) {
        f[k] = medians(res[k], runs);
        print_fig(conns, kind_names[k], "rtps", f[k].rtps, "rt/s");
        print_fig(conns, kind_names[k], "p50_us", f[k].p50, "us");
        print_fig(conns, kind_names[k], "p99_us", f[k].p99, "us");
        print_fig(conns, kind_names[k], "cpu_us", f[k].cpu, "us");
    }
    print_fig(conns, "client", "cpu_us", f[ECHO_LIBEV].cli, "us");
    for (int k = ECHO_WAITIO; k <= ECHO_CODA; k++) {
        print_ratio(conns, k, "cpu", ECHO_LIBEV, cpu, res, runs);
        print_ratio(conns, k, "cpu", ECHO_LIBEV_STACK, cpu, res, runs);
        print_ratio(conns, k, "cpu", ECHO_ST, cpu, res, runs);
        print_ratio(conns, k, "rtps", ECHO_LIBEV, rtps, res, runs);
        print_ratio(conns, k, "rtps", ECHO_ST, rtps, res, runs);
        print_ratio(conns, k, "p99", ECHO_LIBEV, p99, res, runs);
        print_ratio(conns, k, "p99", ECHO_LIBEV_STACK, p99, res, runs);
    }
    /* The ceiling of ours/st throughput for any server as cheap as the
     * libev one: client and server share the CPU, so the client's cost
     * dilutes every server's advantage over ST. */
    print_ratio(conns, ECHO_LIBEV, "rtps", ECHO_ST, rtps, res, runs);
    print_ratio(conns, ECHO_LIBEV, "cpu", ECHO_ST, cpu, res, runs);
    /* The Coda shape's floor on libev: its system calls, no LWPs. */
    print_ratio(conns, ECHO_CODA, "cpu", ECHO_LIBEV_READ_FIRST, cpu, res,
                runs);
    print_ratio(conns, ECHO_LIBEV_READ_FIRST, "cpu", ECHO_ST, cpu, res, runs);
    print_pooled(conns, ECHO_CODA, ECHO_ST, res, runs);
    /* Two identical servers: how far apart the bench measures the same
     * program (the resolution of the ratios above). */
    print_pooled(conns, ECHO_CODA, ECHO_CODA_TWIN, res, runs);
    print_ratio(conns, ECHO_CODA, "cpu", ECHO_CODA_TWIN, cpu, res, runs);
}

static int kind_available(int kind, int conns)
{
    if (!kind_on[kind] || conns + FD_SPARE > nofile)
        return 0;
    return kind != ECHO_ST || echo_have_st();
}

/* Runs take turns over the servers, as in bench_group, every other run
 * in the reverse order: a server is measured as often first as last, so
 * neither an effect of the order nor a drift of the machine over a run
 * favours one. --quick makes one run only of 10,000 connections, whose
 * set-up alone takes a second. */
static void one_count(int conns)
{
    static echo_runs res[ECHO_KINDS];
    int runs = opt_quick && conns >= QUICK_BIG ? 1 : opt_runs;

    memset(res, 0, sizeof(res));
    for (int r = 0; r < runs; r++)
        for (int i = 0; i < ECHO_KINDS; i++) {
            int k = r % 2 ? ECHO_KINDS - 1 - i : i;

            if (kind_available(k, conns))
                res[k][r] = measure(k, conns);
        }
    report(conns, res, runs);
}

/* ---- Set-up ---- */

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--quick] [--runs N] [--no-pin] [--conns N] "
            "[--servers NAME,NAME...] [--window SECONDS]\n",
            argv0);
    exit(2);
}

/* --servers: only those named (ratios against a server left out print
 * "skipped"). */
static void choose_servers(char *list, const char *argv0)
{
    for (int k = 0; k < ECHO_KINDS; k++)
        kind_on[k] = 0;
    for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
        int k = 0;

        while (k < ECHO_KINDS && strcmp(kind_names[k], name) != 0)
            k++;
        if (k == ECHO_KINDS)
            usage(argv0);
        kind_on[k] = 1;
    }
}

static void one_conn_count(int conns, const char *argv0)
{
    if (conns < 1)
        usage(argv0);
    conn_counts[0] = conns;
    n_counts = 1;
}

static void parse(int argc, char **argv)
{
    int runs = 0;
    double window = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            opt_quick = 1;
        else if (strcmp(argv[i], "--no-pin") == 0)
            opt_pin = 0;
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc)
            one_conn_count(atoi(argv[++i]), argv[0]);
        else if (strcmp(argv[i], "--servers") == 0 && i + 1 < argc)
            choose_servers(argv[++i], argv[0]);
        else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc)
            window = atof(argv[++i]);
        else
            usage(argv[0]);
    }
    if (opt_quick) {
        opt_runs = 3;
        warm_s = 0.05;
        run_s = 0.15;
        warm_rounds = 1;
        run_rounds = 2;
    }
    if (runs)
        opt_runs = runs;
    if (window < 0 || window > MAX_WINDOW_S)
        usage(argv[0]);
    if (window > 0)
        run_s = window;
    if (opt_runs < 1 || opt_runs > MAX_RUNS)
        usage(argv[0]);
}

/* Soft limit up to the hard one: 10,000 connections need 10,000 fds in
 * the client and in the server (children inherit the limit). */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        bench_fail("getrlimit", errno);
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        getrlimit(RLIMIT_NOFILE, &rl);
    nofile = rl.rlim_cur == RLIM_INFINITY ? 1L << 30 : (long)rl.rlim_cur;
}

static void choose_cpu(void)
{
    if (opt_pin)
        pin_cpu = bench_last_cpu();
}

static void print_header(void)
{
    char load[64], cpu[48] = "not pinned";

    bench_loadavg(load, sizeof(load));
    if (pin_cpu >= 0)
        snprintf(cpu, sizeof(cpu), "pinned to CPU %d, SCHED_BATCH", pin_cpu);
    printf("# bench_echo: median of %d runs%s, %.2f s warm-up + %.2f s "
           "window (at least %.0f + %.0f lock-step rounds); client and "
           "server %s; st on %s; RLIMIT_NOFILE %ld; loadavg %s\n",
           opt_runs, opt_quick ? " (--quick)" : "", warm_s, run_s, warm_rounds,
           run_rounds, cpu, echo_st_eventsys(), nofile, load);
    printf("# targets (not asserted): ours/libev cpu <= 1.10 at 100, "
           "<= 1.12 at 1000 and 10000; rtps >= 0.90 x libev, >= 1.10 x st; "
           "p99 <= 1.50 x libev\n");
}

int main(int argc, char **argv)
{
    double t0 = bench_now_ns();

    parse(argc, argv);
    signal(SIGPIPE, SIG_IGN); /* a dead peer must be an error, not a kill */
    echo_proc_init();
    raise_nofile();
    choose_cpu();
    print_header();
    for (int i = 0; i < n_counts; i++)
        one_count(conn_counts[i]);
    bench_print("bench_total_s", (bench_now_ns() - t0) / 1e9, "s");
    return 0;
}
