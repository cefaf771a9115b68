/* SPDX-License-Identifier: MIT */
/*
 * bench_rpc's ONC RPC peer (RFC 5531 over UDP, libtirpc). The server is
 * libtirpc's own: svc_dg on our socket, the dispatcher rpcgen generated
 * from onc/bench_onc.x, svc_run. It is registered with svc_reg and no
 * netconfig, so no rpcbind is needed.
 *
 * The client is bench_rpc_udp.c's closed loop, not clnt_call: clnt_call
 * blocks its thread for a reply, so 1,000 outstanding calls would need
 * 1,000 threads, and their cost would land on the figures. This file
 * encodes the call message once with libtirpc's XDR (xdr_callmsg and the
 * generated xdr_echo64); the client only rewrites the xid per call and
 * checks a reply's fixed words.
 */
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "bench_rpc.h"

#ifdef BENCH_HAVE_ONC
#include <arpa/inet.h>
#include <errno.h>
#include <rpc/rpc.h>

#include "bench_onc.h"

/* The dispatcher from rpcgen -m (its header does not declare it). */
void benchprog_1(struct svc_req *rqstp, SVCXPRT *transp);

/* A successful reply: xid, REPLY, MSG_ACCEPTED, AUTH_NONE verifier
 * (flavour, length 0), SUCCESS, then the 64 echoed bytes. */
#define REPLY_WORDS 6
#define REPLY_LEN (REPLY_WORDS * 4 + RPC_MSG)

int onc_available(void)
{
    return 1;
}

char *echo_1_svc(char *arg, struct svc_req *rq)
{
    static echo64 result;

    (void)rq;
    memcpy(result, arg, sizeof(result));
    return result;
}

int onc_serve(int reply_fd)
{
    SVCXPRT *xprt;
    int fd, port = rpc_udp_socket(&fd);

    if (port <= 0) {
        rpc_report_port(reply_fd, 0, strerror(errno));
        return 1;
    }
    xprt = svc_dg_create(fd, 0, 0);
    if (!xprt || !svc_reg(xprt, BENCHPROG, BENCHVERS, benchprog_1, NULL)) {
        rpc_report_port(reply_fd, 0, "svc_dg_create/svc_reg failed");
        return 1;
    }
    rpc_report_port(reply_fd, port, NULL);
    svc_run();
    return 1; /* svc_run returns only on a poll error */
}

int onc_encode_call(uint8_t *buf, int cap)
{
    struct rpc_msg msg = {0};
    echo64 payload;
    XDR x;
    int len;

    memset(payload, 'o', sizeof(payload));
    msg.rm_direction = CALL;
    msg.rm_call.cb_rpcvers = RPC_MSG_VERSION;
    msg.rm_call.cb_prog = BENCHPROG;
    msg.rm_call.cb_vers = BENCHVERS;
    msg.rm_call.cb_proc = ECHO;
    msg.rm_call.cb_cred = _null_auth;
    msg.rm_call.cb_verf = _null_auth;
    xdrmem_create(&x, (char *)buf, (u_int)cap, XDR_ENCODE);
    if (!xdr_callmsg(&x, &msg) || !xdr_echo64(&x, payload))
        return -1;
    len = (int)xdr_getpos(&x);
    xdr_destroy(&x);
    return len;
}

int onc_reply_ok(const uint8_t *reply, ssize_t len, uint32_t xid)
{
    uint32_t w[REPLY_WORDS];

    if (len != REPLY_LEN)
        return 0;
    memcpy(w, reply, sizeof(w));
    return w[0] == xid && w[1] == htonl(REPLY) &&
           w[2] == htonl(MSG_ACCEPTED) && w[3] == htonl(AUTH_NONE) &&
           w[4] == 0 && w[5] == htonl(SUCCESS);
}

#else /* !BENCH_HAVE_ONC: libtirpc or rpcgen not found */

int onc_available(void)
{
    return 0;
}

int onc_serve(int reply_fd)
{
    rpc_report_port(reply_fd, 0, "not built");
    return 1;
}

int onc_encode_call(uint8_t *buf, int cap)
{
    (void)buf;
    (void)cap;
    return -1;
}

int onc_reply_ok(const uint8_t *reply, ssize_t len, uint32_t xid)
{
    (void)reply;
    (void)len;
    (void)xid;
    return 0;
}

#endif
