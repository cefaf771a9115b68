/* SPDX-License-Identifier: MIT */
/* The retry schedule of reference section 2.11 (see rpc_retry.h). */
#include "rpc_retry.h"

#include <string.h>

static uint64_t keepalive_us(const struct timeval *tv)
{
    const int64_t max_sec = (int64_t)(RPC_RETRY_MAX_KA_US / 1000000u);
    int64_t us;

    if (tv == NULL || tv->tv_sec < 0) {
        return RPC_RETRY_DEFAULT_KA_US;
    }
    if ((int64_t)tv->tv_sec > max_sec) {
        return RPC_RETRY_MAX_KA_US;
    }
    /* tv_usec is not trusted to be < 10^6 (or even positive). */
    if (__builtin_add_overflow((int64_t)tv->tv_sec * 1000000,
                               (int64_t)tv->tv_usec, &us)) {
        return tv->tv_usec < 0 ? RPC_RETRY_DEFAULT_KA_US : RPC_RETRY_MAX_KA_US;
    }
    if (us < 0) {
        return RPC_RETRY_DEFAULT_KA_US;
    }
    return (uint64_t)us > RPC_RETRY_MAX_KA_US ? RPC_RETRY_MAX_KA_US
                                              : (uint64_t)us;
}

void rpc_retry_init(struct rpc_retry *r, long retry_count,
                    const struct timeval *keepalive)
{
    memset(r, 0, sizeof(*r));
    if (retry_count < 0) {
        r->n = RPC_RETRY_DEFAULT_N;
    } else if (retry_count > RPC_RETRY_MAX_N) {
        r->n = RPC_RETRY_MAX_N;
    } else {
        r->n = (int)retry_count;
    }
    r->keepalive_us = keepalive_us(keepalive);

    /* B[N] = (KA/2)/2, and each earlier bound halves the next one, by
     * integer right shifts as Coda computes them (so B[i] = KA >> (N-i+2)
     * exactly). */
    uint64_t b = (r->keepalive_us >> 1) >> 1;
    r->bound[r->n + 1] = b;
    for (int i = r->n; i >= 1; i--) {
        r->bound[i] = b;
        b >>= 1;
    }
    r->bound[0] = 0;
}

int64_t rpc_retry_interval(const struct rpc_retry *r, int index,
                           uint64_t rto_estimate_us, int sftp)
{
    if (index < -1 || index > r->n) {
        return -1;
    }
    uint64_t floor_us = r->bound[index < 0 ? r->n + 1 : index];
    uint64_t us = rto_estimate_us > floor_us ? rto_estimate_us : floor_us;

    if (us >= RPC_RETRY_MAX_RTO_US) {
        return RPC_RETRY_MAX_RTO_US;
    }
    if (!sftp) {
        us += RPC_RETRY_DELACK_US;
    }
    return us > RPC_RETRY_MAX_RTO_US ? RPC_RETRY_MAX_RTO_US : (int64_t)us;
}
