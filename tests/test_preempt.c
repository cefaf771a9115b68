/* SPDX-License-Identifier: MIT */
/* Preempt: PRE_* and signal-driven preemption. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include <lwp/lock.h>
#include <lwp/lwp.h>
#include <lwp/preempt.h>

int lwpt_under_valgrind(void); /* support/valgrind_probe.c */

#include "iomgr_test.h"
#include "support/preempt_flood.h"

#define PRIO_HI 4
#define PRIO_WORK 3

static const struct timeval one_ms = {0, 1000};

static void init_main_at(int prio)
{
    PROCESS me;

    cr_assert_eq(LWP_Init(LWP_VERSION, prio, &me), LWP_SUCCESS);
}

static void init_main(void)
{
    init_main_at(PRIO_HI);
}

/* Burns CPU in this executable's own code for `seconds`. */
static void __attribute__((noinline)) spin_for(double seconds)
{
    double end = iot_now() + seconds;
    volatile unsigned long n = 0;

    while (iot_now() < end)
        for (int i = 0; i < 1000; i++)
            n++;
}

/* ---- Arguments and errors ---- */

Test(preempt, calls_before_lwp_init)
{
    struct timeval tv = {0, 1000};

    cr_assert_eq(PRE_InitPreempt(&tv), LWP_EINIT);
    cr_assert_eq(PRE_EndPreempt(), LWP_EINIT);
    PRE_PreemptMe(); /* harmless no-ops */
    PRE_BeginCritical();
    PRE_EndCritical();
    cr_assert_eq(PRE_SetSignal(SIGVTALRM), LWP_SUCCESS);
    cr_assert_eq(PRE_SetSignal(SIGALRM), LWP_SUCCESS);
}

Test(preempt, bad_slices_are_ebadarg)
{
    struct timeval neg_sec = {-1, 0}, neg_usec = {0, -1};
    struct timeval big_usec = {0, 1000000}, zero = {0, 0};

    init_main();
    cr_assert_eq(PRE_InitPreempt(&neg_sec), LWP_EBADARG);
    cr_assert_eq(PRE_InitPreempt(&neg_usec), LWP_EBADARG);
    cr_assert_eq(PRE_InitPreempt(&big_usec), LWP_EBADARG);
    cr_assert_eq(PRE_InitPreempt(&zero), LWP_EBADARG);
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS, "off: still a success");
}

Test(preempt, bad_signals_are_ebadsig)
{
    int bad[] = {0, -1, NSIG, SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL,
                 SIGFPE, SIGTRAP};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(PRE_SetSignal(bad[i]), LWP_EBADSIG, "signal %d", bad[i]);
}

Test(preempt, timer_that_cannot_be_created_is_esystem)
{
    struct rlimit none = {0, 0};

    init_main();
    /* A POSIX timer needs a queued-signal slot. */
    cr_assert_eq(setrlimit(RLIMIT_SIGPENDING, &none), 0);
    cr_assert_eq(PRE_InitPreempt(NULL), LWP_ESYSTEM);
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS);
}

Test(preempt, null_slice_is_the_ten_second_default_and_end_restores)
{
    struct sigaction sa;

    init_main();
    cr_assert_eq(PRE_InitPreempt(NULL), LWP_SUCCESS);
    cr_assert_eq(sigaction(SIGALRM, NULL, &sa), 0);
    cr_assert(sa.sa_flags & SA_SIGINFO, "handler installed");
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS);
    cr_assert_eq(sigaction(SIGALRM, NULL, &sa), 0);
    cr_assert_eq(sa.sa_handler, SIG_DFL, "previous action back");
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS, "twice is fine");
}

Test(preempt, terminate_stops_preemption)
{
    struct sigaction sa;

    init_main();
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_SUCCESS);
    cr_assert_eq(LWP_TerminateProcessSupport(), LWP_SUCCESS);
    cr_assert_eq(sigaction(SIGALRM, NULL, &sa), 0);
    cr_assert_eq(sa.sa_handler, SIG_DFL);
    spin_for(0.02); /* a tick now would find no runtime: nothing happens */
}

