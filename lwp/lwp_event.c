/* SPDX-License-Identifier: MIT */
/*
 * Events: waiting and signalling on addresses, and the per-LWP counting
 * semaphore (QWait/QSignal).
 *
 * Waiters are found through a hash table keyed by address. Each address
 * with waiters has one record holding a FIFO of wait entries, so a signal
 * touches only the waiters of its own event, however many LWPs are blocked
 * on others, and wakes them in the order they blocked.
 */
#include <string.h>

#include "lwp_internal.h"
#include "lwp_sched_inline.h"

#define EV_INITIAL_SHIFT 56 /* 256 buckets */
#define EV_CHUNK 256        /* records allocated at a time */

static size_t bucket_of(const struct lwp_evtable *t, const void *addr)
{
    return (size_t)(((uint64_t)(uintptr_t)addr * 0x9E3779B97F4A7C15ull) >>
                    t->shift);
}

int lwp__events_init(struct lwp_evtable *t)
{
    memset(t, 0, sizeof(*t));
    t->shift = EV_INITIAL_SHIFT;
    t->nbuckets = (size_t)1 << (64 - EV_INITIAL_SHIFT);
    t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
    return t->buckets ? 0 : -1;
}

void lwp__events_term(struct lwp_evtable *t)
{
    for (size_t i = 0; i < t->nchunks; i++)
        free(t->chunks[i]);
    free(t->chunks);
    free(t->buckets);
    memset(t, 0, sizeof(*t));
}

static int grow_records(struct lwp_evtable *t)
{
    struct lwp_event *chunk = malloc(EV_CHUNK * sizeof(*chunk));
    void **chunks = realloc(t->chunks, (t->nchunks + 1) * sizeof(void *));

    if (chunks)
        t->chunks = chunks;
    if (!chunk || !chunks) {
        free(chunk);
        return -1;
    }
    t->chunks[t->nchunks++] = chunk;
    for (int i = 0; i < EV_CHUNK; i++) {
        chunk[i].hnext = t->free;
        t->free = &chunk[i];
    }
    return 0;
}

/* Double the table when there are more events than buckets. Failure to
 * grow only costs speed, so it is not reported. */
static void maybe_rehash(struct lwp_evtable *t)
{
    size_t n = t->nbuckets * 2;
    struct lwp_event **nb;

    if (t->shift <= 33)
        return;
    nb = calloc(n, sizeof(*nb));
    if (!nb)
        return;
    t->shift--;
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct lwp_event *e = t->buckets[i], *next;
        for (; e; e = next) {
            size_t b = bucket_of(t, e->addr);
            next = e->hnext;
            e->hnext = nb[b];
            nb[b] = e;
        }
    }
    free(t->buckets);
    t->buckets = nb;
    t->nbuckets = n;
}

static inline struct lwp_event *lookup(struct lwp_evtable *t, const void *addr,
                                struct lwp_event ***link)
{
    struct lwp_event **pp = &t->buckets[bucket_of(t, addr)];

    for (; *pp; pp = &(*pp)->hnext)
        if ((*pp)->addr == addr)
            break;
    *link = pp;
    return *pp;
}

/* The record of addr, created if needed; NULL only when out of memory. */
static inline struct lwp_event *find_or_add(struct lwp_evtable *t, const void *addr)
{
    struct lwp_event **link, *e = lookup(t, addr, &link);

    if (e)
        return e;
    if (!t->free && grow_records(t) != 0)
        return NULL;
    e = t->free;
    t->free = e->hnext;
    e->addr = addr;
    e->head = e->tail = NULL;
    e->hnext = NULL;
    *link = e;
    if (lwp_unlikely(++t->count > t->nbuckets))
        maybe_rehash(t);
    return e;
}

static void remove_record(struct lwp_evtable *t, struct lwp_event *e)
{
    struct lwp_event **link;

    lookup(t, e->addr, &link);
    LWP_ASSERT(*link == e, "LWP_INTERNALSIGNAL");
    *link = e->hnext;
    e->hnext = t->free;
    t->free = e;
    t->count--;
}

static void node_unlink(struct lwp_evtable *t, struct lwp_waitnode *n)
{
    struct lwp_event *e = n->ev;

    if (n->prev)
        n->prev->next = n->next;
    else
        e->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        e->tail = n->prev;
    n->ev = NULL;
    if (!e->head)
        remove_record(t, e);
}

/* Unlink every still-linked wait entry of p (it is leaving the wait),
 * except those of `skip`: a signalled event whose record is already out of
 * the table and whose FIFO is being walked. */
void lwp__unlink_nodes(struct lwp_runtime *rt, struct lwp_pcb *p,
                       const struct lwp_event *skip)
{
    for (int i = 0; i < p->eventcnt; i++)
        if (p->nodes[i].ev && p->nodes[i].ev != skip)
            node_unlink(&rt->events, &p->nodes[i]);
}

static int reserve_nodes(struct lwp_pcb *p, int n)
{
    struct lwp_waitnode *nodes;

    if (n <= p->nodecap)
        return 0;
    nodes = malloc((size_t)n * sizeof(*nodes));
    if (!nodes)
        return -1;
    if (p->nodes != p->inline_nodes)
        free(p->nodes);
    p->nodes = nodes;
    p->nodecap = n;
    return 0;
}

/* Records for every address first, so running out of memory part-way
 * leaves nothing half-linked (empty records are dropped again). */
