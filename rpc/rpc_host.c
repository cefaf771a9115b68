/* SPDX-License-Identifier: MIT */
/*
 * Host entries: the table, the section 2.15 estimator and the network
 * logs (see rpc_host.h).
 */
#include "rpc_host.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <lwp/fasttime.h>

#define INITIAL_BUCKETS 64u
#define MAX_BUCKETS (1u << 24)

/* ---- Entries ---- */

/* One bandwidth estimate pair (bytes/s): lo follows the average of the
 * ns-per-byte samples (a harmonic mean, pulled down by slow samples), hi
 * the average of the bytes-per-second samples (pulled up by fast ones). */
struct bw_pair {
    uint32_t lo, hi;
};

/* A ring of the last RPC2_MAXLOGLENGTH entries, allocated on the first
 * append; e[next] is where the next one goes. */
struct netlog {
    uint32_t next;  /* 0 .. RPC2_MAXLOGLENGTH-1 */
    uint32_t count; /* stored entries, 0 .. RPC2_MAXLOGLENGTH */
    RPC2_NetLogEntry *e;
};

struct rpc_host {
    struct rpc_host *next; /* hash chain */
    uint32_t hash;
    uint32_t refs;
    socklen_t addrlen;
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } addr;
    struct timeval last_heard;
    uint64_t rtt8;    /* smoothed RTT, µs x 8 */
    uint64_t rttvar4; /* RTT variance, µs x 4 */
    struct bw_pair out, in;
    struct netlog log[2]; /* indexed by NetLogEntryType */
};

_Static_assert(RPC2_MEASUREMENT == 0 && SE_MEASUREMENT == 1,
               "the log index is the NetLogEntryType");

/* F21: every field starts fresh (calloc), estimator included. */
static void estimator_reset(struct rpc_host *h)
{
    h->rtt8 = 0;
    h->rttvar4 = 0;
    h->out.lo = h->out.hi = RPC_HOST_INITIAL_BW;
    h->in.lo = h->in.hi = RPC_HOST_INITIAL_BW;
}

/* ---- Hashing ---- */

/* A 64-bit finaliser (multiply-xorshift); with the table's random key
 * mixed in before every word, chains cannot be predicted from outside. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return x;
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t hash_addr(const struct rpc_hosts *t, const struct rpc_host *k)
{
    uint64_t h = t->key[0];

    if (k->addr.sa.sa_family == AF_INET) {
        h = mix(h ^ ((uint64_t)k->addr.in4.sin_addr.s_addr << 16 |
                     k->addr.in4.sin_port));
    } else {
        const uint8_t *a = k->addr.in6.sin6_addr.s6_addr;
        h = mix(h ^ load64(a));
        h = mix(h ^ load64(a + 8) ^ t->key[1]);
        h = mix(h ^ ((uint64_t)k->addr.in6.sin6_scope_id << 16 |
                     k->addr.in6.sin6_port));
    }
    h = mix(h ^ t->key[1]);
    return (uint32_t)(h ^ (h >> 32));
}

static bool same_addr(const struct rpc_host *a, const struct rpc_host *b)
{
    if (a->addr.sa.sa_family != b->addr.sa.sa_family) {
        return false;
    }
    if (a->addr.sa.sa_family == AF_INET) {
        return a->addr.in4.sin_port == b->addr.in4.sin_port &&
               a->addr.in4.sin_addr.s_addr == b->addr.in4.sin_addr.s_addr;
    }
    return a->addr.in6.sin6_port == b->addr.in6.sin6_port &&
           a->addr.in6.sin6_scope_id == b->addr.in6.sin6_scope_id &&
           memcmp(&a->addr.in6.sin6_addr, &b->addr.in6.sin6_addr,
                  sizeof(struct in6_addr)) == 0;
}

/* Copies only the identifying fields of a into k, so that stored
 * addresses compare and print cleanly. false for a bad family/len. */
static bool make_key(struct rpc_host *k, const struct sockaddr *a,
                     socklen_t len)
{
    memset(&k->addr, 0, sizeof(k->addr));
    if (a == NULL) {
        return false;
    }
    if (a->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)a;
        k->addr.in4.sin_family = AF_INET;
        k->addr.in4.sin_port = in4->sin_port;
        k->addr.in4.sin_addr = in4->sin_addr;
        k->addrlen = sizeof(struct sockaddr_in);
        return true;
    }
    if (a->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;
        k->addr.in6.sin6_family = AF_INET6;
        k->addr.in6.sin6_port = in6->sin6_port;
        k->addr.in6.sin6_addr = in6->sin6_addr;
        k->addr.in6.sin6_scope_id = in6->sin6_scope_id;
        k->addrlen = sizeof(struct sockaddr_in6);
        return true;
    }
    return false;
}

/* ---- The table ---- */

