/* SPDX-License-Identifier: MIT */
/*
 * bench_iomgr: what IOMGR itself costs.
 *
 *     taskset -c 1 bench_iomgr [--quick] [--runs N]
 *
 * Wake latency: time from a pipe becoming readable to the LWP selecting on
 * it running again, through IOMGR_Select and through IOMGR_WaitIO; median
 * ns of every wake in a run, median of --runs runs (default 7). The pipe
 * is written by another LWP of the same process, right before it blocks:
 * the path measured is then exactly IOMGR's (the switch to the IO MANAGER,
 * the epoll_wait that finds the pipe ready, libev's dispatch, the wake-up
 * of the selecting LWP and the switch to it). A writer in a second process
 * would add the kernel waking a sleeping process, several microseconds
 * that vary with CPU placement and idle states and have nothing to do
 * with IOMGR. The same shape in a plain libev loop (write, then one
 * ev_run) is printed as the floor: the part no code on libev can avoid.
 *
 * Urgent-data latency: the same through an IOMGR_Select on the except set
 * of a TCP connection over 127.0.0.1, the other end sending one byte of
 * out-of-band data (MSG_OOB) right before it blocks.
 *
 * Idle CPU: IOMGR initialised, the main LWP in LWP_WaitProcess on an
 * event that SIGALRM delivers through IOMGR_Signal after 5 s; the CPU the
 * process used meanwhile (getrusage) and how often it woke (context
 * switches; a polling or ticking loop shows here first). Then the same
 * with 1,000 LWPs in IOMGR_WaitIO on pipes nobody writes, as in a server
 * whose clients are quiet: any per-waiter periodic work shows there.
 * Then one LWP in IOMGR_Select on the read and except sets of a quiet TCP
 * connection (OpenAFS's selserver, idle), on a loop handed in with
 * IOMGR_InitializeWithLoop so that its passes (each one epoll_wait) are
 * counted: loop passes per second.
 * --quick waits 1 s and scales to 5 s, and divides the wake counts by 10.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lwp/iomgr.h>
#include <lwp/lwp.h>

#include "bench_util.h"

#define WRITER_STACK (32 * 1024)
#define IDLE_S 5
#define IDLE_WAITERS 1000 /* LWPs waiting on quiet fds, second idle figure */

static int opt_runs = 7;
static long opt_div = 1;

/* ---- Sessions ---- */

static void session_begin(void)
{
    int rc = IOMGR_Initialize();

    if (rc != LWP_SUCCESS)
        bench_fail("IOMGR_Initialize", rc);
}

static void session_end(void)
{
    int rc = IOMGR_Finalize();

    if (rc == LWP_SUCCESS)
        rc = LWP_TerminateProcessSupport();
    if (rc != LWP_SUCCESS)
        bench_fail("IOMGR_Finalize/LWP_TerminateProcessSupport", rc);
}

/* ---- Wake latency ---- */

static int wake_pipe[2];
static char go_ev;
static double t_ready; /* when the pipe last became readable */
static int via_select;

/* Each turn: wait for the go, make the pipe readable, note when, and
 * block again, which hands the CPU to the IO MANAGER. */
static void writer(void *arg)
{
    long n = *(long *)arg;

    for (long i = 0; i < n; i++) {
        LWP_WaitProcess(&go_ev);
        if (write(wake_pipe[1], "w", 1) != 1)
            bench_fail("write", errno);
        t_ready = bench_now_ns();
    }
}

static int wait_readable(int fd)
{
    fd_set set;

    if (!via_select)
        return IOMGR_WaitIO(fd, IOMGR_READ, NULL);
    FD_ZERO(&set);
    FD_SET(fd, &set);
    return IOMGR_Select(fd + 1, &set, NULL, NULL, NULL);
}

static double *samples(long n)
{
    double *v = malloc((size_t)n * sizeof(*v));

    if (!v || pipe(wake_pipe) != 0)
        bench_fail("wake set-up", errno);
    return v;
}

static double finish(double *lat, long n)
{
    double med = bench_median(lat, (int)n);

    free(lat);
    close(wake_pipe[0]);
    close(wake_pipe[1]);
    return med;
}

