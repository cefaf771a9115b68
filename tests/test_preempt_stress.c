/* SPDX-License-Identifier: MIT */
/* Preempt beside the rest of the runtime: Lock, events, libc, IOMGR, and
 * the interrupted LWP's own registers and errno. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fenv.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <lwp/iomgr.h>
#include <lwp/lock.h>
#include <lwp/context.h>
#include <lwp/lwp.h>
#include <lwp/preempt.h>

#include "iomgr_test.h"
#include "lwp_test.h"

static const struct timeval one_ms = {0, 1000};

/* ---- The runtime is never cut mid-operation ---- */

#define NWORKERS 4
static struct Lock lock;
static volatile long shared_total; /* updated only under the lock */
static long done_by[NWORKERS];
static char tick_event, all_done;
static int workers_left;
static double stop_at;

static void __attribute__((noinline)) slow_increment(void)
{
    long v = shared_total;

    for (volatile int i = 0; i < 200; i++)
        ;
    shared_total = v + 1;
}

/* AddressSanitizer's allocator is linked into the executable itself, so
 * a tick may land inside it, as inside any libc of a fully static program
 * (see <lwp/preempt.h>): there the allocation needs a critical section. */
#if defined(__SANITIZE_ADDRESS__)
#define ALLOC_IN_EXE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALLOC_IN_EXE 1
#endif
#endif
#ifndef ALLOC_IN_EXE
#define ALLOC_IN_EXE 0
#endif

static void *alloc(size_t n)
{
    void *p;

    if (ALLOC_IN_EXE)
        PRE_BeginCritical();
    p = malloc(n);
    if (ALLOC_IN_EXE)
        PRE_EndCritical();
    return p;
}

static void release(void *p)
{
    if (ALLOC_IN_EXE)
        PRE_BeginCritical();
    free(p);
    if (ALLOC_IN_EXE)
        PRE_EndCritical();
}

static void worker(void *arg)
{
    int me = (int)(intptr_t)arg;

    PRE_PreemptMe();
    /* Past stop_at only until the cuts count enough: a loaded machine
     * gives this process little CPU time, the slice's clock. */
    while (iot_now() < stop_at ||
           (PRE_Preemptions() <= 10 && iot_now() < stop_at + 20.0)) {
        void *p = alloc(64 + (size_t)me); /* libc under preemption */

        ObtainWriteLock(&lock);
        slow_increment();
        ReleaseWriteLock(&lock);
        LWP_NoYieldSignal(&tick_event); /* runtime calls in the loop */
        release(p);
        done_by[me]++;
    }
    if (--workers_left == 0)
        LWP_NoYieldSignal(&all_done);
}

Test(preempt_stress, lock_events_and_malloc_stay_consistent, .timeout = 30)
{
    PROCESS me;
    long sum = 0;

    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_MAX_PRIORITY, &me), LWP_SUCCESS);
    Lock_Init(&lock);
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_SUCCESS);
    stop_at = iot_now() + 0.4;
    workers_left = NWORKERS;
    for (int i = 0; i < NWORKERS; i++)
        cr_assert_eq(LWP_CreateProcess(worker, 0, LWP_NORMAL_PRIORITY,
                                       (void *)(intptr_t)i, "w", NULL),
                     LWP_SUCCESS);
    cr_assert_eq(LWP_WaitProcess(&all_done), LWP_SUCCESS);
    for (int i = 0; i < NWORKERS; i++) {
        cr_assert_gt(done_by[i], 0, "worker %d starved", i);
        sum += done_by[i];
    }
    cr_assert_eq(shared_total, sum, "an update under the lock was lost");
    cr_assert_gt(PRE_Preemptions(), 10);
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS);
}

/* ---- Registers, floating point and errno survive being cut ---- */

static double __attribute__((noinline)) fp_work(double seed, long n)
{
    double a = seed, b = 1.0 / seed, c = 0.0;

    for (long i = 0; i < n; i++) {
        a = a * 1.0000001 + b;
        b = b * 0.9999999 - 1e-9 * a;
        c += a * b;
    }
    return a + b + c;
}

#define FP_N 40000000L
static double fp_result[2], fp_expect[2];
static int fp_errno[2], fp_left;
static char fp_done;

