/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "rpc_wire.h"

#define HDR_WORDS (WIRE_HDR / 4)

_Static_assert(sizeof(struct RPC2_PacketHeader) == WIRE_HDR,
               "the header is 15 packed 32-bit words");

void wire_hdr_put(uint8_t out[WIRE_HDR], const struct RPC2_PacketHeader *h)
{
    uint32_t w[HDR_WORDS];

    memcpy(w, h, sizeof w);
#pragma GCC unroll 15 /* a load, a byte swap and a store per word */
    for (int i = 0; i < HDR_WORDS; i++) {
        wire_put32(out + 4 * i, w[i]);
    }
}

void wire_hdr_get(const uint8_t in[WIRE_HDR], struct RPC2_PacketHeader *h)
{
    uint32_t w[HDR_WORDS];

#pragma GCC unroll 15
    for (int i = 0; i < HDR_WORDS; i++) {
        w[i] = wire_get32(in + 4 * i);
    }
    memcpy(h, w, sizeof w);
}

int wire_check_datagram(const uint8_t *d, size_t len)
{
    if (len < WIRE_HDR || wire_get32(d) != RPC2_PROTOVERSION) {
        return -1;
    }
    /* BodyLength is word 4. */
    return wire_get32(d + 16) == len - WIRE_HDR ? 0 : -1;
}

size_t wire_init1_size(uint32_t ident_len)
{
    return WIRE_INIT1_FIXED + (size_t)ident_len;
}

void wire_init1_put(uint8_t *body, const struct wire_init1 *in)
{
    memset(body, 0, WIRE_INIT1_FIXED);
    wire_put32(body + 0, (uint32_t)in->se_type);
    wire_put32(body + 4, (uint32_t)in->level);
    wire_put32(body + 8, (uint32_t)in->enc_type);
    wire_put32(body + 12, (uint32_t)in->auth_type);
    wire_put32(body + 16, in->ident_len);
    memcpy(body + WIRE_INIT1_XRANDOM, in->xrandom, 4);
    wire_put32(body + 124, in->sec_version);
    wire_put32(body + 128, in->keysize);
    memcpy(body + 136, in->version, strnlen(in->version, 95));
    if (in->ident_len) {
        memcpy(body + WIRE_INIT1_FIXED, in->ident, in->ident_len);
    }
}

int wire_init1_get(const uint8_t *body, size_t len, uint32_t max_ident,
                   struct wire_init1 *out)
{
    if (len < WIRE_INIT1_FIXED) {
        return -1;
    }
    out->ident_len = wire_get32(body + 16);
    if (out->ident_len > max_ident ||
        len - WIRE_INIT1_FIXED < out->ident_len) {
        return -1;
    }
    out->se_type = (int32_t)wire_get32(body + 0);
    out->level = (int32_t)wire_get32(body + 4);
    out->enc_type = (int32_t)wire_get32(body + 8);
    out->auth_type = (int32_t)wire_get32(body + 12);
    memcpy(out->xrandom, body + WIRE_INIT1_XRANDOM, 4);
    out->sec_version = wire_get32(body + 124);
    out->keysize = wire_get32(body + 128);
    memcpy(out->version, body + 136, 95);
    out->version[95] = '\0';
    out->ident = out->ident_len ? body + WIRE_INIT1_FIXED : NULL;
    return 0;
}

size_t wire_init23_put(uint8_t *body, uint32_t version, uint32_t auth,
                       uint32_t encr, const uint8_t *key, size_t keylen)
{
    wire_put32(body + 0, version);
    wire_put32(body + 4, auth);
    wire_put32(body + 8, encr);
    memcpy(body + WIRE_INIT23_FIXED, key, keylen);
    return WIRE_INIT23_FIXED + keylen;
}

int wire_init23_get(const uint8_t *body, size_t len, struct wire_init23 *out)
{
    if (len < WIRE_INIT23_FIXED) {
        return -1;
    }
    out->version = wire_get32(body + 0);
    out->auth = wire_get32(body + 4);
    out->encr = wire_get32(body + 8);
    out->key = body + WIRE_INIT23_FIXED;
    out->keylen = len - WIRE_INIT23_FIXED;
    return 0;
}

void wire_init4_put(uint8_t body[WIRE_INIT4_BODY], uint32_t seq,
                    const RPC2_EncryptionKey key)
{
    memset(body, 0, WIRE_INIT4_BODY);
    wire_put32(body, seq);
    memcpy(body + 4, key, RPC2_KEYSIZE);
}

int wire_init4_get(const uint8_t *body, size_t len, uint32_t *seq,
                   RPC2_EncryptionKey key)
{
    if (len < WIRE_INIT4_BODY) {
        return -1;
    }
    *seq = wire_get32(body);
    memcpy(key, body + 4, RPC2_KEYSIZE);
    return 0;
}
