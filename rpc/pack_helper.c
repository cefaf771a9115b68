/* SPDX-License-Identifier: MIT */
/*
 * Argument marshalling (reference 6.9). Packers first check that the whole
 * item fits, then write it, so a failure writes nothing and leaves the
 * cursor alone; unpackers read through a private copy of the cursor and
 * store it back only on success. Padding is always written as zeros (F25:
 * Coda sent whatever the pooled buffer held).
 *
 * The size pass runs the cursor up from NULL, which is not a pointer into
 * any object, so cursor arithmetic goes through uintptr_t: pointer
 * arithmetic on it would be undefined behaviour.
 */
#include <rpc2/pack_helper.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Lengths are computed in 64 bits so a 32-bit length from the input plus
 * its padding or NUL cannot wrap. */
static uint64_t pad4(uint64_t n)
{
    return (n + 3) & ~(uint64_t)3;
}

static uint64_t room(const BUFFER *buf)
{
    uintptr_t at = (uintptr_t)buf->buffer;
    uintptr_t end = (uintptr_t)buf->eob;

    return at < end ? end - at : 0;
}

static void advance(BUFFER *buf, uint64_t n)
{
    buf->buffer = (char *)((uintptr_t)buf->buffer + (uintptr_t)n);
}

/* ---- Packing primitives ------------------------------------------------ */

/* 0 if total bytes can be packed at the cursor, else -1. */
static int reserve(const BUFFER *buf, uint64_t total)
{
    if (buf->eob == NULL) {
        return total <= UINTPTR_MAX - (uintptr_t)buf->buffer ? 0 : -1;
    }
    if (buf->buffer == NULL) {
        return -1;
    }
    return total <= room(buf) ? 0 : -1;
}

/* The put_ functions run after reserve() said yes; in the size pass they
 * only advance. */
static void put_data(BUFFER *buf, const void *data, uint64_t len)
{
    uint64_t padded = pad4(len);

    if (buf->eob != NULL) {
        if (len > 0) {
            memcpy(buf->buffer, data, (size_t)len);
        }
        memset(buf->buffer + len, 0, (size_t)(padded - len));
    }
    advance(buf, padded);
}

static void put_be32(BUFFER *buf, uint32_t value)
{
    unsigned char be[4] = {(unsigned char)(value >> 24),
                           (unsigned char)(value >> 16),
                           (unsigned char)(value >> 8), (unsigned char)value};

    put_data(buf, be, sizeof be);
}

/* ---- Unpacking primitives ---------------------------------------------- */

/* The address of the next len bytes, or NULL if fewer than len remain.
 * Moves the cursor past them and their padding, but never beyond eob. */
static char *get_data(BUFFER *in, uint64_t len)
{
    if (in->eob == NULL || in->buffer == NULL) {
        return NULL;
    }
    uint64_t left = room(in);
    if (len > left) {
        return NULL;
    }
    char *data = in->buffer;
    uint64_t padded = pad4(len);
    advance(in, padded < left ? padded : left);
    return data;
}

static int get_be32(BUFFER *in, uint32_t *value)
{
    const unsigned char *be = (const unsigned char *)get_data(in, 4);

    if (be == NULL) {
        return -1;
    }
    *value = (uint32_t)be[0] << 24 | (uint32_t)be[1] << 16 |
             (uint32_t)be[2] << 8 | (uint32_t)be[3];
    return 0;
}

/* ---- Scalars ----------------------------------------------------------- */

int pack_integer(BUFFER *buf, RPC2_Integer value)
{
    return pack_unsigned(buf, (RPC2_Unsigned)value);
}

int unpack_integer(BUFFER *buf, RPC2_Integer *ptr)
{
    RPC2_Unsigned value;

    if (ptr == NULL || unpack_unsigned(buf, &value) != 0) {
        return -1;
    }
    *ptr = (RPC2_Integer)value;
    return 0;
}

