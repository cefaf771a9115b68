/* SPDX-License-Identifier: MIT */
/*
 * rpc2sec (rpc/sec_*.c): the reference's test vectors (section 3.16), the
 * anti-replay window (3.7), tamper and malformed-frame rejection, round
 * trips for every algorithm and key size, and the set-up error codes.
 * Pure computation: no sockets, no LWPs.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <rpc2/secure.h>

#include "rpc_sec.h"
#include "sec_internal.h"

/* ---- Helpers ---- */

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;

    while (*hex) {
        if (*hex == ' ' || *hex == '\n') {
            hex++;
            continue;
        }
        unsigned v;
        cr_assert(sscanf(hex, "%2x", &v) == 1, "bad hex near %s", hex);
        cr_assert(n < cap, "hex longer than %zu bytes", cap);
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

static void assert_hex(const uint8_t *got, size_t len, const char *hex)
{
    uint8_t want[256];
    size_t n = unhex(hex, want, sizeof want);

    cr_assert_eq(n, len, "length %zu, expected %zu", len, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(got[i], want[i], "byte %zu: %02x, expected %02x", i,
                     got[i], want[i]);
    }
}

static void fill_seq(uint8_t *p, size_t len, uint8_t first)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)(first + i);
    }
}

/* One block (or a multiple) through an EVP cipher without padding. */
static void evp_run(const EVP_CIPHER *c, int enc, const uint8_t *key,
                    const uint8_t *iv, const uint8_t *in, size_t len,
                    uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;

    cr_assert(ctx);
    cr_assert(EVP_CipherInit_ex(ctx, c, NULL, key, iv, enc));
    EVP_CIPHER_CTX_set_padding(ctx, 0);
    cr_assert(EVP_CipherUpdate(ctx, out, &n, in, (int)len));
    cr_assert_eq((size_t)n, len);
    EVP_CIPHER_CTX_free(ctx);
}

/* An SA pair with the same key for sender and receiver. */
struct pair {
    struct sec_sa tx, rx;
};

static void pair_init(struct pair *p, int auth, int encr, const uint8_t *key,
                      size_t keylen)
{
    memset(p, 0, sizeof *p);
    p->tx.peer_spi = 0x1234;
    cr_assert_eq(sec_set_send(&p->tx, 1, auth, encr, key, keylen), 0);
    cr_assert_eq(sec_set_recv(&p->rx, 1, auth, encr, key, keylen), 0);
}

static void pair_clear(struct pair *p)
{
    sec_clear(&p->tx);
    sec_clear(&p->rx);
}

static const uint8_t key35[35] = {
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
    0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32};
static uint8_t key48[48];

static void setup_keys(void)
{
    fill_seq(key48, sizeof key48, 0x40);
    cr_assert_eq(sec_init(0), 0);
}

TestSuite(rpc_sec, .init = setup_keys, .timeout = 60);

/* ---- 3.16.1: start-up vectors ---- */

Test(rpc_sec, init_selftests_pass_and_are_cached)
{
    cr_assert_eq(sec_init(1), 0);
    cr_assert_eq(sec_init(0), 0);
}

static const EVP_CIPHER *ecb(int size)
{
    return size == 0 ? EVP_aes_128_ecb()
                     : size == 1 ? EVP_aes_192_ecb() : EVP_aes_256_ecb();
}

Test(rpc_sec, aes_ecb_variable_text_and_key)
{
    static const char *vt[3] = {"3ad78e726c1ec02b7ebfe92b23d9ec34",
                                "6cd02513e8d4dc986b4afe087a60bd0c",
                                "ddc6bf790c15760d8d9aeb6f9a75fd4e"};
    static const char *vt_row4[3] = {"f5569b3ab6a6d11efde1bf0a64c6854a",
                                     "c636e35b402577f96974d8804295ebb8",
                                     "73376fbbf654d0686e0e84001477106b"};
    static const char *vk[3] = {"0edd33d3c621e546455bd8ba1418bec8",
                                "de885dc87f5a92594082d02cc1e1b42c",
                                "e35a6dcb19b201a01ebcfa8aa22b5759"};
    static const char *vk_row4[3] = {"6b1e2fffe8a114009d8fe22f6db5f876",
                                     "c4495d39d4a553b225fba02a7b1b87e1",
                                     "e7396d778e940b8418a86120e5f421fe"};
    for (int size = 0; size < 3; size++) {
        uint8_t zero[32] = {0}, bit[32] = {0}, out[16];
        bit[0] = 0x80;
        evp_run(ecb(size), 1, zero, NULL, bit, 16, out);
        assert_hex(out, 16, vt[size]);
        evp_run(ecb(size), 1, bit, NULL, zero, 16, out);
        assert_hex(out, 16, vk[size]);
        bit[0] = 0x10;
        evp_run(ecb(size), 1, zero, NULL, bit, 16, out);
        assert_hex(out, 16, vt_row4[size]);
        evp_run(ecb(size), 1, bit, NULL, zero, 16, out);
        assert_hex(out, 16, vk_row4[size]);
    }
}

/* NIST Monte-Carlo ECB: 10,000 chained blocks per row; the next row's key
 * is XORed with the last key-length bits of the chain. */
static void monte_carlo(int size, int enc, const char *const want[4])
{
    size_t klen = 16 + 8 * (size_t)size;
    uint8_t key[32] = {0}, blk[16] = {0}, prev[16] = {0};
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

    for (int row = 0; row < 4; row++) {
        int n;
        cr_assert(EVP_CipherInit_ex(ctx, ecb(size), NULL, key, NULL, enc));
        EVP_CIPHER_CTX_set_padding(ctx, 0);
        for (int j = 0; j < 10000; j++) {
            memcpy(prev, blk, 16);
            cr_assert(EVP_CipherUpdate(ctx, blk, &n, prev, 16));
        }
        assert_hex(blk, 16, want[row]);
        uint8_t chain[32];
        memcpy(chain, prev, 16);
        memcpy(chain + 16, blk, 16);
        for (size_t i = 0; i < klen; i++) {
            key[i] ^= chain[32 - klen + i];
        }
    }
    EVP_CIPHER_CTX_free(ctx);
}

