/* SPDX-License-Identifier: MIT */
/*
 * pack_helper (reference 6.9): byte-exact encodings, zeroed padding in a
 * dirty buffer, the exact-fit / one-byte-short boundary of every packer and
 * unpacker, the size pass, BoundedBS rules per side and mode, round trips.
 */
#include <rpc2/pack_helper.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#define DIRT 0xAA

static char mem[4608];

/* A cursor over the first n bytes of a dirty buffer. */
static BUFFER dirty(size_t n, WHO who)
{
    memset(mem, DIRT, sizeof mem);
    return (BUFFER){mem, mem + n, who};
}

/* A cursor over n bytes of input copied to the start of mem. */
static BUFFER input(const void *bytes, size_t n, WHO who)
{
    memset(mem, DIRT, sizeof mem);
    memcpy(mem, bytes, n);
    return (BUFFER){mem, mem + n, who};
}

static void expect_bytes(const void *exp, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq((unsigned char)mem[i], ((const unsigned char *)exp)[i],
                     "byte %zu: 0x%02x, expected 0x%02x", i,
                     (unsigned char)mem[i], ((const unsigned char *)exp)[i]);
    }
}

/* Nothing written, cursor unchanged: what every failure must leave. */
static void expect_untouched(const BUFFER *b)
{
    cr_assert_eq(b->buffer, mem);
    for (size_t i = 0; i < 64; i++) {
        cr_assert_eq((unsigned char)mem[i], DIRT, "byte %zu written", i);
    }
}

/* ---- Packing: encodings and boundaries -------------------------------- */

Test(rpc_pack, integer_is_big_endian_and_needs_four_bytes)
{
    static const unsigned char exp[] = {0xFF, 0xFF, 0xFF, 0xFE};
    BUFFER b = dirty(4, RP2_CLIENT);

    cr_assert_eq(pack_integer(&b, -2), 0);
    expect_bytes(exp, 4);
    cr_assert_eq(b.buffer, mem + 4);

    b = dirty(3, RP2_CLIENT);
    cr_assert_eq(pack_integer(&b, -2), -1);
    expect_untouched(&b);
}

Test(rpc_pack, unsigned_is_big_endian_and_needs_four_bytes)
{
    static const unsigned char exp[] = {0x80, 0x01, 0x02, 0x03};
    BUFFER b = dirty(4, RP2_SERVER);

    cr_assert_eq(pack_unsigned(&b, 0x80010203u), 0);
    expect_bytes(exp, 4);
    cr_assert_eq(b.buffer, mem + 4);

    b = dirty(3, RP2_SERVER);
    cr_assert_eq(pack_unsigned(&b, 1), -1);
    expect_untouched(&b);
}

Test(rpc_pack, byte_gets_three_zero_pad_bytes)
{
    static const unsigned char exp[] = {0x7F, 0, 0, 0};
    BUFFER b = dirty(4, RP2_CLIENT);

    cr_assert_eq(pack_byte(&b, 0x7F), 0);
    expect_bytes(exp, 4);
    cr_assert_eq(b.buffer, mem + 4);

    b = dirty(3, RP2_CLIENT);
    cr_assert_eq(pack_byte(&b, 0x7F), -1);
    expect_untouched(&b);
}

Test(rpc_pack, double_is_eight_native_bytes)
{
    RPC2_Double d = -1234.5625;
    BUFFER b = dirty(8, RP2_CLIENT);

    cr_assert_eq(pack_double(&b, d), 0);
    expect_bytes(&d, 8);
    cr_assert_eq(b.buffer, mem + 8);

    b = dirty(7, RP2_CLIENT);
    cr_assert_eq(pack_double(&b, d), -1);
    expect_untouched(&b);
}

Test(rpc_pack, bytes_are_padded_with_zeros)
{
    static const unsigned char exp3[] = {'a', 'b', 'c', 0};
    static const unsigned char exp5[] = {1, 2, 3, 4, 5, 0, 0, 0};
    RPC2_Byte five[] = {1, 2, 3, 4, 5};
    BUFFER b = dirty(4, RP2_CLIENT);

    cr_assert_eq(pack_bytes(&b, (RPC2_ByteSeq) "abc", 3), 0);
    expect_bytes(exp3, 4);
    cr_assert_eq(b.buffer, mem + 4);

    b = dirty(8, RP2_CLIENT);
    cr_assert_eq(pack_bytes(&b, five, 5), 0);
    expect_bytes(exp5, 8);
    cr_assert_eq(b.buffer, mem + 8);

    b = dirty(4, RP2_CLIENT);
    cr_assert_eq(pack_bytes(&b, five, 4), 0);
    expect_bytes(five, 4);
    cr_assert_eq(b.buffer, mem + 4);
}

Test(rpc_pack, bytes_boundaries_and_null)
{
    RPC2_Byte five[] = {1, 2, 3, 4, 5};
    BUFFER b = dirty(7, RP2_CLIENT); /* 5 data bytes fit, the padding not */

    cr_assert_eq(pack_bytes(&b, five, 5), -1);
    expect_untouched(&b);

    b = dirty(3, RP2_CLIENT);
    cr_assert_eq(pack_bytes(&b, five, 3), -1);
    expect_untouched(&b);

    b = dirty(16, RP2_CLIENT);
    cr_assert_eq(pack_bytes(&b, NULL, 1), -1);
    expect_untouched(&b);
    cr_assert_eq(pack_bytes(&b, NULL, 0), 0);
    cr_assert_eq(b.buffer, mem);

    b = dirty(0, RP2_CLIENT);
    cr_assert_eq(pack_bytes(&b, five, 0), 0);
    cr_assert_eq(b.buffer, mem);
}

