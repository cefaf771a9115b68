/* SPDX-License-Identifier: MIT */
/*
 * PRE_* as in Coda's liblwp: nothing preempts an LWP yet, so opening or
 * closing a critical section has nothing to guard against. Keeping the
 * symbols lets Coda code that brackets non-reentrant calls link unchanged.
 */
#include <lwp/preempt.h>

void PRE_Concurrent(int on)
{
    (void)on;
}

void PRE_BeginCritical(void)
{
}

void PRE_EndCritical(void)
{
}