Test(rpc_sec, aes_ecb_monte_carlo)
{
    static const char *const e[3][4] = {
        {"c34c052cc0da8d73451afe5f03be297f", "0ac15a9afbb24d54ad99e987208272e2",
         "a3d43bffa65d0e80092f67a314857870", "355f697e8b868b65b25a04e18d782afa"},
        {"f3f6752ae8d7831138f041560631b114", "77ba00ed5412dff27c8ed91f3c376172",
         "2d92de893574463412bd7d121a94952f", "96650f835912f5e748422727802c6ce1"},
        {"8b79eecc93a0ee5dff30b4ea21636da4", "c737317fe0846f132b23c8c2a672ce22",
         "e58b82bfba53c0040dc610c642121168", "10b296abb40504995db71dda0b7e26fb"},
    };
    static const char *const d[3][4] = {
        {"44416ac2d1f53c583303917e6be9ebe0", "e3fd51123b48a2e2ab1db29894202222",
         "877b88a77aef04f05546539e17259f53", "c7a71c1b46261602eb1ee48fda8155a4"},
        {"48e31e9e256718f29229319c19f15ba4", "cc01684be9b29ed01ea7923e7d2380aa",
         "8726b4e66d6b8fbaa22d42981a5a40cc", "83b9a21a0710fdb9c603797613772ed6"},
        {"058ccffdbbcb382d1f6f56585d8a4ade", "15173a0eb65f5cc05e704efe61d9e346",
         "85f083acc676d91edd1abfb43935237a", "42c8f0abc58e0beac32911d2dd9fa8c8"},
    };
    for (int size = 0; size < 3; size++) {
        monte_carlo(size, 1, e[size]);
        monte_carlo(size, 0, d[size]);
    }
}

Test(rpc_sec, aes_cbc_rfc3602)
{
    static const struct {
        const char *key, *iv, *text;
        int first;
        size_t len;
        const char *ct;
    } c[] = {
        {"06a9214036b8a15b512e03d534120006", "3dafba429d9eb430b422da802c9fac41",
         "Single block msg", 0, 16, "e353779c1079aeb82708942dbe77181a"},
        {"c286696d887c9aa0611bbb3e2025a45a", "562e17996d093d28ddb3ba695a2e6f58",
         NULL, 0x00, 32,
         "d296cd94c2cccf8a3a863028b5e1dc0a 7586602d253cfff91b8266bea6d61ab1"},
        {"6c3ea0477630ce21a2ce334aa746c2cd", "c782dc4c098c66cbd9cd27d825682c81",
         "This is a 48-byte message (exactly 3 AES blocks)", 0, 48,
         "d0a02b3836451753d493665d33f0e886 2dea54cdb293abc7506939276772f8d5"
         "021c19216bad525c8579695d83ba2684"},
        {"56e47a38c5598974bc46903dba290349", "8ce82eefbea0da3c44699ed7db51b7d9",
         NULL, 0xa0, 64,
         "c30e32ffedc0774e6aff6af0869f71aa 0f3af07a9a31a9c684db207eb0ef8e4e"
         "35907aa632c3ffdf868bb7b29d3d46ad 83ce9f9a102ee99d49a53e87f4c3da55"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint8_t key[16], iv[16], pt[64], out[64], back[64];
        unhex(c[i].key, key, 16);
        unhex(c[i].iv, iv, 16);
        if (c[i].text) {
            memcpy(pt, c[i].text, c[i].len);
        } else {
            fill_seq(pt, c[i].len, (uint8_t)c[i].first);
        }
        evp_run(EVP_aes_128_cbc(), 1, key, iv, pt, c[i].len, out);
        assert_hex(out, c[i].len, c[i].ct);
        evp_run(EVP_aes_128_cbc(), 0, key, iv, out, c[i].len, back);
        cr_assert_arr_eq(back, pt, c[i].len);
    }
}

Test(rpc_sec, aes_cbc_sp800_38a)
{
    static const char *pt_hex =
        "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51"
        "30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710";
    static const struct {
        const char *key, *ct;
    } c[] = {
        {"2b7e151628aed2a6abf7158809cf4f3c",
         "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2"
         "73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7"},
        {"8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
         "4f021db243bc633d7178183a9fa071e8 b4d9ada9ad7dedf4e5e738763f69145a"
         "571b242012fb7ae07fa9baac3df102e0 08b0e27988598881d920a9e64f5615cd"},
        {"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
         "f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d"
         "39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b"},
    };
    const EVP_CIPHER *cbc[3] = {EVP_aes_128_cbc(), EVP_aes_192_cbc(),
                                EVP_aes_256_cbc()};
    uint8_t pt[64], iv[16], key[32], out[64];

    unhex(pt_hex, pt, sizeof pt);
    fill_seq(iv, 16, 0);
    for (int i = 0; i < 3; i++) {
        unhex(c[i].key, key, sizeof key);
        evp_run(cbc[i], 1, key, iv, pt, 64, out);
        assert_hex(out, 64, c[i].ct);
    }
}

Test(rpc_sec, xcbc_prf_rfc4434)
{
    uint8_t key[18], msg[20], out[16];

    fill_seq(key, 16, 0);
    key[16] = 0xed;
    key[17] = 0xcb;
    fill_seq(msg, sizeof msg, 0);
    cr_assert_eq(sec_xcbc_prf(key, 16, msg, 20, out), 0);
    assert_hex(out, 16, "47f51b4564966215b8985c63055ed308");
    cr_assert_eq(sec_xcbc_prf(key, 10, msg, 20, out), 0);
    assert_hex(out, 16, "0fa087af7d866e7653434e602fdde835");
    cr_assert_eq(sec_xcbc_prf(key, 18, msg, 20, out), 0);
    assert_hex(out, 16, "8cd3c93ae598a9803006ffb67c40e9e4");
}

/* ---- 3.16.2: RFC 3566, including the empty message Coda gets wrong ---- */

Test(rpc_sec, xcbc_mac_rfc3566)
{
    static const struct {
        size_t len;
        const char *mac;
    } c[] = {
        {0, "75f0251d528ac01c4573dfd584d79f29"},
        {3, "5b376580ae2f19afe7219ceef172756f"},
        {16, "d2a246fa349b68a79998a4394ff7a263"},
        {20, "47f51b4564966215b8985c63055ed308"},
        {32, "f54f0ec8d2b9f3d36807734bd5283fd4"},
        {34, "becbb3bccdb518a30677d5481fb6b4d8"},
    };
    uint8_t key[16], msg[34], out[16];
    static uint8_t zeros[1000];

    fill_seq(key, 16, 0);
    fill_seq(msg, sizeof msg, 0);
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        cr_assert_eq(sec_xcbc_mac(key, msg, c[i].len, out), 0);
        assert_hex(out, 16, c[i].mac);
    }
    cr_assert_eq(sec_xcbc_mac(key, NULL, 0, out), 0);
    assert_hex(out, 16, "75f0251d528ac01c4573dfd584d79f29");
    cr_assert_eq(sec_xcbc_mac(key, zeros, sizeof zeros, out), 0);
    assert_hex(out, 16, "f0dafee895db30253761103b5d84528f");
}

