/* SPDX-License-Identifier: MIT */
/*
 * Private to the sec_*.c files: the per-direction algorithm state behind
 * struct sec_half and the keyed XCBC state it and the KDF share. Nothing
 * outside rpc/sec_*.c includes this; the rest of the library goes through
 * rpc_sec.h.
 */
#ifndef RPC_SEC_INTERNAL_H
#define RPC_SEC_INTERNAL_H

#include "rpc_sec.h"

#include <stdbool.h>

#include <openssl/evp.h>

#define SEC_BLOCK 16       /* AES block; both ciphers pad to it */
#define SEC_XCBC_KEYLEN 16 /* AES-XCBC-MAC key */
#define SEC_XCBC_ICVLEN 12 /* MAC-96 */
#define SEC_CCM_SALTLEN 3  /* last bytes of a CCM key blob */
#define SEC_CCM_IVLEN 8    /* explicit IV in the frame */
#define SEC_CBC_IVLEN 16

#define SEC_CCM_NONCELEN (SEC_CCM_SALTLEN + SEC_CCM_IVLEN) /* 11: L = 4 */

/* AES-XCBC-MAC (RFC 3566) as its three derived subkeys: K1 keys the CBC
 * chaining, K2/K3 finish the last block. Plain bytes, no allocation. */
struct sec_xcbc {
    uint8_t k1[SEC_BLOCK];
    uint8_t k2[SEC_BLOCK];
    uint8_t k3[SEC_BLOCK];
};

/* Derives the subkeys. 0 or -ENOMEM/-EIO; x is wiped on failure. */
int sec__xcbc_init(struct sec_xcbc *x, const uint8_t key[SEC_XCBC_KEYLEN]);
/* The 16-byte MAC of msg. 0 or -ENOMEM/-EIO. */
int sec__xcbc_run(const struct sec_xcbc *x, const void *msg, size_t len,
                  uint8_t out[SEC_BLOCK]);
/* Wipes the subkeys and any cached schedule of K1. */
void sec__xcbc_free(struct sec_xcbc *x);

/* ---- Per-thread keyed contexts (sec_ctx.c) ---- */

enum sec_slot_id {
    SEC_SLOT_CCM_ENC,
    SEC_SLOT_CCM_DEC,
    SEC_SLOT_CBC_ENC,
    SEC_SLOT_CBC_DEC,
    SEC_SLOT_XCBC, /* AES-128-CBC encryption under an XCBC K1 */
    SEC_SLOT_ECB,  /* AES-128-ECB: XCBC subkey derivation */
    SEC_SLOTS
};

/* The calling thread's context for slot id, keyed with cipher c (CCM:
 * tag_len = M, nonce length 11; otherwise tag_len 0 and no padding) and
 * key, on behalf of owner (sec__ctx_owner_new; 0: none). Re-keys only if
 * the slot holds another key. The context stays the thread's: use it
 * before the next sec__ctx call for the same slot. NULL on allocation or
 * OpenSSL failure. */
EVP_CIPHER_CTX *sec__ctx(enum sec_slot_id id, uint64_t owner,
                         const EVP_CIPHER *c, int tag_len, const uint8_t *key,
                         size_t key_len);
/* The calling thread's context for slot id if its last sec__ctx call was
 * for owner (not 0) and nothing dropped it since, else NULL: one word
 * compared instead of cipher, lengths and key bytes, for the per-packet
 * path of a connection that has the slot to itself. */
EVP_CIPHER_CTX *sec__ctx_of(enum sec_slot_id id, uint64_t owner);
/* A new owner: never 0 and never given out twice in the process, so a
 * freed and reused half cannot pass for the one before it. */
uint64_t sec__ctx_owner_new(void);
/* Drops (frees, wipes) the calling thread's cached schedules of key. */
void sec__ctx_forget(const uint8_t *key, size_t key_len);

/* One direction of an SA: algorithms and raw keys only (the EVP context
 * is the thread's, keyed per use). A CCM half is allocated without the
 * trailing mac member. */
struct sec_half {
    uint8_t auth;          /* SEC_AUTH_* */
    uint8_t encr;          /* SEC_ENCR_AES_CBC or _CCM_n */
    bool encrypting;       /* send half */
    uint8_t iv_len;        /* explicit IV bytes in the frame */
    uint8_t tag_len;       /* CCM tag bytes (0 for CBC) */
    uint8_t icv_len;       /* bytes after the ciphertext: tag or MAC-96 */
    uint8_t salt[SEC_CCM_SALTLEN];
    uint8_t key_len;       /* AES key bytes: 16, 24 or 32 */
    uint8_t key[32];
    uint64_t owner;        /* sec__ctx_owner_new(): this half's slot use */
    struct sec_xcbc mac;   /* only when auth is XCBC */
};

/* Builds a half (auth, encr, key blob as in rpc_sec.h); *out owns it.
 * 0, -EINVAL, -ENOMEM, -EIO. */
int sec__half_new(int auth, int encr, const uint8_t *key, size_t keylen,
                  bool encrypting, struct sec_half **out);
/* Wipes and frees; NULL is a no-op. */
void sec__half_free(struct sec_half *h);

/* Encrypts the C bytes at ct in place (C a multiple of SEC_BLOCK) and
 * writes the ICV after them. frame is the start of the frame (SPI, SEQ,
 * then the iv_len bytes of IV at frame + 8, which a CBC half fills from
 * counter, a CCM half from counter[0..7]). 0 or -EIO. */
int sec__half_seal(struct sec_half *h, const uint8_t counter[16],
                   uint8_t *frame, size_t clen);

/* Checks the ICV/tag of the frame (8 + iv + clen + icv bytes) and decrypts
 * the clen ciphertext bytes into pt (room for clen). 0 or -EBADMSG
 * (-EIO if OpenSSL itself fails). */
int sec__half_open(struct sec_half *h, const uint8_t *frame, size_t clen,
                   uint8_t *pt);

#endif /* RPC_SEC_INTERNAL_H */
