/* SPDX-License-Identifier: MIT */
/*
 * The listener LWP: waits on the socket(s) through IOMGR, drains every
 * ready datagram in recvmmsg batches, runs expired timers after each batch
 * (F12), and classifies each packet (reference 2.12, 2.21) before anything
 * acts on it. Bad packets are dropped and counted.
 */
#define _GNU_SOURCE /* recvmmsg */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <lwp/iomgr.h>

#include "rpc_internal.h"

struct RStats rpc2_Recvd, rpc2_MRecvd;

#define LISTENER_STACK 65536

static void to_host_order(RPC2_PacketBuffer *pb)
{
    uint8_t raw[WIRE_HDR];

    memcpy(raw, &pb->Header, WIRE_HDR);
    wire_hdr_get(raw, &pb->Header);
}

static bool waiting(const struct rpc_conn *c)
{
    return c->wait && c->wait->why == RPC_WAKE_NONE;
}

static void rtt_sample(struct rpc_instance *r, struct rpc_conn *c,
                       const RPC2_PacketBuffer *pb, uint64_t now)
{
    uint32_t ts = pb->Header.TimeStamp;
    int32_t obs = (int32_t)(rpc_stamp(now) - ts);

    if (ts != 0 && obs > 0 && c->wait) {
        /* The arrival stamp serves as "now": one clock read per packet. */
        rpc_host_sample(c->host, c->handle, (uint32_t)obs,
                        WIRE_HDR + c->wait->req->Header.BodyLength,
                        (uint32_t)pb->Prefix.LengthOfPacket,
                        &pb->Prefix.RecvStamp);
    }
}

static void deliver(struct rpc_conn *c, RPC2_PacketBuffer *pb)
{
    c->wait->pkt = pb;
    rpc_wait_wake(c->wait, RPC_WAKE_ARRIVED);
}

/* Packets for a client connection. Returns true if pb was taken. */
static bool client_packet(struct rpc_instance *r, struct rpc_conn *c,
                          RPC2_PacketBuffer *pb, uint64_t now)
{
    const struct RPC2_PacketHeader *h = &pb->Header;

    switch (h->Opcode) {
    case RPC2_BUSY:
        rpc2_Recvd.Busies++;
        if (waiting(c) &&
            ((rpc_conn_in(c, C_AWAITREPLY) && h->SeqNumber == c->next_seq + 1) ||
             (rpc_conn_in(c, C_AWAITINIT2) && h->SeqNumber == UINT32_MAX))) {
            rpc2_Recvd.GoodBusies++;
            rtt_sample(r, c, pb, now);
            rpc_wait_keepalive(r, c->wait);
        }
        return false;
    case RPC2_REPLY:
        rpc2_Recvd.Replies++;
        if (!waiting(c) || !rpc_conn_in(c, C_AWAITREPLY) ||
            h->SeqNumber != c->next_seq + 1) {
            return false;
        }
        rpc2_Recvd.GoodReplies++;
        rtt_sample(r, c, pb, now);
        pb->Header.ReturnCode = RPC2_R2SError(pb->Header.ReturnCode);
        c->next_seq += 2;
        rpc_conn_state(r, c, C_THINK);
        deliver(c, pb);
        return true;
    case RPC2_INIT2:
        if (!waiting(c) || !rpc_conn_in(c, C_AWAITINIT2)) {
            return false;
        }
        rtt_sample(r, c, pb, now);
        deliver(c, pb);
        return true;
    case RPC2_INIT4:
        if (!waiting(c) || !rpc_conn_in(c, C_AWAITINIT4)) {
            return false;
        }
        rtt_sample(r, c, pb, now);
        deliver(c, pb);
        return true;
    default:
        return false;
    }
}

static bool is_init1(int32_t op)
{
    return op <= RPC2_INIT1OPENKIMONO && op >= RPC2_INIT1SECURE;
}

static void nak_for(struct rpc_instance *r, struct rpc_conn *via,
                    const RPC2_PacketBuffer *pb, const struct sockaddr *from,
                    socklen_t fromlen)
{
    rpc_send_nak(r, via, &pb->Header, from, fromlen);
}

/* A packet for connection c (decrypted through its SA, or an allowed
 * plaintext one). Returns true if pb was taken. */
