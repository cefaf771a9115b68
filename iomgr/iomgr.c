/* SPDX-License-Identifier: MIT */
/*
 * The IO MANAGER: set-up and tear-down, the manager LWP's loop, and the
 * calls that act on another LWP's select (IOMGR_Cancel) or on the loop
 * (IOMGR_Poll).
 *
 * The manager runs at priority 0, so it gets the CPU only when no LWP of
 * higher priority is runnable. It then runs one libev iteration: without
 * blocking if another priority-0 LWP is runnable, blocking in the kernel
 * otherwise (nothing else can run until an event arrives). libev callbacks
 * only record results and make LWPs runnable; they never switch, so the
 * loop is never re-entered from another LWP's stack.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fasttime/fasttime_internal.h"
#include "iomgr_internal.h"

_Atomic(struct iomgr *) iomgr__mgr;

static struct iomgr the_mgr;

/* FastTime's approximate clock follows the loop's idea of now. */
static void note_loop_time(struct iomgr *m)
{
    ev_tstamp now = ev_now(m->loop);
    struct timeval tv;

    tv.tv_sec = (time_t)now;
    tv.tv_usec = (suseconds_t)((now - (ev_tstamp)tv.tv_sec) * 1e6);
    lwp__ft_note_time(&tv);
}

static void run_loop(struct iomgr *m, int flags)
{
    double now;

    iomgr__before_pass(m);
    iomgr__standing_before_pass(m);
    if (flags == EVRUN_ONCE) {
        iomgr__verify_slack(m);
        iomgr__tmr_gate(m);
    }
    m->batching = 1;
    iomgr__own_pass(m, flags);
    /* One clock read for the timers and for pass_due (not ev_now(): it is
     * derived from the monotonic clock with an offset libev calibrates
     * only now and then, and an offset above the period would make every
     * turn look due). */
    now = iomgr__mono();
    iomgr__note_pass(m, now);
    m->last_pass = now;
    iomgr__tmr_expire(m, m->last_pass);
    iomgr__after_pass(m);
    note_loop_time(m);
    iomgr__run_softsigs(m);
}

/* Is any LWP other than the manager itself runnable? The manager runs
 * only when priority 0 is the highest non-empty queue. */
static int others_runnable(const struct lwp_runtime *rt)
{
    return rt->runmask != 1u || rt->runq[0]->next != rt->current;
}

/* Could a non-blocking pass find anything? Not without a wait, a Unix
 * signal handed to IOMGR or a soft signal pending, on a loop of our own
 * (the watchers a program keeps on the loop it handed in are unknown). */
static int nothing_to_poll(const struct iomgr *m)
{
    if (m->nwaiting || !m->own_loop || ev_async_pending(&m->softsig_async))
        return 0;
    for (int signo = 1; signo < NSIG; signo++)
        if (m->sig[signo].active)
            return 0;
    return 1;
}

/* While others run, a pass at most every IOMGR_BUSY_POLL_SECONDS: LWPs
 * that signal each other at priority 0 would otherwise pay an epoll_wait
 * per switch, and a waiter is still woken within that time. */
static int pass_due(const struct iomgr *m)
{
    return iomgr__mono() - m->last_pass >= IOMGR_BUSY_POLL_SECONDS;
}

/* Leave the run queue, as an LWP_QWait, until something is registered
 * (iomgr__unpark) or nothing else can run (on_idle). A parked manager
 * costs the LWPs that share priority 0 with it no switch at all. */
static void park(struct iomgr *m)
{
    m->parked = 1;
    /* At once if a program's LWP_QSignal of the manager was pending. */
    (void)LWP_QWait();
    m->parked = 0;
}

void iomgr__unpark_slow(struct iomgr *m)
{
    struct lwp_pcb *p = m->mgr;

    m->parked = 0;
    /* As iomgr__finish wakes a waiter: a suspended manager stays put. */
    if (p && p->qwaiting && ++p->qpending == 0)
        lwp__make_runnable(lwp__rt, p);
}

static void on_idle(void)
{
    struct iomgr *m = iomgr__running();

    if (m)
        iomgr__unpark(m);
}

