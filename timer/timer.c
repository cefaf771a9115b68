/* SPDX-License-Identifier: MIT */
/*
 * TM_* timer lists.
 *
 * Invariants of a list (head made by TM_Init):
 *  - it is circular and doubly linked through the head;
 *  - non-blocking elements come first, in the order TM_Insert chose from
 *    the TimeLeft values stored at insertion time; blocking ones follow;
 *  - a non-blocking element's TotalTime is its absolute expiration on the
 *    timer clock, normalised (0 <= tv_usec < 1000000);
 *  - a blocking element's TotalTime and TimeLeft are what the caller gave.
 * The order is never revised later: like Coda, a rescan only refreshes
 * TimeLeft, so the list is only as sorted as the stored values were.
 */
#include <lwp/timer.h>
#include <lwp/fasttime.h>

#include <stdint.h>
#include <stdlib.h>

#include "fasttime/fasttime_internal.h"

#define USEC_PER_SEC 1000000

/* time_t is a signed integer type of the same width as intmax_t or
 * smaller; its largest value is all ones but the sign bit. */
#define TIME_T_MAX ((time_t)(((uintmax_t)1 << (sizeof(time_t) * 8 - 1)) - 1))

static int is_blocking(const struct timeval *t)
{
    return t->tv_sec < 0 || t->tv_usec < 0;
}

/* a + b for non-negative a and b, saturating instead of overflowing so
 * that an absurdly long interval becomes "practically never". */
static time_t add_sec(time_t a, time_t b)
{
    time_t sum;

    if (__builtin_add_overflow(a, b, &sum)) {
        return TIME_T_MAX;
    }
    return sum;
}

/* Carry whole seconds out of tv_usec; callers pass non-negative values
 * only (blocking times are never normalised). */
static struct timeval normalise(struct timeval t)
{
    struct timeval r;

    r.tv_sec = add_sec(t.tv_sec, t.tv_usec / USEC_PER_SEC);
    r.tv_usec = t.tv_usec % USEC_PER_SEC;
    return r;
}

/* Compares two non-negative times, which may be unnormalised since
 * TimeLeft keeps the interval exactly as the caller wrote it. */
static int cmp_time(struct timeval a, struct timeval b)
{
    a = normalise(a);
    b = normalise(b);
    if (a.tv_sec != b.tv_sec) {
        return a.tv_sec < b.tv_sec ? -1 : 1;
    }
    if (a.tv_usec != b.tv_usec) {
        return a.tv_usec < b.tv_usec ? -1 : 1;
    }
    return 0;
}

static struct timeval add_time(struct timeval a, struct timeval b)
{
    a = normalise(a);
    b = normalise(b);
    a.tv_sec = add_sec(a.tv_sec, b.tv_sec);
    a.tv_usec += b.tv_usec;
    return normalise(a);
}

/* until - now, or {0,0} if that is not positive. Both are normalised. */
static struct timeval remaining(struct timeval until, struct timeval now)
{
    struct timeval r = { 0, 0 };

    if (until.tv_sec < now.tv_sec ||
        (until.tv_sec == now.tv_sec && until.tv_usec <= now.tv_usec)) {
        return r;
    }
    r.tv_sec = until.tv_sec - now.tv_sec;
    r.tv_usec = until.tv_usec - now.tv_usec;
    if (r.tv_usec < 0) {
        r.tv_sec--;
        r.tv_usec += USEC_PER_SEC;
    }
    return r;
}

static int is_expired(const struct TM_Elem *e)
{
    return e->TimeLeft.tv_sec < 0 ||
           (e->TimeLeft.tv_sec == 0 && e->TimeLeft.tv_usec <= 0);
}

static void link_before(struct TM_Elem *pos, struct TM_Elem *elem)
{
    elem->Next = pos;
    elem->Prev = pos->Prev;
    pos->Prev->Next = elem;
    pos->Prev = elem;
}

int TM_Init(struct TM_Elem **list)
{
    struct TM_Elem *head;

    if (!list) {
        return -1;
    }
    head = calloc(1, sizeof(*head));
    if (!head) {
        return -1;
    }
    head->Next = head;
    head->Prev = head;
    lwp__ft_ensure_init();
    *list = head;
    return 0;
}

int TM_Final(struct TM_Elem **list)
{
    if (!list || !*list) {
        return -1;
    }
    free(*list);
    *list = NULL;
    return 0;
}

void TM_Insert(struct TM_Elem *tlistPtr, struct TM_Elem *elem)
{
    struct TM_Elem *pos;
    struct timeval now;

    if (!tlistPtr || !elem) {
        return;
    }
    elem->TimeLeft = elem->TotalTime;
    if (is_blocking(&elem->TotalTime)) {
        link_before(tlistPtr, elem);
        return;
    }
    lwp__ft_timer_now(&now);
    elem->TotalTime = add_time(now, elem->TimeLeft);

    /* Stop at the first strictly later element so that equal intervals
     * keep their insertion order (callers rely on FIFO among equals). */
    for (pos = tlistPtr->Next; pos != tlistPtr; pos = pos->Next) {
        if (is_blocking(&pos->TotalTime) ||
            cmp_time(pos->TimeLeft, elem->TimeLeft) > 0) {
            break;
        }
    }
    link_before(pos, elem);
}

void TM_Remove(struct TM_Elem *tlistPtr, struct TM_Elem *elem)
{
    (void)tlistPtr;
    /* Removing twice is harmless: a removed element links to itself. A
     * never-linked (zeroed) element and the head itself are refused too,
     * since unlinking either would corrupt memory or the list. */
    if (!elem || elem == tlistPtr || !elem->Next || !elem->Prev ||
        elem->Next == elem) {
        return;
    }
    elem->Prev->Next = elem->Next;
    elem->Next->Prev = elem->Prev;
    elem->Next = elem;
    elem->Prev = elem;
}

int TM_Rescan(struct TM_Elem *tlist)
{
    struct TM_Elem *e;
    struct timeval now;
    int expired = 0;

    if (!tlist) {
        return -1;
    }
    /* Coda's rescan read the wall clock through FastTime, which kept
     * FT_ApproxTime moving in programs whose only clock user is a timer
     * loop; keep that side effect. */
    FT_GetTimeOfDay(&now, NULL);
    lwp__ft_timer_now(&now);
    for (e = tlist->Next; e != tlist; e = e->Next) {
        if (is_blocking(&e->TotalTime)) {
            continue;
        }
        /* Clamp at zero: a negative TimeLeft would read as "wait forever"
         * to IOMGR_Select, the opposite of what an expired timer needs. */
        e->TimeLeft = remaining(e->TotalTime, now);
        if (is_expired(e)) {
            expired++;
        }
    }
    return expired;
}

struct TM_Elem *TM_GetExpired(struct TM_Elem *tlist)
{
    struct TM_Elem *e;

    if (!tlist) {
        return NULL;
    }
    for (e = tlist->Next; e != tlist; e = e->Next) {
        if (!is_blocking(&e->TotalTime) && is_expired(e)) {
            return e;
        }
    }
    return NULL;
}

struct TM_Elem *TM_GetEarliest(struct TM_Elem *tlist)
{
    if (!tlist || tlist->Next == tlist) {
        return NULL;
    }
    return tlist->Next;
}

int TM_eql(struct timeval *t1, struct timeval *t2)
{
    if (!t1 || !t2) {
        return 0;
    }
    return t1->tv_sec == t2->tv_sec && t1->tv_usec == t2->tv_usec;
}
