/* SPDX-License-Identifier: MIT */
/* Timer list tests. Each Criterion test runs in a fresh process. */
#include <lwp/timer.h>

#include <lwp/fasttime.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fasttime/fasttime_internal.h"

/* Timing slack: CI machines are noisy and sanitizer builds slow. */
#define SLACK_US 200000

static struct TM_Elem *list;

static void setup_list(void)
{
    cr_assert_eq(TM_Init(&list), 0);
    cr_assert_not_null(list);
}

static void teardown_list(void)
{
    if (list) {
        cr_assert_eq(TM_Final(&list), 0);
    }
}

TestSuite(timer, .init = setup_list, .fini = teardown_list);

static int64_t tv_us(const struct timeval *tv)
{
    return (int64_t)tv->tv_sec * 1000000 + tv->tv_usec;
}

static int64_t mono_us(void)
{
    return lwp__ft_mono_ns() / 1000;
}

static int64_t timer_now_us(void)
{
    struct timeval tv;

    lwp__ft_timer_now(&tv);
    return tv_us(&tv);
}

static void sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void set_interval(struct TM_Elem *e, long sec, long usec)
{
    memset(e, 0, sizeof(*e));
    e->TotalTime.tv_sec = sec;
    e->TotalTime.tv_usec = usec;
}

static void insert(struct TM_Elem *e, long sec, long usec)
{
    set_interval(e, sec, usec);
    TM_Insert(list, e);
}

static void assert_tv(const struct timeval *tv, long sec, long usec)
{
    cr_assert_eq(tv->tv_sec, sec, "tv_sec %ld != %ld", (long)tv->tv_sec,
                 sec);
    cr_assert_eq(tv->tv_usec, usec, "tv_usec %ld != %ld",
                 (long)tv->tv_usec, usec);
}

/* Walks the list both ways and checks it holds exactly want[0..n). */
static void assert_order(struct TM_Elem **want, int n)
{
    struct TM_Elem *e = list->Next;

    for (int i = 0; i < n; i++, e = e->Next) {
        cr_assert_eq(e, want[i], "element %d out of place", i);
        cr_assert_eq(e->Next->Prev, e);
    }
    cr_assert_eq(e, list, "list longer than %d", n);
    e = list->Prev;
    for (int i = n - 1; i >= 0; i--, e = e->Prev) {
        cr_assert_eq(e, want[i], "backward element %d out of place", i);
    }
    cr_assert_eq(e, list);
}

static void assert_self_linked(struct TM_Elem *e)
{
    cr_assert_eq(e->Next, e);
    cr_assert_eq(e->Prev, e);
}

/* ---- TM_Init / TM_Final ---- */

Test(timer, init_makes_empty_circular_head)
{
    assert_self_linked(list);
    assert_tv(&list->TotalTime, 0, 0);
    assert_tv(&list->TimeLeft, 0, 0);
    cr_assert_null(list->BackPointer);
    cr_assert_null(TM_GetEarliest(list));
    cr_assert_null(TM_GetExpired(list));
    cr_assert_eq(TM_Rescan(list), 0);
}

Test(timer, init_null_fails)
{
    cr_assert_eq(TM_Init(NULL), -1);
}

Test(timer, init_initialises_fasttime)
{
    /* TM_Init already ran FT_Init(0, 0): a later call reports its result. */
    lwp__ft_ensure_init();
    cr_assert_eq(FT_Init(1, 0), 0);
}

Test(timer, final_frees_head_and_clears_pointer)
{
    cr_assert_eq(TM_Final(&list), 0);
    cr_assert_null(list);
    cr_assert_eq(TM_Final(&list), -1);
    cr_assert_eq(TM_Final(NULL), -1);
}

Test(timer, final_leaves_linked_elements_alone)
{
    struct TM_Elem a;
    char tag[] = "mine";

    set_interval(&a, 3, 0);
    a.BackPointer = tag;
    TM_Insert(list, &a);
    struct timeval expiry = a.TotalTime;

    cr_assert_eq(TM_Final(&list), 0);
    cr_assert_null(list);
    cr_assert_eq(a.BackPointer, tag);
    cr_assert(TM_eql(&a.TotalTime, &expiry));
    assert_tv(&a.TimeLeft, 3, 0);
}