static void fp_lwp(void *arg)
{
    int me = (int)(intptr_t)arg;

    PRE_PreemptMe();
    errno = 1000 + me;
    fp_result[me] = fp_work(me ? 3.0 : 7.0, FP_N);
    fp_errno[me] = errno;
    if (--fp_left == 0)
        LWP_NoYieldSignal(&fp_done);
}

Test(preempt_stress, registers_fp_and_errno_survive, .timeout = 60)
{
    PROCESS me;
    unsigned long before;

    fp_expect[0] = fp_work(7.0, FP_N);
    fp_expect[1] = fp_work(3.0, FP_N);
    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_MAX_PRIORITY, &me), LWP_SUCCESS);
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_SUCCESS);
    before = PRE_Preemptions();
    fp_left = 2;
    for (int i = 0; i < 2; i++)
        cr_assert_eq(LWP_CreateProcess(fp_lwp, 0, LWP_NORMAL_PRIORITY,
                                       (void *)(intptr_t)i, "fp", NULL),
                     LWP_SUCCESS);
    cr_assert_eq(LWP_WaitProcess(&fp_done), LWP_SUCCESS);
    cr_assert_gt(PRE_Preemptions() - before, 4, "they were cut");
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(fp_result[i], fp_expect[i], "LWP %d's result", i);
        cr_assert_eq(fp_errno[i], 1000 + i, "LWP %d's errno", i);
    }
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS);
}

/* ---- The FP environment a cut leaves ----
 * The kernel runs a signal handler with the default FP environment. An
 * LWP resumed by a switch made in the preemption handler must still see
 * the program's environment, and one with lwp_fpset its own. */

static volatile int env_stop;
static volatile unsigned long env_checks, env_bad_shared, env_bad_own;
static char env_done;
static int env_left;

static void env_finish(void)
{
    if (--env_left == 0)
        LWP_NoYieldSignal(&env_done);
}

/* Preemptible spinner; with its own environment when arg is non-NULL. */
static void env_hog(void *arg)
{
    if (arg) {
        cr_assert_eq(lwp_fpset(LWP_ThisProcess()), 0);
        fesetround(FE_DOWNWARD);
    }
    PRE_PreemptMe();
    while (!env_stop)
        if (arg && fegetround() != FE_DOWNWARD)
            env_bad_own++;
    env_finish();
}

/* Whether the checker beside the hog goes on: for 0.3 s of wall time and
 * then until both it and the hog's cuts have counted enough, for a loaded
 * machine gives this process little CPU in 0.3 s (the slice is CPU time);
 * a 20 s cap leaves the verdict to the assertions. */
static int enough_time_beside_hog(double until, unsigned long checks)
{
    double now = iot_now();

    if (now < until)
        return 1;
    return now < until + 20.0 && (checks <= 20 || PRE_Preemptions() <= 10);
}

/* Not preemptible: yields, and checks the shared mode each time it runs. */
static void env_yielder(void *arg)
{
    double until = iot_now() + 0.3;

    (void)arg;
    while (enough_time_beside_hog(until, env_checks)) {
        env_checks++;
        if (fegetround() != FE_UPWARD)
            env_bad_shared++;
        LWP_DispatchProcess();
    }
    env_stop = 1;
    env_finish();
}

static void init_with_preemption(void)
{
    PROCESS me;

    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_MAX_PRIORITY, &me), LWP_SUCCESS);
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_SUCCESS);
}

/* env_hog(hog_arg) beside a non-preemptible `other`, which sets env_stop;
 * returns once both have finished, the hog having been cut. */
static void run_beside_hog(void *hog_arg, void (*other)(void *))
{
    env_left = 2;
    cr_assert_eq(LWP_CreateProcess(env_hog, 0, LWP_NORMAL_PRIORITY, hog_arg,
                                   "hog", NULL), LWP_SUCCESS);
    cr_assert_eq(LWP_CreateProcess(other, 0, LWP_NORMAL_PRIORITY, NULL,
                                   "other", NULL), LWP_SUCCESS);
    cr_assert_eq(LWP_WaitProcess(&env_done), LWP_SUCCESS);
    cr_assert_gt(PRE_Preemptions(), 4, "the hog was cut");
}

