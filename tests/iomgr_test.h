/* SPDX-License-Identifier: MIT */
/* Helpers shared by the IOMGR tests. */
#ifndef LWP_IOMGR_TEST_H
#define LWP_IOMGR_TEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lwp/iomgr.h>
#include <lwp/lwp.h>

/* Non-zero under valgrind (support/valgrind_probe.c). */
int lwpt_under_valgrind(void);

/* test_preempt binary (test_preempt.c): runs n (at most 3) preemptible
 * CPU-bound LWPs at prio for `seconds` of wall time and waits for them;
 * preemption must be on. lwpt_hog_count(i) is how far hog i counted. */
void lwpt_run_hogs(int n, int prio, double seconds);
unsigned long lwpt_hog_count(int i);

/* Priority of the LWPs a test starts: above the main LWP, so each runs as
 * soon as it is runnable and the main LWP resumes only when all wait. */
#define IOT_HIGH (LWP_NORMAL_PRIORITY + 1)

static inline void iot_setup(void)
{
    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
}

static inline void iot_teardown(void)
{
    if (LWP_ThisProcess())
        LWP_TerminateProcessSupport();
}

static inline PROCESS iot_spawn(void (*ep)(void *), int prio, void *arg)
{
    PROCESS pid = NULL;

    cr_assert_eq(LWP_CreateProcess(ep, 65536, prio, arg, "iot", &pid),
                 LWP_SUCCESS);
    return pid;
}

static inline void iot_pipe(int fds[2])
{
    cr_assert_eq(pipe(fds), 0);
}

static inline double iot_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds (user + system) used by this process so far. */
static inline double iot_cpu(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* Let the IO MANAGER run passes until `cond` holds or ~5 s pass. */
#define IOT_WAIT_FOR(cond)                                                   \
    do {                                                                     \
        struct timeval iot_tick = {0, 10000};                                \
        for (int iot_i = 0; iot_i < 500 && !(cond); iot_i++)                 \
            IOMGR_Select(0, NULL, NULL, NULL, &iot_tick);                    \
        cr_assert(cond, "timed out waiting for " #cond);                     \
    } while (0)

/* Runs `child` (which faults and never returns) in a forked process and
 * checks that the fault ended it: killed by SIGSEGV, or a sanitizer's
 * report of it and exit(1); not the alarm that ends a handler re-running
 * the faulting instruction for ever. */
static inline void iot_assert_fault_ends_child(void (*child)(void))
{
    int status = 0;
    pid_t pid = fork();

    cr_assert_neq(pid, -1);
    if (pid == 0)
        child();
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(!WIFSIGNALED(status) || WTERMSIG(status) != SIGALRM,
              "the fault was re-run until the alarm");
    /* Killed by the fault, or a sanitizer's report of it and exit(1). */
    if (WIFSIGNALED(status))
        cr_assert_eq(WTERMSIG(status), SIGSEGV);
    else
        cr_assert_neq(WEXITSTATUS(status), 0);
}

#endif /* LWP_IOMGR_TEST_H */
