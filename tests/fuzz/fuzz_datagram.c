/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the listener's whole receive path
 * (rpc_handle_datagram: rpc2sec open, validation, classification, the
 * INIT1, request, reply, BUSY and NAK rules) and the bind-body decoders.
 * The instance has one connection bound to itself at SECURE, so both a
 * client and a server connection exist. The first input byte picks how
 * the rest is delivered:
 *   0: as a raw datagram;
 *   1: sealed by the server end, so the client connection opens it;
 *   2: sealed by the client end, so the server connection opens it.
 * In modes 1 and 2 bit 0 of the second byte patches the RemoteHandle word
 * to the receiving connection, so the fuzzer reaches the state rules.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static RPC2_Handle client_h, server_h;
static RPC2_EncryptionKey key = {1, 2, 3, 4, 5, 6, 7, 8};
static const struct sockaddr_in junk_src = {
    .sin_family = AF_INET, .sin_port = 9 << 8, /* discard */
    .sin_addr = {0x0100007f}};

static long get_keys(RPC2_Integer *auth, RPC2_CountedBS *who,
                     RPC2_EncryptionKey secret, RPC2_EncryptionKey session)
{
    (void)auth, (void)session;
    if (who) {
        memcpy(secret, key, sizeof key);
    }
    return 0;
}

static void server(void *arg)
{
    RPC2_PacketBuffer *req = NULL;
    RPC2_Handle h;

    (void)arg;
    /* Takes the bind and ends: with no LWP in GetRequest, the fuzzer's
     * INIT1s are queued and its requests held, all reachable from the
     * instance (a packet handed to a waiting LWP would sit on an LWP
     * stack, which LeakSanitizer does not scan). */
    if (RPC2_GetRequest(NULL, &h, &req, NULL, get_keys, 0, NULL) ==
            RPC2_SUCCESS &&
        req->Header.Opcode == RPC2_NEWCONNECTION) {
        RPC2_Enable(h);
    }
    RPC2_FreeBuffer(&req);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    PROCESS me, pid;
    RPC2_PortIdent port = {.Tag = RPC2_PORTBYINETNUMBER};
    RPC2_SubsysIdent s = {.Tag = RPC2_SUBSYSBYID, .Value.SubsysId = 7};
    RPC2_HostIdent host = {.Tag = RPC2_HOSTBYINETADDR};
    RPC2_BindParms bp = {.SecurityLevel = RPC2_SECURE,
                         .EncryptionType = RPC2_XOR,
                         .SharedSecret = &key};
    RPC2_PeerInfo pi;

    (void)argc, (void)argv;
    host.Value.InetAddress.s_addr = htonl(INADDR_LOOPBACK);
    RPC2_setbindaddr(&host);
    if (LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &me) != LWP_SUCCESS ||
        RPC2_Init(RPC2_VERSION, NULL, &port, -1, NULL) != RPC2_SUCCESS ||
        RPC2_Export(&s) != RPC2_SUCCESS ||
        LWP_CreateProcess(server, 65536, LWP_NORMAL_PRIORITY, NULL, "srv",
                          &pid) != LWP_SUCCESS ||
        RPC2_NewBinding(&host, &port, &s, &bp, &client_h) != RPC2_SUCCESS ||
        RPC2_GetPeerInfo(client_h, &pi) != RPC2_SUCCESS) {
        abort();
    }
    server_h = pi.RemoteHandle;
    return 0;
}

static void decoders(const uint8_t *d, size_t n)
{
    struct wire_init1 i1;
    struct wire_init23 i23;
    RPC2_EncryptionKey k;
    uint32_t seq;

    if (wire_init1_get(d, n, RPC_MAX_IDENT, &i1) == 0 && i1.ident_len &&
        (i1.ident < d || i1.ident + i1.ident_len > d + n)) {
        abort();
    }
    if (wire_init23_get(d, n, &i23) == 0 && i23.key + i23.keylen != d + n) {
        abort();
    }
    (void)wire_init4_get(d, n, &seq, k);
    (void)wire_check_datagram(d, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rpc_instance *r = rpc__inst;
    static uint8_t pt[SEC_MAX_FRAME], frame[SEC_MAX_FRAME];

    if (size < 2 || size - 2 > SEC_MAX_FRAME - SEC_MAX_OVERHEAD) {
        return 0;
    }
    uint8_t mode = data[0] % 3, patch = data[1] & 1;
    size_t n = size - 2;
    memcpy(pt, data + 2, n);
    decoders(pt, n);
    if (mode == 0) {
        rpc_handle_datagram(r, pt, n, (const struct sockaddr *)&junk_src,
                            sizeof junk_src);
        return 0;
    }
    struct rpc_conn *to = rpc_conn_find(r, mode == 1 ? client_h : server_h);
    struct rpc_conn *from = rpc_conn_find(r, mode == 1 ? server_h : client_h);
    if (!to || !from) {
        return 0; /* a fuzzed NAK made one end unusable: still fine */
    }
    if (patch && n >= 8) {
        wire_put32(pt + 4, (uint32_t)to->handle);
    }
    ssize_t len = sec_seal(&from->sa, pt, n, frame, sizeof frame);
    if (len > 0) {
        rpc_handle_datagram(r, frame, (size_t)len,
                            (const struct sockaddr *)&junk_src,
                            sizeof junk_src);
    }
    return 0;
}
