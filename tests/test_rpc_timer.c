/* SPDX-License-Identifier: MIT */
/*
 * The RPC timer heap (rpc/rpc_timer.h) and the retry schedule
 * (rpc/rpc_retry.h, reference section 2.11). Pure data structures: no LWP,
 * no sockets. Each Criterion test runs in its own process.
 */
#include "rpc_timer.h"
#include "rpc_retry.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <lwp/fasttime.h>

#include "rpc_test.h"

/* ---- Helpers ---- */

/* A timer that records its id in a global fire log when it fires. */
struct ttimer {
    struct rpc_timer t;
    int id;
    void (*action)(struct ttimer *self); /* optional extra work on fire */
};

#define LOG_MAX 200000
static int fire_log[LOG_MAX];
static size_t fire_n;
static struct rpc_timers heap;

static void on_fire(struct rpc_timer *t)
{
    struct ttimer *tt = (struct ttimer *)t;

    cr_assert_lt(fire_n, LOG_MAX);
    cr_assert_eq(t->slot, 0u, "a timer is disarmed before it fires");
    fire_log[fire_n++] = tt->id;
    if (tt->action != NULL) {
        tt->action(tt);
    }
}

static void tinit(struct ttimer *tt, int id)
{
    memset(tt, 0, sizeof(*tt));
    tt->t.fire = on_fire;
    tt->id = id;
}

static void arm(struct ttimer *tt, uint64_t due)
{
    cr_assert_eq(rpc_timer_arm(&heap, &tt->t, due), 0);
    cr_assert(rpc_timer_armed(&tt->t));
}

static void expect_log(const int *ids, size_t n)
{
    cr_assert_eq(fire_n, n, "fired %zu timers, expected %zu", fire_n, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(fire_log[i], ids[i], "fire %zu: id %d, expected %d", i,
                     fire_log[i], ids[i]);
    }
}

/* xorshift64*: a fixed-seed generator so runs are reproducible. */
static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void setup(void)
{
    rpc_timers_init(&heap);
    fire_n = 0;
}

static void teardown(void)
{
    rpc_timers_fini(&heap);
}

TestSuite(rpc_timer, .init = setup, .fini = teardown, .timeout = 60);

/* ---- Ordering ---- */

Test(rpc_timer, empty_heap)
{
    cr_assert_eq(rpc_timers_next(&heap), UINT64_MAX);
    cr_assert_eq(rpc_timers_run(&heap, 1000), 0u);
}

Test(rpc_timer, fires_in_due_order)
{
    static const uint64_t due[] = {50, 10, 40, 20, 30, 60, 5};
    struct ttimer t[7];

    for (int i = 0; i < 7; i++) {
        tinit(&t[i], i);
        arm(&t[i], due[i]);
    }
    cr_assert_eq(rpc_timers_next(&heap), 5u);
    cr_assert_eq(rpc_timers_run(&heap, 4), 0u);
    cr_assert_eq(rpc_timers_run(&heap, 30), 4u); /* due == now fires */
    static const int first[] = {6, 1, 3, 4};
    expect_log(first, 4);
    cr_assert_eq(rpc_timers_next(&heap), 40u);
    cr_assert(rpc_timer_armed(&t[0].t));
    cr_assert_not(rpc_timer_armed(&t[1].t));
    cr_assert_eq(rpc_timers_run(&heap, 1000), 3u);
    static const int all[] = {6, 1, 3, 4, 2, 0, 5};
    expect_log(all, 7);
    cr_assert_eq(rpc_timers_next(&heap), UINT64_MAX);
}

Test(rpc_timer, equal_due_fires_in_arm_order)
{
    struct ttimer t[12];

    /* ids 0..9 at due 100 armed in this order, interleaved with 99/101 */
    for (int i = 0; i < 12; i++) {
        tinit(&t[i], i);
    }
    arm(&t[10], 101);
    for (int i = 0; i < 10; i++) {
        arm(&t[(i * 7) % 10], 100);
    }
    arm(&t[11], 99);
    cr_assert_eq(rpc_timers_run(&heap, 200), 12u);
    static const int want[] = {11, 0, 7, 4, 1, 8, 5, 2, 9, 6, 3, 10};
    expect_log(want, 12);
}

