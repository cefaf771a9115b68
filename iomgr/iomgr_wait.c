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
#include <sys/epoll.h>
#include <unistd.h>

#include "iomgr_internal.h"

/* fd_set as an array of words: callers may pass sets larger than
 * FD_SETSIZE, where FD_SET would trip glibc's fortify check. */
typedef unsigned long fdword;
#define WORD_BITS (8 * (int)sizeof(fdword))

/* Words holding nfds bits (no overflow near INT_MAX). */
static int nwords(int nfds)
{
    return nfds / WORD_BITS + (nfds % WORD_BITS != 0);
}

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

static void clear_below(fd_set *s, int nfds)
{
    if (!s)
        return;
    for (int i = 0; i < nwords(nfds); i++)
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

static void timer_cb(struct iomgr *m, struct iomgr_tmr *t)
{
    iomgr__finish(m, t->data, IOMGR_TIMEDOUT, 0);
}

/* ---- Exceptional conditions ----
 * libev has no watcher for them (TCP urgent data: POLLPRI). A select
 * with e-set fds registers them for EPOLLPRI in an epoll instance of its
 * own, and libev watches that instance's fd for readability: the kernel
 * wakes the loop when a condition arises, and nothing polls meanwhile.
 * Edge-triggered, so a hang-up or an error (which epoll reports whether
 * asked or not) wakes the loop once, not at every pass. The instance, and
 * every registration with it, goes when the select returns. */

#define EXCEPT_BATCH 8

/* Marks the e-set watches whose fds the kernel reported a condition for
 * since the last call; returns how many it marked. */
static int collect_except(struct iomgr_req *r)
{
    struct epoll_event ev[EXCEPT_BATCH];
    int found = 0, n;

    do {
        n = epoll_wait(r->xfd, ev, EXCEPT_BATCH, 0);
        for (int i = 0; i < n; i++) {
            struct iomgr_watch *w = &r->watch[ev[i].data.u32];

            if ((ev[i].events & EPOLLPRI) && !(w->got & IOMGR_EXCEPT)) {
                w->got |= IOMGR_EXCEPT;
                found++;
            }
        }
    } while (n == EXCEPT_BATCH);
    return found;
}

static void except_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    struct iomgr_req *r = io->data;

    (void)revents;
    if (collect_except(r)) {
        ev_io_stop(loop, io);
        iomgr__finish(iomgr__running(), r, IOMGR_READY, 0);
    }
}

void iomgr__except_close(struct iomgr_req *r)
{
    if (r->nexcept && r->xfd >= 0) {
        close(r->xfd);
        r->xfd = -1;
    }
}

/* Registers r's e-set fds; 0, or an errno: EBADF for a closed fd, EMFILE,
 * ENFILE or ENOMEM when no epoll instance or registration can be had. */
static int except_open(struct iomgr_req *r)
{
    r->xfd = epoll_create1(EPOLL_CLOEXEC);
    if (r->xfd < 0)
        return errno;
    for (int i = 0; i < r->nwatch; i++) {
        struct epoll_event ev = {.events = EPOLLPRI | EPOLLET,
                                 .data.u32 = (uint32_t)i};

        if (!(r->watch[i].want & IOMGR_EXCEPT))
            continue;
        /* EPERM: a file epoll cannot watch (a regular file, say), which
         * never has an exceptional condition, as select(2) sees it. */
        if (epoll_ctl(r->xfd, EPOLL_CTL_ADD, r->watch[i].fd, &ev) != 0 &&
            errno != EPERM) {
            int err = errno;

            iomgr__except_close(r);
            return err;
        }
    }
    return 0;
}

/* ---- Requests ---- */

void iomgr__req_stop(struct iomgr *m, struct iomgr_req *r)
{
    if (!r->linked)
        return;
    for (int i = 0; i < r->nwatch; i++)
        iomgr__detach(m, &r->watch[i]);
    if (r->timed)
        iomgr__tmr_stop(m, &r->timer);
    if (r->nexcept)
        ev_io_stop(m->loop, &r->except_io);
    if (r->nio || r->nexcept || r->standing)
        m->nfdwait--;
    m->nwaiting--;
    r->linked = 0;
    r->pcb->io_req = NULL;
    if (r->standing) {
        iomgr__standing_left(m, r->standing);
        r->standing = NULL;
    }
}

