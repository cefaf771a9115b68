/* SPDX-License-Identifier: MIT */
/*
 * The scheduler: run queues, dispatch, the context switch wrapper, and the
 * birth and death of LWPs.
 *
 * Each priority has a circular run queue whose head is the running LWP (or
 * the next to run). A yield advances the head past the running LWP, which
 * puts it at the tail; a newly runnable LWP is linked in just before the
 * head, which is the tail. This is exactly Coda's order.
 */
#include <string.h>
#include <time.h>


#include "fasttime/fasttime_internal.h"
#include "lwp_internal.h"
#include "lwp_sched_inline.h"

static int thresholds_set(const struct timeval *tv)
{
    return tv->tv_sec != 0 || tv->tv_usec != 0;
}

/* Out of line: only used while run_wait_threshold is set. */
void lwp__note_ready(struct lwp_pcb *p)
{
    FT_GetTimeOfDay(&p->last_ready, NULL);
    p->xflags |= LWP_XF_STAMPED;
}

/* ---- Work-time and run-wait reports (Coda's format) ---- */

static long usec_between(const struct timeval *from, const struct timeval *to)
{
    return (long)(to->tv_sec - from->tv_sec) * 1000000L +
           (long)(to->tv_usec - from->tv_usec);
}

static long threshold_usec(const struct timeval *tv)
{
    return (long)tv->tv_sec * 1000000L + (long)tv->tv_usec;
}

static void report(const struct timeval *now, struct lwp_pcb *p,
                   const char *what, long usec)
{
    time_t secs = now->tv_sec;
    struct tm lt;

    localtime_r(&secs, &lt);
    fprintf(stderr, "[ %02d:%02d:%02d ] ***LWP %s(%p) %s %ld secs %6ld usecs\n",
            lt.tm_hour, lt.tm_min, lt.tm_sec, p->name,
            (void *)lwp__pid(p), what, usec / 1000000L, usec % 1000000L);
    fflush(stderr);
}

static void check_work_time(struct lwp_runtime *rt, struct lwp_pcb *cur,
                            struct lwp_pcb *next)
{
    struct timeval now;

    FT_GetTimeOfDay(&now, NULL);
    if (thresholds_set(&last_context_switch) && rt->cont_sw_id == cur) {
        long worked = usec_between(&last_context_switch, &now);
        if (worked > threshold_usec(&cont_sw_threshold))
            report(&now, cur, "took too much cpu", worked);
    }
    last_context_switch = now;
    rt->cont_sw_id = next;
}

static void check_run_wait(struct lwp_pcb *next)
{
    struct timeval now;
    long waited;

    if (!thresholds_set(&next->last_ready))
        return;
    FT_GetTimeOfDay(&now, NULL);
    waited = usec_between(&next->last_ready, &now);
    if (waited > threshold_usec(&run_wait_threshold))
        report(&now, next, "run-wait too long", waited);
    lwp__unstamp(next);
}

static void trace_queues(struct lwp_runtime *rt, struct lwp_pcb *next)
{
    for (int i = 0; i < LWP_NPRIO; i++) {
        struct lwp_pcb *h = rt->runq[i], *p = h;
        int n = 0;
        if (h)
            do {
                n++;
                p = p->next;
            } while (p != h);
        printf("[Priority %d, runnable (%d):", i, n);
        if (h)
            do {
                printf(" \"%s\"", p->name);
                p = p->next;
            } while (p != h);
        puts("]");
    }
    printf("Dispatch %d [PCB at %p] \"%s\"\n", Cont_Sws, (void *)next,
           next->name);
}

/* Everything a dispatch may have to do besides picking and switching;
 * kept out of line so the common path stays short. */
void __attribute__((noinline, cold))
lwp__dispatch_slow(struct lwp_runtime *rt, struct lwp_pcb *cur,
                          struct lwp_pcb *next)
{
    if (LWP_TraceProcesses > 0)
        trace_queues(rt, next);
    if (lwp_debug)
        lwp__trace("dispatch from \"%s\" to \"%s\"", cur->name, next->name);
    if (thresholds_set(&cont_sw_threshold))
        check_work_time(rt, cur, next);
    if (thresholds_set(&run_wait_threshold))
        check_run_wait(next);
}

/* ---- Deadlock ---- */

