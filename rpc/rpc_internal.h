/* SPDX-License-Identifier: MIT */
/*
 * The RPC instance: everything the RPC layer keeps, in one structure reached
 * through one (thread-local) pointer, like the LWP runtime's state. Layers:
 * rpc_wire (bytes), rpc_sec.h (rpc2sec), conn.c (table and handles), send.c
 * (framing and sending), listener.c (receiving and classifying), client.c
 * and bind_client.c (calls and binds), server.c and bind_server.c (requests
 * and the server's bind), init.c, misc.c (the small API calls).
 */
#ifndef RPC_INTERNAL_H
#define RPC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <lwp/iomgr.h>
#include <lwp/lwp.h>
#include <rpc2/rpc2.h>

#include "rpc_host.h"
#include "rpc_retry.h"
#include "rpc_sec.h"
#include "rpc_timer.h"
#include "rpc_wire.h"

/* Connection roles and states: Coda's values (RPC2_DumpState shows them). */
#define RPC_ROLE_CLIENT 0x00880000u
#define RPC_ROLE_SERVER 0x00440000u
#define RPC_ROLE_MASK 0xffff0000u

#define C_THINK 0x01u
#define C_AWAITREPLY 0x02u
#define C_HARDERROR 0x04u
#define C_AWAITINIT2 0x08u
#define C_AWAITINIT4 0x10u

#define S_AWAITREQUEST 0x001u
#define S_REQINQUEUE 0x002u
#define S_PROCESS 0x004u
#define S_INSE 0x008u
#define S_HARDERROR 0x010u
#define S_STARTBIND 0x020u
#define S_AWAITINIT3 0x040u
#define S_FINISHBIND 0x080u
#define S_AWAITENABLE 0x100u

/* Limits (documented in docs/rpc.md). */
#define RPC_MAX_CONNS (1u << 20)   /* connections at once */
#define RPC_MAX_IDENT 1024         /* client identity bytes in INIT1 */
#define RPC_DELACK_US 100000u      /* unsolicited BUSY after 100 ms */
#define RPC_RECV_BATCH 16          /* datagrams per recvmmsg */
/* A socket whose recvmmsg found one datagram this many times in a row is
 * read by recvfrom, sampled again by recvmmsg every RPC_RX_SINGLE_RUN + 1
 * wake-ups (listener.c). */
#define RPC_RX_ONES_TO_SINGLE 4
#define RPC_RX_SINGLE_RUN 15
#define RPC_MAX_PENDING_BINDS 64 /* INIT1s waiting for a GetRequest LWP */
#define RPC_BAD_INIT2_LIMIT 2     /* then the bind fails: wrong key */
#define RPC_REAP_PERIOD_US 60000000ull
#define RPC_REAP_IDLE_US 900000000ull

/* Why a blocked caller was woken. */
enum rpc_wake {
    RPC_WAKE_NONE = 0,
    RPC_WAKE_ARRIVED, /* a packet for it: wait->pkt */
    RPC_WAKE_NAKED,
    RPC_WAKE_DEAD,    /* retries exhausted */
    RPC_WAKE_BOMB,    /* Patience or the bind time bomb */
    RPC_WAKE_GONE,    /* the instance is finalised */
    RPC_WAKE_BADKEY,  /* INIT2s fail authentication: the secrets differ */
};

struct rpc_conn;

/* A caller blocked on a reliable send (MakeRPC, NewBinding, the server's
 * INIT2): lives on its stack. The listener retransmits for it and wakes it
 * only with an outcome. */
struct rpc_wait {
    struct rpc_conn *conn;
    RPC2_PacketBuffer *req; /* what is (re)sent; header in host order */
    int retry;              /* index into the retry schedule; -1 after BUSY */
    bool sealed_plain;      /* INIT1: sent without rpc2sec */
    enum rpc_wake why;
    RPC2_PacketBuffer *pkt; /* delivered packet, owned by the waiter */
    uint64_t retry_due;     /* µs: next retransmission (conn->retry) */
    struct rpc_timer bomb_timer;
};

/* An LWP in RPC2_GetRequest. */
struct rpc_getreq {
    struct rpc_getreq *next, *prev;
    RPC2_RequestFilter filter;
    RPC2_PacketBuffer *pkt; /* handed over by the listener */
    struct rpc_conn *conn;
    enum rpc_wake why;
    struct rpc_timer patience;
};

