/* SPDX-License-Identifier: MIT */
/*
 * Stack overflows the guard page alone would miss: a frame larger than a
 * page (jumping over it), stacks from arenas (no guard at all), a stack
 * pointer that left its stack, and the message for an unnamed LWP. Each
 * overflow runs in a forked child whose stderr the test reads.
 *
 * This file is compiled without -fstack-clash-protection (tests/
 * CMakeLists.txt), as much code that runs on LWP stacks is: a large frame
 * is then allocated in one step, not probed page by page, and only the
 * library's own defences stand between it and the neighbour's stack.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lwp/lwp_internal.h"
#include "lwp_test.h"

/* Frames built here must be real: under AddressSanitizer an instrumented
 * frame's arrays may live on its heap-allocated "fake stack" instead. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REAL_FRAME __attribute__((no_sanitize("address"), noinline))
#endif
#endif
#if !defined(REAL_FRAME) && defined(__SANITIZE_ADDRESS__)
#define REAL_FRAME __attribute__((no_sanitize("address"), noinline))
#endif
#ifndef REAL_FRAME
#define REAL_FRAME __attribute__((noinline))
#endif

#define PATTERN 0x5a17c0de00000000ull
#define VICTIM_WORDS 128
#define CANDIDATES 8
#define NEAR (256 * 1024) /* a victim this close below is a neighbour */

enum role { NONE, CULPRIT, VICTIM };

/* LWPs created one after the other; two of them, one's stack right below
 * the other's, play the culprit and the victim. */
struct candidate {
    char *lo, *top; /* its stack */
    int role;
    int wake;       /* event it waits on */
};
static struct candidate cand[CANDIDATES];
static struct candidate *victim_of; /* for the culprit */

/* Parameters of the child (lwpt_in_child takes no argument). */
static int action = LWP_SOABORT;
static void (*culprit)(void);
static int use_arenas;

static char *my_stack_lo(void)
{
    return lwp__rt->current->stack_lo;
}

/* Keeps known values in its frame, near the top of its stack, and then
 * plays the part it was given. */
static REAL_FRAME void candidate(void *arg)
{
    struct candidate *me = arg;
    volatile uint64_t mine[VICTIM_WORDS];
    int intact = 1;

    for (int i = 0; i < VICTIM_WORDS; i++)
        mine[i] = PATTERN ^ (uint64_t)i;
    me->lo = my_stack_lo();
    me->top = me->lo + lwp__rt->current->stack_size;
    LWP_WaitProcess(&me->wake);
    if (me->role == CULPRIT) {
        culprit();
        fprintf(stderr, "deep-returned\n");
    } else if (me->role == VICTIM) {
        for (int i = 0; i < VICTIM_WORDS; i++)
            intact &= mine[i] == (PATTERN ^ (uint64_t)i);
        fprintf(stderr, intact ? "victim-intact\n" : "victim-damaged\n");
    }
}

/* The closest pair, victim below culprit; 0 if there is none. */
static int pick_pair(void)
{
    size_t best = NEAR + 1;
    int c = -1, v = -1;

    for (int i = 0; i < CANDIDATES; i++)
        for (int j = 0; j < CANDIDATES; j++)
            if (cand[j].top <= cand[i].lo &&
                (size_t)(cand[i].lo - cand[j].top) < best) {
                best = (size_t)(cand[i].lo - cand[j].top);
                c = i;
                v = j;
            }
    if (c < 0)
        return 0;
    cand[c].role = CULPRIT;
    cand[v].role = VICTIM;
    victim_of = &cand[v];
    fprintf(stderr, "culprit: c%d\n", c);
    return 1;
}