Test(rpc_timer, never_due_never_fires)
{
    struct ttimer t;

    tinit(&t, 1);
    arm(&t, UINT64_MAX);
    cr_assert_eq(rpc_timers_next(&heap), UINT64_MAX);
    cr_assert_eq(rpc_timers_run(&heap, UINT64_MAX), 0u);
    cr_assert(rpc_timer_armed(&t.t));
    rpc_timer_cancel(&heap, &t.t); /* t lives on this stack frame */
}

/* ---- Cancel and re-arm ---- */

Test(rpc_timer, cancel_root_middle_and_last)
{
    struct ttimer t[9];

    for (int i = 0; i < 9; i++) {
        tinit(&t[i], i);
        arm(&t[i], 10 * (uint64_t)(i + 1));
    }
    rpc_timer_cancel(&heap, &t[0].t); /* the root */
    rpc_timer_cancel(&heap, &t[4].t); /* somewhere in the middle */
    rpc_timer_cancel(&heap, &t[8].t); /* the last slot */
    cr_assert_not(rpc_timer_armed(&t[4].t));
    cr_assert_eq(t[4].t.slot, 0u);
    rpc_timer_cancel(&heap, &t[4].t); /* not armed: no-op */
    cr_assert_eq(heap.n, 6u);
    cr_assert_eq(rpc_timers_next(&heap), 20u);
    cr_assert_eq(rpc_timers_run(&heap, 1000), 6u);
    static const int want[] = {1, 2, 3, 5, 6, 7};
    expect_log(want, 6);
}

Test(rpc_timer, cancel_never_armed_is_noop)
{
    struct ttimer t;

    tinit(&t, 0);
    rpc_timer_cancel(&heap, &t.t);
    cr_assert_eq(heap.n, 0u);
}

Test(rpc_timer, rearm_earlier_and_later)
{
    struct ttimer a, b, c, d;

    tinit(&a, 0);
    tinit(&b, 1);
    tinit(&c, 2);
    tinit(&d, 3);
    arm(&a, 10);
    arm(&b, 20);
    arm(&c, 30);
    arm(&d, 20);
    arm(&c, 5);  /* earlier: becomes the first */
    arm(&a, 40); /* later: becomes the last */
    arm(&b, 20); /* same due, re-armed: now after d */
    cr_assert_eq(heap.n, 4u, "re-arming does not add entries");
    cr_assert_eq(rpc_timers_next(&heap), 5u);
    cr_assert_eq(rpc_timers_run(&heap, 100), 4u);
    static const int want[] = {2, 3, 1, 0};
    expect_log(want, 4);
}

/* ---- Callbacks that change the heap ---- */

static struct ttimer *victim;

static void cancel_victim(struct ttimer *self)
{
    (void)self;
    rpc_timer_cancel(&heap, &victim->t);
}

Test(rpc_timer, fire_cancels_another_due_timer)
{
    struct ttimer a, b, c;

    tinit(&a, 0);
    tinit(&b, 1);
    tinit(&c, 2);
    a.action = cancel_victim;
    victim = &b;
    arm(&a, 10);
    arm(&b, 20); /* due in the same run, cancelled by a */
    arm(&c, 30);
    cr_assert_eq(rpc_timers_run(&heap, 100), 2u);
    static const int want[] = {0, 2};
    expect_log(want, 2);
    cr_assert_not(rpc_timer_armed(&b.t));
}

static uint64_t period;
static void rearm_self_later(struct ttimer *self)
{
    cr_assert_eq(rpc_timer_arm(&heap, &self->t, self->t.due + period), 0);
}