struct rpc_conn {
    struct rpc_conn *hnext;      /* handle hash chain */
    struct rpc_conn *bnext;      /* INIT1 (bind) hash chain */
    struct rpc_conn *qnext, *qprev; /* hold queue */
    RPC2_Handle handle;          /* ours; the SPI of frames sent to us */
    RPC2_Handle peer_handle;
    uint32_t state;              /* role | state */
    uint32_t next_seq;
    int32_t uniquefier;
    uint32_t subsys;
    int32_t level;
    int32_t enc_type;
    int32_t color;
    struct rpc_host *host;       /* peer address and port */
    struct sec_sa sa;
    RPC2_EncryptionKey session_key;

    /* server */
    uint32_t ts_echo;            /* TimeStamp of the current request */
    uint64_t req_time;           /* its arrival, µs */
    RPC2_PacketBuffer *saved;    /* last reply (or INIT4), for duplicates */
    RPC2_PacketBuffer *spare;    /* a superseded `saved`, for the next copy */
    RPC2_PacketBuffer *held;     /* request waiting in the hold queue or
                                    for RPC2_Enable */
    struct rpc_timer delack;     /* unsolicited BUSY (armed lazily) */
    struct rpc_timer saved_expiry; /* drops `saved` (armed lazily) */
    uint64_t saved_at;           /* µs when `saved` was stored */
    bool delack_sent;            /* this request's BUSY went out */
    uint64_t last_used;          /* µs, for the reaper */

    /* a reliable send (a client's calls and binds, a server's INIT2) */
    struct rpc_wait *wait;       /* the blocked caller, if any */
    /* Its retransmission, armed lazily: due at the waiter's retry_due. A
     * call answered before then leaves it armed, so the next call (due
     * later) neither re-arms it nor wakes the listener to shorten its
     * wait; when it fires, it finds nothing to do or a later due time. */
    struct rpc_timer retry;
    uint64_t time_bomb_us;       /* bind phase limit (RPC2_SetTimeout) */
    int enq_waiters;             /* callers queued for the connection */
    int bad_init2;               /* undecryptable frames while binding */

    char *private_ptr;
    struct SFTP_Entry *se_ptr;
};

/* A bind request no server LWP was free to take yet. */
struct rpc_pending_bind {
    RPC2_PacketBuffer *init1;
    struct sockaddr_storage from;
    socklen_t fromlen;
    uint64_t since; /* µs; dropped after half the keepalive */
};

struct rpc_export {
    struct rpc_export *next;
    long subsys;
};

/* Datagrams waiting for the IO MANAGER's next pass (sendq.c). */
#define RPC_SENDQ_MAX 32
#define RPC_SENDQ_BYTES (64 * 1024)
struct rpc_sendq {
    uint32_t n;
    size_t used;                /* bytes of `bytes` taken */
    bool hooked;                /* flushed by an IOMGR pass hook */
    uint8_t *bytes;
    bool gso_off;               /* the kernel refused UDP GSO */
    /* the datagrams: socket, destination, bytes */
    int fd[RPC_SENDQ_MAX];
    socklen_t tolen[RPC_SENDQ_MAX];
    struct sockaddr_storage to[RPC_SENDQ_MAX];
    struct iovec iov[RPC_SENDQ_MAX];
    /* the messages a flush builds from them (one or a GSO run each) */
    struct mmsghdr *msg;        /* [RPC_SENDQ_MAX] (needs _GNU_SOURCE) */
    uint64_t cmsg[RPC_SENDQ_MAX][4]; /* a UDP_SEGMENT cmsg per message */
};

struct rpc_instance {
    int fd4, fd6;               /* sockets (-1 if absent) */
    bool ipv6;                  /* RPC2_OPTION_IPV6 */
    uint16_t port;              /* network order */
    PROCESS listener;
    bool stopping;
    bool listener_waiting;
    IOMGR_Standing *standing;   /* the listener's wait on fd4, if IPv4 only */
    uint64_t listener_due;      /* deadline of its current wait, µs */

    struct rpc_retry retry;
    struct rpc_timers timers;
    struct rpc_hosts hosts;

    /* connections by handle, and server binds by (peer, handle, uniq) */
    struct rpc_conn **ctab;
    uint32_t cmask;
    uint32_t nconns;
    struct rpc_conn **btab;

    struct rpc_conn *hold_head, *hold_tail;
    uint32_t nheld;
    uint32_t nprocess;          /* server connections in S_PROCESS
                                 * (kept by rpc_conn_state) */
    struct rpc_getreq getreq_ring; /* sentinel of the waiting servers */
    struct rpc_pending_bind pbinds[RPC_MAX_PENDING_BINDS];
    uint32_t npbinds;

    struct rpc_export *exports;
    uint32_t lamport;
    size_t keysize;             /* preferred session key bytes */
    struct rpc_timer reaper;
    /* Its period and the idle time after which it unbinds (µs): fields so
     * that a test can shorten them (RPC_REAP_*_US otherwise). */
    uint64_t reap_period_us, reap_idle_us;