Test(timer, several_lists_are_independent)
{
    struct TM_Elem *other;
    struct TM_Elem a, b;

    cr_assert_eq(TM_Init(&other), 0);
    cr_assert_neq(other, list);
    insert(&a, 1, 0);
    set_interval(&b, 1, 0);
    TM_Insert(other, &b);
    cr_assert_eq(TM_GetEarliest(list), &a);
    cr_assert_eq(TM_GetEarliest(other), &b);
    TM_Remove(other, &b);
    cr_assert_null(TM_GetEarliest(other));
    cr_assert_eq(TM_Final(&other), 0);
}

/* ---- TM_Insert ---- */

Test(timer, insert_sets_time_left_and_absolute_expiration)
{
    struct TM_Elem a;
    char tag;

    set_interval(&a, 5, 250000);
    a.BackPointer = &tag;
    int64_t before = timer_now_us();
    TM_Insert(list, &a);
    int64_t after = timer_now_us();

    assert_tv(&a.TimeLeft, 5, 250000);
    cr_assert_geq(tv_us(&a.TotalTime), before + 5250000);
    cr_assert_leq(tv_us(&a.TotalTime), after + 5250000);
    cr_assert_geq(a.TotalTime.tv_usec, 0);
    cr_assert_lt(a.TotalTime.tv_usec, 1000000);
    cr_assert_eq(a.BackPointer, &tag);
    cr_assert_eq(TM_GetEarliest(list), &a);
}

Test(timer, insert_normalises_expiration_of_unnormalised_interval)
{
    struct TM_Elem a;

    set_interval(&a, 0, 2500000);
    int64_t before = timer_now_us();
    TM_Insert(list, &a);
    int64_t after = timer_now_us();

    assert_tv(&a.TimeLeft, 0, 2500000);
    cr_assert_geq(tv_us(&a.TotalTime), before + 2500000);
    cr_assert_leq(tv_us(&a.TotalTime), after + 2500000);
    cr_assert_lt(a.TotalTime.tv_usec, 1000000);
}

Test(timer, insert_keeps_blocking_times_untouched)
{
    struct TM_Elem a, b;

    insert(&a, -1, -1);
    insert(&b, 7, -3);
    assert_tv(&a.TotalTime, -1, -1);
    assert_tv(&a.TimeLeft, -1, -1);
    assert_tv(&b.TotalTime, 7, -3);
    assert_tv(&b.TimeLeft, 7, -3);
    cr_assert_eq(TM_GetEarliest(list), &a);
}

Test(timer, insert_orders_by_interval_with_stable_ties_and_blocking_last)
{
    struct TM_Elem a, b, c, d, e, f, g, h, i;

    insert(&a, 3, 0);
    insert(&b, 1, 0);
    insert(&c, -1, 0);       /* blocking */
    insert(&d, 2, 0);
    insert(&e, 1, 0);        /* ties with b: goes after it */
    insert(&f, 0, -1);       /* blocking: after c */
    insert(&g, 5, 0);
    insert(&h, 0, 0);
    insert(&i, 0, 1000000);  /* equals b and e once normalised */

    struct TM_Elem *want[] = { &h, &b, &e, &i, &d, &a, &g, &c, &f };
    assert_order(want, 9);
}

Test(timer, insert_compares_microseconds)
{
    struct TM_Elem a, b, c;

    insert(&a, 1, 500);
    insert(&b, 1, 499);
    insert(&c, 1, 501);

    struct TM_Elem *want[] = { &b, &a, &c };
    assert_order(want, 3);
}

Test(timer, insert_null_arguments_are_ignored)
{
    struct TM_Elem a;

    set_interval(&a, 1, 0);
    TM_Insert(NULL, &a);
    assert_tv(&a.TotalTime, 1, 0);
    TM_Insert(list, NULL);
    assert_self_linked(list);
}

