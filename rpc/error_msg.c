/* SPDX-License-Identifier: MIT */
/*
 * Names of RPC2 return codes and side-effect statuses for messages
 * (reference 1.4 and 1.13), in Coda's exact wording.
 */
#include <rpc2/rpc2.h>

#include <stdio.h>

struct code_name {
    long code;
    char *text;
};

static const struct code_name rpc2_codes[] = {
    {RPC2_SUCCESS, "RPC2_SUCCESS"},
    {RPC2_OLDVERSION, "RPC2_OLDVERSION (W)"},
    {RPC2_INVALIDOPCODE, "RPC2_INVALIDOPCODE (W)"},
    {RPC2_BADDATA, "RPC2_BADDATA (W)"},
    {RPC2_NOGREEDY, "RPC2_NOGREEDY (W)"},
    {RPC2_ABANDONED, "RPC2_ABANDONED (W)"},
    {RPC2_CONNBUSY, "RPC2_CONNBUSY (E)"},
    {RPC2_SEFAIL1, "RPC2_SEFAIL1 (E)"},
    {RPC2_TOOLONG, "RPC2_TOOLONG (E)"},
    {RPC2_NOMGROUP, "RPC2_NOMGROUP (E)"},
    {RPC2_MGRPBUSY, "RPC2_MGRPBUSY (E)"},
    {RPC2_NOTGROUPMEMBER, "RPC2_NOTGROUPMEMBER (E)"},
    {RPC2_DUPLICATEMEMBER, "RPC2_DUPLICATEMEMBER (E)"},
    {RPC2_BADMGROUP, "RPC2_BADMGROUP (E)"},
    {RPC2_FAIL, "RPC2_FAIL (F)"},
    {RPC2_NOCONNECTION, "RPC2_NOCONNECTION (F)"},
    {RPC2_TIMEOUT, "RPC2_TIMEOUT (F)"},
    {RPC2_NOBINDING, "RPC2_NOBINDING (F)"},
    {RPC2_DUPLICATESERVER, "RPC2_DUPLICATESERVER (F)"},
    {RPC2_NOTWORKER, "RPC2_NOTWORKER (F)"},
    {RPC2_NOTCLIENT, "RPC2_NOTCLIENT (F)"},
    {RPC2_WRONGVERSION, "RPC2_WRONGVERSION (F)"},
    {RPC2_NOTAUTHENTICATED, "RPC2_NOTAUTHENTICATED (F)"},
    {RPC2_CLOSECONNECTION, "RPC2_CLOSECONNECTION (F)"},
    {RPC2_BADFILTER, "RPC2_BADFILTER (F)"},
    {RPC2_LWPNOTINIT, "RPC2_LWPNOTINIT (F)"},
    {RPC2_BADSERVER, "RPC2_BADSERVER (F)"},
    {RPC2_SEFAIL2, "RPC2_SEFAIL2 (F)"},
    {RPC2_DEAD, "RPC2_DEAD (F)"},
    {RPC2_NAKED, "RPC2_NAKED (F)"},
    {RPC2_SEFAIL3, "RPC2_SEFAIL3 (F)"},
    {RPC2_SEFAIL4, "RPC2_SEFAIL4 (F)"},
};

static const struct code_name se_statuses[] = {
    {SE_NOTSTARTED, "SE_NOTSTARTED"},
    {SE_INPROGRESS, "SE_INPROGRESS"},
    {SE_SUCCESS, "SE_SUCCESS"},
    {SE_FAILURE, "SE_FAILURE"},
};

/* Room for the longest prefix plus a 64-bit long. */
#define UNKNOWN_TEXT_MAX 64

/* The text for an unknown value is formatted into a per-OS-thread buffer
 * (F22: Coda shares one static buffer between all callers); it stays valid
 * until the same thread's next unknown lookup of the same kind. */
static char *lookup(const struct code_name *names, size_t count, long code,
                    const char *unknown_prefix, char *unknown_buf)
{
    for (size_t i = 0; i < count; i++) {
        if (names[i].code == code) {
            return names[i].text;
        }
    }
    snprintf(unknown_buf, UNKNOWN_TEXT_MAX, "%s %ld", unknown_prefix, code);
    return unknown_buf;
}

char *RPC2_ErrorMsg(long rc)
{
    static _Thread_local char unknown[UNKNOWN_TEXT_MAX];

    return lookup(rpc2_codes, sizeof rpc2_codes / sizeof rpc2_codes[0], rc,
                  "Unknown RPC2 return code", unknown);
}

char *SE_ErrorMsg(long rc)
{
    static _Thread_local char unknown[UNKNOWN_TEXT_MAX];

    return lookup(se_statuses, sizeof se_statuses / sizeof se_statuses[0], rc,
                  "Unknown SE return code", unknown);
}
