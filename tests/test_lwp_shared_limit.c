/* SPDX-License-Identifier: MIT */
/* LWP core: a shared-stack LWP's stacksize is the depth it may use. Going
 * deeper is an overflow, found when its live stack is saved; going past
 * the shared stack itself hits its guard page. */
#define _GNU_SOURCE /* open_memstream */
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lwp_test.h"
#include "support/deep_stack.h"

TestSuite(lwp_shared_limit, .timeout = 60);

/* A shared-stack LWP at the normal priority or fail the test. */
static PROCESS spawn_sized(void (*ep)(void *), void *arg, const char *name,
                           int stacksize, unsigned int flags)
{
    return lwpt_spawn_shared(ep, LWP_NORMAL_PRIORITY, arg, name, flags,
                             stacksize);
}

static void nothing(void *arg)
{
    (void)arg;
}

/* ---- The limit reported ---- */

Test(lwp_shared_limit, stacksize_is_rounded_as_for_an_own_stack,
     .init = lwpt_setup, .fini = lwpt_teardown)
{
    long page = sysconf(_SC_PAGESIZE);
    int max_own = 0, max = 0, used;
    struct lwp_attr a = LWP_ATTR_INIT;
    PROCESS own, sh;

    a.flags = LWP_CREATE_DORMANT; /* stacksize 0: the smallest */
    cr_assert_eq(LWP_CreateProcessAttr(&a, nothing, NULL, &own), LWP_SUCCESS);
    (void)LWP_StackUsed(own, &max_own, &used);
    sh = spawn_sized(nothing, NULL, "zero", 0, LWP_CREATE_DORMANT);
    cr_assert_eq(LWP_StackUsed(sh, &max, &used), LWP_NO_STACK);
    cr_assert_eq(max, max_own, "smallest: %d, own stack's %d", max, max_own);
    sh = spawn_sized(nothing, NULL, "odd", 100000, LWP_CREATE_DORMANT);
    cr_assert_eq(LWP_StackUsed(sh, &max, &used), LWP_NO_STACK);
    cr_assert_eq(max, (int)((100000 + page - 1) / page * page));
}

/* ---- Deeper than the stacksize ---- */

static char deep_ev;
static unsigned deep_sum;

static void wait_deep_ev(void)
{
    LWP_WaitProcess(&deep_ev);
}

/* `arg` frames of checked 1000-byte pads, waiting at the bottom. */
static void deep_worker(void *arg)
{
    deep_sum = lwpt_deep((unsigned)(intptr_t)arg, 7, wait_deep_ev);
}

/* 60 frames of 1000 bytes in a 32 KiB LWP; a second shared-stack LWP
 * takes the stack, so the first one's live stack is saved. */
static void run_too_deep(void)
{
    spawn_sized(deep_worker, (void *)(intptr_t)60, "deep", 32768, 0);
    spawn_sized(nothing, NULL, "other", 32768, 0);
    cr_assert_eq(LWP_NoYieldSignal(&deep_ev), LWP_SUCCESS);
    LWP_DispatchProcess();
}

Test(lwp_shared_limit, deeper_than_stacksize_aborts, .init = lwpt_setup,
     .signal = SIGABRT)
{
    run_too_deep();
}

static void too_deep_with_message(void)
{
    lwp_overflowAction = LWP_SOMESSAGE;
    LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, NULL);
    run_too_deep();
    /* Once: the second overflow says nothing. */
    run_too_deep();
    fprintf(stderr, "sum %u\n", deep_sum);
    LWP_TerminateProcessSupport();
}

Test(lwp_shared_limit, somessage_reports_once_and_the_lwp_goes_on,
     .timeout = 30)
{
    char buf[4096], *first;
    int status = lwpt_in_child(too_deep_with_message, buf, sizeof(buf));

    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x",
              status);
    first = strstr(buf, "LWP deep overflowed its 32768-byte stack: ");
    cr_assert_not_null(first, "got: %s", buf);
    cr_assert_not_null(strstr(first, " bytes deep when it was switched out"),
                       "got: %s", buf);
    cr_assert_null(strstr(strchr(first, '\n'), "overflowed"), "got: %s", buf);
    /* Its 61 pads all came back intact. */
    cr_assert_not_null(strstr(buf, "sum 61000\n"), "got: %s", buf);
}

Test(lwp_shared_limit, soquiet_says_nothing_and_the_lwp_goes_on,
     .init = lwpt_setup, .fini = lwpt_teardown)
{
    lwp_overflowAction = LWP_SOQUIET;
    deep_sum = 0;
    run_too_deep();
    cr_assert_eq(deep_sum, 61000);
}

