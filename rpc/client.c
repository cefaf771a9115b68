/* SPDX-License-Identifier: MIT */
/*
 * The client's reliable send (reference 2.10, 2.11) and RPC2_MakeRPC. The
 * caller sleeps once per call: the listener retransmits for it from the
 * retry timer and wakes it only with an outcome (a packet, NAK, death, or
 * its Patience running out), so a call costs one LWP switch each way.
 */
#include <errno.h>
#include <string.h>

#include "rpc_internal.h"

#define container_of(p, type, member) \
    ((type *)((char *)(p) - offsetof(type, member)))

static uint32_t send_stamp(const struct rpc_conn *c, uint64_t now)
{
    if (rpc_conn_is_server(c)) {
        return c->ts_echo + (uint32_t)(now - c->req_time);
    }
    return rpc_stamp(now);
}

static int transmit(struct rpc_instance *r, struct rpc_wait *w)
{
    struct rpc_conn *c = w->conn;

    w->req->Header.TimeStamp = send_stamp(c, rpc_now());
    if (w->sealed_plain) {
        socklen_t len;
        const struct sockaddr *to = rpc_host_addr(c->host, &len);
        return rpc_send_plain_to(r, w->req, to, len);
    }
    return rpc_send(r, c, w->req);
}

static uint64_t interval(struct rpc_instance *r, struct rpc_wait *w)
{
    uint32_t out = WIRE_HDR + w->req->Header.BodyLength;
    int64_t iv = rpc_retry_interval(&r->retry, w->retry,
                                    rpc_host_rto(w->conn->host, out, WIRE_HDR),
                                    0);
    return iv < 0 ? 0 : (uint64_t)iv;
}

static void arm(struct rpc_instance *r, struct rpc_timer *t, uint64_t due)
{
    rpc_timer_arm(&r->timers, t, due);
    rpc_listener_kick(r, due);
}

/* The waiter's next retransmission is at `due`: the connection's timer is
 * moved only if it would fire later than that. */
static void schedule_retry(struct rpc_instance *r, struct rpc_wait *w,
                           uint64_t due)
{
    struct rpc_timer *t = &w->conn->retry;

    w->retry_due = due;
    if (!rpc_timer_armed(t) || t->due > due) {
        arm(r, t, due);
    }
}

void rpc_fire_retry(struct rpc_timer *t)
{
    struct rpc_conn *c = container_of(t, struct rpc_conn, retry);
    struct rpc_wait *w = c->wait;
    struct rpc_instance *r = rpc__inst;
    uint64_t now = rpc_now();

    /* Left armed by a call that is over, or early for a later call's. */
    if (!w || w->why != RPC_WAKE_NONE ||
        rpc_timer_early(&r->timers, t, now, w->retry_due)) {
        return;
    }
    w->retry++;
    if (rpc_retry_interval(&r->retry, w->retry, 0, 0) < 0) {
        rpc_wait_wake(w, RPC_WAKE_DEAD);
        return;
    }
    w->req->Header.Flags |= RPC2_RETRY;
    w->req->Header.Lamport = rpc_lamport_tick(r);
    transmit(r, w);
    rpc2_Sent.Retries++;
    schedule_retry(r, w, now + interval(r, w));
}

static void fire_bomb(struct rpc_timer *t)
{
    rpc_wait_wake(container_of(t, struct rpc_wait, bomb_timer), RPC_WAKE_BOMB);
}

void rpc_wait_init(struct rpc_wait *w, struct rpc_conn *c,
                   RPC2_PacketBuffer *req)
{
    memset(w, 0, sizeof *w);
    w->conn = c;
    w->req = req;
    w->bomb_timer.fire = fire_bomb;
}

void rpc_wait_wake(struct rpc_wait *w, enum rpc_wake why)
{
    struct rpc_instance *r = rpc__inst;

    if (w->why != RPC_WAKE_NONE) {
        return; /* the first outcome wins (F3) */
    }
    w->why = why;
    /* The connection's retry timer stays armed (lazy): see rpc_conn. */
    rpc_timer_cancel(&r->timers, &w->bomb_timer);
    LWP_NoYieldSignal(w);
}

void rpc_wait_keepalive(struct rpc_instance *r, struct rpc_wait *w)
{
    /* A BUSY: the peer is alive and working. Wait the keepalive interval
     * without sending; the next timeout starts the schedule over. */
    w->retry = -1;
    schedule_retry(r, w, rpc_now() + interval(r, w));
}

