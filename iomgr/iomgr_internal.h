/* SPDX-License-Identifier: MIT */
/*
 * IOMGR's private state. A selecting LWP's request lives in its own stack
 * frame (IOMGR_Select/IOMGR_WaitIO), or for a shared-stack LWP in a buffer
 * its PCB keeps (io_heap), found through its PCB (io_req) while
 * it waits; nothing in the manager outlives the call that made it, so a
 * destroyed, cancelled or woken LWP leaves nothing behind to touch. There
 * is deliberately no list of requests: linking one into a list would touch
 * its neighbours, in other LWPs' stacks, at every wait.
 */
#ifndef LWP_IOMGR_INTERNAL_H
#define LWP_IOMGR_INTERNAL_H

#include <ev.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>

#include <lwp/iomgr.h>

#include "lwp/lwp_internal.h"

#pragma GCC visibility push(hidden)

#define IOMGR_STACK 0x10000      /* the IO MANAGER's stack */
#define IOMGR_SOFTSIG_STACK 0x8000 /* Coda's, for "SignalHandler" LWPs */
#define IOMGR_SOFTSIG_SLOTS 4
#define IOMGR_INLINE_WATCH 4      /* fds watched without malloc */
#define IOMGR_SWEEP_SECONDS 1.0   /* closed-fd check period */
/* Watchers armed without a system call are checked after this long, and
 * then ever less often (see iomgr_fd.c); levels of that back-off. */
#define IOMGR_VERIFY_SECONDS 0.001
#define IOMGR_VERIFY_LEVELS 9
/* The verify ticks run at the loop's passes; a loop blocked since is woken
 * for one only this much later, and, while the ticks keep finding every
 * watcher confirmed, twice as late each time up to the maximum (see
 * iomgr_fd.c). */
#define IOMGR_VERIFY_SLACK_SECONDS 0.008
#define IOMGR_VERIFY_SLACK_MAX_SECONDS 0.032
/* Watchers marked unsure and passes with I/O, over the current tick period
 * and the one before, from which a busy loop is a server under load (see
 * iomgr__verify_slack). */
#define IOMGR_VERIFY_BUSY 16
/* While other LWPs keep the CPU, the manager polls the loop at most this
 * often (an epoll_wait costs as much as several LWP switches). */
#define IOMGR_BUSY_POLL_SECONDS 0.0001

enum iomgr_state {
    IOMGR_WAITING = 0,
    IOMGR_READY,     /* an fd fired */
    IOMGR_TIMEDOUT,
    IOMGR_CANCELLED, /* IOMGR_Cancel: returns -2 */
    IOMGR_FAILED     /* returns -1 with req->err */
};

/* What a request wants of one fd (IOMGR_READ, IOMGR_WRITE, and
 * IOMGR_EXCEPT for the e set), and what it got. */
#define IOMGR_EXCEPT 0x4
struct iomgr;
/* A deadline in IOMGR's timer heap (iomgr_timer.c). */
struct iomgr_tmr {
    double at;               /* CLOCK_MONOTONIC seconds */
    /* How much later than `at` the loop may be woken for it: a timer with
     * slack runs at the first pass at or after `at`, and only a loop that
     * has no pass by at + slack is woken for it. */
    double slack;
    unsigned int pos;        /* heap index + 1; 0 while stopped */
    void (*cb)(struct iomgr *m, struct iomgr_tmr *t);
    void *data;
};

struct iomgr_fd;
struct iomgr_watch {
    struct iomgr_watch *next, *prev; /* the waiters of its fd */
    struct iomgr_req *req;
    struct iomgr_fd *slot;           /* NULL while not attached */
    int fd;
    int want;
    int got;
};

/* One fd's libev watcher, shared by every request waiting on the fd and
 * kept armed for a moment after the last one leaves: an LWP that waits on
 * the same fd again before the next loop pass (the loop of every
 * connection handler) then costs no system call at all. Two cache lines,
 * aligned: with many connections a slot is out of the cache whenever its
 * fd fires or its LWP waits again, and each line is a miss. */
