/* SPDX-License-Identifier: MIT */
/*
 * The self-test's shared-stack checks (LWP_CREATE_SHARED_STACK): the
 * copier's switches, live stacks put back byte for byte, registers and
 * alignment on the shared stack, and the stacksize limit. Machine
 * dependent enough (the live stack's lower end, the first frame built on
 * the shared stack) to be worth running on every target.
 */
#include <stdint.h>
#include <stdio.h>

#include <lwp/lwp.h>

#include "selftest.h"
#include "support/deep_stack.h"
#include "support/regcheck.h"

static PROCESS shared(void (*ep)(void *), void *arg, int stacksize,
                      int priority)
{
    struct lwp_attr a = LWP_ATTR_INIT;
    PROCESS pid = NULL;

    a.stacksize = stacksize;
    a.priority = priority;
    a.flags = LWP_CREATE_SHARED_STACK;
    if (LWP_CreateProcessAttr(&a, ep, arg, &pid) != LWP_SUCCESS)
        return NULL;
    return pid;
}

/* ---- Live stacks of many depths, put back intact ---- */

#define NFRAMES 30
#define ROUNDS 20
static int bad_words, finished;

static __attribute__((noinline)) void frame_and_yield(uintptr_t id, int depth)
{
    volatile uintptr_t frame[64];

    for (int i = 0; i < 64; i++)
        frame[i] = id * 2654435761u + (uintptr_t)i;
    if (depth > 0)
        frame_and_yield(id + 1000, depth - 1);
    for (int r = 0; r < ROUNDS; r++) {
        LWP_DispatchProcess();
        for (int i = 0; i < 64; i++)
            bad_words += frame[i] != id * 2654435761u + (uintptr_t)i;
    }
    if (depth == 0)
        finished++;
}

static void framed(void *arg)
{
    uintptr_t id = (uintptr_t)arg;

    frame_and_yield(id, (int)(id % 5));
}

static void check_live_stacks(void)
{
    for (uintptr_t i = 1; i <= NFRAMES; i++)
        shared(framed, (void *)i, 0, LWP_NORMAL_PRIORITY);
    while (finished < NFRAMES)
        LWP_DispatchProcess();
    selftest_check(bad_words == 0,
                   "shared stack: 30 LWPs' live stacks come back intact");
}

/* ---- Registers and alignment ---- */

#ifdef LWPT_HAVE_REGISTER_CHECK
static void check_registers(void)
{
    PROCESS a, b;
    int ok = 1;

    selftest_peer_failures = 0;
    a = shared(selftest_regcheck_peer, (void *)0x5000, 0, LWP_NORMAL_PRIORITY);
    b = shared(selftest_regcheck_peer, (void *)0x6000, 0, LWP_NORMAL_PRIORITY);
    for (int i = 0; i < 300; i++)
        ok &= lwpt_regcheck(0x2000 + i);
    selftest_check(ok && a && b && selftest_peer_failures == 0,
                   "shared stack: callee-saved registers survive the copier");
    LWP_DestroyProcess(a);
    LWP_DestroyProcess(b);
}
#else
static void check_registers(void)
{
    printf("skip: shared-stack register check (no assembly switch here)\n");
}
#endif

static void check_alignment(void)
{
    static int ok;

    shared(selftest_aligned_probe, &ok, 0, LWP_MAX_PRIORITY);
    selftest_check(ok, "shared stack: aligned for the ABI at entry");
}

/* ---- The stacksize limit ---- */

static char deep_ev;
static unsigned deep_sum;

static void wait_deep_ev(void)
{
    LWP_WaitProcess(&deep_ev);
}

static void deep_worker(void *arg)
{
    deep_sum = lwpt_deep((unsigned)(intptr_t)arg, 1, wait_deep_ev);
}

static void nothing(void *arg)
{
    (void)arg;
}

static void check_limit(void)
{
    int saved = lwp_overflowAction, max = 0, used = 0;
    PROCESS p;

    lwp_overflowAction = LWP_SOQUIET; /* found, and let go on */
    p = shared(deep_worker, (void *)(intptr_t)60, 32768, LWP_NORMAL_PRIORITY);
    shared(nothing, NULL, 0, LWP_NORMAL_PRIORITY); /* saves p's live stack */
    LWP_StackUsed(p, &max, &used);
    LWP_NoYieldSignal(&deep_ev);
    LWP_DispatchProcess();
    lwp_overflowAction = saved;
    selftest_check(max == 32768 && used > 60000 && deep_sum == 61000,
                   "shared stack: a live stack past its stacksize is found "
                   "and put back intact");
}

void selftest_shared(void)
{
    check_live_stacks();
    check_registers();
    check_alignment();
    check_limit();
}
