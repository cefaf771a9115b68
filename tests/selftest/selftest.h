/* SPDX-License-Identifier: MIT */
#ifndef LWP_SELFTEST_H
#define LWP_SELFTEST_H

/* Records and prints one check's outcome. */
void selftest_check(int ok, const char *what);

/* The shared-stack checks (selftest_shared.c). */
void selftest_shared(void);

#endif /* LWP_SELFTEST_H */
