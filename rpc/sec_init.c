/* SPDX-License-Identifier: MIT */
/*
 * rpc2sec start-up and small utilities: the known-answer self-tests Coda
 * runs at start-up (reference 3.16.1), the CSPRNG, constant-time compare
 * and wiping, and the public <rpc2/secure.h> calls built on them.
 *
 * The self-tests are the AES ECB variable-text and variable-key rows, the
 * RFC 3602 CBC cases and the RFC 4434 PRF vectors: a few dozen AES blocks,
 * microseconds. The Monte-Carlo ECB rows (10,000 chained blocks each) are
 * left to the unit tests; they check AES itself, which OpenSSL already
 * tests, at a cost of milliseconds per process.
 */
#include "sec_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <rpc2/secure.h>

_Static_assert(SECURE_VERSION == SEC_VERSION, "secure.h and rpc_sec.h");
_Static_assert(SECURE_PBKDF_ITERATIONS == SEC_KDF_ITERATIONS, "");
_Static_assert(SECURE_ENCR_NULL == SEC_ENCR_NULL &&
                   SECURE_ENCR_AES_CBC == SEC_ENCR_AES_CBC &&
                   SECURE_ENCR_AES_CCM_8 == SEC_ENCR_AES_CCM_8 &&
                   SECURE_ENCR_AES_CCM_12 == SEC_ENCR_AES_CCM_12 &&
                   SECURE_ENCR_AES_CCM_16 == SEC_ENCR_AES_CCM_16 &&
                   SECURE_AUTH_NONE == SEC_AUTH_NONE &&
                   SECURE_AUTH_AES_XCBC_96 == SEC_AUTH_AES_XCBC_96,
               "IANA ids");

/* ---- Utilities ---- */

int sec_random(void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        int n = len > INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(p, n) != 1) {
            return -EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int sec_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

void sec_wipe(void *p, size_t len)
{
    OPENSSL_cleanse(p, len);
}

void secure_random_bytes(void *buf, size_t len)
{
    /* Coda's signature cannot report a failure, and a key or handle from
     * a failed CSPRNG must never be used: stop. */
    if (sec_random(buf, len) < 0) {
        fputs("rpc2sec: RAND_bytes failed; refusing to continue\n", stderr);
        abort();
    }
}

int secure_compare(const void *user_data, size_t user_len,
                   const void *secret, size_t secret_len)
{
    /* The time depends on secret_len only: a wrong-length guess still
     * costs a full comparison (against the secret itself). */
    const void *probe = user_len == secret_len ? user_data : secret;
    int same = sec_equal(probe, secret, secret_len);

    return same & (user_len == secret_len);
}

/* ---- Self-tests (3.16.1) ---- */

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;

    for (; hex[0] && hex[1] && n < cap; hex += 2) {
        unsigned v;
        if (sscanf(hex, "%2x", &v) != 1) {
            break;
        }
        out[n++] = (uint8_t)v;
    }
    return n;
}

static int aes_run(const EVP_CIPHER *c, bool enc, const uint8_t *key,
                   const uint8_t *iv, const uint8_t *in, size_t len,
                   uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    int ok = ctx && EVP_CipherInit_ex(ctx, c, NULL, key, iv, enc) &&
             EVP_CIPHER_CTX_set_padding(ctx, 0) &&
             EVP_CipherUpdate(ctx, out, &n, in, (int)len) && n == (int)len;

    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -EIO;
}

/* First four rows per key size; row r sets bit r (MSB first) of the
 * plaintext (vt) or of the key (vk). */
static const char *const ecb_vt[3][4] = {
    {"3ad78e726c1ec02b7ebfe92b23d9ec34", "45bc707d29e8204d88dfba2f0b0cad9b",
     "161556838018f52805cdbd6202002e3f", "f5569b3ab6a6d11efde1bf0a64c6854a"},
    {"6cd02513e8d4dc986b4afe087a60bd0c", "423d2772a0ca56daabb48d2129062987",
     "1021f2a8da70eb2219dc16804445ff98", "c636e35b402577f96974d8804295ebb8"},
    {"ddc6bf790c15760d8d9aeb6f9a75fd4e", "c7098c217c334d0c9bdf37ea13b0822c",
     "60f0fb0d4c56a8d4eefec5264204042d", "73376fbbf654d0686e0e84001477106b"},
};
static const char *const ecb_vk[3][4] = {
    {"0edd33d3c621e546455bd8ba1418bec8", "c0cc0c5da5bd63acd44a80774fad5222",
     "2f0b4b71bc77851b9ca56d42eb8ff080", "6b1e2fffe8a114009d8fe22f6db5f876"},
    {"de885dc87f5a92594082d02cc1e1b42c", "c749194f94673f9dd2aa1932849630c1",
     "0cef643313912934d310297b90f56ecc", "c4495d39d4a553b225fba02a7b1b87e1"},
    {"e35a6dcb19b201a01ebcfa8aa22b5759", "5075c2405b76f22f553488cae47ce90b",
     "49df95d844a0145a7de01c91793302d3", "e7396d778e940b8418a86120e5f421fe"},
};

