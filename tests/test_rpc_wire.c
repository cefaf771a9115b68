/* SPDX-License-Identifier: MIT */
/* What our packets look like on the wire (reference 2.2, 2.5.1, 3.2,
 * Appendix A), captured by the fault proxy between client and server. */
#include <arpa/inet.h>
#include <string.h>

#include "rpc_test.h"
#include "rpc_wire.h"
#include "support/rpc_udp_proxy.h"

static uint16_t port;
static struct rpc_proxy *proxy;

static void setup(void)
{
    struct sockaddr_in srv = {.sin_family = AF_INET};

    port = rpct_init(-1, 0);
    rpct_start_servers(2);
    srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.sin_port = port;
    proxy = rpc_proxy_start(&srv, 1, 64);
    cr_assert_not_null(proxy);
}

static void teardown(void)
{
    rpc_proxy_stop(proxy);
    rpct_fini();
}

TestSuite(rpc_wire, .init = setup, .fini = teardown, .timeout = 30);

/* The age-th newest datagram of a direction. */
static size_t captured(enum rpc_proxy_dir dir, unsigned age, uint8_t *buf)
{
    size_t len = 0;
    cr_assert_eq(rpc_proxy_captured(proxy, dir, age, buf, 4500, &len, NULL), 0);
    return len;
}

