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

/* AES-XCBC-MAC keyed once (RFC 3566): cbc is AES-128-CBC under K1, so the
 * CBC chaining of a message is the XCBC chaining; k2/k3 finish the last
 * block. Allocated at set-up, reused for every message. */
struct sec_xcbc {
    EVP_CIPHER_CTX *cbc;
    uint8_t k2[SEC_BLOCK];
    uint8_t k3[SEC_BLOCK];
};

/* 0 or -ENOMEM/-EIO; on failure x holds nothing to free. */
int sec__xcbc_init(struct sec_xcbc *x, const uint8_t key[SEC_XCBC_KEYLEN]);
/* The 16-byte MAC of msg. 0 or -EIO. */
int sec__xcbc_run(struct sec_xcbc *x, const void *msg, size_t len,
                  uint8_t out[SEC_BLOCK]);
/* Frees the context and wipes the subkeys; safe on a zeroed struct. */
void sec__xcbc_free(struct sec_xcbc *x);

/* One direction of an SA. The EVP context is keyed once, for one
 * direction (encrypt on a send half, decrypt on a receive half), and only
 * re-IV'd per packet. */
struct sec_half {
    int auth;              /* SEC_AUTH_* */
    int encr;              /* SEC_ENCR_AES_CBC or _CCM_n */
    bool encrypting;       /* send half */
    size_t iv_len;         /* explicit IV bytes in the frame */
    size_t tag_len;        /* CCM tag bytes (0 for CBC) */
    size_t icv_len;        /* bytes after the ciphertext: tag or MAC-96 */
    uint8_t salt[SEC_CCM_SALTLEN];
    EVP_CIPHER_CTX *cipher;
    struct sec_xcbc mac;   /* keyed only when auth is XCBC */
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
