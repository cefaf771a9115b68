/* SPDX-License-Identifier: MIT */
/* The RPC runtime end to end on 127.0.0.1: binds at every level, calls,
 * error codes. Client and server share one process and one RPC instance. */
#define _GNU_SOURCE /* struct mmsghdr */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/time.h>

#include "rpc_internal.h"
#include "rpc_test.h"

static uint16_t port;

static void setup(void)
{
    port = rpct_init(-1, 0);
    rpct_start_servers(2);
}

static void teardown(void)
{
    rpct_fini();
}

TestSuite(rpc_core, .init = setup, .fini = teardown, .timeout = 30);

static void bind_and_echo(int32_t level)
{
    RPC2_Handle h = 0;
    RPC2_PacketBuffer *rep = NULL;
    char msg[64] = {0};

    cr_assert_eq(rpct_bind(port, level, NULL, &h), RPC2_SUCCESS);
    cr_assert_geq(h, 256);
    for (int i = 0; i < 10; i++) {
        snprintf(msg, sizeof msg, "call %d at level %d", i, level);
        cr_assert_eq(rpct_call(h, RPCT_OP_ECHO, msg, sizeof msg, &rep, NULL),
                     RPC2_SUCCESS);
        cr_assert_eq(rep->Header.ReturnCode, 0);
        cr_assert_eq(rep->Header.BodyLength, sizeof msg);
        cr_assert_arr_eq(rep->Body, msg, sizeof msg);
        RPC2_FreeBuffer(&rep);
    }
    cr_assert_eq(RPC2_Unbind(h), RPC2_SUCCESS);
}

Test(rpc_core, openkimono_bind_and_calls) { bind_and_echo(RPC2_OPENKIMONO); }
Test(rpc_core, authonly_bind_and_calls) { bind_and_echo(RPC2_AUTHONLY); }
Test(rpc_core, headersonly_bind_and_calls) { bind_and_echo(RPC2_HEADERSONLY); }
Test(rpc_core, secure_bind_and_calls) { bind_and_echo(RPC2_SECURE); }

Test(rpc_core, reply_codes_are_translated_both_ways)
{
    RPC2_Handle h;
    RPC2_PacketBuffer *rep = NULL;
    uint32_t codes[][2] = {{ENOENT, ENOENT}, {EDEADLK, EDEADLK},
                           {ETIMEDOUT, ETIMEDOUT}, {9999, 4711}};

    cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &h), RPC2_SUCCESS);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        uint32_t v = htonl(codes[i][0]);
        cr_assert_eq(rpct_call(h, RPCT_OP_FAIL, &v, 4, &rep, NULL),
                     RPC2_SUCCESS);
        cr_assert_eq(rep->Header.ReturnCode, (RPC2_Integer)codes[i][1],
                     "code %u", codes[i][0]);
        RPC2_FreeBuffer(&rep);
    }
}

Test(rpc_core, calls_of_0_to_4000_bytes)
{
    RPC2_Handle h;
    RPC2_PacketBuffer *rep = NULL;
    static uint8_t buf[4236];

    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)(i * 7);
    }
    cr_assert_eq(rpct_bind(port, RPC2_AUTHONLY, NULL, &h), RPC2_SUCCESS);
    size_t sizes[] = {0, 1, 3, 4, 64, 1000, 1500, 4000, 4226};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        cr_assert_eq(rpct_call(h, RPCT_OP_ECHO, buf, sizes[i], &rep, NULL),
                     RPC2_SUCCESS, "size %zu", sizes[i]);
        cr_assert_eq(rep->Header.BodyLength, sizes[i]);
        cr_assert_arr_eq(rep->Body, buf, sizes[i]);
        RPC2_FreeBuffer(&rep);
    }
    /* 4226 is the most a Coda receiver takes with rpc2sec framing. */
    cr_assert_eq(rpct_call(h, RPCT_OP_ECHO, buf, 4227, &rep, NULL), RPC2_FAIL);
    cr_assert_null(rep);
}

