/* SPDX-License-Identifier: MIT */
/*
 * Lightweight processes (LWPs): cooperative, priority-scheduled threads that
 * share one OS thread, source compatible with Coda's <lwp/lwp.h>.
 *
 * Model. LWP_Init() turns the calling thread into the "Main Process" LWP.
 * Every other LWP has its own stack (or, created LWP_CREATE_SHARED_STACK,
 * runs on one stack shared with others like it). Nothing preempts an LWP:
 * it runs until it calls a function marked "May yield." below. The
 * scheduler always runs the LWP at the head of the highest non-empty
 * priority (0 lowest,
 * LWP_MAX_PRIORITY highest); LWPs of one priority take turns round-robin,
 * and an LWP that becomes runnable joins the tail of its priority's queue.
 *
 * Events are plain addresses, compared and never dereferenced. Signals are
 * not queued: a signal nobody waits for is lost (LWP_ENOWAIT). Waiters of
 * one event wake in the order they started waiting.
 *
 * Confinement. The runtime belongs to the OS thread that called LWP_Init();
 * no function may be called from a signal handler unless its comment says
 * so. A call from another OS thread runs nothing there: while the runtime
 * lives (LWP_Init ... LWP_TerminateProcessSupport), every LWP_*, IOMGR_*,
 * PRE_* and lwp_ctx* call made on another thread that would read or change
 * it is refused, and changes nothing. Calls returning an LWP code return
 * LWP_ETHREAD (LWP_Init too: one runtime per process); LWP_ThisProcess()
 * and LWP_Name() return NULL; LWP_ExitProcess, LWP_ProtectStacks,
 * LWP_UnProtectStacks and PRE_PreemptMe/BeginCritical/EndCritical do
 * nothing; IOMGR_Poll returns 0 and IOMGR_Cancel -1; the lwp_ctx* calls
 * fail with LE_NOTINIT; Lock calls (<lwp/lock.h>) are ignored with a
 * message. IOMGR_SoftSig is the exception: it works from any thread. The
 * check costs nothing measurable: the runtime pointer is thread-local.
 * Once the runtime has ended, another thread may call LWP_Init.
 *
 * Errors. Functions returning int return LWP_SUCCESS (0) or a negative
 * LWP_E* code and then have changed nothing. Calls that would change or
 * run the scheduler answer LWP_EINSWITCH when made from a special
 * context's save or restore routine (<lwp/context.h>), where
 * LWP_ThisProcess() and LWP_Name() return NULL. Misuse that cannot be reported
 * (a corrupted queue, an overflowed stack with LWP_SOABORT) stops the
 * program with a message naming the LWP and the call.
 *
 * Differences from Coda (deliberate fixes): stacks have guard regions and
 * overflow is reported (lwp_overflowAction works, see "Stacks" below for
 * what is caught); LWP_StackUsed works for
 * the main LWP; a stale, foreign or already-exited PROCESS is answered with
 * LWP_EBADPID instead of a use-after-free; LWP_ProtectStacks works; negative
 * priorities and stack sizes are rejected; complete C prototypes.
 */
#ifndef LWP_LWP_H
#define LWP_LWP_H

#include <stdio.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <lwp/export.h>
#include <lwp/fasttime.h>
#include <lwp/preempt.h>

