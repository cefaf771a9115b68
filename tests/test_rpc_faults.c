/* SPDX-License-Identifier: MIT */
/*
 * The RPC runtime through the seeded UDP fault proxy (support/
 * rpc_udp_proxy.c): loss, duplication and reordering; replayed, tampered
 * and forged packets; a request lost before a Patience timeout (F4a).
 * Client and server share one RPC instance; the client binds to the proxy,
 * which relays to the instance's own port.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/time.h>

#include <lwp/iomgr.h>

#include "rpc_test.h"
#include "support/rpc_udp_proxy.h"

static uint16_t port;
static struct rpc_proxy *proxy;

static void start(long retries, long keepalive_ms, uint64_t seed)
{
    struct sockaddr_in srv = {.sin_family = AF_INET};

    port = rpct_init(retries, keepalive_ms);
    rpct_start_servers(16);
    srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.sin_port = port;
    proxy = rpc_proxy_start(&srv, seed, 64);
    cr_assert_not_null(proxy);
}

static uint16_t proxy_port(void)
{
    return htons(rpc_proxy_port(proxy));
}

static void stop(void)
{
    rpc_proxy_stop(proxy);
    rpct_fini();
}

enum { CONNS = 100, CALLS = 100 };
static int done_lwps, bad_results;
static long last_bad;
static uint32_t next_id; /* a fresh id per call, across all callers */

static void caller(void *arg)
{
    RPC2_Handle h = (RPC2_Handle)(intptr_t)arg;
    RPC2_PacketBuffer *rep = NULL;

    for (int i = 0; i < CALLS; i++) {
        uint32_t id = next_id++, net = htonl(id);
        long rc = rpct_call(h, RPCT_OP_ONCE, &net, 4, &rep, NULL);
        if (rc != RPC2_SUCCESS || rep->Header.BodyLength != 4 ||
            memcmp(rep->Body, &net, 4) != 0) {
            bad_results++;
            last_bad = rc;
            if (rc != RPC2_SUCCESS) {
                break; /* the connection is unusable now */
            }
        }
        RPC2_FreeBuffer(&rep);
    }
    done_lwps++;
    LWP_NoYieldSignal(&done_lwps);
}

Test(rpc_faults, ten_thousand_calls_through_loss_duplication_and_reordering,
     .timeout = 120)
{
    /* Independent 30% loss each way: a round trip fails with p = 0.51.
     * Coda's longest schedule sends a request 16 times; the server sends
     * the saved reply of a retransmitted request twice, so a retry fails
     * with p = 0.36 and a call dies with p = 0.51 * 0.36^15 ~ 1e-7. */
    struct rpc_proxy_faults f = {.drop = 0.30, .duplicate = 0.10,
                                 .reorder = 0.10, .reorder_max_us = 2000};
    static RPC2_Handle hs[CONNS];

    /* RetryCount 15 with KeepAlive 8 s: retransmissions every ~0.1 s at
     * first, so a call survives the long runs of loss 30% gives. */
    start(15, 8000, 0x5eed);
    for (int i = 0; i < CONNS; i++) {
        cr_assert_eq(rpct_bind(proxy_port(), RPC2_SECURE, NULL, &hs[i]),
                     RPC2_SUCCESS);
    }
    rpc_proxy_set_faults(proxy, RPC_PROXY_TO_SERVER, &f);
    rpc_proxy_set_faults(proxy, RPC_PROXY_TO_CLIENT, &f);
    done_lwps = bad_results = 0;
    next_id = 0;
    for (int i = 0; i < CONNS; i++) {
        PROCESS pid;
        cr_assert_eq(LWP_CreateProcess(caller, 65536, LWP_NORMAL_PRIORITY,
                                       (void *)(intptr_t)hs[i], "caller", &pid),
                     LWP_SUCCESS);
    }
    while (done_lwps < CONNS) {
        LWP_WaitProcess(&done_lwps);
    }
    cr_assert_eq(bad_results, 0, "%d calls failed, the last with %s",
                 bad_results, RPC2_ErrorMsg(last_bad));
    /* At most once: every call ran exactly once at the server. */
    for (int id = 0; id < CONNS * CALLS; id++) {
        cr_assert_eq(rpct_once[id], 1, "call %d ran %d times", id, rpct_once[id]);
    }
    struct rpc_proxy_stats up, down;
    rpc_proxy_get_stats(proxy, RPC_PROXY_TO_SERVER, &up);
    rpc_proxy_get_stats(proxy, RPC_PROXY_TO_CLIENT, &down);
    /* About 30% of what reached the proxy in each direction was lost. */
    cr_assert_gt(up.dropped, up.received / 4);
    cr_assert_lt(up.dropped, up.received * 7 / 20);
    cr_assert_gt(down.dropped, down.received / 4);
    cr_assert_gt(down.duplicated, 300);
    cr_assert_gt(up.reordered, 300);
    cr_assert_gt(rpc2_Sent.Retries, 1000);
    stop();
}

