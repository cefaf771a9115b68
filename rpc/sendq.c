/* SPDX-License-Identifier: MIT */
/*
 * The send queue: datagrams sealed while the LWPs run go out together, in
 * one sendmmsg per socket, when the IO MANAGER is about to poll (an IOMGR
 * pass hook). A server whose listener woke a dozen server LWPs sends their
 * dozen replies in one system call; a lone call still costs one, made just
 * before the process sleeps. The queue is bounded (RPC_SENDQ_MAX datagrams,
 * RPC_SENDQ_BYTES bytes); a full queue is sent at once.
 */
#define _GNU_SOURCE /* sendmmsg */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lwp/iomgr.h>

#include "rpc_internal.h"

static void flush_hook(void *arg)
{
    rpc_sendq_flush(arg);
}

int rpc_sendq_init(struct rpc_instance *r)
{
    struct rpc_sendq *q = &r->sendq;

    q->bytes = malloc(RPC_SENDQ_BYTES);
    q->msg = calloc(RPC_SENDQ_MAX, sizeof *q->msg);
    if (!q->bytes || !q->msg) {
        free(q->bytes);
        free(q->msg);
        q->bytes = NULL;
        q->msg = NULL;
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
    free(q->bytes);
    free(q->msg);
    q->bytes = NULL;
    q->msg = NULL;
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
    memcpy(&q->to[i], to, tolen);
    q->iov[i].iov_base = q->bytes + q->used;
    q->iov[i].iov_len = len;
    q->msg[i].msg_hdr = (struct msghdr){.msg_name = &q->to[i],
                                        .msg_namelen = tolen,
                                        .msg_iov = &q->iov[i],
                                        .msg_iovlen = 1};
    q->used += len;
    if (!q->hooked) {
        rpc_sendq_flush(r);
    }
}

static void count_sent(const struct mmsghdr *m, int n)
{
    for (int i = 0; i < n; i++) {
        rpc2_Sent.Total++;
        rpc2_Sent.Bytes += (unsigned long)m[i].msg_hdr.msg_iov->iov_len;
    }
}

/* Send q->msg[first, first + n), all on fd. A datagram the kernel refuses
 * is lost, as on the wire: the retry schedule covers it. */
static void send_run(struct rpc_sendq *q, int fd, uint32_t first, uint32_t n)
{
    while (n > 0) {
        int k = sendmmsg(fd, &q->msg[first], n, 0);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            if (RPC2_Perror && errno != EAGAIN && errno != ENOBUFS) {
                rpc_log(1, "sendmmsg: %s", strerror(errno));
            }
            k = 0;
            first++; /* the first one failed: skip it */
            n--;
        }
        count_sent(&q->msg[first], k);
        first += (uint32_t)k;
        n -= (uint32_t)k;
    }
}

void rpc_sendq_flush(struct rpc_instance *r)
{
    struct rpc_sendq *q = &r->sendq;
    uint32_t i = 0;

    while (i < q->n) {
        uint32_t j = i + 1;
        while (j < q->n && q->fd[j] == q->fd[i]) {
            j++;
        }
        send_run(q, q->fd[i], i, j - i);
        i = j;
    }
    q->n = 0;
    q->used = 0;
}