void __attribute__((noreturn, noinline, cold))
lwp__deadlock(struct lwp_runtime *rt)
{
    printf("***LWP Abort: LWP_DispatchProcess: Possible deadlock, no "
           "runnable threads found\n");
    LWP_FOR_EACH_LIVE(rt, p, {
        printf("***LWP: \"%s\" (index %d, priority %d) ", p->name, p->index,
               p->priority);
        if (p->state == LWP_ST_SUSPENDED) {
            printf("is suspended\n");
            continue;
        }
        if (p->xflags & LWP_XF_SUSP)
            printf("is suspended and ");
        if (p->joining) {
            printf("waits for the exit of \"%s\"\n",
                   p->joining->target->name);
            continue;
        }
        if (p->qwaiting) {
            printf("waits in LWP_QWait\n");
            continue;
        }
        printf("waits for %d of events", lwp__events_needed(p));
        for (int i = 0; i < p->eventcnt; i++)
            if (p->nodes[i].addr)
                printf(" %p", p->nodes[i].addr);
        printf("\n");
    });
    fflush(stdout);
    exit(1);
}

/* ---- Out-of-line parts of the switch (see lwp_sched_inline.h) ---- */

int lwp__switch_hook;

/* Called on the resumed stack while lwp__switch_hook is set (by the
 * assembly switch, or by C after the ucontext and sanitizer switches): a
 * dead LWP's stack is freed, and the stack just left is protected again.
 * The flag stays set while stacks are protected. */
void lwp__after_switch_hook(void)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *z;
    int no_cut = lwp__no_cut;

    if (!rt) {
        lwp__switch_hook = 0;
        return;
    }
    lwp__no_cut = 1; /* munmap, free, mprotect */
    z = rt->zombie;
    if (z) {
        rt->zombie = NULL;
        lwp__stack_put(rt, z);
        lwp__bury(rt, z, rt->zombie_kept);
    }
    z = rt->recycled;
    if (z) {
        rt->recycled = NULL;
        lwp__restart(rt, z);
    }
    if (rt->protect && rt->last_from && rt->last_from->state != LWP_ST_FREE)
        lwp__protect(rt, rt->last_from, 1);
    lwp__switch_hook = rt->protect;
    lwp__no_cut = no_cut;
}

/* lwp__schedule's rare cases, in full. */
int __attribute__((noinline, cold))
lwp__schedule_slow(struct lwp_runtime *rt, struct lwp_pcb *cur, int ret)
{
    struct lwp_pcb *next;

    if (cur->state != LWP_ST_DEAD) {
        char *sp = lwp__sp_here();
        if (sp < (char *)cur->canary && cur != rt->main)
            lwp__sp_overflowed(rt, cur, sp);
        if (*cur->canary != 0)
            lwp__canary_damaged(rt, cur, "");
    }
    if (!rt->runmask && rt->on_idle)
        rt->on_idle();
    if (!rt->runmask)
        lwp__deadlock(rt);
    Cont_Sws++;
    next = lwp__next_runnable(rt);
    if (lwp__slow_dispatch_wanted())
        lwp__dispatch_slow(rt, cur, next);
    if (next == cur)
        return ret;
    /* One byte in each PCB's first line, which the switch reads anyway. */
    if ((cur->xflags | next->xflags) & LWP_XF_CTX)
        return lwp__ctx_switch(rt, cur, next, ret);
    return lwp__switch_to(rt, cur, next, ret, 1);
}

int lwp__yield_ret(struct lwp_runtime *rt, int ret)
{
    return lwp__yield_inline(rt, ret);
}

void lwp__block(struct lwp_runtime *rt)
{
    (void)lwp__block_inline(rt, 0);
}

int LWP_DispatchProcess(void)
{
    struct lwp_runtime *rt = lwp__rt;

    if (lwp_unlikely(!rt))
        return lwp__no_rt();
    return lwp__yield_inline(rt, LWP_SUCCESS);
}

/* ---- Birth ---- */

void lwp__start(void *arg)
{
    struct lwp_pcb *self = arg;

    lwp__first_arrival();
    if (self->ep)
        self->ep(self->parm);
    else
        self->afs_ep(self->parm); /* its result is dropped, as OpenAFS did */
    lwp__exit_current(lwp__rt, 0);
}

static size_t round_stack(size_t want, size_t page)
{
    if (want < LWP_MINSTACK)
        want = LWP_MINSTACK;
    return (want + page - 1) & ~(page - 1);
}