Test(rpc_pack, string_abc_encoding)
{
    static const unsigned char exp[] = {0, 0, 0, 3, 'a', 'b', 'c', 0};
    BUFFER b = dirty(8, RP2_CLIENT);

    cr_assert_eq(pack_string(&b, (RPC2_String) "abc"), 0);
    expect_bytes(exp, 8);
    cr_assert_eq(b.buffer, mem + 8);

    b = dirty(7, RP2_CLIENT);
    cr_assert_eq(pack_string(&b, (RPC2_String) "abc"), -1);
    expect_untouched(&b);
}

Test(rpc_pack, string_abcd_encoding_pads_after_the_nul)
{
    static const unsigned char exp[] = {0,   0,   0, 4, 'a', 'b',
                                        'c', 'd', 0, 0, 0,   0};
    BUFFER b = dirty(12, RP2_CLIENT);

    cr_assert_eq(pack_string(&b, (RPC2_String) "abcd"), 0);
    expect_bytes(exp, 12);
    cr_assert_eq(b.buffer, mem + 12);

    b = dirty(11, RP2_CLIENT);
    cr_assert_eq(pack_string(&b, (RPC2_String) "abcd"), -1);
    expect_untouched(&b);
}

Test(rpc_pack, empty_and_null_strings)
{
    static const unsigned char exp[] = {0, 0, 0, 0, 0, 0, 0, 0};
    BUFFER b = dirty(8, RP2_CLIENT);

    cr_assert_eq(pack_string(&b, (RPC2_String) ""), 0);
    expect_bytes(exp, 8);
    cr_assert_eq(b.buffer, mem + 8);

    b = dirty(64, RP2_CLIENT);
    cr_assert_eq(pack_string(&b, NULL), -1);
    expect_untouched(&b);
}

Test(rpc_pack, countedbs_encoding_and_boundaries)
{
    static const unsigned char exp[] = {0, 0, 0, 3, 'x', 'y', 'z', 0};
    static const unsigned char empty[] = {0, 0, 0, 0};
    RPC2_CountedBS cbs = {3, (RPC2_ByteSeq) "xyz"};
    BUFFER b = dirty(8, RP2_CLIENT);

    cr_assert_eq(pack_countedbs(&b, &cbs), 0);
    expect_bytes(exp, 8);
    cr_assert_eq(b.buffer, mem + 8);

    b = dirty(7, RP2_CLIENT);
    cr_assert_eq(pack_countedbs(&b, &cbs), -1);
    expect_untouched(&b);

    b = dirty(64, RP2_CLIENT);
    cbs = (RPC2_CountedBS){1, NULL};
    cr_assert_eq(pack_countedbs(&b, &cbs), -1);
    cr_assert_eq(pack_countedbs(&b, NULL), -1);
    expect_untouched(&b);

    cbs = (RPC2_CountedBS){0, NULL};
    cr_assert_eq(pack_countedbs(&b, &cbs), 0);
    expect_bytes(empty, 4);
    cr_assert_eq(b.buffer, mem + 4);
}

Test(rpc_pack, boundedbs_encoding_and_boundaries)
{
    static const unsigned char exp[] = {0, 0, 0,   10,  0,   0,
                                        0, 3, 'a', 'b', 'c', 0};
    RPC2_BoundedBS bbs = {10, 3, (RPC2_ByteSeq) "abc"};
    BUFFER b = dirty(12, RP2_CLIENT);

    cr_assert_eq(pack_boundedbs(&b, &bbs), 0);
    expect_bytes(exp, 12);
    cr_assert_eq(b.buffer, mem + 12);

    b = dirty(11, RP2_CLIENT);
    cr_assert_eq(pack_boundedbs(&b, &bbs), -1);
    expect_untouched(&b);

    b = dirty(64, RP2_CLIENT);
    bbs = (RPC2_BoundedBS){10, 2, NULL};
    cr_assert_eq(pack_boundedbs(&b, &bbs), -1);
    cr_assert_eq(pack_boundedbs(&b, NULL), -1);
    expect_untouched(&b);
}

Test(rpc_pack, boundedbs_sends_seqlen_above_max_as_coda_does)
{
    static const unsigned char exp[] = {0, 0, 0, 1, 0, 0, 0, 2, 'h', 'i', 0, 0};
    RPC2_BoundedBS bbs = {1, 2, (RPC2_ByteSeq) "hi"};
    BUFFER b = dirty(12, RP2_CLIENT);

    cr_assert_eq(pack_boundedbs(&b, &bbs), 0);
    expect_bytes(exp, 12);
}

Test(rpc_pack, encryption_key_is_eight_bytes)
{
    RPC2_EncryptionKey key = {1, 2, 3, 4, 5, 6, 7, 8};
    BUFFER b = dirty(8, RP2_CLIENT);

    cr_assert_eq(pack_encryptionKey(&b, key), 0);
    expect_bytes(key, 8);
    cr_assert_eq(b.buffer, mem + 8);

    b = dirty(7, RP2_CLIENT);
    cr_assert_eq(pack_encryptionKey(&b, key), -1);
    cr_assert_eq(pack_encryptionKey(&b, NULL), -1);
    expect_untouched(&b);
}