int pack_unsigned(BUFFER *buf, RPC2_Unsigned value)
{
    if (reserve(buf, 4) != 0) {
        return -1;
    }
    put_be32(buf, value);
    return 0;
}

int unpack_unsigned(BUFFER *buf, RPC2_Unsigned *ptr)
{
    BUFFER in = *buf;
    uint32_t value;

    if (ptr == NULL || get_be32(&in, &value) != 0) {
        return -1;
    }
    *ptr = value;
    *buf = in;
    return 0;
}

int pack_double(BUFFER *buf, RPC2_Double value)
{
    if (reserve(buf, sizeof value) != 0) {
        return -1;
    }
    put_data(buf, &value, sizeof value);
    return 0;
}

int unpack_double(BUFFER *buf, RPC2_Double *ptr)
{
    BUFFER in = *buf;
    const char *data = get_data(&in, sizeof *ptr);

    if (ptr == NULL || data == NULL) {
        return -1;
    }
    memcpy(ptr, data, sizeof *ptr);
    *buf = in;
    return 0;
}

int pack_byte(BUFFER *buf, RPC2_Byte value)
{
    if (reserve(buf, 4) != 0) {
        return -1;
    }
    put_data(buf, &value, 1);
    return 0;
}

int unpack_byte(BUFFER *buf, RPC2_Byte *ptr)
{
    BUFFER in = *buf;
    const char *data = get_data(&in, 1);

    if (ptr == NULL || data == NULL) {
        return -1;
    }
    *ptr = (RPC2_Byte)data[0];
    *buf = in;
    return 0;
}

/* ---- Fixed-size byte arrays -------------------------------------------- */

int pack_bytes(BUFFER *buf, RPC2_ByteSeq value, RPC2_Unsigned len)
{
    if ((value == NULL && len > 0) || reserve(buf, pad4(len)) != 0) {
        return -1;
    }
    put_data(buf, value, len);
    return 0;
}

int unpack_bytes(BUFFER *buf, RPC2_ByteSeq ptr, RPC2_Unsigned len)
{
    BUFFER in = *buf;
    const char *data = get_data(&in, len);

    if ((ptr == NULL && len > 0) || data == NULL) {
        return -1;
    }
    if (len > 0) {
        memcpy(ptr, data, len);
    }
    *buf = in;
    return 0;
}

int pack_encryptionKey(BUFFER *buf, RPC2_EncryptionKey key)
{
    return key == NULL ? -1 : pack_bytes(buf, key, RPC2_KEYSIZE);
}

int unpack_encryptionKey(BUFFER *buf, RPC2_EncryptionKey key)
{
    return key == NULL ? -1 : unpack_bytes(buf, key, RPC2_KEYSIZE);
}

/* ---- Strings and byte sequences ---------------------------------------- */

int pack_string(BUFFER *buf, RPC2_String value)
{
    if (value == NULL) {
        return -1;
    }
    size_t len = strlen((const char *)value);
    if (len > UINT32_MAX || reserve(buf, 4 + pad4((uint64_t)len + 1)) != 0) {
        return -1;
    }
    put_be32(buf, (uint32_t)len);
    put_data(buf, value, (uint64_t)len + 1); /* the NUL included */
    return 0;
}

int unpack_string(BUFFER *buf, RPC2_String *ptr)
{
    BUFFER in = *buf;
    uint32_t len;

    /* A client would get a pointer into a reply buffer it is about to
     * free; Coda asserts here, we refuse. */
    if (ptr == NULL || buf->who == RP2_CLIENT || get_be32(&in, &len) != 0) {
        return -1;
    }
    char *text = get_data(&in, (uint64_t)len + 1);
    if (text == NULL || text[len] != '\0') {
        return -1;
    }
    *ptr = (RPC2_String)text;
    *buf = in;
    return 0;
}