Test(rpc_core, patience_times_out_and_the_connection_keeps_working)
{
    RPC2_Handle h;
    RPC2_PacketBuffer *rep = NULL;
    struct timeval pat = {0, 100000}, t0, t1;
    uint32_t ms = htonl(600);

    cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &h), RPC2_SUCCESS);
    gettimeofday(&t0, NULL);
    cr_assert_eq(rpct_call(h, RPCT_OP_SLEEP, &ms, 4, &rep, &pat), RPC2_TIMEOUT);
    gettimeofday(&t1, NULL);
    double took = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_usec - t0.tv_usec) * 1e-6;
    /* F4: the time bomb itself wakes the caller, not the next retry. */
    cr_assert(took >= 0.09 && took < 0.5, "took %.3f s", took);
    cr_assert_null(rep);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(rpct_call(h, RPCT_OP_ECHO, "again", 5, &rep, NULL),
                     RPC2_SUCCESS);
        cr_assert_arr_eq(rep->Body, "again", 5);
        RPC2_FreeBuffer(&rep);
    }
}

Test(rpc_core, busy_keeps_a_slow_call_alive_past_the_dead_peer_time)
{
    /* Keepalive 2 s: a silent peer is dead after about 1 s. */
    rpct_fini();
    port = rpct_init(-1, 2000);
    rpct_start_servers(1);
    RPC2_Handle h;
    RPC2_PacketBuffer *rep = NULL;
    uint32_t ms = htonl(2500);

    cr_assert_eq(rpct_bind(port, RPC2_OPENKIMONO, NULL, &h), RPC2_SUCCESS);
    cr_assert_eq(rpct_call(h, RPCT_OP_SLEEP, &ms, 4, &rep, NULL), RPC2_SUCCESS);
    RPC2_FreeBuffer(&rep);
    cr_assert_gt(rpc2_Sent.Busies, 0);
    cr_assert_eq(rpct_executions, 1);
}

Test(rpc_core, wrong_key_is_refused)
{
    RPC2_EncryptionKey bad = {'w', 'r', 'o', 'n', 'g', 'k', 'e', 'y'};
    RPC2_Handle h = 77;

    rpct_fini();
    port = rpct_init(-1, 2000);
    /* The refused bind keeps one server LWP waiting for its INIT3 until the
     * server's time bomb: the next bind needs another. */
    rpct_start_servers(2);
    struct timeval t0, t1;
    gettimeofday(&t0, NULL);
    long brc = rpct_bind(port, RPC2_SECURE, &bad, &h);
    cr_assert_eq(brc, RPC2_NOTAUTHENTICATED, "%ld %s", brc, RPC2_ErrorMsg(brc));
    gettimeofday(&t1, NULL);
    /* Two undecryptable INIT2s (the server resends after ~0.1 s), not the
     * 2 s time bomb. */
    cr_assert_lt(t1.tv_sec - t0.tv_sec + (t1.tv_usec - t0.tv_usec) * 1e-6, 1.5);
    cr_assert_eq(h, 0);
    cr_assert_eq(rpct_binds, 0);
    cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &h), RPC2_SUCCESS);
}

