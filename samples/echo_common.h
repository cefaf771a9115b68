/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by echo_server and echo_client: option parsing, the
 * loopback address, the descriptor limit, a monotonic clock, and socket I/O
 * that parks only the calling LWP (IOMGR_WaitIO) instead of blocking the
 * whole process. Every socket handed to these helpers must be non-blocking.
 */
#ifndef ECHO_COMMON_H
#define ECHO_COMMON_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* How long one wait may last, and when to give up altogether. */
struct echo_io {
    int timeout_ms;  /* per IOMGR_WaitIO call; negative means forever */
    /* If non-NULL and *stop is set, waits fail at once. Volatile because a
     * preemptible LWP may test it in a loop without calls, which the
     * compiler could otherwise read once. */
    const volatile int *stop;
};

/* The integer in `arg` for option -`opt`, which must lie in [min, max];
 * otherwise print why and exit with status 2. */
long echo_parse_long(char opt, const char *arg, long min, long max);

/* *sa = 127.0.0.1:port. */
void echo_loopback(struct sockaddr_in *sa, int port);

/* Raise the soft RLIMIT_NOFILE to `need` if it is lower (never above the
 * hard limit). Returns the soft limit in force afterwards. */
long echo_raise_nofile(long need);

/* Monotonic clock in nanoseconds. */
uint64_t echo_now_ns(void);

/* Wait until fd is ready for `events` (IOMGR_READ and/or IOMGR_WRITE).
 * Returns the ready bits (> 0), or -1 with errno ETIMEDOUT, ECANCELED
 * (io->stop set, or IOMGR_Cancel) or IOMGR's errno. May yield. */
int echo_wait(int fd, int events, const struct echo_io *io);

/* Send all `len` bytes, waiting for room as needed. Returns 0, or -1 with
 * errno (EPIPE/ECONNRESET when the peer is gone; never raises SIGPIPE).
 * May yield. */
int echo_send_all(int fd, const void *buf, size_t len,
                  const struct echo_io *io);

/* Receive up to `len` bytes, waiting until at least one is there. With
 * wait_first set the caller expects nothing yet, so it waits before the
 * first recv instead of paying for a recv that would fail with EAGAIN.
 * Returns the count (> 0), 0 at end of stream, or -1 with errno.
 * May yield. */
ssize_t echo_recv_some(int fd, void *buf, size_t len, int wait_first,
                       const struct echo_io *io);

/* Sleep `ms` milliseconds in the calling LWP only. Returns 0, or -1 if the
 * sleep was cancelled. May yield. */
int echo_sleep_ms(int ms);

#endif /* ECHO_COMMON_H */