Test(lwp_shared_limit, within_the_stacksize_is_fine, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    int max, used;
    PROCESS p;

    deep_sum = 0;
    p = spawn_sized(deep_worker, (void *)(intptr_t)60, "deep", 128 * 1024,
                    LWP_CREATE_JOINABLE);
    spawn_sized(nothing, NULL, "other", 0, 0);
    cr_assert_eq(LWP_StackUsed(p, &max, &used), LWP_SUCCESS);
    cr_assert_eq(max, 128 * 1024);
    cr_assert_geq(used, 60 * 1000);
    cr_assert_lt(used, max);
    cr_assert_eq(LWP_NoYieldSignal(&deep_ev), LWP_SUCCESS);
    cr_assert_eq(LWP_WaitExit(p, NULL), LWP_SUCCESS);
    cr_assert_eq(deep_sum, 61000);
}

/* ---- Past the shared stack: its guard page ---- */

static void runaway(void *arg)
{
    (void)arg;
    lwpt_recurse(0);
}

static char park_ev, parkers_done;
static int parked, nparked;

static void parker(void *arg)
{
    volatile int mine[64];

    for (int i = 0; i < 64; i++)
        mine[i] = (int)(intptr_t)arg;
    LWP_WaitProcess(&park_ev);
    for (int i = 0; i < 64; i++)
        parked += mine[i];
    if (++nparked == 2)
        LWP_NoYieldSignal(&parkers_done);
}

/* The runaway dies with a parker next in line, whose bytes must come
 * back while the stack still belongs to the dead LWP. */
static void runaway_beside_parkers(void)
{
    PROCESS r;

    lwp_overflowAction = LWP_SOMESSAGE;
    LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, NULL);
    spawn_sized(parker, (void *)(intptr_t)1, "p1", 0, 0);
    r = spawn_sized(runaway, NULL, "runaway", LWP_SHARED_STACK_MAX,
                    LWP_CREATE_DORMANT);
    spawn_sized(parker, (void *)(intptr_t)2, "p2", 0, 0);
    LWP_ResumeProcess(r);
    LWP_NoYieldSignal(&park_ev);
    LWP_WaitProcess(&parkers_done);
    fprintf(stderr, "parked %d\n", parked);
    LWP_TerminateProcessSupport();
}

Test(lwp_shared_limit, guard_page_ends_the_lwp_and_the_others_go_on,
     .timeout = 30)
{
    char buf[4096];
    int status;

    if (lwpt_under_valgrind())
        cr_skip_test("valgrind does not deliver guard-page faults on the "
                     "alternate stack the way the kernel does");
    status = lwpt_in_child(runaway_beside_parkers, buf, sizeof(buf));
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "status %#x: %s", status, buf);
    cr_assert_not_null(strstr(buf, "LWP runaway overflowed its 1048576-byte"
                                   " stack"),
                       "got: %s", buf);
    cr_assert_not_null(strstr(buf, "parked 192\n"), "got: %s", buf);
}

/* ---- LWP_Print_Processes ---- */

static char dump_ev;

static void dump_waiter(void *arg)
{
    (void)arg;
    LWP_WaitProcess(&dump_ev);
}

Test(lwp_shared_limit, print_processes_shows_where_live_stacks_are,
     .init = lwpt_setup, .fini = lwpt_teardown)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    spawn_sized(dump_waiter, NULL, "aside", 40960, 0);
    spawn_sized(dump_waiter, NULL, "owner", 0, 0); /* evicts "aside" */
    spawn_sized(dump_waiter, NULL, "fresh", 0, LWP_CREATE_DORMANT);
    lwp_logfile = f;
    LWP_Print_Processes();
    lwp_logfile = stderr;
    fclose(f);
    cr_assert_not_null(strstr(buf, "depth allowed: 40960, deepest seen: "),
                       "%s", buf);
    cr_assert_not_null(strstr(buf, "live stack saved aside: "), "%s", buf);
    cr_assert_not_null(strstr(buf, "not started yet"), "%s", buf);
    /* Only the owner's stack pointer is on the stack. */
    cr_assert_not_null(strstr(strstr(buf, "process owner"),
                              "stack pointer at last switch"),
                       "%s", buf);
    cr_assert_null(strstr(strstr(buf, "process aside"),
                          "stack pointer at last switch: (nil)"),
                   "%s", buf);
    free(buf);
    LWP_NoYieldSignal(&dump_ev);
    LWP_DispatchProcess();
}
