/* SPDX-License-Identifier: MIT */
/*
 * <rpc2/pack_helper.h> -- marshalling of RPC arguments (Coda RPC2's
 * pack_helper, same names and signatures), used by rp2gen stubs and by
 * programs that build request bodies by hand.
 *
 * Encoding (reference 6.9, big-endian, every item starting on a 4-byte
 * boundary of the body):
 *   integer, unsigned, enum   4 bytes
 *   byte                      1 byte + 3 padding
 *   double                    8 bytes in this host's byte order (Coda does
 *                             the same; avoid doubles between hosts of
 *                             different byte order)
 *   bytes[len]                len bytes + padding to a multiple of 4
 *   string                    u32 L (without the NUL), L bytes, a NUL, pad
 *   CountedBS                 u32 SeqLen, SeqLen bytes, pad
 *   BoundedBS                 u32 MaxSeqLen, u32 SeqLen, SeqLen bytes, pad
 *   EncryptionKey             8 bytes
 *   structs                   their fields in order, nothing else
 * Padding bytes are always written as zeros and ignored when read.
 *
 * A BUFFER is a cursor: buffer is the next byte, eob one past the last
 * usable one, who the side (RP2_CLIENT, RP2_SERVER, ...) whose rules
 * apply. Every function advances buffer past the item (padding included)
 * and returns 0, or returns -1 and leaves the cursor where it was.
 *
 * Packing: the whole padded item must fit before eob, else -1 and nothing
 * is written. With eob == NULL nothing is written and the cursor only
 * advances (the "size pass": packing from buffer == NULL leaves the encoded
 * length in buffer); -1 only if it would wrap around the address space.
 * Pointers to data (strings, SeqBody, keys) must not be NULL when data is
 * needed (-1).
 *
 * Unpacking: every length read from the input is checked against eob
 * before any byte is read, so any input is safe. An item needs only its
 * data bytes before eob; its trailing padding may be missing at the very
 * end of the input (Coda accepts that too), the cursor then stops at eob.
 * Outputs are written only on success, except as noted for BoundedBS.
 *
 * None of these functions blocks or yields; they keep no state.
 */
#ifndef RPC2_PACK_HELPER_H
#define RPC2_PACK_HELPER_H

#include <rpc2/rpc2.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char *buffer; /* cursor: the next byte to write or read */
    char *eob;    /* end of buffer (one past the last byte); NULL: size pass */
    WHO who;      /* whose rules: RP2_SERVER unpacks differently */
} BUFFER;

/* ---- Scalars ----------------------------------------------------------- */

LWP_EXPORT int pack_integer(BUFFER *buf, RPC2_Integer value);
LWP_EXPORT int unpack_integer(BUFFER *buf, RPC2_Integer *ptr);

LWP_EXPORT int pack_unsigned(BUFFER *buf, RPC2_Unsigned value);
LWP_EXPORT int unpack_unsigned(BUFFER *buf, RPC2_Unsigned *ptr);

/* 8 bytes copied as they lie in memory (host byte order, Coda's choice). */
LWP_EXPORT int pack_double(BUFFER *buf, RPC2_Double value);
LWP_EXPORT int unpack_double(BUFFER *buf, RPC2_Double *ptr);

LWP_EXPORT int pack_byte(BUFFER *buf, RPC2_Byte value);
LWP_EXPORT int unpack_byte(BUFFER *buf, RPC2_Byte *ptr);

/* ---- Fixed-size byte arrays --------------------------------------------- */

/* len bytes from value (NULL allowed only when len is 0), then padding.
 * unpack_bytes copies exactly len bytes into ptr (room for len). */
LWP_EXPORT int pack_bytes(BUFFER *buf, RPC2_ByteSeq value, RPC2_Unsigned len);
LWP_EXPORT int unpack_bytes(BUFFER *buf, RPC2_ByteSeq ptr, RPC2_Unsigned len);

/* RPC2_KEYSIZE (8) bytes. */
LWP_EXPORT int pack_encryptionKey(BUFFER *buf, RPC2_EncryptionKey key);
LWP_EXPORT int unpack_encryptionKey(BUFFER *buf, RPC2_EncryptionKey key);

