/* SPDX-License-Identifier: MIT */
/*
 * The connection table: connections by handle in a chained hash table that
 * doubles as it fills (lookups stay O(1) with 100,000 connections), and
 * the server's binds in progress by (peer, peer handle, uniquefier), which
 * is how retransmitted INIT1s are recognised.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_internal.h"

#define CTAB_MIN 256u
#define BTAB_SIZE 256u

long rpc2_ConnCreationCount, rpc2_ConnCount, rpc2_ConnFreeCount;
long rpc2_Unbinds, rpc2_FreeConns, rpc2_AllocConns;

static uint32_t handle_hash(RPC2_Handle h)
{
    /* Handles are random: their low bits already spread well. */
    return (uint32_t)h;
}

int rpc_conn_table_init(struct rpc_instance *r)
{
    r->ctab = calloc(CTAB_MIN, sizeof *r->ctab);
    r->btab = calloc(BTAB_SIZE, sizeof *r->btab);
    if (!r->ctab || !r->btab) {
        free(r->ctab);
        free(r->btab);
        r->ctab = r->btab = NULL;
        return -ENOMEM;
    }
    r->cmask = CTAB_MIN - 1;
    r->nconns = 0;
    return 0;
}

void rpc_conn_table_fini(struct rpc_instance *r)
{
    if (r->ctab) {
        for (uint32_t i = 0; i <= r->cmask; i++) {
            while (r->ctab[i]) {
                rpc_conn_free(r, r->ctab[i]);
            }
        }
    }
    free(r->ctab);
    free(r->btab);
    r->ctab = r->btab = NULL;
}

static void grow(struct rpc_instance *r)
{
    uint32_t n = (r->cmask + 1) * 2;
    struct rpc_conn **t = calloc(n, sizeof *t);

    if (!t) {
        return; /* chains just get longer */
    }
    for (uint32_t i = 0; i <= r->cmask; i++) {
        struct rpc_conn *c = r->ctab[i], *next;
        for (; c; c = next) {
            next = c->hnext;
            uint32_t b = handle_hash(c->handle) & (n - 1);
            c->hnext = t[b];
            t[b] = c;
        }
    }
    free(r->ctab);
    r->ctab = t;
    r->cmask = n - 1;
}

long rpc_conn_get(RPC2_Handle h, struct rpc_conn **cp)
{
    long rc = rpc_check_init();

    *cp = NULL;
    if (rc != RPC2_SUCCESS) {
        return rc;
    }
    *cp = rpc_conn_find(rpc__inst, h);
    return *cp ? RPC2_SUCCESS : RPC2_NOCONNECTION;
}

struct rpc_conn *rpc_conn_find(struct rpc_instance *r, RPC2_Handle h)
{
    struct rpc_conn *c = r->ctab[handle_hash(h) & r->cmask];

    while (c && c->handle != h) {
        c = c->hnext;
    }
    return c;
}

static RPC2_Handle fresh_handle(struct rpc_instance *r)
{
    for (;;) {
        uint32_t v;
        if (sec_random(&v, sizeof v) != 0) {
            return 0;
        }
        /* Positive, at least 256: the SPI space (K7) and Coda's rule. */
        RPC2_Handle h = (RPC2_Handle)(v & 0x7fffffffu);
        if (h >= 256 && !rpc_conn_find(r, h)) {
            return h;
        }
    }
}

static void fire_delack(struct rpc_timer *t);
static void fire_saved_expiry(struct rpc_timer *t);

struct rpc_conn *rpc_conn_new(struct rpc_instance *r, uint32_t role)
{
    struct rpc_conn *c;

    if (r->nconns >= RPC_MAX_CONNS ||
        rpc_timers_reserve(&r->timers, 2 * (r->nconns + 1) + 64) != 0) {
        return NULL;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        return NULL;
    }
    c->handle = fresh_handle(r);
    if (!c->handle) {
        free(c);
        return NULL;
    }
    c->state = role;
    c->retry.fire = rpc_fire_retry;
    c->delack.fire = fire_delack;
    c->saved_expiry.fire = fire_saved_expiry;
    c->last_used = rpc_now();
    c->time_bomb_us = r->retry.keepalive_us;
    uint32_t b = handle_hash(c->handle) & r->cmask;
    c->hnext = r->ctab[b];
    r->ctab[b] = c;
    if (++r->nconns > r->cmask + 1) {
        grow(r);
    }
    rpc2_ConnCreationCount++;
    rpc2_ConnCount++;
    rpc2_AllocConns++;
    return c;
}

static uint32_t bind_hash(const struct rpc_host *host, RPC2_Handle peer,
                          int32_t uniq)
{
    uint64_t x = (uint64_t)(uintptr_t)host ^ (uint32_t)peer ^
                 ((uint64_t)(uint32_t)uniq << 32);
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    return (uint32_t)x & (BTAB_SIZE - 1);
}

void rpc_conn_bind_index(struct rpc_instance *r, struct rpc_conn *c)
{
    uint32_t b = bind_hash(c->host, c->peer_handle, c->uniquefier);

    c->bnext = r->btab[b];
    r->btab[b] = c;
}

