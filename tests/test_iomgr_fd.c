/* SPDX-License-Identifier: MIT */
/*
 * IOMGR and the life of fds: a number closed and given to a new file
 * (by the waiting LWP itself or under another LWP's wait), an fd closed
 * before the call or while a dup of it stays open, fd numbers no process
 * can have, and IOMGR_Initialize with no fd to spare.
 */
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "iomgr_test.h"

TestSuite(iomgr_fd, .init = iot_setup, .fini = iot_teardown, .timeout = 30);
TestSuite(iomgr_fd_init, .fini = iot_teardown, .timeout = 30);

#define RECONNECTS 5
/* A reused number must be seen at once; the bug took one or two seconds
 * (the closed-fd sweep). */
#define PROMPT 0.1

/* ---- Helpers ---- */

static int listen_on_loopback(struct sockaddr_in *a)
{
    socklen_t len = sizeof(*a);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_geq(l, 0);
    cr_assert_eq(bind(l, (struct sockaddr *)a, sizeof(*a)), 0);
    cr_assert_eq(listen(l, 16), 0);
    cr_assert_eq(getsockname(l, (struct sockaddr *)a, &len), 0);
    return l;
}

/* A connected client socket that has sent one byte, `tag`. Connecting to
 * a loopback listener completes at once (the backlog takes it). */
static int connect_and_send(const struct sockaddr_in *a, char tag)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert_geq(s, 0);
    cr_assert_eq(connect(s, (const struct sockaddr *)a, sizeof(*a)), 0);
    cr_assert_eq(write(s, &tag, 1), 1);
    return s;
}

/* Waits (through IOMGR, so the server LWPs run) for the echo of `tag` on
 * s; returns how long it took. */
static double await_echo(int s, char tag)
{
    struct timeval tv = {5, 0};
    double t0 = iot_now();
    char got = 0;

    cr_assert_eq(IOMGR_WaitIO(s, IOMGR_READ, &tv), IOMGR_READ,
                 "no echo of request %c within 5 s", tag);
    cr_assert_eq(read(s, &got, 1), 1);
    cr_assert_eq(got, tag);
    return iot_now() - t0;
}

static size_t rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    cr_assert_not_null(f);
    cr_assert_eq(fscanf(f, "%ld %ld", &pages, &resident), 2);
    fclose(f);
    return (size_t)resident * (size_t)(sysconf(_SC_PAGESIZE) / 1024);
}

/* ---- A reused number, by the waiting LWP itself ---- */

struct server {
    int lfd;
    int served;
};

/* The classic iterative server: accept, wait for the request, answer,
 * close; the next accept gets the number just closed, and the LWP waits
 * on it for the same events before the manager runs again. */
static void accept_server(void *arg)
{
    struct server *s = arg;
    struct timeval tv = {5, 0};

    while (s->served < RECONNECTS) {
        char b;
        int c = accept(s->lfd, NULL, NULL);

        if (c < 0) {
            if (IOMGR_WaitIO(s->lfd, IOMGR_READ, &tv) != IOMGR_READ)
                return;
            continue;
        }
        if (IOMGR_WaitIO(c, IOMGR_READ, &tv) == IOMGR_READ &&
            read(c, &b, 1) == 1 && write(c, &b, 1) == 1)
            s->served++;
        close(c);
    }
}

Test(iomgr_fd, iterative_accept_server_sees_reused_fd_at_once)
{
    struct sockaddr_in a;
    struct server s = {listen_on_loopback(&a), 0};
    int c[RECONNECTS];

    iot_spawn(accept_server, IOT_HIGH, &s);
    /* Every client is queued, its request sent, before the server runs:
     * each accept finds the next one at once. */
    for (int i = 0; i < RECONNECTS; i++)
        c[i] = connect_and_send(&a, (char)('a' + i));
    for (int i = 0; i < RECONNECTS; i++) {
        double dt = await_echo(c[i], (char)('a' + i));

        cr_expect_lt(dt, PROMPT, "client %d answered after %.3f s", i, dt);
        close(c[i]);
    }
    cr_assert_eq(s.served, RECONNECTS);
    close(s.lfd);
}

#define MAX_CONNS 8

struct select_server {
    int lfd;
    int conns[MAX_CONNS];
    int nconns;
};

static int fill_set(struct select_server *s, fd_set *rs)
{
    int nfds = s->lfd + 1;

    FD_ZERO(rs);
    FD_SET(s->lfd, rs);
    for (int i = 0; i < s->nconns; i++) {
        FD_SET(s->conns[i], rs);
        if (s->conns[i] >= nfds)
            nfds = s->conns[i] + 1;
    }
    return nfds;
}

