/* SPDX-License-Identifier: MIT */
/*
 * Standing waits: IOMGR_StandingOpen, IOMGR_StandingWait and
 * IOMGR_StandingClose.
 *
 * A handle owns a libev watcher of its own for one fd. IOMGR_WaitIO
 * attaches its caller to the fd's shared slot and takes it off again at
 * every call (a list, the lingering-watcher bookkeeping and the marks that
 * doubt a watcher armed before the call: the fd might have been closed and
 * its number reused since), and turns its relative timeout into a
 * deadline with a clock read. A handle's watcher is registered once, its
 * fd is the caller's promise for the handle's life, and its deadline is
 * absolute: a wait is a request, a block and a wake-up. liblwprpc's
 * listener waits this way on its socket once per round of datagrams (at
 * one connection, once per call: some 650 instructions fewer per call in
 * the server).
 *
 * The wait itself is an IOMGR request like any other (in the waiter's
 * frame, or its PCB's buffer where stacks may be elsewhere), so
 * IOMGR_Cancel, LWP_QSignal, destroying the waiter, IOMGR_Finalize and the
 * sweep (a closed fd fails the wait with EBADF within about two seconds;
 * a file swapped under the number is registered again) treat it as they
 * treat IOMGR_WaitIO's.
 *
 * Between waits the watcher stays armed until the next loop pass, as a
 * slot's does, so a waiter that comes back before then costs no system
 * call; a pass that finds nobody waiting stops it (else a readable fd
 * nobody reads would wake every pass: a busy loop), and the next wait
 * starts it again (one epoll_ctl).
 */
#include <errno.h>
#include <stdlib.h>

#include "iomgr_internal.h"

struct iomgr_standing {
    ev_io io;                     /* first: the callback's cast */
    struct iomgr *m;              /* NULL once IOMGR_Finalize ended it */
    struct iomgr_req *req;        /* the waiter's request, or NULL */
    struct iomgr_tmr timer;       /* the deadline, kept across waits */
    int events;                   /* IOMGR_READ | IOMGR_WRITE */
    int failed;                   /* EBADF once the fd was found bad */
    int fresh;                    /* started since the last pass */
    int on_look;                  /* on m->standing_look */
    struct iomgr_standing *look_next;
    struct iomgr_standing *prev, *next; /* m->standing */
};

static void start(struct iomgr *m, struct iomgr_standing *s);
static void fail(struct iomgr *m, struct iomgr_standing *s, int err);

static void standing_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    struct iomgr_standing *s = (struct iomgr_standing *)io;
    struct iomgr *m = s->m;
    struct iomgr_req *r = s->req;

    (void)loop;
    m->pass_io = 1;
    if (revents & EV_ERROR) { /* libev stopped the watcher already */
        fail(m, s, EBADF);
        return;
    }
    if (r) {
        r->inline_watch[0].got |= revents & s->events;
        iomgr__finish(m, r, IOMGR_READY, 0);
    }
}

static void standing_timeout(struct iomgr *m, struct iomgr_tmr *t)
{
    struct iomgr_standing *s = t->data;

    if (s->req)
        iomgr__finish(m, s->req, IOMGR_TIMEDOUT, 0);
}

/* The timer stays armed when a wait ends, so the next wait with the same
 * deadline (a listener's next retransmission is due at the same time
 * round after round) costs no heap work: 0, or ENOMEM. */
static int set_deadline(struct iomgr *m, struct iomgr_standing *s,
                        unsigned long long deadline_us)
{
    /* CLOCK_MONOTONIC, as FT_MonotonicMicros and iomgr__mono read it */
    double at = (double)deadline_us * 1e-6;

    if (deadline_us == IOMGR_NO_DEADLINE) {
        iomgr__tmr_stop(m, &s->timer);
        return 0;
    }
    if (iomgr__tmr_active(&s->timer) && s->timer.at == at)
        return 0;
    return iomgr__tmr_start_at(m, &s->timer, at);
}

