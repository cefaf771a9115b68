/* SPDX-License-Identifier: MIT */
/*
 * Thread control with IOMGR: a suspended LWP keeps its I/O readiness and
 * its select timeout, recycling cancels a select, LWP_WaitExit on an LWP
 * doing I/O, and suspension of a preemptible CPU hog. Pipes only.
 */
#include <string.h>

#include <lwp/preempt.h>

#include "iomgr_test.h"

TestSuite(control_io, .init = iot_setup, .fini = iot_teardown, .timeout = 30);

/* The main LWP sleeps `ms` in IOMGR (the IO MANAGER runs meanwhile). */
static void io_sleep_ms(int ms)
{
    struct timeval tv = {0, ms * 1000};

    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
}

/* Several IOMGR passes and dispatches: whatever is ready gets the CPU. */
static void io_settle(void)
{
    for (int i = 0; i < 5; i++) {
        IOMGR_Poll();
        LWP_DispatchProcess();
        io_sleep_ms(5);
    }
}

static void close_pipe(int fds[2])
{
    close(fds[0]);
    close(fds[1]);
}

struct io_result {
    int fd;
    int rc;
    int got;
    volatile int done;
    fd_set set;
};

static void wait_readable(void *arg)
{
    struct io_result *r = arg;

    r->rc = IOMGR_WaitIO(r->fd, IOMGR_READ, NULL);
    r->done = 1;
}

static void select_readable(void *arg)
{
    struct io_result *r = arg;

    FD_ZERO(&r->set);
    FD_SET(r->fd, &r->set);
    r->rc = IOMGR_Select(r->fd + 1, &r->set, NULL, NULL, NULL);
    r->done = 1;
}

/* Starts `ep` on the read end of a fresh pipe, suspends it while blocked,
 * writes a byte, and checks it stays put until resumed. */
static void suspend_then_feed(void (*ep)(void *), int fds[2],
                              struct io_result *r)
{
    PROCESS p;

    iot_pipe(fds);
    r->fd = fds[0];
    p = iot_spawn(ep, IOT_HIGH, r);
    cr_assert_eq(r->done, 0, "blocked");
    cr_assert_eq(LWP_SuspendProcess(p), LWP_SUCCESS);
    cr_assert_eq(write(fds[1], "x", 1), 1);
    io_settle();
    cr_assert_eq(r->done, 0, "a suspended LWP ran");
    cr_assert_eq(LWP_ResumeProcess(p), LWP_SUCCESS);
    IOT_WAIT_FOR(r->done);
}

Test(control_io, suspended_waitio_keeps_its_readiness)
{
    struct io_result r = {0};
    int fds[2];

    suspend_then_feed(wait_readable, fds, &r);
    cr_assert_eq(r.rc, IOMGR_READ);
    close_pipe(fds);
}

Test(control_io, suspended_select_keeps_its_readiness)
{
    struct io_result r = {0};
    int fds[2];

    suspend_then_feed(select_readable, fds, &r);
    cr_assert_eq(r.rc, 1);
    cr_assert(FD_ISSET(fds[0], &r.set));
    close_pipe(fds);
}

static void timed_select(void *arg)
{
    struct io_result *r = arg;
    struct timeval tv = {0, 20000};

    FD_ZERO(&r->set);
    FD_SET(r->fd, &r->set);
    r->rc = IOMGR_Select(r->fd + 1, &r->set, NULL, NULL, &tv);
    r->done = 1;
}

Test(control_io, timeout_expiring_while_suspended_is_kept)
{
    struct io_result r = {0};
    int fds[2];
    PROCESS p;

    iot_pipe(fds);
    r.fd = fds[0];
    p = iot_spawn(timed_select, IOT_HIGH, &r);
    cr_assert_eq(LWP_SuspendProcess(p), LWP_SUCCESS);
    io_sleep_ms(80);
    cr_assert_eq(r.done, 0, "a suspended LWP ran");
    cr_assert_eq(LWP_ResumeProcess(p), LWP_SUCCESS);
    IOT_WAIT_FOR(r.done);
    cr_assert_eq(r.rc, 0, "timed out");
    cr_assert_not(FD_ISSET(fds[0], &r.set));
    close_pipe(fds);
}

