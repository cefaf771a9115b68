/* SPDX-License-Identifier: MIT */
/*
 * Per-peer host entries (rpc/rpc_host.h): the table and its keys, reference
 * counting, the section 2.15 estimator on a hand-computed sequence, and the
 * network logs behind RPC2_Get/Put/ClearNetInfo (section 1.11). No
 * sockets; each Criterion test runs in its own process.
 */
#include "rpc_host.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <lwp/fasttime.h>

#include "rpc_test.h"

static struct rpc_hosts table;

static void setup(void)
{
    cr_assert_eq(rpc_hosts_init(&table), 0);
}

static void teardown(void)
{
    rpc_hosts_fini(&table);
}

TestSuite(rpc_host, .init = setup, .fini = teardown, .timeout = 60);

/* ---- Helpers ---- */

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
    struct sockaddr_in a;

    memset(&a, 0xa5, sizeof(a)); /* junk in the padding must not matter */
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    cr_assert_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return a;
}

static struct sockaddr_in6 v6(const char *ip, uint16_t port, uint32_t scope)
{
    struct sockaddr_in6 a;

    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    a.sin6_scope_id = scope;
    a.sin6_flowinfo = 0x12345; /* not part of the key */
    cr_assert_eq(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
    return a;
}

static struct rpc_host *get4(const char *ip, uint16_t port)
{
    struct sockaddr_in a = v4(ip, port);
    struct rpc_host *h = rpc_host_get(&table, (struct sockaddr *)&a, sizeof(a));
    cr_assert_not_null(h);
    return h;
}

static struct rpc_host *get6(const char *ip, uint16_t port, uint32_t scope)
{
    struct sockaddr_in6 a = v6(ip, port, scope);
    struct rpc_host *h = rpc_host_get(&table, (struct sockaddr *)&a, sizeof(a));
    cr_assert_not_null(h);
    return h;
}

static const struct timeval t_sample = {1700000000, 123456};

static void expect_fresh(const struct rpc_host *h)
{
    unsigned long rtt = 1, var = 1, lo = 0, avg = 0, hi = 0;
    struct timeval tv = {1, 1};
    RPC2_NetLogEntry e[RPC2_MAXLOGLENGTH];
    RPC2_NetLog rl = {RPC2_MAXQUANTUM, RPC2_MAXLOGLENGTH, 99, e};
    RPC2_NetLog sl = {RPC2_MAXQUANTUM, RPC2_MAXLOGLENGTH, 99, e};

    rpc_host_rtt(h, &rtt, &var);
    cr_assert_eq(rtt, 0ul);
    cr_assert_eq(var, 0ul);
    rpc_host_bandwidth(h, &lo, &avg, &hi);
    cr_assert_eq(lo, 100000ul);
    cr_assert_eq(avg, 100000ul);
    cr_assert_eq(hi, 100000ul);
    cr_assert_eq(rpc_host_rto(h, 100, 60), 2400u);
    rpc_host_last_heard(h, &tv);
    cr_assert(tv.tv_sec == 0 && tv.tv_usec == 0);
    cr_assert_eq(rpc_host_get_netinfo(h, &rl, &sl), RPC2_SUCCESS);
    cr_assert_eq(rl.ValidEntries, 0u);
    cr_assert_eq(sl.ValidEntries, 0u);
}

/* ---- Estimator (section 2.15) ---- */

Test(rpc_host, fresh_entry_estimates)
{
    struct rpc_host *h = get4("10.0.0.1", 2432);

    expect_fresh(h);
    /* 4,000 + 40 bytes out: halved once with the rate (2,020 B at
     * 50,000 B/s = 40,400 µs), 100 B in at 100,000 B/s = 1,000 µs. */
    cr_assert_eq(rpc_host_rto(h, 4000, 60), 41400u);
    cr_assert_eq(rpc_host_rto(h, 0, 0), 800u);
    rpc_host_put(&table, h);
}

struct step {
    uint32_t obs, out, in;
    unsigned long rtt, var, lo, avg, hi;
    uint32_t rto_100_60;
};

/* Worked by hand from section 2.15 (lat = RTT/8; t = 10^6 b / avg;
 * adj = (obs - e)/3 or obs/3 - lat; BWlo from the ns/byte average, BWhi
 * from the bytes/s average, both gain 1/16, differences truncated towards
 * zero). Step 1: e = 0 + 1400 + 1000 = 2400, adj = 7600/3 = 2533, RTT x8
 * = 2533, RTTvar x4 = 2533; out: t = 3933 µs for 140 B, 28092 ns/B vs
 * 10000 -> 11130 ns/B -> lo 89847; 35596 B/s vs 100000 -> hi 95975.
 * Step 2: e = 316 + 11193 + 1099 = 12608, adj = 2464 -> RTTx8 4997,
 * RTTvarx4 2533 + 2464 - 633 = 4364. Step 3 is faster than expected
 * (obs 3000 < e 3341): t_out = t_in = 1000, adj = 1000 - 624 = 376. Step 4
 * halves 4,040 out bytes once. Step 5 (obs 1) has transfer times of 0. */
static const struct step steps[] = {
    {10000, 100, 60, 316, 633, 89847, 92911, 95975, 4187},
    {20000, 1000, 60, 624, 1091, 88849, 91792, 94736, 5523},
    {3000, 100, 60, 671, 912, 90925, 94245, 97565, 5160},
    {50000, 4000, 2000, 2671, 4683, 94616, 100616, 106617, 14583},
    {1, 100, 60, 2337, 4180, 100918, 4475435, 8849953, 10759},
};

Test(rpc_host, estimator_hand_computed_sequence)
{
    struct rpc_host *h = get4("10.0.0.2", 2432);

    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        const struct step *s = &steps[i];
        unsigned long rtt, var, lo, avg, hi;

        rpc_host_sample(h, 77, s->obs, s->out, s->in, &t_sample);
        rpc_host_rtt(h, &rtt, &var);
        rpc_host_bandwidth(h, &lo, &avg, &hi);
        cr_assert_eq(rtt, s->rtt, "step %zu rtt %lu", i + 1, rtt);
        cr_assert_eq(var, s->var, "step %zu var %lu", i + 1, var);
        cr_assert_eq(lo, s->lo, "step %zu lo %lu", i + 1, lo);
        cr_assert_eq(avg, s->avg, "step %zu avg %lu", i + 1, avg);
        cr_assert_eq(hi, s->hi, "step %zu hi %lu", i + 1, hi);
        cr_assert_eq(rpc_host_rto(h, 100, 60), s->rto_100_60, "step %zu rto %u",
                     i + 1, rpc_host_rto(h, 100, 60));
    }
    rpc_host_put(&table, h);
}