/* ---- Round robin among CPU-bound LWPs ---- */

#define NHOGS 3
static volatile unsigned long hog_count[NHOGS];
static volatile int hogs_stop;
static int hogs_left;
static char hogs_done;
static double hog_seconds;

static void hog(void *arg)
{
    int me = (int)(intptr_t)arg;
    double end = iot_now() + hog_seconds;

    PRE_PreemptMe();
    while (!hogs_stop) {
        hog_count[me]++;
        if ((hog_count[me] & 1023) == 0 && iot_now() > end)
            hogs_stop = 1;
    }
    if (--hogs_left == 0)
        LWP_NoYieldSignal(&hogs_done);
}

void lwpt_run_hogs(int n, int prio, double seconds)
{
    PROCESS p;

    cr_assert_leq(n, NHOGS);
    hog_seconds = seconds;
    hogs_left = n;
    hogs_stop = 0;
    for (int i = 0; i < n; i++) {
        hog_count[i] = 0;
        cr_assert_eq(LWP_CreateProcess(hog, 0, prio, (void *)(intptr_t)i,
                                       "hog", &p),
                     LWP_SUCCESS);
    }
    cr_assert_eq(LWP_WaitProcess(&hogs_done), LWP_SUCCESS);
}

unsigned long lwpt_hog_count(int i)
{
    return hog_count[i];
}

static void run_hogs(double seconds, int signo)
{
    cr_assert_eq(PRE_SetSignal(signo), LWP_SUCCESS);
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_SUCCESS);
    lwpt_run_hogs(NHOGS, PRIO_WORK, seconds);
}

Test(preempt, cpu_bound_lwps_of_one_priority_all_progress, .timeout = 20)
{
    init_main();
    run_hogs(0.3, SIGALRM);
    for (int i = 0; i < NHOGS; i++)
        cr_assert_gt(hog_count[i], 0, "hog %d never ran", i);
    cr_assert_geq(PRE_Preemptions(), NHOGS, "switches came from ticks");
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS);
}

Test(preempt, another_signal_can_be_chosen, .timeout = 20)
{
    struct sigaction sa;

    init_main();
    run_hogs(0.2, SIGRTMIN + 1);
    for (int i = 0; i < NHOGS; i++)
        cr_assert_gt(hog_count[i], 0);
    cr_assert_eq(sigaction(SIGALRM, NULL, &sa), 0);
    cr_assert_eq(sa.sa_handler, SIG_DFL, "SIGALRM untouched");
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS);
}

Test(preempt, init_again_changes_the_slice, .timeout = 20)
{
    struct timeval long_slice = {5, 0};

    init_main();
    cr_assert_eq(PRE_InitPreempt(&long_slice), LWP_SUCCESS);
    run_hogs(0.2, SIGALRM); /* its InitPreempt sets 1 ms on the live timer */
    for (int i = 0; i < NHOGS; i++)
        cr_assert_gt(hog_count[i], 0);
}

/* Shared-stack hogs: cut in a signal handler on the shared stack, each
 * one's live stack (signal frame included) is saved and put back. */
static volatile int bad_locals;

static void shared_hog(void *arg)
{
    int me = (int)(intptr_t)arg;
    volatile unsigned frame[128];
    double end = iot_now() + hog_seconds;

    for (unsigned i = 0; i < 128; i++)
        frame[i] = (unsigned)me * 7919u + i;
    PRE_PreemptMe();
    while (!hogs_stop) {
        hog_count[me]++;
        if ((hog_count[me] & 1023) == 0) {
            for (unsigned i = 0; i < 128; i++)
                bad_locals += frame[i] != (unsigned)me * 7919u + i;
            if (iot_now() > end)
                hogs_stop = 1;
        }
    }
    if (--hogs_left == 0)
        LWP_NoYieldSignal(&hogs_done);
}

