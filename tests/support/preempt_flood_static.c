/* SPDX-License-Identifier: MIT */
/*
 * Linked with -static (test_preempt runs it): the tick flood of
 * support/preempt_flood.c where libc is part of the executable, so ticks
 * also land in the memcpy and realloc of the shared stacks' copier and in
 * the free and munmap after a switch. Exit status 0 when it passed;
 * otherwise what went wrong, on stderr (also 0 when it cannot run: one
 * CPU, said on stderr).
 */
#include <stdio.h>

#include "preempt_flood.h"

int main(void)
{
    const char *why;

    if (!lwpt_flood_possible()) {
        fprintf(stderr, "preempt_flood_static: skipped: one CPU\n");
        return 0;
    }
    why = lwpt_flood();

    if (why)
        fprintf(stderr, "preempt_flood_static: %s\n", why);
    return why != NULL;
}
