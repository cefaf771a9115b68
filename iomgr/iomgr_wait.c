/* SPDX-License-Identifier: MIT */
/*
 * Waiting for fds and time: IOMGR_Select, IOMGR_WaitIO, IOMGR_Sleep.
 *
 * A waiting LWP blocks on its Q-semaphore, as in Coda, so LWP_QSignal
 * still wakes it; it then finds its request unfinished and returns EINTR
 * instead of leaving a request behind. The request and its libev watchers
 * live in the waiting call's frame and are stopped before it returns, or
 * by the destroy hook if the LWP is destroyed while waiting.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "iomgr_internal.h"

/* fd_set as an array of words: callers may pass sets larger than
 * FD_SETSIZE, where FD_SET would trip glibc's fortify check. */
typedef unsigned long fdword;
#define WORD_BITS (8 * (int)sizeof(fdword))

static fdword *words(fd_set *s)
{
    return (fdword *)(void *)s;
}

/* Mask of the bits of word i that are below nfds. */
static fdword word_mask(int i, int nfds)
{
    int rest = nfds - i * WORD_BITS;

    return rest >= WORD_BITS ? ~(fdword)0 : (((fdword)1 << rest) - 1);
}

static fdword word_of(fd_set *s, int i, int nfds)
{
    return s ? words(s)[i] & word_mask(i, nfds) : 0;
}

static void clear_below(fd_set *s, int nfds)
{
    if (!s)
        return;
    for (int i = 0; i * WORD_BITS < nfds; i++)
        words(s)[i] &= ~word_mask(i, nfds);
}

static int is_forever(const struct timeval *tv)
{
    return !tv || tv->tv_sec < 0 || tv->tv_usec < 0;
}

static int is_zero(const struct timeval *tv)
{
    return tv && tv->tv_sec == 0 && tv->tv_usec == 0;
}

/* ---- libev callbacks (run in whichever LWP runs the loop) ---- */

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    iomgr__finish(iomgr__running(), w->data, IOMGR_TIMEDOUT, 0);
}

/* Exceptional conditions of the e-set fds, by a non-blocking poll(2):
 * libev has no watcher for them. Returns how many fds have one. */
static int poll_except(struct iomgr_req *r)
{
    int found = 0;

    for (int i = 0; i < r->nwatch; i++) {
        struct iomgr_watch *w = &r->watch[i];
        struct pollfd p = {.fd = w->fd, .events = POLLPRI};

        if (!(w->want & IOMGR_EXCEPT))
            continue;
        if (poll(&p, 1, 0) == 1 && (p.revents & POLLPRI)) {
            w->got |= IOMGR_EXCEPT;
            found++;
        }
    }
    return found;
}

static void except_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct iomgr_req *r = w->data;

    (void)loop;
    (void)revents;
    if (poll_except(r))
        iomgr__finish(iomgr__running(), r, IOMGR_READY, 0);
}

/* ---- Requests ---- */

void iomgr__req_stop(struct iomgr *m, struct iomgr_req *r)
{
    if (!r->linked)
        return;
    for (int i = 0; i < r->nwatch; i++)
        iomgr__detach(m, &r->watch[i]);
    if (r->timed)
        ev_timer_stop(m->loop, &r->timer);
    if (r->nexcept)
        ev_timer_stop(m->loop, &r->except_poll);
    if (r->nio)
        m->nfdwait--;
    r->linked = 0;
    r->pcb->io_req = NULL;
}

static void start_timers(struct iomgr *m, struct iomgr_req *r,
                         const struct timeval *timeout)
{
    r->timed = !is_forever(timeout);
    if (r->timed) {
        /* The loop's clock is as old as its last iteration; the timeout
         * runs from now. */
        ev_now_update(m->loop);
        ev_timer_init(&r->timer, timer_cb,
                      (ev_tstamp)timeout->tv_sec +
                          (ev_tstamp)timeout->tv_usec * 1e-6,
                      0.);
        r->timer.data = r;
        ev_timer_start(m->loop, &r->timer);
    }
    if (r->nexcept) {
        ev_timer_init(&r->except_poll, except_cb, IOMGR_EXCEPT_SECONDS,
                      IOMGR_EXCEPT_SECONDS);
        r->except_poll.data = r;
        ev_timer_start(m->loop, &r->except_poll);
    }
}