/* The writer, of the main LWP's priority, runs at creation and parks on
 * go_ev; each round the main LWP signals it and blocks on the pipe. */
static double iomgr_wake_run(long n)
{
    double *lat = samples(n);
    char c;
    int rc;

    session_begin();
    rc = LWP_CreateProcess(writer, WRITER_STACK, LWP_NORMAL_PRIORITY, &n,
                           "writer", NULL);
    if (rc != LWP_SUCCESS)
        bench_fail("LWP_CreateProcess", rc);
    for (long i = 0; i < n; i++) {
        LWP_NoYieldSignal(&go_ev);
        rc = wait_readable(wake_pipe[0]);
        lat[i] = bench_now_ns() - t_ready;
        if (rc != 1 || read(wake_pipe[0], &c, 1) != 1)
            bench_fail(via_select ? "IOMGR_Select" : "IOMGR_WaitIO", rc);
    }
    session_end();
    return finish(lat, n);
}

/* ---- Urgent data ---- */

static int oob_pair[2]; /* [0] sends, [1] is selected on */

static void tcp_pair(int sv[2])
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &len) != 0)
        bench_fail("listen", errno);
    sv[0] = socket(AF_INET, SOCK_STREAM, 0);
    if (sv[0] < 0 || connect(sv[0], (struct sockaddr *)&a, sizeof(a)) != 0)
        bench_fail("connect", errno);
    sv[1] = accept(l, NULL, NULL);
    if (sv[1] < 0)
        bench_fail("accept", errno);
    close(l);
}

static void oob_sender(void *arg)
{
    long n = *(long *)arg;

    for (long i = 0; i < n; i++) {
        LWP_WaitProcess(&go_ev);
        if (send(oob_pair[0], "u", 1, MSG_OOB) != 1)
            bench_fail("send MSG_OOB", errno);
        t_ready = bench_now_ns();
    }
}

static double oob_wake_run(long n)
{
    double *lat = malloc((size_t)n * sizeof(*lat)), med;
    fd_set e;
    char c;
    int rc;

    if (!lat)
        bench_fail("malloc", 0);
    tcp_pair(oob_pair);
    session_begin();
    rc = LWP_CreateProcess(oob_sender, WRITER_STACK, LWP_NORMAL_PRIORITY, &n,
                           "oob", NULL);
    if (rc != LWP_SUCCESS)
        bench_fail("LWP_CreateProcess", rc);
    for (long i = 0; i < n; i++) {
        LWP_NoYieldSignal(&go_ev);
        FD_ZERO(&e);
        FD_SET(oob_pair[1], &e);
        rc = IOMGR_Select(oob_pair[1] + 1, NULL, NULL, &e, NULL);
        lat[i] = bench_now_ns() - t_ready;
        if (rc != 1 || recv(oob_pair[1], &c, 1, MSG_OOB) != 1)
            bench_fail("IOMGR_Select (except)", rc);
    }
    session_end();
    close(oob_pair[0]);
    close(oob_pair[1]);
    med = bench_median(lat, (int)n);
    free(lat);
    return med;
}

static double select_wake_run(long n)
{
    via_select = 1;
    return iomgr_wake_run(n);
}

static double waitio_wake_run(long n)
{
    via_select = 0;
    return iomgr_wake_run(n);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    char c;

    *(double *)w->data = bench_now_ns();
    if (read(w->fd, &c, 1) != 1)
        bench_fail("read", errno);
}

static double libev_wake_run(long n)
{
    double *lat = samples(n), t_run = 0;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    ev_io w;

    if (!loop)
        bench_fail("ev_loop_new", 0);
    ev_io_init(&w, on_readable, wake_pipe[0], EV_READ);
    w.data = &t_run;
    ev_io_start(loop, &w);
    for (long i = 0; i < n; i++) {
        if (write(wake_pipe[1], "w", 1) != 1)
            bench_fail("write", errno);
        t_ready = bench_now_ns();
        ev_run(loop, EVRUN_ONCE);
        lat[i] = t_run - t_ready;
    }
    ev_io_stop(loop, &w);
    ev_loop_destroy(loop);
    return finish(lat, n);
}

