/* SPDX-License-Identifier: MIT */
#ifndef LWPT_REGCHECK_H
#define LWPT_REGCHECK_H

/* Available with the assembly context switch on x86-64 and AArch64. */
#if (defined(__x86_64__) || defined(__aarch64__)) &&                         \
    !defined(LWP_SWITCH_UCONTEXT)
#define LWPT_HAVE_REGISTER_CHECK 1
#endif

/* Put base+1.. into every callee-saved register, yield with
 * LWP_DispatchProcess, and return 1 if they all still hold their values.
 * Two LWPs running it with different bases catch a switch that mixes up
 * or forgets registers. */
int lwpt_regcheck(long base);

#endif /* LWPT_REGCHECK_H */
