/* SPDX-License-Identifier: MIT */
/*
 * The only machine-dependent interface of the library. A context is what a
 * suspended LWP needs to resume: with the assembly switch, just its stack
 * pointer (the callee-saved registers sit on its stack); with the portable
 * fallback, a ucontext_t. Nothing outside lwp/arch/ knows about registers.
 *
 * Neither implementation saves the signal mask or the floating-point
 * environment, except that swapcontext() (the fallback) saves the signal
 * mask because glibc gives no way not to.
 */
#ifndef LWP_ARCH_SWITCH_H
#define LWP_ARCH_SWITCH_H

#include <stddef.h>

#ifdef LWP_SWITCH_UCONTEXT
#include <ucontext.h>
struct lwp_arch_ctx {
    ucontext_t uc;
};
#else
struct lwp_arch_ctx {
    void *sp; /* saved stack pointer; the registers are below it */
};
#endif

/* Stack pointer of a suspended context, for diagnostics (NULL if unknown:
 * the ucontext fallback records it in the PCB instead). */
#ifdef LWP_SWITCH_UCONTEXT
static inline void *lwp__arch_sp(const struct lwp_arch_ctx *ctx)
{
    (void)ctx;
    return NULL;
}
#else
static inline void *lwp__arch_sp(const struct lwp_arch_ctx *ctx)
{
    return ctx->sp;
}
#endif

/* Prepare `ctx` so that switching to it runs fn(arg) on the stack
 * [stack_lo, stack_lo + size). fn must never return. */
void lwp__arch_make(struct lwp_arch_ctx *ctx, void *stack_lo, size_t size,
                    void (*fn)(void *), void *arg);

/* Save the running context into `from` and resume `to`. Returns when some
 * later switch resumes `from`. */
#ifdef LWP_SWITCH_UCONTEXT
void lwp__arch_swap(struct lwp_arch_ctx *from, struct lwp_arch_ctx *to);
#else
void lwp__arch_swap_sp(void **from_sp, void *to_sp);
void *lwp__arch_frame(void *stack_top, void (*fn)(void *), void *arg);

static inline void lwp__arch_swap(struct lwp_arch_ctx *from,
                                  struct lwp_arch_ctx *to)
{
    lwp__arch_swap_sp(&from->sp, to->sp);
}
#endif

#endif /* LWP_ARCH_SWITCH_H */
