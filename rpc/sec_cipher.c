/* SPDX-License-Identifier: MIT */
/*
 * Per-direction algorithm state of an SA (reference 3.3-3.6) and key
 * installation. Two combinations exist on the wire and only they are
 * accepted: AUTH-NONE + AES-CCM-8/12/16 (version-1 sessions) and
 * AES-XCBC-MAC-96 + AES-CBC (the bootstrap SA and version-0 sessions).
 * CBC without a MAC would be unauthenticated, and Coda never negotiates
 * XCBC over CCM, so both are refused rather than guessed at.
 *
 * Every EVP context is created and keyed here, once per key; the packet
 * functions only set an IV (and for CCM the tag and length), so sealing
 * or opening allocates nothing.
 */
#include "sec_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define SEC_CCM_NONCELEN (SEC_CCM_SALTLEN + SEC_CCM_IVLEN) /* 11: L = 4 */
#define SEC_CCM_MINKEY 19
#define SEC_CCM_MAXKEY 35
#define SEC_CBC_MINKEY 16
#define SEC_CBC_MAXKEY 32

static const uint8_t zero_block[SEC_BLOCK];

static bool is_ccm(int encr)
{
    return encr == SEC_ENCR_AES_CCM_8 || encr == SEC_ENCR_AES_CCM_12 ||
           encr == SEC_ENCR_AES_CCM_16;
}

/* AES by key length (3.3): the first 32, 24 or 16 bytes of the key. */
static const EVP_CIPHER *aes_for(bool ccm, size_t keylen)
{
    if (keylen >= 32) {
        return ccm ? EVP_aes_256_ccm() : EVP_aes_256_cbc();
    }
    if (keylen >= 24) {
        return ccm ? EVP_aes_192_ccm() : EVP_aes_192_cbc();
    }
    if (keylen >= 16) {
        return ccm ? EVP_aes_128_ccm() : EVP_aes_128_cbc();
    }
    return NULL;
}

/* M, L and the key must be set in this order: OpenSSL fixes the CCM
 * flags byte from M and L when the key is set. */
static int ccm_setup(struct sec_half *h, const uint8_t *key, size_t keylen)
{
    size_t aes_len = keylen - SEC_CCM_SALTLEN;
    const EVP_CIPHER *c = aes_for(true, aes_len);
    int enc = h->encrypting;

    memcpy(h->salt, key + aes_len, SEC_CCM_SALTLEN);
    h->iv_len = SEC_CCM_IVLEN;
    h->tag_len = h->icv_len =
        h->encr == SEC_ENCR_AES_CCM_8 ? 8 : h->encr == SEC_ENCR_AES_CCM_12 ? 12
                                                                           : 16;
    return EVP_CipherInit_ex(h->cipher, c, NULL, NULL, NULL, enc) &&
                   EVP_CIPHER_CTX_ctrl(h->cipher, EVP_CTRL_AEAD_SET_IVLEN,
                                       SEC_CCM_NONCELEN, NULL) &&
                   EVP_CIPHER_CTX_ctrl(h->cipher, EVP_CTRL_AEAD_SET_TAG,
                                       (int)h->tag_len, NULL) &&
                   EVP_CipherInit_ex(h->cipher, NULL, NULL, key, NULL, enc)
               ? 0
               : -EIO;
}

static int cbc_setup(struct sec_half *h, const uint8_t *key, size_t keylen)
{
    h->iv_len = SEC_CBC_IVLEN;
    h->icv_len = SEC_XCBC_ICVLEN;
    return EVP_CipherInit_ex(h->cipher, aes_for(false, keylen), NULL, key,
                             NULL, h->encrypting) &&
                   EVP_CIPHER_CTX_set_padding(h->cipher, 0)
               ? 0
               : -EIO;
}

/* Where the cipher's key starts in the blob (3.3): after the integrity
 * key if both fit, else the same bytes again. */
static int split_key(int auth, int encr, const uint8_t *key, size_t keylen,
                     const uint8_t **ckey, size_t *cklen)
{
    size_t auth_len = auth == SEC_AUTH_AES_XCBC_96 ? SEC_XCBC_KEYLEN : 0;
    size_t min = is_ccm(encr) ? SEC_CCM_MINKEY : SEC_CBC_MINKEY;

    if (keylen < auth_len || (keylen && !key)) {
        return -EINVAL;
    }
    *ckey = key;
    *cklen = keylen;
    if (keylen >= auth_len + min) {
        *ckey = key + auth_len;
        *cklen = keylen - auth_len;
    }
    return *cklen >= min ? 0 : -EINVAL;
}