/* Returns 0, or ENOMEM (no timer heap room) with nothing started. */
static int start_timers(struct iomgr *m, struct iomgr_req *r,
                        const struct timeval *timeout)
{
    r->timed = !is_forever(timeout);
    if (r->timed) {
        r->timer.pos = 0;
        r->timer.slack = 0;
        r->timer.cb = timer_cb;
        r->timer.data = r;
        if (iomgr__tmr_start(m, &r->timer,
                             (double)timeout->tv_sec +
                                 (double)timeout->tv_usec * 1e-6) != 0) {
            r->timed = 0;
            return ENOMEM;
        }
    }
    if (r->nexcept) {
        ev_io_init(&r->except_io, except_cb, r->xfd, EV_READ);
        r->except_io.data = r;
        ev_io_start(m->loop, &r->except_io);
    }
    return 0;
}

/* Returns 0, or (nothing attached) ENOMEM or EBADF for an fd number no
 * process can have open. */
static int start_watchers(struct iomgr *m, struct iomgr_req *r, int owner)
{
    int err;

    r->nio = 0;
    r->since = m->sweep_gen;
    for (int i = 0; i < r->nwatch; i++) {
        r->watch[i].req = r;
        r->watch[i].slot = NULL;
        if (!(r->watch[i].want & (IOMGR_READ | IOMGR_WRITE)))
            continue;
        err = iomgr__attach(m, &r->watch[i], owner);
        if (err) {
            for (int j = 0; j < i; j++)
                iomgr__detach(m, &r->watch[j]);
            return err;
        }
        r->nio++;
    }
    /* e-set fds too: the sweep finds them closed (epoll drops them). */
    if (r->nio || r->nexcept)
        iomgr__fd_wait_starts(m);
    return 0;
}

/* A waiter resumes on a stack that, with many connections, left the cache
 * while it waited: the request, its callers' frames and the caller's own
 * locals, some 700 bytes above here, each line a miss on its own as the
 * calls return one by one. The switch fetches them one LWP's run ahead
 * (lwp__fetch_ahead), but not for an LWP made runnable after the switch
 * into its predecessor: the first one woken by a loop pass, the only one
 * at one connection. Asking for them all at once here overlaps those
 * misses; for the others the lines are in the cache already. */
static inline __attribute__((always_inline)) void fetch_frames_above(void)
{
    const char *f = __builtin_frame_address(0);

    /* A prefetch has no effects the compiler must keep in place, and GCC
     * hoisted these above the switch, where the lines are still hot: the
     * address now comes out of a barrier the call cannot pass. */
    __asm__ volatile("" : "+r"(f) : : "memory");

    lwp__prefetch_lines(f, 12);
}

/* Park the running LWP until r is finished, or a QSignal wakes it. */
static void wait_req(struct iomgr *m, struct iomgr_req *r,
                     const struct timeval *timeout)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *cur = rt->current;

    r->pcb = cur;
    r->state = IOMGR_WAITING;
    r->timed = 0;
    r->standing = NULL;
    r->err = start_watchers(m, r, cur->index);
    if (r->err) {
        r->state = IOMGR_FAILED;
        r->linked = 0;
        return;
    }
    iomgr__link_req(m, r, cur);
    if (start_timers(m, r, timeout) != 0) {
        iomgr__req_stop(m, r);
        r->state = IOMGR_FAILED;
        r->err = ENOMEM;
        return;
    }
    iomgr__block_current(rt);
    fetch_frames_above();
    iomgr__req_stop(m, r); /* the LWP may have been woken by a QSignal */
}

/* A Q-signal pending at the call ends it at once (as Coda's QWait would
 * have returned at once), with EINTR rather than a half-made request. */
int iomgr__take_pending_qsignal(void)
{
    struct lwp_pcb *cur = lwp__rt->current;

    if (cur->qpending <= 0)
        return 0;
    cur->qpending--;
    errno = EINTR;
    return 1;
}

int iomgr__outcome(const struct iomgr_req *r)
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
 * where iomgr__req_on_stack says it may not, in a buffer its PCB keeps
 * for its life. */
