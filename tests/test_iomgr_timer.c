/* SPDX-License-Identifier: MIT */
/*
 * IOMGR's timer heap and the timerfd that wakes the loop for its earliest
 * deadline (iomgr/iomgr_timer.c): many timeouts expire in deadline order,
 * a cancelled timed wait leaves nothing behind, and a deadline earlier than
 * the one the loop sleeps for, set while it sleeps, is honoured; a loop
 * kept busy by I/O is not woken for the checks of unsure fd watchers.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "iomgr_test.h"

TestSuite(iomgr_timer, .init = iot_setup, .fini = iot_teardown,
          .timeout = 30);

enum { SLEEPERS = 64, FIRST_MS = 50 };
static int woke_order[SLEEPERS];
static int nwoke;
static double sleepers_t0;

/* Waits until arg milliseconds after sleepers_t0 (a distinct number each),
 * then logs itself. The deadline is taken from the common start, not from
 * when this LWP got to run: on a loaded machine (sanitizers, parallel
 * tests) 64 spawns may take longer than the 2 ms between deadlines. */
static void timed_sleeper(void *arg)
{
    int ms = (int)(intptr_t)arg;
    double left = sleepers_t0 + ms * 1e-3 - iot_now();
    struct timeval tv = {0, left > 0 ? (suseconds_t)(left * 1e6) : 0};

    cr_assert_gt(left, 0, "the %d ms sleeper started after its deadline",
                 ms);
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
    woke_order[nwoke++] = ms;
}

Test(iomgr_timer, timeouts_expire_in_deadline_order)
{
    struct timeval tv = {1, 0};

    nwoke = 0;
    sleepers_t0 = iot_now();
    /* Started in a shuffled order: 50, 52, ..., 176 ms, a stride of 37. */
    for (int i = 0; i < SLEEPERS; i++) {
        int k = (i * 37) % SLEEPERS;
        iot_spawn(timed_sleeper, IOT_HIGH,
                  (void *)(intptr_t)(FIRST_MS + 2 * k));
    }
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
    cr_assert_eq(nwoke, SLEEPERS);
    for (int i = 0; i < SLEEPERS; i++)
        cr_assert_eq(woke_order[i], FIRST_MS + 2 * i,
                     "wake %d was the %d ms one", i, woke_order[i]);
}

static PROCESS cancelled_pid;
static int cancelled_rc = 99;

static void long_sleeper(void *arg)
{
    struct timeval tv = {0, 50000};

    (void)arg;
    cancelled_rc = IOMGR_Select(0, NULL, NULL, NULL, &tv);
}

Test(iomgr_timer, a_cancelled_timed_wait_leaves_no_timer_behind)
{
    struct timeval tv = {0, 100000};
    double t0 = iot_now();

    cancelled_pid = iot_spawn(long_sleeper, IOT_HIGH, NULL);
    cr_assert_eq(IOMGR_Cancel(cancelled_pid), 0);
    LWP_DispatchProcess();
    cr_assert_eq(cancelled_rc, -2);
    /* Its 50 ms deadline, had it stayed, would now fire into a wait that
     * is over; the main LWP's own timeout still ends on time. */
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
    cr_assert_geq(iot_now() - t0, 0.099);
    cr_assert_lt(iot_now() - t0, 1.0);
}

static double short_wait_s = -1;
static PROCESS main_pid;

/* A soft signal's LWP, started while the loop sleeps for the main LWP's
 * 5 s (nothing else is pending: no fd is waited on, so no fd check timer
 * either): a 20 ms wait, earlier than the deadline the loop is armed for. */
static void short_wait(void *arg)
{
    struct timeval tv = {0, 20000};
    double t0 = iot_now();

    (void)arg;
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
    short_wait_s = iot_now() - t0;
    IOMGR_Cancel(main_pid);
}

static void *softsig_later(void *arg)
{
    (void)arg;
    usleep(50000);
    cr_assert_eq(IOMGR_SoftSig(short_wait, NULL), 0);
    return NULL;
}

