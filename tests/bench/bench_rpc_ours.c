/* SPDX-License-Identifier: MIT */
/*
 * bench_rpc's own peer: our RPC layer, written the way a Coda program is.
 *
 * Server: RPC2_Init on 127.0.0.1, RPC2_Export of one subsystem, a pool of
 * SERVER_LWPS LWPs each looping RPC2_GetRequest -> RPC2_SendResponse (a
 * bind arrives as RPC2_NEWCONNECTION and is enabled with RPC2_Enable);
 * GetKeys hands out the fixed secret RPC_SECRET at RPC2_SECURE.
 *
 * Client: every connection bound first (sequentially, from the main LWP),
 * then one LWP per connection looping RPC2_MakeRPC on it, timing each
 * call; the main LWP sleeps through the warm-up and the window in
 * IOMGR_Select. The idle measurement binds up to idle_conns connections
 * from the main LWP (the first `binds` of them timed one by one) and
 * compares both processes' VmRSS before and after.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <lwp/iomgr.h>
#include <lwp/lwp.h>
#include <rpc2/rpc2.h>

#include "bench_rpc.h"
#include "bench_util.h"

#define SERVER_LWPS 8
#define STACK (64 * 1024)
#define MAX_SAMPLES (8L << 20)
#define SETTLE_MS 100 /* for the server to enable the last binds */

/* ---- Common ---- */

static void set_error(char *buf, const char *what, long rc)
{
    snprintf(buf, 120, "%s: %s", what, RPC2_ErrorMsg(rc));
}

static void sleep_lwp(double s)
{
    struct timeval tv = {(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6)};

    IOMGR_Select(0, NULL, NULL, NULL, &tv);
}

/* LWP_Init and RPC2_Init on 127.0.0.1 (any port: *port 0). */
static long start_rpc(RPC2_PortIdent *port, char *error)
{
    RPC2_HostIdent host = {.Tag = RPC2_HOSTBYINETADDR};
    PROCESS me;
    long rc;

    if (LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &me) != LWP_SUCCESS) {
        snprintf(error, 120, "LWP_Init failed");
        return RPC2_FAIL;
    }
    host.Value.InetAddress.s_addr = htonl(INADDR_LOOPBACK);
    RPC2_setbindaddr(&host);
    port->Tag = RPC2_PORTBYINETNUMBER;
    port->Value.InetPortNumber = 0;
    rc = RPC2_Init(RPC2_VERSION, NULL, port, -1, NULL);
    if (rc != RPC2_SUCCESS)
        set_error(error, "RPC2_Init", rc);
    return rc;
}

/* ---- Server ---- */

static int serve_level;

static long get_keys(RPC2_Integer *auth_type, RPC2_CountedBS *cident,
                     RPC2_EncryptionKey secret, RPC2_EncryptionKey session)
{
    (void)auth_type;
    (void)cident;
    if (serve_level != RPC2_OPENKIMONO)
        memcpy(secret, RPC_SECRET, RPC2_KEYSIZE);
    memcpy(session, "session!", RPC2_KEYSIZE);
    return 0;
}

static void answer(RPC2_Handle cid, const RPC2_PacketBuffer *req)
{
    RPC2_PacketBuffer *reply = NULL;
    size_t len = req->Header.BodyLength < RPC_MSG ? req->Header.BodyLength
                                                  : RPC_MSG;

    if (RPC2_AllocBuffer(RPC_MSG, &reply) != RPC2_SUCCESS)
        return;
    memcpy(reply->Body, req->Body, len);
    reply->Header.BodyLength = (RPC2_Unsigned)len;
    reply->Header.ReturnCode = 0;
    RPC2_SendResponse(cid, reply);
    RPC2_FreeBuffer(&reply);
}

/* A server whose GetRequest keeps failing would spin and pass the spin
 * off as the cost of calls: it exits instead, and the client reports. */
#define MAX_FAILURES 1000

