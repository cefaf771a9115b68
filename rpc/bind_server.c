/* SPDX-License-Identifier: MIT */
/*
 * The server side of the rpc2sec bind (reference 2.5.5, 3.11), run inside
 * the RPC2_GetRequest LWP that took the INIT1: GetKeys, the bootstrap key,
 * INIT2 (reliably) with the client-to-server key, INIT3 with the other,
 * INIT4 (saved for retransmitted INIT3s), then the NEWCONNECTION request.
 */
#include <string.h>

#include "rpc_internal.h"

static int32_t level_of(int32_t opcode)
{
    switch (opcode) {
    case RPC2_INIT1AUTHONLY:
        return RPC2_AUTHONLY;
    case RPC2_INIT1HEADERSONLY:
        return RPC2_HEADERSONLY;
    case RPC2_INIT1SECURE:
        return RPC2_SECURE;
    default:
        return RPC2_OPENKIMONO;
    }
}

static void peer_idents(struct rpc_conn *c, RPC2_HostIdent *host,
                        RPC2_PortIdent *port)
{
    socklen_t len;
    const struct sockaddr *a = rpc_host_addr(c->host, &len);

    memset(host, 0, sizeof *host);
    memset(port, 0, sizeof *port);
    port->Tag = RPC2_PORTBYINETNUMBER;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)a;
        host->Tag = RPC2_HOSTBYINETADDR;
        host->Value.InetAddress = sin->sin_addr;
        port->Value.InetPortNumber = sin->sin_port;
    } else {
        host->Tag = RPC2_DUMMYHOST;
        port->Value.InetPortNumber = ((const struct sockaddr_in6 *)a)->sin6_port;
    }
}

static void send_refusal(struct rpc_instance *r, struct rpc_conn *c,
                         int32_t opcode, size_t body)
{
    RPC2_PacketBuffer *pb = rpc_buf_alloc(body);

    if (!pb) {
        return;
    }
    memset(pb->Body, 0, body); /* F25 */
    rpc_hdr_init(r, c, pb, opcode);
    pb->Header.ReturnCode = RPC2_NOTAUTHENTICATED;
    rpc_send(r, c, pb);
    RPC2_FreeBuffer(&pb);
}

static long ask_keys(struct rpc_conn *c, const struct wire_init1 *in,
                     RPC2_GetKeys_func *getkeys, uint8_t secret[8],
                     RPC2_CountedBS *cident, RPC2_Integer *authtype)
{
    cident->SeqLen = in->ident_len;
    cident->SeqBody = (RPC2_ByteSeq)in->ident;
    *authtype = in->auth_type;
    if (!getkeys) {
        /* Without GetKeys only an unauthenticated bind can succeed. */
        return c->level == RPC2_OPENKIMONO ? 0 : -1;
    }
    return getkeys(authtype, c->level == RPC2_OPENKIMONO ? NULL : cident,
                   secret, c->session_key);
}

/* GetKeys, bootstrap key, our receive key: builds INIT2. */
static RPC2_PacketBuffer *prepare_init2(struct rpc_instance *r,
                                        struct rpc_conn *c,
                                        const struct wire_init1 *in,
                                        const uint8_t secret[8])
{
    uint8_t salt[8], key[SEC_BOOTSTRAP_KEYLEN], kcs[64];
    size_t pref = in->keysize > r->keysize ? in->keysize : r->keysize;
    size_t klen = sec_session_keylen(SEC_ENCR_AES_CCM_8, pref);
    RPC2_PacketBuffer *pb = NULL;

    memcpy(salt, in->xrandom, 4);
    wire_put32(salt + 4, (uint32_t)c->uniquefier);
    c->sa.peer_spi = (uint32_t)c->peer_handle;
    if (klen <= sizeof kcs && sec_bootstrap_key(secret, salt, key) == 0 &&
        sec_set_send_bootstrap(&c->sa, key) == 0 &&
        sec_random(kcs, klen) == 0 &&
        sec_set_recv(&c->sa, SEC_VERSION, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8,
                     kcs, klen) == 0 &&
        (pb = rpc_buf_alloc(WIRE_INIT23_FIXED + klen))) {
        rpc_hdr_init(r, c, pb, RPC2_INIT2);
        pb->Header.ReturnCode = strcmp(in->version, RPC2_VERSION) == 0
                                    ? RPC2_SUCCESS
                                    : RPC2_OLDVERSION;
        wire_init23_put(pb->Body, SEC_VERSION, SEC_AUTH_NONE,
                        SEC_ENCR_AES_CCM_8, kcs, klen);
    }
    sec_wipe(key, sizeof key);
    sec_wipe(kcs, sizeof kcs);
    return pb;
}

/* INIT3 arrived: install the server-to-client key. */
static long accept_init3(struct rpc_conn *c, const RPC2_PacketBuffer *in)
{
    struct wire_init23 b;

    if (in->Header.Uniquefier != c->uniquefier ||
        wire_init23_get(in->Body, in->Header.BodyLength, &b) != 0 ||
        b.version != SEC_VERSION || b.auth != SEC_AUTH_NONE ||
        b.encr != SEC_ENCR_AES_CCM_8 ||
        sec_set_send(&c->sa, SEC_VERSION, (int)b.auth, (int)b.encr, b.key,
                     b.keylen) != 0) {
        return RPC2_NOTAUTHENTICATED;
    }
    return RPC2_SUCCESS;
}

