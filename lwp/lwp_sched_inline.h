/* SPDX-License-Identifier: MIT */
/*
 * The scheduler's hot path, inlined into every caller that yields or
 * blocks (lwp_sched.c, lwp_event.c). A return on the resumed stack right
 * after a switch is mispredicted (the return-address predictor holds the
 * other stack's calls, about 11 ns here), so the public calls that block
 * or yield end in the switch as a tail call: the resumed LWP continues
 * straight in its own caller, entered by a predicted indirect jump. The
 * inlined path calls nothing else, so those calls save no registers of
 * their own; everything rare is handed whole to out-of-line code.
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
int lwp__schedule_slow(struct lwp_runtime *rt, struct lwp_pcb *cur, int ret);

/* Debug tracing, work-time reports and queue traces are all switched on
 * by globals the program may write at any time, so read them each time. */
static inline __attribute__((always_inline)) int
lwp__slow_dispatch_wanted(void)
{
    return (lwp_debug | LWP_TraceProcesses |
            ((cont_sw_threshold.tv_sec | cont_sw_threshold.tv_usec |
              run_wait_threshold.tv_sec | run_wait_threshold.tv_usec) != 0)) !=
           0;
}

/* Where the switch does not run lwp__after_switch_hook itself (the
 * ucontext fallback, and AddressSanitizer builds, where the hook must wait
 * until the sanitizer knows the switch is over), C runs it. */
#if defined(LWP_SWITCH_UCONTEXT) || defined(LWP_ASAN)
#define LWP_AFTER_SWITCH_IN_C 1
/* Those switches also call code outside the library, where a tick must
 * not cut (lwp__no_cut): set from the start of the switch until the LWP
 * switched to runs its own code again. */
#define LWP_SWITCH_CALLS_OUT 1
#endif

/* Runs in the LWP that just got the CPU, right after the switch: frees a
 * dead LWP's stack now that nobody runs on it. */
static inline __attribute__((always_inline)) void lwp__after_switch(void)
{
    if (lwp_unlikely(lwp__switch_hook))
        lwp__after_switch_hook();
#ifdef LWP_SWITCH_CALLS_OUT
    lwp__no_cut = 0;
#endif
}

/* The first code of a new context (lwp__start, the shared stacks'
 * copier), which no switch call returns into. */
static inline __attribute__((always_inline)) void lwp__first_arrival(void)
{
#ifdef LWP_ASAN
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
#ifdef LWP_AFTER_SWITCH_IN_C
    lwp__after_switch();
#endif
}

/* `from` will never be resumed: under AddressSanitizer, its fake frames
 * can go. */
static inline __attribute__((always_inline)) int
lwp__leaves_for_good(const struct lwp_runtime *rt, const struct lwp_pcb *from)
{
    return from->state == LWP_ST_DEAD || from == rt->recycled;
}

/* Save the running context in `save` and resume `load`, whose stack is
 * [lo, lo + size) (told to AddressSanitizer; `dying`: see above); returns
 * `ret` once `save` is resumed. With the assembly switch and no
 * sanitizer, a tail call, so callers that return its value resume
 * straight into their own caller. */
static inline __attribute__((always_inline)) int
lwp__swap(struct lwp_arch_ctx *save, struct lwp_arch_ctx *load, void *lo,
          size_t size, int dying, int ret)
{
#if defined(LWP_SWITCH_UCONTEXT)
    (void)lo, (void)size, (void)dying;
    lwp__arch_swap(save, load);
#elif defined(LWP_ASAN)
    void *fake = NULL;

    __sanitizer_start_switch_fiber(dying ? NULL : &fake, lo, size);
    lwp__arch_switch(&save->sp, load->sp, 0);
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#else
    (void)lo, (void)size, (void)dying;
    return lwp__arch_switch(&save->sp, load->sp, ret);
#endif
#ifdef LWP_AFTER_SWITCH_IN_C
    lwp__after_switch();
    return ret;
#endif
}

