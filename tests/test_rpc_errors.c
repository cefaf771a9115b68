/* SPDX-License-Identifier: MIT */
/*
 * <rpc2/errors.h> and the message functions: every row of reference 1.5
 * in both directions (Linux values), the 4711 fallback and its bounded
 * logging, cerror, RPC2_ErrorMsg for every code of reference 1.4 and
 * SE_ErrorMsg, with per-thread text for unknown codes (F22).
 */
#include <rpc2/errors.h> /* first: proves it compiles alone */

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <rpc2/rpc2.h>

struct row {
    const char *name;
    int macro; /* the header's value */
    int wire;
    int linux_value; /* reference 1.5, Linux column */
};

#define ROW(name, wire, linux_value)                                           \
    {                                                                          \
#name, name, wire, linux_value                                         \
    }

static const struct row rows[] = {
    ROW(EPERM, 1, 1),
    ROW(ENOENT, 2, 2),
    ROW(ESRCH, 3, 3),
    ROW(EINTR, 4, 4),
    ROW(EIO, 5, 5),
    ROW(ENXIO, 6, 6),
    ROW(E2BIG, 7, 7),
    ROW(ENOEXEC, 8, 8),
    ROW(EBADF, 9, 9),
    ROW(ECHILD, 10, 10),
    ROW(EDEADLK, 11, 35),
    ROW(ENOMEM, 12, 12),
    ROW(EACCES, 13, 13),
    ROW(EFAULT, 14, 14),
    ROW(ENOTBLK, 15, 15),
    ROW(EBUSY, 16, 16),
    ROW(EEXIST, 17, 17),
    ROW(EXDEV, 18, 18),
    ROW(ENODEV, 19, 19),
    ROW(ENOTDIR, 20, 20),
    ROW(EISDIR, 21, 21),
    ROW(EINVAL, 22, 22),
    ROW(ENFILE, 23, 23),
    ROW(EMFILE, 24, 24),
    ROW(ENOTTY, 25, 25),
    ROW(ETXTBSY, 26, 26),
    ROW(EFBIG, 27, 27),
    ROW(ENOSPC, 28, 28),
    ROW(ESPIPE, 29, 29),
    ROW(EROFS, 30, 30),
    ROW(EMLINK, 31, 31),
    ROW(EPIPE, 32, 32),
    ROW(EDOM, 33, 33),
    ROW(ERANGE, 34, 34),
    ROW(EAGAIN, 35, 11),
    ROW(EALREADY, 37, 114),
    ROW(ENOSYS, 38, 38),
    ROW(EPROTONOSUPPORT, 43, 93),
    ROW(EOPNOTSUPP, 45, 95),
    ROW(ENOBUFS, 55, 105),
    ROW(ENOTCONN, 57, 107),
    ROW(ESHUTDOWN, 58, 108),
    ROW(ETOOMANYREFS, 59, 109),
    ROW(ETIMEDOUT, 60, 110),
    ROW(ELOOP, 62, 40),
    ROW(ENAMETOOLONG, 63, 36),
    ROW(ENOTEMPTY, 66, 39),
    ROW(EDQUOT, 69, 122),
    ROW(VSALVAGE, 101, 601),
    ROW(VNOVNODE, 102, 602),
    ROW(VNOVOL, 103, 603),
    ROW(VVOLEXISTS, 104, 604),
    ROW(VNOSERVICE, 105, 605),
    ROW(VOFFLINE, 106, 606),
    ROW(VONLINE, 107, 607),
    ROW(VBUSY, 110, 610),
    ROW(VMOVED, 111, 611),
    ROW(VNOSERVER, 112, 612),
    ROW(VLOGSTALE, 113, 613),
    ROW(EVOLUME, 158, 658),
    ROW(EINCOMPATIBLE, 198, 698),
    ROW(EINCONS, 199, 699),
    ROW(VFAIL, 200, 700),
    ROW(CAENOSUCHUSER, 302, 802),
    ROW(CAENOTVALID, 303, 803),
    ROW(CAENOASR, 304, 804),
    ROW(CAEUNEXPECTEDASR, 305, 805),
    ROW(CAEADVICEPENDING, 307, 807),
    ROW(CAENOSERVERS, 308, 808),
};

#define NROWS (sizeof rows / sizeof rows[0])

/* ---- errno translation -------------------------------------------------- */

Test(rpc_errors, header_values_are_linux_values)
{
    cr_assert_eq(RPC2_ERRBASE, 500);
    for (size_t i = 0; i < NROWS; i++) {
        cr_assert_eq(rows[i].macro, rows[i].linux_value, "%s is %d",
                     rows[i].name, rows[i].macro);
    }
}

Test(rpc_errors, aliases)
{
    cr_assert_eq(VREADONLY, EROFS);
    cr_assert_eq(VDISKFULL, ENOSPC);
    cr_assert_eq(EWOULDBLOCK, EAGAIN);
    cr_assert_eq(RPC2_S2RError(VREADONLY), 30);
    cr_assert_eq(RPC2_S2RError(VDISKFULL), 28);
    cr_assert_eq(RPC2_S2RError(EWOULDBLOCK), 35);
}