static void server_lwp(void *arg)
{
    int failures = 0;

    (void)arg;
    for (;;) {
        RPC2_PacketBuffer *req = NULL;
        RPC2_Handle cid;
        long rc = RPC2_GetRequest(NULL, &cid, &req, NULL, get_keys, RPC2_XOR,
                                  NULL);

        if (rc != RPC2_SUCCESS) {
            if (++failures == MAX_FAILURES) {
                fprintf(stderr, "bench_rpc: server: RPC2_GetRequest: %s\n",
                        RPC2_ErrorMsg(rc));
                _exit(1);
            }
            continue;
        }
        failures = 0;
        if (req->Header.Opcode == RPC2_NEWCONNECTION)
            RPC2_Enable(cid);
        else
            answer(cid, req);
        RPC2_FreeBuffer(&req);
    }
}

int ours_serve(int reply_fd, int level)
{
    RPC2_SubsysIdent sub = {.Tag = RPC2_SUBSYSBYID};
    RPC2_PortIdent port;
    char error[120] = "";
    static int forever;
    long rc;

    serve_level = level;
    if (start_rpc(&port, error) != RPC2_SUCCESS) {
        rpc_report_port(reply_fd, 0, error);
        return 1;
    }
    sub.Value.SubsysId = RPC_SUBSYS;
    if ((rc = RPC2_Export(&sub)) != RPC2_SUCCESS) {
        set_error(error, "RPC2_Export", rc);
        rpc_report_port(reply_fd, 0, error);
        return 1;
    }
    for (int i = 0; i < SERVER_LWPS; i++) {
        PROCESS pid;

        if (LWP_CreateProcess(server_lwp, STACK, LWP_NORMAL_PRIORITY, NULL,
                              "server", &pid) != LWP_SUCCESS) {
            rpc_report_port(reply_fd, 0, "LWP_CreateProcess failed");
            return 1;
        }
    }
    rpc_report_port(reply_fd, ntohs(port.Value.InetPortNumber), NULL);
    LWP_WaitProcess(&forever); /* nobody signals it: serve until killed */
    return 1;
}

/* ---- Client ---- */

static struct {
    const struct rpc_load *ld;
    RPC2_Handle *handles;
    int measuring;
    long failed_rc;
    struct rpc_samples samples;
} cl;

static long bind_one(RPC2_Handle *h)
{
    RPC2_HostIdent host = {.Tag = RPC2_HOSTBYINETADDR};
    RPC2_PortIdent port = {.Tag = RPC2_PORTBYINETNUMBER};
    RPC2_SubsysIdent sub = {.Tag = RPC2_SUBSYSBYID};
    RPC2_EncryptionKey key;
    RPC2_CountedBS ident = {5, (RPC2_ByteSeq) "bench"};
    RPC2_BindParms bp = {.SharedSecret = &key, .ClientIdent = &ident};
    int secure = cl.ld->peer == PEER_SECURE;

    memcpy(key, RPC_SECRET, RPC2_KEYSIZE);
    host.Value.InetAddress.s_addr = htonl(INADDR_LOOPBACK);
    port.Value.InetPortNumber = htons((uint16_t)cl.ld->port);
    sub.Value.SubsysId = RPC_SUBSYS;
    bp.SecurityLevel = secure ? RPC2_SECURE : RPC2_OPENKIMONO;
    bp.EncryptionType = secure ? RPC2_XOR : 0;
    return RPC2_NewBinding(&host, &port, &sub, &bp, h);
}

/* Closed loop on one connection; the request buffer is reused, its header
 * set again before each call (MakeRPC rewrites it). */
static void caller_lwp(void *arg)
{
    RPC2_Handle h = *(RPC2_Handle *)arg;
    RPC2_PacketBuffer *req = NULL;

    if (RPC2_AllocBuffer(RPC_MSG, &req) != RPC2_SUCCESS) {
        cl.failed_rc = RPC2_FAIL;
        return;
    }
    memset(req->Body, 'u', RPC_MSG);
    while (!cl.failed_rc) {
        RPC2_PacketBuffer *reply = NULL;
        int64_t t0 = rpc_now_ns();
        long rc;

        req->Header.Opcode = 1;
        req->Header.BodyLength = RPC_MSG;
        rc = RPC2_MakeRPC(h, req, NULL, &reply, NULL, 0);
        if (rc != RPC2_SUCCESS) {
            cl.failed_rc = rc;
            break;
        }
        if (cl.measuring)
            rpc_samples_add(&cl.samples, rpc_now_ns() - t0);
        RPC2_FreeBuffer(&reply);
    }
    RPC2_FreeBuffer(&req);
}

