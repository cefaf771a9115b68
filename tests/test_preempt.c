/* SPDX-License-Identifier: MIT */
/* Preempt: Coda's PRE_* entry points, no-ops while nothing preempts. */
#include <criterion/criterion.h>
#include <lwp/lwp.h>

static int ran;

static void child(void *arg)
{
    ran++;
}

Test(preempt, critical_sections_nest_and_change_nothing)
{
    int before;

    PRE_BeginCritical(); /* before LWP_Init: harmless */
    PRE_EndCritical();
    cr_assert_eq(LWP_Init(LWP_VERSION, 2, NULL), LWP_SUCCESS);
    before = Cont_Sws;
    PRE_BeginCritical();
    PRE_BeginCritical();
    cr_assert_eq(Cont_Sws, before, "no dispatch");
    cr_assert_eq(LWP_CreateProcess(child, 0, 4, NULL, "c", NULL),
                 LWP_SUCCESS);
    cr_assert_eq(ran, 1, "LWPs still switch inside a critical section");
    PRE_EndCritical();
    PRE_EndCritical();
    PRE_Concurrent(1);
    PRE_Concurrent(0);
    cr_assert_eq(LWP_TerminateProcessSupport(), LWP_SUCCESS);
}