/* Returns -1 (nothing attached) when out of memory. */
static int start_watchers(struct iomgr *m, struct iomgr_req *r, int owner)
{
    r->nio = 0;
    r->since = m->sweep_gen;
    for (int i = 0; i < r->nwatch; i++) {
        r->watch[i].req = r;
        r->watch[i].slot = NULL;
        if (!(r->watch[i].want & (IOMGR_READ | IOMGR_WRITE)))
            continue;
        if (iomgr__attach(m, &r->watch[i], owner) != 0) {
            for (int j = 0; j < i; j++)
                iomgr__detach(m, &r->watch[j]);
            return -1;
        }
        r->nio++;
    }
    if (!r->nio)
        return 0;
    m->nfdwait++;
    if (!ev_is_active(&m->sweep))
        ev_timer_again(m->loop, &m->sweep);
    return 0;
}

/* Park the running LWP until r is finished, or a QSignal wakes it. */
static void wait_req(struct iomgr *m, struct iomgr_req *r,
                     const struct timeval *timeout)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *cur = rt->current;

    r->pcb = cur;
    r->state = IOMGR_WAITING;
    r->err = 0;
    r->timed = 0;
    if (start_watchers(m, r, cur->index) != 0) {
        r->state = IOMGR_FAILED;
        r->err = ENOMEM;
        r->linked = 0;
        return;
    }
    r->linked = 1;
    cur->io_req = r;
    start_timers(m, r, timeout);
    cur->qpending--; /* 0 -> -1: blocked in a QWait */
    cur->qwaiting = 1;
    lwp__block(rt);
    iomgr__req_stop(m, r); /* the LWP may have been woken by a QSignal */
}

/* A Q-signal pending at the call ends it at once (as Coda's QWait would
 * have returned at once), with EINTR rather than a half-made request. */
static int take_pending_qsignal(void)
{
    struct lwp_pcb *cur = lwp__rt->current;

    if (cur->qpending <= 0)
        return 0;
    cur->qpending--;
    errno = EINTR;
    return 1;
}

/* -1 with errno, -2, or 0 for the outcomes other than READY. */
static int outcome(const struct iomgr_req *r)
{
    switch (r->state) {
    case IOMGR_TIMEDOUT:
        return 0;
    case IOMGR_CANCELLED:
        return -2;
    case IOMGR_FAILED:
        errno = r->err;
        return -1;
    default: /* still waiting: a QSignal woke the LWP */
        errno = EINTR;
        return -1;
    }
}

/* ---- IOMGR_WaitIO ---- */

static int poll_one(int fd, int events)
{
    struct pollfd p = {.fd = fd, .events = 0};
    int got = 0;

    if (events & IOMGR_READ)
        p.events |= POLLIN;
    if (events & IOMGR_WRITE)
        p.events |= POLLOUT;
    if (poll(&p, 1, 0) < 0)
        return -1;
    if (p.revents & POLLNVAL) {
        errno = EBADF;
        return -1;
    }
    /* Errors and hang-ups make a read or write return at once: ready. */
    if (p.revents & (POLLIN | POLLHUP | POLLERR))
        got |= events & IOMGR_READ;
    if (p.revents & (POLLOUT | POLLHUP | POLLERR))
        got |= events & IOMGR_WRITE;
    return got;
}

/* Where the request of a waiting LWP lives: in its own stack frame, or,
 * for a shared-stack LWP (whose stack is elsewhere while it waits), in a
 * buffer its PCB keeps for its life. */
static struct iomgr_req *heap_req(struct lwp_pcb *cur)
{
    if (!cur->io_heap)
        cur->io_heap = aligned_alloc(64, sizeof(struct iomgr_req));
    return cur->io_heap;
}

static int waitio_req(struct iomgr *m, struct iomgr_req *r, int fd,
                      int events, struct timeval *timeout)
{
    struct iomgr_watch *w = &r->inline_watch[0];

    r->watch = w;
    r->nwatch = 1;
    r->nexcept = 0;
    w->fd = fd;
    w->want = events;
    w->got = 0;
    wait_req(m, r, timeout);
    return r->state == IOMGR_READY ? w->got : outcome(r);
}

static int __attribute__((noinline))
waitio_on_stack(struct iomgr *m, int fd, int events, struct timeval *timeout)
{
    struct iomgr_req r;

    return waitio_req(m, &r, fd, events, timeout);
}

int IOMGR_WaitIO(int fd, int events, struct timeval *timeout)
{
    struct iomgr *m = iomgr__entry();
    struct lwp_pcb *cur;

    if (!m)
        return lwp__no_rt();
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    if (!(events & (IOMGR_READ | IOMGR_WRITE)) ||
        (events & ~(IOMGR_READ | IOMGR_WRITE))) {
        errno = EINVAL;
        return -1;
    }
    if (is_zero(timeout))
        return poll_one(fd, events);
    if (take_pending_qsignal())
        return -1;
    cur = lwp__rt->current;
    if (!(cur->xflags & LWP_XF_SHARED))
        return waitio_on_stack(m, fd, events, timeout);
    if (!heap_req(cur)) {
        errno = ENOMEM;
        return -1;
    }
    return waitio_req(m, cur->io_heap, fd, events, timeout);
}

