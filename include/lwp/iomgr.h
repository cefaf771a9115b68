/* SPDX-License-Identifier: MIT */
/*
 * IOMGR: blocking I/O, timeouts and Unix signals for LWPs, on libev.
 *
 * Model. IOMGR_Initialize() creates the "IO MANAGER" LWP at priority 0 (the
 * lowest). An LWP that calls IOMGR_Select(), IOMGR_WaitIO() or
 * IOMGR_StandingWait() is parked while libev watches its fds and its
 * timeout; it becomes runnable again
 * (joining the tail of its priority's run queue) when one of them fires.
 * The IO MANAGER gets the CPU when no LWP above priority 0 is runnable.
 * If nothing else can run, it blocks in the kernel until an fd, a timeout
 * or a signal fires, so an idle program uses no CPU. If other priority-0
 * LWPs are runnable, it polls libev without blocking, at most once every
 * 0.1 ms of their run (a waiter is then woken within that time plus one
 * turn of each of them), and while nothing is registered (no LWP waits in
 * IOMGR, no Unix signal is handed to IOMGR_Signal, the loop is IOMGR's
 * own) it leaves the run queue altogether, so LWPs that share priority 0
 * with it pay nothing for it; it comes back as soon as something is
 * registered or nothing else can run. Run your own LWPs at priority 1 or
 * above (LWP_NORMAL_PRIORITY is 3), as Coda advises: priority-0 LWPs share
 * the CPU with the IO MANAGER and see more latency.
 *
 * Initialisation follows the LWP user guide: IOMGR_Initialize() alone
 * initialises FastTime and LWP too (the caller becomes the main LWP at
 * LWP_NORMAL_PRIORITY); calling FT_Init, LWP_Init and IOMGR_Initialize in
 * that order also works. Later calls keep the first call's set-up.
 *
 * Confinement. As for every LWP call: only the OS thread that called
 * LWP_Init(), never from a signal handler, except IOMGR_SoftSig() (which is
 * async-signal-safe and may be called from any thread). From another OS
 * thread the calls do nothing and return LWP_ETHREAD (IOMGR_Select,
 * IOMGR_WaitIO and IOMGR_Sleep too; IOMGR_Poll returns 0, IOMGR_Cancel -1).
 *
 * Differences from Coda (deliberate fixes): nothing busy-spins; Unix
 * signals have no lost-wake-up window and every signal number works,
 * real-time ones included; an fd closed under a selecting LWP, an
 * LWP_QSignal() of a selecting LWP and IOMGR_Finalize() with LWPs still
 * selecting wake that LWP with an error (-1 and errno EBADF, EINTR or
 * ECANCELED) instead of touching freed memory; IOMGR_Select() costs
 * O(fds asked about), whatever FD_SETSIZE and the number of waiting LWPs.
 *
 * epoll_wait. The library defines epoll_wait(2), which stands in for
 * libc's in the whole process (a program's own definition would take
 * precedence): it passes every call on to epoll_pwait unchanged, except
 * that the loop IOMGR made itself waits with no timeout where libev would
 * give its longest (59.743 s). IOMGR's timers do not need that wake-up,
 * and on a virtual machine a wait with a timeout costs a kernel timer each
 * time (about 0.5 us of CPU per wait, measured). A loop handed in through
 * IOMGR_InitializeWithLoop keeps libev's timeout.
 */
#ifndef LWP_IOMGR_H
#define LWP_IOMGR_H

#include <signal.h> /* the signal numbers IOMGR_Signal takes */
#include <sys/select.h>
#include <sys/time.h>

#include <lwp/export.h>
#include <lwp/lwp.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ev_loop;

/* Start IOMGR on a libev loop of its own, initialising FastTime and LWP first
 * if nobody has. A second call does nothing and returns LWP_SUCCESS.
 * Returns LWP_SUCCESS, LWP_ENOMEM, or LWP_ESYSTEM when libev has no usable
 * backend or fewer than two fds are free (its epoll fd and the eventfd that
 * wakes it; libev would abort): nothing is started then, LWP stays
 * initialised and a later call may succeed. Never yields. */
LWP_EXPORT int IOMGR_Initialize(void);

/* The same on a loop the program owns (it is neither run by the program
 * while LWPs use it nor destroyed by IOMGR_Finalize). Returns LWP_EBADARG
 * for a NULL loop; otherwise as IOMGR_Initialize (a second call, with any
 * loop, does nothing). Never yields. */