Test(rpc_timer, fire_rearms_itself_periodically)
{
    struct ttimer p, q;

    tinit(&p, 7);
    tinit(&q, 8);
    p.action = rearm_self_later;
    period = 100;
    arm(&p, 100);
    arm(&q, 250);
    cr_assert_eq(rpc_timers_run(&heap, 150), 1u); /* re-armed for 200 */
    cr_assert_eq(p.t.due, 200u);
    cr_assert_eq(rpc_timers_run(&heap, 250), 2u); /* 200, then q at 250 */
    static const int want[] = {7, 7, 8};
    expect_log(want, 3);
    cr_assert(rpc_timer_armed(&p.t));
    cr_assert_eq(p.t.due, 300u);
    cr_assert_eq(rpc_timers_next(&heap), 300u);
    /* Late by more than a period: re-armed for 400 <= now, it waits for
     * the next call instead of firing twice now. */
    cr_assert_eq(rpc_timers_run(&heap, 450), 1u);
    cr_assert_eq(p.t.due, 451u);
    cr_assert_eq(rpc_timers_run(&heap, 451), 1u);
    cr_assert_eq(p.t.due, 551u);
    rpc_timer_cancel(&heap, &p.t); /* p lives on this stack frame */
}

static void rearm_self_now(struct ttimer *self)
{
    cr_assert_eq(rpc_timer_arm(&heap, &self->t, 0), 0);
}

Test(rpc_timer, rearm_for_the_past_waits_for_the_next_run)
{
    struct ttimer a, b;

    tinit(&a, 0);
    tinit(&b, 1);
    a.action = rearm_self_now;
    arm(&a, 10);
    arm(&b, 20);
    cr_assert_eq(rpc_timers_run(&heap, 50), 2u);
    static const int first[] = {0, 1};
    expect_log(first, 2);
    cr_assert(rpc_timer_armed(&a.t));
    cr_assert_eq(a.t.due, 51u, "treated as due at now + 1");
    cr_assert_eq(rpc_timers_run(&heap, 50), 0u);
    cr_assert_eq(rpc_timers_run(&heap, 51), 1u); /* and again, re-armed */
    cr_assert_eq(a.t.due, 52u);
    rpc_timer_cancel(&heap, &a.t);
    cr_assert_eq(rpc_timers_run(&heap, 1000), 0u);
}

static struct ttimer spawned;
static void spawn_due_now(struct ttimer *self)
{
    (void)self;
    tinit(&spawned, 99);
    cr_assert_eq(rpc_timer_arm(&heap, &spawned.t, 5), 0);
}

Test(rpc_timer, timer_armed_for_the_past_by_a_fire_waits)
{
    struct ttimer a, b;

    tinit(&a, 0);
    tinit(&b, 1);
    a.action = spawn_due_now;
    arm(&a, 10);
    arm(&b, 40); /* older than the spawned one: still fires now */
    cr_assert_eq(rpc_timers_run(&heap, 40), 2u);
    cr_assert_eq(rpc_timers_next(&heap), 41u);
    cr_assert_eq(rpc_timers_run(&heap, 41), 1u);
    static const int want[] = {0, 1, 99};
    expect_log(want, 3);
}

static void cancel_self(struct ttimer *self)
{
    rpc_timer_cancel(&heap, &self->t); /* already disarmed: no-op */
}

Test(rpc_timer, fire_cancelling_itself_is_harmless)
{
    struct ttimer a, b;

    tinit(&a, 0);
    tinit(&b, 1);
    a.action = cancel_self;
    arm(&a, 1);
    arm(&b, 2);
    cr_assert_eq(rpc_timers_run(&heap, 2), 2u);
    cr_assert_eq(heap.n, 0u);
}

/* ---- Large random workload against a sorted reference ---- */

#define NRAND 100000

struct ref {
    uint64_t due;
    uint64_t seq; /* global arm sequence (FIFO tie-break) */
    int id;
    int armed;
};

