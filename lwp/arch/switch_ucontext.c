/* SPDX-License-Identifier: MIT */
/*
 * Portable context switch on makecontext/swapcontext. Slower than the
 * assembly (swapcontext makes a sigprocmask system call), kept for
 * architectures without an assembly file and tested in CI.
 *
 * glibc's swapcontext also saves and restores the floating-point
 * environment, which the LWPs are meant to share (as with the assembly
 * switch) unless they ask for their own (lwp_fpset, handled above this
 * layer). So the environment in force is written into the context being
 * resumed first: it follows the thread, not the context.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fpenv.h"
#include "switch.h"

/* makecontext passes int arguments only, so the pointers travel split in
 * two 32-bit halves. */
static void start(unsigned int fn_hi, unsigned int fn_lo, unsigned int arg_hi,
                  unsigned int arg_lo)
{
    uintptr_t f = ((uintptr_t)fn_hi << 16 << 16) | fn_lo;
    uintptr_t a = ((uintptr_t)arg_hi << 16 << 16) | arg_lo;
    void (*fn)(void *) = (void (*)(void *))f;

    fn((void *)a);
    abort(); /* fn never returns */
}

void lwp__arch_make(struct lwp_arch_ctx *ctx, void *stack_lo, size_t size,
                    void (*fn)(void *), void *arg)
{
    uintptr_t f = (uintptr_t)fn;
    uintptr_t a = (uintptr_t)arg;

    getcontext(&ctx->uc);
    ctx->uc.uc_stack.ss_sp = stack_lo;
    ctx->uc.uc_stack.ss_size = size;
    ctx->uc.uc_link = NULL;
    makecontext(&ctx->uc, (void (*)(void))start, 4,
                (unsigned int)(f >> 16 >> 16), (unsigned int)f,
                (unsigned int)(a >> 16 >> 16), (unsigned int)a);
}

void lwp__arch_swap(struct lwp_arch_ctx *from, struct lwp_arch_ctx *to)
{
    struct lwp_fpenv env;

    lwp__fpenv_save(&env);
    lwp__fpenv_to_frame(&to->uc, &env);
    swapcontext(&from->uc, &to->uc);
}
