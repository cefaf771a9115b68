/* SPDX-License-Identifier: MIT */
/*
 * bench_rpc_sec: what rpc2sec costs per packet and per bind.
 *
 *   ./bench_rpc_sec [--quick]
 *
 * Figures (median of 7 runs): ns for one sec_seal + sec_open of a 64-byte
 * payload with the session SA (AES-128-CCM-8) and with the bootstrap SA
 * (AES-256-CBC + XCBC-MAC-96), and of a 1,400-byte payload with CCM-8; ns
 * for one bootstrap key derivation; and the one-off costs of OpenSSL's
 * first use, of sec_init's self-tests and of the NIST Monte-Carlo ECB rows
 * sec_init leaves out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bench_util.h"
#include "rpc_sec.h"

#define RUNS 7

static struct sec_sa tx, rx;
static uint8_t payload[1400], frame[SEC_MAX_FRAME], out[SEC_MAX_FRAME];
static size_t payload_len;

static void die(const char *what, long rc)
{
    fprintf(stderr, "bench_rpc_sec: %s failed (%ld)\n", what, rc);
    exit(1);
}

static void pair_ccm8(void)
{
    static const uint8_t key[19] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                    11, 12, 13, 14, 15, 16, 17, 18, 19};
    sec_clear(&tx);
    sec_clear(&rx);
    tx.peer_spi = 0x12345;
    int rc = sec_set_send(&tx, 1, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key, 19);
    if (rc == 0) {
        rc = sec_set_recv(&rx, 1, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8, key, 19);
    }
    if (rc) {
        die("sec_set_*", rc);
    }
}

static void pair_bootstrap(void)
{
    uint8_t key[SEC_BOOTSTRAP_KEYLEN] = {42};

    sec_clear(&tx);
    sec_clear(&rx);
    tx.peer_spi = 0x12345;
    if (sec_set_send_bootstrap(&tx, key) || sec_set_recv_bootstrap(&rx, key)) {
        die("sec_set_*_bootstrap", -1);
    }
}

/* The sequence numbers restart each run so the SA never runs out. */
static double seal_open(long n)
{
    tx.peer_seq = 0;
    rx.recv_seq = 0;
    rx.recv_win = 0;
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        ssize_t f = sec_seal(&tx, payload, payload_len, frame, sizeof frame);
        ssize_t p = sec_open(&rx, frame, (size_t)f, out, sizeof out);
        if (p != (ssize_t)payload_len) {
            die("seal/open", (long)p);
        }
    }
    return (bench_now_ns() - t0) / (double)n;
}

static double kdf(long n)
{
    uint8_t secret[8] = "secret!!", salt[8] = {1, 2, 3, 4}, key[48];

    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        salt[7] = (uint8_t)i;
        if (sec_bootstrap_key(secret, salt, key)) {
            die("sec_bootstrap_key", i);
        }
    }
    return (bench_now_ns() - t0) / (double)n;
}

/* The 24 Monte-Carlo rows: 240,000 chained single-block EVP calls. */
static double monte_carlo(long n)
{
    const EVP_CIPHER *c[3] = {EVP_aes_128_ecb(), EVP_aes_192_ecb(),
                              EVP_aes_256_ecb()};
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t key[32] = {0}, blk[16] = {0};
    int len;

    double t0 = bench_now_ns();
    for (long r = 0; r < n; r++) {
        for (int k = 0; k < 3; k++) {
            for (int enc = 0; enc < 2; enc++) {
                for (int row = 0; row < 4; row++) {
                    EVP_CipherInit_ex(ctx, c[k], NULL, key, NULL, enc);
                    EVP_CIPHER_CTX_set_padding(ctx, 0);
                    for (int j = 0; j < 10000; j++) {
                        EVP_CipherUpdate(ctx, blk, &len, blk, 16);
                    }
                    key[row] ^= blk[0];
                }
            }
        }
    }
    EVP_CIPHER_CTX_free(ctx);
    return (bench_now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
    long scale = argc > 1 && strcmp(argv[1], "--quick") == 0 ? 10 : 1;

    /* OpenSSL's own first-use cost (configuration, provider loading) is
     * paid by whichever call comes first; keep it out of sec_init's. */
    uint8_t key[16] = {0}, mac[16];
    double t0 = bench_now_ns();
    if (sec_random(key, sizeof key) || sec_xcbc_mac(key, key, 16, mac)) {
        die("first OpenSSL use", -1);
    }
    bench_print("openssl_first_use", (bench_now_ns() - t0) / 1e3, "us");
    t0 = bench_now_ns();
    if (sec_init(0)) {
        die("sec_init", -1);
    }
    bench_print("sec_init", (bench_now_ns() - t0) / 1e3, "us");

    struct bench_item ccm[] = {{seal_open, 200000 / scale, 0}};
    memset(payload, 0, sizeof payload);
    pair_ccm8();
    payload_len = 64;
    bench_group(ccm, 1, RUNS);
    bench_print("seal_open_ccm8_aes128_64B", ccm[0].ns, "ns");
    payload_len = sizeof payload;
    bench_group(ccm, 1, RUNS);
    bench_print("seal_open_ccm8_aes128_1400B", ccm[0].ns, "ns");

    pair_bootstrap();
    payload_len = 64;
    bench_group(ccm, 1, RUNS);
    bench_print("seal_open_cbc256_xcbc_64B", ccm[0].ns, "ns");
    sec_clear(&tx);
    sec_clear(&rx);

    struct bench_item k[] = {{kdf, 100000 / scale, 0},
                             {monte_carlo, 1, 0}};
    bench_group(k, 2, scale == 1 ? RUNS : 1);
    bench_print("bootstrap_key", k[0].ns, "ns");
    bench_print("ecb_monte_carlo_24_rows", k[1].ns / 1e6, "ms");
    return 0;
}