/* ---- IOMGR_Select ---- */

/* The three sets' words i, limited to the bits below nfds. */
struct set_words {
    fdword rd, wr, ex;
};

static struct set_words words_at(int i, int nfds, fd_set *rs, fd_set *ws,
                                 fd_set *es)
{
    struct set_words sw = {word_of(rs, i, nfds), word_of(ws, i, nfds),
                           word_of(es, i, nfds)};
    return sw;
}

static int count_fds(int nfds, fd_set *rs, fd_set *ws, fd_set *es)
{
    int n = 0;

    for (int i = 0; i * WORD_BITS < nfds; i++) {
        struct set_words sw = words_at(i, nfds, rs, ws, es);
        n += __builtin_popcountl(sw.rd | sw.wr | sw.ex);
    }
    return n;
}

static void add_watch(struct iomgr_req *r, int fd, int want)
{
    struct iomgr_watch *w = &r->watch[r->nwatch++];

    w->fd = fd;
    w->want = want;
    w->got = 0;
    if (want & IOMGR_EXCEPT)
        r->nexcept++;
}

/* Adds a watch per fd of word i, in fd order; 0, or -1 when r->watch
 * (of `room` entries) is full. */
static int collect_word(struct iomgr_req *r, int room, int i,
                        struct set_words sw)
{
    fdword any = sw.rd | sw.wr | sw.ex;

    for (; any; any &= any - 1) {
        int b = __builtin_ctzl(any);
        fdword bit = (fdword)1 << b;

        if (r->nwatch == room)
            return -1;
        add_watch(r, i * WORD_BITS + b,
                  (sw.rd & bit ? IOMGR_READ : 0) |
                      (sw.wr & bit ? IOMGR_WRITE : 0) |
                      (sw.ex & bit ? IOMGR_EXCEPT : 0));
    }
    return 0;
}

/* Watches of every fd named in any set, in fd order, into r->watch. A
 * select names few fds, however high: the scan skips empty words, and
 * only a select of more fds than fit inline counts them and allocates. */
static int collect_into(struct iomgr_req *r, int room, int nfds, fd_set *rs,
                        fd_set *ws, fd_set *es)
{
    r->nwatch = 0;
    r->nexcept = 0;
    for (int i = 0; i * WORD_BITS < nfds; i++) {
        struct set_words sw = words_at(i, nfds, rs, ws, es);

        if ((sw.rd | sw.wr | sw.ex) && collect_word(r, room, i, sw) != 0)
            return -1;
    }
    return 0;
}

static int collect(struct iomgr_req *r, int nfds, fd_set *rs, fd_set *ws,
                   fd_set *es)
{
    int n;

    r->watch = r->inline_watch;
    if (collect_into(r, IOMGR_INLINE_WATCH, nfds, rs, ws, es) == 0)
        return 0;
    n = count_fds(nfds, rs, ws, es);
    r->watch = malloc((size_t)n * sizeof(*r->watch));
    if (!r->watch)
        return -1;
    return collect_into(r, n, nfds, rs, ws, es);
}

/* Clears every bit below nfds: the outcome when nothing is ready. */
static void clear_sets(int nfds, fd_set *rs, fd_set *ws, fd_set *es)
{
    clear_below(rs, nfds);
    clear_below(ws, nfds);
    clear_below(es, nfds);
}

static void clear_bit(fd_set *s, int fd)
{
    words(s)[fd / WORD_BITS] &= ~((fdword)1 << (fd % WORD_BITS));
}

/* Bits set in the sets below nfds are exactly the watched fds', so
 * clearing each watch's bits for what it did not get leaves the ready
 * ones: O(fds asked about), not O(nfds). */
static int report_ready(struct iomgr_req *r, fd_set *rs, fd_set *ws,
                        fd_set *es)
{
    int pairs = 0;

    if (r->nexcept)
        poll_except(r);
    for (int i = 0; i < r->nwatch; i++) {
        struct iomgr_watch *w = &r->watch[i];
        int got = w->want & w->got, missed = w->want & ~w->got;

        pairs += !!(got & IOMGR_READ) + !!(got & IOMGR_WRITE) +
                 !!(got & IOMGR_EXCEPT);
        if (missed & IOMGR_READ)
            clear_bit(rs, w->fd);
        if (missed & IOMGR_WRITE)
            clear_bit(ws, w->fd);
        if (missed & IOMGR_EXCEPT)
            clear_bit(es, w->fd);
    }
    return pairs;
}

