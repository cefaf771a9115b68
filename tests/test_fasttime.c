/* SPDX-License-Identifier: MIT */
/*
 * FastTime tests. Criterion runs every test in a fresh process, so each
 * test starts with FastTime uninitialised and FT_LastTime zero.
 */
#include <lwp/fasttime.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "fasttime/fasttime_internal.h"

/* Timing slack: CI machines are noisy and sanitizer builds slow. */
#define SLACK_US 200000
#define SLEEP_US 100000

static int64_t tv_us(const struct timeval *tv)
{
    return (int64_t)tv->tv_sec * 1000000 + tv->tv_usec;
}

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void assert_valid_tv(const struct timeval *tv)
{
    cr_assert_gt(tv->tv_sec, 0);
    cr_assert_geq(tv->tv_usec, 0);
    cr_assert_lt(tv->tv_usec, 1000000);
}

static void assert_tz_zero(const struct timezone *tz)
{
    cr_assert_eq(tz->tz_minuteswest, 0);
    cr_assert_eq(tz->tz_dsttime, 0);
}

static void assert_last_time_unset(void)
{
    cr_assert_eq(FT_LastTime.tv_sec, 0);
    cr_assert_eq(FT_LastTime.tv_usec, 0);
}

/* ---- FT_Init ---- */

Test(fasttime, init_succeeds)
{
    cr_assert_eq(FT_Init(0, 0), 0);
}

Test(fasttime, init_with_print_errors_is_silent_on_success,
     .init = cr_redirect_stderr)
{
    cr_assert_eq(FT_Init(1, 0), 0);
    fflush(stderr);
    cr_assert_stderr_eq_str("");
}

Test(fasttime, init_not_really_succeeds)
{
    cr_assert_eq(FT_Init(0, 1), 0);
}

Test(fasttime, repeated_init_returns_first_result)
{
    int first = FT_Init(0, 1);

    cr_assert_eq(first, 0);
    cr_assert_eq(FT_Init(1, 0), first);
    cr_assert_eq(FT_Init(0, 0), first);
    cr_assert_eq(FT_Init(1, 1), first);
}

Test(fasttime, init_does_not_touch_last_time)
{
    cr_assert_eq(FT_Init(0, 0), 0);
    assert_last_time_unset();
}

Test(fasttime, ensure_init_counts_as_first_init)
{
    lwp__ft_ensure_init();
    lwp__ft_ensure_init();
    cr_assert_eq(FT_Init(1, 1), 0);
}

/* ---- FT_GetTimeOfDay / TM_GetTimeOfDay ---- */

Test(fasttime, gettimeofday_works_without_init)
{
    struct timeval tv;

    cr_assert_eq(FT_GetTimeOfDay(&tv, NULL), 0);
    assert_valid_tv(&tv);
    cr_assert_eq(FT_Init(0, 0), 0);
}

Test(fasttime, gettimeofday_null_tv_is_efault)
{
    struct timezone tz = { 0, 0 };

    errno = 0;
    cr_assert_eq(FT_GetTimeOfDay(NULL, NULL), -1);
    cr_assert_eq(errno, EFAULT);
    errno = 0;
    cr_assert_eq(FT_GetTimeOfDay(NULL, &tz), -1);
    cr_assert_eq(errno, EFAULT);
    assert_last_time_unset();
}

Test(fasttime, gettimeofday_zeroes_tz)
{
    struct timeval tv;
    struct timezone tz = { 123, 7 };

    cr_assert_eq(FT_GetTimeOfDay(&tv, &tz), 0);
    assert_tz_zero(&tz);
}

Test(fasttime, gettimeofday_updates_last_time)
{
    struct timeval tv;

    assert_last_time_unset();
    cr_assert_eq(FT_GetTimeOfDay(&tv, NULL), 0);
    cr_assert_eq(FT_LastTime.tv_sec, tv.tv_sec);
    cr_assert_eq(FT_LastTime.tv_usec, tv.tv_usec);
}