#ifdef __cplusplus
extern "C" {
#endif

/* First argument of LWP_Init(): proves header and library agree. Coda's
 * values; the _REENTRANT one (set by -pthread) was Coda's pthread variant.
 * This library has one implementation and accepts both. */
#if !defined(_REENTRANT) && !defined(_THREAD_SAFE)
#define LWP_VERSION 210888002
#else
#define LWP_VERSION 210888003
#endif

/* Return codes (Coda's values). */
#define LWP_SUCCESS 0
#define LWP_EBADPID -1    /* stale, foreign, exited or NULL PROCESS */
#define LWP_EBLOCKED -2   /* unused, kept for Coda */
#define LWP_EINIT -3      /* LWP_Init() has not been called */
#define LWP_EMAXPROC -4   /* unused, kept for Coda */
#define LWP_ENOBLOCK -5   /* unused, kept for Coda */
#define LWP_ENOMEM -6     /* no memory for a PCB or a stack */
#define LWP_ENOPROCESS -7 /* unused, kept for Coda */
#define LWP_ENOWAIT -8    /* the signal found no waiter */
#define LWP_EBADCOUNT -9  /* bad wait count or empty event list */
#define LWP_EBADEVENT -10 /* NULL event */
#define LWP_EBADPRI -11   /* priority outside 0..LWP_MAX_PRIORITY */
#define LWP_NO_STACK -12  /* stack-use counting was off for that LWP */
#define LWP_EBADSIG -13   /* bad signal number (IOMGR) */
#define LWP_ESYSTEM -14   /* a system call failed */
#define LWP_ENOROCKS -15  /* all rocks of this LWP are in use */
#define LWP_EBADROCK -16  /* rock already exists (New) or is missing (Get) */
/* Extensions (numbers below -16). */
#define LWP_EBADARG -17 /* a required pointer is NULL or a size is negative */
#define LWP_EINSWITCH -18 /* called from a special context's save/restore */
#define LWP_ESUSPENDED -19    /* LWP_SuspendProcess: already suspended */
#define LWP_ENOTSUSPENDED -20 /* LWP_ResumeProcess: not suspended */
#define LWP_EWAITSELF -21     /* LWP_WaitExit on the calling LWP */
#define LWP_EMAINPROC -22     /* not possible for the main LWP */
#define LWP_EBADFLAGS -23     /* unknown bits in lwp_attr.flags */
#define LWP_ETHREAD -24       /* called from an OS thread not the runtime's */
#define LWP_ESIGBUSY -25      /* the signal is IOMGR_Signal's / preemption's */

/* Exit status (LWP_WaitExit) of an LWP ended by LWP_DestroyProcess, or by
 * a stack overflow that lwp_overflowAction lets the others survive. */
#define LWP_EXIT_DESTROYED (-2147483647 - 1)

/* Priorities: 0 (lowest) .. LWP_MAX_PRIORITY. */
#define LWP_MAX_PRIORITY 4
#define LWP_NORMAL_PRIORITY (LWP_MAX_PRIORITY - 1)

/* Values of lwp_overflowAction. */
#define LWP_SOQUIET 1   /* no message */
#define LWP_SOABORT 2   /* message, then abort() (the default) */
#define LWP_SOMESSAGE 3 /* message once, then behave as LWP_SOQUIET */

/* Opaque handle of an LWP: a pointer that may be compared and printed,
 * never dereferenced (the struct is never defined; Coda code names only
 * PROCESS). Every LWP gets a handle no LWP alive at the same time has. It
 * stays safe to pass to this library after the LWP has ended (calls answer
 * LWP_EBADPID) and after LWP_TerminateProcessSupport (LWP_EINIT); a new
 * LWP_Init starts afresh, and handles from before it may name its LWPs.
 * Stale handles: the library keeps LWPs in slots, reused
 * oldest-freed first, and each LWP a slot holds gets a new handle; only
 * the LWP_HANDLE_REUSE-th LWP to take the slot after the handle's LWP
 * ended (256th on 64-bit systems, 16th on 32-bit ones) gets the same
 * value again. Until then a stale handle answers LWP_EBADPID and can
 * touch no other LWP. That takes at least LWP_HANDLE_REUSE creations, and
 * F times as many while F slots are free. */
typedef struct lwp_handle *PROCESS;
#define LWP_HANDLE_REUSE (sizeof(void *) >= 8 ? 256 : 16)

/* ---- Globals Coda programs read and write ---- */

/* Non-zero: trace scheduler calls to lwp_logfile. */
LWP_EXPORT extern int lwp_debug;
/* What to do when an LWP overflows its stack (LWP_SO*; how overflows are
 * found: "Stacks" below). The message, on stderr, is "LWP <name> overflowed
 * its <N>-byte stack[: <D> bytes deep][ <how found>] (index <I>, PROCESS
 * <handle>)", with "(unnamed)" for an empty name. When the LWP cannot go on
 * (a fault in the guard region or with its stack pointer below its stack,
 * or its stack pointer found below its stack at a context switch): with
 * LWP_SOABORT the program aborts, with the other two the overflowing LWP is
 * destroyed (exit status LWP_EXIT_DESTROYED) and the others keep running.
 * A damaged magic word at the low end of a stack (found at a context
 * switch while any LWP runs on an arena stack, otherwise when its LWP
 * ends or is recycled), a shared-stack LWP's live stack found deeper than
 * its stacksize when it is saved, and writes below an arena stack found
 * when it is given back (the LWP ended or was recycled) or at
 * LWP_TerminateProcessSupport,
 * are handled the same way except that LWP_SOQUIET and LWP_SOMESSAGE let
 * the LWP continue. */
LWP_EXPORT extern int lwp_overflowAction;
/* Non-zero (default): stacks of LWPs created from now on are kept in the
 * state LWP_StackUsed() needs. */
LWP_EXPORT extern int lwp_stackUseEnabled;
/* If cont_sw_threshold is set, an LWP that ran longer than it without a
 * context switch is reported on stderr ("took too much cpu");
 * last_context_switch is when the current LWP got the CPU (a zero value
 * restarts the measurement, as IOMGR does before blocking). If
 * run_wait_threshold is set, an LWP that waited longer than it between
 * becoming runnable and running is reported ("run-wait too long"). */
LWP_EXPORT extern struct timeval last_context_switch;
LWP_EXPORT extern struct timeval cont_sw_threshold;
LWP_EXPORT extern struct timeval run_wait_threshold;
/* Where debug traces and process dumps go; LWP_Init() sets it to stderr. */
LWP_EXPORT extern FILE *lwp_logfile;
/* Positive: print the run queues at every dispatch (stdout, as Coda). */
LWP_EXPORT extern int LWP_TraceProcesses;
/* Number of dispatches so far (statistics). */
LWP_EXPORT extern int Cont_Sws;
/* Index the next LWP will get. Defined weak: programs that define their own
 * (Coda's rpc2test does) link, and the library then uses theirs. */
LWP_EXPORT extern int lwp_nextindex;

/* ---- Life cycle ---- */

/* Turn the caller into the main LWP ("Main Process") at `priority` and
 * write its handle to *pid (pid may be NULL). A second call returns
 * LWP_SUCCESS and leaves *pid alone. `version` must be LWP_VERSION (either
 * of its two values): otherwise the program prints "**** FATAL ERROR: LWP VERSION MISMATCH ****"
 * and exits. Initialises FastTime if nobody has. Never yields.
 * Returns LWP_SUCCESS, LWP_EBADPRI, LWP_ENOMEM, LWP_ESYSTEM, or
 * LWP_ETHREAD while another OS thread's runtime lives (one per process). */
LWP_EXPORT int LWP_Init(int version, int priority, PROCESS *pid);

/* Destroy every LWP and free all memory the runtime holds; LWP_Init() may
 * be called again afterwards. Must be called from the main LWP, otherwise
 * the program stops with "***LWP Abort: Terminate_Process_Support invoked
 * from wrong process!" and exit status 1. Never yields.
 * Returns LWP_SUCCESS, LWP_EINIT or LWP_ETHREAD (another OS thread). */
LWP_EXPORT int LWP_TerminateProcessSupport(void);

/* Create an LWP that runs ep(parm) on a stack of `stacksize` bytes (raised
 * to 32 KiB, rounded up to the page size; a 64 KiB guard region lies below
 * it, see "Stacks") at
 * `priority`, named `name` (copied; NULL means ""). Returning from `ep`
 * destroys the LWP. The new LWP joins the tail of its run queue and the
 * caller yields, so the child runs before this call returns when its
 * priority is at least the caller's; *pid (pid may be NULL) is written when
 * the caller resumes, as in Coda. May yield.
 * Returns LWP_SUCCESS, LWP_EINIT, LWP_EBADARG (ep NULL, stacksize < 0),
 * LWP_EBADPRI or LWP_ENOMEM. */
LWP_EXPORT int LWP_CreateProcess(void (*ep)(void *), int stacksize,
                                 int priority, void *parm, const char *name,
                                 PROCESS *pid);

/* Destroy `pid`. Destroying oneself never returns. Destroying another LWP
 * frees it at once, cancels its IOMGR_Select, and does not yield (Coda).
 * Its exit status is LWP_EXIT_DESTROYED (a joinable LWP nobody waits for
 * stays a zombie); destroying a zombie frees it and drops its status.
 * The main LWP cannot be destroyed (it runs on the thread's own stack and
 * must stay to call LWP_TerminateProcessSupport): LWP_EMAINPROC, nothing
 * done. May yield (only when pid is the caller).
 * Returns LWP_SUCCESS, LWP_EINIT, LWP_EBADPID, LWP_EMAINPROC or
 * LWP_EINSWITCH. */
LWP_EXPORT int LWP_DestroyProcess(PROCESS pid);

/* ---- Thread control (extensions, after Codezero's l4_thread_control) ----
 *
 * An LWP may be suspended: it is not run until LWP_ResumeProcess, but it
 * keeps waiting for whatever it waited for, and a signal, QSignal or I/O
 * readiness that arrives meanwhile is kept (it runs once resumed).
 * Suspension does not nest. Every LWP has a group number, an integer
 * the library only stores: the main LWP's is 0 and a new LWP takes its
 * creator's unless LWP_CREATE_SHARE_GROUP names one.
 *
 * Exit status: LWP_ExitProcess(status), 0 when the entry point returns,
 * LWP_EXIT_DESTROYED when destroyed. Every LWP blocked in LWP_WaitExit on
 * it gets the status when it ends, and it is then freed. An LWP created
 * LWP_CREATE_JOINABLE that ends with nobody waiting stays a zombie (its
 * stack freed, its PCB and status kept) until one LWP_WaitExit collects
 * the status or LWP_DestroyProcess discards it; other calls answer
 * LWP_EBADPID for a zombie. Any other LWP is freed as soon as it ends, so
 * its handle goes stale (LWP_EBADPID) and may later be reused. */

struct lwp_attr {
    int stacksize;    /* bytes, as LWP_CreateProcess */
    int priority;     /* 0..LWP_MAX_PRIORITY */
    const char *name; /* copied; NULL means "" */
    unsigned int flags; /* LWP_CREATE_* */
    int group;        /* with LWP_CREATE_SHARE_GROUP */
};
#define LWP_CREATE_DORMANT 0x1     /* created suspended: runs once resumed */
#define LWP_CREATE_JOINABLE 0x2    /* kept as a zombie until collected */
#define LWP_CREATE_SHARE_GROUP 0x4 /* group = attr->group, else creator's */
/* Run on the stack shared by all LWPs created with this flag (1 MiB, with
 * a guard region; stacksize, rounded as for an own stack, is then the depth
 * the LWP may reach, at most LWP_SHARED_STACK_MAX, else LWP_ENOMEM; a live
 * stack found deeper when it is saved is an overflow, handled as a damaged
 * magic word, see lwp_overflowAction). While another shared-stack LWP
 * runs, this one's live stack (from its stack pointer to the top: a few
 * hundred bytes for a connection handler blocked in IOMGR_WaitIO) waits in
 * a heap buffer of that size, copied out and back when the stack changes
 * hands. For many LWPs that each run briefly (one per connection), this
 * touches far less memory than one stack each; a switch between two of
 * them costs two copies of the live stack. The contract: while such an
 * LWP is switched out its stack's contents are not at their addresses, so
 * no other LWP or signal handler may use a pointer into its stack (to a
 * local passed to an LWP it created, say, or a lock in a local). Its own
 * pointers to its own locals stay valid, and the library keeps nothing of
 * a waiting LWP in its stack. LWP_StackUsed reports the deepest live stack
 * it had at a switch. Such LWPs may be preemptible (PRE_PreemptMe): the
 * signal frame they are cut in is saved with the rest. */
#define LWP_CREATE_SHARED_STACK 0x8
#define LWP_SHARED_STACK_MAX (1024 * 1024)
/* Defaults: smallest stack, LWP_NORMAL_PRIORITY, no name, no flags. */
#define LWP_ATTR_INIT {0, LWP_NORMAL_PRIORITY, NULL, 0, 0}

/* LWP_CreateProcess with attributes (attr NULL = LWP_ATTR_INIT). Without
 * LWP_CREATE_DORMANT it behaves exactly as LWP_CreateProcess (the caller
 * yields; *pid is written when it resumes). A dormant LWP is written to
 * *pid at once and the caller does not yield. May yield.
 * Returns LWP_SUCCESS, LWP_EINIT, LWP_EBADARG (ep NULL, stacksize < 0,
 * or LWP_CREATE_DORMANT with pid NULL), LWP_EBADFLAGS, LWP_EBADPRI,
 * LWP_ENOMEM or LWP_EINSWITCH. */
LWP_EXPORT int LWP_CreateProcessAttr(const struct lwp_attr *attr,
                                     void (*ep)(void *), void *parm,
                                     PROCESS *pid);

/* Suspend `pid`. Suspending another LWP does not yield; suspending oneself
 * yields at once and returns LWP_SUCCESS after LWP_ResumeProcess. May
 * yield. Returns LWP_SUCCESS, LWP_EINIT, LWP_EBADPID, LWP_ESUSPENDED or
 * LWP_EINSWITCH. */
LWP_EXPORT int LWP_SuspendProcess(PROCESS pid);

/* Let a suspended (or dormant) LWP run again: if it is runnable it joins
 * the tail of its run queue; if it still waits, it just keeps waiting.
 * Never yields. Returns LWP_SUCCESS, LWP_EINIT, LWP_EBADPID,
 * LWP_ENOTSUSPENDED or LWP_EINSWITCH. */
LWP_EXPORT int LWP_ResumeProcess(PROCESS pid);

/* Restart `pid` from scratch with ep(parm): its stack is cleared, its
 * rocks, special contexts, pending waits (an IOMGR_Select is cancelled),
 * pending QSignals, preemptibility and LWP error are dropped; it keeps its
 * PROCESS handle, index, name, priority, group and flags, and is left
 * dormant (LWP_ResumeProcess starts it). LWPs in LWP_WaitExit on it keep
 * waiting. Recycling oneself does not return. Never yields unless pid is
 * the caller. Returns LWP_SUCCESS, LWP_EINIT, LWP_EBADPID, LWP_EBADARG
 * (ep NULL), LWP_EMAINPROC or LWP_EINSWITCH. */
LWP_EXPORT int LWP_RecycleProcess(PROCESS pid, void (*ep)(void *),
                                  void *parm);

/* End the calling LWP with `status` (see above); does not return. The
 * main LWP cannot end (see LWP_DestroyProcess): from it the call does
 * nothing and returns, as do calls from a special context's save/restore
 * routine and calls before LWP_Init. */
LWP_EXPORT void LWP_ExitProcess(int status);

/* Block until `pid` ends, then *status = its exit status (status may be
 * NULL). A zombie answers at once and is freed. Several LWPs may wait on
 * one LWP; all get its status, in the order they started waiting. May
 * yield. Returns LWP_SUCCESS, LWP_EINIT, LWP_EBADPID (stale, freed or
 * NULL), LWP_EWAITSELF or LWP_EINSWITCH. */
LWP_EXPORT int LWP_WaitExit(PROCESS pid, int *status);

/* *group = the group of `pid` (live or zombie). Never yields. Returns
 * LWP_SUCCESS, LWP_EINIT, LWP_EBADPID, LWP_EBADARG or LWP_EINSWITCH. */
LWP_EXPORT int LWP_GetGroup(PROCESS pid, int *group);

/* ---- Scheduling ---- */

/* Yield: the caller goes to the tail of its priority's queue and the
 * highest-priority runnable LWP runs. If nothing at all is runnable the
 * program prints "***LWP Abort: LWP_DispatchProcess: Possible deadlock, no
 * runnable threads found" and what every LWP waits for, and exits with
 * status 1. May yield. Returns LWP_SUCCESS or LWP_EINIT. */
LWP_EXPORT int LWP_DispatchProcess(void);

/* *pid = the running LWP (NULL before LWP_Init). Never yields.
 * Returns LWP_SUCCESS, LWP_EINIT or LWP_EBADARG (pid NULL). */
LWP_EXPORT int LWP_CurrentProcess(PROCESS *pid);

/* The running LWP, or NULL before LWP_Init(). Never yields. */
LWP_EXPORT PROCESS LWP_ThisProcess(void);

/* *priority = priority of `pid`. Never yields.
 * Returns LWP_SUCCESS, LWP_EINIT, LWP_EBADPID or LWP_EBADARG. */
LWP_EXPORT int LWP_GetProcessPriority(PROCESS pid, int *priority);

/* ---- Events ---- */

/* Block until `event` is signalled. May yield (always does).
 * Returns LWP_SUCCESS, LWP_EINIT or LWP_EBADEVENT. */
LWP_EXPORT int LWP_WaitProcess(const void *event);

/* Block until `wcount` distinct entries of the NULL-terminated `evlist` have
 * been signalled; each entry counts once however often its event is
 * signalled, and one signal matches every entry equal to it. The list is
 * copied. wcount == 0 does not block but still yields. May yield.
 * Returns LWP_SUCCESS, LWP_EBADCOUNT (evlist NULL or empty, wcount < 0 or
 * greater than the number of entries) or LWP_EINIT. */
LWP_EXPORT int LWP_MwaitProcess(int wcount, const void *evlist[]);

/* Signal `event`: every waiting entry equal to it is counted, and LWPs whose
 * count is complete become runnable at the tail of their queues, in the
 * order they started waiting. If `yield` is non-zero the caller then yields
 * (even when nobody was waiting). May yield (when yield != 0).
 * Returns LWP_SUCCESS (some entry matched), LWP_ENOWAIT, LWP_EINIT or
 * LWP_EBADEVENT (then it does not yield). */
LWP_EXPORT int LWP_INTERNALSIGNAL(const void *event, int yield);
#define LWP_SignalProcess(event) LWP_INTERNALSIGNAL((event), 1)
#define LWP_NoYieldSignal(event) LWP_INTERNALSIGNAL((event), 0)

/* Per-LWP counting semaphore. LWP_QWait() returns at once if a QSignal is
 * pending (consuming it), else blocks until one arrives. May yield.
 * Returns LWP_SUCCESS or LWP_EINIT. */
LWP_EXPORT int LWP_QWait(void);
/* Post to pid's semaphore. If pid is blocked in LWP_QWait it becomes
 * runnable (the caller does not yield) and LWP_SUCCESS is returned;
 * otherwise the signal is remembered and LWP_ENOWAIT is returned.
 * Never yields. Also LWP_EINIT, LWP_EBADPID. */
LWP_EXPORT int LWP_QSignal(PROCESS pid);

/* ---- Stacks ----
 *
 * Sizing. An LWP's stack is the stacksize it was created with, at least
 * 32 KiB, rounded up to whole pages; the main LWP runs on the thread's
 * own stack. The stack does not grow: size it for the deepest call chain
 * the LWP makes, local arrays included (LWP_StackUsed measures it). Large
 * buffers (a 64 KiB packet, a path array) belong on the heap or in a
 * larger stack. Stacks are mapped with MAP_NORESERVE and only the pages
 * an LWP touches use memory, so a generous size costs address space only.
 *
 * Overflow detection. Below every stack of its own mapping lies a 64 KiB
 * PROT_NONE guard region; any access there by the running LWP is an
 * overflow (reported, then lwp_overflowAction). A frame that moves the
 * stack pointer further than that in one step (a local array larger than
 * 64 KiB plus what is left of the stack) can jump over the guard into
 * other memory. Compile code that runs on LWP stacks with
 * -fstack-clash-protection (GCC 8, Clang 11 and later): each page of a
 * large frame is then touched in order as it is allocated, so the first
 * touch below the stack faults in the guard whatever the frame's size.
 * The library is built with it; `pkg-config --cflags lwp` and the CMake
 * package's lwp::lwp and lwp::lwp_static (INTERFACE compile option, for C
 * and C++ with GCC or Clang) pass it on, unless the consumer leaves it
 * out (pkg-config --define-variable=lwp_stack_cflags=, or
 * LWP_STACK_CLASH_PROTECTION=OFF before find_package). Without it, a
 * frame that jumps over the guard is still caught when it faults (the
 * fault handler checks the stack pointer of the faulting code against the
 * running LWP's stack, on x86-64 and AArch64) or when the LWP switches
 * while its stack pointer is below its stack (one compare per switch), but
 * writes it made to another LWP's stack before that are not undone.
 *
 * Past the kernel's mapping limit (vm.max_map_count: each stack with its
 * guard takes two mappings, so about 28,000 LWPs by default), new stacks
 * are carved from shared mappings that cannot hold a guard; each has an
 * unused 64 KiB gap below it instead, so an overflow of up to 64 KiB harms
 * no other stack. Such an overflow is found at the next switch if the LWP
 * is still below its stack, else when the LWP ends or is recycled (a
 * written page of the gap is then resident: one mincore() call) or at
 * LWP_TerminateProcessSupport. Not caught: a frame that writes into
 * another stack without faulting and returns before any switch (only
 * -fstack-clash-protection prevents that), and an overflow of an arena
 * stack whose LWP never ends while the program never terminates LWP
 * support. A magic word at each stack's low end is also checked: at every
 * switch while any LWP runs on an arena stack, otherwise when its LWP
 * ends or is recycled. Overflow reports need SIGSEGV: a program that installs its own
 * handler after LWP_Init() must chain to the previous one.
 *
 * *max = stack size of pid, *used = its high-water mark in bytes. Works
 * only for LWPs created while lwp_stackUseEnabled was set; otherwise *used
 * is 0 and LWP_NO_STACK is returned. For the main LWP, *max is the size of
 * the thread's stack and *used the depth seen at its last switch (or now,
 * when it asks about itself). Never yields.
 * Returns LWP_SUCCESS, LWP_NO_STACK, LWP_EINIT, LWP_EBADPID, LWP_EBADARG. */
LWP_EXPORT int LWP_StackUsed(PROCESS pid, int *max, int *used);

/* Debugging aid: while on, the stacks of all LWPs but the running one are
 * mprotect()ed PROT_NONE, so a stray pointer into another LWP's stack
 * faults at once (costs two mprotect calls per context switch). Works with
 * IOMGR: while it is on, IOMGR_Select, IOMGR_WaitIO and IOMGR_Sleep keep
 * their request on the heap, not in the caller's stack; the stack of an
 * LWP already waiting in IOMGR when it is turned on is protected from the
 * next time that LWP runs and leaves the CPU. No effect before LWP_Init().
 * Never yields. */
LWP_EXPORT void LWP_ProtectStacks(void);
LWP_EXPORT void LWP_UnProtectStacks(void);

/* ---- Rocks: per-LWP tagged values ---- */

/* Attach `Value` under `Tag` to the running LWP (at most 8 rocks per LWP;
 * a value cannot be changed once set). Value is any object pointer, kept
 * and never dereferenced (Coda: char *, so its casts still compile).
 * Never yields.
 * Returns LWP_SUCCESS, LWP_EBADROCK (Tag exists), LWP_ENOROCKS, LWP_EINIT. */
LWP_EXPORT int LWP_NewRock(int Tag, void *Value);
/* *Value = the running LWP's rock `Tag`. Never yields.
 * Returns LWP_SUCCESS, LWP_EBADROCK, LWP_EINIT or LWP_EBADARG.
 * The out-parameter stays Coda's char **: Coda's C++ code passes the
 * address of a char * (`char *rock; LWP_GetRock(TAG, &rock)`), which C++
 * will not turn into a void ** (and C only with a diagnostic), while a
 * plain void * parameter would also take `rock` without its `&`. A
 * pointer of another type needs a cast, as in Coda: in C,
 * `LWP_GetRock(TAG, (void *)&p)`; in C++, read a char * and cast it. */
LWP_EXPORT int LWP_GetRock(int Tag, char **Value);

/* ---- Introspection ---- */

/* Name of the running LWP (owned by the library; valid while it lives), or
 * NULL before LWP_Init(). Never yields. */
LWP_EXPORT char *LWP_Name(void);
/* Creation index of the running LWP (never reused), or LWP_EINIT. */
LWP_EXPORT int LWP_Index(void);
/* Highest index given out so far, or LWP_EINIT. */
LWP_EXPORT int LWP_HighestIndex(void);
/* Send debug output to `file` (NULL = stderr) and set lwp_debug = level. */
LWP_EXPORT void LWP_SetLog(FILE *file, int level);
/* Print every LWP, its state, what it waits for and its stack use to
 * lwp_logfile. Never yields. */
LWP_EXPORT void LWP_Print_Processes(void);
/* Text for an LWP_* return code ("LWP_ENOWAIT: ..."); never NULL. */
LWP_EXPORT const char *LWP_StrError(int code);

#ifdef __cplusplus
}
#endif

/* Coda declares IOMGR in <lwp/lwp.h>; so do we. */
#include <lwp/iomgr.h>

#endif /* LWP_LWP_H */
