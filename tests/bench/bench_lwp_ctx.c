/* SPDX-License-Identifier: MIT */
/*
 * What special contexts cost a switch: the yield ping-pong of two LWPs,
 * plain, with lwp_fpset on both, with lwp_libcset on both, with an
 * unoptimised user context (empty save and restore) on both, and plain
 * again while a third, sleeping LWP has a context (every switch then
 * takes the slow path to look). All in one bench_group, so they share
 * the machine's state; ratios are against the plain ping-pong.
 */
#include <stdio.h>
#include <stdlib.h>

#include <lwp/context.h>
#include <lwp/lwp.h>

#include "bench_lwp_ctx.h"
#include "bench_util.h"

#define PAIR_PRIO 2

enum setup { PLAIN, FP, LIBC, USER, BYSTANDER };

static char start_ev, never_ev;
static int user_cookie;

static void check(const char *what, int rc)
{
    if (rc != 0) {
        fprintf(stderr, "bench_lwp: %s failed: %d (LE %d)\n", what, rc,
                lwp_geterr());
        exit(1);
    }
}

static void empty_routine(void *ctx, PROCESS old, PROCESS new_)
{
    (void)ctx;
    (void)old;
    (void)new_;
}

static void give_context(PROCESS p, enum setup s)
{
    if (s == FP)
        check("lwp_fpset", lwp_fpset(p));
    else if (s == LIBC)
        check("lwp_libcset", lwp_libcset(p));
    else if (s == USER || s == BYSTANDER)
        check("lwp_ctxinit", lwp_ctxinit(p, user_cookie));
}

static void sleeper(void *arg)
{
    (void)arg;
    LWP_WaitProcess(&never_ev);
}

static void yielder(void *arg)
{
    long n = *(long *)arg;

    LWP_WaitProcess(&start_ev);
    for (long i = 0; i < n; i++)
        LWP_DispatchProcess();
}

static PROCESS spawn(void (*fn)(void *), void *arg)
{
    PROCESS pid;

    check("LWP_CreateProcess",
          LWP_CreateProcess(fn, 65536, PAIR_PRIO, arg, "bench", &pid));
    return pid;
}

static double pingpong(long n, enum setup s)
{
    PROCESS a, b, idle;
    double t0, t1;

    check("LWP_Init", LWP_Init(LWP_VERSION, 1, NULL));
    user_cookie = lwp_ctxset(empty_routine, empty_routine, 16, 0);
    check("lwp_ctxset", user_cookie < 0);
    a = spawn(yielder, &n);
    b = spawn(yielder, &n);
    idle = spawn(sleeper, NULL);
    if (s == BYSTANDER) {
        give_context(idle, s);
    } else {
        give_context(a, s);
        give_context(b, s);
    }
    t0 = bench_now_ns();
    LWP_NoYieldSignal(&start_ev);
    LWP_DispatchProcess(); /* returns once both have exited */
    t1 = bench_now_ns();
    check("LWP_TerminateProcessSupport", LWP_TerminateProcessSupport());
    return (t1 - t0) / (2.0 * (double)n);
}

static double plain(long n) { return pingpong(n, PLAIN); }
static double fp(long n) { return pingpong(n, FP); }
static double libc(long n) { return pingpong(n, LIBC); }
static double user(long n) { return pingpong(n, USER); }
static double bystander(long n) { return pingpong(n, BYSTANDER); }

void bench_ctx(int runs, long div)
{
    long n = 500000 / div > 0 ? 500000 / div : 1;
    struct bench_item it[] = {
        {plain, n, 0}, {fp, n, 0}, {libc, n, 0}, {user, n, 0},
        {bystander, n, 0},
    };

    bench_group(it, 5, runs);
    bench_print("ctx_yield_plain_ns", it[0].ns, "ns");
    bench_print("ctx_yield_fpset_ns", it[1].ns, "ns");
    bench_print("ctx_yield_libcset_ns", it[2].ns, "ns");
    bench_print("ctx_yield_user_ctx_ns", it[3].ns, "ns");
    bench_print("ctx_yield_plain_beside_ctx_ns", it[4].ns, "ns");
    bench_ratio("ctx_yield_fpset_vs_plain", it[1].ns, it[0].ns);
    bench_ratio("ctx_yield_libcset_vs_plain", it[2].ns, it[0].ns);
    bench_ratio("ctx_yield_user_ctx_vs_plain", it[3].ns, it[0].ns);
    bench_ratio("ctx_yield_plain_beside_ctx_vs_plain", it[4].ns, it[0].ns);
}
