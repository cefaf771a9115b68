/* SPDX-License-Identifier: MIT */
#ifndef LWPT_DEEP_STACK_H
#define LWPT_DEEP_STACK_H

/* Recurses `frames` frames below the caller's, each with a 1000-byte pad
 * filled from `seed`, calls at_bottom() in the deepest one, and on the
 * way back counts the pad bytes still as written: 1000 * (frames + 1)
 * when the whole live stack survived whatever at_bottom let happen.
 * Criterion-free, for the self-test too. */
unsigned lwpt_deep(unsigned frames, unsigned seed, void (*at_bottom)(void));

#endif /* LWPT_DEEP_STACK_H */
