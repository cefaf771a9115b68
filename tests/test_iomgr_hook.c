/* SPDX-License-Identifier: MIT */
/*
 * IOMGR pass hooks (IOMGR_AddPassHook / IOMGR_RemovePassHook): when they
 * run relative to the LWPs, their order, removal while they run, a hook
 * that wakes an LWP, and every error code.
 */
#include <string.h>

#include "iomgr_test.h"

TestSuite(iomgr_hook, .init = iot_setup, .fini = iot_teardown, .timeout = 30);
TestSuite(iomgr_hook_noinit, .fini = iot_teardown, .timeout = 30);

static char hook_log[32];
static int hook_len;
static int hook_runs;

static void note(char c)
{
    if (hook_len < (int)sizeof(hook_log) - 1)
        hook_log[hook_len++] = c;
}

static void reset_log(void)
{
    memset(hook_log, 0, sizeof(hook_log));
    hook_len = 0;
    hook_runs = 0;
}

static void count_hook(void *arg)
{
    (void)arg;
    hook_runs++;
}

/* Logs its letter, then takes itself out. */
static void once_hook(void *arg)
{
    note(*(const char *)arg);
    cr_assert_eq(IOMGR_RemovePassHook(once_hook, arg), 0);
}

static int park_event;

/* Logs its letter and waits for good. */
static void log_and_wait(void *arg)
{
    note(*(const char *)arg);
    LWP_WaitProcess(&park_event);
}

static void sleep_ms(int ms)
{
    struct timeval tv = {0, ms * 1000};

    IOMGR_Select(0, NULL, NULL, NULL, &tv);
}

Test(iomgr_hook, runs_after_every_runnable_lwp_before_the_manager_waits)
{
    static const char a = 'A', b = 'B', h = 'H';

    reset_log();
    cr_assert_eq(IOMGR_AddPassHook(once_hook, (void *)&h), 0);
    iot_spawn(log_and_wait, IOT_HIGH, (void *)&a);
    iot_spawn(log_and_wait, IOT_HIGH, (void *)&b);
    sleep_ms(10);
    cr_assert_str_eq(hook_log, "ABH");
    /* It removed itself: gone for the next pass. */
    cr_assert_eq(IOMGR_RemovePassHook(once_hook, (void *)&h), -1);
    cr_assert_eq(errno, ENOENT);
}

Test(iomgr_hook, run_in_the_order_added)
{
    static const char x = 'x', y = 'y', z = 'z';

    reset_log();
    cr_assert_eq(IOMGR_AddPassHook(once_hook, (void *)&x), 0);
    cr_assert_eq(IOMGR_AddPassHook(once_hook, (void *)&y), 0);
    cr_assert_eq(IOMGR_AddPassHook(once_hook, (void *)&z), 0);
    sleep_ms(1);
    cr_assert_str_eq(hook_log, "xyz");
}

Test(iomgr_hook, every_pass_until_removed)
{
    reset_log();
    cr_assert_eq(IOMGR_AddPassHook(count_hook, NULL), 0);
    for (int i = 0; i < 5; i++)
        sleep_ms(1);
    cr_assert_geq(hook_runs, 5, "one pass per wait at least: %d", hook_runs);
    cr_assert_eq(IOMGR_RemovePassHook(count_hook, NULL), 0);
    int before = hook_runs;
    sleep_ms(1);
    cr_assert_eq(hook_runs, before);
}

Test(iomgr_hook, iomgr_poll_runs_them)
{
    reset_log();
    cr_assert_eq(IOMGR_AddPassHook(count_hook, NULL), 0);
    IOMGR_Poll();
    cr_assert_eq(hook_runs, 1);
    IOMGR_Poll();
    cr_assert_eq(hook_runs, 2);
}

static int wake_event;
static PROCESS main_pid;

static void wake_hook(void *arg)
{
    (void)arg;
    IOMGR_RemovePassHook(wake_hook, NULL);
    LWP_NoYieldSignal(&wake_event);
}

static void woken_cancels_main(void *arg)
{
    (void)arg;
    LWP_WaitProcess(&wake_event);
    IOMGR_Cancel(main_pid);
}

/* A hook that makes an LWP runnable: the manager must not then block in
 * the kernel (here for the main LWP's 5 s timeout). */
Test(iomgr_hook, a_hook_that_wakes_an_lwp_keeps_the_manager_from_blocking)
{
    struct timeval tv = {5, 0};
    double t0;

    cr_assert_eq(LWP_CurrentProcess(&main_pid), LWP_SUCCESS);
    iot_spawn(woken_cancels_main, IOT_HIGH, NULL);
    cr_assert_eq(IOMGR_AddPassHook(wake_hook, NULL), 0);
    t0 = iot_now();
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), -2);
    cr_assert_lt(iot_now() - t0, 1.0);
}

Test(iomgr_hook, errors)
{
    static int args[IOMGR_MAX_PASS_HOOKS + 1];

    errno = 0;
    cr_assert_eq(IOMGR_AddPassHook(NULL, NULL), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(IOMGR_AddPassHook(count_hook, &args[0]), 0);
    errno = 0;
    cr_assert_eq(IOMGR_AddPassHook(count_hook, &args[0]), -1);
    cr_assert_eq(errno, EEXIST);
    for (int i = 1; i < IOMGR_MAX_PASS_HOOKS; i++)
        cr_assert_eq(IOMGR_AddPassHook(count_hook, &args[i]), 0);
    errno = 0;
    cr_assert_eq(IOMGR_AddPassHook(count_hook, &args[IOMGR_MAX_PASS_HOOKS]),
                 -1);
    cr_assert_eq(errno, ENOSPC);
    errno = 0;
    cr_assert_eq(IOMGR_RemovePassHook(count_hook, &args[IOMGR_MAX_PASS_HOOKS]),
                 -1);
    cr_assert_eq(errno, ENOENT);
    errno = 0;
    cr_assert_eq(IOMGR_RemovePassHook(NULL, NULL), -1);
    cr_assert_eq(errno, ENOENT);
    /* A freed slot can be used again. */
    cr_assert_eq(IOMGR_RemovePassHook(count_hook, &args[3]), 0);
    cr_assert_eq(IOMGR_AddPassHook(count_hook, &args[IOMGR_MAX_PASS_HOOKS]),
                 0);
}

Test(iomgr_hook, finalize_drops_them)
{
    reset_log();
    cr_assert_eq(IOMGR_AddPassHook(count_hook, NULL), 0);
    cr_assert_eq(IOMGR_Finalize(), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
    errno = 0;
    cr_assert_eq(IOMGR_RemovePassHook(count_hook, NULL), -1);
    cr_assert_eq(errno, ENOENT);
    sleep_ms(1);
    cr_assert_eq(hook_runs, 0);
}

Test(iomgr_hook_noinit, without_iomgr_lwp_einit)
{
    PROCESS me;

    cr_assert_eq(IOMGR_AddPassHook(count_hook, NULL), LWP_EINIT);
    cr_assert_eq(IOMGR_RemovePassHook(count_hook, NULL), LWP_EINIT);
    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &me), LWP_SUCCESS);
    cr_assert_eq(IOMGR_AddPassHook(count_hook, NULL), LWP_EINIT);
    cr_assert_eq(IOMGR_RemovePassHook(count_hook, NULL), LWP_EINIT);
}