/* ---- 3.16.3: the bootstrap key as Coda derives it ---- */

static const uint8_t kdf_salt[8] = {1, 2, 3, 4, 0, 0, 0, 42};
static const char *openkimono_k =
    "a2bfc60c38326f26e8a184e8af8eee8a a48e29e2a373fb9dd500ec13fd37b6bc"
    "d14e48e298dcee3d8540719a8663f19e";

Test(rpc_sec, kdf_openkimono_secret)
{
    static const uint8_t secret[8], zeros[16];
    uint8_t in[12], u1[16], z[16], key[SEC_BOOTSTRAP_KEYLEN];

    memcpy(in, kdf_salt, 8);
    memcpy(in + 8, "\0\0\0\1", 4);
    cr_assert_eq(sec_xcbc_prf(secret, 8, in, 12, u1), 0);
    assert_hex(u1, 16, "83cdb245b450bc6545d6ecc7848296ae");
    cr_assert_eq(sec_xcbc_prf(secret, 8, zeros, 16, z), 0);
    assert_hex(z, 16, "217274498c62d343ad77682f2b0c7824");
    cr_assert_eq(sec_bootstrap_key(secret, kdf_salt, key), 0);
    assert_hex(key, sizeof key, openkimono_k);
}

Test(rpc_sec, kdf_shared_secret)
{
    uint8_t key[SEC_BOOTSTRAP_KEYLEN];

    cr_assert_eq(sec_bootstrap_key((const uint8_t *)"secret!!", kdf_salt, key),
                 0);
    assert_hex(key, sizeof key,
               "01d1d4ab9e5b25bcd0ca2bb7753912ed a9d23837ac1951baed6a4dd88903d7f1"
               "2f4dd88c1667e5a06d71471ffe2a1b81");
}

/* ---- 3.16.4: framed packets byte for byte ---- */

static void vector_payload(uint8_t p[60])
{
    fill_seq(p, 60, 0);
    p[1] = p[2] = 0;
    p[3] = 8; /* 00 00 00 08 04 05 .. 3b */
}

Test(rpc_sec, frame_vector_ccm8)
{
    uint8_t key[19], payload[60], frame[128], back[60];
    struct sec_sa tx = {0}, rx = {0};

    fill_seq(key, sizeof key, 0xa0);
    vector_payload(payload);
    cr_assert_eq(sec_set_send(&tx, 1, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key,
                              sizeof key), 0);
    tx.peer_spi = 0x12345678;
    memset(tx.send_iv, 0, sizeof tx.send_iv);
    tx.send_iv[7] = 0x10;
    cr_assert_eq(sec_seal(&tx, payload, 60, frame, sizeof frame), 88);
    assert_hex(frame, 88,
               "12345678 00000001 00000000 00000011 f2b14f1d 3d3aa72b 1aa8a078"
               "62a34b6b 30fa3661 fc9a3b7e dbbdb80c 95f13f52 bb35673c 6e9e9268"
               "75a42cfb b7615d1d 5ffef2ef 472cd0ec db87c4e7 17a7c3a3 20a63cf8"
               "31ef61d0");
    cr_assert_eq(tx.peer_seq, 1);
    cr_assert_eq(tx.send_iv[7], 0x11);

    cr_assert_eq(sec_set_recv(&rx, 1, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key,
                              sizeof key), 0);
    cr_assert_eq(sec_open(&rx, frame, 88, back, sizeof back), 60);
    cr_assert_arr_eq(back, payload, 60);
    cr_assert_eq(rx.recv_seq, 1);
    cr_assert_eq(rx.recv_win, 1);
    sec_clear(&tx);
    sec_clear(&rx);
}

Test(rpc_sec, frame_vector_bootstrap)
{
    static const uint8_t secret[8];
    uint8_t key[SEC_BOOTSTRAP_KEYLEN], payload[60], frame[128], back[64];
    struct sec_sa tx = {0}, rx = {0};

    cr_assert_eq(sec_bootstrap_key(secret, kdf_salt, key), 0);
    vector_payload(payload);
    cr_assert_eq(sec_set_send_bootstrap(&tx, key), 0);
    tx.peer_spi = 0x00012345;
    memset(tx.send_iv, 0, sizeof tx.send_iv);
    cr_assert_eq(sec_seal(&tx, payload, 60, frame, sizeof frame), 100);
    assert_hex(frame, 100,
               "00012345 00000001 1b8a6685 26227599 69cf2cde be80158e 73a17b47"
               "0c8971da e9f4dadb b1ff3256 0107e250 16da6af2 47260d7f 7eb705e6"
               "193e3d92 9ffe3656 67bf8dd4 64284b54 4a405722 daf5b42e 1bcbcb66"
               "f33812b3 c25b7c22 799f71b5 6c465b86");
    cr_assert_eq(tx.send_iv[15], 1);

    cr_assert_eq(sec_set_recv_bootstrap(&rx, key), 0);
    cr_assert_eq(sec_open(&rx, frame, 100, back, sizeof back), 60);
    cr_assert_arr_eq(back, payload, 60);
    sec_clear(&tx);
    sec_clear(&rx);
}

/* ---- Anti-replay (3.7) ---- */

/* Frames with SEQ 1..n from one sender. */
static uint8_t (*seal_seqs(struct pair *p, uint32_t n, size_t *flen))[128]
{
    uint8_t(*frames)[128] = calloc(n + 1, sizeof *frames);
    uint8_t payload[16] = {0, 0, 0, 8};

    for (uint32_t s = 1; s <= n; s++) {
        p->tx.peer_seq = s - 1;
        memcpy(payload + 4, &s, sizeof s);
        ssize_t r = sec_seal(&p->tx, payload, sizeof payload, frames[s], 128);
        cr_assert_gt(r, 0);
        *flen = (size_t)r;
    }
    return frames;
}

