/* SPDX-License-Identifier: MIT */
/* LWP core: events (Wait, Mwait, Signal) and QWait/QSignal. */
#include <stdint.h>

#include "lwp_test.h"

static int ev_a, ev_b, ev_c;

static void wait_a_note(void *arg)
{
    int rc = LWP_WaitProcess(&ev_a);
    lwpt_note("%s:%d", (const char *)arg, rc);
}

Test(lwp_event, signal_wakes_a_waiter, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    lwpt_spawn(wait_a_note, LWP_MAX_PRIORITY, "w", "w");
    cr_assert_str_eq(lwpt_log, "");
    cr_assert_eq(LWP_SignalProcess(&ev_a), LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "w:0", "higher priority waiter ran at once");
}

Test(lwp_event, signal_without_waiter_is_lost, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    cr_assert_eq(LWP_SignalProcess(&ev_a), LWP_ENOWAIT);
    cr_assert_eq(LWP_NoYieldSignal(&ev_a), LWP_ENOWAIT);
    lwpt_spawn(wait_a_note, LWP_MAX_PRIORITY, "w", "w");
    cr_assert_str_eq(lwpt_log, "", "earlier signals were not queued");
    LWP_SignalProcess(&ev_a);
    cr_assert_str_eq(lwpt_log, "w:0");
}

Test(lwp_event, null_event_is_rejected, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    int before = Cont_Sws;

    cr_assert_eq(LWP_WaitProcess(NULL), LWP_EBADEVENT);
    cr_assert_eq(LWP_SignalProcess(NULL), LWP_EBADEVENT);
    cr_assert_eq(LWP_NoYieldSignal(NULL), LWP_EBADEVENT);
    cr_assert_eq(LWP_INTERNALSIGNAL(NULL, 1), LWP_EBADEVENT);
    cr_assert_eq(Cont_Sws, before, "errors do not dispatch");
}

Test(lwp_event, waiters_wake_in_the_order_they_blocked, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    static const char *names[] = {"w1", "w2", "w3", "w4", "w5"};

    /* Different priorities must not matter to the order they are made
     * runnable; equal priorities show it as running order. */
    for (int i = 0; i < 5; i++)
        lwpt_spawn(wait_a_note, LWP_MAX_PRIORITY, (void *)names[i],
                   names[i]);
    cr_assert_eq(LWP_SignalProcess(&ev_a), LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "w1:0 w2:0 w3:0 w4:0 w5:0");
}

Test(lwp_event, no_yield_signal_keeps_the_cpu, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    lwpt_spawn(wait_a_note, LWP_MAX_PRIORITY, "w", "w");
    cr_assert_eq(LWP_NoYieldSignal(&ev_a), LWP_SUCCESS);
    lwpt_note("still-main");
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "still-main w:0");
}

static void two_steps(void *arg)
{
    lwpt_note("%s1", (const char *)arg);
    LWP_DispatchProcess();
    lwpt_note("%s2", (const char *)arg);
}

Test(lwp_event, signal_yields_even_without_waiters, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    lwpt_spawn(two_steps, LWP_NORMAL_PRIORITY, "z", "z");
    cr_assert_str_eq(lwpt_log, "z1");
    cr_assert_eq(LWP_SignalProcess(&ev_b), LWP_ENOWAIT);
    lwpt_note("main");
    cr_assert_str_eq(lwpt_log, "z1 z2 main");
}

static void mwait_ab(void *arg)
{
    const void *list[] = {&ev_a, &ev_b, NULL};
    int rc = LWP_MwaitProcess(2, list);
    lwpt_note("mw:%d", rc);
}

Test(lwp_event, mwait_counts_distinct_entries, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    lwpt_spawn(mwait_ab, LWP_MAX_PRIORITY, NULL, "mw");
    cr_assert_eq(LWP_SignalProcess(&ev_a), LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "", "one of two");
    cr_assert_eq(LWP_SignalProcess(&ev_a), LWP_ENOWAIT,
                 "an entry counts once");
    cr_assert_str_eq(lwpt_log, "");
    cr_assert_eq(LWP_SignalProcess(&ev_b), LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "mw:0");
}

static void mwait_aa(void *arg)
{
    const void *list[] = {&ev_a, &ev_a, &ev_c, NULL};
    lwpt_note("aa:%d", LWP_MwaitProcess(2, list));
}

