/* SPDX-License-Identifier: MIT */
/*
 * rpc_kv.h -- the key-value sample's protocol, shared by rpc_kv_server and
 * rpc_kv_client: subsystem, opcodes, limits, argument encodings and the key
 * file reader. Everything here is static inline so that each program is a
 * single source file.
 *
 * Requests and replies (bodies marshalled with <rpc2/pack_helper.h>):
 *   KV_GET   in:  string key            out: CountedBS value
 *   KV_PUT   in:  string key, CountedBS value          out: (empty)
 *   KV_DEL   in:  string key            out: (empty)
 *   KV_LIST  in:  string after ("" = from the first key)
 *            out: integer n, integer more (1: call again with the last
 *                 key as `after`), then n CountedBS keys in byte order
 * ReturnCode: 0, ENOENT (no such key), ENOSPC (store full), EINVAL (key or
 * value outside the limits), RPC2_BADDATA (body does not decode),
 * RPC2_INVALIDOPCODE (unknown opcode). Errno values travel through
 * RPC2_S2RError/RPC2_R2SError, so they mean the same on both hosts.
 */
#ifndef SAMPLES_RPC_KV_H
#define SAMPLES_RPC_KV_H

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rpc2/rpc2.h>
#include <rpc2/pack_helper.h>

#define KV_SUBSYS 4711 /* RPC2_SUBSYSBYID */

enum { KV_GET = 1, KV_PUT = 2, KV_DEL = 3, KV_LIST = 4 };

/* Limits of the store (the server enforces them, EINVAL/ENOSPC). */
#define KV_MAX_KEY 255    /* bytes in a key, at least 1, no NUL */
#define KV_MAX_VALUE 1024 /* bytes in a value, 0 allowed */
#define KV_MAX_ENTRIES 4096

/* Largest request or reply body we build: comfortably under the 4226
 * bytes one packet carries, so every call is one datagram each way. */
#define KV_MAX_BODY 2048

/* Packing cursor over a freshly allocated buffer's body. */
static inline BUFFER kv_pack_cursor(RPC2_PacketBuffer *pb, WHO who)
{
    BUFFER b = {(char *)pb->Body, (char *)pb->Body + pb->Header.BodyLength,
                who};
    return b;
}

/* After packing: shrink BodyLength to what was written. */
static inline void kv_pack_done(RPC2_PacketBuffer *pb, const BUFFER *b)
{
    pb->Header.BodyLength = (RPC2_Integer)(b->buffer - (char *)pb->Body);
}

/* Unpacking cursor bounded by the received body length. */
static inline BUFFER kv_unpack_cursor(RPC2_PacketBuffer *pb, WHO who)
{
    BUFFER b = {(char *)pb->Body, (char *)pb->Body + pb->Header.BodyLength,
                who};
    return b;
}

static inline int kv_hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Reads the shared secret from path: exactly 8 bytes, or 16 hex digits
 * (optionally followed by a newline). On failure prints why to stderr and
 * returns -1. The secret should be a full-entropy random key (docs/rpc.md,
 * "Keys"): e.g. `head -c 8 /dev/urandom > kv.key`. */
static inline int kv_read_key(const char *path, RPC2_EncryptionKey key)
{
    unsigned char raw[32];
    size_t n;
    FILE *f = fopen(path, "rb");

    if (!f) {
        fprintf(stderr, "key file %s: %s\n", path, strerror(errno));
        return -1;
    }
    n = fread(raw, 1, sizeof raw, f);
    fclose(f);
    if (n == RPC2_KEYSIZE) {
        memcpy(key, raw, RPC2_KEYSIZE);
        return 0;
    }
    if (n == 2 * RPC2_KEYSIZE ||
        (n == 2 * RPC2_KEYSIZE + 1 && raw[n - 1] == '\n')) {
        for (int i = 0; i < RPC2_KEYSIZE; i++) {
            int hi = kv_hexval(raw[2 * i]), lo = kv_hexval(raw[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                break;
            }
            key[i] = (unsigned char)(hi << 4 | lo);
            if (i == RPC2_KEYSIZE - 1) {
                return 0;
            }
        }
    }
    fprintf(stderr,
            "key file %s: need exactly 8 bytes or 16 hex digits, found %zu%s "
            "bytes\n",
            path, n, n == sizeof raw ? " or more" : "");
    memset(key, 0, RPC2_KEYSIZE);
    return -1;
}

#endif /* SAMPLES_RPC_KV_H */
