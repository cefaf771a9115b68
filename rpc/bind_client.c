/* SPDX-License-Identifier: MIT */
/*
 * RPC2_NewBinding: the client side of the rpc2sec bind (reference 2.5.4,
 * 3.10, 3.11). INIT1 goes out in plaintext with the bootstrap key already
 * installed for receiving; INIT2 brings the client-to-server key, INIT3
 * carries ours for the other direction, INIT4 the first sequence number.
 */
#include <errno.h>
#include <netdb.h>
#include <string.h>

#include "rpc_internal.h"

#define MAX_ADDRS 8

struct peer_addrs {
    struct sockaddr_storage a[MAX_ADDRS];
    socklen_t len[MAX_ADDRS];
    int n;
};

static int port_of(const RPC2_PortIdent *p, uint16_t *port)
{
    if (p->Tag == RPC2_PORTBYINETNUMBER) {
        *port = p->Value.InetPortNumber;
        return 0;
    }
    if (p->Tag == RPC2_PORTBYNAME) {
        char name[sizeof p->Value.Name + 1];
        memcpy(name, p->Value.Name, sizeof p->Value.Name);
        name[sizeof p->Value.Name] = '\0';
        struct servent *s = getservbyname(name, "udp");
        if (!s) {
            return -1;
        }
        *port = (uint16_t)s->s_port;
        return 0;
    }
    return -1;
}

static void add_addr(struct peer_addrs *pa, const struct sockaddr *a,
                     socklen_t len, uint16_t port)
{
    if (pa->n == MAX_ADDRS || len > sizeof pa->a[0] ||
        (a->sa_family != AF_INET && a->sa_family != AF_INET6)) {
        return;
    }
    memcpy(&pa->a[pa->n], a, len);
    if (port) {
        if (a->sa_family == AF_INET) {
            ((struct sockaddr_in *)&pa->a[pa->n])->sin_port = port;
        } else {
            ((struct sockaddr_in6 *)&pa->a[pa->n])->sin6_port = port;
        }
    }
    pa->len[pa->n++] = len;
}

static int resolve_name(const struct rpc_instance *r, const RPC2_HostIdent *h,
                        uint16_t port, struct peer_addrs *pa)
{
    char name[sizeof h->Value.Name + 1];
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res, *ai;

    memcpy(name, h->Value.Name, sizeof h->Value.Name);
    name[sizeof h->Value.Name] = '\0';
    hints.ai_family = r->ipv6 ? AF_UNSPEC : AF_INET;
    if (getaddrinfo(name, NULL, &hints, &res) != 0) {
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        add_addr(pa, ai->ai_addr, ai->ai_addrlen, port);
    }
    freeaddrinfo(res);
    return 0;
}

static long resolve(const struct rpc_instance *r, const RPC2_HostIdent *h,
                    const RPC2_PortIdent *p, struct peer_addrs *pa)
{
    uint16_t port = 0;

    pa->n = 0;
    if (p && port_of(p, &port) != 0) {
        return RPC2_FAIL;
    }
    switch (h->Tag) {
    case RPC2_HOSTBYINETADDR: {
        struct sockaddr_in sin = {.sin_family = AF_INET,
                                  .sin_addr = h->Value.InetAddress};
        if (!p) {
            return RPC2_FAIL;
        }
        add_addr(pa, (struct sockaddr *)&sin, sizeof sin, port);
        break;
    }
    case RPC2_HOSTBYADDRINFO:
        for (const struct RPC2_addrinfo *ai = h->Value.AddrInfo; ai;
             ai = ai->ai_next) {
            if (ai->ai_addr) {
                add_addr(pa, ai->ai_addr, (socklen_t)ai->ai_addrlen, port);
            }
        }
        break;
    case RPC2_HOSTBYNAME:
        if (!p || resolve_name(r, h, port, pa) != 0) {
            return p ? RPC2_NOBINDING : RPC2_FAIL;
        }
        break;
    default:
        return RPC2_FAIL;
    }
    return pa->n ? RPC2_SUCCESS : RPC2_NOBINDING;
}

static long check_parms(const RPC2_SubsysIdent *s, const RPC2_BindParms *b)
{
    if (s->Tag != RPC2_SUBSYSBYID) {
        return RPC2_FAIL;
    }
    switch (b->SecurityLevel) {
    case RPC2_OPENKIMONO:
        break;
    case RPC2_AUTHONLY:
    case RPC2_HEADERSONLY:
    case RPC2_SECURE:
        if (!b->SharedSecret ||
            (b->EncryptionType != RPC2_XOR && b->EncryptionType != RPC2_DES)) {
            return RPC2_FAIL;
        }
        break;
    default:
        return RPC2_FAIL;
    }
    if (b->SideEffectType != 0) {
        return RPC2_FAIL; /* no side effects in this release */
    }
    if (b->ClientIdent && (b->ClientIdent->SeqLen > RPC_MAX_IDENT ||
                           (b->ClientIdent->SeqLen && !b->ClientIdent->SeqBody))) {
        return RPC2_FAIL;
    }
    return RPC2_SUCCESS;
}