Test(timer, insert_huge_interval_does_not_overflow)
{
    struct TM_Elem a, b, blk;
    time_t big = (time_t)(((uintmax_t)1 << (sizeof(time_t) * 8 - 1)) - 1);

    insert(&blk, -1, -1);
    set_interval(&a, 0, 0);
    a.TotalTime.tv_sec = big;
    a.TotalTime.tv_usec = 999999;
    TM_Insert(list, &a);
    insert(&b, 10, 0);

    struct TM_Elem *want[] = { &b, &a, &blk };
    assert_order(want, 3);
    cr_assert_geq(a.TotalTime.tv_sec, b.TotalTime.tv_sec);
    cr_assert_eq(TM_Rescan(list), 0);
    cr_assert_gt(a.TimeLeft.tv_sec, 1000);
}

/* Coda compares against the TimeLeft stored by the last rescan (or the
 * insertion), not against fresh remaining times, and never re-sorts. */
Test(timer, insert_compares_stored_time_left, .timeout = 10)
{
    struct TM_Elem a, b;

    insert(&a, 2, 0);
    sleep_us(300000);
    /* a really expires in ~1.7 s, but its stored TimeLeft says 2 s. */
    insert(&b, 1, 900000);

    struct TM_Elem *want[] = { &b, &a };
    assert_order(want, 2);

    cr_assert_eq(TM_Rescan(list), 0);
    cr_assert_lt(tv_us(&a.TimeLeft), tv_us(&b.TimeLeft));
    assert_order(want, 2);
}

/* ---- TM_Remove ---- */

Test(timer, remove_unlinks_and_self_links)
{
    struct TM_Elem a, b, c;

    insert(&a, 1, 0);
    insert(&b, 2, 0);
    insert(&c, 3, 0);
    TM_Remove(list, &b);
    assert_self_linked(&b);

    struct TM_Elem *want[] = { &a, &c };
    assert_order(want, 2);
}

Test(timer, remove_twice_is_harmless)
{
    struct TM_Elem a, b;

    insert(&a, 1, 0);
    insert(&b, 2, 0);
    TM_Remove(list, &a);
    TM_Remove(list, &a);
    assert_self_linked(&a);

    struct TM_Elem *want[] = { &b };
    assert_order(want, 1);

    TM_Remove(list, &b);
    TM_Remove(list, &b);
    assert_self_linked(list);
}

Test(timer, remove_null_arguments_are_ignored)
{
    struct TM_Elem a;

    insert(&a, 1, 0);
    TM_Remove(list, NULL);
    TM_Remove(NULL, NULL);

    struct TM_Elem *want[] = { &a };
    assert_order(want, 1);
}

Test(timer, removed_element_can_be_reinserted)
{
    struct TM_Elem a, b;

    insert(&a, 1, 0);
    insert(&b, 2, 0);
    TM_Remove(list, &a);
    insert(&a, 3, 0);

    struct TM_Elem *want[] = { &b, &a };
    assert_order(want, 2);
}

/* ---- TM_Rescan / TM_GetExpired / TM_GetEarliest ---- */

Test(timer, rescan_null_fails)
{
    cr_assert_eq(TM_Rescan(NULL), -1);
}

Test(timer, rescan_counts_and_clamps_expired, .timeout = 10)
{
    struct TM_Elem now, soon, later, blk;

    insert(&now, 0, 0);
    insert(&soon, 0, 400000);
    insert(&later, 10, 0);
    insert(&blk, -1, -1);

    cr_assert_eq(TM_Rescan(list), 1);
    assert_tv(&now.TimeLeft, 0, 0);
    cr_assert_gt(tv_us(&soon.TimeLeft), 0);
    cr_assert_leq(tv_us(&soon.TimeLeft), 400000);

    sleep_us(600000);
    cr_assert_eq(TM_Rescan(list), 2);
    assert_tv(&now.TimeLeft, 0, 0);
    assert_tv(&soon.TimeLeft, 0, 0);   /* clamped, never negative */
    cr_assert_geq(tv_us(&later.TimeLeft), 10000000 - 600000 - SLACK_US);
    cr_assert_leq(tv_us(&later.TimeLeft), 10000000 - 600000);
    cr_assert_geq(later.TimeLeft.tv_usec, 0);
    cr_assert_lt(later.TimeLeft.tv_usec, 1000000);
    assert_tv(&blk.TimeLeft, -1, -1);
    assert_tv(&blk.TotalTime, -1, -1);

    /* Rescanning again counts the same expired elements again. */
    cr_assert_eq(TM_Rescan(list), 2);

    struct TM_Elem *want[] = { &now, &soon, &later, &blk };
    assert_order(want, 4);
}

