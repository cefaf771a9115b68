/* SPDX-License-Identifier: MIT */
/*
 * The small API calls: unbinding, per-connection pointers, peer
 * information, colour, Lamport time, liveness and network estimates, state
 * dumps, side-effect stubs, and the legacy helpers Coda's auth server uses.
 */
#include <stdlib.h>
#include <string.h>

#include "rpc_internal.h"

struct SE_Definition *SE_DefSpecs;
long SE_DefCount;

/* Without an instance these calls answer RPC2_NOCONNECTION too. */
static struct rpc_conn *conn_of(RPC2_Handle h)
{
    struct rpc_conn *c;

    if (rpc_conn_get(h, &c) == RPC2_SUCCESS) {
        c->last_used = rpc_now(); /* lookups keep a connection from the reaper */
    }
    return c;
}

long RPC2_Unbind(RPC2_Handle ConnHandle)
{
    struct rpc_conn *c = conn_of(ConnHandle);

    if (!c) {
        return RPC2_NOCONNECTION;
    }
    if (c->wait ||
        (rpc_conn_is_client(c) &&
         rpc_conn_in(c, C_AWAITREPLY | C_AWAITINIT2 | C_AWAITINIT4)) ||
        (rpc_conn_is_server(c) &&
         rpc_conn_in(c, S_INSE | S_STARTBIND | S_AWAITINIT3 | S_FINISHBIND))) {
        return RPC2_CONNBUSY;
    }
    rpc2_Unbinds++;
    rpc_conn_free(rpc__inst, c);
    return RPC2_SUCCESS;
}

long RPC2_GetPrivatePointer(RPC2_Handle WhichConn, char **PrivatePtr)
{
    struct rpc_conn *c = conn_of(WhichConn);

    if (!c) {
        return RPC2_NOCONNECTION;
    }
    if (!PrivatePtr) {
        return RPC2_FAIL;
    }
    *PrivatePtr = c->private_ptr;
    return RPC2_SUCCESS;
}

long RPC2_SetPrivatePointer(RPC2_Handle WhichConn, char *PrivatePtr)
{
    struct rpc_conn *c = conn_of(WhichConn);

    if (!c) {
        return RPC2_NOCONNECTION;
    }
    c->private_ptr = PrivatePtr;
    return RPC2_SUCCESS;
}

long RPC2_GetSEPointer(RPC2_Handle WhichConn, struct SFTP_Entry **SEPtr)
{
    struct rpc_conn *c = conn_of(WhichConn);

    if (!c) {
        return RPC2_NOCONNECTION;
    }
    if (!SEPtr) {
        return RPC2_FAIL;
    }
    *SEPtr = c->se_ptr;
    return RPC2_SUCCESS;
}

long RPC2_SetSEPointer(RPC2_Handle WhichConn, struct SFTP_Entry *SEPtr)
{
    struct rpc_conn *c = conn_of(WhichConn);

    if (!c) {
        return RPC2_NOCONNECTION;
    }
    c->se_ptr = SEPtr;
    return RPC2_SUCCESS;
}

static void fill_peer_host(const struct rpc_instance *r, struct rpc_conn *c,
                           RPC2_PeerInfo *p)
{
    socklen_t len;
    const struct sockaddr *a = rpc_host_addr(c->host, &len);

    p->RemotePort.Tag = RPC2_PORTBYINETNUMBER;
    if (r->ipv6) {
        p->RemoteHost.Tag = RPC2_HOSTBYADDRINFO;
        p->RemoteHost.Value.AddrInfo =
            RPC2_allocaddrinfo(a, len, SOCK_DGRAM, IPPROTO_UDP);
    } else if (a->sa_family == AF_INET) {
        p->RemoteHost.Tag = RPC2_HOSTBYINETADDR;
        p->RemoteHost.Value.InetAddress = ((const struct sockaddr_in *)a)->sin_addr;
    }
    p->RemotePort.Value.InetPortNumber =
        a->sa_family == AF_INET ? ((const struct sockaddr_in *)a)->sin_port
                                : ((const struct sockaddr_in6 *)a)->sin6_port;
}

long RPC2_GetPeerInfo(RPC2_Handle WhichConn, RPC2_PeerInfo *PeerInfo)
{
    struct rpc_conn *c = conn_of(WhichConn);

    if (!c) {
        return RPC2_NOCONNECTION;
    }
    if (!PeerInfo) {
        return RPC2_FAIL;
    }
    memset(PeerInfo, 0, sizeof *PeerInfo);
    fill_peer_host(rpc__inst, c, PeerInfo);
    PeerInfo->RemoteSubsys.Tag = RPC2_SUBSYSBYID;
    PeerInfo->RemoteSubsys.Value.SubsysId = c->subsys;
    PeerInfo->RemoteHandle = c->peer_handle;
    PeerInfo->SecurityLevel = c->level;
    PeerInfo->EncryptionType = c->enc_type;
    PeerInfo->Uniquefier = c->uniquefier;
    memcpy(PeerInfo->SessionKey, c->session_key, RPC2_KEYSIZE);
    return RPC2_SUCCESS;
}

