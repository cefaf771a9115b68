/* SPDX-License-Identifier: MIT */
/*
 * IOMGR with shared-stack LWPs (LWP_CREATE_SHARED_STACK): their requests
 * live off their stacks, so the I/O manager may wake, time out, cancel or
 * forget them while their stack bytes are elsewhere.
 */
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>

#include "iomgr_test.h"

TestSuite(iomgr_shared, .init = iot_setup, .fini = iot_teardown,
          .timeout = 30);

static PROCESS spawn_shared(void (*ep)(void *), void *arg)
{
    struct lwp_attr a = LWP_ATTR_INIT;
    PROCESS pid = NULL;

    a.priority = IOT_HIGH;
    a.name = "shared";
    a.flags = LWP_CREATE_SHARED_STACK;
    cr_assert_eq(LWP_CreateProcessAttr(&a, ep, arg, &pid), LWP_SUCCESS);
    return pid;
}

/* ---- Many connections echoing through IOMGR_WaitIO / IOMGR_Select ---- */

#define NCONN 24
#define NMSG 5

struct conn {
    int fd;      /* the LWP's end */
    int select;  /* wait with IOMGR_Select instead of IOMGR_WaitIO */
    int echoed;
    int failed;
};

static int wait_readable(struct conn *c)
{
    fd_set r;

    if (!c->select)
        return IOMGR_WaitIO(c->fd, IOMGR_READ, NULL) == IOMGR_READ;
    FD_ZERO(&r);
    FD_SET(c->fd, &r);
    return IOMGR_Select(c->fd + 1, &r, NULL, NULL, NULL) == 1 &&
           FD_ISSET(c->fd, &r);
}

static void echo_conn(void *arg)
{
    struct conn *c = arg;
    char tag[16];

    /* A local whose value must survive every wait. */
    snprintf(tag, sizeof(tag), "fd%d", c->fd);
    while (c->echoed < NMSG) {
        char buf[32];
        ssize_t n;

        if (!wait_readable(c)) {
            c->failed++;
            return;
        }
        n = read(c->fd, buf, sizeof(buf));
        if (n <= 0 || write(c->fd, buf, (size_t)n) != n ||
            strncmp(tag, "fd", 2) != 0 || atoi(tag + 2) != c->fd) {
            c->failed++;
            return;
        }
        c->echoed++;
    }
}

static void echo_many(int use_select)
{
    static struct conn c[NCONN];
    int peer[NCONN];

    for (int i = 0; i < NCONN; i++) {
        int sv[2];

        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        c[i] = (struct conn){.fd = sv[0], .select = use_select};
        peer[i] = sv[1];
        spawn_shared(echo_conn, &c[i]);
    }
    for (int m = 0; m < NMSG; m++) {
        for (int i = 0; i < NCONN; i++) {
            char msg[16];
            int len = snprintf(msg, sizeof(msg), "m%d-%d", m, i);
            cr_assert_eq(write(peer[i], msg, (size_t)len), len);
        }
        for (int i = 0; i < NCONN; i++) {
            char want[16], got[16] = {0};
            int len = snprintf(want, sizeof(want), "m%d-%d", m, i);

            IOT_WAIT_FOR(c[i].echoed == m + 1 || c[i].failed);
            cr_assert_eq(read(peer[i], got, sizeof(got)), len);
            cr_assert_str_eq(got, want);
        }
    }
    for (int i = 0; i < NCONN; i++) {
        cr_assert_eq(c[i].failed, 0);
        close(peer[i]);
        close(c[i].fd);
    }
}

Test(iomgr_shared, waitio_echo_on_many_connections)
{
    echo_many(0);
}

Test(iomgr_shared, select_echo_on_many_connections)
{
    echo_many(1);
}

/* ---- Timeouts, cancel, QSignal, destroy ---- */

struct waiter {
    int fd;
    int waitio;
    struct timeval timeout; /* tv_sec < 0: none */
    int rc, err, done;
};

