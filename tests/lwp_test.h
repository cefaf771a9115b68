/* SPDX-License-Identifier: MIT */
/* Helpers shared by the LWP core tests: an order log and fixtures. */
#ifndef LWP_TEST_H
#define LWP_TEST_H

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <lwp/lwp.h>

/* Order log: steps append short tokens; tests compare the whole string. */
extern char lwpt_log[4096];
void lwpt_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lwpt_reset(void);

/* LWP_Init at LWP_NORMAL_PRIORITY; the fini terminates LWP support. */
void lwpt_setup(void);
void lwpt_teardown(void);

/* Create an LWP or fail the test. */
PROCESS lwpt_spawn(void (*ep)(void *), int prio, void *arg, const char *name);

/* Create an LWP with LWP_CREATE_SHARED_STACK | flags and the given
 * stacksize (0: the default) or fail the test. */
PROCESS lwpt_spawn_shared(void (*ep)(void *), int prio, void *arg,
                          const char *name, unsigned int flags, int stacksize);

/* Busy-wait `ms` milliseconds of monotonic time without yielding. */
void lwpt_spin_ms(long ms);
/* Read what a redirected stream got into buf (NUL-terminated). */
void lwpt_slurp(FILE *f, char *buf, size_t cap);

/* Non-zero when running under valgrind, which cannot hold as many
 * mappings as the scale tests make nor deliver guard-page faults the way
 * the kernel does (support/valgrind_probe.c). */
int lwpt_under_valgrind(void);

/* Valgrind computes SSE arithmetic in round-to-nearest whatever MXCSR
 * says and raises no MXCSR exception flags, so a test that tells rounding
 * modes or flags apart by their results cannot run under it. */
#define LWPT_SKIP_FP_MODES_UNDER_VALGRIND()                                   \
    do {                                                                      \
        if (lwpt_under_valgrind())                                            \
            cr_skip_test("valgrind computes in round-to-nearest only and "    \
                         "sets no exception flags");                          \
    } while (0)

/* Runs body() in a child process whose stderr is a pipe, then _exit(0);
 * returns the child's wait status, and what it wrote in buf
 * (NUL-terminated, cap bytes at most) (support/child.c). */
int lwpt_in_child(void (*body)(void), char *buf, size_t cap);
/* Runs body() as lwpt_in_child does and asserts that the child exited with
 * status 0, wrote `first` before `then`, and wrote "main-continues". */
void lwpt_child_says_in_order(void (*body)(void), const char *first,
                              const char *then);
/* Recurses 512-byte frames until the stack ends (support/child.c). */
int lwpt_recurse(int depth);

/* Entry points that signal / wait on the event given as their argument. */
void lwpt_signal(void *event);
void lwpt_wait(void *event);

#endif /* LWP_TEST_H */