/* Serves the ready connections (closing those at end of file) before
 * accepting, as many select loops do: a client that closes and connects
 * again gets the number just closed. */
static void serve_ready(struct select_server *s, fd_set *rs)
{
    for (int i = 0; i < s->nconns; i++) {
        char b;

        if (!FD_ISSET(s->conns[i], rs))
            continue;
        if (read(s->conns[i], &b, 1) == 1 && write(s->conns[i], &b, 1) == 1)
            continue;
        close(s->conns[i]);
        s->conns[i--] = s->conns[--s->nconns];
    }
    if (FD_ISSET(s->lfd, rs)) {
        int c;

        while (s->nconns < MAX_CONNS &&
               (c = accept(s->lfd, NULL, NULL)) >= 0)
            s->conns[s->nconns++] = c;
    }
}

/* The single-LWP IOMGR_Select loop of Coda's and AFS's servers. */
static void select_server(void *arg)
{
    struct select_server *s = arg;

    for (;;) {
        fd_set rs;
        int nfds = fill_set(s, &rs);

        if (IOMGR_Select(nfds, &rs, NULL, NULL, NULL) <= 0)
            return;
        serve_ready(s, &rs);
    }
}

Test(iomgr_fd, select_loop_sees_reconnecting_client_at_once)
{
    struct sockaddr_in a;
    struct select_server s = {.lfd = listen_on_loopback(&a)};
    PROCESS pid = iot_spawn(select_server, IOT_HIGH, &s);

    for (int i = 0; i < RECONNECTS; i++) {
        /* Connected and sent while the previous connection's end of file
         * is still unread: the server closes it and accepts this one in
         * the same turn. */
        int c = connect_and_send(&a, (char)('a' + i));
        double dt = await_echo(c, (char)('a' + i));

        cr_expect_lt(dt, PROMPT, "client %d answered after %.3f s", i, dt);
        close(c);
    }
    IOMGR_Cancel(pid);
    close(s.lfd);
}

/* ---- A number closed and reused under another LWP's wait ---- */

struct waiter {
    int fd;
    int rc;
    int err;
    int done;
    double at;
};

static void wait_readable(void *arg)
{
    struct waiter *w = arg;
    struct timeval tv = {10, 0};

    w->rc = IOMGR_WaitIO(w->fd, IOMGR_READ, &tv);
    w->err = errno;
    w->at = iot_now();
    w->done = 1;
}

static void let_manager_register(void)
{
    struct timeval tick = {0, 20000};

    IOMGR_Select(0, NULL, NULL, NULL, &tick);
}

/* Opens a pipe and starts w waiting to read its read end, with its
 * watcher registered. */
static void start_waiter(int p[2], struct waiter *w)
{
    iot_pipe(p);
    w->fd = p[0];
    iot_spawn(wait_readable, IOT_HIGH, w);
    let_manager_register();
}

/* Closes p[0] and opens a new pipe whose read end gets the same number. */
static void reuse_read_end(int p[2], int q[2])
{
    close(p[0]);
    iot_pipe(q);
    cr_assert_eq(q[0], p[0], "the new pipe did not reuse the number");
}

static int ended_well(const struct waiter *w)
{
    return w->rc == IOMGR_READ || (w->rc == -1 && w->err == EBADF);
}

Test(iomgr_fd, wait_ends_when_its_fd_is_closed_and_reused)
{
    int p[2], q[2];
    struct waiter w = {.fd = -1};
    double t0;

    start_waiter(p, &w);
    reuse_read_end(p, q);
    cr_assert_eq(write(q[1], "x", 1), 1);
    t0 = iot_now();
    IOT_WAIT_FOR(w.done);
    cr_assert(ended_well(&w), "rc %d errno %d", w.rc, w.err);
    cr_assert_lt(w.at - t0, 3.0);
    close(q[0]);
    close(q[1]);
    close(p[1]);
}

Test(iomgr_fd, second_waiter_on_reused_fd_is_registered)
{
    int p[2], q[2];
    struct waiter w1 = {.fd = -1}, w2 = {.fd = -1};
    double t0;

    start_waiter(p, &w1);
    reuse_read_end(p, q);
    w2.fd = q[0];
    iot_spawn(wait_readable, IOT_HIGH, &w2); /* joins w1's watcher */
    cr_assert_eq(write(q[1], "x", 1), 1);
    t0 = iot_now();
    IOT_WAIT_FOR(w1.done && w2.done);
    cr_assert_eq(w2.rc, IOMGR_READ, "rc %d errno %d", w2.rc, w2.err);
    cr_assert(ended_well(&w1), "rc %d errno %d", w1.rc, w1.err);
    cr_assert_lt(w2.at - t0, 0.5);
    cr_assert_lt(w1.at - t0, 0.5);
    close(q[0]);
    close(q[1]);
    close(p[1]);
}

