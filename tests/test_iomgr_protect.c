/* SPDX-License-Identifier: MIT */
/*
 * LWP_ProtectStacks with IOMGR: while the stacks of switched-out LWPs are
 * PROT_NONE, the IO MANAGER must find nothing of a waiter in its stack, so
 * waits in IOMGR_WaitIO, IOMGR_Select and IOMGR_Sleep complete as usual.
 */
#include <string.h>

#include "iomgr_test.h"

TestSuite(iomgr_protect, .init = iot_setup, .fini = iot_teardown,
          .timeout = 30);

static int got_bytes, select_rc, slept, woke_from_old_wait;

static void read_one_byte(void *arg)
{
    int fd = *(int *)arg;
    char c = 0;

    got_bytes = IOMGR_WaitIO(fd, IOMGR_READ, NULL);
    if (got_bytes == IOMGR_READ && read(fd, &c, 1) == 1 && c == 'x')
        got_bytes = 100;
}

Test(iomgr_protect, waitio_on_a_pipe_completes)
{
    int fds[2];

    iot_pipe(fds);
    LWP_ProtectStacks();
    iot_spawn(read_one_byte, IOT_HIGH, &fds[0]);
    cr_assert_eq(got_bytes, 0, "still waiting");
    cr_assert_eq(write(fds[1], "x", 1), 1);
    IOT_WAIT_FOR(got_bytes != 0);
    cr_assert_eq(got_bytes, 100, "ready and read: %d", got_bytes);
    LWP_UnProtectStacks();
    close(fds[0]);
    close(fds[1]);
}

static void select_with_timeout(void *arg)
{
    int fd = *(int *)arg;
    fd_set rd;
    struct timeval tv = {0, 20000};

    FD_ZERO(&rd);
    FD_SET(fd, &rd);
    select_rc = IOMGR_Select(fd + 1, &rd, NULL, NULL, &tv) + 10;
}

Test(iomgr_protect, select_times_out)
{
    int fds[2];

    iot_pipe(fds);
    LWP_ProtectStacks();
    iot_spawn(select_with_timeout, IOT_HIGH, &fds[0]);
    IOT_WAIT_FOR(select_rc != 0);
    cr_assert_eq(select_rc, 10, "timed out with 0: %d", select_rc - 10);
    LWP_UnProtectStacks();
    close(fds[0]);
    close(fds[1]);
}

static void sleep_one_second(void *arg)
{
    slept = IOMGR_Sleep(1) + 10;
}

Test(iomgr_protect, sleep_completes)
{
    LWP_ProtectStacks();
    iot_spawn(sleep_one_second, IOT_HIGH, NULL);
    IOT_WAIT_FOR(slept != 0);
    cr_assert_eq(slept, 10);
    LWP_UnProtectStacks();
}

/* A wait that began before LWP_ProtectStacks has its request where it
 * began, in the waiter's stack: that stack is protected only once the
 * waiter has run again. */
static void wait_then_wait_again(void *arg)
{
    int fd = *(int *)arg;
    char c;

    if (IOMGR_WaitIO(fd, IOMGR_READ, NULL) == IOMGR_READ &&
        read(fd, &c, 1) == 1)
        woke_from_old_wait = 1;
    if (IOMGR_WaitIO(fd, IOMGR_READ, NULL) == IOMGR_READ &&
        read(fd, &c, 1) == 1)
        woke_from_old_wait = 2;
}

Test(iomgr_protect, wait_begun_before_protection_completes)
{
    int fds[2];

    iot_pipe(fds);
    iot_spawn(wait_then_wait_again, IOT_HIGH, &fds[0]);
    LWP_ProtectStacks();
    cr_assert_eq(write(fds[1], "a", 1), 1);
    IOT_WAIT_FOR(woke_from_old_wait == 1);
    cr_assert_eq(write(fds[1], "b", 1), 1);
    IOT_WAIT_FOR(woke_from_old_wait == 2);
    LWP_UnProtectStacks();
    close(fds[0]);
    close(fds[1]);
}

/* Protection turned off while a wait with its request on the heap is
 * under way: the wait completes all the same. */
Test(iomgr_protect, unprotect_during_a_wait)
{
    int fds[2];

    iot_pipe(fds);
    LWP_ProtectStacks();
    iot_spawn(read_one_byte, IOT_HIGH, &fds[0]);
    LWP_UnProtectStacks();
    cr_assert_eq(write(fds[1], "x", 1), 1);
    IOT_WAIT_FOR(got_bytes != 0);
    cr_assert_eq(got_bytes, 100);
    close(fds[0]);
    close(fds[1]);
}
