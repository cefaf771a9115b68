/* SPDX-License-Identifier: MIT */
/* LWP core: what the context switch must preserve. */
#include <fenv.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "lwp_test.h"

static void ping(void *arg)
{
    long *count = arg;
    for (;;) {
        (*count)++;
        LWP_DispatchProcess();
    }
}

Test(lwp_arch, million_switches_ping_pong, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 60)
{
    static long count;

    lwpt_spawn(ping, LWP_NORMAL_PRIORITY, &count, "ping");
    count = 0;
    for (long i = 0; i < 1000000; i++)
        LWP_DispatchProcess();
    cr_assert_eq(count, 1000000);
}

static void check_alignment(void *arg)
{
    _Alignas(16) char probe[16];
    char text[64];
    int *ok = arg;

    /* glibc's printf of a double uses aligned SSE spills: a misaligned
     * stack crashes here. */
    snprintf(text, sizeof(text), "%.3f", 3.25 * (double)ok[1]);
    ok[0] = ((uintptr_t)probe % 16 == 0) && text[0] == '3';
}

Test(lwp_arch, stack_is_aligned_at_entry, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    static int ok[2] = {0, 1};

    for (int size = 32768; size <= 32768 + 3 * 4096; size += 4096) {
        ok[0] = 0;
        LWP_CreateProcess(check_alignment, size, LWP_MAX_PRIORITY, ok, "al",
                          NULL);
        cr_assert(ok[0], "aligned for stack size %d", size);
    }
}

#include "support/regcheck.h"

#ifdef LWPT_HAVE_REGISTER_CHECK
static int peer_failures;

static void peer_regcheck(void *arg)
{
    for (;;)
        if (!lwpt_regcheck(0x7000))
            peer_failures++;
}

Test(lwp_arch, callee_saved_registers_survive_a_switch, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    lwpt_spawn(peer_regcheck, LWP_NORMAL_PRIORITY, NULL, "peer");
    for (int i = 0; i < 100; i++)
        cr_assert(lwpt_regcheck(0x1000 + i), "round %d", i);
    cr_assert_eq(peer_failures, 0);
}
#endif

static void set_round_up(void *arg)
{
    int *seen = arg;
    fesetround(FE_UPWARD);
    LWP_DispatchProcess();
    *seen = fegetround();
}

Test(lwp_arch, floating_point_environment_is_shared, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    static int seen;

    lwpt_spawn(set_round_up, LWP_NORMAL_PRIORITY, &seen, "fp");
    /* Documented: LWPs share the FP environment (no per-switch save). */
    cr_assert_eq(fegetround(), FE_UPWARD);
    fesetround(FE_TOWARDZERO);
    LWP_DispatchProcess();
    cr_assert_eq(seen, FE_TOWARDZERO);
    fesetround(FE_TONEAREST);
}

static int usr2_blocked(void)
{
    sigset_t now;

    pthread_sigmask(SIG_SETMASK, NULL, &now);
    return sigismember(&now, SIGUSR2);
}

static void set_usr2_blocked(int blocked)
{
    sigset_t one;

    sigemptyset(&one);
    sigaddset(&one, SIGUSR2);
    pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &one, NULL);
}

/* Blocks SIGUSR2, lets main run, then reports what main left. */
static void block_usr2(void *arg)
{
    int *seen = arg;

    set_usr2_blocked(1);
    LWP_DispatchProcess();
    *seen = usr2_blocked();
}

Test(lwp_arch, signal_mask_is_shared, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    static int seen = -1;

    lwpt_spawn(block_usr2, LWP_NORMAL_PRIORITY, &seen, "mask");
    /* The thread's mask, not an LWP's: swapcontext (the fallback) would
     * otherwise put back each LWP's own. */
    cr_assert(usr2_blocked(), "main sees the mask the LWP set");
    set_usr2_blocked(0);
    LWP_DispatchProcess();
    cr_assert_eq(seen, 0, "the LWP sees the mask main set");
    cr_assert_not(usr2_blocked());
}

static int depth_sum(int n)
{
    volatile char frame[256];
    frame[0] = (char)n;
    return n == 0 ? 0 : depth_sum(n - 1) + frame[0] - (char)n + 1;
}

static void deep_but_fits(void *arg)
{
    *(int *)arg = depth_sum(60); /* about 20 KiB; more with sanitizers */
}

Test(lwp_arch, deep_calls_within_the_stack_work, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    static int result;

    LWP_CreateProcess(deep_but_fits, 256 * 1024, LWP_MAX_PRIORITY, &result,
                      "d", NULL);
    cr_assert_eq(result, 60);
}
