/* SPDX-License-Identifier: MIT */
/* The smaller RPC2_* calls through the public API: initialisation errors,
 * IPv6, busy connections, liveness and network logs, state dumps, the
 * legacy helpers, and 10,000 connections bound at once. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lwp/iomgr.h>

#include "rpc_test.h"

static uint16_t port;

static void setup(void)
{
    port = rpct_init(-1, 0);
    rpct_start_servers(4);
}

static void teardown(void)
{
    rpct_fini();
}

TestSuite(rpc_api, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(rpc_init, .timeout = 30);

Test(rpc_init, without_lwp_init_is_lwpnotinit)
{
    cr_assert_eq(RPC2_Init(RPC2_VERSION, NULL, NULL, -1, NULL),
                 RPC2_LWPNOTINIT);
    /* Every other call reports the missing instance. */
    RPC2_Handle h;
    RPC2_PacketBuffer *pb = NULL;
    cr_assert_eq(RPC2_GetRequest(NULL, &h, &pb, NULL, NULL, 0, NULL),
                 RPC2_FAIL);
    cr_assert_eq(RPC2_Finalize(), RPC2_FAIL);
    cr_assert_eq(RPC2_Enable(300), RPC2_FAIL);
}

static int udp_socket_on(uint16_t *p)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    getsockname(fd, (struct sockaddr *)&sin, &len);
    *p = sin.sin_port;
    return fd;
}

Test(rpc_init, port_in_use_and_bad_address)
{
    PROCESS me;
    uint16_t used;
    int fd = udp_socket_on(&used);
    RPC2_PortIdent p = {.Tag = RPC2_PORTBYINETNUMBER};
    RPC2_HostIdent local = {.Tag = RPC2_HOSTBYINETADDR};

    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &me), LWP_SUCCESS);
    local.Value.InetAddress.s_addr = htonl(INADDR_LOOPBACK);
    RPC2_setbindaddr(&local);
    p.Value.InetPortNumber = used;
    cr_assert_eq(RPC2_Init(RPC2_VERSION, NULL, &p, -1, NULL),
                 RPC2_DUPLICATESERVER);
    /* An address this host does not have (TEST-NET-1). */
    local.Value.InetAddress.s_addr = htonl(0xC0000201);
    RPC2_setbindaddr(&local);
    p.Value.InetPortNumber = 0;
    cr_assert_eq(RPC2_Init(RPC2_VERSION, NULL, &p, -1, NULL), RPC2_BADSERVER);
    p.Tag = RPC2_DUMMYPORT;
    RPC2_setbindaddr(NULL);
    cr_assert_eq(RPC2_Init(RPC2_VERSION, NULL, &p, -1, NULL), RPC2_FAIL);
    /* RPC2_setip is the old spelling of setbindaddr. */
    struct in_addr lo = {htonl(INADDR_LOOPBACK)};
    RPC2_setip(&lo);
    struct in_addr old = RPC2_setip(&lo);
    cr_assert_eq(old.s_addr, lo.s_addr);
    p.Tag = RPC2_PORTBYINETNUMBER;
    cr_assert_eq(RPC2_Init(RPC2_VERSION, NULL, &p, -1, NULL), RPC2_SUCCESS);
    cr_assert_neq(p.Value.InetPortNumber, 0);
    cr_assert_eq(rpc2_LocalPort.Value.InetPortNumber, p.Value.InetPortNumber);
    cr_assert_eq(RPC2_Finalize(), RPC2_SUCCESS);
    cr_assert_eq(RPC2_Finalize(), RPC2_FAIL);
    RPC2_setbindaddr(NULL);
    close(fd);
    LWP_TerminateProcessSupport();
}

static int have_ipv6_loopback(void)
{
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6,
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&s6, sizeof s6) == 0;

    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

