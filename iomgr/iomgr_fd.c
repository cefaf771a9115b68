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
 *
 * The price is trust: the kernel forgets an fd's registration when it is
 * closed, so if that LWP closed the fd and opened another file under the
 * same number in between, the new file is not registered. Anyone else
 * coming back, or the same LWP for other events, re-registers (the kernel
 * then answers for the file as it is now); and the sweep re-registers any
 * wait that was trusted and has lasted a full period, so that corner costs
 * at most a second or two of delay, never a hang.
 *
 * libev asserts when epoll_ctl is handed a closed fd, so every fd whose
 * watcher will be handed to the kernel in the next pass is checked first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "iomgr_internal.h"

int iomgr__is_closed(int fd)
{
    int saved = errno, closed = fcntl(fd, F_GETFD) < 0 && errno == EBADF;

    errno = saved;
    return closed;
}

static int events_of(const struct iomgr_fd *s)
{
    return (s->nread ? EV_READ : 0) | (s->nwrite ? EV_WRITE : 0);
}

static int armed_events(const struct iomgr_fd *s)
{
    return ev_is_active(&s->io) ? s->io.events & (EV_READ | EV_WRITE) : 0;
}

static void fail_waiters(struct iomgr *m, struct iomgr_fd *s, int err)
{
    for (struct iomgr_watch *w = s->head; w; w = w->next)
        iomgr__finish(m, w->req, IOMGR_FAILED, err);
}

static void deliver(struct iomgr *m, struct iomgr_fd *s, int revents)
{
    if (revents & EV_ERROR) { /* libev stopped the watcher already */
        fail_waiters(m, s, EBADF);
        return;
    }
    if (!s->head) { /* armed for a waiter that has left */
        ev_io_stop(m->loop, &s->io);
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

static struct iomgr_fd *slot_of(struct iomgr *m, int fd)
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
        struct iomgr_fd *chunk = calloc(IOMGR_FD_CHUNK, sizeof(*chunk));
        if (!chunk)
            return NULL;
        for (int i = 0; i < IOMGR_FD_CHUNK; i++)
            ev_io_init(&chunk[i].io, slot_cb, c * IOMGR_FD_CHUNK + i, 0);
        m->fdchunks[c] = chunk;
    }
    return &m->fdchunks[c][fd % IOMGR_FD_CHUNK];
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
static void arm(struct iomgr *m, struct iomgr_fd *s, int events, int fresh)
{
    ev_io_stop(m->loop, &s->io);
    if (!events)
        return;
    if (fresh)
        ev_io_set(&s->io, s->io.fd, events);
    else
        ev_io_modify(&s->io, events);
    ev_io_start(m->loop, &s->io);
    mark_dirty(m, s);
}

void iomgr__rearm(struct iomgr *m, struct iomgr_fd *s)
{
    arm(m, s, events_of(s), 1);
    for (struct iomgr_watch *w = s->head; w; w = w->next)
        w->trusted = 0;
}

int iomgr__attach(struct iomgr *m, struct iomgr_watch *w, int owner)
{
    struct iomgr_fd *s = slot_of(m, w->fd);
    int was_idle, armed, need;

    if (!s)
        return -1;
    was_idle = s->head == NULL;
    armed = armed_events(s);
    w->slot = s;
    w->prev = NULL;
    w->next = s->head;
    if (s->head)
        s->head->prev = w;
    s->head = w;
    s->nread += !!(w->want & IOMGR_READ);
    s->nwrite += !!(w->want & IOMGR_WRITE);
    need = events_of(s);
    w->trusted = 0;
    if (need == armed) {
        /* Still armed as needed: for others (they keep it honest), or
         * lingering after this very LWP's last wait (trusted). */
        w->trusted = was_idle;
        if (!was_idle || s->owner == owner)
            return 0;
    }
    arm(m, s, need, was_idle);
    s->owner = owner;
    s->hint = w->req->pcb;
    return 0;
}

void iomgr__detach(struct iomgr *m, struct iomgr_watch *w)
{
    struct iomgr_fd *s = w->slot;

    if (!s)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        s->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    s->nread -= !!(w->want & IOMGR_READ);
    s->nwrite -= !!(w->want & IOMGR_WRITE);
    w->slot = NULL;
    if (!s->head) {
        if (ev_is_active(&s->io) && !s->on_idle) {
            s->on_idle = 1;
            s->idle_next = m->idle;
            m->idle = s;
        }
    } else if (events_of(s) != armed_events(s)) {
        arm(m, s, events_of(s), 0); /* never armed for what nobody wants */
    }
}

void iomgr__before_pass(struct iomgr *m)
{
    struct iomgr_fd *s;

    while ((s = m->idle)) {
        m->idle = s->idle_next;
        s->on_idle = 0;
        if (!s->head)
            ev_io_stop(m->loop, &s->io);
    }
    while ((s = m->dirty)) {
        m->dirty = s->dirty_next;
        s->on_dirty = 0;
        if (ev_is_active(&s->io) && iomgr__is_closed(s->io.fd)) {
            ev_io_stop(m->loop, &s->io);
            fail_waiters(m, s, EBADF);
        }
    }
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
    m->idle = m->dirty = NULL;
    m->nfired = 0;
}