long RPC2_SetColor(RPC2_Handle ConnHandle, RPC2_Integer Color)
{
    struct rpc_conn *c = conn_of(ConnHandle);

    if (!c) {
        return RPC2_NOCONNECTION;
    }
    c->color = Color;
    return RPC2_SUCCESS;
}

long RPC2_GetColor(RPC2_Handle ConnHandle, RPC2_Integer *Color)
{
    struct rpc_conn *c = conn_of(ConnHandle);

    if (!c) {
        return RPC2_NOCONNECTION;
    }
    if (!Color) {
        return RPC2_FAIL;
    }
    *Color = c->color;
    return RPC2_SUCCESS;
}

long RPC2_LamportTime(void)
{
    struct rpc_instance *r = rpc__inst;
    static _Thread_local uint32_t before_init;

    return r ? (long)rpc_lamport_tick(r) : (long)++before_init;
}

long RPC2_GetPeerLiveness(RPC2_Handle ConnHandle, struct timeval *Time,
                          struct timeval *SETime)
{
    struct rpc_conn *c = conn_of(ConnHandle);

    if (!c) {
        return RPC2_NOCONNECTION;
    }
    if (!Time || !SETime) {
        return RPC2_FAIL;
    }
    rpc_host_last_heard(c->host, Time);
    SETime->tv_sec = 0;
    SETime->tv_usec = 0;
    return RPC2_SUCCESS;
}

int RPC2_GetRTT(RPC2_Handle handle, unsigned long *RTT, unsigned long *RTTvar)
{
    struct rpc_conn *c = conn_of(handle);

    if (!c) {
        return RPC2_NOCONNECTION;
    }
    if (!RTT || !RTTvar) {
        return RPC2_FAIL;
    }
    rpc_host_rtt(c->host, RTT, RTTvar);
    return RPC2_SUCCESS;
}

int RPC2_GetBandwidth(RPC2_Handle handle, unsigned long *BWlow,
                      unsigned long *BWavg, unsigned long *BWhigh)
{
    struct rpc_conn *c = conn_of(handle);

    if (!c) {
        return RPC2_NOCONNECTION;
    }
    if (!BWlow || !BWavg || !BWhigh) {
        return RPC2_FAIL;
    }
    rpc_host_bandwidth(c->host, BWlow, BWavg, BWhigh);
    return RPC2_SUCCESS;
}

int RPC2_GetLastObs(RPC2_Handle handle, struct timeval *tv)
{
    struct rpc_conn *c = conn_of(handle);

    if (!c) {
        return RPC2_NOCONNECTION;
    }
    if (!tv) {
        return RPC2_FAIL;
    }
    rpc_host_last_heard(c->host, tv);
    return RPC2_SUCCESS;
}

int RPC2_SetTimeout(RPC2_Handle whichConn, struct timeval timeout)
{
    struct rpc_conn *c = conn_of(whichConn);

    if (!c) {
        return RPC2_NOCONNECTION;
    }
    if (timeout.tv_sec < 0 || timeout.tv_usec < 0) {
        return RPC2_FAIL;
    }
    c->time_bomb_us =
        (uint64_t)timeout.tv_sec * 1000000u + (uint64_t)timeout.tv_usec;
    return RPC2_SUCCESS;
}

long RPC2_GetNetInfo(RPC2_Handle ConnHandle, RPC2_NetLog *RPCLog,
                     RPC2_NetLog *SELog)
{
    struct rpc_conn *c = conn_of(ConnHandle);

    return c ? rpc_host_get_netinfo(c->host, RPCLog, SELog) : RPC2_NOCONNECTION;
}

long RPC2_PutNetInfo(RPC2_Handle ConnHandle, RPC2_NetLog *RPCLog,
                     RPC2_NetLog *SELog)
{
    struct rpc_conn *c = conn_of(ConnHandle);

    return c ? rpc_host_put_netinfo(c->host, RPCLog, SELog) : RPC2_NOCONNECTION;
}

long RPC2_ClearNetInfo(RPC2_Handle ConnHandle)
{
    struct rpc_conn *c = conn_of(ConnHandle);

    if (!c) {
        return RPC2_NOCONNECTION;
    }
    rpc_host_clear_netinfo(c->host);
    return RPC2_SUCCESS;
}

