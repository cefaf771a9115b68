/* SPDX-License-Identifier: MIT */
/* LWP core: exact scheduling orders, deadlock, work-time reports. */
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lwp_test.h"

#include <criterion/redirect.h>

static void yield_thrice(void *arg)
{
    for (int i = 0; i < 3; i++) {
        lwpt_note("%s%d", (const char *)arg, i);
        LWP_DispatchProcess();
    }
}

Test(lwp_sched, round_robin_within_a_priority, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    /* Children below main's priority do not run until main blocks. */
    static int done;
    lwpt_spawn(yield_thrice, 1, "a", "a");
    lwpt_spawn(yield_thrice, 1, "b", "b");
    lwpt_spawn(yield_thrice, 1, "c", "c");
    cr_assert_str_eq(lwpt_log, "");
    LWP_CreateProcess(lwpt_signal, 0, 0, &done,
                      "wake-main", NULL);
    LWP_WaitProcess(&done);
    cr_assert_str_eq(lwpt_log, "a0 b0 c0 a1 b1 c1 a2 b2 c2");
}

static void note_name(void *arg)
{
    lwpt_note("%s", LWP_Name());
}

Test(lwp_sched, strict_priority_highest_first, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    static int ev;

    lwpt_spawn(note_name, 0, NULL, "p0");
    lwpt_spawn(note_name, 2, NULL, "p2");
    lwpt_spawn(note_name, 1, NULL, "p1");
    lwpt_spawn(note_name, 2, NULL, "p2b");
    LWP_CreateProcess(lwpt_signal, 0, 0, &ev, "last", NULL);
    cr_assert_str_eq(lwpt_log, "");
    LWP_WaitProcess(&ev);
    cr_assert_str_eq(lwpt_log, "p2 p2b p1 p0");
}

Test(lwp_sched, creator_yields_to_equal_or_higher_priority,
     .init = lwpt_setup, .fini = lwpt_teardown)
{
    lwpt_note("m1");
    lwpt_spawn(note_name, LWP_NORMAL_PRIORITY, NULL, "eq");
    lwpt_note("m2");
    lwpt_spawn(note_name, LWP_MAX_PRIORITY, NULL, "hi");
    lwpt_note("m3");
    lwpt_spawn(note_name, 0, NULL, "lo");
    lwpt_note("m4");
    cr_assert_str_eq(lwpt_log, "m1 eq m2 hi m3 m4");
}

static void yield_once_each(void *arg)
{
    lwpt_note("%s", (const char *)arg);
    LWP_DispatchProcess();
    lwpt_note("%s'", (const char *)arg);
}

Test(lwp_sched, new_lwp_of_equal_priority_goes_behind_the_others,
     .init = lwpt_setup, .fini = lwpt_teardown)
{
    /* Queue [main x]; creating y appends it behind x and main yields, so x
     * runs before y, as in Coda's circular queues. */
    lwpt_spawn(yield_once_each, LWP_NORMAL_PRIORITY, "x", "x");
    lwpt_spawn(yield_once_each, LWP_NORMAL_PRIORITY, "y", "y");
    lwpt_note("main");
    LWP_DispatchProcess();
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "x x' y main y'");
}

static int wake_ev;

static void wait_then_note(void *arg)
{
    LWP_WaitProcess(&wake_ev);
    lwpt_note("%s", (const char *)arg);
}

static void wake_and_yield(void *arg)
{
    lwpt_note("s1");
    LWP_NoYieldSignal(&wake_ev);
    LWP_DispatchProcess();
    lwpt_note("s2");
}

static void note_low(void *arg);

Test(lwp_sched, woken_lwp_joins_the_tail, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    static int done;

    /* Queue 2 is [w s t]; w blocks, s wakes it while s runs: w must go
     * behind t, so after s yields t runs before w. */
    lwpt_spawn(wait_then_note, 2, "w", "w");
    lwpt_spawn(wake_and_yield, 2, NULL, "s");
    lwpt_spawn(note_low, 2, "t", "t");
    LWP_CreateProcess(lwpt_signal, 0, 0, &done, "wake-main", NULL);
    LWP_WaitProcess(&done);
    cr_assert_str_eq(lwpt_log, "s1 t w s2");
}

static void block_forever(void *arg)
{
    static int never;
    lwpt_note("hi-runs");
    LWP_WaitProcess(&never);
}

static void note_low(void *arg)
{
    lwpt_note("%s", (const char *)arg);
}

static void note_yield_note(void *arg)
{
    lwpt_note("z1");
    LWP_DispatchProcess();
    lwpt_note("z2");
}

Test(lwp_sched, preempted_creator_was_rotated, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    /* Coda quirk kept: any dispatch by the running LWP moves it behind the
     * others of its priority, even when a higher-priority LWP is what runs
     * next. So when that one blocks, z runs before main. */
    lwpt_spawn(note_yield_note, LWP_NORMAL_PRIORITY, NULL, "z");
    lwpt_spawn(block_forever, LWP_MAX_PRIORITY, NULL, "hi");
    lwpt_note("main-again");
    cr_assert_str_eq(lwpt_log, "z1 hi-runs z2 main-again");
}

Test(lwp_sched, dispatch_counts_context_switches, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    int before = Cont_Sws;

    LWP_DispatchProcess();
    LWP_DispatchProcess();
    cr_assert_eq(Cont_Sws, before + 2);
    cr_assert_eq(LWP_DispatchProcess(), LWP_SUCCESS, "alone: returns");
}