Test(rpc_host, null_out_pointers_allowed)
{
    struct rpc_host *h = get4("10.0.0.3", 1);
    unsigned long v = 5;

    rpc_host_rtt(h, NULL, NULL);
    rpc_host_rtt(h, NULL, &v);
    cr_assert_eq(v, 0ul);
    rpc_host_bandwidth(h, NULL, NULL, NULL);
    rpc_host_bandwidth(h, NULL, &v, NULL);
    cr_assert_eq(v, 100000ul);
    rpc_host_put(&table, h);
}

Test(rpc_host, bogus_observations_ignored)
{
    struct rpc_host *h = get4("10.0.0.4", 1);

    rpc_host_sample(h, 1, 0, 100, 60, &t_sample);
    rpc_host_sample(h, 1, 1u << 31, 100, 60, &t_sample);
    rpc_host_sample(h, 1, UINT32_MAX, 100, 60, &t_sample);
    rpc_host_sample_log(h, SE_MEASUREMENT, 1, 0, 100, 60, &t_sample);
    expect_fresh(h);
    rpc_host_put(&table, h);
}

Test(rpc_host, rto_monotone_in_sizes)
{
    struct rpc_host *h = get4("10.0.0.5", 1);

    for (int state = 0; state < 3; state++) {
        for (uint32_t fixed = 0; fixed <= 8000; fixed += 4000) {
            uint32_t prev_out = 0, prev_in = 0;
            for (uint32_t b = 0; b <= 70000; b += (b < 9000 ? 1 : 997)) {
                uint32_t ro = rpc_host_rto(h, b, fixed);
                uint32_t ri = rpc_host_rto(h, fixed, b);
                cr_assert_geq(ro, prev_out, "out %u", b);
                cr_assert_geq(ri, prev_in, "in %u", b);
                prev_out = ro;
                prev_in = ri;
            }
        }
        /* train the estimator differently for the next pass */
        rpc_host_sample(h, 1, state == 0 ? 90000 : 300, 3000, 100, &t_sample);
    }
    cr_assert_eq(rpc_host_rto(h, UINT32_MAX, UINT32_MAX),
                 rpc_host_rto(h, UINT32_MAX, UINT32_MAX));
    rpc_host_put(&table, h);
}