Test(fasttime, gettimeofday_agrees_with_libc)
{
    struct timeval before, ours, after;

    gettimeofday(&before, NULL);
    cr_assert_eq(FT_GetTimeOfDay(&ours, NULL), 0);
    gettimeofday(&after, NULL);
    assert_valid_tv(&ours);
    /* A few ms either side allow for an NTP slew between the reads. */
    cr_assert_geq(tv_us(&ours), tv_us(&before) - 5000);
    cr_assert_leq(tv_us(&ours), tv_us(&after) + 5000);
}

Test(fasttime, gettimeofday_advances, .timeout = 10)
{
    struct timeval t1, t2;

    cr_assert_eq(FT_GetTimeOfDay(&t1, NULL), 0);
    sleep_us(SLEEP_US);
    cr_assert_eq(FT_GetTimeOfDay(&t2, NULL), 0);
    cr_assert_geq(tv_us(&t2) - tv_us(&t1), SLEEP_US - 1000);
    cr_assert_leq(tv_us(&t2) - tv_us(&t1), SLEEP_US + SLACK_US);
    cr_assert_eq(tv_us(&FT_LastTime), tv_us(&t2));
}

Test(fasttime, tm_gettimeofday_is_an_alias)
{
    struct timeval before, tv, after;
    struct timezone tz = { 60, 1 };

    gettimeofday(&before, NULL);
    cr_assert_eq(TM_GetTimeOfDay(&tv, &tz), 0);
    gettimeofday(&after, NULL);
    assert_valid_tv(&tv);
    assert_tz_zero(&tz);
    cr_assert_geq(tv_us(&tv), tv_us(&before) - 5000);
    cr_assert_leq(tv_us(&tv), tv_us(&after) + 5000);
    cr_assert_eq(tv_us(&FT_LastTime), tv_us(&tv));

    errno = 0;
    cr_assert_eq(TM_GetTimeOfDay(NULL, NULL), -1);
    cr_assert_eq(errno, EFAULT);
}

/* ---- FT_AGetTimeOfDay ---- */

Test(fasttime, agettimeofday_null_tv_is_efault)
{
    errno = 0;
    cr_assert_eq(FT_AGetTimeOfDay(NULL, NULL), -1);
    cr_assert_eq(errno, EFAULT);
    assert_last_time_unset();
}

Test(fasttime, agettimeofday_reads_exactly_when_nothing_cached)
{
    struct timeval before, tv, after;
    struct timezone tz = { 5, 5 };

    assert_last_time_unset();
    gettimeofday(&before, NULL);
    cr_assert_eq(FT_AGetTimeOfDay(&tv, &tz), 0);
    gettimeofday(&after, NULL);
    assert_valid_tv(&tv);
    assert_tz_zero(&tz);
    cr_assert_geq(tv_us(&tv), tv_us(&before) - 5000);
    cr_assert_leq(tv_us(&tv), tv_us(&after) + 5000);
    cr_assert_eq(tv_us(&FT_LastTime), tv_us(&tv));
}

Test(fasttime, agettimeofday_returns_cached_value)
{
    struct timeval tv;
    struct timezone tz = { 9, 9 };

    FT_LastTime.tv_sec = 1000;
    FT_LastTime.tv_usec = 5;
    cr_assert_eq(FT_AGetTimeOfDay(&tv, &tz), 0);
    cr_assert_eq(tv.tv_sec, 1000);
    cr_assert_eq(tv.tv_usec, 5);
    assert_tz_zero(&tz);
    cr_assert_eq(FT_LastTime.tv_sec, 1000);
}

Test(fasttime, approximate_time_stays_put_until_exact_read, .timeout = 10)
{
    struct timeval exact1, approx, exact2;

    cr_assert_eq(FT_GetTimeOfDay(&exact1, NULL), 0);
    sleep_us(SLEEP_US);
    cr_assert_eq(FT_AGetTimeOfDay(&approx, NULL), 0);
    cr_assert_eq(tv_us(&approx), tv_us(&exact1));
    cr_assert_eq(FT_ApproxTime(), (unsigned int)exact1.tv_sec);

    cr_assert_eq(FT_GetTimeOfDay(&exact2, NULL), 0);
    cr_assert_geq(tv_us(&exact2) - tv_us(&exact1), SLEEP_US - 1000);
    cr_assert_leq(tv_us(&exact2) - tv_us(&exact1), SLEEP_US + SLACK_US);
    cr_assert_eq(FT_AGetTimeOfDay(&approx, NULL), 0);
    cr_assert_eq(tv_us(&approx), tv_us(&exact2));
}

