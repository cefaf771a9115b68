/* SPDX-License-Identifier: MIT */
/* lwpt_under_valgrind (lwp_test.h), shared by every test binary that
 * must leave out what valgrind cannot reproduce. */
#include "../lwp_test.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define LWPT_HAVE_VALGRIND 1
#endif
#endif

int lwpt_under_valgrind(void)
{
#ifdef LWPT_HAVE_VALGRIND
    return RUNNING_ON_VALGRIND;
#else
    return 0;
#endif
}
