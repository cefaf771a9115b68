/* SPDX-License-Identifier: MIT */
/*
 * OpenAFS flavour of the LWP API, for programs written against OpenAFS's
 * <lwp.h>. Include this instead of (not as well as) a header of OpenAFS.
 *
 * What it adds to <lwp/lwp.h>: LWP_InitializeProcessSupport, LWP_ThreadId,
 * LWP_ActiveProcess, LWP_CreateProcess2, IOMGR_AllocFDSet/IOMGR_FreeFDSet
 * (IOMGR_Sleep is in <lwp/iomgr.h>), the keyboard calls
 * LWP_WaitForKeystroke, LWP_GetLine and LWP_GetResponseKey, and entry
 * points typed void *(*)(void *) for LWP_CreateProcess and IOMGR_SoftSig
 * (their results are ignored, as OpenAFS ignored them). IOMGR_Initialize
 * initialises LWP when needed, as OpenAFS's does.
 *
 * OpenAFS semantics where its programs rely on them: LWP_NORMAL_PRIORITY
 * is 2 (OpenAFS's value; priorities still run 0..LWP_MAX_PRIORITY = 4, so
 * OpenAFS's "LWP_MAX_PRIORITY - 1" outranks normal LWPs as intended),
 * IOMGR_Initialize initialises LWP at that priority when needed, and
 * IOMGR_Poll yields twice and returns 0 (OpenAFS servers call it in long
 * loops so that other LWPs get to run). LWPs created through this header
 * get at least OpenAFS's minimum stack on Linux, LWP_AFS_MINSTACK (192
 * KiB), or AFS_LWP_STACK_SIZE bytes if that environment variable asks for
 * more: OpenAFS programs ask for less than they use, counting on it (the
 * pages they never touch cost nothing). AFS_ATTRIBUTE_FORMAT, which
 * OpenAFS's own headers use, is provided if missing.
 *
 * What stays as in this library (Coda's semantics): 8 rocks (OpenAFS: 4),
 * counting LWP_QWait/LWP_QSignal, IOMGR_Select returns the number of
 * ready (fd, set) pairs (OpenAFS clamps it to 1: test "> 0", not "== 1").
 * An LWP that has returned is gone: its PROCESS is answered with
 * LWP_EBADPID, so destroying it is harmless.
 */
#ifndef LWP_AFS_COMPAT_H
#define LWP_AFS_COMPAT_H

#include <sys/select.h>

#include <lwp/export.h>
#include <lwp/iomgr.h>
#include <lwp/lock.h>
#include <lwp/lwp.h>
#include <lwp/timer.h>