/* ---- FT_ApproxTime ---- */

Test(fasttime, approxtime_reads_exactly_when_nothing_cached)
{
    time_t before = time(NULL);
    unsigned int now;

    assert_last_time_unset();
    now = FT_ApproxTime();
    cr_assert_geq((int64_t)now, (int64_t)before - 1);
    cr_assert_leq((int64_t)now, (int64_t)before + 2);
    cr_assert_eq((unsigned int)FT_LastTime.tv_sec, now);
    cr_assert_neq(tv_us(&FT_LastTime), 0);
}

Test(fasttime, approxtime_returns_cached_seconds)
{
    FT_LastTime.tv_sec = 424242;
    FT_LastTime.tv_usec = 999999;
    cr_assert_eq(FT_ApproxTime(), 424242u);
    cr_assert_eq(FT_LastTime.tv_usec, 999999);
}

/* ---- Internal clocks ---- */

Test(fasttime, mono_ns_tracks_clock_monotonic, .timeout = 10)
{
    int64_t a = mono_us();
    int64_t t1 = lwp__ft_mono_ns() / 1000;
    int64_t b = mono_us();

    cr_assert_geq(t1, a);
    cr_assert_leq(t1, b);

    sleep_us(SLEEP_US);
    int64_t t2 = lwp__ft_mono_ns() / 1000;
    cr_assert_geq(t2 - t1, SLEEP_US - 1);
    cr_assert_leq(t2 - t1, SLEEP_US + SLACK_US);
}

Test(fasttime, mono_ns_never_goes_backwards)
{
    int64_t prev = lwp__ft_mono_ns();

    for (int i = 0; i < 10000; i++) {
        int64_t cur = lwp__ft_mono_ns();

        cr_assert_geq(cur, prev);
        prev = cur;
    }
}

Test(fasttime, timer_clock_starts_near_wall_clock)
{
    struct timeval before, timer, after;

    gettimeofday(&before, NULL);
    lwp__ft_timer_now(&timer);
    gettimeofday(&after, NULL);
    assert_valid_tv(&timer);
    cr_assert_geq(tv_us(&timer), tv_us(&before) - 5000);
    cr_assert_leq(tv_us(&timer), tv_us(&after) + 5000);
}

/* Bounds on (timer clock - monotonic clock), from one timer reading
 * bracketed by two monotonic readings; 1 us covers truncation. */
static void offset_bounds(int64_t *lo, int64_t *hi)
{
    struct timeval timer;
    int64_t before = mono_us();

    lwp__ft_timer_now(&timer);
    int64_t after = mono_us();

    *lo = tv_us(&timer) - after - 1;
    *hi = tv_us(&timer) - before + 1;
}

/* The timer clock must be the monotonic clock plus an offset fixed at
 * init: then a wall-clock step between the two samples could not move
 * it. The two bracketed offsets must therefore overlap. */
Test(fasttime, timer_clock_is_monotonic_plus_fixed_offset, .timeout = 10)
{
    int64_t lo1, hi1, lo2, hi2;

    offset_bounds(&lo1, &hi1);
    sleep_us(SLEEP_US);
    offset_bounds(&lo2, &hi2);
    cr_assert_leq(lo1, hi2);
    cr_assert_leq(lo2, hi1);
}

Test(fasttime, timer_clock_advances_with_monotonic_time, .timeout = 10)
{
    struct timeval t1, t2;

    lwp__ft_timer_now(&t1);
    sleep_us(SLEEP_US);
    lwp__ft_timer_now(&t2);
    assert_valid_tv(&t2);
    cr_assert_geq(tv_us(&t2) - tv_us(&t1), SLEEP_US - 1);
    cr_assert_leq(tv_us(&t2) - tv_us(&t1), SLEEP_US + SLACK_US);
}

Test(fasttime, timer_clock_does_not_update_last_time)
{
    struct timeval tv;

    lwp__ft_timer_now(&tv);
    assert_last_time_unset();
}