    /* receive batch and send scratch */
    uint8_t (*rbuf)[SEC_MAX_FRAME + 1];
    struct sockaddr_storage raddr[RPC_RECV_BATCH];
    struct iovec riov[RPC_RECV_BATCH];
    struct mmsghdr *rmsg;       /* [RPC_RECV_BATCH], set up once (listener.c) */
    struct rpc_rx_mode {        /* how each socket is read (listener.c) */
        unsigned ones;          /* batches of one in a row */
        unsigned single_left;   /* recvfrom wake-ups before a sample */
    } rx4, rx6;
    uint8_t pbuf[SEC_MAX_FRAME];
    struct rpc_sendq sendq;
    bool listener_done;
    int active;                 /* LWPs blocked inside RPC2_* calls */
    /* While the listener handles a recvmmsg batch: its arrival time, one
     * clock read each for the whole batch (rpc_arrival). */
    bool in_batch;
    uint64_t batch_now;         /* rpc_now() */
    struct timeval batch_stamp; /* FT_GetTimeOfDay() */
    uint64_t day_offset;        /* time of day minus rpc_now(), in us */
    uint64_t day_offset_at;     /* rpc_now() when it was read; 0: never */

    /* counters of dropped datagrams, by reason (RPC2_DumpState) */
    unsigned long drop_spi, drop_crypto, drop_bad, drop_state;
};

extern _Thread_local struct rpc_instance *rpc__inst;

/* clock.c-like helpers (inline) */
static inline uint64_t rpc_now(void)
{
    return FT_MonotonicMicros();
}
/* When the packet being handled arrived: the listener's batch time, or
 * now outside a batch. */
static inline uint64_t rpc_arrival(const struct rpc_instance *r)
{
    return r->in_batch ? r->batch_now : rpc_now();
}
static inline uint32_t rpc_stamp(uint64_t now)
{
    return (uint32_t)now;
}

/* conn.c */
int rpc_conn_table_init(struct rpc_instance *r);
void rpc_conn_table_fini(struct rpc_instance *r);
struct rpc_conn *rpc_conn_new(struct rpc_instance *r, uint32_t role);
struct rpc_conn *rpc_conn_find(struct rpc_instance *r, RPC2_Handle h);
/* For the API calls: RPC2_SUCCESS with *cp, RPC2_NOCONNECTION, or
 * rpc_check_init's code when there is no instance. */
long rpc_conn_get(RPC2_Handle h, struct rpc_conn **cp);
void rpc_conn_free(struct rpc_instance *r, struct rpc_conn *c);
void rpc_conn_bind_index(struct rpc_instance *r, struct rpc_conn *c);
void rpc_conn_bind_unindex(struct rpc_instance *r, struct rpc_conn *c);
void rpc_conn_keep_saved(struct rpc_instance *r, struct rpc_conn *c,
                         RPC2_PacketBuffer *pb, uint64_t now);
struct rpc_conn *rpc_conn_find_bind(struct rpc_instance *r,
                                    const struct rpc_host *host,
                                    RPC2_Handle peer, int32_t uniq);
int rpc_conn_set_peer(struct rpc_instance *r, struct rpc_conn *c,
                      const struct sockaddr *a, socklen_t len);
static inline bool rpc_conn_is_client(const struct rpc_conn *c)
{
    return (c->state & RPC_ROLE_MASK) == RPC_ROLE_CLIENT;
}
static inline bool rpc_conn_is_server(const struct rpc_conn *c)
{
    return (c->state & RPC_ROLE_MASK) == RPC_ROLE_SERVER;
}
static inline bool rpc_conn_in(const struct rpc_conn *c, uint32_t states)
{
    return (c->state & states & ~RPC_ROLE_MASK) != 0;
}
/* Every state change goes through here, which also keeps r->nprocess, the
 * server connections in S_PROCESS. */
static inline void rpc_conn_state(struct rpc_instance *r, struct rpc_conn *c,
                                  uint32_t s)
{
    if (rpc_conn_is_server(c)) {
        r->nprocess += (uint32_t)(s == S_PROCESS) -
                       (uint32_t)rpc_conn_in(c, S_PROCESS);
    }
    c->state = (c->state & RPC_ROLE_MASK) | s;
}

/* buffer.c */
RPC2_PacketBuffer *rpc_buf_alloc(size_t body);
size_t rpc_buf_room(const RPC2_PacketBuffer *pb); /* body bytes it holds */
RPC2_PacketBuffer *rpc_buf_copy(const RPC2_PacketBuffer *pb);
/* A copy of pb in dst when it has room (dst's prefix is kept), else in a
 * new buffer (dst is then released); NULL when out of memory. */