Test(rpc_core, newbinding_argument_errors)
{
    RPC2_HostIdent host = {.Tag = RPC2_HOSTBYINETADDR};
    RPC2_PortIdent p = {.Tag = RPC2_PORTBYINETNUMBER};
    RPC2_SubsysIdent s = {.Tag = RPC2_SUBSYSBYID};
    RPC2_BindParms bp = {.SecurityLevel = RPC2_SECURE,
                         .EncryptionType = RPC2_XOR};
    RPC2_Handle h = 5;

    host.Value.InetAddress.s_addr = htonl(INADDR_LOOPBACK);
    p.Value.InetPortNumber = port;
    s.Value.SubsysId = RPCT_SUBSYS;
    cr_assert_eq(RPC2_NewBinding(&host, &p, &s, &bp, NULL), RPC2_FAIL);
    cr_assert_eq(RPC2_NewBinding(&host, &p, &s, &bp, &h), RPC2_FAIL); /* no secret */
    cr_assert_eq(h, 0);
    bp.SecurityLevel = 1;
    cr_assert_eq(RPC2_NewBinding(&host, &p, &s, &bp, &h), RPC2_FAIL);
    bp.SecurityLevel = RPC2_OPENKIMONO;
    bp.SideEffectType = SMARTFTP;
    cr_assert_eq(RPC2_NewBinding(&host, &p, &s, &bp, &h), RPC2_FAIL);
    bp.SideEffectType = 0;
    s.Tag = RPC2_SUBSYSBYNAME;
    cr_assert_eq(RPC2_NewBinding(&host, &p, &s, &bp, &h), RPC2_FAIL);
    s.Tag = RPC2_SUBSYSBYID;
    host.Tag = RPC2_DUMMYHOST;
    cr_assert_eq(RPC2_NewBinding(&host, &p, &s, &bp, &h), RPC2_FAIL);
}

Test(rpc_core, bind_to_an_unexported_subsystem_is_naked)
{
    RPC2_SubsysIdent s = {.Tag = RPC2_SUBSYSBYID};
    RPC2_Handle h;

    s.Value.SubsysId = RPCT_SUBSYS;
    cr_assert_eq(RPC2_DeExport(&s), RPC2_SUCCESS);
    cr_assert_eq(RPC2_DeExport(&s), RPC2_BADSERVER);
    cr_assert_eq(rpct_bind(port, RPC2_OPENKIMONO, NULL, &h), RPC2_NAKED);
    cr_assert_eq(RPC2_Export(&s), RPC2_SUCCESS);
    cr_assert_eq(RPC2_Export(&s), RPC2_DUPLICATESERVER);
    cr_assert_eq(rpct_bind(port, RPC2_OPENKIMONO, NULL, &h), RPC2_SUCCESS);
}

Test(rpc_core, makerpc_errors)
{
    RPC2_Handle h;
    RPC2_PacketBuffer *req = NULL, *rep = (RPC2_PacketBuffer *)1;
    SE_Descriptor sd;

    cr_assert_eq(rpct_bind(port, RPC2_OPENKIMONO, NULL, &h), RPC2_SUCCESS);
    cr_assert_eq(RPC2_AllocBuffer(8, &req), RPC2_SUCCESS);
    req->Header.Opcode = RPCT_OP_ECHO;
    cr_assert_eq(RPC2_MakeRPC(h + 1, req, NULL, &rep, NULL, 0),
                 RPC2_NOCONNECTION);
    cr_assert_null(rep);
    cr_assert_eq(RPC2_MakeRPC(h, req, NULL, NULL, NULL, 0), RPC2_FAIL);
    cr_assert_eq(RPC2_MakeRPC(h, NULL, NULL, &rep, NULL, 0), RPC2_FAIL);
    cr_assert_eq(RPC2_MakeRPC(h, req, &sd, &rep, NULL, 0), RPC2_SEFAIL2);
    req->Header.BodyLength = 100000;
    cr_assert_eq(RPC2_MakeRPC(h, req, NULL, &rep, NULL, 0), RPC2_FAIL);
    req->Header.BodyLength = 8;
    cr_assert_eq(RPC2_MakeRPC(h, req, NULL, &rep, NULL, 0), RPC2_SUCCESS);
    RPC2_FreeBuffer(&rep);
    RPC2_FreeBuffer(&req);
}