Test(rpc_host, sample_appends_measurement_entry)
{
    struct rpc_host *h = get4("10.0.0.6", 1);
    RPC2_NetLogEntry e[4];
    RPC2_NetLog rl = {RPC2_MAXQUANTUM, 4, 0, e};
    RPC2_NetLogEntry se[4];
    RPC2_NetLog sl = {RPC2_MAXQUANTUM, 4, 0, se};
    struct timeval t2 = {1700000001, 5};

    rpc_host_sample(h, 0x1234, 2500, 100, 60, &t_sample);
    rpc_host_sample(h, -7, 999, 4000, 300, &t2); /* < 1 ms: logged as 1 */
    rpc_host_sample_log(h, SE_MEASUREMENT, 42, 12345, 1000, 0, &t2);
    cr_assert_eq(rpc_host_get_netinfo(h, &rl, &sl), RPC2_SUCCESS);
    cr_assert_eq(rl.ValidEntries, 2u);
    cr_assert_eq(e[0].Tag, RPC2_MEASURED_NLE);
    cr_assert_eq(e[0].Value.Measured.Conn, -7);
    cr_assert_eq(e[0].Value.Measured.Bytes, 4300u);
    cr_assert_eq(e[0].Value.Measured.ElapsedTime, 1u);
    cr_assert_eq(e[0].TimeStamp.tv_sec, t2.tv_sec);
    cr_assert_eq(e[0].TimeStamp.tv_usec, t2.tv_usec);
    cr_assert_eq(e[1].Value.Measured.Conn, 0x1234);
    cr_assert_eq(e[1].Value.Measured.Bytes, 160u);
    cr_assert_eq(e[1].Value.Measured.ElapsedTime, 2u);
    cr_assert_eq(e[1].TimeStamp.tv_sec, t_sample.tv_sec);
    cr_assert_eq(e[1].TimeStamp.tv_usec, t_sample.tv_usec);
    cr_assert_eq(sl.ValidEntries, 1u);
    cr_assert_eq(se[0].Value.Measured.Conn, 42);
    cr_assert_eq(se[0].Value.Measured.Bytes, 1000u);
    cr_assert_eq(se[0].Value.Measured.ElapsedTime, 12u);
    rpc_host_put(&table, h);
}

/* ---- Table, keys, references ---- */

Test(rpc_host, refcount_lifecycle)
{
    struct rpc_host *a = get4("192.0.2.1", 2432);
    struct rpc_host *b = get4("192.0.2.1", 2432);

    cr_assert_eq(a, b, "same address and port: same entry");
    cr_assert_eq(table.count, 1u);
    rpc_host_heard(a, &t_sample);
    rpc_host_put(&table, a); /* one reference left */
    cr_assert_eq(table.count, 1u);
    struct rpc_host *c = get4("192.0.2.1", 2432);
    cr_assert_eq(c, b);
    struct timeval tv;
    rpc_host_last_heard(c, &tv);
    cr_assert_eq(tv.tv_sec, t_sample.tv_sec, "state kept while referenced");
    cr_assert_eq(tv.tv_usec, t_sample.tv_usec);
    rpc_host_put(&table, b);
    rpc_host_put(&table, c);
    cr_assert_eq(table.count, 0u, "freed with the last reference");
    rpc_host_put(&table, NULL); /* no-op */
    cr_assert_eq(table.count, 0u);
}

