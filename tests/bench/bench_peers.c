/* SPDX-License-Identifier: MIT */
/*
 * Peers: glibc swapcontext, State Threads and GNU Pth, each doing the same
 * work as the LWP benchmark it is compared with. ST and Pth are optional
 * (BENCH_HAVE_ST, BENCH_HAVE_PTH from CMake); without them their figures
 * are "skipped".
 */
#include <stdlib.h>
#include <ucontext.h>

#ifdef BENCH_HAVE_ST
#include <st.h>
#endif
#ifdef BENCH_HAVE_PTH
#include <pth.h>
#endif

#include "bench_peers.h"
#include "bench_util.h"

#define PEER_STACK (64 * 1024)

/* ---- glibc swapcontext ---- */

static ucontext_t uc_main, uc_co;

static void uc_body(void)
{
    for (;;)
        swapcontext(&uc_co, &uc_main);
}

/* Main and one coroutine switch back and forth; ns per switch. Each
 * swapcontext also saves and sets the signal mask (a system call). */
double bench_swapcontext(long n)
{
    char *stack = malloc(PEER_STACK);
    double t0, t1;

    if (!stack || getcontext(&uc_co) != 0)
        bench_fail("swapcontext setup", 0);
    uc_co.uc_stack.ss_sp = stack;
    uc_co.uc_stack.ss_size = PEER_STACK;
    uc_co.uc_link = NULL;
    makecontext(&uc_co, uc_body, 0);
    t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        swapcontext(&uc_main, &uc_co);
    t1 = bench_now_ns();
    free(stack);
    return (t1 - t0) / (2.0 * (double)n);
}

/* ---- State Threads ---- */

#ifdef BENCH_HAVE_ST

static void st_ready(void)
{
    static int done;

    if (!done && st_init() != 0)
        bench_fail("st_init", -1);
    done = 1;
}

static st_thread_t st_spawn(void *(*fn)(void *), void *arg)
{
    st_thread_t t = st_thread_create(fn, arg, 1, PEER_STACK);

    if (!t)
        bench_fail("st_thread_create", -1);
    return t;
}

/* ST 1.9 has no st_thread_yield; st_usleep(0) is its only public way to
 * give up the CPU while staying runnable. It goes through the sleep queue
 * and the idle thread (a poll() and a clock read), so this figure is ST's
 * yield as its users can get it, not the cost of its run queue. */
static void *st_yielder(void *arg)
{
    long n = *(long *)arg;

    for (long i = 0; i < n; i++)
        st_usleep(0);
    return NULL;
}

double bench_st_yield(long n)
{
    st_thread_t a, b;
    double t0, t1;

    st_ready();
    t0 = bench_now_ns();
    a = st_spawn(st_yielder, &n);
    b = st_spawn(st_yielder, &n);
    st_thread_join(a, NULL);
    st_thread_join(b, NULL);
    t1 = bench_now_ns();
    return (t1 - t0) / (2.0 * (double)n);
}

static st_cond_t st_ping_cv, st_pong_cv;

static void *st_ping(void *arg)
{
    long n = *(long *)arg;

    for (long i = 0; i < n; i++) {
        st_cond_signal(st_pong_cv);
        st_cond_wait(st_ping_cv);
    }
    return NULL;
}

static void *st_pong(void *arg)
{
    long n = *(long *)arg;

    for (long i = 0; i < n; i++) {
        st_cond_wait(st_pong_cv);
        st_cond_signal(st_ping_cv);
    }
    return NULL;
}

/* Hand-off = signal the other's condition + wait on one's own. pong is
 * created first so it runs first and waits before ping's first signal. */
double bench_st_handoff(long n)
{
    st_thread_t a, b;
    double t0, t1;

    st_ready();
    st_ping_cv = st_cond_new();
    st_pong_cv = st_cond_new();
    t0 = bench_now_ns();
    b = st_spawn(st_pong, &n);
    a = st_spawn(st_ping, &n);
    st_thread_join(a, NULL);
    st_thread_join(b, NULL);
    t1 = bench_now_ns();
    st_cond_destroy(st_ping_cv);
    st_cond_destroy(st_pong_cv);
    return (t1 - t0) / (2.0 * (double)n);
}