Test(preempt, shared_stack_lwps_are_cut_and_resume_intact, .timeout = 20)
{
    struct lwp_attr a = LWP_ATTR_INIT;

    init_main();
    hog_seconds = 0.3;
    hogs_left = NHOGS;
    a.priority = PRIO_WORK;
    a.flags = LWP_CREATE_SHARED_STACK;
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_SUCCESS);
    for (int i = 0; i < NHOGS; i++)
        cr_assert_eq(LWP_CreateProcessAttr(&a, shared_hog,
                                           (void *)(intptr_t)i, NULL),
                     LWP_SUCCESS);
    cr_assert_eq(LWP_WaitProcess(&hogs_done), LWP_SUCCESS);
    for (int i = 0; i < NHOGS; i++)
        cr_assert_gt(hog_count[i], 0, "hog %d never ran", i);
    cr_assert_geq(PRE_Preemptions(), NHOGS, "switches came from ticks");
    cr_assert_eq(bad_locals, 0);
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS);
}

/* ---- What is never cut ---- */

static int order[8], norder;
static volatile int other_ran;

static void critical(void)
{
    PRE_PreemptMe();
    PRE_BeginCritical();
    PRE_BeginCritical();
    order[norder++] = 1;
    spin_for(0.05);
    PRE_EndCritical(); /* still inside the outer one */
    spin_for(0.05);
    cr_assert_eq(other_ran, 0, "cut inside a critical section");
    order[norder++] = 2;
    PRE_EndCritical();
    spin_for(0.1); /* preemptible again: the other LWP gets a turn */
    order[norder++] = 4;
}

static void plain_spinner(void)
{
    order[norder++] = 1;
    spin_for(0.1);
    order[norder++] = 2;
}

static char start_ev;
static void (*first_body)(void);

static void first(void *arg)
{
    (void)arg;
    LWP_WaitProcess(&start_ev);
    first_body();
}

static void other(void *arg)
{
    (void)arg;
    LWP_WaitProcess(&start_ev);
    order[norder++] = 3;
    other_ran = 1;
}

/* Runs body in one LWP and, beside it at the same priority, another that
 * notes 3 in order[] when it gets the CPU; one signal starts both, in the
 * order they waited. Returns once both are done: main is below them. */
static void run_beside_other(void (*body)(void))
{
    init_main_at(1);
    cr_assert_eq(PRE_InitPreempt((struct timeval *)&one_ms), LWP_SUCCESS);
    first_body = body;
    cr_assert_eq(LWP_CreateProcess(first, 0, PRIO_WORK, NULL, "first", NULL),
                 LWP_SUCCESS);
    cr_assert_eq(LWP_CreateProcess(other, 0, PRIO_WORK, NULL, "other", NULL),
                 LWP_SUCCESS);
    cr_assert_eq(LWP_SignalProcess(&start_ev), LWP_SUCCESS);
}

Test(preempt, critical_sections_nest_and_are_never_cut, .timeout = 20)
{
    run_beside_other(critical);
    cr_assert_eq(norder, 4);
    cr_assert_eq(order[0], 1);
    cr_assert_eq(order[1], 2);
    cr_assert_eq(order[2], 3, "cut once preemptible again");
    cr_assert_eq(order[3], 4);
    cr_assert_gt(PRE_Skipped(), 0, "ticks came during the critical section");
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS);
}

Test(preempt, new_lwps_start_not_preemptible, .timeout = 20)
{
    run_beside_other(plain_spinner);
    cr_assert_eq(norder, 3);
    cr_assert_eq(order[0], 1);
    cr_assert_eq(order[1], 2);
    cr_assert_eq(order[2], 3);
    cr_assert_gt(PRE_Skipped(), 0);
    cr_assert_eq(PRE_EndPreempt(), LWP_SUCCESS);
}

/* ---- The warning about configurations <lwp/preempt.h> calls unsafe ---- */

/* A sanitizer runtime that clang links into the executable (GCC's are
 * shared libraries, outside it): 1, 0, or -1 when not known here. */
#if defined(__clang__) && defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||  \
    __has_feature(memory_sanitizer)
#define SANITIZER_IN_EXE 1
#endif
#endif
#ifndef SANITIZER_IN_EXE
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) ||        \
    defined(__clang__)
