/* SPDX-License-Identifier: MIT */
/*
 * Per-direction algorithm state of an SA (reference 3.3-3.6) and key
 * installation. Two combinations exist on the wire and only they are
 * accepted: AUTH-NONE + AES-CCM-8/12/16 (version-1 sessions) and
 * AES-XCBC-MAC-96 + AES-CBC (the bootstrap SA and version-0 sessions).
 * CBC without a MAC would be unauthenticated, and Coda never negotiates
 * XCBC over CCM, so both are refused rather than guessed at.
 *
 * A half holds only its raw keys; the packet functions take the thread's
 * EVP context for their use keyed with them (sec_ctx.c), so an idle SA
 * costs a hundred-odd bytes and sealing or opening allocates nothing once
 * the thread's contexts exist.
 */
#include "sec_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

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

static void ccm_setup(struct sec_half *h, const uint8_t *key, size_t keylen)
{
    size_t aes_len = keylen - SEC_CCM_SALTLEN;

    memcpy(h->salt, key + aes_len, SEC_CCM_SALTLEN);
    h->key_len = (uint8_t)(aes_len >= 32 ? 32 : aes_len >= 24 ? 24 : 16);
    memcpy(h->key, key, h->key_len);
    h->iv_len = SEC_CCM_IVLEN;
    h->tag_len = h->icv_len =
        h->encr == SEC_ENCR_AES_CCM_8 ? 8 : h->encr == SEC_ENCR_AES_CCM_12 ? 12
                                                                           : 16;
}

static void cbc_setup(struct sec_half *h, const uint8_t *key, size_t keylen)
{
    h->key_len = (uint8_t)(keylen >= 32 ? 32 : keylen >= 24 ? 24 : 16);
    memcpy(h->key, key, h->key_len);
    h->iv_len = SEC_CBC_IVLEN;
    h->icv_len = SEC_XCBC_ICVLEN;
}