/* The child: the culprit overflows, then the victim checks itself. */
static void run_pair(void)
{
    char name[8];

    lwp_overflowAction = action;
    LWP_Init(LWP_VERSION, 1, NULL);
    if (use_arenas)
        lwp__stacks_use_arenas(lwp__rt);
    for (int i = 0; i < CANDIDATES; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        LWP_CreateProcess(candidate, 32768, 2, &cand[i], name, NULL);
    }
    if (!pick_pair()) {
        fprintf(stderr, "no-pair\n");
        _exit(0);
    }
    for (int i = 0; i < CANDIDATES; i++)
        if (cand[i].role == CULPRIT)
            LWP_SignalProcess(&cand[i].wake);
    for (int i = 0; i < CANDIDATES; i++)
        if (cand[i].role == VICTIM)
            LWP_SignalProcess(&cand[i].wake);
    fprintf(stderr, "main-continues\n");
    LWP_TerminateProcessSupport();
    fflush(stderr);
    _exit(0);
}

#define SAID(buf, s) (strstr((buf), (s)) != NULL)
#define ABORTED(st) (WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT)
#define EXITED_0(st) (WIFEXITED(st) && WEXITSTATUS(st) == 0)

/* A child's run: its status, what it wrote, and the report it must have
 * written, "LWP c<culprit> overflowed its 32768-byte stack". */
struct pair_run {
    int st;
    char buf[4096];
    char want[128];
};

/* Runs the child and checks what every pair test checks first: it
 * aborted (LWP_SOABORT) or went on to exit 0 (LWP_SOMESSAGE), and its
 * report named the culprit. */
static void pair_in_child(void (*fn)(void), int act, struct pair_run *r)
{
    const char *c;

    if (lwpt_under_valgrind())
        cr_skip_test("valgrind does not deliver faults on the alternate "
                     "stack the way the kernel does");
    culprit = fn;
    action = act;
    r->st = lwpt_in_child(run_pair, r->buf, sizeof(r->buf));
    if (strstr(r->buf, "no-pair"))
        cr_skip_test("no two stacks next to each other: %s", r->buf);
    c = strstr(r->buf, "culprit: ");
    cr_assert_not_null(c, "got: %s", r->buf);
    snprintf(r->want, sizeof(r->want),
             "LWP %.*s overflowed its 32768-byte stack",
             (int)strcspn(c + 9, "\n"), c + 9);
    if (act == LWP_SOABORT)
        cr_assert(ABORTED(r->st), "status %#x: %s", r->st, r->buf);
    else
        cr_assert(EXITED_0(r->st), "status %#x: %s", r->st, r->buf);
    cr_assert(SAID(r->buf, r->want), "want %s, got: %s", r->want, r->buf);
}

/* ---- Arena stacks (past the kernel's mapping limit) ---- */

static int dispatch_at_bottom;

/* Recurses until its frames are below `floor`, optionally gives up the
 * CPU there, and returns. */
static REAL_FRAME int dig(const char *floor, int depth)
{
    volatile char pad[256];

    pad[0] = (char)depth;
    if ((char *)__builtin_frame_address(0) > floor)
        return dig(floor, depth + 1) + pad[0];
    if (dispatch_at_bottom)
        LWP_DispatchProcess();
    return pad[0];
}

static void dig_4k_below(void)
{
    dig(my_stack_lo() - 4096, 0);
}

Test(arena_overflow, few_kib_then_exit_is_reported_neighbour_intact,
     .timeout = 30)
{
    struct pair_run r;

    use_arenas = 1;
    pair_in_child(dig_4k_below, LWP_SOMESSAGE, &r);
    cr_assert(SAID(r.buf, "victim-intact"), "got: %s", r.buf);
    cr_assert(SAID(r.buf, "main-continues"), "got: %s", r.buf);
}

Test(arena_overflow, switch_while_below_the_stack_is_reported,
     .timeout = 30)
{
    struct pair_run r;

    use_arenas = 1;
    dispatch_at_bottom = 1;
    pair_in_child(dig_4k_below, LWP_SOMESSAGE, &r);
    cr_assert(!SAID(r.buf, "deep-returned"), "destroyed there: %s", r.buf);
    cr_assert(SAID(r.buf, "victim-intact"), "got: %s", r.buf);
}