static const EVP_CIPHER *ecb_of(int size)
{
    return size == 0 ? EVP_aes_128_ecb()
                     : size == 1 ? EVP_aes_192_ecb() : EVP_aes_256_ecb();
}

static int ecb_selftest(void)
{
    for (int size = 0; size < 3; size++) {
        for (int row = 0; row < 4; row++) {
            uint8_t bit[32] = {0}, zero[32] = {0}, want[16], got[16];
            bit[0] = (uint8_t)(0x80 >> row);
            unhex(ecb_vt[size][row], want, sizeof want);
            if (aes_run(ecb_of(size), true, zero, NULL, bit, 16, got) < 0 ||
                memcmp(got, want, 16) != 0) {
                return -EIO;
            }
            unhex(ecb_vk[size][row], want, sizeof want);
            if (aes_run(ecb_of(size), true, bit, NULL, zero, 16, got) < 0 ||
                memcmp(got, want, 16) != 0) {
                return -EIO;
            }
        }
    }
    return 0;
}

/* RFC 3602 cases 1-4 (AES-128-CBC); plaintexts as text or byte ranges. */
static const struct {
    const char *key, *iv, *text;
    uint8_t first; /* when text is NULL: bytes first, first + 1, .. */
    size_t len;
    const char *ct;
} cbc_cases[] = {
    {"06a9214036b8a15b512e03d534120006", "3dafba429d9eb430b422da802c9fac41",
     "Single block msg", 0, 16, "e353779c1079aeb82708942dbe77181a"},
    {"c286696d887c9aa0611bbb3e2025a45a", "562e17996d093d28ddb3ba695a2e6f58",
     NULL, 0x00, 32,
     "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1"},
    {"6c3ea0477630ce21a2ce334aa746c2cd", "c782dc4c098c66cbd9cd27d825682c81",
     "This is a 48-byte message (exactly 3 AES blocks)", 0, 48,
     "d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5"
     "021c19216bad525c8579695d83ba2684"},
    {"56e47a38c5598974bc46903dba290349", "8ce82eefbea0da3c44699ed7db51b7d9",
     NULL, 0xa0, 64,
     "c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e"
     "35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55"},
};

static int cbc_selftest(void)
{
    for (size_t i = 0; i < sizeof cbc_cases / sizeof cbc_cases[0]; i++) {
        uint8_t key[16], iv[16], pt[64], want[64], got[64];
        size_t len = cbc_cases[i].len;
        unhex(cbc_cases[i].key, key, sizeof key);
        unhex(cbc_cases[i].iv, iv, sizeof iv);
        unhex(cbc_cases[i].ct, want, sizeof want);
        for (size_t j = 0; j < len; j++) {
            pt[j] = cbc_cases[i].text ? (uint8_t)cbc_cases[i].text[j]
                                      : (uint8_t)(cbc_cases[i].first + j);
        }
        if (aes_run(EVP_aes_128_cbc(), true, key, iv, pt, len, got) < 0 ||
            memcmp(got, want, len) != 0 ||
            aes_run(EVP_aes_128_cbc(), false, key, iv, want, len, got) < 0 ||
            memcmp(got, pt, len) != 0) {
            return -EIO;
        }
    }
    return 0;
}

/* RFC 4434: message 00..13, keys 00..0f of 16, 10 and 18 bytes (the last
 * two bytes of the long key are ed cb). */
static int prf_selftest(void)
{
    static const struct {
        size_t keylen;
        const char *out;
    } cases[] = {
        {16, "47f51b4564966215b8985c63055ed308"},
        {10, "0fa087af7d866e7653434e602fdde835"},
        {18, "8cd3c93ae598a9803006ffb67c40e9e4"},
    };
    uint8_t key[18], msg[20], want[16], got[16];

    for (size_t i = 0; i < sizeof key; i++) {
        key[i] = (uint8_t)i;
    }
    key[16] = 0xed;
    key[17] = 0xcb;
    for (size_t i = 0; i < sizeof msg; i++) {
        msg[i] = (uint8_t)i;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unhex(cases[i].out, want, sizeof want);
        if (sec_xcbc_prf(key, cases[i].keylen, msg, sizeof msg, got) < 0 ||
            memcmp(got, want, sizeof want) != 0) {
            return -EIO;
        }
    }
    return 0;
}

static int report(int verbose, const char *what, int rc)
{
    if (verbose) {
        fprintf(stderr, "rpc2sec: %s self-test %s\n", what,
                rc == 0 ? "passed" : "FAILED");
    }
    return rc;
}

int sec_init(int verbose)
{
    /* OpenSSL is process-wide, so is the verdict on it: run once. Two
     * threads racing here both run the tests and store the same result. */
    static _Atomic int state = 1; /* 1: not run yet; else the result */

    if (state == 1) {
        int rc = report(verbose, "AES ECB", ecb_selftest());
        rc |= report(verbose, "AES-CBC (RFC 3602)", cbc_selftest());
        rc |= report(verbose, "AES-XCBC-PRF-128 (RFC 4434)", prf_selftest());
        state = rc ? -EIO : 0;
    }
    return state;
}
