/* SPDX-License-Identifier: MIT */
/*
 * The UDP fault proxy (see rpc_udp_proxy.h). One thread waits in ppoll on
 * a wake-up pipe, the client-facing socket and one upstream socket per
 * client; everything it touches is under the proxy's mutex, which it drops
 * only while it waits, so configuration, statistics, capture and
 * injection from the test's thread see a consistent state.
 *
 * Delayed datagrams wait in a binary min-heap keyed by (due time, arrival
 * number): equal due times leave in arrival order, so a zero-delay
 * configuration never reorders by accident.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rpc_udp_proxy.h"

#define DEFAULT_REORDER_US 10000
#define SOCKET_BUFFER (1 << 20) /* asked for; the kernel caps it */

struct packet {
    uint64_t due_ns;
    uint64_t order; /* arrival number: ties leave in arrival order */
    enum rpc_proxy_dir dir;
    int client; /* index in clients[] */
    size_t len;
    uint8_t *data;
};

struct client {
    struct sockaddr_in addr;
    int fd; /* bound to 127.0.0.1:0 and connected to the server */
};

struct capture {
    uint8_t *data;
    size_t len;
    struct sockaddr_in client;
};

struct direction {
    struct rpc_proxy_faults faults;
    struct rpc_proxy_rng rng;
    struct rpc_proxy_stats stats;
    struct packet held; /* reordered datagram, if held.data */
    struct capture *ring;
    size_t ring_next; /* slot the next capture goes to */
    size_t ring_count;
};

struct rpc_proxy {
    pthread_mutex_t mu;
    pthread_t thread;
    int stopping;
    int wake[2]; /* pipe: the thread's fd set or deadlines changed */
    int front;   /* clients send here */
    struct sockaddr_in server, front_addr;
    struct client clients[RPC_PROXY_MAX_CLIENTS];
    int n_clients;
    struct direction dirs[2];
    size_t capture_depth;
    rpc_proxy_hook *hook;
    void *hook_arg;
    struct packet heap[RPC_PROXY_MAX_PENDING];
    int heap_len;
    uint64_t arrivals;
    uint8_t buf[RPC_PROXY_MAX_DATAGRAM];
};

/* ---- PRNG and decisions ---- */

void rpc_proxy_rng_seed(struct rpc_proxy_rng *rng, uint64_t seed,
                        enum rpc_proxy_dir dir)
{
    /* Distinct, fixed streams per direction from one seed. */
    rng->state = seed ^ (dir == RPC_PROXY_TO_SERVER ? 0x243f6a8885a308d3ULL
                                                    : 0x13198a2e03707344ULL);
}

/* splitmix64 (Steele, Lea, Flood 2014): one add and a mixing function. */
uint64_t rpc_proxy_rng_next(struct rpc_proxy_rng *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1) from the top 53 bits. */
static int chance(uint64_t draw, double p)
{
    return (double)(draw >> 11) * 0x1.0p-53 < p;
}

static uint32_t uniform_us(uint64_t draw, uint32_t max)
{
    return max ? (uint32_t)(draw % ((uint64_t)max + 1)) : 0;
}

void rpc_proxy_decide(struct rpc_proxy_rng *rng,
                      const struct rpc_proxy_faults *f, size_t len,
                      struct rpc_proxy_decision *out)
{
    uint64_t d[RPC_PROXY_DRAWS];

    for (int i = 0; i < RPC_PROXY_DRAWS; i++)
        d[i] = rpc_proxy_rng_next(rng);
    out->drop = chance(d[0], f->drop);
    out->tamper = len > 0 && chance(d[1], f->tamper);
    out->bit = len > 0 ? (uint32_t)(d[2] % ((uint64_t)len * 8)) : 0;
    out->duplicate = chance(d[3], f->duplicate);
    out->reorder = chance(d[4], f->reorder);
    out->delay_us[0] = uniform_us(d[5], f->delay_max_us);
    out->delay_us[1] = uniform_us(d[6], f->delay_max_us);
}

/* ---- Small helpers ---- */

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void poke(struct rpc_proxy *p)
{
    char c = 1;

    /* A full pipe already guarantees a wake-up. */
    if (write(p->wake[1], &c, 1) < 0 && errno != EAGAIN)
        return;
}

