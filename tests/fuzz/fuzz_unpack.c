/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the unmarshalling side of pack_helper: every
 * unpack_* function over untrusted bytes, as a server (which allocates
 * BoundedBS bodies) and as a client (which fills its own buffers).
 *
 * Two passes per side: each decoder alone, repeated until it fails; then a
 * mixed sequence whose next decoder is picked from the input itself. After
 * every success the cursor must stay within the input and every pointer
 * handed out must lie inside it; whatever was allocated is freed.
 */
#include <rpc2/pack_helper.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STEPS_MAX 256 /* bounds the work per input */

enum {
    OP_INTEGER,
    OP_UNSIGNED,
    OP_DOUBLE,
    OP_BYTE,
    OP_BYTES,
    OP_STRING,
    OP_COUNTEDBS,
    OP_BOUNDEDBS_IN,
    OP_BOUNDEDBS_OUT,
    OP_BOUNDEDBS_IN_OUT,
    OP_KEY,
    OP_CALLCOUNT,
    OP_MULTICALL,
    OP_STUBWORK,
    OP_COUNT
};

static void check(int ok)
{
    if (!ok) {
        abort();
    }
}

static void check_inside(const BUFFER *buf, const char *start, const void *p,
                         size_t len)
{
    const char *q = p;
    check(q >= start && q <= buf->eob && (size_t)(buf->eob - q) >= len);
}

static int unpack_bbs(BUFFER *buf, MODE mode)
{
    RPC2_Byte mine[64];
    RPC2_BoundedBS bbs = {sizeof mine, 0, mine};
    int rc = unpack_boundedbs(buf, mode, &bbs);

    if (buf->who == RP2_SERVER) {
        check(rc == 0 ? bbs.SeqBody != NULL : bbs.SeqBody == NULL);
        if (rc == 0) {
            check(bbs.SeqLen <= bbs.MaxSeqLen);
            check(bbs.MaxSeqLen <= RPC2_MAXPACKETSIZE);
            /* Touch every byte the stub may use: ASan catches a short
             * allocation. */
            if (bbs.MaxSeqLen > 0) {
                bbs.SeqBody[bbs.MaxSeqLen - 1] ^= 1;
            }
        }
        free(bbs.SeqBody);
    } else if (rc == 0) {
        check(bbs.SeqBody == mine && bbs.SeqLen <= sizeof mine);
    }
    return rc;
}

/* Runs one decoder at the cursor; 0 on success, -1 on failure. */
static int unpack_one(BUFFER *buf, const char *start, int op)
{
    RPC2_Integer i;
    RPC2_Unsigned u;
    RPC2_Double d;
    RPC2_Byte b, bytes[13];
    RPC2_String s;
    RPC2_CountedBS cbs;
    RPC2_EncryptionKey key;
    CallCountEntry cc;
    MultiCallEntry mc;
    MultiStubWork w;
    int rc = -1;

    switch (op) {
    case OP_INTEGER:
        return unpack_integer(buf, &i);
    case OP_UNSIGNED:
        return unpack_unsigned(buf, &u);
    case OP_DOUBLE:
        return unpack_double(buf, &d);
    case OP_BYTE:
        return unpack_byte(buf, &b);
    case OP_BYTES:
        return unpack_bytes(buf, bytes, sizeof bytes);
    case OP_STRING:
        rc = unpack_string(buf, &s);
        if (rc == 0) {
            size_t len = strlen((char *)s);
            check_inside(buf, start, s, len + 1);
        }
        return rc;
    case OP_COUNTEDBS:
        rc = unpack_countedbs(buf, &cbs);
        if (rc == 0) {
            check_inside(buf, start, cbs.SeqBody, cbs.SeqLen);
        }
        return rc;
    case OP_BOUNDEDBS_IN:
        return unpack_bbs(buf, IN_MODE);
    case OP_BOUNDEDBS_OUT:
        return unpack_bbs(buf, OUT_MODE);
    case OP_BOUNDEDBS_IN_OUT:
        return unpack_bbs(buf, IN_OUT_MODE);
    case OP_KEY:
        return unpack_encryptionKey(buf, key);
    case OP_CALLCOUNT:
        rc = unpack_struct_CallCountEntry(buf, &cc);
        if (rc == 0) {
            check_inside(buf, start, cc.name, strlen((char *)cc.name) + 1);
        }
        return rc;
    case OP_MULTICALL:
        rc = unpack_struct_MultiCallEntry(buf, &mc);
        if (rc == 0) {
            check_inside(buf, start, mc.name, strlen((char *)mc.name) + 1);
        }
        return rc;
    case OP_STUBWORK:
        return unpack_struct_MultiStubWork(buf, &w);
    default:
        return -1;
    }
}

/* One step: a failure must leave the cursor alone, a success must move it
 * forward without passing eob. */
static int step(BUFFER *buf, const char *start, int op)
{
    char *before = buf->buffer;
    int rc = unpack_one(buf, start, op);

    if (rc != 0) {
        check(buf->buffer == before);
        return -1;
    }
    check(buf->buffer >= before && buf->buffer <= buf->eob);
    return buf->buffer == before ? -1 : 0; /* no progress: stop */
}

static void run_side(char *data, size_t size, WHO who)
{
    /* Each decoder alone. */
    for (int op = 0; op < OP_COUNT; op++) {
        BUFFER buf = {data, data + size, who};
        for (int n = 0; n < STEPS_MAX && step(&buf, data, op) == 0; n++) {
        }
    }
    /* A mixed sequence steered by the input bytes. */
    BUFFER buf = {data, data + size, who};
    for (size_t n = 0; n < STEPS_MAX && size > 0; n++) {
        int op = (unsigned char)data[n % size] % OP_COUNT;
        if (step(&buf, data, op) != 0) {
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size private copy, so any read past the end is caught. */
    char *copy = malloc(size > 0 ? size : 1);

    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    run_side(copy, size, RP2_SERVER);
    run_side(copy, size, RP2_CLIENT);
    free(copy);
    return 0;
}
