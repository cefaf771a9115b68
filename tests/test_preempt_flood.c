/* SPDX-License-Identifier: MIT */
/* Preempt under a flood of ticks, in this executable (support/
 * preempt_flood.c); test_preempt.c runs the same in a static program. */
#include <criterion/criterion.h>

#include "support/preempt_flood.h"

int lwpt_under_valgrind(void); /* support/valgrind_probe.c */

Test(preempt_flood, ticks_inside_switches_and_the_copier_never_cut,
     .timeout = 60)
{
    const char *why;

    /* Valgrind runs one thread at a time and delivers a signal only when
     * it switches threads: no flood reaches the LWPs' windows. */
    if (lwpt_under_valgrind())
        cr_skip_test("no tick flood under valgrind");
    if (!lwpt_flood_possible())
        cr_skip_test("the tick flood needs two CPUs");
    why = lwpt_flood();
    cr_assert_null(why, "%s", why);
}
