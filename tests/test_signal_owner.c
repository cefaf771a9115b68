/* SPDX-License-Identifier: MIT */
/*
 * One owner per Unix signal: IOMGR_Signal and preemption each refuse the
 * signal the other has (LWP_ESIGBUSY), in either order, and neither
 * touches the other's action.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include <lwp/iomgr.h>
#include <lwp/lwp.h>
#include <lwp/preempt.h>

#include "iomgr_test.h"

#define PRIO_MAIN 4
#define PRIO_HOG 3

static const struct timeval one_ms = {0, 1000};
static char sig_event;

static void init_both(void)
{
    PROCESS me;

    cr_assert_eq(LWP_Init(LWP_VERSION, PRIO_MAIN, &me), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
}

TestSuite(signal_owner, .init = init_both, .fini = iot_teardown,
          .timeout = 20);

static int preempt_handler_on(int signo)
{
    struct sigaction sa;

    cr_assert_eq(sigaction(signo, NULL, &sa), 0);
    return (sa.sa_flags & SA_SIGINFO) != 0 && sa.sa_handler != SIG_DFL;
}

/* IOMGR still turns signo into sig_event. */
static void iomgr_delivers(int signo)
{
    raise(signo);
    cr_assert_eq(LWP_WaitProcess(&sig_event), LWP_SUCCESS);
}

/* ---- Preemption demonstrably on: two CPU-bound LWPs both run ---- */

#define NHOGS 2

/* Without preemption the first hog runs to the end and the second never
 * counts. */
static void assert_preemption_works(void)
{
    lwpt_run_hogs(NHOGS, PRIO_HOG, 0.15);
    for (int i = 0; i < NHOGS; i++)
        cr_assert_gt(lwpt_hog_count(i), 0, "hog %d never ran: no preemption",
                     i);
}

/* ---- Preemption first ---- */

Test(signal_owner, iomgr_signal_refuses_the_preemption_signal)
{
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Signal(SIGALRM, &sig_event), LWP_ESIGBUSY);
    cr_assert(preempt_handler_on(SIGALRM), "preemption's handler stays");
    assert_preemption_works();
}

Test(signal_owner, iomgr_cancel_of_the_preemption_signal_touches_nothing)
{
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_SUCCESS);
    cr_assert_eq(IOMGR_CancelSignal(SIGALRM), LWP_EBADSIG);
    cr_assert(preempt_handler_on(SIGALRM));
    assert_preemption_works();
}

Test(signal_owner, moving_or_ending_preemption_frees_its_signal)
{
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_SUCCESS);
    cr_assert_eq(PRE_SetSignal(SIGUSR2), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Signal(SIGUSR2, &sig_event), LWP_ESIGBUSY);
    cr_assert_eq(IOMGR_Signal(SIGALRM, &sig_event), LWP_SUCCESS, "freed");
    iomgr_delivers(SIGALRM);
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Signal(SIGUSR2, &sig_event), LWP_SUCCESS, "freed");
    iomgr_delivers(SIGUSR2);
}

/* ---- IOMGR_Signal first ---- */

Test(signal_owner, preemption_refuses_a_signal_iomgr_delivers)
{
    cr_assert_eq(IOMGR_Signal(SIGALRM, &sig_event), LWP_SUCCESS);
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_ESIGBUSY);
    cr_assert_eq(PRE_Preemptions(), 0);
    iomgr_delivers(SIGALRM);
    cr_assert_eq(IOMGR_CancelSignal(SIGALRM), LWP_SUCCESS);
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_SUCCESS,
                 "free again once cancelled");
    assert_preemption_works();
}

/* The sequence: had preemption taken SIGALRM over, the cancel
 * would restore SIG_DFL under a live timer and its next tick would kill
 * the process. */
Test(signal_owner, cancel_after_a_refused_takeover_leaves_the_process_alive)
{
    cr_assert_eq(IOMGR_Signal(SIGALRM, &sig_event), LWP_SUCCESS);
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_ESIGBUSY);
    cr_assert_eq(IOMGR_CancelSignal(SIGALRM), LWP_SUCCESS);
    /* 50 ms of CPU: many 1 ms ticks, had a timer been started. */
    for (double end = iot_cpu() + 0.05; iot_cpu() < end;)
        ;
}

Test(signal_owner, set_signal_refuses_a_signal_iomgr_delivers)
{
    cr_assert_eq(IOMGR_Signal(SIGUSR1, &sig_event), LWP_SUCCESS);
    cr_assert_eq(PRE_SetSignal(SIGUSR1), LWP_ESIGBUSY, "preemption off");
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_SUCCESS);
    cr_assert_eq(PRE_SetSignal(SIGUSR1), LWP_ESIGBUSY, "preemption on");
    cr_assert(preempt_handler_on(SIGALRM), "still preempting on SIGALRM");
    iomgr_delivers(SIGUSR1);
    assert_preemption_works();
}

Test(signal_owner, finalize_frees_iomgr_signals)
{
    cr_assert_eq(IOMGR_Signal(SIGALRM, &sig_event), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Finalize(), LWP_SUCCESS);
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_SUCCESS);
    cr_assert(preempt_handler_on(SIGALRM));
}