LWP_EXPORT int IOMGR_InitializeWithLoop(struct ev_loop *loop);

/* Stop IOMGR: every LWP still in IOMGR_Select/IOMGR_WaitIO is made
 * runnable and gets -1 with errno ECANCELED, Unix signals handed to
 * IOMGR_Signal get their previous actions back, pending soft signals are
 * dropped and the IO MANAGER LWP is destroyed. IOMGR_Initialize may be
 * called again afterwards. Returns LWP_SUCCESS, or LWP_EINIT if IOMGR is
 * not running. Never yields. */
LWP_EXPORT int IOMGR_Finalize(void);

/* Coda's select for LWPs. Only bits below nfds of the three sets (any may
 * be NULL) are looked at; nfds may exceed FD_SETSIZE for callers whose sets
 * are that large, as with select(2), up to the soft RLIMIT_NOFILE (or an fd
 * open above it): a larger nfds fails with EINVAL at once, as select(2)'s
 * manual says, without reading the sets (FD_SETSIZE is always accepted).
 * - timeout {0,0}: a polling select(2) of the caller's sets, returning what
 *   select(2) returns (errno set on -1). Never yields.
 * - otherwise the caller blocks until an fd is ready or the timeout (a
 *   relative time from the call) passes; NULL or any negative field means
 *   wait forever. With no fds this is the LWP sleep. May yield.
 * On return from a blocking select the three sets hold exactly the ready
 * fds (all cleared on timeout or error). Exceptional conditions (the e set;
 * POLLPRI: TCP urgent data, for one) are watched by the kernel, in an
 * epoll instance the select makes for its e-set fds (one fd, closed before
 * it returns): one already there or arriving wakes it at the next loop
 * pass, and nothing polls while it waits. As for select(2), a hang-up or
 * an error is not exceptional, and a file epoll cannot watch (a regular
 * file) never is. An e-set fd closed under the wait ends it as in the
 * other sets (below).
 * Returns the number of (fd, set) pairs ready (an fd both readable and
 * writable counts 2), 0 on timeout, -2 if cancelled by IOMGR_Cancel, -1 with
 * errno EBADF (an fd is or became closed), EINTR (LWP_QSignal woke the
 * caller; a Q-signal pending at the call also counts), ECANCELED
 * (IOMGR_Finalize), EINVAL (negative or too large nfds), ENOMEM, or, with
 * e-set fds only, EMFILE or ENFILE (no fd left for the epoll instance);
 * LWP_EINIT if IOMGR is not running.
 * Closed and reused fds (IOMGR_WaitIO too). The kernel forgets a watched
 * file when it is closed, and says nothing:
 * - closed before the call: -1/EBADF at once (the next loop pass);
 * - closed by another LWP while the caller waits: -1/EBADF within about
 *   two seconds (a check of the waits that last, once a second);
 * - closed and its number given to a new file, by the caller between two
 *   waits (an iterative server's close and accept, a reconnecting client
 *   of a select loop) or by another LWP that then waits on it too: the
 *   new file is watched within about two milliseconds (within 10 to
 *   34 ms in a loop under heavy load, whose checks ride on its passes,
 *   when the load stops just then); by another LWP
 *   under a wait it does not join: within about two seconds. Either way
 *   the wait then ends as select(2) would see the new file;
 * - closed while the same open file stays open under another number (dup,
 *   dup2, fork, SCM_RIGHTS): the kernel keeps reporting that file under
 *   the closed number, so the wait returns its readiness (and the caller's
 *   next read or write on the closed number fails with EBADF), or -1/EBADF
 *   within about two seconds if the file stays quiet. */
LWP_EXPORT int IOMGR_Select(int nfds, fd_set *readfds, fd_set *writefds,
                            fd_set *exceptfds, struct timeval *timeout);

/* Readiness bits of IOMGR_WaitIO. */
#define IOMGR_READ 0x1
#define IOMGR_WRITE 0x2

