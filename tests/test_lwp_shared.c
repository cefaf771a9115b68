/* SPDX-License-Identifier: MIT */
/* LWP core: shared-stack LWPs (LWP_CREATE_SHARED_STACK). */
#include <stdint.h>
#include <stdlib.h>

#include "lwp_test.h"
#include "support/deep_stack.h"

TestSuite(lwp_shared, .init = lwpt_setup, .fini = lwpt_teardown,
          .timeout = 60);

#define SPAWN_STACK 65536

static PROCESS spawn_shared(void (*ep)(void *), int prio, void *arg,
                            const char *name, unsigned int flags)
{
    return lwpt_spawn_shared(ep, prio, arg, name, flags, SPAWN_STACK);
}

/* ---- Locals survive the stack changing hands ---- */

#define NWORKERS 40
#define ROUNDS 25
static int bad_words, rounds_done;

/* A frame of `words` words, each a function of the LWP and its place,
 * checked after every yield; deeper LWPs recurse once more. */
static __attribute__((noinline)) void fill_and_yield(uintptr_t id, int words,
                                                     int depth)
{
    volatile uintptr_t frame[256];

    for (int i = 0; i < words; i++)
        frame[i] = id * 1000003u + (uintptr_t)i;
    if (depth > 0)
        fill_and_yield(id + 7919, words, depth - 1);
    for (int r = 0; r < ROUNDS; r++) {
        LWP_DispatchProcess();
        for (int i = 0; i < words; i++)
            if (frame[i] != id * 1000003u + (uintptr_t)i)
                bad_words++;
        if (depth == 0)
            rounds_done++;
    }
}

static void worker(void *arg)
{
    uintptr_t id = (uintptr_t)arg;

    fill_and_yield(id, 16 + (int)(id % 200), (int)(id % 4));
}

Test(lwp_shared, locals_survive_many_lwps_yielding)
{
    for (uintptr_t i = 1; i <= NWORKERS; i++)
        spawn_shared(worker, LWP_NORMAL_PRIORITY, (void *)i, "w", 0);
    while (rounds_done < NWORKERS * ROUNDS)
        LWP_DispatchProcess();
    cr_assert_eq(bad_words, 0);
}

/* ---- Exact round-robin order, shared and own-stack LWPs mixed ---- */

static void yielder(void *arg)
{
    const char *name = arg;

    for (int i = 1; i <= 3; i++) {
        lwpt_note("%s%d", name, i);
        LWP_DispatchProcess();
    }
}

Test(lwp_shared, round_robin_order_is_exact_with_mixed_stacks)
{
    lwpt_reset();
    spawn_shared(yielder, LWP_MAX_PRIORITY, "a", "a", LWP_CREATE_DORMANT);
    lwpt_note("|");
    /* Dormant: created without running. */
    cr_assert_str_eq(lwpt_log, "|");
    lwpt_reset();
    {
        PROCESS a, b, c;
        struct lwp_attr attr = LWP_ATTR_INIT;

        attr.priority = LWP_MAX_PRIORITY;
        attr.flags = LWP_CREATE_SHARED_STACK | LWP_CREATE_DORMANT;
        cr_assert_eq(LWP_CreateProcessAttr(&attr, yielder, "a", &a),
                     LWP_SUCCESS);
        attr.flags = LWP_CREATE_DORMANT; /* its own stack */
        cr_assert_eq(LWP_CreateProcessAttr(&attr, yielder, "b", &b),
                     LWP_SUCCESS);
        attr.flags = LWP_CREATE_SHARED_STACK | LWP_CREATE_DORMANT;
        cr_assert_eq(LWP_CreateProcessAttr(&attr, yielder, "c", &c),
                     LWP_SUCCESS);
        cr_assert_eq(LWP_ResumeProcess(a), LWP_SUCCESS);
        cr_assert_eq(LWP_ResumeProcess(b), LWP_SUCCESS);
        cr_assert_eq(LWP_ResumeProcess(c), LWP_SUCCESS);
    }
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "a1 b1 c1 a2 b2 c2 a3 b3 c3");
}

/* ---- A pointer to one's own local stays valid ---- */

static void own_pointer(void *arg)
{
    int local = 1;
    int *volatile p = &local;
    int *out = arg;

    LWP_DispatchProcess();
    *p += 41;
    LWP_DispatchProcess();
    *out = local;
}

Test(lwp_shared, pointers_to_own_locals_stay_valid)
{
    int r1 = 0, r2 = 0;

    spawn_shared(own_pointer, LWP_NORMAL_PRIORITY, &r1, "p1", 0);
    spawn_shared(own_pointer, LWP_NORMAL_PRIORITY, &r2, "p2", 0);
    for (int i = 0; i < 5; i++)
        LWP_DispatchProcess();
    cr_assert_eq(r1, 42);
    cr_assert_eq(r2, 42);
}

/* ---- Deep live stacks ---- */

