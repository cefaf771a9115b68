/* SPDX-License-Identifier: MIT */
/*
 * Shared-stack LWPs (LWP_CREATE_SHARED_STACK): they all run on one stack,
 * and each keeps only its live part, from its stack pointer to the top, in
 * a heap buffer of that size while another one has the stack.
 *
 * Why: a server with an LWP per connection touches, at every round trip,
 * the top of one more stack, a page of its own per connection. Measured
 * here (bench_echo's libevstk peer), a distinct page per connection costs
 * a libev server 13-30 % more CPU at 1,000 connections, while the same
 * bytes packed next to each other's cost about 2 %. A shared-stack LWP's
 * saved bytes are a few hundred, packed by malloc, and the stack they
 * run on stays hot.
 *
 * The stack changes hands lazily: an LWP that gives up the CPU leaves its
 * bytes in place, and they move out only when another shared-stack LWP is
 * to run (lwp__switch_shared). The copying runs on a small stack of its
 * own, the copier's, since it overwrites the stack the leaving LWP was on:
 * the leaving LWP switches to the copier, which saves the owner's bytes,
 * puts the arriving LWP's bytes back (or builds its first frame) and
 * switches to it. That is one more switch, of a few nanoseconds, and two
 * copies of the live depth.
 *
 * With the assembly switch, a shared-stack LWP whose bytes are not on the
 * stack (not started, or evicted) has a NULL ctx.sp, its stack pointer
 * kept in sh_sp: that NULL is all the switch tests (lwp__switch_to). The
 * ucontext fallback tests the flag and the owner instead.
 */
#include <string.h>

#include "lwp_internal.h"
#include "lwp_sched_inline.h"

#define COPIER_STACK (64 * 1024)

struct lwp_shared {
    char *run_lo;              /* the shared stack: [run_lo, run_lo + size) */
    unsigned int run_vg;
    char *copier_lo;           /* the copier's stack */
    unsigned int copier_vg;
    struct lwp_arch_ctx copier; /* the copier, suspended */
    struct lwp_pcb *next;      /* the LWP the copier is to load */
};

/* ---- Memory ---- */

/* Bytes copied between the shared stack and the buffers. The stack holds
 * AddressSanitizer's red zones of frames, which an intercepted memcpy
 * would report: there, a plain loop the sanitizer does not check. */
#ifdef LWP_ASAN
__attribute__((no_sanitize("address"), noinline)) static void
copy_bytes(void *dst, const void *src, size_t n)
{
    volatile unsigned char *d = dst;
    const volatile unsigned char *s = src;

    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
}
#else
#define copy_bytes memcpy
#endif

static char *run_top(const struct lwp_shared *sh)
{
    return sh->run_lo + LWP_SHARED_STACK_MAX;
}

/* ---- The copier ---- */

/* p's bytes leave the stack: the switch must now go through the copier. */
static void mark_off_stack(struct lwp_pcb *p)
{
#ifndef LWP_SWITCH_UCONTEXT
    p->sh_sp = p->ctx.sp;
    p->ctx.sp = NULL;
#else
    (void)p;
#endif
}

static void mark_on_stack(struct lwp_pcb *p)
{
#ifndef LWP_SWITCH_UCONTEXT
    p->ctx.sp = p->sh_sp;
#else
    (void)p;
#endif
}

/* The lowest byte of p's frames on the shared stack. All of the stack if p
 * last ran elsewhere: an LWP that overflowed into the guard page leaves
 * for good from the signal stack, its frames below any sane bound. */
static char *frames_lo(const struct lwp_shared *sh, const struct lwp_pcb *p)
{
    char *lo = lwp__arch_live_lo(&p->ctx);

    return lo >= sh->run_lo && lo <= run_top(sh) ? lo : sh->run_lo;
}

/* The owner's live bytes go to its buffer, unless it is leaving for good;
 * the stack is then free. Returns where the owner's frames began. */
static char *evict(struct lwp_runtime *rt, struct lwp_shared *sh)
{
    struct lwp_pcb *o = rt->stack_owner;
    char *lo, *top = run_top(sh);
    size_t len;

    rt->stack_owner = NULL;
    if (!o)
        return top;
    lo = frames_lo(sh, o);
    if (lwp__leaves_for_good(rt, o)) {
        mark_off_stack(o);
        return lo;
    }
    len = (size_t)(top - lo);
    if (lwp_unlikely(len > o->sh_limit))
        lwp__shared_overflowed(o, len);
    if (len > o->sh_cap) {
        size_t cap = (len + 63) & ~(size_t)63;
        char *n = realloc(o->sh_save, cap);
        if (!n)
            lwp__fatal("LWP switch", "no memory to save the %zu-byte live "
                       "stack of shared-stack LWP \"%s\"", len, o->name);
        o->sh_save = n;
        o->sh_cap = (uint32_t)cap;
    }
    if (lwp_unlikely(rt->on_valgrind))
        lwp__stack_copy_quietly(o->sh_save, lo, len);
    else
        copy_bytes(o->sh_save, lo, len);
    mark_off_stack(o);
    o->sh_len = (uint32_t)len;
    if (len > o->sh_hw)
        o->sh_hw = (uint32_t)len;
    return lo;
}

/* Room a new LWP's first frame needs below the top (generous). */
#define FIRST_FRAME 4096

