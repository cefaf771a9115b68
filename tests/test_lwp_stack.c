/* SPDX-License-Identifier: MIT */
/* LWP core: stacks, stack use, overflow, protection, and scale. */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lwp/lwp_internal.h"
#include "lwp_test.h"

static __attribute__((noinline)) void touch_bytes(size_t n)
{
    volatile char buf[16384];

    for (size_t i = 0; i < n && i < sizeof(buf); i += 64)
        buf[i] = 1;
}

static void use_and_park(void *arg)
{
    static int never;

    /* Only call touch_bytes when asked, and never inline it: its frame
     * alone is 16 KiB deep, and sanitizers write a frame header at its
     * bottom even when the buffer stays untouched (an optimised ASan build
     * inlined it, and every LWP here then used 19 KiB). */
    if (arg)
        touch_bytes((size_t)(uintptr_t)arg);
    LWP_WaitProcess(&never);
}

Test(lwp_stack, used_reports_the_high_water_mark, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    PROCESS p;
    int max = 0, used = 0;

    cr_assert_eq(LWP_CreateProcess(use_and_park, 65536, LWP_MAX_PRIORITY,
                                   (void *)(uintptr_t)16000, "user", &p),
                 LWP_SUCCESS);
    cr_assert_eq(LWP_StackUsed(p, &max, &used), LWP_SUCCESS);
    cr_assert_eq(max, 65536);
    cr_assert_geq(used, 16000);
    cr_assert_lt(used, 32768);
}

Test(lwp_stack, reused_stack_is_measured_afresh, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    PROCESS big, small;
    int max, used;

    cr_assert_eq(LWP_CreateProcess(use_and_park, 65536, LWP_MAX_PRIORITY,
                                   (void *)(uintptr_t)16000, "big", &big),
                 LWP_SUCCESS);
    cr_assert_eq(LWP_DestroyProcess(big), LWP_SUCCESS);
    cr_assert_eq(LWP_CreateProcess(use_and_park, 65536, LWP_MAX_PRIORITY,
                                   (void *)(uintptr_t)0, "small", &small),
                 LWP_SUCCESS);
    cr_assert_eq(LWP_StackUsed(small, &max, &used), LWP_SUCCESS);
    cr_assert_lt(used, 4096, "dirt of the previous user was cleaned (%d)",
                 used);
}

Test(lwp_stack, counting_off_gives_no_stack, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    PROCESS p;
    int max = 0, used = -1;

    lwp_stackUseEnabled = 0;
    cr_assert_eq(LWP_CreateProcess(use_and_park, 40000, LWP_MAX_PRIORITY,
                                   NULL, "uncounted", &p),
                 LWP_SUCCESS);
    lwp_stackUseEnabled = 1;
    cr_assert_eq(LWP_StackUsed(p, &max, &used), LWP_NO_STACK);
    cr_assert_eq(max, 40960);
    cr_assert_eq(used, 0);
}

Test(lwp_stack, uncounted_stack_reused_by_counted_lwp, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    PROCESS a, b;
    int max, used;

    lwp_stackUseEnabled = 0;
    LWP_CreateProcess(use_and_park, 65536, 4, (void *)(uintptr_t)16000, "a",
                      &a);
    LWP_DestroyProcess(a);
    lwp_stackUseEnabled = 1;
    LWP_CreateProcess(use_and_park, 65536, 4, NULL, "b", &b);
    cr_assert_eq(LWP_StackUsed(b, &max, &used), LWP_SUCCESS);
    cr_assert_lt(used, 4096, "fully cleaned: %d", used);
}

Test(lwp_stack, main_lwp_has_a_sensible_answer, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    int max = 0, used = 0;

    cr_assert_eq(LWP_StackUsed(LWP_ThisProcess(), &max, &used), LWP_SUCCESS);
    cr_assert_gt(max, 0);
    cr_assert_gt(used, 0);
    cr_assert_lt(used, max);
}

/* ---- Overflow ---- */

static void overflow(void *arg)
{
    lwpt_note("deep-start");
    lwpt_recurse(0);
}

static int child_action;

static void run_overflow_child(void)
{
    int action = child_action;

    lwp_overflowAction = action;
    LWP_Init(LWP_VERSION, 1, NULL);
    LWP_CreateProcess(overflow, 32768, 2, NULL, "deep", NULL);
    if (action != LWP_SOABORT) {
        /* The overflowing LWP was destroyed; we go on. */
        LWP_CreateProcess(overflow, 32768, 2, NULL, "deeper", NULL);
        fprintf(stderr, "main-continues\n");
        LWP_TerminateProcessSupport();
        _exit(0);
    }
    _exit(3);
}

static int overflow_in_child(int action, char *buf, size_t cap)
{
    if (lwpt_under_valgrind())
        cr_skip_test("valgrind does not deliver guard-page faults on the "
                     "alternate stack the way the kernel does");
    child_action = action;
    return lwpt_in_child(run_overflow_child, buf, cap);
}

