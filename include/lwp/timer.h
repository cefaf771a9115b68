/* SPDX-License-Identifier: MIT */
/*
 * Timer lists (Coda's TM_* API). A list is a circular doubly-linked list
 * whose head is a dummy element made by TM_Init(); elements are owned by the
 * caller and never freed by the library. Elements are kept sorted by
 * expiration; an element whose TotalTime has a negative field is "blocking"
 * (never expires) and sits at the tail.
 *
 * Times: TM_Insert() turns TotalTime (a relative interval) into the absolute
 * expiration on the timer clock, which reads like the wall clock at FT_Init
 * time but then advances monotonically, so timers keep working when the wall
 * clock jumps. TM_Rescan() sets every TimeLeft to the time remaining; an
 * expired element gets TimeLeft {0,0} (Coda let it go negative, which made
 * IOMGR_Select wait forever on an expired timer).
 *
 * No function yields; all may be used before LWP_Init().
 */
#ifndef LWP_TIMER_H
#define LWP_TIMER_H

#include <sys/time.h>

#include <lwp/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Field order and types are Coda's ABI: IOMGR and RPC2-style code embed
 * these and use BackPointer. */
struct TM_Elem {
    struct TM_Elem *Next;     /* filled by the package */
    struct TM_Elem *Prev;     /* filled by the package */
    struct timeval TotalTime; /* caller: interval; package: expiration */
    struct timeval TimeLeft;  /* filled by the package */
    char *BackPointer;        /* caller's, never interpreted */
};

/* Run `body` for every element `var` of `list`; body may TM_Remove var. */
#define FOR_ALL_ELTS(var, list, body)                                      \
    {                                                                      \
        struct TM_Elem *lwp_tm_list_, *var, *lwp_tm_next_;                 \
        lwp_tm_list_ = (list);                                             \
        for (var = lwp_tm_list_->Next; var != lwp_tm_list_;               \
             var = lwp_tm_next_) {                                         \
            lwp_tm_next_ = var->Next;                                      \
            body                                                           \
        }                                                                  \
    }

/* Make an empty list in *list (calls FT_Init(0, 0) if nobody has).
 * Returns 0, or -1 (list NULL or no memory). */
LWP_EXPORT int TM_Init(struct TM_Elem **list);
/* Free the list head made by TM_Init and set *list = NULL; the elements
 * still linked are not touched. Returns 0, or -1 if list or *list is NULL. */
LWP_EXPORT int TM_Final(struct TM_Elem **list);
/* Insert elem (TotalTime = relative interval) in expiration order; equal
 * expirations keep insertion order. Sets TimeLeft = the interval and
 * TotalTime = the absolute expiration. NULL arguments are ignored. The
 * element must not be linked into a list already. */
LWP_EXPORT void TM_Insert(struct TM_Elem *tlistPtr, struct TM_Elem *elem);
/* Unlink elem and make it point to itself. NULL arguments, and an element
 * already removed (it points to itself), are ignored. */
LWP_EXPORT void TM_Remove(struct TM_Elem *tlistPtr, struct TM_Elem *elem);
/* Recompute TimeLeft of every non-blocking element; returns how many have
 * expired (TimeLeft {0,0}), or -1 if tlist is NULL. Does not reorder. */
LWP_EXPORT int TM_Rescan(struct TM_Elem *tlist);
/* First expired element (as of the last TM_Rescan), or NULL. It stays in
 * the list: the caller removes it. */
LWP_EXPORT struct TM_Elem *TM_GetExpired(struct TM_Elem *tlist);
/* First element of the list (the earliest; possibly expired or blocking),
 * or NULL if the list is empty or NULL. */
LWP_EXPORT struct TM_Elem *TM_GetEarliest(struct TM_Elem *tlist);
/* 1 if *t1 == *t2, else 0 (also 0 if either is NULL). */
LWP_EXPORT int TM_eql(struct timeval *t1, struct timeval *t2);

#ifdef __cplusplus
}
#endif

#endif /* LWP_TIMER_H */
