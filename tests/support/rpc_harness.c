/* SPDX-License-Identifier: MIT */
/* A test server and client helpers over the public RPC2 API. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <lwp/iomgr.h>

#include "rpc_test.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND_H 1
#endif
#endif

/* Only failures talk to Criterion: a forked server process (below) must
 * not send it messages, so there it just exits. */
static bool in_child;
#define REQUIRE(cond)                                                        \
    do {                                                                     \
        if (!(cond)) {                                                       \
            if (in_child) {                                                  \
                _exit(3);                                                    \
            }                                                                \
            cr_assert_fail("%s:%d: %s", __FILE__, __LINE__, #cond);          \
        }                                                                    \
    } while (0)
#define REQUIRE_EQ(a, b) REQUIRE((a) == (b))

RPC2_EncryptionKey rpct_secret = {'s', 'e', 'c', 'r', 'e', 't', '!', '!'};
unsigned long rpct_executions;
unsigned long rpct_binds;
unsigned long rpct_authfails;
unsigned char rpct_once[RPCT_ONCE_MAX];
static unsigned long op_counts[8];

static long get_keys(RPC2_Integer *auth, RPC2_CountedBS *cident,
                     RPC2_EncryptionKey secret, RPC2_EncryptionKey session)
{
    (void)auth;
    if (cident) {
        memcpy(secret, rpct_secret, RPC2_KEYSIZE);
    }
    memset(session, 0x5a, RPC2_KEYSIZE);
    return 0;
}

static long auth_fail(RPC2_Integer auth, RPC2_CountedBS *cident,
                      RPC2_Integer enc, RPC2_HostIdent *host,
                      RPC2_PortIdent *port)
{
    (void)auth, (void)cident, (void)enc, (void)host, (void)port;
    rpct_authfails++;
    return 0;
}

static uint32_t body_u32(const RPC2_PacketBuffer *pb)
{
    uint32_t v = 0;
    if (pb->Header.BodyLength >= 4) {
        memcpy(&v, pb->Body, 4);
    }
    return ntohl(v);
}

static void answer(RPC2_Handle h, RPC2_PacketBuffer *req)
{
    RPC2_PacketBuffer *rep = NULL;
    int32_t op = req->Header.Opcode;
    size_t len = op == RPCT_OP_COUNT ? 4 : req->Header.BodyLength;

    rpct_executions++;
    if (op > 0 && op < 8) {
        op_counts[op]++;
    }
    if (op == RPCT_OP_ONCE) {
        uint32_t id = body_u32(req);
        if (id < RPCT_ONCE_MAX && rpct_once[id] < 255) {
            rpct_once[id]++;
        }
    }
    if (op == RPCT_OP_SLEEP) {
        struct timeval tv = {0, (suseconds_t)body_u32(req) * 1000};
        tv.tv_sec = tv.tv_usec / 1000000;
        tv.tv_usec %= 1000000;
        IOMGR_Select(0, NULL, NULL, NULL, &tv);
    }
    REQUIRE_EQ(RPC2_AllocBuffer((long)len, &rep), RPC2_SUCCESS);
    if (op == RPCT_OP_COUNT) {
        uint32_t n = htonl((uint32_t)op_counts[RPCT_OP_ECHO]);
        memcpy(rep->Body, &n, 4);
    } else {
        memcpy(rep->Body, req->Body, len);
    }
    rep->Header.ReturnCode = op == RPCT_OP_FAIL ? (RPC2_Integer)body_u32(req) : 0;
    RPC2_SendResponse(h, rep);
    RPC2_FreeBuffer(&rep);
    if (op == RPCT_OP_STALL) {
        usleep(body_u32(req) * 1000u);
    }
}

static void server_main(void *arg)
{
    (void)arg;
    for (;;) {
        RPC2_Handle h;
        RPC2_PacketBuffer *req = NULL;
        long rc = RPC2_GetRequest(NULL, &h, &req, NULL, get_keys, RPC2_XOR,
                                  auth_fail);
        if (rc != RPC2_SUCCESS) {
            return; /* RPC2_Finalize */
        }
        if (req->Header.Opcode == RPC2_NEWCONNECTION) {
            REQUIRE_EQ(RPC2_Enable(h), RPC2_SUCCESS);
            rpct_binds++;
        } else {
            answer(h, req);
        }
        RPC2_FreeBuffer(&req);
    }
}

uint16_t rpct_init(long retries, long keepalive_ms)
{
    return rpct_init_at(0, retries, keepalive_ms);
}

uint16_t rpct_init_at(uint16_t at, long retries, long keepalive_ms)
{
    PROCESS main_pid;
    RPC2_PortIdent port = {.Tag = RPC2_PORTBYINETNUMBER,
                           .Value.InetPortNumber = at};
    RPC2_SubsysIdent subsys = {.Tag = RPC2_SUBSYSBYID};
    struct timeval ka = {keepalive_ms / 1000, (keepalive_ms % 1000) * 1000};
    RPC2_HostIdent local = {.Tag = RPC2_HOSTBYINETADDR};

    rpct_executions = rpct_binds = rpct_authfails = 0;
    memset(rpct_once, 0, sizeof rpct_once);
    memset(op_counts, 0, sizeof op_counts);
    REQUIRE_EQ(LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &main_pid),
                 LWP_SUCCESS);
    local.Value.InetAddress.s_addr = htonl(INADDR_LOOPBACK);
    RPC2_setbindaddr(&local);
    REQUIRE_EQ(RPC2_Init(RPC2_VERSION, NULL, &port, retries,
                           keepalive_ms ? &ka : NULL),
                 RPC2_SUCCESS);
    subsys.Value.SubsysId = RPCT_SUBSYS;
    REQUIRE_EQ(RPC2_Export(&subsys), RPC2_SUCCESS);
    return port.Value.InetPortNumber;
}

