/* SPDX-License-Identifier: MIT */
/*
 * Built against the installed headers and liblwprpc (pkg-config lwprpc,
 * find_package(lwp) lwp::lwprpc): an RPC server LWP and a client in one
 * process bind at SECURE over 127.0.0.1 and make one call.
 */
#include <stdio.h>
#include <string.h>

#include <lwp/lwp.h>
#include <rpc2/rpc2.h>

static RPC2_EncryptionKey key = {1, 2, 3, 4, 5, 6, 7, 8};

static long get_keys(RPC2_Integer *auth, RPC2_CountedBS *who,
                     RPC2_EncryptionKey secret, RPC2_EncryptionKey session)
{
    (void)auth;
    (void)session;
    if (who) {
        memcpy(secret, key, sizeof key);
    }
    return 0;
}

static void server(void *arg)
{
    (void)arg;
    for (;;) {
        RPC2_Handle h;
        RPC2_PacketBuffer *req = NULL, *rep = NULL;
        if (RPC2_GetRequest(NULL, &h, &req, NULL, get_keys, RPC2_XOR, NULL) !=
            RPC2_SUCCESS) {
            return;
        }
        if (req->Header.Opcode == RPC2_NEWCONNECTION) {
            RPC2_Enable(h);
        } else if (RPC2_AllocBuffer(req->Header.BodyLength, &rep) == RPC2_SUCCESS) {
            memcpy(rep->Body, req->Body, req->Header.BodyLength);
            RPC2_SendResponse(h, rep);
            RPC2_FreeBuffer(&rep);
        }
        RPC2_FreeBuffer(&req);
    }
}

int main(void)
{
    PROCESS me, srv;
    RPC2_PortIdent port = {.Tag = RPC2_PORTBYINETNUMBER};
    RPC2_SubsysIdent subsys = {.Tag = RPC2_SUBSYSBYID};
    RPC2_HostIdent host = {.Tag = RPC2_HOSTBYINETADDR};
    RPC2_BindParms bp = {.SecurityLevel = RPC2_SECURE,
                         .EncryptionType = RPC2_XOR,
                         .SharedSecret = &key};
    RPC2_Handle h;
    RPC2_PacketBuffer *req = NULL, *rep = NULL;
    long rc;

    if (LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &me) != LWP_SUCCESS ||
        RPC2_Init(RPC2_VERSION, NULL, &port, -1, NULL) != RPC2_SUCCESS) {
        return 1;
    }
    subsys.Value.SubsysId = 42;
    RPC2_Export(&subsys);
    LWP_CreateProcess(server, 65536, LWP_NORMAL_PRIORITY, NULL, "srv", &srv);
    host.Value.InetAddress.s_addr = htonl(INADDR_LOOPBACK);
    rc = RPC2_NewBinding(&host, &port, &subsys, &bp, &h);
    if (rc != RPC2_SUCCESS) {
        fprintf(stderr, "bind: %s\n", RPC2_ErrorMsg(rc));
        return 1;
    }
    RPC2_AllocBuffer(5, &req);
    memcpy(req->Body, "hello", 5);
    req->Header.Opcode = 1;
    rc = RPC2_MakeRPC(h, req, NULL, &rep, NULL, 0);
    if (rc != RPC2_SUCCESS || rep->Header.BodyLength != 5 ||
        memcmp(rep->Body, "hello", 5) != 0) {
        fprintf(stderr, "call: %s\n", RPC2_ErrorMsg(rc));
        return 1;
    }
    RPC2_FreeBuffer(&req);
    RPC2_FreeBuffer(&rep);
    return RPC2_Finalize() == RPC2_SUCCESS ? 0 : 1;
}
