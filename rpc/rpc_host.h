/* SPDX-License-Identifier: MIT */
/*
 * Per-peer host entries (reference sections 1.11, 2.15, 2.16): one entry
 * per peer address AND port, shared by every connection to that peer and
 * reference counted by them. An entry holds the peer's "last word" time,
 * the RTT/bandwidth estimator and the two network measurement logs
 * (RPC2_MEASUREMENT and SE_MEASUREMENT) behind RPC2_GetRTT,
 * RPC2_GetBandwidth, RPC2_GetLastObs, RPC2_GetPeerLiveness and
 * RPC2_Get/Put/ClearNetInfo.
 *
 * The table is a hash on (family, address, port, IPv6 scope) with a
 * per-table random key, so lookups are O(1) on average and remote peers
 * cannot choose colliding addresses. An entry is created fresh by the
 * first rpc_host_get() for its address and freed by the last
 * rpc_host_put(); a later get starts again from fresh estimator state
 * (F21). IPv4 and IPv6 addresses are distinct keys (an IPv4-mapped IPv6
 * address is not folded into the IPv4 one).
 *
 * Memory: 128 bytes per entry on LP64 (plus the allocator's overhead);
 * each of its two logs (32 entries of 32 bytes, 1 KiB) is allocated only
 * when the first entry is appended, and only clients take RTT samples, so
 * a server's entries (one per client address and port) stay small.
 *
 * Times (last word, log time stamps) are struct timeval on the clock the
 * caller passes in; rpc_host_put_netinfo stamps entries with the time of
 * day (FT_GetTimeOfDay) as Coda does, so callers should pass that clock.
 *
 * Single-threaded; nothing blocks or yields.
 */
#ifndef RPC_HOST_H
#define RPC_HOST_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <rpc2/rpc2.h>

#define RPC_HOST_OVERHEAD 40        /* IP+UDP bytes added each way */
#define RPC_HOST_INITIAL_BW 100000u /* bytes/s, every direction */

struct rpc_host; /* opaque */

struct rpc_hosts {
    struct rpc_host **buckets; /* chains; a power of two of them */
    uint32_t mask;             /* number of buckets - 1 */
    uint32_t count;            /* entries in the table */
    uint64_t key[2];           /* hash key, random per table */
};

/* An empty table (64 buckets; grows as entries are added). Returns 0, or
 * -ENOMEM. */
int rpc_hosts_init(struct rpc_hosts *t);

/* Frees every entry, even those still referenced (their pointers become
 * invalid), and the table. The table may be initialised again. */
void rpc_hosts_fini(struct rpc_hosts *t);

/* Finds or creates the entry for a (AF_INET with len >= sizeof(struct
 * sockaddr_in), or AF_INET6 with len >= sizeof(struct sockaddr_in6); a is
 * borrowed) and takes a reference. Returns NULL with errno EINVAL for
 * another family, a short len or a NULL a, ENOMEM without memory. */
struct rpc_host *rpc_host_get(struct rpc_hosts *t, const struct sockaddr *a,
                              socklen_t len);

/* Drops a reference; the entry is freed with the last one. NULL: no-op. */
void rpc_host_put(struct rpc_hosts *t, struct rpc_host *h);

/* The entry's address (owned by the entry: port, address and IPv6 scope
 * id set, everything else zero) and its length (sizeof sockaddr_in or
 * sockaddr_in6). len may be NULL. */
const struct sockaddr *rpc_host_addr(const struct rpc_host *h, socklen_t *len);

/* Records *now as the last time anything was heard from the peer. */
void rpc_host_heard(struct rpc_host *h, const struct timeval *now);

/* The last-heard time; 0.0 if never. */
void rpc_host_last_heard(const struct rpc_host *h, struct timeval *tv);

/* One round-trip observation of obs_us µs for a call that sent out_bytes
 * and received in_bytes (RPC2 header + body; RPC_HOST_OVERHEAD is added
 * inside): updates the estimator exactly as section 2.15 describes and
 * appends an RPC2_MEASUREMENT log entry (Conn = conn, Bytes = out_bytes +
 * in_bytes, ElapsedTime = obs_us / 1000 ms but at least 1, TimeStamp =
 * *now). obs_us == 0 or >= 2^31 (a clock step or a bogus echo, never a
 * real round trip) is ignored. */
void rpc_host_sample(struct rpc_host *h, int32_t conn, uint32_t obs_us,
                     uint32_t out_bytes, uint32_t in_bytes,
                     const struct timeval *now);

/* The same for a side effect's observation (SFTP, section 4.8): feeds the
 * same estimator and appends to the log of type which (RPC2_MEASUREMENT or
 * SE_MEASUREMENT). */
void rpc_host_sample_log(struct rpc_host *h, NetLogEntryType which,
                         int32_t conn, uint32_t obs_us, uint32_t out_bytes,
                         uint32_t in_bytes, const struct timeval *now);

/* RTO estimate in µs for sending out_bytes and receiving in_bytes (the
 * overhead is added inside): RTT + both transfer times + 2 x RTT
 * variance. A fresh entry gives 2,400 for 100 out and 60 in. Saturates at
 * UINT32_MAX. */
uint32_t rpc_host_rto(const struct rpc_host *h, uint32_t out_bytes,
                      uint32_t in_bytes);

/* Smoothed RTT and RTT variance in µs (RPC2_GetRTT). Either pointer may be
 * NULL. */
void rpc_host_rtt(const struct rpc_host *h, unsigned long *rtt_us,
                  unsigned long *rttvar_us);

/* Outgoing bandwidth estimates in bytes/s: low, (low + high) / 2, high
 * (RPC2_GetBandwidth). Any pointer may be NULL. */
void rpc_host_bandwidth(const struct rpc_host *h, unsigned long *lo,
                        unsigned long *avg, unsigned long *hi);

/* RPC2_GetNetInfo on this peer: for each non-NULL log, copies the newest
 * entries first into Entries, at most NumEntries of them, stopping after
 * the entry with which the sum of the MEASURED entries' ElapsedTime reaches
 * Quantum (so at least one entry if any is stored); sets ValidEntries.
 * Returns RPC2_SUCCESS, or RPC2_FAIL if both logs are NULL or a log has
 * NumEntries > 0 and Entries NULL (then nothing is copied). */
long rpc_host_get_netinfo(const struct rpc_host *h, RPC2_NetLog *rpc,
                          RPC2_NetLog *se);

/* RPC2_PutNetInfo on this peer: appends Entries[0 .. NumEntries-1] of
 * each non-NULL log, in order, each time-stamped now, and sets
 * ValidEntries to the number appended. Returns RPC2_SUCCESS, or RPC2_FAIL
 * if both logs are NULL, Entries is NULL with NumEntries > 0, or an entry
 * has a Tag other than RPC2_MEASURED_NLE / RPC2_STATIC_NLE (appending
 * stops there; the SE log is not touched if the RPC log failed). */
long rpc_host_put_netinfo(struct rpc_host *h, RPC2_NetLog *rpc,
                          RPC2_NetLog *se);

/* RPC2_ClearNetInfo: empties both logs (frees their storage). */
void rpc_host_clear_netinfo(struct rpc_host *h);

/* Diagnostics (RPC2_DumpState, tests): the longest hash chain. */
uint32_t rpc_hosts_longest_chain(const struct rpc_hosts *t);

#endif /* RPC_HOST_H */