Test(arena_overflow, aborts_by_default, .timeout = 30)
{
    struct pair_run r;

    use_arenas = 1;
    pair_in_child(dig_4k_below, LWP_SOABORT, &r);
}

/* Stacks from arenas are still stacks: create, run, reuse. */
static int arena_runs;

static void arena_count(void *arg)
{
    volatile char some[2048];

    some[0] = 1;
    arena_runs += some[0];
}

Test(arena_overflow, arena_stacks_work_and_are_reused, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    lwp__stacks_use_arenas(lwp__rt);
    for (int i = 0; i < 600; i++)
        lwpt_spawn(arena_count, LWP_MAX_PRIORITY, NULL, "a");
    cr_assert_eq(arena_runs, 600);
    cr_assert_not_null(lwp__rt->arenas, "stacks came from an arena");
    cr_assert_null(lwp__rt->arenas->next, "and were reused: one arena");
}

/* ---- Frames larger than a page ---- */

static REAL_FRAME void frame_37k(void)
{
    volatile char big[37 * 1024];

    big[0] = 'X'; /* the low end: below the stack, more than a page under */
    fprintf(stderr, "big %d\n", big[0]);
}

Test(stack_guard, frame_of_37k_in_32k_stack_aborts_with_message,
     .timeout = 30)
{
    struct pair_run r;

    pair_in_child(frame_37k, LWP_SOABORT, &r);
}

Test(stack_guard, frame_of_37k_leaves_neighbour_intact, .timeout = 30)
{
    struct pair_run r;

    pair_in_child(frame_37k, LWP_SOMESSAGE, &r);
    cr_assert(!SAID(r.buf, "deep-returned"), "got: %s", r.buf);
    cr_assert(SAID(r.buf, "victim-intact"), "got: %s", r.buf);
}

/* ---- A stack pointer beyond the guard region ----
 *
 * A frame that reaches into the middle of the victim's stack, beyond any
 * guard region: made PROT_NONE first, so that the fault is not in the
 * culprit's guard, or left writable, so that there is no fault at all. */

static int protect_victim;

static REAL_FRAME void frame_into_victim(void)
{
    char *target = victim_of->lo + 16 * 1024;
    char *sp = __builtin_frame_address(0);
    volatile char *big;

    if (protect_victim)
        mprotect(victim_of->lo, (size_t)(victim_of->top - victim_of->lo),
                 PROT_NONE);
    big = __builtin_alloca((size_t)(sp - target));
    big[0] = 'X';
    LWP_DispatchProcess();
    fprintf(stderr, "big %d\n", big[0]);
}

Test(stack_guard, fault_with_stack_pointer_below_the_stack, .timeout = 30)
{
    struct pair_run r;

    protect_victim = 1;
    pair_in_child(frame_into_victim, LWP_SOABORT, &r);
}

Test(stack_guard, switch_with_stack_pointer_below_the_stack, .timeout = 30)
{
    struct pair_run r;

    pair_in_child(frame_into_victim, LWP_SOMESSAGE, &r);
    cr_assert(!SAID(r.buf, "deep-returned"), "destroyed there: %s", r.buf);
    cr_assert(SAID(r.buf, "main-continues"), "got: %s", r.buf);
}

/* ---- The main LWP and the switch-time check ----
 *
 * The main LWP runs on the thread's own stack: the stack pointer check at
 * a switch must never take it for an overflow, and its magic word lies
 * below its stack, so that its switches take the fast path. */

static int pings;

static void ping(void *arg)
{
    for (int i = 0; i < 100; i++) {
        pings++;
        LWP_DispatchProcess();
    }
}

struct main_check {
    int init, below, pings;
};

