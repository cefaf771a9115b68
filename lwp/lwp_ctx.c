/* SPDX-License-Identifier: MIT */
/*
 * Special contexts (<lwp/context.h>), after SunOS LWP: per-LWP buffers of
 * typed state, saved and restored around the switches of the LWPs that
 * use them.
 *
 * An LWP's buffers form a list sorted by cookie, so a switch walks the
 * lists of the two LWPs side by side and runs each type once, in the order
 * the types were defined. A switch gets here only when one of the two has
 * LWP_XF_CTX set (lwp__run_next).
 *
 * The predefined types (floating-point environment, errno) keep one more
 * copy, `shared`, for the LWPs without the type: the running state is the
 * running LWP's own when it uses the type and the shared one otherwise,
 * and a switch moves it between the buffers accordingly.
 *
 * The user's routines run with lwp__rt NULL and lwp__in_switch set, so any
 * library call they make fails at its "initialised?" check.
 */
#include <errno.h>
#include <string.h>

#include "arch/fpenv.h"
#include "lwp_internal.h"
#include "lwp_sched_inline.h"

struct lwp_ctxslot {
    struct lwp_ctxslot *next;
    int cookie;
    unsigned int size;
    unsigned char buf[] __attribute__((aligned(16)));
};

struct lwp_ctxtype {
    void (*save)(void *ctx, PROCESS old, PROCESS new_);
    void (*restore)(void *ctx, PROCESS old, PROCESS new_);
    void *shared;         /* predefined: the state of LWPs without it */
    unsigned int size;
    int optimize;
    struct lwp_pcb *last; /* optimised: whose state is in place */
};

/* ---- The predefined types: state moved between thread and buffer ---- */
/* Inlined into the switch, where the cookie is tested right away: called
 * out of line they made a switch of an lwp_fpset LWP 4 ns slower. */

static int predefined(int cookie)
{
    return cookie == LWP_CTX_FP || cookie == LWP_CTX_LIBC;
}

static inline __attribute__((always_inline)) void
state_save(int cookie, void *buf)
{
    if (cookie == LWP_CTX_FP)
        lwp__fpenv_save(buf);
    else
        memcpy(buf, &errno, sizeof(int));
}

static inline __attribute__((always_inline)) void
state_load(int cookie, const void *buf)
{
    if (cookie == LWP_CTX_FP)
        lwp__fpenv_load(buf);
    else
        memcpy(&errno, buf, sizeof(int));
}

/* ---- Errors ---- */

/* Where errors go when there is no calling LWP. */
static int error_outside;

static int fail(int le)
{
    if (lwp__rt)
        lwp__rt->current->error = le;
    else
        error_outside = le;
    return -1;
}

static int not_ready(void)
{
    return fail(lwp__in_switch ? LE_INSWITCH : LE_NOTINIT);
}

int lwp_geterr(void)
{
    return lwp__rt ? lwp__rt->current->error : error_outside;
}

/* ---- Types ---- */

static int add_type(struct lwp_runtime *rt, const struct lwp_ctxtype *t)
{
    if (rt->nctxtypes == rt->ctxtypecap) {
        int cap = rt->ctxtypecap ? rt->ctxtypecap * 2 : 8;
        struct lwp_ctxtype *n =
            realloc(rt->ctxtypes, (size_t)cap * sizeof(*n));
        if (!n)
            return -1;
        rt->ctxtypes = n;
        rt->ctxtypecap = cap;
    }
    rt->ctxtypes[rt->nctxtypes] = *t;
    return rt->nctxtypes++;
}

/* Cookies LWP_CTX_FP and LWP_CTX_LIBC, defined at the first call. */
static int have_predefined(struct lwp_runtime *rt)
{
    struct lwp_ctxtype fp = {0}, libc = {0};

    if (rt->nctxtypes > 0)
        return 0;
    fp.shared = rt->fp_shared;
    fp.size = LWP_CTX_FP_SIZE;
    libc.shared = &rt->errno_shared;
    libc.size = sizeof(int);
    if (add_type(rt, &fp) != LWP_CTX_FP || add_type(rt, &libc) != LWP_CTX_LIBC)
        return -1;
    return 0;
}

static struct lwp_ctxtype *type_of(struct lwp_runtime *rt, int cookie)
{
    if (have_predefined(rt) != 0 || cookie < 0 || cookie >= rt->nctxtypes)
        return NULL;
    return &rt->ctxtypes[cookie];
}

int lwp_ctxset(void (*save)(void *ctx, PROCESS old, PROCESS new_),
               void (*restore)(void *ctx, PROCESS old, PROCESS new_),
               unsigned int ctxsize, int optimize)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_ctxtype t = {0};
    int cookie;

    if (!rt)
        return not_ready();
    if (ctxsize == 0 || ctxsize > LWP_CTX_MAXSIZE)
        return fail(LE_INVALIDARG);
    if (have_predefined(rt) != 0)
        return fail(LE_NOROOM);
    t.save = save;
    t.restore = restore;
    t.size = ctxsize;
    t.optimize = optimize != 0;
    cookie = add_type(rt, &t);
    return cookie < 0 ? fail(LE_NOROOM) : cookie;
}

