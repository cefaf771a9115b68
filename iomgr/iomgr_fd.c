/* SPDX-License-Identifier: MIT */
/*
 * Per-fd watchers. Every fd that some LWP waits on has one libev watcher
 * armed with the union of what its waiters want.
 *
 * Why a watcher outlives its waiters: stopping a watcher and starting it
 * again costs libev an epoll_ctl call, one per round trip for a server
 * LWP that wakes, reads, writes and waits again. So when the last waiter
 * leaves, the watcher stays armed until the next loop pass; if the same
 * LWP comes back for the same events before then, nothing is done at all.
 * The slots left so are kept in an array (m->idle) that a return clears,
 * so that the pass's clean-up visits only the slots really left idle.
 *
 * The price is doubt. The kernel (epoll) keeps a registration per open
 * file and drops it silently when the file is closed: if the fd was closed
 * and its number given to a new file in between (an iterative server's
 * close and accept, a select loop's reconnecting client, another LWP),
 * the new file is not registered, and only a system call can tell. The
 * same holds for a waiter joining others on an armed watcher. Such a
 * watcher is "unsure" until the kernel reports its fd (in steady state
 * the next request does, and nothing is spent) or it is checked:
 *
 * - A tick falls every IOMGR_VERIFY_SECONDS while unsure watchers exist.
 *   At each tick, those still unsure a whole tick after they were armed
 *   are polled, all in one poll(2): a closed fd fails its waiters with
 *   EBADF; a ready one was missed by the kernel, so it is registered
 *   again (libev re-adds it, the next pass reports it); the others are
 *   polled again after 2, 4, ... ticks (each level of the back-off is a
 *   list visited half as often), up to IOMGR_VERIFY_LEVELS, then left to
 *   the sweep.
 * - The ticks ride on the loop's passes: a tick runs at the first pass at
 *   or after its time. A loaded loop (fds fired within the largest slack,
 *   and over this tick period and the one before IOMGR_VERIFY_BUSY
 *   watchers marked or passes with I/O) is woken for a tick only if it
 *   has made no pass some slack later (the tick's timer has that slack,
 *   see iomgr_timer.c): 8 ms, doubling up to
 *   IOMGR_VERIFY_SLACK_MAX_SECONDS while no tick finds a file the kernel
 *   lost. A loaded server always has unsure watchers
 *   (each connection's LWP waits again without a system call), and a
 *   timer of their own woke its loop about once per round of requests: a
 *   timerfd firing, a pass for nothing and a re-arm, 3% of the server CPU
 *   of bench_echo at 100 connections. Any other loop (a reconnecting
 *   client of a quiet select loop, an iterative server) is woken for each
 *   tick on time. A reused number is so seen within about two
 *   milliseconds, or, in a loop whose load stops just then, within the
 *   slack.
 * - The sweep (iomgr_wait.c) polls, once a second, every fd of the waits
 *   that have lasted a full period, in one poll(2): closed fails them,
 *   ready but not woken registers the fd again (a file swapped under a
 *   registered watcher by another LWP).
 * - Marking is two stores (the list's entry, the slot's index of it), and
 *   a confirmation clears the entry: a tick walks only a dense array of
 *   slot pointers, skips the cleared ones without touching their slots,
 *   and skips a list whose entries were all confirmed without looking at
 *   it. With the kernel reporting every fd within a tick, checking costs
 *   no system call and touches no waiter. The timer stays armed while
 *   entries exist and is re-armed by its own callback (a mark restarts it
 *   only when it was idle or waiting for a slower level).
 *
 * libev asserts when epoll_ctl is handed a closed fd, so every fd whose
 * watcher will be handed to the kernel in the next pass is checked first.
 * With the poll and select backends nothing is registered, so nothing is
 * unsure.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "iomgr_internal.h"

int iomgr__is_closed(int fd)
{
    int saved = errno, closed = fcntl(fd, F_GETFD) < 0 && errno == EBADF;

    errno = saved;
    return closed;
}

static void fail_waiters(struct iomgr *m, struct iomgr_fd *s, int err)
{
    for (struct iomgr_watch *w = s->head; w; w = w->next)
        iomgr__finish(m, w->req, IOMGR_FAILED, err);
}

/* Doubles l's room; 0, or -1 out of memory. */
static __attribute__((noinline)) int list_grow(struct iomgr_slot_list *l)
{
    int cap = l->cap ? 2 * l->cap : 64;
    struct iomgr_fd **e = realloc(l->e, (size_t)cap * sizeof(*e));

    if (!e)
        return -1;
    l->e = e;
    l->cap = cap;
    return 0;
}