Test(rpc_sec, replay_reference_sequence)
{
    static const uint32_t arrivals[] = {1, 1, 6, 4, 4, 100, 37, 36, 35, 99};
    static const int expect[] = {16, -EALREADY, 16, 16, -EALREADY,
                                 16, 16, -EALREADY, -EALREADY, 16};
    struct pair p;
    size_t flen;
    uint8_t out[64];

    pair_init(&p, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key35, 19);
    uint8_t(*frames)[128] = seal_seqs(&p, 100, &flen);
    for (size_t i = 0; i < sizeof arrivals / sizeof arrivals[0]; i++) {
        ssize_t r = sec_open(&p.rx, frames[arrivals[i]], flen, out,
                             sizeof out);
        cr_assert_eq(r, expect[i], "arrival %zu (SEQ %u): %zd", i,
                     arrivals[i], r);
        if (r > 0) {
            cr_assert_eq(memcmp(out + 4, &arrivals[i], 4), 0);
        }
    }
    cr_assert_eq(p.rx.recv_seq, 100);
    free(frames);
    pair_clear(&p);
}

Test(rpc_sec, replay_reordering_within_window)
{
    struct pair p;
    size_t flen;
    uint8_t out[64];

    pair_init(&p, SEC_AUTH_AES_XCBC_96, SEC_ENCR_AES_CBC, key48, 32);
    uint8_t(*frames)[128] = seal_seqs(&p, 200, &flen);
    /* Newest first, then every older one of the window in any order. */
    cr_assert_eq(sec_open(&p.rx, frames[200], flen, out, sizeof out), 16);
    for (uint32_t s = 137; s < 200; s += 2) {
        cr_assert_eq(sec_open(&p.rx, frames[s], flen, out, sizeof out), 16,
                     "SEQ %u", s);
    }
    for (uint32_t s = 138; s < 200; s += 2) {
        cr_assert_eq(sec_open(&p.rx, frames[s], flen, out, sizeof out), 16,
                     "SEQ %u", s);
    }
    cr_assert_eq(p.rx.recv_win, UINT64_MAX);
    for (uint32_t s = 137; s <= 200; s++) {
        cr_assert_eq(sec_open(&p.rx, frames[s], flen, out, sizeof out),
                     -EALREADY, "SEQ %u replayed", s);
    }
    cr_assert_eq(sec_open(&p.rx, frames[136], flen, out, sizeof out),
                 -EALREADY, "64 behind is outside the window");
    free(frames);
    pair_clear(&p);
}

Test(rpc_sec, replay_refuses_seq_zero_and_wrapped)
{
    struct pair p;
    uint8_t payload[8] = {0, 0, 0, 8}, frame[128], out[64];

    pair_init(&p, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key35, 19);
    p.tx.peer_seq = UINT32_MAX; /* next would be 0 */
    cr_assert_eq(sec_seal(&p.tx, payload, 8, frame, sizeof frame), -EPIPE);
    p.tx.peer_seq = 0x0fffffff;
    ssize_t n = sec_seal(&p.tx, payload, 8, frame, sizeof frame);
    cr_assert_gt(n, 0);
    /* 0x10000000 is "newer" than 0x90000000 only by wrapping around. */
    p.rx.recv_seq = 0x90000000;
    cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, sizeof out),
                 -EALREADY);
    p.rx.recv_seq = 0x0fffff00;
    cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, sizeof out), 8);
    cr_assert_eq(p.rx.recv_seq, 0x10000000);

    /* A forged SEQ 0 on a fresh SA is refused before any crypto. */
    p.rx.recv_seq = 0;
    p.rx.recv_win = 0;
    memset(frame + 4, 0, 4);
    cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, sizeof out),
                 -EALREADY);
    pair_clear(&p);
}

Test(rpc_sec, seal_stops_before_the_sequence_wraps)
{
    struct pair p;
    uint8_t payload[8] = {0, 0, 0, 8}, frame[128], iv[16];

    pair_init(&p, SEC_AUTH_AES_XCBC_96, SEC_ENCR_AES_CBC, key48, 48);
    p.tx.peer_seq = UINT32_MAX - 1;
    cr_assert_gt(sec_seal(&p.tx, payload, 8, frame, sizeof frame), 0);
    cr_assert_eq(p.tx.peer_seq, UINT32_MAX);
    cr_assert_eq(memcmp(frame + 4, "\xff\xff\xff\xff", 4), 0);
    memcpy(iv, p.tx.send_iv, 16);
    cr_assert_eq(sec_seal(&p.tx, payload, 8, frame, sizeof frame), -EPIPE);
    cr_assert_eq(p.tx.peer_seq, UINT32_MAX);
    cr_assert_arr_eq(p.tx.send_iv, iv, 16);
    pair_clear(&p);
}

/* ---- Tampering: every single-bit flip is refused, the SA unchanged ---- */

static void flip_every_bit(int auth, int encr, const uint8_t *key,
                           size_t keylen)
{
    struct pair p;
    uint8_t payload[64], frame[256], out[128];

    fill_seq(payload, sizeof payload, 0);
    pair_init(&p, auth, encr, key, keylen);
    /* Open one frame first so the window is not empty. */
    ssize_t n = sec_seal(&p.tx, payload, sizeof payload, frame, sizeof frame);
    cr_assert_gt(n, 0);
    cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, sizeof out), 64);
    n = sec_seal(&p.tx, payload, sizeof payload, frame, sizeof frame);
    struct sec_sa before = p.rx;
    for (size_t bit = 0; bit < (size_t)n * 8; bit++) {
        uint8_t *bad = malloc((size_t)n);
        memcpy(bad, frame, (size_t)n);
        bad[bit / 8] ^= (uint8_t)(1u << bit % 8);
        ssize_t r = sec_open(&p.rx, bad, (size_t)n, out, sizeof out);
        bool in_seq = bit / 8 >= 4 && bit / 8 < 8;
        cr_assert(r == -EBADMSG || (in_seq && r == -EALREADY),
                  "bit %zu: %zd", bit, r);
        cr_assert_eq(memcmp(&p.rx, &before, sizeof before), 0,
                     "bit %zu changed the SA", bit);
        free(bad);
    }
    cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, sizeof out), 64);
    cr_assert_arr_eq(out, payload, 64);
    pair_clear(&p);
}

