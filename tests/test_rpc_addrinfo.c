/* SPDX-License-Identifier: MIT */
/*
 * <rpc2/rpc2_addrinfo.h>: allocation, deep copy, comparison (family,
 * length, address and port; list membership), formatting, getaddrinfo
 * with numeric names only (no DNS), and the mapping of every EAI_* code.
 */
#define _GNU_SOURCE /* EAI_NODATA, EAI_ADDRFAMILY */
#include <rpc2/rpc2_addrinfo.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <criterion/criterion.h>

/* rpc/addrinfo.c: EAI_* -> RPC2_EAI_* (most failures cannot be provoked
 * through a real lookup). */
int rpc_eai_to_rpc2(int eai);

static struct sockaddr_in v4(const char *addr, unsigned port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port)};
    cr_assert_eq(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
    return sin;
}

static struct sockaddr_in6 v6(const char *addr, unsigned port)
{
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6,
                                .sin6_port = htons((uint16_t)port)};
    cr_assert_eq(inet_pton(AF_INET6, addr, &sin6.sin6_addr), 1);
    return sin6;
}

static struct RPC2_addrinfo *alloc4(const char *addr, unsigned port)
{
    struct sockaddr_in sin = v4(addr, port);
    struct RPC2_addrinfo *ai = RPC2_allocaddrinfo(
        (struct sockaddr *)&sin, sizeof sin, SOCK_DGRAM, IPPROTO_UDP);
    cr_assert_not_null(ai);
    return ai;
}

static struct RPC2_addrinfo *alloc6(const char *addr, unsigned port)
{
    struct sockaddr_in6 sin6 = v6(addr, port);
    struct RPC2_addrinfo *ai = RPC2_allocaddrinfo(
        (struct sockaddr *)&sin6, sizeof sin6, SOCK_DGRAM, IPPROTO_UDP);
    cr_assert_not_null(ai);
    return ai;
}

static void expect_format(const struct RPC2_addrinfo *ai, const char *text)
{
    char buf[RPC2_ADDRSTRLEN];

    memset(buf, 'x', sizeof buf);
    RPC2_formataddrinfo(ai, buf, sizeof buf);
    cr_assert_str_eq(buf, text);
}

/* ---- Allocation and copies ---------------------------------------------- */

Test(rpc_addrinfo, alloc_copies_the_address)
{
    struct sockaddr_in sin = v4("192.0.2.7", 2432);
    struct RPC2_addrinfo *ai = RPC2_allocaddrinfo(
        (struct sockaddr *)&sin, sizeof sin, SOCK_DGRAM, IPPROTO_UDP);

    cr_assert_not_null(ai);
    cr_assert_eq(ai->ai_family, AF_INET);
    cr_assert_eq(ai->ai_socktype, SOCK_DGRAM);
    cr_assert_eq(ai->ai_protocol, IPPROTO_UDP);
    cr_assert_eq(ai->ai_addrlen, sizeof sin);
    cr_assert_eq(ai->ai_flags, 0);
    cr_assert_null(ai->ai_canonname);
    cr_assert_null(ai->ai_next);
    cr_assert_eq(ai->ai_priority, 0);
    cr_assert_eq(ai->ai_weight, 0);
    cr_assert_neq((void *)ai->ai_addr, (void *)&sin);
    cr_assert(memcmp(ai->ai_addr, &sin, sizeof sin) == 0);
    RPC2_freeaddrinfo(ai);
}

Test(rpc_addrinfo, alloc_rejects_bad_arguments)
{
    struct sockaddr_storage ss = {.ss_family = AF_INET};

    cr_assert_null(RPC2_allocaddrinfo(NULL, sizeof(struct sockaddr_in), 0, 0));
    cr_assert_null(RPC2_allocaddrinfo((struct sockaddr *)&ss, 0, 0, 0));
    cr_assert_null(
        RPC2_allocaddrinfo((struct sockaddr *)&ss, sizeof ss + 1, 0, 0));
    struct RPC2_addrinfo *ai =
        RPC2_allocaddrinfo((struct sockaddr *)&ss, sizeof ss, 0, 0);
    cr_assert_not_null(ai);
    RPC2_freeaddrinfo(ai);
}

Test(rpc_addrinfo, free_null_is_a_no_op)
{
    RPC2_freeaddrinfo(NULL);
}

