/* SPDX-License-Identifier: MIT */
/*
 * Pieces of bench_echo shared by its files: the load the client puts on a
 * server, what one measurement yields, the servers, and the helpers that
 * start, pin and reap the child processes.
 */
#ifndef LWP_BENCH_ECHO_H
#define LWP_BENCH_ECHO_H

#include <sys/types.h>

#define ECHO_MSG 64  /* bytes per message, client to server and back */
#define ECHO_BUF 512 /* read buffer of every server */

/* Servers, in the order they take turns within a run. */
enum echo_kind {
    ECHO_WAITIO,
    ECHO_SELECT,
    ECHO_WAITIO_SHARED, /* the same two with LWP_CREATE_SHARED_STACK */
    ECHO_SELECT_SHARED,
    ECHO_CODA,          /* read first, IOMGR_Select on EAGAIN, 64 KiB */
    ECHO_LIBEV,
    ECHO_LIBEV_STACK,
    ECHO_LIBEV_READ_FIRST, /* libev making the Coda shape's system calls */
    ECHO_ST,
    /* The Coda shape again, in a peer's place: ours against ours, which
     * shows how far apart two identical servers measure (only when named
     * in --servers). */
    ECHO_CODA_TWIN,
    ECHO_KINDS
};

/* What the client does: `conns` connections to 127.0.0.1:port kept in
 * lock-step for warm_s seconds, then measured for run_s seconds. */
struct echo_load {
    int port;
    int conns;
    pid_t server; /* whose CPU clock frames the measured window */
    double warm_s;
    double run_s;
    int result_fd; /* where the client writes its struct echo_result */
};

/* One measurement; ok == 0 when the run failed (the rest is then 0). */
struct echo_result {
    int ok;
    long round_trips;
    double rtps; /* round trips per second */
    double p50_us;
    double p99_us;
    double srv_cpu_us; /* server CPU (user + system) per round trip */
    double cli_cpu_us; /* client CPU per round trip */
};

/* bench_echo_client.c: runs the load and writes the result to
 * load->result_fd; returns the exit status for the client process. */
int echo_client(const struct echo_load *load);

/* bench_echo_lwp.c: one LWP per connection over IOMGR. Each LWP waits
 * through IOMGR_WaitIO or IOMGR_Select and then reads, on a stack of its
 * own or LWP_CREATE_SHARED_STACK; or, as Coda code does (ECHO_CODA),
 * reads first and selects only when the read would block, on a 64 KiB
 * stack of its own. Serves the listening socket until killed; returns
 * only on a set-up error. */
void echo_serve_lwp(int lfd, enum echo_kind kind);

/* bench_echo_peers.c: the same service written for libev (with
 * stack_blocks, each connection reading into a stack-sized block of its
 * own: see there) and for State Threads. echo_serve_st returns at once
 * when ST is not built in. */
/* stack_blocks: libevstk; read_first: read again until EAGAIN after each
 * echo, as the Coda shape and ST's st_read do (libevrf). */
void echo_serve_libev(int lfd, int stack_blocks, int read_first);
void echo_serve_st(int lfd);
int echo_have_st(void);
/* ST's event system as echo_serve_st will choose it ("poll", "epoll"...),
 * or "none" without ST. */
const char *echo_st_eventsys(void);

/* Sets TCP_NODELAY (a lock-step load must never wait for Nagle). */
void echo_nodelay(int fd);

/* bench_echo_proc.c: child processes. A child is pinned to `cpu` (none if
 * cpu < 0), dies with its parent, runs fn(arg) and _exits with its return
 * value. Children still alive when the parent exits, or is stopped by
 * SIGINT/SIGTERM/SIGHUP, are killed and reaped. */
pid_t echo_spawn(int (*fn)(void *), void *arg, int cpu);
/* Sends sig (if non-zero) to the child, then waits for it. */
void echo_reap(pid_t pid, int sig);
/* Installs the exit and signal clean-up; call once, before any spawn. */
void echo_proc_init(void);

#endif /* LWP_BENCH_ECHO_H */
