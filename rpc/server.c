/* SPDX-License-Identifier: MIT */
/*
 * The server side of calls: the sequence rules for requests (reference
 * 2.12), routing to LWPs in RPC2_GetRequest or the hold queue (2.19), and
 * RPC2_GetRequest, RPC2_Enable, RPC2_SendResponse, RPC2_Export.
 *
 * Bounds: a connection holds at most one request (the hold queue has at
 * most one entry per connection); at most RPC_MAX_PENDING_BINDS (64) bind
 * requests wait for a free server LWP, each answered with BUSY meanwhile
 * (more get only the BUSY and are retried by their client); one saved
 * reply per connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_internal.h"

#define container_of(p, type, member) \
    ((type *)((char *)(p) - offsetof(type, member)))

bool rpc_subsys_exported(const struct rpc_instance *r, long subsys)
{
    for (const struct rpc_export *e = r->exports; e; e = e->next) {
        if (e->subsys == subsys) {
            return true;
        }
    }
    return false;
}

static bool filter_matches(const RPC2_RequestFilter *f, bool bind,
                           uint32_t subsys, RPC2_Handle h)
{
    if ((bind && f->OldOrNew == OLD) || (!bind && f->OldOrNew == NEW)) {
        return false;
    }
    switch (f->FromWhom) {
    case ONESUBSYS:
        return (long)subsys == f->ConnOrSubsys.SubsysId;
    case ONECONN:
        return !bind && h == f->ConnOrSubsys.WhichConn;
    default:
        return true;
    }
}

static void getreq_unlink(struct rpc_getreq *g)
{
    if (g->next) {
        g->next->prev = g->prev;
        g->prev->next = g->next;
        g->next = g->prev = NULL;
    }
}

static struct rpc_getreq *find_waiter(struct rpc_instance *r, bool bind,
                                      uint32_t subsys, RPC2_Handle h)
{
    struct rpc_getreq *ring = &r->getreq_ring;

    for (struct rpc_getreq *g = ring->next; g != ring; g = g->next) {
        if (filter_matches(&g->filter, bind, subsys, h)) {
            return g;
        }
    }
    return NULL;
}

static void hand_over(struct rpc_getreq *g, struct rpc_conn *c,
                      RPC2_PacketBuffer *pb)
{
    struct rpc_instance *r = rpc__inst;

    getreq_unlink(g);
    rpc_timer_cancel(&r->timers, &g->patience);
    g->pkt = pb;
    g->conn = c;
    g->why = RPC_WAKE_ARRIVED;
    LWP_NoYieldSignal(g);
}

void rpc_getreq_wake_all(struct rpc_instance *r, enum rpc_wake why)
{
    struct rpc_getreq *ring = &r->getreq_ring;

    while (ring->next != ring) {
        struct rpc_getreq *g = ring->next;
        getreq_unlink(g);
        rpc_timer_cancel(&r->timers, &g->patience);
        g->why = why;
        LWP_NoYieldSignal(g);
    }
}

static void hold(struct rpc_instance *r, struct rpc_conn *c,
                 RPC2_PacketBuffer *pb)
{
    c->held = pb;
    rpc_conn_state(r, c, S_REQINQUEUE);
    c->qnext = NULL;
    c->qprev = r->hold_tail;
    if (r->hold_tail) {
        r->hold_tail->qnext = c;
    } else {
        r->hold_head = c;
    }
    r->hold_tail = c;
    if (++r->nheld > (uint32_t)rpc2_HoldHWMark) {
        rpc2_HoldHWMark = r->nheld;
    }
    rpc2_PBHoldCount = r->nheld;
}

void rpc_hold_remove(struct rpc_instance *r, struct rpc_conn *c)
{
    if (!c->qprev && r->hold_head != c) {
        return; /* not queued */
    }
    if (c->qprev) {
        c->qprev->qnext = c->qnext;
    } else {
        r->hold_head = c->qnext;
    }
    if (c->qnext) {
        c->qnext->qprev = c->qprev;
    } else {
        r->hold_tail = c->qprev;
    }
    c->qnext = c->qprev = NULL;
    r->nheld--;
    rpc2_PBHoldCount = r->nheld;
}

static void accept_request(struct rpc_instance *r, struct rpc_conn *c,
                           RPC2_PacketBuffer *pb)
{
    struct rpc_getreq *g;
    uint64_t now = rpc_arrival(r);

    rpc2_Recvd.GoodRequests++;
    rpc_conn_keep_saved(r, c, NULL, now);
    c->next_seq = pb->Header.SeqNumber + 2;
    c->ts_echo = pb->Header.TimeStamp;
    c->req_time = now;
    c->last_used = now;
    c->delack_sent = false;
    if (!rpc_timer_armed(&c->delack)) {
        rpc_timer_arm(&r->timers, &c->delack, now + RPC_DELACK_US);
    }
    g = find_waiter(r, false, c->subsys, c->handle);
    if (g) {
        rpc_conn_state(r, c, S_PROCESS);
        hand_over(g, c, pb);
    } else {
        hold(r, c, pb);
    }
}