static void random_key(struct rpc_hosts *t)
{
    /* Not a secret key of the protocol, only a hash seed: getrandom is
     * enough, and if it fails the table still works (with a weaker
     * seed). */
    if (getrandom(t->key, sizeof(t->key), GRND_NONBLOCK) !=
        (ssize_t)sizeof(t->key)) {
        t->key[0] = mix((uint64_t)(uintptr_t)t ^ FT_MonotonicMicros());
        t->key[1] = mix(t->key[0] ^ 0x9e3779b97f4a7c15ull);
    }
}

int rpc_hosts_init(struct rpc_hosts *t)
{
    memset(t, 0, sizeof(*t));
    t->buckets = calloc(INITIAL_BUCKETS, sizeof(*t->buckets));
    if (t->buckets == NULL) {
        return -ENOMEM;
    }
    t->mask = INITIAL_BUCKETS - 1;
    random_key(t);
    return 0;
}

static void host_free(struct rpc_host *h)
{
    free(h->log[0].e);
    free(h->log[1].e);
    free(h);
}

void rpc_hosts_fini(struct rpc_hosts *t)
{
    if (t->buckets != NULL) {
        for (uint32_t b = 0; b <= t->mask; b++) {
            struct rpc_host *h = t->buckets[b];
            while (h != NULL) {
                struct rpc_host *next = h->next;
                host_free(h);
                h = next;
            }
        }
    }
    free(t->buckets);
    memset(t, 0, sizeof(*t));
}

/* Doubles the buckets when the load passes 1; on failure the chains just
 * get longer. */
static void maybe_grow(struct rpc_hosts *t)
{
    uint32_t nb = t->mask + 1;
    if (t->count <= nb || nb >= MAX_BUCKETS) {
        return;
    }
    struct rpc_host **nbk = calloc(2 * (size_t)nb, sizeof(*nbk));
    if (nbk == NULL) {
        return;
    }
    uint32_t nmask = 2 * nb - 1;
    for (uint32_t b = 0; b < nb; b++) {
        struct rpc_host *h = t->buckets[b];
        while (h != NULL) {
            struct rpc_host *next = h->next;
            h->next = nbk[h->hash & nmask];
            nbk[h->hash & nmask] = h;
            h = next;
        }
    }
    free(t->buckets);
    t->buckets = nbk;
    t->mask = nmask;
}

struct rpc_host *rpc_host_get(struct rpc_hosts *t, const struct sockaddr *a,
                              socklen_t len)
{
    struct rpc_host key;

    if (!make_key(&key, a, len)) {
        errno = EINVAL;
        return NULL;
    }
    uint32_t hash = hash_addr(t, &key);
    for (struct rpc_host *h = t->buckets[hash & t->mask]; h; h = h->next) {
        if (h->hash == hash && same_addr(h, &key)) {
            h->refs++;
            return h;
        }
    }

    struct rpc_host *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    h->addr = key.addr;
    h->addrlen = key.addrlen;
    h->hash = hash;
    h->refs = 1;
    estimator_reset(h);
    h->next = t->buckets[hash & t->mask];
    t->buckets[hash & t->mask] = h;
    t->count++;
    maybe_grow(t);
    return h;
}

void rpc_host_put(struct rpc_hosts *t, struct rpc_host *h)
{
    if (h == NULL || --h->refs > 0) {
        return;
    }
    struct rpc_host **link = &t->buckets[h->hash & t->mask];
    while (*link != h) {
        link = &(*link)->next;
    }
    *link = h->next;
    t->count--;
    host_free(h);
}

uint32_t rpc_hosts_longest_chain(const struct rpc_hosts *t)
{
    uint32_t longest = 0;

    for (uint32_t b = 0; t->buckets != NULL && b <= t->mask; b++) {
        uint32_t n = 0;
        for (const struct rpc_host *h = t->buckets[b]; h; h = h->next) {
            n++;
        }
        if (n > longest) {
            longest = n;
        }
    }
    return longest;
}

const struct sockaddr *rpc_host_addr(const struct rpc_host *h, socklen_t *len)
{
    if (len != NULL) {
        *len = h->addrlen;
    }
    return &h->addr.sa;
}

void rpc_host_heard(struct rpc_host *h, const struct timeval *now)
{
    h->last_heard = *now;
}

void rpc_host_last_heard(const struct rpc_host *h, struct timeval *tv)
{
    *tv = h->last_heard;
}

/* ---- The estimator (section 2.15) ---- */

/* µs to move bytes at the pair's average rate. Halving both while bytes >
 * 2048 is the reference's arithmetic (it kept Coda's products in 32
 * bits); it is kept so that the estimates are those of section 2.15. */