/* Switch from `from` to `to`; returns `ret` once `from` runs again (a
 * tail call where lwp__swap is one). Callers that know stacks are not
 * protected pass may_protect 0. */
static inline __attribute__((always_inline)) int
lwp__switch_to(struct lwp_runtime *rt, struct lwp_pcb *from,
               struct lwp_pcb *to, int ret, int may_protect)
{
#ifdef LWP_SWITCH_UCONTEXT
    from->topstack = __builtin_frame_address(0); /* asm: it is ctx.sp */
#endif
#ifdef LWP_SWITCH_CALLS_OUT
    lwp__no_cut = 1;
#endif
    if (may_protect && lwp_unlikely(rt->protect)) {
        lwp__protect(rt, to, 0);
        rt->last_from = from;
    }
    rt->current = to;
    /* A shared-stack LWP whose bytes are not on the shared stack goes
     * through the copier (lwp_shared.c). With the assembly switch, such an
     * LWP is the one with no saved stack pointer: the test costs nothing
     * but a branch on the value the switch loads anyway (testing a flag
     * instead made a wait/signal hand-off 7 ns slower). */
#if defined(LWP_SWITCH_UCONTEXT)
    if (lwp_unlikely(to->xflags & LWP_XF_SHARED) && to != rt->stack_owner)
        return lwp__switch_shared(rt, from, to, ret);
#else
    if (lwp_unlikely(!to->ctx.sp))
        return lwp__switch_shared(rt, from, to, ret);
#endif
    return lwp__swap(
        &from->ctx, &to->ctx,
        to->stack_lo ? to->stack_lo : rt->main_stack_top - rt->main_stack_size,
        to->stack_lo ? to->stack_size : rt->main_stack_size,
        lwp__leaves_for_good(rt, from), ret);
}

/* The highest-priority runnable LWP; there is one (runmask != 0). */
static inline __attribute__((always_inline)) struct lwp_pcb *
lwp__next_runnable(const struct lwp_runtime *rt)
{
    return rt->runq[31 - __builtin_clz(rt->runmask)];
}

/* Lines of a suspended stack a resume touches first: the saved registers
 * at its stack pointer, then the frames of the calls it returns through
 * (IOMGR's wait and the caller's own locals: some 700 bytes). */
#define LWP_FETCH_AHEAD_LINES 13

/* With many LWPs, the one switched to resumes on a stack (and, while
 * arena stacks are in use, will check a magic word at its other end) that
 * left the cache while it waited: each a miss taken in full at the switch
 * (a dTLB miss too, one page per stack). So while
 * `to` runs, fetch what the LWP after it in the run queue will touch, and
 * the PCB of the one after that, whose fields the next switch reads here:
 * its own PCB was fetched one switch earlier, so nothing below waits for
 * memory. Nothing to do when that LWP is the one running now or `to`
 * itself: LWPs handing over to each other keep all of it in the cache,
 * and the prefetches would cost them a quarter of a yield. A hint: the
 * queue may change meanwhile, and prefetches never fault. */
static inline __attribute__((always_inline)) void
lwp__fetch_ahead(const struct lwp_runtime *rt, const struct lwp_pcb *from,
                 const struct lwp_pcb *to)
{
    const struct lwp_pcb *n = to->next;
    const char *sp;

    if (n == from || n == to)
        return;
    sp = lwp__last_sp(n);
    __builtin_prefetch(n->next);
    if (lwp_unlikely(rt->watch_words))
        __builtin_prefetch(n->canary);
    if (sp)
        lwp__prefetch_lines(sp, LWP_FETCH_AHEAD_LINES);
}

/* Switch to the chosen LWP unless it is `cur`; returns `ret` once `cur`
 * runs again. The dispatch is already counted. */