Test(lwp_event, one_signal_matches_every_equal_entry, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    lwpt_spawn(mwait_aa, LWP_MAX_PRIORITY, NULL, "aa");
    cr_assert_eq(LWP_SignalProcess(&ev_a), LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "aa:0");
    cr_assert_eq(LWP_SignalProcess(&ev_c), LWP_ENOWAIT,
                 "the other entries were dropped on wake-up");
}

static void mwait_one_of_three(void *arg)
{
    const void *list[] = {&ev_a, &ev_b, &ev_c, NULL};
    lwpt_note("%s:%d", (const char *)arg, LWP_MwaitProcess(1, list));
}

Test(lwp_event, mwait_any_and_fifo_across_lists, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    lwpt_spawn(mwait_one_of_three, LWP_MAX_PRIORITY, "m1", "m1");
    lwpt_spawn(wait_a_note, LWP_MAX_PRIORITY, "w", "w");
    lwpt_spawn(mwait_one_of_three, LWP_MAX_PRIORITY, "m2", "m2");
    cr_assert_eq(LWP_SignalProcess(&ev_b), LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "m1:0 m2:0");
    cr_assert_eq(LWP_SignalProcess(&ev_a), LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "m1:0 m2:0 w:0");
    cr_assert_eq(LWP_SignalProcess(&ev_c), LWP_ENOWAIT);
}

Test(lwp_event, mwait_errors, .init = lwpt_setup, .fini = lwpt_teardown)
{
    const void *empty[] = {NULL};
    const void *two[] = {&ev_a, &ev_b, NULL};
    int before = Cont_Sws;

    cr_assert_eq(LWP_MwaitProcess(1, NULL), LWP_EBADCOUNT);
    cr_assert_eq(LWP_MwaitProcess(1, empty), LWP_EBADCOUNT);
    cr_assert_eq(LWP_MwaitProcess(-1, two), LWP_EBADCOUNT);
    cr_assert_eq(LWP_MwaitProcess(3, two), LWP_EBADCOUNT);
    cr_assert_eq(Cont_Sws, before);
    cr_assert_eq(LWP_NoYieldSignal(&ev_a), LWP_ENOWAIT, "nothing linked");
}

Test(lwp_event, mwait_errors_before_init)
{
    const void *two[] = {&ev_a, &ev_b, NULL};
    cr_assert_eq(LWP_MwaitProcess(1, NULL), LWP_EBADCOUNT,
                 "checked before the init check, as Coda");
    cr_assert_eq(LWP_MwaitProcess(3, two), LWP_EINIT);
}

Test(lwp_event, mwait_zero_yields_without_blocking, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    const void *list[] = {&ev_a, NULL};

    lwpt_spawn(two_steps, LWP_NORMAL_PRIORITY, "z", "z");
    cr_assert_eq(LWP_MwaitProcess(0, list), LWP_SUCCESS);
    lwpt_note("main");
    cr_assert_str_eq(lwpt_log, "z1 z2 main", "it yielded once");
    cr_assert_eq(LWP_NoYieldSignal(&ev_a), LWP_ENOWAIT,
                 "wcount 0 leaves no waiter behind");
}

static char long_list_events[11];

static void many_events_waiter(void *arg)
{
    const void *list[12];

    for (int i = 0; i < 11; i++)
        list[i] = &long_list_events[i];
    list[11] = NULL;
    lwpt_note("big:%d", LWP_MwaitProcess(11, list));
}

Test(lwp_event, mwait_with_a_long_list, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    lwpt_spawn(many_events_waiter, LWP_MAX_PRIORITY, NULL, "big");
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(LWP_SignalProcess(&long_list_events[i]), LWP_SUCCESS);
        cr_assert_str_eq(lwpt_log, "", "after %d of 11", i + 1);
    }
    cr_assert_eq(LWP_SignalProcess(&long_list_events[10]), LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "big:0");
    for (int i = 0; i < 11; i++)
        cr_assert_eq(LWP_NoYieldSignal(&long_list_events[i]), LWP_ENOWAIT);
}

static int woken;

static void wait_forever(void *arg)
{
    LWP_WaitProcess(arg);
    woken++;
    lwpt_note("woke");
}

Test(lwp_event, destroying_a_waiter_unlinks_it, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    PROCESS w = lwpt_spawn(wait_forever, LWP_MAX_PRIORITY, &ev_a, "w");
    PROCESS keep = lwpt_spawn(wait_forever, LWP_MAX_PRIORITY, &ev_b, "k");

    cr_assert_eq(LWP_DestroyProcess(w), LWP_SUCCESS);
    cr_assert_eq(LWP_SignalProcess(&ev_a), LWP_ENOWAIT);
    cr_assert_eq(LWP_SignalProcess(&ev_b), LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "woke");
    (void)keep;
}