static const unsigned char counts_exp[] = {
    0, 0, 0, 2, 'o', 'p', 0, 0, /* name */
    0, 0, 0, 1, 0,   0,   0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0xFF, 0xFF, 0xFF, 0xFB};

Test(rpc_pack, call_count_entry_encoding_is_atomic)
{
    CallCountEntry e = {(RPC2_String) "op", 1, 2, 3, 4, -5};
    BUFFER b = dirty(sizeof counts_exp, RP2_SERVER);

    cr_assert_eq(pack_struct_CallCountEntry(&b, &e), 0);
    expect_bytes(counts_exp, sizeof counts_exp);
    cr_assert_eq(b.buffer, mem + sizeof counts_exp);

    b = dirty(sizeof counts_exp - 1, RP2_SERVER);
    cr_assert_eq(pack_struct_CallCountEntry(&b, &e), -1);
    expect_untouched(&b);
    e.name = NULL;
    cr_assert_eq(pack_struct_CallCountEntry(&b, &e), -1);
    cr_assert_eq(pack_struct_CallCountEntry(&b, NULL), -1);
    expect_untouched(&b);
}

Test(rpc_pack, multi_call_entry_omits_counthost_like_coda)
{
    MultiCallEntry e = {(RPC2_String) "op", 1, 2, 3, 4, -5, 77};
    BUFFER b = dirty(sizeof counts_exp, RP2_SERVER);

    cr_assert_eq(pack_struct_MultiCallEntry(&b, &e), 0);
    expect_bytes(counts_exp, sizeof counts_exp);
    cr_assert_eq(b.buffer, mem + sizeof counts_exp);

    b = dirty(sizeof counts_exp - 1, RP2_SERVER);
    cr_assert_eq(pack_struct_MultiCallEntry(&b, &e), -1);
    cr_assert_eq(pack_struct_MultiCallEntry(&b, NULL), -1);
    expect_untouched(&b);
}

Test(rpc_pack, multi_stub_work_encoding)
{
    static const unsigned char exp[] = {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 1, 0};
    MultiStubWork w = {1, 2, 256};
    BUFFER b = dirty(12, RP2_CLIENT);

    cr_assert_eq(pack_struct_MultiStubWork(&b, &w), 0);
    expect_bytes(exp, 12);
    cr_assert_eq(b.buffer, mem + 12);

    b = dirty(11, RP2_CLIENT);
    cr_assert_eq(pack_struct_MultiStubWork(&b, &w), -1);
    cr_assert_eq(pack_struct_MultiStubWork(&b, NULL), -1);
    expect_untouched(&b);
}

Test(rpc_pack, eob_without_buffer_fails)
{
    BUFFER b = {NULL, mem + 16, RP2_CLIENT};

    cr_assert_eq(pack_integer(&b, 1), -1);
    cr_assert_null(b.buffer);
}

/* ---- The size pass ----------------------------------------------------- */

/* Packs one of everything; returns the packer results' sum (0 = all ok). */
static int pack_everything(BUFFER *b)
{
    RPC2_Byte five[] = {1, 2, 3, 4, 5};
    RPC2_CountedBS cbs = {6, (RPC2_ByteSeq) "counts"};
    RPC2_BoundedBS bbs = {100, 3, (RPC2_ByteSeq) "bnd"};
    RPC2_EncryptionKey key = {9, 8, 7, 6, 5, 4, 3, 2};
    CallCountEntry cc = {(RPC2_String) "name5", 1, 2, 3, 4, 5};
    MultiCallEntry mc = {(RPC2_String) "m", 6, 7, 8, 9, 10, 11};
    MultiStubWork w = {12, 13, 14};

    return -(pack_integer(b, -7) + pack_unsigned(b, 7) + pack_byte(b, 'B') +
             pack_double(b, 2.5) + pack_bytes(b, five, 5) +
             pack_string(b, (RPC2_String) "abcd") + pack_countedbs(b, &cbs) +
             pack_boundedbs(b, &bbs) + pack_encryptionKey(b, key) +
             pack_struct_CallCountEntry(b, &cc) +
             pack_struct_MultiCallEntry(b, &mc) +
             pack_struct_MultiStubWork(b, &w));
}

/* 4+4+4+8+8+12+12+12+8+(12+20)+(8+20)+12 */
#define EVERYTHING_SIZE 144

Test(rpc_pack, size_pass_from_null_gives_the_encoded_length)
{
    BUFFER size = {NULL, NULL, RP2_CLIENT};

    cr_assert_eq(pack_everything(&size), 0);
    cr_assert_eq((uintptr_t)size.buffer, EVERYTHING_SIZE);

    BUFFER real = dirty(EVERYTHING_SIZE, RP2_CLIENT);
    cr_assert_eq(pack_everything(&real), 0);
    cr_assert_eq(real.buffer, mem + EVERYTHING_SIZE);

    real = dirty(EVERYTHING_SIZE - 1, RP2_CLIENT);
    cr_assert_neq(pack_everything(&real), 0);
}

Test(rpc_pack, size_pass_writes_nothing)
{
    BUFFER b;

    memset(mem, DIRT, sizeof mem);
    b = (BUFFER){mem, NULL, RP2_CLIENT};
    cr_assert_eq(pack_everything(&b), 0);
    cr_assert_eq(b.buffer, mem + EVERYTHING_SIZE);
    for (size_t i = 0; i < EVERYTHING_SIZE; i++) {
        cr_assert_eq((unsigned char)mem[i], DIRT);
    }
}