static void manager_main(void *arg)
{
    struct iomgr *m = arg;

    for (;;) {
        if (!others_runnable(lwp__rt)) {
            iomgr__run_hooks(m); /* may make an LWP runnable */
            run_loop(m, others_runnable(lwp__rt) ? EVRUN_NOWAIT : EVRUN_ONCE);
        } else if (nothing_to_poll(m)) {
            park(m);
            continue;
        } else if (pass_due(m)) {
            iomgr__run_hooks(m);
            run_loop(m, EVRUN_NOWAIT);
        }
        LWP_DispatchProcess();
    }
}

static void on_destroy(struct lwp_pcb *p)
{
    struct iomgr *m = iomgr__running();

    if (!m)
        return;
    if (p == m->mgr && !m->finalizing) {
        m->mgr = NULL; /* being destroyed already: not twice */
        IOMGR_Finalize();
        return;
    }
    if (p->io_req)
        iomgr__forget(m, p);
}

static void on_terminate(void)
{
    if (iomgr__running())
        IOMGR_Finalize();
}

/* From the preemption handler, which interrupted the program's own code
 * (so no loop pass is under way): LWPs whose I/O is ready become runnable
 * and share the CPU with the preempted one. */
static void on_preempt(void)
{
    struct iomgr *m = iomgr__running();

    if (m && !m->batching)
        run_loop(m, EVRUN_NOWAIT);
}

/* libev aborts the program when it cannot make the eventfd (or pipe)
 * that wakes its loop for soft signals, and silently falls back to poll(2)
 * when it cannot make its epoll fd: so two fds must be free first. */
static int two_fds_free(void)
{
    int p[2];

    if (pipe(p) != 0)
        return 0;
    close(p[0]);
    close(p[1]);
    return 1;
}

static int make_loop(struct iomgr *m, struct ev_loop *loop)
{
    memset(m, 0, sizeof(*m));
    m->tfd = -1; /* until iomgr__tmr_init */
    if (!two_fds_free())
        return LWP_ESYSTEM;
    m->own_loop = loop == NULL;
    m->loop = loop ? loop : ev_loop_new(EVFLAG_AUTO);
    if (!m->loop)
        return LWP_ESYSTEM;
    iomgr__fds_init(m);
    /* Timers run after the fd callbacks of their pass: a fired fd is not
     * suspect. */
    m->sweep.cb = iomgr__sweep_cb;
    /* Kept active (and counted by libev) for the manager's whole life, so
     * an idle loop blocks instead of returning at once: a soft signal may
     * always come. */
    ev_async_init(&m->softsig_async, iomgr__softsig_cb);
    m->softsig_async.data = m;
    ev_async_start(m->loop, &m->softsig_async);
    /* Last: the timerfd is optional (a libev timer stands in), the fds
     * libev makes above are not (it aborts without them). */
    iomgr__tmr_init(m);
    return LWP_SUCCESS;
}

static void drop_loop(struct iomgr *m)
{
    iomgr__standing_term(m);
    iomgr__fds_term(m);
    ev_async_stop(m->loop, &m->softsig_async);
    iomgr__tmr_stop(m, &m->sweep);
    iomgr__tmr_term(m);
    if (m->own_loop)
        ev_loop_destroy(m->loop);
    m->loop = NULL;
}

static int start(struct ev_loop *loop)
{
    struct iomgr *m = &the_mgr;
    PROCESS pid;
    int rc;

    if (lwp__foreign_thread())
        return LWP_ETHREAD;
    if (iomgr__running())
        return LWP_SUCCESS;
    lwp__ft_ensure_init();
    if (!lwp__rt) {
        rc = LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &pid);
        if (rc != LWP_SUCCESS)
            return rc;
    }
    rc = make_loop(m, loop);
    if (rc != LWP_SUCCESS)
        return rc;
    atomic_store(&iomgr__mgr, m);
    lwp__rt->on_destroy = on_destroy;
    lwp__rt->on_terminate = on_terminate;
    lwp__rt->on_preempt = on_preempt;
    lwp__rt->on_idle = on_idle;
    rc = LWP_CreateProcess(manager_main, IOMGR_STACK, 0, m, "IO MANAGER",
                           &pid);
    if (rc != LWP_SUCCESS) {
        atomic_store(&iomgr__mgr, NULL);
        drop_loop(m);
        return rc;
    }
    m->mgr = lwp__pcb_lookup(lwp__rt, pid);
    return LWP_SUCCESS;
}