static long send_init4(struct rpc_instance *r, struct rpc_conn *c)
{
    RPC2_PacketBuffer *pb = rpc_buf_alloc(WIRE_INIT4_BODY);

    if (!pb) {
        return RPC2_FAIL;
    }
    rpc_hdr_init(r, c, pb, RPC2_INIT4);
    pb->Header.TimeStamp = c->ts_echo + (uint32_t)(rpc_now() - c->req_time);
    wire_init4_put(pb->Body, c->next_seq, c->session_key);
    rpc_send(r, c, pb);
    pb->Header.Flags |= RPC2_RETRY;
    rpc_conn_keep_saved(r, c, pb, rpc_now()); /* resent for a duplicate INIT3 */
    return RPC2_SUCCESS;
}

void rpc_deliver_init3(struct rpc_instance *r, struct rpc_conn *c,
                       RPC2_PacketBuffer *pb)
{
    (void)r;
    if (!c->wait || c->wait->why != RPC_WAKE_NONE) {
        RPC2_FreeBuffer(&pb);
        return;
    }
    c->ts_echo = pb->Header.TimeStamp;
    c->req_time = rpc_now();
    rpc_conn_state(r, c, S_FINISHBIND);
    c->wait->pkt = pb;
    rpc_wait_wake(c->wait, RPC_WAKE_ARRIVED);
}

/* The INIT1 becomes the NEWCONNECTION request (2.5.3): the identity moves
 * from body offset 232 to 20. */
static void make_newconn(struct rpc_conn *c, RPC2_PacketBuffer *pb,
                         uint32_t ident_len)
{
    memmove(pb->Body + WIRE_INIT1_IDENT_MOVED, pb->Body + WIRE_INIT1_FIXED,
            ident_len);
    pb->Header.Opcode = RPC2_NEWCONNECTION;
    pb->Header.RemoteHandle = c->handle;
}

static long handshake(struct rpc_instance *r, struct rpc_conn *c,
                      RPC2_PacketBuffer *init2)
{
    struct rpc_wait w;
    long rc;

    rpc_conn_state(r, c, S_AWAITINIT3);
    rpc_wait_init(&w, c, init2);
    if (rpc_send_reliably(r, &w, c->time_bomb_us) != RPC_WAKE_ARRIVED) {
        return RPC2_NOBINDING;
    }
    rc = accept_init3(c, w.pkt);
    RPC2_FreeBuffer(&w.pkt);
    if (rc != RPC2_SUCCESS) {
        send_refusal(r, c, RPC2_INIT4, WIRE_INIT4_BODY);
        return rc;
    }
    return send_init4(r, c);
}

long rpc_server_bind(struct rpc_instance *r, struct rpc_conn *c,
                     RPC2_PacketBuffer **pbp, RPC2_GetKeys_func *getkeys,
                     RPC2_AuthFail_func *authfail)
{
    RPC2_PacketBuffer *pb = *pbp, *init2 = NULL;
    struct wire_init1 in;
    uint8_t secret[RPC2_KEYSIZE] = {0};
    RPC2_CountedBS cident;
    RPC2_Integer authtype;
    long rc = RPC2_FAIL;

    c->level = level_of(pb->Header.Opcode);
    if (wire_init1_get(pb->Body, pb->Header.BodyLength, RPC_MAX_IDENT, &in) ||
        in.se_type != 0) {
        goto fail; /* no side effects in this release */
    }
    c->enc_type = in.enc_type;
    if (ask_keys(c, &in, getkeys, secret, &cident, &authtype) != 0) {
        send_refusal(r, c, RPC2_INIT2, WIRE_REJECT_INIT2_BODY);
        if (authfail) {
            RPC2_HostIdent host;
            RPC2_PortIdent port;
            peer_idents(c, &host, &port);
            authfail(authtype, &cident, c->enc_type, &host, &port);
        }
        rc = RPC2_NOTAUTHENTICATED;
        goto fail;
    }
    if (c->level != RPC2_OPENKIMONO &&
        sec_random(&c->next_seq, sizeof c->next_seq) != 0) {
        goto fail;
    }
    init2 = prepare_init2(r, c, &in, secret);
    if (!init2) {
        goto fail;
    }
    bool old = init2->Header.ReturnCode == RPC2_OLDVERSION;
    rc = handshake(r, c, init2);
    RPC2_FreeBuffer(&init2);
    if (rc != RPC2_SUCCESS) {
        goto fail;
    }
    if (old) {
        /* F15: Coda's wire behaviour (the client thinks it is bound), but
         * said clearly here. */
        rpc_log(0, "bind from a client with another RPC2_VERSION refused");
        rc = RPC2_OLDVERSION;
        goto fail;
    }
    rpc_conn_bind_unindex(r, c);
    rpc_conn_state(r, c, S_AWAITENABLE);
    make_newconn(c, pb, in.ident_len);
    sec_wipe(secret, sizeof secret);
    return 0;
fail:
    sec_wipe(secret, sizeof secret);
    RPC2_FreeBuffer(pbp);
    rpc_conn_free(r, c);
    return rc == RPC2_SUCCESS ? RPC2_FAIL : rc;
}