static void waiter_main(void *arg)
{
    struct waiter *w = arg;
    struct timeval *tv = w->timeout.tv_sec < 0 ? NULL : &w->timeout;
    fd_set r;

    errno = 0;
    if (w->waitio) {
        w->rc = IOMGR_WaitIO(w->fd, IOMGR_READ, tv);
    } else {
        FD_ZERO(&r);
        if (w->fd >= 0)
            FD_SET(w->fd, &r);
        w->rc = IOMGR_Select(w->fd + 1, w->fd >= 0 ? &r : NULL, NULL, NULL,
                             tv);
    }
    w->err = errno;
    w->done = 1;
}

static PROCESS start_waiter(struct waiter *w, int fd, int waitio, long usec)
{
    memset(w, 0, sizeof(*w));
    w->fd = fd;
    w->waitio = waitio;
    w->timeout.tv_sec = usec < 0 ? -1 : usec / 1000000;
    w->timeout.tv_usec = usec < 0 ? 0 : usec % 1000000;
    return spawn_shared(waiter_main, w);
}

Test(iomgr_shared, timeouts_of_both_calls_return_zero)
{
    struct waiter a, b, c;
    int fds[2];

    iot_pipe(fds);
    start_waiter(&a, fds[0], 1, 20000);
    start_waiter(&b, fds[0], 0, 30000);
    start_waiter(&c, -1, 0, 10000); /* a sleep */
    IOT_WAIT_FOR(a.done && b.done && c.done);
    cr_assert_eq(a.rc, 0);
    cr_assert_eq(b.rc, 0);
    cr_assert_eq(c.rc, 0);
    close(fds[0]);
    close(fds[1]);
}

Test(iomgr_shared, cancel_ends_both_calls_with_minus_two)
{
    struct waiter a, b;
    int fds[2];
    PROCESS pa, pb;

    iot_pipe(fds);
    pa = start_waiter(&a, fds[0], 1, -1);
    pb = start_waiter(&b, fds[0], 0, -1);
    cr_assert_eq(IOMGR_Cancel(pa), 0);
    cr_assert_eq(IOMGR_Cancel(pb), 0);
    LWP_DispatchProcess();
    cr_assert(a.done && b.done);
    cr_assert_eq(a.rc, -2);
    cr_assert_eq(b.rc, -2);
    close(fds[0]);
    close(fds[1]);
}

Test(iomgr_shared, qsignal_of_a_waiting_lwp_is_eintr)
{
    struct waiter a;
    int fds[2];
    PROCESS pa;

    iot_pipe(fds);
    pa = start_waiter(&a, fds[0], 1, -1);
    cr_assert_eq(LWP_QSignal(pa), LWP_SUCCESS);
    LWP_DispatchProcess();
    cr_assert(a.done);
    cr_assert_eq(a.rc, -1);
    cr_assert_eq(a.err, EINTR);
    close(fds[0]);
    close(fds[1]);
}

Test(iomgr_shared, destroyed_waiters_are_forgotten)
{
    struct waiter a, b, c;
    int fds[2];
    PROCESS pa, pb;

    iot_pipe(fds);
    pa = start_waiter(&a, fds[0], 1, -1);
    pb = start_waiter(&b, fds[0], 0, 50000);
    start_waiter(&c, fds[0], 1, -1);
    cr_assert_eq(LWP_DestroyProcess(pa), LWP_SUCCESS);
    cr_assert_eq(LWP_DestroyProcess(pb), LWP_SUCCESS);
    cr_assert_eq(write(fds[1], "x", 1), 1);
    IOT_WAIT_FOR(c.done);
    cr_assert_eq(c.rc, IOMGR_READ);
    /* b's timer would have fired by now: nothing of it is left. */
    {
        struct timeval tick = {0, 80000};
        cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tick), 0);
    }
    cr_assert_not(a.done);
    cr_assert_not(b.done);
    close(fds[0]);
    close(fds[1]);
}
