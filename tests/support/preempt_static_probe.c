/* SPDX-License-Identifier: MIT */
/*
 * Linked with -static (test_preempt runs it): preemption started three
 * times, across an end and a second runtime. PRE_InitPreempt must warn
 * once on stderr that libc is part of the executable. Exit status 0 when
 * every call succeeded.
 */
#include <lwp/lwp.h>
#include <lwp/preempt.h>

int main(void)
{
    struct timeval slice = {PRE_DEFAULT_SLICE_SEC, 0};
    PROCESS me;
    int failed = 0;

    failed |= LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &me);
    failed |= PRE_InitPreempt(&slice);
    failed |= PRE_EndPreempt();
    failed |= PRE_InitPreempt(&slice);
    failed |= LWP_TerminateProcessSupport();
    failed |= LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &me);
    failed |= PRE_InitPreempt(&slice);
    return failed != 0;
}