static volatile int old_select_returned;

static void select_then_flag(void *arg)
{
    select_readable(arg);
    old_select_returned = 1;
}

static void read_one_byte(void *arg)
{
    struct io_result *r = arg;
    char c;

    r->rc = IOMGR_WaitIO(r->fd, IOMGR_READ, NULL);
    r->got = (int)read(r->fd, &c, 1);
    r->done = 1;
}

Test(control_io, recycling_cancels_a_select)
{
    struct io_result old = {0}, fresh = {0};
    int fds[2];
    PROCESS p;

    iot_pipe(fds);
    old.fd = fresh.fd = fds[0];
    p = iot_spawn(select_then_flag, IOT_HIGH, &old);
    cr_assert_eq(LWP_RecycleProcess(p, read_one_byte, &fresh), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Cancel(p), -1, "no select left to cancel");
    cr_assert_eq(write(fds[1], "x", 1), 1);
    io_settle();
    cr_assert_eq(old.done + fresh.done + old_select_returned, 0,
                 "the recycled LWP ran before its resume");
    cr_assert_eq(LWP_ResumeProcess(p), LWP_SUCCESS);
    IOT_WAIT_FOR(fresh.done);
    cr_assert_eq(fresh.rc, IOMGR_READ);
    cr_assert_eq(fresh.got, 1);
    cr_assert_eq(old.done + old_select_returned, 0);
    close_pipe(fds);
}

Test(control_io, destroying_suspended_selecting_lwps)
{
    struct io_result woken = {0}, waiting = {0};
    int a[2], b[2];
    PROCESS pa, pb;

    iot_pipe(a);
    iot_pipe(b);
    woken.fd = a[0];
    waiting.fd = b[0];
    pa = iot_spawn(wait_readable, IOT_HIGH, &woken);
    pb = iot_spawn(select_readable, IOT_HIGH, &waiting);
    cr_assert_eq(LWP_SuspendProcess(pa), LWP_SUCCESS);
    cr_assert_eq(LWP_SuspendProcess(pb), LWP_SUCCESS);
    cr_assert_eq(write(a[1], "x", 1), 1);
    io_settle(); /* pa's readiness arrives while it is suspended */
    cr_assert_eq(LWP_DestroyProcess(pa), LWP_SUCCESS);
    cr_assert_eq(LWP_DestroyProcess(pb), LWP_SUCCESS);
    cr_assert_eq(write(b[1], "x", 1), 1);
    io_settle();
    cr_assert_eq(woken.done + waiting.done, 0);
    cr_assert_eq(LWP_ResumeProcess(pa), LWP_EBADPID);
    close_pipe(a);
    close_pipe(b);
}

struct echo {
    int in, out;
};

/* Copies in to out until end of file; exits with the byte count. */
static void echo_until_eof(void *arg)
{
    struct echo *e = arg;
    char buf[64];
    int total = 0;
    ssize_t n;

    for (;;) {
        if (IOMGR_WaitIO(e->in, IOMGR_READ, NULL) != IOMGR_READ)
            LWP_ExitProcess(-1);
        n = read(e->in, buf, sizeof(buf));
        if (n <= 0)
            break;
        if (write(e->out, buf, (size_t)n) != n)
            LWP_ExitProcess(-2);
        total += (int)n;
    }
    LWP_ExitProcess(total);
}

Test(control_io, wait_exit_collects_an_echo_lwps_byte_count)
{
    int in[2], out[2], st = -1;
    struct echo e;
    char buf[64];
    ssize_t n;
    PROCESS p;

    iot_pipe(in);
    iot_pipe(out);
    e.in = in[0];
    e.out = out[1];
    p = iot_spawn(echo_until_eof, IOT_HIGH, &e);
    cr_assert_eq(write(in[1], "hello", 5), 5);
    io_sleep_ms(10);
    cr_assert_eq(write(in[1], " world", 6), 6);
    close(in[1]);
    cr_assert_eq(LWP_WaitExit(p, &st), LWP_SUCCESS);
    cr_assert_eq(st, 11);
    n = read(out[0], buf, sizeof(buf) - 1);
    cr_assert_eq(n, 11);
    buf[n] = '\0';
    cr_assert_str_eq(buf, "hello world");
    close(in[0]);
    close_pipe(out);
}

