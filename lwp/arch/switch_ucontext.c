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
 *
 * swapcontext also installs the signal mask saved in the context it
 * resumes, which would give each LWP its own mask. The mask is the
 * thread's, shared by its LWPs as with the assembly switch, so the resumed
 * side puts back the mask in force before the swap, which swapcontext has
 * just saved into the context it left (one more system call, made only
 * when an LWP changed the mask since the resumed one last ran).
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fpenv.h"
#include "switch.h"

/* The context the last swap left; valid until the resumed LWP's own code
 * runs (an exited LWP is freed only after the switch). */
static struct lwp_arch_ctx *swapped_from;

static void keep_thread_mask(const sigset_t *resumed_with)
{
    const sigset_t *before = &swapped_from->uc.uc_sigmask;

    if (!resumed_with ||
        memcmp(before, resumed_with, LWP_KERNEL_SIGSET_BYTES) != 0)
        pthread_sigmask(SIG_SETMASK, before, NULL);
}

/* makecontext passes int arguments only, so the pointers travel split in
 * two 32-bit halves. */
static void start(unsigned int fn_hi, unsigned int fn_lo, unsigned int arg_hi,
                  unsigned int arg_lo)
{
    uintptr_t f = ((uintptr_t)fn_hi << 16 << 16) | fn_lo;
    uintptr_t a = ((uintptr_t)arg_hi << 16 << 16) | arg_lo;
    void (*fn)(void *) = (void (*)(void *))f;

    keep_thread_mask(NULL); /* created with the mask of that moment */
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

/* Below this function's frame, swapcontext needs only its return address
 * and what it pushes itself: a generous margin for any libc. */
#define LIVE_SLACK 1024

void lwp__arch_swap(struct lwp_arch_ctx *from, struct lwp_arch_ctx *to)
{
    struct lwp_fpenv env;

    from->live_lo = (char *)__builtin_frame_address(0) - LIVE_SLACK;
    lwp__fpenv_save(&env);
    lwp__fpenv_to_frame(&to->uc, &env);
    swapped_from = from;
    swapcontext(&from->uc, &to->uc);
    keep_thread_mask(&from->uc.uc_sigmask);
}