static int ref_cmp(const void *pa, const void *pb)
{
    const struct ref *a = pa, *b = pb;
    if (a->due != b->due) {
        return a->due < b->due ? -1 : 1;
    }
    return a->seq < b->seq ? -1 : (a->seq > b->seq ? 1 : 0);
}

Test(rpc_timer, random_100k_match_sorted_reference)
{
    struct ttimer *t = calloc(NRAND, sizeof(*t));
    struct ref *r = calloc(NRAND, sizeof(*r));
    uint64_t seq = 0;

    cr_assert(t != NULL && r != NULL);
    /* Start near the wrap of the arm counter, so that the heap renumbers
     * its orders with about 50,000 timers armed. */
    heap.next_order = UINT32_MAX - 50000;
    for (int i = 0; i < NRAND; i++) {
        tinit(&t[i], i);
        r[i].id = i;
    }
    /* Dues in a small range so that ties are frequent. */
    for (int i = 0; i < NRAND; i++) {
        r[i].due = rng() % 20000;
        r[i].seq = seq++;
        r[i].armed = 1;
        arm(&t[i], r[i].due);
    }
    /* Re-arm a quarter (earlier or later), cancel a tenth. */
    for (int k = 0; k < NRAND / 4; k++) {
        int i = (int)(rng() % NRAND);
        r[i].due = rng() % 20000;
        r[i].seq = seq++;
        r[i].armed = 1;
        arm(&t[i], r[i].due);
    }
    for (int k = 0; k < NRAND / 10; k++) {
        int i = (int)(rng() % NRAND);
        r[i].armed = 0;
        rpc_timer_cancel(&heap, &t[i].t);
    }
    size_t live = 0;
    for (int i = 0; i < NRAND; i++) {
        if (r[i].armed) {
            r[live++] = r[i];
        }
    }
    cr_assert_eq(heap.n, live);
    qsort(r, live, sizeof(*r), ref_cmp);

    /* Run in uneven steps; each step fires exactly the reference prefix. */
    size_t done = 0;
    for (uint64_t now = 0; now < 20000; now += 1 + rng() % 997) {
        unsigned fired = rpc_timers_run(&heap, now);
        size_t want = done;
        while (want < live && r[want].due <= now) {
            want++;
        }
        cr_assert_eq(fired, want - done, "at %llu", (unsigned long long)now);
        done = want;
        cr_assert_eq(rpc_timers_next(&heap),
                     done < live ? r[done].due : UINT64_MAX);
    }
    rpc_timers_run(&heap, UINT64_MAX - 1);
    cr_assert_eq(fire_n, live);
    for (size_t k = 0; k < live; k++) {
        cr_assert_eq(fire_log[k], r[k].id, "fire %zu", k);
    }
    free(t);
    free(r);
}

Test(rpc_timer, fifo_survives_order_wrap)
{
    struct ttimer t[8];

    /* Arm orders around 2^32: the heap renumbers and keeps FIFO. */
    heap.next_order = UINT32_MAX - 3;
    for (int i = 0; i < 8; i++) {
        tinit(&t[i], i);
        arm(&t[i], i % 2 == 0 ? 100 : 50);
    }
    cr_assert_lt(heap.next_order, 100u, "orders were renumbered");
    cr_assert_eq(rpc_timers_run(&heap, 100), 8u);
    static const int want[] = {1, 3, 5, 7, 0, 2, 4, 6};
    expect_log(want, 8);
}

/* ---- Memory ---- */

Test(rpc_timer, reserve_gives_room_without_reallocation)
{
    struct ttimer t[100];

    cr_assert_eq(rpc_timers_reserve(&heap, 100), 0);
    cr_assert_geq(heap.cap, 100u);
    struct rpc_timer **array = heap.heap;
    for (int i = 0; i < 100; i++) {
        tinit(&t[i], i);
        arm(&t[i], (uint64_t)(100 - i));
    }
    cr_assert_eq(heap.heap, array, "arming within the reserve reallocates");
    cr_assert_eq(rpc_timers_reserve(&heap, 10), 0); /* smaller: no-op */
    cr_assert_eq(heap.heap, array);
    cr_assert_eq(rpc_timers_run(&heap, 1000), 100u);
}

