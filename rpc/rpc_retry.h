/* SPDX-License-Identifier: MIT */
/*
 * The client's retransmission schedule (reference section 2.11). With N
 * retries and keepalive KA, transmission i (0 = original) waits at least
 * B[i] = KA / 2^(N - i + 2) µs (B[0] = 0), so the waits double up to KA/4
 * and a silent peer is given up after about KA/2; after a BUSY the client
 * waits B[N+1] = KA/4 without sending. Every wait is the larger of the
 * peer's RTO estimate and B[i], plus RPC2_DELACK_DELAY (100 ms, the
 * server's delayed-ack allowance) unless the caller is SFTP, capped at
 * RPC2_MAXRTO (30 s). Pure arithmetic: nothing allocates, blocks or fails.
 */
#ifndef RPC_RETRY_H
#define RPC_RETRY_H

#include <stdint.h>
#include <sys/time.h>

#define RPC_RETRY_DEFAULT_N 6
#define RPC_RETRY_MAX_N 15
#define RPC_RETRY_DEFAULT_KA_US 60000000ull  /* 60 s */
#define RPC_RETRY_MAX_KA_US 1000000000000ull /* 10^12 µs, about 11.6 days */
#define RPC_RETRY_DELACK_US 100000           /* RPC2_DELACK_DELAY */
#define RPC_RETRY_MAX_RTO_US 30000000        /* RPC2_MAXRTO */

struct rpc_retry {
    int n;                 /* N = RetryCount, 0..15 */
    uint64_t keepalive_us; /* KA */
    uint64_t bound[17];    /* B[0..N+1] µs; unused entries are 0 */
};

/* Computes the schedule. retry_count < 0 gives 6, > 15 gives 15.
 * keepalive NULL or negative gives 60 s; larger than RPC_RETRY_MAX_KA_US
 * is capped there (tv_usec may be any value: the total counts). */
void rpc_retry_init(struct rpc_retry *r, long retry_count,
                    const struct timeval *keepalive);

/* The wait in µs after transmission number index (0 = original, 1..N =
 * retries; -1 = the keepalive wait after a BUSY, B[N+1]):
 * min(max(rto_estimate_us, B[index]) + (sftp ? 0 : 100000), 30000000).
 * Returns -1 when index > N (give up: the peer is dead) or index < -1. */
int64_t rpc_retry_interval(const struct rpc_retry *r, int index,
                           uint64_t rto_estimate_us, int sftp);

#endif /* RPC_RETRY_H */