enum rpc_wake rpc_send_reliably(struct rpc_instance *r, struct rpc_wait *w,
                                uint64_t bomb_us)
{
    uint64_t now = rpc_now();

    if (r->stopping) {
        return w->why = RPC_WAKE_GONE;
    }
    w->retry = 0;
    w->why = RPC_WAKE_NONE;
    w->conn->wait = w;
    transmit(r, w); /* a failed send is a lost packet: retried */
    schedule_retry(r, w, now + interval(r, w));
    if (bomb_us != UINT64_MAX) {
        arm(r, &w->bomb_timer, now + bomb_us);
    }
    rpc_enter(r);
    while (w->why == RPC_WAKE_NONE) {
        LWP_WaitProcess(w);
    }
    rpc_leave(r);
    w->conn->wait = NULL;
    return w->why;
}

static uint64_t timeval_us(const struct timeval *tv)
{
    if (tv->tv_sec < 0 || tv->tv_usec < 0) {
        return 0;
    }
    return (uint64_t)tv->tv_sec * 1000000u + (uint64_t)tv->tv_usec;
}

/* Waits for the connection to be free for a call. RPC2_SUCCESS with *cp
 * the connection in C_THINK, or the code to return. */
static long take_connection(struct rpc_instance *r, RPC2_Handle h,
                            long enqueue, struct rpc_conn **cp)
{
    for (;;) {
        struct rpc_conn *c = rpc_conn_find(r, h);
        if (!c) {
            return RPC2_NOCONNECTION;
        }
        if (!rpc_conn_is_client(c)) {
            return RPC2_FAIL; /* Coda waited for ever here */
        }
        if (rpc_conn_in(c, C_HARDERROR)) {
            return RPC2_FAIL;
        }
        if (rpc_conn_in(c, C_THINK)) {
            *cp = c;
            return RPC2_SUCCESS;
        }
        if (!enqueue) {
            return RPC2_CONNBUSY;
        }
        c->enq_waiters++;
        rpc_enter(r);
        LWP_WaitProcess(c);
        rpc_leave(r);
        /* c may be gone: look it up again by handle. */
        c = rpc_conn_find(r, h);
        if (c) {
            c->enq_waiters--;
        }
        if (r->stopping) {
            return RPC2_FAIL;
        }
    }
}

static long call_result(struct rpc_instance *r, struct rpc_conn *c,
                        struct rpc_wait *w, RPC2_PacketBuffer **Reply)
{
    switch (w->why) {
    case RPC_WAKE_ARRIVED:
        *Reply = w->pkt; /* the listener moved c to C_THINK, seq += 2 */
        return RPC2_SUCCESS;
    case RPC_WAKE_BOMB:
        c->next_seq += 2;
        rpc_conn_state(r, c, C_THINK);
        return RPC2_TIMEOUT;
    case RPC_WAKE_NAKED:
        rpc_conn_state(r, c, C_HARDERROR);
        return RPC2_NAKED;
    case RPC_WAKE_DEAD:
        rpc_conn_state(r, c, C_HARDERROR);
        return RPC2_DEAD;
    default:
        return RPC2_FAIL;
    }
}

long RPC2_MakeRPC(RPC2_Handle ConnHandle, RPC2_PacketBuffer *Request,
                  SE_Descriptor *SDesc, RPC2_PacketBuffer **Reply,
                  struct timeval *Patience, long EnqueueRequest)
{
    struct rpc_instance *r = rpc__inst;
    struct rpc_conn *c;
    struct rpc_wait w;
    long rc = rpc_check_init();

    if (rc != RPC2_SUCCESS) {
        return rc;
    }
    if (!Reply || !Request) {
        return RPC2_FAIL;
    }
    *Reply = NULL;
    if (Request->Header.BodyLength > rpc_buf_room(Request) ||
        Request->Header.BodyLength > WIRE_MAX_SEND - WIRE_HDR ||
        Request->Header.Opcode <= 0) {
        return RPC2_FAIL;
    }
    rc = take_connection(r, ConnHandle, EnqueueRequest, &c);
    if (rc != RPC2_SUCCESS) {
        return rc;
    }
    if (SDesc) {
        return RPC2_SEFAIL2; /* no side effects in this release */
    }
    rpc_conn_state(r, c, C_AWAITREPLY);
    rpc_hdr_init(r, c, Request, Request->Header.Opcode);
    Request->Header.SeqNumber = c->next_seq;
    rpc_wait_init(&w, c, Request);
    rpc_send_reliably(r, &w,
                      Patience ? timeval_us(Patience) : UINT64_MAX);
    rc = call_result(r, c, &w, Reply);
    c->last_used = rpc_now();
    if (c->enq_waiters) {
        LWP_NoYieldSignal(c);
    }
    return rc;
}