Test(timer, get_expired_returns_first_expired_without_removing)
{
    struct TM_Elem blk, a, b, c;

    insert(&blk, -1, -1);
    insert(&c, 30, 0);
    insert(&a, 0, 0);
    insert(&b, 0, 0);

    cr_assert_eq(TM_Rescan(list), 2);
    cr_assert_eq(TM_GetExpired(list), &a);
    cr_assert_eq(TM_GetExpired(list), &a);
    TM_Remove(list, &a);
    cr_assert_eq(TM_GetExpired(list), &b);
    TM_Remove(list, &b);
    cr_assert_null(TM_GetExpired(list));
    cr_assert_eq(TM_Rescan(list), 0);
}

Test(timer, get_expired_null_or_empty)
{
    struct TM_Elem blk;

    cr_assert_null(TM_GetExpired(NULL));
    cr_assert_null(TM_GetExpired(list));
    insert(&blk, -1, -1);
    cr_assert_eq(TM_Rescan(list), 0);
    cr_assert_null(TM_GetExpired(list));
}

Test(timer, get_expired_reflects_last_rescan_only, .timeout = 10)
{
    struct TM_Elem a;

    insert(&a, 0, 50000);
    cr_assert_null(TM_GetExpired(list));
    sleep_us(100000);
    /* Expired by the clock, but no rescan has noticed yet. */
    cr_assert_null(TM_GetExpired(list));
    cr_assert_eq(TM_Rescan(list), 1);
    cr_assert_eq(TM_GetExpired(list), &a);
}

Test(timer, get_earliest_returns_head_even_if_expired_or_blocking)
{
    struct TM_Elem a, blk;

    cr_assert_null(TM_GetEarliest(NULL));
    cr_assert_null(TM_GetEarliest(list));

    insert(&blk, -1, -1);
    cr_assert_eq(TM_GetEarliest(list), &blk);

    insert(&a, 0, 0);
    cr_assert_eq(TM_Rescan(list), 1);
    cr_assert_eq(TM_GetEarliest(list), &a);

    TM_Remove(list, &a);
    TM_Remove(list, &blk);
    cr_assert_null(TM_GetEarliest(list));
}

/* A timer fires after its interval of monotonic time; polling with
 * TM_Rescan is how IOMGR drives the list. */
Test(timer, timer_expires_on_time, .timeout = 10)
{
    struct TM_Elem a;
    int64_t start = mono_us();
    int64_t fired;

    insert(&a, 0, 200000);
    for (;;) {
        int n = TM_Rescan(list);

        fired = mono_us();
        if (n > 0) {
            break;
        }
        cr_assert_eq(n, 0);
        cr_assert_null(TM_GetExpired(list));
        sleep_us(2000);
    }
    cr_assert_eq(TM_GetExpired(list), &a);
    /* 2 us: both clocks truncate nanoseconds to microseconds. */
    cr_assert_geq(fired - start, 200000 - 2);
    cr_assert_leq(fired - start, 200000 + SLACK_US);
}

/* Expirations live on lwp__ft_timer_now, which is monotonic time plus a
 * constant: TimeLeft must shrink by exactly the monotonic time elapsed, so
 * a wall-clock step could neither fire nor delay a timer. */
