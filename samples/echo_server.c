/* SPDX-License-Identifier: MIT */
/*
 * echo_server: a TCP echo server with one LWP per connection.
 *
 *   echo_server [-p port] [-c max_connections] [-s stack_bytes]
 *               [-i idle_seconds] [-O] [-H]
 *
 * Listens on 127.0.0.1 only (port 0, the default, lets the kernel pick one)
 * and prints "listening on 127.0.0.1:PORT" once it accepts connections.
 * An acceptor LWP waits for the listening socket with IOMGR_WaitIO and
 * starts one LWP per connection at LWP_NORMAL_PRIORITY, allowed a small
 * stack depth (default 32 KiB; the echo buffer lives on the heap).
 *
 * The acceptor takes what the backlog holds in batches of up to
 * ACCEPT_BATCH without yielding: connection LWPs are created dormant and
 * resumed, which queues them without a switch (a plain LWP_CreateProcess
 * yields to its child). It yields after each full batch so that a flood
 * of connections cannot starve the ones already open. Yielding per
 * connection would cost a full time slice per connection whenever a
 * preemptible LWP shares the priority (-H): the yield puts the acceptor
 * behind it, and it keeps the CPU until the next tick; after a burst of
 * 2,000 connect-and-reset clients, the next client then waited 8-12 s.
 *
 * Idle timeout (-i, default none): a connection on which nothing arrives
 * for that many seconds, or whose client takes that long to make room for
 * an echo, is closed; the summary counts these.
 *
 * Connection LWPs run on the one shared stack (LWP_CREATE_SHARED_STACK):
 * while one waits, only its live stack, a few hundred bytes, is kept
 * aside, so a thousand connections touch a thousand small buffers rather
 * than a thousand stacks. Nothing here hands another LWP a pointer into a
 * connection's stack, which is what that mode asks. -O gives each
 * connection a stack of its own instead. A connection LWP
 * reads whatever has arrived and writes all of it back, waiting for
 * IOMGR_READ or IOMGR_WRITE whenever the socket is not ready; it returns,
 * which frees its PCB and stack for reuse, when the client closes or the
 * connection fails (a client vanishing mid-message gives ECONNRESET or
 * EPIPE: sends use MSG_NOSIGNAL and SIGPIPE is ignored).
 *
 * Connection limit (-c, default 1024): a connection beyond it is accepted
 * and closed at once, so its client sees end of stream immediately instead
 * of hanging in the listen backlog until someone leaves. The summary counts
 * these as rejected.
 *
 * With -H, a preemptible CPU hog LWP runs beside the connections at the
 * same priority, cut every millisecond by PRE_InitPreempt's timer: the
 * connections keep being served with bounded latency (the hog loses the
 * CPU at every tick, and the tick also polls IOMGR so that connections
 * whose data has arrived run). The summary reports the hog's work and
 * how often it was cut.
 *
 * SIGINT and SIGTERM reach the main LWP as an event through IOMGR_Signal.
 * It then sets `stopping`, cancels the LWPs that wait in IOMGR, waits until
 * every one of them has closed its socket and returned, prints a summary
 * and exits 0.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lwp/lwp.h>
#include <lwp/preempt.h>

#include "echo_common.h"

#define DEFAULT_MAX_CONNS 1024
#define DEFAULT_STACK (32 * 1024)
#define ECHO_BUF (16 * 1024)
/* Connections the acceptor starts before it lets them run. */
#define ACCEPT_BATCH 64
/* A connection that always finds data yields after this many echoes, so
 * that one busy client cannot starve the others (nothing preempts). */
#define FAIR_BURST 16

struct conn {
    struct conn *prev, *next; /* in `conns`, for shutdown */
    PROCESS pid;              /* its LWP; NULL if none could be made */
    int fd;
    char *buf; /* ECHO_BUF bytes: too big for a 32 KiB stack */
};

struct config {
    int port;
    int max_conns;
    int stack;
    int hog;
    int own_stacks; /* -O: a stack per connection, not the shared one */
    int idle_s;     /* -i: close a connection idle this long; 0 = never */
};

static struct config cfg = {0, DEFAULT_MAX_CONNS, DEFAULT_STACK, 0, 0, 0};
/* Set once by main on SIGINT/SIGTERM. Volatile: the -H hog tests it in a
 * loop without calls, and main sets it while the hog is cut mid-loop. */