static void *st_noop(void *arg)
{
    return arg;
}

/* create + run + exit + join, one thread at a time; ns per thread. */
double bench_st_create(long n)
{
    double t0, t1;

    st_ready();
    st_thread_join(st_spawn(st_noop, NULL), NULL); /* warm the stack cache */
    t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        st_thread_join(st_spawn(st_noop, NULL), NULL);
    t1 = bench_now_ns();
    return (t1 - t0) / (double)n;
}

static st_cond_t st_burst_cv;

static void *st_parked(void *arg)
{
    st_cond_wait(st_burst_cv);
    return arg;
}

/* n threads created, run until they park on a condition, woken together,
 * exited and joined; ns per thread. One st_usleep(0) lets them park (ST
 * runs a new thread only when its creator gives up the CPU). A first,
 * untimed burst fills ST's stack cache, as the LWP figure uses a warm
 * pool. */
static double st_burst_once(long n, st_thread_t *t)
{
    double t0, t1;

    t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        t[i] = st_spawn(st_parked, NULL);
    st_usleep(0);
    st_cond_broadcast(st_burst_cv);
    for (long i = 0; i < n; i++)
        st_thread_join(t[i], NULL);
    t1 = bench_now_ns();
    return (t1 - t0) / (double)n;
}

double bench_st_burst(long n)
{
    st_thread_t *t = malloc((size_t)n * sizeof(*t));
    double r;

    if (!t)
        bench_fail("malloc", 0);
    st_ready();
    st_burst_cv = st_cond_new();
    st_burst_once(n, t);
    r = st_burst_once(n, t);
    st_cond_destroy(st_burst_cv);
    free(t);
    return r;
}

#else /* !BENCH_HAVE_ST */

double bench_st_yield(long n)
{
    (void)n;
    return BENCH_SKIPPED;
}

double bench_st_handoff(long n)
{
    (void)n;
    return BENCH_SKIPPED;
}

double bench_st_create(long n)
{
    (void)n;
    return BENCH_SKIPPED;
}

double bench_st_burst(long n)
{
    (void)n;
    return BENCH_SKIPPED;
}

#endif /* BENCH_HAVE_ST */

/* ---- GNU Pth ---- */

#ifdef BENCH_HAVE_PTH

static void *pth_yielder(void *arg)
{
    long n = *(long *)arg;

    for (long i = 0; i < n; i++)
        pth_yield(NULL);
    return NULL;
}

static pth_t pth_spawn_one(long *n)
{
    pth_attr_t attr = pth_attr_new();
    pth_t t;

    pth_attr_set(attr, PTH_ATTR_STACK_SIZE, (unsigned int)PEER_STACK);
    pth_attr_set(attr, PTH_ATTR_JOINABLE, 1);
    t = pth_spawn(attr, pth_yielder, n);
    pth_attr_destroy(attr);
    if (!t)
        bench_fail("pth_spawn", -1);
    return t;
}

/* Two Pth threads pth_yield(NULL) to each other; ns per yield. */
double bench_pth_yield(long n)
{
    static int ready;
    pth_t a, b;
    double t0, t1;

    if (!ready && !pth_init())
        bench_fail("pth_init", -1);
    ready = 1;
    t0 = bench_now_ns();
    a = pth_spawn_one(&n);
    b = pth_spawn_one(&n);
    pth_join(a, NULL);
    pth_join(b, NULL);
    t1 = bench_now_ns();
    return (t1 - t0) / (2.0 * (double)n);
}

#else /* !BENCH_HAVE_PTH */

double bench_pth_yield(long n)
{
    (void)n;
    return BENCH_SKIPPED;
}

#endif /* BENCH_HAVE_PTH */