/* The server keeps each reply for a retransmitted request, and keeps the
 * buffer of a superseded one to hold the next reply when it fits: replies
 * that grow and shrink from call to call, half of them lost, must still
 * come back whole and each call run once. */
Test(rpc_faults, lost_replies_of_changing_sizes_are_resent_whole,
     .timeout = 60)
{
    static const size_t sizes[] = {4, 3000, 16, 4000, 200, 1400};
    struct rpc_proxy_faults f = {.drop = 0.50};
    static uint8_t body[4000];
    RPC2_PacketBuffer *rep = NULL;
    RPC2_Handle h;
    enum { N = 60 };

    start(15, 4000, 0x51ce);
    cr_assert_eq(rpct_bind(proxy_port(), RPC2_SECURE, NULL, &h), RPC2_SUCCESS);
    rpc_proxy_set_faults(proxy, RPC_PROXY_TO_CLIENT, &f);
    for (uint32_t id = 0; id < N; id++) {
        size_t len = sizes[id % (sizeof sizes / sizeof sizes[0])];
        uint32_t net = htonl(id);

        for (size_t k = 4; k < len; k++) {
            body[k] = (uint8_t)(id * 7 + k);
        }
        memcpy(body, &net, 4);
        cr_assert_eq(rpct_call(h, RPCT_OP_ONCE, body, len, &rep, NULL),
                     RPC2_SUCCESS, "call %u", id);
        cr_assert_eq(rep->Header.BodyLength, len, "call %u", id);
        cr_assert_eq(memcmp(rep->Body, body, len), 0, "call %u", id);
        RPC2_FreeBuffer(&rep);
        cr_assert_eq(rpct_once[id], 1, "call %u ran %d times", id,
                     rpct_once[id]);
    }
    struct rpc_proxy_stats down;
    rpc_proxy_get_stats(proxy, RPC_PROXY_TO_CLIENT, &down);
    cr_assert_gt(down.dropped, N / 4); /* saved replies were resent */
    stop();
}

/* The newest datagram of a direction from the capture. */
static size_t newest(enum rpc_proxy_dir dir, uint8_t *buf, size_t cap,
                     struct sockaddr_in *client)
{
    size_t len = 0;
    cr_assert_eq(rpc_proxy_captured(proxy, dir, 0, buf, cap, &len, client), 0);
    return len;
}

static void settle(void)
{
    struct timeval tv = {0, 50000};
    IOMGR_Select(0, NULL, NULL, NULL, &tv);
}