static inline __attribute__((always_inline)) int
lwp__run_next(struct lwp_runtime *rt, struct lwp_pcb *cur, int ret,
              int may_protect)
{
    struct lwp_pcb *next = lwp__next_runnable(rt);

    if (next == cur)
        return ret;
    lwp__fetch_ahead(rt, cur, next);
    return lwp__switch_to(rt, cur, next, ret, may_protect);
}

/* The stack pointer where this is inlined. */
static inline __attribute__((always_inline)) char *lwp__sp_here(void)
{
    char *sp;

#if defined(__x86_64__)
    __asm__("movq %%rsp, %0" : "=r"(sp));
#elif defined(__aarch64__)
    __asm__("mov %0, sp" : "=r"(sp));
#else
    sp = __builtin_frame_address(0);
#endif
    return sp;
}

/* The stack of p, the running LWP, may show an overflow: it runs below
 * its magic word (at its stack's low end), as only a frame that left the
 * stack (into an arena's gap, or past the guard region) can; or, while
 * any LWP runs on an unguarded arena stack, the word is damaged. The
 * word's address doubles as the stack's low bound, so the first test
 * reads only the PCB. A guarded stack's word is not read here: nothing
 * but a frame ending exactly on it can write it without faulting in the
 * guard, and it is another page per LWP (the stack's other end), which
 * cost the Coda-shaped server of bench_echo 3% of its CPU at 1,000
 * connections; the slow path and the LWP's end check it. The main LWP's
 * word is placed below the thread's stack (lwp__main_canary_at); where it
 * cannot be, its switches take the slow path, which leaves it out. */
static inline __attribute__((always_inline)) int
lwp__stack_suspect(const struct lwp_runtime *rt, const struct lwp_pcb *p,
                   const char *sp)
{
    if (lwp_unlikely(rt->watch_words) && *p->canary != 0)
        return 1;
    return sp < (const char *)p->canary;
}

/* Pick the highest-priority runnable LWP and run it; returns `ret` once
 * `cur` runs again. The caller has already put `cur` where it belongs
 * (rotated, blocked or dead). Every rare case (an overflowed stack,
 * deadlock, protected stacks, tracing, special contexts in use by any
 * LWP) is handed whole to lwp__schedule_slow: the
 * inlined path then calls nothing but the switch, so its callers keep no
 * registers to save and restore around it. */
static inline __attribute__((always_inline)) int
lwp__schedule(struct lwp_runtime *rt, struct lwp_pcb *cur, int ret)
{
    if (lwp_unlikely((cur->state != LWP_ST_DEAD &&
                      lwp__stack_suspect(rt, cur, lwp__sp_here())) |
                     !rt->runmask | rt->slow |
                     lwp__slow_dispatch_wanted()))
        return lwp__schedule_slow(rt, cur, ret);
    Cont_Sws++;
    return lwp__run_next(rt, cur, ret, 0);
}

/* The running LWP goes behind the others of its priority; returns `ret`
 * once it runs again. */
static inline __attribute__((always_inline)) int
lwp__yield_inline(struct lwp_runtime *rt, int ret)
{
    struct lwp_pcb *cur = rt->current;

    if (rt->runq[cur->priority] == cur)
        rt->runq[cur->priority] = cur->next;
    return lwp__schedule(rt, cur, ret);
}

/* The running LWP has set what it waits for; take it off the CPU until it
 * is woken, then return `ret`. */
static inline __attribute__((always_inline)) int
lwp__block_inline(struct lwp_runtime *rt, int ret)
{
    struct lwp_pcb *cur = rt->current;

    cur->state = LWP_ST_WAITING;
    lwp__runq_remove(rt, cur);
    /* A stamp its dispatch did not read (the threshold was cleared in
     * between) must not be taken for a later one. Tested by the flag in
     * the PCB's first line: with many LWPs, the stamp's line is a cache
     * miss at every block. */
    if (lwp_unlikely(cur->xflags & LWP_XF_STAMPED))
        lwp__unstamp(cur);
    return lwp__schedule(rt, cur, ret);
}

#endif /* LWP_SCHED_INLINE_H */
