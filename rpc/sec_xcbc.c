/* SPDX-License-Identifier: MIT */
/*
 * AES-XCBC-MAC (RFC 3566) and AES-XCBC-PRF-128 (RFC 4434) over EVP.
 *
 * OpenSSL has no XCBC (and CMAC differs in its subkeys), so it is built
 * from AES: K1/K2/K3 come from one ECB pass over the three constant
 * blocks, and the chaining E[i] = AES-K1(M[i] ^ E[i-1]) with E[0] = 0 is
 * exactly AES-128-CBC under K1 with a zero IV. One CBC call therefore
 * MACs all but the last block, and the last block, XORed with K2 (whole)
 * or padded and XORed with K3 (partial or empty), comes out of the same
 * chain as the MAC.
 */
#include "sec_internal.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

static const uint8_t zero_block[SEC_BLOCK];

int sec__xcbc_init(struct sec_xcbc *x, const uint8_t key[SEC_XCBC_KEYLEN])
{
    uint8_t consts[3 * SEC_BLOCK];
    int len = 0;

    for (size_t i = 0; i < sizeof consts; i++) {
        consts[i] = (uint8_t)(1 + i / SEC_BLOCK);
    }
    /* K1, K2, K3 are the ECB encryptions of 0x01.., 0x02.., 0x03... */
    EVP_CIPHER_CTX *ecb = sec__ctx(SEC_SLOT_ECB, 0, EVP_aes_128_ecb(), 0, key,
                                   SEC_XCBC_KEYLEN);
    int ok = ecb &&
             EVP_EncryptUpdate(ecb, (uint8_t *)x, &len, consts,
                               (int)sizeof consts) &&
             len == (int)sizeof *x;
    /* The caller's key is not ours to keep a schedule of. */
    sec__ctx_forget(key, SEC_XCBC_KEYLEN);
    if (!ok) {
        OPENSSL_cleanse(x, sizeof *x);
        return ecb ? -EIO : -ENOMEM;
    }
    return 0;
}

void sec__xcbc_free(struct sec_xcbc *x)
{
    sec__ctx_forget(x->k1, sizeof x->k1);
    OPENSSL_cleanse(x, sizeof *x);
}

/* The last block as RFC 3566 finishes it; tail is 0..16 bytes. */
static void last_block(const struct sec_xcbc *x, const uint8_t *tail,
                       size_t n, uint8_t out[SEC_BLOCK])
{
    const uint8_t *k = x->k2;

    memset(out, 0, SEC_BLOCK);
    if (n) {
        memcpy(out, tail, n);
    }
    if (n < SEC_BLOCK) {
        out[n] = 0x80;
        k = x->k3;
    }
    for (size_t i = 0; i < SEC_BLOCK; i++) {
        out[i] ^= k[i];
    }
}

int sec__xcbc_run(const struct sec_xcbc *x, const void *msg, size_t len,
                  uint8_t out[SEC_BLOCK])
{
    const uint8_t *m = msg;
    /* Bytes before the last block: an empty message has one (padded)
     * block, a whole number of blocks keeps its last one whole. */
    size_t head = len ? (len - 1) / SEC_BLOCK * SEC_BLOCK : 0;
    uint8_t scratch[1024], last[SEC_BLOCK];
    int n = 0;
    /* AES-128-CBC under K1 from a zero IV chains exactly as XCBC does. */
    EVP_CIPHER_CTX *cbc = sec__ctx(SEC_SLOT_XCBC, 0, EVP_aes_128_cbc(), 0,
                                   x->k1, sizeof x->k1);

    if (!cbc) {
        return -ENOMEM;
    }
    if (!EVP_EncryptInit_ex(cbc, NULL, NULL, NULL, zero_block)) {
        return -EIO;
    }
    for (size_t off = 0; off < head;) {
        size_t chunk = head - off < sizeof scratch ? head - off
                                                    : sizeof scratch;
        if (!EVP_EncryptUpdate(cbc, scratch, &n, m + off, (int)chunk)) {
            return -EIO;
        }
        off += chunk;
    }
    last_block(x, len ? m + head : m, len - head, last);
    int ok = EVP_EncryptUpdate(cbc, out, &n, last, SEC_BLOCK);
    /* last holds M[n] ^ K2, which with a known message reveals K2. */
    OPENSSL_cleanse(last, sizeof last);
    return ok && n == SEC_BLOCK ? 0 : -EIO;
}

int sec_xcbc_mac(const uint8_t key[16], const void *msg, size_t len,
                 uint8_t out[16])
{
    struct sec_xcbc x;
    int rc = sec__xcbc_init(&x, key);

    if (rc == 0) {
        rc = sec__xcbc_run(&x, msg, len, out);
        sec__xcbc_free(&x);
    }
    return rc < 0 ? -EIO : 0;
}

int sec_xcbc_prf(const void *key, size_t keylen, const void *msg, size_t len,
                 uint8_t out[16])
{
    static const uint8_t zero_key[SEC_XCBC_KEYLEN];
    uint8_t k[SEC_XCBC_KEYLEN] = {0};
    int rc = 0;

    /* RFC 4434: a 16-byte key as is, a shorter one zero-padded, a longer
     * one first reduced by XCBC-MAC under the all-zero key. */
    if (keylen <= sizeof k) {
        if (keylen) {
            memcpy(k, key, keylen);
        }
    } else {
        rc = sec_xcbc_mac(zero_key, key, keylen, k);
    }
    if (rc == 0) {
        rc = sec_xcbc_mac(k, msg, len, out);
    }
    OPENSSL_cleanse(k, sizeof k);
    return rc;
}