/* Extension: wait until fd is ready for `events` (IOMGR_READ, IOMGR_WRITE
 * or both) or the timeout passes (NULL or negative = forever; {0,0} polls
 * without yielding). The fast path for one-LWP-per-connection servers: no
 * fd_set, no scan. May yield.
 * Returns the ready bits (> 0), 0 on timeout, -2 if cancelled, -1 with
 * errno as IOMGR_Select (EBADF also for a negative fd and, at once and
 * without memory spent on it, for a number at or above the soft
 * RLIMIT_NOFILE that is not open; EINVAL for events without a valid bit),
 * or LWP_EINIT. */
LWP_EXPORT int IOMGR_WaitIO(int fd, int events, struct timeval *timeout);

/* Extension: standing waits, for an LWP that waits on one fd of its own
 * again and again (a datagram server's receive loop; liblwprpc's listener
 * waits on its socket this way). IOMGR_WaitIO registers its fd and its
 * timeout at every call and takes them down when it returns; a handle
 * keeps its fd registered for its whole life and takes absolute
 * deadlines, so a wait costs neither (nor a clock read). The fd must stay
 * open, and be the same file, until IOMGR_StandingClose: closed under the
 * handle, a wait fails with EBADF (at once if libev finds out, else within
 * about two seconds, as for IOMGR_WaitIO); a file swapped in under the
 * number is registered again within about two seconds. Confinement and
 * LWP_ETHREAD as for the other calls. */
typedef struct iomgr_standing IOMGR_Standing;

/* No deadline, for IOMGR_StandingWait. */
#define IOMGR_NO_DEADLINE (~0ULL)

/* Open a handle on fd for `events` (IOMGR_READ, IOMGR_WRITE or both) and
 * store it in *out. Never yields. Returns 0; -1 with errno EINVAL (out
 * NULL, events with no valid bit or an unknown one), EBADF (fd negative or
 * not open), ENOMEM; LWP_EINIT if IOMGR is not running. The handle belongs
 * to the caller until IOMGR_StandingClose, also after IOMGR_Finalize
 * (which ends it: waits on it then fail with ECANCELED). */
LWP_EXPORT int IOMGR_StandingOpen(int fd, int events, IOMGR_Standing **out);

/* Wait until the handle's fd is ready for its events or the monotonic
 * clock reaches deadline_us: FT_MonotonicMicros()'s clock and unit
 * (microseconds of CLOCK_MONOTONIC), or IOMGR_NO_DEADLINE. A deadline
 * already past ends the wait at the next loop pass. Readiness is seen as
 * IOMGR_WaitIO sees it (level: a wait on an fd that is already ready
 * returns at the next pass); the waiter is made runnable in the pass that
 * finds it ready, ahead of the IOMGR_Select and IOMGR_WaitIO waiters that
 * pass wakes. One LWP may wait on a handle at a time; s must be a handle
 * IOMGR_StandingOpen made that IOMGR_StandingClose has not freed (as for
 * any freed memory, a closed handle cannot be told from a live one).
 * May yield.
 * Returns the ready bits (> 0), 0 when the deadline passed, -2 if
 * cancelled by IOMGR_Cancel, -1 with errno EINTR (LWP_QSignal woke the
 * caller; a Q-signal pending at the call also counts), EBADF (the fd was
 * closed), EBUSY (another LWP waits on the handle), ECANCELED
 * (IOMGR_Finalize ended the handle, or IOMGR_StandingClose closed it
 * under the wait), EINVAL (s NULL), ENOMEM; LWP_EINIT if IOMGR is not
 * running. */
LWP_EXPORT int IOMGR_StandingWait(IOMGR_Standing *s,
                                  unsigned long long deadline_us);

/* Close the handle (its fd stays open: it is the caller's) and free it; an
 * LWP waiting on it returns -1 with ECANCELED. Never yields. Returns 0;
 * -1 with errno EINVAL (s NULL); LWP_EINIT if IOMGR is not running and s
 * is NULL or not yet ended by IOMGR_Finalize. */
LWP_EXPORT int IOMGR_StandingClose(IOMGR_Standing *s);

/* Extension (also OpenAFS's): sleep `seconds` (<= 0: just yield). Returns
 * 0, -2 if cancelled, -1 with errno EINTR/ECANCELED as IOMGR_Select, or
 * LWP_EINIT. May yield. */
LWP_EXPORT int IOMGR_Sleep(int seconds);

/* One IOMGR pass in the caller: deliver pending signals, expire timeouts
 * and poll every fd being selected on, waking the LWPs concerned (it does
 * not yield to them, as in Coda). Returns non-zero if any LWP was made
 * runnable, 0 if none or IOMGR is not running. */