/* ---- Closed fds ---- */

/* IOMGR_WaitIO on fd fails with EBADF at once, not after its timeout. */
static void assert_waitio_fails_at_once(int fd)
{
    struct timeval tv = {5, 0};
    double t0 = iot_now();

    errno = 0;
    cr_assert_eq(IOMGR_WaitIO(fd, IOMGR_READ, &tv), -1, "fd %d", fd);
    cr_assert_eq(errno, EBADF, "fd %d", fd);
    cr_assert_lt(iot_now() - t0, 0.5, "fd %d", fd);
}

Test(iomgr_fd, fd_closed_before_waitio_fails_at_once)
{
    int p[2];

    iot_pipe(p);
    close(p[0]);
    assert_waitio_fails_at_once(p[0]);
    close(p[1]);
}

Test(iomgr_fd, fd_closed_before_select_fails_at_once)
{
    int p[2];
    fd_set rs;
    struct timeval tv = {5, 0};
    double t0;

    iot_pipe(p);
    close(p[0]);
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    t0 = iot_now();
    cr_assert_eq(IOMGR_Select(p[0] + 1, &rs, NULL, NULL, &tv), -1);
    cr_assert_eq(errno, EBADF);
    cr_assert_lt(iot_now() - t0, 0.5);
    cr_assert_not(FD_ISSET(p[0], &rs));
    close(p[1]);
}

/* The same LWP waits again, for the same events, on the fd it just
 * closed: the watcher it left armed must not hide the close. */
Test(iomgr_fd, rewait_on_just_closed_fd_fails_at_once)
{
    int p[2];
    char b;
    struct timeval tv = {5, 0};

    iot_pipe(p);
    cr_assert_eq(write(p[1], "x", 1), 1);
    cr_assert_eq(IOMGR_WaitIO(p[0], IOMGR_READ, &tv), IOMGR_READ);
    cr_assert_eq(read(p[0], &b, 1), 1);
    close(p[0]);
    assert_waitio_fails_at_once(p[0]);
    close(p[1]);
}

/* Closes fd, a dup of it open first; returns the dup. */
static int close_keeping_a_dup(int fd)
{
    int d = dup(fd);

    cr_assert_geq(d, 0);
    close(fd);
    return d;
}

/* One open file under two numbers: the kernel keeps reporting the file
 * under the closed number. iomgr.h documents what the waiter sees: the
 * file's readiness (and its next read fails with EBADF), or EBADF from
 * the sweep if the file stays quiet. */
Test(iomgr_fd, fd_closed_under_waiter_with_dup_open)
{
    int p[2], d;
    struct waiter w = {.fd = -1};
    char b;

    start_waiter(p, &w);
    d = close_keeping_a_dup(p[0]);
    cr_assert_eq(write(p[1], "x", 1), 1);
    IOT_WAIT_FOR(w.done);
    cr_assert_eq(w.rc, IOMGR_READ, "rc %d errno %d", w.rc, w.err);
    cr_assert_eq(read(p[0], &b, 1), -1);
    cr_assert_eq(errno, EBADF);
    close(d);
    close(p[1]);
}

Test(iomgr_fd, fd_closed_under_waiter_with_dup_open_and_quiet)
{
    int p[2], d;
    struct waiter w = {.fd = -1};
    double t0;

    start_waiter(p, &w);
    d = close_keeping_a_dup(p[0]);
    t0 = iot_now();
    IOT_WAIT_FOR(w.done);
    cr_assert_eq(w.rc, -1);
    cr_assert_eq(w.err, EBADF);
    cr_assert_lt(w.at - t0, 3.0);
    close(d);
    close(p[1]);
}

/* ---- Numbers no process can have open ---- */

/* Asking about numbers no process can have must not allocate for them. */
static void assert_rss_grew_little(size_t before)
{
    /* Memcheck's shadow of the test's own lazily mapped sets counts in
     * the process's RSS. */
    if (lwpt_under_valgrind())
        return;
    cr_assert_lt(rss_kib(), before + 4096, "RSS grew from %zu to %zu KiB",
                 before, rss_kib());
}

static const int huge_fds[] = {INT_MAX, INT_MAX - 1, 100000000, 10000000};
#define NHUGE (int)(sizeof(huge_fds) / sizeof(huge_fds[0]))

Test(iomgr_fd, waitio_on_huge_fd_fails_at_once_without_memory)
{
    size_t before = rss_kib();

    for (int i = 0; i < NHUGE; i++)
        assert_waitio_fails_at_once(huge_fds[i]);
    assert_rss_grew_little(before);
}

/* A set long enough for fd (and never shorter than an fd_set), with only
 * that bit set; mapped lazily, so its size costs nothing until read. */
