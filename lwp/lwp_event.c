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

static inline size_t bucket_of(const struct lwp_evtable *t, const void *addr)
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
    free(t->buckets);
    memset(t, 0, sizeof(*t));
}

/* Double the table when there are more events than buckets. Failure to
 * grow only costs speed, so it is not reported. */
static void __attribute__((noinline, cold)) maybe_rehash(struct lwp_evtable *t)
{
    size_t n = t->nbuckets * 2;
    struct lwp_waitnode **nb;

    if (t->shift <= 33)
        return;
    nb = calloc(n, sizeof(*nb));
    if (!nb)
        return;
    t->shift--;
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct lwp_waitnode *h = t->buckets[i], *next;
        for (; h; h = next) {
            size_t b = bucket_of(t, h->addr);
            next = h->hnext;
            h->hnext = nb[b];
            nb[b] = h;
        }
    }
    free(t->buckets);
    t->buckets = nb;
    t->nbuckets = n;
}

/* The chain link that points at the head entry of addr, or at the NULL
 * that ends the chain when nobody waits on addr. */
static inline struct lwp_waitnode **find_link(struct lwp_evtable *t,
                                              const void *addr)
{
    struct lwp_waitnode **pp = &t->buckets[bucket_of(t, addr)];

    while (*pp && (*pp)->addr != addr)
        pp = &(*pp)->hnext;
    return pp;
}

/* Entry i of p joins the FIFO of addr, as its head if nobody waits yet.
 * The caller has made sure the table may take one more address without
 * growing (table_full). */
static inline void link_node(struct lwp_evtable *t, struct lwp_pcb *p, int i,
                             const void *addr)
{
    struct lwp_waitnode *n = &p->nodes[i];
    struct lwp_waitnode **link = find_link(t, addr), *h = *link;

    n->addr = addr;
    if (h) {
        n->head = 0;
        n->next = h;
        n->prev = h->prev;
        h->prev->next = n;
        h->prev = n;
        return;
    }
    n->head = 1;
    n->next = n->prev = n;
    n->hnext = NULL;
    *link = n;
    t->count++;
}

/* More addresses than buckets: the table should grow before another joins. */
static inline int table_full(const struct lwp_evtable *t)
{
    return t->count >= t->nbuckets;
}

/* Take a still-linked entry out of its FIFO (its LWP stops waiting for
 * another reason); a head hands its place in the chain to its successor. */
static void node_unlink(struct lwp_evtable *t, struct lwp_waitnode *n)
{
    if (n->head) {
        struct lwp_waitnode **link = find_link(t, n->addr);
        LWP_ASSERT(*link == n, "LWP_INTERNALSIGNAL");
        if (n->next == n) {
            *link = n->hnext;
            t->count--;
        } else {
            struct lwp_waitnode *m = n->next;
            m->head = 1;
            m->hnext = n->hnext;
            *link = m;
        }
    }
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->addr = NULL;
}

/* Unlink every still-linked wait entry of p (it is leaving the wait),
 * except those on `skip`: the address being signalled, whose FIFO is
 * already out of the table and being walked. */
void lwp__unlink_nodes(struct lwp_runtime *rt, struct lwp_pcb *p,
                       const void *skip)
{
    for (int i = 0; i < p->eventcnt; i++)
        if (p->nodes[i].addr && p->nodes[i].addr != skip)
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
    lwp__nodes_own(p, nodes, n);
    if (p->nodes != p->inline_nodes)
        free(p->nodes);
    p->nodes = nodes;
    p->nodecap = n;
    return 0;
}

static int wait_on(struct lwp_runtime *rt, int wcount, const void *evlist[],
                   int ecount)
{
    struct lwp_pcb *cur = rt->current;

    if (wcount == 0) {
        cur->wakevent = 0;
        return lwp__yield_ret(rt, LWP_SUCCESS);
    }
    if (reserve_nodes(cur, ecount) != 0)
        return LWP_ENOMEM;
    for (int i = 0; i < ecount; i++) {
        if (lwp_unlikely(table_full(&rt->events)))
            maybe_rehash(&rt->events);
        link_node(&rt->events, cur, i, evlist[i]);
    }
    cur->eventcnt = ecount;
    cur->waitcnt = wcount;
    cur->wakevent = 0;
    return lwp__block_inline(rt, LWP_SUCCESS);
}