static bool conn_packet(struct rpc_instance *r, struct rpc_conn *c,
                        RPC2_PacketBuffer *pb, const struct sockaddr *from,
                        socklen_t fromlen)
{
    const struct RPC2_PacketHeader *h = &pb->Header;
    uint64_t now = rpc_arrival(r);

    if (rpc_conn_in(c, rpc_conn_is_client(c) ? C_HARDERROR : S_HARDERROR)) {
        nak_for(r, c, pb, from, fromlen);
        return false;
    }
    if (h->LocalHandle == -1 || h->Opcode == RPC2_NAKED) {
        rpc2_Recvd.Naks++;
        if (rpc_conn_is_client(c) && waiting(c) &&
            rpc_conn_in(c, C_AWAITREPLY | C_AWAITINIT2)) {
            rpc_conn_state(r, c, C_HARDERROR);
            rpc_wait_wake(c->wait, RPC_WAKE_NAKED);
        }
        return false;
    }
    rpc_host_heard(c->host, &pb->Prefix.RecvStamp);
    if (h->Lamport >= r->lamport) {
        r->lamport = h->Lamport + 1;
    }
    if (is_init1(h->Opcode)) {
        nak_for(r, c, pb, from, fromlen);
        return false;
    }
    if (rpc_conn_is_client(c)) {
        return client_packet(r, c, pb, now);
    }
    if (h->Opcode == RPC2_INIT3) {
        if (rpc_conn_in(c, S_AWAITINIT3)) {
            rpc_deliver_init3(r, c, pb);
            return true;
        }
        rpc_resend_saved(r, c, h->TimeStamp);
        return false;
    }
    if (h->Opcode <= 0) {
        return false;
    }
    rpc_server_packet(r, c, pb);
    return true;
}

static void busy_for_init1(struct rpc_instance *r, const RPC2_PacketBuffer *in,
                           const struct sockaddr *from, socklen_t fromlen)
{
    RPC2_PacketBuffer *pb = rpc_buf_alloc(0);

    if (!pb) {
        return;
    }
    pb->Header = in->Header;
    pb->Header.RemoteHandle = in->Header.LocalHandle;
    pb->Header.LocalHandle = 0;
    pb->Header.Opcode = RPC2_BUSY;
    pb->Header.Lamport = rpc_lamport_tick(r);
    pb->Header.SeqNumber = UINT32_MAX; /* -1: K4, F5 */
    pb->Header.BodyLength = 0;
    if (rpc_send_plain_to(r, pb, from, fromlen) == 0) {
        rpc2_Sent.Busies++;
    }
    RPC2_FreeBuffer(&pb);
}

/* A plaintext INIT1. Returns true if pb was taken. */
static bool init1_packet(struct rpc_instance *r, RPC2_PacketBuffer *pb,
                         const struct sockaddr *from, socklen_t fromlen)
{
    struct wire_init1 in;
    struct rpc_host *host;
    struct rpc_conn *dup;
    bool taken = false;

    if (!is_init1(pb->Header.Opcode) ||
        wire_init1_get(pb->Body, pb->Header.BodyLength, RPC_MAX_IDENT,
                       &in) != 0) {
        r->drop_bad++;
        return false;
    }
    /* rpc2sec only: a legacy or version-0 client gets no answer (3.13). */
    if (!(pb->Header.Flags & RPC2SEC_CAPABLE) || in.sec_version < SEC_VERSION) {
        r->drop_bad++;
        return false;
    }
    host = rpc_host_get(&r->hosts, from, fromlen);
    if (!host) {
        return false;
    }
    dup = rpc_conn_find_bind(r, host, pb->Header.LocalHandle,
                             pb->Header.Uniquefier);
    if (dup || rpc_bind_is_queued(r, &pb->Header, from, fromlen)) {
        /* A retransmission: say we are working on it (F5: -1 for every
         * level); INIT2 is retransmitted by the binding LWP itself. */
        if (!dup || rpc_conn_in(dup, S_STARTBIND)) {
            busy_for_init1(r, pb, from, fromlen);
        }
    } else if (!rpc_subsys_exported(r, (long)pb->Header.SubsysId)) {
        rpc_send_nak(r, NULL, &pb->Header, from, fromlen); /* F13 */
    } else {
        enum rpc_offer o = rpc_offer_bind(r, pb, from, fromlen);
        taken = o != RPC_OFFER_REFUSED;
        if (o != RPC_OFFER_HANDED) {
            busy_for_init1(r, pb, from, fromlen); /* queued, or no room */
        }
    }
    rpc_host_put(&r->hosts, host);
    return taken;
}