/* Adds s to l; *at (a field of s) becomes 1 + its index. Inline: a
 * connection's LWP pushes twice per round trip (idle, unsure). */
static inline int list_push(struct iomgr_slot_list *l, struct iomgr_fd *s,
                            int *at)
{
    if (l->n == l->cap && list_grow(l) != 0)
        return -1;
    iomgr__list_put(l, s, at);
    return 0;
}

/* Takes the slot whose field *at is set off l: two stores, no walk. */
static void list_clear(struct iomgr_slot_list *l, int *at)
{
    l->e[*at - 1] = NULL;
    if (--l->live == 0)
        l->n = 0; /* none left: nothing for a walk to visit */
    *at = 0;
}

/* The kernel is known to watch s (it reported it, or libev is about to
 * register it afresh), or s is no longer armed: its entry, if any, goes
 * stale. */
static void sure(struct iomgr *m, struct iomgr_fd *s)
{
    if (s->unsure)
        list_clear(&m->unsure[s->unsure_at], &s->unsure);
}

static void stop_slot(struct iomgr *m, struct iomgr_fd *s)
{
    ev_io_stop(m->loop, &s->io);
    sure(m, s);
}

static void deliver(struct iomgr *m, struct iomgr_fd *s, int revents)
{
    if (revents & EV_ERROR) { /* libev stopped the watcher already */
        sure(m, s);
        fail_waiters(m, s, EBADF);
        return;
    }
    if (!s->head) { /* armed for a waiter that has left */
        stop_slot(m, s);
        return;
    }
    for (struct iomgr_watch *w = s->head; w; w = w->next) {
        int got = revents & w->want & (EV_READ | EV_WRITE);
        if (got) {
            w->got |= got;
            iomgr__finish(m, w->req, IOMGR_READY, 0);
        }
    }
}

static void deliver_oldest(struct iomgr *m)
{
    struct iomgr_fired *f = &m->fired[m->fired_first];

    m->fired_first = (m->fired_first + 1) % IOMGR_FIRED_RING;
    m->nfired--;
    deliver(m, f->slot, f->revents);
}

/* A waiter's watch and request sit in its own stack, and waking it
 * touches its PCB: with many connections, lines no longer in the cache.
 * So within a pass an fd that fires is delivered a few fds later, its
 * lines prefetched meanwhile, and the misses overlap instead of adding
 * up. Waiters are still woken in the order their fds fired. */
static void slot_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    struct iomgr_fd *s = (struct iomgr_fd *)io;
    struct iomgr *m = iomgr__running();
    struct iomgr_fired *f;

    (void)loop;
    sure(m, s);
    m->pass_io = 1;
    if (!m->batching) { /* a loop run by someone else: at once */
        deliver(m, s, revents);
        return;
    }
    if (s->head) {
        __builtin_prefetch(s->head, 1);
        __builtin_prefetch(s->hint, 1);
    }
    if (m->nfired == IOMGR_FIRED_RING)
        deliver_oldest(m);
    f = &m->fired[(m->fired_first + m->nfired) % IOMGR_FIRED_RING];
    f->slot = s;
    f->revents = revents;
    m->nfired++;
}

void iomgr__after_pass(struct iomgr *m)
{
    while (m->nfired)
        deliver_oldest(m);
    m->batching = 0;
}

static __attribute__((noinline)) struct iomgr_fd *slot_new(struct iomgr *m,
                                                            int fd)
{
    int c = fd / IOMGR_FD_CHUNK;

    if (c >= m->nfdchunks) {
        int n = c + 1 > 2 * m->nfdchunks ? c + 1 : 2 * m->nfdchunks;
        struct iomgr_fd **a = realloc(m->fdchunks, (size_t)n * sizeof(*a));
        if (!a)
            return NULL;
        for (int i = m->nfdchunks; i < n; i++)
            a[i] = NULL;
        m->fdchunks = a;
        m->nfdchunks = n;
    }
    if (!m->fdchunks[c]) {
        struct iomgr_fd *chunk =
            aligned_alloc(64, IOMGR_FD_CHUNK * sizeof(*chunk));
        if (!chunk)
            return NULL;
        memset(chunk, 0, IOMGR_FD_CHUNK * sizeof(*chunk));
        for (int i = 0; i < IOMGR_FD_CHUNK; i++)
            ev_io_init(&chunk[i].io, slot_cb, c * IOMGR_FD_CHUNK + i, 0);
        m->fdchunks[c] = chunk;
    }
    return &m->fdchunks[c][fd % IOMGR_FD_CHUNK];
}