Test(rpc_host, ipv4_keys)
{
    struct rpc_host *a = get4("127.0.0.1", 1000);
    struct rpc_host *b = get4("127.0.0.1", 1001);
    struct rpc_host *c = get4("127.0.0.2", 1000);

    cr_assert_neq(a, b, "same address, different port");
    cr_assert_neq(a, c);
    cr_assert_neq(b, c);
    cr_assert_eq(table.count, 3u);

    socklen_t len = 0;
    const struct sockaddr *sa = rpc_host_addr(b, &len);
    struct sockaddr_in want;
    memset(&want, 0, sizeof(want));
    want.sin_family = AF_INET;
    want.sin_port = htons(1001);
    want.sin_addr.s_addr = htonl(0x7f000001);
    cr_assert_eq(len, sizeof(struct sockaddr_in));
    cr_assert_eq(memcmp(sa, &want, sizeof(want)), 0,
                 "stored address is port + address, zero elsewhere");
    cr_assert_eq(rpc_host_addr(b, NULL), sa);

    /* a longer length (sockaddr_storage) is fine */
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, &want, sizeof(want));
    struct rpc_host *d =
        rpc_host_get(&table, (struct sockaddr *)&ss, sizeof(ss));
    cr_assert_eq(d, b);
    rpc_host_put(&table, a);
    rpc_host_put(&table, b);
    rpc_host_put(&table, c);
    rpc_host_put(&table, d);
    cr_assert_eq(table.count, 0u);
}

Test(rpc_host, ipv6_keys)
{
    struct rpc_host *a = get6("2001:db8::1", 1000, 0);
    struct rpc_host *b = get6("2001:db8::1", 1001, 0);
    struct rpc_host *c = get6("fe80::1", 1000, 2);
    struct rpc_host *d = get6("fe80::1", 1000, 3);
    struct rpc_host *m = get6("::ffff:127.0.0.1", 1000, 0);
    struct rpc_host *v = get4("127.0.0.1", 1000);

    cr_assert_neq(a, b, "same address, different port");
    cr_assert_neq(c, d, "link-local in different scopes");
    cr_assert_neq(m, v, "IPv4-mapped IPv6 is its own key");
    cr_assert_eq(table.count, 6u);

    struct sockaddr_in6 again = v6("2001:db8::1", 1000, 0);
    again.sin6_flowinfo = 0; /* flow label differs: same peer */
    struct rpc_host *a2 =
        rpc_host_get(&table, (struct sockaddr *)&again, sizeof(again));
    cr_assert_eq(a2, a);

    socklen_t len = 0;
    const struct sockaddr_in6 *sa =
        (const struct sockaddr_in6 *)rpc_host_addr(c, &len);
    cr_assert_eq(len, sizeof(struct sockaddr_in6));
    cr_assert_eq(sa->sin6_family, AF_INET6);
    cr_assert_eq(sa->sin6_port, htons(1000));
    cr_assert_eq(sa->sin6_scope_id, 2u);
    cr_assert_eq(sa->sin6_flowinfo, 0u);
    struct in6_addr ll;
    inet_pton(AF_INET6, "fe80::1", &ll);
    cr_assert_eq(memcmp(&sa->sin6_addr, &ll, sizeof(ll)), 0);

    struct rpc_host *all[] = {a, b, c, d, m, v, a2};
    for (size_t i = 0; i < 7; i++) {
        rpc_host_put(&table, all[i]);
    }
    cr_assert_eq(table.count, 0u);
}

Test(rpc_host, bad_addresses_refused)
{
    struct sockaddr_in a = v4("127.0.0.1", 5);
    struct sockaddr_in6 b = v6("::1", 5, 0);
    struct sockaddr_un u;

    memset(&u, 0, sizeof(u));
    u.sun_family = AF_UNIX;
    errno = 0;
    cr_assert_null(rpc_host_get(&table, (struct sockaddr *)&u, sizeof(u)));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(rpc_host_get(&table, (struct sockaddr *)&a, sizeof(a) - 1));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(rpc_host_get(&table, (struct sockaddr *)&b,
                                sizeof(struct sockaddr_in)));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(rpc_host_get(&table, NULL, sizeof(a)));
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(table.count, 0u);
}