Test(rpc_pack, size_pass_refuses_to_wrap)
{
    BUFFER b = {(char *)(UINTPTR_MAX - 2), NULL, RP2_CLIENT};

    cr_assert_eq(pack_integer(&b, 1), -1);
    cr_assert_eq((uintptr_t)b.buffer, UINTPTR_MAX - 2);
    cr_assert_eq(pack_byte(&b, 1), -1);
    b.buffer = (char *)(UINTPTR_MAX - 4);
    cr_assert_eq(pack_byte(&b, 1), 0);
}

Test(rpc_pack, padding_zeroed_in_a_dirty_buffer_everywhere)
{
    BUFFER real = dirty(EVERYTHING_SIZE, RP2_CLIENT);
    static const unsigned char pad_after_byte[] = {'B', 0, 0, 0};
    static const unsigned char pad_after_five[] = {1, 2, 3, 4, 5, 0, 0, 0};

    cr_assert_eq(pack_everything(&real), 0);
    cr_assert(memcmp(mem + 8, pad_after_byte, 4) == 0);
    cr_assert(memcmp(mem + 20, pad_after_five, 8) == 0);
    /* No value byte is 0xAA, so any 0xAA left is stale memory; the
     * double's native bytes (12..19) are skipped. */
    for (size_t i = 0; i < EVERYTHING_SIZE; i++) {
        if (i < 12 || i >= 20) {
            cr_assert_neq((unsigned char)mem[i], DIRT, "stale byte at %zu", i);
        }
    }
    cr_assert_eq((unsigned char)mem[EVERYTHING_SIZE], DIRT);
}

/* ---- Unpacking: scalars ------------------------------------------------ */

Test(rpc_pack, unpack_integer_and_unsigned)
{
    static const unsigned char in[] = {0xFF, 0xFF, 0xFF, 0xFE, 0x80, 0, 0, 1};
    BUFFER b = input(in, 8, RP2_CLIENT);
    RPC2_Integer i = 0;
    RPC2_Unsigned u = 0;

    cr_assert_eq(unpack_integer(&b, &i), 0);
    cr_assert_eq(i, -2);
    cr_assert_eq(unpack_unsigned(&b, &u), 0);
    cr_assert_eq(u, 0x80000001u);
    cr_assert_eq(b.buffer, mem + 8);

    b = input(in, 3, RP2_CLIENT);
    i = 42;
    cr_assert_eq(unpack_integer(&b, &i), -1);
    cr_assert_eq(unpack_unsigned(&b, &u), -1);
    cr_assert_eq(i, 42);
    cr_assert_eq(b.buffer, mem);
    cr_assert_eq(unpack_integer(&b, NULL), -1);
}

Test(rpc_pack, unpack_byte_accepts_missing_final_padding)
{
    static const unsigned char in[] = {0x42, 0xAB, 0xCD, 0xEF, 0x43};
    BUFFER b = input(in, 5, RP2_SERVER);
    RPC2_Byte x = 0;

    cr_assert_eq(unpack_byte(&b, &x), 0);
    cr_assert_eq(x, 0x42);
    cr_assert_eq(b.buffer, mem + 4); /* padding skipped, whatever it holds */
    cr_assert_eq(unpack_byte(&b, &x), 0);
    cr_assert_eq(x, 0x43);
    cr_assert_eq(b.buffer, mem + 5); /* stopped at eob */
    cr_assert_eq(unpack_byte(&b, &x), -1);
    cr_assert_eq(x, 0x43);
    cr_assert_eq(b.buffer, mem + 5);
}

Test(rpc_pack, unpack_double_round_trip_and_boundary)
{
    RPC2_Double d = 6.02214076e23, out = 0;
    BUFFER b = dirty(8, RP2_CLIENT);

    cr_assert_eq(pack_double(&b, d), 0);
    b = (BUFFER){mem, mem + 8, RP2_SERVER};
    cr_assert_eq(unpack_double(&b, &out), 0);
    cr_assert(memcmp(&out, &d, sizeof d) == 0);
    cr_assert_eq(b.buffer, mem + 8);

    b = (BUFFER){mem, mem + 7, RP2_SERVER};
    cr_assert_eq(unpack_double(&b, &out), -1);
    cr_assert_eq(b.buffer, mem);
}

Test(rpc_pack, unpack_without_eob_fails)
{
    BUFFER b = {mem, NULL, RP2_SERVER};
    RPC2_Integer i;

    cr_assert_eq(unpack_integer(&b, &i), -1);
    cr_assert_eq(b.buffer, mem);
}

/* ---- Unpacking: byte arrays, strings, CountedBS ------------------------ */

Test(rpc_pack, unpack_bytes_boundaries)
{
    static const unsigned char in[] = {'a', 'b', 'c', 0x99, 'd'};
    RPC2_Byte out[4] = {0};
    BUFFER b = input(in, 5, RP2_CLIENT);

    cr_assert_eq(unpack_bytes(&b, out, 3), 0);
    cr_assert(memcmp(out, "abc", 3) == 0);
    cr_assert_eq(b.buffer, mem + 4);

    b = input(in, 3, RP2_CLIENT);
    cr_assert_eq(unpack_bytes(&b, out, 3), 0);
    cr_assert_eq(b.buffer, mem + 3);

    b = input(in, 2, RP2_CLIENT);
    memset(out, 0, sizeof out);
    cr_assert_eq(unpack_bytes(&b, out, 3), -1);
    cr_assert_eq(out[0], 0);
    cr_assert_eq(b.buffer, mem);
    cr_assert_eq(unpack_bytes(&b, NULL, 1), -1);
    cr_assert_eq(unpack_bytes(&b, NULL, 0), 0);
    cr_assert_eq(b.buffer, mem);
}

