/* SPDX-License-Identifier: MIT */
/*
 * Preemption (Coda's historical PRE_* API, made real again).
 *
 * Off by default: LWPs switch only when they block or yield, as in Coda.
 * PRE_InitPreempt starts a periodic timer signal. At each tick the LWP that
 * is running is switched out, as by LWP_DispatchProcess (to the next
 * runnable LWP of equal or higher priority), only if all of these hold:
 *   - it has called PRE_PreemptMe (new LWPs, and the main LWP, are not
 *     preemptible);
 *   - it is outside every PRE_BeginCritical/PRE_EndCritical section;
 *   - PRE_Block is 0;
 *   - it is executing code of the program's own executable, outside this
 *     library. So nothing is ever cut inside the runtime (scheduler,
 *     IOMGR and its libev callbacks, Lock, Timer, the library's own
 *     allocations), inside libc (malloc, stdio and the rest keep their
 *     locks consistent), libev, or any other shared library: a tick that
 *     lands there is skipped, and the next one tries again.
 * Before it switches, the handler lets IOMGR poll its loop without
 * blocking, so LWPs whose I/O is ready run too: a preemptible CPU hog
 * cannot starve the I/O manager, which runs at priority 0.
 *
 * The slice is measured in the CPU time of the thread running the LWPs
 * (Coda used real time): a program that is idle or blocked in the kernel
 * receives no ticks at all. The kernel advances CPU clocks at its own
 * tick, so a slice shorter than that (4 ms at CONFIG_HZ=250) lasts one
 * kernel tick. The tick is a POSIX timer aimed at that
 * thread, so other threads, alarm(3) and sleep(3) are unaffected, except
 * that they must not use the same signal.
 *
 * What a preemptible LWP must still wrap in a critical section: anything
 * whose state lives across calls rather than inside one. Examples:
 *   - errno read after a call returns: a switch may happen between the
 *     call and the read, and the other LWPs' calls set errno too (or give
 *     each LWP its own errno with lwp_libcset, <lwp/context.h>);
 *   - iterations with hidden state: strtok, getpwent/getgrent loops,
 *     readdir on a shared DIR, rand, localtime and other functions that
 *     return static buffers, while the result is being used;
 *   - explicit stdio locking (flockfile ... funlockfile), and any sequence
 *     of calls another LWP must not interleave with (a multi-call printf
 *     of one line, for instance);
 *   - the floating-point environment (fesetround, exception flags),
 *     which LWPs share unless they ask for their own with lwp_fpset;
 *   - the program's own data structures shared between LWPs, exactly as
 *     with threads (LWP's Lock package works under preemption). A flag
 *     that one LWP polls in a loop without calls while another sets it
 *     must be volatile (or atomic), as for a signal handler: without a
 *     call in the loop the compiler may read it only once.
 * In a fully static program libc is part of the executable, so a tick may
 * land inside it: such programs must also wrap every libc call that takes
 * a lock (malloc/free, stdio, ...) in a critical section. The same holds
 * for a sanitizer runtime linked into the executable (clang's
 * AddressSanitizer is, by default): its allocator and interceptors are
 * executable code. PRE_InitPreempt detects both (no program interpreter
 * in the executable; a sanitizer runtime's entry points resolving inside
 * it) and then prints one warning per process on stderr, starting with
 * "***LWP warning: PRE_InitPreempt:"; it still starts preemption. The
 * scheduler's own use of such code is never cut, there too: the context
 * switch (with a sanitizer's fiber annotations, or swapcontext), the
 * copying of shared stacks (memcpy, realloc), the freeing of a dead
 * LWP's stack after a switch, stack protection's mprotect, and the
 * handler's own calls. The rest of this library's calls into libc or
 * libev (allocations, system calls, libev's watchers, logging) are cut
 * there as the program's own are, which leaves libc's locks or the
 * library's own state mid-way: in such a program, a preemptible LWP
 * makes its calls into this library (LWP_CreateProcess, IOMGR_*, Lock,
 * Timer, the RPC layer, ...) inside a critical section as well. An LWP
 * may block inside one: the section is its own, and other LWPs run.
 *
 * Preemption leaves the interrupted LWP's registers, errno and
 * floating-point registers as they were when it resumes (the kernel saves
 * them around the signal handler). The signal mask and the floating-point
 * environment stay the thread's, shared by all LWPs: a change another LWP
 * made while this one was cut is still in force when it resumes (unless
 * the LWP has its own environment, lwp_fpset).
 *
 * One owner per signal: while preemption is on, IOMGR_Signal of its
 * signal fails with LWP_ESIGBUSY, and PRE_InitPreempt or PRE_SetSignal of
 * a signal IOMGR_Signal delivers fails the same way; neither touches the
 * other's action.
 *
 * Threads: from another OS thread than the runtime's, PRE_InitPreempt,
 * PRE_EndPreempt and PRE_SetSignal return LWP_ETHREAD and the level calls
 * do nothing; a tick never switches LWPs on another thread.
 */