/* LWP_WaitProcess when the table must grow first; out of line so the
 * common path takes no local's address. */
static int __attribute__((noinline, cold))
wait_one_growing(struct lwp_runtime *rt, const void *event)
{
    const void *evlist[1] = {event};

    return wait_on(rt, 1, evlist, 1);
}

int LWP_WaitProcess(const void *event)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *cur;

    if (!event)
        return LWP_EBADEVENT;
    if (lwp_unlikely(!rt))
        return lwp__no_rt();
    /* The common case, kept lean: one event, nodes[] always has room, and
     * no call before the switch, so no registers to save. */
    if (lwp_unlikely(table_full(&rt->events)))
        return wait_one_growing(rt, event);
    cur = rt->current;
    link_node(&rt->events, cur, 0, event);
    cur->eventcnt = 1;
    cur->waitcnt = 1;
    cur->wakevent = 0;
    return lwp__block_inline(rt, LWP_SUCCESS);
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
        return lwp__no_rt();
    if (wcount < 0 || wcount > ecount)
        return LWP_EBADCOUNT;
    LWP_DEBUG("LWP_MwaitProcess %d of %d", wcount, ecount);
    return wait_on(lwp__rt, wcount, evlist, ecount);
}

/* Count one matched entry; wake its LWP when its count is done. */
static inline void count_match(struct lwp_runtime *rt, struct lwp_waitnode *n,
                               const void *event)
{
    struct lwp_pcb *p = n->pcb;

    n->addr = NULL;
    if (p->state != LWP_ST_WAITING || --p->waitcnt > 0)
        return;
    p->wakevent = n->slot + 1;
    if (lwp_unlikely(p->eventcnt > 1))
        lwp__unlink_nodes(rt, p, event);
    lwp__make_runnable(rt, p);
}

/* Every entry of the FIFO headed by h is matched. Its head is already out
 * of the chain, so waking an LWP (which unlinks its entries on other
 * addresses) never edits this FIFO while it is walked. */
static void __attribute__((noinline)) match_all(struct lwp_runtime *rt,
                                                struct lwp_waitnode *h,
                                                const void *event)
{
    struct lwp_waitnode *n = h, *next;

    do {
        next = n->next;
        count_match(rt, n, event);
        n = next;
    } while (n != h);
}

int LWP_INTERNALSIGNAL(const void *event, int yield)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_waitnode **link, *h;
    int rc = LWP_ENOWAIT;

    if (lwp_unlikely(!rt))
        return lwp__no_rt();
    if (!event)
        return LWP_EBADEVENT;
    link = find_link(&rt->events, event);
    h = *link;
    if (h) {
        *link = h->hnext;
        rt->events.count--;
        if (lwp_likely(h->next == h))
            count_match(rt, h, event); /* the usual lone waiter */
        else
            match_all(rt, h, event);
        rc = LWP_SUCCESS;
    }
    /* Out of line, but as a tail call: inlining the switch here would make
     * every LWP_NoYieldSignal save and restore callee-saved registers. */
    if (yield)
        return lwp__yield_ret(rt, rc);
    return rc;
}

int LWP_QWait(void)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *cur;

    if (!rt)
        return lwp__no_rt();
    cur = rt->current;
    if (--cur->qpending >= 0)
        return LWP_SUCCESS;
    cur->qwaiting = 1;
    return lwp__block_inline(rt, LWP_SUCCESS);
}

int LWP_QSignal(PROCESS pid)
{
    struct lwp_pcb *p;
    int rc = lwp__handle(pid, &p);

    if (rc != LWP_SUCCESS)
        return rc;
    /* Only an LWP blocked in LWP_QWait has qpending -1 (or, suspended
     * there, -1 - LWP_SUSP_BIAS: it wakes when resumed). */
    if (++p->qpending != 0)
        return p->qpending == -LWP_SUSP_BIAS ? LWP_SUCCESS : LWP_ENOWAIT;
    lwp__make_runnable(lwp__rt, p);
    return LWP_SUCCESS;
}