static int never_ev;

Test(lwp_sched, deadlock_is_reported_and_exits_1, .init = lwpt_setup,
     .exit_code = 1)
{
    cr_redirect_stdout();
    LWP_WaitProcess(&never_ev);
}

static void child_waits(void *arg)
{
    LWP_WaitProcess(&never_ev);
}

Test(lwp_sched, deadlock_message_names_the_waiters, .timeout = 30)
{
    int fds[2], status = 0;
    char buf[4096];
    size_t got = 0;
    ssize_t n;

    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        LWP_Init(LWP_VERSION, 1, NULL);
        LWP_CreateProcess(child_waits, 0, 4, NULL, "sleepy", NULL);
        LWP_WaitProcess(&never_ev);
        _exit(99);
    }
    close(fds[1]);
    while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    cr_assert_not_null(strstr(buf, "***LWP Abort: LWP_DispatchProcess: "
                                   "Possible deadlock, no runnable threads "
                                   "found"), "got: %s", buf);
    cr_assert_not_null(strstr(buf, "\"sleepy\""), "got: %s", buf);
    cr_assert_not_null(strstr(buf, "\"Main Process\""), "got: %s", buf);
    char evtext[32];
    snprintf(evtext, sizeof(evtext), "%p", (void *)&never_ev);
    cr_assert_not_null(strstr(buf, evtext), "the event is named: %s", buf);
}

static void busy_for_ms(void *arg)
{
    lwpt_spin_ms((long)(intptr_t)arg);
    LWP_DispatchProcess();
}

Test(lwp_sched, too_much_cpu_is_reported, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    cr_redirect_stderr();
    cont_sw_threshold.tv_sec = 0;
    cont_sw_threshold.tv_usec = 30000;
    LWP_DispatchProcess(); /* starts the clock */
    lwpt_spawn(busy_for_ms, LWP_MAX_PRIORITY, (void *)(intptr_t)100, "hog");
    timerclear(&cont_sw_threshold);
    fflush(stderr);
    char buf[4096];
    lwpt_slurp(cr_get_redirected_stderr(), buf, sizeof(buf));
    cr_assert_not_null(strstr(buf, "***LWP hog("), "got: %s", buf);
    cr_assert_not_null(strstr(buf, "took too much cpu"));
}

static int stamp_ev, stamp_runs;

static void wait_again(void *arg)
{
    (void)arg;
    for (;;) {
        LWP_WaitProcess(&stamp_ev);
        stamp_runs++;
    }
}

/* A run-wait stamp taken while run_wait_threshold was set but never read
 * (the threshold was cleared before the LWP ran) is dropped when the LWP
 * blocks: it is not reported much later, when the threshold is set again
 * and the LWP became runnable without a stamp. */
Test(lwp_sched, a_stale_run_wait_stamp_is_not_reported,
     .init = lwpt_setup, .fini = lwpt_teardown)
{
    cr_redirect_stderr();
    lwpt_spawn(wait_again, LWP_NORMAL_PRIORITY, NULL, "stale");
    run_wait_threshold.tv_usec = 20000;
    LWP_NoYieldSignal(&stamp_ev); /* stamped */
    timerclear(&run_wait_threshold);
    LWP_DispatchProcess(); /* runs with the stamp unread, blocks again */
    cr_assert_eq(stamp_runs, 1);
    lwpt_spin_ms(60);
    LWP_NoYieldSignal(&stamp_ev); /* runnable, no stamp */
    run_wait_threshold.tv_usec = 20000;
    LWP_DispatchProcess(); /* checked: only a stale stamp is 60 ms old */
    timerclear(&run_wait_threshold);
    cr_assert_eq(stamp_runs, 2);
    fflush(stderr);
    char buf[4096];
    lwpt_slurp(cr_get_redirected_stderr(), buf, sizeof(buf));
    cr_assert_null(strstr(buf, "run-wait too long"), "got: %s", buf);
}

Test(lwp_sched, run_wait_too_long_is_reported, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    cr_redirect_stderr();
    run_wait_threshold.tv_usec = 20000;
    /* "late" becomes runnable, then main hogs the CPU for 60 ms. */
    lwpt_spawn(note_low, 1, "late", "late");
    busy_for_ms((void *)(intptr_t)0);
    lwpt_spin_ms(60);
    static int ev;
    LWP_CreateProcess(lwpt_signal, 0, 0, &ev, "w",
                      NULL);
    LWP_WaitProcess(&ev);
    timerclear(&run_wait_threshold);
    fflush(stderr);
    char buf[4096];
    lwpt_slurp(cr_get_redirected_stderr(), buf, sizeof(buf));
    cr_assert_not_null(strstr(buf, "***LWP late("), "got: %s", buf);
    cr_assert_not_null(strstr(buf, "run-wait too long"));
}

Test(lwp_sched, trace_processes_prints_queues, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    cr_redirect_stdout();
    LWP_TraceProcesses = 1;
    lwpt_spawn(note_low, LWP_MAX_PRIORITY, "t", "traced-one");
    LWP_TraceProcesses = 0;
    fflush(stdout);
    char buf[4096];
    lwpt_slurp(cr_get_redirected_stdout(), buf, sizeof(buf));
    cr_assert_not_null(strstr(buf, "[Priority 4, runnable (1): \"traced-one\"]"),
                       "got: %s", buf);
    cr_assert_not_null(strstr(buf, "\"traced-one\""));
}