Test(rpc_pack, unpack_encryption_key)
{
    static const unsigned char in[] = {1, 2, 3, 4, 5, 6, 7, 8};
    RPC2_EncryptionKey key = {0};
    BUFFER b = input(in, 8, RP2_CLIENT);

    cr_assert_eq(unpack_encryptionKey(&b, key), 0);
    cr_assert(memcmp(key, in, 8) == 0);
    cr_assert_eq(b.buffer, mem + 8);

    b = input(in, 7, RP2_CLIENT);
    cr_assert_eq(unpack_encryptionKey(&b, key), -1);
    cr_assert_eq(unpack_encryptionKey(&b, NULL), -1);
    cr_assert_eq(b.buffer, mem);
}

Test(rpc_pack, unpack_string_points_into_the_packet)
{
    static const unsigned char in[] = {0,   0,   0, 4,    'a',  'b',
                                       'c', 'd', 0, 0xEE, 0xEE, 0xEE};
    RPC2_String s = NULL;
    BUFFER b = input(in, sizeof in, RP2_SERVER);

    cr_assert_eq(unpack_string(&b, &s), 0);
    cr_assert_eq((char *)s, mem + 4);
    cr_assert_str_eq((char *)s, "abcd");
    cr_assert_eq(b.buffer, mem + 12);

    b = input(in, 9, RP2_SERVER); /* the NUL is the last byte */
    cr_assert_eq(unpack_string(&b, &s), 0);
    cr_assert_eq(b.buffer, mem + 9);

    b = input(in, 8, RP2_SERVER); /* the NUL is missing */
    s = NULL;
    cr_assert_eq(unpack_string(&b, &s), -1);
    cr_assert_null(s);
    cr_assert_eq(b.buffer, mem);
}

Test(rpc_pack, unpack_string_rejects_a_non_nul_terminator)
{
    static const unsigned char in[] = {0, 0, 0, 3, 'a', 'b', 'c', 'd'};
    RPC2_String s = NULL;
    BUFFER b = input(in, sizeof in, RP2_SERVER);

    cr_assert_eq(unpack_string(&b, &s), -1);
    cr_assert_null(s);
    cr_assert_eq(b.buffer, mem);
}

Test(rpc_pack, unpack_string_rejects_huge_lengths)
{
    static const unsigned char in[] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0};
    RPC2_String s = NULL;
    BUFFER b = input(in, sizeof in, RP2_SERVER);

    cr_assert_eq(unpack_string(&b, &s), -1);
    cr_assert_eq(b.buffer, mem);
}

Test(rpc_pack, unpack_string_refused_to_a_client_without_abort)
{
    static const unsigned char in[] = {0, 0, 0, 1, 'a', 0, 0, 0};
    RPC2_String s = NULL;
    BUFFER b = input(in, sizeof in, RP2_CLIENT);

    cr_assert_eq(unpack_string(&b, &s), -1);
    cr_assert_null(s);
    cr_assert_eq(b.buffer, mem);

    b.who = RP2_MULTI;
    cr_assert_eq(unpack_string(&b, &s), 0);
    cr_assert_str_eq((char *)s, "a");
    cr_assert_eq(unpack_string(&b, NULL), -1);
}

Test(rpc_pack, unpack_countedbs_points_into_the_packet)
{
    static const unsigned char in[] = {0,   0, 0, 5, 'h', 'e', 'l', 'l',
                                       'o', 1, 2, 3, 0,   0,   0,   0};
    RPC2_CountedBS cbs = {0, NULL};
    BUFFER b = input(in, sizeof in, RP2_CLIENT);

    cr_assert_eq(unpack_countedbs(&b, &cbs), 0);
    cr_assert_eq(cbs.SeqLen, 5);
    cr_assert_eq((char *)cbs.SeqBody, mem + 4);
    cr_assert_eq(b.buffer, mem + 12);
    cr_assert_eq(unpack_countedbs(&b, &cbs), 0); /* an empty one */
    cr_assert_eq(cbs.SeqLen, 0);
    cr_assert_eq(b.buffer, mem + 16);

    b = input(in, 8, RP2_SERVER);
    cbs = (RPC2_CountedBS){77, NULL};
    cr_assert_eq(unpack_countedbs(&b, &cbs), -1);
    cr_assert_eq(cbs.SeqLen, 77);
    cr_assert_eq(b.buffer, mem);
    cr_assert_eq(unpack_countedbs(&b, NULL), -1);

    static const unsigned char huge[] = {0xFF, 0xFF, 0xFF, 0xFC, 0, 0, 0, 0};
    b = input(huge, sizeof huge, RP2_SERVER);
    cr_assert_eq(unpack_countedbs(&b, &cbs), -1);
}

/* ---- Unpacking: BoundedBS on the server -------------------------------- */

static const unsigned char bbs_in[] = {0, 0,   0,   10,  0, 0,   0,
                                       3, 'a', 'b', 'c', 0, 0xEE};