/* The slot of fd (>= 0) if its chunk exists, else NULL. */
static inline struct iomgr_fd *slot_at(const struct iomgr *m, int fd)
{
    unsigned int c = (unsigned int)fd / IOMGR_FD_CHUNK;

    if (lwp_likely(c < (unsigned int)m->nfdchunks && m->fdchunks[c]))
        return &m->fdchunks[c][(unsigned int)fd % IOMGR_FD_CHUNK];
    return NULL;
}

/* The slot of fd (>= 0), made on first use; NULL out of memory. */
static inline struct iomgr_fd *slot_of(struct iomgr *m, int fd)
{
    struct iomgr_fd *s = slot_at(m, fd);

    return lwp_likely(s != NULL) ? s : slot_new(m, fd);
}

static void mark_dirty(struct iomgr *m, struct iomgr_fd *s)
{
    if (s->on_dirty)
        return;
    s->on_dirty = 1;
    s->dirty_next = m->dirty;
    m->dirty = s;
}

/* Arm s for `events`. With `fresh`, libev re-registers the fd with the
 * kernel even if the events are unchanged; otherwise it does only if they
 * changed (which also finds a file swapped under the number). */
static inline void mark_unsure(struct iomgr *m, struct iomgr_fd *s);
static inline __attribute__((always_inline)) int
mark_unsure_inline(struct iomgr *m, struct iomgr_fd *s);
static __attribute__((noinline)) int mark_unsure_slow(struct iomgr *m,
                                                     struct iomgr_fd *s);

static void arm(struct iomgr *m, struct iomgr_fd *s, int events, int fresh)
{
    ev_io_stop(m->loop, &s->io);
    if (!events) {
        sure(m, s);
        return;
    }
    if (fresh)
        ev_io_set(&s->io, s->io.fd, events);
    else
        ev_io_modify(&s->io, events);
    ev_io_start(m->loop, &s->io);
    mark_dirty(m, s);
    /* Fresh: libev registers the file at the next pass, whatever the
     * kernel had. Otherwise it calls the kernel only if the union of the
     * events changed since its last pass, which it may not have. */
    if (fresh)
        sure(m, s);
    else
        mark_unsure(m, s);
}

void iomgr__rearm(struct iomgr *m, struct iomgr_fd *s)
{
    arm(m, s, iomgr__events_of(s), 1);
}

int iomgr__fd_may_exist(struct iomgr *m, int fd)
{
    if (fd < m->fd_bound)
        return 1;
    if (iomgr__is_closed(fd))
        return 0;
    /* Open above the limit (which was lowered since): worth its memory. */
    m->fd_seen = fd + 1;
    m->fd_bound = fd + 1;
    return 1;
}

static int soft_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur > INT_MAX / 2)
        return INT_MAX / 2; /* still safe for the set arithmetic */
    return (int)rl.rlim_cur;
}

int iomgr__nfds_bound(struct iomgr *m, int nfds)
{
    if (nfds > m->fd_bound) {
        int limit = soft_nofile();

        m->fd_bound = limit > m->fd_seen ? limit : m->fd_seen;
    }
    return m->fd_bound;
}

/* attach's rare paths, each out of line and reached by a tail call, so
 * the usual path (a connection's LWP waiting again on its fd) calls
 * nothing and saves no registers. */
static __attribute__((noinline)) int attach_arm(struct iomgr *m,
                                               struct iomgr_watch *w,
                                               struct iomgr_fd *s, int need,
                                               int was_idle, int owner)
{
    arm(m, s, need, was_idle);
    s->owner = owner;
    s->hint = w->req->pcb;
    return 0;
}

static inline __attribute__((always_inline)) int
attach_to(struct iomgr *m, struct iomgr_watch *w, struct iomgr_fd *s,
          int owner)
{
    int was_idle, armed, need;

    if (s->idle_at)
        list_clear(&m->idle, &s->idle_at);
    was_idle = s->head == NULL;
    armed = iomgr__armed_events(s);
    w->slot = s;
    w->prev = NULL;
    w->next = s->head;
    if (s->head)
        s->head->prev = w;
    s->head = w;
    if (w->want & IOMGR_READ)
        s->nread++;
    if (w->want & IOMGR_WRITE)
        s->nwrite++;
    need = iomgr__events_of(s);
    if (need != armed || (was_idle && s->owner != owner))
        return attach_arm(m, w, s, need, was_idle, owner);
    /* Still armed as needed, for others or lingering after this very
     * LWP's last wait: no system call, but the file may be new. */
    return mark_unsure_inline(m, s) ? 0 : mark_unsure_slow(m, s);
}

