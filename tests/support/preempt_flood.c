/* SPDX-License-Identifier: MIT */
/*
 * Preempt under a flood of ticks (see preempt_flood.h): another thread
 * sends the preemption signal every few microseconds, so ticks land
 * everywhere the LWPs go, including inside the switch itself and the
 * shared stacks' copier. Where the switch or the copier calls code that
 * is part of the executable (AddressSanitizer's fiber annotations, its
 * allocator and interceptors; libc in a static program), a tick there
 * must not cut: the scheduler is between two LWPs. A timer tick lands in
 * those windows once in a long while; the flood, within a second.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <lwp/lwp.h>
#include <lwp/preempt.h>

#include "preempt_flood.h"

#define NSHARED 3
#define NPLAIN 2
#define NLWPS (NSHARED + NPLAIN)
/* Each LWP runs at least MIN_ROUNDS, and all run until the flood has
 * cut LWPs WANT_TAKEN times and been refused WANT_SKIPPED times inside
 * the runtime (or DEADLINE_S seconds have passed: the test fails). */
#define MIN_ROUNDS 10000
#define WANT_TAKEN 500UL
#define WANT_SKIPPED 100UL
#define DEADLINE_S 30
#define FRAME_WORDS 128

static volatile int flood_on;
static long deadline_us;
static volatile int timed_out;
static pid_t lwp_tid;
static volatile int bad_frames;
static unsigned long rounds_of[NLWPS];
static int lwps_left;
static char all_done;

static long now_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000L + t.tv_nsec / 1000;
}

static void pause_us(long us)
{
    long end = now_us() + us;

    while (now_us() < end)
        ;
}

static unsigned long ticks_handled(void)
{
    return PRE_Preemptions() + PRE_Skipped();
}

/* The other thread: a tick aimed at the LWP thread 2-15 us after the
 * last one was handled (or after 1 ms, if it merged with a pending one):
 * never so fast that handlers nest without end (the handler leaves the
 * signal unblocked). Reading the counters from here is a race, harmless
 * to a pace. */
static void *flood(void *arg)
{
    long us = 2;

    (void)arg;
    while (flood_on) {
        unsigned long seen = ticks_handled();

        syscall(SYS_tgkill, getpid(), lwp_tid, SIGALRM);
        /* Yield, not spin, while the tick waits: on a machine whose
         * other CPU is busy, this thread may share one with the LWPs. */
        for (long end = now_us() + 1000;
             ticks_handled() == seen && now_us() < end;)
            sched_yield();
        pause_us(us);
        us = us >= 15 ? 2 : us + 1;
    }
    return NULL;
}

static int spin_len(int me, unsigned long round)
{
    return 200 << ((round * 5 + (unsigned long)me) % 8); /* 200 to 25,600 */
}

static int enough(unsigned long rounds)
{
    if (rounds < MIN_ROUNDS)
        return 0;
    if (PRE_Preemptions() >= WANT_TAKEN && PRE_Skipped() >= WANT_SKIPPED)
        return 1;
    if (rounds % 64 == 0 && now_us() > deadline_us)
        timed_out = 1;
    return timed_out;
}

/* Spins in the executable's own code (ticks here do cut), checks its
 * frame, then yields through the runtime (ticks there must not). */
static void worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    volatile unsigned frame[FRAME_WORDS];

    for (unsigned i = 0; i < FRAME_WORDS; i++)
        frame[i] = (unsigned)me * 7919u + i;
    PRE_PreemptMe();
    while (!enough(rounds_of[me])) {
        /* Spins of many lengths: short ones put the switches close
         * together, long ones let a tick that is slow to arrive (an
         * interrupt between virtual CPUs can take longer than a short
         * spin) land in this code rather than in the next system call. */
        for (volatile int spin = 0; spin < spin_len(me, rounds_of[me]); spin++)
            ;
        for (unsigned i = 0; i < FRAME_WORDS; i++)
            bad_frames += frame[i] != (unsigned)me * 7919u + i;
        rounds_of[me]++;
        LWP_DispatchProcess();
    }
    if (--lwps_left == 0)
        LWP_NoYieldSignal(&all_done);
}

