/* SPDX-License-Identifier: MIT */
/* Lock: read/write/shared locks between LWPs. */
#include <criterion/criterion.h>
#include <lwp/lock.h>

/* Coda code initialises locks with four zeros; -Wextra warns about it. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

Test(lock, static_initialiser_is_unlocked)
{
    struct Lock l = {0, 0, 0, 0};

    cr_assert_eq(CheckLock(&l), 0);
    ObtainWriteLock(&l);
    cr_assert_eq(CheckLock(&l), -1);
    ReleaseWriteLock(&l);
    cr_assert_eq(CheckLock(&l), 0);
}
