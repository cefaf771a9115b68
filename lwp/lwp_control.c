/* SPDX-License-Identifier: MIT */
/*
 * Thread control, after Codezero's l4_thread_control: creation with
 * attributes (dormant, joinable, group), suspend and resume, recycle, and
 * waiting for an LWP's exit status.
 *
 * A suspended LWP carries LWP_XF_SUSP. If it is runnable it sits off the
 * run queue in state SUSPENDED; if it waits, it keeps waiting with its
 * count biased (LWP_SUSP_BIAS), so what it waited for is counted but
 * cannot wake it, and nothing is lost: resuming takes the bias off and
 * finishes a wait that completed meanwhile. The wake-up paths, hot for
 * everyone, thus know nothing of suspension.
 */
#include "lwp_internal.h"
#include "lwp_sched_inline.h"

#define CREATE_FLAGS                                                         \
    (LWP_CREATE_DORMANT | LWP_CREATE_JOINABLE | LWP_CREATE_SHARE_GROUP |    \
     LWP_CREATE_SHARED_STACK)

int LWP_CreateProcessAttr(const struct lwp_attr *attr, void (*ep)(void *),
                          void *parm, PROCESS *pid)
{
    static const struct lwp_attr defaults = LWP_ATTR_INIT;

    if (!lwp__rt)
        return lwp__no_rt();
    if (!attr)
        attr = &defaults;
    if (attr->flags & ~(unsigned int)CREATE_FLAGS)
        return LWP_EBADFLAGS;
    if ((attr->flags & LWP_CREATE_DORMANT) && !pid)
        return LWP_EBADARG;
    return lwp__create_attr(ep, attr->stacksize, attr->priority, parm,
                            attr->name, attr->flags, attr->group, pid);
}

int LWP_SuspendProcess(PROCESS pid)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *p;
    int rc = lwp__handle(pid, &p);

    if (rc != LWP_SUCCESS)
        return rc;
    if (p->xflags & LWP_XF_SUSP)
        return LWP_ESUSPENDED;
    p->xflags |= LWP_XF_SUSP;
    if (p->state == LWP_ST_WAITING) {
        if (p->qwaiting)
            p->qpending -= LWP_SUSP_BIAS;
        else
            p->waitcnt += LWP_SUSP_BIAS;
        return LWP_SUCCESS;
    }
    lwp__runq_remove(rt, p);
    p->state = LWP_ST_SUSPENDED;
    if (p != rt->current)
        return LWP_SUCCESS;
    return lwp__schedule(rt, p, LWP_SUCCESS);
}

/* A resumed LWP in LWP_QWait runs if a QSignal came meanwhile. */
static void finish_qwait(struct lwp_pcb *p)
{
    p->qpending += LWP_SUSP_BIAS;
    if (p->qpending >= 0)
        lwp__make_runnable(lwp__rt, p);
}

/* A resumed LWP waiting for events runs if enough were signalled
 * meanwhile: as the signal that completed it would have done, it leaves
 * its other events, and the first entry signalled counts as the one. */
static void finish_wait(struct lwp_pcb *p)
{
    p->waitcnt -= LWP_SUSP_BIAS;
    if (p->waitcnt > 0)
        return;
    for (int i = 0; i < p->eventcnt; i++)
        if (!p->nodes[i].addr) {
            p->wakevent = i + 1;
            break;
        }
    lwp__unlink_nodes(lwp__rt, p, NULL);
    lwp__make_runnable(lwp__rt, p);
}

int LWP_ResumeProcess(PROCESS pid)
{
    struct lwp_pcb *p;
    int rc = lwp__handle(pid, &p);

    if (rc != LWP_SUCCESS)
        return rc;
    if (!(p->xflags & LWP_XF_SUSP))
        return LWP_ENOTSUSPENDED;
    p->xflags &= (uint8_t)~LWP_XF_SUSP;
    if (p->state == LWP_ST_SUSPENDED)
        lwp__make_runnable(lwp__rt, p);
    else if (p->qwaiting)
        finish_qwait(p);
    else
        finish_wait(p);
    return LWP_SUCCESS;
}

/* Everything an LWP's run accumulated, gone; what identifies it stays. */
static void forget_run(struct lwp_runtime *rt, struct lwp_pcb *p,
                       void (*ep)(void *), void *parm)
{
    lwp__detach(rt, p);
    lwp__ctx_drop_all(rt, p);
    lwp__pcb_new_run(p);
    p->error = 0;
    p->ep = ep;
    p->afs_ep = NULL;
    p->parm = parm;
    p->xflags = (uint8_t)((p->xflags & LWP_XF_KEPT) | LWP_XF_SUSP);
    p->state = LWP_ST_SUSPENDED;
}

int LWP_RecycleProcess(PROCESS pid, void (*ep)(void *), void *parm)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *p;
    int rc = lwp__handle(pid, &p);

    if (rc != LWP_SUCCESS)
        return rc;
    if (!ep)
        return LWP_EBADARG;
    if (p == rt->main)
        return LWP_EMAINPROC;
    LWP_DEBUG("LWP_RecycleProcess \"%s\"", p->name);
    forget_run(rt, p, ep, parm);
    if (p != rt->current) {
        lwp__restart(rt, p);
        return LWP_SUCCESS;
    }
    /* Our own stack is cleared once we are off it. */
    rt->recycled = p;
    lwp__want_after_switch();
    (void)lwp__schedule(rt, p, 0);
    lwp__fatal("LWP_RecycleProcess", "a recycled LWP resumed its old run");
}

int LWP_WaitExit(PROCESS pid, int *status)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *p, *cur;
    struct lwp_joiner *self, **tail;
    int got;

    if (!rt)
        return lwp__no_rt();
    p = lwp__pcb_lookup_any(rt, pid);
    if (!p)
        return LWP_EBADPID;
    cur = rt->current;
    if (p == cur)
        return LWP_EWAITSELF;
    if (p->state == LWP_ST_ZOMBIE) {
        got = p->exit_status;
        lwp__pcb_release(rt, p);
    } else {
        self = &cur->join;
        for (tail = &p->joiners; *tail; tail = &(*tail)->next)
            ;
        self->next = NULL;
        self->waiter = cur;
        self->target = p;
        *tail = self;
        p->xflags |= LWP_XF_JOINERS;
        cur->joining = self;
        cur->xflags |= LWP_XF_JOINING;
        /* The exit signals the record's address, private to this wait. */
        while (self->target)
            (void)LWP_WaitProcess(self);
        got = self->status;
    }
    if (status)
        *status = got;
    return LWP_SUCCESS;
}

int LWP_GetGroup(PROCESS pid, int *group)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *p;

    if (!rt)
        return lwp__no_rt();
    p = lwp__pcb_lookup_any(rt, pid);
    if (!p)
        return LWP_EBADPID;
    if (!group)
        return LWP_EBADARG;
    *group = p->group;
    return LWP_SUCCESS;
}
