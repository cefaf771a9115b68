/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for rpc2sec's receive path (rpc/sec_frame.c,
 * sec_cipher.c, sec_xcbc.c). Each input is
 *   - a datagram: sec_frame_spi, then sec_open against a session SA
 *     (AES-128-CCM-8) and a bootstrap SA (AES-256-CBC + XCBC-MAC-96), into
 *     a full buffer and into one of half the input's size (the other copy
 *     path), and once more to see a replay refused;
 *   - a payload: sealed and opened again with both SAs, which must give it
 *     back byte for byte;
 *   - a padded plaintext, trailer included: sealed as is by the internal
 *     sealer (so the frame is authentic whatever its trailer holds) and
 *     opened, which must accept exactly the well-formed trailers.
 * Any broken invariant aborts, which libFuzzer reports as a crash.
 *
 * The keys are those of the reference's framed-packet vectors (3.16.4), so
 * those two frames are real seeds. Built with -DFUZZ_SEC_OPEN_SEEDS it is
 * instead a program writing the seed corpus into the directory it is given:
 *   clang -DFUZZ_SEC_OPEN_SEEDS -Irpc -Iinclude tests/fuzz/fuzz_sec_open.c \
 *         rpc/sec_*.c -lcrypto -o gen && ./gen tests/fuzz/corpus/sec_open
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_sec.h"
#include "sec_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sec_sa session, bootstrap;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz_sec_open: %s (line %d)\n", #cond,          \
                    __LINE__);                                               \
            abort();                                                         \
        }                                                                    \
    } while (0)

static void setup(void)
{
    /* 3.16.4: a0..b2, and the OPENKIMONO bootstrap key of 3.16.3. */
    static const uint8_t zero_secret[8];
    static const uint8_t salt[8] = {1, 2, 3, 4, 0, 0, 0, 42};
    uint8_t ccm_key[19], boot_key[SEC_BOOTSTRAP_KEYLEN];

    for (int i = 0; i < 19; i++) {
        ccm_key[i] = (uint8_t)(0xa0 + i);
    }
    CHECK(sec_init(0) == 0);
    CHECK(sec_bootstrap_key(zero_secret, salt, boot_key) == 0);
    CHECK(sec_set_send(&session, 1, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8,
                       ccm_key, sizeof ccm_key) == 0);
    CHECK(sec_set_recv(&session, 1, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8,
                       ccm_key, sizeof ccm_key) == 0);
    CHECK(sec_set_send_bootstrap(&bootstrap, boot_key) == 0);
    CHECK(sec_set_recv_bootstrap(&bootstrap, boot_key) == 0);
    session.peer_spi = 0x12345678;
    bootstrap.peer_spi = 0x00012345;
}

/* Every input starts from the same SA state, so runs are reproducible. */
static void reset(struct sec_sa *sa, uint8_t iv_low)
{
    sa->peer_seq = 0;
    memset(sa->send_iv, 0, sizeof sa->send_iv);
    sa->send_iv[sa == &session ? 7 : 15] = iv_low;
    sa->recv_seq = 0;
    sa->recv_win = 0;
}

static void open_datagram(struct sec_sa *sa, const uint8_t *data, size_t size)
{
    static uint8_t out[SEC_MAX_FRAME];
    struct sec_sa before = *sa;

    ssize_t r = sec_open(sa, data, size, out, sizeof out);
    CHECK(r == -EBADMSG || r == -EALREADY || (r >= 0 && (size_t)r < size));
    if (r < 0) {
        CHECK(memcmp(&before, sa, sizeof before) == 0);
        return;
    }
    CHECK(sec_open(sa, data, size, out, sizeof out) == -EALREADY);

    /* Again from the old window, into exactly half the input's size. */
    *sa = before;
    size_t cap = size / 2;
    uint8_t *small = malloc(cap ? cap : 1);
    CHECK(small);
    ssize_t r2 = sec_open(sa, data, size, small, cap);
    if ((size_t)r <= cap) {
        CHECK(r2 == r && memcmp(small, out, (size_t)r) == 0);
    } else {
        CHECK(r2 == -EMSGSIZE && memcmp(&before, sa, sizeof before) == 0);
    }
    free(small);
}