/* The caller's sets get exactly the ready fds; returns the ready pairs. */
static int report(struct iomgr_req *r, int nfds, fd_set *rs, fd_set *ws,
                  fd_set *es)
{
    if (r->state == IOMGR_READY)
        return report_ready(r, rs, ws, es);
    clear_sets(nfds, rs, ws, es);
    return outcome(r);
}

static int poll_select(int nfds, fd_set *rs, fd_set *ws, fd_set *es)
{
    struct timeval zero = {0, 0}; /* select(2) may write to it */

    return select(nfds, rs, ws, es, &zero);
}

static int select_req(struct iomgr *m, struct iomgr_req *r, int nfds,
                      fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                      struct timeval *timeout)
{
    int rc;

    if (collect(r, nfds, readfds, writefds, exceptfds) != 0) {
        errno = ENOMEM;
        return -1;
    }
    /* An exceptional condition already there is not waited for. */
    if (r->nexcept && poll_except(r)) {
        r->state = IOMGR_READY;
        r->linked = 0;
    } else {
        wait_req(m, r, timeout);
    }
    rc = report(r, nfds, readfds, writefds, exceptfds);
    if (r->watch != r->inline_watch)
        free(r->watch);
    return rc;
}

static int __attribute__((noinline))
select_on_stack(struct iomgr *m, int nfds, fd_set *readfds,
                fd_set *writefds, fd_set *exceptfds, struct timeval *timeout)
{
    struct iomgr_req r;

    return select_req(m, &r, nfds, readfds, writefds, exceptfds, timeout);
}

int IOMGR_Select(int nfds, fd_set *readfds, fd_set *writefds,
                 fd_set *exceptfds, struct timeval *timeout)
{
    struct iomgr *m = iomgr__entry();
    struct lwp_pcb *cur;

    if (!m)
        return lwp__no_rt();
    if (nfds < 0) {
        errno = EINVAL;
        return -1;
    }
    if (is_zero(timeout))
        return poll_select(nfds, readfds, writefds, exceptfds);
    if (take_pending_qsignal()) {
        clear_sets(nfds, readfds, writefds, exceptfds);
        return -1;
    }
    cur = lwp__rt->current;
    if (!(cur->xflags & LWP_XF_SHARED))
        return select_on_stack(m, nfds, readfds, writefds, exceptfds,
                               timeout);
    if (!heap_req(cur)) {
        errno = ENOMEM;
        return -1;
    }
    return select_req(m, cur->io_heap, nfds, readfds, writefds, exceptfds,
                      timeout);
}

int IOMGR_Sleep(int seconds)
{
    struct timeval tv = {seconds > 0 ? seconds : 0, 0};

    if (!iomgr__entry())
        return lwp__no_rt();
    if (seconds <= 0) {
        LWP_DispatchProcess();
        return 0;
    }
    return IOMGR_Select(0, NULL, NULL, NULL, &tv);
}

/* ---- The sweep ---- */

static int has_closed_fd(const struct iomgr_req *r)
{
    for (int i = 0; i < r->nwatch; i++)
        if (r->watch[i].slot && iomgr__is_closed(r->watch[i].fd))
            return 1;
    return 0;
}

static void rearm_trusted(struct iomgr *m, struct iomgr_req *r)
{
    for (int i = 0; i < r->nwatch; i++)
        if (r->watch[i].slot && r->watch[i].trusted)
            iomgr__rearm(m, r->watch[i].slot);
}

/* Once a period, for each request that has waited a whole period: an fd
 * no longer open fails it with EBADF (epoll forgets closed fds silently,
 * so it would wait forever), and a watcher it trusted is re-registered
 * (see iomgr_fd.c). */
static void sweep_one(struct iomgr *m, struct iomgr_req *r, unsigned int gen)
{
    if (r->state != IOMGR_WAITING || gen - r->since < 2)
        return;
    if (has_closed_fd(r)) {
        iomgr__req_stop(m, r);
        iomgr__finish(m, r, IOMGR_FAILED, EBADF);
    } else {
        rearm_trusted(m, r);
    }
}

void iomgr__sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct iomgr *m = w->data;
    unsigned int gen = ++m->sweep_gen;

    (void)revents;
    if (m->nfdwait == 0) {
        ev_timer_stop(loop, w);
        return;
    }
    /* Every LWP, once a second: cheap next to the serving it watches. */
    LWP_FOR_EACH_LIVE(lwp__rt, p, {
        if (p->io_req)
            sweep_one(m, p->io_req, gen);
    });
}
