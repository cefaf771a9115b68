/* SPDX-License-Identifier: MIT */
/* lwp__arch_make for the assembly switches: the frame layout itself lives
 * in the .S file of each architecture. */
#include "switch.h"

void lwp__arch_make(struct lwp_arch_ctx *ctx, void *stack_lo, size_t size,
                    void (*fn)(void *), void *arg)
{
    ctx->sp = lwp__arch_frame((char *)stack_lo + size, fn, arg);
}