Test(rpc_core, allocbuffer_limits)
{
    RPC2_PacketBuffer *pb = (RPC2_PacketBuffer *)1;

    cr_assert_eq(RPC2_AllocBuffer(4500, &pb), RPC2_FAIL); /* F1 */
    cr_assert_null(pb);
    cr_assert_eq(RPC2_AllocBuffer(-1, &pb), RPC2_FAIL);
    cr_assert_eq(RPC2_AllocBuffer(4500 - (long)sizeof(RPC2_PacketBuffer), &pb),
                 RPC2_SUCCESS);
    cr_assert_eq(pb->Header.BodyLength, 4500 - sizeof(RPC2_PacketBuffer));
    cr_assert_eq(RPC2_FreeBuffer(&pb), RPC2_SUCCESS);
    cr_assert_null(pb);
    cr_assert_eq(RPC2_FreeBuffer(&pb), RPC2_SUCCESS);
}

Test(rpc_core, server_call_errors)
{
    RPC2_PacketBuffer *pb = NULL;
    RPC2_Handle h, ch;
    RPC2_RequestFilter f = {.FromWhom = ONESUBSYS, .OldOrNew = OLDORNEW};
    struct timeval pat = {0, 50000};

    cr_assert_eq(RPC2_SendResponse(12345, NULL), RPC2_NOCONNECTION);
    cr_assert_eq(RPC2_Enable(12345), RPC2_NOCONNECTION);
    cr_assert_eq(RPC2_Unbind(12345), RPC2_NOCONNECTION);
    cr_assert_eq(rpct_bind(port, RPC2_OPENKIMONO, NULL, &ch), RPC2_SUCCESS);
    cr_assert_eq(RPC2_Enable(ch), RPC2_FAIL); /* a client connection */
    cr_assert_eq(RPC2_SendResponse(ch, NULL), RPC2_NOTWORKER);
    f.ConnOrSubsys.SubsysId = 999;
    cr_assert_eq(RPC2_GetRequest(&f, &h, &pb, NULL, NULL, 0, NULL),
                 RPC2_BADFILTER);
    f.FromWhom = ONECONN;
    f.ConnOrSubsys.WhichConn = ch;
    cr_assert_eq(RPC2_GetRequest(&f, &h, &pb, NULL, NULL, 0, NULL),
                 RPC2_BADFILTER);
    f.FromWhom = 5;
    cr_assert_eq(RPC2_GetRequest(&f, &h, &pb, NULL, NULL, 0, NULL),
                 RPC2_BADFILTER);
    f.FromWhom = ONESUBSYS;
    f.ConnOrSubsys.SubsysId = RPCT_SUBSYS;
    f.OldOrNew = OLD;
    cr_assert_eq(RPC2_GetRequest(&f, &h, &pb, &pat, NULL, 0, NULL),
                 RPC2_TIMEOUT);
    cr_assert_eq(RPC2_GetRequest(&f, NULL, &pb, &pat, NULL, 0, NULL),
                 RPC2_FAIL);
}

Test(rpc_core, peer_info_pointers_colour_and_lamport)
{
    RPC2_Handle h;
    RPC2_PeerInfo pi;
    char *pp = NULL;
    RPC2_Integer col = 0;
    unsigned long rtt, var;

    cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &h), RPC2_SUCCESS);
    cr_assert_eq(RPC2_GetPeerInfo(h, &pi), RPC2_SUCCESS);
    cr_assert_eq(pi.RemoteHost.Tag, RPC2_HOSTBYINETADDR);
    cr_assert_eq(pi.RemoteHost.Value.InetAddress.s_addr, htonl(INADDR_LOOPBACK));
    cr_assert_eq(pi.RemotePort.Value.InetPortNumber, port);
    cr_assert_eq(pi.SecurityLevel, RPC2_SECURE);
    cr_assert_geq(pi.RemoteHandle, 256);
    uint8_t k[8];
    memset(k, 0x5a, 8);
    cr_assert_arr_eq(pi.SessionKey, k, 8); /* from the server's GetKeys */
    /* The server's end of this connection sees the same uniquefier. */
    RPC2_PeerInfo spi;
    cr_assert_eq(RPC2_GetPeerInfo(pi.RemoteHandle, &spi), RPC2_SUCCESS);
    cr_assert_eq(spi.Uniquefier, pi.Uniquefier);
    cr_assert_eq(spi.RemoteHandle, h);
    cr_assert_eq(RPC2_GetPeerInfo(h, NULL), RPC2_FAIL);
    cr_assert_eq(RPC2_GetPeerInfo(1, &pi), RPC2_NOCONNECTION);
    cr_assert_eq(RPC2_SetPrivatePointer(h, (char *)&pi), RPC2_SUCCESS);
    cr_assert_eq(RPC2_GetPrivatePointer(h, &pp), RPC2_SUCCESS);
    cr_assert_eq(pp, (char *)&pi);
    cr_assert_eq(RPC2_SetColor(h, 0x42), RPC2_SUCCESS);
    cr_assert_eq(RPC2_GetColor(h, &col), RPC2_SUCCESS);
    cr_assert_eq(col, 0x42);
    long l1 = RPC2_LamportTime(), l2 = RPC2_LamportTime();
    cr_assert_gt(l2, l1);
    cr_assert_eq(RPC2_GetRTT(h, &rtt, &var), RPC2_SUCCESS);
    cr_assert_gt(rtt, 0);
}