LWP_EXPORT int IOMGR_Poll(void);

/* If pid is blocked in IOMGR_Select/IOMGR_WaitIO, end that call with -2 and
 * make pid runnable; returns 0. Returns -1 if pid is not selecting (or is
 * not a live LWP, or IOMGR is not running). Called automatically when a
 * selecting LWP is destroyed. Never yields. */
LWP_EXPORT int IOMGR_Cancel(PROCESS pid);

/* Deliver Unix signal signo as LWP event `event`: each time signo arrives
 * (deliveries between two IOMGR passes coalesce), the IO MANAGER calls
 * LWP_NoYieldSignal(event). Because delivery happens in an LWP, "check a
 * condition, then LWP_WaitProcess(event)" cannot miss a signal. Calling it
 * again for the same signo changes the event. Never yields.
 * Returns LWP_SUCCESS; LWP_EBADSIG for the signals PRE_SetSignal refuses
 * too: signo <= 0 or >= NSIG, those that cannot be caught (SIGKILL,
 * SIGSTOP) and those the kernel raises for a fault of the running code
 * (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP: a handler that returns would
 * re-run the faulting instruction for ever, and stack-overflow reports
 * need SIGSEGV); LWP_ESIGBUSY for the signal preemption uses while it is
 * on (<lwp/preempt.h>; its action is left alone); LWP_EBADEVENT (NULL
 * event); LWP_ESYSTEM (sigaction failed); LWP_EINIT or LWP_ETHREAD. The
 * event is any address, as for LWP_WaitProcess (Coda's prototype said
 * char *; those callers still compile). */
LWP_EXPORT int IOMGR_Signal(int signo, const void *event);

/* Stop delivering signo and restore the action it had before
 * IOMGR_Signal. Returns LWP_SUCCESS, LWP_EBADSIG (out of range or not
 * handed to IOMGR_Signal, e.g. preemption's signal: its action is left
 * alone), LWP_EINIT or LWP_ETHREAD. Never yields. */
LWP_EXPORT int IOMGR_CancelSignal(int signo);

/* Software interrupt: run aproc(arock) soon in a new LWP named
 * "SignalHandler" (32 KiB stack, LWP_NORMAL_PRIORITY), created by the IO
 * MANAGER. Async-signal-safe and callable from any thread. At most 4 may be
 * pending. Started at the IO MANAGER's next loop pass: at once when the
 * LWPs block, and, while priority-0 LWPs keep the CPU, within 0.1 ms if
 * anything is registered with IOMGR (see the model above), else when they
 * block or something is. Returns 0, or -1 when 4 are already pending, aproc is NULL or
 * IOMGR is not running. arock is any object pointer (Coda: char *). */
LWP_EXPORT int IOMGR_SoftSig(void (*aproc)(void *), void *arock);

/* Extension: pass hooks. fn(arg) runs in the IO MANAGER just before each of
 * its passes over the event loop: before it blocks in the kernel because no
 * LWP can run, before the polls it makes while LWPs keep the CPU (see the
 * model above), and in IOMGR_Poll. Work the LWPs queue during one round
 * (datagrams to send, say) then leaves in one system call after they have
 * all run; liblwprpc batches its sends this way. fn runs on the IO
 * MANAGER's stack (or IOMGR_Poll's caller's) and must not yield; it may
 * make LWPs runnable (the manager then does not block). Hooks run in the
 * order added; one may remove itself or another. They end with
 * IOMGR_Finalize. Never yields.
 * Returns 0; -1 with errno EINVAL (fn NULL), EEXIST (this fn and arg are
 * registered already) or ENOSPC (IOMGR_MAX_PASS_HOOKS are); LWP_EINIT if
 * IOMGR is not running. */
#define IOMGR_MAX_PASS_HOOKS 8
LWP_EXPORT int IOMGR_AddPassHook(void (*fn)(void *), void *arg);

/* Remove the hook fn(arg). Returns 0; -1 with errno ENOENT if no such hook
 * is registered; LWP_EINIT if IOMGR is not running. Never yields. */
LWP_EXPORT int IOMGR_RemovePassHook(void (*fn)(void *), void *arg);

#ifdef __cplusplus
}
#endif

#endif /* LWP_IOMGR_H */