void lwp__ctx_term(struct lwp_runtime *rt)
{
    for (size_t s = 0; s < rt->nslabs; s++)
        for (size_t i = 0; i < LWP_PCB_PER_SLAB; i++) {
            struct lwp_ctxslot *c = rt->slabs[s][i].ctxs, *next;
            for (; c; c = next) {
                next = c->next;
                free(c);
            }
            rt->slabs[s][i].ctxs = NULL;
        }
    free(rt->ctxtypes);
    rt->ctxtypes = NULL;
    rt->nctxtypes = rt->ctxtypecap = 0;
    rt->ctx_lwps = 0;
    lwp__update_slow(rt);
}

/* ---- Per-LWP buffers ---- */

/* The handle routines are given (old is NULL when nobody used it last). */
static PROCESS pid_of(const struct lwp_pcb *p)
{
    return p ? lwp__pid(p) : NULL;
}

static struct lwp_ctxslot *slot_of(const struct lwp_pcb *p, int cookie)
{
    struct lwp_ctxslot *c = p->ctxs;

    while (c && c->cookie < cookie)
        c = c->next;
    return c && c->cookie == cookie ? c : NULL;
}

static void link_slot(struct lwp_pcb *p, struct lwp_ctxslot *slot)
{
    struct lwp_ctxslot **pp = &p->ctxs;

    while (*pp && (*pp)->cookie < slot->cookie)
        pp = &(*pp)->next;
    slot->next = *pp;
    *pp = slot;
    if (!(p->xflags & LWP_XF_CTX)) {
        p->xflags |= LWP_XF_CTX;
        lwp__rt->ctx_lwps++; /* switches now take the slow path */
        lwp__update_slow(lwp__rt);
    }
}

/* User routines run as in a switch: no library call can reach the
 * scheduler from them. */
static void begin_routines(void)
{
    lwp__in_switch = 1;
    lwp__rt = NULL;
}

static void end_routines(struct lwp_runtime *rt)
{
    lwp__rt = rt;
    lwp__in_switch = 0;
}

/* A predefined type's first buffer for p (the FP environment starts as a
 * copy of the shared one, errno at 0); the running LWP switches from the
 * shared state to its own at once. */
static void start_predefined(struct lwp_runtime *rt, struct lwp_ctxtype *t,
                             struct lwp_pcb *p, struct lwp_ctxslot *slot)
{
    struct lwp_pcb *cur = rt->current;
    int c = slot->cookie;

    if (c == LWP_CTX_FP) {
        if (p != cur && slot_of(cur, c))
            memcpy(slot->buf, t->shared, t->size);
        else
            state_save(c, slot->buf);
    }
    if (p == cur) {
        state_save(c, t->shared);
        state_load(c, slot->buf);
    }
}

/* The running LWP takes over an optimised type: the state in place is
 * saved for its previous user first. */
static void claim_optimised(struct lwp_runtime *rt, struct lwp_ctxtype *t,
                            int cookie)
{
    struct lwp_pcb *cur = rt->current, *last = t->last;
    struct lwp_ctxslot *ls = last ? slot_of(last, cookie) : NULL;

    if (ls && last != cur && t->save) {
        begin_routines();
        t->save(ls->buf, pid_of(last), pid_of(cur));
        end_routines(rt);
    }
    t->last = cur;
}

int lwp_ctxinit(PROCESS tid, int cookie)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_ctxtype *t;
    struct lwp_ctxslot *slot;
    struct lwp_pcb *p;

    if (!rt)
        return not_ready();
    t = type_of(rt, cookie);
    p = lwp__pcb_lookup(rt, tid);
    if (!t || !p)
        return fail(LE_INVALIDARG);
    if (slot_of(p, cookie))
        return fail(LE_INUSE);
    slot = calloc(1, sizeof(*slot) + t->size);
    if (!slot)
        return fail(LE_NOROOM);
    slot->cookie = cookie;
    slot->size = t->size;
    if (predefined(cookie))
        start_predefined(rt, t, p, slot);
    else if (t->optimize && p == rt->current)
        claim_optimised(rt, t, cookie);
    link_slot(p, slot);
    return 0;
}

int lwp_fpset(PROCESS tid)
{
    return lwp_ctxinit(tid, LWP_CTX_FP);
}

int lwp_libcset(PROCESS tid)
{
    return lwp_ctxinit(tid, LWP_CTX_LIBC);
}

/* p stops using the type of `slot`; no routine runs. */
static void drop_slot(struct lwp_runtime *rt, struct lwp_pcb *p,
                      struct lwp_ctxslot *slot)
{
    struct lwp_ctxtype *t = &rt->ctxtypes[slot->cookie];
    struct lwp_ctxslot **pp = &p->ctxs;

