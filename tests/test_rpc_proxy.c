/* SPDX-License-Identifier: MIT */
/*
 * The UDP fault proxy (support/rpc_udp_proxy.h) alone, between plain
 * blocking UDP sockets on 127.0.0.1: relaying and NAT, the PRNG's
 * determinism, each fault and its rate, capture and injection, the
 * statistics' invariant, bounds and a clean stop.
 *
 * Datagrams are numbered (4 bytes, host order, then a fill byte), so the
 * server side can tell exactly which arrived, how often and in what order.
 * Packets whose relative order matters are sent one at a time, each once
 * the proxy has counted the previous one.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "support/rpc_udp_proxy.h"

#define PKT 32      /* bytes of a numbered test datagram */
#define WAIT_MS 5000 /* a datagram expected now arrives within this */

static int server_fd = -1;
static struct sockaddr_in server_addr, proxy_addr;
static struct rpc_proxy *proxy;

/* ---- Sockets ---- */

static int udp_socket(struct sockaddr_in *addr)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int size = 1 << 20;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    cr_assert_geq(fd, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    if (addr)
        *addr = sa;
    return fd;
}

/* Length of the datagram received within ms, or -1 if none came. */
static ssize_t recv_within(int fd, void *buf, size_t cap, int ms,
                           struct sockaddr_in *from)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    socklen_t flen = sizeof(*from);

    if (poll(&pfd, 1, ms) != 1)
        return -1;
    return recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)from,
                    from ? &flen : NULL);
}

static void send_to(int fd, const struct sockaddr_in *to, const void *buf,
                    size_t len)
{
    cr_assert_eq(sendto(fd, buf, len, 0, (const struct sockaddr *)to,
                        sizeof(*to)),
                 (ssize_t)len);
}

static void make_pkt(uint8_t *buf, uint32_t n)
{
    memcpy(buf, &n, sizeof(n));
    memset(buf + sizeof(n), (int)(n & 0xff), PKT - sizeof(n));
}

