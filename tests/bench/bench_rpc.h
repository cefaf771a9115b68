/* SPDX-License-Identifier: MIT */
/*
 * Pieces of bench_rpc shared by its files: the peers, one measurement's
 * load and result, the server's control channel and the latency samples.
 *
 * A measurement is three processes: the coordinator (bench_rpc.c), a
 * server child and a client child (children of bench_echo_proc.c's
 * echo_spawn, so none outlives the benchmark). The server reports its
 * port, then serves; a thread of its own answers the client's control
 * commands (its CPU time and RSS), so no server has to poll a pipe.
 */
#ifndef LWP_BENCH_RPC_H
#define LWP_BENCH_RPC_H

#include <stdint.h>
#include <sys/types.h>

#define RPC_MSG 64          /* bytes of a call and of its echo */
#define RPC_SUBSYS 4711     /* our servers' subsystem id */
#define RPC_SECRET "bench-k!" /* the fixed RPC2_EncryptionKey (8 bytes) */

enum rpc_peer {
    PEER_RAW,    /* blocking recvfrom/sendto server, the floor */
    PEER_RAWEV,  /* epoll_wait, then recvfrom/sendto: the floor of any
                  * server that waits in a readiness poller (ours: libev) */
    PEER_RAWSEC, /* rawev plus rpc2sec's open and seal of each datagram,
                  * client and server: the floor of an rpc2sec server */
    PEER_ONC,    /* ONC RPC over UDP, libtirpc server */
    PEER_OPEN,   /* ours at RPC2_OPENKIMONO */
    PEER_SECURE, /* ours at RPC2_SECURE */
    PEERS
};

/* What the client does: `conns` connections to 127.0.0.1:port, each with
 * exactly one call outstanding, for warm_s seconds, then measured for
 * run_s seconds. For ours with idle_conns > 0 it instead binds that many
 * idle connections and measures bind latency and RSS (rpc_result's idle
 * figures). */
struct rpc_load {
    enum rpc_peer peer;
    int port;
    int conns;
    int idle_conns;
    int binds; /* sequential binds timed for the bind latency */
    double warm_s;
    double run_s;
    double limit_s; /* the idle measurement stops binding after this */
    pid_t server;   /* the server's process */
    int result_fd;  /* where the client writes its struct rpc_result */
};

/* One measurement; ok == 0 when it failed (why: in `error`). */
struct rpc_result {
    int ok;
    long calls;     /* completed in the window */
    long resent;    /* raw/ONC calls sent again after a lost datagram */
    double cps;     /* calls per second */
    double p50_us;
    double p99_us;
    double srv_cpu_us; /* server user+sys CPU per call in the window */
    double bind_us;    /* median bind latency (idle measurement) */
    double rss_srv_b;  /* server VmRSS growth per idle connection, bytes */
    double rss_cli_b;  /* client VmRSS growth per idle connection, bytes */
    int idle_bound;    /* idle connections actually bound */
    char error[120];
};

/* ---- The server side (bench_rpc_ctl.c) ---- */

/* What the client asks of the server's process (read from the client,
 * see bench_rpc_ctl.c). */
#define CTL_START 'S' /* start the CPU window; answers 0 */
#define CTL_END 'E'   /* end it; answers the CPU microseconds spent */
#define CTL_RSS 'R'   /* answers VmRSS in bytes */

/* The answer to cmd about ld->server; -1 on failure. */
int64_t rpc_ctl_ask(const struct rpc_load *ld, char cmd);
/* This process's VmRSS in bytes, or -1. */
int64_t rpc_vmrss(void);

/* A server child reports its port (> 0), or 0 followed by a NUL-terminated
 * reason of at most 119 bytes, on reply_fd before serving. */
void rpc_report_port(int reply_fd, int port, const char *error);

/* ---- Latency samples (bench_rpc_ctl.c) ---- */

struct rpc_samples {
    uint32_t *ns; /* round trips, ns (capped at UINT32_MAX) */
    long n, cap;
    long total; /* calls, kept or not */
};

int rpc_samples_init(struct rpc_samples *s, long cap);
/* Counts a call; keeps its time while there is room (the percentiles
 * then describe the first cap calls). */
void rpc_samples_add(struct rpc_samples *s, int64_t ns);
/* Fills p50/p99 (us), cps, srv_cpu_us and calls from the samples, the
 * window's length and the server's CPU microseconds. */
void rpc_samples_summarise(struct rpc_samples *s, double window_s,
                           int64_t srv_cpu_us, struct rpc_result *r);
void rpc_samples_free(struct rpc_samples *s);

int64_t rpc_now_ns(void);

/* ---- Peers ---- */

/* bench_rpc_udp.c: a blocking UDP socket on 127.0.0.1, a free port and a
 * receive buffer big enough for 1,000 calls in flight; returns the port
 * (host order) and sets *fd, or returns -1 with errno. */
int rpc_udp_socket(int *fd);

/* Each server opens its socket on 127.0.0.1, reports the port with
 * rpc_report_port and serves until killed; returns only on failure. */
int raw_serve(int reply_fd);
/* The same behind a level-triggered epoll_wait (PEER_RAWEV). */
int rawev_serve(int reply_fd);

/* ---- PEER_RAWSEC (bench_rpc_rawsec.c) ---- */
#define RAWSEC_PLAIN (60 + RPC_MSG) /* our RPC's plaintext: header + call */
/* Sets up this side's security associations (server: 1). 0 or -1. */
int rawsec_keys(int server);
ssize_t rawsec_seal(const void *pt, size_t len, uint8_t *out, size_t cap);
ssize_t rawsec_open(const uint8_t *frame, size_t len, uint8_t *out,
                    size_t cap);
/* The client's receiving SA of one connection (NULL on failure), its
 * open, and its release. */
struct sec_sa;
struct sec_sa *rawsec_conn_sa(void);
ssize_t rawsec_conn_open(struct sec_sa *sa, const uint8_t *frame, size_t len,
                         uint8_t *out, size_t cap);
void rawsec_conn_free(struct sec_sa *sa);
int rawsec_serve(int reply_fd);
int onc_serve(int reply_fd);
int ours_serve(int reply_fd, int level);

/* Clients: run the load, return the result. */
void udp_client(const struct rpc_load *ld, struct rpc_result *r);
void ours_client(const struct rpc_load *ld, struct rpc_result *r);

/* bench_rpc_onc.c: whether ONC RPC was built in; the call message of a
 * connection (xid set later) and the reply check, for udp_client. */
int onc_available(void);
/* Writes the call for one echo into buf (cap bytes); returns its length,
 * the xid is its first 4 bytes, or -1. */
int onc_encode_call(uint8_t *buf, int cap);
/* 1 if reply is the successful echo of xid (network order). */
int onc_reply_ok(const uint8_t *reply, ssize_t len, uint32_t xid);
#define ONC_BUF 256 /* bytes enough for a call or a reply */

#endif /* LWP_BENCH_RPC_H */
