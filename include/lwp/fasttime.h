/* SPDX-License-Identifier: MIT */
/*
 * FastTime: cheap clocks (Coda's FT_* API), read through the vDSO.
 *
 * FT_GetTimeOfDay() reads the wall clock and remembers the reading in
 * FT_LastTime; FT_AGetTimeOfDay() and FT_ApproxTime() return that remembered
 * reading, which is as fresh as the last exact read (IOMGR refreshes it once
 * per loop iteration). None of these functions yield, and all may be called
 * before LWP_Init().
 *
 * Difference from Coda: FT_Init() returns 0 when the fast clock works (Coda
 * always returned -1 because its kernel-clock mapping no longer exists).
 */
#ifndef LWP_FASTTIME_H
#define LWP_FASTTIME_H

#include <sys/time.h>

#include <lwp/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Declared here because <sys/time.h> defines struct timezone only for
 * _DEFAULT_SOURCE/_GNU_SOURCE programs: under plain POSIX (or -std=c99
 * alone) a first mention inside a parameter list would give each
 * prototype a type of its own. Callers pass NULL or a struct timezone *
 * from <sys/time.h>. */
struct timezone;

/* The last exact wall-clock reading (seconds, microseconds). */
LWP_EXPORT extern struct timeval FT_LastTime;

/* Initialise FastTime. Only the first call's parameters count; later calls
 * return the first call's result. With printErrors, a failure is explained
 * on stderr. notReally (OpenAFS) only records that FastTime was set up.
 * Returns 0 when the fast clock works, -1 otherwise. */
LWP_EXPORT int FT_Init(int printErrors, int notReally);

/* Exact wall-clock time into *tv; *tz (may be NULL) is zeroed, as modern
 * gettimeofday does. POSIX convention: 0, or -1 with errno = EFAULT when tv
 * is NULL. */
LWP_EXPORT int FT_GetTimeOfDay(struct timeval *tv, struct timezone *tz);
/* The same, under the name Coda keeps for compatibility. */
LWP_EXPORT int TM_GetTimeOfDay(struct timeval *tv, struct timezone *tz);
/* Approximate time: FT_LastTime if a reading exists, else an exact read.
 * POSIX convention as FT_GetTimeOfDay. */
LWP_EXPORT int FT_AGetTimeOfDay(struct timeval *tv, struct timezone *tz);
/* Seconds part of the approximate time. */
LWP_EXPORT unsigned int FT_ApproxTime(void);

/* Not in Coda: microseconds on the monotonic clock (CLOCK_MONOTONIC, never
 * steps back; its zero is arbitrary). For intervals and deadlines; the RPC
 * layer stamps packets with it. Never fails: 0 only if the clock does. */
LWP_EXPORT unsigned long long FT_MonotonicMicros(void);

#ifdef __cplusplus
}
#endif

#endif /* LWP_FASTTIME_H */