Test(lwp_overflow, guard_page_hit_aborts_with_message, .timeout = 30)
{
    char buf[4096];
    int status = overflow_in_child(LWP_SOABORT, buf, sizeof(buf));

    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
              "status %#x", status);
    cr_assert_not_null(strstr(buf, "LWP deep overflowed its 32768-byte stack"),
                       "got: %s", buf);
}

Test(lwp_overflow, aborts_in_process, .signal = SIGABRT, .timeout = 30)
{
    if (lwpt_under_valgrind())
        abort(); /* see overflow_in_child */
    LWP_Init(LWP_VERSION, 1, NULL);
    LWP_CreateProcess(overflow, 0, 2, NULL, "deep", NULL);
}

Test(lwp_overflow, somessage_destroys_the_lwp_and_goes_on, .timeout = 30)
{
    char buf[4096];
    int status = overflow_in_child(LWP_SOMESSAGE, buf, sizeof(buf));

    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x",
              status);
    char *first = strstr(buf, "LWP deep overflowed its 32768-byte stack");
    cr_assert_not_null(first, "got: %s", buf);
    cr_assert_null(strstr(buf, "LWP deeper overflowed"),
                   "only the first is reported: %s", buf);
    cr_assert_not_null(strstr(buf, "main-continues"));
}

Test(lwp_overflow, soquiet_says_nothing, .timeout = 30)
{
    char buf[4096];
    int status = overflow_in_child(LWP_SOQUIET, buf, sizeof(buf));

    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_null(strstr(buf, "overflowed"), "got: %s", buf);
    cr_assert_not_null(strstr(buf, "main-continues"));
}

static void smash_canary_only(void)
{
    struct lwp_pcb *self = lwp__rt->current;
    *(volatile uint32_t *)self->stack_lo = 0xdead;
}

static void smash_canary(void *arg)
{
    smash_canary_only();
    LWP_DispatchProcess();
    lwpt_note("survived");
}

Test(lwp_overflow, damaged_magic_word_aborts, .init = lwpt_setup,
     .signal = SIGABRT)
{
    lwpt_spawn(smash_canary, LWP_MAX_PRIORITY, NULL, "smasher");
}

Test(lwp_overflow, damaged_magic_word_message_then_continue,
     .init = lwpt_setup, .fini = lwpt_teardown)
{
    lwp_overflowAction = LWP_SOQUIET;
    lwpt_spawn(smash_canary, LWP_MAX_PRIORITY, NULL, "smasher");
    cr_assert_str_eq(lwpt_log, "survived");
}

/* A guarded stack's word is not read at switches (its page is another
 * page per LWP): damaged, it is reported when the LWP ends or is
 * recycled, after anything it did meanwhile. */
static void smash_then_say(void *arg)
{
    smash_canary_only();
    LWP_DispatchProcess();
    fprintf(stderr, "%s\n", (const char *)arg);
}

static void guarded_word_child(void)
{
    lwp_overflowAction = LWP_SOMESSAGE;
    LWP_Init(LWP_VERSION, 1, NULL);
    LWP_CreateProcess(smash_then_say, 32768, LWP_MAX_PRIORITY,
                      (void *)"switched-and-went-on", "smasher", NULL);
    fprintf(stderr, "main-continues\n");
    LWP_TerminateProcessSupport();
    _exit(0);
}

Test(lwp_overflow, damaged_word_of_a_guarded_stack_is_reported_when_it_ends,
     .timeout = 30)
{
    lwpt_child_says_in_order(guarded_word_child, "switched-and-went-on",
                             "LWP smasher overflowed its 32768-byte stack "
                             "(magic word at its low end damaged, found when "
                             "it ended)");
}

static PROCESS recycled;
static int smasher_wakes;

static void smash_then_wait(void *arg)
{
    smash_canary_only();
    fprintf(stderr, "%s\n", (const char *)arg);
    LWP_WaitProcess(&smasher_wakes);
}

static void recycle_smasher_child(void)
{
    lwp_overflowAction = LWP_SOMESSAGE;
    LWP_Init(LWP_VERSION, 1, NULL);
    LWP_CreateProcess(smash_then_wait, 32768, 1, (void *)"first-run",
                      "smasher", &recycled);
    LWP_DispatchProcess(); /* it damages its word and waits */
    fprintf(stderr, "recycling\n");
    LWP_RecycleProcess(recycled, smash_then_wait, (void *)"second-run");
    fprintf(stderr, "main-continues\n");
    _exit(0);
}

Test(lwp_overflow, damaged_word_is_reported_when_the_lwp_is_recycled,
     .timeout = 30)
{
    lwpt_child_says_in_order(recycle_smasher_child, "recycling",
                             "damaged, found when it was recycled)");
}

/* What a switch reads of a guarded stack: nothing at its low end. The
 * page holding the word is made inaccessible while two LWPs hand over to
 * each other; a read of it there would fault. */
static volatile int handovers;