Test(rpc_sec, bit_flips_rejected_ccm)
{
    flip_every_bit(SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key35, 19);
    flip_every_bit(SEC_AUTH_NONE, SEC_ENCR_AES_CCM_16, key35, 35);
}

Test(rpc_sec, bit_flips_rejected_cbc_xcbc)
{
    flip_every_bit(SEC_AUTH_AES_XCBC_96, SEC_ENCR_AES_CBC, key48, 48);
}

/* ---- Malformed frames ---- */

Test(rpc_sec, open_without_receive_half_is_enokey)
{
    struct sec_sa sa = {0};
    uint8_t frame[64] = {0, 0, 1, 0, 0, 0, 0, 1}, out[64];

    cr_assert_eq(sec_open(&sa, frame, sizeof frame, out, sizeof out),
                 -ENOKEY);
    cr_assert_eq(sec_seal(&sa, frame, 8, out, sizeof out), -ENOKEY);
}

/* Every prefix of a good frame, in a buffer of exactly its length (so ASan
 * sees any read past it), is refused and changes nothing. */
static void truncations(int auth, int encr, const uint8_t *key, size_t len)
{
    struct pair p;
    uint8_t payload[40] = {0, 0, 0, 8}, frame[128], out[128];

    pair_init(&p, auth, encr, key, len);
    ssize_t n = sec_seal(&p.tx, payload, sizeof payload, frame, sizeof frame);
    cr_assert_gt(n, 0);
    for (size_t cut = 0; cut < (size_t)n; cut++) {
        uint8_t *t = malloc(cut ? cut : 1);
        memcpy(t, frame, cut);
        cr_assert_eq(sec_open(&p.rx, t, cut, out, sizeof out), -EBADMSG,
                     "%zu of %zd bytes", cut, n);
        free(t);
    }
    cr_assert_eq(p.rx.recv_seq, 0);
    /* Longer than sent: the tag/ICV is read from the wrong place. */
    uint8_t *longer = malloc((size_t)n + 16);
    memcpy(longer, frame, (size_t)n);
    memset(longer + n, 0, 16);
    for (size_t extra = 1; extra <= 16; extra++) {
        cr_assert_eq(sec_open(&p.rx, longer, (size_t)n + extra, out,
                              sizeof out), -EBADMSG, "+%zu bytes", extra);
    }
    free(longer);
    cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, sizeof out), 40);
    pair_clear(&p);
}

Test(rpc_sec, truncated_and_padded_frames_rejected)
{
    truncations(SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key35, 19);
    truncations(SEC_AUTH_NONE, SEC_ENCR_AES_CCM_12, key35, 27);
    truncations(SEC_AUTH_AES_XCBC_96, SEC_ENCR_AES_CBC, key48, 32);
}

Test(rpc_sec, xcbc_icv_must_be_aligned)
{
    struct pair p;
    uint8_t payload[20] = {0, 0, 0, 8}, frame[128], out[64];

    pair_init(&p, SEC_AUTH_AES_XCBC_96, SEC_ENCR_AES_CBC, key48, 48);
    ssize_t n = sec_seal(&p.tx, payload, sizeof payload, frame, sizeof frame);
    cr_assert_eq(n, 8 + 16 + 32 + 12);
    /* Two bytes more before the ICV: it would start at offset 58. */
    uint8_t shifted[128];
    memcpy(shifted, frame, 56);
    shifted[56] = shifted[57] = 0;
    memcpy(shifted + 58, frame + 56, 12);
    cr_assert_eq(sec_open(&p.rx, shifted, 70, out, sizeof out), -EBADMSG);
    cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, sizeof out), 20);
    pair_clear(&p);
}

Test(rpc_sec, oversized_datagram_rejected)
{
    struct pair p;
    static uint8_t big[SEC_MAX_FRAME + 16], out[SEC_MAX_FRAME];

    pair_init(&p, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key35, 19);
    memcpy(big, "\0\0\x12\x34\0\0\0\1", 8);
    cr_assert_eq(sec_open(&p.rx, big, SEC_MAX_FRAME + 16, out, sizeof out),
                 -EBADMSG);
    pair_clear(&p);
}

/* A frame authentic under the key but with a trailer the sealer never
 * writes: built with the internal sealer, which signs whatever it is
 * given. clen = 32, payload area 30 bytes. */
static ssize_t seal_raw(struct pair *p, const uint8_t pt[32], uint8_t *frame)
{
    uint8_t counter[16] = {0};
    struct sec_half *h = p->tx.send;

    counter[7] = 1;
    counter[15] = 1;
    memcpy(frame, "\0\0\x12\x34\0\0\0\1", 8);
    memcpy(frame + 8 + h->iv_len, pt, 32);
    cr_assert_eq(sec__half_seal(h, counter, frame, 32), 0);
    return (ssize_t)(8 + h->iv_len + 32 + h->icv_len);
}

static void bad_trailers(int auth, int encr, const uint8_t *key, size_t len)
{
    struct pair p;
    uint8_t pt[32], frame[128], out[64];

    pair_init(&p, auth, encr, key, len);
    /* Control: a correct trailer (payload 20, pad 1..10, 10, 0) opens. */
    fill_seq(pt, 20, 0x30);
    fill_seq(pt + 20, 10, 1);
    pt[30] = 10;
    pt[31] = 0;
    ssize_t n = seal_raw(&p, pt, frame);
    cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, sizeof out), 20);
    p.rx.recv_seq = 0;
    p.rx.recv_win = 0;

    struct {
        size_t at;
        uint8_t value;
        const char *what;
    } cases[] = {
        {31, 1, "next header 1"},     {31, 0xff, "next header 255"},
        {30, 31, "pad length > data"}, {30, 255, "pad length 255"},
        {20, 2, "first pad byte"},     {29, 0, "last pad byte"},
        {25, 7, "middle pad byte"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t bad[32];
        memcpy(bad, pt, 32);
        bad[cases[i].at] = cases[i].value;
        n = seal_raw(&p, bad, frame);
        cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, sizeof out),
                     -EBADMSG, "%s", cases[i].what);
        cr_assert_eq(p.rx.recv_seq, 0, "%s", cases[i].what);
        cr_assert_eq(p.rx.recv_win, 0, "%s", cases[i].what);
    }
    /* Pad length 30 = all of the data: an empty payload is well-formed. */
    fill_seq(pt, 30, 1);
    pt[30] = 30;
    n = seal_raw(&p, pt, frame);
    cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, sizeof out), 0);
    pair_clear(&p);
}

