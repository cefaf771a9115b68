/* SPDX-License-Identifier: MIT */
/*
 * IOMGR's timers: timeouts of IOMGR_Select/IOMGR_WaitIO, the closed-fd
 * sweep and the unsure-watcher ticks, in a binary heap of our own instead
 * of libev's timers.
 *
 * Why: libev hands the kernel the time to its next timer as the timeout of
 * every epoll_wait, and a wait with a timeout arms and cancels a kernel
 * timer each time. On a virtual machine that is two exits to the
 * hypervisor per wait: bench_rpc measured a plain epoll server at 7.4 us
 * of CPU per round trip with no timeout and 15.2 us with a 1 ms one. A
 * server always has a timer pending (the sweep, a client's retransmission
 * timeout), so every wait paid it. Here the earliest deadline arms a
 * timerfd that libev watches like any fd, and it is re-armed only when an
 * earlier deadline appears: epoll_wait then blocks with no timeout, and a
 * timer that is set and cancelled before it is due (the common case, a
 * reply arriving before its retry) costs no system call at all. A timerfd
 * that fires for a deadline since cancelled finds nothing due and is
 * armed for the next one. Without timerfd (creation failed), one libev
 * timer stands in for it, as before.
 *
 * A timer may have slack (the unsure-fd ticks do): it runs at the first
 * pass at or after its deadline, as every timer does, but the loop is
 * woken for it only at deadline + slack. A loop that keeps passing so
 * never arms the timerfd for it, and so never pays its firing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <lwp/export.h>

#include "iomgr_internal.h"

#define HEAP_START 16

/* Set in a child of fork(): the timerfd is shared with the parent there,
 * and arming it would move the parent's deadline. */
static atomic_int forked;

static void on_fork_child(void)
{
    atomic_store_explicit(&forked, 1, memory_order_relaxed);
}

double iomgr__mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- The heap (by deadline; pos is the index + 1, 0 when stopped) ---- */

static int earlier(const struct iomgr_tmr *a, const struct iomgr_tmr *b)
{
    return a->at < b->at;
}

static void place(struct iomgr *m, unsigned int i, struct iomgr_tmr *t)
{
    m->theap[i] = t;
    t->pos = i + 1;
}

static void sift_up(struct iomgr *m, unsigned int i, struct iomgr_tmr *t)
{
    while (i > 0) {
        unsigned int parent = (i - 1) / 2;

        if (!earlier(t, m->theap[parent]))
            break;
        place(m, i, m->theap[parent]);
        i = parent;
    }
    place(m, i, t);
}

static void sift_down(struct iomgr *m, unsigned int i, struct iomgr_tmr *t)
{
    for (;;) {
        unsigned int c = 2 * i + 1;

        if (c >= m->tn)
            break;
        if (c + 1 < m->tn && earlier(m->theap[c + 1], m->theap[c]))
            c++;
        if (!earlier(m->theap[c], t))
            break;
        place(m, i, m->theap[c]);
        i = c;
    }
    place(m, i, t);
}

void iomgr__tmr_stop(struct iomgr *m, struct iomgr_tmr *t)
{
    unsigned int i;
    struct iomgr_tmr *last;

    if (!t->pos)
        return;
    i = t->pos - 1;
    t->pos = 0;
    last = m->theap[--m->tn];
    if (i == m->tn)
        return;
    if (i > 0 && earlier(last, m->theap[(i - 1) / 2]))
        sift_up(m, i, last);
    else
        sift_down(m, i, last);
}

int iomgr__tmr_start(struct iomgr *m, struct iomgr_tmr *t, double after)
{
    return iomgr__tmr_start_at(m, t, iomgr__mono() + (after > 0 ? after : 0));
}

int iomgr__tmr_start_at(struct iomgr *m, struct iomgr_tmr *t, double at)
{
    iomgr__tmr_stop(m, t);
    if (m->tn == m->tcap) {
        unsigned int cap = m->tcap ? 2 * m->tcap : HEAP_START;
        struct iomgr_tmr **h = realloc(m->theap, cap * sizeof(*h));

        if (!h)
            return ENOMEM;
        m->theap = h;
        m->tcap = cap;
    }
    t->at = at;
    sift_up(m, m->tn++, t);
    return 0;
}

void iomgr__tmr_expire(struct iomgr *m, double now)
{
    while (m->tn > 0 && m->theap[0]->at <= now) {
        struct iomgr_tmr *t = m->theap[0];

        iomgr__tmr_stop(m, t);
        t->cb(m, t); /* may start timers, this one too */
    }
}

/* ---- libev's longest wait ---- */

/* With no timer of its own, libev still hands epoll_wait a timeout: its
 * MAX_BLOCKTIME, 59.743 s. A wait with a timeout arms a kernel timer each
 * time, and on a virtual machine that costs: bench_rpc measured an epoll
 * server at 7.2 us of CPU per call with no timeout and 7.8 us with
 * libev's (and our RPC server at one connection 9.8 against 9.25 us, its
 * round trip 1.39x raw UDP's against 1.32x: both ends wait every call).
 * IOMGR's timers never need that wake-up (they arm the timerfd), nor does
 * libev's clock (monotonic here). So the epoll_wait calls of the loop
 * IOMGR made itself, with exactly that timeout, wait without one; the
 * library's definition of epoll_wait stands in for libc's (as a program's
 * own would), and every other call passes through unchanged. A loop the
 * program handed in (IOMGR_InitializeWithLoop) keeps libev's wake-up: its
 * periodic timers may want it. */