Test(rpc_timer, fini_disarms_everything)
{
    struct ttimer t[20];

    for (int i = 0; i < 20; i++) {
        tinit(&t[i], i);
        arm(&t[i], (uint64_t)i);
    }
    rpc_timers_fini(&heap);
    for (int i = 0; i < 20; i++) {
        cr_assert_not(rpc_timer_armed(&t[i].t));
    }
    cr_assert_eq(heap.n, 0u);
    cr_assert_null(heap.heap);
    cr_assert_eq(fire_n, 0u, "fini fires nothing");
    rpc_timers_init(&heap); /* usable again */
    arm(&t[0], 1);
    cr_assert_eq(rpc_timers_run(&heap, 1), 1u);
}

/* Caps the address space a little above what is mapped now, so the next
 * large allocation fails. Returns the old limit for restore. */
static struct rlimit squeeze_address_space(size_t headroom)
{
    struct rlimit old, lim;
    unsigned long pages = 0;
    long page_size = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "r");

    cr_assert_not_null(f);
    cr_assert_eq(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
    lim = old;
    lim.rlim_cur = pages * (unsigned long)page_size + headroom;
    cr_assert_eq(setrlimit(RLIMIT_AS, &lim), 0);
    return old;
}

Test(rpc_timer, enomem_when_growth_fails)
{
    if (rpct_limits_unreliable()) {
        cr_skip_test("address-space limits do not work under ASan/valgrind");
    }
    enum { N = 1 << 20 };
    struct ttimer *t = calloc(N + 1, sizeof(*t));

    cr_assert_not_null(t);
    cr_assert_eq(rpc_timers_reserve(&heap, N), 0);
    for (int i = 0; i <= N; i++) {
        tinit(&t[i], i);
    }
    for (int i = 0; i < N; i++) {
        arm(&t[i], (uint64_t)i);
    }
    struct rlimit old = squeeze_address_space(1 << 20);
    cr_assert_eq(rpc_timers_reserve(&heap, 1u << 28), -ENOMEM);
    cr_assert_eq(heap.cap, (uint32_t)N, "a failed reserve changes nothing");
    cr_assert_eq(rpc_timer_arm(&heap, &t[N].t, 5), -ENOMEM);
    cr_assert_not(rpc_timer_armed(&t[N].t));
    /* re-arming an armed timer needs no room */
    cr_assert_eq(rpc_timer_arm(&heap, &t[3].t, 7), 0);
    cr_assert_eq(setrlimit(RLIMIT_AS, &old), 0);
    cr_assert_eq(heap.n, (uint32_t)N);
    cr_assert_eq(rpc_timers_run(&heap, 2), 3u);
    rpc_timers_fini(&heap); /* before the timers' memory goes */
    free(t);
}

/* ---- Cost ---- */