void rpct_start_servers(int n)
{
    for (int i = 0; i < n; i++) {
        PROCESS pid;
        REQUIRE_EQ(LWP_CreateProcess(server_main, 65536, LWP_NORMAL_PRIORITY,
                                       NULL, "server", &pid),
                     LWP_SUCCESS);
    }
}

void rpct_fini(void)
{
    REQUIRE_EQ(RPC2_Finalize(), RPC2_SUCCESS);
    RPC2_setbindaddr(NULL);
    LWP_TerminateProcessSupport();
}

long rpct_bind(uint16_t port, int32_t level, const RPC2_EncryptionKey *secret,
               RPC2_Handle *h)
{
    RPC2_HostIdent host = {.Tag = RPC2_HOSTBYINETADDR};
    RPC2_PortIdent p = {.Tag = RPC2_PORTBYINETNUMBER};
    RPC2_SubsysIdent subsys = {.Tag = RPC2_SUBSYSBYID};
    RPC2_EncryptionKey key;
    RPC2_CountedBS ident = {5, (RPC2_ByteSeq) "tester"};
    RPC2_BindParms bp = {.SecurityLevel = level,
                         .EncryptionType = RPC2_XOR,
                         .SharedSecret = &key,
                         .ClientIdent = &ident};

    memcpy(key, secret ? *secret : rpct_secret, RPC2_KEYSIZE);
    host.Value.InetAddress.s_addr = htonl(INADDR_LOOPBACK);
    p.Value.InetPortNumber = port;
    subsys.Value.SubsysId = RPCT_SUBSYS;
    return RPC2_NewBinding(&host, &p, &subsys, &bp, h);
}

long rpct_call(RPC2_Handle h, int32_t op, const void *body, size_t len,
               RPC2_PacketBuffer **reply, const struct timeval *patience)
{
    RPC2_PacketBuffer *req = NULL;
    struct timeval pat;
    long rc;

    REQUIRE_EQ(RPC2_AllocBuffer((long)len, &req), RPC2_SUCCESS);
    memcpy(req->Body, body, len);
    req->Header.Opcode = op;
    if (patience) {
        pat = *patience;
    }
    rc = RPC2_MakeRPC(h, req, NULL, reply, patience ? &pat : NULL, 1);
    RPC2_FreeBuffer(&req);
    return rc;
}

static void idle_forever(void *arg)
{
    (void)arg;
    for (;;) {
        IOMGR_Sleep(3600);
    }
}

void rpct_fork_idle(struct rpct_child *ch)
{
    int go[2], back[2];

    pid_t parent = getpid();

    REQUIRE_EQ(pipe(go), 0);
    REQUIRE_EQ(pipe(back), 0);
    ch->pid = fork();
    REQUIRE(ch->pid >= 0);
    if (ch->pid == 0) {
        uint16_t cmd[2];
        in_child = true;
        /* Dies with the test, also when a failed assertion ends it before
         * rpct_child_kill (the parent may be gone already). */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
            _exit(1);
        }
        close(go[1]);
        close(back[0]);
        if (read(go[0], cmd, sizeof cmd) != sizeof cmd) {
            _exit(0); /* never started */
        }
        uint16_t p = rpct_init_at(cmd[0], -1, cmd[1]);
        rpct_start_servers(4);
        if (write(back[1], &p, sizeof p) != sizeof p) {
            _exit(1);
        }
        idle_forever(NULL);
        _exit(0);
    }
    close(go[0]);
    close(back[1]);
    ch->go = go[1];
    ch->back = back[0];
}

uint16_t rpct_child_serve(struct rpct_child *ch, uint16_t at, long keepalive_ms)
{
    uint16_t cmd[2] = {at, (uint16_t)keepalive_ms}, port = 0;

    REQUIRE_EQ(write(ch->go, cmd, sizeof cmd), (ssize_t)sizeof cmd);
    REQUIRE_EQ(read(ch->back, &port, sizeof port), (ssize_t)sizeof port);
    return port;
}

void rpct_child_kill(struct rpct_child *ch)
{
    kill(ch->pid, SIGKILL);
    waitpid(ch->pid, NULL, 0);
    close(ch->go);
    close(ch->back);
}

int rpct_limits_unreliable(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 1;
#endif
#endif
#ifdef HAVE_VALGRIND_H
    if (RUNNING_ON_VALGRIND) {
        return 1;
    }
#endif
    return 0;
}