Test(rpc_errors, wire_to_local_every_row)
{
    for (size_t i = 0; i < NROWS; i++) {
        cr_assert_eq(RPC2_R2SError(rows[i].wire), rows[i].linux_value,
                     "%s: wire %d", rows[i].name, rows[i].wire);
    }
}

Test(rpc_errors, local_to_wire_every_row)
{
    for (size_t i = 0; i < NROWS; i++) {
        cr_assert_eq(RPC2_S2RError(rows[i].linux_value), rows[i].wire,
                     "%s: local %d", rows[i].name, rows[i].linux_value);
    }
}

Test(rpc_errors, zero_and_negative_pass_unchanged)
{
    static const int codes[] = {0, -1, -4, RPC2_FAIL, RPC2_DEAD, INT_MIN};

    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        cr_assert_eq(RPC2_R2SError(codes[i]), codes[i]);
        cr_assert_eq(RPC2_S2RError(codes[i]), codes[i]);
    }
}

Test(rpc_errors, unknown_positive_becomes_4711)
{
    /* 36: a wire value with no row; 75 (EOVERFLOW) and 11+500: local
     * values with none. */
    cr_assert_eq(RPC2_R2SError(36), 4711);
    cr_assert_eq(RPC2_R2SError(4711), 4711);
    cr_assert_eq(RPC2_R2SError(601), 4711); /* a local value, not a wire one */
    cr_assert_eq(RPC2_R2SError(INT_MAX), 4711);
    cr_assert_eq(RPC2_S2RError(EOVERFLOW), 4711);
    cr_assert_eq(RPC2_S2RError(511), 4711);
    cr_assert_eq(RPC2_S2RError(101), 4711); /* a wire value, not a local one */
    cr_assert_eq(RPC2_S2RError(INT_MAX), 4711);
    cr_assert_eq(RPC2_UNKNOWN_ERRNO, 4711);
}

static void redirect(void)
{
    cr_redirect_stderr();
}

Test(rpc_errors, unknown_codes_are_silent_at_debug_level_0, .init = redirect)
{
    RPC2_DebugLevel = 0;
    cr_assert_eq(RPC2_R2SError(36), 4711);
    cr_assert_eq(RPC2_S2RError(EOVERFLOW), 4711);
    fflush(stderr);
    cr_assert_stderr_eq_str("");
}

Test(rpc_errors, unknown_codes_logged_once_each, .init = redirect)
{
    RPC2_DebugLevel = 1;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(RPC2_R2SError(36), 4711);
        cr_assert_eq(RPC2_S2RError(EOVERFLOW), 4711);
    }
    fflush(stderr);
    cr_assert_stderr_eq_str(
        "rpc2: no wire-to-local translation for error 36, using 4711\n"
        "rpc2: no local-to-wire translation for error 75, using 4711\n");
}

Test(rpc_errors, unknown_code_log_is_bounded, .init = redirect)
{
    char expected[64 * 80] = "";

    RPC2_DebugLevel = 1;
    for (int v = 10000; v < 10100; v++) { /* 100 distinct values */
        cr_assert_eq(RPC2_R2SError(v), 4711);
        if (v < 10032) {
            char line[80];
            snprintf(line, sizeof line,
                     "rpc2: no wire-to-local translation for error %d, "
                     "using 4711\n",
                     v);
            strcat(expected, line);
        }
    }
    fflush(stderr);
    cr_assert_stderr_eq_str(expected);
}

Test(rpc_errors, cerror_texts)
{
    cr_assert_str_eq(cerror(0), "Success");
    cr_assert_str_eq(cerror(EPERM), "Operation not permitted");
    cr_assert_str_eq(cerror(EAGAIN), "Resource temporarily unavailable");
    cr_assert_str_eq(cerror(VSALVAGE), "Volume needs to be salvaged");
    cr_assert_str_eq(cerror(CAENOSERVERS), "No servers are known");
    cr_assert_str_eq(cerror(9999), "Unknown error");
    cr_assert_str_eq(cerror(-1), "Unknown error");
    for (size_t i = 0; i < NROWS; i++) {
        const char *text = cerror(rows[i].linux_value);
        cr_assert_not_null(text);
        cr_assert_str_neq(text, "Unknown error", "%s", rows[i].name);
        cr_assert_str_neq(text, "", "%s", rows[i].name);
    }
}

/* ---- RPC2_ErrorMsg ------------------------------------------------------ */

struct code {
    long value;
    const char *text;
};