Test(rpc_init, ipv6_option_binds_over_ipv6_on_the_same_port)
{
    PROCESS me;
    RPC2_PortIdent p = {.Tag = RPC2_PORTBYINETNUMBER};
    RPC2_Options opt = {.Flags = RPC2_OPTION_IPV6};
    RPC2_SubsysIdent s = {.Tag = RPC2_SUBSYSBYID};

    if (!have_ipv6_loopback()) {
        cr_skip_test("no IPv6 loopback on this host");
    }
    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &me), LWP_SUCCESS);
    cr_assert_eq(RPC2_Init(RPC2_VERSION, &opt, &p, -1, NULL), RPC2_SUCCESS);
    s.Value.SubsysId = RPCT_SUBSYS;
    cr_assert_eq(RPC2_Export(&s), RPC2_SUCCESS);
    rpct_start_servers(2);

    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6,
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT,
                              .sin6_port = p.Value.InetPortNumber};
    struct RPC2_addrinfo *ai =
        RPC2_allocaddrinfo((struct sockaddr *)&s6, sizeof s6, SOCK_DGRAM, 0);
    RPC2_HostIdent host = {.Tag = RPC2_HOSTBYADDRINFO};
    RPC2_BindParms bp = {.SecurityLevel = RPC2_OPENKIMONO};
    RPC2_Handle h;
    RPC2_PeerInfo pi;
    RPC2_PacketBuffer *rep = NULL;

    host.Value.AddrInfo = ai;
    cr_assert_eq(RPC2_NewBinding(&host, NULL, &s, &bp, &h), RPC2_SUCCESS);
    RPC2_freeaddrinfo(ai);
    cr_assert_eq(rpct_call(h, RPCT_OP_ECHO, "six", 3, &rep, NULL),
                 RPC2_SUCCESS);
    RPC2_FreeBuffer(&rep);
    cr_assert_eq(RPC2_GetPeerInfo(h, &pi), RPC2_SUCCESS);
    cr_assert_eq(pi.RemoteHost.Tag, RPC2_HOSTBYADDRINFO);
    cr_assert_eq(pi.RemoteHost.Value.AddrInfo->ai_family, AF_INET6);
    RPC2_freeaddrinfo(pi.RemoteHost.Value.AddrInfo);
    /* IPv4 still works on the same port. */
    cr_assert_eq(rpct_bind(p.Value.InetPortNumber, RPC2_SECURE, NULL, &h),
                 RPC2_SUCCESS);
    cr_assert_eq(RPC2_Finalize(), RPC2_SUCCESS);
    LWP_TerminateProcessSupport();
}

static RPC2_Handle busy_conn;
static long slow_rc;

static void slow_caller(void *arg)
{
    RPC2_PacketBuffer *rep = NULL;
    uint32_t ms = htonl(300);

    (void)arg;
    slow_rc = rpct_call(busy_conn, RPCT_OP_SLEEP, &ms, 4, &rep, NULL);
    RPC2_FreeBuffer(&rep);
}

Test(rpc_api, a_busy_connection_refuses_or_queues_callers)
{
    PROCESS pid;
    RPC2_PacketBuffer *req = NULL, *rep = NULL;

    cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &busy_conn), RPC2_SUCCESS);
    slow_rc = 1;
    cr_assert_eq(LWP_CreateProcess(slow_caller, 65536, LWP_NORMAL_PRIORITY + 1,
                                   NULL, "slow", &pid),
                 LWP_SUCCESS);
    /* The slow call is out: a second call without enqueue is refused. */
    cr_assert_eq(RPC2_AllocBuffer(2, &req), RPC2_SUCCESS);
    memcpy(req->Body, "hi", 2);
    req->Header.Opcode = RPCT_OP_ECHO;
    cr_assert_eq(RPC2_MakeRPC(busy_conn, req, NULL, &rep, NULL, 0),
                 RPC2_CONNBUSY);
    cr_assert_eq(RPC2_Unbind(busy_conn), RPC2_CONNBUSY);
    /* With enqueue it waits for the slow call, then runs. */
    req->Header.BodyLength = 2;
    cr_assert_eq(RPC2_MakeRPC(busy_conn, req, NULL, &rep, NULL, 1),
                 RPC2_SUCCESS);
    cr_assert_eq(slow_rc, RPC2_SUCCESS);
    cr_assert_arr_eq(rep->Body, "hi", 2);
    RPC2_FreeBuffer(&rep);
    RPC2_FreeBuffer(&req);
    cr_assert_eq(RPC2_Unbind(busy_conn), RPC2_SUCCESS);
    cr_assert_eq(RPC2_Unbind(busy_conn), RPC2_NOCONNECTION);
}

