/* SPDX-License-Identifier: MIT */
/*
 * RPC2_Init and RPC2_Finalize: the instance, its socket(s), IOMGR and the
 * listener; subsystem exports; the bind address.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lwp/iomgr.h>

#include "rpc_internal.h"

_Thread_local struct rpc_instance *rpc__inst;

FILE *rpc2_logfile;
FILE *rpc2_tracefile;
long rpc2_Bandwidth;
RPC2_PortIdent rpc2_LocalPort;

#define SOCKBUF_BYTES (4 << 20) /* room for bursts of 1,000 connections */

static _Thread_local struct sockaddr_storage bind_addr;
static _Thread_local socklen_t bind_len;

void rpc_log(int level, const char *fmt, ...)
{
    va_list ap;

    if (level > RPC2_DebugLevel) {
        return;
    }
    FILE *f = rpc2_logfile ? rpc2_logfile : stderr;
    va_start(ap, fmt);
    fputs("rpc2: ", f);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    va_end(ap);
}

void RPC2_SetLog(FILE *file, int level)
{
    if (file) {
        rpc2_logfile = file;
        rpc2_tracefile = file;
    }
    RPC2_DebugLevel = level;
}

long rpc_check_init(void)
{
    struct rpc_instance *r = rpc__inst;

    return r && !r->stopping ? RPC2_SUCCESS : RPC2_FAIL;
}

void rpc_enter(struct rpc_instance *r)
{
    r->active++;
}

void rpc_leave(struct rpc_instance *r)
{
    if (--r->active == 0 && r->stopping) {
        LWP_NoYieldSignal(&r->active);
    }
}

void RPC2_setbindaddr(RPC2_HostIdent *host)
{
    bind_len = 0;
    if (!host) {
        return;
    }
    if (host->Tag == RPC2_HOSTBYINETADDR) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&bind_addr;
        memset(&bind_addr, 0, sizeof bind_addr);
        sin->sin_family = AF_INET;
        sin->sin_addr = host->Value.InetAddress;
        bind_len = sizeof *sin;
    } else if (host->Tag == RPC2_HOSTBYADDRINFO && host->Value.AddrInfo &&
               host->Value.AddrInfo->ai_addrlen <= sizeof bind_addr) {
        memcpy(&bind_addr, host->Value.AddrInfo->ai_addr,
               host->Value.AddrInfo->ai_addrlen);
        bind_len = (socklen_t)host->Value.AddrInfo->ai_addrlen;
    }
}

struct in_addr RPC2_setip(struct in_addr *ip)
{
    struct in_addr old = {0};

    if (bind_len == sizeof(struct sockaddr_in)) {
        old = ((struct sockaddr_in *)&bind_addr)->sin_addr;
    }
    if (ip) {
        RPC2_HostIdent h = {.Tag = RPC2_HOSTBYINETADDR};
        h.Value.InetAddress = *ip;
        RPC2_setbindaddr(&h);
    }
    return old;
}

static long open_socket(int family, uint16_t port, int *fdp)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    int fd, one = 1, size = SOCKBUF_BYTES;

    if (bind_len && bind_addr.ss_family == family) {
        ss = bind_addr;
        len = bind_len;
    } else if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_ANY);
        len = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_any;
        len = sizeof *sin6;
    }
    if (family == AF_INET) {
        ((struct sockaddr_in *)&ss)->sin_port = port;
    } else {
        ((struct sockaddr_in6 *)&ss)->sin6_port = port;
    }
    fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return RPC2_FAIL;
    }
    if (family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
        long rc = errno == EADDRINUSE ? RPC2_DUPLICATESERVER : RPC2_BADSERVER;
        close(fd);
        return rc;
    }
    *fdp = fd;
    return RPC2_SUCCESS;
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        return 0;
    }
    return ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                   : ((struct sockaddr_in6 *)&ss)->sin6_port;
}