struct iomgr_fd {
    ev_io io;                 /* first: the callback casts back */
    struct iomgr_watch *head; /* waiters */
    int nread, nwrite;        /* waiters wanting each */
    /* Armed for its waiters without a system call: 1 + the index of its
     * entry in a verification list (0: the kernel is known to watch it). */
    int unsure;
    int unsure_at;            /* that list */
    int owner;                /* index of the LWP that last attached */
    int idle_at;              /* 1 + its index in m->idle, or 0 */
    int on_dirty;             /* on the manager's dirty list */
    struct lwp_pcb *hint;     /* its PCB: only prefetched, may be stale */
    struct iomgr_fd *dirty_next;
} __attribute__((aligned(64)));

/* Lists of slots (see iomgr_fd.c) kept as arrays, not linked through the
 * slots: an entry is cleared (NULL) when its slot leaves the list, so a
 * walk touches only the slots still on it; `live` counts those. */
struct iomgr_slot_list {
    struct iomgr_fd **e;
    int n, cap, live;
};
#define IOMGR_UNSURE_LISTS (2 + IOMGR_VERIFY_LEVELS)

#define IOMGR_FD_CHUNK 256

/* Fds that fired in the current pass, waiting to be delivered (see
 * iomgr_fd.c). */
#define IOMGR_FIRED_RING 8
struct iomgr_fired {
    struct iomgr_fd *slot;
    int revents;
};

/* Aligned so that a wake-up of a one-fd wait touches one line of the
 * waiting LWP's stack: the outcome fields and the first watch. */
struct iomgr_req {
    struct lwp_pcb *pcb;
    enum iomgr_state state;
    int err;                 /* errno for IOMGR_FAILED */
    struct iomgr_watch inline_watch[IOMGR_INLINE_WATCH];
    int linked;              /* watchers started, pcb->io_req set */
    int timed;               /* timer initialised and started */
    int nwatch;
    int nexcept;             /* watches with IOMGR_EXCEPT */
    unsigned int since;      /* sweep generation when it started waiting */
    int nio;                 /* watches attached to fd watchers */
    struct iomgr_standing *standing; /* the handle of a standing wait */
    struct iomgr_watch *watch;
    struct iomgr_tmr timer;  /* timeout, if any */
    /* While nexcept > 0: an epoll instance of the request's own holding
     * its e-set fds for EPOLLPRI (-1 if none), and libev's watcher of
     * that instance's readability (see iomgr_wait.c). */
    int xfd;
    ev_io except_io;
} __attribute__((aligned(64)));

struct iomgr_softsig {
    atomic_int state; /* 0 free, 1 being filled, 2 pending */
    void (*proc)(void *);
    void *(*afs_proc)(void *); /* OpenAFS-typed, when proc is NULL */
    void *rock;
};

struct iomgr_sig {
    ev_signal w;
    const void *event;
    struct sigaction old;
    int active;
};

struct iomgr {
    struct ev_loop *loop;
    int own_loop;
    struct lwp_pcb *mgr;     /* the IO MANAGER LWP */
    int finalizing;
    int woken;               /* LWPs made runnable by callbacks */
    unsigned int nfdwait;    /* waiting requests that watch fds */
    unsigned int sweep_gen;
    unsigned int pass;       /* loop passes run */
    unsigned int nwaiting;   /* requests linked (any fd, timeout, except) */
    int parked;              /* the manager is off the run queue */
    double last_pass;        /* iomgr__mono() after the last loop pass */
    struct iomgr_tmr sweep;  /* closed-fd check */
    struct iomgr_fd **fdchunks; /* slot of fd f: fdchunks[f / 256][f % 256] */
    int nfdchunks;
    /* Armed, nobody waiting: stopped before the next pass. */
    struct iomgr_slot_list idle;
    struct iomgr_fd *dirty;  /* (re)armed since the last pass: fds checked */
    int batching;            /* inside the manager's ev_run */
    unsigned int fired_first, nfired;
    struct iomgr_fired fired[IOMGR_FIRED_RING];
    /* fd lifecycle (iomgr_fd.c) */
    int registers;           /* the backend keeps registrations (epoll) */
    int fd_bound;            /* fds below it are checked by no call */
    int fd_seen;             /* highest fd found open at or above it + 1 */
    ev_idle kick;            /* a pass that failed waiters must not block */
    struct iomgr_tmr verify; /* checks the unsure watchers */
    unsigned int vtick, vnext;
    double vslack;           /* the ticks' slack while busy (doubles) */
    double vtick_at;         /* m->last_pass at the last tick */
    int pass_io;             /* an fd fired in the current pass */
    unsigned int activity;   /* marks and passes with I/O since the tick */
    unsigned int activity_before; /* the same over the tick period before */
    double last_io;          /* iomgr__mono() after the last such pass */
    struct iomgr_slot_list unsure[IOMGR_UNSURE_LISTS];
    struct pollfd *checks;   /* one poll(2) for many fds: */
    void **check_who;        /* what each entry stands for */
    int check_cap;
    ev_async softsig_async;
    int softsig_seen;        /* the async watcher ran since the last look */
    struct iomgr_softsig softsig[IOMGR_SOFTSIG_SLOTS];
    struct iomgr_sig sig[NSIG];
    /* timers (iomgr_timer.c): a heap, and a timerfd armed for its top */
    struct iomgr_tmr **theap;
    unsigned int tn, tcap;
    int tfd;                 /* -1: gate_timer stands in */
    double tfd_at;           /* deadline armed, 0 if none */
    ev_io tfd_io;
    ev_timer gate_timer;
    struct { void (*fn)(void *); void *arg; } hooks[IOMGR_MAX_PASS_HOOKS];
    int nhooks;
    int in_hooks;            /* the hooks are running (no re-entry) */
    int hook_holes;          /* removed while running: compact after */
    /* standing waits (iomgr_standing.c): every open handle, and those
     * to look at before the next pass (iomgr__standing_before_pass) */
    struct iomgr_standing *standing, *standing_look;
};

