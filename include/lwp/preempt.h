/* SPDX-License-Identifier: MIT */
/*
 * Preemption control (Coda's PRE_* API). In this release these are Coda's
 * no-ops: LWPs are never preempted, so critical sections need no marking.
 * Code written with them compiles and behaves as with Coda's liblwp.
 */
#ifndef LWP_PREEMPT_H
#define LWP_PREEMPT_H

#include <lwp/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Coda's pthread variant let an LWP run outside the big lock; here a
 * no-op, as in Coda's liblwp. Never yields. */
LWP_EXPORT void PRE_Concurrent(int on);
/* Open / close a critical section (no-ops while nothing preempts). */
LWP_EXPORT void PRE_BeginCritical(void);
LWP_EXPORT void PRE_EndCritical(void);

#ifdef __cplusplus
}
#endif

#endif /* LWP_PREEMPT_H */