static long open_sockets(struct rpc_instance *r, const RPC2_PortIdent *port)
{
    uint16_t p = 0;
    long rc;

    if (port && port->Tag == RPC2_PORTBYINETNUMBER) {
        p = port->Value.InetPortNumber;
    } else if (port && port->Tag == RPC2_PORTBYNAME) {
        char name[sizeof port->Value.Name + 1];
        memcpy(name, port->Value.Name, sizeof port->Value.Name);
        name[sizeof port->Value.Name] = '\0';
        struct servent *s = getservbyname(name, "udp");
        if (!s) {
            return RPC2_FAIL;
        }
        p = (uint16_t)s->s_port;
    } else if (port) {
        return RPC2_FAIL;
    }
    bool v6_only = bind_len && bind_addr.ss_family == AF_INET6;
    rc = open_socket(v6_only ? AF_INET6 : AF_INET, p, v6_only ? &r->fd6 : &r->fd4);
    if (rc != RPC2_SUCCESS) {
        return rc;
    }
    r->port = bound_port(v6_only ? r->fd6 : r->fd4);
    if (v6_only) {
        r->fd4 = r->fd6; /* the one socket serves every send */
        r->fd6 = -1;
    } else if (r->ipv6) {
        /* IPv6 on the same port number, if the host has IPv6 at all. */
        if (open_socket(AF_INET6, r->port, &r->fd6) != RPC2_SUCCESS) {
            r->fd6 = -1;
        }
    }
    return RPC2_SUCCESS;
}

static size_t env_keysize(void)
{
    const char *s = getenv("RPC2SEC_KEYSIZE");
    long v = s ? strtol(s, NULL, 10) : 0;

    if (v > 64) {
        v /= 8; /* given in bits */
    }
    return v > 0 ? (size_t)v : RPC2_Preferred_Keysize;
}

static void fire_reaper(struct rpc_timer *t);

static struct rpc_instance *instance_new(RPC2_Options *opt, long retries,
                                         struct timeval *ka)
{
    struct rpc_instance *r = calloc(1, sizeof *r);

    if (!r) {
        return NULL;
    }
    r->fd4 = r->fd6 = -1;
    r->ipv6 = opt && (opt->Flags & RPC2_OPTION_IPV6);
    r->keysize = env_keysize();
    r->getreq_ring.next = r->getreq_ring.prev = &r->getreq_ring;
    r->reaper.fire = fire_reaper;
    r->reap_period_us = RPC_REAP_PERIOD_US;
    r->reap_idle_us = RPC_REAP_IDLE_US;
    rpc_retry_init(&r->retry, retries, ka);
    rpc_timers_init(&r->timers);
    if (rpc_rx_init(r) != 0 || rpc_hosts_init(&r->hosts) != 0) {
        rpc_timers_fini(&r->timers);
        rpc_rx_fini(r);
        free(r);
        return NULL;
    }
    if (rpc_conn_table_init(r) != 0 || rpc_sendq_init(r) != 0) {
        rpc_sendq_fini(r);
        rpc_conn_table_fini(r);
        rpc_hosts_fini(&r->hosts);
        rpc_timers_fini(&r->timers);
        rpc_rx_fini(r);
        free(r);
        return NULL;
    }
    return r;
}

static void instance_free(struct rpc_instance *r)
{
    rpc_sendq_fini(r); /* sends what is queued, before the sockets close */
    rpc_pending_binds_fini(r);
    rpc_conn_table_fini(r);
    rpc_hosts_fini(&r->hosts);
    rpc_timers_fini(&r->timers);
    while (r->exports) {
        struct rpc_export *e = r->exports;
        r->exports = e->next;
        free(e);
    }
    if (r->fd4 >= 0) {
        close(r->fd4);
    }
    if (r->fd6 >= 0) {
        close(r->fd6);
    }
    rpc_rx_fini(r);
    free(r);
}

long RPC2_Init(const char *VersionId, RPC2_Options *Options,
               RPC2_PortIdent *Port, long RetryCount,
               struct timeval *KeepAliveInterval)
{
    struct rpc_instance *r;
    PROCESS self;
    long rc;

    if (!VersionId || strcmp(VersionId, RPC2_VERSION) != 0) {
        return RPC2_WRONGVERSION;
    }
    if (rpc__inst) {
        return RPC2_SUCCESS;
    }
    if (LWP_CurrentProcess(&self) != LWP_SUCCESS) {
        return RPC2_LWPNOTINIT;
    }
    if (sec_init(Options && (Options->Flags & RPC2_OPTION_VERBOSE_INIT)) != 0 ||
        IOMGR_Initialize() != LWP_SUCCESS) {
        return RPC2_FAIL;
    }
    r = instance_new(Options, RetryCount, KeepAliveInterval);
    if (!r) {
        return RPC2_FAIL;
    }
    rc = open_sockets(r, Port);
    if (rc != RPC2_SUCCESS) {
        instance_free(r);
        return rc;
    }
    rpc__inst = r;
    if (rpc_listener_start(r) != LWP_SUCCESS) {
        rpc__inst = NULL;
        instance_free(r);
        return RPC2_FAIL;
    }
    rpc_timer_arm(&r->timers, &r->reaper, rpc_now() + r->reap_period_us);
    rpc2_LocalPort.Tag = RPC2_PORTBYINETNUMBER;
    rpc2_LocalPort.Value.InetPortNumber = r->port;
    if (Port) {
        *Port = rpc2_LocalPort;
    }
    return RPC2_SUCCESS;
}