static int valid_events(int events)
{
    return (events & (IOMGR_READ | IOMGR_WRITE)) &&
           !(events & ~(IOMGR_READ | IOMGR_WRITE));
}

int IOMGR_StandingOpen(int fd, int events, IOMGR_Standing **out)
{
    struct iomgr *m = iomgr__entry();
    struct iomgr_standing *s;

    if (!m)
        return lwp__no_rt();
    if (!out || !valid_events(events)) {
        errno = EINVAL;
        return -1;
    }
    /* Checked before libev sees the number: it sizes arrays by fd. */
    if (fd < 0 || !iomgr__fd_may_exist(m, fd) || iomgr__is_closed(fd)) {
        errno = EBADF;
        return -1;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        errno = ENOMEM;
        return -1;
    }
    ev_io_init(&s->io, standing_cb, fd, events); /* IOMGR_* == EV_* bits */
    s->m = m;
    s->events = events;
    s->timer.cb = standing_timeout;
    s->timer.data = s;
    s->next = m->standing;
    if (m->standing)
        m->standing->prev = s;
    m->standing = s;
    start(m, s);
    *out = s;
    return 0;
}

/* Handles to look at before the next pass (m->standing_look): a waiter
 * left (the watcher stops unless one came back), or the watcher was
 * started (libev hands the fd to the kernel in that pass, and asserts if
 * it is closed: it is checked first). */
static void look_next_pass(struct iomgr *m, struct iomgr_standing *s)
{
    if (s->on_look)
        return;
    s->on_look = 1;
    s->look_next = m->standing_look;
    m->standing_look = s;
}

static void unlook(struct iomgr *m, struct iomgr_standing *s)
{
    struct iomgr_standing **pp = &m->standing_look;

    if (!s->on_look)
        return;
    while (*pp != s)
        pp = &(*pp)->look_next;
    *pp = s->look_next;
    s->on_look = 0;
}

static void start(struct iomgr *m, struct iomgr_standing *s)
{
    ev_io_start(m->loop, &s->io);
    s->fresh = 1;
    look_next_pass(m, s);
}

/* The fd is bad: the watcher stops for good, and a waiter fails. */
static void fail(struct iomgr *m, struct iomgr_standing *s, int err)
{
    struct iomgr_req *r = s->req;

    ev_io_stop(m->loop, &s->io);
    s->failed = err;
    if (r) {
        iomgr__req_stop(m, r);
        iomgr__finish(m, r, IOMGR_FAILED, err);
    }
}

void iomgr__standing_left(struct iomgr *m, struct iomgr_standing *s)
{
    s->req = NULL;
    if (ev_is_active(&s->io))
        look_next_pass(m, s);
}

void iomgr__standing_before_pass(struct iomgr *m)
{
    struct iomgr_standing *s;

    while ((s = m->standing_look)) {
        m->standing_look = s->look_next;
        s->on_look = 0;
        if (!ev_is_active(&s->io))
            continue;
        if (s->fresh) {
            s->fresh = 0;
            if (iomgr__is_closed(s->io.fd)) {
                fail(m, s, EBADF);
                continue;
            }
        }
        if (!s->req)
            ev_io_stop(m->loop, &s->io);
    }
}

void iomgr__standing_rearm(struct iomgr *m, struct iomgr_standing *s)
{
    ev_io_stop(m->loop, &s->io);
    ev_io_set(&s->io, s->io.fd, s->events); /* a fresh epoll_ctl */
    start(m, s);
}

void iomgr__standing_term(struct iomgr *m)
{
    struct iomgr_standing *s;

    m->standing_look = NULL;
    while ((s = m->standing)) {
        m->standing = s->next;
        ev_io_stop(m->loop, &s->io);
        iomgr__tmr_stop(m, &s->timer);
        s->on_look = 0;
        s->req = NULL;
        s->m = NULL;
        s->prev = s->next = NULL;
    }
}