static const struct code codes[] = {
    {0, "RPC2_SUCCESS"},
    {-2, "RPC2_OLDVERSION (W)"},
    {-3, "RPC2_INVALIDOPCODE (W)"},
    {-4, "RPC2_BADDATA (W)"},
    {-5, "RPC2_NOGREEDY (W)"},
    {-6, "RPC2_ABANDONED (W)"},
    {-1001, "RPC2_CONNBUSY (E)"},
    {-1002, "RPC2_SEFAIL1 (E)"},
    {-1003, "RPC2_TOOLONG (E)"},
    {-1004, "RPC2_NOMGROUP (E)"},
    {-1005, "RPC2_MGRPBUSY (E)"},
    {-1006, "RPC2_NOTGROUPMEMBER (E)"},
    {-1007, "RPC2_DUPLICATEMEMBER (E)"},
    {-1008, "RPC2_BADMGROUP (E)"},
    {-2001, "RPC2_FAIL (F)"},
    {-2002, "RPC2_NOCONNECTION (F)"},
    {-2003, "RPC2_TIMEOUT (F)"},
    {-2004, "RPC2_NOBINDING (F)"},
    {-2005, "RPC2_DUPLICATESERVER (F)"},
    {-2006, "RPC2_NOTWORKER (F)"},
    {-2007, "RPC2_NOTCLIENT (F)"},
    {-2008, "RPC2_WRONGVERSION (F)"},
    {-2009, "RPC2_NOTAUTHENTICATED (F)"},
    {-2010, "RPC2_CLOSECONNECTION (F)"},
    {-2011, "RPC2_BADFILTER (F)"},
    {-2012, "RPC2_LWPNOTINIT (F)"},
    {-2013, "RPC2_BADSERVER (F)"},
    {-2014, "RPC2_SEFAIL2 (F)"},
    {-2015, "RPC2_DEAD (F)"},
    {-2016, "RPC2_NAKED (F)"},
    {-2017, "RPC2_SEFAIL3 (F)"},
    {-2018, "RPC2_SEFAIL4 (F)"},
};

Test(rpc_errors, error_msg_every_code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        cr_assert_str_eq(RPC2_ErrorMsg(codes[i].value), codes[i].text);
    }
}

Test(rpc_errors, error_msg_names_match_the_header)
{
    cr_assert_str_eq(RPC2_ErrorMsg(RPC2_OLDVERSION), "RPC2_OLDVERSION (W)");
    cr_assert_str_eq(RPC2_ErrorMsg(RPC2_BADMGROUP), "RPC2_BADMGROUP (E)");
    cr_assert_str_eq(RPC2_ErrorMsg(RPC2_SEFAIL4), "RPC2_SEFAIL4 (F)");
    cr_assert_str_eq(RPC2_ErrorMsg(RPC2_TIMEOUT), "RPC2_TIMEOUT (F)");
}

Test(rpc_errors, error_msg_unknown_codes)
{
    cr_assert_str_eq(RPC2_ErrorMsg(-1), "Unknown RPC2 return code -1");
    cr_assert_str_eq(RPC2_ErrorMsg(-7), "Unknown RPC2 return code -7");
    cr_assert_str_eq(RPC2_ErrorMsg(-2019), "Unknown RPC2 return code -2019");
    cr_assert_str_eq(RPC2_ErrorMsg(4711), "Unknown RPC2 return code 4711");
    cr_assert_str_eq(RPC2_ErrorMsg(LONG_MIN),
                     sizeof(long) == 8
                         ? "Unknown RPC2 return code -9223372036854775808"
                         : "Unknown RPC2 return code -2147483648");
}

Test(rpc_errors, error_msg_does_not_truncate_the_long_to_int)
{
    /* Coda switches on (int)rc, so this printed "RPC2_FAIL (F)". */
    if (sizeof(long) == 8) {
        cr_assert_str_eq(RPC2_ErrorMsg(-2001L + 4294967296L),
                         "Unknown RPC2 return code 4294965295");
    }
}

static void *unknown_in_thread(void *arg)
{
    (void)arg;
    return RPC2_ErrorMsg(-777);
}

Test(rpc_errors, error_msg_unknown_text_is_per_thread, .timeout = 10)
{
    pthread_t t;
    void *other = NULL;

    char *mine = RPC2_ErrorMsg(-555);
    cr_assert_eq(pthread_create(&t, NULL, unknown_in_thread, NULL), 0);
    cr_assert_eq(pthread_join(t, &other), 0);
    cr_assert_neq(mine, other);
    cr_assert_str_eq(mine, "Unknown RPC2 return code -555");
}

/* ---- SE_ErrorMsg -------------------------------------------------------- */

Test(rpc_errors, se_error_msg)
{
    cr_assert_str_eq(SE_ErrorMsg(SE_NOTSTARTED), "SE_NOTSTARTED");
    cr_assert_str_eq(SE_ErrorMsg(SE_INPROGRESS), "SE_INPROGRESS");
    cr_assert_str_eq(SE_ErrorMsg(SE_SUCCESS), "SE_SUCCESS");
    cr_assert_str_eq(SE_ErrorMsg(SE_FAILURE), "SE_FAILURE");
    cr_assert_str_eq(SE_ErrorMsg(33), "SE_NOTSTARTED");
    cr_assert_str_eq(SE_ErrorMsg(0), "Unknown SE return code 0");
    cr_assert_str_eq(SE_ErrorMsg(-2001), "Unknown SE return code -2001");
}