void rpc_server_packet(struct rpc_instance *r, struct rpc_conn *c,
                       RPC2_PacketBuffer *pb)
{
    int32_t d = (int32_t)(pb->Header.SeqNumber - c->next_seq);

    rpc2_Recvd.Requests++;
    if (rpc_conn_in(c, S_AWAITENABLE)) {
        /* F5: keep the first request until RPC2_Enable instead of
         * answering with a BUSY the client cannot use. */
        if (d == 0 && !c->held) {
            c->held = pb;
            c->ts_echo = pb->Header.TimeStamp;
            return;
        }
    } else if (rpc_conn_in(c, S_AWAITREQUEST)) {
        /* d == 2: F4a, the client timed out a call we never saw. */
        if (d == 0 || d == 2) {
            accept_request(r, c, pb);
            return;
        }
        if (d == -2) {
            rpc_resend_saved(r, c, pb->Header.TimeStamp);
        } else if (d > 2 && (d & 1) == 0) {
            rpc_send_nak(r, c, &pb->Header, NULL, 0);
        }
    } else if (rpc_conn_in(c, S_PROCESS | S_INSE | S_REQINQUEUE) && d == -2) {
        c->ts_echo = pb->Header.TimeStamp; /* the current request, again */
        c->req_time = rpc_now();
        rpc_send_busy(r, c);
    } else {
        r->drop_state++;
    }
    RPC2_FreeBuffer(&pb);
}

static struct rpc_conn *bind_conn_new(struct rpc_instance *r,
                                      const struct RPC2_PacketHeader *h,
                                      const struct sockaddr *from,
                                      socklen_t fromlen)
{
    struct rpc_conn *c = rpc_conn_new(r, RPC_ROLE_SERVER);

    if (!c) {
        return NULL;
    }
    if (rpc_conn_set_peer(r, c, from, fromlen) != 0) {
        rpc_conn_free(r, c);
        return NULL;
    }
    rpc_conn_state(r, c, S_STARTBIND);
    c->peer_handle = h->LocalHandle;
    c->uniquefier = h->Uniquefier;
    c->subsys = h->SubsysId;
    c->color = (h->Flags >> 16) & 0xff;
    c->ts_echo = h->TimeStamp;
    c->req_time = rpc_now();
    rpc_conn_bind_index(r, c);
    return c;
}

static bool queue_bind(struct rpc_instance *r, RPC2_PacketBuffer *init1,
                       const struct sockaddr *from, socklen_t fromlen)
{
    struct rpc_pending_bind *p;

    if (r->npbinds == RPC_MAX_PENDING_BINDS || fromlen > sizeof p->from) {
        return false;
    }
    p = &r->pbinds[r->npbinds++];
    p->init1 = init1;
    memcpy(&p->from, from, fromlen);
    p->fromlen = fromlen;
    p->since = rpc_now();
    return true;
}

enum rpc_offer rpc_offer_bind(struct rpc_instance *r,
                              RPC2_PacketBuffer *init1,
                              const struct sockaddr *from, socklen_t fromlen)
{
    const struct RPC2_PacketHeader *h = &init1->Header;
    struct rpc_getreq *g = find_waiter(r, true, h->SubsysId, 0);
    struct rpc_conn *c;

    if (!g) {
        /* Every server LWP is busy: keep the bind for the next one (the
         * caller answers BUSY either way, so the client waits quietly). */
        return queue_bind(r, init1, from, fromlen) ? RPC_OFFER_QUEUED
                                                   : RPC_OFFER_REFUSED;
    }
    c = bind_conn_new(r, h, from, fromlen);
    if (!c) {
        return RPC_OFFER_REFUSED;
    }
    hand_over(g, c, init1);
    return RPC_OFFER_HANDED;
}

bool rpc_bind_is_queued(const struct rpc_instance *r,
                        const struct RPC2_PacketHeader *h,
                        const struct sockaddr *from, socklen_t fromlen)
{
    for (uint32_t i = 0; i < r->npbinds; i++) {
        const struct rpc_pending_bind *p = &r->pbinds[i];
        if (p->init1->Header.LocalHandle == h->LocalHandle &&
            p->init1->Header.Uniquefier == h->Uniquefier &&
            p->fromlen == fromlen && memcmp(&p->from, from, fromlen) == 0) {
            return true;
        }
    }
    return false;
}

static void unqueue_bind(struct rpc_instance *r, uint32_t i)
{
    memmove(&r->pbinds[i], &r->pbinds[i + 1],
            (r->npbinds - i - 1) * sizeof r->pbinds[0]);
    r->npbinds--;
}