Test(lwp_event, signal_cost_does_not_depend_on_other_waiters,
     .init = lwpt_setup, .fini = lwpt_teardown, .timeout = 60)
{
    /* 20,000 LWPs block on distinct events; each is then woken by its own
     * signal. With a scan of all blocked LWPs this would be quadratic. */
    enum { MAXN = 20000 };
    static char events[MAXN];
    static PROCESS pids[MAXN];
    int N = lwpt_under_valgrind() ? 500 : MAXN;

    lwp_stackUseEnabled = 0;
    for (int i = 0; i < N; i++)
        cr_assert_eq(LWP_CreateProcess(wait_forever, 0, LWP_MAX_PRIORITY,
                                       &events[i], "w", &pids[i]),
                     LWP_SUCCESS);
    woken = 0;
    for (int i = N - 1; i >= 0; i--)
        cr_assert_eq(LWP_NoYieldSignal(&events[i]), LWP_SUCCESS);
    for (int i = 0; i < N; i++)
        cr_assert_eq(LWP_NoYieldSignal(&events[i]), LWP_ENOWAIT);
    cr_assert_eq(woken, 0, "NoYieldSignal let nobody run");
    LWP_DispatchProcess();
    cr_assert_eq(woken, N);
    int prio;
    for (int i = 0; i < N; i++)
        cr_assert_eq(LWP_GetProcessPriority(pids[i], &prio), LWP_EBADPID,
                     "all woke and exited");
}

/* ---- QWait / QSignal ---- */

static void qwaiter(void *arg)
{
    for (int i = 0; i < 3; i++) {
        int rc = LWP_QWait();
        lwpt_note("q%d:%d", i, rc);
    }
}

Test(lwp_qwait, signals_are_counted, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    PROCESS q = lwpt_spawn(qwaiter, 1, NULL, "q");

    /* q has not run yet (lower priority): both signals are remembered. */
    cr_assert_eq(LWP_QSignal(q), LWP_ENOWAIT);
    cr_assert_eq(LWP_QSignal(q), LWP_ENOWAIT);
    static int ev;
    LWP_CreateProcess(lwpt_signal, 0, 0, &ev, "back", NULL);
    LWP_WaitProcess(&ev);
    cr_assert_str_eq(lwpt_log, "q0:0 q1:0", "two pending, then blocked");
    cr_assert_eq(LWP_QSignal(q), LWP_SUCCESS, "blocked in QWait");
    cr_assert_str_eq(lwpt_log, "q0:0 q1:0", "QSignal does not yield");
    LWP_CreateProcess(lwpt_signal, 0, 0, &ev, "back", NULL);
    LWP_WaitProcess(&ev);
    cr_assert_str_eq(lwpt_log, "q0:0 q1:0 q2:0");
}

Test(lwp_qwait, own_pending_signal_returns_at_once, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    int before = Cont_Sws;

    cr_assert_eq(LWP_QSignal(LWP_ThisProcess()), LWP_ENOWAIT);
    cr_assert_eq(LWP_QWait(), LWP_SUCCESS);
    cr_assert_eq(Cont_Sws, before, "no dispatch when a signal is pending");
}

static void event_waiter_then_qwait(void *arg)
{
    LWP_WaitProcess(&ev_c);
    lwpt_note("ev");
    LWP_QWait();
    lwpt_note("q");
}

Test(lwp_qwait, qsignal_to_an_event_waiter_is_remembered,
     .init = lwpt_setup, .fini = lwpt_teardown)
{
    PROCESS p = lwpt_spawn(event_waiter_then_qwait, LWP_MAX_PRIORITY, NULL,
                           "p");

    cr_assert_eq(LWP_QSignal(p), LWP_ENOWAIT);
    cr_assert_str_eq(lwpt_log, "", "QSignal does not end an event wait");
    LWP_SignalProcess(&ev_c);
    cr_assert_str_eq(lwpt_log, "ev q");
}

Test(lwp_qwait, bad_handles, .init = lwpt_setup, .fini = lwpt_teardown)
{
    char fake[64];
    cr_assert_eq(LWP_QSignal(NULL), LWP_EBADPID);
    cr_assert_eq(LWP_QSignal((PROCESS)fake), LWP_EBADPID);
}