Test(rpc_timer, measure_arm_cancel_with_100k_armed)
{
    enum { N = 100000, OPS = 1000000 };
    struct ttimer *t = calloc(N + 1, sizeof(*t));

    cr_assert_not_null(t);
    for (int i = 0; i <= N; i++) {
        tinit(&t[i], i);
    }
    for (int i = 0; i < N; i++) {
        arm(&t[i], 1000000 + rng() % 1000000000);
    }
    uint64_t *due = malloc(OPS * sizeof(*due));
    cr_assert_not_null(due);
    for (int k = 0; k < OPS; k++) {
        due[k] = 1000000 + rng() % 1000000000;
    }
    unsigned long long t0 = FT_MonotonicMicros();
    for (int k = 0; k < OPS; k++) {
        rpc_timer_arm(&heap, &t[N].t, due[k]);
        rpc_timer_cancel(&heap, &t[N].t);
    }
    unsigned long long t1 = FT_MonotonicMicros();
    /* Re-arming one of the armed timers (the retransmission pattern). */
    for (int k = 0; k < OPS; k++) {
        rpc_timer_arm(&heap, &t[k % N].t, due[k]);
    }
    unsigned long long t2 = FT_MonotonicMicros();
    fprintf(stderr,
            "rpc_timer arm+cancel with 100000 armed: %.1f ns\n"
            "rpc_timer re-arm with 100000 armed: %.1f ns\n",
            (double)(t1 - t0) * 1000.0 / OPS, (double)(t2 - t1) * 1000.0 / OPS);
    cr_assert_eq(heap.n, (uint32_t)N);
    rpc_timers_fini(&heap); /* before the timers' memory goes */
    free(due);
    free(t);
}

/* ---- Retry schedule (section 2.11) ---- */

static void expect_bounds(const struct rpc_retry *r, const uint64_t *b,
                          int count)
{
    for (int i = 0; i < count; i++) {
        cr_assert_eq(r->bound[i], b[i], "B[%d] = %llu, expected %llu", i,
                     (unsigned long long)r->bound[i], (unsigned long long)b[i]);
    }
}

Test(rpc_retry, default_table_of_section_2_11)
{
    struct rpc_retry r;

    rpc_retry_init(&r, 6, NULL);
    cr_assert_eq(r.n, 6);
    cr_assert_eq(r.keepalive_us, 60000000u);
    static const uint64_t b[] = {0,       468750,  937500,   1875000,
                                 3750000, 7500000, 15000000, 15000000};
    expect_bounds(&r, b, 8);

    /* An RTO estimate of 2,400 µs (a fresh peer, 100-byte request). */
    static const int64_t wait[] = {102400,  568750,  1037500, 1975000,
                                   3850000, 7600000, 15100000};
    int64_t total = 0;
    for (int i = 0; i <= 6; i++) {
        cr_assert_eq(rpc_retry_interval(&r, i, 2400, 0), wait[i], "index %d",
                     i);
        total += wait[i];
    }
    cr_assert_eq(total, 30233650, "about 30.23 s of silence");
    cr_assert_eq(rpc_retry_interval(&r, 7, 2400, 0), -1, "give up");
    cr_assert_eq(rpc_retry_interval(&r, 100, 2400, 0), -1);
    cr_assert_eq(rpc_retry_interval(&r, -1, 2400, 0), 15100000, "BUSY");
    cr_assert_eq(rpc_retry_interval(&r, -2, 2400, 0), -1);
}

Test(rpc_retry, rto_above_bound_sftp_and_cap)
{
    struct rpc_retry r;

    rpc_retry_init(&r, 6, NULL);
    cr_assert_eq(rpc_retry_interval(&r, 1, 500000, 0), 600000);
    cr_assert_eq(rpc_retry_interval(&r, 0, 2400, 1), 2400, "SFTP: no 100 ms");
    cr_assert_eq(rpc_retry_interval(&r, 6, 2400, 1), 15000000);
    cr_assert_eq(rpc_retry_interval(&r, 0, 29950000, 0), 30000000);
    cr_assert_eq(rpc_retry_interval(&r, 0, 29900000, 0), 30000000);
    cr_assert_eq(rpc_retry_interval(&r, 0, 29899999, 0), 29999999);
    cr_assert_eq(rpc_retry_interval(&r, 3, UINT64_MAX, 0), 30000000);
    cr_assert_eq(rpc_retry_interval(&r, 3, UINT64_MAX, 1), 30000000);
}

Test(rpc_retry, retry_count_clamped)
{
    struct rpc_retry r;

    rpc_retry_init(&r, -1, NULL);
    cr_assert_eq(r.n, 6);
    rpc_retry_init(&r, -1000, NULL);
    cr_assert_eq(r.n, 6);
    rpc_retry_init(&r, 16, NULL);
    cr_assert_eq(r.n, 15);
    rpc_retry_init(&r, 1L << 40, NULL);
    cr_assert_eq(r.n, 15);
}

