/* SPDX-License-Identifier: MIT */
/*
 * rpc2sec: the security layer under RPC2 (reference section 3). Pure
 * functions over byte buffers plus per-connection security associations;
 * the only code of the library that calls OpenSSL (libcrypto EVP).
 *
 * A security association (SA) has a send half and a receive half, each
 * with its own algorithms and key. Frames are ESP-like:
 *   SPI(4, BE) | SEQ(4, BE) | IV | ciphertext(payload|pad 1..p|p|0) | ICV
 * A datagram whose first big-endian word is below 256 (or shorter than 8
 * bytes) is plaintext and never goes through an SA.
 *
 * Nothing here allocates per packet or blocks. Keys are wiped
 * (OPENSSL_cleanse) when replaced or cleared. Functions return 0 / a
 * length on success and a negative errno value on failure.
 */
#ifndef RPC_SEC_H
#define RPC_SEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* IANA IKEv2 transform ids, as on the wire in INIT2/INIT3. */
enum {
    SEC_AUTH_NONE = 0,
    SEC_AUTH_AES_XCBC_96 = 9,
    SEC_ENCR_NULL = 11,
    SEC_ENCR_AES_CBC = 12,
    SEC_ENCR_AES_CCM_8 = 14,
    SEC_ENCR_AES_CCM_12 = 15,
    SEC_ENCR_AES_CCM_16 = 16,
};

#define SEC_VERSION 1            /* SECURE_VERSION */
#define SEC_KDF_ITERATIONS 10000 /* SECURE_PBKDF_ITERATIONS */
#define SEC_BOOTSTRAP_KEYLEN 48  /* XCBC key 16 + AES-256-CBC key 32 */
#define SEC_MAX_FRAME 4500       /* largest datagram sent or accepted */
#define SEC_MAX_OVERHEAD 64      /* frame bytes beyond the payload, at most */
#define SEC_REPLAY_WINDOW 64     /* packets (F20: not sizeof(long)) */

/* One direction's algorithm state (opaque; owns EVP contexts and keys). */
struct sec_half;

struct sec_sa {
    /* send half */
    uint32_t peer_spi;   /* written as SPI of every frame sent */
    uint32_t peer_seq;   /* last SEQ sent; pre-incremented; 0 = none yet */
    uint8_t send_iv[16]; /* IV counter, randomised when a key is set */
    struct sec_half *send;
    /* receive half */
    uint32_t recv_seq;   /* highest SEQ accepted */
    uint64_t recv_win;   /* bit d set: SEQ recv_seq - d seen */
    struct sec_half *recv;
};

/* Process-wide set-up: runs the known-answer self-tests of section 3.16.1
 * (AES ECB vectors, RFC 3602 CBC, RFC 4434 PRF) once. verbose prints the
 * results to stderr. 0, or -EIO if a self-test fails (OpenSSL broken). */
int sec_init(int verbose);

/* Random bytes from OpenSSL's CSPRNG (RAND_bytes). 0 or -EIO. */
int sec_random(void *buf, size_t len);

/* Constant-time comparison (CRYPTO_memcmp): 1 if equal. */
int sec_equal(const void *a, const void *b, size_t len);

/* Wipes len bytes (OPENSSL_cleanse). */
void sec_wipe(void *p, size_t len);

/* AES-XCBC-MAC (RFC 3566, correct also for an empty message) with a
 * 16-byte key; 16-byte result. 0 or -EIO. */
int sec_xcbc_mac(const uint8_t key[16], const void *msg, size_t len,
                 uint8_t out[16]);
/* AES-XCBC-PRF-128 (RFC 4434): any key length. 0 or -EIO. */
int sec_xcbc_prf(const void *key, size_t keylen, const void *msg, size_t len,
                 uint8_t out[16]);

/* The bootstrap key of section 3.10 exactly as Coda computes it (K1): P is
 * the 8-byte shared secret, salt = XRandom(4) || BE32(Uniquefier). Costs
 * four PRF calls, not 30,000. 0 or -EIO. */
int sec_bootstrap_key(const uint8_t secret[8], const uint8_t salt[8],
                      uint8_t key[SEC_BOOTSTRAP_KEYLEN]);

/* Installs algorithms and key material on one half of sa (reference 3.3:
 * integrity key first, the cipher's after it when the blob is long
 * enough). auth = SEC_AUTH_NONE or SEC_AUTH_AES_XCBC_96; encr =
 * SEC_ENCR_AES_CBC or SEC_ENCR_AES_CCM_8/12/16 (NULL cipher refused).
 * version is the negotiated SECURE_VERSION: 0 is refused with -ENOTSUP.
 * Setting the send half randomises send_iv; peer_seq and the replay state
 * carry on across key changes. 0, -EINVAL (unknown id, bad key length),
 * -ENOTSUP, -ENOMEM, -EIO. */
int sec_set_send(struct sec_sa *sa, int version, int auth, int encr,
                 const uint8_t *key, size_t keylen);
int sec_set_recv(struct sec_sa *sa, int version, int auth, int encr,
                 const uint8_t *key, size_t keylen);

/* The bootstrap SA half: XCBC-MAC-96 with key[0..15], AES-256-CBC with
 * key[16..47]. */
int sec_set_send_bootstrap(struct sec_sa *sa, const uint8_t key[48]);
int sec_set_recv_bootstrap(struct sec_sa *sa, const uint8_t key[48]);

/* Frees and wipes both halves and zeroes the whole SA. */
void sec_clear(struct sec_sa *sa);

/* Key length (bytes, salt included for CCM) for a preferred size pref
 * (0 = default) clamped to encr's range (CCM 19..35, CBC 16..32). */
size_t sec_session_keylen(int encr, size_t pref);

/* Wraps payload (len bytes, len >= 4, first word < 256) into a frame in
 * out (room outcap). Uses sa->send; increments peer_seq and the IV counter.
 * Returns the frame length, -ENOKEY (no send half), -EPIPE (sequence
 * number would wrap to 0), -EMSGSIZE (frame > SEC_MAX_FRAME or outcap). */
ssize_t sec_seal(struct sec_sa *sa, const void *payload, size_t len,
                 uint8_t *out, size_t outcap);

/* The SPI of a received datagram, or 0 if it is plaintext (shorter than 8
 * bytes or first big-endian word < 256). */
uint32_t sec_frame_spi(const uint8_t *dgram, size_t len);

/* Checks and decrypts a frame with sa->recv into out (room outcap):
 * anti-replay check, ICV/tag check in constant time, padding check, then
 * the window update. out must not overlap frame. Returns the payload
 * length, or -ENOKEY (no receive half: F7, drop), -EBADMSG (malformed,
 * bad ICV/tag or padding), -EALREADY (replayed or older than the window),
 * -EMSGSIZE (payload > outcap). The SA is unchanged on any failure. */
ssize_t sec_open(struct sec_sa *sa, const uint8_t *frame, size_t len,
                 uint8_t *out, size_t outcap);

#endif /* RPC_SEC_H */