struct iomgr_req *iomgr__heap_req(struct lwp_pcb *cur)
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
    return r->state == IOMGR_READY ? w->got : iomgr__outcome(r);
}

static int __attribute__((noinline))
waitio_on_stack(struct iomgr *m, int fd, int events, struct timeval *timeout)
{
    struct iomgr_req r;

    return waitio_req(m, &r, fd, events, timeout);
}

/* IOMGR_WaitIO's wait, its arguments checked: the ready bits, or as
 * outcome(). */
static inline __attribute__((always_inline)) int
wait_one(struct iomgr *m, int fd, int events, struct timeval *timeout)
{
    struct lwp_pcb *cur = lwp__rt->current;

    if (iomgr__req_on_stack(cur))
        return waitio_on_stack(m, fd, events, timeout);
    if (!iomgr__heap_req(cur)) {
        errno = ENOMEM;
        return -1;
    }
    return waitio_req(m, cur->io_heap, fd, events, timeout);
}

int IOMGR_WaitIO(int fd, int events, struct timeval *timeout)
{
    struct iomgr *m = iomgr__entry();

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
    if (iomgr__take_pending_qsignal())
        return -1;
    return wait_one(m, fd, events, timeout);
}

/* ---- IOMGR_Select ---- */

/* The three sets' words i, limited to the bits below nfds. */
struct set_words {
    fdword rd, wr, ex;
};

/* The next word at or after i that has a bit set, or n: a tight loop per
 * set, since most words of a select's sets are empty (a server's one fd
 * far up). A NULL set has none. */
static int next_word(const fd_set *s, int i, int n)
{
    const fdword *w = (const fdword *)(const void *)s;

    if (!s)
        return n;
    while (i + 4 <= n && !(w[i] | w[i + 1] | w[i + 2] | w[i + 3]))
        i += 4;
    while (i < n && !w[i])
        i++;
    return i;
}

static int min3(int a, int b, int c)
{
    int m = a < b ? a : b;

    return m < c ? m : c;
}

/* Word i of s (0 unless `at`, the walk's position in s, is i), limited to
 * the bits below nfds. */
static fdword word_at(fd_set *s, int at, int i, int nfds)
{
    return at == i ? words(s)[i] & word_mask(i, nfds) : 0;
}

/* Calls fn(arg, i, words i of the three sets) for each word i below nfds
 * with a bit set in any set, in order; stops at the first non-zero
 * return, which it returns. */
static inline __attribute__((always_inline)) int
each_word(int nfds, fd_set *rs, fd_set *ws, fd_set *es,
          int (*fn)(void *, int, struct set_words), void *arg)
{
    int n = nwords(nfds), ir = next_word(rs, 0, n), iw = next_word(ws, 0, n),
        ie = next_word(es, 0, n);

    for (int i = min3(ir, iw, ie); i < n; i = min3(ir, iw, ie)) {
        struct set_words sw = {word_at(rs, ir, i, nfds),
                               word_at(ws, iw, i, nfds),
                               word_at(es, ie, i, nfds)};
        int rc = (sw.rd | sw.wr | sw.ex) ? fn(arg, i, sw) : 0;

        if (rc)
            return rc;
        ir = ir == i ? next_word(rs, i + 1, n) : ir;
        iw = iw == i ? next_word(ws, i + 1, n) : iw;
        ie = ie == i ? next_word(es, i + 1, n) : ie;
    }
    return 0;
}

static int count_word(void *arg, int i, struct set_words sw)
{
    (void)i;
    *(int *)arg += __builtin_popcountl(sw.rd | sw.wr | sw.ex);
    return 0;
}