RPC2_PacketBuffer *rpc_buf_copy_into(RPC2_PacketBuffer *dst,
                                     const RPC2_PacketBuffer *pb);
void rpc_bufs_fini(void);

/* sendq.c: the outgoing datagrams of one LWP round, sent together */
int rpc_sendq_init(struct rpc_instance *r);
void rpc_sendq_fini(struct rpc_instance *r);
/* Room for a datagram of up to cap bytes (cap <= RPC_SENDQ_BYTES): the
 * queue is sent first if full. Then rpc_sendq_commit its length. */
uint8_t *rpc_sendq_reserve(struct rpc_instance *r, size_t cap);
void rpc_sendq_commit(struct rpc_instance *r, int fd, size_t len,
                      const struct sockaddr *to, socklen_t tolen);
void rpc_sendq_flush(struct rpc_instance *r);

/* send.c */
void rpc_hdr_init(struct rpc_instance *r, const struct rpc_conn *c,
                  RPC2_PacketBuffer *pb, int32_t opcode);
int rpc_send(struct rpc_instance *r, struct rpc_conn *c,
             const RPC2_PacketBuffer *pb);
int rpc_send_plain_to(struct rpc_instance *r, const RPC2_PacketBuffer *pb,
                      const struct sockaddr *to, socklen_t tolen);
void rpc_send_busy(struct rpc_instance *r, struct rpc_conn *c);
void rpc_send_nak(struct rpc_instance *r, struct rpc_conn *via,
                  const struct RPC2_PacketHeader *bad,
                  const struct sockaddr *to, socklen_t tolen);
void rpc_resend_saved(struct rpc_instance *r, struct rpc_conn *c,
                      uint32_t ts);
uint32_t rpc_lamport_tick(struct rpc_instance *r);

/* client.c: reliable send used by calls and binds */
void rpc_wait_init(struct rpc_wait *w, struct rpc_conn *c,
                   RPC2_PacketBuffer *req);
enum rpc_wake rpc_send_reliably(struct rpc_instance *r, struct rpc_wait *w,
                                uint64_t bomb_us);
/* The fire function of a client connection's retry timer. */
void rpc_fire_retry(struct rpc_timer *t);
void rpc_wait_wake(struct rpc_wait *w, enum rpc_wake why);
void rpc_wait_keepalive(struct rpc_instance *r, struct rpc_wait *w);

/* listener.c */
/* The receive batch's buffers and headers (r->rbuf, r->rmsg): 0 or -1. */
int rpc_rx_init(struct rpc_instance *r);
void rpc_rx_fini(struct rpc_instance *r);
int rpc_listener_start(struct rpc_instance *r);
void rpc_listener_kick(struct rpc_instance *r, uint64_t due);
void rpc_drain(struct rpc_instance *r);
void rpc_handle_datagram(struct rpc_instance *r, const uint8_t *d, size_t len,
                         const struct sockaddr *from, socklen_t fromlen);

/* server.c */
void rpc_server_packet(struct rpc_instance *r, struct rpc_conn *c,
                       RPC2_PacketBuffer *pb);
enum rpc_offer { RPC_OFFER_REFUSED, RPC_OFFER_HANDED, RPC_OFFER_QUEUED };
enum rpc_offer rpc_offer_bind(struct rpc_instance *r,
                              RPC2_PacketBuffer *init1,
                              const struct sockaddr *from, socklen_t fromlen);
bool rpc_bind_is_queued(const struct rpc_instance *r,
                        const struct RPC2_PacketHeader *h,
                        const struct sockaddr *from, socklen_t fromlen);
void rpc_pending_binds_fini(struct rpc_instance *r);
void rpc_hold_remove(struct rpc_instance *r, struct rpc_conn *c);
void rpc_getreq_wake_all(struct rpc_instance *r, enum rpc_wake why);
bool rpc_subsys_exported(const struct rpc_instance *r, long subsys);

/* bind_server.c: runs in the GetRequest LWP; 0 = bound (NEWCONNECTION in
 * *pb), else the bind failed and was cleaned up. */
long rpc_server_bind(struct rpc_instance *r, struct rpc_conn *c,
                     RPC2_PacketBuffer **pb, RPC2_GetKeys_func *getkeys,
                     RPC2_AuthFail_func *authfail);
void rpc_deliver_init3(struct rpc_instance *r, struct rpc_conn *c,
                       RPC2_PacketBuffer *pb);

/* init.c: LWPs blocked in the layer are counted so RPC2_Finalize can
 * wake them and wait until they have left before freeing anything. */
void rpc_enter(struct rpc_instance *r);
void rpc_leave(struct rpc_instance *r);

/* misc */
void rpc_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
long rpc_check_init(void);

#endif /* RPC_INTERNAL_H */
