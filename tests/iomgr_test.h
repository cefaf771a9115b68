/* SPDX-License-Identifier: MIT */
/* Helpers shared by the IOMGR tests. */
#ifndef LWP_IOMGR_TEST_H
#define LWP_IOMGR_TEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <lwp/iomgr.h>
#include <lwp/lwp.h>

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

#endif /* LWP_IOMGR_TEST_H */