static int32_t init1_opcode(int32_t level)
{
    switch (level) {
    case RPC2_AUTHONLY:
        return RPC2_INIT1AUTHONLY;
    case RPC2_HEADERSONLY:
        return RPC2_INIT1HEADERSONLY;
    case RPC2_SECURE:
        return RPC2_INIT1SECURE;
    default:
        return RPC2_INIT1OPENKIMONO;
    }
}

static RPC2_PacketBuffer *build_init1(struct rpc_instance *r,
                                      struct rpc_conn *c,
                                      const RPC2_BindParms *b,
                                      const uint8_t xrandom[4])
{
    struct wire_init1 in = {0};
    uint32_t ilen = b->ClientIdent ? b->ClientIdent->SeqLen : 0;
    RPC2_PacketBuffer *pb = rpc_buf_alloc(wire_init1_size(ilen));

    if (!pb) {
        return NULL;
    }
    rpc_hdr_init(r, c, pb, init1_opcode(c->level));
    pb->Header.RemoteHandle = 0;
    pb->Header.Flags |= RPC2SEC_CAPABLE;
    in.se_type = b->SideEffectType;
    in.level = c->level;
    in.enc_type = c->enc_type;
    in.auth_type = b->AuthenticationType;
    in.ident_len = ilen;
    in.ident = ilen ? b->ClientIdent->SeqBody : NULL;
    memcpy(in.xrandom, xrandom, 4);
    in.sec_version = SEC_VERSION;
    in.keysize = (uint32_t)r->keysize;
    strcpy(in.version, RPC2_VERSION);
    wire_init1_put(pb->Body, &in);
    return pb;
}

static int install_bootstrap(struct rpc_conn *c, const RPC2_BindParms *b,
                             const uint8_t xrandom[4])
{
    uint8_t secret[RPC2_KEYSIZE] = {0}, salt[8], key[SEC_BOOTSTRAP_KEYLEN];
    int rc;

    if (c->level != RPC2_OPENKIMONO) {
        memcpy(secret, *b->SharedSecret, RPC2_KEYSIZE);
    }
    memcpy(salt, xrandom, 4);
    wire_put32(salt + 4, (uint32_t)c->uniquefier);
    rc = sec_bootstrap_key(secret, salt, key);
    if (rc == 0) {
        rc = sec_set_recv_bootstrap(&c->sa, key);
    }
    sec_wipe(secret, sizeof secret);
    sec_wipe(key, sizeof key);
    return rc;
}

static long wake_to_rc(enum rpc_wake why)
{
    switch (why) {
    case RPC_WAKE_NAKED:
        return RPC2_NAKED;
    case RPC_WAKE_GONE:
        return RPC2_FAIL;
    case RPC_WAKE_BADKEY:
        return RPC2_NOTAUTHENTICATED;
    default:
        return RPC2_NOBINDING;
    }
}

/* INIT2 arrived: take the client-to-server key, install ours for the other
 * direction and build INIT3. */
static long accept_init2(struct rpc_instance *r, struct rpc_conn *c,
                         RPC2_PacketBuffer *in, RPC2_PacketBuffer **out)
{
    struct wire_init23 b;
    uint8_t ksc[64];
    long rc = RPC2_NOTAUTHENTICATED;

    if (in->Header.ReturnCode < RPC2_ELIMIT) {
        return in->Header.ReturnCode; /* a refusal, sent in plaintext */
    }
    if (!in->Prefix.sa) {
        return RPC2_OLDVERSION; /* a server without rpc2sec */
    }
    if (in->Header.Uniquefier != c->uniquefier ||
        wire_init23_get(in->Body, in->Header.BodyLength, &b) != 0) {
        return RPC2_NOTAUTHENTICATED;
    }
    if (b.version < SEC_VERSION) {
        return RPC2_OLDVERSION; /* version-0 rpc2sec is refused */
    }
    if (b.keylen > sizeof ksc) {
        return RPC2_NOTAUTHENTICATED;
    }
    c->peer_handle = in->Header.LocalHandle;
    c->sa.peer_spi = (uint32_t)c->peer_handle;
    if (sec_set_send(&c->sa, SEC_VERSION, (int)b.auth, (int)b.encr, b.key,
                     b.keylen) != 0 ||
        sec_random(ksc, b.keylen) != 0 ||
        sec_set_recv(&c->sa, SEC_VERSION, (int)b.auth, (int)b.encr, ksc,
                     b.keylen) != 0) {
        goto out;
    }
    *out = rpc_buf_alloc(WIRE_INIT23_FIXED + b.keylen);
    if (!*out) {
        rc = RPC2_FAIL;
        goto out;
    }
    rpc_hdr_init(r, c, *out, RPC2_INIT3);
    wire_init23_put((*out)->Body, SEC_VERSION, b.auth, b.encr, ksc, b.keylen);
    rc = RPC2_SUCCESS;
out:
    sec_wipe(ksc, sizeof ksc);
    return rc;
}

