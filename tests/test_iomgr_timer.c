/* SPDX-License-Identifier: MIT */
/*
 * IOMGR's timer heap and the timerfd that wakes the loop for its earliest
 * deadline (iomgr/iomgr_timer.c): many timeouts expire in deadline order,
 * a cancelled timed wait leaves nothing behind, and a deadline earlier than
 * the one the loop sleeps for, set while it sleeps, is honoured; a loop
 * kept busy by I/O is not woken for the checks of unsure fd watchers.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
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

/* One timed wait in an LWP of its own, so that the sleepers' first waits
 * find that path warm: under valgrind, the first run of new code costs
 * milliseconds (translation) between a sleeper's clock read and the one
 * its timed wait makes, and the first sleeper's deadline moved that much
 * past the next one's. */
static void warm_sleeper(void *arg)
{
    struct timeval tv = {0, 1000};

    (void)arg;
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
}

Test(iomgr_timer, timeouts_expire_in_deadline_order)
{
    struct timeval tv = {1, 0}, warm = {0, 20000};

    iot_spawn(warm_sleeper, IOT_HIGH, NULL);
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &warm), 0);
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
/* The least time, in seconds, between an arming since settime_calls was
 * zeroed and the deadline it set (the library arms with
 * TFD_TIMER_ABSTIME on CLOCK_MONOTONIC). */
static double min_lead;

int __real_timerfd_settime(int fd, int flags, const struct itimerspec *new,
                           struct itimerspec *old);
int __wrap_timerfd_settime(int fd, int flags, const struct itimerspec *new,
                           struct itimerspec *old);
int __wrap_timerfd_settime(int fd, int flags, const struct itimerspec *new,
                           struct itimerspec *old)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (flags & TFD_TIMER_ABSTIME) {
        double lead = (double)(new->it_value.tv_sec - now.tv_sec) +
                      (double)(new->it_value.tv_nsec - now.tv_nsec) * 1e-9;

        if (atomic_load(&settime_calls) == 0 || lead < min_lead)
            min_lead = lead;
    }
    atomic_fetch_add(&settime_calls, 1);
    return __real_timerfd_settime(fd, flags, new, old);
}

enum { PONGERS = 32 };

struct pingpong {
    int ping[PONGERS][2];
    int pong[2]; /* shared: every ponger answers here */
};

struct ponger {
    struct pingpong *pp;
    int i;
};

/* Echoes each byte from its ping pipe to the shared pong pipe, waiting on
 * the same fd each time: its watcher is re-armed without a system call,
 * and so is unsure until its next byte confirms it. */
static void ponger(void *arg)
{
    struct ponger *me = arg;
    int fd = me->pp->ping[me->i][0];
    char b;

    while (IOMGR_WaitIO(fd, IOMGR_READ, NULL) == IOMGR_READ &&
           read(fd, &b, 1) == 1 && b != 'x')
        cr_assert_eq(write(me->pp->pong[1], &b, 1), 1);
}

/* One round: a byte to every ponger, all their answers back. */
static void pingpong_round(struct pingpong *pp, char b)
{
    char got[PONGERS];
    int n = 0;

    for (int i = 0; i < PONGERS; i++)
        cr_assert_eq(write(pp->ping[i][1], &b, 1), 1);
    while (n < PONGERS && b != 'x') {
        ssize_t r;

        cr_assert_eq(IOMGR_WaitIO(pp->pong[0], IOMGR_READ, NULL), IOMGR_READ);
        r = read(pp->pong[0], got, (size_t)(PONGERS - n));
        cr_assert_gt(r, 0);
        n += (int)r;
    }
}

Test(iomgr_timer, a_loop_busy_with_io_is_not_woken_for_fd_checks)
{
    static struct pingpong pp;
    static struct ponger who[PONGERS];
    double t0, ms;
    long rounds = 0;
    int calls;

    for (int i = 0; i < PONGERS; i++) {
        cr_assert_eq(pipe(pp.ping[i]), 0);
        who[i] = (struct ponger){&pp, i};
        iot_spawn(ponger, IOT_HIGH, &who[i]);
    }
    cr_assert_eq(pipe(pp.pong), 0);
    t0 = iot_now();
    atomic_store(&settime_calls, 0);
    /* 60 ms of rounds, a server's load in small: each round is a loop pass
     * or two, and each ponger's wait marks its watcher unsure. A check
     * due 1 ms after each mark, with a timer of its own, would arm the
     * timerfd about 60 times; riding on the passes, the timerfd is armed
     * only for a check still due the slack later: 8 ms, doubling to 32 ms
     * while every check finds the watchers confirmed. */
    while ((ms = (iot_now() - t0) * 1e3) < 60) {
        pingpong_round(&pp, 'p');
        rounds++;
    }
    calls = atomic_load(&settime_calls);
    cr_assert_gt(rounds, 6, "only %ld rounds in %.0f ms", rounds, ms);
    /* Each arming follows a firing a tick and the slack after the one
     * before: 9 ms, 17, then 33 ms apart; 2 more for the first and the
     * sweep. (A fixed 8 ms slack arms it about 7 times, exact ticks about
     * 60.) */
    cr_expect_leq(calls, (int)(ms / 33) + 4,
                  "timerfd armed %d times in %.0f ms of busy loop", calls, ms);
    pingpong_round(&pp, 'x');
    LWP_DispatchProcess();
    for (int i = 0; i < PONGERS; i++)
        close(pp.ping[i][0]), close(pp.ping[i][1]);
    close(pp.pong[0]), close(pp.pong[1]);
}

