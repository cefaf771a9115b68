/* SPDX-License-Identifier: MIT */
/*
 * PROCESS handles: a stale handle names no later LWP of its slot (every
 * call refuses it and the slot's new LWP is untouched), until the reuse
 * lwp.h documents; and the main LWP cannot be destroyed or exit.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include <lwp/context.h>
#include <lwp/lwp.h>

#include "lwp/lwp_internal.h" /* which slot a handle's LWP is in */
#include "lwp_test.h"

static void noop(void *arg)
{
    (void)arg;
}

/* A dormant LWP: its handle at once, and it runs only when resumed. */
static PROCESS dormant(void (*ep)(void *), void *arg)
{
    struct lwp_attr a = LWP_ATTR_INIT;
    PROCESS pid = NULL;

    a.flags = LWP_CREATE_DORMANT;
    cr_assert_eq(LWP_CreateProcessAttr(&a, ep, arg, &pid), LWP_SUCCESS);
    return pid;
}

static struct lwp_pcb *slot_of(PROCESS pid)
{
    struct lwp_pcb *p = lwp__pcb_lookup(lwp__rt, pid);

    cr_assert_not_null(p);
    return p;
}

/* Create and destroy LWPs until `slot` has been given to `reuses` or more
 * LWPs and at least `min_creations` were made; the last one in the slot
 * is left alive (dormant) and returned. */
static PROCESS reuse_slot(struct lwp_pcb *slot, int reuses,
                          int min_creations, void (*ep)(void *), void *arg)
{
    int seen = 0;

    for (int n = 0;; n++) {
        PROCESS pid = dormant(ep, arg);

        if (lwp__pcb_lookup(lwp__rt, pid) == slot && ++seen >= reuses &&
            n + 1 >= min_creations)
            return pid;
        cr_assert_eq(LWP_DestroyProcess(pid), LWP_SUCCESS);
        cr_assert_lt(n, 10000000, "the slot was not reused");
    }
}

static int victim_runs;

static void victim(void *arg)
{
    (void)arg;
    victim_runs++;
}

/* Every call that takes a PROCESS, given a stale one. */
static void assert_refused_everywhere(PROCESS stale)
{
    int v = 0, max = 0, used = 0;
    char mem[8];

    cr_assert_eq(LWP_GetProcessPriority(stale, &v), LWP_EBADPID);
    cr_assert_eq(LWP_GetGroup(stale, &v), LWP_EBADPID);
    cr_assert_eq(LWP_StackUsed(stale, &max, &used), LWP_EBADPID);
    cr_assert_eq(LWP_QSignal(stale), LWP_EBADPID);
    cr_assert_eq(LWP_ResumeProcess(stale), LWP_EBADPID);
    cr_assert_eq(LWP_SuspendProcess(stale), LWP_EBADPID);
    cr_assert_eq(LWP_RecycleProcess(stale, noop, NULL), LWP_EBADPID);
    cr_assert_eq(LWP_WaitExit(stale, &v), LWP_EBADPID);
    cr_assert_eq(lwp_fpset(stale), -1);
    cr_assert_eq(lwp_geterr(), LE_INVALIDARG);
    cr_assert_eq(lwp_ctxmemget(mem, stale, LWP_CTX_LIBC), -1);
    cr_assert_eq(lwp_ctxremove(stale, LWP_CTX_LIBC), -1);
    cr_assert_eq(LWP_DestroyProcess(stale), LWP_EBADPID);
}

Test(lwp_handles, stale_handle_is_refused_after_its_slot_is_reused,
     .init = lwpt_setup, .fini = lwpt_teardown, .timeout = 30)
{
    PROCESS stale = dormant(noop, NULL), now;
    struct lwp_pcb *slot = slot_of(stale);

    cr_assert_eq(LWP_DestroyProcess(stale), LWP_SUCCESS);
    /* 1,000 creations at least; by then every slot was reused. */
    now = reuse_slot(slot, 3, 1000, victim, NULL);
    cr_assert_neq(now, stale, "the slot's new LWP has another handle");
    assert_refused_everywhere(stale);
    /* The slot's LWP is as it was: still dormant, never run. */
    cr_assert_eq(victim_runs, 0);
    cr_assert_eq(LWP_ResumeProcess(now), LWP_SUCCESS,
                 "nobody resumed it through the stale handle");
    LWP_DispatchProcess();
    cr_assert_eq(victim_runs, 1);
}

