/* SPDX-License-Identifier: MIT */
/*
 * The server under test: one LWP per connection, blocking through IOMGR.
 * Each LWP waits until its socket is readable, reads, writes the bytes
 * back and waits again: the syscalls of the libev server (which is called
 * back on readability, reads and writes), so the difference between the
 * two is what LWPs and IOMGR add.
 *
 * Two ways to wait: IOMGR_WaitIO, the fast path for this shape of server,
 * and IOMGR_Select with the one socket in the read set, the path existing
 * Coda code takes. Coda code also reads first and selects only when the
 * read finds nothing (ECHO_CODA), on stacks of 64 KiB: the system calls of
 * State Threads' server, whose st_read tries the read first too. With 10,000 connections the fds pass FD_SETSIZE, so
 * the select path uses its own bit arrays (IOMGR_Select accepts any nfds,
 * as select(2) does) and sets the bit by hand: FD_SET may be checked
 * against FD_SETSIZE by _FORTIFY_SOURCE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lwp/iomgr.h>
#include <lwp/lwp.h>

#include "bench_echo.h"

#define CONN_STACK (32 * 1024) /* the minimum; a connection needs ~1 KiB */
#define CODA_STACK (64 * 1024) /* what Coda's servers give an LWP */

static int use_select;
static int use_shared;     /* LWP_CREATE_SHARED_STACK connections */
static int use_read_first; /* Coda's shape: read, select on EAGAIN */

/* One waiter: the fd and, for the select path, a bit array long enough
 * for it (and never shorter than an fd_set). Only the word holding fd is
 * ever non-zero (IOMGR_Select clears every bit that is not ready), so
 * setting that word is the whole FD_ZERO + FD_SET. */
struct waiter {
    int fd;
    fd_mask *bits;
};

static int waiter_init(struct waiter *w, int fd, int is_conn)
{
    size_t words = (size_t)fd / NFDBITS + 1;

    w->fd = fd;
    w->bits = NULL;
    /* Coda code keeps its fd_set on the stack (read_first_loop). */
    if (!use_select || (is_conn && use_read_first && fd < FD_SETSIZE))
        return 0;
    if (words < sizeof(fd_set) / sizeof(fd_mask))
        words = sizeof(fd_set) / sizeof(fd_mask);
    w->bits = calloc(words, sizeof(fd_mask));
    return w->bits ? 0 : -1;
}

static int select_one(struct waiter *w, int events)
{
    fd_mask *word = &w->bits[w->fd / NFDBITS];
    fd_set *set = (fd_set *)w->bits;

    *word = (fd_mask)1 << (w->fd % NFDBITS);
    return IOMGR_Select(w->fd + 1, events & IOMGR_READ ? set : NULL,
                        events & IOMGR_WRITE ? set : NULL, NULL, NULL);
}

/* Blocks until w->fd is ready for `events`; returns 0, or -1 on error. */
static int wait_ready(struct waiter *w, int events)
{
    int rc =
        use_select ? select_one(w, events) : IOMGR_WaitIO(w->fd, events, NULL);

    return rc > 0 ? 0 : -1;
}

/* Writes all of buf, waiting for room if need be (never needed under the
 * lock-step load, but an echo server must not drop bytes). */
static int write_all(struct waiter *w, const char *buf, ssize_t len)
{
    while (len > 0) {
        ssize_t n = write(w->fd, buf, (size_t)len);

        if (n > 0) {
            buf += n;
            len -= n;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            return -1;
        } else if (wait_ready(w, IOMGR_WRITE) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Echoes what is there; -1 once the connection is over. Not inlined: the
 * buffer's frame is gone while the connection waits, so the live stack of
 * a waiting connection is a few hundred bytes (what a shared-stack LWP
 * copies at each switch). */
static __attribute__((noinline)) int echo_once(struct waiter *w)
{
    char buf[ECHO_BUF];
    ssize_t n = read(w->fd, buf, sizeof(buf));

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0 || write_all(w, buf, n) != 0)
        return -1;
    return 0;
}

/* Reads until the connection is over, waiting only when a read finds
 * nothing; -1 at the end. */
static int read_first_io(struct waiter *w)
{
    char buf[ECHO_BUF];

    for (;;) {
        ssize_t n = read(w->fd, buf, sizeof(buf));

        if (n > 0) {
            if (write_all(w, buf, n) != 0)
                return -1;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            return -1;
        } else if (errno == EAGAIN && wait_ready(w, IOMGR_READ) != 0) {
            return -1;
        }
    }
}

/* The Coda shape keeps its fd_set on the stack, as Coda code does, when
 * the fd fits one (not at 10,000 connections). */
static int read_first_loop(struct waiter *w)
{
    fd_set rmask;
    int rc;

    if (w->bits)
        return read_first_io(w);
    FD_ZERO(&rmask);
    w->bits = (fd_mask *)(void *)&rmask;
    rc = read_first_io(w);
    w->bits = NULL;
    return rc;
}

static void connection(void *arg)
{
    struct waiter w;

    if (waiter_init(&w, (int)(intptr_t)arg, 1) == 0) {
        if (use_read_first)
            read_first_loop(&w);
        else
            while (wait_ready(&w, IOMGR_READ) == 0 && echo_once(&w) == 0)
                ;
    }
    free(w.bits);
    close(w.fd);
}

static int start_connection(int fd)
{
    struct lwp_attr a = LWP_ATTR_INIT;

    a.stacksize = use_read_first ? CODA_STACK : CONN_STACK;
    a.name = "echo";
    a.flags = use_shared ? LWP_CREATE_SHARED_STACK : 0;
    return LWP_CreateProcessAttr(&a, connection, (void *)(intptr_t)fd, NULL);
}

/* Accepts whatever the backlog holds; each connection gets an LWP, which
 * runs (and parks in its first wait) before LWP_CreateProcess returns. */
static int accept_all(int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

        if (fd < 0)
            return errno == EAGAIN || errno == EINTR || errno == ECONNABORTED
                       ? 0
                       : -1;
        echo_nodelay(fd);
        if (start_connection(fd) != LWP_SUCCESS) {
            close(fd);
            return -1;
        }
    }
}

void echo_serve_lwp(int lfd, enum echo_kind kind)
{
    struct waiter lw;
    int rc;

    use_select = kind == ECHO_SELECT || kind == ECHO_SELECT_SHARED ||
                 kind == ECHO_CODA;
    use_shared = kind == ECHO_WAITIO_SHARED || kind == ECHO_SELECT_SHARED;
    use_read_first = kind == ECHO_CODA;
    /* Stack-use accounting fills each new stack with a pattern: set-up
     * cost for 10,000 connections that says nothing about serving them. */
    lwp_stackUseEnabled = 0;
    rc = IOMGR_Initialize();
    if (rc != LWP_SUCCESS || waiter_init(&lw, lfd, 0) != 0) {
        fprintf(stderr, "bench_echo: IOMGR_Initialize: %d\n", rc);
        return;
    }
    while (wait_ready(&lw, IOMGR_READ) == 0 && accept_all(lfd) == 0)
        ;
    perror("bench_echo: LWP server: accept");
}