static int create_checks(int has_ep, int stacksize, int priority)
{
    if (!lwp__rt)
        return lwp__no_rt();
    if (!has_ep || stacksize < 0)
        return LWP_EBADARG;
    if (priority < 0 || priority > LWP_MAX_PRIORITY)
        return LWP_EBADPRI;
    if ((long)stacksize > LWP_MAXSTACK)
        return LWP_ENOMEM;
    return LWP_SUCCESS;
}

/* Inlined into every entry point: creation is a hot path, and the
 * attribute flags are constants for the plain ones. */
static inline __attribute__((always_inline)) int
create(void (*ep)(void *), void *(*afs_ep)(void *), int stacksize,
       int priority, void *parm, const char *name, PROCESS *pid,
       unsigned int flags, const int *group)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *p;
    PROCESS handle;
    int rc = create_checks(ep || afs_ep, stacksize, priority);

    if (rc != LWP_SUCCESS)
        return rc;
    LWP_DEBUG("LWP_CreateProcess \"%s\"", name ? name : "");
    p = lwp__pcb_alloc(rt);
    if (!p)
        return LWP_ENOMEM;
    if (lwp__pcb_set_name(p, name) != 0)
        goto fail;
    if (flags & LWP_CREATE_SHARED_STACK) {
        p->xflags = LWP_XF_SHARED;
        if (lwp__shared_get(rt, p, round_stack((size_t)stacksize,
                                               rt->pagesize)) != 0)
            goto fail;
    } else if (lwp__stack_get(rt, p, round_stack((size_t)stacksize,
                                                 rt->pagesize))) {
        goto fail;
    }
    p->priority = (uint8_t)priority;
    p->ep = ep;
    p->afs_ep = afs_ep;
    p->parm = parm;
    p->index = lwp_nextindex++;
    p->group = group ? *group : rt->current->group;
    if (flags & LWP_CREATE_JOINABLE)
        p->xflags |= LWP_XF_JOINABLE;
    /* A shared-stack LWP's first frame is built when it first runs. */
    if (!(flags & LWP_CREATE_SHARED_STACK))
        lwp__arch_make(&p->ctx, p->stack_lo, p->stack_size, lwp__start, p);
    if (flags & LWP_CREATE_DORMANT) {
        p->xflags |= LWP_XF_SUSP;
        p->state = LWP_ST_SUSPENDED;
        *pid = lwp__pid(p);
        return LWP_SUCCESS;
    }
    lwp__make_runnable(rt, p);
    handle = lwp__pid(p); /* p may be freed and reused by the time we run */
    (void)lwp__yield_inline(rt, 0);
    /* After the new LWP has run, as Coda does. */
    if (pid)
        *pid = handle;
    return LWP_SUCCESS;
fail:
    lwp__pcb_release(rt, p);
    return LWP_ENOMEM;
}

int LWP_CreateProcess(void (*ep)(void *), int stacksize, int priority,
                      void *parm, const char *name, PROCESS *pid)
{
    return create(ep, NULL, stacksize, priority, parm, name, pid, 0, NULL);
}

int lwp__create(void (*ep)(void *), void *(*afs_ep)(void *), int stacksize,
                int priority, void *parm, const char *name, PROCESS *pid)
{
    return create(ep, afs_ep, stacksize, priority, parm, name, pid, 0, NULL);
}

int lwp__create_attr(void (*ep)(void *), int stacksize, int priority,
                     void *parm, const char *name, unsigned int flags,
                     int group, PROCESS *pid)
{
    return create(ep, NULL, stacksize, priority, parm, name, pid, flags,
                  flags & LWP_CREATE_SHARE_GROUP ? &group : NULL);
}

/* The entry point of a recycled LWP starts on a cleared stack. */
void lwp__restart(struct lwp_runtime *rt, struct lwp_pcb *p)
{
    if (p->xflags & LWP_XF_SHARED) {
        lwp__shared_restart(rt, p);
        return;
    }
    lwp__stack_clear(rt, p);
    lwp__arch_make(&p->ctx, p->stack_lo, p->stack_size, lwp__start, p);
    if (rt->protect)
        lwp__protect(rt, p, 1);
}

/* ---- Death ---- */