long RPC2_InitSideEffect(RPC2_Handle ConnHandle, SE_Descriptor *SDesc)
{
    struct rpc_conn *c = conn_of(ConnHandle);

    (void)SDesc;
    return c ? RPC2_FAIL : RPC2_NOCONNECTION; /* no side effects yet */
}

long RPC2_CheckSideEffect(RPC2_Handle ConnHandle, SE_Descriptor *SDesc,
                          long Flags)
{
    (void)Flags;
    return RPC2_InitSideEffect(ConnHandle, SDesc);
}

void SE_SetDefaults(void)
{
}

long RPC2_SetBindLimit(int bindLimit)
{
    (void)bindLimit;
    return RPC2_SUCCESS;
}

long RPC2_DumpTrace(FILE *OutFile, long HowMany)
{
    (void)OutFile;
    (void)HowMany;
    return RPC2_SUCCESS;
}

long RPC2_InitTraceBuffer(long HowMany)
{
    (void)HowMany;
    return RPC2_SUCCESS;
}

static const char *state_name(const struct rpc_conn *c)
{
    static const char *cl[] = {"THINK", "AWAITREPLY", "HARDERROR",
                               "AWAITINIT2", "AWAITINIT4"};
    static const char *sv[] = {"AWAITREQUEST", "REQINQUEUE", "PROCESS",
                               "INSE", "HARDERROR", "STARTBIND",
                               "AWAITINIT3", "FINISHBIND", "AWAITENABLE"};
    uint32_t s = c->state & ~RPC_ROLE_MASK;
    int bit = s ? __builtin_ctz(s) : -1;

    if (rpc_conn_is_client(c) && bit >= 0 && bit < 5) {
        return cl[bit];
    }
    if (rpc_conn_is_server(c) && bit >= 0 && bit < 9) {
        return sv[bit];
    }
    return "?";
}

long RPC2_DumpState(FILE *OutFile, long Verbosity)
{
    struct rpc_instance *r = rpc__inst;
    FILE *f = OutFile ? OutFile : stdout;

    if (!r) {
        fprintf(f, "RPC2: not initialised\n");
        return RPC2_SUCCESS;
    }
    fprintf(f, "RPC2: port %u, %u connections, %u held requests\n",
            ntohs(r->port), r->nconns, r->nheld);
    fprintf(f, "  sent %lu (%lu retries, %lu busies, %lu naks), received %lu "
               "(%lu bogus, %lu giant)\n",
            rpc2_Sent.Total, rpc2_Sent.Retries, rpc2_Sent.Busies,
            rpc2_Sent.Naks, rpc2_Recvd.Total, rpc2_Recvd.Bogus,
            rpc2_Recvd.Giant);
    fprintf(f, "  dropped: unknown SPI %lu, crypto %lu, malformed %lu, "
               "state %lu\n",
            r->drop_spi, r->drop_crypto, r->drop_bad, r->drop_state);
    if (Verbosity <= 0) {
        return RPC2_SUCCESS;
    }
    for (uint32_t i = 0; i <= r->cmask; i++) {
        for (struct rpc_conn *c = r->ctab[i]; c; c = c->hnext) {
            /* Handles, states and levels only: never keys. */
            fprintf(f, "  conn %d %s %s peer %d subsys %u level %d seq %u\n",
                    c->handle, rpc_conn_is_client(c) ? "client" : "server",
                    state_name(c), c->peer_handle, c->subsys, c->level,
                    c->next_seq);
        }
    }
    return RPC2_SUCCESS;
}

static void xor_with_key(const char *from, char *to, size_t n,
                         const RPC2_EncryptionKey key)
{
    for (size_t i = 0; i < n; i++) {
        to[i] = (char)(from[i] ^ key[i % RPC2_KEYSIZE]);
    }
}

void rpc2_Encrypt(char *FromBuffer, char *ToBuffer, size_t HowManyBytes,
                  RPC2_EncryptionKey WhichKey, RPC2_Integer EncryptionType)
{
    if (FromBuffer && ToBuffer && WhichKey && EncryptionType == RPC2_XOR) {
        xor_with_key(FromBuffer, ToBuffer, HowManyBytes, WhichKey);
    }
}

void rpc2_Decrypt(char *FromBuffer, char *ToBuffer, size_t HowManyBytes,
                  RPC2_EncryptionKey WhichKey, RPC2_Integer EncryptionType)
{
    rpc2_Encrypt(FromBuffer, ToBuffer, HowManyBytes, WhichKey, EncryptionType);
}

void rpc2_InitRandom(void)
{
}

unsigned int rpc2_NextRandom(char *StatePtr)
{
    unsigned int v = 0;

    (void)StatePtr;
    sec_random(&v, sizeof v);
    return v;
}