Test(rpc_sec, bad_padding_and_next_header_rejected)
{
    bad_trailers(SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key35, 19);
    bad_trailers(SEC_AUTH_AES_XCBC_96, SEC_ENCR_AES_CBC, key48, 48);
}

Test(rpc_sec, open_into_small_buffers)
{
    struct pair p;
    uint8_t payload[100], frame[256];

    fill_seq(payload, sizeof payload, 7);
    pair_init(&p, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key35, 19);
    ssize_t n = sec_seal(&p.tx, payload, 100, frame, sizeof frame);
    cr_assert_eq(n, 8 + 8 + 112 + 8);
    /* 99 bytes: too small, and the window does not move. */
    uint8_t *out = malloc(100);
    cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, 99), -EMSGSIZE);
    cr_assert_eq(p.rx.recv_seq, 0);
    /* Exactly the payload (less than the padded plaintext) is enough. */
    cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, 100), 100);
    cr_assert_arr_eq(out, payload, 100);
    free(out);
    pair_clear(&p);
}

Test(rpc_sec, seal_size_limits)
{
    static uint8_t payload[SEC_MAX_FRAME], frame[SEC_MAX_FRAME + 64];
    struct pair p;

    pair_init(&p, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key35, 19);
    /* CCM-8: 24 bytes around a ciphertext of whole blocks <= 4476. */
    size_t max = 4464 - 2;
    cr_assert_eq(sec_seal(&p.tx, payload, max, frame, sizeof frame), 4488);
    cr_assert_eq(sec_seal(&p.tx, payload, max + 1, frame, sizeof frame),
                 -EMSGSIZE);
    cr_assert_eq(sec_seal(&p.tx, payload, 60, frame, 87), -EMSGSIZE);
    cr_assert_eq(sec_seal(&p.tx, payload, 60, frame, 88), 88);
    cr_assert_eq(sec_seal(&p.tx, payload, SIZE_MAX, frame, sizeof frame),
                 -EMSGSIZE);
    cr_assert_eq(p.tx.peer_seq, 2, "failed seals use no SEQ");
    pair_clear(&p);
}

/* ---- Round trips, key sizes, key split ---- */

/* Decrypts a CCM frame with plain EVP, to prove which AES key size and
 * which salt bytes the SA used. */
static void check_ccm_by_hand(const uint8_t *frame, size_t n,
                              const EVP_CIPHER *c, const uint8_t *aes_key,
                              const uint8_t salt[3], size_t m,
                              const uint8_t *payload, size_t len)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t nonce[11], pt[4600];
    size_t clen = n - 16 - m;
    int l;

    memcpy(nonce, salt, 3);
    memcpy(nonce + 3, frame + 8, 8);
    cr_assert(EVP_DecryptInit_ex(ctx, c, NULL, NULL, NULL));
    cr_assert(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 11, NULL));
    cr_assert(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)m,
                                  (void *)(frame + n - m)));
    cr_assert(EVP_DecryptInit_ex(ctx, NULL, NULL, aes_key, nonce));
    cr_assert(EVP_DecryptUpdate(ctx, NULL, &l, NULL, (int)clen));
    cr_assert(EVP_DecryptUpdate(ctx, NULL, &l, frame, 8));
    cr_assert_gt(EVP_DecryptUpdate(ctx, pt, &l, frame + 16, (int)clen), 0,
                 "tag by hand");
    cr_assert_arr_eq(pt, payload, len);
    EVP_CIPHER_CTX_free(ctx);
}

static void round_trips(int auth, int encr, const uint8_t *key, size_t keylen,
                        size_t icv)
{
    static uint8_t payload[4400], frame[SEC_MAX_FRAME], out[SEC_MAX_FRAME];
    struct pair p;
    size_t iv = encr == SEC_ENCR_AES_CBC ? 16 : 8;

    fill_seq(payload, sizeof payload, 3);
    pair_init(&p, auth, encr, key, keylen);
    for (size_t len = 4; len <= 4400; len += len < 80 ? 1 : 173) {
        ssize_t n = sec_seal(&p.tx, payload, len, frame, sizeof frame);
        size_t clen = (len + 2 + 15) / 16 * 16;
        cr_assert_eq(n, (ssize_t)(8 + iv + clen + icv), "len %zu", len);
        cr_assert_eq(memcmp(frame, "\0\0\x12\x34", 4), 0);
        cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, sizeof out),
                     (ssize_t)len, "len %zu", len);
        cr_assert_arr_eq(out, payload, len);
    }
    ssize_t n = sec_seal(&p.tx, payload, 4400, frame, sizeof frame);
    if (encr != SEC_ENCR_AES_CBC) {
        size_t aes = keylen - 3;
        const EVP_CIPHER *c = aes >= 32 ? EVP_aes_256_ccm()
                              : aes >= 24 ? EVP_aes_192_ccm()
                                          : EVP_aes_128_ccm();
        check_ccm_by_hand(frame, (size_t)n, c, key, key + keylen - 3, icv,
                          payload, 4400);
    } else {
        /* The cipher key follows the XCBC key when both fit (3.3). */
        const uint8_t *ck = keylen >= 32 ? key + 16 : key;
        size_t cl = keylen >= 32 ? keylen - 16 : keylen;
        const EVP_CIPHER *c = cl >= 32 ? EVP_aes_256_cbc()
                              : cl >= 24 ? EVP_aes_192_cbc()
                                         : EVP_aes_128_cbc();
        evp_run(c, 0, ck, frame + 8, frame + 24, 4400, out);
        cr_assert_arr_eq(out, payload, 4400);
        uint8_t mac[16];
        cr_assert_eq(sec_xcbc_mac(key, frame, (size_t)n - 12, mac), 0);
        cr_assert_arr_eq(mac, frame + n - 12, 12);
    }
    pair_clear(&p);
}