Test(rpc_retry, zero_retries)
{
    struct rpc_retry r;

    rpc_retry_init(&r, 0, NULL);
    cr_assert_eq(r.n, 0);
    static const uint64_t b[] = {0, 15000000, 0};
    expect_bounds(&r, b, 3);
    cr_assert_eq(rpc_retry_interval(&r, 0, 2400, 0), 102400);
    cr_assert_eq(rpc_retry_interval(&r, 1, 2400, 0), -1);
    cr_assert_eq(rpc_retry_interval(&r, -1, 2400, 0), 15100000);
}

Test(rpc_retry, fifteen_retries)
{
    struct rpc_retry r;

    rpc_retry_init(&r, 15, NULL);
    cr_assert_eq(r.bound[0], 0u);
    for (int i = 1; i <= 15; i++) {
        cr_assert_eq(r.bound[i], 60000000ull >> (17 - i), "B[%d]", i);
    }
    cr_assert_eq(r.bound[1], 915u);
    cr_assert_eq(r.bound[16], 15000000u);
    cr_assert_eq(rpc_retry_interval(&r, 1, 2400, 0), 102400);
    cr_assert_eq(rpc_retry_interval(&r, 15, 2400, 0), 15100000);
    cr_assert_eq(rpc_retry_interval(&r, 16, 2400, 0), -1);
}

Test(rpc_retry, keepalive_four_seconds)
{
    struct rpc_retry r;
    struct timeval ka = {4, 0};

    rpc_retry_init(&r, 6, &ka);
    cr_assert_eq(r.keepalive_us, 4000000u);
    static const uint64_t b[] = {0,      31250,  62500,   125000,
                                 250000, 500000, 1000000, 1000000};
    expect_bounds(&r, b, 8);
    cr_assert_eq(rpc_retry_interval(&r, 1, 2400, 0), 131250);
    cr_assert_eq(rpc_retry_interval(&r, 1, 40000, 0), 140000);
    cr_assert_eq(rpc_retry_interval(&r, -1, 2400, 0), 1100000);
}

Test(rpc_retry, odd_keepalive_truncates_like_shifts)
{
    struct rpc_retry r;
    struct timeval ka = {1, 1}; /* 1,000,001 µs */

    rpc_retry_init(&r, 6, &ka);
    static const uint64_t b[] = {0,     7812,   15625,  31250,
                                 62500, 125000, 250000, 250000};
    expect_bounds(&r, b, 8);
}

Test(rpc_retry, keepalive_edge_values)
{
    struct rpc_retry r;
    struct timeval neg = {-5, 0};
    struct timeval zero = {0, 0};
    struct timeval huge = {(time_t)1 << 40, 0};
    struct timeval usec_only = {0, 8000000};
    struct timeval neg_usec = {0, -1};

    rpc_retry_init(&r, 6, &neg);
    cr_assert_eq(r.keepalive_us, 60000000u);
    rpc_retry_init(&r, 6, &neg_usec);
    cr_assert_eq(r.keepalive_us, 60000000u);
    rpc_retry_init(&r, 6, &huge);
    cr_assert_eq(r.keepalive_us, 1000000000000ull);
    rpc_retry_init(&r, 6, &usec_only);
    cr_assert_eq(r.keepalive_us, 8000000u);
    rpc_retry_init(&r, 3, &zero);
    cr_assert_eq(r.keepalive_us, 0u);
    for (int i = 0; i <= 4; i++) {
        cr_assert_eq(r.bound[i], 0u);
    }
    cr_assert_eq(rpc_retry_interval(&r, 3, 2400, 0), 102400);
    cr_assert_eq(rpc_retry_interval(&r, 4, 2400, 0), -1);
}
