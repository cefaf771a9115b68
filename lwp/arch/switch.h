/* SPDX-License-Identifier: MIT */
/*
 * The only machine-dependent interface of the library. A context is what a
 * suspended LWP needs to resume: with the assembly switch, just its stack
 * pointer (the callee-saved registers sit on its stack); with the portable
 * fallback, a ucontext_t. Nothing outside lwp/arch/ knows about registers.
 *
 * The signal mask and the floating-point environment belong to the thread
 * and are shared by its LWPs: the assembly switch does not touch them, and
 * the fallback undoes what swapcontext() does to them (see
 * switch_ucontext.c).
 */
#ifndef LWP_ARCH_SWITCH_H
#define LWP_ARCH_SWITCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* The bytes of a signal mask the kernel reads and writes (in a signal
 * frame, and through the system call swapcontext makes): the rest of
 * glibc's larger sigset_t may hold stale bytes, and on x86-64 a frame's
 * mask is followed by the siginfo, not by room for the rest. */
#define LWP_KERNEL_SIGSET_BYTES (_NSIG / 8)

#ifdef LWP_SWITCH_UCONTEXT
#include <ucontext.h>
struct lwp_arch_ctx {
    ucontext_t uc;
    void *live_lo; /* at or below the lowest stack byte in use when saved */
};
#else
struct lwp_arch_ctx {
    void *sp; /* saved stack pointer; the registers are below it */
};
#endif

/* Stack pointer of a suspended context, for diagnostics (NULL if unknown:
 * the ucontext fallback records it in the PCB instead). lwp__arch_live_lo:
 * the lowest address of the stack a suspended context still needs (all of
 * it from there to the top is copied when a shared stack changes hands). */
#ifdef LWP_SWITCH_UCONTEXT
static inline void *lwp__arch_sp(const struct lwp_arch_ctx *ctx)
{
    (void)ctx;
    return NULL;
}
static inline void *lwp__arch_live_lo(const struct lwp_arch_ctx *ctx)
{
    return ctx->live_lo;
}
#else
static inline void *lwp__arch_live_lo(const struct lwp_arch_ctx *ctx)
{
    return ctx->sp;
}
static inline void *lwp__arch_sp(const struct lwp_arch_ctx *ctx)
{
    return ctx->sp;
}
#endif

/* Prepare `ctx` so that switching to it runs fn(arg) on the stack
 * [stack_lo, stack_lo + size). fn must never return. */
#ifdef LWP_SWITCH_UCONTEXT
void lwp__arch_make(struct lwp_arch_ctx *ctx, void *stack_lo, size_t size,
                    void (*fn)(void *), void *arg);
#endif

/* Set while the assembly switch must run lwp__after_switch_hook() on the
 * resumed stack before resuming it (a dead LWP to reap, stacks to
 * re-protect). The ucontext fallback leaves the hook to C. */
extern int lwp__switch_hook __attribute__((visibility("hidden")));
void lwp__after_switch_hook(void) __attribute__((visibility("hidden")));

#if defined(LWP_SWITCH_UCONTEXT)
/* Save the running context into `from` and resume `to`. Returns when some
 * later switch resumes `from`. */
void lwp__arch_swap(struct lwp_arch_ctx *from, struct lwp_arch_ctx *to);
#else
/* Save the running context (its stack pointer into *save) and resume the
 * one whose saved stack pointer is `load`. Returns `ret` when some later
 * switch resumes the caller: the caller passes what it will itself return,
 * so a hot path can end in `return lwp__arch_switch(...)`, a tail call
 * after which the resumed LWP continues directly in its own caller (see
 * the .S file). An ordinary function otherwise: callee-saved registers
 * survive it. */
int lwp__arch_switch(void **save, void *load, int ret)
    __attribute__((visibility("hidden")));


/* First code of every new context (in the .S file of the architecture):
 * calls fn(arg) with fn and arg taken from the frame. */
void lwp__arch_start(void) __attribute__((visibility("hidden")));

/* Build the first frame of a new context (layout in the .S file): the
 * registers' values do not matter, the frame pointer is 0 to end
 * backtraces, and the switch resumes it at lwp__arch_start. With the top
 * 16-byte aligned, the stack is aligned as the ABI wants when
 * lwp__arch_start calls fn. Built here in C, inline, because creating an
 * LWP is on a hot path too. */
#if defined(__x86_64__)
#define LWP_ARCH_FRAME_WORDS 10 /* ret, r15..rbx, rbp, resume, fn, arg */
#define LWP_ARCH_FRAME_FP 6
#define LWP_ARCH_FRAME_RESUME 7
#elif defined(__aarch64__)
#define LWP_ARCH_FRAME_WORDS 24 /* ret, pad, x19..x28, d8..d15, x29, x30 */
#define LWP_ARCH_FRAME_FP 20
#define LWP_ARCH_FRAME_RESUME 21
#else
#error "no assembly context switch for this architecture; use ucontext"
#endif

static inline void lwp__arch_make(struct lwp_arch_ctx *ctx, void *stack_lo,
                                  size_t size, void (*fn)(void *), void *arg)
{
    uintptr_t top = ((uintptr_t)stack_lo + size) & ~(uintptr_t)15;
    void **frame = (void **)(top - LWP_ARCH_FRAME_WORDS * sizeof(void *));

    frame[LWP_ARCH_FRAME_FP] = NULL;
    frame[LWP_ARCH_FRAME_RESUME] = (void *)(uintptr_t)lwp__arch_start;
    frame[LWP_ARCH_FRAME_WORDS - 2] = (void *)(uintptr_t)fn;
    frame[LWP_ARCH_FRAME_WORDS - 1] = arg;
    ctx->sp = frame;
}
#endif

#endif /* LWP_ARCH_SWITCH_H */
