/* SPDX-License-Identifier: MIT */
/*
 * The send queue: datagrams sealed while the LWPs run go out together, in
 * one sendmmsg per socket, when the IO MANAGER is about to poll (an IOMGR
 * pass hook). A server whose listener woke a dozen server LWPs sends their
 * dozen replies in one system call; a lone call still costs one, made just
 * before the process sleeps. The queue is bounded (RPC_SENDQ_MAX datagrams,
 * RPC_SENDQ_BYTES bytes); a full queue is sent at once.
 *
 * Consecutive datagrams for one destination (a client's calls all go to
 * one server port, a server's replies to one client often share a port)
 * go as one UDP GSO message: the peer receives the same datagrams, but
 * the kernel routes, builds and loops them through its stack once per
 * message instead of once per datagram. bench_rpc at 100 connections:
 * calls/s 0.99-1.02x ONC RPC's without it, 1.67-1.69x with it, in the
 * same runs. A kernel or path without UDP GSO refuses it once, and the
 * queue then sends one datagram per entry.
 */
#define _GNU_SOURCE /* sendmmsg */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>

#include <lwp/iomgr.h>

#include "rpc_internal.h"

static void flush_hook(void *arg)
{
    rpc_sendq_flush(arg);
}

static void free_buffers(struct rpc_sendq *q)
{
    free(q->bytes);
    free(q->msg);
    q->bytes = NULL;
    q->msg = NULL;
}

int rpc_sendq_init(struct rpc_instance *r)
{
    struct rpc_sendq *q = &r->sendq;

    q->bytes = malloc(RPC_SENDQ_BYTES);
    q->msg = calloc(RPC_SENDQ_MAX, sizeof *q->msg);
    if (!q->bytes || !q->msg) {
        free_buffers(q);
        return -1;
    }
    /* Without the hook (IOMGR refused it) every datagram leaves at once. */
    q->hooked = IOMGR_AddPassHook(flush_hook, r) == 0;
    return 0;
}

void rpc_sendq_fini(struct rpc_instance *r)
{
    struct rpc_sendq *q = &r->sendq;

    rpc_sendq_flush(r);
    if (q->hooked) {
        IOMGR_RemovePassHook(flush_hook, r);
        q->hooked = false;
    }
    free_buffers(q);
}

uint8_t *rpc_sendq_reserve(struct rpc_instance *r, size_t cap)
{
    struct rpc_sendq *q = &r->sendq;

    if (q->n == RPC_SENDQ_MAX || RPC_SENDQ_BYTES - q->used < cap) {
        rpc_sendq_flush(r);
    }
    return q->bytes + q->used;
}

void rpc_sendq_commit(struct rpc_instance *r, int fd, size_t len,
                      const struct sockaddr *to, socklen_t tolen)
{
    struct rpc_sendq *q = &r->sendq;
    uint32_t i = q->n++;

    q->fd[i] = fd;
    q->tolen[i] = tolen;
    memcpy(&q->to[i], to, tolen);
    q->iov[i].iov_base = q->bytes + q->used;
    q->iov[i].iov_len = len;
    q->used += len;
    if (!q->hooked) {
        rpc_sendq_flush(r);
    }
}

static void count_sent(const struct mmsghdr *m, int n)
{
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < m[i].msg_hdr.msg_iovlen; k++) {
            rpc2_Sent.Total++;
            rpc2_Sent.Bytes += (unsigned long)m[i].msg_hdr.msg_iov[k].iov_len;
        }
    }
}

/* A datagram the kernel refused is lost, as on the wire (the retry
 * schedule covers it); only the unexpected reasons are worth a line. */
static void note_send_error(const char *call)
{
    if (RPC2_Perror && errno != EAGAIN && errno != ENOBUFS) {
        rpc_log(1, "%s: %s", call, strerror(errno));
    }
}

/* A lone message: sendto when it is one buffer with no control data,
 * which spares the kernel sendmsg's msghdr and iovec copies (0.1-0.2 us a
 * reply in bench_rpc at one connection), else sendmsg. */
static ssize_t send_one(int fd, const struct msghdr *h)
{
    return h->msg_iovlen == 1 && h->msg_controllen == 0
               ? sendto(fd, h->msg_iov[0].iov_base, h->msg_iov[0].iov_len, 0,
                        h->msg_name, h->msg_namelen)
               : sendmsg(fd, h, 0);
}

/* Send m[0, n), all on fd. A datagram the kernel refuses is lost, as on
 * the wire: the retry schedule covers it. A segmented (GSO) message the
 * kernel refuses as such (no UDP GSO on this path) stops the run.
 * Returns how many messages were sent or skipped. */