Test(lwp_handles, handle_of_an_lwp_that_ended_by_itself_goes_stale,
     .init = lwpt_setup, .fini = lwpt_teardown, .timeout = 30)
{
    PROCESS stale = NULL, now;

    /* It runs at once (it outranks the main LWP) and has ended when its
     * handle is written: the handle is still the one it had. */
    cr_assert_eq(LWP_CreateProcess(noop, 0, LWP_MAX_PRIORITY, NULL, "short",
                                   &stale),
                 LWP_SUCCESS);
    /* Its freed slot is the newest free one. */
    now = reuse_slot(lwp__rt->free_tail, 1, 1000, victim, NULL);
    assert_refused_everywhere(stale);
    cr_assert_eq(victim_runs, 0);
    cr_assert_eq(LWP_ResumeProcess(now), LWP_SUCCESS);
    LWP_DispatchProcess();
    cr_assert_eq(victim_runs, 1);
}

/* The bound lwp.h gives: only the LWP_HANDLE_REUSE-th LWP to take the
 * slot after the stale handle's LWP gets the same value. */
Test(lwp_handles, a_handle_comes_back_only_at_the_documented_reuse,
     .init = lwpt_setup, .fini = lwpt_teardown, .timeout = 60)
{
    PROCESS stale = dormant(noop, NULL), now;
    struct lwp_pcb *slot = slot_of(stale);
    int seen = 0;

    cr_assert_eq(LWP_DestroyProcess(stale), LWP_SUCCESS);
    for (;;) {
        now = dormant(noop, NULL);
        if (lwp__pcb_lookup(lwp__rt, now) == slot &&
            ++seen == (int)LWP_HANDLE_REUSE)
            break;
        cr_assert_neq(now, stale, "the %dth LWP in the slot", seen);
        cr_assert_eq(LWP_DestroyProcess(now), LWP_SUCCESS);
    }
    cr_assert_eq(now, stale, "the %dth LWP in the slot", seen);
}

Test(lwp_handles, stale_handle_after_terminate_answers_einit)
{
    PROCESS stale;

    lwpt_setup();
    stale = dormant(noop, NULL);
    lwpt_teardown();
    cr_assert_eq(LWP_DestroyProcess(stale), LWP_EINIT);
    cr_assert_eq(LWP_ResumeProcess(stale), LWP_EINIT);
}

Test(lwp_handles, foreign_pointers_are_refused, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    int local;
    PROCESS live = dormant(noop, NULL);

    cr_assert_eq(LWP_DestroyProcess((PROCESS)(void *)&local), LWP_EBADPID);
    cr_assert_eq(LWP_DestroyProcess(NULL), LWP_EBADPID);
    /* Inside the handle space but not a handle's cell. */
    cr_assert_eq(LWP_DestroyProcess((PROCESS)((uintptr_t)live + 1)),
                 LWP_EBADPID);
    cr_assert_eq(LWP_DestroyProcess(live), LWP_SUCCESS);
}

/* ---- The main LWP cannot end ---- */

static PROCESS main_pid;
static int destroy_rc;

static void destroy_main(void *arg)
{
    (void)arg;
    destroy_rc = LWP_DestroyProcess(main_pid);
}

Test(lwp_handles, main_lwp_cannot_be_destroyed, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 10)
{
    main_pid = LWP_ThisProcess();
    cr_assert_eq(LWP_DestroyProcess(main_pid), LWP_EMAINPROC);
    destroy_rc = 0;
    lwpt_spawn(destroy_main, LWP_MAX_PRIORITY, NULL, "killer");
    cr_assert_eq(destroy_rc, LWP_EMAINPROC, "from another LWP too");
    cr_assert_eq(LWP_ThisProcess(), main_pid);
    cr_assert_eq(LWP_DispatchProcess(), LWP_SUCCESS);
    cr_assert_eq(LWP_TerminateProcessSupport(), LWP_SUCCESS);
    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, NULL),
                 LWP_SUCCESS);
}

Test(lwp_handles, exit_from_the_main_lwp_returns, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 10)
{
    PROCESS me = LWP_ThisProcess();

    LWP_ExitProcess(7);
    cr_assert_eq(LWP_ThisProcess(), me, "still the main LWP");
    cr_assert_eq(LWP_DispatchProcess(), LWP_SUCCESS);
    cr_assert_eq(LWP_TerminateProcessSupport(), LWP_SUCCESS);
    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, NULL),
                 LWP_SUCCESS);
}