/* NULL while IOMGR is not running. Read by IOMGR_SoftSig, possibly from a
 * signal handler or another thread, hence atomic. */
extern _Atomic(struct iomgr *) iomgr__mgr;

/* The running manager, or NULL; for calls from the LWPs' own thread. */
static inline struct iomgr *iomgr__running(void)
{
    return atomic_load_explicit(&iomgr__mgr, memory_order_relaxed);
}

/* The I/O manager as a public call sees it: NULL also inside a special
 * context's save/restore routine, where lwp__rt is NULL (the caller then
 * answers lwp__no_rt()). Signal handlers and loop callbacks use
 * iomgr__running(). */
static inline struct iomgr *iomgr__entry(void)
{
    return lwp__rt ? iomgr__running() : NULL;
}

/* ---- iomgr_timer.c ---- */
double iomgr__mono(void);
void iomgr__tmr_init(struct iomgr *m);
void iomgr__tmr_term(struct iomgr *m);
/* (Re)start t to fire `after` seconds from now: 0, or ENOMEM. */
int iomgr__tmr_start(struct iomgr *m, struct iomgr_tmr *t, double after);
/* (Re)start t to fire at `at` (iomgr__mono() time): 0, or ENOMEM. */
int iomgr__tmr_start_at(struct iomgr *m, struct iomgr_tmr *t, double at);
void iomgr__tmr_stop(struct iomgr *m, struct iomgr_tmr *t);
static inline int iomgr__tmr_active(const struct iomgr_tmr *t)
{
    return t->pos != 0;
}
/* Before a pass that may block: make the loop wake for the earliest. */
void iomgr__tmr_gate(struct iomgr *m);
/* After a pass: run the callbacks of the timers due at `now`
 * (iomgr__mono()). */
void iomgr__tmr_expire(struct iomgr *m, double now);
/* ev_run(m->loop, flags), where a loop of IOMGR's own blocks with no
 * timeout at all when libev would give its longest (see iomgr_timer.c). */
void iomgr__own_pass(struct iomgr *m, int flags);

/* ---- iomgr_hook.c ---- */
/* Run the pass hooks (IOMGR_AddPassHook), unless they are running. */
void iomgr__run_hooks(struct iomgr *m);

/* ---- iomgr.c ---- */
/* The request is over: record why and make its LWP runnable. Only the
 * first outcome counts. Inline: every fd that fires ends here. */
static inline void iomgr__finish(struct iomgr *m, struct iomgr_req *r,
                                 enum iomgr_state st, int err)
{
    struct lwp_pcb *p = r->pcb;