/* p's bytes back in place below the top, or its first frame built there. */
static void load(struct lwp_runtime *rt, struct lwp_shared *sh,
                 struct lwp_pcb *p, char *evicted_lo)
{
    char *top = run_top(sh);
    char *lo = top - (p->sh_fresh ? FIRST_FRAME : p->sh_len);
    char *stale = evicted_lo < lo ? evicted_lo : lo; /* frames not p's */

    lwp__stack_forget(rt, stale, (size_t)(top - stale));
    if (p->sh_fresh) {
        p->sh_fresh = 0;
        lwp__arch_make(&p->ctx, sh->run_lo, LWP_SHARED_STACK_MAX, lwp__start,
                       p);
    } else {
        copy_bytes(lo, p->sh_save, p->sh_len);
        mark_on_stack(p);
    }
    rt->stack_owner = p;
}

/* Entered by a switch from an LWP (lwp__switch_shared) that wants
 * sh->next run: its bytes go in place, and the copier resumes it. */
static void __attribute__((noreturn)) copier_main(void *arg)
{
    struct lwp_shared *sh = arg;

    lwp__first_arrival();
    for (;;) {
        struct lwp_runtime *rt = lwp__rt;
        struct lwp_pcb *p = sh->next;
        char *lo;

        lwp__no_cut = 1; /* realloc, memcpy, the tools' calls */
        lo = evict(rt, sh);
        load(rt, sh, p, lo);
#ifndef LWP_SWITCH_CALLS_OUT
        lwp__no_cut = 0; /* the switch below is the library's own code */
#endif
        (void)lwp__swap(&sh->copier, &p->ctx, sh->run_lo,
                        LWP_SHARED_STACK_MAX, 0, 0);
    }
}

/* ---- The switch ---- */

int __attribute__((noinline))
lwp__switch_shared(struct lwp_runtime *rt, struct lwp_pcb *from,
                   struct lwp_pcb *to, int ret)
{
    struct lwp_shared *sh = rt->shared;

    sh->next = to;
    return lwp__swap(&from->ctx, &sh->copier, sh->copier_lo, COPIER_STACK,
                     lwp__leaves_for_good(rt, from), ret);
}

/* ---- Life of a shared-stack LWP ---- */

static void shared_free(struct lwp_runtime *rt, struct lwp_shared *sh)
{
    if (sh->run_lo)
        lwp__unmap_guarded(rt, sh->run_lo, LWP_SHARED_STACK_MAX, sh->run_vg);
    if (sh->copier_lo)
        lwp__unmap_guarded(rt, sh->copier_lo, COPIER_STACK, sh->copier_vg);
    free(sh);
}

static int shared_init(struct lwp_runtime *rt)
{
    struct lwp_shared *sh = calloc(1, sizeof(*sh));

    if (!sh)
        return -1;
    sh->run_lo = lwp__map_guarded(rt, LWP_SHARED_STACK_MAX, &sh->run_vg);
    sh->copier_lo = lwp__map_guarded(rt, COPIER_STACK, &sh->copier_vg);
    if (!sh->run_lo || !sh->copier_lo) {
        shared_free(rt, sh);
        return -1;
    }
    lwp__arch_make(&sh->copier, sh->copier_lo, COPIER_STACK, copier_main, sh);
    rt->shared = sh;
    return 0;
}

/* Not started: no stack pointer until its first frame is built. */
static void make_fresh(struct lwp_pcb *p)
{
    p->sh_len = 0;
    p->sh_fresh = 1;
#ifndef LWP_SWITCH_UCONTEXT
    p->ctx.sp = NULL;
#endif
}

int lwp__shared_get(struct lwp_runtime *rt, struct lwp_pcb *p, size_t size)
{
    if (size > LWP_SHARED_STACK_MAX || (!rt->shared && shared_init(rt)))
        return -1;
    p->stack_lo = rt->shared->run_lo;
    p->stack_size = LWP_SHARED_STACK_MAX;
    p->canary = (uint64_t *)p->stack_lo;
    p->arena = NULL;
    p->vg_id = 0;
    p->counted = 0;
    p->sh_hw = 0;
    p->sh_limit = (uint32_t)size;
    make_fresh(p);
    return 0;
}

/* p's bytes no longer matter: the stack is free, after the tools forget
 * its frames. */
static void disown(struct lwp_runtime *rt, struct lwp_pcb *p)
{
    char *lo;

    if (rt->stack_owner != p)
        return;
    rt->stack_owner = NULL;
    lo = frames_lo(rt->shared, p);
    lwp__stack_forget(rt, lo, (size_t)(run_top(rt->shared) - lo));
    mark_off_stack(p);
}

void lwp__shared_put(struct lwp_runtime *rt, struct lwp_pcb *p)
{
    disown(rt, p);
    free(p->sh_save);
    free(p->io_heap);
    p->sh_save = NULL;
    p->io_heap = NULL;
    p->sh_cap = p->sh_len = 0;
    p->stack_lo = NULL;
}

void lwp__shared_restart(struct lwp_runtime *rt, struct lwp_pcb *p)
{
    disown(rt, p);
    make_fresh(p);
}

void lwp__shared_term(struct lwp_runtime *rt)
{
    struct lwp_shared *sh = rt->shared;

    if (!sh)
        return;
    LWP_FOR_EACH_LIVE(rt, p, {
        if (p->xflags & LWP_XF_SHARED)
            lwp__shared_put(rt, p);
    });
    shared_free(rt, sh);
    rt->shared = NULL;
    rt->stack_owner = NULL;
}
