/* SPDX-License-Identifier: MIT */
/*
 * FastTime: wall-clock and monotonic readings for the rest of the library.
 *
 * Both clocks are read with clock_gettime(), which glibc serves from the
 * vDSO without entering the kernel, so an "exact" read is already cheap.
 * The approximate functions exist for API compatibility: they hand back
 * the remembered FT_LastTime instead of reading the clock at all.
 *
 * This is the only module that reads clocks (STYLE.md 3.10).
 */
#include <lwp/fasttime.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fasttime_internal.h"

#define NS_PER_SEC 1000000000LL
#define NS_PER_USEC 1000LL

LWP_EXPORT struct timeval FT_LastTime;

/* Initialisation state. The runtime runs on one OS thread, so plain
 * statics are enough; nothing here is touched from signal handlers. */
static int ft_initialised;
static int ft_result;

/* Wall clock minus monotonic clock, in ns, sampled once by FT_Init. Adding
 * it to a monotonic reading gives the timer clock: it starts out equal to
 * the wall clock but ignores later settimeofday() or NTP steps. */
static int64_t timer_offset_ns;

/* The last good monotonic reading; returned again if the clock ever fails,
 * so callers still see a clock that never goes backwards. */
static int64_t last_mono_ns;

static int64_t timespec_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * NS_PER_SEC + ts->tv_nsec;
}

static int read_mono_ns(int64_t *ns)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return -1;
    }
    *ns = timespec_ns(&ts);
    last_mono_ns = *ns;
    return 0;
}

static int read_wall(struct timespec *ts)
{
    return clock_gettime(CLOCK_REALTIME, ts);
}

static void clear_tz(struct timezone *tz)
{
    if (tz) {
        tz->tz_minuteswest = 0;
        tz->tz_dsttime = 0;
    }
}

/* Sample both clocks back to back to fix the timer clock's offset.
 * Returns 0, or -1 with errno set and *which naming the failing clock. */
static int probe_clocks(const char **which)
{
    struct timespec wall;
    int64_t mono;

    if (read_wall(&wall) != 0) {
        *which = "CLOCK_REALTIME";
        return -1;
    }
    if (read_mono_ns(&mono) != 0) {
        *which = "CLOCK_MONOTONIC";
        return -1;
    }
    timer_offset_ns = timespec_ns(&wall) - mono;
    return 0;
}

int FT_Init(int printErrors, int notReally)
{
    const char *which = NULL;

    if (ft_initialised) {
        return ft_result;
    }
    /* notReally only told OpenAFS to skip mapping a kernel clock; there is
     * nothing to map here, so the clocks are probed either way. */
    (void)notReally;
    ft_initialised = 1;
    ft_result = probe_clocks(&which);
    if (ft_result != 0 && printErrors) {
        fprintf(stderr, "FT_Init: clock_gettime(%s) failed: %s\n", which,
                strerror(errno));
    }
    return ft_result;
}

void lwp__ft_ensure_init(void)
{
    if (!ft_initialised) {
        (void)FT_Init(0, 0);
    }
}

int FT_GetTimeOfDay(struct timeval *tv, struct timezone *tz)
{
    struct timespec ts;

    if (!tv) {
        errno = EFAULT;
        return -1;
    }
    lwp__ft_ensure_init();
    if (read_wall(&ts) != 0) {
        return -1;
    }
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = (suseconds_t)(ts.tv_nsec / NS_PER_USEC);
    clear_tz(tz);
    FT_LastTime = *tv;
    return 0;
}

int TM_GetTimeOfDay(struct timeval *tv, struct timezone *tz)
{
    return FT_GetTimeOfDay(tv, tz);
}

/* A zero FT_LastTime means "no exact read yet": the epoch itself is not a
 * time this code will ever observe. */
static int have_last_time(void)
{
    return FT_LastTime.tv_sec != 0 || FT_LastTime.tv_usec != 0;
}

int FT_AGetTimeOfDay(struct timeval *tv, struct timezone *tz)
{
    if (!tv) {
        errno = EFAULT;
        return -1;
    }
    if (!have_last_time()) {
        return FT_GetTimeOfDay(tv, tz);
    }
    *tv = FT_LastTime;
    clear_tz(tz);
    return 0;
}

unsigned int FT_ApproxTime(void)
{
    if (!have_last_time()) {
        struct timeval tv;

        (void)FT_GetTimeOfDay(&tv, NULL);
    }
    return (unsigned int)FT_LastTime.tv_sec;
}

void lwp__ft_note_time(const struct timeval *tv)
{
    FT_LastTime = *tv;
}

int64_t lwp__ft_mono_ns(void)
{
    int64_t ns;

    if (read_mono_ns(&ns) != 0) {
        return last_mono_ns;
    }
    return ns;
}

void lwp__ft_timer_now(struct timeval *tv)
{
    lwp__ft_ensure_init();

    int64_t ns = lwp__ft_mono_ns() + timer_offset_ns;

    tv->tv_sec = (time_t)(ns / NS_PER_SEC);
    tv->tv_usec = (suseconds_t)((ns % NS_PER_SEC) / NS_PER_USEC);
}

unsigned long long FT_MonotonicMicros(void)
{
    int64_t ns = lwp__ft_mono_ns();
    return ns > 0 ? (unsigned long long)ns / 1000u : 0;
}