Test(rpc_host, ten_thousand_hosts)
{
    enum { N = 10000 };
    struct rpc_host **h = calloc(N, sizeof(*h));

    cr_assert_not_null(h);
    for (int i = 0; i < N; i++) {
        char ip[32];
        /* half differ only in the port, half in the address */
        snprintf(ip, sizeof(ip), "10.1.%d.%d", (i / 2) / 250, (i / 2) % 250);
        h[i] = get4(ip, (uint16_t)(2432 + (i % 2)));
    }
    cr_assert_eq(table.count, (uint32_t)N);
    for (int i = 0; i < N; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.1.%d.%d", (i / 2) / 250, (i / 2) % 250);
        struct rpc_host *again = get4(ip, (uint16_t)(2432 + (i % 2)));
        cr_assert_eq(again, h[i], "host %d found again", i);
        rpc_host_put(&table, again);
    }
    cr_assert_eq(table.count, (uint32_t)N, "no duplicates were created");
    cr_assert_geq(table.mask + 1, (uint32_t)N, "buckets grew with the load");
    uint32_t longest = rpc_hosts_longest_chain(&table);
    fprintf(stderr, "rpc_host: 10000 hosts, %u buckets, longest chain %u\n",
            table.mask + 1, longest);
    cr_assert_leq(longest, 16u);
    for (int i = 0; i < N; i += 2) {
        rpc_host_put(&table, h[i]);
    }
    cr_assert_eq(table.count, (uint32_t)N / 2);
    for (int i = 1; i < N; i += 2) {
        rpc_host_put(&table, h[i]);
    }
    cr_assert_eq(table.count, 0u);
    cr_assert_eq(rpc_hosts_longest_chain(&table), 0u);
    free(h);
}

Test(rpc_host, fini_frees_referenced_entries)
{
    /* Leak-free under valgrind/ASan although references remain. */
    for (int i = 0; i < 50; i++) {
        struct rpc_host *h = get4("10.2.0.1", (uint16_t)(1000 + i));
        rpc_host_sample(h, i, 1000, 100, 60, &t_sample);
        rpc_host_sample_log(h, SE_MEASUREMENT, i, 1000, 100, 60, &t_sample);
    }
    rpc_hosts_fini(&table);
    cr_assert_null(table.buckets);
    cr_assert_eq(table.count, 0u);
    cr_assert_eq(rpc_hosts_init(&table), 0); /* for teardown */
}

Test(rpc_host, f21_new_entry_starts_fresh)
{
    RPC2_NetLogEntry e = {.Tag = RPC2_STATIC_NLE};
    RPC2_NetLog put = {0, 1, 0, &e};

    for (int round = 0; round < 3; round++) {
        struct rpc_host *h = get4("10.3.0.1", 2432);
        expect_fresh(h);
        for (int k = 0; k < 20; k++) {
            rpc_host_sample(h, 1, 40000 + 1000 * (uint32_t)k, 500, 60,
                            &t_sample);
        }
        rpc_host_heard(h, &t_sample);
        cr_assert_eq(rpc_host_put_netinfo(h, &put, &put), RPC2_SUCCESS);
        unsigned long var;
        rpc_host_rtt(h, NULL, &var);
        cr_assert_gt(var, 0ul);
        rpc_host_put(&table, h); /* freed; the next get allocates anew */
        cr_assert_eq(table.count, 0u);
        /* another address may get the same memory back: also fresh */
        struct rpc_host *o = get4("10.3.0.2", 2432);
        expect_fresh(o);
        rpc_host_put(&table, o);
    }
}

/* ---- Network logs (section 1.11) ---- */

static void put_measured(struct rpc_host *h, NetLogEntryType which,
                         const uint32_t *ms, uint32_t n)
{
    RPC2_NetLogEntry e[64];
    RPC2_NetLog l = {0, n, 1234, e};

    cr_assert_leq(n, 64u);
    memset(e, 0, sizeof(e));
    for (uint32_t i = 0; i < n; i++) {
        e[i].Tag = RPC2_MEASURED_NLE;
        e[i].Value.Measured.Conn = (RPC2_Handle)(1000 + i);
        e[i].Value.Measured.Bytes = i;
        e[i].Value.Measured.ElapsedTime = ms[i];
    }
    long rc = which == RPC2_MEASUREMENT ? rpc_host_put_netinfo(h, &l, NULL)
                                        : rpc_host_put_netinfo(h, NULL, &l);
    cr_assert_eq(rc, RPC2_SUCCESS);
    cr_assert_eq(l.ValidEntries, n);
}

