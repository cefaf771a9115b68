/* SPDX-License-Identifier: MIT */
/*
 * IOMGR: Unix signals as LWP events, soft signals, IOMGR_Poll, the idle
 * loop and FastTime's approximate clock.
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "iomgr_test.h"

TestSuite(iomgr_signal, .init = iot_setup, .fini = iot_teardown,
          .timeout = 30);
TestSuite(iomgr_softsig, .init = iot_setup, .fini = iot_teardown,
          .timeout = 30);
TestSuite(iomgr_loop, .init = iot_setup, .fini = iot_teardown,
          .timeout = 30);

static char sig_event;

/* ---- IOMGR_Signal / IOMGR_CancelSignal ---- */

Test(iomgr_signal, bad_arguments)
{
    cr_assert_eq(IOMGR_Signal(0, &sig_event), LWP_EBADSIG);
    cr_assert_eq(IOMGR_Signal(-1, &sig_event), LWP_EBADSIG);
    cr_assert_eq(IOMGR_Signal(NSIG, &sig_event), LWP_EBADSIG);
    cr_assert_eq(IOMGR_Signal(SIGUSR1, NULL), LWP_EBADEVENT);
    cr_assert_eq(IOMGR_CancelSignal(0), LWP_EBADSIG);
    cr_assert_eq(IOMGR_CancelSignal(NSIG), LWP_EBADSIG);
    cr_assert_eq(IOMGR_CancelSignal(SIGUSR1), LWP_EBADSIG, "not handled");
}

/* As PRE_SetSignal: signals that cannot be caught, and those the kernel
 * raises for a fault of the running code. */
Test(iomgr_signal, uncatchable_and_fault_signals_are_ebadsig)
{
    int bad[] = {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sigaction before, after;

        cr_assert_eq(sigaction(bad[i], NULL, &before), 0);
        cr_assert_eq(IOMGR_Signal(bad[i], &sig_event), LWP_EBADSIG,
                     "signal %d", bad[i]);
        cr_assert_eq(sigaction(bad[i], NULL, &after), 0);
        cr_assert_eq((void *)after.sa_handler, (void *)before.sa_handler,
                     "signal %d: action untouched", bad[i]);
        cr_assert_eq(IOMGR_CancelSignal(bad[i]), LWP_EBADSIG);
    }
}

/* The child asks for SIGSEGV as an event, then faults: it must die of the
 * fault, not re-run the faulting store for ever behind a handler that
 * returns (the alarm ends such a spin). */