/* The server's INIT2 is sealed with the key derived from its secret: if
 * it fails to open (twice: one could be forged), the secrets differ. Fail
 * the bind now rather than after the time bomb. */
static void note_bad_init2(struct rpc_conn *c)
{
    if (rpc_conn_is_client(c) && rpc_conn_in(c, C_AWAITINIT2) && waiting(c) &&
        ++c->bad_init2 >= RPC_BAD_INIT2_LIMIT) {
        rpc_wait_wake(c->wait, RPC_WAKE_BADKEY);
    }
}

/* Decrypts or copies the datagram into a fresh buffer whose Header+Body
 * hold it in wire order; NULL if it is dropped. *cp: the SA's connection. */
static RPC2_PacketBuffer *open_datagram(struct rpc_instance *r,
                                        const uint8_t *d, size_t len,
                                        struct rpc_conn **cp)
{
    uint32_t spi = sec_frame_spi(d, len);
    RPC2_PacketBuffer *pb = rpc_buf_alloc(len);
    ssize_t n;

    *cp = NULL;
    if (!pb) {
        return NULL;
    }
    if (!spi) {
        memcpy(&pb->Header, d, len);
        n = (ssize_t)len;
    } else {
        struct rpc_conn *c = rpc_conn_find(r, (RPC2_Handle)spi);
        if (!c || !c->sa.recv) {
            r->drop_spi++; /* unknown SPI, or no receive key (F7) */
            RPC2_FreeBuffer(&pb);
            return NULL;
        }
        n = sec_open(&c->sa, d, len, (uint8_t *)&pb->Header,
                     WIRE_HDR + rpc_buf_room(pb));
        if (n < 0) {
            r->drop_crypto++;
            note_bad_init2(c);
            RPC2_FreeBuffer(&pb);
            return NULL;
        }
        pb->Prefix.sa = (struct security_association *)&c->sa;
        *cp = c;
    }
    if (wire_check_datagram((const uint8_t *)&pb->Header, (size_t)n) != 0) {
        r->drop_bad++; /* runt, SFTP, other protocol, bad BodyLength */
        RPC2_FreeBuffer(&pb);
        return NULL;
    }
    pb->Prefix.LengthOfPacket = (long)n;
    to_host_order(pb);
    return pb;
}

void rpc_handle_datagram(struct rpc_instance *r, const uint8_t *d, size_t len,
                         const struct sockaddr *from, socklen_t fromlen)
{
    struct rpc_conn *via, *c;
    RPC2_PacketBuffer *pb;
    bool taken = false;

    rpc2_Recvd.Total++;
    rpc2_Recvd.Bytes += (unsigned long)len;
    pb = open_datagram(r, d, len, &via);
    if (!pb) {
        rpc2_Recvd.Bogus++;
        return;
    }
    if (r->in_batch) {
        pb->Prefix.RecvStamp = r->batch_stamp;
    } else {
        FT_GetTimeOfDay(&pb->Prefix.RecvStamp, NULL);
    }
    if (pb->Header.RemoteHandle == 0) {
        taken = !via && init1_packet(r, pb, from, fromlen);
    } else if (via) {
        if (pb->Header.RemoteHandle == via->handle &&
            rpc_conn_set_peer(r, via, from, fromlen) == 0) {
            taken = conn_packet(r, via, pb, from, fromlen);
        }
    } else if (!(c = rpc_conn_find(r, pb->Header.RemoteHandle))) {
        nak_for(r, NULL, pb, from, fromlen);
    } else if (!c->sa.recv ||
               (rpc_conn_in(c, C_AWAITINIT2) && rpc_conn_is_client(c) &&
                (pb->Header.Opcode == RPC2_INIT2 ||
                 pb->Header.Opcode == RPC2_NAKED))) {
        /* Plaintext reaches a connection only before it has a receive key,
         * or as a refusal/NAK of its bind (3.9). */
        taken = conn_packet(r, c, pb, from, fromlen);
    } else {
        r->drop_state++;
    }
    if (!taken) {
        RPC2_FreeBuffer(&pb);
    }
}

int rpc_rx_init(struct rpc_instance *r)
{
    r->rbuf = malloc(sizeof *r->rbuf * RPC_RECV_BATCH);
    r->rmsg = calloc(RPC_RECV_BATCH, sizeof *r->rmsg);
    if (!r->rbuf || !r->rmsg) {
        rpc_rx_fini(r);
        return -1;
    }
    for (int i = 0; i < RPC_RECV_BATCH; i++) {
        r->riov[i].iov_base = r->rbuf[i];
        r->riov[i].iov_len = SEC_MAX_FRAME + 1;
        r->rmsg[i].msg_hdr.msg_iov = &r->riov[i];
        r->rmsg[i].msg_hdr.msg_iovlen = 1;
        r->rmsg[i].msg_hdr.msg_name = &r->raddr[i];
    }
    return 0;
}