static int add_records(struct lwp_evtable *t, const void *evlist[], int n)
{
    for (int i = 0; i < n; i++) {
        if (find_or_add(t, evlist[i]))
            continue;
        for (int j = 0; j < i; j++) {
            struct lwp_event **link, *e = lookup(t, evlist[j], &link);
            if (e && !e->head)
                remove_record(t, e);
        }
        return -1;
    }
    return 0;
}

static inline void link_node(struct lwp_event *e, struct lwp_pcb *p, int i)
{
    struct lwp_waitnode *n = &p->nodes[i];

    n->pcb = p;
    n->addr = e->addr;
    n->ev = e;
    n->next = NULL;
    n->prev = e->tail;
    if (e->tail)
        e->tail->next = n;
    else
        e->head = n;
    e->tail = n;
}

static int wait_on(struct lwp_runtime *rt, int wcount, const void *evlist[],
                   int ecount)
{
    struct lwp_pcb *cur = rt->current;

    if (wcount == 0) {
        cur->wakevent = 0;
        lwp__yield(rt);
        return LWP_SUCCESS;
    }
    if (reserve_nodes(cur, ecount) != 0)
        return LWP_ENOMEM;
    if (ecount == 1) {
        struct lwp_event *e = find_or_add(&rt->events, evlist[0]);
        if (lwp_unlikely(!e))
            return LWP_ENOMEM;
        link_node(e, cur, 0);
    } else {
        struct lwp_event **link;
        if (add_records(&rt->events, evlist, ecount) != 0)
            return LWP_ENOMEM;
        for (int i = 0; i < ecount; i++)
            link_node(lookup(&rt->events, evlist[i], &link), cur, i);
    }
    cur->eventcnt = ecount;
    cur->waitcnt = wcount;
    cur->wakevent = 0;
    lwp__block(rt);
    cur->eventcnt = 0;
    return LWP_SUCCESS;
}

int LWP_WaitProcess(const void *event)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *cur;
    struct lwp_event *e;

    if (!event)
        return LWP_EBADEVENT;
    if (lwp_unlikely(!rt))
        return LWP_EINIT;
    /* The common case, kept lean: one event; nodes[] always has room. */
    e = find_or_add(&rt->events, event);
    if (lwp_unlikely(!e))
        return LWP_ENOMEM;
    cur = rt->current;
    link_node(e, cur, 0);
    cur->eventcnt = 1;
    cur->waitcnt = 1;
    cur->wakevent = 0;
    lwp__block_inline(rt);
    cur->eventcnt = 0;
    return LWP_SUCCESS;
}

int LWP_MwaitProcess(int wcount, const void *evlist[])
{
    int ecount = 0;

    if (!evlist)
        return LWP_EBADCOUNT;
    while (evlist[ecount])
        ecount++;
    if (ecount == 0)
        return LWP_EBADCOUNT;
    if (!lwp__rt)
        return LWP_EINIT;
    if (wcount < 0 || wcount > ecount)
        return LWP_EBADCOUNT;
    LWP_DEBUG("LWP_MwaitProcess %d of %d", wcount, ecount);
    return wait_on(lwp__rt, wcount, evlist, ecount);
}

/* Count one matched entry of a waiter; wake it when its count is done. */
/* Count one matched entry; wake its LWP when its count is done. */
static inline void count_match(struct lwp_runtime *rt, struct lwp_waitnode *n,
                               const struct lwp_event *e)
{
    struct lwp_pcb *p = n->pcb;

    n->ev = NULL;
    n->addr = NULL;
    if (p->state != LWP_ST_WAITING || --p->waitcnt > 0)
        return;
    p->wakevent = (int)(n - p->nodes) + 1;
    if (p->eventcnt > 1)
        lwp__unlink_nodes(rt, p, e);
    lwp__make_runnable(rt, p);
}

static int signal_event(struct lwp_runtime *rt, const void *event)
{
    struct lwp_evtable *t = &rt->events;
    struct lwp_event **link, *e = lookup(t, event, &link);
    struct lwp_waitnode *n, *next;

    if (!e)
        return LWP_ENOWAIT;
    /* Every entry of this event is matched now: take the record out of
     * the table first, so waking an LWP (which unlinks its entries of other
     * events) never edits this FIFO while it is walked. */
    *link = e->hnext;
    e->hnext = t->free;
    t->free = e;
    t->count--;
    for (n = e->head; n; n = next) {
        next = n->next;
        count_match(rt, n, e);
    }
    return LWP_SUCCESS;
}

int LWP_INTERNALSIGNAL(const void *event, int yield)
{
    struct lwp_runtime *rt = lwp__rt;
    int rc;

    if (lwp_unlikely(!rt))
        return LWP_EINIT;
    if (!event)
        return LWP_EBADEVENT;
    rc = signal_event(rt, event);
    /* Out of line: inlining the switch here would make every
     * LWP_NoYieldSignal save and restore all callee-saved registers. */
    if (yield)
        lwp__yield(rt);
    return rc;
}

int LWP_QWait(void)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *cur;

    if (!rt)
        return LWP_EINIT;
    cur = rt->current;
    if (--cur->qpending >= 0)
        return LWP_SUCCESS;
    cur->qwaiting = 1;
    cur->eventcnt = 0;
    lwp__block(rt);
    return LWP_SUCCESS;
}

int LWP_QSignal(PROCESS pid)
{
    struct lwp_pcb *p;
    int rc = lwp__handle(pid, &p);

    if (rc != LWP_SUCCESS)
        return rc;
    /* Only an LWP blocked in LWP_QWait has qpending -1. */
    if (++p->qpending != 0)
        return LWP_ENOWAIT;
    lwp__make_runnable(lwp__rt, p);
    return LWP_SUCCESS;
}
