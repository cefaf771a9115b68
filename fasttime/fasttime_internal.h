/* SPDX-License-Identifier: MIT */
/* FastTime's interface to the other modules of the library (not public). */
#ifndef LWP_FASTTIME_INTERNAL_H
#define LWP_FASTTIME_INTERNAL_H

#include <stdint.h>
#include <sys/time.h>

/* Initialise FastTime as FT_Init(0, 0) would, unless someone already did. */
void lwp__ft_ensure_init(void);

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC); never jumps. */
int64_t lwp__ft_mono_ns(void);

/* The timer clock used by TM_*: the wall clock as it read at FT_Init time,
 * advanced by the monotonic clock since, so it never jumps. */
void lwp__ft_timer_now(struct timeval *tv);

/* IOMGR's once-per-loop-iteration refresh of the approximate clock: the
 * wall-clock time its loop read. */
void lwp__ft_note_time(const struct timeval *tv);

#endif /* LWP_FASTTIME_INTERNAL_H */
