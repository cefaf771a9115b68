/* SPDX-License-Identifier: MIT */
/*
 * Standing waits (IOMGR_StandingOpen / Wait / Close): readiness, absolute
 * deadlines, cancellation, Q-signals, one waiter at a time, closing under
 * a wait, IOMGR_Finalize, a closed fd, no busy loop between waits, the
 * protected-stacks debugging aid, and every error code.
 */
#include <lwp/fasttime.h>

#include "iomgr_test.h"

TestSuite(iomgr_standing, .init = iot_setup, .fini = iot_teardown,
          .timeout = 30);
TestSuite(iomgr_standing_noinit, .fini = iot_teardown, .timeout = 30);

static unsigned long long now_us(void)
{
    return FT_MonotonicMicros();
}

static void sleep_ms(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    IOMGR_Select(0, NULL, NULL, NULL, &tv);
}

/* What a waiter LWP saw: its return value, errno, and when it returned. */
struct waiter {
    IOMGR_Standing *s;
    unsigned long long deadline;
    int rc, err, done;
    double at;
};

static void wait_once(void *arg)
{
    struct waiter *w = arg;

    w->rc = IOMGR_StandingWait(w->s, w->deadline);
    w->err = errno;
    w->at = iot_now();
    w->done = 1;
}

static void write_byte(int fd)
{
    cr_assert_eq(write(fd, "x", 1), 1);
}

/* A pipe, and a handle on its read end. */
static IOMGR_Standing *open_on_pipe(int fds[2])
{
    IOMGR_Standing *s = NULL;

    iot_pipe(fds);
    cr_assert_eq(IOMGR_StandingOpen(fds[0], IOMGR_READ, &s), 0);
    return s;
}

/* Closes the handle, which must succeed, then the pipe. */
static void close_all(IOMGR_Standing *s, int fds[2])
{
    cr_assert_eq(IOMGR_StandingClose(s), 0);
    close(fds[0]);
    close(fds[1]);
}

/* An LWP that waits on s once, with no deadline; w records what it saw. */
static PROCESS spawn_waiter(struct waiter *w, IOMGR_Standing *s)
{
    *w = (struct waiter){.s = s, .deadline = IOMGR_NO_DEADLINE};
    return iot_spawn(wait_once, IOT_HIGH, w);
}

Test(iomgr_standing_noinit, every_call_needs_iomgr)
{
    IOMGR_Standing *s = NULL;

    cr_assert_eq(IOMGR_StandingOpen(0, IOMGR_READ, &s), LWP_EINIT);
    cr_assert_eq(IOMGR_StandingWait(NULL, IOMGR_NO_DEADLINE), LWP_EINIT);
    cr_assert_eq(IOMGR_StandingClose(NULL), LWP_EINIT);
}