Test(rpc_sec, round_trips_ccm, .timeout = 120)
{
    static const int encr[] = {SEC_ENCR_AES_CCM_8, SEC_ENCR_AES_CCM_12,
                               SEC_ENCR_AES_CCM_16};
    static const size_t keylen[] = {19, 27, 35, 20};
    for (int e = 0; e < 3; e++) {
        for (int k = 0; k < 4; k++) {
            round_trips(SEC_AUTH_NONE, encr[e], key35, keylen[k],
                        8 + 4 * (size_t)e);
        }
    }
}

Test(rpc_sec, round_trips_cbc_xcbc, .timeout = 120)
{
    /* 16+16/24/32 bytes, and a 16- or 24-byte blob both keys share. */
    static const size_t keylen[] = {32, 40, 48, 16, 24};
    for (int k = 0; k < 5; k++) {
        round_trips(SEC_AUTH_AES_XCBC_96, SEC_ENCR_AES_CBC, key48, keylen[k],
                    12);
    }
}

Test(rpc_sec, send_iv_is_a_counter)
{
    struct pair p;
    uint8_t payload[8] = {0, 0, 0, 8}, frame[128];

    pair_init(&p, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key35, 19);
    memset(p.tx.send_iv, 0, 8);
    p.tx.send_iv[6] = 0x01;
    p.tx.send_iv[7] = 0xff;
    cr_assert_gt(sec_seal(&p.tx, payload, 8, frame, sizeof frame), 0);
    assert_hex(frame + 8, 8, "0000000000000200");
    memset(p.tx.send_iv, 0xff, 8);
    cr_assert_gt(sec_seal(&p.tx, payload, 8, frame, sizeof frame), 0);
    assert_hex(frame + 8, 8, "0000000000000000");
    pair_clear(&p);
}

/* ---- Set-up ---- */

Test(rpc_sec, session_keylen_clamps)
{
    cr_assert_eq(sec_session_keylen(SEC_ENCR_AES_CCM_8, 0), 19);
    cr_assert_eq(sec_session_keylen(SEC_ENCR_AES_CCM_12, 10), 19);
    cr_assert_eq(sec_session_keylen(SEC_ENCR_AES_CCM_16, 27), 27);
    cr_assert_eq(sec_session_keylen(SEC_ENCR_AES_CCM_8, 35), 35);
    cr_assert_eq(sec_session_keylen(SEC_ENCR_AES_CCM_8, 1000), 35);
    cr_assert_eq(sec_session_keylen(SEC_ENCR_AES_CBC, 0), 16);
    cr_assert_eq(sec_session_keylen(SEC_ENCR_AES_CBC, 24), 24);
    cr_assert_eq(sec_session_keylen(SEC_ENCR_AES_CBC, 35), 32);
    cr_assert_eq(sec_session_keylen(SEC_ENCR_NULL, 19), 0);
    cr_assert_eq(sec_session_keylen(99, 19), 0);
}

Test(rpc_sec, set_error_codes)
{
    struct sec_sa sa = {0};
    const int none = SEC_AUTH_NONE, xcbc = SEC_AUTH_AES_XCBC_96;

    cr_assert_eq(sec_set_send(&sa, 0, none, SEC_ENCR_AES_CCM_8, key35, 19),
                 -ENOTSUP);
    cr_assert_eq(sec_set_recv(&sa, 0, none, SEC_ENCR_AES_CCM_8, key35, 19),
                 -ENOTSUP);
    cr_assert_eq(sec_set_recv(&sa, 2, none, SEC_ENCR_AES_CCM_8, key35, 19),
                 -EINVAL);
    cr_assert_eq(sec_set_recv(&sa, 1, 5, SEC_ENCR_AES_CCM_8, key35, 19),
                 -EINVAL);
    cr_assert_eq(sec_set_recv(&sa, 1, none, 13, key35, 19), -EINVAL);
    cr_assert_eq(sec_set_send(&sa, 1, none, SEC_ENCR_NULL, key35, 19),
                 -EINVAL);
    cr_assert_eq(sec_set_send(&sa, 1, xcbc, SEC_ENCR_NULL, key35, 19),
                 -EINVAL);
    cr_assert_eq(sec_set_send(&sa, 1, none, SEC_ENCR_AES_CBC, key35, 16),
                 -EINVAL, "CBC without integrity");
    cr_assert_eq(sec_set_send(&sa, 1, xcbc, SEC_ENCR_AES_CCM_8, key35, 35),
                 -EINVAL, "XCBC over CCM is not a Coda combination");
    cr_assert_eq(sec_set_send(&sa, 1, none, SEC_ENCR_AES_CCM_8, key35, 18),
                 -EINVAL);
    cr_assert_eq(sec_set_send(&sa, 1, xcbc, SEC_ENCR_AES_CBC, key48, 15),
                 -EINVAL);
    cr_assert_eq(sec_set_recv(&sa, 1, none, SEC_ENCR_AES_CCM_8, NULL, 19),
                 -EINVAL);
    cr_assert_null(sa.send);
    cr_assert_null(sa.recv);
    cr_assert_eq(sec_set_send(&sa, 1, xcbc, SEC_ENCR_AES_CBC, key48, 16), 0);
    cr_assert_eq(sec_set_recv(&sa, 1, none, SEC_ENCR_AES_CCM_16, key35, 35),
                 0);
    sec_clear(&sa);
}

Test(rpc_sec, failed_set_keeps_the_old_key)
{
    struct pair p;
    uint8_t payload[8] = {0, 0, 0, 8}, frame[128], out[64], iv[16];

    pair_init(&p, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key35, 19);
    struct sec_half *send = p.tx.send, *recv = p.rx.recv;
    memcpy(iv, p.tx.send_iv, 16);
    cr_assert_eq(sec_set_send(&p.tx, 1, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8,
                              key35, 3), -EINVAL);
    cr_assert_eq(sec_set_recv(&p.rx, 0, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8,
                              key35, 19), -ENOTSUP);
    cr_assert_eq(p.tx.send, send);
    cr_assert_eq(p.rx.recv, recv);
    cr_assert_arr_eq(p.tx.send_iv, iv, 16);
    ssize_t n = sec_seal(&p.tx, payload, 8, frame, sizeof frame);
    cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, sizeof out), 8);
    pair_clear(&p);
}

/* The thread's keyed contexts are shared: two SAs taking turns get their
 * own keys each time, and a half freed and reallocated (very likely at
 * the same address) with another key is never served the old schedule
 * through the owner shortcut. */