static char deep_ev;

/* Woken deep, it yields once more: the stack changes hands while all
 * three are at their deepest. */
static void wait_then_yield(void)
{
    LWP_WaitProcess(&deep_ev);
    LWP_DispatchProcess();
}

static void deep_worker(void *arg)
{
    unsigned *out = arg;

    *out = lwpt_deep(out[1], out[2], wait_then_yield);
}

Test(lwp_shared, deep_live_stacks_of_different_depths)
{
    unsigned r[3][3] = {{0, 300, 5}, {0, 10, 6}, {0, 150, 7}};
    int max, used;
    PROCESS p0;

    p0 = lwpt_spawn_shared(deep_worker, LWP_NORMAL_PRIORITY, r[0], "d0",
                           LWP_CREATE_JOINABLE, LWP_SHARED_STACK_MAX);
    lwpt_spawn_shared(deep_worker, LWP_NORMAL_PRIORITY, r[1], "d1", 0,
                      LWP_SHARED_STACK_MAX);
    lwpt_spawn_shared(deep_worker, LWP_NORMAL_PRIORITY, r[2], "d2", 0,
                      LWP_SHARED_STACK_MAX);
    /* All three wait in their deepest frame now. */
    cr_assert_eq(LWP_StackUsed(p0, &max, &used), LWP_SUCCESS);
    cr_assert_eq(max, LWP_SHARED_STACK_MAX);
    cr_assert_geq(used, 300 * 1000);
    cr_assert_lt(used, LWP_SHARED_STACK_MAX);
    cr_assert_eq(LWP_NoYieldSignal(&deep_ev), LWP_SUCCESS);
    for (int i = 0; i < 4; i++)
        LWP_DispatchProcess();
    cr_assert_eq(r[0][0], 301 * 1000);
    cr_assert_eq(r[1][0], 11 * 1000);
    cr_assert_eq(r[2][0], 151 * 1000);
    cr_assert_eq(LWP_WaitExit(p0, NULL), LWP_SUCCESS);
}

/* ---- Sizes ---- */

static void nothing(void *arg)
{
    (void)arg;
}

Test(lwp_shared, stacksize_limits)
{
    struct lwp_attr a = LWP_ATTR_INIT;
    PROCESS pid;

    a.flags = LWP_CREATE_SHARED_STACK;
    a.stacksize = LWP_SHARED_STACK_MAX + 1;
    cr_assert_eq(LWP_CreateProcessAttr(&a, nothing, NULL, &pid), LWP_ENOMEM);
    a.stacksize = -1;
    cr_assert_eq(LWP_CreateProcessAttr(&a, nothing, NULL, &pid), LWP_EBADARG);
    a.stacksize = LWP_SHARED_STACK_MAX;
    cr_assert_eq(LWP_CreateProcessAttr(&a, nothing, NULL, &pid), LWP_SUCCESS);
    a.stacksize = 0;
    cr_assert_eq(LWP_CreateProcessAttr(&a, nothing, NULL, &pid), LWP_SUCCESS);
    a.flags = LWP_CREATE_SHARED_STACK | 0x100;
    cr_assert_eq(LWP_CreateProcessAttr(&a, nothing, NULL, &pid),
                 LWP_EBADFLAGS);
}

Test(lwp_shared, stack_used_of_a_fresh_lwp_is_no_stack)
{
    PROCESS p = spawn_shared(nothing, LWP_NORMAL_PRIORITY, NULL, "f",
                             LWP_CREATE_DORMANT);
    int max = 0, used = -1;

    cr_assert_eq(LWP_StackUsed(p, &max, &used), LWP_NO_STACK);
    cr_assert_eq(max, SPAWN_STACK);
    cr_assert_eq(used, 0);
    cr_assert_eq(LWP_DestroyProcess(p), LWP_SUCCESS);
}

/* ---- Ends: exit, destroy, recycle, join ---- */

static char park_ev;
static int parked_sum;

static void parker(void *arg)
{
    volatile int mine[64];
    int id = (int)(intptr_t)arg;

    for (int i = 0; i < 64; i++)
        mine[i] = id;
    LWP_WaitProcess(&park_ev);
    for (int i = 0; i < 64; i++)
        parked_sum += mine[i];
}

Test(lwp_shared, destroying_waiters_leaves_the_others_intact)
{
    PROCESS p[6];

    for (int i = 0; i < 6; i++)
        p[i] = spawn_shared(parker, LWP_MAX_PRIORITY, (void *)(intptr_t)(i + 1),
                            "park", 0);
    /* p[5] ran last: its bytes are on the stack. Destroy it and one whose
     * bytes are in its buffer. */
    cr_assert_eq(LWP_DestroyProcess(p[5]), LWP_SUCCESS);
    cr_assert_eq(LWP_DestroyProcess(p[2]), LWP_SUCCESS);
    cr_assert_eq(LWP_NoYieldSignal(&park_ev), LWP_SUCCESS);
    LWP_DispatchProcess();
    cr_assert_eq(parked_sum, 64 * (1 + 2 + 4 + 5));
}