static void run_env_pair(void *hog_arg)
{
    LWPT_SKIP_FP_MODES_UNDER_VALGRIND();
    init_with_preemption();
    fesetround(FE_UPWARD);
    run_beside_hog(hog_arg, env_yielder);
    cr_assert_gt(env_checks, 4);
    cr_assert_eq(env_bad_shared, 0, "the shared mode was lost %lu times",
                 env_bad_shared);
    cr_assert_eq(env_bad_own, 0, "the hog's own mode was lost");
    cr_assert_eq(fegetround(), FE_UPWARD, "main's mode");
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS);
    fesetround(FE_TONEAREST);
}

Test(preempt_stress, shared_rounding_mode_survives_cuts, .timeout = 30)
{
    run_env_pair(NULL);
}

Test(preempt_stress, own_rounding_mode_survives_cuts, .timeout = 30)
{
    run_env_pair("own");
}

/* ---- The signal mask a cut leaves ----
 * A cut LWP resumes by returning from the preemption handler, which
 * restores the mask saved when it was cut. LWPs share the thread's mask,
 * so a change made meanwhile by another LWP must survive that return. */

static volatile unsigned long mask_checks, mask_bad;

static int usr2_blocked(void)
{
    sigset_t now;

    pthread_sigmask(SIG_SETMASK, NULL, &now);
    return sigismember(&now, SIGUSR2);
}

/* Not preemptible: flips SIGUSR2's blocking each time it runs, and checks
 * that the preemptible hog's turn in between kept the last flip. */
static void mask_flipper(void *arg)
{
    double until = iot_now() + 0.3;
    sigset_t one;
    int want = 0;

    (void)arg;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR2);
    while (enough_time_beside_hog(until, mask_checks)) {
        mask_checks++;
        if (usr2_blocked() != want)
            mask_bad++;
        want = !want;
        pthread_sigmask(want ? SIG_BLOCK : SIG_UNBLOCK, &one, NULL);
        LWP_DispatchProcess();
    }
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    env_stop = 1;
    env_finish();
}

Test(preempt_stress, signal_mask_changes_survive_cuts, .timeout = 30)
{
    /* Valgrind restores a handler's mask from its own copy of the frame,
     * so it cannot show the library's edit of the kernel's. */
    if (lwpt_under_valgrind())
        cr_skip_test("valgrind ignores a handler's change to uc_sigmask");
    init_with_preemption();
    run_beside_hog(NULL, mask_flipper);
    cr_assert_gt(mask_checks, 4);
    cr_assert_eq(mask_bad, 0, "a flip was undone %lu times in %lu checks",
                 mask_bad, mask_checks);
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS);
}

/* ---- A CPU hog does not starve IOMGR ---- */

static volatile int hog_stop;

static void hog(void *arg)
{
    volatile unsigned long n = 0;

    (void)arg;
    PRE_PreemptMe();
    while (!hog_stop)
        n++;
}

static void echo(void *arg)
{
    int fd = *(int *)arg;
    char buf[64];

    while (IOMGR_WaitIO(fd, IOMGR_READ, NULL) > 0) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0 || write(fd, buf, (size_t)n) != n)
            break;
    }
}

Test(preempt_stress, echo_keeps_serving_beside_a_cpu_hog, .timeout = 30)
{
    int sv[2];
    double worst = 0;
    char c;

    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_SUCCESS);
    cr_assert_eq(LWP_CreateProcess(echo, 0, LWP_NORMAL_PRIORITY, &sv[1],
                                   "echo", NULL),
                 LWP_SUCCESS);
    cr_assert_eq(LWP_CreateProcess(hog, 0, LWP_NORMAL_PRIORITY, NULL, "hog",
                                   NULL),
                 LWP_SUCCESS);
    for (int i = 0; i < 20; i++) {
        double t0 = iot_now(), rtt;

        cr_assert_eq(write(sv[0], "p", 1), 1);
        cr_assert_gt(IOMGR_WaitIO(sv[0], IOMGR_READ, NULL), 0);
        cr_assert_eq(read(sv[0], &c, 1), 1);
        rtt = iot_now() - t0;
        if (rtt > worst)
            worst = rtt;
    }
    hog_stop = 1;
    cr_assert_lt(worst, 0.25, "worst round trip %.3f s", worst);
    cr_assert_gt(PRE_Preemptions(), 0);
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS);
    close(sv[0]);
    close(sv[1]);
}