/* Copies the RPC log with the given room and Quantum; returns the Conn
 * values (1000 + put index) newest first in conns. */
static uint32_t get_rpc(struct rpc_host *h, uint32_t room, uint32_t quantum,
                        int *conns)
{
    RPC2_NetLogEntry e[64];
    RPC2_NetLog l = {quantum, room, 777, e};

    cr_assert_leq(room, 64u);
    cr_assert_eq(rpc_host_get_netinfo(h, &l, NULL), RPC2_SUCCESS);
    for (uint32_t i = 0; i < l.ValidEntries; i++) {
        conns[i] = (int)e[i].Value.Measured.Conn;
    }
    return l.ValidEntries;
}

Test(rpc_host, netinfo_newest_first_and_quantum)
{
    struct rpc_host *h = get4("10.4.0.1", 1);
    static const uint32_t ms[] = {10, 20, 30, 40, 50};
    int c[64];
    struct timeval before, after;

    FT_GetTimeOfDay(&before, NULL);
    put_measured(h, RPC2_MEASUREMENT, ms, 5);
    FT_GetTimeOfDay(&after, NULL);

    cr_assert_eq(get_rpc(h, 10, RPC2_MAXQUANTUM, c), 5u);
    static const int all[] = {1004, 1003, 1002, 1001, 1000};
    cr_assert_arr_eq(c, all, sizeof(all));
    /* 50 < 60, 50 + 40 >= 60: the entry that reaches Quantum counts */
    cr_assert_eq(get_rpc(h, 10, 60, c), 2u);
    cr_assert_arr_eq(c, all, 2 * sizeof(int));
    cr_assert_eq(get_rpc(h, 10, 90, c), 2u);
    cr_assert_eq(get_rpc(h, 10, 91, c), 3u);
    cr_assert_eq(get_rpc(h, 10, 50, c), 1u);
    cr_assert_eq(get_rpc(h, 10, 0, c), 1u, "Quantum 0: one entry");
    cr_assert_eq(get_rpc(h, 3, RPC2_MAXQUANTUM, c), 3u, "NumEntries caps");
    cr_assert_arr_eq(c, all, 3 * sizeof(int));

    /* NumEntries 0 with no array: nothing copied, success */
    RPC2_NetLog none = {RPC2_MAXQUANTUM, 0, 5, NULL};
    cr_assert_eq(rpc_host_get_netinfo(h, &none, NULL), RPC2_SUCCESS);
    cr_assert_eq(none.ValidEntries, 0u);

    /* put stamps entries with the time of day */
    RPC2_NetLogEntry e[1];
    RPC2_NetLog l = {RPC2_MAXQUANTUM, 1, 0, e};
    cr_assert_eq(rpc_host_get_netinfo(h, &l, NULL), RPC2_SUCCESS);
    int64_t ts = e[0].TimeStamp.tv_sec * 1000000ll + e[0].TimeStamp.tv_usec;
    cr_assert_geq(ts, before.tv_sec * 1000000ll + before.tv_usec);
    cr_assert_leq(ts, after.tv_sec * 1000000ll + after.tv_usec);
    rpc_host_put(&table, h);
}

Test(rpc_host, netinfo_static_entries_are_free)
{
    struct rpc_host *h = get4("10.4.0.2", 1);
    RPC2_NetLogEntry e[3];
    RPC2_NetLog l = {0, 3, 0, e};
    int c[64];

    memset(e, 0, sizeof(e));
    e[0].Tag = RPC2_MEASURED_NLE;
    e[0].Value.Measured.Conn = 1000;
    e[0].Value.Measured.ElapsedTime = 100;
    e[1].Tag = RPC2_STATIC_NLE;
    e[1].Value.Static.Bandwidth = 12345;
    e[2].Tag = RPC2_STATIC_NLE;
    e[2].Value.Static.Bandwidth = 678;
    cr_assert_eq(rpc_host_put_netinfo(h, &l, NULL), RPC2_SUCCESS);
    cr_assert_eq(l.ValidEntries, 3u);

    /* statics add nothing to the sum: all three for Quantum 100 */
    RPC2_NetLogEntry o[8];
    RPC2_NetLog g = {100, 8, 0, o};
    cr_assert_eq(rpc_host_get_netinfo(h, &g, NULL), RPC2_SUCCESS);
    cr_assert_eq(g.ValidEntries, 3u);
    cr_assert_eq(o[0].Tag, RPC2_STATIC_NLE);
    cr_assert_eq(o[0].Value.Static.Bandwidth, 678u);
    cr_assert_eq(o[1].Value.Static.Bandwidth, 12345u);
    cr_assert_eq(o[2].Tag, RPC2_MEASURED_NLE);
    cr_assert_eq(get_rpc(h, 8, 1, c), 3u);
    rpc_host_put(&table, h);
}