Test(rpc_pack, server_in_boundedbs_gets_max_from_seqlen)
{
    RPC2_BoundedBS bbs;
    BUFFER b = input(bbs_in, 12, RP2_SERVER);

    cr_assert_eq(unpack_boundedbs(&b, IN_MODE, &bbs), 0);
    cr_assert_eq(bbs.MaxSeqLen, 3);
    cr_assert_eq(bbs.SeqLen, 3);
    cr_assert(memcmp(bbs.SeqBody, "abc", 3) == 0);
    cr_assert_neq((char *)bbs.SeqBody, mem + 8); /* a copy it owns */
    cr_assert_eq(b.buffer, mem + 12);
    free(bbs.SeqBody);
}

Test(rpc_pack, server_in_out_boundedbs_allocates_max_zeroed)
{
    static const unsigned char zeros[7] = {0};
    RPC2_BoundedBS bbs;
    BUFFER b = input(bbs_in, 12, RP2_SERVER);

    cr_assert_eq(unpack_boundedbs(&b, IN_OUT_MODE, &bbs), 0);
    cr_assert_eq(bbs.MaxSeqLen, 10);
    cr_assert_eq(bbs.SeqLen, 3);
    cr_assert(memcmp(bbs.SeqBody, "abc", 3) == 0);
    cr_assert(memcmp(bbs.SeqBody + 3, zeros, 7) == 0);
    cr_assert_eq(b.buffer, mem + 12);
    free(bbs.SeqBody);
}

Test(rpc_pack, server_out_boundedbs_skips_no_body_bytes)
{
    static const unsigned char zeros[10] = {0};
    RPC2_BoundedBS bbs;
    BUFFER b = input(bbs_in, 12, RP2_SERVER);

    cr_assert_eq(unpack_boundedbs(&b, OUT_MODE, &bbs), 0);
    cr_assert_eq(bbs.MaxSeqLen, 10);
    cr_assert_eq(bbs.SeqLen, 0);
    cr_assert(memcmp(bbs.SeqBody, zeros, 10) == 0);
    cr_assert_eq(b.buffer, mem + 8);
    free(bbs.SeqBody);
}

Test(rpc_pack, server_boundedbs_empty_still_allocates)
{
    static const unsigned char in[] = {0, 0, 0, 0, 0, 0, 0, 0};
    RPC2_BoundedBS bbs;
    BUFFER b = input(in, sizeof in, RP2_SERVER);

    cr_assert_eq(unpack_boundedbs(&b, IN_OUT_MODE, &bbs), 0);
    cr_assert_eq(bbs.MaxSeqLen, 0);
    cr_assert_eq(bbs.SeqLen, 0);
    cr_assert_not_null(bbs.SeqBody);
    free(bbs.SeqBody);
}

Test(rpc_pack, server_boundedbs_rejects_seqlen_above_max)
{
    static const unsigned char in[] = {0, 0, 0,   2,   0,   0,
                                       0, 3, 'a', 'b', 'c', 0};
    RPC2_BoundedBS bbs = {5, 5, (RPC2_ByteSeq) "junk!"};
    BUFFER b = input(in, sizeof in, RP2_SERVER);

    cr_assert_eq(unpack_boundedbs(&b, IN_OUT_MODE, &bbs), -1);
    cr_assert_null(bbs.SeqBody);
    cr_assert_eq(bbs.MaxSeqLen, 0);
    cr_assert_eq(bbs.SeqLen, 0);
    cr_assert_eq(b.buffer, mem);

    /* For IN the received MaxSeqLen does not count. */
    cr_assert_eq(unpack_boundedbs(&b, IN_MODE, &bbs), 0);
    cr_assert_eq(bbs.MaxSeqLen, 3);
    free(bbs.SeqBody);
}

Test(rpc_pack, server_boundedbs_max_limit_is_4500)
{
    static const unsigned char ok[] = {0, 0, 0x11, 0x94, 0, 0, 0, 0}; /* 4500 */
    static const unsigned char big[] = {0, 0, 0x11, 0x95,
                                        0, 0, 0,    0}; /* 4501 */
    RPC2_BoundedBS bbs;
    BUFFER b = input(ok, sizeof ok, RP2_SERVER);

    cr_assert_eq(unpack_boundedbs(&b, OUT_MODE, &bbs), 0);
    cr_assert_eq(bbs.MaxSeqLen, 4500);
    free(bbs.SeqBody);

    b = input(big, sizeof big, RP2_SERVER);
    cr_assert_eq(unpack_boundedbs(&b, OUT_MODE, &bbs), -1);
    cr_assert_null(bbs.SeqBody);
    cr_assert_eq(b.buffer, mem);
}

Test(rpc_pack, server_in_boundedbs_over_4500_bytes_rejected)
{
    static unsigned char in[8 + 4504];
    RPC2_BoundedBS bbs;

    memset(in, 'z', sizeof in);
    memcpy(in, (const unsigned char[]){0, 0, 0x11, 0x95, 0, 0, 0x11, 0x95}, 8);
    BUFFER b = input(in, 8 + 4501, RP2_SERVER);
    cr_assert_eq(unpack_boundedbs(&b, IN_MODE, &bbs), -1);
    cr_assert_null(bbs.SeqBody);

    in[7] = 0x94; /* SeqLen 4500: accepted */
    b = input(in, 8 + 4500, RP2_SERVER);
    cr_assert_eq(unpack_boundedbs(&b, IN_MODE, &bbs), 0);
    cr_assert_eq(bbs.SeqLen, 4500);
    cr_assert_eq(bbs.SeqBody[4499], 'z');
    cr_assert_eq(b.buffer, mem + 8 + 4500);
    free(bbs.SeqBody);
}

