/* SPDX-License-Identifier: MIT */
/*
 * The scheduler's hot path, inlined into every caller that yields or
 * blocks (lwp_sched.c, lwp_event.c). After a context switch each return
 * on the resumed stack is mispredicted, because the return-address
 * predictor still holds the other stack's calls; every frame saved between
 * the switch and the public entry point is a few nanoseconds saved.
 * Everything rare stays out of line.
 */
#ifndef LWP_SCHED_INLINE_H
#define LWP_SCHED_INLINE_H

#ifdef LWP_ASAN
#include <sanitizer/asan_interface.h>
#endif

#include "lwp_internal.h"

void lwp__dispatch_slow(struct lwp_runtime *rt, struct lwp_pcb *cur,
                        struct lwp_pcb *next);
void lwp__deadlock(struct lwp_runtime *rt) __attribute__((noreturn));
void lwp__reap_and_protect(struct lwp_runtime *rt);

/* Debug tracing, work-time reports and queue traces are all switched on
 * by globals the program may write at any time, so read them each time. */
static inline int lwp__slow_dispatch_wanted(void)
{
    return (lwp_debug | LWP_TraceProcesses |
            ((cont_sw_threshold.tv_sec | cont_sw_threshold.tv_usec |
              run_wait_threshold.tv_sec | run_wait_threshold.tv_usec) != 0)) !=
           0;
}

/* Runs in the LWP that just got the CPU, right after the switch: frees a
 * dead LWP's stack now that nobody runs on it. */
static inline __attribute__((always_inline)) void
lwp__after_switch(struct lwp_runtime *rt)
{
    if (lwp_unlikely(rt->zombie != NULL || rt->protect))
        lwp__reap_and_protect(rt);
}

static inline __attribute__((always_inline)) void
lwp__switch_to(struct lwp_runtime *rt, struct lwp_pcb *from,
               struct lwp_pcb *to)
{
#ifdef LWP_ASAN
    void *fake = NULL;
    int dying = from->state == LWP_ST_DEAD;
#endif
#ifdef LWP_SWITCH_UCONTEXT
    from->topstack = __builtin_frame_address(0); /* asm: it is ctx.sp */
#endif
    if (lwp_unlikely(rt->protect)) {
        lwp__protect(rt, to, 0);
        rt->last_from = from;
    }
    rt->current = to;
#ifdef LWP_ASAN
    __sanitizer_start_switch_fiber(
        dying ? NULL : &fake,
        to->stack_lo ? to->stack_lo : rt->main_stack_top - rt->main_stack_size,
        to->stack_lo ? to->stack_size : rt->main_stack_size);
#endif
    lwp__arch_swap(&from->ctx, &to->ctx);
#ifdef LWP_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
    lwp__after_switch(lwp__rt);
}

/* Pick the highest-priority runnable LWP and run it. The caller has already
 * put `cur` where it belongs (rotated, blocked or dead). */
static inline __attribute__((always_inline)) void
lwp__schedule(struct lwp_runtime *rt, struct lwp_pcb *cur)
{
    struct lwp_pcb *next;

    if (cur->state != LWP_ST_DEAD && lwp_unlikely(*cur->canary != 0))
        lwp__canary_damaged(rt, cur);
    if (lwp_unlikely(!rt->runmask))
        lwp__deadlock(rt);
    next = rt->runq[31 - __builtin_clz(rt->runmask)];
    Cont_Sws++;
    if (lwp_unlikely(lwp__slow_dispatch_wanted()))
        lwp__dispatch_slow(rt, cur, next);
    if (next != cur)
        lwp__switch_to(rt, cur, next);
}

/* The running LWP goes behind the others of its priority. */
static inline __attribute__((always_inline)) void
lwp__yield_inline(struct lwp_runtime *rt)
{
    struct lwp_pcb *cur = rt->current;

    if (rt->runq[cur->priority] == cur)
        rt->runq[cur->priority] = cur->next;
    lwp__schedule(rt, cur);
}

/* The running LWP has set what it waits for; take it off the CPU. */
static inline __attribute__((always_inline)) void
lwp__block_inline(struct lwp_runtime *rt)
{
    struct lwp_pcb *cur = rt->current;

    cur->state = LWP_ST_WAITING;
    lwp__runq_remove(rt, cur);
    timerclear(&cur->last_ready);
    lwp__schedule(rt, cur);
}

#endif /* LWP_SCHED_INLINE_H */
