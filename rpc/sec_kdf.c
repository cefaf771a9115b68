/* SPDX-License-Identifier: MIT */
/*
 * The bootstrap key of an rpc2sec bind (reference 3.10, quirk K1).
 *
 * Coda means PBKDF2 with AES-XCBC-PRF-128 and c = 10,000 iterations, but
 * its loop feeds the PRF the buffer it is writing, so every iteration after
 * the first computes Z = PRF(P, 0^16). The XOR of c - 1 copies of Z is Z
 * when c - 1 is odd, so what a Coda peer derives, and what we must, is
 *     T_i = PRF(P, S || BE32(i)) ^ Z,   K = T_1 || T_2 || T_3.
 * That is four AES-XCBC runs under one key schedule instead of 30,000.
 */
#include "sec_internal.h"

#include <string.h>

#include <openssl/crypto.h>

_Static_assert((SEC_KDF_ITERATIONS - 1) % 2 == 1,
               "the Z term of the K1 formula assumes an even iteration count");
_Static_assert(SEC_BOOTSTRAP_KEYLEN % SEC_BLOCK == 0,
               "the bootstrap key is a whole number of PRF blocks");

int sec_bootstrap_key(const uint8_t secret[8], const uint8_t salt[8],
                      uint8_t key[SEC_BOOTSTRAP_KEYLEN])
{
    static const uint8_t zeros[SEC_BLOCK];
    /* PRF-128 with an 8-byte key: the key zero-padded to 16 (RFC 4434). */
    uint8_t prf_key[SEC_XCBC_KEYLEN] = {0};
    uint8_t z[SEC_BLOCK], u[SEC_BLOCK], in[12];
    struct sec_xcbc x;

    memcpy(prf_key, secret, 8);
    int rc = sec__xcbc_init(&x, prf_key);
    OPENSSL_cleanse(prf_key, sizeof prf_key);
    if (rc < 0) {
        return rc;
    }
    rc = sec__xcbc_run(&x, zeros, sizeof zeros, z);
    memcpy(in, salt, 8);
    for (uint32_t i = 1; rc == 0 && i <= SEC_BOOTSTRAP_KEYLEN / SEC_BLOCK;
         i++) {
        in[8] = (uint8_t)(i >> 24);
        in[9] = (uint8_t)(i >> 16);
        in[10] = (uint8_t)(i >> 8);
        in[11] = (uint8_t)i;
        rc = sec__xcbc_run(&x, in, sizeof in, u);
        for (size_t j = 0; j < SEC_BLOCK; j++) {
            key[(i - 1) * SEC_BLOCK + j] = u[j] ^ z[j];
        }
    }
    sec__xcbc_free(&x);
    OPENSSL_cleanse(z, sizeof z);
    OPENSSL_cleanse(u, sizeof u);
    if (rc < 0) {
        OPENSSL_cleanse(key, SEC_BOOTSTRAP_KEYLEN);
    }
    return rc;
}
