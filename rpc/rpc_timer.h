/* SPDX-License-Identifier: MIT */
/*
 * The RPC layer's timers: an intrusive binary min-heap ordered by due time,
 * ties broken by arm order (first armed fires first). Arm, re-arm and
 * cancel cost O(log n), finding the next deadline O(1); nothing allocates
 * except growing the heap's pointer array (8 bytes per armed timer), which
 * rpc_timers_reserve() can do in advance.
 *
 * A struct rpc_timer belongs to its owner (embedded in a connection or a
 * waiting caller); the heap only points at it. The owner sets fire before
 * arming and must cancel the timer before freeing or reusing its memory.
 * Times are µs on whatever monotonic clock the caller uses consistently;
 * due == UINT64_MAX means "never" and never fires.
 *
 * Single-threaded (the LWP runtime's thread); no function blocks or yields.
 * fire() runs from rpc_timers_run() and may arm or cancel any timer of the
 * same heap, itself included, but must not call rpc_timers_run() or
 * rpc_timers_fini() on it.
 */
#ifndef RPC_TIMER_H
#define RPC_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct rpc_timer {
    uint64_t due;                      /* µs on the caller's monotonic clock */
    uint32_t slot;                     /* heap index + 1; 0 = not armed */
    uint32_t order;                    /* tie-break: arm order (FIFO among
                                          equal due) */
    void (*fire)(struct rpc_timer *t); /* set by the owner before arming */
};

struct rpc_timers {
    struct rpc_timer **heap; /* heap[0] is the earliest */
    uint32_t n, cap;         /* armed timers, room in heap */
    uint32_t next_order;     /* order given to the next arm */
    bool running;            /* inside rpc_timers_run() */
    uint64_t run_now;        /* its now, while running */
};

/* An empty heap; allocates nothing. Never fails. */
void rpc_timers_init(struct rpc_timers *h);

/* Disarms every armed timer (slot = 0; none fires) and frees the array.
 * The heap may be initialised again afterwards. */
void rpc_timers_fini(struct rpc_timers *h);

/* Makes room for n armed timers in total, so that arming up to n never
 * fails. Returns 0, or -ENOMEM (nothing changed). */
int rpc_timers_reserve(struct rpc_timers *h, uint32_t n);

/* Arms t to fire at due (µs), or moves it there if already armed; either
 * way it counts as armed now for the FIFO tie-break. Armed from inside a
 * fire() with due <= the running rpc_timers_run()'s now, it is treated as
 * due at now + 1 so that it fires in a later run call, never in the
 * current one (t->due reads back now + 1). Returns 0, or -ENOMEM when the
 * array must grow beyond the reserved room and cannot (t is then left as
 * it was: not armed). */
int rpc_timer_arm(struct rpc_timers *h, struct rpc_timer *t, uint64_t due);

/* Disarms t; a no-op if it is not armed. */
void rpc_timer_cancel(struct rpc_timers *h, struct rpc_timer *t);

static inline int rpc_timer_armed(const struct rpc_timer *t)
{
    return t->slot != 0;
}

/* For a timer armed lazily (left armed when the work it guards is done,
 * and checked when it fires): if due is still ahead of now, arms t for due
 * and returns true (the fire function then returns); else false. */
static inline bool rpc_timer_early(struct rpc_timers *h, struct rpc_timer *t,
                                   uint64_t now, uint64_t due)
{
    if (now >= due) {
        return false;
    }
    rpc_timer_arm(h, t, due);
    return true;
}

/* The earliest due time, or UINT64_MAX if nothing is armed. */
uint64_t rpc_timers_next(const struct rpc_timers *h);

/* Disarms and fires, earliest first (FIFO among equal due), every timer
 * with due <= now. A timer cancelled by an earlier fire() of the same call
 * does not fire; one armed or re-armed during the call for due <= now
 * fires only in a later call (see rpc_timer_arm), so a call always ends.
 * Returns how many fired. */
unsigned rpc_timers_run(struct rpc_timers *h, uint64_t now);

#endif /* RPC_TIMER_H */