Test(rpc_core, init_errors_and_second_init)
{
    cr_assert_eq(RPC2_Init("Version 14", NULL, NULL, 0, NULL),
                 RPC2_WRONGVERSION);
    cr_assert_eq(RPC2_Init(NULL, NULL, NULL, 0, NULL), RPC2_WRONGVERSION);
    cr_assert_eq(RPC2_Init(RPC2_VERSION, NULL, NULL, 0, NULL), RPC2_SUCCESS);
}

Test(rpc_core, many_connections_bound_at_once)
{
    enum { N = 2000 };
    static RPC2_Handle hs[N];
    RPC2_PacketBuffer *rep = NULL;

    for (int i = 0; i < N; i++) {
        cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &hs[i]), RPC2_SUCCESS,
                     "bind %d", i);
    }
    for (int i = 0; i < N; i += 97) {
        cr_assert_eq(rpct_call(hs[i], RPCT_OP_ECHO, "x", 1, &rep, NULL),
                     RPC2_SUCCESS);
        RPC2_FreeBuffer(&rep);
    }
    cr_assert_eq(rpct_binds, N);
}

static int binders_done;

static void binder(void *arg)
{
    RPC2_Handle h;
    long *rc = arg;

    *rc = rpct_bind(port, RPC2_SECURE, NULL, &h);
    binders_done++;
    LWP_NoYieldSignal(&binders_done);
}

Test(rpc_core, binds_wait_for_a_busy_server_pool)
{
    /* Two server LWPs, both inside slow calls: binds arriving meanwhile
     * are queued and served when one is free (Coda dropped them). */
    enum { B = 20 };
    RPC2_Handle h1, h2;
    static long rcs[B];
    uint32_t ms = htonl(300);

    cr_assert_eq(rpct_bind(port, RPC2_OPENKIMONO, NULL, &h1), RPC2_SUCCESS);
    cr_assert_eq(rpct_bind(port, RPC2_OPENKIMONO, NULL, &h2), RPC2_SUCCESS);
    cr_assert_eq(rpct_bind(port, RPC2_OPENKIMONO, NULL, &h2), RPC2_SUCCESS);
    binders_done = 0;
    for (int i = 0; i < B; i++) {
        PROCESS pid;
        rcs[i] = 1;
        cr_assert_eq(LWP_CreateProcess(binder, 65536, LWP_NORMAL_PRIORITY,
                                       &rcs[i], "binder", &pid),
                     LWP_SUCCESS);
    }
    RPC2_PacketBuffer *rep = NULL;
    cr_assert_eq(rpct_call(h1, RPCT_OP_SLEEP, &ms, 4, &rep, NULL),
                 RPC2_SUCCESS);
    RPC2_FreeBuffer(&rep);
    while (binders_done < B) {
        LWP_WaitProcess(&binders_done);
    }
    for (int i = 0; i < B; i++) {
        cr_assert_eq(rcs[i], RPC2_SUCCESS, "bind %d: %s", i,
                     RPC2_ErrorMsg(rcs[i]));
    }
}