Test(rpc_sec, shared_contexts_serve_each_half_its_own_key)
{
    struct pair a, b;
    uint8_t key_b[35], payload[8] = {0, 0, 0, 8}, frame[128], out[64];

    memcpy(key_b, key35, sizeof key_b);
    key_b[0] ^= 0xff;
    pair_init(&a, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key35, 19);
    pair_init(&b, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key_b, 19);
    for (int i = 0; i < 3; i++) {
        ssize_t n = sec_seal(&a.tx, payload, 8, frame, sizeof frame);
        cr_assert_eq(sec_open(&a.rx, frame, (size_t)n, out, sizeof out), 8);
        cr_assert_eq(sec_open(&b.rx, frame, (size_t)n, out, sizeof out),
                     -EBADMSG, "b's key does not open a's frame");
        cr_assert(sec__ctx_of(SEC_SLOT_CCM_ENC, a.tx.send->owner));
        n = sec_seal(&b.tx, payload, 8, frame, sizeof frame);
        cr_assert_eq(sec_open(&b.rx, frame, (size_t)n, out, sizeof out), 8);
        cr_assert_null(sec__ctx_of(SEC_SLOT_CCM_ENC, a.tx.send->owner),
                       "b took the slot: a is checked by its key again");
        cr_assert_null(sec__ctx_of(SEC_SLOT_CCM_ENC, 0));
    }
    /* a's send half is replaced twice without sealing in between: the
     * second replacement most likely gets the first half's memory, with a
     * third key, while the thread's context was last keyed for that half. */
    uint8_t key_c[35];
    struct pair c;
    struct sec_half *first = a.tx.send;
    memcpy(key_c, key35, sizeof key_c);
    key_c[1] ^= 0xff;
    pair_init(&c, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key_c, 19);
    cr_assert_eq(sec_set_send(&a.tx, 1, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8,
                              key_b, 19), 0);
    cr_assert_eq(sec_set_send(&a.tx, 1, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8,
                              key_c, 19), 0);
    cr_assert_neq(a.tx.send->owner, b.tx.send->owner);
    cr_assert_neq(a.tx.send->owner, c.tx.send->owner);
    cr_log_info("memory %s reused", a.tx.send == first ? "was" : "was not");
    ssize_t n = sec_seal(&a.tx, payload, 8, frame, sizeof frame);
    cr_assert_eq(sec_open(&a.rx, frame, (size_t)n, out, sizeof out), -EBADMSG);
    cr_assert_eq(sec_open(&c.rx, frame, (size_t)n, out, sizeof out), 8);
    pair_clear(&c);
    pair_clear(&a);
    pair_clear(&b);
}

Test(rpc_sec, rekey_keeps_sequence_and_window)
{
    struct pair p;
    uint8_t payload[8] = {0, 0, 0, 8}, frame[128], out[64], iv[16];

    pair_init(&p, SEC_AUTH_AES_XCBC_96, SEC_ENCR_AES_CBC, key48, 48);
    ssize_t n = sec_seal(&p.tx, payload, 8, frame, sizeof frame);
    cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, sizeof out), 8);
    memcpy(iv, p.tx.send_iv, 16);
    cr_assert_eq(sec_set_send(&p.tx, 1, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8,
                              key35, 19), 0);
    cr_assert_eq(sec_set_recv(&p.rx, 1, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8,
                              key35, 19), 0);
    cr_assert_neq(memcmp(p.tx.send_iv, iv, 16), 0, "IV counter redrawn");
    n = sec_seal(&p.tx, payload, 8, frame, sizeof frame);
    cr_assert_eq(memcmp(frame + 4, "\0\0\0\2", 4), 0);
    cr_assert_eq(sec_open(&p.rx, frame, (size_t)n, out, sizeof out), 8);
    cr_assert_eq(p.rx.recv_seq, 2);
    cr_assert_eq(p.rx.recv_win, 3);
    pair_clear(&p);
}

Test(rpc_sec, clear_zeroes_and_repeats)
{
    struct pair p;

    pair_init(&p, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key35, 19);
    p.tx.peer_seq = 5;
    pair_clear(&p);
    struct sec_sa zero = {0};
    cr_assert_eq(memcmp(&p.tx, &zero, sizeof zero), 0);
    cr_assert_eq(memcmp(&p.rx, &zero, sizeof zero), 0);
    pair_clear(&p);
}

Test(rpc_sec, frame_spi)
{
    const uint8_t plain[8] = {0, 0, 0, 255, 1, 2, 3, 4};
    const uint8_t low[8] = {0, 0, 1, 0, 1, 2, 3, 4};
    const uint8_t high[8] = {0x12, 0x34, 0x56, 0x78};

    cr_assert_eq(sec_frame_spi(plain, 8), 0);
    cr_assert_eq(sec_frame_spi(low, 8), 256);
    cr_assert_eq(sec_frame_spi(low, 7), 0);
    cr_assert_eq(sec_frame_spi(high, 8), 0x12345678);
    cr_assert_eq(sec_frame_spi(NULL, 0), 0);
}

/* ---- Utilities and <rpc2/secure.h> ---- */

Test(rpc_sec, compare_random_wipe)
{
    uint8_t a[32], b[32];

    cr_assert_eq(secure_compare("token", 5, "token", 5), 1);
    cr_assert_eq(secure_compare("tokem", 5, "token", 5), 0);
    cr_assert_eq(secure_compare("token", 4, "token", 5), 0);
    cr_assert_eq(secure_compare("tokenX", 6, "token", 5), 0);
    cr_assert_eq(secure_compare("", 0, "", 0), 1);
    cr_assert_eq(sec_equal("abc", "abc", 3), 1);
    cr_assert_eq(sec_equal("abc", "abd", 3), 0);
    secure_random_bytes(a, sizeof a);
    cr_assert_eq(sec_random(b, sizeof b), 0);
    cr_assert_neq(memcmp(a, b, sizeof a), 0);
    cr_assert_eq(sec_random(b, 0), 0);
    sec_wipe(a, sizeof a);
    memset(b, 0, sizeof b);
    cr_assert_arr_eq(a, b, sizeof a);
    cr_assert_eq(SECURE_VERSION, 1);
    cr_assert_eq(SECURE_PBKDF_ITERATIONS, 10000);
    cr_assert_eq(SECURE_ENCR_AES_CCM_8, 14);
    cr_assert_eq(SECURE_AUTH_AES_XCBC_96, 9);
}