void rpc_conn_bind_unindex(struct rpc_instance *r, struct rpc_conn *c)
{
    struct rpc_conn **pp =
        &r->btab[bind_hash(c->host, c->peer_handle, c->uniquefier)];

    for (; *pp; pp = &(*pp)->bnext) {
        if (*pp == c) {
            *pp = c->bnext;
            c->bnext = NULL;
            return;
        }
    }
}

struct rpc_conn *rpc_conn_find_bind(struct rpc_instance *r,
                                    const struct rpc_host *host,
                                    RPC2_Handle peer, int32_t uniq)
{
    struct rpc_conn *c = r->btab[bind_hash(host, peer, uniq)];

    for (; c; c = c->bnext) {
        if (c->host == host && c->peer_handle == peer &&
            c->uniquefier == uniq) {
            return c;
        }
    }
    return NULL;
}

int rpc_conn_set_peer(struct rpc_instance *r, struct rpc_conn *c,
                      const struct sockaddr *a, socklen_t len)
{
    struct rpc_host *h;

    if (c->host) {
        socklen_t cur;
        const struct sockaddr *ca = rpc_host_addr(c->host, &cur);
        if (cur == len && memcmp(ca, a, len) == 0) {
            return 0;
        }
    }
    h = rpc_host_get(&r->hosts, a, len);
    if (!h) {
        return -ENOMEM;
    }
    bool indexed = false;
    if (c->host && rpc_conn_in(c, S_STARTBIND | S_AWAITINIT3) &&
        rpc_conn_is_server(c)) {
        rpc_conn_bind_unindex(r, c);
        indexed = true;
    }
    if (c->host) {
        rpc_host_put(&r->hosts, c->host);
    }
    c->host = h;
    if (indexed) {
        rpc_conn_bind_index(r, c);
    }
    return 0;
}

void rpc_conn_free(struct rpc_instance *r, struct rpc_conn *c)
{
    struct rpc_conn **pp = &r->ctab[handle_hash(c->handle) & r->cmask];

    while (*pp && *pp != c) {
        pp = &(*pp)->hnext;
    }
    if (*pp) {
        *pp = c->hnext;
    }
    rpc_conn_bind_unindex(r, c);
    rpc_hold_remove(r, c);
    rpc_conn_state(r, c, 0); /* unbound: out of S_PROCESS, if it was */
    rpc_timer_cancel(&r->timers, &c->delack);
    rpc_timer_cancel(&r->timers, &c->retry);
    rpc_timer_cancel(&r->timers, &c->saved_expiry);
    RPC2_FreeBuffer(&c->saved);
    RPC2_FreeBuffer(&c->spare);
    RPC2_FreeBuffer(&c->held);
    if (c->host) {
        rpc_host_put(&r->hosts, c->host);
    }
    if (c->enq_waiters) {
        LWP_NoYieldSignal(c); /* queued callers find it gone */
    }
    sec_clear(&c->sa);
    sec_wipe(c->session_key, sizeof c->session_key);
    r->nconns--;
    rpc2_ConnCount--;
    rpc2_ConnFreeCount++;
    rpc2_FreeConns++;
    free(c);
}

static void fire_delack(struct rpc_timer *t)
{
    struct rpc_conn *c = (struct rpc_conn *)((char *)t -
                                             offsetof(struct rpc_conn, delack));
    struct rpc_instance *r = rpc__inst;
    uint64_t due = c->req_time + RPC_DELACK_US;

    /* Armed lazily (server.c): it may find an idle connection (nothing to
     * do), a request not yet 100 ms old (wait for it), or one that is. */
    if (!rpc_conn_in(c, S_PROCESS | S_INSE | S_REQINQUEUE) || c->delack_sent ||
        rpc_timer_early(&r->timers, t, rpc_now(), due)) {
        return;
    }
    c->delack_sent = true;
    rpc_send_busy(r, c);
}

static void fire_saved_expiry(struct rpc_timer *t)
{
    struct rpc_conn *c = (struct rpc_conn *)((char *)t -
                                       offsetof(struct rpc_conn, saved_expiry));
    struct rpc_instance *r = rpc__inst;
    uint64_t due = c->saved_at + 2 * r->retry.keepalive_us;

    /* Armed once and moved on only when it fires, not at every reply. */
    if (c->saved && rpc_timer_early(&r->timers, t, rpc_now(), due)) {
        return;
    }
    RPC2_FreeBuffer(&c->saved);
    RPC2_FreeBuffer(&c->spare); /* an idle connection keeps no buffer */
}

void rpc_conn_keep_saved(struct rpc_instance *r, struct rpc_conn *c,
                         RPC2_PacketBuffer *pb, uint64_t now)
{
    /* A request supersedes the reply saved for its predecessor; the buffer
     * then holds this request's reply (save_reply), which spares a buffer
     * allocation and release per call. */
    if (!pb && !c->spare) {
        c->spare = c->saved;
    } else {
        RPC2_FreeBuffer(&c->saved);
    }
    c->saved = pb;
    c->saved_at = now;
    if (pb && !rpc_timer_armed(&c->saved_expiry)) {
        rpc_timer_arm(&r->timers, &c->saved_expiry,
                      c->saved_at + 2 * r->retry.keepalive_us);
    }
}