#define SANITIZER_IN_EXE (-1) /* e.g. clang's UBSan alone: no macro says */
#else
#define SANITIZER_IN_EXE 0
#endif
#endif

/* Preemption started three times, once on a second runtime. */
static void start_preemption_thrice(void)
{
    struct timeval slice = {PRE_DEFAULT_SLICE_SEC, 0};
    PROCESS me;

    LWP_Init(LWP_VERSION, PRIO_HI, &me);
    PRE_InitPreempt(&slice);
    PRE_EndPreempt();
    PRE_InitPreempt(&slice);
    LWP_TerminateProcessSupport();
    LWP_Init(LWP_VERSION, PRIO_HI, &me);
    PRE_InitPreempt(&slice);
    _exit(0);
}

/* What the child wrote on stderr. */
static void child_stderr(void (*body)(void), char *buf, size_t cap)
{
    int fds[2], status = -1;
    size_t got = 0;
    ssize_t n;
    pid_t pid;

    cr_assert_eq(pipe(fds), 0);
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        body();
    }
    close(fds[1]);
    while ((n = read(fds[0], buf + got, cap - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fds[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", buf);
}

static int count_of(const char *haystack, const char *needle)
{
    int n = 0;

    for (const char *p = haystack; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

Test(preempt, unsafe_configuration_is_warned_once, .timeout = 20)
{
    static char out[16384];
    int warnings;

    child_stderr(start_preemption_thrice, out, sizeof(out));
    warnings = count_of(out, "***LWP warning: PRE_InitPreempt");
    if (SANITIZER_IN_EXE == 1) {
        cr_assert_eq(warnings, 1, "%s", out);
        cr_assert(strstr(out, "sanitizer runtime"), "%s", out);
    } else if (SANITIZER_IN_EXE == 0) {
        cr_assert_eq(warnings, 0, "dynamic link, no sanitizer: %s", out);
    } else {
        cr_assert_leq(warnings, 1, "%s", out);
    }
}

#if defined(PREEMPT_STATIC_PROBE) || defined(PREEMPT_FLOOD_STATIC)
/* What a program built beside this test wrote on stderr; it must exit 0. */
static const char *program_path;

static void exec_program(void)
{
    execl(program_path, program_path, (char *)NULL);
    _exit(127);
}

static void program_stderr(const char *path, char *buf, size_t cap)
{
    program_path = path;
    child_stderr(exec_program, buf, cap);
}
#endif

Test(preempt, static_link_is_warned_once, .timeout = 20)
{
#ifdef PREEMPT_STATIC_PROBE
    static char out[16384];

    /* Memcheck reports static glibc's own start-up (nothing intercepted
     * there) and fails the probe with its error exit code. */
    if (lwpt_under_valgrind())
        cr_skip_test("memcheck cannot follow a statically linked probe");
    program_stderr(PREEMPT_STATIC_PROBE, out, sizeof(out));
    cr_assert_eq(count_of(out, "***LWP warning: PRE_InitPreempt"), 1, "%s",
                 out);
    cr_assert(strstr(out, "statically linked"), "%s", out);
#else
    cr_skip_test("no static probe in a sanitizer build");
#endif
}

/* support/preempt_flood.c where libc is executable code: ticks land in
 * the copier's memcpy and realloc and in free and munmap after switches,
 * which must not cut (the sanitizer build runs the same flood with its
 * runtime in the executable: test_preempt_flood.c). */
Test(preempt, static_program_survives_a_tick_flood, .timeout = 60)
{
#ifdef PREEMPT_FLOOD_STATIC
    static char out[16384];

    if (lwpt_under_valgrind())
        cr_skip_test("memcheck cannot follow a statically linked probe");
    if (!lwpt_flood_possible())
        cr_skip_test("the tick flood needs two CPUs");
    program_stderr(PREEMPT_FLOOD_STATIC, out, sizeof(out));
    cr_assert_eq(count_of(out, "***LWP warning: PRE_InitPreempt"), 1, "%s",
                 out);
#else
    cr_skip_test("no static program in a sanitizer build");
#endif
}
