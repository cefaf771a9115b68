/* SPDX-License-Identifier: MIT */
/*
 * Binary min-heap of timers (see rpc_timer.h). heap[i]'s children are
 * heap[2i+1] and heap[2i+2]; every timer records its index + 1 in slot so
 * that cancel and re-arm find it in O(1) and repair the heap in O(log n).
 */
#include "rpc_timer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAP 16u

/* (due, order) lexicographically. order is compared as a plain unsigned
 * number; renumber() keeps that valid when next_order would wrap. */
static bool earlier(const struct rpc_timer *a, const struct rpc_timer *b)
{
    if (a->due != b->due) {
        return a->due < b->due;
    }
    return a->order < b->order;
}

static void place(struct rpc_timers *h, uint32_t i, struct rpc_timer *t)
{
    h->heap[i] = t;
    t->slot = i + 1;
}

static void sift_up(struct rpc_timers *h, uint32_t i)
{
    struct rpc_timer *t = h->heap[i];

    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!earlier(t, h->heap[parent])) {
            break;
        }
        place(h, i, h->heap[parent]);
        i = parent;
    }
    place(h, i, t);
}

/* Sifts heap[i] down within the first n entries. */
static void sift_down(struct rpc_timers *h, uint32_t i, uint32_t n)
{
    struct rpc_timer *t = h->heap[i];

    for (;;) {
        uint64_t child = 2 * (uint64_t)i + 1;
        if (child >= n) {
            break;
        }
        if (child + 1 < n && earlier(h->heap[child + 1], h->heap[child])) {
            child++;
        }
        if (!earlier(h->heap[child], t)) {
            break;
        }
        place(h, i, h->heap[child]);
        i = (uint32_t)child;
    }
    place(h, i, t);
}

/* Restores the heap property around index i after heap[i] changed. */
static void fix(struct rpc_timers *h, uint32_t i)
{
    if (i > 0 && earlier(h->heap[i], h->heap[(i - 1) / 2])) {
        sift_up(h, i);
    } else {
        sift_down(h, i, h->n);
    }
}

/* Called once every 2^32 arms: gives the armed timers the orders 0..n-1 in
 * their current (due, order) sequence so the plain comparison of orders
 * stays right after next_order wraps. An in-place heapsort leaves the
 * array in descending order; reversed, a sorted array is a valid heap. */
static void renumber(struct rpc_timers *h)
{
    for (uint32_t end = h->n; end > 1; end--) {
        struct rpc_timer *min = h->heap[0];
        h->heap[0] = h->heap[end - 1];
        h->heap[end - 1] = min;
        sift_down(h, 0, end - 1);
    }
    for (uint32_t i = 0, j = h->n; i + 1 < j; i++, j--) {
        struct rpc_timer *t = h->heap[i];
        h->heap[i] = h->heap[j - 1];
        h->heap[j - 1] = t;
    }
    for (uint32_t i = 0; i < h->n; i++) {
        h->heap[i]->order = i;
        h->heap[i]->slot = i + 1;
    }
    h->next_order = h->n;
}

void rpc_timers_init(struct rpc_timers *h)
{
    memset(h, 0, sizeof(*h));
}

void rpc_timers_fini(struct rpc_timers *h)
{
    for (uint32_t i = 0; i < h->n; i++) {
        h->heap[i]->slot = 0;
    }
    free(h->heap);
    memset(h, 0, sizeof(*h));
}

int rpc_timers_reserve(struct rpc_timers *h, uint32_t n)
{
    if (n <= h->cap) {
        return 0;
    }
    struct rpc_timer **heap = realloc(h->heap, (size_t)n * sizeof(*heap));
    if (heap == NULL) {
        return -ENOMEM;
    }
    h->heap = heap;
    h->cap = n;
    return 0;
}

/* Room for one more armed timer: doubles the array when full. */
static int grow(struct rpc_timers *h)
{
    if (h->n < h->cap) {
        return 0;
    }
    if (h->cap == UINT32_MAX) {
        return -ENOMEM;
    }
    uint64_t want = h->cap < MIN_CAP ? MIN_CAP : 2 * (uint64_t)h->cap;
    return rpc_timers_reserve(h,
                              want > UINT32_MAX ? UINT32_MAX : (uint32_t)want);
}

int rpc_timer_arm(struct rpc_timers *h, struct rpc_timer *t, uint64_t due)
{
    if (!rpc_timer_armed(t) && grow(h) != 0) {
        return -ENOMEM;
    }
    if (h->next_order == UINT32_MAX) {
        renumber(h);
    }
    if (h->running && due <= h->run_now) {
        due = h->run_now + 1;
    }
    t->due = due;
    t->order = h->next_order++;
    if (rpc_timer_armed(t)) {
        fix(h, t->slot - 1);
    } else {
        place(h, h->n++, t);
        sift_up(h, h->n - 1);
    }
    return 0;
}

void rpc_timer_cancel(struct rpc_timers *h, struct rpc_timer *t)
{
    if (!rpc_timer_armed(t)) {
        return;
    }
    uint32_t i = t->slot - 1;
    struct rpc_timer *last = h->heap[--h->n];

    t->slot = 0;
    if (last != t) {
        place(h, i, last);
        fix(h, i);
    }
}

uint64_t rpc_timers_next(const struct rpc_timers *h)
{
    return h->n > 0 ? h->heap[0]->due : UINT64_MAX;
}

unsigned rpc_timers_run(struct rpc_timers *h, uint64_t now)
{
    unsigned fired = 0;

    /* due == UINT64_MAX means never, and re-arming for now + 1 must not
     * overflow. */
    if (now == UINT64_MAX) {
        now = UINT64_MAX - 1;
    }
    h->running = true;
    h->run_now = now;
    while (h->n > 0 && h->heap[0]->due <= now) {
        struct rpc_timer *t = h->heap[0];
        rpc_timer_cancel(h, t);
        fired++;
        t->fire(t);
    }
    h->running = false;
    return fired;
}
