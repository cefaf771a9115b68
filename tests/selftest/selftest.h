/* SPDX-License-Identifier: MIT */
#ifndef LWP_SELFTEST_H
#define LWP_SELFTEST_H

/* Records and prints one check's outcome. */
void selftest_check(int ok, const char *what);

/* An LWP entry point that checks its callee-saved registers, starting
 * from (long)base, around every yield for ever, counting failures in
 * selftest_peer_failures (with the assembly switch only). */
void selftest_regcheck_peer(void *base);
extern int selftest_peer_failures;

/* An LWP entry point that sets *(int *)arg to whether its frame is
 * 16-byte aligned and a varargs call with a double (movaps on a
 * misaligned stack) works. */
void selftest_aligned_probe(void *arg);

/* The shared-stack checks (selftest_shared.c). */
void selftest_shared(void);

#endif /* LWP_SELFTEST_H */
