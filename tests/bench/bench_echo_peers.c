/* SPDX-License-Identifier: MIT */
/*
 * The servers bench_echo holds ours against, each the plainest correct
 * version of the same service:
 * - libev: one ev_io per connection, called back when it is readable,
 *   reads and writes the bytes back. No threads, no stacks: the practical
 *   limit for one core, and the loop IOMGR itself sits on.
 * - libev with stack memory ("libevstk"): the same, but each connection
 *   reads into the top of its own 32 KiB block, mapped with a guard page
 *   below as an LWP stack is. That is the least memory a server of one
 *   stack per connection touches (a page of its own per connection per
 *   round trip), so ours against it is what LWPs and IOMGR cost beyond
 *   that floor.
 * - libev reading first ("libevrf"): the plain libev server, but after
 *   each echo it reads again, until EAGAIN, as a server written the way
 *   Coda code is does (and ST's st_read): the same three system calls per
 *   round trip as ours in that shape ("coda") and ST, with no LWP, no
 *   stack, no IOMGR. Ours against it is what LWPs and IOMGR cost in that
 *   shape; it against ST is what libev's epoll costs against ST's poll.
 * - State Threads: one ST thread per connection in st_read/st_write, the
 *   closest relative of an LWP server. Debian builds ST without epoll, so
 *   it runs on poll(2) (select(2) stops at 1,024 fds); the header line of
 *   bench_echo says which event system was used.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef BENCH_HAVE_ST
#include <st.h>
#endif

#include "bench_echo.h"

#define ST_STACK (32 * 1024) /* as the LWP server's connections */

void echo_nodelay(int fd)
{
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* ---- libev ---- */

/* A connection; `block` is NULL for the plain libev server. */
struct libev_conn {
    ev_io w; /* first member: the callback casts the watcher back */
    char *block;
};

#define STK_BLOCK (32 * 1024) /* as the LWP server's connection stacks */

static int with_blocks; /* serving as libevstk */
static int read_first;  /* serving as libevrf */

/* One message is in flight per connection, so a write never comes up
 * short here; if it ever did the connection is dropped, and the client
 * reports the run as failed rather than measuring a broken server.
 * Returns 0 when the connection is over. */
static int echo_once(int fd, char *buf)
{
    ssize_t n = read(fd, buf, ECHO_BUF);

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 1;
    return n > 0 && write(fd, buf, (size_t)n) == n;
}

static void conn_free(struct libev_conn *c)
{
    long page = sysconf(_SC_PAGESIZE);

    if (c->block)
        munmap(c->block - page, (size_t)page + STK_BLOCK);
    free(c);
}

/* Echoes until a read finds nothing (EAGAIN: returns 1) or the connection
 * is over (0). */
static int echo_until_eagain(int fd, char *buf)
{
    for (;;) {
        ssize_t n = read(fd, buf, ECHO_BUF);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return errno == EAGAIN;
        if (n <= 0 || write(fd, buf, (size_t)n) != n)
            return 0;
    }
}

static void libev_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct libev_conn *c = (struct libev_conn *)w;
    char stack_buf[ECHO_BUF];
    /* The top of the block, where an LWP's first frame would be. */
    char *buf = c->block ? c->block + STK_BLOCK - ECHO_BUF : stack_buf;

    (void)revents;
    if (read_first ? echo_until_eagain(w->fd, buf) : echo_once(w->fd, buf))
        return;
    ev_io_stop(loop, w);
    close(w->fd);
    conn_free(c);
}

/* A 32 KiB block with a guard page below, as lwp_stack.c maps a stack. */
static char *map_block(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *base = mmap(NULL, (size_t)page + STK_BLOCK, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

    if (base == MAP_FAILED)
        return NULL;
    if (mprotect(base, (size_t)page, PROT_NONE) != 0) {
        munmap(base, (size_t)page + STK_BLOCK);
        return NULL;
    }
    return base + page;
}

static struct libev_conn *conn_new(void)
{
    struct libev_conn *c = calloc(1, sizeof(*c));

    if (c && with_blocks && !(c->block = map_block())) {
        free(c);
        return NULL;
    }
    return c;
}

static void libev_accept(struct ev_loop *loop, ev_io *lw, int revents)
{
    for (;;) {
        int fd = accept4(lw->fd, NULL, NULL, SOCK_NONBLOCK);
        struct libev_conn *c;

        if (fd < 0)
            return;
        if (!(c = conn_new())) {
            close(fd);
            return;
        }
        echo_nodelay(fd);
        ev_io_init(&c->w, libev_readable, fd, EV_READ);
        ev_io_start(loop, &c->w);
    }
}

void echo_serve_libev(int lfd, int stack_blocks, int read_first_mode)
{
    struct ev_loop *loop = ev_default_loop(0);
    ev_io lw;

    if (!loop) {
        fprintf(stderr, "bench_echo: ev_default_loop failed\n");
        return;
    }
    with_blocks = stack_blocks;
    read_first = read_first_mode;
    ev_io_init(&lw, libev_accept, lfd, EV_READ);
    ev_io_start(loop, &lw);
    ev_run(loop, 0);
}

/* ---- State Threads ---- */

#ifdef BENCH_HAVE_ST

int echo_have_st(void)
{
    return 1;
}

/* ST's best event system here: epoll if ST was built with it, else poll
 * (no 1,024-fd limit, unlike select). A build without epoll accepts
 * ST_EVENTSYS_ALT but sets nothing, hence the check. Must run before
 * st_init; the choice made in the parent is inherited by the server. */
static void st_pick_eventsys(void)
{
    if (st_set_eventsys(ST_EVENTSYS_ALT) == 0 &&
        st_get_eventsys() == ST_EVENTSYS_ALT)
        return;
    st_set_eventsys(ST_EVENTSYS_POLL);
}

const char *echo_st_eventsys(void)
{
    static const char *name;

    if (!name) {
        st_pick_eventsys();
        name = st_get_eventsys_name();
    }
    return name;
}

static void *st_connection(void *arg)
{
    st_netfd_t c = arg;
    char buf[ECHO_BUF];

    for (;;) {
        ssize_t n = st_read(c, buf, sizeof(buf), ST_UTIME_NO_TIMEOUT);

        if (n <= 0 || st_write(c, buf, (size_t)n, ST_UTIME_NO_TIMEOUT) != n)
            break;
    }
    st_netfd_close(c);
    return NULL;
}

void echo_serve_st(int lfd)
{
    st_netfd_t l;

    echo_st_eventsys();
    if (st_init() != 0 || !(l = st_netfd_open_socket(lfd))) {
        fprintf(stderr, "bench_echo: st_init failed\n");
        return;
    }
    for (;;) {
        st_netfd_t c = st_accept(l, NULL, NULL, ST_UTIME_NO_TIMEOUT);

        if (!c)
            continue; /* EINTR, or a connection reset while queued */
        echo_nodelay(st_netfd_fileno(c));
        if (!st_thread_create(st_connection, c, 0, ST_STACK))
            st_netfd_close(c);
    }
}

#else /* !BENCH_HAVE_ST */

int echo_have_st(void)
{
    return 0;
}

const char *echo_st_eventsys(void)
{
    return "none";
}

void echo_serve_st(int lfd)
{
    (void)lfd;
}

#endif
