/* SPDX-License-Identifier: MIT */
/*
 * A UDP fault proxy for the RPC tests: an OS thread relaying datagrams
 * between clients and one server on 127.0.0.1, dropping, duplicating,
 * reordering, delaying and corrupting them on purpose.
 *
 * Clients send to the proxy's port instead of the server's. Each distinct
 * client address gets an upstream socket of its own (NAT style, at most
 * RPC_PROXY_MAX_CLIENTS of them), so the server sees one proxy address per
 * client and its replies find their way back. The proxy uses no LWP code:
 * it keeps relaying while the test's LWPs sleep in IOMGR.
 *
 * Faults are chosen per direction by a seeded PRNG (splitmix64). Every
 * datagram consumes exactly RPC_PROXY_DRAWS numbers of its direction's
 * stream whatever the configuration, so the same seed and the same
 * sequence of datagrams always give the same decisions
 * (rpc_proxy_decide() computes them alone, for tests to predict them).
 * For each datagram, in order:
 *   drop       with probability `drop` it goes nowhere;
 *   hook       the callback (if set) may rewrite it or drop it;
 *   tamper     with probability `tamper` one bit, chosen uniformly, flips;
 *   duplicate  with probability `duplicate` a second copy is sent;
 *   reorder    with probability `reorder` the first copy is held back and
 *              sent right after the next datagram this direction forwards,
 *              or reorder_max_us after it was held, whichever comes first
 *              (one held datagram per direction; while one is held, no
 *              other is);
 *   delay      each copy not held waits uniformly 0..delay_max_us.
 * Capture keeps the last `capture_depth` datagrams of each direction as
 * they arrived (before any fault), with the client they belong to;
 * rpc_proxy_inject sends bytes on as if relayed, for replay tests.
 *
 * Bounded memory: at most RPC_PROXY_MAX_PENDING datagrams wait (delayed or
 * held); past that they are sent at once. Datagrams are at most
 * RPC_PROXY_MAX_DATAGRAM bytes; every copy is allocated at its own size.
 *
 * Every function may be called from any thread while the proxy runs; they
 * take the proxy's mutex and never block for long.
 */
#ifndef RPC_UDP_PROXY_H
#define RPC_UDP_PROXY_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define RPC_PROXY_MAX_CLIENTS 256  /* distinct client addresses */
#define RPC_PROXY_MAX_PENDING 4096 /* datagrams delayed or held at once */
#define RPC_PROXY_MAX_CAPTURE 1024 /* capture_depth limit per direction */
#define RPC_PROXY_MAX_DATAGRAM 65535
#define RPC_PROXY_DRAWS 7 /* PRNG numbers consumed per datagram */

enum rpc_proxy_dir {
    RPC_PROXY_TO_SERVER = 0, /* client -> server */
    RPC_PROXY_TO_CLIENT = 1, /* server -> client */
};

/* Faults of one direction; all zero is a plain relay. Probabilities are
 * clamped to [0, 1]. */
struct rpc_proxy_faults {
    double drop;
    double duplicate;
    double reorder;
    double tamper;
    uint32_t delay_max_us;   /* 0: no delay */
    uint32_t reorder_max_us; /* longest hold of a reordered datagram;
                                0 means 10,000 us */
};

/* Counters of one direction since the start. forwarded counts datagrams
 * sent on (duplicates included, injections not); pending those waiting
 * (delayed or held). Once pending is 0:
 *   received - dropped + duplicated == forwarded + send_errors
 * (dropped includes the hook's drops; unroutable datagrams are in
 * received and dropped). */
struct rpc_proxy_stats {
    uint64_t received;
    uint64_t forwarded;
    uint64_t dropped;
    uint64_t duplicated;
    uint64_t reordered;
    uint64_t delayed; /* copies given a non-zero delay */
    uint64_t tampered;
    uint64_t injected;
    uint64_t send_errors; /* sendto failed (e.g. ECONNREFUSED: no server) */
    uint64_t unroutable;  /* TO_SERVER: client table full */
    uint64_t pending;
};