enum { W_EV, W_SELECT, W_WAITIO, W_OOB, W_COUNT };

static void wakes(void)
{
    long n = 100000 / opt_div;
    struct bench_item it[W_COUNT] = {
        [W_EV] = {libev_wake_run, n, 0},
        [W_SELECT] = {select_wake_run, n, 0},
        [W_WAITIO] = {waitio_wake_run, n, 0},
        [W_OOB] = {oob_wake_run, n / 10, 0},
    };

    bench_group(it, W_COUNT, opt_runs);
    bench_print("libev_wake_ns", it[W_EV].ns, "ns");
    bench_print("iomgr_wake_select_ns", it[W_SELECT].ns, "ns");
    bench_print("iomgr_wake_waitio_ns", it[W_WAITIO].ns, "ns");
    bench_ratio("iomgr_wake_select_vs_libev", it[W_SELECT].ns, it[W_EV].ns);
    bench_ratio("iomgr_wake_waitio_vs_libev", it[W_WAITIO].ns, it[W_EV].ns);
    bench_print("iomgr_wake_except_oob_ns", it[W_OOB].ns, "ns");
}

/* ---- Idle CPU ---- */

static char alarm_ev;

struct idle_figures {
    double cpu_ms;  /* scaled to IDLE_S */
    double wakeups; /* context switches, scaled to IDLE_S */
    double wall_s;
};

