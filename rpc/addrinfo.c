/* SPDX-License-Identifier: MIT */
/*
 * struct RPC2_addrinfo helpers (reference 1.2). Each node is one
 * allocation holding the node and its socket address right after it, as
 * in Coda, so RPC2_freeaddrinfo frees the node and its canonical name
 * only; lists Coda programs build the same way free correctly.
 */
#define _GNU_SOURCE /* EAI_NODATA, EAI_ADDRFAMILY */
#include <rpc2/rpc2_addrinfo.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cross-file internal (also called by tests/test_rpc_addrinfo.c, which
 * cannot provoke every getaddrinfo failure): EAI_* -> RPC2_EAI_*. */
int rpc_eai_to_rpc2(int eai);

int rpc_eai_to_rpc2(int eai)
{
    switch (eai) {
    case 0:
        return 0;
    case EAI_BADFLAGS:
        return RPC2_EAI_BADFLAGS;
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return RPC2_EAI_NONAME; /* the name has no (such) address */
    case EAI_AGAIN:
        return RPC2_EAI_AGAIN;
    case EAI_FAMILY:
        return RPC2_EAI_FAMILY;
    case EAI_SOCKTYPE:
        return RPC2_EAI_SOCKTYPE;
    case EAI_SERVICE:
        return RPC2_EAI_SERVICE;
    case EAI_MEMORY:
        return RPC2_EAI_MEMORY;
    case EAI_SYSTEM:
        return RPC2_EAI_SYSTEM;
    default:
        return RPC2_EAI_FAIL;
    }
}

/* RPC2_EAI_* -> EAI_*, for the message texts; 1 if code is not one. */
static int rpc2_to_eai(int code, int *eai)
{
    static const int pairs[][2] = {
        {RPC2_EAI_BADFLAGS, EAI_BADFLAGS}, {RPC2_EAI_NONAME, EAI_NONAME},
        {RPC2_EAI_AGAIN, EAI_AGAIN},       {RPC2_EAI_FAIL, EAI_FAIL},
        {RPC2_EAI_FAMILY, EAI_FAMILY},     {RPC2_EAI_SOCKTYPE, EAI_SOCKTYPE},
        {RPC2_EAI_SERVICE, EAI_SERVICE},   {RPC2_EAI_MEMORY, EAI_MEMORY},
        {RPC2_EAI_SYSTEM, EAI_SYSTEM},
    };

    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (pairs[i][0] == code) {
            *eai = pairs[i][1];
            return 0;
        }
    }
    return 1;
}

const char *RPC2_gai_strerror(int errcode)
{
    int eai;

    if (errcode == 0) {
        return "Success";
    }
    return rpc2_to_eai(errcode, &eai) == 0 ? gai_strerror(eai)
                                           : "Unknown error";
}

struct RPC2_addrinfo *RPC2_allocaddrinfo(const struct sockaddr *addr,
                                         size_t addrlen, int socktype,
                                         int protocol)
{
    if (addr == NULL || addrlen < sizeof addr->sa_family ||
        addrlen > sizeof(struct sockaddr_storage)) {
        return NULL;
    }
    struct RPC2_addrinfo *ai = calloc(1, sizeof *ai + addrlen);
    if (ai == NULL) {
        return NULL;
    }
    ai->ai_addr = (struct sockaddr *)(ai + 1);
    memcpy(ai->ai_addr, addr, addrlen);
    ai->ai_addrlen = addrlen;
    ai->ai_family = addr->sa_family;
    ai->ai_socktype = socktype;
    ai->ai_protocol = protocol;
    return ai;
}

void RPC2_freeaddrinfo(struct RPC2_addrinfo *res)
{
    while (res != NULL) {
        struct RPC2_addrinfo *next = res->ai_next;
        free(res->ai_canonname);
        free(res);
        res = next;
    }
}

/* One node like src (address, name, flags, ordering), unlinked. */
static struct RPC2_addrinfo *copy_node(const struct sockaddr *addr,
                                       size_t addrlen, int flags, int socktype,
                                       int protocol, const char *canonname)
{
    struct RPC2_addrinfo *ai =
        RPC2_allocaddrinfo(addr, addrlen, socktype, protocol);

    if (ai == NULL) {
        return NULL;
    }
    ai->ai_flags = flags;
    if (canonname != NULL) {
        ai->ai_canonname = strdup(canonname);
        if (ai->ai_canonname == NULL) {
            free(ai);
            return NULL;
        }
    }
    return ai;
}

struct RPC2_addrinfo *RPC2_copyaddrinfo(const struct RPC2_addrinfo *src)
{
    struct RPC2_addrinfo *head = NULL, **tail = &head;