Test(rpc_faults, replayed_tampered_and_forged_packets_change_nothing,
     .timeout = 60)
{
    RPC2_Handle h;
    RPC2_PacketBuffer *rep = NULL;
    uint8_t req[4500], bad[4500];
    struct sockaddr_in client;
    uint32_t id = htonl(7);

    start(-1, 0, 1);
    cr_assert_eq(rpct_bind(proxy_port(), RPC2_SECURE, NULL, &h), RPC2_SUCCESS);
    cr_assert_eq(rpct_call(h, RPCT_OP_ONCE, &id, 4, &rep, NULL), RPC2_SUCCESS);
    RPC2_FreeBuffer(&rep);
    size_t len = newest(RPC_PROXY_TO_SERVER, req, sizeof req, &client);
    cr_assert_gt(len, 60);
    unsigned long bogus = rpc2_Recvd.Bogus;

    /* Replay: the anti-replay window drops it before anything else. */
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(rpc_proxy_inject(proxy, RPC_PROXY_TO_SERVER, &client,
                                      req, len), 0);
    }
    settle();
    cr_assert_eq(rpc2_Recvd.Bogus, bogus + 5);
    /* Every single-bit flip: dropped and counted. */
    for (size_t bit = 0; bit < len * 8; bit++) {
        memcpy(bad, req, len);
        bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        rpc_proxy_inject(proxy, RPC_PROXY_TO_SERVER, &client, bad, len);
        if (bit % 64 == 63) {
            settle();
        }
    }
    settle();
    cr_assert_eq(rpc2_Recvd.Bogus, bogus + 5 + len * 8);
    /* A forged frame with an SPI nobody owns. */
    memcpy(bad, req, len);
    bad[0] ^= 0x40;
    bad[1] ^= 0x21;
    rpc_proxy_inject(proxy, RPC_PROXY_TO_SERVER, &client, bad, len);
    settle();
    cr_assert_eq(rpc2_Recvd.Bogus, bogus + 6 + len * 8);
    cr_assert_eq(rpct_once[7], 1);
    /* And the connection still works. */
    id = htonl(8);
    cr_assert_eq(rpct_call(h, RPCT_OP_ONCE, &id, 4, &rep, NULL), RPC2_SUCCESS);
    RPC2_FreeBuffer(&rep);
    cr_assert_eq(rpct_once[8], 1);
    stop();
}

static int drop_requests;

static int drop_hook(void *arg, enum rpc_proxy_dir dir, uint8_t *buf,
                     size_t *len, size_t cap)
{
    (void)arg, (void)buf, (void)len, (void)cap;
    return dir == RPC_PROXY_TO_SERVER && drop_requests ? RPC_PROXY_DROP
                                                       : RPC_PROXY_FORWARD;
}

Test(rpc_faults, a_request_lost_before_patience_ran_out_does_not_wedge,
     .timeout = 60)
{
    RPC2_Handle h;
    RPC2_PacketBuffer *rep = NULL;
    struct timeval pat = {0, 150000}, t0, t1;
    uint32_t id = htonl(1);

    start(-1, 0, 2);
    cr_assert_eq(rpct_bind(proxy_port(), RPC2_AUTHONLY, NULL, &h),
                 RPC2_SUCCESS);
    rpc_proxy_set_hook(proxy, drop_hook, NULL);
    drop_requests = 1;
    cr_assert_eq(rpct_call(h, RPCT_OP_ONCE, &id, 4, &rep, &pat), RPC2_TIMEOUT);
    drop_requests = 0;
    /* F4a: the server accepts the next request although it never saw the
     * one that timed out (Coda's server ignored it: the call died). */
    id = htonl(2);
    gettimeofday(&t0, NULL);
    cr_assert_eq(rpct_call(h, RPCT_OP_ONCE, &id, 4, &rep, NULL), RPC2_SUCCESS);
    gettimeofday(&t1, NULL);
    RPC2_FreeBuffer(&rep);
    cr_assert_lt((t1.tv_sec - t0.tv_sec) + (t1.tv_usec - t0.tv_usec) * 1e-6,
                 0.5);
    cr_assert_eq(rpct_once[1], 0);
    cr_assert_eq(rpct_once[2], 1);
    stop();
}