Test(rpc_addrinfo, copy_is_deep_and_keeps_every_field)
{
    struct RPC2_addrinfo *a = alloc4("10.1.2.3", 7);
    struct RPC2_addrinfo *b = alloc6("2001:db8::1", 8);

    a->ai_next = b;
    a->ai_flags = RPC2_AI_CANONNAME;
    a->ai_canonname = strdup("host.example");
    a->ai_priority = 3;
    a->ai_weight = 9;

    struct RPC2_addrinfo *c = RPC2_copyaddrinfo(a);
    cr_assert_not_null(c);
    cr_assert_neq(c, a);
    cr_assert_eq(c->ai_flags, RPC2_AI_CANONNAME);
    cr_assert_eq(c->ai_family, AF_INET);
    cr_assert_eq(c->ai_socktype, SOCK_DGRAM);
    cr_assert_eq(c->ai_protocol, IPPROTO_UDP);
    cr_assert_eq(c->ai_priority, 3);
    cr_assert_eq(c->ai_weight, 9);
    cr_assert_neq(c->ai_canonname, a->ai_canonname);
    cr_assert_str_eq(c->ai_canonname, "host.example");
    cr_assert_neq((void *)c->ai_addr, (void *)a->ai_addr);
    cr_assert(memcmp(c->ai_addr, a->ai_addr, a->ai_addrlen) == 0);

    struct RPC2_addrinfo *d = c->ai_next;
    cr_assert_not_null(d);
    cr_assert_neq(d, b);
    cr_assert_eq(d->ai_family, AF_INET6);
    cr_assert_eq(d->ai_addrlen, sizeof(struct sockaddr_in6));
    cr_assert(memcmp(d->ai_addr, b->ai_addr, b->ai_addrlen) == 0);
    cr_assert_null(d->ai_canonname);
    cr_assert_null(d->ai_next);

    RPC2_freeaddrinfo(a);
    expect_format(c, "10.1.2.3:7"); /* still valid after the original died */
    expect_format(d, "[2001:db8::1]:8");
    RPC2_freeaddrinfo(c);
}

Test(rpc_addrinfo, copy_of_null_is_null)
{
    cr_assert_null(RPC2_copyaddrinfo(NULL));
}

/* ---- Comparison ---------------------------------------------------------- */

Test(rpc_addrinfo, cmp_needs_family_address_and_port)
{
    struct RPC2_addrinfo *a = alloc4("127.0.0.1", 2432);
    struct RPC2_addrinfo *same = alloc4("127.0.0.1", 2432);
    struct RPC2_addrinfo *port = alloc4("127.0.0.1", 2433);
    struct RPC2_addrinfo *addr = alloc4("127.0.0.2", 2432);
    struct RPC2_addrinfo *mapped = alloc6("::ffff:127.0.0.1", 2432);

    cr_assert(RPC2_cmpaddrinfo(a, same));
    cr_assert(RPC2_cmpaddrinfo(a, a));
    cr_assert_not(RPC2_cmpaddrinfo(a, port));
    cr_assert_not(RPC2_cmpaddrinfo(a, addr));
    cr_assert_not(RPC2_cmpaddrinfo(a, mapped));
    cr_assert_not(RPC2_cmpaddrinfo(mapped, a));

    RPC2_freeaddrinfo(a);
    RPC2_freeaddrinfo(same);
    RPC2_freeaddrinfo(port);
    RPC2_freeaddrinfo(addr);
    RPC2_freeaddrinfo(mapped);
}

Test(rpc_addrinfo, cmp_ipv6)
{
    struct RPC2_addrinfo *a = alloc6("2001:db8::1", 1);
    struct RPC2_addrinfo *same = alloc6("2001:db8::1", 1);
    struct RPC2_addrinfo *port = alloc6("2001:db8::1", 2);
    struct RPC2_addrinfo *addr = alloc6("2001:db8::2", 1);

    cr_assert(RPC2_cmpaddrinfo(a, same));
    cr_assert_not(RPC2_cmpaddrinfo(a, port));
    cr_assert_not(RPC2_cmpaddrinfo(a, addr));

    RPC2_freeaddrinfo(a);
    RPC2_freeaddrinfo(same);
    RPC2_freeaddrinfo(port);
    RPC2_freeaddrinfo(addr);
}

Test(rpc_addrinfo, cmp_length_must_match)
{
    struct RPC2_addrinfo *a = alloc4("127.0.0.1", 9);
    struct RPC2_addrinfo *b = alloc4("127.0.0.1", 9);

    b->ai_addrlen = sizeof(struct sockaddr_in) - 1;
    cr_assert_not(RPC2_cmpaddrinfo(a, b));
    b->ai_addrlen = sizeof(struct sockaddr_in);
    cr_assert(RPC2_cmpaddrinfo(a, b));
    RPC2_freeaddrinfo(a);
    RPC2_freeaddrinfo(b);
}