int sec__half_new(int auth, int encr, const uint8_t *key, size_t keylen,
                  bool encrypting, struct sec_half **out)
{
    bool aead = auth == SEC_AUTH_NONE && is_ccm(encr);
    bool cbc = auth == SEC_AUTH_AES_XCBC_96 && encr == SEC_ENCR_AES_CBC;
    const uint8_t *ckey;
    size_t cklen;

    if (!aead && !cbc) {
        return -EINVAL;
    }
    int rc = split_key(auth, encr, key, keylen, &ckey, &cklen);
    if (rc < 0) {
        return rc;
    }
    struct sec_half *h = calloc(1, sizeof *h);
    if (!h) {
        return -ENOMEM;
    }
    h->auth = auth;
    h->encr = encr;
    h->encrypting = encrypting;
    h->cipher = EVP_CIPHER_CTX_new();
    if (!h->cipher) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = aead ? ccm_setup(h, ckey, cklen) : cbc_setup(h, ckey, cklen);
    if (rc == 0 && cbc) {
        rc = sec__xcbc_init(&h->mac, key);
    }
    if (rc < 0) {
        goto fail;
    }
    *out = h;
    return 0;
fail:
    sec__half_free(h);
    return rc;
}

void sec__half_free(struct sec_half *h)
{
    if (!h) {
        return;
    }
    EVP_CIPHER_CTX_free(h->cipher);
    if (h->mac.cbc) {
        sec__xcbc_free(&h->mac);
    }
    OPENSSL_cleanse(h, sizeof *h);
    free(h);
}

/* ---- Per packet ---- */

static int ccm_seal(struct sec_half *h, const uint8_t counter[16],
                    uint8_t *frame, size_t clen)
{
    uint8_t nonce[SEC_CCM_NONCELEN];
    uint8_t *ct = frame + 8 + SEC_CCM_IVLEN;
    int n;

    memcpy(frame + 8, counter, SEC_CCM_IVLEN);
    memcpy(nonce, h->salt, SEC_CCM_SALTLEN);
    memcpy(nonce + SEC_CCM_SALTLEN, counter, SEC_CCM_IVLEN);
    /* Total length first, then the AAD (SPI || SEQ), then the data in
     * one call: OpenSSL's CCM takes the plaintext only in one piece. */
    return EVP_EncryptInit_ex(h->cipher, NULL, NULL, NULL, nonce) &&
                   EVP_EncryptUpdate(h->cipher, NULL, &n, NULL, (int)clen) &&
                   EVP_EncryptUpdate(h->cipher, NULL, &n, frame, 8) &&
                   EVP_EncryptUpdate(h->cipher, ct, &n, ct, (int)clen) &&
                   EVP_EncryptFinal_ex(h->cipher, ct + clen, &n) &&
                   EVP_CIPHER_CTX_ctrl(h->cipher, EVP_CTRL_AEAD_GET_TAG,
                                       (int)h->tag_len, ct + clen)
               ? 0
               : -EIO;
}

/* The frame's IV is the incremented counter encrypted with the cipher key
 * (3.5): one CBC block under a zero IV is that ECB block. */
static int cbc_seal(struct sec_half *h, const uint8_t counter[16],
                    uint8_t *frame, size_t clen)
{
    uint8_t *iv = frame + 8, *ct = iv + SEC_CBC_IVLEN, mac[SEC_BLOCK];
    int n;

    if (!EVP_EncryptInit_ex(h->cipher, NULL, NULL, NULL, zero_block) ||
        !EVP_EncryptUpdate(h->cipher, iv, &n, counter, SEC_BLOCK) ||
        !EVP_EncryptInit_ex(h->cipher, NULL, NULL, NULL, iv) ||
        !EVP_EncryptUpdate(h->cipher, ct, &n, ct, (int)clen) ||
        sec__xcbc_run(&h->mac, frame, 8 + SEC_CBC_IVLEN + clen, mac) < 0) {
        return -EIO;
    }
    memcpy(ct + clen, mac, SEC_XCBC_ICVLEN);
    return 0;
}

int sec__half_seal(struct sec_half *h, const uint8_t counter[16],
                   uint8_t *frame, size_t clen)
{
    return h->tag_len ? ccm_seal(h, counter, frame, clen)
                      : cbc_seal(h, counter, frame, clen);
}

