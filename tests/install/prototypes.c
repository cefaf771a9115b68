/* SPDX-License-Identifier: MIT */
/*
 * Compiled, never run, by tests/install/run.sh against the installed
 * headers: as C (c99, c11, c17) and as C++, with -Wall -Wextra -pedantic
 * -Werror. It holds the calls Coda's sources make, spelled as they spell
 * them, next to the cast-free calls the headers promise: an opaque
 * pointer parameter takes any object pointer, and <lwp/iomgr.h> brings
 * the signal numbers its IOMGR_Signal needs. Only <lwp/...> headers are
 * included, on purpose.
 */
#include <lwp/lwp.h>

#include <lwp/lock.h>
#include <lwp/timer.h>

struct table {
    int rows;
};

static struct table table;
static int ticks;

static void on_softsig(void *rock)
{
    (void)rock;
}

int lwp_prototype_check(void);

int lwp_prototype_check(void)
{
    char *rock = NULL;
    struct table *t = &table;
    const char *const_event = "tick";
    char *coda_condition = (char *)&ticks; /* Coda's CONDITION is a char * */
    struct timeval tv;
    struct timezone *tz = NULL; /* incomplete under plain POSIX: fine */
    int rc = 0;

    /* Rocks: any object pointer goes in; Coda's casts still compile. */
    rc |= LWP_NewRock(1, &table);
    rc |= LWP_NewRock(2, (char *)t);
    /* Coda's C++ callers: char *rock; LWP_GetRock(TAG, &rock). */
    rc |= LWP_GetRock(1, &rock);
#ifndef __cplusplus
    /* Coda's rvmlib.c (C): a void * to the caller's pointer. */
    rc |= LWP_GetRock(2, (void *)&t);
#endif
    /* Events are addresses of anything, const or not. */
    rc |= IOMGR_Signal(SIGUSR1, &ticks);
    rc |= IOMGR_Signal(SIGUSR2, const_event);
    rc |= IOMGR_Signal(SIGALRM, coda_condition);
    rc |= IOMGR_CancelSignal(SIGALRM);
    rc |= IOMGR_SoftSig(on_softsig, &table);
    rc |= IOMGR_SoftSig(on_softsig, (char *)t);
    rc |= LWP_CreateProcess(on_softsig, 0, LWP_NORMAL_PRIORITY, &table,
                            "checker", NULL);
    rc |= LWP_WaitProcess(&ticks);
    rc |= LWP_SignalProcess(const_event);
    rc |= FT_GetTimeOfDay(&tv, tz);
    rc |= TM_GetTimeOfDay(&tv, NULL);
    return rc;
}