/* The fd above what was seen open, or its slot not made yet. */
static __attribute__((noinline)) int attach_new(struct iomgr *m,
                                               struct iomgr_watch *w,
                                               int owner)
{
    struct iomgr_fd *s;

    if (!iomgr__fd_may_exist(m, w->fd))
        return EBADF;
    s = slot_of(m, w->fd);
    if (!s)
        return ENOMEM;
    return attach_to(m, w, s, owner);
}

/* Returns 0, ENOMEM, or EBADF for a number that cannot be open (checked
 * before any memory is spent on it: libev sizes its arrays by fd). */
int iomgr__attach(struct iomgr *m, struct iomgr_watch *w, int owner)
{
    struct iomgr_fd *s = w->fd < m->fd_bound ? slot_at(m, w->fd) : NULL;

    return lwp_likely(s != NULL) ? attach_to(m, w, s, owner)
                                 : attach_new(m, w, owner);
}

void iomgr__detach_rest(struct iomgr *m, struct iomgr_fd *s)
{
    if (s->head) {
        /* never armed for what nobody wants */
        arm(m, s, iomgr__events_of(s), 0);
    } else if (list_push(&m->idle, s, &s->idle_at) != 0) {
        stop_slot(m, s); /* out of memory: no lingering */
    }
}

void iomgr__before_pass(struct iomgr *m)
{
    struct iomgr_fd *s;

    /* Slots whose LWP came back were taken off (unidle): usually all. */
    for (int i = 0; i < m->idle.n && m->idle.live > 0; i++) {
        if (!(s = m->idle.e[i]))
            continue;
        m->idle.live--;
        s->idle_at = 0;
        if (!s->head) /* attach takes it off; this is a safeguard */
            stop_slot(m, s);
    }
    m->idle.n = 0;
    while ((s = m->dirty)) {
        m->dirty = s->dirty_next;
        s->on_dirty = 0;
        if (ev_is_active(&s->io) && iomgr__is_closed(s->io.fd)) {
            stop_slot(m, s);
            fail_waiters(m, s, EBADF);
            /* The pass must not block: its waiters are runnable now. */
            ev_idle_start(m->loop, &m->kick);
        }
    }
}

static void kick_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    ev_idle_stop(loop, w);
}

/* ---- Batched checks ---- */

int iomgr__check_room(struct iomgr *m, int n)
{
    int cap = m->check_cap ? 2 * m->check_cap : 64;
    struct pollfd *p;
    void **who;

    if (n < m->check_cap)
        return 0;
    p = realloc(m->checks, (size_t)cap * sizeof(*p));
    if (!p)
        return -1;
    m->checks = p;
    who = realloc(m->check_who, (size_t)cap * sizeof(*who));
    if (!who)
        return -1;
    m->check_who = who;
    m->check_cap = cap;
    return 0;
}

void iomgr__check_set(struct iomgr *m, int n, int fd, int events, void *who)
{
    m->checks[n].fd = fd;
    m->checks[n].events = (short)((events & EV_READ ? POLLIN : 0) |
                                  (events & EV_WRITE ? POLLOUT : 0));
    m->checks[n].revents = 0;
    m->check_who[n] = who;
}

int iomgr__check_poll(struct iomgr *m, int n)
{
    int rc;

    do
        rc = poll(m->checks, (nfds_t)n, 0);
    while (rc < 0 && errno == EINTR);
    return rc;
}

/* ---- Unsure watchers ---- */

/* List of level 0 for the tick interval `tick` (two alternate: marks of
 * the current interval, and of the previous one, due at the next tick),
 * and of the back-off levels 1..IOMGR_VERIFY_LEVELS. */
#define LEVEL0(tick) ((int)((tick)&1u))
#define SLOW(level) (1 + (level))

static int push_unsure(struct iomgr *m, int at, struct iomgr_fd *s)
{
    if (list_push(&m->unsure[at], s, &s->unsure) != 0)
        return -1;
    s->unsure_at = at;
    return 0;
}

