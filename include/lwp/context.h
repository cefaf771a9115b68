/* SPDX-License-Identifier: MIT */
/*
 * Special contexts, after SunOS LWP's lwp_ctxset family: per-LWP state
 * beyond the registers, saved and restored around context switches only
 * for the LWPs that asked for it.
 *
 * A context *type* is defined once with lwp_ctxset(): a save and a restore
 * routine (either may be NULL) and a buffer size. lwp_ctxinit() gives one
 * LWP its own zero-filled buffer of that size; an LWP may use several
 * types. At a switch from `old` to `new`:
 *   - unoptimised type: save(old's buffer, old, new) runs when an LWP that
 *     uses it is switched out, restore(new's buffer, old, new) when one
 *     that uses it is switched in;
 *   - optimised type: when `new` uses it and is not the last LWP that
 *     used it, save(last's buffer, last, new) runs (if that LWP still uses
 *     it) and then restore(new's buffer, last, new); nothing runs
 *     otherwise, so the state stays in place while other LWPs run.
 * `old` is NULL for an optimised restore with no previous user (or one
 * that has ended or removed the type). At one switch, the types run in
 * the order they were defined, each its save and then its restore.
 * They run on the switching LWP's stack, inside the scheduler: they must
 * be short, must not block, and may not call the scheduler. Every
 * LWP_*, IOMGR_* and lwp_ctx* call made from them that would change or
 * run the scheduler fails instead of corrupting it: LWP_EINSWITCH, or -1
 * with LE_INSWITCH for lwp_ctx*; IOMGR_Poll does nothing and returns 0,
 * IOMGR_Cancel returns -1, LWP_ExitProcess returns, and LWP_ThisProcess()
 * and LWP_Name() return NULL there. FastTime and Timer calls work, and
 * so do Lock calls that need not wait; one that would have to wait stops
 * the program with a message saying so (<lwp/lock.h>).
 *
 * LWPs without special contexts pay nothing: the plain switch saves no
 * floating-point or libc state, and the check for contexts reads one byte
 * of each PCB, in the cache line the switch touches anyway.
 *
 * Two types are predefined, with fixed cookies:
 *   - LWP_CTX_FP (lwp_fpset): the LWP gets its own floating-point
 *     environment: rounding mode, exception flags and masks (MXCSR and the
 *     x87 control and status words on x86-64; FPCR and FPSR on AArch64;
 *     fegetenv/fesetenv elsewhere). Its buffer starts as a copy of the
 *     environment the LWPs without one share at that moment.
 *   - LWP_CTX_LIBC (lwp_libcset): the LWP gets its own errno, starting at
 *     0.
 * With these two, LWPs that do not use the type keep sharing one
 * environment (one errno) among themselves: changes made by an LWP with
 * its own copy never leak into the shared one, and the other way round.
 * Their buffers (read with lwp_ctxmemget: LWP_CTX_FP_SIZE and
 * sizeof(int) bytes) hold the state as of the LWP's last switch out;
 * for the running LWP, memget and memset read and write the live state,
 * and a value memset into another LWP's buffer is what it resumes with.
 * LWP_TerminateProcessSupport leaves the thread with the main LWP's own
 * environment (errno) if it had one.
 *
 * Errors. Functions return -1 on failure (lwp_ctxset: instead of a
 * cookie) and record an LE_* code for the calling LWP, read with
 * lwp_geterr(); like errno, it is not reset by successful calls. Outside
 * any LWP (before LWP_Init, inside save/restore) it is kept in one
 * process-wide slot. None of these calls yields. Confined to the LWP
 * thread, like the rest of the library.
 */
#ifndef LWP_CONTEXT_H
#define LWP_CONTEXT_H

#include <lwp/lwp.h>

#ifdef __cplusplus
extern "C" {
#endif

/* lwp_geterr() values. */
#define LE_NOERROR 0    /* no call of this LWP has failed */
#define LE_INUSE 1      /* lwp_ctxinit: the LWP already uses this type */
#define LE_NONEXIST 2   /* the LWP does not use this type */
#define LE_NOROOM 3     /* no memory for the type or the buffer */
#define LE_INVALIDARG 4 /* bad cookie, size, LWP (stale, exited) or NULL */
#define LE_NOTINIT 5    /* LWP_Init() has not been called */
#define LE_INSWITCH 6   /* called from a save or restore routine */

/* Cookies of the predefined types; lwp_ctxremove(tid, LWP_CTX_FP) undoes
 * lwp_fpset(tid). */
#define LWP_CTX_FP 0
#define LWP_CTX_LIBC 1
#define LWP_CTX_FP_SIZE 32 /* bytes in an LWP_CTX_FP buffer */

/* Largest buffer lwp_ctxset accepts. */
#define LWP_CTX_MAXSIZE (1u << 20)

/* Define a context type. ctxsize is 1..LWP_CTX_MAXSIZE. Returns its cookie
 * (>= 2), or -1 with LE_INVALIDARG (size), LE_NOROOM, LE_NOTINIT or
 * LE_INSWITCH. Types live until LWP_TerminateProcessSupport. */
LWP_EXPORT int lwp_ctxset(void (*save)(void *ctx, PROCESS old, PROCESS new_),
                          void (*restore)(void *ctx, PROCESS old,
                                          PROCESS new_),
                          unsigned int ctxsize, int optimize);

/* Give `tid` a zero-filled buffer of type `cookie`; from its next switch
 * on, the type's routines run for it (an optimised type set for the
 * running LWP counts it as the last user, after the previous last
 * user's save has run: the state in place is the running LWP's from then
 * on, and its zeroed buffer is not restored). Returns 0, or -1 with
 * LE_INUSE, LE_INVALIDARG (unknown cookie, bad tid), LE_NOROOM,
 * LE_NOTINIT or LE_INSWITCH. */
LWP_EXPORT int lwp_ctxinit(PROCESS tid, int cookie);

/* Stop using type `cookie` for `tid` and free its buffer; no routine runs.
 * Removing LWP_CTX_FP or LWP_CTX_LIBC from the running LWP puts the shared
 * environment (errno) back at once. Exit, destruction and
 * LWP_RecycleProcess remove all of an LWP's contexts.
 * Returns 0, or -1 with LE_NONEXIST, LE_INVALIDARG, LE_NOTINIT or
 * LE_INSWITCH. */
LWP_EXPORT int lwp_ctxremove(PROCESS tid, int cookie);

/* Copy tid's buffer of type `ctx` to `mem` (ctxmemget) or `mem` into it
 * (ctxmemset); mem holds the type's ctxsize bytes. Returns 0, or -1 with
 * LE_NONEXIST, LE_INVALIDARG (NULL mem, bad cookie or tid), LE_NOTINIT or
 * LE_INSWITCH. */
LWP_EXPORT int lwp_ctxmemget(void *mem, PROCESS tid, int ctx);
LWP_EXPORT int lwp_ctxmemset(void *mem, PROCESS tid, int ctx);

/* lwp_ctxinit(tid, LWP_CTX_FP) and lwp_ctxinit(tid, LWP_CTX_LIBC), with
 * the buffers started as described above. Same returns. */
LWP_EXPORT int lwp_fpset(PROCESS tid);
LWP_EXPORT int lwp_libcset(PROCESS tid);

/* The LE_* code of the calling LWP's last failed call here. */
LWP_EXPORT int lwp_geterr(void);

#ifdef __cplusplus
}
#endif

#endif /* LWP_CONTEXT_H */