/* The oldest queued bind the filter accepts, as a new connection with its
 * INIT1 in *pb; binds older than half the keepalive (the client has nearly
 * given up) are dropped on the way. */
static struct rpc_conn *take_queued_bind(struct rpc_instance *r,
                                         const RPC2_RequestFilter *f,
                                         RPC2_PacketBuffer **pb)
{
    uint64_t now;

    if (r->npbinds == 0) {
        return NULL; /* every GetRequest asks: no clock read for nothing */
    }
    now = rpc_now();
    for (uint32_t i = 0; i < r->npbinds;) {
        struct rpc_pending_bind *p = &r->pbinds[i];
        if (now - p->since > r->retry.keepalive_us / 2) {
            RPC2_FreeBuffer(&p->init1);
            unqueue_bind(r, i);
            continue;
        }
        if (!filter_matches(f, true, p->init1->Header.SubsysId, 0)) {
            i++;
            continue;
        }
        struct rpc_conn *c = bind_conn_new(r, &p->init1->Header,
                                           (struct sockaddr *)&p->from,
                                           p->fromlen);
        if (!c) {
            return NULL;
        }
        *pb = p->init1;
        unqueue_bind(r, i);
        return c;
    }
    return NULL;
}

void rpc_pending_binds_fini(struct rpc_instance *r)
{
    while (r->npbinds) {
        RPC2_FreeBuffer(&r->pbinds[r->npbinds - 1].init1);
        r->npbinds--;
    }
}

static long check_filter(struct rpc_instance *r, const RPC2_RequestFilter *f)
{
    if ((f->FromWhom != ANY && f->FromWhom != ONECONN &&
         f->FromWhom != ONESUBSYS) ||
        (f->OldOrNew != OLD && f->OldOrNew != NEW && f->OldOrNew != OLDORNEW)) {
        return RPC2_BADFILTER;
    }
    if (f->FromWhom == ONESUBSYS &&
        !rpc_subsys_exported(r, f->ConnOrSubsys.SubsysId)) {
        return RPC2_BADFILTER;
    }
    if (f->FromWhom == ONECONN) {
        struct rpc_conn *c = rpc_conn_find(r, f->ConnOrSubsys.WhichConn);
        if (!c || !rpc_conn_is_server(c) ||
            !rpc_conn_in(c, S_AWAITREQUEST | S_REQINQUEUE)) {
            return RPC2_BADFILTER;
        }
    }
    return RPC2_SUCCESS;
}

static struct rpc_conn *take_held(struct rpc_instance *r,
                                  const RPC2_RequestFilter *f)
{
    for (struct rpc_conn *c = r->hold_head; c; c = c->qnext) {
        if (filter_matches(f, false, c->subsys, c->handle)) {
            rpc_hold_remove(r, c);
            rpc_conn_state(r, c, S_PROCESS);
            return c;
        }
    }
    return NULL;
}

static void fire_patience(struct rpc_timer *t)
{
    struct rpc_getreq *g = container_of(t, struct rpc_getreq, patience);

    getreq_unlink(g);
    g->why = RPC_WAKE_BOMB;
    LWP_NoYieldSignal(g);
}

/* Sleeps in the waiting ring until the listener hands over a packet. */
static enum rpc_wake wait_request(struct rpc_instance *r,
                                  struct rpc_getreq *g, uint64_t deadline)
{
    struct rpc_getreq *ring = &r->getreq_ring;

    if (r->stopping) {
        return RPC_WAKE_GONE;
    }
    g->why = RPC_WAKE_NONE;
    g->pkt = NULL;
    g->conn = NULL;
    g->next = ring;
    g->prev = ring->prev;
    ring->prev->next = g;
    ring->prev = g;
    if (deadline != UINT64_MAX) {
        g->patience.fire = fire_patience;
        rpc_timer_arm(&r->timers, &g->patience, deadline);
        rpc_listener_kick(r, deadline);
    }
    rpc_enter(r);
    while (g->why == RPC_WAKE_NONE) {
        LWP_WaitProcess(g);
    }
    rpc_leave(r);
    return g->why;
}