#define CHECK(cond, why)                                                      \
    do {                                                                      \
        if (!(cond))                                                          \
            return why;                                                       \
    } while (0)

/* The first two CPUs this process may use, or -1 if it has one. */
static int two_cpus(int *a, int *b)
{
    cpu_set_t set;
    int n = 0;

    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return -1;
    for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
        if (CPU_ISSET(c, &set))
            *(n++ ? b : a) = c;
    return n == 2 ? 0 : -1;
}

int lwpt_flood_possible(void)
{
    int a, b;

    return two_cpus(&a, &b) == 0;
}

static void set_one(cpu_set_t *set, int cpu)
{
    CPU_ZERO(set);
    CPU_SET(cpu, set);
}

/* The flood thread, on a CPU of its own: sharing one with the LWP thread
 * it would send about one tick per kernel tick (measured: 250 a second,
 * against thousands). */
static int start_flood_apart(pthread_t *th, cpu_set_t *lwp_was)
{
    pthread_attr_t attr;
    cpu_set_t set;
    int a, b, rc;

    if (two_cpus(&a, &b) != 0 ||
        pthread_getaffinity_np(pthread_self(), sizeof(*lwp_was), lwp_was))
        return -1;
    set_one(&set, a);
    if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
        return -1;
    set_one(&set, b);
    if (pthread_attr_init(&attr) != 0)
        return -1;
    rc = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
    if (rc == 0)
        rc = pthread_create(th, &attr, flood, NULL);
    pthread_attr_destroy(&attr);
    return rc == 0 ? 0 : -1;
}

static const char *run_lwps(void)
{
    struct lwp_attr a = LWP_ATTR_INIT;
    cpu_set_t lwp_was;
    pthread_t th;

    lwps_left = NLWPS;
    deadline_us = now_us() + DEADLINE_S * 1000000L;
    a.priority = LWP_NORMAL_PRIORITY;
    for (int i = 0; i < NLWPS; i++) {
        a.flags = i < NSHARED ? LWP_CREATE_SHARED_STACK : 0;
        CHECK(LWP_CreateProcessAttr(&a, worker, (void *)(intptr_t)i, NULL) ==
                  LWP_SUCCESS,
              "LWP_CreateProcessAttr failed");
    }
    flood_on = 1;
    CHECK(start_flood_apart(&th, &lwp_was) == 0, "no flood thread");
    CHECK(LWP_WaitProcess(&all_done) == LWP_SUCCESS, "LWP_WaitProcess failed");
    flood_on = 0;
    CHECK(pthread_join(th, NULL) == 0, "pthread_join failed");
    CHECK(pthread_setaffinity_np(pthread_self(), sizeof(lwp_was),
                                 &lwp_was) == 0,
          "the LWP thread's CPUs could not be restored");
    for (int i = 0; i < NLWPS; i++)
        CHECK(rounds_of[i] >= MIN_ROUNDS, "an LWP did not run all its rounds");
    CHECK(bad_frames == 0, "a frame came back changed");
    if (timed_out) {
        static char why[160];

        snprintf(why, sizeof(why),
                 "in %d s, %lu ticks cut LWPs and %lu were skipped (want "
                 "%lu and %lu)",
                 DEADLINE_S, PRE_Preemptions(), PRE_Skipped(), WANT_TAKEN,
                 WANT_SKIPPED);
        return why;
    }
    return NULL;
}

const char *lwpt_flood(void)
{
    /* The handler is what matters; the flood replaces the timer. */
    static const struct timeval long_slice = {10, 0};
    const char *why;
    PROCESS me;

    CHECK(LWP_Init(LWP_VERSION, LWP_MAX_PRIORITY, &me) == LWP_SUCCESS,
          "LWP_Init failed");
    CHECK(PRE_InitPreempt((struct timeval *)&long_slice) == LWP_SUCCESS,
          "PRE_InitPreempt failed");
    lwp_tid = (pid_t)syscall(SYS_gettid);
    why = run_lwps();
    if (!why && PRE_EndPreempt() != LWP_SUCCESS)
        why = "PRE_EndPreempt failed";
    if (!why && LWP_TerminateProcessSupport() != LWP_SUCCESS)
        why = "LWP_TerminateProcessSupport failed";
    return why;
}