Test(iomgr_timer, an_earlier_deadline_set_while_the_loop_sleeps_is_honoured)
{
    struct timeval tv = {5, 0};
    pthread_t th;

    cr_assert_eq(LWP_CurrentProcess(&main_pid), LWP_SUCCESS);
    cr_assert_eq(pthread_create(&th, NULL, softsig_later, NULL), 0);
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), -2);
    pthread_join(th, NULL);
    cr_assert_geq(short_wait_s, 0.019);
    cr_assert_lt(short_wait_s, 1.0, "the 20 ms wait took %.3f s", short_wait_s);
}

/* ---- The unsure-watcher checks ride on the loop's passes ---- */

/* Calls from the library to arm its timerfd (the test binary is linked
 * with --wrap=timerfd_settime). */
static atomic_int settime_calls;

int __real_timerfd_settime(int fd, int flags, const struct itimerspec *new,
                           struct itimerspec *old);
int __wrap_timerfd_settime(int fd, int flags, const struct itimerspec *new,
                           struct itimerspec *old);
int __wrap_timerfd_settime(int fd, int flags, const struct itimerspec *new,
                           struct itimerspec *old)
{
    atomic_fetch_add(&settime_calls, 1);
    return __real_timerfd_settime(fd, flags, new, old);
}

struct pingpong {
    int ping[2], pong[2];
    long rounds;
};

/* Echoes each byte from ping to pong, waiting on the same fd each time:
 * its watcher is re-armed without a system call, and so is unsure. */
static void ponger(void *arg)
{
    struct pingpong *pp = arg;
    char b;

    while (IOMGR_WaitIO(pp->ping[0], IOMGR_READ, NULL) == IOMGR_READ &&
           read(pp->ping[0], &b, 1) == 1 && b != 'x')
        cr_assert_eq(write(pp->pong[1], &b, 1), 1);
}

Test(iomgr_timer, a_loop_busy_with_io_is_not_woken_for_fd_checks)
{
    struct pingpong pp = {.rounds = 0};
    double t0, ms;
    int calls;
    char b = 'p';

    cr_assert_eq(pipe(pp.ping), 0);
    cr_assert_eq(pipe(pp.pong), 0);
    iot_spawn(ponger, IOT_HIGH, &pp);
    t0 = iot_now();
    atomic_store(&settime_calls, 0);
    /* 60 ms of round trips: each one is a loop pass, and every wait on
     * either side marks its watcher unsure. A check due 1 ms after each
     * mark, with a timer of its own, would arm the timerfd about 60
     * times; riding on the passes, the timerfd is armed only for a check
     * still due the slack later: 8 ms, doubling to 32 ms while every
     * check finds the watchers confirmed (each round trip confirms). */
    while ((ms = (iot_now() - t0) * 1e3) < 60) {
        cr_assert_eq(write(pp.ping[1], &b, 1), 1);
        cr_assert_eq(IOMGR_WaitIO(pp.pong[0], IOMGR_READ, NULL), IOMGR_READ);
        cr_assert_eq(read(pp.pong[0], &b, 1), 1);
        pp.rounds++;
    }
    calls = atomic_load(&settime_calls);
    cr_assert_gt(pp.rounds, 60, "only %ld round trips in %.0f ms", pp.rounds,
                 ms);
    /* Each arming follows a firing a tick and the slack after the one
     * before: 9 ms, 17, then 33 ms apart; 2 more for the first and the
     * sweep. (A fixed 8 ms slack arms it about 7 times.) */
    cr_expect_leq(calls, (int)(ms / 33) + 4,
                  "timerfd armed %d times in %.0f ms of busy loop", calls, ms);
    b = 'x';
    cr_assert_eq(write(pp.ping[1], &b, 1), 1);
    LWP_DispatchProcess();
    close(pp.ping[0]), close(pp.ping[1]), close(pp.pong[0]), close(pp.pong[1]);
}
