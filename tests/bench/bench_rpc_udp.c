/* SPDX-License-Identifier: MIT */
/*
 * bench_rpc's raw UDP server (the floor: one blocking recvfrom and one
 * sendto per call) and the client it shares with the ONC RPC server.
 *
 * The client keeps one connected UDP socket per connection, all in one
 * epoll set, each with exactly one call outstanding (closed loop): a reply
 * is timed and the connection's next call goes out at once. It does as
 * little as a client can (one recv, one send and one clock read per call),
 * so on a shared CPU the server under test is what the figures show. A
 * datagram lost to a full socket buffer would stall its connection for
 * ever, so a call unanswered for RESEND_MS is sent again (and counted).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_rpc.h"

#define RESEND_MS 1000 /* far above any p99 here: only real losses */
#define SCAN_MS 50
#define MAX_EVENTS 256
#define MAX_SAMPLES (8L << 20)
#define SERVER_RCVBUF (8 << 20) /* 1,000 calls in flight need ~1 MB */

/* ---- Server ---- */

/* A bigger receive buffer than the default: a thousand connections each
 * with a call in flight must not overflow it. As root, past rmem_max. */
static void big_rcvbuf(int fd)
{
    int size = SERVER_RCVBUF;

    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

int rpc_udp_socket(int *fd_out)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    big_rcvbuf(fd);
    *fd_out = fd;
    return ntohs(sa.sin_port);
}

int raw_serve(int reply_fd)
{
    char buf[512];
    int fd, port = rpc_udp_socket(&fd);

    rpc_report_port(reply_fd, port > 0 ? port : 0,
                    port > 0 ? NULL : strerror(errno));
    if (port <= 0)
        return 1;
    for (;;) {
        struct sockaddr_in from;
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
                             &flen);

        if (n >= 0)
            sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, flen);
    }
}

/* One datagram per readiness report, as an event-loop server handles it:
 * epoll_wait (no timeout), recvfrom, sendto (level-triggered: a datagram
 * left queued is reported at once by the next epoll_wait). */
int rawev_serve(int reply_fd)
{
    char buf[512];
    struct epoll_event ev = {.events = EPOLLIN};
    int fd, ep, port = rpc_udp_socket(&fd);

    ep = port > 0 ? epoll_create1(EPOLL_CLOEXEC) : -1;
    if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(ep);
        ep = -1;
    }
    rpc_report_port(reply_fd, ep >= 0 ? port : 0,
                    ep >= 0 ? NULL : strerror(errno));
    if (ep < 0)
        return 1;
    for (;;) {
        struct sockaddr_in from;
        socklen_t flen = sizeof(from);
        ssize_t n;

        if (epoll_wait(ep, &ev, 1, -1) != 1)
            continue;
        n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
                     (struct sockaddr *)&from, &flen);
        if (n >= 0)
            sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, flen);
    }
}

/* ---- Client ---- */

struct conn {
    int fd;
    uint32_t token;  /* what the reply must carry (ONC: the xid) */
    int64_t sent_ns; /* when the outstanding call went out */
    struct sec_sa *rx; /* rawsec: this connection's receiving SA */
    uint8_t msg[ONC_BUF];
};

struct client {
    const struct rpc_load *ld;
    struct conn *conns;
    int n, len; /* connections; bytes of a call */
    int measuring;
    long resent;
    struct rpc_samples samples;
};