Test(rpc_host, netinfo_ring_keeps_newest_32)
{
    struct rpc_host *h = get4("10.4.0.3", 1);
    uint32_t ms[45];
    int c[64];

    for (uint32_t i = 0; i < 45; i++) {
        ms[i] = 1;
    }
    put_measured(h, RPC2_MEASUREMENT, ms, 45);
    cr_assert_eq(get_rpc(h, 64, RPC2_MAXQUANTUM, c), 32u);
    for (int i = 0; i < 32; i++) {
        cr_assert_eq(c[i], 1044 - i, "entry %d", i);
    }
    rpc_host_put(&table, h);
}

Test(rpc_host, netinfo_logs_are_separate)
{
    struct rpc_host *h = get4("10.4.0.4", 1);
    static const uint32_t ms[] = {7, 8};
    RPC2_NetLogEntry re[4], se[4];
    RPC2_NetLog rl = {RPC2_MAXQUANTUM, 4, 0, re};
    RPC2_NetLog sl = {RPC2_MAXQUANTUM, 4, 0, se};

    put_measured(h, SE_MEASUREMENT, ms, 2);
    cr_assert_eq(rpc_host_get_netinfo(h, &rl, &sl), RPC2_SUCCESS);
    cr_assert_eq(rl.ValidEntries, 0u);
    cr_assert_eq(sl.ValidEntries, 2u);
    cr_assert_eq(se[0].Value.Measured.ElapsedTime, 8u);
    /* only the SE log asked for */
    sl.ValidEntries = 0;
    cr_assert_eq(rpc_host_get_netinfo(h, NULL, &sl), RPC2_SUCCESS);
    cr_assert_eq(sl.ValidEntries, 2u);
    rpc_host_put(&table, h);
}

Test(rpc_host, netinfo_errors)
{
    struct rpc_host *h = get4("10.4.0.5", 1);
    RPC2_NetLogEntry e[3];
    RPC2_NetLog bad_array = {RPC2_MAXQUANTUM, 2, 0, NULL};
    RPC2_NetLog ok = {RPC2_MAXQUANTUM, 3, 0, e};

    cr_assert_eq(rpc_host_get_netinfo(h, NULL, NULL), RPC2_FAIL);
    cr_assert_eq(rpc_host_put_netinfo(h, NULL, NULL), RPC2_FAIL);
    cr_assert_eq(rpc_host_get_netinfo(h, &bad_array, NULL), RPC2_FAIL);
    cr_assert_eq(rpc_host_get_netinfo(h, &ok, &bad_array), RPC2_FAIL);
    cr_assert_eq(rpc_host_put_netinfo(h, &bad_array, NULL), RPC2_FAIL);
    cr_assert_eq(rpc_host_put_netinfo(h, NULL, &bad_array), RPC2_FAIL);

    /* A bad tag stops appending there; the SE log is left alone. */
    memset(e, 0, sizeof(e));
    e[0].Tag = RPC2_MEASURED_NLE;
    e[0].Value.Measured.Conn = 1;
    e[1].Tag = RPC2_UNSET_NLE;
    e[2].Tag = RPC2_MEASURED_NLE;
    RPC2_NetLogEntry s[1] = {{.Tag = RPC2_STATIC_NLE}};
    RPC2_NetLog sl = {0, 1, 9, s};
    cr_assert_eq(rpc_host_put_netinfo(h, &ok, &sl), RPC2_FAIL);
    cr_assert_eq(ok.ValidEntries, 1u);
    cr_assert_eq(sl.ValidEntries, 0u);
    e[0].Tag = (NetLogTag)7;
    cr_assert_eq(rpc_host_put_netinfo(h, &ok, NULL), RPC2_FAIL);
    cr_assert_eq(ok.ValidEntries, 0u);

    RPC2_NetLogEntry o[8];
    RPC2_NetLog rl = {RPC2_MAXQUANTUM, 8, 0, o};
    RPC2_NetLog se = {RPC2_MAXQUANTUM, 8, 0, o};
    cr_assert_eq(rpc_host_get_netinfo(h, &rl, NULL), RPC2_SUCCESS);
    cr_assert_eq(rl.ValidEntries, 1u);
    cr_assert_eq(rpc_host_get_netinfo(h, NULL, &se), RPC2_SUCCESS);
    cr_assert_eq(se.ValidEntries, 0u);
    rpc_host_put(&table, h);
}

