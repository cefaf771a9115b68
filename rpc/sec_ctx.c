/* SPDX-License-Identifier: MIT */
/*
 * Per-thread keyed EVP contexts. An SA half keeps only its raw key (tens
 * of bytes); a keyed EVP context with its AES schedule costs ~700 bytes
 * of heap, which per connection would be most of an idle connection's
 * memory. So each thread owns one context per use (slot) and re-keys it
 * only when the key differs from the one it holds: a single busy
 * connection never re-keys, many connections re-key per packet (one AES
 * key expansion, cheap next to the CCM pass itself).
 *
 * A slot is identified by its contents (cipher, tag length, key bytes),
 * never by who asked, so a freed and reused half can never be served a
 * stale key. The one shortcut: a slot remembers the owner number of its
 * last user, numbers are never reused, and any re-key or drop clears it,
 * so the same half asking again is served on one comparison.
 * sec__ctx_forget() drops a schedule whose key is being wiped, so no key
 * outlives its SA in a cached context either. The contexts of a thread
 * are freed when it exits (pthread key destructor).
 */
#include "sec_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

struct sec_slot {
    EVP_CIPHER_CTX *ctx;
    const EVP_CIPHER *cipher; /* NULL: not keyed */
    uint64_t owner;           /* of the last sec__ctx call (0: none) */
    int tag_len;              /* CCM M (0 otherwise) */
    size_t key_len;
    uint8_t key[32];
};

struct sec_slots {
    struct sec_slot s[SEC_SLOTS];
};

static _Thread_local struct sec_slots *slots;
static pthread_key_t slots_key;
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;

static void slot_drop(struct sec_slot *s)
{
    EVP_CIPHER_CTX_free(s->ctx); /* the provider cleanses the schedule */
    OPENSSL_cleanse(s, sizeof *s);
}

static void slots_free(void *p)
{
    struct sec_slots *t = p;

    for (int i = 0; i < SEC_SLOTS; i++) {
        slot_drop(&t->s[i]);
    }
    if (t == slots) {
        slots = NULL;
    }
    free(t);
}

static void make_key(void)
{
    (void)pthread_key_create(&slots_key, slots_free);
}

static struct sec_slots *thread_slots(void)
{
    if (!slots) {
        struct sec_slots *t = calloc(1, sizeof *t);
        if (!t) {
            return NULL;
        }
        (void)pthread_once(&slots_once, make_key);
        (void)pthread_setspecific(slots_key, t);
        slots = t;
    }
    return slots;
}

static bool holds(const struct sec_slot *s, const EVP_CIPHER *c, int tag_len,
                  const uint8_t *key, size_t key_len)
{
    return s->cipher == c && s->tag_len == tag_len && s->key_len == key_len &&
           CRYPTO_memcmp(s->key, key, key_len) == 0;
}

/* M, L and the key must be set in this order for CCM: OpenSSL fixes the
 * CCM flags byte from M and L when the key is set. */
static int rekey(struct sec_slot *s, const EVP_CIPHER *c, int enc,
                 int tag_len, const uint8_t *key, size_t key_len)
{
    bool same_cipher = s->cipher == c && s->tag_len == tag_len;
    int ok;

    s->cipher = NULL;
    if (same_cipher) {
        ok = EVP_CipherInit_ex(s->ctx, NULL, NULL, key, NULL, enc);
    } else if (tag_len) {
        ok = EVP_CipherInit_ex(s->ctx, c, NULL, NULL, NULL, enc) &&
             EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_IVLEN,
                                 SEC_CCM_NONCELEN, NULL) &&
             EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, tag_len,
                                 NULL) &&
             EVP_CipherInit_ex(s->ctx, NULL, NULL, key, NULL, enc);
    } else {
        ok = EVP_CipherInit_ex(s->ctx, c, NULL, key, NULL, enc) &&
             EVP_CIPHER_CTX_set_padding(s->ctx, 0);
    }
    if (!ok) {
        return -1;
    }
    s->cipher = c;
    s->tag_len = tag_len;
    s->key_len = key_len;
    memcpy(s->key, key, key_len);
    return 0;
}

EVP_CIPHER_CTX *sec__ctx(enum sec_slot_id id, uint64_t owner,
                         const EVP_CIPHER *c, int tag_len, const uint8_t *key,
                         size_t key_len)
{
    struct sec_slots *t = thread_slots();

    if (!t || key_len > sizeof t->s[0].key) {
        return NULL;
    }
    struct sec_slot *s = &t->s[id];
    s->owner = 0;
    if (!holds(s, c, tag_len, key, key_len)) {
        int enc = id != SEC_SLOT_CCM_DEC && id != SEC_SLOT_CBC_DEC;
        if ((!s->ctx && !(s->ctx = EVP_CIPHER_CTX_new())) ||
            rekey(s, c, enc, tag_len, key, key_len) != 0) {
            return NULL;
        }
    }
    s->owner = owner;
    return s->ctx;
}

EVP_CIPHER_CTX *sec__ctx_of(enum sec_slot_id id, uint64_t owner)
{
    const struct sec_slots *t = slots;

    return t && owner && t->s[id].owner == owner ? t->s[id].ctx : NULL;
}

uint64_t sec__ctx_owner_new(void)
{
    static _Atomic uint64_t last;

    return atomic_fetch_add_explicit(&last, 1, memory_order_relaxed) + 1;
}

void sec__ctx_forget(const uint8_t *key, size_t key_len)
{
    if (!slots) {
        return;
    }
    for (int i = 0; i < SEC_SLOTS; i++) {
        struct sec_slot *s = &slots->s[i];
        if (s->cipher && s->key_len == key_len &&
            CRYPTO_memcmp(s->key, key, key_len) == 0) {
            slot_drop(s);
        }
    }
}