static uint64_t transfer_us(uint64_t bytes, const struct bw_pair *bw)
{
    uint64_t avg = bw->lo / 2 + bw->hi / 2;

    while (bytes > 2048) {
        bytes >>= 1;
        avg >>= 1;
    }
    if (avg == 0) {
        avg = 1;
    }
    return bytes * 1000000u / avg;
}

/* x + (sample - x) / 16, the difference truncated towards zero. */
static uint64_t ewma16(uint64_t x, uint64_t sample)
{
    return sample >= x ? x + (sample - x) / 16 : x - (x - sample) / 16;
}

/* One direction's bandwidth update from bytes moved in t_us µs. */
static void bw_update(struct bw_pair *bw, uint64_t t_us, uint64_t bytes)
{
    /* lo: average of ns per byte, gain 1/16. */
    uint64_t ns_per_byte = ewma16(1000000000u / bw->lo, t_us * 1000 / bytes);
    if (ns_per_byte == 0) {
        ns_per_byte = 1;
    }
    bw->lo = (uint32_t)(1000000000u / ns_per_byte);
    if (bw->lo == 0) { /* slower than 1 byte/s */
        bw->lo = 1;
    }

    /* hi: average of bytes per second, gain 1/16, kept below 2^32. */
    uint64_t rate = bytes * 1000000u / (t_us > 0 ? t_us : 1);
    uint64_t hi = ewma16(bw->hi, rate > UINT32_MAX ? UINT32_MAX : rate);
    bw->hi = hi > 0 ? (uint32_t)hi : 1;
}

static void estimate(const struct rpc_host *h, uint64_t out, uint64_t in,
                     uint64_t *lat, uint64_t *t_out, uint64_t *t_in)
{
    *lat = h->rtt8 >> 3;
    *t_out = transfer_us(out + RPC_HOST_OVERHEAD, &h->out);
    *t_in = transfer_us(in + RPC_HOST_OVERHEAD, &h->in);
}

static void estimator_update(struct rpc_host *h, uint64_t obs, uint64_t out,
                             uint64_t in)
{
    uint64_t lat, t_out, t_in;
    int64_t adj;

    estimate(h, out, in, &lat, &t_out, &t_in);
    uint64_t e = lat + t_out + t_in;
    if (obs >= e) {
        /* Slower than expected: a third of the excess to each part. */
        adj = (int64_t)((obs - e) / 3);
        t_out += (uint64_t)adj;
        t_in += (uint64_t)adj;
    } else {
        /* Faster: split the observation in three equal parts. */
        t_out = t_in = obs / 3;
        adj = (int64_t)(obs / 3) - (int64_t)lat;
    }
    /* rtt8 >= 8 * lat and adj >= -lat, so rtt8 stays >= 0. */
    h->rtt8 = (uint64_t)((int64_t)h->rtt8 + adj);
    bw_update(&h->out, t_out, out + RPC_HOST_OVERHEAD);
    bw_update(&h->in, t_in, in + RPC_HOST_OVERHEAD);
    uint64_t mag = adj < 0 ? (uint64_t)-adj : (uint64_t)adj;
    h->rttvar4 = h->rttvar4 + mag - (h->rttvar4 >> 2);
}

uint32_t rpc_host_rto(const struct rpc_host *h, uint32_t out_bytes,
                      uint32_t in_bytes)
{
    uint64_t lat, t_out, t_in;

    estimate(h, out_bytes, in_bytes, &lat, &t_out, &t_in);
    uint64_t rto = lat + t_out + t_in + 2 * (h->rttvar4 >> 2);
    return rto > UINT32_MAX ? UINT32_MAX : (uint32_t)rto;
}

void rpc_host_rtt(const struct rpc_host *h, unsigned long *rtt_us,
                  unsigned long *rttvar_us)
{
    if (rtt_us != NULL) {
        *rtt_us = (unsigned long)(h->rtt8 >> 3);
    }
    if (rttvar_us != NULL) {
        *rttvar_us = (unsigned long)(h->rttvar4 >> 2);
    }
}

void rpc_host_bandwidth(const struct rpc_host *h, unsigned long *lo,
                        unsigned long *avg, unsigned long *hi)
{
    if (lo != NULL) {
        *lo = h->out.lo;
    }
    if (avg != NULL) {
        *avg = ((unsigned long)h->out.lo + h->out.hi) / 2;
    }
    if (hi != NULL) {
        *hi = h->out.hi;
    }
}

/* ---- Network logs ---- */

static bool good_tag(NetLogTag tag)
{
    return tag == RPC2_MEASURED_NLE || tag == RPC2_STATIC_NLE;
}

/* Appends a copy of *e; silently dropped if the ring cannot be allocated
 * (the log is advisory). */
static void log_append(struct netlog *l, const RPC2_NetLogEntry *e)
{
    if (l->e == NULL) {
        l->e = calloc(RPC2_MAXLOGLENGTH, sizeof(*l->e));
        if (l->e == NULL) {
            return;
        }
    }
    l->e[l->next] = *e;
    l->next = (l->next + 1) % RPC2_MAXLOGLENGTH;
    if (l->count < RPC2_MAXLOGLENGTH) {
        l->count++;
    }
}