/* A CCM half has no XCBC subkeys: it is allocated without them. */
static size_t half_size(int auth)
{
    return auth == SEC_AUTH_AES_XCBC_96 ? sizeof(struct sec_half)
                                        : offsetof(struct sec_half, mac);
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
    struct sec_half *h = calloc(1, half_size(auth));
    if (!h) {
        return -ENOMEM;
    }
    h->auth = (uint8_t)auth;
    h->encr = (uint8_t)encr;
    h->encrypting = encrypting;
    h->owner = sec__ctx_owner_new();
    if (aead) {
        ccm_setup(h, ckey, cklen);
    } else {
        cbc_setup(h, ckey, cklen);
        rc = sec__xcbc_init(&h->mac, key);
    }
    if (rc < 0) {
        sec__half_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

void sec__half_free(struct sec_half *h)
{
    if (!h) {
        return;
    }
    sec__ctx_forget(h->key, h->key_len);
    if (h->auth == SEC_AUTH_AES_XCBC_96) {
        sec__xcbc_free(&h->mac);
    }
    OPENSSL_cleanse(h, half_size(h->auth));
    free(h);
}

/* The thread's context keyed for h (encrypting or decrypting by its
 * direction), or NULL. */
static EVP_CIPHER_CTX *keyed(const struct sec_half *h)
{
    bool ccm = h->tag_len != 0;
    enum sec_slot_id id = ccm ? (h->encrypting ? SEC_SLOT_CCM_ENC
                                               : SEC_SLOT_CCM_DEC)
                              : (h->encrypting ? SEC_SLOT_CBC_ENC
                                               : SEC_SLOT_CBC_DEC);
    EVP_CIPHER_CTX *ctx = sec__ctx_of(id, h->owner);

    return ctx ? ctx
               : sec__ctx(id, h->owner, aes_for(ccm, h->key_len), h->tag_len,
                          h->key, h->key_len);
}

/* ---- Per packet ---- */

/* The tag as a parameter. Reading a seal's tag and setting an open's
 * expected tag go through EVP_CIPHER_CTX_get_params / _set_params:
 * EVP_CIPHER_CTX_ctrl builds the same parameter but goes through OpenSSL
 * 3's ctrl translation first. In a loop of 64-byte seals and opens (5,240
 * instructions a pair with both as ctrls) each saves about 100. (Passing
 * the open's tag to EVP_DecryptInit_ex2 instead saved nothing.) */
static OSSL_PARAM *tag_param(OSSL_PARAM p[2], uint8_t *tag, size_t len)
{
    p[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag,
                                             len);
    p[1] = OSSL_PARAM_construct_end();
    return p;
}

static bool ccm_get_tag(EVP_CIPHER_CTX *ctx, uint8_t *tag, size_t len)
{
    OSSL_PARAM p[2];

    return EVP_CIPHER_CTX_get_params(ctx, tag_param(p, tag, len)) > 0;
}

/* OpenSSL copies the tag; the cast only satisfies the parameter's type. */
static bool ccm_set_tag(EVP_CIPHER_CTX *ctx, const uint8_t *tag, size_t len)
{
    OSSL_PARAM p[2];

    return EVP_CIPHER_CTX_set_params(ctx, tag_param(p, (uint8_t *)tag, len)) >
           0;
}

static int ccm_seal(struct sec_half *h, const uint8_t counter[16],
                    uint8_t *frame, size_t clen)
{
    EVP_CIPHER_CTX *ctx = keyed(h);
    uint8_t nonce[SEC_CCM_NONCELEN];
    uint8_t *ct = frame + 8 + SEC_CCM_IVLEN;
    int n;

    memcpy(frame + 8, counter, SEC_CCM_IVLEN);
    memcpy(nonce, h->salt, SEC_CCM_SALTLEN);
    memcpy(nonce + SEC_CCM_SALTLEN, counter, SEC_CCM_IVLEN);
    /* Total length first, then the AAD (SPI || SEQ), then the data in
     * one call: OpenSSL's CCM takes the plaintext only in one piece, and
     * has the tag once it has it (a Final call would add nothing: CCM
     * writes no bytes there). */
    return ctx && EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) &&
                   EVP_EncryptUpdate(ctx, NULL, &n, NULL, (int)clen) &&
                   EVP_EncryptUpdate(ctx, NULL, &n, frame, 8) &&
                   EVP_EncryptUpdate(ctx, ct, &n, ct, (int)clen) &&
                   ccm_get_tag(ctx, ct + clen, h->tag_len)
               ? 0
               : -EIO;
}

/* The frame's IV is the incremented counter encrypted with the cipher key
 * (3.5): one CBC block under a zero IV is that ECB block. */
static int cbc_seal(struct sec_half *h, const uint8_t counter[16],
                    uint8_t *frame, size_t clen)
{
    EVP_CIPHER_CTX *ctx = keyed(h);
    uint8_t *iv = frame + 8, *ct = iv + SEC_CBC_IVLEN, mac[SEC_BLOCK];
    int n;

    if (!ctx || !EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, zero_block) ||
        !EVP_EncryptUpdate(ctx, iv, &n, counter, SEC_BLOCK) ||
        !EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) ||
        !EVP_EncryptUpdate(ctx, ct, &n, ct, (int)clen) ||
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
    EVP_CIPHER_CTX *ctx = keyed(h);
    uint8_t nonce[SEC_CCM_NONCELEN];
    const uint8_t *ct = frame + 8 + SEC_CCM_IVLEN;
    int n;

    memcpy(nonce, h->salt, SEC_CCM_SALTLEN);
    memcpy(nonce + SEC_CCM_SALTLEN, frame + 8, SEC_CCM_IVLEN);
    if (!ctx || !ccm_set_tag(ctx, ct + clen, h->tag_len) ||
        !EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) ||
        !EVP_DecryptUpdate(ctx, NULL, &n, NULL, (int)clen) ||
        !EVP_DecryptUpdate(ctx, NULL, &n, frame, 8)) {
        return -EIO;
    }
    /* Fails exactly when the tag does not verify (compared in constant
     * time by OpenSSL, which also wipes pt then). */
    return EVP_DecryptUpdate(ctx, pt, &n, ct, (int)clen) > 0 ? 0
                                                                  : -EBADMSG;
}

static int cbc_open(struct sec_half *h, const uint8_t *frame, size_t clen,
                    uint8_t *pt)
{
    EVP_CIPHER_CTX *ctx;
    const uint8_t *iv = frame + 8, *ct = iv + SEC_CBC_IVLEN;
    uint8_t mac[SEC_BLOCK];
    int n;

    if (sec__xcbc_run(&h->mac, frame, 8 + SEC_CBC_IVLEN + clen, mac) < 0) {
        return -EIO;
    }
    if (CRYPTO_memcmp(mac, ct + clen, SEC_XCBC_ICVLEN) != 0) {
        return -EBADMSG;
    }
    ctx = keyed(h);
    return ctx && EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, iv) &&
                   EVP_DecryptUpdate(ctx, pt, &n, ct, (int)clen)
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