int pack_countedbs(BUFFER *buf, RPC2_CountedBS *ptr)
{
    if (ptr == NULL || (ptr->SeqBody == NULL && ptr->SeqLen > 0) ||
        reserve(buf, 4 + pad4(ptr->SeqLen)) != 0) {
        return -1;
    }
    put_be32(buf, ptr->SeqLen);
    put_data(buf, ptr->SeqBody, ptr->SeqLen);
    return 0;
}

int unpack_countedbs(BUFFER *buf, RPC2_CountedBS *ptr)
{
    BUFFER in = *buf;
    uint32_t len;

    if (ptr == NULL || get_be32(&in, &len) != 0) {
        return -1;
    }
    char *body = get_data(&in, len);
    if (body == NULL) {
        return -1;
    }
    ptr->SeqLen = len;
    ptr->SeqBody = (RPC2_ByteSeq)body;
    *buf = in;
    return 0;
}

int pack_boundedbs(BUFFER *buf, RPC2_BoundedBS *ptr)
{
    if (ptr == NULL || (ptr->SeqBody == NULL && ptr->SeqLen > 0) ||
        reserve(buf, 8 + pad4(ptr->SeqLen)) != 0) {
        return -1;
    }
    put_be32(buf, ptr->MaxSeqLen);
    put_be32(buf, ptr->SeqLen);
    put_data(buf, ptr->SeqBody, ptr->SeqLen);
    return 0;
}

/* Request side: the server allocates the buffer the client described. */
static int unpack_boundedbs_server(BUFFER *in, MODE mode, uint32_t max_len,
                                   uint32_t len, RPC2_BoundedBS *ptr)
{
    if (mode == IN_MODE) {
        max_len = len;
    }
    if (mode == OUT_MODE) {
        len = 0; /* the body bytes of an OUT argument are not skipped */
    }
    if (len > max_len || max_len > RPC2_MAXPACKETSIZE) {
        return -1;
    }
    const char *data = get_data(in, len);
    if (data == NULL) {
        return -1;
    }
    RPC2_ByteSeq body = calloc(max_len > 0 ? max_len : 1, 1);
    if (body == NULL) {
        return -1;
    }
    if (len > 0) {
        memcpy(body, data, len);
    }
    ptr->MaxSeqLen = max_len;
    ptr->SeqLen = len;
    ptr->SeqBody = body;
    return 0;
}

/* Reply side: the bytes go into the caller's own buffer. */
static int unpack_boundedbs_caller(BUFFER *in, WHO who, MODE mode, uint32_t len,
                                   RPC2_BoundedBS *ptr)
{
    if (who != RP2_CLIENT || mode == IN_MODE) {
        len = 0;
    }
    if (len > ptr->MaxSeqLen || (len > 0 && ptr->SeqBody == NULL)) {
        return -1;
    }
    const char *data = get_data(in, len);
    if (data == NULL) {
        return -1;
    }
    if (len > 0) {
        memcpy(ptr->SeqBody, data, len);
    }
    ptr->SeqLen = len;
    return 0;
}

int unpack_boundedbs(BUFFER *buf, MODE mode, RPC2_BoundedBS *ptr)
{
    BUFFER in = *buf;
    uint32_t max_len, len;

    if (ptr == NULL) {
        return -1;
    }
    if (buf->who == RP2_SERVER) {
        /* Defined even on failure, so a stub may free it unconditionally. */
        ptr->MaxSeqLen = 0;
        ptr->SeqLen = 0;
        ptr->SeqBody = NULL;
    }
    if (get_be32(&in, &max_len) != 0 || get_be32(&in, &len) != 0) {
        return -1;
    }
    int rc = buf->who == RP2_SERVER
                 ? unpack_boundedbs_server(&in, mode, max_len, len, ptr)
                 : unpack_boundedbs_caller(&in, buf->who, mode, len, ptr);
    if (rc == 0) {
        *buf = in;
    }
    return rc;
}

/* ---- Predefined structures --------------------------------------------- */