/* ---- A quiet loop checks an unsure watcher on time ---- */

static int quiet_fd;
static int quiet_reads;

static void quiet_reader(void *arg)
{
    char b;

    (void)arg;
    while (IOMGR_WaitIO(quiet_fd, IOMGR_READ, NULL) == IOMGR_READ &&
           read(quiet_fd, &b, 1) == 1 && b != 'x')
        quiet_reads++;
}

/* A select loop's lone LWP waits again on the fd it just read (as it
 * would on a number just closed and reused): the loop has nothing else to
 * do, so the check of that watcher must wake it on time (a tick, 1 ms),
 * not after the slack a loaded server's checks get; that is what makes a
 * reused number seen within about 2 ms. */
Test(iomgr_timer, a_quiet_loop_is_woken_on_time_for_fd_checks)
{
    struct timeval tv = {0, 20000};
    int p[2];
    char b = 'q';

    cr_assert_eq(pipe(p), 0);
    quiet_fd = p[0];
    quiet_reads = 0;
    iot_spawn(quiet_reader, IOT_HIGH, NULL);
    cr_assert_eq(write(p[1], &b, 1), 1);
    atomic_store(&settime_calls, 0);
    /* The reader wakes, reads, waits again (unsure); the loop then sleeps
     * for this 20 ms timeout or the check, whichever is first. */
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
    cr_assert_eq(quiet_reads, 1);
    cr_assert_gt(atomic_load(&settime_calls), 0,
                 "the loop never armed a timer");
    /* The loop was armed for the check a tick ahead (a loaded loop's
     * slack would put it 9 ms or more ahead; the timeout, 20 ms). */
    cr_expect_lt(min_lead, 0.004, "armed %.1f ms ahead at the least",
                 min_lead * 1e3);
    b = 'x';
    cr_assert_eq(write(p[1], &b, 1), 1);
    LWP_DispatchProcess();
    close(p[0]), close(p[1]);
}

/* ---- IOMGR's own loop blocks with no timeout ---- */

/* The library's epoll_wait hands every call to epoll_pwait (the test
 * binary is linked with --wrap=epoll_pwait): the timeouts it passes. */
static atomic_int pwait_forever, pwait_longest;
static int pwait_marker = -1; /* calls on it are only recorded */
static int marker_timeout;

#define LIBEV_LONGEST_MS 59743 /* libev's MAX_BLOCKTIME, in ms */

int __real_epoll_pwait(int epfd, struct epoll_event *ev, int n, int timeout,
                       const sigset_t *mask);
int __wrap_epoll_pwait(int epfd, struct epoll_event *ev, int n, int timeout,
                       const sigset_t *mask);
int __wrap_epoll_pwait(int epfd, struct epoll_event *ev, int n, int timeout,
                       const sigset_t *mask)
{
    if (epfd == pwait_marker) {
        marker_timeout = timeout;
        return 0;
    }
    if (timeout < 0)
        atomic_fetch_add(&pwait_forever, 1);
    else if (timeout == LIBEV_LONGEST_MS)
        atomic_fetch_add(&pwait_longest, 1);
    return __real_epoll_pwait(epfd, ev, n, timeout, mask);
}

/* With no libev timer, libev would wait its longest, 59.743 s, and a wait
 * with a timeout arms a kernel timer each time (dear on a virtual
 * machine). IOMGR's own loop, whose timers arm a timerfd instead, waits
 * with none. */
Test(iomgr_timer, the_loop_waits_with_no_timeout)
{
    struct timeval tv = {0, 20000};

    atomic_store(&pwait_forever, 0);
    atomic_store(&pwait_longest, 0);
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
    cr_assert_gt(atomic_load(&pwait_forever), 0,
                 "the loop never blocked without a timeout");
    cr_assert_eq(atomic_load(&pwait_longest), 0,
                 "the loop blocked with libev's timeout");
}

/* Every other epoll_wait of the process passes through as it was made. */
Test(iomgr_timer, other_epoll_waits_keep_their_timeout)
{
    struct epoll_event ev;

    pwait_marker = epoll_create1(EPOLL_CLOEXEC);
    cr_assert_geq(pwait_marker, 0);
    marker_timeout = 0;
    cr_assert_eq(epoll_wait(pwait_marker, &ev, 1, LIBEV_LONGEST_MS), 0);
    cr_assert_eq(marker_timeout, LIBEV_LONGEST_MS);
    cr_assert_eq(epoll_wait(pwait_marker, &ev, 1, 5), 0);
    cr_assert_eq(marker_timeout, 5);
    close(pwait_marker);
    pwait_marker = -1;
}