static int ccm_open(struct sec_half *h, const uint8_t *frame, size_t clen,
                    uint8_t *pt)
{
    uint8_t nonce[SEC_CCM_NONCELEN];
    const uint8_t *ct = frame + 8 + SEC_CCM_IVLEN;
    int n;

    memcpy(nonce, h->salt, SEC_CCM_SALTLEN);
    memcpy(nonce + SEC_CCM_SALTLEN, frame + 8, SEC_CCM_IVLEN);
    /* The tag is copied by OpenSSL; the cast only satisfies ctrl's
     * signature. */
    if (!EVP_CIPHER_CTX_ctrl(h->cipher, EVP_CTRL_AEAD_SET_TAG,
                             (int)h->tag_len, (void *)(ct + clen)) ||
        !EVP_DecryptInit_ex(h->cipher, NULL, NULL, NULL, nonce) ||
        !EVP_DecryptUpdate(h->cipher, NULL, &n, NULL, (int)clen) ||
        !EVP_DecryptUpdate(h->cipher, NULL, &n, frame, 8)) {
        return -EIO;
    }
    /* Fails exactly when the tag does not verify (compared in constant
     * time by OpenSSL, which also wipes pt then). */
    return EVP_DecryptUpdate(h->cipher, pt, &n, ct, (int)clen) > 0 ? 0
                                                                  : -EBADMSG;
}

static int cbc_open(struct sec_half *h, const uint8_t *frame, size_t clen,
                    uint8_t *pt)
{
    const uint8_t *iv = frame + 8, *ct = iv + SEC_CBC_IVLEN;
    uint8_t mac[SEC_BLOCK];
    int n;

    if (sec__xcbc_run(&h->mac, frame, 8 + SEC_CBC_IVLEN + clen, mac) < 0) {
        return -EIO;
    }
    if (CRYPTO_memcmp(mac, ct + clen, SEC_XCBC_ICVLEN) != 0) {
        return -EBADMSG;
    }
    return EVP_DecryptInit_ex(h->cipher, NULL, NULL, NULL, iv) &&
                   EVP_DecryptUpdate(h->cipher, pt, &n, ct, (int)clen)
               ? 0
               : -EIO;
}

int sec__half_open(struct sec_half *h, const uint8_t *frame, size_t clen,
                   uint8_t *pt)
{
    return h->tag_len ? ccm_open(h, frame, clen, pt)
                      : cbc_open(h, frame, clen, pt);
}

/* ---- Installing keys on an SA ---- */

static int set_half(struct sec_half **slot, int auth, int encr,
                    const uint8_t *key, size_t keylen, bool encrypting)
{
    struct sec_half *h;
    int rc = sec__half_new(auth, encr, key, keylen, encrypting, &h);

    if (rc == 0) {
        sec__half_free(*slot);
        *slot = h;
    }
    return rc;
}

static int check_version(int version)
{
    if (version == 0) {
        return -ENOTSUP; /* CCM's "broken counter" (3.4) is not offered */
    }
    return version == SEC_VERSION ? 0 : -EINVAL;
}

/* The IV counter is drawn before the half is built, so a failure leaves
 * the SA as it was. */
static int set_send(struct sec_sa *sa, int auth, int encr, const uint8_t *key,
                    size_t keylen)
{
    uint8_t iv[sizeof sa->send_iv];
    int rc = sec_random(iv, sizeof iv);

    if (rc == 0) {
        rc = set_half(&sa->send, auth, encr, key, keylen, true);
    }
    if (rc == 0) {
        memcpy(sa->send_iv, iv, sizeof iv);
    }
    return rc;
}

int sec_set_send(struct sec_sa *sa, int version, int auth, int encr,
                 const uint8_t *key, size_t keylen)
{
    int rc = check_version(version);

    return rc < 0 ? rc : set_send(sa, auth, encr, key, keylen);
}

int sec_set_recv(struct sec_sa *sa, int version, int auth, int encr,
                 const uint8_t *key, size_t keylen)
{
    int rc = check_version(version);

    return rc < 0 ? rc
                  : set_half(&sa->recv, auth, encr, key, keylen, false);
}

int sec_set_send_bootstrap(struct sec_sa *sa, const uint8_t key[48])
{
    return set_send(sa, SEC_AUTH_AES_XCBC_96, SEC_ENCR_AES_CBC, key,
                    SEC_BOOTSTRAP_KEYLEN);
}

int sec_set_recv_bootstrap(struct sec_sa *sa, const uint8_t key[48])
{
    return set_half(&sa->recv, SEC_AUTH_AES_XCBC_96, SEC_ENCR_AES_CBC, key,
                    SEC_BOOTSTRAP_KEYLEN, false);
}

void sec_clear(struct sec_sa *sa)
{
    sec__half_free(sa->send);
    sec__half_free(sa->recv);
    OPENSSL_cleanse(sa, sizeof *sa);
}

size_t sec_session_keylen(int encr, size_t pref)
{
    size_t min = SEC_CBC_MINKEY, max = SEC_CBC_MAXKEY;

    if (is_ccm(encr)) {
        min = SEC_CCM_MINKEY;
        max = SEC_CCM_MAXKEY;
    } else if (encr != SEC_ENCR_AES_CBC) {
        return 0;
    }
    return pref < min ? min : pref > max ? max : pref;
}