/* The statistics structs are packed twice: a size pass on a private cursor
 * tells whether the whole struct fits, so a failure writes nothing. */
static int pack_counts(BUFFER *buf, RPC2_String name, const RPC2_Integer *v,
                       int nv)
{
    int rc = pack_string(buf, name);

    for (int i = 0; i < nv && rc == 0; i++) {
        rc = pack_integer(buf, v[i]);
    }
    return rc;
}

static int pack_counts_whole(BUFFER *buf, RPC2_String name,
                             const RPC2_Integer *v, int nv)
{
    BUFFER probe = {NULL, NULL, buf->who};

    if (pack_counts(&probe, name, v, nv) != 0 ||
        reserve(buf, (uintptr_t)probe.buffer) != 0) {
        return -1;
    }
    return pack_counts(buf, name, v, nv);
}

static int unpack_counts(BUFFER *buf, RPC2_String *name, RPC2_Integer *v,
                         int nv)
{
    BUFFER in = *buf;

    if (unpack_string(&in, name) != 0) {
        return -1;
    }
    for (int i = 0; i < nv; i++) {
        if (unpack_integer(&in, &v[i]) != 0) {
            return -1;
        }
    }
    *buf = in;
    return 0;
}

int pack_struct_CallCountEntry(BUFFER *buf, CallCountEntry *ptr)
{
    if (ptr == NULL) {
        return -1;
    }
    RPC2_Integer v[5] = {ptr->countent, ptr->countexit, ptr->tsec, ptr->tusec,
                         ptr->counttime};
    return pack_counts_whole(buf, ptr->name, v, 5);
}

int unpack_struct_CallCountEntry(BUFFER *buf, CallCountEntry *ptr)
{
    RPC2_String name;
    RPC2_Integer v[5];

    if (ptr == NULL || unpack_counts(buf, &name, v, 5) != 0) {
        return -1;
    }
    ptr->name = name;
    ptr->countent = v[0];
    ptr->countexit = v[1];
    ptr->tsec = v[2];
    ptr->tusec = v[3];
    ptr->counttime = v[4];
    return 0;
}

/* counthost stays off the wire: Coda's helpers never encoded it. The
 * other fields are CallCountEntry's, in the same order. */
int pack_struct_MultiCallEntry(BUFFER *buf, MultiCallEntry *ptr)
{
    if (ptr == NULL) {
        return -1;
    }
    CallCountEntry e = {ptr->name, ptr->countent, ptr->countexit, ptr->tsec,
                        ptr->tusec, ptr->counttime};
    return pack_struct_CallCountEntry(buf, &e);
}

int unpack_struct_MultiCallEntry(BUFFER *buf, MultiCallEntry *ptr)
{
    CallCountEntry e;

    if (ptr == NULL || unpack_struct_CallCountEntry(buf, &e) != 0) {
        return -1;
    }
    ptr->name = e.name;
    ptr->countent = e.countent;
    ptr->countexit = e.countexit;
    ptr->tsec = e.tsec;
    ptr->tusec = e.tusec;
    ptr->counttime = e.counttime;
    return 0;
}

int pack_struct_MultiStubWork(BUFFER *buf, MultiStubWork *ptr)
{
    if (ptr == NULL || reserve(buf, 12) != 0) {
        return -1;
    }
    put_be32(buf, (uint32_t)ptr->opengate);
    put_be32(buf, (uint32_t)ptr->tsec);
    put_be32(buf, (uint32_t)ptr->tusec);
    return 0;
}

int unpack_struct_MultiStubWork(BUFFER *buf, MultiStubWork *ptr)
{
    BUFFER in = *buf;
    RPC2_Integer v[3];

    if (ptr == NULL) {
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        if (unpack_integer(&in, &v[i]) != 0) {
            return -1;
        }
    }
    ptr->opengate = v[0];
    ptr->tsec = v[1];
    ptr->tusec = v[2];
    *buf = in;
    return 0;
}