/* ---- Strings and byte sequences ----------------------------------------- */

/* value: a NUL-terminated string (not NULL). */
LWP_EXPORT int pack_string(BUFFER *buf, RPC2_String value);
/* Sets *ptr to the string inside the input buffer itself (no copy, valid as
 * long as the buffer is): byte L of the encoding must be the NUL, else -1.
 * Refused (-1) when buf->who is RP2_CLIENT: a client cannot receive a
 * string (Coda asserts there; we never abort on input). */
LWP_EXPORT int unpack_string(BUFFER *buf, RPC2_String *ptr);

/* ptr->SeqBody may be NULL only when ptr->SeqLen is 0. */
LWP_EXPORT int pack_countedbs(BUFFER *buf, RPC2_CountedBS *ptr);
/* Sets ptr->SeqLen and points ptr->SeqBody into the input buffer (no
 * copy), on either side. */
LWP_EXPORT int unpack_countedbs(BUFFER *buf, RPC2_CountedBS *ptr);

/* Sends MaxSeqLen and SeqLen as they are, then SeqLen bytes of SeqBody
 * (NULL only when SeqLen is 0). Like Coda it does not compare SeqLen with
 * MaxSeqLen (the receiver does). For an OUT argument a client must send
 * SeqLen 0: the server skips no bytes for it (reference 6.9, F18). */
LWP_EXPORT int pack_boundedbs(BUFFER *buf, RPC2_BoundedBS *ptr);

/* Reads MaxSeqLen and SeqLen, then, by side and mode (reference 6.9):
 *
 * buf->who == RP2_SERVER (the request): MaxSeqLen := the received SeqLen
 *   for IN_MODE, the received MaxSeqLen otherwise; SeqLen := the received
 *   SeqLen, or 0 for OUT_MODE (whose body bytes are then not skipped).
 *   -1 if SeqLen > MaxSeqLen or MaxSeqLen > RPC2_MAXPACKETSIZE (4500).
 *   SeqBody := a new zero-filled malloc() block of MaxSeqLen bytes (at
 *   least 1 byte is allocated, so it is never NULL on success) holding the
 *   SeqLen received bytes. The CALLER OWNS IT and releases it with free()
 *   (rp2gen server stubs do so after the reply). On failure SeqBody is
 *   NULL and MaxSeqLen, SeqLen are 0, so freeing is always safe.
 *
 * any other side (the reply, RP2_CLIENT): MaxSeqLen and SeqBody are the
 *   caller's (a buffer of MaxSeqLen bytes); SeqLen := the received SeqLen
 *   (0 for IN_MODE or a side other than RP2_CLIENT, as in Coda), -1 if it
 *   exceeds MaxSeqLen or SeqBody is NULL while needed; the bytes are
 *   copied into SeqBody. Nothing is allocated. */
LWP_EXPORT int unpack_boundedbs(BUFFER *buf, MODE mode, RPC2_BoundedBS *ptr);

/* ---- Predefined structures ---------------------------------------------- */

/* name (a string), countent, countexit, tsec, tusec, counttime. unpack:
 * name points into the input buffer, so RP2_CLIENT gets -1 (see
 * unpack_string). */
LWP_EXPORT int pack_struct_CallCountEntry(BUFFER *buf, CallCountEntry *ptr);
LWP_EXPORT int unpack_struct_CallCountEntry(BUFFER *buf, CallCountEntry *ptr);

/* The same six fields; counthost is NOT encoded (Coda's encoding, kept for
 * the wire) and is left untouched by unpack. */
LWP_EXPORT int pack_struct_MultiCallEntry(BUFFER *buf, MultiCallEntry *ptr);
LWP_EXPORT int unpack_struct_MultiCallEntry(BUFFER *buf, MultiCallEntry *ptr);

/* opengate, tsec, tusec. */
LWP_EXPORT int pack_struct_MultiStubWork(BUFFER *buf, MultiStubWork *ptr);
LWP_EXPORT int unpack_struct_MultiStubWork(BUFFER *buf, MultiStubWork *ptr);

#ifdef __cplusplus
}
#endif

#endif /* RPC2_PACK_HELPER_H */