static void fault_after_asking_for_sigsegv(void)
{
    /* A page with no access, not NULL: UBSan would stop a NULL store
     * before the fault. */
    volatile int *page = mmap(NULL, 4096, PROT_NONE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    alarm(5);
    IOMGR_Signal(SIGSEGV, &sig_event);
    IOMGR_Poll();
    if (page != MAP_FAILED)
        *page = 1;
    _exit(0);
}

Test(iomgr_signal, a_real_fault_still_ends_the_program)
{
    iot_assert_fault_ends_child(fault_after_asking_for_sigsegv);
}

static void raise_usr1(void *arg)
{
    (void)arg;
    raise(SIGUSR1);
}

Test(iomgr_signal, signal_wakes_a_waiting_lwp)
{
    cr_assert_eq(IOMGR_Signal(SIGUSR1, &sig_event), LWP_SUCCESS);
    iot_spawn(raise_usr1, LWP_NORMAL_PRIORITY - 1, NULL);
    cr_assert_eq(LWP_WaitProcess(&sig_event), LWP_SUCCESS);
}

Test(iomgr_signal, alarm_wakes_main)
{
    cr_assert_eq(IOMGR_Signal(SIGALRM, &sig_event), LWP_SUCCESS);
    alarm(1);
    cr_assert_eq(LWP_WaitProcess(&sig_event), LWP_SUCCESS);
}

Test(iomgr_signal, raised_before_the_wait_is_not_lost)
{
    /* Delivery happens in the IO MANAGER, after the LWP waits: "check,
     * then wait" cannot miss it. */
    cr_assert_eq(IOMGR_Signal(SIGUSR2, &sig_event), LWP_SUCCESS);
    raise(SIGUSR2);
    cr_assert_eq(LWP_WaitProcess(&sig_event), LWP_SUCCESS);
}

Test(iomgr_signal, realtime_signals_work)
{
    int signo = SIGRTMIN + 3;

    cr_assert_eq(IOMGR_Signal(signo, &sig_event), LWP_SUCCESS);
    raise(signo);
    cr_assert_eq(LWP_WaitProcess(&sig_event), LWP_SUCCESS);
    cr_assert_eq(IOMGR_CancelSignal(signo), LWP_SUCCESS);
}

static int deliveries;

static void count_deliveries(void *arg)
{
    (void)arg;
    for (;;) {
        LWP_WaitProcess(&sig_event);
        deliveries++;
    }
}

Test(iomgr_signal, deliveries_between_passes_coalesce)
{
    struct timeval tv = {0, 50000};

    cr_assert_eq(IOMGR_Signal(SIGUSR1, &sig_event), LWP_SUCCESS);
    iot_spawn(count_deliveries, IOT_HIGH, NULL);
    raise(SIGUSR1);
    raise(SIGUSR1);
    raise(SIGUSR1);
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
    cr_assert_eq(deliveries, 1);
    raise(SIGUSR1);
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
    cr_assert_eq(deliveries, 2);
}

static volatile sig_atomic_t own_handler_ran;

static void own_handler(int signo)
{
    (void)signo;
    own_handler_ran = 1;
}

Test(iomgr_signal, cancel_restores_the_previous_action)
{
    struct sigaction sa, now;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = own_handler;
    cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    cr_assert_eq(IOMGR_Signal(SIGUSR1, &sig_event), LWP_SUCCESS);
    cr_assert_eq(IOMGR_CancelSignal(SIGUSR1), LWP_SUCCESS);
    cr_assert_eq(sigaction(SIGUSR1, NULL, &now), 0);
    cr_assert_eq((void *)now.sa_handler, (void *)own_handler);
    raise(SIGUSR1);
    cr_assert(own_handler_ran);
    cr_assert_eq(IOMGR_CancelSignal(SIGUSR1), LWP_EBADSIG, "twice");
}

Test(iomgr_signal, second_call_changes_the_event)
{
    static char other_event;

    cr_assert_eq(IOMGR_Signal(SIGUSR1, &sig_event), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Signal(SIGUSR1, &other_event), LWP_SUCCESS);
    raise(SIGUSR1);
    cr_assert_eq(LWP_WaitProcess(&other_event), LWP_SUCCESS);
}

Test(iomgr_signal, finalize_restores_actions)
{
    struct sigaction now;

    cr_assert_eq(IOMGR_Signal(SIGUSR1, &sig_event), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Finalize(), LWP_SUCCESS);
    cr_assert_eq(sigaction(SIGUSR1, NULL, &now), 0);
    cr_assert_eq((void *)now.sa_handler, (void *)SIG_DFL);
}

/* ---- IOMGR_SoftSig ---- */

static char softsig_log[256];
static int handlers_run;

static void soft_handler(void *arg)
{
    int prio = -1;

    LWP_GetProcessPriority(LWP_ThisProcess(), &prio);
    cr_assert_str_eq(LWP_Name(), "SignalHandler");
    cr_assert_eq(prio, LWP_NORMAL_PRIORITY);
    strncat(softsig_log, (char *)arg,
            sizeof(softsig_log) - strlen(softsig_log) - 1);
    handlers_run++;
}

Test(iomgr_softsig, four_slots_then_minus_one)
{
    cr_assert_eq(IOMGR_SoftSig(soft_handler, "a"), 0);
    cr_assert_eq(IOMGR_SoftSig(soft_handler, "b"), 0);
    cr_assert_eq(IOMGR_SoftSig(soft_handler, "c"), 0);
    cr_assert_eq(IOMGR_SoftSig(soft_handler, "d"), 0);
    cr_assert_eq(IOMGR_SoftSig(soft_handler, "e"), -1);
    IOT_WAIT_FOR(handlers_run == 4);
    cr_assert_eq(strlen(softsig_log), 4);
    cr_assert_eq(IOMGR_SoftSig(soft_handler, "f"), 0, "slots free again");
    IOT_WAIT_FOR(handlers_run == 5);
}

Test(iomgr_softsig, null_procedure_is_refused)
{
    cr_assert_eq(IOMGR_SoftSig(NULL, NULL), -1);
}

static void softsig_from_handler(int signo)
{
    (void)signo;
    IOMGR_SoftSig(soft_handler, "s");
}

Test(iomgr_softsig, callable_from_a_signal_handler)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = softsig_from_handler;
    cr_assert_eq(sigaction(SIGUSR2, &sa, NULL), 0);
    raise(SIGUSR2);
    IOT_WAIT_FOR(handlers_run == 1);
    cr_assert_str_eq(softsig_log, "s");
}