Test(rpc_pack, server_boundedbs_truncated_input)
{
    RPC2_BoundedBS bbs;
    BUFFER b = input(bbs_in, 10, RP2_SERVER); /* 2 of 3 body bytes */

    cr_assert_eq(unpack_boundedbs(&b, IN_MODE, &bbs), -1);
    cr_assert_null(bbs.SeqBody);
    cr_assert_eq(b.buffer, mem);

    b = input(bbs_in, 11, RP2_SERVER); /* padding cut off: fine */
    cr_assert_eq(unpack_boundedbs(&b, IN_MODE, &bbs), 0);
    cr_assert_eq(b.buffer, mem + 11);
    free(bbs.SeqBody);

    b = input(bbs_in, 7, RP2_SERVER); /* SeqLen word cut */
    cr_assert_eq(unpack_boundedbs(&b, IN_MODE, &bbs), -1);
    cr_assert_null(bbs.SeqBody);
    cr_assert_eq(unpack_boundedbs(&b, IN_MODE, NULL), -1);
}

/* ---- Unpacking: BoundedBS on the client -------------------------------- */

Test(rpc_pack, client_boundedbs_fills_its_own_buffer)
{
    static const unsigned char in[] = {0,   0,   0,   99,  0,   0, 0, 5,
                                       'h', 'e', 'l', 'l', 'o', 0, 0, 0};
    RPC2_Byte body[8];
    RPC2_BoundedBS bbs = {8, 0, body};
    BUFFER b = input(in, sizeof in, RP2_CLIENT);

    memset(body, '.', sizeof body);
    cr_assert_eq(unpack_boundedbs(&b, OUT_MODE, &bbs), 0);
    cr_assert_eq(bbs.MaxSeqLen, 8);
    cr_assert_eq(bbs.SeqLen, 5);
    cr_assert_eq(bbs.SeqBody, body);
    cr_assert(memcmp(body, "hello...", 8) == 0);
    cr_assert_eq(b.buffer, mem + 16);

    b = input(in, sizeof in, RP2_CLIENT);
    bbs.SeqLen = 0;
    cr_assert_eq(unpack_boundedbs(&b, IN_OUT_MODE, &bbs), 0);
    cr_assert_eq(bbs.SeqLen, 5);
}

Test(rpc_pack, client_boundedbs_rejects_more_than_its_max)
{
    static const unsigned char in[] = {0,   0,   0,   4,   0,   0, 0, 5,
                                       'h', 'e', 'l', 'l', 'o', 0, 0, 0};
    RPC2_Byte body[4] = {0};
    RPC2_BoundedBS bbs = {4, 1, body};
    BUFFER b = input(in, sizeof in, RP2_CLIENT);

    cr_assert_eq(unpack_boundedbs(&b, OUT_MODE, &bbs), -1);
    cr_assert_eq(bbs.SeqLen, 1);
    cr_assert_eq(body[0], 0);
    cr_assert_eq(b.buffer, mem);

    bbs = (RPC2_BoundedBS){8, 0, NULL}; /* no buffer */
    cr_assert_eq(unpack_boundedbs(&b, OUT_MODE, &bbs), -1);

    bbs = (RPC2_BoundedBS){8, 0, body}; /* truncated */
    b = input(in, 12, RP2_CLIENT);
    cr_assert_eq(unpack_boundedbs(&b, OUT_MODE, &bbs), -1);
    cr_assert_eq(b.buffer, mem);
}

Test(rpc_pack, client_in_boundedbs_and_other_sides_read_nothing)
{
    static const unsigned char in[] = {0, 0, 0, 9, 0, 0, 0, 2, 'h', 'i', 0, 0};
    RPC2_Byte body[4] = {0};
    RPC2_BoundedBS bbs = {4, 3, body};
    BUFFER b = input(in, sizeof in, RP2_CLIENT);

    cr_assert_eq(unpack_boundedbs(&b, IN_MODE, &bbs), 0);
    cr_assert_eq(bbs.SeqLen, 0);
    cr_assert_eq(bbs.MaxSeqLen, 4);
    cr_assert_eq(b.buffer, mem + 8);

    b = input(in, sizeof in, RP2_MULTI);
    bbs.SeqLen = 3;
    cr_assert_eq(unpack_boundedbs(&b, OUT_MODE, &bbs), 0);
    cr_assert_eq(bbs.SeqLen, 0);
    cr_assert_eq(body[0], 0);
    cr_assert_eq(b.buffer, mem + 8);
}

/* ---- Unpacking: structures ---------------------------------------------- */

Test(rpc_pack, unpack_call_count_entry)
{
    CallCountEntry e = {0};
    BUFFER b = input(counts_exp, sizeof counts_exp, RP2_SERVER);

    cr_assert_eq(unpack_struct_CallCountEntry(&b, &e), 0);
    cr_assert_str_eq((char *)e.name, "op");
    cr_assert_eq(e.countent, 1);
    cr_assert_eq(e.countexit, 2);
    cr_assert_eq(e.tsec, 3);
    cr_assert_eq(e.tusec, 4);
    cr_assert_eq(e.counttime, -5);
    cr_assert_eq(b.buffer, mem + sizeof counts_exp);

    CallCountEntry before = {(RPC2_String) "keep", 9, 9, 9, 9, 9};
    e = before;
    b = input(counts_exp, sizeof counts_exp - 1, RP2_SERVER);
    cr_assert_eq(unpack_struct_CallCountEntry(&b, &e), -1);
    cr_assert_eq(e.name, before.name);
    cr_assert_eq(e.countent, 9);
    cr_assert_eq(e.counttime, 9);
    cr_assert_eq(b.buffer, mem);

    b = input(counts_exp, sizeof counts_exp, RP2_CLIENT); /* a string */
    cr_assert_eq(unpack_struct_CallCountEntry(&b, &e), -1);
    cr_assert_eq(unpack_struct_CallCountEntry(&b, NULL), -1);
    cr_assert_eq(b.buffer, mem);
}