static uint32_t pkt_number(const uint8_t *buf)
{
    uint32_t n;

    memcpy(&n, buf, sizeof(n));
    return n;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Proxy helpers ---- */

static struct rpc_proxy_stats stats(enum rpc_proxy_dir dir)
{
    struct rpc_proxy_stats s;

    rpc_proxy_get_stats(proxy, dir, &s);
    return s;
}

/* Waits until the proxy has received `count` datagrams in dir. */
static void wait_received(enum rpc_proxy_dir dir, uint64_t count)
{
    double end = now_s() + WAIT_MS / 1000.0;

    while (stats(dir).received < count && now_s() < end)
        usleep(200);
    cr_assert_eq(stats(dir).received, count);
}

static void wait_settled(enum rpc_proxy_dir dir)
{
    double end = now_s() + 30.0; /* delays in these tests are far shorter */

    while (stats(dir).pending > 0 && now_s() < end)
        usleep(500);
    cr_assert_eq(stats(dir).pending, 0);
}

static void start_proxy(uint64_t seed, size_t depth)
{
    proxy = rpc_proxy_start(&server_addr, seed, depth);
    cr_assert_not_null(proxy, "rpc_proxy_start: %s", strerror(errno));
    rpc_proxy_address(proxy, &proxy_addr);
}

static void setup(void)
{
    server_fd = udp_socket(&server_addr);
}

static void teardown(void)
{
    rpc_proxy_stop(proxy);
    proxy = NULL;
    if (server_fd >= 0)
        close(server_fd);
    server_fd = -1;
}

/* Sends numbers from..from+count-1 one at a time, each after the proxy
 * counted the one before (so the proxy sees exactly this order). */
static void send_sequenced(int fd, uint32_t from, uint32_t count)
{
    uint64_t base = stats(RPC_PROXY_TO_SERVER).received;
    uint8_t buf[PKT];

    for (uint32_t i = 0; i < count; i++) {
        make_pkt(buf, from + i);
        send_to(fd, &proxy_addr, buf, PKT);
        wait_received(RPC_PROXY_TO_SERVER, base + i + 1);
    }
}

/* Reads every datagram the server gets until none comes for ms; returns
 * how many, and (nums not NULL) their numbers in order in nums[0..max). */
static int drain_server(uint32_t *nums, int max, int ms)
{
    uint8_t buf[RPC_PROXY_MAX_DATAGRAM];
    int n = 0;
    ssize_t len;

    while ((len = recv_within(server_fd, buf, sizeof(buf), ms, NULL)) >= 0) {
        if (nums && n < max) {
            cr_assert_eq(len, PKT);
            nums[n] = pkt_number(buf);
        }
        n++;
    }
    return n;
}

TestSuite(rpc_proxy, .init = setup, .fini = teardown, .timeout = 60);

/* ---- Relay and NAT ---- */

Test(rpc_proxy, passthrough_both_ways_with_one_upstream_per_client)
{
    struct sockaddr_in a_addr, b_addr, from_a, from_b, from;
    int a = udp_socket(&a_addr), b = udp_socket(&b_addr);
    char buf[64];

    start_proxy(1, 0);
    send_to(a, &proxy_addr, "hello from A", 12);
    cr_assert_eq(recv_within(server_fd, buf, sizeof(buf), WAIT_MS, &from_a), 12);
    cr_assert_arr_eq(buf, "hello from A", 12);
    send_to(b, &proxy_addr, "hello from B!", 13);
    cr_assert_eq(recv_within(server_fd, buf, sizeof(buf), WAIT_MS, &from_b), 13);
    cr_assert_arr_eq(buf, "hello from B!", 13);
    /* The server sees two proxy addresses, neither a client's. */
    cr_assert_neq(from_a.sin_port, from_b.sin_port);
    cr_assert_neq(from_a.sin_port, a_addr.sin_port);
    cr_assert_neq(from_b.sin_port, proxy_addr.sin_port);
    cr_assert_eq(rpc_proxy_clients(proxy), 2);

    send_to(server_fd, &from_b, "to B", 4);
    send_to(server_fd, &from_a, "to A", 4);
    cr_assert_eq(recv_within(a, buf, sizeof(buf), WAIT_MS, &from), 4);
    cr_assert_arr_eq(buf, "to A", 4);
    cr_assert_eq(from.sin_port, proxy_addr.sin_port);
    cr_assert_eq(recv_within(b, buf, sizeof(buf), WAIT_MS, &from), 4);
    cr_assert_arr_eq(buf, "to B", 4);

    /* A second datagram from A reuses its upstream socket. */
    send_to(a, &proxy_addr, "again", 5);
    cr_assert_eq(recv_within(server_fd, buf, sizeof(buf), WAIT_MS, &from), 5);
    cr_assert_eq(from.sin_port, from_a.sin_port);
    cr_assert_eq(rpc_proxy_clients(proxy), 2);
    cr_assert_eq(stats(RPC_PROXY_TO_SERVER).received, 3);
    cr_assert_eq(stats(RPC_PROXY_TO_SERVER).forwarded, 3);
    cr_assert_eq(stats(RPC_PROXY_TO_CLIENT).forwarded, 2);
    close(a);
    close(b);
}

Test(rpc_proxy, empty_datagram_is_relayed)
{
    struct sockaddr_in from;
    int c = udp_socket(NULL);
    char buf[8];

    start_proxy(2, 0);
    send_to(c, &proxy_addr, "", 0);
    cr_assert_eq(recv_within(server_fd, buf, sizeof(buf), WAIT_MS, &from), 0);
    close(c);
}

/* ---- The PRNG and decisions ---- */

Test(rpc_proxy, rng_is_splitmix64)
{
    struct rpc_proxy_rng r = {.state = 0};

    /* splitmix64's published first outputs from state 0. */
    cr_assert_eq(rpc_proxy_rng_next(&r), 0xe220a8397b1dcdafULL);
    cr_assert_eq(rpc_proxy_rng_next(&r), 0x6e789e6aa1b965f4ULL);
}

/* The decisions a proxy seeded with `seed` makes for n datagrams of
 * len bytes in dir. */
static void decide_many(uint64_t seed, enum rpc_proxy_dir dir,
                        const struct rpc_proxy_faults *f, size_t len,
                        struct rpc_proxy_decision *out, int n)
{
    struct rpc_proxy_rng r;

    rpc_proxy_rng_seed(&r, seed, dir);
    for (int i = 0; i < n; i++)
        rpc_proxy_decide(&r, f, len, &out[i]);
}

Test(rpc_proxy, same_seed_same_decisions)
{
    static struct rpc_proxy_decision x[10000], y[10000], z[10000];
    const struct rpc_proxy_faults f = {.drop = 0.3, .duplicate = 0.1,
                                       .reorder = 0.2, .tamper = 0.05,
                                       .delay_max_us = 1000};

    decide_many(42, RPC_PROXY_TO_SERVER, &f, 100, x, 10000);
    decide_many(42, RPC_PROXY_TO_SERVER, &f, 100, y, 10000);
    cr_assert_arr_eq(x, y, sizeof(x));
    decide_many(43, RPC_PROXY_TO_SERVER, &f, 100, z, 10000);
    cr_assert_arr_neq(x, z, sizeof(x));
    decide_many(42, RPC_PROXY_TO_CLIENT, &f, 100, z, 10000);
    cr_assert_arr_neq(x, z, sizeof(x));
}

Test(rpc_proxy, decisions_use_fixed_draws_whatever_the_faults)
{
    struct rpc_proxy_faults none = {0}, some = {.drop = 0.5, .tamper = 1};
    struct rpc_proxy_rng r1, r2;
    struct rpc_proxy_decision d;

    rpc_proxy_rng_seed(&r1, 7, RPC_PROXY_TO_SERVER);
    rpc_proxy_rng_seed(&r2, 7, RPC_PROXY_TO_SERVER);
    rpc_proxy_decide(&r1, &none, 10, &d);
    cr_assert(!d.drop && !d.tamper && !d.duplicate && !d.reorder);
    cr_assert_eq(d.delay_us[0] + d.delay_us[1], 0);
    rpc_proxy_decide(&r2, &some, 0, &d);
    cr_assert(!d.tamper); /* nothing to flip in an empty datagram */
    cr_assert_eq(r1.state, r2.state);
    for (int i = 0; i < RPC_PROXY_DRAWS; i++)
        rpc_proxy_rng_next(&r2);
    rpc_proxy_rng_seed(&r1, 7, RPC_PROXY_TO_SERVER);
    rpc_proxy_decide(&r1, &some, 10, &d);
    rpc_proxy_decide(&r1, &some, 10, &d);
    cr_assert_eq(r1.state, r2.state);
}

Test(rpc_proxy, decision_rates_over_10000)
{
    static struct rpc_proxy_decision d[10000];
    const struct rpc_proxy_faults f = {.drop = 0.3, .duplicate = 0.1,
                                       .reorder = 0.2, .tamper = 0.05,
                                       .delay_max_us = 1000};
    int drop = 0, dup = 0, reo = 0, tam = 0;
    double delay_sum = 0;

    decide_many(99, RPC_PROXY_TO_SERVER, &f, 100, d, 10000);
    for (int i = 0; i < 10000; i++) {
        drop += d[i].drop;
        dup += d[i].duplicate;
        reo += d[i].reorder;
        tam += d[i].tamper;
        cr_assert_lt(d[i].bit, 800);
        cr_assert_leq(d[i].delay_us[0], 1000);
        cr_assert_leq(d[i].delay_us[1], 1000);
        delay_sum += d[i].delay_us[0];
    }
    cr_assert(drop >= 2500 && drop <= 3500, "drop %d", drop);
    cr_assert(dup >= 800 && dup <= 1200, "dup %d", dup);
    cr_assert(reo >= 1700 && reo <= 2300, "reorder %d", reo);
    cr_assert(tam >= 350 && tam <= 650, "tamper %d", tam);
    cr_assert(delay_sum / 10000 > 450 && delay_sum / 10000 < 550);
}

/* ---- Faults end to end ---- */

/* 10,000 datagrams in batches (so no socket buffer overflows), 30% dropped
 * and 10% duplicated: the server gets exactly what the proxy forwarded,
 * every datagram not dropped at least once, none more than twice. */
Test(rpc_proxy, rates_honoured_over_10000_datagrams)
{
    static uint8_t seen[10000];
    static uint32_t nums[64 * 2];
    const struct rpc_proxy_faults f = {.drop = 0.3, .duplicate = 0.1};
    struct rpc_proxy_stats s;
    int c = udp_socket(NULL), got = 0, distinct = 0;
    uint8_t buf[PKT];

    start_proxy(2024, 0);
    rpc_proxy_set_faults(proxy, RPC_PROXY_TO_SERVER, &f);
    for (uint32_t i = 0; i < 10000; i += 64) {
        uint64_t fwd_before = stats(RPC_PROXY_TO_SERVER).forwarded;
        int want, n = 0;

        for (uint32_t k = i; k < i + 64 && k < 10000; k++) {
            make_pkt(buf, k);
            send_to(c, &proxy_addr, buf, PKT);
        }
        wait_received(RPC_PROXY_TO_SERVER, i + 64 < 10000 ? i + 64 : 10000);
        want = (int)(stats(RPC_PROXY_TO_SERVER).forwarded - fwd_before);
        while (n < want) {
            cr_assert_geq(recv_within(server_fd, buf, PKT, WAIT_MS, NULL), 0);
            nums[n++] = pkt_number(buf);
        }
        for (int k = 0; k < n; k++) {
            cr_assert_lt(nums[k], 10000);
            cr_assert_lt(seen[nums[k]], 2);
            distinct += seen[nums[k]]++ == 0;
        }
        got += n;
    }
    s = stats(RPC_PROXY_TO_SERVER);
    cr_assert_eq(s.received, 10000);
    cr_assert_eq((uint64_t)got, s.forwarded);
    cr_assert_eq((uint64_t)distinct, s.received - s.dropped);
    cr_assert(s.dropped >= 2500 && s.dropped <= 3500, "dropped %lu",
              (unsigned long)s.dropped);
    cr_assert(s.duplicated >= 560 && s.duplicated <= 840, "dup %lu",
              (unsigned long)s.duplicated);
    cr_assert_eq(s.forwarded, s.received - s.dropped + s.duplicated);
    close(c);
}

/* The numbers the server gets for one run of `count` sequenced datagrams
 * through a fresh proxy. A held datagram must leave after the next one,
 * never by its deadline (a matter of timing): f->reorder_max_us must be
 * far longer than a datagram's trip, even under valgrind. */
static int run_sequence(uint64_t seed, const struct rpc_proxy_faults *f,
                        uint32_t *nums, int max, uint32_t count)
{
    int c = udp_socket(NULL), n;

    start_proxy(seed, 0);
    rpc_proxy_set_faults(proxy, RPC_PROXY_TO_SERVER, f);
    send_sequenced(c, 0, count);
    /* A fault-free last datagram releases one still held back. */
    rpc_proxy_set_faults(proxy, RPC_PROXY_TO_SERVER, NULL);
    send_sequenced(c, count, 1);
    wait_settled(RPC_PROXY_TO_SERVER);
    n = drain_server(nums, max, 100);
    rpc_proxy_stop(proxy);
    proxy = NULL;
    close(c);
    return n;
}

Test(rpc_proxy, same_seed_same_outcome_end_to_end)
{
    static uint32_t x[1000], y[1000], z[1000];
    const struct rpc_proxy_faults f = {.drop = 0.3, .duplicate = 0.2,
                                       .reorder = 0.2,
                                       .reorder_max_us = 20000000};
    int nx = run_sequence(5, &f, x, 1000, 300);
    int ny = run_sequence(5, &f, y, 1000, 300);
    int nz = run_sequence(6, &f, z, 1000, 300);

    cr_assert_eq(nx, ny);
    cr_assert_arr_eq(x, y, (size_t)nx * sizeof(x[0]));
    cr_assert(nz != nx || memcmp(x, z, (size_t)nx * sizeof(x[0])) != 0);
    cr_assert(nx > 150 && nx < 300, "%d", nx); /* faults did happen */
}

Test(rpc_proxy, duplicate_sends_each_twice_in_order)
{
    const struct rpc_proxy_faults f = {.duplicate = 1.0};
    uint32_t nums[16];
    int c = udp_socket(NULL);

    start_proxy(3, 0);
    rpc_proxy_set_faults(proxy, RPC_PROXY_TO_SERVER, &f);
    send_sequenced(c, 10, 4);
    cr_assert_eq(drain_server(nums, 16, 100), 8);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(nums[i], 10 + (uint32_t)i / 2);
    cr_assert_eq(stats(RPC_PROXY_TO_SERVER).duplicated, 4);
    cr_assert_eq(stats(RPC_PROXY_TO_SERVER).forwarded, 8);
    close(c);
}

/* Every datagram chosen: each held one leaves right after the next, which
 * (a datagram being held) is not held itself. */
Test(rpc_proxy, reorder_swaps_pairs)
{
    const struct rpc_proxy_faults f = {.reorder = 1.0,
                                       .reorder_max_us = 20000000};
    const uint32_t want[] = {1, 0, 3, 2, 5, 4};
    uint32_t nums[8];
    int c = udp_socket(NULL);

    start_proxy(4, 0);
    rpc_proxy_set_faults(proxy, RPC_PROXY_TO_SERVER, &f);
    send_sequenced(c, 0, 6);
    cr_assert_eq(drain_server(nums, 8, 100), 6);
    cr_assert_arr_eq(nums, want, sizeof(want));
    cr_assert_eq(stats(RPC_PROXY_TO_SERVER).reordered, 3);
    cr_assert_eq(stats(RPC_PROXY_TO_SERVER).pending, 0);
    close(c);
}

Test(rpc_proxy, held_datagram_leaves_after_reorder_max)
{
    const struct rpc_proxy_faults f = {.reorder = 1.0,
                                       .reorder_max_us = 100000};
    uint8_t buf[PKT];
    int c = udp_socket(NULL);
    double t0;

    start_proxy(5, 0);
    rpc_proxy_set_faults(proxy, RPC_PROXY_TO_SERVER, &f);
    make_pkt(buf, 77);
    t0 = now_s();
    send_to(c, &proxy_addr, buf, PKT);
    wait_received(RPC_PROXY_TO_SERVER, 1);
    cr_assert_eq(stats(RPC_PROXY_TO_SERVER).pending, 1);
    cr_assert_eq(recv_within(server_fd, buf, PKT, WAIT_MS, NULL), PKT);
    cr_assert_geq(now_s() - t0, 0.1); /* held at least reorder_max */
    cr_assert_eq(pkt_number(buf), 77);
    cr_assert_eq(stats(RPC_PROXY_TO_SERVER).pending, 0);
    close(c);
}

/* Each datagram arrives no earlier than the delay the PRNG gave it (the
 * proxy saw it after we sent it) and within a generous second more. */
Test(rpc_proxy, delay_within_bounds)
{
    enum { N = 40 };
    const struct rpc_proxy_faults f = {.delay_max_us = 50000};
    struct rpc_proxy_decision d[N];
    double sent[N];
    uint8_t buf[PKT];
    int c = udp_socket(NULL), delayed = 0;

    decide_many(6, RPC_PROXY_TO_SERVER, &f, PKT, d, N);
    for (int i = 0; i < N; i++)
        delayed += d[i].delay_us[0] > 0;
    start_proxy(6, 0);
    rpc_proxy_set_faults(proxy, RPC_PROXY_TO_SERVER, &f);
    for (uint32_t i = 0; i < N; i++) {
        make_pkt(buf, i);
        sent[i] = now_s();
        send_to(c, &proxy_addr, buf, PKT);
    }
    for (int k = 0; k < N; k++) {
        uint32_t i;
        double late;

        cr_assert_eq(recv_within(server_fd, buf, PKT, WAIT_MS, NULL), PKT);
        i = pkt_number(buf);
        cr_assert_lt(i, N);
        late = now_s() - sent[i];
        cr_assert_geq(late, d[i].delay_us[0] / 1e6, "packet %u", i);
        cr_assert_leq(late, d[i].delay_us[0] / 1e6 + 1.0, "packet %u", i);
    }
    cr_assert_eq(stats(RPC_PROXY_TO_SERVER).delayed, (uint64_t)delayed);
    cr_assert_eq(stats(RPC_PROXY_TO_SERVER).pending, 0);
    close(c);
}

Test(rpc_proxy, tamper_flips_the_predicted_bit)
{
    const struct rpc_proxy_faults f = {.tamper = 1.0};
    struct rpc_proxy_decision d[20];
    uint8_t orig[PKT], buf[PKT];
    int c = udp_socket(NULL);

    decide_many(8, RPC_PROXY_TO_SERVER, &f, PKT, d, 20);
    start_proxy(8, 0);
    rpc_proxy_set_faults(proxy, RPC_PROXY_TO_SERVER, &f);
    for (uint32_t i = 0; i < 20; i++) {
        uint32_t bit = d[i].bit;

        make_pkt(orig, 1000 + i);
        send_to(c, &proxy_addr, orig, PKT);
        cr_assert_eq(recv_within(server_fd, buf, PKT, WAIT_MS, NULL), PKT);
        orig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert_arr_eq(buf, orig, PKT, "datagram %u", i);
    }
    cr_assert_eq(stats(RPC_PROXY_TO_SERVER).tampered, 20);
    close(c);
}

static int test_hook(void *arg, enum rpc_proxy_dir dir, uint8_t *buf,
                     size_t *len, size_t cap)
{
    int *calls = arg;

    (*calls)++;
    cr_assert_eq(dir, RPC_PROXY_TO_SERVER);
    cr_assert_geq(cap, 16);
    if (*len > 0 && buf[0] == 'D')
        return RPC_PROXY_DROP;
    if (*len > 0 && buf[0] == 'R') {
        memcpy(buf, "rewritten", 9);
        *len = 9;
    }
    return RPC_PROXY_FORWARD;
}

Test(rpc_proxy, hook_rewrites_and_drops)
{
    char buf[64];
    int c = udp_socket(NULL), calls = 0;

    start_proxy(9, 0);
    rpc_proxy_set_hook(proxy, test_hook, &calls);
    send_to(c, &proxy_addr, "Drop me", 7);
    send_to(c, &proxy_addr, "Rewrite me please", 17);
    send_to(c, &proxy_addr, "keep", 4);
    cr_assert_eq(recv_within(server_fd, buf, sizeof(buf), WAIT_MS, NULL), 9);
    cr_assert_arr_eq(buf, "rewritten", 9);
    cr_assert_eq(recv_within(server_fd, buf, sizeof(buf), WAIT_MS, NULL), 4);
    cr_assert_arr_eq(buf, "keep", 4);
    cr_assert_eq(stats(RPC_PROXY_TO_SERVER).dropped, 1);
    rpc_proxy_set_hook(proxy, NULL, NULL);
    send_to(c, &proxy_addr, "Dont", 4);
    cr_assert_eq(recv_within(server_fd, buf, sizeof(buf), WAIT_MS, NULL), 4);
    cr_assert_eq(calls, 3);
    close(c);
}

Test(rpc_proxy, faults_apply_to_replies_and_change_while_running)
{
    const struct rpc_proxy_faults all = {.drop = 1.0};
    struct sockaddr_in up;
    char buf[16];
    int c = udp_socket(NULL);

    start_proxy(10, 0);
    send_to(c, &proxy_addr, "ping", 4);
    cr_assert_eq(recv_within(server_fd, buf, sizeof(buf), WAIT_MS, &up), 4);
    rpc_proxy_set_faults(proxy, RPC_PROXY_TO_CLIENT, &all);
    send_to(server_fd, &up, "lost", 4);
    wait_received(RPC_PROXY_TO_CLIENT, 1);
    cr_assert_eq(recv_within(c, buf, sizeof(buf), 100, NULL), -1);
    cr_assert_eq(stats(RPC_PROXY_TO_CLIENT).dropped, 1);
    rpc_proxy_set_faults(proxy, RPC_PROXY_TO_CLIENT, NULL);
    send_to(server_fd, &up, "back", 4);
    cr_assert_eq(recv_within(c, buf, sizeof(buf), WAIT_MS, NULL), 4);
    cr_assert_arr_eq(buf, "back", 4);
    cr_assert_eq(stats(RPC_PROXY_TO_SERVER).dropped, 0);
    close(c);
}

/* ---- Capture and injection ---- */

Test(rpc_proxy, capture_keeps_the_newest_and_inject_replays)
{
    struct sockaddr_in c_addr, who, up, from;
    uint8_t buf[PKT], want[PKT];
    size_t len;
    int c = udp_socket(&c_addr);

    start_proxy(11, 3);
    cr_assert_eq(rpc_proxy_captured(proxy, RPC_PROXY_TO_SERVER, 0, buf,
                                    sizeof(buf), &len, NULL), -1);
    cr_assert_eq(errno, ENOENT);
    send_sequenced(c, 0, 5);
    cr_assert_eq(drain_server((uint32_t[8]){0}, 8, 100), 5);
    for (unsigned age = 0; age < 3; age++) {
        cr_assert_eq(rpc_proxy_captured(proxy, RPC_PROXY_TO_SERVER, age, buf,
                                        sizeof(buf), &len, &who), 0);
        cr_assert_eq(len, PKT);
        make_pkt(want, 4 - age);
        cr_assert_arr_eq(buf, want, PKT);
        cr_assert_eq(who.sin_port, c_addr.sin_port);
        cr_assert_eq(who.sin_addr.s_addr, c_addr.sin_addr.s_addr);
    }
    cr_assert_eq(rpc_proxy_captured(proxy, RPC_PROXY_TO_SERVER, 3, buf,
                                    sizeof(buf), &len, NULL), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(rpc_proxy_captured(proxy, RPC_PROXY_TO_SERVER, 0, buf, 4,
                                    &len, NULL), -1);
    cr_assert_eq(errno, EMSGSIZE);
    cr_assert_eq(len, PKT);

    /* Replay the oldest kept: the server gets it again, from the client's
     * upstream address. */
    cr_assert_eq(rpc_proxy_captured(proxy, RPC_PROXY_TO_SERVER, 2, buf,
                                    sizeof(buf), &len, &who), 0);
    send_to(c, &proxy_addr, "x", 1);
    cr_assert_eq(recv_within(server_fd, want, sizeof(want), WAIT_MS, &up), 1);
    cr_assert_eq(rpc_proxy_inject(proxy, RPC_PROXY_TO_SERVER, &who, buf, len),
                 0);
    cr_assert_eq(recv_within(server_fd, want, sizeof(want), WAIT_MS, &from),
                 PKT);
    cr_assert_eq(pkt_number(want), 2);
    cr_assert_eq(from.sin_port, up.sin_port);

    /* Replies are captured too, and injection reaches the client. */
    send_to(server_fd, &up, "reply", 5);
    cr_assert_eq(recv_within(c, want, sizeof(want), WAIT_MS, NULL), 5);
    cr_assert_eq(rpc_proxy_captured(proxy, RPC_PROXY_TO_CLIENT, 0, buf,
                                    sizeof(buf), &len, &who), 0);
    cr_assert_eq(len, 5);
    cr_assert_arr_eq(buf, "reply", 5);
    cr_assert_eq(who.sin_port, c_addr.sin_port);
    cr_assert_eq(rpc_proxy_inject(proxy, RPC_PROXY_TO_CLIENT, &c_addr,
                                  "forged", 6), 0);
    cr_assert_eq(recv_within(c, want, sizeof(want), WAIT_MS, &from), 6);
    cr_assert_arr_eq(want, "forged", 6);
    cr_assert_eq(from.sin_port, proxy_addr.sin_port);

    cr_assert_eq(stats(RPC_PROXY_TO_SERVER).injected, 1);
    cr_assert_eq(stats(RPC_PROXY_TO_CLIENT).injected, 1);
    cr_assert_eq(stats(RPC_PROXY_TO_SERVER).forwarded, 6);
    cr_assert_eq(rpc_proxy_inject(proxy, RPC_PROXY_TO_CLIENT, NULL, "x", 1), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(rpc_proxy_inject(proxy, RPC_PROXY_TO_CLIENT, &c_addr, buf,
                                  RPC_PROXY_MAX_DATAGRAM + 1), -1);
    cr_assert_eq(errno, EMSGSIZE);
    close(c);
}

/* ---- Statistics, bounds, errors, stop ---- */

Test(rpc_proxy, stats_add_up_under_every_fault)
{
    const struct rpc_proxy_faults f = {.drop = 0.2, .duplicate = 0.3,
                                       .reorder = 0.3, .tamper = 0.1,
                                       .delay_max_us = 3000,
                                       .reorder_max_us = 2000};
    struct rpc_proxy_stats s;
    uint8_t buf[PKT];
    int c = udp_socket(NULL), got;

    start_proxy(12, 0);
    rpc_proxy_set_faults(proxy, RPC_PROXY_TO_SERVER, &f);
    for (uint32_t i = 0; i < 500; i++) {
        make_pkt(buf, i);
        send_to(c, &proxy_addr, buf, PKT);
        if (i % 50 == 49)
            wait_received(RPC_PROXY_TO_SERVER, i + 1);
    }
    wait_received(RPC_PROXY_TO_SERVER, 500);
    wait_settled(RPC_PROXY_TO_SERVER);
    got = drain_server(NULL, 0, 100);
    s = stats(RPC_PROXY_TO_SERVER);
    cr_assert_eq(s.received - s.dropped + s.duplicated,
                 s.forwarded + s.send_errors);
    cr_assert_eq(s.send_errors, 0);
    cr_assert_eq((uint64_t)got, s.forwarded);
    cr_assert(s.dropped && s.duplicated && s.reordered && s.tampered &&
              s.delayed);
    close(c);
}

Test(rpc_proxy, no_server_counts_send_errors_and_keeps_running)
{
    uint8_t buf[PKT];
    struct rpc_proxy_stats s;
    int c = udp_socket(NULL);

    start_proxy(13, 0);
    close(server_fd); /* nobody listens: sends draw ECONNREFUSED */
    server_fd = -1;
    for (uint32_t i = 0; i < 5; i++) {
        make_pkt(buf, i);
        send_to(c, &proxy_addr, buf, PKT);
        wait_received(RPC_PROXY_TO_SERVER, i + 1);
    }
    s = stats(RPC_PROXY_TO_SERVER);
    cr_assert_eq(s.forwarded + s.send_errors, 5);
    cr_assert_eq(rpc_proxy_clients(proxy), 1);
    close(c);
}

Test(rpc_proxy, client_table_is_bounded)
{
    enum { N = RPC_PROXY_MAX_CLIENTS + 1 };
    static int fds[N];
    struct rpc_proxy_stats s;
    struct sockaddr_in extra;

    start_proxy(14, 0);
    for (int i = 0; i < N; i++) {
        fds[i] = udp_socket(NULL);
        send_to(fds[i], &proxy_addr, "hi", 2);
        wait_received(RPC_PROXY_TO_SERVER, (uint64_t)i + 1);
    }
    s = stats(RPC_PROXY_TO_SERVER);
    cr_assert_eq(rpc_proxy_clients(proxy), RPC_PROXY_MAX_CLIENTS);
    cr_assert_eq(s.unroutable, 1);
    cr_assert_eq(s.dropped, 1);
    cr_assert_eq(drain_server(NULL, 0, 100), RPC_PROXY_MAX_CLIENTS);
    close(udp_socket(&extra));
    cr_assert_eq(rpc_proxy_inject(proxy, RPC_PROXY_TO_SERVER, &extra, "x", 1),
                 -1);
    cr_assert_eq(errno, EMFILE);
    for (int i = 0; i < N; i++)
        close(fds[i]);
}

Test(rpc_proxy, start_refuses_bad_arguments)
{
    struct sockaddr_in bad = server_addr;

    errno = 0;
    cr_assert_null(rpc_proxy_start(NULL, 1, 0));
    cr_assert_eq(errno, EINVAL);
    bad.sin_family = AF_INET6;
    cr_assert_null(rpc_proxy_start(&bad, 1, 0));
    cr_assert_eq(errno, EINVAL);
    cr_assert_null(rpc_proxy_start(&server_addr, 1,
                                   RPC_PROXY_MAX_CAPTURE + 1));
    cr_assert_eq(errno, EINVAL);
    rpc_proxy_stop(NULL);
}

/* Stop with datagrams still delayed and captured: it returns at once and
 * frees them (valgrind checks the "frees"). */
Test(rpc_proxy, stop_discards_pending_and_frees_everything, .timeout = 20)
{
    const struct rpc_proxy_faults f = {.delay_max_us = 10000000,
                                       .reorder = 0.5,
                                       .reorder_max_us = 10000000};
    uint8_t buf[PKT];
    int c = udp_socket(NULL);
    double t0;

    start_proxy(15, 8);
    rpc_proxy_set_faults(proxy, RPC_PROXY_TO_SERVER, &f);
    for (uint32_t i = 0; i < 20; i++) {
        make_pkt(buf, i);
        send_to(c, &proxy_addr, buf, PKT);
    }
    wait_received(RPC_PROXY_TO_SERVER, 20);
    cr_assert_gt(stats(RPC_PROXY_TO_SERVER).pending, 10);
    t0 = now_s();
    rpc_proxy_stop(proxy);
    proxy = NULL;
    cr_assert_lt(now_s() - t0, 5.0);
    close(c);
}