static int connect_one(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A new token per call, so a late reply to a resent call is not taken
 * for the answer to the next one. */
static void send_call(struct client *cl, struct conn *c, int64_t now)
{
    uint32_t tok = htonl(++c->token);

    const void *out = c->msg;
    ssize_t len = cl->len;
    uint8_t frame[ONC_BUF];

    c->sent_ns = now;
    if (cl->ld->peer == PEER_RAWSEC) {
        /* A first word below 256, as rpc2sec requires of a payload (our
         * header's version word), then the token. */
        memset(c->msg, 0, 4);
        memcpy(c->msg + 4, &tok, sizeof(tok));
        len = rawsec_seal(c->msg, (size_t)cl->len, frame, sizeof(frame));
        out = frame;
    } else {
        memcpy(c->msg, &tok, sizeof(tok)); /* ONC: the xid is the first word */
    }
    if (len < 0 || (send(c->fd, out, (size_t)len, 0) < 0 && errno != EAGAIN &&
                    errno != ENOBUFS && errno != ECONNREFUSED))
        perror("bench_rpc: client send");
}

static int reply_ok(const struct client *cl, const struct conn *c,
                    const uint8_t *buf, ssize_t n)
{
    uint32_t tok;

    if (cl->ld->peer == PEER_ONC)
        return onc_reply_ok(buf, n, htonl(c->token));
    memcpy(&tok, buf + (cl->ld->peer == PEER_RAWSEC ? 4 : 0), sizeof(tok));
    return n == cl->len && tok == htonl(c->token);
}

static void on_readable(struct client *cl, struct conn *c)
{
    uint8_t buf[ONC_BUF], pt[ONC_BUF];
    ssize_t n;

    while ((n = recv(c->fd, buf, sizeof(buf), 0)) >= 0) {
        int64_t now;

        if (cl->ld->peer == PEER_RAWSEC &&
            (n = rawsec_conn_open(c->rx, buf, (size_t)n, pt, sizeof(pt))) >= 0)
            memcpy(buf, pt, (size_t)n);

        if (!reply_ok(cl, c, buf, n))
            continue; /* stale: the answer to a call sent again */
        now = rpc_now_ns();
        if (cl->measuring)
            rpc_samples_add(&cl->samples, now - c->sent_ns);
        send_call(cl, c, now);
    }
}

static void resend_lost(struct client *cl, int64_t now)
{
    for (int i = 0; i < cl->n; i++)
        if (now - cl->conns[i].sent_ns > RESEND_MS * 1000000LL) {
            send_call(cl, &cl->conns[i], now);
            cl->resent += cl->measuring;
        }
}

static int set_up(struct client *cl, int ep)
{
    uint8_t tmpl[ONC_BUF];

    memset(tmpl, 'r', sizeof(tmpl));
    cl->len = cl->ld->peer == PEER_RAWSEC ? RAWSEC_PLAIN : RPC_MSG;
    if (cl->ld->peer == PEER_RAWSEC && rawsec_keys(0) != 0)
        return -1;
    if (cl->ld->peer == PEER_ONC &&
        (cl->len = onc_encode_call(tmpl, sizeof(tmpl))) < 0)
        return -1;
    for (int i = 0; i < cl->n; i++) {
        struct conn *c = &cl->conns[i];
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};

        memcpy(c->msg, tmpl, sizeof(tmpl));
        c->token = (uint32_t)i << 20; /* distinct xids across connections */
        if (cl->ld->peer == PEER_RAWSEC && !(c->rx = rawsec_conn_sa()))
            return -1;
        if ((c->fd = connect_one(cl->ld->port)) < 0 ||
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
            return -1;
    }
    return 0;
}

/* Runs until `until`; returns -1 if epoll fails. */
static int loop_until(struct client *cl, int ep, int64_t until)
{
    struct epoll_event evs[MAX_EVENTS];
    int64_t next_scan = rpc_now_ns() + SCAN_MS * 1000000LL, now;

    while ((now = rpc_now_ns()) < until) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, SCAN_MS);

        if (n < 0 && errno != EINTR)
            return -1;
        for (int i = 0; i < n; i++)
            on_readable(cl, &cl->conns[evs[i].data.u32]);
        if (now >= next_scan) {
            resend_lost(cl, rpc_now_ns());
            next_scan = now + SCAN_MS * 1000000LL;
        }
    }
    return 0;
}

static void run(struct client *cl, int ep, struct rpc_result *r)
{
    int64_t t0, t1, cpu, now = rpc_now_ns();

    for (int i = 0; i < cl->n; i++)
        send_call(cl, &cl->conns[i], now);
    if (loop_until(cl, ep, now + (int64_t)(cl->ld->warm_s * 1e9)) != 0 ||
        rpc_ctl_ask(cl->ld, CTL_START) != 0) {
        snprintf(r->error, sizeof(r->error), "client loop or control");
        return;
    }
    cl->measuring = 1;
    t0 = rpc_now_ns();
    if (loop_until(cl, ep, t0 + (int64_t)(cl->ld->run_s * 1e9)) != 0) {
        snprintf(r->error, sizeof(r->error), "epoll_wait: %s", strerror(errno));
        return;
    }
    t1 = rpc_now_ns();
    cl->measuring = 0;
    cpu = rpc_ctl_ask(cl->ld, CTL_END);
    rpc_samples_summarise(&cl->samples, (double)(t1 - t0) / 1e9, cpu, r);
    r->resent = cl->resent;
}

void udp_client(const struct rpc_load *ld, struct rpc_result *r)
{
    struct client cl = {.ld = ld, .n = ld->conns};
    int ep = epoll_create1(EPOLL_CLOEXEC);

    cl.conns = calloc((size_t)cl.n, sizeof(*cl.conns));
    for (int i = 0; cl.conns && i < cl.n; i++)
        cl.conns[i].fd = -1;
    if (ep < 0 || !cl.conns || rpc_samples_init(&cl.samples, MAX_SAMPLES) ||
        set_up(&cl, ep) != 0)
        snprintf(r->error, sizeof(r->error), "client set-up: %s",
                 strerror(errno));
    else
        run(&cl, ep, r);
    for (int i = 0; cl.conns && i < cl.n; i++) {
        if (cl.conns[i].fd >= 0)
            close(cl.conns[i].fd);
        rawsec_conn_free(cl.conns[i].rx);
    }
    free(cl.conns);
    rpc_samples_free(&cl.samples);
    if (ep >= 0)
        close(ep);
}