static double clamp01(double v)
{
    return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
}

static int loopback_socket(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int size = SOCKET_BUFFER;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
    return a->sin_port == b->sin_port &&
           a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/* Index of the client, adding it if new; -1 (errno EMFILE) when full. */
static int client_index(struct rpc_proxy *p, const struct sockaddr_in *addr)
{
    struct client *c;

    for (int i = 0; i < p->n_clients; i++)
        if (same_addr(&p->clients[i].addr, addr))
            return i;
    if (p->n_clients == RPC_PROXY_MAX_CLIENTS) {
        errno = EMFILE;
        return -1;
    }
    c = &p->clients[p->n_clients];
    c->fd = loopback_socket();
    if (c->fd < 0)
        return -1;
    if (connect(c->fd, (struct sockaddr *)&p->server, sizeof(p->server))) {
        close(c->fd);
        return -1;
    }
    c->addr = *addr;
    poke(p); /* a new fd to wait on */
    return p->n_clients++;
}

/* ---- Sending ---- */

static int raw_send(struct rpc_proxy *p, enum rpc_proxy_dir dir, int client,
                    const void *data, size_t len)
{
    struct client *c = &p->clients[client];
    ssize_t n;

    if (dir == RPC_PROXY_TO_SERVER)
        n = send(c->fd, data, len, 0);
    else
        n = sendto(p->front, data, len, 0, (struct sockaddr *)&c->addr,
                   sizeof(c->addr));
    return n == (ssize_t)len ? 0 : -1;
}

static void count_send(struct rpc_proxy *p, const struct packet *pk)
{
    struct rpc_proxy_stats *s = &p->dirs[pk->dir].stats;

    if (raw_send(p, pk->dir, pk->client, pk->data, pk->len) == 0)
        s->forwarded++;
    else
        s->send_errors++;
}

static void release_held(struct rpc_proxy *p, enum rpc_proxy_dir dir)
{
    struct direction *d = &p->dirs[dir];

    if (!d->held.data)
        return;
    count_send(p, &d->held);
    free(d->held.data);
    d->held.data = NULL;
    d->stats.pending--;
}

/* A datagram goes out now, and a datagram held back in its direction
 * right after it: that is what makes the pair swap places. */
static void send_now(struct rpc_proxy *p, const struct packet *pk)
{
    count_send(p, pk);
    release_held(p, pk->dir);
}

/* ---- The delay heap ---- */

static int earlier(const struct packet *a, const struct packet *b)
{
    return a->due_ns < b->due_ns ||
           (a->due_ns == b->due_ns && a->order < b->order);
}

static void swap(struct packet *a, struct packet *b)
{
    struct packet t = *a;

    *a = *b;
    *b = t;
}

static void heap_push(struct rpc_proxy *p, const struct packet *pk)
{
    int i = p->heap_len++;

    p->heap[i] = *pk;
    while (i > 0 && earlier(&p->heap[i], &p->heap[(i - 1) / 2])) {
        swap(&p->heap[i], &p->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
}

static struct packet heap_pop(struct rpc_proxy *p)
{
    struct packet top = p->heap[0];
    int i = 0;

    p->heap[0] = p->heap[--p->heap_len];
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;

        if (l < p->heap_len && earlier(&p->heap[l], &p->heap[m]))
            m = l;
        if (r < p->heap_len && earlier(&p->heap[r], &p->heap[m]))
            m = r;
        if (m == i)
            return top;
        swap(&p->heap[i], &p->heap[m]);
        i = m;
    }
}

static int pending_count(const struct rpc_proxy *p)
{
    return p->heap_len + (p->dirs[0].held.data != NULL) +
           (p->dirs[1].held.data != NULL);
}

/* ---- Relaying one datagram ---- */

static void capture(struct rpc_proxy *p, enum rpc_proxy_dir dir, int client,
                    const uint8_t *data, size_t len)
{
    struct direction *d = &p->dirs[dir];
    struct capture *slot;
    uint8_t *copy;

    if (p->capture_depth == 0 || !(copy = malloc(len ? len : 1)))
        return;
    memcpy(copy, data, len);
    slot = &d->ring[d->ring_next];
    free(slot->data);
    slot->data = copy;
    slot->len = len;
    slot->client = p->clients[client].addr;
    d->ring_next = (d->ring_next + 1) % p->capture_depth;
    if (d->ring_count < p->capture_depth)
        d->ring_count++;
}

/* Keeps a copy of pk (already scheduled: due_ns set) in the held slot or
 * the heap; on no memory the copy is lost and counted as a send error. */
static int keep_copy(struct rpc_proxy *p, struct packet *pk)
{
    uint8_t *copy = malloc(pk->len ? pk->len : 1);

    if (!copy) {
        p->dirs[pk->dir].stats.send_errors++;
        return -1;
    }
    memcpy(copy, pk->data, pk->len);
    pk->data = copy;
    pk->order = p->arrivals++;
    p->dirs[pk->dir].stats.pending++;
    return 0;
}

/* One copy of the datagram in p->buf: held back, delayed, or sent at
 * once (without being copied). */
static void schedule(struct rpc_proxy *p, const struct packet *orig, int hold,
                     uint32_t delay_us, uint64_t now)
{
    struct direction *d = &p->dirs[orig->dir];
    struct packet pk = *orig;
    uint32_t hold_us = d->faults.reorder_max_us ? d->faults.reorder_max_us
                                                : DEFAULT_REORDER_US;

    if (pending_count(p) >= RPC_PROXY_MAX_PENDING)
        hold = 0, delay_us = 0; /* the memory bound wins over the fault */
    if (hold && !d->held.data) {
        pk.due_ns = now + (uint64_t)hold_us * 1000u;
        if (keep_copy(p, &pk) == 0) {
            d->held = pk;
            d->stats.reordered++;
        }
    } else if (delay_us) {
        pk.due_ns = now + (uint64_t)delay_us * 1000u;
        if (keep_copy(p, &pk) == 0) {
            heap_push(p, &pk);
            d->stats.delayed++;
        }
    } else {
        send_now(p, &pk);
    }
}

static void relay(struct rpc_proxy *p, enum rpc_proxy_dir dir, int client,
                  size_t len)
{
    struct direction *d = &p->dirs[dir];
    struct rpc_proxy_decision dec;
    struct packet pk = {.dir = dir, .client = client, .data = p->buf};
    uint64_t now = now_ns();

    d->stats.received++;
    capture(p, dir, client, p->buf, len);
    rpc_proxy_decide(&d->rng, &d->faults, len, &dec);
    if (dec.drop || (p->hook && p->hook(p->hook_arg, dir, p->buf, &len,
                                        sizeof(p->buf)) == RPC_PROXY_DROP)) {
        d->stats.dropped++;
        return;
    }
    if (dec.tamper && dec.bit < len * 8) {
        p->buf[dec.bit / 8] ^= (uint8_t)(1u << (dec.bit % 8));
        d->stats.tampered++;
    }
    pk.len = len;
    schedule(p, &pk, dec.reorder, dec.delay_us[0], now);
    if (dec.duplicate) {
        d->stats.duplicated++;
        schedule(p, &pk, 0, dec.delay_us[1], now);
    }
}

/* ---- The thread ---- */

static void drain_front(struct rpc_proxy *p)
{
    for (;;) {
        struct sockaddr_in from;
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(p->front, p->buf, sizeof(p->buf), 0,
                             (struct sockaddr *)&from, &flen);
        int c;

        if (n < 0)
            return; /* EAGAIN, or an error the next datagram survives */
        if (flen != sizeof(from) || from.sin_family != AF_INET)
            continue;
        c = client_index(p, &from);
        if (c < 0) {
            p->dirs[RPC_PROXY_TO_SERVER].stats.received++;
            p->dirs[RPC_PROXY_TO_SERVER].stats.dropped++;
            p->dirs[RPC_PROXY_TO_SERVER].stats.unroutable++;
            continue;
        }
        relay(p, RPC_PROXY_TO_SERVER, c, (size_t)n);
    }
}

static void drain_upstream(struct rpc_proxy *p, int client)
{
    for (;;) {
        ssize_t n = recv(p->clients[client].fd, p->buf, sizeof(p->buf), 0);

        /* ECONNREFUSED (no server listening) reports an earlier send;
         * read on, the socket stays usable. */
        if (n < 0 && errno == ECONNREFUSED)
            continue;
        if (n < 0)
            return;
        relay(p, RPC_PROXY_TO_CLIENT, client, (size_t)n);
    }
}

static void run_due(struct rpc_proxy *p)
{
    uint64_t now = now_ns();

    while (p->heap_len > 0 && p->heap[0].due_ns <= now) {
        struct packet pk = heap_pop(p);

        p->dirs[pk.dir].stats.pending--;
        send_now(p, &pk);
        free(pk.data);
    }
    for (int dir = 0; dir < 2; dir++)
        if (p->dirs[dir].held.data && p->dirs[dir].held.due_ns <= now)
            release_held(p, (enum rpc_proxy_dir)dir);
}

/* The earliest deadline, as a relative timeout; NULL for none. */
static struct timespec *next_timeout(struct rpc_proxy *p, struct timespec *ts)
{
    uint64_t due = UINT64_MAX, now;

    if (p->heap_len > 0)
        due = p->heap[0].due_ns;
    for (int dir = 0; dir < 2; dir++)
        if (p->dirs[dir].held.data && p->dirs[dir].held.due_ns < due)
            due = p->dirs[dir].held.due_ns;
    if (due == UINT64_MAX)
        return NULL;
    now = now_ns();
    due = due > now ? due - now : 0;
    ts->tv_sec = (time_t)(due / 1000000000u);
    ts->tv_nsec = (long)(due % 1000000000u);
    return ts;
}

static int fill_fds(struct rpc_proxy *p, struct pollfd *fds)
{
    fds[0] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
    fds[1] = (struct pollfd){.fd = p->front, .events = POLLIN};
    for (int i = 0; i < p->n_clients; i++)
        fds[2 + i] = (struct pollfd){.fd = p->clients[i].fd, .events = POLLIN};
    return 2 + p->n_clients;
}

static void handle_ready(struct rpc_proxy *p, const struct pollfd *fds, int n)
{
    char junk[64];

    if (fds[0].revents)
        while (read(p->wake[0], junk, sizeof(junk)) > 0)
            ;
    if (fds[1].revents)
        drain_front(p);
    /* Only the clients polled: one added meanwhile is polled next turn. */
    for (int i = 2; i < n; i++)
        if (fds[i].revents)
            drain_upstream(p, i - 2);
    run_due(p);
}

static void *proxy_thread(void *arg)
{
    struct pollfd fds[2 + RPC_PROXY_MAX_CLIENTS];
    struct rpc_proxy *p = arg;

    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        struct timespec ts, *timeout = next_timeout(p, &ts);
        int n = fill_fds(p, fds);

        pthread_mutex_unlock(&p->mu);
        if (ppoll(fds, (nfds_t)n, timeout, NULL) < 0)
            for (int i = 0; i < n; i++)
                fds[i].revents = 0; /* EINTR: only deadlines to check */
        pthread_mutex_lock(&p->mu);
        handle_ready(p, fds, n);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---- Start and stop ---- */

static void free_all(struct rpc_proxy *p)
{
    for (int i = 0; i < p->n_clients; i++)
        close(p->clients[i].fd);
    while (p->heap_len > 0)
        free(heap_pop(p).data);
    for (int dir = 0; dir < 2; dir++) {
        struct direction *d = &p->dirs[dir];

        free(d->held.data);
        for (size_t i = 0; d->ring && i < p->capture_depth; i++)
            free(d->ring[i].data);
        free(d->ring);
    }
    if (p->front >= 0)
        close(p->front);
    if (p->wake[0] >= 0) {
        close(p->wake[0]);
        close(p->wake[1]);
    }
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static int open_front(struct rpc_proxy *p)
{
    socklen_t len = sizeof(p->front_addr);

    p->front = loopback_socket();
    if (p->front < 0)
        return -1;
    return getsockname(p->front, (struct sockaddr *)&p->front_addr, &len);
}

static int set_up(struct rpc_proxy *p, uint64_t seed)
{
    if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        p->wake[0] = p->wake[1] = -1;
        return -1;
    }
    if (open_front(p) != 0)
        return -1;
    for (int dir = 0; dir < 2; dir++) {
        struct direction *d = &p->dirs[dir];

        rpc_proxy_rng_seed(&d->rng, seed, (enum rpc_proxy_dir)dir);
        if (p->capture_depth &&
            !(d->ring = calloc(p->capture_depth, sizeof(*d->ring))))
            return -1;
    }
    return 0;
}

struct rpc_proxy *rpc_proxy_start(const struct sockaddr_in *server,
                                  uint64_t seed, size_t capture_depth)
{
    struct rpc_proxy *p;
    int err;

    if (!server || server->sin_family != AF_INET ||
        capture_depth > RPC_PROXY_MAX_CAPTURE) {
        errno = EINVAL;
        return NULL;
    }
    if (!(p = calloc(1, sizeof(*p))))
        return NULL;
    p->front = -1;
    p->server = *server;
    p->capture_depth = capture_depth;
    pthread_mutex_init(&p->mu, NULL);
    if (set_up(p, seed) != 0) {
        err = errno;
        free_all(p);
        errno = err;
        return NULL;
    }
    err = pthread_create(&p->thread, NULL, proxy_thread, p);
    if (err != 0) {
        free_all(p);
        errno = err;
        return NULL;
    }
    return p;
}

void rpc_proxy_stop(struct rpc_proxy *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    poke(p);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    free_all(p);
}

/* ---- Configuration and inspection ---- */

void rpc_proxy_address(const struct rpc_proxy *p, struct sockaddr_in *out)
{
    *out = p->front_addr; /* fixed from the start: no lock needed */
}

uint16_t rpc_proxy_port(const struct rpc_proxy *p)
{
    return ntohs(p->front_addr.sin_port);
}

void rpc_proxy_set_faults(struct rpc_proxy *p, enum rpc_proxy_dir dir,
                          const struct rpc_proxy_faults *faults)
{
    struct rpc_proxy_faults f = {0};

    if (faults) {
        f = *faults;
        f.drop = clamp01(f.drop);
        f.duplicate = clamp01(f.duplicate);
        f.reorder = clamp01(f.reorder);
        f.tamper = clamp01(f.tamper);
    }
    pthread_mutex_lock(&p->mu);
    p->dirs[dir].faults = f;
    pthread_mutex_unlock(&p->mu);
}

void rpc_proxy_set_hook(struct rpc_proxy *p, rpc_proxy_hook *hook, void *arg)
{
    pthread_mutex_lock(&p->mu);
    p->hook = hook;
    p->hook_arg = arg;
    pthread_mutex_unlock(&p->mu);
}

void rpc_proxy_get_stats(struct rpc_proxy *p, enum rpc_proxy_dir dir,
                         struct rpc_proxy_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->dirs[dir].stats;
    pthread_mutex_unlock(&p->mu);
}

int rpc_proxy_clients(struct rpc_proxy *p)
{
    int n;

    pthread_mutex_lock(&p->mu);
    n = p->n_clients;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int rpc_proxy_captured(struct rpc_proxy *p, enum rpc_proxy_dir dir,
                       unsigned age, void *buf, size_t cap, size_t *len,
                       struct sockaddr_in *client)
{
    struct direction *d = &p->dirs[dir];
    const struct capture *c;
    int rc = 0;

    pthread_mutex_lock(&p->mu);
    if (age >= d->ring_count) {
        pthread_mutex_unlock(&p->mu);
        errno = ENOENT;
        return -1;
    }
    c = &d->ring[(d->ring_next + p->capture_depth - 1 - age) %
                 p->capture_depth];
    *len = c->len;
    if (client)
        *client = c->client;
    if (c->len > cap) {
        errno = EMSGSIZE;
        rc = -1;
    } else {
        memcpy(buf, c->data, c->len);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int rpc_proxy_inject(struct rpc_proxy *p, enum rpc_proxy_dir dir,
                     const struct sockaddr_in *client, const void *buf,
                     size_t len)
{
    int c, rc = -1;

    if (!client || (!buf && len)) {
        errno = EINVAL;
        return -1;
    }
    if (len > RPC_PROXY_MAX_DATAGRAM) {
        errno = EMSGSIZE;
        return -1;
    }
    pthread_mutex_lock(&p->mu);
    c = client_index(p, client);
    if (c >= 0 && (rc = raw_send(p, dir, c, buf, len)) == 0)
        p->dirs[dir].stats.injected++;
    pthread_mutex_unlock(&p->mu);
    return rc;
}