/* ---- Send batching: more datagrams in one LWP round than the send queue
 * holds (RPC_SENDQ_MAX datagrams, RPC_SENDQ_BYTES bytes) ---- */

enum { BURST = 64 };
static RPC2_Handle burst_h[BURST];
static size_t burst_len;
static int burst_done;
static long burst_rc[BURST];

/* burst_len 0: mixed sizes, runs of equal ones (GSO messages whose
 * last datagram is shorter, and runs broken by a longer one). */
static size_t burst_size(int i)
{
    static const size_t mixed[] = {300, 300, 300, 120, 300, 40, 40, 1100};

    return burst_len ? burst_len : mixed[i % 8];
}

static void burst_caller(void *arg)
{
    int i = (int)(intptr_t)arg;
    RPC2_PacketBuffer *rep = NULL;
    static char bodies[BURST][3000];
    size_t len = burst_size(i);

    memset(bodies[i], 'a' + i % 26, len);
    burst_rc[i] = rpct_call(burst_h[i], RPCT_OP_ECHO, bodies[i], len, &rep,
                            NULL);
    if (burst_rc[i] == RPC2_SUCCESS &&
        (rep->Header.BodyLength != len ||
         memcmp(rep->Body, bodies[i], len) != 0)) {
        burst_rc[i] = RPC2_FAIL; /* a wrong reply */
    }
    RPC2_FreeBuffer(&rep);
    burst_done++;
    LWP_NoYieldSignal(&burst_done);
}

static void burst(size_t len)
{
    burst_len = len;
    burst_done = 0;
    /* All callers become runnable before any runs: their requests are
     * queued in one round. */
    for (int i = 0; i < BURST; i++) {
        PROCESS pid;
        burst_rc[i] = 1;
        cr_assert_eq(LWP_CreateProcess(burst_caller, 65536, LWP_NORMAL_PRIORITY,
                                       (void *)(intptr_t)i, "burst", &pid),
                     LWP_SUCCESS);
    }
    while (burst_done < BURST) {
        LWP_WaitProcess(&burst_done);
    }
    for (int i = 0; i < BURST; i++) {
        cr_assert_eq(burst_rc[i], RPC2_SUCCESS, "call %d of %zu bytes: %s", i,
                     len, RPC2_ErrorMsg(burst_rc[i]));
    }
}

Test(rpc_core, a_burst_larger_than_one_send_batch_is_all_answered)
{
    unsigned long sent = rpc2_Sent.Total;

    for (int i = 0; i < BURST; i++) {
        cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &burst_h[i]),
                     RPC2_SUCCESS);
    }
    burst(16);   /* more datagrams than the queue's slots */
    burst(3000); /* more bytes than its buffer */
    burst(0);    /* mixed sizes */
    /* Every datagram went out (both ends are this process): four per bind
     * (INIT1 to INIT4), a request and a reply per call. */
    cr_assert_geq(rpc2_Sent.Total - sent, BURST * 4u + 3u * BURST * 2u);
}

/* Calls made one at a time bring one datagram per wake-up, and the
 * listener then reads its socket by recvfrom (no empty second try); a
 * burst meeting it so is still all answered, each call executed once, and
 * a sample by recvmmsg finds the batch and reads by recvmmsg again. */