/* What the PRNG decided for one datagram of `len` bytes. */
struct rpc_proxy_decision {
    int drop;
    int tamper;
    uint32_t bit; /* the bit flipped: byte bit / 8, mask 1 << (bit % 8) */
    int duplicate;
    int reorder;
    uint32_t delay_us[2]; /* of the first copy and of the duplicate */
};

/* splitmix64 state; one per direction. */
struct rpc_proxy_rng {
    uint64_t state;
};

/* The stream of `dir` for `seed`, exactly as the proxy seeds it. */
void rpc_proxy_rng_seed(struct rpc_proxy_rng *rng, uint64_t seed,
                        enum rpc_proxy_dir dir);
uint64_t rpc_proxy_rng_next(struct rpc_proxy_rng *rng);
/* Draws RPC_PROXY_DRAWS numbers and decides for a datagram of len bytes
 * (len 0: nothing to tamper with, tamper is 0). */
void rpc_proxy_decide(struct rpc_proxy_rng *rng,
                      const struct rpc_proxy_faults *faults, size_t len,
                      struct rpc_proxy_decision *out);

/* May rewrite buf[0..*len) in place (up to cap bytes, setting *len) and
 * returns RPC_PROXY_FORWARD or RPC_PROXY_DROP. Runs on the proxy thread
 * with the proxy's mutex held: it must not call rpc_proxy_* functions. */
#define RPC_PROXY_FORWARD 0
#define RPC_PROXY_DROP 1
typedef int rpc_proxy_hook(void *arg, enum rpc_proxy_dir dir, uint8_t *buf,
                           size_t *len, size_t cap);

struct rpc_proxy;

/* Starts relaying to `server` (127.0.0.1:port) from a fresh 127.0.0.1 port
 * (see rpc_proxy_address), no faults, keeping capture_depth datagrams per
 * direction (0 .. RPC_PROXY_MAX_CAPTURE). Returns NULL with errno set:
 * EINVAL (bad arguments), or the socket, memory or thread error. */
struct rpc_proxy *rpc_proxy_start(const struct sockaddr_in *server,
                                  uint64_t seed, size_t capture_depth);
/* Stops the thread, joins it, closes every socket and frees everything;
 * datagrams still pending are discarded. NULL is allowed. */
void rpc_proxy_stop(struct rpc_proxy *proxy);

/* Where clients send: 127.0.0.1 and the proxy's port. */
void rpc_proxy_address(const struct rpc_proxy *proxy, struct sockaddr_in *out);
uint16_t rpc_proxy_port(const struct rpc_proxy *proxy); /* host order */

/* Takes effect from the next datagram; a datagram already pending keeps
 * its schedule. faults NULL: no faults. */
void rpc_proxy_set_faults(struct rpc_proxy *proxy, enum rpc_proxy_dir dir,
                          const struct rpc_proxy_faults *faults);
/* hook NULL removes it. */
void rpc_proxy_set_hook(struct rpc_proxy *proxy, rpc_proxy_hook *hook,
                        void *arg);

void rpc_proxy_get_stats(struct rpc_proxy *proxy, enum rpc_proxy_dir dir,
                         struct rpc_proxy_stats *out);
/* Number of distinct clients seen (or injected for). */
int rpc_proxy_clients(struct rpc_proxy *proxy);

/* Copies the captured datagram `age` (0 = the newest) of `dir` into buf and
 * its length into *len, and its client's address into *client (if not
 * NULL). Returns 0, or -1 with errno ENOENT (fewer captured) or EMSGSIZE
 * (cap too small; *len is still set). */
int rpc_proxy_captured(struct rpc_proxy *proxy, enum rpc_proxy_dir dir,
                       unsigned age, void *buf, size_t cap, size_t *len,
                       struct sockaddr_in *client);

/* Sends buf as if relayed, without faults, capture or hook: TO_SERVER from
 * the upstream socket of `client`, TO_CLIENT from the proxy's port to
 * `client` (either way a new client gets a table entry). Returns 0, or -1 with errno
 * (EINVAL, EMSGSIZE, EMFILE when the client table is full, or sendto's). */
int rpc_proxy_inject(struct rpc_proxy *proxy, enum rpc_proxy_dir dir,
                     const struct sockaddr_in *client, const void *buf,
                     size_t len);

#endif /* RPC_UDP_PROXY_H */