Test(rpc_pack, unpack_multi_call_entry_leaves_counthost)
{
    MultiCallEntry e = {NULL, 0, 0, 0, 0, 0, 1234};
    BUFFER b = input(counts_exp, sizeof counts_exp, RP2_SERVER);

    cr_assert_eq(unpack_struct_MultiCallEntry(&b, &e), 0);
    cr_assert_str_eq((char *)e.name, "op");
    cr_assert_eq(e.counttime, -5);
    cr_assert_eq(e.counthost, 1234);
    cr_assert_eq(b.buffer, mem + sizeof counts_exp);

    b = input(counts_exp, sizeof counts_exp - 1, RP2_SERVER);
    cr_assert_eq(unpack_struct_MultiCallEntry(&b, &e), -1);
    cr_assert_eq(unpack_struct_MultiCallEntry(&b, NULL), -1);
    cr_assert_eq(b.buffer, mem);
}

Test(rpc_pack, unpack_multi_stub_work)
{
    static const unsigned char in[] = {0,    0,    0, 1, 0xFF, 0xFF,
                                       0xFF, 0xFF, 0, 0, 1,    0};
    MultiStubWork w = {0};
    BUFFER b = input(in, sizeof in, RP2_CLIENT);

    cr_assert_eq(unpack_struct_MultiStubWork(&b, &w), 0);
    cr_assert_eq(w.opengate, 1);
    cr_assert_eq(w.tsec, -1);
    cr_assert_eq(w.tusec, 256);
    cr_assert_eq(b.buffer, mem + 12);

    w = (MultiStubWork){7, 7, 7};
    b = input(in, 11, RP2_CLIENT);
    cr_assert_eq(unpack_struct_MultiStubWork(&b, &w), -1);
    cr_assert_eq(w.opengate, 7);
    cr_assert_eq(w.tusec, 7);
    cr_assert_eq(unpack_struct_MultiStubWork(&b, NULL), -1);
    cr_assert_eq(b.buffer, mem);
}

/* ---- Round trip ---------------------------------------------------------- */

Test(rpc_pack, everything_round_trips_on_the_server)
{
    BUFFER b = dirty(EVERYTHING_SIZE, RP2_CLIENT);

    cr_assert_eq(pack_everything(&b), 0);
    b = (BUFFER){mem, mem + EVERYTHING_SIZE, RP2_SERVER};

    RPC2_Integer i;
    RPC2_Unsigned u;
    RPC2_Byte by, five[5];
    RPC2_Double d;
    RPC2_String s;
    RPC2_CountedBS cbs;
    RPC2_BoundedBS bbs;
    RPC2_EncryptionKey key;
    CallCountEntry cc;
    MultiCallEntry mc = {0};
    MultiStubWork w;

    cr_assert_eq(unpack_integer(&b, &i), 0);
    cr_assert_eq(unpack_unsigned(&b, &u), 0);
    cr_assert_eq(unpack_byte(&b, &by), 0);
    cr_assert_eq(unpack_double(&b, &d), 0);
    cr_assert_eq(unpack_bytes(&b, five, 5), 0);
    cr_assert_eq(unpack_string(&b, &s), 0);
    cr_assert_eq(unpack_countedbs(&b, &cbs), 0);
    cr_assert_eq(unpack_boundedbs(&b, IN_OUT_MODE, &bbs), 0);
    cr_assert_eq(unpack_encryptionKey(&b, key), 0);
    cr_assert_eq(unpack_struct_CallCountEntry(&b, &cc), 0);
    cr_assert_eq(unpack_struct_MultiCallEntry(&b, &mc), 0);
    cr_assert_eq(unpack_struct_MultiStubWork(&b, &w), 0);
    cr_assert_eq(b.buffer, b.eob);

    cr_assert_eq(i, -7);
    cr_assert_eq(u, 7);
    cr_assert_eq(by, 'B');
    cr_assert_eq(d, 2.5);
    cr_assert(memcmp(five, (RPC2_Byte[]){1, 2, 3, 4, 5}, 5) == 0);
    cr_assert_str_eq((char *)s, "abcd");
    cr_assert_eq(cbs.SeqLen, 6);
    cr_assert(memcmp(cbs.SeqBody, "counts", 6) == 0);
    cr_assert_eq(bbs.MaxSeqLen, 100);
    cr_assert_eq(bbs.SeqLen, 3);
    cr_assert(memcmp(bbs.SeqBody, "bnd", 3) == 0);
    cr_assert(memcmp(key, (RPC2_Byte[]){9, 8, 7, 6, 5, 4, 3, 2}, 8) == 0);
    cr_assert_str_eq((char *)cc.name, "name5");
    cr_assert_eq(cc.counttime, 5);
    cr_assert_str_eq((char *)mc.name, "m");
    cr_assert_eq(mc.counttime, 10);
    cr_assert_eq(mc.counthost, 0);
    cr_assert_eq(w.opengate, 12);
    cr_assert_eq(w.tusec, 14);
    free(bbs.SeqBody);
}