static volatile int stopping;
static char stop_event; /* IOMGR_Signal delivers the signals here */
static char all_gone;   /* signalled when the last LWP has returned */
static int live;        /* acceptor + connection LWPs not yet returned */
static PROCESS acceptor_pid;
static struct conn conns = {&conns, &conns, NULL, -1, NULL};
static int n_open, n_peak; /* connections open now, and at most */
static unsigned long n_served, n_rejected, n_failed, n_idle;
static unsigned long long bytes_echoed;
static int stack_peak, stack_size; /* deepest use by a connection LWP */
static volatile unsigned long hog_rounds; /* work done by the -H hog */

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [-p port (0 = ephemeral)] [-c max_connections "
            "(default %d)] [-s stack_bytes (default %d)] [-i idle_seconds "
            "(close a connection on which nothing arrives, or that takes "
            "no echo, for that long; default: never)] [-O (a stack of "
            "its own per connection)] [-H (preemptible CPU hog beside the "
            "connections)]\n",
            argv0, DEFAULT_MAX_CONNS, DEFAULT_STACK);
    exit(2);
}

static void parse_options(int argc, char **argv)
{
    int opt;

    while ((opt = getopt(argc, argv, "p:c:s:i:OHh")) != -1) {
        switch (opt) {
        case 'p':
            cfg.port = (int)echo_parse_long('p', optarg, 0, 65535);
            break;
        case 'c':
            cfg.max_conns = (int)echo_parse_long('c', optarg, 1, 1000000);
            break;
        case 's':
            cfg.stack = (int)echo_parse_long('s', optarg, 0, 64 << 20);
            break;
        case 'i':
            cfg.idle_s = (int)echo_parse_long('i', optarg, 1, 86400);
            break;
        case 'O':
            cfg.own_stacks = 1;
            break;
        case 'H':
            cfg.hog = 1;
            break;
        default:
            usage(argv[0]);
        }
    }
    if (optind != argc)
        usage(argv[0]);
    if (!cfg.own_stacks && cfg.stack > LWP_SHARED_STACK_MAX) {
        fprintf(stderr, "echo_server: -s %d: shared-stack LWPs may use at "
                "most %d bytes (use -O for larger stacks)\n",
                cfg.stack, LWP_SHARED_STACK_MAX);
        exit(2);
    }
}

/* Called by each LWP as it returns: the last one wakes main. */
static void lwp_gone(void)
{
    if (--live == 0 && stopping)
        LWP_NoYieldSignal(&all_gone);
}

static void conn_unlink_free(struct conn *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    close(c->fd);
    free(c->buf);
    free(c);
    n_open--;
}

/* Shows in the summary how much of the small stacks the echo loop needs. */
static void note_stack_use(void)
{
    int max, used;

    if (LWP_StackUsed(LWP_ThisProcess(), &max, &used) == LWP_SUCCESS &&
        used > stack_peak) {
        stack_peak = used;
        stack_size = max;
    }
}

static void conn_main(void *arg)
{
    struct conn *c = arg;
    /* Each wait may last the idle timeout: a wait that times out means
     * the connection was idle that long. */
    struct echo_io io = {cfg.idle_s > 0 ? cfg.idle_s * 1000 : -1, &stopping};
    int wait_first = 0, burst = 0, failed = 0;
    ssize_t n;

    /* Main may have asked everyone to stop before this LWP first ran. */
    while (!stopping) {
        n = echo_recv_some(c->fd, c->buf, ECHO_BUF, wait_first, &io);
        if (n <= 0) { /* end of stream, reset, idle, or shutdown */
            failed = n < 0 ? errno : 0;
            break;
        }
        if (echo_send_all(c->fd, c->buf, (size_t)n, &io) < 0) {
            failed = errno;
            break;
        }
        bytes_echoed += (unsigned long long)n;
        /* A short read emptied the socket: the next recv would only
         * say EAGAIN, so wait first and save that system call. */
        wait_first = n < ECHO_BUF;
        if (wait_first)
            burst = 0;
        else if (++burst % FAIR_BURST == 0)
            LWP_DispatchProcess();
    }
    if (failed == ETIMEDOUT)
        n_idle++;
    else if (failed && !stopping)
        n_failed++; /* e.g. the client vanished mid-message */
    note_stack_use();
    conn_unlink_free(c);
    lwp_gone();
}