static void *check_main(void *arg)
{
    struct main_check *c = arg;
    char *lo;

    c->init = LWP_Init(LWP_VERSION, 2, NULL);
    if (c->init != LWP_SUCCESS)
        return NULL;
    lo = lwp__rt->main_stack_top - lwp__rt->main_stack_size;
    c->below = (char *)lwp__rt->main->canary < lo;
    LWP_CreateProcess(ping, 0, 2, NULL, "ping", NULL);
    for (int i = 0; i < 200; i++)
        LWP_DispatchProcess();
    c->pings = pings;
    LWP_TerminateProcessSupport();
    return NULL;
}

static void expect_main_checked(const struct main_check *c)
{
    cr_assert_eq(c->init, LWP_SUCCESS);
    cr_assert_eq(c->pings, 100, "no switch was taken for an overflow");
    if (!lwpt_under_valgrind()) /* its heap and stacks lie elsewhere */
        cr_assert(c->below, "main LWP's word below its stack");
}

Test(stack_check, main_lwp_of_the_first_thread)
{
    struct main_check c = {0};

    check_main(&c);
    expect_main_checked(&c);
}

Test(stack_check, main_lwp_of_another_thread, .timeout = 30)
{
    struct main_check c = {0};
    pthread_t t;

    cr_assert_eq(pthread_create(&t, NULL, check_main, &c), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
    expect_main_checked(&c);
}

/* ---- The message names an unnamed LWP ---- */

static void unnamed_overflow(void *arg)
{
    fprintf(stderr, "me: (index %d, PROCESS %p)\n", LWP_Index(),
            (void *)LWP_ThisProcess());
    lwpt_recurse(0);
}

static void run_unnamed(void)
{
    LWP_Init(LWP_VERSION, 1, NULL);
    LWP_CreateProcess(unnamed_overflow, 32768, 2, NULL, NULL, NULL);
    _exit(3);
}

Test(overflow_message, unnamed_lwp_is_named_by_index_and_handle,
     .timeout = 30)
{
    char buf[4096], want[128];
    const char *me;
    int st;

    if (lwpt_under_valgrind())
        cr_skip_test("valgrind: see pair_in_child");
    st = lwpt_in_child(run_unnamed, buf, sizeof(buf));
    cr_assert(ABORTED(st), "status %#x: %s", st, buf);
    me = strstr(buf, "me: ");
    cr_assert_not_null(me, "got: %s", buf);
    snprintf(want, sizeof(want), "%.*s", (int)strcspn(me + 4, "\n"), me + 4);
    cr_assert(SAID(buf, "LWP (unnamed) overflowed its 32768-byte stack"),
              "got: %s", buf);
    cr_assert(SAID(strstr(buf, "overflowed"), want), "want %s, got: %s",
              want, buf);
    cr_assert(!SAID(buf, "LWP  overflowed"), "got: %s", buf);
}

/* An arena stack has no guard: while any LWP runs on one, every switch
 * reads the leaving LWP's magic word, so damage is reported at once. */
static void smash_then_switch(void *arg)
{
    *(volatile uint64_t *)my_stack_lo() = 0xdead;
    LWP_DispatchProcess();
    fprintf(stderr, "after-switch\n");
    (void)arg;
}

static void arena_word_child(void)
{
    lwp_overflowAction = LWP_SOMESSAGE;
    LWP_Init(LWP_VERSION, 1, NULL);
    lwp__stacks_use_arenas(lwp__rt);
    LWP_CreateProcess(smash_then_switch, 32768, 1, NULL, "smasher", NULL);
    LWP_DispatchProcess();
    LWP_DispatchProcess();
    fprintf(stderr, "main-continues\n");
    LWP_TerminateProcessSupport();
    _exit(0);
}

Test(arena_overflow, damaged_word_is_found_at_the_next_switch, .timeout = 30)
{
    lwpt_child_says_in_order(arena_word_child,
                             "LWP smasher overflowed its 32768-byte stack "
                             "(magic word at its low end damaged) (index",
                             "after-switch");
}