Test(rpc_api, liveness_rtt_bandwidth_and_network_logs)
{
    RPC2_Handle h;
    RPC2_PacketBuffer *rep = NULL;
    struct timeval live, se, obs, before;
    unsigned long lo, avg, hi;
    RPC2_NetLogEntry e[RPC2_MAXLOGLENGTH];
    RPC2_NetLog log = {.Quantum = RPC2_MAXQUANTUM,
                       .NumEntries = RPC2_MAXLOGLENGTH,
                       .Entries = e};

    gettimeofday(&before, NULL);
    cr_assert_eq(rpct_bind(port, RPC2_OPENKIMONO, NULL, &h), RPC2_SUCCESS);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(rpct_call(h, RPCT_OP_ECHO, "x", 1, &rep, NULL),
                     RPC2_SUCCESS);
        RPC2_FreeBuffer(&rep);
    }
    cr_assert_eq(RPC2_GetPeerLiveness(h, &live, &se), RPC2_SUCCESS);
    cr_assert_geq(live.tv_sec, before.tv_sec);
    cr_assert_eq(se.tv_sec, 0);
    cr_assert_eq(RPC2_GetLastObs(h, &obs), RPC2_SUCCESS);
    cr_assert_eq(obs.tv_sec, live.tv_sec);
    cr_assert_eq(RPC2_GetBandwidth(h, &lo, &avg, &hi), RPC2_SUCCESS);
    cr_assert(lo > 0 && lo <= avg && avg <= hi, "%lu %lu %lu", lo, avg, hi);
    /* A sample per reply (and per INIT2/INIT4): newest first. */
    cr_assert_eq(RPC2_GetNetInfo(h, &log, NULL), RPC2_SUCCESS);
    cr_assert_geq(log.ValidEntries, 5);
    cr_assert_eq(e[0].Tag, RPC2_MEASURED_NLE);
    cr_assert_eq(e[0].Value.Measured.Conn, h);
    RPC2_NetLogEntry put = {.Tag = RPC2_STATIC_NLE};
    RPC2_NetLog in = {.NumEntries = 1, .Entries = &put};
    put.Value.Static.Bandwidth = 12345;
    cr_assert_eq(RPC2_PutNetInfo(h, &in, NULL), RPC2_SUCCESS);
    log.NumEntries = 1;
    cr_assert_eq(RPC2_GetNetInfo(h, &log, NULL), RPC2_SUCCESS);
    cr_assert_eq(e[0].Tag, RPC2_STATIC_NLE);
    cr_assert_eq(e[0].Value.Static.Bandwidth, 12345);
    cr_assert_eq(RPC2_ClearNetInfo(h), RPC2_SUCCESS);
    log.NumEntries = RPC2_MAXLOGLENGTH;
    cr_assert_eq(RPC2_GetNetInfo(h, &log, NULL), RPC2_SUCCESS);
    cr_assert_eq(log.ValidEntries, 0);
    cr_assert_eq(RPC2_GetNetInfo(h, NULL, NULL), RPC2_FAIL);
    cr_assert_eq(RPC2_GetNetInfo(1, &log, NULL), RPC2_NOCONNECTION);
    cr_assert_eq(RPC2_ClearNetInfo(1), RPC2_NOCONNECTION);
    cr_assert_eq(RPC2_GetPeerLiveness(h, NULL, &se), RPC2_FAIL);
    cr_assert_eq(RPC2_GetPeerLiveness(1, &live, &se), RPC2_NOCONNECTION);
    cr_assert_eq(RPC2_GetBandwidth(1, &lo, &avg, &hi), RPC2_NOCONNECTION);
    cr_assert_eq(RPC2_GetLastObs(1, &obs), RPC2_NOCONNECTION);
}

Test(rpc_api, set_timeout_bounds_a_bind_it_is_set_on)
{
    RPC2_Handle h;
    struct timeval tv = {1, 0}, bad = {-1, 0};

    cr_assert_eq(rpct_bind(port, RPC2_OPENKIMONO, NULL, &h), RPC2_SUCCESS);
    cr_assert_eq(RPC2_SetTimeout(h, tv), RPC2_SUCCESS);
    cr_assert_eq(RPC2_SetTimeout(h, bad), RPC2_FAIL);
    cr_assert_eq(RPC2_SetTimeout(1, tv), RPC2_NOCONNECTION);
}