Test(rpc_wire, a_secure_bind_and_call_byte_by_byte)
{
    RPC2_Handle h;
    RPC2_PacketBuffer *rep = NULL;
    uint8_t d[4500];
    struct rpc_proxy_stats up, down;

    cr_assert_eq(rpct_bind(htons(rpc_proxy_port(proxy)), RPC2_SECURE, NULL, &h),
                 RPC2_SUCCESS);
    cr_assert_eq(rpct_call(h, RPCT_OP_ECHO, "ping", 4, &rep, NULL),
                 RPC2_SUCCESS);
    RPC2_FreeBuffer(&rep);
    rpc_proxy_get_stats(proxy, RPC_PROXY_TO_SERVER, &up);
    rpc_proxy_get_stats(proxy, RPC_PROXY_TO_CLIENT, &down);
    /* INIT1, INIT3, request / INIT2, INIT4, reply: nothing else. */
    cr_assert_eq(up.received, 3);
    cr_assert_eq(down.received, 3);

    /* INIT1: plaintext, 60-byte header + 232 + identity ("tester", 5). */
    size_t n = captured(RPC_PROXY_TO_SERVER, 2, d);
    cr_assert_eq(n, WIRE_HDR + 232 + 5);
    cr_assert_eq(wire_get32(d + 0), 8);                 /* ProtoVersion */
    cr_assert_eq(wire_get32(d + 4), 0);                 /* RemoteHandle */
    cr_assert_eq(wire_get32(d + 8), (uint32_t)h);       /* LocalHandle */
    cr_assert_eq(wire_get32(d + 12), RPC2SEC_CAPABLE);  /* Flags */
    cr_assert_eq(wire_get32(d + 16), 232 + 5);          /* BodyLength */
    cr_assert_eq(wire_get32(d + 20), 0);                /* SeqNumber */
    cr_assert_eq((int32_t)wire_get32(d + 24), RPC2_INIT1SECURE);
    cr_assert_eq(wire_get32(d + 36), RPCT_SUBSYS);
    cr_assert_eq(wire_get32(d + 56), 0);                /* BindTime */
    const uint8_t *b = d + WIRE_HDR;
    cr_assert_eq(wire_get32(b + 4), RPC2_SECURE);
    cr_assert_eq(wire_get32(b + 8), RPC2_XOR);
    cr_assert_eq(wire_get32(b + 16), 5);                /* identity length */
    cr_assert_eq(wire_get32(b + 20), 0);
    for (int i = 28; i < 124; i++) {
        cr_assert_eq(b[i], 0, "unused byte %d", i);     /* F25 */
    }
    cr_assert_eq(wire_get32(b + 124), 1);               /* SECURE_VERSION */
    cr_assert_str_eq((const char *)b + 136, RPC2_VERSION);
    for (int i = 136 + (int)strlen(RPC2_VERSION); i < 232; i++) {
        cr_assert_eq(b[i], 0);
    }
    cr_assert_arr_eq(b + 232, "teste", 5);
    uint32_t uniq = wire_get32(d + 48);

    /* INIT2: an rpc2sec frame to the client's SPI: bootstrap AES-256-CBC
     * (16-byte IV) + XCBC-MAC-96; payload 60 + 12 + 19 = 91 bytes, padded
     * to 96, so 8 + 16 + 96 + 12 = 132 bytes. */
    n = captured(RPC_PROXY_TO_CLIENT, 2, d);
    cr_assert_eq(wire_get32(d), (uint32_t)h);
    cr_assert_eq(wire_get32(d + 4), 1);                 /* first ESP SEQ */
    cr_assert_eq(n, 132);
    /* INIT3: AES-CCM-8 under the key INIT2 carried: 8 + 8 (IV) + 96 + 8. */
    n = captured(RPC_PROXY_TO_SERVER, 1, d);
    cr_assert_eq(n, 8 + 8 + 96 + 8);
    cr_assert_eq(wire_get32(d + 4), 1);
    uint32_t server_spi = wire_get32(d);
    cr_assert_geq(server_spi, 256);
    /* INIT4: 60 + 24 + 2 bytes of trailer = 86, padded to 96. */
    n = captured(RPC_PROXY_TO_CLIENT, 1, d);
    cr_assert_eq(n, 8 + 8 + 96 + 8);
    cr_assert_eq(wire_get32(d + 4), 2);                 /* SEQ continues */
    /* The request: 60 + 4 + 2 = 66, padded to 80. */
    n = captured(RPC_PROXY_TO_SERVER, 0, d);
    cr_assert_eq(n, 8 + 8 + 80 + 8);
    cr_assert_eq(wire_get32(d), server_spi);
    cr_assert_eq(wire_get32(d + 4), 2);
    n = captured(RPC_PROXY_TO_CLIENT, 0, d);
    cr_assert_eq(n, 8 + 8 + 80 + 8);
    cr_assert_eq(wire_get32(d + 4), 3);

    /* Both ends agree on the bind's uniquefier. */
    RPC2_PeerInfo pi;
    cr_assert_eq(RPC2_GetPeerInfo(h, &pi), RPC2_SUCCESS);
    cr_assert_eq((uint32_t)pi.Uniquefier, uniq);
    cr_assert_eq((uint32_t)pi.RemoteHandle, server_spi);
}

Test(rpc_wire, an_openkimono_call_numbers_requests_from_zero)
{
    RPC2_Handle h;
    RPC2_PacketBuffer *rep = NULL;
    RPC2_PeerInfo pi;

    cr_assert_eq(rpct_bind(htons(rpc_proxy_port(proxy)), RPC2_OPENKIMONO, NULL,
                           &h),
                 RPC2_SUCCESS);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(rpct_call(h, RPCT_OP_ECHO, "x", 1, &rep, NULL),
                     RPC2_SUCCESS);
        /* K4: the reply carries the request's number + 1; OPENKIMONO
         * starts at 0 and steps by 2. */
        cr_assert_eq(rep->Header.SeqNumber, (RPC2_Unsigned)(2 * i + 1));
        cr_assert_eq(rep->Header.Opcode, RPC2_REPLY);
        RPC2_FreeBuffer(&rep);
    }
    cr_assert_eq(RPC2_GetPeerInfo(h, &pi), RPC2_SUCCESS);
    cr_assert_eq(pi.SecurityLevel, RPC2_OPENKIMONO);
    cr_assert_eq(pi.EncryptionType, 0);
}
