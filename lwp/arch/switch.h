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
#include <stdint.h>

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
#ifdef LWP_SWITCH_UCONTEXT
void lwp__arch_make(struct lwp_arch_ctx *ctx, void *stack_lo, size_t size,
                    void (*fn)(void *), void *arg);
#endif

/* Save the running context into `from` and resume `to`. Returns when some
 * later switch resumes `from`. */
#if defined(LWP_SWITCH_UCONTEXT)
void lwp__arch_swap(struct lwp_arch_ctx *from, struct lwp_arch_ctx *to);
#else
/* First code of a new context (in the .S file of the architecture): pops
 * fn and arg from the frame below and calls fn(arg). */
void lwp__arch_start(void);

/* The first frame of a new context, from its stack pointer up: where the
 * switch resumes, the frame pointer it restores, then fn and arg for
 * lwp__arch_start. With the top 16-byte aligned, the stack is aligned as
 * the ABI wants when lwp__arch_start calls fn. Built here in C, inline,
 * because creating an LWP is on a hot path too. */
static inline void lwp__arch_make(struct lwp_arch_ctx *ctx, void *stack_lo,
                                  size_t size, void (*fn)(void *), void *arg)
{
    uintptr_t top = ((uintptr_t)stack_lo + size) & ~(uintptr_t)15;
    void **frame = (void **)(top - 4 * sizeof(void *));

#if defined(__x86_64__)
    frame[0] = (void *)(uintptr_t)lwp__arch_start; /* resume address */
    frame[1] = NULL;                               /* rbp */
#else
    frame[0] = NULL;                               /* x29 */
    frame[1] = (void *)(uintptr_t)lwp__arch_start; /* resume address */
#endif
    frame[2] = (void *)(uintptr_t)fn;
    frame[3] = arg;
    ctx->sp = frame;
}

/*
 * The switch itself is inline assembly that jumps rather than calls and
 * returns: a call-and-return switch leaves the processor's return-address
 * predictor holding the other stack's calls, so every return after the
 * switch is mispredicted. Jumping keeps calls and returns balanced on each
 * stack. Every register the ABI lets a call clobber, and every one it
 * preserves, is declared clobbered, so the compiler keeps nothing live in
 * a register across the switch; the frame pointer is saved by hand.
 *
 * Saved frame (from the saved stack pointer up): resume address, frame
 * pointer. A new context resumes at lwp__arch_start with fn and arg next.
 */
#if defined(__x86_64__)
static inline __attribute__((always_inline)) void
lwp__arch_swap(struct lwp_arch_ctx *from, struct lwp_arch_ctx *to)
{
    void **save = &from->sp;
    void *load = to->sp;

    /* The 128 bytes below the stack pointer may hold the caller's data
     * (the red zone), so the frame is pushed below them. */
    __asm__ volatile("leaq -128(%%rsp), %%rsp\n\t"
                     "pushq %%rbp\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "movq %%rsp, (%[save])\n\t"
                     "movq %[load], %%rsp\n\t"
                     "popq %%rax\n\t"
                     "popq %%rbp\n\t"
                     "jmp *%%rax\n"
                     "1:\tendbr64\n\t"
                     "leaq 128(%%rsp), %%rsp\n\t"
                     : [save] "+D"(save), [load] "+S"(load)
                     :
                     : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11",
                       "r12", "r13", "r14", "r15", "xmm0", "xmm1", "xmm2",
                       "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
                       "xmm15", "memory", "cc");
}
#elif defined(__aarch64__)
static inline __attribute__((always_inline)) void
lwp__arch_swap(struct lwp_arch_ctx *from, struct lwp_arch_ctx *to)
{
    register void **save __asm__("x0") = &from->sp;
    register void *load __asm__("x1") = to->sp;

    __asm__ volatile("adr x9, 1f\n\t"
                     "stp x29, x9, [sp, #-16]!\n\t"
                     "mov x10, sp\n\t"
                     "str x10, [%[save]]\n\t"
                     "mov sp, %[load]\n\t"
                     "ldp x29, x9, [sp], #16\n\t"
                     "br x9\n"
                     "1:\thint #36\n\t" /* bti j */
                     : [save] "+r"(save), [load] "+r"(load)
                     :
                     : "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10",
                       "x11", "x12", "x13", "x14", "x15", "x16", "x17", "x18",
                       "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26",
                       "x27", "x28", "x30", "v0", "v1", "v2", "v3", "v4",
                       "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",
                       "v13", "v14", "v15", "v16", "v17", "v18", "v19",
                       "v20", "v21", "v22", "v23", "v24", "v25", "v26",
                       "v27", "v28", "v29", "v30", "v31", "memory", "cc");
}
#else
#error "no assembly context switch for this architecture; use ucontext"
#endif
#endif

#endif /* LWP_ARCH_SWITCH_H */
