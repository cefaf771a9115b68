/* SPDX-License-Identifier: MIT */
/*
 * Building and sending packets: the common header (reference 2.3), framing
 * through the connection's security association, and the small packets the
 * runtime sends on its own (BUSY, NAK, saved replies).
 */
#include <errno.h>
#include <string.h>

#include "rpc_internal.h"

struct SStats rpc2_Sent, rpc2_MSent;

uint32_t rpc_lamport_tick(struct rpc_instance *r)
{
    return ++r->lamport;
}

void rpc_hdr_init(struct rpc_instance *r, const struct rpc_conn *c,
                  RPC2_PacketBuffer *pb, int32_t opcode)
{
    struct RPC2_PacketHeader *h = &pb->Header;
    RPC2_Unsigned body = h->BodyLength;

    memset(h, 0, sizeof *h);
    h->ProtoVersion = RPC2_PROTOVERSION;
    h->BodyLength = body;
    h->Opcode = opcode;
    h->Lamport = rpc_lamport_tick(r);
    if (c) {
        h->RemoteHandle = c->peer_handle;
        h->LocalHandle = c->handle;
        h->Flags = (int32_t)(((uint32_t)c->color & 0xffu) << 16);
        h->SubsysId = c->subsys;
        h->Uniquefier = c->uniquefier;
    }
}

static int sock_for(const struct rpc_instance *r, int family)
{
    return family == AF_INET6 && r->fd6 >= 0 ? r->fd6 : r->fd4;
}

/* Queue len bytes of r->pbuf for `to`, sealed by sa if it has a send key. */
static int queue_datagram(struct rpc_instance *r, struct sec_sa *sa, size_t len,
                          const struct sockaddr *to, socklen_t tolen)
{
    uint8_t *out = rpc_sendq_reserve(r, SEC_MAX_FRAME);
    ssize_t n = (ssize_t)len;

    if (sa && sa->send) {
        n = sec_seal(sa, r->pbuf, len, out, SEC_MAX_FRAME);
        if (n < 0) {
            return (int)n;
        }
    } else {
        memcpy(out, r->pbuf, len);
    }
    rpc_sendq_commit(r, sock_for(r, to->sa_family), (size_t)n, to, tolen);
    return 0;
}

static size_t serialise(struct rpc_instance *r, const RPC2_PacketBuffer *pb)
{
    size_t body = pb->Header.BodyLength;

    wire_hdr_put(r->pbuf, &pb->Header);
    memcpy(r->pbuf + WIRE_HDR, pb->Body, body);
    return WIRE_HDR + body;
}

int rpc_send_plain_to(struct rpc_instance *r, const RPC2_PacketBuffer *pb,
                      const struct sockaddr *to, socklen_t tolen)
{
    return queue_datagram(r, NULL, serialise(r, pb), to, tolen);
}

int rpc_send(struct rpc_instance *r, struct rpc_conn *c,
             const RPC2_PacketBuffer *pb)
{
    socklen_t tolen;
    const struct sockaddr *to = rpc_host_addr(c->host, &tolen);

    if (pb->Header.BodyLength > WIRE_MAX_SEND - WIRE_HDR) {
        return -EMSGSIZE;
    }
    return queue_datagram(r, &c->sa, serialise(r, pb), to, tolen);
}

/* The echo of the current request's TimeStamp advanced by how long the
 * server has held it (2.8): the client's RTT sample then excludes it. */
static uint32_t echo_stamp(const struct rpc_conn *c)
{
    return c->ts_echo + (uint32_t)(rpc_now() - c->req_time);
}

void rpc_send_busy(struct rpc_instance *r, struct rpc_conn *c)
{
    RPC2_PacketBuffer *pb = rpc_buf_alloc(0);

    if (!pb) {
        return;
    }
    rpc_hdr_init(r, c, pb, RPC2_BUSY);
    pb->Header.SeqNumber = c->next_seq - 1;
    pb->Header.TimeStamp = echo_stamp(c);
    if (rpc_send(r, c, pb) == 0) {
        rpc2_Sent.Busies++;
    }
    RPC2_FreeBuffer(&pb);
}

void rpc_send_nak(struct rpc_instance *r, struct rpc_conn *via,
                  const struct RPC2_PacketHeader *bad,
                  const struct sockaddr *to, socklen_t tolen)
{
    RPC2_PacketBuffer *pb;

    if (bad->Opcode == RPC2_NAKED || bad->LocalHandle == -1) {
        return; /* never NAK a NAK */
    }
    pb = rpc_buf_alloc(0);
    if (!pb) {
        return;
    }
    rpc_hdr_init(r, NULL, pb, RPC2_NAKED);
    pb->Header.RemoteHandle = bad->LocalHandle;
    pb->Header.LocalHandle = -1;
    pb->Header.SubsysId = bad->SubsysId;
    pb->Header.Uniquefier = bad->Uniquefier;
    /* A NAK answering a packet that came through a connection's SA goes
     * back through it; one answering plaintext is plaintext. */
    int rc = -1;
    if (via && via->sa.send) {
        rc = rpc_send(r, via, pb);
    } else if (to) {
        rc = rpc_send_plain_to(r, pb, to, tolen);
    }
    if (rc == 0) {
        rpc2_Sent.Naks++;
    }
    RPC2_FreeBuffer(&pb);
}

/* A retransmitted request whose reply was sent: the reply was lost, so the
 * path is lossy. Send it twice (each a fresh rpc2sec frame; Coda clients
 * drop the copy as a duplicate): a retry then fails only if both copies
 * are lost, which keeps a lossy but live peer from being declared dead. */
#define SAVED_REPLY_COPIES 2

void rpc_resend_saved(struct rpc_instance *r, struct rpc_conn *c, uint32_t ts)
{
    if (!c->saved) {
        return;
    }
    c->saved->Header.TimeStamp = ts;
    for (int i = 0; i < SAVED_REPLY_COPIES; i++) {
        if (rpc_send(r, c, c->saved) == 0) {
            rpc2_Sent.Retries++;
        }
    }
}
