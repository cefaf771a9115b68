/* SPDX-License-Identifier: MIT */
/* The tick flood (support/preempt_flood.c), run by test_preempt and by
 * the statically linked preempt_flood_static. */
#ifndef LWPT_PREEMPT_FLOOD_H
#define LWPT_PREEMPT_FLOOD_H

/* Initialises LWP support and preemption, runs preemptible LWPs (some on
 * the shared stack) that spin and yield under a flood of ticks sent by
 * another thread, then terminates LWP support. NULL when every LWP ran
 * all its rounds with its frame intact and ticks were both taken and
 * skipped; otherwise what went wrong. */
const char *lwpt_flood(void);

/* Non-zero when this process may use two CPUs, which lwpt_flood needs:
 * the LWP thread runs on one, the flood on the other. */
int lwpt_flood_possible(void);

#endif