Test(rpc_addrinfo, cmp_finds_host_anywhere_in_the_list)
{
    struct RPC2_addrinfo *list = alloc4("10.0.0.1", 1);
    list->ai_next = alloc6("2001:db8::5", 5);
    list->ai_next->ai_next = alloc4("10.0.0.3", 3);
    struct RPC2_addrinfo *third = alloc4("10.0.0.3", 3);
    struct RPC2_addrinfo *second = alloc6("2001:db8::5", 5);
    struct RPC2_addrinfo *none = alloc4("10.0.0.3", 4);

    cr_assert(RPC2_cmpaddrinfo(list, third));
    cr_assert(RPC2_cmpaddrinfo(list, second));
    cr_assert_not(RPC2_cmpaddrinfo(list, none));
    cr_assert_not(RPC2_cmpaddrinfo(third, list->ai_next)); /* one-way */

    RPC2_freeaddrinfo(list);
    RPC2_freeaddrinfo(third);
    RPC2_freeaddrinfo(second);
    RPC2_freeaddrinfo(none);
}

Test(rpc_addrinfo, cmp_null_and_other_families)
{
    struct RPC2_addrinfo *a = alloc4("127.0.0.1", 1);
    struct sockaddr_un sun = {.sun_family = AF_UNIX, .sun_path = "/x"};
    struct RPC2_addrinfo *u1 =
        RPC2_allocaddrinfo((struct sockaddr *)&sun, sizeof sun, 0, 0);
    struct RPC2_addrinfo *u2 = RPC2_copyaddrinfo(u1);

    cr_assert(RPC2_cmpaddrinfo(NULL, NULL));
    cr_assert_not(RPC2_cmpaddrinfo(a, NULL));
    cr_assert_not(RPC2_cmpaddrinfo(NULL, a));
    cr_assert_not(RPC2_cmpaddrinfo(u1, u2)); /* IPv4 and IPv6 only */
    RPC2_freeaddrinfo(a);
    RPC2_freeaddrinfo(u1);
    RPC2_freeaddrinfo(u2);
}

/* ---- Formatting ---------------------------------------------------------- */

Test(rpc_addrinfo, format_ipv4_and_ipv6)
{
    struct RPC2_addrinfo *a = alloc4("192.0.2.1", 2432);
    struct RPC2_addrinfo *b = alloc6("::1", 65535);
    struct RPC2_addrinfo *c = alloc4("0.0.0.0", 0);

    expect_format(a, "192.0.2.1:2432");
    expect_format(b, "[::1]:65535");
    expect_format(c, "0.0.0.0:0");
    RPC2_freeaddrinfo(a);
    RPC2_freeaddrinfo(b);
    RPC2_freeaddrinfo(c);
}