static int bind_all(struct rpc_result *r)
{
    for (int i = 0; i < cl.ld->conns; i++) {
        long rc = bind_one(&cl.handles[i]);

        if (rc != RPC2_SUCCESS) {
            set_error(r->error, "RPC2_NewBinding", rc);
            return -1;
        }
    }
    return 0;
}

static int start_callers(struct rpc_result *r)
{
    for (int i = 0; i < cl.ld->conns; i++) {
        PROCESS pid;

        if (LWP_CreateProcess(caller_lwp, STACK, LWP_NORMAL_PRIORITY,
                              &cl.handles[i], "caller", &pid) != LWP_SUCCESS) {
            snprintf(r->error, 120, "LWP_CreateProcess failed");
            return -1;
        }
    }
    return 0;
}

static void measure_calls(struct rpc_result *r)
{
    int64_t t0, t1, cpu;

    if (bind_all(r) != 0 || start_callers(r) != 0)
        return;
    sleep_lwp(cl.ld->warm_s);
    if (rpc_ctl_ask(cl.ld, CTL_START) != 0) {
        snprintf(r->error, 120, "server control failed");
        return;
    }
    cl.measuring = 1;
    t0 = rpc_now_ns();
    sleep_lwp(cl.ld->run_s);
    t1 = rpc_now_ns();
    cl.measuring = 0;
    cpu = rpc_ctl_ask(cl.ld, CTL_END);
    if (cl.failed_rc) {
        set_error(r->error, "RPC2_MakeRPC", cl.failed_rc);
        return;
    }
    rpc_samples_summarise(&cl.samples, (double)(t1 - t0) / 1e9, cpu, r);
}

/* Bind latency from the first ld->binds binds, then RSS growth over every
 * connection bound after the baseline (up to idle_conns, or limit_s). */
static void measure_idle(struct rpc_result *r)
{
    double *lat = calloc((size_t)cl.ld->binds, sizeof(*lat));
    int64_t cli0, srv0, cli1, srv1, end;
    int n = 0, timed = 0;
    RPC2_Handle h;
    long rc;

    if (!lat || (rc = bind_one(&h)) != RPC2_SUCCESS) { /* warm-up */
        set_error(r->error, "RPC2_NewBinding", lat ? rc : RPC2_FAIL);
        free(lat);
        return;
    }
    cli0 = rpc_vmrss();
    srv0 = rpc_ctl_ask(cl.ld, CTL_RSS);
    end = rpc_now_ns() + (int64_t)(cl.ld->limit_s * 1e9);
    while (n < cl.ld->idle_conns && rpc_now_ns() < end) {
        int64_t t0 = rpc_now_ns();

        if ((rc = bind_one(&h)) != RPC2_SUCCESS)
            break;
        if (timed < cl.ld->binds)
            lat[timed++] = (double)(rpc_now_ns() - t0) / 1e3;
        n++;
    }
    sleep_lwp(SETTLE_MS / 1e3);
    cli1 = rpc_vmrss();
    srv1 = rpc_ctl_ask(cl.ld, CTL_RSS);
    if (rc != RPC2_SUCCESS || n == 0 || cli0 < 0 || srv0 < 0 || srv1 < 0) {
        set_error(r->error, "RPC2_NewBinding (idle)", rc);
    } else {
        r->bind_us = bench_median(lat, timed);
        r->rss_cli_b = (double)(cli1 - cli0) / n;
        r->rss_srv_b = (double)(srv1 - srv0) / n;
        r->idle_bound = n;
        r->ok = 1;
    }
    free(lat);
}

void ours_client(const struct rpc_load *ld, struct rpc_result *r)
{
    RPC2_PortIdent port;

    cl.ld = ld;
    if (start_rpc(&port, r->error) != RPC2_SUCCESS)
        return;
    if (ld->idle_conns > 0) {
        measure_idle(r);
        return;
    }
    cl.handles = calloc((size_t)ld->conns, sizeof(*cl.handles));
    if (!cl.handles || rpc_samples_init(&cl.samples, MAX_SAMPLES) != 0) {
        snprintf(r->error, 120, "out of memory");
        return;
    }
    measure_calls(r);
    /* The process exits next: the callers and connections go with it. */
}