    if (r->state != IOMGR_WAITING)
        return;
    r->state = st;
    r->err = err;
    /* As LWP_QSignal would; an LWP already woken by a user's QSignal
     * finds the outcome when it runs. */
    if (p->qwaiting && ++p->qpending == 0) {
        lwp__make_runnable(lwp__rt, p);
        m->woken++;
        /* The switch to it will read its saved frame: fetch it now, while
         * the loop has other wake-ups to do. */
        __builtin_prefetch(lwp__last_sp(p));
    }
}
/* Cancel p's select, if any (p is being destroyed: no wake-up). */
void iomgr__forget(struct iomgr *m, struct lwp_pcb *p);
/* Something was registered (a wait, a Unix signal): a parked manager
 * joins the run queue again, so the loop is polled while LWPs run. */
void iomgr__unpark_slow(struct iomgr *m);
static inline void iomgr__unpark(struct iomgr *m)
{
    if (__builtin_expect(m->parked, 0))
        iomgr__unpark_slow(m);
}

/* The steps every wait shares (IOMGR_Select, IOMGR_WaitIO, standing
 * waits), inline on their hot path. */

/* A wait on fds starts: the sweep, which fails those closed under it,
 * runs while any lasts (iomgr__req_stop counts it off). */
static inline void iomgr__fd_wait_starts(struct iomgr *m)
{
    m->nfdwait++;
    if (!iomgr__tmr_active(&m->sweep))
        (void)iomgr__tmr_start(m, &m->sweep, IOMGR_SWEEP_SECONDS);
}

/* r, set up, becomes cur's wait: IOMGR_Cancel, LWP_QSignal, destroying
 * cur and IOMGR_Finalize find it through cur->io_req. */
static inline void iomgr__link_req(struct iomgr *m, struct iomgr_req *r,
                                   struct lwp_pcb *cur)
{
    r->linked = 1;
    cur->io_req = r;
    m->nwaiting++;
    iomgr__unpark(m);
}

/* The running LWP blocks in a QWait until its request ends or a
 * Q-signal wakes it (iomgr__finish signals it as LWP_QSignal would). */
static inline void iomgr__block_current(struct lwp_runtime *rt)
{
    struct lwp_pcb *cur = rt->current;

    cur->qpending--; /* 0 -> -1: blocked in a QWait */
    cur->qwaiting = 1;
    lwp__block(rt);
}
/* Start LWPs for pending soft signals (outside ev_run: creation yields). */
void iomgr__run_softsigs(struct iomgr *m);

/* ---- iomgr_fd.c ---- */
/* Add w to the waiters of w->fd (arming its watcher as needed); 0, ENOMEM,
 * or EBADF for a number that cannot be open. */
int iomgr__attach(struct iomgr *m, struct iomgr_watch *w, int owner);

/* The events s's waiters want, and those its watcher is armed for. */
static inline int iomgr__events_of(const struct iomgr_fd *s)
{
    return (s->nread ? EV_READ : 0) | (s->nwrite ? EV_WRITE : 0);
}

static inline int iomgr__armed_events(const struct iomgr_fd *s)
{
    return ev_is_active(&s->io) ? s->io.events & (EV_READ | EV_WRITE) : 0;
}

/* Appends s to l, which has room; *at (a field of s) becomes 1 + its
 * index. Every push onto a slot list ends here (list_push grows l first
 * when it must). */
static inline void iomgr__list_put(struct iomgr_slot_list *l,
                                   struct iomgr_fd *s, int *at)
{
    l->e[l->n++] = s;
    l->live++;
    *at = l->n;
}

/* detach's rare ends: re-arm s for fewer events, or linger it on an idle
 * list that has to grow. */
void iomgr__detach_rest(struct iomgr *m, struct iomgr_fd *s);

/* Take w off its fd's waiters. The last one's watcher stays armed until
 * the next pass (on m->idle), so the same LWP waiting again before then
 * costs no system call. Inline: every wake-up ends here. */
static inline void iomgr__detach(struct iomgr *m, struct iomgr_watch *w)
{
    struct iomgr_fd *s = w->slot;
    struct iomgr_slot_list *l = &m->idle;

    if (!s)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        s->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    if (w->want & IOMGR_READ)
        s->nread--;
    if (w->want & IOMGR_WRITE)
        s->nwrite--;
    w->slot = NULL;
    if (s->head) {
        if (iomgr__events_of(s) != iomgr__armed_events(s))
            iomgr__detach_rest(m, s);
        return;
    }
    if (!ev_is_active(&s->io) || s->idle_at)
        return;
    if (__builtin_expect(l->n < l->cap, 1)) {
        iomgr__list_put(l, s, &s->idle_at);
        return;
    }
    iomgr__detach_rest(m, s);
}
/* Before each loop pass: disarm idle watchers, and check the fds of the
 * watchers armed since the last pass (libev asserts on a closed fd). */