long RPC2_GetRequest(RPC2_RequestFilter *Filter, RPC2_Handle *ConnHandle,
                     RPC2_PacketBuffer **Request, struct timeval *Patience,
                     RPC2_GetKeys_func *GetKeys, long EncryptionTypeMask,
                     RPC2_AuthFail_func *AuthFail)
{
    struct rpc_instance *r = rpc__inst;
    RPC2_RequestFilter any = {.FromWhom = ANY, .OldOrNew = OLDORNEW};
    struct rpc_getreq g = {0};
    uint64_t deadline = UINT64_MAX;
    long rc = rpc_check_init();

    (void)EncryptionTypeMask;
    if (rc != RPC2_SUCCESS) {
        return rc;
    }
    if (!ConnHandle || !Request) {
        return RPC2_FAIL;
    }
    *Request = NULL;
    g.filter = Filter ? *Filter : any;
    rc = check_filter(r, &g.filter);
    if (rc != RPC2_SUCCESS) {
        return rc;
    }
    if (Patience) {
        uint64_t us = Patience->tv_sec < 0 || Patience->tv_usec < 0
                          ? 0
                          : (uint64_t)Patience->tv_sec * 1000000u +
                                (uint64_t)Patience->tv_usec;
        deadline = rpc_now() + us;
    }
    for (;;) {
        RPC2_PacketBuffer *pb = NULL;
        struct rpc_conn *c = take_held(r, &g.filter);
        if (c) {
            *Request = c->held;
            c->held = NULL;
            *ConnHandle = c->handle;
            return RPC2_SUCCESS;
        }
        c = take_queued_bind(r, &g.filter, &pb);
        if (c) {
            g.conn = c;
        } else {
            enum rpc_wake why = wait_request(r, &g, deadline);
            if (why == RPC_WAKE_BOMB) {
                return RPC2_TIMEOUT;
            }
            if (why != RPC_WAKE_ARRIVED) {
                return RPC2_FAIL;
            }
            pb = g.pkt;
        }
        if (pb->Header.RemoteHandle != 0) {
            *Request = pb;
            *ConnHandle = g.conn->handle;
            return RPC2_SUCCESS;
        }
        RPC2_Handle h = g.conn->handle;
        if (rpc_server_bind(r, g.conn, &pb, GetKeys, AuthFail) == 0) {
            *Request = pb;
            *ConnHandle = h;
            return RPC2_SUCCESS;
        }
        /* The bind failed and was cleaned up: keep waiting (as Coda). */
    }
}

long RPC2_Enable(RPC2_Handle ConnHandle)
{
    struct rpc_instance *r = rpc__inst;
    struct rpc_conn *c;
    long rc = rpc_conn_get(ConnHandle, &c);

    if (rc != RPC2_SUCCESS) {
        return rc;
    }
    if (!rpc_conn_is_server(c) || !rpc_conn_in(c, S_AWAITENABLE)) {
        return RPC2_FAIL;
    }
    rpc_conn_state(r, c, S_AWAITREQUEST);
    if (c->held) {
        RPC2_PacketBuffer *pb = c->held;
        c->held = NULL;
        accept_request(r, c, pb);
    }
    return RPC2_SUCCESS;
}

static void save_reply(struct rpc_instance *r, struct rpc_conn *c,
                       const RPC2_PacketBuffer *reply, uint64_t now)
{
    RPC2_PacketBuffer *copy = rpc_buf_copy_into(c->spare, reply);

    c->spare = NULL;

    if (copy) {
        copy->Header.Flags |= RPC2_RETRY;
    }
    rpc_conn_keep_saved(r, c, copy, now);
}

long RPC2_SendResponse(RPC2_Handle ConnHandle, RPC2_PacketBuffer *Reply)
{
    struct rpc_instance *r = rpc__inst;
    struct rpc_conn *c;
    long rc = rpc_conn_get(ConnHandle, &c);

    if (rc != RPC2_SUCCESS) {
        return rc;
    }
    if (!rpc_conn_is_server(c) || !rpc_conn_in(c, S_PROCESS)) {
        return RPC2_NOTWORKER;
    }
    rpc_conn_state(r, c, S_AWAITREQUEST);
    if (!Reply || Reply->Header.BodyLength > rpc_buf_room(Reply) ||
        Reply->Header.BodyLength > WIRE_MAX_SEND - WIRE_HDR) {
        return RPC2_FAIL;
    }
    c->delack_sent = true; /* answered: no unsolicited BUSY (timer lazy) */
    int32_t result = Reply->Header.ReturnCode;
    rpc_hdr_init(r, c, Reply, RPC2_REPLY);
    Reply->Header.ReturnCode = RPC2_S2RError(result);
    Reply->Header.SeqNumber = c->next_seq - 1;
    uint64_t now = rpc_now();
    Reply->Header.TimeStamp = c->ts_echo + (uint32_t)(now - c->req_time);
    rpc_send(r, c, Reply);
    save_reply(r, c, Reply, now);
    c->last_used = now;
    /* The last reply of the round (no request handed out or held is left
     * unanswered) leaves now, with the others queued since: a server LWP
     * that goes on into a long system call, outside IOMGR, does not hold
     * its reply back until the IO MANAGER's next pass. */
    if (r->nprocess == 0 && r->nheld == 0) {
        rpc_sendq_flush(r);
    }
    return RPC2_SUCCESS;
}