static int count_occurrences(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) {
        n++;
    }
    return n;
}

Test(rpc_api, dump_state_shows_connections_but_never_keys)
{
    RPC2_Handle h;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    char hex[3 * RPC2_KEYSIZE + 1] = "";

    cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &h), RPC2_SUCCESS);
    cr_assert_eq(RPC2_DumpState(f, 1), RPC2_SUCCESS);
    cr_assert_eq(RPC2_DumpTrace(f, 10), RPC2_SUCCESS);
    cr_assert_eq(RPC2_InitTraceBuffer(10), RPC2_SUCCESS);
    fclose(f);
    char handle[32];
    snprintf(handle, sizeof handle, "conn %d ", h);
    cr_assert_eq(count_occurrences(text, handle), 1, "%s", text);
    cr_assert_eq(count_occurrences(text, "client"), 1);
    cr_assert_eq(count_occurrences(text, "server"), 1);
    /* Neither the secret nor the session key, as text or in hex. */
    for (int i = 0; i < RPC2_KEYSIZE; i++) {
        snprintf(hex + 2 * i, 3, "%02x", rpct_secret[i]);
    }
    cr_assert_null(strstr(text, (const char *)"secret!!"));
    cr_assert_null(strstr(text, hex));
    cr_assert_null(strstr(text, "5a5a5a5a"));
    free(text);
}

Test(rpc_api, dispatch_process_and_legacy_helpers)
{
    char in[13] = "hello world!", out[13], back[13];
    RPC2_EncryptionKey key = {1, 2, 3, 4, 5, 6, 7, 8};

    RPC2_DispatchProcess();
    rpc2_Encrypt(in, out, 12, key, RPC2_XOR);
    cr_assert_eq(out[0], 'h' ^ 1);
    cr_assert_eq(out[8], 'r' ^ 1);
    rpc2_Decrypt(out, back, 12, key, RPC2_XOR);
    cr_assert_arr_eq(back, in, 12);
    rpc2_InitRandom();
    unsigned a = rpc2_NextRandom(NULL), b = rpc2_NextRandom(NULL);
    cr_assert(a != b || rpc2_NextRandom(NULL) != a);
    cr_assert_eq(RPC2_SetBindLimit(5), RPC2_SUCCESS);
    SE_Descriptor sd;
    cr_assert_eq(RPC2_InitSideEffect(1, &sd), RPC2_NOCONNECTION);
    cr_assert_eq(RPC2_CheckSideEffect(1, &sd, SE_AWAITLOCALSTATUS),
                 RPC2_NOCONNECTION);
    RPC2_Handle h;
    cr_assert_eq(rpct_bind(port, RPC2_OPENKIMONO, NULL, &h), RPC2_SUCCESS);
    cr_assert_eq(RPC2_InitSideEffect(h, &sd), RPC2_FAIL);
    struct SFTP_Entry *se = (struct SFTP_Entry *)&sd;
    cr_assert_eq(RPC2_SetSEPointer(h, se), RPC2_SUCCESS);
    se = NULL;
    cr_assert_eq(RPC2_GetSEPointer(h, &se), RPC2_SUCCESS);
    cr_assert_eq((void *)se, (void *)&sd);
    cr_assert_eq(RPC2_GetSEPointer(1, &se), RPC2_NOCONNECTION);
}

Test(rpc_api, ten_thousand_connections_bound_at_once, .timeout = 120)
{
    enum { N = 10000 };
    static RPC2_Handle hs[N];
    RPC2_PacketBuffer *rep = NULL;

    for (int i = 0; i < N; i++) {
        cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &hs[i]), RPC2_SUCCESS,
                     "bind %d", i);
    }
    cr_assert_eq(rpct_binds, N);
    for (int i = 0; i < N; i += 37) {
        cr_assert_eq(rpct_call(hs[i], RPCT_OP_ECHO, "x", 1, &rep, NULL),
                     RPC2_SUCCESS);
        RPC2_FreeBuffer(&rep);
    }
    /* Both ends of every connection live in this instance. */
    cr_assert_eq(rpc2_ConnCount, 2 * N);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(RPC2_Unbind(hs[i]), RPC2_SUCCESS);
    }
    cr_assert_eq(rpc2_ConnCount, N);
}