void iomgr__before_pass(struct iomgr *m);
/* Deliver the fds still in the fired ring; the pass is over. */
void iomgr__after_pass(struct iomgr *m);
/* A pass ended at `now`: note whether fds fired in it. */
void iomgr__note_pass(struct iomgr *m, double now);
/* Before a blocking pass: the slack of the unsure-fd ticks. */
void iomgr__verify_slack(struct iomgr *m);
/* Re-register fd with the kernel on the next pass (see the sweep). */
void iomgr__rearm(struct iomgr *m, struct iomgr_fd *slot);
/* Set up (after the loop exists) and tear down the fd state. */
void iomgr__fds_init(struct iomgr *m);
void iomgr__fds_term(struct iomgr *m);
int iomgr__is_closed(int fd);
/* Is fd a number the process may have open? Below m->fd_bound without a
 * system call; above, only if it is open (no memory is spent on it). */
int iomgr__fd_may_exist(struct iomgr *m, int fd);
/* The highest nfds worth scanning: the soft RLIMIT_NOFILE (re-read only
 * when nfds exceeds what was read before) or an fd seen open above it. */
int iomgr__nfds_bound(struct iomgr *m, int nfds);
/* A batch of fds for one poll(2): room for entry n (-1 if none can be
 * had), add it, run the poll. */
int iomgr__check_room(struct iomgr *m, int n);
void iomgr__check_set(struct iomgr *m, int n, int fd, int events, void *who);
int iomgr__check_poll(struct iomgr *m, int n);

/* ---- iomgr_wait.c ---- */
void iomgr__sweep_cb(struct iomgr *m, struct iomgr_tmr *t);
/* Stop every watcher of r and take it off the waiting list. */
void iomgr__req_stop(struct iomgr *m, struct iomgr_req *r);
/* Close r's epoll instance of e-set fds, if it has one. */
void iomgr__except_close(struct iomgr_req *r);
/* A Q-signal pending at a wait's start: consumed, errno EINTR, 1. */
int iomgr__take_pending_qsignal(void);
/* -1 with errno, -2, or 0 for the outcomes of r other than READY. */
int iomgr__outcome(const struct iomgr_req *r);
/* The request buffer cur keeps for its life (see iomgr_wait.c), or NULL
 * out of memory. */
struct iomgr_req *iomgr__heap_req(struct lwp_pcb *cur);
/* Whether the running LWP's request may live in its own frame: not for a
 * shared-stack LWP (its stack is elsewhere while it waits) nor while
 * LWP_ProtectStacks has the stacks of switched-out LWPs PROT_NONE (the
 * manager touches the request while the waiter is out). */
static inline int iomgr__req_on_stack(const struct lwp_pcb *cur)
{
    return !(cur->xflags & LWP_XF_SHARED) && !lwp__rt->protect;
}

/* ---- iomgr_standing.c ---- */
/* The waiter of s's standing wait has left (iomgr__req_stop). */
void iomgr__standing_left(struct iomgr *m, struct iomgr_standing *s);
/* Before each loop pass: stop the watchers of handles nobody waits on. */
void iomgr__standing_before_pass(struct iomgr *m);
/* Have libev register s's fd with the kernel afresh (see the sweep). */
void iomgr__standing_rearm(struct iomgr *m, struct iomgr_standing *s);
/* IOMGR_Finalize: every handle's watcher stops; the handles stay, ended. */
void iomgr__standing_term(struct iomgr *m);

/* ---- iomgr_signal.c ---- */
void iomgr__softsig_cb(struct ev_loop *loop, ev_async *w, int revents);
void iomgr__signals_stop(struct iomgr *m);
/* IOMGR_SoftSig with the procedure as either type (one is NULL). */
int iomgr__softsig(void (*proc)(void *), void *(*afs_proc)(void *),
                   void *rock);

#pragma GCC visibility pop

#endif /* LWP_IOMGR_INTERNAL_H */