static void wake_everyone(struct rpc_instance *r)
{
    for (uint32_t i = 0; i <= r->cmask; i++) {
        for (struct rpc_conn *c = r->ctab[i]; c; c = c->hnext) {
            if (c->wait) {
                rpc_wait_wake(c->wait, RPC_WAKE_GONE);
            }
            if (c->enq_waiters) {
                LWP_NoYieldSignal(c);
            }
        }
    }
    rpc_getreq_wake_all(r, RPC_WAKE_GONE);
}

long RPC2_Finalize(void)
{
    struct rpc_instance *r = rpc__inst;
    PROCESS self;

    if (!r || r->stopping || (LWP_CurrentProcess(&self) == LWP_SUCCESS &&
                              self == r->listener)) {
        return RPC2_FAIL;
    }
    r->stopping = true;
    wake_everyone(r);
    while (r->active > 0) {
        LWP_WaitProcess(&r->active);
    }
    IOMGR_Cancel(r->listener);
    while (!r->listener_done) {
        LWP_WaitProcess(&r->listener_done);
    }
    rpc__inst = NULL;
    instance_free(r);
    rpc_bufs_fini();
    return RPC2_SUCCESS;
}

long RPC2_Export(RPC2_SubsysIdent *Subsys)
{
    struct rpc_instance *r = rpc__inst;
    struct rpc_export *e;

    if (rpc_check_init() != RPC2_SUCCESS || !Subsys ||
        Subsys->Tag != RPC2_SUBSYSBYID) {
        return RPC2_FAIL;
    }
    if (rpc_subsys_exported(r, Subsys->Value.SubsysId)) {
        return RPC2_DUPLICATESERVER;
    }
    e = malloc(sizeof *e);
    if (!e) {
        return RPC2_FAIL;
    }
    e->subsys = Subsys->Value.SubsysId;
    e->next = r->exports;
    r->exports = e;
    return RPC2_SUCCESS;
}

long RPC2_DeExport(RPC2_SubsysIdent *Subsys)
{
    struct rpc_instance *r = rpc__inst;

    if (rpc_check_init() != RPC2_SUCCESS) {
        return RPC2_FAIL;
    }
    if (!Subsys) {
        while (r->exports) {
            struct rpc_export *e = r->exports;
            r->exports = e->next;
            free(e);
        }
        return RPC2_SUCCESS;
    }
    if (Subsys->Tag != RPC2_SUBSYSBYID) {
        return RPC2_BADSERVER;
    }
    for (struct rpc_export **pp = &r->exports; *pp; pp = &(*pp)->next) {
        if ((*pp)->subsys == Subsys->Value.SubsysId) {
            struct rpc_export *e = *pp;
            *pp = e->next;
            free(e);
            return RPC2_SUCCESS;
        }
    }
    return RPC2_BADSERVER;
}

/* Once a minute: with RPC2_enableReaping, unbind idle server connections
 * nobody claimed (2.18). */
static void fire_reaper(struct rpc_timer *t)
{
    struct rpc_instance *r = rpc__inst;
    uint64_t now = rpc_now();

    if (RPC2_enableReaping) {
        for (uint32_t i = 0; i <= r->cmask; i++) {
            struct rpc_conn *c = r->ctab[i], *next;
            for (; c; c = next) {
                next = c->hnext;
                if (rpc_conn_is_server(c) && !c->private_ptr &&
                    rpc_conn_in(c, S_AWAITREQUEST) &&
                    now - c->last_used > r->reap_idle_us) {
                    rpc2_Unbinds++;
                    rpc_conn_free(r, c);
                }
            }
        }
    }
    rpc_timer_arm(&r->timers, t, now + r->reap_period_us);
}