/* The watcher, armed for the wait: 0, or EBADF for a closed fd (libev
 * must not be handed one). */
static int arm(struct iomgr *m, struct iomgr_standing *s)
{
    if (ev_is_active(&s->io))
        return 0;
    if (iomgr__is_closed(s->io.fd))
        return EBADF;
    start(m, s);
    return 0;
}

/* Set up r as s's wait and block until it ends. Returns 0, or an errno
 * with nothing started. */
static int block_in(struct iomgr *m, struct iomgr_standing *s,
                    struct iomgr_req *r, unsigned long long deadline_us)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *cur = rt->current;
    struct iomgr_watch *w = &r->inline_watch[0];

    w->fd = s->io.fd;
    w->want = s->events;
    w->got = 0;
    w->req = r;
    w->slot = NULL;
    r->watch = w;
    r->nwatch = 1;
    r->nexcept = 0;
    r->nio = 0;
    r->pcb = cur;
    r->state = IOMGR_WAITING;
    r->err = 0;
    r->since = m->sweep_gen;
    r->timed = 0; /* the handle's timer */
    if (set_deadline(m, s, deadline_us) != 0)
        return ENOMEM;
    int err = arm(m, s);
    if (err)
        return err;
    r->standing = s; /* if on m->standing_look, the pass leaves it armed */
    s->req = r;
    iomgr__fd_wait_starts(m);
    iomgr__link_req(m, r, cur);
    iomgr__block_current(rt);
    iomgr__req_stop(m, r); /* the LWP may have been woken by a QSignal */
    return 0;
}

static int wait_with(struct iomgr *m, struct iomgr_standing *s,
                     struct iomgr_req *r, unsigned long long deadline_us)
{
    int err = block_in(m, s, r, deadline_us);

    if (err) {
        errno = err;
        return -1;
    }
    return r->state == IOMGR_READY ? r->inline_watch[0].got
                                   : iomgr__outcome(r);
}

static int __attribute__((noinline))
wait_on_stack(struct iomgr *m, struct iomgr_standing *s,
              unsigned long long deadline_us)
{
    struct iomgr_req r;

    return wait_with(m, s, &r, deadline_us);
}

int IOMGR_StandingWait(IOMGR_Standing *s, unsigned long long deadline_us)
{
    struct iomgr *m = iomgr__entry();
    struct lwp_pcb *cur;

    if (!m)
        return lwp__no_rt();
    if (!s) {
        errno = EINVAL;
        return -1;
    }
    if (s->m != m) { /* ended by IOMGR_Finalize */
        errno = ECANCELED;
        return -1;
    }
    if (s->failed) {
        errno = s->failed;
        return -1;
    }
    if (s->req) {
        errno = EBUSY;
        return -1;
    }
    if (iomgr__take_pending_qsignal())
        return -1;
    cur = lwp__rt->current;
    if (iomgr__req_on_stack(cur))
        return wait_on_stack(m, s, deadline_us);
    if (!iomgr__heap_req(cur)) {
        errno = ENOMEM;
        return -1;
    }
    return wait_with(m, s, cur->io_heap, deadline_us);
}

int IOMGR_StandingClose(IOMGR_Standing *s)
{
    struct iomgr *m;

    if (!s) {
        if (!iomgr__entry())
            return lwp__no_rt();
        errno = EINVAL;
        return -1;
    }
    m = s->m;
    if (m && m != iomgr__entry())
        return lwp__no_rt(); /* another thread, or a special context */
    if (m) {
        if (s->req) {
            struct iomgr_req *r = s->req;
            iomgr__req_stop(m, r);
            iomgr__finish(m, r, IOMGR_FAILED, ECANCELED);
        }
        unlook(m, s);
        ev_io_stop(m->loop, &s->io);
        iomgr__tmr_stop(m, &s->timer);
        if (s->prev)
            s->prev->next = s->next;
        else
            m->standing = s->next;
        if (s->next)
            s->next->prev = s->prev;
    }
    free(s);
    return 0;
}