/* ---- IOMGR_Poll, the idle loop, FastTime ---- */

struct poll_waiter {
    int fd;
    int done;
};

static void wait_readable(void *arg)
{
    struct poll_waiter *w = arg;

    IOMGR_WaitIO(w->fd, IOMGR_READ, NULL);
    w->done = 1;
}

Test(iomgr_loop, poll_wakes_without_yielding)
{
    int fds[2];
    struct poll_waiter w = {0, 0};

    iot_pipe(fds);
    w.fd = fds[0];
    /* Same priority as main: made runnable, it still waits for a yield. */
    iot_spawn(wait_readable, LWP_NORMAL_PRIORITY, &w);
    LWP_DispatchProcess(); /* let it start and block */
    cr_assert_eq(IOMGR_Poll(), 0, "nothing ready");
    cr_assert_eq(write(fds[1], "x", 1), 1);
    cr_assert_neq(IOMGR_Poll(), 0);
    cr_assert_not(w.done, "Poll does not yield");
    LWP_DispatchProcess();
    cr_assert(w.done);
}

Test(iomgr_loop, idle_wait_uses_no_cpu)
{
    /* Coda's IOMGR spun for the whole second; a blocked loop costs almost
     * nothing. The bound is loose on purpose (sanitizers, valgrind): it
     * separates "blocks" from "spins", it is not a benchmark. */
    double cpu0 = iot_cpu();

    cr_assert_eq(IOMGR_Signal(SIGALRM, &sig_event), LWP_SUCCESS);
    alarm(1);
    cr_assert_eq(LWP_WaitProcess(&sig_event), LWP_SUCCESS);
    cr_assert_lt(iot_cpu() - cpu0, 0.3, "cpu %.3f s", iot_cpu() - cpu0);
}

Test(iomgr_loop, approximate_clock_follows_the_loop)
{
    struct timeval now, tv = {0, 20000};

    FT_LastTime.tv_sec = 1;
    FT_LastTime.tv_usec = 0;
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
    gettimeofday(&now, NULL);
    cr_assert_geq(FT_ApproxTime(), (unsigned int)now.tv_sec - 2);
}

static int low_ran;

static void low_priority_worker(void *arg)
{
    (void)arg;
    low_ran++;
}

Test(iomgr_loop, priority_zero_lwps_share_the_cpu_with_the_manager)
{
    /* Long enough that the timeout cannot expire before the first loop
     * pass even under valgrind, which would make main runnable first. */
    struct timeval tv = {0, 100000};

    iot_spawn(low_priority_worker, 0, NULL);
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
    cr_assert_eq(low_ran, 1);
}
