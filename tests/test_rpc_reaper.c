/* SPDX-License-Identifier: MIT */
/*
 * The reaper (reference 2.18): with RPC2_enableReaping, server connections
 * idle longer than the limit and claimed by nobody (no private pointer)
 * are unbound; with it off, or for a connection in use or claimed,
 * nothing happens. The period and the limit (60 s and 15 min) are
 * shortened through the instance, as only a test may.
 */
#include "rpc_internal.h"
#include "rpc_test.h"

#define PERIOD_US 20000u /* the reaper runs every 20 ms */
#define IDLE_US 150000u  /* and unbinds after 150 ms idle */

static uint16_t port;

static void setup(void)
{
    struct rpc_instance *r;
    uint64_t due;

    port = rpct_init(-1, 0);
    rpct_start_servers(2);
    r = rpc__inst;
    r->reap_period_us = PERIOD_US;
    r->reap_idle_us = IDLE_US;
    due = rpc_now() + PERIOD_US;
    rpc_timer_arm(&r->timers, &r->reaper, due);
    rpc_listener_kick(r, due);
}

static void teardown(void)
{
    RPC2_enableReaping = 0;
    rpct_fini();
}

TestSuite(rpc_reaper, .init = setup, .fini = teardown, .timeout = 30);

static void sleep_ms(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    IOMGR_Select(0, NULL, NULL, NULL, &tv);
}

/* The server side of this process's connections (client and server share
 * the instance). */
static int server_conns(RPC2_Handle *last)
{
    struct rpc_instance *r = rpc__inst;
    int n = 0;

    for (uint32_t i = 0; i <= r->cmask; i++) {
        for (struct rpc_conn *c = r->ctab[i]; c; c = c->hnext) {
            if (rpc_conn_is_server(c)) {
                n++;
                if (last) {
                    *last = c->handle;
                }
            }
        }
    }
    return n;
}

static void echo(RPC2_Handle h)
{
    RPC2_PacketBuffer *rep = NULL;

    cr_assert_eq(rpct_call(h, RPCT_OP_ECHO, "reap", 4, &rep, NULL),
                 RPC2_SUCCESS);
    RPC2_FreeBuffer(&rep);
}

Test(rpc_reaper, idle_unclaimed_server_connections_are_unbound)
{
    RPC2_Handle h, srv = 0;
    long unbinds = rpc2_Unbinds;

    RPC2_enableReaping = 1;
    cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &h), RPC2_SUCCESS);
    echo(h);
    cr_assert_eq(server_conns(&srv), 1);
    sleep_ms(400);
    cr_assert_eq(server_conns(NULL), 0);
    cr_assert_eq(rpc2_Unbinds, unbinds + 1);
    /* Its handle is gone for the server's calls too. */
    cr_assert_eq(RPC2_SetPrivatePointer(srv, (char *)&srv), RPC2_NOCONNECTION);
}

Test(rpc_reaper, nothing_is_unbound_with_reaping_off)
{
    RPC2_Handle h;

    cr_assert_eq(RPC2_enableReaping, 0);
    cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &h), RPC2_SUCCESS);
    echo(h);
    sleep_ms(400);
    cr_assert_eq(server_conns(NULL), 1);
    echo(h);
}

Test(rpc_reaper, a_claimed_connection_is_kept)
{
    RPC2_Handle h, srv = 0;
    static int claim;

    RPC2_enableReaping = 1;
    cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &h), RPC2_SUCCESS);
    echo(h);
    cr_assert_eq(server_conns(&srv), 1);
    cr_assert_eq(RPC2_SetPrivatePointer(srv, (char *)&claim), RPC2_SUCCESS);
    sleep_ms(400);
    cr_assert_eq(server_conns(NULL), 1);
    echo(h);
}

Test(rpc_reaper, a_connection_in_use_is_kept)
{
    RPC2_Handle h;

    RPC2_enableReaping = 1;
    cr_assert_eq(rpct_bind(port, RPC2_SECURE, NULL, &h), RPC2_SUCCESS);
    for (int i = 0; i < 8; i++) { /* a call every 50 ms for 400 ms */
        echo(h);
        sleep_ms(50);
    }
    cr_assert_eq(server_conns(NULL), 1);
    echo(h);
}