static void set_nodelay(int fd)
{
    int one = 1;

    /* Echoes are small request/response exchanges: never hold them back
     * waiting for more data (Nagle) or for an ACK. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Hand a freshly accepted socket to a new connection LWP, or close it if
 * the limit is reached or no LWP can be made. Never yields: the LWP is
 * queued to run when the acceptor next yields. */
static void start_conn(int fd)
{
    struct lwp_attr attr = LWP_ATTR_INIT;
    struct conn *c;
    int rc;

    if (n_open >= cfg.max_conns) {
        if (n_rejected++ == 0)
            fprintf(stderr,
                    "echo_server: %d connections open: closing new "
                    "ones at once\n",
                    n_open);
        close(fd);
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL || (c->buf = malloc(ECHO_BUF)) == NULL) {
        free(c);
        close(fd);
        n_failed++;
        return;
    }
    set_nodelay(fd);
    c->fd = fd;
    c->next = &conns;
    c->prev = conns.prev;
    conns.prev->next = c;
    conns.prev = c;
    n_open++;
    if (n_open > n_peak)
        n_peak = n_open;
    live++;
    n_served++;
    /* Dormant, then resumed: queued at the tail of its run queue without
     * the yield to the child that creating a runnable LWP makes. */
    attr.stacksize = cfg.stack;
    attr.name = "echo connection";
    attr.flags =
        LWP_CREATE_DORMANT | (cfg.own_stacks ? 0 : LWP_CREATE_SHARED_STACK);
    rc = LWP_CreateProcessAttr(&attr, conn_main, c, &c->pid);
    if (rc == LWP_SUCCESS && (rc = LWP_ResumeProcess(c->pid)) != LWP_SUCCESS)
        LWP_DestroyProcess(c->pid); /* never ran: c is not in use */
    if (rc != LWP_SUCCESS) {
        fprintf(stderr, "echo_server: new connection LWP: %s\n",
                LWP_StrError(rc));
        n_served--;
        n_failed++;
        live--;
        conn_unlink_free(c);
    }
}

/* Back off after an accept error that retrying at once would repeat. */
static int accept_backoff(void)
{
    switch (errno) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
        perror("echo_server: accept");
        return echo_sleep_ms(100);
    default: /* ECONNABORTED and friends: the next one may be fine */
        return 0;
    }
}

static void acceptor_main(void *arg)
{
    int lfd = *(int *)arg;
    struct echo_io io = {-1, &stopping};
    int batch = 0;

    acceptor_pid = LWP_ThisProcess();
    while (!stopping) {
        int fd;

        /* At the limit while connections of this batch have not run yet:
         * let them run first (a reset one closes at once) rather than
         * turn the next client away. */
        if (batch > 0 && n_open >= cfg.max_conns) {
            batch = 0;
            LWP_DispatchProcess();
            continue;
        }
        fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            start_conn(fd);
            if (++batch == ACCEPT_BATCH) { /* let the new ones run */
                batch = 0;
                LWP_DispatchProcess();
            }
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            batch = 0;
            /* Fails when stopping; otherwise retrying would spin. */
            if (echo_wait(lfd, IOMGR_READ, &io) < 0 && !stopping) {
                perror("echo_server: waiting for connections");
                break;
            }
        } else if (errno != EINTR && accept_backoff() < 0) {
            break;
        }
    }
    lwp_gone();
}

/* The -H hog: pure computation in the program's own code, which only the
 * preemption timer takes the CPU from. */
static void hog_main(void *arg)
{
    (void)arg;
    PRE_PreemptMe();
    while (!stopping)
        for (int i = 0; i < 1000; i++)
            hog_rounds++;
    lwp_gone();
}

/* The hog is created dormant and resumed just before main waits for the
 * stop signal: started at once it would run (same priority), be cut, and
 * the tick's IOMGR poll could deliver SIGTERM before main waits for it. */
