/* SPDX-License-Identifier: MIT */
/* Client and server in different processes: a killed server is declared
 * dead within the retry schedule; a restarted one is bound again. */
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "rpc_test.h"

static double since(const struct timeval *t0)
{
    struct timeval t1;
    gettimeofday(&t1, NULL);
    return (double)(t1.tv_sec - t0->tv_sec) +
           (double)(t1.tv_usec - t0->tv_usec) * 1e-6;
}

Test(rpc_peer, killed_server_is_dead_and_a_restarted_one_binds, .timeout = 30)
{
    struct rpct_child a, b;
    RPC2_Handle h;
    RPC2_PacketBuffer *rep = NULL;
    struct timeval t0;

    rpct_fork_idle(&a);
    rpct_fork_idle(&b);
    uint16_t sport = rpct_child_serve(&a, 0, 2000);
    rpct_init(-1, 2000); /* keepalive 2 s: dead after about 1 s of silence */
    cr_assert_eq(rpct_bind(sport, RPC2_SECURE, NULL, &h), RPC2_SUCCESS);
    cr_assert_eq(rpct_call(h, RPCT_OP_ECHO, "ping", 4, &rep, NULL),
                 RPC2_SUCCESS);
    RPC2_FreeBuffer(&rep);
    rpct_child_kill(&a);

    gettimeofday(&t0, NULL);
    cr_assert_eq(rpct_call(h, RPCT_OP_ECHO, "ping", 4, &rep, NULL), RPC2_DEAD);
    double took = since(&t0);
    cr_assert(took > 0.5 && took < 3.0, "dead after %.2f s", took);
    /* The connection is unusable now; only Unbind helps. */
    cr_assert_eq(rpct_call(h, RPCT_OP_ECHO, "ping", 4, &rep, NULL), RPC2_FAIL);
    cr_assert_eq(RPC2_Unbind(h), RPC2_SUCCESS);

    cr_assert_eq(rpct_child_serve(&b, sport, 2000), sport);
    cr_assert_eq(rpct_bind(sport, RPC2_SECURE, NULL, &h), RPC2_SUCCESS);
    cr_assert_eq(rpct_call(h, RPCT_OP_ECHO, "pong", 4, &rep, NULL),
                 RPC2_SUCCESS);
    cr_assert_arr_eq(rep->Body, "pong", 4);
    RPC2_FreeBuffer(&rep);
    rpct_child_kill(&b);
    rpct_fini();
}

Test(rpc_peer, bind_to_a_silent_port_gives_nobinding, .timeout = 30)
{
    struct rpct_child a;
    RPC2_Handle h = 1;
    struct timeval t0;

    rpct_fork_idle(&a);
    uint16_t sport = rpct_child_serve(&a, 0, 2000);
    rpct_child_kill(&a);
    rpct_init(-1, 2000);
    gettimeofday(&t0, NULL);
    cr_assert_eq(rpct_bind(sport, RPC2_OPENKIMONO, NULL, &h), RPC2_NOBINDING);
    cr_assert_eq(h, 0);
    cr_assert_lt(since(&t0), 3.0);
    rpct_fini();
}

/* A server LWP that replies and then blocks its whole process in a system
 * call outside IOMGR (here usleep): the reply must not wait for the stall
 * to end, although replies are sent in batches when the LWPs have run. */
Test(rpc_peer, a_reply_leaves_before_the_server_stalls, .timeout = 30)
{
    struct rpct_child a;
    RPC2_Handle h;
    RPC2_PacketBuffer *rep = NULL;
    struct timeval t0;
    uint32_t ms = htonl(1000);

    rpct_fork_idle(&a);
    uint16_t sport = rpct_child_serve(&a, 0, 0);
    rpct_init(-1, 0);
    cr_assert_eq(rpct_bind(sport, RPC2_SECURE, NULL, &h), RPC2_SUCCESS);
    gettimeofday(&t0, NULL);
    cr_assert_eq(rpct_call(h, RPCT_OP_STALL, &ms, 4, &rep, NULL),
                 RPC2_SUCCESS);
    double took = since(&t0);
    RPC2_FreeBuffer(&rep);
    cr_assert_lt(took, 0.5, "the reply waited %.3f s for the stall", took);
    rpct_child_kill(&a);
    rpct_fini();
}
