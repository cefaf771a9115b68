/* SPDX-License-Identifier: MIT */
/* Helpers shared by the echo samples; see echo_common.h. */
#include "echo_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <lwp/lwp.h>

long echo_parse_long(char opt, const char *arg, long min, long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "option -%c: '%s' is not an integer in %ld..%ld\n", opt,
                arg, min, max);
        exit(2);
    }
    return v;
}

void echo_loopback(struct sockaddr_in *sa, int port)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

long echo_raise_nofile(long need)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)need) {
        rlim_t want = (rlim_t)need;

        if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
            want = rl.rlim_max;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 ||
            getrlimit(RLIMIT_NOFILE, &rl) != 0)
            return -1;
    }
    return rl.rlim_cur == RLIM_INFINITY ? need : (long)rl.rlim_cur;
}

uint64_t echo_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int echo_wait(int fd, int events, const struct echo_io *io)
{
    struct timeval tv, *tvp = NULL;
    int r;

    if (io->stop != NULL && *io->stop) {
        errno = ECANCELED;
        return -1;
    }
    if (io->timeout_ms >= 0) {
        tv.tv_sec = io->timeout_ms / 1000;
        tv.tv_usec = (io->timeout_ms % 1000) * 1000;
        tvp = &tv;
    }
    r = IOMGR_WaitIO(fd, events, tvp);
    if (r > 0)
        return r;
    if (r == 0)
        errno = ETIMEDOUT;
    else if (r == -2)
        errno = ECANCELED;
    else if (r != -1)
        errno = EINVAL; /* LWP_EINIT: IOMGR is not running */
    return -1;
}

static int would_block(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK;
}

int echo_send_all(int fd, const void *buf, size_t len, const struct echo_io *io)
{
    const char *p = buf;

    while (len > 0) {
        /* MSG_NOSIGNAL: a vanished peer must give EPIPE, not kill us. */
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && !would_block(errno)) {
            return -1;
        } else if (echo_wait(fd, IOMGR_WRITE, io) < 0) {
            return -1;
        }
    }
    return 0;
}

ssize_t echo_recv_some(int fd, void *buf, size_t len, int wait_first,
                       const struct echo_io *io)
{
    if (wait_first && echo_wait(fd, IOMGR_READ, io) < 0)
        return -1;
    for (;;) {
        ssize_t n = recv(fd, buf, len, 0);

        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (!would_block(errno) || echo_wait(fd, IOMGR_READ, io) < 0)
            return -1;
    }
}

int echo_sleep_ms(int ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    /* With no descriptors, IOMGR_Select is the LWP sleep. */
    return IOMGR_Select(0, NULL, NULL, NULL, &tv) == 0 ? 0 : -1;
}
