/* SPDX-License-Identifier: MIT */
/*
 * <rpc2/secure.h> -- the public part of rpc2sec, the ESP-like security
 * layer under every RPC2 connection, under Coda's names: the protocol
 * version, the iteration count Coda's key derivation is named after, the
 * IANA ids of the algorithms a bind negotiates, and Coda's two utility
 * calls.
 *
 * Coda's header also exposes its algorithm tables, the security
 * association and the socket-level secure_sendto/secure_recvfrom; here
 * those are internal to the library (the RPC layer applies rpc2sec to
 * every connection itself), so they are left out, as are its generic
 * MAXPACKETSIZE/MAXIVLEN/MAXICVLEN macros.
 */
#ifndef RPC2_SECURE_H
#define RPC2_SECURE_H

#include <stddef.h>

#include <lwp/export.h>

/* rpc2sec protocol version spoken (1: standard AES-CCM counter blocks). */
#define SECURE_VERSION 1
/* Coda's nominal PBKDF iteration count; the bootstrap key is computed as
 * Coda computes it with this count (see docs/rpc.md on its strength). */
#define SECURE_PBKDF_ITERATIONS 10000

/* Ciphers (IANA IKEv2 transform type 1). */
#define SECURE_ENCR_NULL 11
#define SECURE_ENCR_AES_CBC 12
#define SECURE_ENCR_AES_CCM_8 14
#define SECURE_ENCR_AES_CCM_12 15
#define SECURE_ENCR_AES_CCM_16 16

/* Integrity algorithms (IANA IKEv2 transform type 3). */
#define SECURE_AUTH_NONE 0
#define SECURE_AUTH_AES_XCBC_96 9

#ifdef __cplusplus
extern "C" {
#endif

/* Fills buf with len bytes from OpenSSL's CSPRNG (RAND_bytes). buf is
 * borrowed. Never yields; thread-safe. Cannot fail: if the generator
 * reports an error the process is aborted with a message, because no
 * caller could safely use the bytes. */
LWP_EXPORT void secure_random_bytes(void *buf, size_t len);

/* Compares user_data (user_len bytes, e.g. a password or token a peer
 * sent) with secret (secret_len bytes) in time that depends only on
 * secret_len. Both are borrowed. Never yields; thread-safe. Returns 1
 * when the lengths and all bytes are equal, else 0. */
LWP_EXPORT int secure_compare(const void *user_data, size_t user_len,
                              const void *secret, size_t secret_len);

#ifdef __cplusplus
}
#endif

#endif /* RPC2_SECURE_H */