int IOMGR_Initialize(void)
{
    return start(NULL);
}

int IOMGR_InitializeWithLoop(struct ev_loop *loop)
{
    if (!loop)
        return LWP_EBADARG;
    return start(loop);
}

/* Every waiting LWP gets -1/ECANCELED; its request stays in its frame. */
static void cancel_all_waiters(struct iomgr *m)
{
    LWP_FOR_EACH_LIVE(lwp__rt, p, {
        struct iomgr_req *r = p->io_req;
        if (r) {
            iomgr__req_stop(m, r);
            iomgr__finish(m, r, IOMGR_FAILED, ECANCELED);
        }
    });
}

int IOMGR_Finalize(void)
{
    struct iomgr *m = iomgr__entry();
    struct lwp_pcb *mgr;

    if (!m || m->finalizing)
        return lwp__no_rt();
    m->finalizing = 1;
    cancel_all_waiters(m);
    iomgr__signals_stop(m);
    for (int i = 0; i < IOMGR_SOFTSIG_SLOTS; i++)
        atomic_store(&m->softsig[i].state, 0);
    atomic_store(&iomgr__mgr, NULL);
    mgr = m->mgr;
    m->mgr = NULL;
    if (mgr && mgr != lwp__rt->current)
        LWP_DestroyProcess(lwp__pid(mgr));
    drop_loop(m);
    lwp__rt->on_destroy = NULL;
    lwp__rt->on_terminate = NULL;
    lwp__rt->on_preempt = NULL;
    lwp__rt->on_idle = NULL;
    m->parked = 0;
    m->finalizing = 0;
    return LWP_SUCCESS;
}

int IOMGR_Poll(void)
{
    struct iomgr *m = iomgr__entry();
    int before;

    if (!m)
        return 0;
    before = m->woken;
    iomgr__run_hooks(m);
    run_loop(m, EVRUN_NOWAIT);
    return m->woken != before;
}

int IOMGR_Cancel(PROCESS pid)
{
    struct iomgr *m = iomgr__entry();
    struct lwp_pcb *p;
    struct iomgr_req *r;

    if (!m || lwp__handle(pid, &p) != LWP_SUCCESS || !p->io_req)
        return -1;
    r = p->io_req;
    if (r->state != IOMGR_WAITING)
        return -1; /* already over; its LWP just has not run yet */
    iomgr__req_stop(m, r);
    iomgr__finish(m, r, IOMGR_CANCELLED, 0);
    return 0;
}

void iomgr__forget(struct iomgr *m, struct lwp_pcb *p)
{
    struct iomgr_req *r = p->io_req;

    iomgr__req_stop(m, r); /* also clears p->io_req */
    /* The destroyed LWP never returns to free what its select allocated. */
    iomgr__except_close(r);
    if (r->watch != r->inline_watch)
        free(r->watch);
}

void iomgr__run_softsigs(struct iomgr *m)
{
    /* Only after a pass that ran the async watcher (every IOMGR_SoftSig
     * sends it after filling its slot): no atomic loads in the others. */
    if (!m->softsig_seen)
        return;
    m->softsig_seen = 0;
    for (int i = 0; i < IOMGR_SOFTSIG_SLOTS; i++) {
        struct iomgr_softsig *s = &m->softsig[i];
        void (*proc)(void *);
        void *(*afs_proc)(void *);
        void *rock;
        PROCESS pid;

        if (atomic_load_explicit(&s->state, memory_order_acquire) != 2)
            continue;
        proc = s->proc;
        afs_proc = s->afs_proc;
        rock = s->rock;
        atomic_store_explicit(&s->state, 0, memory_order_release);
        /* Creation yields to the handler when it outranks the caller. */
        if (lwp__create(proc, afs_proc, IOMGR_SOFTSIG_STACK,
                        LWP_NORMAL_PRIORITY, rock, "SignalHandler",
                        &pid) == LWP_SUCCESS)
            m->woken++;
        if (iomgr__running() != m)
            return; /* the handler finalized IOMGR */
    }
}