Test(timer, time_left_follows_monotonic_clock, .timeout = 10)
{
    struct TM_Elem a;

    int64_t m1 = mono_us();
    insert(&a, 5, 0);
    int64_t m2 = mono_us();
    sleep_us(100000);
    int64_t m3 = mono_us();
    cr_assert_eq(TM_Rescan(list), 0);
    int64_t m4 = mono_us();

    int64_t left = tv_us(&a.TimeLeft);
    cr_assert_geq(left, 5000000 - (m4 - m1) - 2);
    cr_assert_leq(left, 5000000 - (m3 - m2) + 2);
    cr_assert_geq(m3 - m2, 100000 - 1);
    cr_assert_leq(m3 - m2, 100000 + SLACK_US);
}

Test(timer, expiration_is_on_the_timer_clock)
{
    struct TM_Elem a;

    set_interval(&a, 2, 0);
    int64_t before = timer_now_us();
    TM_Insert(list, &a);
    int64_t after = timer_now_us();

    cr_assert_geq(tv_us(&a.TotalTime) - 2000000, before);
    cr_assert_leq(tv_us(&a.TotalTime) - 2000000, after);
}

/* ---- FOR_ALL_ELTS ---- */

Test(timer, for_all_elts_visits_in_order)
{
    struct TM_Elem el[4];
    struct TM_Elem *seen[4];
    int n = 0;

    for (int k = 0; k < 4; k++) {
        insert(&el[k], 4 - k, 0);
    }
    FOR_ALL_ELTS(it, list, {
        cr_assert_lt(n, 4);
        seen[n++] = it;
    })
    cr_assert_eq(n, 4);
    for (int k = 0; k < 4; k++) {
        cr_assert_eq(seen[k], &el[3 - k]);
    }
}

Test(timer, for_all_elts_allows_removal_in_body)
{
    struct TM_Elem el[6];
    int visits = 0;

    for (int k = 0; k < 6; k++) {
        insert(&el[k], k, 0);
    }
    FOR_ALL_ELTS(it, list, {
        visits++;
        if ((it - el) % 2 == 0) {
            TM_Remove(list, it);
        }
    })
    cr_assert_eq(visits, 6);

    struct TM_Elem *want[] = { &el[1], &el[3], &el[5] };
    assert_order(want, 3);

    FOR_ALL_ELTS(it, list, {
        visits++;
        TM_Remove(list, it);
    })
    cr_assert_eq(visits, 9);
    assert_self_linked(list);
}

Test(timer, for_all_elts_on_empty_list_runs_nothing)
{
    int visits = 0;

    FOR_ALL_ELTS(it, list, {
        (void)it;
        visits++;
    })
    cr_assert_eq(visits, 0);
}

/* ---- TM_eql ---- */

Test(timer, eql_compares_both_fields)
{
    struct timeval a = { 5, 10 }, b = { 5, 10 };
    struct timeval c = { 6, 10 }, d = { 5, 11 };

    cr_assert_eq(TM_eql(&a, &b), 1);
    cr_assert_eq(TM_eql(&a, &a), 1);
    cr_assert_eq(TM_eql(&a, &c), 0);
    cr_assert_eq(TM_eql(&a, &d), 0);
    cr_assert_eq(TM_eql(NULL, &a), 0);
    cr_assert_eq(TM_eql(&a, NULL), 0);
    cr_assert_eq(TM_eql(NULL, NULL), 0);
}

Test(timer, rescan_refreshes_the_approximate_clock, .timeout = 10)
{
    struct TM_Elem *tlist = NULL;
    struct timeval before;

    cr_assert_eq(TM_Init(&tlist), 0);
    FT_GetTimeOfDay(&before, NULL);
    usleep(20000);
    cr_assert_eq(TM_Rescan(tlist), 0);
    cr_assert(FT_LastTime.tv_sec > before.tv_sec ||
                  (FT_LastTime.tv_sec == before.tv_sec &&
                   FT_LastTime.tv_usec >= before.tv_usec + 15000),
              "FT_LastTime moved on with the rescan");
    TM_Final(&tlist);
}