static void log_clear(struct netlog *l)
{
    free(l->e);
    l->e = NULL;
    l->next = 0;
    l->count = 0;
}

void rpc_host_sample_log(struct rpc_host *h, NetLogEntryType which,
                         int32_t conn, uint32_t obs_us, uint32_t out_bytes,
                         uint32_t in_bytes, const struct timeval *now)
{
    if (obs_us == 0 || obs_us >= (1u << 31)) {
        return;
    }
    estimator_update(h, obs_us, out_bytes, in_bytes);

    RPC2_NetLogEntry e;
    memset(&e, 0, sizeof(e));
    e.TimeStamp = *now;
    e.Tag = RPC2_MEASURED_NLE;
    e.Value.Measured.Conn = conn;
    uint64_t bytes = (uint64_t)out_bytes + in_bytes;
    e.Value.Measured.Bytes = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
    e.Value.Measured.ElapsedTime = obs_us >= 1000 ? obs_us / 1000 : 1;
    log_append(&h->log[which == SE_MEASUREMENT], &e);
}

void rpc_host_sample(struct rpc_host *h, int32_t conn, uint32_t obs_us,
                     uint32_t out_bytes, uint32_t in_bytes,
                     const struct timeval *now)
{
    rpc_host_sample_log(h, RPC2_MEASUREMENT, conn, obs_us, out_bytes, in_bytes,
                        now);
}

static bool log_arg_ok(const RPC2_NetLog *l)
{
    return l == NULL || l->NumEntries == 0 || l->Entries != NULL;
}

/* Newest first, until NumEntries, the stored entries or the Quantum run
 * out; the entry that reaches Quantum is included. */
static void log_copy_out(const struct netlog *l, RPC2_NetLog *out)
{
    uint32_t want = out->NumEntries < l->count ? out->NumEntries : l->count;
    uint64_t elapsed = 0;

    out->ValidEntries = 0;
    for (uint32_t i = 0; i < want; i++) {
        uint32_t slot =
            (l->next + RPC2_MAXLOGLENGTH - 1 - i) % RPC2_MAXLOGLENGTH;
        const RPC2_NetLogEntry *e = &l->e[slot];
        out->Entries[out->ValidEntries++] = *e;
        if (e->Tag == RPC2_MEASURED_NLE) {
            elapsed += e->Value.Measured.ElapsedTime;
        }
        if (elapsed >= out->Quantum) {
            break;
        }
    }
}

long rpc_host_get_netinfo(const struct rpc_host *h, RPC2_NetLog *rpc,
                          RPC2_NetLog *se)
{
    if ((rpc == NULL && se == NULL) || !log_arg_ok(rpc) || !log_arg_ok(se)) {
        return RPC2_FAIL;
    }
    if (rpc != NULL) {
        log_copy_out(&h->log[RPC2_MEASUREMENT], rpc);
    }
    if (se != NULL) {
        log_copy_out(&h->log[SE_MEASUREMENT], se);
    }
    return RPC2_SUCCESS;
}

static long log_put(struct netlog *l, RPC2_NetLog *in,
                    const struct timeval *now)
{
    for (uint32_t i = 0; i < in->NumEntries; i++) {
        RPC2_NetLogEntry e = in->Entries[i];
        if (!good_tag(e.Tag)) {
            return RPC2_FAIL;
        }
        e.TimeStamp = *now;
        log_append(l, &e);
        in->ValidEntries++;
    }
    return RPC2_SUCCESS;
}

long rpc_host_put_netinfo(struct rpc_host *h, RPC2_NetLog *rpc, RPC2_NetLog *se)
{
    struct timeval now;

    if ((rpc == NULL && se == NULL) || !log_arg_ok(rpc) || !log_arg_ok(se)) {
        return RPC2_FAIL;
    }
    if (rpc != NULL) {
        rpc->ValidEntries = 0;
    }
    if (se != NULL) {
        se->ValidEntries = 0;
    }
    FT_GetTimeOfDay(&now, NULL);
    if (rpc != NULL &&
        log_put(&h->log[RPC2_MEASUREMENT], rpc, &now) != RPC2_SUCCESS) {
        return RPC2_FAIL;
    }
    if (se != NULL &&
        log_put(&h->log[SE_MEASUREMENT], se, &now) != RPC2_SUCCESS) {
        return RPC2_FAIL;
    }
    return RPC2_SUCCESS;
}

void rpc_host_clear_netinfo(struct rpc_host *h)
{
    log_clear(&h->log[RPC2_MEASUREMENT]);
    log_clear(&h->log[SE_MEASUREMENT]);
}