/* ---- Under preemption ---- */

#define PRIO_SPIN 2 /* below main, so main wakes over the spinner */

static volatile unsigned long spins;
static volatile int stop_spinning, spinner_done;
static volatile int suspend_rc = 1;
static PROCESS spinner;
static char go_suspend;

/* No calls, no allocation: preemptible code the tick can cut anywhere. */
static void spin_preemptibly(void *arg)
{
    (void)arg;
    PRE_PreemptMe();
    while (!stop_spinning)
        spins++;
    spinner_done = 1;
}

static void suspend_the_spinner(void *arg)
{
    (void)arg;
    LWP_WaitProcess(&go_suspend);
    suspend_rc = LWP_SuspendProcess(spinner);
}

Test(control_io, suspended_preemptible_hog_makes_no_progress)
{
    struct timeval slice = {0, 1000};
    unsigned long frozen;

    cr_assert_eq(PRE_InitPreempt(&slice), LWP_SUCCESS);
    /* Queue [suspender spinner]: the suspender waits before any spin. */
    iot_spawn(suspend_the_spinner, PRIO_SPIN, NULL);
    spinner = iot_spawn(spin_preemptibly, PRIO_SPIN, NULL);
    IOT_WAIT_FOR(spins > 0);
    /* The suspender gets the CPU only when a tick cuts the spinner. */
    cr_assert_eq(LWP_NoYieldSignal(&go_suspend), LWP_SUCCESS);
    IOT_WAIT_FOR(suspend_rc != 1);
    cr_assert_eq(suspend_rc, LWP_SUCCESS);
    frozen = spins;
    io_sleep_ms(50);
    cr_assert_eq(spins, frozen, "a suspended LWP progressed");
    cr_assert_eq(LWP_ResumeProcess(spinner), LWP_SUCCESS);
    IOT_WAIT_FOR(spins > frozen);
    stop_spinning = 1;
    IOT_WAIT_FOR(spinner_done);
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS);
}

/* Recycling drops preemptibility: the new run starts not preemptible. */
static char old_run_go, other_go;
static volatile int new_run_done = 0, other_saw_done = -1;

static void preemptible_then_park(void *arg)
{
    (void)arg;
    PRE_PreemptMe();
    LWP_WaitProcess(&old_run_go);
}

static void spin_100ms(void *arg)
{
    double end = iot_now() + 0.1;
    volatile unsigned long n = 0;

    (void)arg;
    while (iot_now() < end)
        for (int i = 0; i < 1000; i++)
            n++;
    new_run_done = 1;
}

static void note_whether_done(void *arg)
{
    (void)arg;
    LWP_WaitProcess(&other_go);
    other_saw_done = new_run_done;
}

Test(control_io, recycled_lwp_is_not_preemptible)
{
    struct timeval slice = {0, 1000};
    PROCESS t;

    cr_assert_eq(PRE_InitPreempt(&slice), LWP_SUCCESS);
    t = iot_spawn(preemptible_then_park, PRIO_SPIN, NULL);
    iot_spawn(note_whether_done, PRIO_SPIN, NULL);
    io_sleep_ms(5); /* both reach their waits */
    cr_assert_eq(LWP_RecycleProcess(t, spin_100ms, NULL), LWP_SUCCESS);
    cr_assert_eq(LWP_ResumeProcess(t), LWP_SUCCESS); /* queue [t] */
    cr_assert_eq(LWP_NoYieldSignal(&other_go), LWP_SUCCESS); /* [t other] */
    IOT_WAIT_FOR(other_saw_done != -1);
    cr_assert_eq(other_saw_done, 1, "the recycled LWP was preempted");
    cr_assert_gt(PRE_Skipped(), 0, "ticks came while it spun");
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS);
}