void rpc_rx_fini(struct rpc_instance *r)
{
    free(r->rbuf);
    free(r->rmsg);
    r->rbuf = NULL;
    r->rmsg = NULL;
}

/* The batch's arrival time, on both clocks: monotonic (timers, RTTs) and
 * time of day (RecvStamp, a host's last-heard time, seconds matter). The
 * second is derived from the first with an offset read again each second,
 * which saves a clock read per batch (22 ns each here, and the 1-connection
 * round trip reads the clock some nine times). */
static void stamp_batch(struct rpc_instance *r)
{
    uint64_t now = rpc_now(), day;

    r->batch_now = now;
    if (!r->day_offset_at || now - r->day_offset_at >= 1000000u) {
        FT_GetTimeOfDay(&r->batch_stamp, NULL);
        r->day_offset = (uint64_t)r->batch_stamp.tv_sec * 1000000u +
                        (uint64_t)r->batch_stamp.tv_usec - now;
        r->day_offset_at = now;
        return;
    }
    day = now + r->day_offset; /* wraps back correctly (unsigned) */
    r->batch_stamp.tv_sec = (time_t)(day / 1000000u);
    r->batch_stamp.tv_usec = (suseconds_t)(day % 1000000u);
}

/* Receives what is there into r->rmsg: the count, or -1 with errno.
 *
 * recvmmsg, after the datagrams it found, always tries once more and
 * finds the queue empty: at one connection, where every wake-up brings a
 * single datagram, that empty try costs about 0.3 us a side (bench_rpc:
 * the round trip 1.43-1.45x raw UDP's with it, 1.39-1.41x without). So
 * after RPC_RX_ONES_TO_SINGLE batches of one in a row a socket is read
 * by plain recvfrom, one datagram a wake-up, and every RPC_RX_SINGLE_RUN
 * + 1st wake-up by recvmmsg again, to see whether more now come at once:
 * a batch of two or more goes back to recvmmsg for good, a batch of one
 * goes on with recvfrom. A burst met in single mode is not lost: the
 * poller reports the socket again at once, and the next sample sees it. */
static int receive(struct rpc_instance *r, int fd, struct rpc_rx_mode *mode)
{
    struct mmsghdr *msgs = r->rmsg;
    int n;

    /* The kernel shortens the address lengths it fills in. */
    if (mode->single_left > 0) {
        ssize_t got;

        /* recvfrom, not recvmsg: one buffer costs the kernel no iovec
         * import (bench_rpc, one connection: 0.1-0.2 us of server CPU a
         * call). A datagram too long for the buffer shows as one byte
         * over SEC_MAX_FRAME, as in a batch; no flags come back. */
        msgs[0].msg_hdr.msg_namelen = sizeof r->raddr[0];
        msgs[0].msg_hdr.msg_flags = 0;
        got = recvfrom(fd, r->riov[0].iov_base, r->riov[0].iov_len,
                       MSG_DONTWAIT, msgs[0].msg_hdr.msg_name,
                       &msgs[0].msg_hdr.msg_namelen);
        if (got < 0) {
            return -1;
        }
        mode->single_left--;
        msgs[0].msg_len = (unsigned int)got;
        return 1;
    }
    for (int i = 0; i < RPC_RECV_BATCH; i++) {
        msgs[i].msg_hdr.msg_namelen = sizeof r->raddr[i];
    }
    n = recvmmsg(fd, msgs, RPC_RECV_BATCH, MSG_DONTWAIT, NULL);
    if (n == 1 && ++mode->ones >= RPC_RX_ONES_TO_SINGLE) {
        /* One more batch of one (the next sample) goes on at once. */
        mode->ones = RPC_RX_ONES_TO_SINGLE - 1;
        mode->single_left = RPC_RX_SINGLE_RUN;
    } else if (n > 1) {
        mode->ones = 0;
    }
    return n;
}