static double tv_ms(struct timeval tv)
{
    return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

static void idle_waiter(void *arg)
{
    IOMGR_WaitIO((int)(intptr_t)arg, IOMGR_READ, NULL);
}

/* n LWPs, each waiting to read its own pipe, which nobody writes: the
 * state of a server whose clients are all quiet. Returns the 2n fds. */
static int *park_waiters(int n)
{
    int *fds = malloc((size_t)(2 * n + 1) * sizeof(*fds));

    if (!fds)
        bench_fail("malloc", 0);
    for (int i = 0; i < n; i++) {
        if (pipe(&fds[2 * i]) != 0)
            bench_fail("pipe", errno);
        if (LWP_CreateProcess(idle_waiter, WRITER_STACK, LWP_NORMAL_PRIORITY,
                              (void *)(intptr_t)fds[2 * i], "idle",
                              NULL) != LWP_SUCCESS)
            bench_fail("LWP_CreateProcess", 0);
    }
    return fds;
}

static struct idle_figures idle_run(int waiters)
{
    int secs = opt_div > 1 ? 1 : IDLE_S, rc, *fds;
    double scale = (double)IDLE_S / secs, t0, t1;
    struct rusage r0, r1;
    struct idle_figures f;

    session_begin();
    rc = IOMGR_Signal(SIGALRM, &alarm_ev);
    if (rc != LWP_SUCCESS)
        bench_fail("IOMGR_Signal", rc);
    fds = park_waiters(waiters);
    getrusage(RUSAGE_SELF, &r0);
    t0 = bench_now_ns();
    alarm((unsigned)secs);
    LWP_WaitProcess(&alarm_ev);
    t1 = bench_now_ns();
    getrusage(RUSAGE_SELF, &r1);
    IOMGR_CancelSignal(SIGALRM);
    session_end();
    for (int i = 0; i < 2 * waiters; i++)
        close(fds[i]);
    free(fds);
    f.cpu_ms = scale * (tv_ms(r1.ru_utime) + tv_ms(r1.ru_stime) -
                        tv_ms(r0.ru_utime) - tv_ms(r0.ru_stime));
    f.wakeups = scale * (double)(r1.ru_nvcsw + r1.ru_nivcsw - r0.ru_nvcsw -
                                 r0.ru_nivcsw);
    f.wall_s = (t1 - t0) / 1e9;
    return f;
}

/* OpenAFS's selserver, idle: one LWP selects on the read and except sets
 * of a quiet connection. */
static void except_selector(void *arg)
{
    int fd = (int)(intptr_t)arg;
    fd_set r, e;

    FD_ZERO(&r);
    FD_ZERO(&e);
    FD_SET(fd, &r);
    FD_SET(fd, &e);
    IOMGR_Select(fd + 1, &r, NULL, &e, NULL);
}

struct idle_except {
    double passes_per_s; /* loop passes: one epoll_wait each */
    double cpu_ms;       /* scaled to IDLE_S */
    double wakeups;
};

static struct idle_except idle_except_run(void)
{
    int secs = opt_div > 1 ? 1 : IDLE_S, sv[2], rc;
    double scale = (double)IDLE_S / secs, t0;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct rusage r0, r1;
    struct idle_except f;
    unsigned int it0;

    if (!loop || (rc = IOMGR_InitializeWithLoop(loop)) != LWP_SUCCESS)
        bench_fail("IOMGR_InitializeWithLoop", 0);
    tcp_pair(sv);
    if (IOMGR_Signal(SIGALRM, &alarm_ev) != LWP_SUCCESS ||
        LWP_CreateProcess(except_selector, WRITER_STACK, LWP_NORMAL_PRIORITY,
                          (void *)(intptr_t)sv[1], "selserver",
                          NULL) != LWP_SUCCESS)
        bench_fail("idle except set-up", 0);
    getrusage(RUSAGE_SELF, &r0);
    it0 = ev_iteration(loop);
    t0 = bench_now_ns();
    alarm((unsigned)secs);
    LWP_WaitProcess(&alarm_ev);
    f.passes_per_s =
        (double)(ev_iteration(loop) - it0) / ((bench_now_ns() - t0) / 1e9);
    getrusage(RUSAGE_SELF, &r1);
    IOMGR_CancelSignal(SIGALRM);
    session_end();
    ev_loop_destroy(loop);
    close(sv[0]);
    close(sv[1]);
    f.cpu_ms = scale * (tv_ms(r1.ru_utime) + tv_ms(r1.ru_stime) -
                        tv_ms(r0.ru_utime) - tv_ms(r0.ru_stime));
    f.wakeups = scale * (double)(r1.ru_nvcsw + r1.ru_nivcsw - r0.ru_nvcsw -
                                 r0.ru_nivcsw);
    return f;
}

/* Room for IDLE_WAITERS pipes, raising the soft fd limit if need be. */
static int fds_for_waiters(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < 2 * IDLE_WAITERS + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur >= 2 * IDLE_WAITERS + 64;
}

static void idle(void)
{
    struct idle_figures f = idle_run(0);
    struct idle_figures w = {BENCH_SKIPPED, BENCH_SKIPPED, BENCH_SKIPPED};
    struct idle_except x;

    bench_print("iomgr_idle_5s_cpu_ms", f.cpu_ms, "ms");
    bench_print("iomgr_idle_5s_wakeups", f.wakeups, "switches");
    bench_print("iomgr_idle_wall_s", f.wall_s, "s");
    if (fds_for_waiters())
        w = idle_run(IDLE_WAITERS);
    bench_print("iomgr_idle_5s_cpu_ms_1000_waiting", w.cpu_ms, "ms");
    bench_print("iomgr_idle_5s_wakeups_1000_waiting", w.wakeups, "switches");
    x = idle_except_run();
    bench_print("iomgr_idle_except_select_loop_passes_per_s", x.passes_per_s,
                "passes/s");
    bench_print("iomgr_idle_except_select_5s_cpu_ms", x.cpu_ms, "ms");
    bench_print("iomgr_idle_except_select_5s_wakeups", x.wakeups, "switches");
}

/* ---- Main ---- */

static void print_header(void)
{
    char load[64];

    bench_loadavg(load, sizeof(load));
    printf("# bench_iomgr: median of %d runs%s; idle target < 10 ms; "
           "loadavg %s\n",
           opt_runs, opt_div > 1 ? ", --quick (counts / 10, idle 1 s x 5)" : "",
           load);
}

int main(int argc, char **argv)
{
    double t0 = bench_now_ns();

    bench_parse_args(argc, argv, &opt_runs, &opt_div);
    print_header();
    wakes();
    idle();
    bench_print("bench_total_s", (bench_now_ns() - t0) / 1e9, "s");
    return 0;
}