Test(rpc_addrinfo, format_longest_ipv6_fits_rpc2_addrstrlen)
{
    struct RPC2_addrinfo *a =
        alloc6("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 65535);
    struct RPC2_addrinfo *b =
        alloc6("1111:2222:3333:4444:5555:6666:7777:8888", 65535);

    expect_format(a, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
    expect_format(b, "[1111:2222:3333:4444:5555:6666:7777:8888]:65535");
    cr_assert_lt(strlen("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
                 RPC2_ADDRSTRLEN);
    RPC2_freeaddrinfo(a);
    RPC2_freeaddrinfo(b);
}

Test(rpc_addrinfo, format_truncates_but_terminates)
{
    struct RPC2_addrinfo *a = alloc4("192.0.2.1", 2432);
    char buf[8];

    memset(buf, 'x', sizeof buf);
    RPC2_formataddrinfo(a, buf, sizeof buf);
    cr_assert_str_eq(buf, "192.0.2");

    memset(buf, 'x', sizeof buf);
    RPC2_formataddrinfo(a, buf, 1);
    cr_assert_eq(buf[0], '\0');
    cr_assert_eq(buf[1], 'x');

    RPC2_formataddrinfo(a, buf, 0); /* nothing written, no crash */
    cr_assert_eq(buf[0], '\0');
    RPC2_formataddrinfo(a, NULL, 16);
    RPC2_freeaddrinfo(a);
}

Test(rpc_addrinfo, format_null_and_unknown_family)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX, .sun_path = "/x"};
    struct RPC2_addrinfo *u =
        RPC2_allocaddrinfo((struct sockaddr *)&sun, sizeof sun, 0, 0);
    struct RPC2_addrinfo *shortv4 = alloc4("127.0.0.1", 1);

    expect_format(NULL, "(no addrinfo)");
    expect_format(u, "(untranslatable)");
    shortv4->ai_addrlen = 4; /* claims IPv4 but is too short to read */
    expect_format(shortv4, "(untranslatable)");
    RPC2_freeaddrinfo(u);
    RPC2_freeaddrinfo(shortv4);
}

/* ---- getaddrinfo ----------------------------------------------------------
 */

Test(rpc_addrinfo, getaddrinfo_numeric_ipv4, .timeout = 10)
{
    struct RPC2_addrinfo hints = {.ai_flags = RPC2_AI_NUMERICHOST,
                                  .ai_family = AF_INET,
                                  .ai_socktype = SOCK_DGRAM};
    struct RPC2_addrinfo *res = NULL;

    cr_assert_eq(RPC2_getaddrinfo("127.0.0.1", "2432", &hints, &res), 0);
    cr_assert_not_null(res);
    cr_assert_null(res->ai_next);
    cr_assert_eq(res->ai_family, AF_INET);
    cr_assert_eq(res->ai_socktype, SOCK_DGRAM);
    cr_assert_eq(res->ai_protocol, IPPROTO_UDP);
    cr_assert_eq(res->ai_addrlen, sizeof(struct sockaddr_in));
    cr_assert_null(res->ai_canonname);
    expect_format(res, "127.0.0.1:2432");

    struct RPC2_addrinfo *expect = alloc4("127.0.0.1", 2432);
    cr_assert(RPC2_cmpaddrinfo(res, expect));
    RPC2_freeaddrinfo(expect);
    RPC2_freeaddrinfo(res);
}

Test(rpc_addrinfo, getaddrinfo_numeric_ipv6, .timeout = 10)
{
    struct RPC2_addrinfo hints = {.ai_flags = RPC2_AI_NUMERICHOST,
                                  .ai_family = AF_INET6,
                                  .ai_socktype = SOCK_DGRAM};
    struct RPC2_addrinfo *res = NULL;

    cr_assert_eq(RPC2_getaddrinfo("::1", "9", &hints, &res), 0);
    cr_assert_not_null(res);
    cr_assert_eq(res->ai_family, AF_INET6);
    expect_format(res, "[::1]:9");
    RPC2_freeaddrinfo(res);
}

Test(rpc_addrinfo, getaddrinfo_passive_and_canonname, .timeout = 10)
{
    struct RPC2_addrinfo hints = {.ai_flags = RPC2_AI_PASSIVE,
                                  .ai_family = AF_INET,
                                  .ai_socktype = SOCK_DGRAM};
    struct RPC2_addrinfo *res = NULL;

    cr_assert_eq(RPC2_getaddrinfo(NULL, "7", &hints, &res), 0);
    expect_format(res, "0.0.0.0:7");
    RPC2_freeaddrinfo(res);

    hints.ai_flags = RPC2_AI_NUMERICHOST | RPC2_AI_CANONNAME;
    cr_assert_eq(RPC2_getaddrinfo("127.0.0.1", "7", &hints, &res), 0);
    cr_assert_not_null(res->ai_canonname);
    cr_assert_str_eq(res->ai_canonname, "127.0.0.1");
    RPC2_freeaddrinfo(res);
}

Test(rpc_addrinfo, getaddrinfo_errors, .timeout = 10)
{
    struct RPC2_addrinfo hints = {.ai_socktype = SOCK_DGRAM};
    struct RPC2_addrinfo *res = (struct RPC2_addrinfo *)&hints;

    hints.ai_flags = 0x100; /* not an RPC2_AI_ flag */
    cr_assert_eq(RPC2_getaddrinfo("127.0.0.1", "1", &hints, &res),
                 RPC2_EAI_BADFLAGS);
    cr_assert_null(res);

    hints.ai_flags = RPC2_AI_NUMERICHOST;
    cr_assert_eq(RPC2_getaddrinfo("not.an.address", "1", &hints, &res),
                 RPC2_EAI_NONAME);
    cr_assert_null(res);

    hints.ai_family = 12345;
    cr_assert_eq(RPC2_getaddrinfo("127.0.0.1", "1", &hints, &res),
                 RPC2_EAI_FAMILY);

    hints.ai_family = AF_INET;
    hints.ai_socktype = 12345;
    cr_assert_eq(RPC2_getaddrinfo("127.0.0.1", "1", &hints, &res),
                 RPC2_EAI_SOCKTYPE);

    hints.ai_socktype = SOCK_DGRAM;
    cr_assert_eq(
        RPC2_getaddrinfo("127.0.0.1", "no-such-service-xyz", &hints, &res),
        RPC2_EAI_SERVICE);
    cr_assert_null(res);

    cr_assert_eq(RPC2_getaddrinfo("127.0.0.1", "1", &hints, NULL),
                 RPC2_EAI_FAIL);
}

Test(rpc_addrinfo, every_eai_code_maps)
{
    cr_assert_eq(rpc_eai_to_rpc2(0), 0);
    cr_assert_eq(rpc_eai_to_rpc2(EAI_BADFLAGS), RPC2_EAI_BADFLAGS);
    cr_assert_eq(rpc_eai_to_rpc2(EAI_NONAME), RPC2_EAI_NONAME);
    cr_assert_eq(rpc_eai_to_rpc2(EAI_AGAIN), RPC2_EAI_AGAIN);
    cr_assert_eq(rpc_eai_to_rpc2(EAI_FAIL), RPC2_EAI_FAIL);
    cr_assert_eq(rpc_eai_to_rpc2(EAI_FAMILY), RPC2_EAI_FAMILY);
    cr_assert_eq(rpc_eai_to_rpc2(EAI_SOCKTYPE), RPC2_EAI_SOCKTYPE);
    cr_assert_eq(rpc_eai_to_rpc2(EAI_SERVICE), RPC2_EAI_SERVICE);
    cr_assert_eq(rpc_eai_to_rpc2(EAI_MEMORY), RPC2_EAI_MEMORY);
    cr_assert_eq(rpc_eai_to_rpc2(EAI_SYSTEM), RPC2_EAI_SYSTEM);
#ifdef EAI_NODATA
    cr_assert_eq(rpc_eai_to_rpc2(EAI_NODATA), RPC2_EAI_NONAME);
#endif
#ifdef EAI_ADDRFAMILY
    cr_assert_eq(rpc_eai_to_rpc2(EAI_ADDRFAMILY), RPC2_EAI_NONAME);
#endif
    cr_assert_eq(rpc_eai_to_rpc2(EAI_OVERFLOW), RPC2_EAI_FAIL);
    cr_assert_eq(rpc_eai_to_rpc2(-12345), RPC2_EAI_FAIL);
}

Test(rpc_addrinfo, rpc2_eai_values)
{
    cr_assert_eq(RPC2_EAI_BADFLAGS, -1);
    cr_assert_eq(RPC2_EAI_NONAME, -2);
    cr_assert_eq(RPC2_EAI_AGAIN, -3);
    cr_assert_eq(RPC2_EAI_FAIL, -4);
    cr_assert_eq(RPC2_EAI_FAMILY, -6);
    cr_assert_eq(RPC2_EAI_SOCKTYPE, -7);
    cr_assert_eq(RPC2_EAI_SERVICE, -8);
    cr_assert_eq(RPC2_EAI_MEMORY, -10);
    cr_assert_eq(RPC2_EAI_SYSTEM, -11);
    cr_assert_eq(RPC2_AI_PASSIVE, 1);
    cr_assert_eq(RPC2_AI_CANONNAME, 2);
    cr_assert_eq(RPC2_AI_NUMERICHOST, 4);
    cr_assert_eq(RPC2_ADDRSTRLEN, 60);
}

Test(rpc_addrinfo, gai_strerror_texts)
{
    static const int pairs[][2] = {
        {RPC2_EAI_BADFLAGS, EAI_BADFLAGS}, {RPC2_EAI_NONAME, EAI_NONAME},
        {RPC2_EAI_AGAIN, EAI_AGAIN},       {RPC2_EAI_FAIL, EAI_FAIL},
        {RPC2_EAI_FAMILY, EAI_FAMILY},     {RPC2_EAI_SOCKTYPE, EAI_SOCKTYPE},
        {RPC2_EAI_SERVICE, EAI_SERVICE},   {RPC2_EAI_MEMORY, EAI_MEMORY},
        {RPC2_EAI_SYSTEM, EAI_SYSTEM},
    };

    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        cr_assert_str_eq(RPC2_gai_strerror(pairs[i][0]),
                         gai_strerror(pairs[i][1]));
    }
    cr_assert_str_eq(RPC2_gai_strerror(0), "Success");
    cr_assert_str_eq(RPC2_gai_strerror(-5), "Unknown error");
    cr_assert_str_eq(RPC2_gai_strerror(42), "Unknown error");
}