static void drain_fd(struct rpc_instance *r, int fd, struct rpc_rx_mode *mode)
{
    struct mmsghdr *msgs = r->rmsg;

    for (;;) {
        int n = receive(r, fd, mode);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        r->in_batch = true;
        stamp_batch(r);
        for (int i = 0; i < n && !r->stopping; i++) {
            size_t len = msgs[i].msg_len;
            if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || len > SEC_MAX_FRAME) {
                rpc2_Recvd.Giant++;
                continue;
            }
            rpc_handle_datagram(r, r->rbuf[i], len,
                                (struct sockaddr *)&r->raddr[i],
                                msgs[i].msg_hdr.msg_namelen);
        }
        r->in_batch = false;
        if (n < RPC_RECV_BATCH || r->stopping) {
            return; /* the caller runs the timers next */
        }
        rpc_timers_run(&r->timers, rpc_now()); /* F12: between batches */
    }
}

void rpc_drain(struct rpc_instance *r)
{
    drain_fd(r, r->fd4, &r->rx4);
    if (r->fd6 >= 0) {
        drain_fd(r, r->fd6, &r->rx6);
    }
}

void rpc_listener_kick(struct rpc_instance *r, uint64_t due)
{
    /* Another LWP armed a timer earlier than the listener's wait ends. */
    if (r->listener_waiting && due < r->listener_due) {
        r->listener_due = due;
        IOMGR_Cancel(r->listener);
    }
}

static void drop_standing(struct rpc_instance *r)
{
    if (r->standing) {
        IOMGR_StandingClose(r->standing);
        r->standing = NULL;
    }
}

/* Returns whether a socket may have input: a wait that timed out or was
 * cut short by rpc_listener_kick found none, and a recvmmsg would only
 * answer EAGAIN (a client's every call kicks the listener). */
static bool wait_for_input(struct rpc_instance *r, uint64_t now)
{
    uint64_t due = rpc_timers_next(&r->timers);
    struct timeval tv, *tvp = NULL;

    if (due != UINT64_MAX) {
        uint64_t left = due > now ? due - now : 0;
        tv.tv_sec = (time_t)(left / 1000000u);
        tv.tv_usec = (suseconds_t)(left % 1000000u);
        tvp = &tv;
    }
    r->listener_due = due;
    int rc;
    r->listener_waiting = true;
    if (r->standing) {
        rc = IOMGR_StandingWait(r->standing,
                                due == UINT64_MAX ? IOMGR_NO_DEADLINE : due);
        if (rc == -1 && (errno == ECANCELED || errno == EBADF)) {
            drop_standing(r); /* IOMGR_WaitIO answers from now on */
        }
    } else if (r->fd6 < 0) {
        rc = IOMGR_WaitIO(r->fd4, IOMGR_READ, tvp);
    } else {
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(r->fd4, &rs);
        FD_SET(r->fd6, &rs);
        rc = IOMGR_Select((r->fd4 > r->fd6 ? r->fd4 : r->fd6) + 1, &rs, NULL,
                          NULL, tvp);
    }
    r->listener_waiting = false;
    return rc != 0 && rc != -2;
}

static void listener_main(void *arg)
{
    struct rpc_instance *r = arg;

    bool input = true;
    /* One socket: a standing wait on it (IOMGR registers it once, and a
     * wait costs no registration and no clock read: some 650 instructions
     * per call fewer in a server at one connection). */
    if (r->fd6 < 0 && IOMGR_StandingOpen(r->fd4, IOMGR_READ, &r->standing)) {
        r->standing = NULL;
    }

    while (!r->stopping) {
        r->batch_now = 0;
        if (input) {
            rpc_drain(r);
        }
        /* After datagrams, the last batch's time: the timers run within
         * microseconds of it, and they count in milliseconds. */
        uint64_t now = r->batch_now ? r->batch_now : rpc_now();
        rpc_timers_run(&r->timers, now); /* F12: after every batch */
        if (r->stopping) {
            break;
        }
        input = wait_for_input(r, now);
    }
    drop_standing(r);
    r->listener_done = true;
    LWP_NoYieldSignal(&r->listener_done);
}

int rpc_listener_start(struct rpc_instance *r)
{
    return LWP_CreateProcess(listener_main, LISTENER_STACK,
                             LWP_NORMAL_PRIORITY, r, "SocketListener",
                             &r->listener);
}

void RPC2_DispatchProcess(void)
{
    struct rpc_instance *r = rpc__inst;

    if (r && !r->stopping) {
        rpc_drain(r);
        rpc_timers_run(&r->timers, rpc_now());
    }
    LWP_DispatchProcess();
}