    if (predefined(slot->cookie) && p == rt->current)
        state_load(slot->cookie, t->shared);
    if (t->last == p)
        t->last = NULL;
    while (*pp != slot)
        pp = &(*pp)->next;
    *pp = slot->next;
    free(slot);
    if (!p->ctxs) {
        p->xflags &= (uint8_t)~LWP_XF_CTX;
        rt->ctx_lwps--;
        lwp__update_slow(rt);
    }
}

void lwp__ctx_drop_all(struct lwp_runtime *rt, struct lwp_pcb *p)
{
    while (p->ctxs)
        drop_slot(rt, p, p->ctxs);
}

/* The buffer of type `cookie` of LWP `tid`, or NULL after recording why. */
static struct lwp_ctxslot *find(PROCESS tid, int cookie)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *p;
    struct lwp_ctxslot *slot;

    if (!rt) {
        (void)not_ready();
        return NULL;
    }
    p = lwp__pcb_lookup(rt, tid);
    if (!p || !type_of(rt, cookie)) {
        (void)fail(LE_INVALIDARG);
        return NULL;
    }
    slot = slot_of(p, cookie);
    if (!slot)
        (void)fail(LE_NONEXIST);
    return slot;
}

int lwp_ctxremove(PROCESS tid, int cookie)
{
    struct lwp_ctxslot *slot = find(tid, cookie);

    if (!slot)
        return -1;
    drop_slot(lwp__rt, lwp__pcb_lookup(lwp__rt, tid), slot);
    return 0;
}

/* find() for memget/memset, which also need memory to copy. */
static struct lwp_ctxslot *find_mem(const void *mem, PROCESS tid, int ctx)
{
    if (lwp__rt && !mem) {
        (void)fail(LE_INVALIDARG);
        return NULL;
    }
    return find(tid, ctx);
}

/* The running LWP's predefined state lives in the thread, not its buffer. */
static int live_state(PROCESS tid, int cookie)
{
    return predefined(cookie) && tid == lwp__pid(lwp__rt->current);
}

int lwp_ctxmemget(void *mem, PROCESS tid, int ctx)
{
    struct lwp_ctxslot *slot = find_mem(mem, tid, ctx);

    if (!slot)
        return -1;
    if (live_state(tid, ctx))
        state_save(ctx, slot->buf);
    memcpy(mem, slot->buf, slot->size);
    return 0;
}

int lwp_ctxmemset(void *mem, PROCESS tid, int ctx)
{
    struct lwp_ctxslot *slot = find_mem(mem, tid, ctx);

    if (!slot)
        return -1;
    memcpy(slot->buf, mem, slot->size);
    if (live_state(tid, ctx))
        state_load(ctx, slot->buf);
    return 0;
}

/* ---- At a switch ---- */

/* A predefined type at a switch: the running state goes to the buffer of
 * the LWP leaving (or the shared one) and comes from that of the LWP
 * arriving (or the shared one). */
static void switch_predefined(struct lwp_runtime *rt, int cookie,
                              struct lwp_ctxslot *sa, struct lwp_ctxslot *sb)
{
    struct lwp_ctxtype *t = &rt->ctxtypes[cookie];

    state_save(cookie, sa ? sa->buf : t->shared);
    state_load(cookie, sb ? sb->buf : t->shared);
}

/* A user type's routines, run as the header says. */
static void switch_user(struct lwp_runtime *rt, int cookie,
                        struct lwp_ctxslot *sa, struct lwp_ctxslot *sb,
                        struct lwp_pcb *cur, struct lwp_pcb *next)
{
    struct lwp_ctxtype *t = &rt->ctxtypes[cookie];
    struct lwp_pcb *last = t->last;
    struct lwp_ctxslot *ls;

    if (!t->optimize) {
        if (sa && t->save)
            t->save(sa->buf, pid_of(cur), pid_of(next));
        if (sb && t->restore)
            t->restore(sb->buf, pid_of(cur), pid_of(next));
        return;
    }
    if (!sb || last == next)
        return;
    ls = last ? slot_of(last, cookie) : NULL;
    if (ls && t->save)
        t->save(ls->buf, pid_of(last), pid_of(next));
    if (t->restore)
        t->restore(sb->buf, pid_of(last), pid_of(next));
    t->last = next;
}

int lwp__ctx_switch(struct lwp_runtime *rt, struct lwp_pcb *cur,
                    struct lwp_pcb *next, int ret)
{
    struct lwp_ctxslot *a = cur->ctxs, *b = next->ctxs;
    int in_user = 0;

    while (a || b) {
        int c = !b || (a && a->cookie < b->cookie) ? a->cookie : b->cookie;
        struct lwp_ctxslot *sa = a && a->cookie == c ? a : NULL;
        struct lwp_ctxslot *sb = b && b->cookie == c ? b : NULL;

        if (predefined(c)) {
            switch_predefined(rt, c, sa, sb);
        } else {
            if (!in_user++)
                begin_routines();
            switch_user(rt, c, sa, sb, cur, next);
        }
        if (sa)
            a = a->next;
        if (sb)
            b = b->next;
    }
    if (in_user)
        end_routines(rt);
    return lwp__switch_to(rt, cur, next, ret, 1);
}