#ifdef __cplusplus
extern "C" {
#endif

/* OpenAFS's LWP_Init: LWP_Init(LWP_VERSION, priority, pid). Never yields.
 * Returns as LWP_Init. */
LWP_EXPORT int LWP_InitializeProcessSupport(int priority, PROCESS *pid);

/* The running LWP (NULL before LWP support is initialised). */
LWP_EXPORT PROCESS LWP_ThreadId(void);
#define LWP_ActiveProcess (LWP_ThreadId())

/* OpenAFS's smallest stack on Linux: smaller stacksize requests of
 * LWP_CreateProcess here are raised to it (or to AFS_LWP_STACK_SIZE from
 * the environment, read once, if larger). */
#define LWP_AFS_MINSTACK (192 * 1024)

/* LWP_CreateProcess with an OpenAFS entry point and OpenAFS's minimum
 * stack; returns as LWP_CreateProcess. May yield (to the new LWP).
 * LWP_CreateProcess2, OpenAFS's variant, is the same call here. */
LWP_EXPORT int LWP_CreateProcessAFS(void *(*ep)(void *), int stacksize,
                                    int priority, void *parm,
                                    const char *name, PROCESS *pid);

/* ---- Keyboard (stdin), without stopping the other LWPs ---- */

/* Waits until stdin has input (or end of file) for at most `seconds`
 * (< 0: for ever; 0: just looks), letting the other LWPs run. Returns 1
 * when input is there (already in stdin's buffer, or readable), 0 on
 * timeout, and also 0 when it cannot wait (IOMGR not initialised, stdin
 * closed). May yield. */
LWP_EXPORT int LWP_WaitForKeystroke(int seconds);

/* Reads one line from stdin into linebuf (len bytes, NUL-terminated),
 * newline included, waiting for input as LWP_WaitForKeystroke(-1) does
 * whenever stdin's buffer runs dry, so a line arriving in pieces does not
 * block the other LWPs. Returns the line's length; 0 if it does not fit
 * (linebuf then holds its first len - 1 bytes; the rest stays unread) or
 * ends at end of file without a newline, or linebuf is NULL or len < 2;
 * -1 at end of file. May yield. */
LWP_EXPORT int LWP_GetLine(char *linebuf, int len);

/* Discards what stdin's buffer holds, then waits as
 * LWP_WaitForKeystroke(seconds) for a key and stores it in *key. Returns
 * 1 with the key, or 0 with *key = 0 on timeout or end of file (0, with
 * nothing stored, if key is NULL). May yield. */
LWP_EXPORT int LWP_GetResponseKey(int seconds, char *key);

/* IOMGR_SoftSig with an OpenAFS handler; returns as IOMGR_SoftSig. */
LWP_EXPORT int IOMGR_SoftSigAFS(void *(*aproc)(void *), void *arock);

/* A zeroed fd_set from a pool (NULL when out of memory). Works without
 * LWP_Init; never yields. Sets are kept for reuse, not given back to the
 * system. */
LWP_EXPORT fd_set *IOMGR_AllocFDSet(void);
/* Give back a set IOMGR_AllocFDSet returned. Returns nothing, as in
 * OpenAFS: NULL is ignored, and so is a set already given back or a
 * pointer IOMGR_AllocFDSet never returned, with a line on lwp_logfile
 * (stderr before LWP_Init); such a bad free changes nothing, so no set is
 * ever handed out twice. Never yields. */
LWP_EXPORT void IOMGR_FreeFDSet(fd_set *set);

/* IOMGR_Initialize, LWP set up at OpenAFS's normal priority if nobody has;
 * returns as IOMGR_Initialize. */
LWP_EXPORT int IOMGR_InitializeAFS(void);
/* IOMGR_Poll, then two yields, as OpenAFS's did; returns 0. May yield. */
LWP_EXPORT int IOMGR_PollAFS(void);

#undef LWP_NORMAL_PRIORITY
#define LWP_NORMAL_PRIORITY (LWP_MAX_PRIORITY - 2)
#define IOMGR_Initialize() IOMGR_InitializeAFS()
#define IOMGR_Poll() IOMGR_PollAFS()
#ifndef AFS_ATTRIBUTE_FORMAT
#if defined(__GNUC__) || defined(__clang__)
#define AFS_ATTRIBUTE_FORMAT(style, x, y) __attribute__((format(style, x, y)))
#else
#define AFS_ATTRIBUTE_FORMAT(style, x, y)
#endif
#endif

/* OpenAFS code names these with void *(*)(void *) entry points. */
#undef LWP_CreateProcess
#define LWP_CreateProcess(ep, stacksize, priority, parm, name, pid)          \
    LWP_CreateProcessAFS((void *(*)(void *))(ep), (stacksize), (priority),   \
                         (void *)(parm), (name), (pid))
#define LWP_CreateProcess2(ep, stacksize, priority, parm, name, pid)         \
    LWP_CreateProcess((ep), (stacksize), (priority), (parm), (name), (pid))
#define IOMGR_SoftSig(aproc, arock)                                          \
    IOMGR_SoftSigAFS((void *(*)(void *))(aproc), (void *)(arock))

#ifdef __cplusplus
}
#endif

#endif /* LWP_AFS_COMPAT_H */
