/* SPDX-License-Identifier: MIT */
/*
 * RPC2 wire encodings (reference 2.2, 2.5): the 60-byte header and the bind
 * bodies. Pure functions over byte buffers; every decoder checks lengths
 * against what it was given and never reads past it.
 */
#ifndef RPC_WIRE_H
#define RPC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <rpc2/rpc2.h>

#define WIRE_HDR 60               /* header bytes */
#define WIRE_INIT1_FIXED 232      /* INIT1 body before the identity */
#define WIRE_INIT1_XRANDOM 24     /* offset of the 4 random bytes */
#define WIRE_INIT1_IDENT_MOVED 20 /* where the server moves the identity */
#define WIRE_INIT23_FIXED 12      /* version, auth id, encr id */
#define WIRE_INIT4_BODY 24
#define WIRE_REJECT_INIT2_BODY 20
/* K12, corrected: a 64-bit Coda receiver drops an rpc2sec datagram whose
 * header + body + ESP padding + 8-byte CCM tag exceed 4294 bytes (its size
 * check before decrypting), so the largest header + body it takes is 4286
 * (body 4226), not the reference's 4296 (checked against Coda's RPC2). */
#define WIRE_MAX_SEND 4286
#define WIRE_SFTP_VERSION 3

static inline uint32_t wire_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static inline void wire_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Header, host order <-> wire (big-endian words). */
void wire_hdr_put(uint8_t out[WIRE_HDR], const struct RPC2_PacketHeader *h);
void wire_hdr_get(const uint8_t in[WIRE_HDR], struct RPC2_PacketHeader *h);

/* Checks a decrypted or plaintext RPC2 datagram: at least a header, RPC2
 * protocol version, and BodyLength equal to what follows the header.
 * 0 if sound, -1 otherwise. */
int wire_check_datagram(const uint8_t *d, size_t len);

struct wire_init1 {
    int32_t se_type;
    int32_t level;
    int32_t enc_type;
    int32_t auth_type;
    uint32_t ident_len;
    uint8_t xrandom[4];
    uint32_t sec_version;
    uint32_t keysize;
    char version[96];       /* NUL-terminated after decoding */
    const uint8_t *ident;   /* into the decoded buffer; NULL if ident_len 0 */
};

size_t wire_init1_size(uint32_t ident_len);
/* Writes the body (zeroing every unused byte, F25); body has
 * wire_init1_size(in->ident_len) bytes. */
void wire_init1_put(uint8_t *body, const struct wire_init1 *in);
/* 0, or -1 if len is too short for the fixed part plus the identity, or the
 * identity is longer than max_ident. */
int wire_init1_get(const uint8_t *body, size_t len, uint32_t max_ident,
                   struct wire_init1 *out);

/* INIT2/INIT3 (rpc2sec): version, auth id, encr id, key bytes. */
struct wire_init23 {
    uint32_t version;
    uint32_t auth;
    uint32_t encr;
    const uint8_t *key;
    size_t keylen;
};
size_t wire_init23_put(uint8_t *body, uint32_t version, uint32_t auth,
                       uint32_t encr, const uint8_t *key, size_t keylen);
int wire_init23_get(const uint8_t *body, size_t len, struct wire_init23 *out);

/* INIT4: initial sequence number, session key, 12 zero bytes. */
void wire_init4_put(uint8_t body[WIRE_INIT4_BODY], uint32_t seq,
                    const RPC2_EncryptionKey key);
int wire_init4_get(const uint8_t *body, size_t len, uint32_t *seq,
                   RPC2_EncryptionKey key);

#endif /* RPC_WIRE_H */