static char exit_ev;

static void exits_with(void *arg)
{
    LWP_WaitProcess(&exit_ev);
    LWP_ExitProcess((int)(intptr_t)arg);
}

static void joiner(void *arg)
{
    PROCESS target = *(PROCESS *)arg;
    int status = -1;

    cr_assert_eq(LWP_WaitExit(target, &status), LWP_SUCCESS);
    lwpt_note("joined %d", status);
}

Test(lwp_shared, wait_exit_between_shared_lwps)
{
    PROCESS t;

    lwpt_reset();
    t = spawn_shared(exits_with, LWP_NORMAL_PRIORITY, (void *)(intptr_t)7,
                     "t", LWP_CREATE_JOINABLE);
    spawn_shared(joiner, LWP_NORMAL_PRIORITY, &t, "j1", 0);
    spawn_shared(joiner, LWP_NORMAL_PRIORITY, &t, "j2", 0);
    cr_assert_eq(LWP_NoYieldSignal(&exit_ev), LWP_SUCCESS);
    for (int i = 0; i < 4; i++)
        LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "joined 7 joined 7");
}

static int recycled_runs;

static void count_run(void *arg)
{
    volatile char frame[300];

    frame[0] = (char)(intptr_t)arg;
    recycled_runs += frame[0];
    LWP_WaitProcess(&park_ev);
}

static void recycle_self(void *arg)
{
    PROCESS me = LWP_ThisProcess();

    (void)arg;
    LWP_DispatchProcess();
    (void)LWP_RecycleProcess(me, count_run, (void *)(intptr_t)100);
}

Test(lwp_shared, recycling_restarts_on_a_fresh_frame)
{
    PROCESS a, b;

    a = spawn_shared(count_run, LWP_NORMAL_PRIORITY, (void *)(intptr_t)1, "a",
                     0);
    b = spawn_shared(recycle_self, LWP_NORMAL_PRIORITY, NULL, "b", 0);
    LWP_DispatchProcess(); /* b recycles itself: suspended */
    cr_assert_eq(LWP_RecycleProcess(a, count_run, (void *)(intptr_t)10),
                 LWP_SUCCESS);
    cr_assert_eq(LWP_ResumeProcess(a), LWP_SUCCESS);
    cr_assert_eq(LWP_ResumeProcess(b), LWP_SUCCESS);
    LWP_DispatchProcess();
    cr_assert_eq(recycled_runs, 1 + 10 + 100);
}

/* ---- Creation from a shared-stack LWP ---- */

static void child_notes(void *arg)
{
    lwpt_note("child%d", (int)(intptr_t)arg);
}

static void creator(void *arg)
{
    volatile int guard = 12345;

    (void)arg;
    spawn_shared(child_notes, LWP_MAX_PRIORITY, (void *)(intptr_t)1, "c1", 0);
    lwpt_note("back %d", guard);
    spawn_shared(child_notes, LWP_MAX_PRIORITY, (void *)(intptr_t)2, "c2", 0);
    lwpt_note("back %d", guard);
}

Test(lwp_shared, a_shared_lwp_creates_shared_children_that_run_first)
{
    lwpt_reset();
    spawn_shared(creator, LWP_NORMAL_PRIORITY + 1, NULL, "creator", 0);
    cr_assert_str_eq(lwpt_log, "child1 back 12345 child2 back 12345");
}

/* ---- Protected stacks, termination ---- */

Test(lwp_shared, protected_stacks_leave_the_shared_stack_usable)
{
    int r1 = 0, r2 = 0;

    LWP_ProtectStacks();
    spawn_shared(own_pointer, LWP_NORMAL_PRIORITY, &r1, "p1", 0);
    spawn_shared(own_pointer, LWP_NORMAL_PRIORITY, &r2, "p2", 0);
    for (int i = 0; i < 5; i++)
        LWP_DispatchProcess();
    LWP_UnProtectStacks();
    cr_assert_eq(r1 + r2, 84);
}

Test(lwp_shared, terminate_with_shared_lwps_waiting)
{
    for (int i = 0; i < 10; i++)
        spawn_shared(parker, LWP_MAX_PRIORITY, (void *)(intptr_t)i, "park", 0);
    cr_assert_eq(LWP_TerminateProcessSupport(), LWP_SUCCESS);
    /* Again, after a fresh start. */
    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, NULL),
                 LWP_SUCCESS);
    spawn_shared(parker, LWP_MAX_PRIORITY, (void *)(intptr_t)1, "park", 0);
    cr_assert_eq(LWP_NoYieldSignal(&park_ev), LWP_SUCCESS);
    parked_sum = 0;
    LWP_DispatchProcess();
    cr_assert_eq(parked_sum, 64);
}