static void hand_over(void *arg)
{
    for (int i = 0; i < 100; i++) {
        handovers++;
        LWP_DispatchProcess();
    }
    (void)arg;
}

Test(lwp_overflow, switches_read_nothing_at_a_guarded_stacks_low_end,
     .init = lwpt_setup, .fini = lwpt_teardown)
{
    PROCESS a, b;
    struct lwp_pcb *pa, *pb;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    cr_assert_eq(LWP_CreateProcess(hand_over, 65536, LWP_NORMAL_PRIORITY, NULL,
                                   "a", &a),
                 LWP_SUCCESS);
    cr_assert_eq(LWP_CreateProcess(hand_over, 65536, LWP_NORMAL_PRIORITY, NULL,
                                   "b", &b),
                 LWP_SUCCESS);
    pa = lwp__pcb_lookup(lwp__rt, a);
    pb = lwp__pcb_lookup(lwp__rt, b);
    cr_assert(pa && pb && !pa->arena && !pb->arena);
    cr_assert_eq(mprotect(pa->stack_lo, page, PROT_NONE), 0);
    cr_assert_eq(mprotect(pb->stack_lo, page, PROT_NONE), 0);
    while (handovers < 150)
        LWP_DispatchProcess();
    cr_assert_eq(mprotect(pa->stack_lo, page, PROT_READ | PROT_WRITE), 0);
    cr_assert_eq(mprotect(pb->stack_lo, page, PROT_READ | PROT_WRITE), 0);
    while (handovers < 200)
        LWP_DispatchProcess();
}

/* Under AddressSanitizer its own SIGSEGV handler, to which ours chains,
 * reports the fault and exits with status 1. */
#ifdef LWP_ASAN
#define FAULT_ENDS .exit_code = 1
#else
#define FAULT_ENDS .signal = SIGSEGV
#endif

Test(lwp_overflow, other_faults_still_crash, FAULT_ENDS, .init = lwpt_setup)
{
    static volatile uintptr_t bad_address = 16;
    *(volatile int *)bad_address = 1;
}

/* ---- ProtectStacks ---- */

static volatile char *published;

static void publish_local(void *arg)
{
    volatile char local = 42;
    published = &local;
    for (;;)
        LWP_DispatchProcess();
}

Test(lwp_protect, switching_still_works, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    lwpt_spawn(publish_local, LWP_NORMAL_PRIORITY, NULL, "peer");
    LWP_ProtectStacks();
    for (int i = 0; i < 100; i++)
        LWP_DispatchProcess();
    lwpt_spawn(publish_local, LWP_NORMAL_PRIORITY, NULL, "new-peer");
    LWP_DispatchProcess();
    int max, used;
    PROCESS peer;
    LWP_CreateProcess(publish_local, 0, LWP_NORMAL_PRIORITY, NULL, "p3",
                      &peer);
    cr_assert_eq(LWP_StackUsed(peer, &max, &used), LWP_SUCCESS,
                 "works on protected stacks");
    LWP_UnProtectStacks();
    cr_assert_eq(*published, 42);
}

Test(lwp_protect, stray_access_to_another_stack_faults, .init = lwpt_setup,
     FAULT_ENDS)
{
    lwpt_spawn(publish_local, LWP_NORMAL_PRIORITY, NULL, "peer");
    cr_assert_eq(*published, 42);
    LWP_ProtectStacks();
    (void)*published;
}

/* ---- Scale ---- */

static int ran;

static void count_and_exit(void *arg)
{
    ran++;
}

static void count_and_park(void *arg)
{
    ran++;
    static int never;
    LWP_WaitProcess(&never);
}

Test(lwp_scale, hundred_thousand_lwps, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 120)
{
    enum { MAXN = 100000 };
    static PROCESS pids[MAXN];
    int N = lwpt_under_valgrind() ? 2000 : MAXN;
    int prio;

    /* Created and run one at a time. */
    ran = 0;
    for (int i = 0; i < N; i++)
        cr_assert_eq(LWP_CreateProcess(count_and_exit, 0, LWP_MAX_PRIORITY,
                                       NULL, "short", &pids[i]),
                     LWP_SUCCESS);
    cr_assert_eq(ran, N);
    /* All alive at once, then destroyed by the main LWP. */
    ran = 0;
    lwp_stackUseEnabled = 0;
    for (int i = 0; i < N; i++) {
        int rc = LWP_CreateProcess(count_and_park, 0, LWP_MAX_PRIORITY, NULL,
                                   "parked", &pids[i]);
        cr_assert_eq(rc, LWP_SUCCESS, "LWP %d: %s", i, LWP_StrError(rc));
    }
    cr_assert_eq(ran, N);
    for (int i = 0; i < N; i++)
        cr_assert_eq(LWP_DestroyProcess(pids[i]), LWP_SUCCESS);
    cr_assert_eq(LWP_GetProcessPriority(pids[N / 2], &prio), LWP_EBADPID);
}