    for (; src != NULL; src = src->ai_next) {
        struct RPC2_addrinfo *ai =
            copy_node(src->ai_addr, src->ai_addrlen, src->ai_flags,
                      src->ai_socktype, src->ai_protocol, src->ai_canonname);
        if (ai == NULL) {
            RPC2_freeaddrinfo(head);
            return NULL;
        }
        ai->ai_priority = src->ai_priority;
        ai->ai_weight = src->ai_weight;
        *tail = ai;
        tail = &ai->ai_next;
    }
    return head;
}

/* RPC2_AI_* -> AI_*; -1 for a bit that is not one of them. */
static int flags_to_system(int flags)
{
    static const int pairs[][2] = {
        {RPC2_AI_PASSIVE, AI_PASSIVE},
        {RPC2_AI_CANONNAME, AI_CANONNAME},
        {RPC2_AI_NUMERICHOST, AI_NUMERICHOST},
    };
    int out = 0;

    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (flags & pairs[i][0]) {
            out |= pairs[i][1];
            flags &= ~pairs[i][0];
        }
    }
    return flags == 0 ? out : -1;
}

int RPC2_getaddrinfo(const char *node, const char *service,
                     const struct RPC2_addrinfo *hints,
                     struct RPC2_addrinfo **res)
{
    struct addrinfo sys_hints = {0}, *sys_res = NULL;

    if (res == NULL) {
        return RPC2_EAI_FAIL;
    }
    *res = NULL;
    if (hints != NULL) {
        sys_hints.ai_flags = flags_to_system(hints->ai_flags);
        if (sys_hints.ai_flags < 0) {
            return RPC2_EAI_BADFLAGS;
        }
        sys_hints.ai_family = hints->ai_family;
        sys_hints.ai_socktype = hints->ai_socktype;
        sys_hints.ai_protocol = hints->ai_protocol;
    }
    int rc = getaddrinfo(node, service, hints ? &sys_hints : NULL, &sys_res);
    if (rc != 0) {
        return rpc_eai_to_rpc2(rc);
    }
    struct RPC2_addrinfo **tail = res;
    for (const struct addrinfo *ai = sys_res; ai != NULL; ai = ai->ai_next) {
        *tail = copy_node(ai->ai_addr, ai->ai_addrlen, 0, ai->ai_socktype,
                          ai->ai_protocol, ai->ai_canonname);
        if (*tail == NULL) {
            freeaddrinfo(sys_res);
            RPC2_freeaddrinfo(*res);
            *res = NULL;
            return RPC2_EAI_MEMORY;
        }
        tail = &(*tail)->ai_next;
    }
    freeaddrinfo(sys_res);
    return 0;
}

/* Same family, address length, address and port (IPv4 and IPv6 only). */
static int same_endpoint(const struct RPC2_addrinfo *a,
                         const struct RPC2_addrinfo *b)
{
    if (a->ai_family != b->ai_family || a->ai_addrlen != b->ai_addrlen ||
        a->ai_addr == NULL || b->ai_addr == NULL) {
        return 0;
    }
    if (a->ai_family == AF_INET &&
        a->ai_addrlen == sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a->ai_addr;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b->ai_addr;
        return x->sin_port == y->sin_port &&
               x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ai_family == AF_INET6 &&
        a->ai_addrlen == sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a->ai_addr;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b->ai_addr;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return 0;
}

int RPC2_cmpaddrinfo(const struct RPC2_addrinfo *node,
                     const struct RPC2_addrinfo *host)
{
    if (node == NULL || host == NULL) {
        return node == host;
    }
    for (; node != NULL; node = node->ai_next) {
        if (same_endpoint(node, host)) {
            return 1;
        }
    }
    return 0;
}

void RPC2_formataddrinfo(const struct RPC2_addrinfo *host, char *buf,
                         size_t buflen)
{
    char text[INET6_ADDRSTRLEN];
    const void *addr = NULL;
    unsigned port = 0;

    if (buf == NULL || buflen == 0) {
        return;
    }
    if (host == NULL) {
        snprintf(buf, buflen, "(no addrinfo)");
        return;
    }
    if (host->ai_addr != NULL && host->ai_family == AF_INET &&
        host->ai_addrlen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin =
            (const struct sockaddr_in *)host->ai_addr;
        addr = &sin->sin_addr;
        port = ntohs(sin->sin_port);
    } else if (host->ai_addr != NULL && host->ai_family == AF_INET6 &&
               host->ai_addrlen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 =
            (const struct sockaddr_in6 *)host->ai_addr;
        addr = &sin6->sin6_addr;
        port = ntohs(sin6->sin6_port);
    }
    if (addr == NULL ||
        inet_ntop(host->ai_family, addr, text, sizeof text) == NULL) {
        snprintf(buf, buflen, "(untranslatable)");
    } else if (host->ai_family == AF_INET6) {
        snprintf(buf, buflen, "[%s]:%u", text, port);
    } else {
        snprintf(buf, buflen, "%s:%u", text, port);
    }
}
