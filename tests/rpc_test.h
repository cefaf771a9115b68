/* SPDX-License-Identifier: MIT */
/* Helpers shared by the RPC runtime tests (support/rpc_harness.c). */
#ifndef RPC_TEST_H
#define RPC_TEST_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <sys/types.h>

#include <lwp/lwp.h>
#include <rpc2/rpc2.h>

#define RPCT_SUBSYS 4711
#define RPCT_OP_ECHO 1  /* reply = request body, ReturnCode 0 */
#define RPCT_OP_SLEEP 2 /* body: u32 ms to sleep before the echo */
#define RPCT_OP_FAIL 3  /* ReturnCode = body u32 (an errno value) */
#define RPCT_OP_COUNT 4 /* reply: u32 count of executions of this op */
#define RPCT_OP_ONCE 5  /* body: u32 id < RPCT_ONCE_MAX; counted, echoed */
#define RPCT_OP_STALL 6 /* echo, then block the whole process for body u32
                         * ms in usleep (a system call outside IOMGR) */
#define RPCT_ONCE_MAX 65536

extern RPC2_EncryptionKey rpct_secret;   /* what GetKeys hands out */
extern unsigned long rpct_executions;    /* requests the server ran */
extern unsigned long rpct_binds;         /* NEWCONNECTIONs enabled */
extern unsigned long rpct_authfails;     /* AuthFail callbacks */
extern unsigned char rpct_once[RPCT_ONCE_MAX]; /* executions per id */

/* LWP_Init (main at normal priority), RPC2_Init on an ephemeral port of
 * 127.0.0.1 with the given retry count and keepalive (ms; 0 = defaults),
 * export RPCT_SUBSYS. Returns the port (network order). */
uint16_t rpct_init(long retries, long keepalive_ms);
/* The same on a given port (network order; 0 = any). */
uint16_t rpct_init_at(uint16_t at, long retries, long keepalive_ms);
/* A forked server process (4 server LWPs). Fork it before this process
 * initialises LWP/RPC (a fork inherits the runtime); it waits until
 * rpct_child_serve starts its server on port `at` (network order, 0: any)
 * with the given keepalive (ms, < 65536) and returns the port.
 * rpct_child_kill kills and reaps it. */
struct rpct_child {
    pid_t pid;
    int go, back;
};
void rpct_fork_idle(struct rpct_child *ch);
uint16_t rpct_child_serve(struct rpct_child *ch, uint16_t at, long keepalive_ms);
void rpct_child_kill(struct rpct_child *ch);
/* Starts n server LWPs looping GetRequest -> handle -> SendResponse. */
void rpct_start_servers(int n);
/* RPC2_Finalize and LWP teardown; asserts RPC2_Finalize succeeded. */
void rpct_fini(void);

/* Binds to 127.0.0.1:port at level with secret (NULL: rpct_secret). */
long rpct_bind(uint16_t port, int32_t level, const RPC2_EncryptionKey *secret,
               RPC2_Handle *h);
/* One call of op with body (len bytes); the reply in *reply. */
long rpct_call(RPC2_Handle h, int32_t op, const void *body, size_t len,
               RPC2_PacketBuffer **reply, const struct timeval *patience);

/* Non-zero under ASan or valgrind, where address-space limits (used to
 * provoke ENOMEM) do not work. */
int rpct_limits_unreliable(void);

#endif /* RPC_TEST_H */