static long accept_init4(struct rpc_conn *c, const RPC2_PacketBuffer *in)
{
    uint32_t seq;

    if (in->Header.ReturnCode != RPC2_SUCCESS) {
        return in->Header.ReturnCode < RPC2_ELIMIT ? in->Header.ReturnCode
                                                   : RPC2_NOTAUTHENTICATED;
    }
    if (in->Header.Uniquefier != c->uniquefier ||
        wire_init4_get(in->Body, in->Header.BodyLength, &seq,
                       c->session_key) != 0) {
        return RPC2_NOTAUTHENTICATED;
    }
    c->next_seq = seq;
    return RPC2_SUCCESS;
}

/* Sends pb reliably within what is left of the bind's time bomb; the
 * arrived packet in *got. */
static long exchange(struct rpc_instance *r, struct rpc_conn *c,
                     RPC2_PacketBuffer *pb, bool plain, uint64_t deadline,
                     RPC2_PacketBuffer **got)
{
    struct rpc_wait w;
    uint64_t now = rpc_now();

    rpc_wait_init(&w, c, pb);
    w.sealed_plain = plain;
    enum rpc_wake why =
        rpc_send_reliably(r, &w, deadline > now ? deadline - now : 0);
    if (why != RPC_WAKE_ARRIVED) {
        return wake_to_rc(why);
    }
    *got = w.pkt;
    return RPC2_SUCCESS;
}

static long bind_one(struct rpc_instance *r, const struct sockaddr *a,
                     socklen_t alen, const RPC2_SubsysIdent *s,
                     const RPC2_BindParms *b, RPC2_Handle *out)
{
    struct rpc_conn *c = rpc_conn_new(r, RPC_ROLE_CLIENT);
    RPC2_PacketBuffer *pb = NULL, *got = NULL;
    uint8_t xrandom[4];
    long rc = RPC2_FAIL;

    if (!c) {
        return RPC2_FAIL;
    }
    rpc_conn_state(r, c, C_AWAITINIT2);
    c->subsys = (uint32_t)s->Value.SubsysId;
    c->level = b->SecurityLevel;
    c->enc_type = b->SecurityLevel == RPC2_OPENKIMONO ? 0 : b->EncryptionType;
    c->color = b->Color;
    uint64_t deadline = rpc_now() + c->time_bomb_us;
    if (rpc_conn_set_peer(r, c, a, alen) != 0 ||
        sec_random(&c->uniquefier, sizeof c->uniquefier) != 0 ||
        sec_random(xrandom, sizeof xrandom) != 0 ||
        install_bootstrap(c, b, xrandom) != 0 ||
        !(pb = build_init1(r, c, b, xrandom))) {
        goto out;
    }
    rc = exchange(r, c, pb, true, deadline, &got);
    RPC2_FreeBuffer(&pb);
    if (rc != RPC2_SUCCESS) {
        goto out;
    }
    rpc_conn_state(r, c, C_AWAITINIT4);
    rc = accept_init2(r, c, got, &pb);
    RPC2_FreeBuffer(&got);
    if (rc != RPC2_SUCCESS) {
        goto out;
    }
    rc = exchange(r, c, pb, false, deadline, &got);
    RPC2_FreeBuffer(&pb);
    if (rc != RPC2_SUCCESS) {
        goto out;
    }
    rc = accept_init4(c, got);
    RPC2_FreeBuffer(&got);
out:
    if (rc != RPC2_SUCCESS) {
        rpc_conn_free(r, c);
        return rc;
    }
    rpc_conn_state(r, c, C_THINK);
    *out = c->handle;
    return RPC2_SUCCESS;
}

long RPC2_NewBinding(RPC2_HostIdent *Host, RPC2_PortIdent *Port,
                     RPC2_SubsysIdent *Subsys, RPC2_BindParms *Bparms,
                     RPC2_Handle *ConnHandle)
{
    struct rpc_instance *r = rpc__inst;
    struct peer_addrs pa;
    long rc = rpc_check_init();

    if (ConnHandle) {
        *ConnHandle = 0;
    }
    if (rc != RPC2_SUCCESS) {
        return rc;
    }
    if (!ConnHandle || !Host || !Subsys || !Bparms) {
        return RPC2_FAIL;
    }
    rc = check_parms(Subsys, Bparms);
    if (rc == RPC2_SUCCESS) {
        rc = resolve(r, Host, Port, &pa);
    }
    for (int i = 0; rc == RPC2_SUCCESS && i < pa.n; i++) {
        rc = bind_one(r, (struct sockaddr *)&pa.a[i], pa.len[i], Subsys,
                      Bparms, ConnHandle);
        if (rc != RPC2_NOBINDING || i + 1 == pa.n) {
            break;
        }
        rc = RPC2_SUCCESS; /* try the next address */
    }
    return rc;
}