#define LIBEV_MAX_BLOCK_MS 59743

/* Set while this thread's IOMGR runs its own loop (iomgr__own_pass). */
static _Thread_local int in_own_pass;

LWP_EXPORT int epoll_wait(int epfd, struct epoll_event *events, int maxevents,
                          int timeout);
int epoll_wait(int epfd, struct epoll_event *events, int maxevents,
               int timeout)
{
    if (timeout == LIBEV_MAX_BLOCK_MS && in_own_pass)
        timeout = -1;
    return epoll_pwait(epfd, events, maxevents, timeout, NULL);
}

void iomgr__own_pass(struct iomgr *m, int flags)
{
    in_own_pass = m->own_loop;
    ev_run(m->loop, flags);
    in_own_pass = 0;
}

/* ---- The gate: what wakes the loop for the earliest deadline ---- */

static void gate_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct iomgr *m = w->data;
    uint64_t ticks;

    (void)loop;
    (void)revents;
    if (read(m->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
        return;
    m->tfd_at = 0; /* fired: disarmed */
}

static void gate_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents; /* iomgr__tmr_expire, after the pass, does the work */
}

static int open_timerfd(struct iomgr *m)
{
    m->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    m->tfd_at = 0;
    if (m->tfd < 0)
        return -1;
    ev_io_init(&m->tfd_io, gate_io_cb, m->tfd, EV_READ);
    m->tfd_io.data = m;
    /* Kept active for the manager's life (as the soft-signal watcher is),
     * so it changes nothing in when the loop may block. */
    ev_io_start(m->loop, &m->tfd_io);
    return 0;
}

static void close_timerfd(struct iomgr *m)
{
    if (m->tfd < 0)
        return;
    ev_io_stop(m->loop, &m->tfd_io);
    close(m->tfd);
    m->tfd = -1;
}

static void register_atfork(void)
{
    (void)pthread_atfork(NULL, NULL, on_fork_child);
}

void iomgr__tmr_init(struct iomgr *m)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    (void)pthread_once(&once, register_atfork);
    m->tn = 0;
    /* Room for the usual few at once; a failure here shows at start. */
    m->theap = malloc(HEAP_START * sizeof(*m->theap));
    m->tcap = m->theap ? HEAP_START : 0;
    ev_timer_init(&m->gate_timer, gate_timer_cb, 0., 0.);
    if (open_timerfd(m) != 0)
        m->tfd = -1; /* the libev timer stands in */
}

void iomgr__tmr_term(struct iomgr *m)
{
    close_timerfd(m);
    ev_timer_stop(m->loop, &m->gate_timer);
    free(m->theap);
    m->theap = NULL;
    m->tn = m->tcap = 0;
}

static void arm_timerfd(struct iomgr *m, double at)
{
    struct itimerspec its = {{0, 0}, {0, 0}};

    its.it_value.tv_sec = (time_t)at;
    its.it_value.tv_nsec = (long)((at - (double)(time_t)at) * 1e9);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1; /* zero would disarm it */
    if (timerfd_settime(m->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0) {
        m->tfd_at = at;
        return;
    }
    /* Cannot happen with valid arguments; never lose a deadline. */
    close_timerfd(m);
}

/* The earliest time the loop must wake for a timer in the subtree at i,
 * or `best` if none needs it sooner: a timer with slack may wait until
 * at + slack, so the ones due before that are looked at too (few: only
 * timers due before `best` are visited). */
static double wake_at(const struct iomgr *m, unsigned int i, double best)
{
    const struct iomgr_tmr *t;

    if (i >= m->tn || (t = m->theap[i])->at >= best)
        return best;
    if (t->at + t->slack < best)
        best = t->at + t->slack;
    best = wake_at(m, 2 * i + 1, best);
    return wake_at(m, 2 * i + 2, best);
}

void iomgr__tmr_gate(struct iomgr *m)
{
    double top;

    if (m->tn == 0)
        return; /* an armed timerfd may fire for nothing: harmless */
    top = wake_at(m, 0, m->theap[0]->at + m->theap[0]->slack);
    if (m->tfd >= 0 &&
        atomic_load_explicit(&forked, memory_order_relaxed)) {
        atomic_store_explicit(&forked, 0, memory_order_relaxed);
        close_timerfd(m); /* the parent's: ours from now on */
        open_timerfd(m);
    }
    if (m->tfd >= 0) {
        if (m->tfd_at == 0 || top < m->tfd_at)
            arm_timerfd(m, top);
        if (m->tfd >= 0)
            return;
    }
    ev_timer_stop(m->loop, &m->gate_timer);
    ev_timer_set(&m->gate_timer, top - iomgr__mono(), 0.);
    ev_timer_start(m->loop, &m->gate_timer);
}