static PROCESS create_hog(void)
{
    struct timeval slice = {0, 1000};
    struct lwp_attr attr = LWP_ATTR_INIT;
    PROCESS pid = NULL;
    int rc = PRE_InitPreempt(&slice);

    if (rc != LWP_SUCCESS) {
        fprintf(stderr, "PRE_InitPreempt: %s\n", LWP_StrError(rc));
        return NULL;
    }
    attr.stacksize = cfg.stack;
    attr.name = "echo hog";
    attr.flags = LWP_CREATE_DORMANT;
    rc = LWP_CreateProcessAttr(&attr, hog_main, NULL, &pid);
    if (rc != LWP_SUCCESS) {
        fprintf(stderr, "creating the hog: %s\n", LWP_StrError(rc));
        return NULL;
    }
    live++;
    return pid;
}

/* A non-blocking socket listening on 127.0.0.1:port; *bound = its port. */
static int listen_loopback(int port, int *bound)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    echo_loopback(&sa, port);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        int err = errno;

        close(fd);
        errno = err;
        return -1;
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

static int setup(int *lfd)
{
    int rc, port;

    rc = IOMGR_Initialize(); /* also makes main the LWP_NORMAL_PRIORITY LWP */
    if (rc != LWP_SUCCESS) {
        fprintf(stderr, "IOMGR_Initialize: %s\n", LWP_StrError(rc));
        return -1;
    }
    if ((rc = IOMGR_Signal(SIGINT, &stop_event)) != LWP_SUCCESS ||
        (rc = IOMGR_Signal(SIGTERM, &stop_event)) != LWP_SUCCESS) {
        fprintf(stderr, "IOMGR_Signal: %s\n", LWP_StrError(rc));
        return -1;
    }
    *lfd = listen_loopback(cfg.port, &port);
    if (*lfd < 0) {
        perror("echo_server: listen on 127.0.0.1");
        return -1;
    }
    printf("listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
    return 0;
}

/* Ask every LWP to stop and wait until all have returned. */
static void stop_all(void)
{
    struct conn *c;

    stopping = 1;
    /* Those parked in IOMGR get -2 (ECANCELED); the others are runnable
     * and see `stopping` before their next wait. */
    if (acceptor_pid != NULL)
        IOMGR_Cancel(acceptor_pid);
    for (c = conns.next; c != &conns; c = c->next)
        if (c->pid != NULL)
            IOMGR_Cancel(c->pid);
    while (live > 0)
        LWP_WaitProcess(&all_gone);
}

int main(int argc, char **argv)
{
    PROCESS hog = NULL;
    int lfd, rc;

    parse_options(argc, argv);
    signal(SIGPIPE, SIG_IGN); /* belt and braces with MSG_NOSIGNAL */
    echo_raise_nofile((long)cfg.max_conns + 64);
    if (setup(&lfd) != 0)
        return 1;

    live = 1;
    rc = LWP_CreateProcess(acceptor_main, cfg.stack, LWP_NORMAL_PRIORITY, &lfd,
                           "echo acceptor", NULL);
    if (rc != LWP_SUCCESS) {
        fprintf(stderr, "creating the acceptor: %s\n", LWP_StrError(rc));
        return 1;
    }
    if (cfg.hog && (hog = create_hog()) == NULL)
        return 1;
    /* Signals are delivered by the IO MANAGER (priority 0), which cannot
     * run between here and the wait: main stays runnable until it waits,
     * and resuming the hog does not yield. */
    if (hog)
        LWP_ResumeProcess(hog);
    LWP_WaitProcess(&stop_event);
    stop_all();
    close(lfd);

    printf("echo_server: stopped: %lu connections served (at most %d at "
           "once), %lu rejected over the limit of %d, %lu ended by an "
           "error, %llu bytes echoed\n",
           n_served, n_peak, n_rejected, cfg.max_conns, n_failed, bytes_echoed);
    if (cfg.own_stacks)
        printf("echo_server: connections on stacks of their own: deepest "
               "%d of %d bytes used\n",
               stack_peak, stack_size);
    else
        printf("echo_server: connections on the shared stack: deepest live "
               "stack %d bytes (%d allowed)\n",
               stack_peak, stack_size);
    if (cfg.idle_s > 0)
        printf("echo_server: idle timeout %d s: %lu connections closed\n",
               cfg.idle_s, n_idle);
    if (cfg.hog)
        printf("echo_server: hog: %lu million additions, cut %lu times by "
               "preemption\n",
               hog_rounds / 1000000, PRE_Preemptions());
    fflush(stdout);
    IOMGR_Finalize();
    return LWP_TerminateProcessSupport() == LWP_SUCCESS ? 0 : 1;
}