Test(rpc_host, netinfo_clear)
{
    struct rpc_host *h = get4("10.4.0.6", 1);
    static const uint32_t ms[] = {1, 2, 3};
    int c[64];

    put_measured(h, RPC2_MEASUREMENT, ms, 3);
    put_measured(h, SE_MEASUREMENT, ms, 3);
    rpc_host_sample(h, 5, 5000, 100, 60, &t_sample);
    rpc_host_clear_netinfo(h);
    RPC2_NetLogEntry se[4];
    RPC2_NetLog sl = {RPC2_MAXQUANTUM, 4, 3, se};
    cr_assert_eq(get_rpc(h, 8, RPC2_MAXQUANTUM, c), 0u);
    cr_assert_eq(rpc_host_get_netinfo(h, NULL, &sl), RPC2_SUCCESS);
    cr_assert_eq(sl.ValidEntries, 0u);
    /* the estimator is not part of the log */
    unsigned long rtt;
    rpc_host_rtt(h, &rtt, NULL);
    cr_assert_gt(rtt, 0ul);
    rpc_host_clear_netinfo(h); /* twice: harmless */
    put_measured(h, RPC2_MEASUREMENT, ms, 1);
    cr_assert_eq(get_rpc(h, 8, RPC2_MAXQUANTUM, c), 1u);
    cr_assert_eq(c[0], 1000);
    rpc_host_put(&table, h);
}

/* ---- Out of memory ---- */

Test(rpc_host, enomem_reported)
{
    if (rpct_limits_unreliable()) {
        cr_skip_test("address-space limits do not work under ASan/valgrind");
    }
    enum { MAX = 2000000 };
    struct rpc_host **h = malloc(MAX * sizeof(*h));
    unsigned long pages = 0;
    long page_size = sysconf(_SC_PAGESIZE);
    struct rlimit old, lim;
    FILE *f = fopen("/proc/self/statm", "r");

    cr_assert_not_null(h);
    cr_assert_not_null(f);
    cr_assert_eq(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
    lim = old;
    lim.rlim_cur = pages * (unsigned long)page_size + (8ul << 20);
    cr_assert_eq(setrlimit(RLIMIT_AS, &lim), 0);

    uint32_t n = 0;
    for (; n < MAX; n++) {
        struct sockaddr_in6 a = v6("2001:db8::", (uint16_t)n, n >> 16);
        errno = 0;
        h[n] = rpc_host_get(&table, (struct sockaddr *)&a, sizeof(a));
        if (h[n] == NULL) {
            break;
        }
    }
    int err = errno;
    struct rpc_hosts other;
    int rc = rpc_hosts_init(&other);
    cr_assert_eq(setrlimit(RLIMIT_AS, &old), 0);

    cr_assert_lt(n, (uint32_t)MAX, "the limit was reached");
    cr_assert_eq(err, ENOMEM);
    cr_assert_eq(rc, -ENOMEM);
    cr_assert_eq(table.count, n, "the table holds what was created");
    for (uint32_t i = 0; i < n; i++) {
        rpc_host_put(&table, h[i]);
    }
    cr_assert_eq(table.count, 0u);
    free(h);
}
