/* SPDX-License-Identifier: MIT */
/*
 * The rpc2sec frame (reference 3.2, 3.7, 3.8):
 *   SPI | SEQ | IV | E(payload | 1 2 .. p | p | 0) | ICV
 * sealed with an SA's send half and opened with its receive half, and the
 * 64-packet anti-replay window (F20).
 *
 * Opening is ordered so that a frame changes nothing unless it is wholly
 * good: lengths against the datagram, then the window check (cheap, before
 * any crypto), then the ICV/tag, then the padding, and only then the
 * window update. Sealing commits the new SEQ and IV counter only after the
 * frame is built.
 */
#include "sec_internal.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#define SEC_HDR 8 /* SPI + SEQ */

_Static_assert(SEC_REPLAY_WINDOW == 64, "the window is one uint64_t");
/* Largest overhead: CBC's IV and MAC-96, 15 pad bytes and the 2-byte
 * trailer (53; CCM-16 is 49). */
_Static_assert(SEC_HDR + SEC_CBC_IVLEN + (SEC_BLOCK - 1) + 2 +
                       SEC_XCBC_ICVLEN <= SEC_MAX_OVERHEAD,
               "SEC_MAX_OVERHEAD");

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* Big-endian increment of the first n bytes of c. */
static void counter_inc(uint8_t *c, size_t n)
{
    while (n-- > 0 && ++c[n] == 0) {
    }
}

uint32_t sec_frame_spi(const uint8_t *dgram, size_t len)
{
    if (len < SEC_HDR) {
        return 0;
    }
    uint32_t spi = get_be32(dgram);
    return spi < 256 ? 0 : spi;
}

/* ---- Sealing ---- */

/* Payload, trailer (2 bytes) and the least padding that makes a whole
 * number of AES blocks. */
static size_t cipher_len(size_t payload)
{
    return (payload + 2 + SEC_BLOCK - 1) / SEC_BLOCK * SEC_BLOCK;
}

static void put_trailer(uint8_t *pt, size_t len, size_t clen)
{
    size_t pad = clen - len - 2;

    for (size_t i = 0; i < pad; i++) {
        pt[len + i] = (uint8_t)(i + 1);
    }
    pt[clen - 2] = (uint8_t)pad;
    pt[clen - 1] = 0; /* next header */
}

ssize_t sec_seal(struct sec_sa *sa, const void *payload, size_t len,
                 uint8_t *out, size_t outcap)
{
    struct sec_half *h = sa->send;

    if (!h) {
        return -ENOKEY;
    }
    if (sa->peer_seq == UINT32_MAX) {
        return -EPIPE; /* no re-keying: the SA is used up */
    }
    if (len > SEC_MAX_FRAME) {
        return -EMSGSIZE;
    }
    size_t clen = cipher_len(len);
    size_t flen = SEC_HDR + h->iv_len + clen + h->icv_len;
    if (flen > SEC_MAX_FRAME || flen > outcap) {
        return -EMSGSIZE;
    }
    uint8_t counter[sizeof sa->send_iv];
    memcpy(counter, sa->send_iv, sizeof counter);
    counter_inc(counter, h->iv_len);
    uint32_t seq = sa->peer_seq + 1;

    uint8_t *pt = out + SEC_HDR + h->iv_len;
    if (len) {
        memmove(pt, payload, len); /* the caller may build in place */
    }
    put_trailer(pt, len, clen);
    put_be32(out, sa->peer_spi);
    put_be32(out + 4, seq);
    int rc = sec__half_seal(h, counter, out, clen);
    if (rc < 0) {
        return rc;
    }
    memcpy(sa->send_iv, counter, sizeof counter);
    sa->peer_seq = seq;
    return (ssize_t)flen;
}

/* ---- Anti-replay (3.7) ---- */

/* Distance of seq behind the newest accepted; negative when newer. The
 * unsigned difference read as signed is the modular distance Coda uses. */
static int32_t replay_distance(const struct sec_sa *sa, uint32_t seq)
{
    return (int32_t)(sa->recv_seq - seq);
}

static int replay_check(const struct sec_sa *sa, uint32_t seq)
{
    int32_t d = replay_distance(sa, seq);

    /* No sender uses 0 (the first SEQ is 1); without this a fresh SA,
     * whose window is empty, would take a forged 0 once. */
    if (seq == 0) {
        return -EALREADY;
    }
    if (d < 0) {
        return seq < sa->recv_seq ? -EALREADY : 0; /* ahead, but wrapped */
    }
    if (d >= SEC_REPLAY_WINDOW || (sa->recv_win >> d & 1)) {
        return -EALREADY;
    }
    return 0;
}

static void replay_update(struct sec_sa *sa, uint32_t seq)
{
    int32_t d = replay_distance(sa, seq);

    if (d < 0) {
        uint32_t shift = seq - sa->recv_seq;
        sa->recv_win = shift >= SEC_REPLAY_WINDOW ? 0 : sa->recv_win << shift;
        sa->recv_seq = seq;
        d = 0;
    }
    sa->recv_win |= (uint64_t)1 << d;
}

/* ---- Opening ---- */

/* The payload length, or -EBADMSG if the trailer is not one we build:
 * next header 0, pad length within the data, pad bytes 1, 2, .., p. */
static ssize_t check_trailer(const uint8_t *pt, size_t clen)
{
    size_t pad = pt[clen - 2];

    if (pt[clen - 1] != 0 || pad > clen - 2) {
        return -EBADMSG;
    }
    size_t len = clen - 2 - pad;
    uint8_t bad = 0;
    for (size_t i = 0; i < pad; i++) {
        bad |= pt[len + i] ^ (uint8_t)(i + 1);
    }
    return bad ? -EBADMSG : (ssize_t)len;
}

/* Decrypted data goes straight to the caller's buffer when it has room
 * for the padded plaintext; only when it is smaller than that (but maybe
 * big enough for the payload) is this used. Per thread, so that several
 * runtimes, one per OS thread, can open frames at once. */
static _Thread_local uint8_t open_scratch[SEC_MAX_FRAME];

ssize_t sec_open(struct sec_sa *sa, const uint8_t *frame, size_t len,
                 uint8_t *out, size_t outcap)
{
    struct sec_half *h = sa->recv;

    if (!h) {
        return -ENOKEY; /* F7: an SA without a receive context drops */
    }
    size_t over = SEC_HDR + h->iv_len + h->icv_len;
    if (len > SEC_MAX_FRAME || len < over + SEC_BLOCK) {
        return -EBADMSG;
    }
    /* A whole number of blocks; for CBC this also puts the MAC-96 at a
     * 4-byte-aligned offset, as Coda's receiver requires. */
    size_t clen = len - over;
    if (clen % SEC_BLOCK != 0) {
        return -EBADMSG;
    }
    uint32_t seq = get_be32(frame + 4);
    int rc = replay_check(sa, seq);
    if (rc < 0) {
        return rc;
    }
    uint8_t *pt = clen <= outcap ? out : open_scratch;
    rc = sec__half_open(h, frame, clen, pt);
    ssize_t plen = rc < 0 ? rc : check_trailer(pt, clen);
    if (plen >= 0 && (size_t)plen > outcap) {
        plen = -EMSGSIZE;
    }
    if (pt == open_scratch) {
        if (plen > 0) {
            memcpy(out, pt, (size_t)plen);
        }
        OPENSSL_cleanse(open_scratch, clen);
    }
    if (plen >= 0) {
        replay_update(sa, seq);
    }
    return plen;
}