static void schedule(struct iomgr *m, unsigned int ticks)
{
    m->vnext = m->vtick + ticks;
    (void)iomgr__tmr_start(m, &m->verify, ticks * IOMGR_VERIFY_SECONDS);
}

/* Returns 0, so that attach can end in a tail call to it. */
static __attribute__((noinline)) int mark_unsure_slow(struct iomgr *m,
                                                     struct iomgr_fd *s)
{
    sure(m, s); /* back from a back-off level: checked soon again */
    if (push_unsure(m, LEVEL0(m->vtick), s) != 0) {
        arm(m, s, iomgr__armed_events(s), 1); /* out of memory: pay the call */
        return 0;
    }
    m->activity++;
    if (!iomgr__tmr_active(&m->verify)) {
        /* None were unsure. For long: no load to keep the slack for (a
         * loaded loop's ticks often find every watcher confirmed, and
         * stop, until its LWPs wait again). */
        if (m->last_pass - m->vtick_at > IOMGR_VERIFY_SLACK_MAX_SECONDS) {
            m->vslack = IOMGR_VERIFY_SLACK_SECONDS;
            m->activity = 1;
            m->activity_before = 0;
        }
        schedule(m, 1);
    } else if (m->vnext != m->vtick + 1) {
        schedule(m, 1);
    }
    return 0;
}

/* Due at the next tick with the others, on the loop's verify timer, which
 * runs for the next tick already: the usual case of a connection's LWP
 * waiting again, kept inline (a push and a count). 1 if s is taken care
 * of; 0 if mark_unsure_slow has to. */
static inline __attribute__((always_inline)) int
mark_unsure_inline(struct iomgr *m, struct iomgr_fd *s)
{
    int at = LEVEL0(m->vtick);
    struct iomgr_slot_list *l = &m->unsure[at];

    if (!m->registers || (s->unsure && s->unsure_at < SLOW(1)))
        return 1; /* nothing registered, or due at the next tick already */
    if (lwp_likely(!s->unsure && l->n < l->cap &&
                   iomgr__tmr_active(&m->verify) &&
                   m->vnext == m->vtick + 1)) {
        iomgr__list_put(l, s, &s->unsure);
        s->unsure_at = at;
        m->activity++;
        return 1;
    }
    return 0;
}

static inline void mark_unsure(struct iomgr *m, struct iomgr_fd *s)
{
    if (!mark_unsure_inline(m, s))
        (void)mark_unsure_slow(m, s);
}

/* Queues the valid entries of list `at` for the poll (their slots are
 * taken off the lists meanwhile) and empties it; returns the new n. */
static int queue_list(struct iomgr *m, int at, int n)
{
    struct iomgr_slot_list *l = &m->unsure[at];

    for (int i = 0; i < l->n && l->live > 0; i++) {
        struct iomgr_fd *s = l->e[i];

        if (!s)
            continue; /* confirmed */
        l->live--;
        s->unsure = 0;
        if (iomgr__check_room(m, n) != 0)
            continue; /* out of memory: left to the sweep */
        s->unsure_at = at; /* where it was, until resolved */
        iomgr__check_set(m, n++, s->io.fd, iomgr__armed_events(s), s);
    }
    l->n = 0;
    return n;
}

/* Acts on a checked watcher's poll(2) result; 1 if the kernel had lost
 * its file (closed, or missed readiness), 0 if it was merely quiet. */
static int resolve(struct iomgr *m, struct iomgr_fd *s, int revents)
{
    int level = s->unsure_at < SLOW(1) ? 0 : s->unsure_at - 1;

    if (!ev_is_active(&s->io))
        return 0;
    if (revents & POLLNVAL) {
        stop_slot(m, s);
        fail_waiters(m, s, EBADF);
        return 1;
    }
    if (revents & (POLLIN | POLLOUT | POLLERR | POLLHUP)) {
        arm(m, s, iomgr__armed_events(s), 1); /* the kernel missed it */
        return 1;
    }
    if (level < IOMGR_VERIFY_LEVELS) {
        if (push_unsure(m, SLOW(level + 1), s) != 0)
            sure(m, s);
    } /* else left to the sweep, which polls the waits that last */
    return 0;
}

/* The next tick at which a list has entries to check, 0 if none. */
static unsigned int next_tick(const struct iomgr *m)
{
    if (m->unsure[0].live || m->unsure[1].live)
        return m->vtick + 1;
    for (int j = 1; j <= IOMGR_VERIFY_LEVELS; j++) {
        unsigned int period = 1u << j;

        if (m->unsure[SLOW(j)].live)
            return (m->vtick / period + 1) * period;
    }
    return 0;
}