#ifndef LWP_PREEMPT_H
#define LWP_PREEMPT_H

#include <sys/time.h>

#include <lwp/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Coda's historical default slice: 10 seconds. */
#define PRE_DEFAULT_SLICE_SEC 10

/* Non-zero: no preemption at all (Coda's global; the runtime does not need
 * it, being protected as described above). Program code may set it. */
LWP_EXPORT extern volatile int PRE_Block;

/* Starts preemption with the given slice (NULL: 10 s), or changes the
 * slice when it is already on. Needs LWP_Init; never yields. Warns once
 * per process on stderr in the unsafe configurations above.
 * Returns LWP_SUCCESS; LWP_EINIT before LWP_Init; LWP_EBADARG for a slice
 * with a negative field, tv_usec >= 1000000, or zero length; LWP_ESIGBUSY
 * if IOMGR_Signal delivers the timer signal (choose another with
 * PRE_SetSignal); LWP_ESYSTEM if the signal handler or the timer cannot
 * be set up; LWP_EINSWITCH or LWP_ETHREAD (<lwp/lwp.h>). */
LWP_EXPORT int PRE_InitPreempt(struct timeval *slice);

/* Stops preemption: the timer is deleted and the signal's previous action
 * restored (IOMGR_Signal may then take it). Also done by
 * LWP_TerminateProcessSupport. Never yields.
 * Returns LWP_SUCCESS (also when preemption was off), LWP_EINIT before
 * LWP_Init, LWP_EINSWITCH or LWP_ETHREAD. */
LWP_EXPORT int PRE_EndPreempt(void);

/* Chooses the timer signal (default SIGALRM). Allowed at any time, also
 * before LWP_Init; when preemption is on it moves to the new signal at
 * once (the old one gets its previous action back). Returns LWP_SUCCESS,
 * or LWP_EBADSIG for a signal that cannot be caught or is raised by
 * faults (SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) or
 * out of range, LWP_ESIGBUSY for a signal IOMGR_Signal delivers (nothing
 * changes), LWP_ESYSTEM if moving an active timer failed (preemption is
 * then off), LWP_EINSWITCH or LWP_ETHREAD. */
LWP_EXPORT int PRE_SetSignal(int signo);

/* The calling LWP becomes preemptible (level 0: any open critical
 * sections of it are forgotten). No-op before LWP_Init. Never yields. */
LWP_EXPORT void PRE_PreemptMe(void);

/* Open / close a critical section of the calling LWP; they nest. Closing
 * more than were opened does nothing (the LWP stays preemptible if it
 * was). No-ops before LWP_Init. Never yield. */
LWP_EXPORT void PRE_BeginCritical(void);
LWP_EXPORT void PRE_EndCritical(void);

/* Coda's pthread variant let an LWP run outside the big lock; here a
 * no-op, as in Coda's liblwp. Never yields. */
LWP_EXPORT void PRE_Concurrent(int on);

/* Ticks that switched LWPs, and ticks skipped because the running LWP was
 * not preemptible at that moment, since preemption was last started
 * (diagnostics). */
LWP_EXPORT unsigned long PRE_Preemptions(void);
LWP_EXPORT unsigned long PRE_Skipped(void);

#ifdef __cplusplus
}
#endif

#endif /* LWP_PREEMPT_H */