static int count_fds(int nfds, fd_set *rs, fd_set *ws, fd_set *es)
{
    int n = 0;

    each_word(nfds, rs, ws, es, count_word, &n);
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

/* Where collect_into is: the request and the room in r->watch. */
struct collecting {
    struct iomgr_req *r;
    int room;
};

/* Adds a watch per fd of word i, in fd order; 0, or -1 when r->watch is
 * full. */
static inline __attribute__((always_inline)) int
collect_word(void *arg, int i, struct set_words sw)
{
    struct collecting *c = arg;
    fdword any = sw.rd | sw.wr | sw.ex;

    for (; any; any &= any - 1) {
        int b = __builtin_ctzl(any);
        fdword bit = (fdword)1 << b;

        if (c->r->nwatch == c->room)
            return -1;
        add_watch(c->r, i * WORD_BITS + b,
                  (sw.rd & bit ? IOMGR_READ : 0) |
                      (sw.wr & bit ? IOMGR_WRITE : 0) |
                      (sw.ex & bit ? IOMGR_EXCEPT : 0));
    }
    return 0;
}

/* collect_into for a select of one set (a server's read set, the common
 * case): a plain scan, without the merge of three sets. */
static int collect_set(struct iomgr_req *r, int room, int nfds, fd_set *s,
                       int want)
{
    int n = nwords(nfds);

    for (int i = next_word(s, 0, n); i < n; i = next_word(s, i + 1, n)) {
        fdword any = words(s)[i] & word_mask(i, nfds);

        for (; any; any &= any - 1) {
            if (r->nwatch == room)
                return -1;
            add_watch(r, i * WORD_BITS + __builtin_ctzl(any), want);
        }
    }
    return 0;
}

/* Watches of every fd named in any set, in fd order, into r->watch. A
 * select names few fds, however high: the scan skips empty words, and
 * only a select of more fds than fit inline counts them and allocates. */
static int collect_into(struct iomgr_req *r, int room, int nfds, fd_set *rs,
                        fd_set *ws, fd_set *es)
{
    struct collecting c = {r, room};

    r->nwatch = 0;
    r->nexcept = 0;
    if (!es && !ws && rs)
        return collect_set(r, room, nfds, rs, IOMGR_READ);
    if (!es && !rs && ws)
        return collect_set(r, room, nfds, ws, IOMGR_WRITE);
    return each_word(nfds, rs, ws, es, collect_word, &c);
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
        collect_except(r); /* conditions that came with the wake-up */
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
    return iomgr__outcome(r);
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
    int rc, err = 0;

    if (collect(r, nfds, readfds, writefds, exceptfds) != 0) {
        errno = ENOMEM;
        return -1;
    }
    /* A condition already there is queued in the new epoll instance: the
     * first loop pass finds it, as it finds a ready fd of the other sets. */
    if (r->nexcept)
        err = except_open(r);
    if (err) {
        r->state = IOMGR_FAILED;
        r->err = err;
        r->linked = 0;
    } else {
        wait_req(m, r, timeout);
    }
    rc = report(r, nfds, readfds, writefds, exceptfds);
    iomgr__except_close(r);
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

/* IOMGR_Select's wait, its arguments checked. */
static int select_sets(struct iomgr *m, int nfds, fd_set *readfds,
                       fd_set *writefds, fd_set *exceptfds,
                       struct timeval *timeout)
{
    struct lwp_pcb *cur = lwp__rt->current;

    if (iomgr__req_on_stack(cur))
        return select_on_stack(m, nfds, readfds, writefds, exceptfds,
                               timeout);
    if (!iomgr__heap_req(cur)) {
        errno = ENOMEM;
        return -1;
    }
    return select_req(m, cur->io_heap, nfds, readfds, writefds, exceptfds,
                      timeout);
}

/* The fd of the one bit set in s below nfds; -1 if none, -2 if more.
 * Callers pass nfds = highest fd + 1, so the top word is tried first and
 * the words below are only ORed together. */
static int only_fd(const fd_set *s, int nfds)
{
    const fdword *w = (const fdword *)(const void *)s;
    int i = nwords(nfds) - 1;
    fdword top, below = 0;

    while (i >= 0 && !(top = w[i] & word_mask(i, nfds)))
        i--;
    if (i < 0)
        return -1;
    if (top & (top - 1))
        return -2;
    for (int j = 0; j + 4 <= i; j += 4)
        below |= w[j] | w[j + 1] | w[j + 2] | w[j + 3];
    for (int j = i & ~3; j < i; j++)
        below |= w[j];
    return below ? -2 : i * WORD_BITS + __builtin_ctzl(top);
}

/* A select of one set naming one fd (a Coda server's read set), as
 * IOMGR_WaitIO waits: no watch array to collect or to report from. */
static int select_one_set(struct iomgr *m, int nfds, fd_set *s, int want,
                          struct timeval *timeout)
{
    int fd = only_fd(s, nfds), rc;

    if (fd < 0) /* several fds, or none (a sleep) */
        return select_sets(m, nfds, want == IOMGR_READ ? s : NULL,
                           want == IOMGR_WRITE ? s : NULL, NULL, timeout);
    rc = wait_one(m, fd, want, timeout);
    if (rc > 0)
        return 1; /* its bit, the only one, stays */
    clear_bit(s, fd);
    return rc;
}

int IOMGR_Select(int nfds, fd_set *readfds, fd_set *writefds,
                 fd_set *exceptfds, struct timeval *timeout)
{
    struct iomgr *m = iomgr__entry();

    if (!m)
        return lwp__no_rt();
    /* Past what any fd of the process can be, as select(2)'s manual
     * says: no scan of sets that long, no arithmetic near INT_MAX. */
    if (nfds < 0 ||
        (nfds > FD_SETSIZE && nfds > iomgr__nfds_bound(m, nfds))) {
        errno = EINVAL;
        return -1;
    }
    if (is_zero(timeout))
        return poll_select(nfds, readfds, writefds, exceptfds);
    if (iomgr__take_pending_qsignal()) {
        clear_sets(nfds, readfds, writefds, exceptfds);
        return -1;
    }
    if (!exceptfds && !readfds != !writefds)
        return select_one_set(m, nfds, readfds ? readfds : writefds,
                              readfds ? IOMGR_READ : IOMGR_WRITE, timeout);
    return select_sets(m, nfds, readfds, writefds, exceptfds, timeout);
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

/* Queues the fds of r for the sweep's poll, if r has waited a whole
 * period; returns the new count. e-set fds too: epoll drops them closed. */
static int queue_old(struct iomgr *m, struct iomgr_req *r, unsigned int gen,
                     int n)
{
    if (r->state != IOMGR_WAITING || gen - r->since < 2)
        return n;
    for (int i = 0; i < r->nwatch; i++) {
        struct iomgr_watch *w = &r->watch[i];
        int watched = w->slot || r->standing;

        if (!watched && !(w->want & IOMGR_EXCEPT))
            continue;
        if (iomgr__check_room(m, n) != 0)
            break; /* out of memory: the next sweep */
        iomgr__check_set(m, n++, w->fd,
                         watched ? w->want & (IOMGR_READ | IOMGR_WRITE) : 0,
                         w);
    }
    return n;
}

/* A closed fd fails its wait with EBADF (epoll forgets closed fds
 * silently, so it would wait for ever). A ready fd whose waiter the
 * kernel did not wake names a file the kernel does not watch (closed and
 * reused under the wait): it is registered again. */
static void sweep_check(struct iomgr *m, struct iomgr_watch *w, int revents)
{
    struct iomgr_req *r = w->req;

    if (r->state != IOMGR_WAITING)
        return; /* failed by an earlier fd of the same request */
    if (revents & POLLNVAL) {
        iomgr__req_stop(m, r);
        iomgr__finish(m, r, IOMGR_FAILED, EBADF);
    } else if (m->registers &&
               (revents & (POLLIN | POLLOUT | POLLERR | POLLHUP))) {
        if (w->slot)
            iomgr__rearm(m, w->slot);
        else if (r->standing)
            iomgr__standing_rearm(m, r->standing);
    }
}

void iomgr__sweep_cb(struct iomgr *m, struct iomgr_tmr *t)
{
    unsigned int gen = ++m->sweep_gen;
    int n = 0;

    if (m->nfdwait == 0)
        return; /* stopped until a wait on an fd starts it */
    (void)iomgr__tmr_start(m, t, IOMGR_SWEEP_SECONDS);
    /* Every LWP, once a second, and one poll(2) for all the fds of the
     * waits that lasted: cheap next to the serving it watches. */
    LWP_FOR_EACH_LIVE(lwp__rt, p, {
        if (p->io_req)
            n = queue_old(m, p->io_req, gen, n);
    });
    if (n > 0 && iomgr__check_poll(m, n) >= 0)
        for (int i = 0; i < n; i++)
            sweep_check(m, m->check_who[i], m->checks[i].revents);
}