static void verify_cb(struct iomgr *m, struct iomgr_tmr *t)
{
    unsigned int next;
    int n, lost = 0;

    m->vtick = m->vnext;
    m->vtick_at = m->last_pass;
    m->activity_before = m->activity;
    m->activity = 0;
    /* Level 0: the marks of the interval before the last, a whole tick
     * old (this list then holds the new interval's). */
    n = queue_list(m, LEVEL0(m->vtick), 0);
    for (int j = 1; j <= IOMGR_VERIFY_LEVELS; j++)
        if (m->vtick % (1u << j) == 0)
            n = queue_list(m, SLOW(j), n);
    if (n > 0 && iomgr__check_poll(m, n) >= 0)
        for (int i = 0; i < n; i++)
            lost += resolve(m, m->check_who[i], m->checks[i].revents);
    /* A tick that found no file lost by the kernel (a server under load:
     * each connection's request confirms its watcher a round later, a
     * slow one's is merely quiet) lets a loaded loop sleep longer past the
     * next one; one that found a lost file brings it back. */
    if (lost)
        m->vslack = IOMGR_VERIFY_SLACK_SECONDS;
    else if (m->vslack < IOMGR_VERIFY_SLACK_MAX_SECONDS)
        m->vslack = m->vslack * 2 < IOMGR_VERIFY_SLACK_MAX_SECONDS
                        ? m->vslack * 2
                        : IOMGR_VERIFY_SLACK_MAX_SECONDS;

    next = next_tick(m);
    if (next)
        schedule(m, next - m->vtick);
}

void iomgr__note_pass(struct iomgr *m, double now)
{
    if (m->pass_io) {
        m->last_io = now;
        m->activity++;
        m->pass_io = 0;
    }
}

/* Under load: fds fired less than the largest slack ago, and since the
 * start of the tick period before the current one many watchers were
 * marked (a server's connections waiting again) or many passes had I/O
 * (one socket answered over and over: an RPC listener). Only then may
 * the ticks wait for passes. Otherwise (a reconnecting client of a quiet
 * select loop, an iterative server) the loop is woken for each tick on
 * time, and sees a reused number within about 2 ms. */
void iomgr__verify_slack(struct iomgr *m)
{
    /* The marks still unsure are among the two periods' counted here. */
    int loaded = m->activity + m->activity_before >= IOMGR_VERIFY_BUSY;

    m->verify.slack =
        loaded && m->last_pass - m->last_io <= IOMGR_VERIFY_SLACK_MAX_SECONDS
            ? m->vslack
            : 0;
}

void iomgr__fds_init(struct iomgr *m)
{
    unsigned int backend = ev_backend(m->loop);

    m->registers = !(backend & (EVBACKEND_POLL | EVBACKEND_SELECT));
    m->fd_bound = soft_nofile();
    m->fd_seen = 0;
    m->vtick = m->vnext = 1;
    ev_idle_init(&m->kick, kick_cb);
    /* Timers run after the fd callbacks of their pass, which confirm. */
    m->verify.cb = verify_cb;
    m->vslack = IOMGR_VERIFY_SLACK_SECONDS;
    m->verify.slack = 0; /* until a pass finds the loop busy */
}

void iomgr__fds_term(struct iomgr *m)
{
    for (int c = 0; c < m->nfdchunks; c++) {
        if (!m->fdchunks[c])
            continue;
        for (int i = 0; i < IOMGR_FD_CHUNK; i++)
            ev_io_stop(m->loop, &m->fdchunks[c][i].io);
        free(m->fdchunks[c]);
    }
    free(m->fdchunks);
    m->fdchunks = NULL;
    m->nfdchunks = 0;
    m->dirty = NULL;
    free(m->idle.e);
    m->idle = (struct iomgr_slot_list){0};
    m->nfired = 0;
    ev_idle_stop(m->loop, &m->kick);
    iomgr__tmr_stop(m, &m->verify);
    for (int i = 0; i < IOMGR_UNSURE_LISTS; i++) {
        free(m->unsure[i].e);
        m->unsure[i] = (struct iomgr_slot_list){0};
    }
    free(m->checks);
    free(m->check_who);
    m->checks = NULL;
    m->check_who = NULL;
    m->check_cap = 0;
}