Test(iomgr_standing, open_checks_its_arguments)
{
    IOMGR_Standing *s = NULL;
    int fds[2];

    iot_pipe(fds);
    errno = 0;
    cr_assert_eq(IOMGR_StandingOpen(fds[0], IOMGR_READ, NULL), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(IOMGR_StandingOpen(fds[0], 0, &s), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(IOMGR_StandingOpen(fds[0], IOMGR_READ | 0x8, &s), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(IOMGR_StandingOpen(-1, IOMGR_READ, &s), -1);
    cr_assert_eq(errno, EBADF);
    close(fds[1]);
    cr_assert_eq(IOMGR_StandingOpen(fds[1], IOMGR_READ, &s), -1);
    cr_assert_eq(errno, EBADF);
    /* A huge number that is not open: refused without memory spent. */
    cr_assert_eq(IOMGR_StandingOpen(2147483647, IOMGR_READ, &s), -1);
    cr_assert_eq(errno, EBADF);
    cr_assert_null(s);
    cr_assert_eq(IOMGR_StandingWait(NULL, IOMGR_NO_DEADLINE), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(IOMGR_StandingClose(NULL), -1);
    cr_assert_eq(errno, EINVAL);
    close(fds[0]);
}

Test(iomgr_standing, returns_the_ready_bits_each_time_the_fd_is_ready)
{
    IOMGR_Standing *s;
    int fds[2];
    char c;

    s = open_on_pipe(fds);
    for (int i = 0; i < 100; i++) {
        struct waiter w;
        spawn_waiter(&w, s);
        cr_assert_eq(w.done, 0); /* nothing to read: it waits */
        write_byte(fds[1]);
        IOT_WAIT_FOR(w.done);
        cr_assert_eq(w.rc, IOMGR_READ);
        cr_assert_eq(read(fds[0], &c, 1), 1);
    }
    close_all(s, fds);
}

Test(iomgr_standing, an_fd_ready_before_the_wait_returns_at_the_next_pass)
{
    IOMGR_Standing *s;
    int fds[2];

    iot_pipe(fds);
    write_byte(fds[1]);
    cr_assert_eq(IOMGR_StandingOpen(fds[0], IOMGR_READ, &s), 0);
    cr_assert_eq(IOMGR_StandingWait(s, IOMGR_NO_DEADLINE), IOMGR_READ);
    /* Between waits, with nobody reading, passes go by; then again. */
    sleep_ms(20);
    cr_assert_eq(IOMGR_StandingWait(s, IOMGR_NO_DEADLINE), IOMGR_READ);
    close_all(s, fds);
}

Test(iomgr_standing, waits_for_write_readiness_too)
{
    IOMGR_Standing *s;
    int fds[2];

    iot_pipe(fds);
    cr_assert_eq(IOMGR_StandingOpen(fds[1], IOMGR_READ | IOMGR_WRITE, &s),
                 0);
    cr_assert_eq(IOMGR_StandingWait(s, IOMGR_NO_DEADLINE), IOMGR_WRITE);
    close_all(s, fds);
}

Test(iomgr_standing, a_deadline_ends_the_wait_no_sooner)
{
    IOMGR_Standing *s;
    int fds[2];

    s = open_on_pipe(fds);
    for (int i = 0; i < 3; i++) {
        unsigned long long start = now_us();
        cr_assert_eq(IOMGR_StandingWait(s, start + 30000), 0);
        unsigned long long end = now_us();
        cr_assert_geq(end, start + 30000);
        cr_assert_lt(end, start + 1000000);
    }
    /* One already past: at the next pass. */
    double t0 = iot_now();
    cr_assert_eq(IOMGR_StandingWait(s, now_us() - 1000), 0);
    cr_assert_lt(iot_now() - t0, 0.5);
    cr_assert_eq(IOMGR_StandingWait(s, 0), 0);
    close_all(s, fds);
}

/* The handle keeps its deadline's timer between waits: a deadline kept,
 * moved earlier or moved later must each be honoured exactly. */
Test(iomgr_standing, deadlines_hold_across_waits_that_end_early)
{
    IOMGR_Standing *s;
    int fds[2];
    char c;

    s = open_on_pipe(fds);
    /* Kept: three waits end by readiness, the fourth at the deadline. */
    unsigned long long d = now_us() + 60000;
    for (int i = 0; i < 3; i++) {
        write_byte(fds[1]);
        cr_assert_eq(IOMGR_StandingWait(s, d), IOMGR_READ);
        cr_assert_eq(read(fds[0], &c, 1), 1);
    }
    cr_assert_eq(IOMGR_StandingWait(s, d), 0);
    cr_assert_geq(now_us(), d);
    /* The same deadline again, now past (its timer fired): at once. */
    double t0 = iot_now();
    cr_assert_eq(IOMGR_StandingWait(s, d), 0);
    cr_assert_lt(iot_now() - t0, 0.5);
    /* Moved earlier. */
    write_byte(fds[1]);
    cr_assert_eq(IOMGR_StandingWait(s, now_us() + 5000000), IOMGR_READ);
    cr_assert_eq(read(fds[0], &c, 1), 1);
    unsigned long long start = now_us();
    cr_assert_eq(IOMGR_StandingWait(s, start + 20000), 0);
    cr_assert_geq(now_us(), start + 20000);
    cr_assert_lt(now_us(), start + 1000000);
    /* Moved later: the earlier one must not end the wait. */
    write_byte(fds[1]);
    cr_assert_eq(IOMGR_StandingWait(s, now_us() + 20000), IOMGR_READ);
    cr_assert_eq(read(fds[0], &c, 1), 1);
    start = now_us();
    cr_assert_eq(IOMGR_StandingWait(s, start + 100000), 0);
    cr_assert_geq(now_us(), start + 100000);
    /* None: readiness alone ends it. */
    write_byte(fds[1]);
    cr_assert_eq(IOMGR_StandingWait(s, IOMGR_NO_DEADLINE), IOMGR_READ);
    close_all(s, fds);
}

Test(iomgr_standing, iomgr_cancel_ends_the_wait_with_minus_two)
{
    IOMGR_Standing *s;
    int fds[2];
    struct waiter w;

    s = open_on_pipe(fds);
    PROCESS pid = spawn_waiter(&w, s);
    cr_assert_eq(IOMGR_Cancel(pid), 0);
    IOT_WAIT_FOR(w.done);
    cr_assert_eq(w.rc, -2);
    /* The handle is free for the next wait. */
    write_byte(fds[1]);
    cr_assert_eq(IOMGR_StandingWait(s, IOMGR_NO_DEADLINE), IOMGR_READ);
    close_all(s, fds);
}

Test(iomgr_standing, a_qsignal_ends_the_wait_with_eintr)
{
    IOMGR_Standing *s;
    int fds[2];
    struct waiter w;

    s = open_on_pipe(fds);
    PROCESS pid = spawn_waiter(&w, s);
    cr_assert_eq(LWP_QSignal(pid), LWP_SUCCESS);
    IOT_WAIT_FOR(w.done);
    cr_assert_eq(w.rc, -1);
    cr_assert_eq(w.err, EINTR);
    /* One pending at the call: at once. */
    cr_assert_eq(LWP_QSignal(LWP_ThisProcess()), LWP_ENOWAIT);
    errno = 0;
    cr_assert_eq(IOMGR_StandingWait(s, IOMGR_NO_DEADLINE), -1);
    cr_assert_eq(errno, EINTR);
    close_all(s, fds);
}

Test(iomgr_standing, one_waiter_at_a_time)
{
    IOMGR_Standing *s;
    int fds[2];
    struct waiter a;

    s = open_on_pipe(fds);
    spawn_waiter(&a, s);
    errno = 0;
    cr_assert_eq(IOMGR_StandingWait(s, IOMGR_NO_DEADLINE), -1);
    cr_assert_eq(errno, EBUSY);
    write_byte(fds[1]);
    IOT_WAIT_FOR(a.done);
    cr_assert_eq(a.rc, IOMGR_READ);
    close_all(s, fds);
}

Test(iomgr_standing, closing_the_handle_under_a_wait_ends_it_with_ecanceled)
{
    IOMGR_Standing *s;
    int fds[2];
    struct waiter w;

    s = open_on_pipe(fds);
    spawn_waiter(&w, s);
    cr_assert_eq(IOMGR_StandingClose(s), 0);
    IOT_WAIT_FOR(w.done);
    cr_assert_eq(w.rc, -1);
    cr_assert_eq(w.err, ECANCELED);
    close(fds[0]);
    close(fds[1]);
}

Test(iomgr_standing, destroying_the_waiter_leaves_the_handle_usable)
{
    IOMGR_Standing *s;
    int fds[2];
    struct waiter w;

    s = open_on_pipe(fds);
    PROCESS pid = spawn_waiter(&w, s);
    cr_assert_eq(LWP_DestroyProcess(pid), LWP_SUCCESS);
    cr_assert_eq(w.done, 0);
    write_byte(fds[1]);
    cr_assert_eq(IOMGR_StandingWait(s, IOMGR_NO_DEADLINE), IOMGR_READ);
    close_all(s, fds);
}

Test(iomgr_standing, finalize_ends_waits_and_handles)
{
    IOMGR_Standing *s;
    int fds[2];
    struct waiter w;

    s = open_on_pipe(fds);
    spawn_waiter(&w, s);
    cr_assert_eq(IOMGR_Finalize(), LWP_SUCCESS);
    LWP_DispatchProcess();
    cr_assert_eq(w.done, 1);
    cr_assert_eq(w.rc, -1);
    cr_assert_eq(w.err, ECANCELED);
    /* Running again: the old handle stays ended, a new one works. */
    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
    errno = 0;
    cr_assert_eq(IOMGR_StandingWait(s, IOMGR_NO_DEADLINE), -1);
    cr_assert_eq(errno, ECANCELED);
    cr_assert_eq(IOMGR_StandingClose(s), 0);
    write_byte(fds[1]);
    cr_assert_eq(IOMGR_StandingOpen(fds[0], IOMGR_READ, &s), 0);
    cr_assert_eq(IOMGR_StandingWait(s, IOMGR_NO_DEADLINE), IOMGR_READ);
    cr_assert_eq(IOMGR_Finalize(), LWP_SUCCESS);
    cr_assert_eq(IOMGR_StandingClose(s), 0); /* ended: freed */
    close(fds[0]);
    close(fds[1]);
}

Test(iomgr_standing, an_fd_closed_under_the_wait_fails_it_with_ebadf)
{
    IOMGR_Standing *s;
    int fds[2];
    struct waiter w;

    s = open_on_pipe(fds);
    spawn_waiter(&w, s);
    double t0 = iot_now();
    close(fds[0]);
    IOT_WAIT_FOR(w.done);
    cr_assert_eq(w.rc, -1);
    cr_assert_eq(w.err, EBADF);
    cr_assert_lt(w.at - t0, 3.0); /* the sweep: within about two seconds */
    cr_assert_eq(IOMGR_StandingClose(s), 0);
    close(fds[1]);
}

Test(iomgr_standing, an_fd_closed_between_waits_fails_the_next_at_once)
{
    IOMGR_Standing *s;
    int fds[2];

    s = open_on_pipe(fds);
    cr_assert_eq(IOMGR_StandingWait(s, now_us() + 1000), 0);
    sleep_ms(5); /* a pass with nobody waiting stops the watcher */
    close(fds[0]);
    double t0 = iot_now();
    errno = 0;
    cr_assert_eq(IOMGR_StandingWait(s, IOMGR_NO_DEADLINE), -1);
    cr_assert_eq(errno, EBADF);
    cr_assert_lt(iot_now() - t0, 0.5);
    cr_assert_eq(IOMGR_StandingClose(s), 0);
    close(fds[1]);
}

/* The watcher of a ready fd nobody waits on must not wake every pass: the
 * process would spin while the LWP that reads it is busy elsewhere. */
Test(iomgr_standing, a_ready_fd_nobody_waits_on_costs_no_cpu)
{
    IOMGR_Standing *s;
    int fds[2];

    s = open_on_pipe(fds);
    write_byte(fds[1]);
    cr_assert_eq(IOMGR_StandingWait(s, IOMGR_NO_DEADLINE), IOMGR_READ);
    double cpu0 = iot_cpu(), t0 = iot_now();
    sleep_ms(300);
    double cpu = iot_cpu() - cpu0, wall = iot_now() - t0;
    cr_assert_geq(wall, 0.3);
    cr_assert_lt(cpu, 0.1, "%.3f s of CPU in %.3f s asleep", cpu, wall);
    cr_assert_eq(IOMGR_StandingWait(s, IOMGR_NO_DEADLINE), IOMGR_READ);
    close_all(s, fds);
}

Test(iomgr_standing, works_with_protected_stacks)
{
    IOMGR_Standing *s;
    int fds[2];

    s = open_on_pipe(fds);
    LWP_ProtectStacks();
    for (int i = 0; i < 10; i++) {
        struct waiter w;
        char c;
        spawn_waiter(&w, s);
        write_byte(fds[1]);
        IOT_WAIT_FOR(w.done);
        cr_assert_eq(w.rc, IOMGR_READ);
        cr_assert_eq(read(fds[0], &c, 1), 1);
    }
    LWP_UnProtectStacks();
    close_all(s, fds);
}