static uint32_t send_msgs(int fd, struct mmsghdr *m, uint32_t n)
{
    uint32_t done = 0;

    while (done < n) {
        /* One message: send_one, which costs the kernel less than
         * sendmmsg (a lone call or reply is the common case at low load). */
        int k = n - done == 1
                    ? (send_one(fd, &m[done].msg_hdr) >= 0 ? 1 : -1)
                    : sendmmsg(fd, m + done, n - done, 0);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            if (m[done].msg_hdr.msg_iovlen > 1 &&
                (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT ||
                 errno == EMSGSIZE || errno == EOPNOTSUPP)) {
                break;
            }
            note_send_error("sendmmsg");
            k = 1; /* the first one failed: skip it */
        } else {
            count_sent(m + done, k);
        }
        done += (uint32_t)k;
    }
    return done;
}

static bool same_dest(const struct rpc_sendq *q, uint32_t a, uint32_t b)
{
    return q->tolen[a] == q->tolen[b] &&
           memcmp(&q->to[a], &q->to[b], q->tolen[a]) == 0;
}

/* The end of the run of datagrams from i, below end (all on one socket),
 * that one UDP GSO message can carry: one destination, all of the first
 * one's size but the last (which may be shorter), at most RPC_GSO_SEGS and
 * 60,000 bytes (a UDP datagram's limit, less headers). */
#define RPC_GSO_SEGS 32
#define RPC_GSO_BYTES 60000
#define RPC_GSO_MAX_SEG 1200 /* fits any path MTU of IPv4 or IPv6 */
static uint32_t gso_run(const struct rpc_sendq *q, uint32_t i, uint32_t end)
{
    size_t seg = q->iov[i].iov_len, bytes = seg;
    uint32_t j = i + 1;

    if (q->gso_off || seg > RPC_GSO_MAX_SEG) {
        return j;
    }
    while (j < end && j - i < RPC_GSO_SEGS && same_dest(q, i, j) &&
           q->iov[j - 1].iov_len == seg && q->iov[j].iov_len <= seg &&
           bytes + q->iov[j].iov_len <= RPC_GSO_BYTES) {
        bytes += q->iov[j].iov_len;
        j++;
    }
    return j;
}

/* Message mi carries datagrams [i, e): one as queued, or several as one GSO
 * send (the kernel cuts it into datagrams of the first one's size: the
 * same datagrams on the wire, one trip through the stack). */
static void build_msg(struct rpc_sendq *q, uint32_t i, uint32_t e,
                      uint32_t mi)
{
    struct msghdr *h = &q->msg[mi].msg_hdr;

    *h = (struct msghdr){.msg_name = &q->to[i],
                         .msg_namelen = q->tolen[i],
                         .msg_iov = &q->iov[i],
                         .msg_iovlen = e - i};
    if (e - i > 1) {
        struct cmsghdr *cm = (struct cmsghdr *)q->cmsg[mi];
        uint16_t seg = (uint16_t)q->iov[i].iov_len;
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof seg);
        memcpy(CMSG_DATA(cm), &seg, sizeof seg);
        h->msg_control = cm;
        h->msg_controllen = CMSG_SPACE(sizeof seg);
    }
}

/* Datagrams [i, end), all on one socket: as GSO messages where they can
 * be; if the kernel refuses one, GSO is off from then on and the rest go
 * one by one, without resending what went. */
static void send_run(struct rpc_sendq *q, uint32_t i, uint32_t end)
{
    while (i < end) {
        uint32_t start[RPC_SENDQ_MAX], nm = 0, done;

        for (uint32_t k = i; k < end; nm++) {
            uint32_t e = gso_run(q, k, end);
            start[nm] = k;
            build_msg(q, k, e, nm);
            k = e;
        }
        done = send_msgs(q->fd[i], q->msg, nm);
        if (done == nm) {
            return;
        }
        q->gso_off = true;
        i = start[done];
    }
}

/* The usual queue at low load: one datagram, which goes out with one
 * sendto and none of the message building a batch needs (at one
 * connection every reply takes this path, and the code it skips is cache
 * lines the server would fetch again for each call). */
static void send_lone(struct rpc_sendq *q)
{
    ssize_t k;

    do {
        k = sendto(q->fd[0], q->iov[0].iov_base, q->iov[0].iov_len, 0,
                   (const struct sockaddr *)&q->to[0], q->tolen[0]);
    } while (k < 0 && errno == EINTR);
    if (k < 0) {
        note_send_error("sendto");
        return;
    }
    rpc2_Sent.Total++;
    rpc2_Sent.Bytes += (unsigned long)q->iov[0].iov_len;
}

void rpc_sendq_flush(struct rpc_instance *r)
{
    struct rpc_sendq *q = &r->sendq;
    uint32_t i = 0;

    if (q->n == 1) {
        send_lone(q);
        q->n = 0;
        q->used = 0;
        return;
    }
    while (i < q->n) {
        uint32_t j = i + 1;
        while (j < q->n && q->fd[j] == q->fd[i]) {
            j++;
        }
        send_run(q, i, j);
        i = j;
    }
    q->n = 0;
    q->used = 0;
}