static void round_trip(struct sec_sa *sa, const uint8_t *data, size_t size)
{
    static uint8_t frame[SEC_MAX_FRAME], out[SEC_MAX_FRAME];
    size_t len = size < SEC_MAX_FRAME - SEC_MAX_OVERHEAD
                     ? size
                     : SEC_MAX_FRAME - SEC_MAX_OVERHEAD;

    ssize_t n = sec_seal(sa, data, len, frame, sizeof frame);
    CHECK(n > 0 && (size_t)n > len && sec_frame_spi(frame, (size_t)n) ==
                                          sa->peer_spi);
    CHECK(sec_open(sa, frame, (size_t)n, out, sizeof out) == (ssize_t)len);
    CHECK(len == 0 || memcmp(out, data, len) == 0);
}

/* What sec_open must make of an authentic plaintext pt (clen bytes). */
static ssize_t expected_payload(const uint8_t *pt, size_t clen)
{
    size_t pad = pt[clen - 2];

    if (pt[clen - 1] != 0 || pad > clen - 2) {
        return -EBADMSG;
    }
    for (size_t i = 0; i < pad; i++) {
        if (pt[clen - 2 - pad + i] != i + 1) {
            return -EBADMSG;
        }
    }
    return (ssize_t)(clen - 2 - pad);
}

static void raw_trip(struct sec_sa *sa, const uint8_t *data, size_t size)
{
    static uint8_t frame[SEC_MAX_FRAME], out[SEC_MAX_FRAME];
    static const uint8_t counter[16] = {[7] = 1, [15] = 1};
    size_t clen = size / SEC_BLOCK * SEC_BLOCK;
    size_t limit = SEC_MAX_FRAME - SEC_MAX_OVERHEAD;

    clen = clen < limit ? clen : limit / SEC_BLOCK * SEC_BLOCK;
    if (clen == 0) {
        return;
    }
    memcpy(frame, "\x12\x34\x56\x78\0\0\0\1", 8);
    memcpy(frame + 8 + sa->send->iv_len, data, clen);
    CHECK(sec__half_seal(sa->send, counter, frame, clen) == 0);
    size_t n = 8 + sa->send->iv_len + clen + sa->send->icv_len;
    ssize_t want = expected_payload(data, clen);
    ssize_t got = sec_open(sa, frame, n, out, sizeof out);
    CHECK(got == want);
    CHECK(want < 0 || memcmp(out, data, (size_t)want) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;

    if (!ready) {
        setup();
        ready = true;
    }
    uint32_t spi = sec_frame_spi(data, size);
    CHECK(spi == 0 || spi >= 256);
    struct sec_sa *sas[2] = {&session, &bootstrap};
    for (int i = 0; i < 2; i++) {
        reset(sas[i], 0x10);
        open_datagram(sas[i], data, size);
        reset(sas[i], 0x10);
        round_trip(sas[i], data, size);
        reset(sas[i], 0x10);
        raw_trip(sas[i], data, size);
    }
    return 0;
}

#ifdef FUZZ_SEC_OPEN_SEEDS
static void write_seed(const char *dir, const char *name, const void *p,
                       size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(p, 1, len, f) == len && fclose(f) == 0);
}

/* Seals payloads of a few sizes with both SAs (the 60-byte ones are the
 * reference's frames), plus a plaintext RPC2-looking datagram and a padded
 * plaintext with a good trailer. */
int main(int argc, char **argv)
{
    static uint8_t payload[1400], frame[SEC_MAX_FRAME];
    static const size_t sizes[] = {60, 4, 300, 1400};
    const char *dir = argc > 1 ? argv[1] : ".";

    setup();
    for (size_t i = 0; i < sizeof payload; i++) {
        payload[i] = (uint8_t)i;
    }
    payload[1] = payload[2] = 0;
    payload[3] = 8;
    struct sec_sa *sas[2] = {&session, &bootstrap};
    const char *names[2] = {"ccm8", "bootstrap"};
    for (int s = 0; s < 2; s++) {
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            char name[64];
            reset(sas[s], s == 0 ? 0x10 : 0);
            ssize_t n = sec_seal(sas[s], payload, sizes[k], frame,
                                 sizeof frame);
            CHECK(n > 0);
            snprintf(name, sizeof name, "%s_%zu", names[s], sizes[k]);
            write_seed(dir, name, frame, (size_t)n);
        }
    }
    write_seed(dir, "plaintext_60", payload, 60);
    /* A well-formed padded plaintext for raw_trip: 20 bytes, pad 1..10. */
    for (int i = 0; i < 10; i++) {
        payload[20 + i] = (uint8_t)(i + 1);
    }
    payload[30] = 10;
    payload[31] = 0;
    write_seed(dir, "trailer_32", payload, 32);
    sec_clear(&session);
    sec_clear(&bootstrap);
    return 0;
}
#endif