/* p leaves the joiner list of the LWP whose exit it waits for. */
static void leave_joiners(struct lwp_pcb *p)
{
    struct lwp_pcb *t = p->joining->target;
    struct lwp_joiner **pp = &t->joiners;

    while (*pp != p->joining)
        pp = &(*pp)->next;
    *pp = p->joining->next;
    if (!t->joiners)
        t->xflags &= (uint8_t)~LWP_XF_JOINERS;
    p->joining = NULL;
    p->xflags &= (uint8_t)~LWP_XF_JOINING;
}

/* Take p out of every queue and event list; it must not be running. */
void lwp__detach(struct lwp_runtime *rt, struct lwp_pcb *p)
{
    if (rt->on_destroy)
        rt->on_destroy(p);
    if (p->state == LWP_ST_READY)
        lwp__runq_remove(rt, p);
    else if (p->state == LWP_ST_WAITING)
        lwp__unlink_nodes(rt, p, NULL);
    if (lwp_unlikely(p->xflags & LWP_XF_JOINING))
        leave_joiners(p);
    if (lwp_unlikely(p->xflags & LWP_XF_UNDO))
        lwp__undo_wait(p); /* after unlinking: the module may signal */
}

/* Every LWP in LWP_WaitExit on p gets `status`, in the order they began
 * to wait. */
static void wake_joiners(struct lwp_pcb *p, int status)
{
    struct lwp_joiner *j = p->joiners, *next;

    p->joiners = NULL;
    p->xflags &= (uint8_t)~LWP_XF_JOINERS;
    for (; j; j = next) {
        next = j->next; /* j may be reused once its waiter runs */
        j->target = NULL;
        j->status = status;
        j->waiter->joining = NULL;
        j->waiter->xflags &= (uint8_t)~LWP_XF_JOINING;
        (void)LWP_NoYieldSignal(j);
    }
}

int lwp__end(struct lwp_runtime *rt, struct lwp_pcb *p, int status)
{
    unsigned int xf;

    lwp__detach(rt, p);
    if (lwp_unlikely(p->xflags & LWP_XF_CTX))
        lwp__ctx_drop_all(rt, p);
    xf = p->xflags;
    p->state = LWP_ST_DEAD; /* xflags are cleared with the PCB */
    if (lwp_likely(!(xf & (LWP_XF_JOINABLE | LWP_XF_JOINERS))))
        return 0;
    p->exit_status = status;
    if (xf & LWP_XF_JOINERS) {
        wake_joiners(p, status);
        return 0; /* collected by its waiters */
    }
    return 1;
}

void lwp__bury(struct lwp_runtime *rt, struct lwp_pcb *p, int keep)
{
    if (keep)
        p->state = LWP_ST_ZOMBIE;
    else
        lwp__pcb_release(rt, p);
}

void lwp__exit_current(struct lwp_runtime *rt, int status)
{
    struct lwp_pcb *self = rt->current;

    LWP_DEBUG("LWP \"%s\" exits", self->name);
    /* The next LWP frees our stack once we are off it. */
    rt->zombie_kept = lwp__end(rt, self, status);
    rt->zombie = self;
    lwp__want_after_switch();
    (void)lwp__schedule(rt, self, 0);
    lwp__fatal("LWP_DestroyProcess", "a dead LWP was resumed");
}

void LWP_ExitProcess(int status)
{
    /* The main LWP runs on the thread's own stack and must stay to call
     * LWP_TerminateProcessSupport: it cannot end. */
    if (lwp__rt && lwp__rt->current != lwp__rt->main)
        lwp__exit_current(lwp__rt, status);
}

int LWP_DestroyProcess(PROCESS pid)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *p;
    int keep;

    if (!rt)
        return lwp__no_rt();
    p = lwp__pcb_lookup_any(rt, pid);
    if (!p)
        return LWP_EBADPID;
    if (p == rt->main)
        return LWP_EMAINPROC; /* as LWP_ExitProcess: it cannot end */
    LWP_DEBUG("LWP_DestroyProcess \"%s\"", p->name);
    if (p->state == LWP_ST_ZOMBIE) {
        lwp__pcb_release(rt, p);
        return LWP_SUCCESS;
    }
    if (p == rt->current)
        lwp__exit_current(rt, LWP_EXIT_DESTROYED);
    keep = lwp__end(rt, p, LWP_EXIT_DESTROYED);
    lwp__stack_put(rt, p);
    lwp__bury(rt, p, keep);
    return LWP_SUCCESS;
}
