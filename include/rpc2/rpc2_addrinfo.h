/* SPDX-License-Identifier: MIT */
/*
 * <rpc2/rpc2_addrinfo.h> -- RPC2's copy of struct addrinfo (Coda names),
 * used for host identities (RPC2_HOSTBYADDRINFO) and packet sources.
 * Lists are owned by whoever got them from RPC2_getaddrinfo,
 * RPC2_allocaddrinfo or RPC2_copyaddrinfo, and freed with
 * RPC2_freeaddrinfo (the whole ai_next chain).
 */
#ifndef RPC2_ADDRINFO_H
#define RPC2_ADDRINFO_H

#include <stddef.h>
#include <sys/socket.h>

#include <lwp/export.h>

#ifdef __cplusplus
extern "C" {
#endif

struct RPC2_addrinfo {
    int ai_flags;
    int ai_family;
    int ai_socktype;
    int ai_protocol;
    size_t ai_addrlen;
    struct sockaddr *ai_addr;
    char *ai_canonname;
    struct RPC2_addrinfo *ai_next;
    int ai_priority; /* SRV-style ordering, lower first */
    int ai_weight;
};

#define RPC2_AI_PASSIVE 1
#define RPC2_AI_CANONNAME 2
#define RPC2_AI_NUMERICHOST 4

#define RPC2_EAI_BADFLAGS -1
#define RPC2_EAI_NONAME -2
#define RPC2_EAI_AGAIN -3
#define RPC2_EAI_FAIL -4
#define RPC2_EAI_FAMILY -6
#define RPC2_EAI_SOCKTYPE -7
#define RPC2_EAI_SERVICE -8
#define RPC2_EAI_MEMORY -10
#define RPC2_EAI_SYSTEM -11

#define RPC2_ADDRSTRLEN 60 /* room for "[address]:port" */

/* getaddrinfo(3) returning RPC2_addrinfo; 0 or an RPC2_EAI_* code. */
LWP_EXPORT int RPC2_getaddrinfo(const char *node, const char *service,
                                const struct RPC2_addrinfo *hints,
                                struct RPC2_addrinfo **res);
LWP_EXPORT void RPC2_freeaddrinfo(struct RPC2_addrinfo *res);
LWP_EXPORT const char *RPC2_gai_strerror(int errcode);
/* One entry holding a copy of addr (addrlen bytes); NULL on failure. */
LWP_EXPORT struct RPC2_addrinfo *RPC2_allocaddrinfo(const struct sockaddr *addr,
                                                    size_t addrlen, int socktype,
                                                    int protocol);
/* Deep copy of a whole list; NULL on failure or for NULL. */
LWP_EXPORT struct RPC2_addrinfo *RPC2_copyaddrinfo(const struct RPC2_addrinfo *src);
/* Non-zero if some entry of the list node names the same family, address
 * length, address and port as host (IPv4/IPv6; Coda's list-membership
 * test). Both NULL: non-zero; one NULL: 0. */
LWP_EXPORT int RPC2_cmpaddrinfo(const struct RPC2_addrinfo *node,
                                const struct RPC2_addrinfo *host);
/* "address:port" (IPv6: "[address]:port") into buf, always NUL-terminated. */
LWP_EXPORT void RPC2_formataddrinfo(const struct RPC2_addrinfo *host,
                                    char *buf, size_t buflen);

#ifdef __cplusplus
}
#endif

#endif /* RPC2_ADDRINFO_H */