static fd_set *set_with(int fd)
{
    size_t bytes = (size_t)fd / 8 + 8;
    unsigned long *bits;

    if (bytes < sizeof(fd_set))
        bytes = sizeof(fd_set);
    bits = calloc(1, bytes);
    cr_assert_not_null(bits);
    bits[(size_t)fd / (8 * sizeof(long))] |= 1ul << (fd % (8 * sizeof(long)));
    return (fd_set *)(void *)bits;
}

Test(iomgr_fd, select_on_huge_fd_fails_at_once_without_memory)
{
    size_t before = rss_kib();

    for (int i = 0; i < NHUGE; i++) {
        struct timeval tv = {5, 0};
        fd_set *rs = set_with(huge_fds[i]);
        double t0 = iot_now();
        int rc;

        errno = 0;
        rc = IOMGR_Select(huge_fds[i] == INT_MAX ? INT_MAX : huge_fds[i] + 1,
                          rs, NULL, NULL, &tv);
        cr_assert_eq(rc, -1, "fd %d", huge_fds[i]);
        cr_assert(errno == EINVAL || errno == EBADF, "fd %d: errno %d",
                  huge_fds[i], errno);
        cr_assert_lt(iot_now() - t0, 0.5, "fd %d", huge_fds[i]);
        free(rs);
    }
    assert_rss_grew_little(before);
}

/* nfds = INT_MAX with ordinary sets: the arithmetic must not overflow
 * and nothing past the sets may be read (iomgr.h: EINVAL). */
Test(iomgr_fd, select_int_max_nfds_with_small_sets)
{
    int p[2];
    fd_set rs;
    struct timeval tv = {5, 0};
    double t0;

    iot_pipe(p);
    cr_assert_eq(write(p[1], "x", 1), 1);
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    t0 = iot_now();
    cr_assert_eq(IOMGR_Select(INT_MAX, &rs, NULL, NULL, &tv), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_lt(iot_now() - t0, 0.5);
    /* FD_SETSIZE is always accepted, whatever RLIMIT_NOFILE says. */
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    cr_assert_eq(IOMGR_Select(FD_SETSIZE, &rs, NULL, NULL, &tv), 1);
    cr_assert(FD_ISSET(p[0], &rs));
    close(p[0]);
    close(p[1]);
}

/* ---- IOMGR_Initialize with no fd to spare ---- */

/* Opens fds until the table is full; returns the first one opened. */
static int fill_fd_table(int *last)
{
    int first = -1, fd;

    while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0) {
        if (first < 0)
            first = fd;
        *last = fd;
    }
    cr_assert(errno == EMFILE || errno == ENFILE, "errno %d", errno);
    return first;
}

/* A soft fd limit of 64 (the old limits in *saved), every fd below it
 * taken: returns the first fd taken, the last in *last. */
static int fill_small_fd_table(struct rlimit *saved, int *last)
{
    struct rlimit small;
    int first;

    cr_assert_eq(getrlimit(RLIMIT_NOFILE, saved), 0);
    small = *saved;
    small.rlim_cur = 64;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &small), 0);
    first = fill_fd_table(last);
    cr_assert_geq(first, 0);
    return first;
}

Test(iomgr_fd_init, initialize_without_free_fd_fails_and_recovers)
{
    struct rlimit saved;
    struct timeval tv = {0, 1000};
    int first, last = -1;

    first = fill_small_fd_table(&saved, &last);
    cr_assert_eq(IOMGR_Initialize(), LWP_ESYSTEM);
    cr_assert_not_null(LWP_ThisProcess(), "LWP stays initialised");
    cr_assert_eq(IOMGR_Sleep(1), LWP_EINIT, "IOMGR is not running");
    for (int fd = first; fd <= last; fd++)
        close(fd);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
}

/* With exactly the two fds libev needs free, the timerfd that wakes the
 * loop for timeouts cannot be made: a libev timer stands in, and
 * timeouts still end on time. */
Test(iomgr_fd_init, timeouts_work_without_a_timerfd)
{
    struct rlimit saved;
    struct timeval tv = {0, 20000};
    int first, last = -1;
    double t0;

    first = fill_small_fd_table(&saved, &last);
    close(last);
    close(last - 1);
    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
    errno = 0;
    cr_assert_eq(dup(0), -1, "every fd is taken: no timerfd was made");
    t0 = iot_now();
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
    cr_assert_geq(iot_now() - t0, 0.019);
    cr_assert_lt(iot_now() - t0, 1.0);
    cr_assert_eq(IOMGR_Finalize(), LWP_SUCCESS);
    for (int fd = first; fd <= last - 2; fd++)
        close(fd);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
}