Test(rpc_core, the_listener_reads_singles_and_bursts_alike)
{
    struct rpc_instance *r = rpc__inst;
    unsigned long before;
    char msg[64] = "one at a time";

    for (int i = 0; i < BURST; i++) {
        cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &burst_h[i]),
                     RPC2_SUCCESS);
    }
    for (int i = 0; i < 2 * RPC_RX_ONES_TO_SINGLE; i++) {
        RPC2_PacketBuffer *rep = NULL;

        cr_assert_eq(rpct_call(burst_h[0], RPCT_OP_ECHO, msg, sizeof msg, &rep,
                               NULL),
                     RPC2_SUCCESS);
        RPC2_FreeBuffer(&rep);
    }
    cr_assert_gt(r->rx4.single_left, 0, "single calls: read by recvfrom");
    before = rpct_executions;
    int rounds = 0;
    while (rounds < RPC_RX_SINGLE_RUN + 2) {
        burst(64);
        rounds++;
        if (r->rx4.single_left == 0) {
            break; /* a sample saw the burst */
        }
    }
    cr_assert_eq(r->rx4.single_left, 0, "bursts: read by recvmmsg again");
    cr_assert_eq(rpct_executions - before, (unsigned long)rounds * BURST,
                 "every call of every burst executed once");
}

/* In single mode the listener reads with recvfrom, which returns no
 * flags: a datagram too long for the buffer is still dropped and counted
 * (its length shows it), and what a batch left in the flags is not taken
 * for the next datagram's. */
Test(rpc_core, a_single_reading_listener_drops_giants_only)
{
    struct rpc_instance *r = rpc__inst;
    static char giant[SEC_MAX_FRAME + 100];
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = port, /* network order */
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char msg[64] = "single";
    RPC2_PacketBuffer *rep = NULL;
    unsigned long giants = rpc2_Recvd.Giant;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    cr_assert_geq(fd, 0);
    cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &burst_h[0]), RPC2_SUCCESS);
    for (int i = 0; i < 2 * RPC_RX_ONES_TO_SINGLE; i++) {
        cr_assert_eq(rpct_call(burst_h[0], RPCT_OP_ECHO, msg, sizeof msg, &rep,
                               NULL),
                     RPC2_SUCCESS);
        RPC2_FreeBuffer(&rep);
    }
    cr_assert_gt(r->rx4.single_left, 1, "read one datagram at a time");
    cr_assert_eq(sendto(fd, giant, sizeof giant, 0, (struct sockaddr *)&to,
                        sizeof to),
                 (ssize_t)sizeof giant);
    for (int i = 0; i < 200 && rpc2_Recvd.Giant == giants; i++) {
        struct timeval tv = {0, 1000};
        IOMGR_Select(0, NULL, NULL, NULL, &tv);
    }
    cr_assert_eq(rpc2_Recvd.Giant, giants + 1, "the giant dropped, counted");
    r->rmsg[0].msg_hdr.msg_flags = MSG_TRUNC; /* as a batch may leave it */
    cr_assert_eq(rpct_call(burst_h[0], RPCT_OP_ECHO, msg, sizeof msg, &rep,
                           NULL),
                 RPC2_SUCCESS);
    RPC2_FreeBuffer(&rep);
    cr_assert_eq(rpc2_Recvd.Giant, giants + 1, "nothing else dropped");
    close(fd);
}

/* A socket whose kernel refuses UDP GSO (here: IPv4 checksums turned off
 * with SO_NO_CHECK, which Linux does not combine with segmentation): the
 * first segmented send fails, the queue sends one datagram at a time from
 * then on, and every call of the burst is still answered, once. */
Test(rpc_core, a_kernel_refusing_gso_gets_the_datagrams_one_by_one)
{
    struct rpc_instance *r = rpc__inst;
    int one = 1;
    unsigned long before = rpct_executions;

    cr_assert_eq(setsockopt(r->fd4, SOL_SOCKET, SO_NO_CHECK, &one, sizeof one),
                 0);
    for (int i = 0; i < BURST; i++) {
        cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &burst_h[i]),
                     RPC2_SUCCESS);
    }
    burst(16);
    cr_assert(r->sendq.gso_off, "GSO was refused and switched off");
    burst(16);
    cr_assert_eq(rpct_executions - before, 2u * BURST);
}
