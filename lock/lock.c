/* SPDX-License-Identifier: MIT */
/*
 * Read/write/shared locks over LWP events, with Coda's semantics.
 *
 * Readers wait on &lock->readers_reading, writers and shared lockers on
 * &lock->excl_locked. Every wake-up is a broadcast without a yield; woken
 * LWPs re-check their condition and may wait again, so the lock state is
 * only ever changed by the LWP that takes or drops it.
 *
 * Counts. readers_reading and num_waiting are Coda's 8-bit fields: each
 * holds min(count, 255), and the part of a count above 255 is kept in a
 * side table keyed by the field's address (wide_*), consulted only when
 * the field reads 255. So every test of a field against 0 stays exact and
 * the hot paths pay nothing for counts they rarely reach.
 *
 * A waiter is marked in its PCB (LWP_XF_UNDO) while it is in Lock_Obtain,
 * so that destroying or recycling it takes it out of num_waiting
 * (abandon()).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lwp/lock.h>

#include "lwp/lwp_internal.h"

#define BOOSTED_LOCK 6 /* Lock_Obtain internal: shared -> write */
#define FIELD_MAX 255  /* Coda's unsigned char counters */

static const char *me_name(void)
{
    const char *n = LWP_Name();
    return n ? n : "(no LWP)";
}

static void __attribute__((noreturn, format(printf, 2, 3)))
lock_fatal(const char *call, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "***LWP fatal: %s in LWP \"%s\": ", call, me_name());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

static void ignored(const char *call, struct Lock *lock, const char *why)
{
    FILE *fp = lwp_logfile ? lwp_logfile : stderr;

    fprintf(fp, "***LWP: %s of lock %p by \"%s\" ignored: %s\n", call,
            (void *)lock, me_name(), why);
    fflush(fp);
}

/* A call from another OS thread than the LWP runtime's: the LWPs' lock
 * state is not that thread's to change, and a wait would run LWPs there.
 * Ignored, as a release of a lock not held is. */
static int wrong_thread(const char *call, struct Lock *lock)
{
    if (!lwp__foreign_thread())
        return 0;
    ignored(call, lock, "called from another OS thread than the LWPs'");
    return 1;
}

/* ---- Counts above 255 ---- */

struct wide {
    const unsigned char *field;
    unsigned long extra; /* the count is FIELD_MAX + extra */
};

/* Few entries (one per counter past 255 at this moment), so a search is
 * a short scan. The lock module is confined to the runtime's thread. */
static struct wide *wides;
static size_t nwides, wides_cap;

static struct wide *wide_find(const unsigned char *field)
{
    for (size_t i = 0; i < nwides; i++)
        if (wides[i].field == field)
            return &wides[i];
    return NULL;
}

static void wide_drop(struct wide *w)
{
    *w = wides[--nwides];
    if (!nwides) {
        free(wides);
        wides = NULL;
        wides_cap = 0;
    }
}

static void wide_up(unsigned char *field, const char *call)
{
    struct wide *w = wide_find(field);

    if (!w) {
        if (nwides == wides_cap) {
            size_t cap = wides_cap ? 2 * wides_cap : 4;
            struct wide *n = realloc(wides, cap * sizeof(*n));
            if (!n)
                lock_fatal(call, "no memory to count past %d on lock "
                                 "field %p", FIELD_MAX, (void *)field);
            wides = n;
            wides_cap = cap;
        }
        w = &wides[nwides++];
        w->field = field;
        w->extra = 0;
    }
    w->extra++;
}

/* Takes one off the part above 255; 0 if there was none. */
static int wide_down(const unsigned char *field)
{
    struct wide *w = wide_find(field);

    if (!w)
        return 0;
    if (!--w->extra)
        wide_drop(w);
    return 1;
}

static unsigned long count_of(const unsigned char *field)
{
    struct wide *w;

    if (*field != FIELD_MAX || !(w = wide_find(field)))
        return *field;
    return FIELD_MAX + w->extra;
}

static inline void count_up(unsigned char *field, const char *call)
{
    if (lwp_likely(*field != FIELD_MAX))
        (*field)++;
    else
        wide_up(field, call);
}

static inline void count_down(unsigned char *field)
{
    if (lwp_unlikely(*field == FIELD_MAX) && wide_down(field))
        return;
    (*field)--;
}

/* Lock_Init on a lock that had counts above 255: forget them. */
static void wide_forget(struct Lock *lock)
{
    struct wide *w;

    while ((w = wide_find(&lock->readers_reading)) != NULL ||
           (w = wide_find(&lock->num_waiting)) != NULL)
        wide_drop(w);
}

/* ---- Waiting ---- */

/* Why nobody can wait here (lwp__rt is NULL), for the message. Another
 * OS thread's calls are ignored before they get here (wrong_thread). */
static const char *why_no_wait(void)
{
    if (lwp__no_rt() == LWP_EINSWITCH)
        return "the lock is busy and this call was made from a special "
               "context's save or restore routine, where no LWP may wait";
    return "the lock is busy and LWP_Init() was not called, so nothing "
           "could ever release it";
}

/* The LWP was destroyed or recycled while waiting for the lock: it no
 * longer counts, and the wait bits it may have set are cleared. The others
 * are woken to re-check and set them again as they wait, so one it leaves
 * behind is not left waiting for a release that would have woken it. */
static void abandon(void *arg)
{
    struct Lock *lock = arg;

    count_down(&lock->num_waiting);
    lock->wait_states = 0;
    (void)LWP_NoYieldSignal(&lock->readers_reading);
    (void)LWP_NoYieldSignal(&lock->excl_locked);
}

static struct lwp_pcb *waiter_begin(struct Lock *lock, const char *call)
{
    struct lwp_pcb *me;

    if (!lwp__rt)
        lock_fatal(call, "%s", why_no_wait());
    me = lwp__rt->current;
    count_up(&lock->num_waiting, call);
    me->undo = abandon;
    me->undo_arg = lock;
    me->xflags |= LWP_XF_UNDO;
    return me;
}

static void waiter_end(struct Lock *lock, struct lwp_pcb *me)
{
    me->xflags &= (uint8_t)~LWP_XF_UNDO;
    count_down(&lock->num_waiting);
}

static void wait_on(const void *event, const char *call)
{
    int rc = LWP_WaitProcess(event);

    if (rc != LWP_SUCCESS) /* checked in waiter_begin: cannot happen */
        lock_fatal(call, "LWP_WaitProcess returned %d", rc);
}

static void add_reader(struct Lock *lock, const char *call)
{
    count_up(&lock->readers_reading, call);
}

void Lock_Init(struct Lock *lock)
{
    if (!lock)
        return;
    lock->wait_states = 0;
    lock->excl_locked = 0;
    lock->readers_reading = 0;
    lock->num_waiting = 0;
    lock->excl_locker = NULL;
    if (lwp_unlikely(nwides))
        wide_forget(lock);
}

/* The holder of the write lock is `me` (never true for shared locks). */
static int write_held_by(const struct Lock *lock, PROCESS me)
{
    return (lock->excl_locked & WRITE_LOCK) && lock->excl_locker == me;
}

static void obtain_read(struct Lock *lock, PROCESS me)
{
    do {
        lock->wait_states |= READ_LOCK;
        wait_on(&lock->readers_reading, "ObtainReadLock");
    } while ((lock->excl_locked & WRITE_LOCK) && !write_held_by(lock, me));
    add_reader(lock, "ObtainReadLock");
}

static void obtain_write(struct Lock *lock, PROCESS me)
{
    do {
        lock->wait_states |= WRITE_LOCK;
        wait_on(&lock->excl_locked, "ObtainWriteLock");
    } while ((lock->excl_locked && !write_held_by(lock, me)) ||
             lock->readers_reading);
    lock->excl_locked = WRITE_LOCK;
    lock->excl_locker = me;
}

static void obtain_shared(struct Lock *lock)
{
    do {
        lock->wait_states |= SHARED_LOCK;
        wait_on(&lock->excl_locked, "ObtainSharedLock");
    } while (lock->excl_locked);
    lock->excl_locked = SHARED_LOCK;
}

static void obtain_boosted(struct Lock *lock, PROCESS me)
{
    do {
        lock->wait_states |= WRITE_LOCK;
        wait_on(&lock->excl_locked, "BoostSharedLock");
    } while (lock->readers_reading);
    lock->excl_locked = WRITE_LOCK;
    lock->excl_locker = me;
}

/* The public call that waits `how`, for messages. */
static const char *obtain_name(int how)
{
    switch (how) {
    case READ_LOCK:
        return "ObtainReadLock";
    case WRITE_LOCK:
        return "ObtainWriteLock";
    case SHARED_LOCK:
        return "ObtainSharedLock";
    default:
        return "BoostSharedLock";
    }
}

void Lock_Obtain(struct Lock *lock, int how)
{
    struct lwp_pcb *self;
    PROCESS me;

    if (!lock || wrong_thread("Lock_Obtain", lock))
        return;
    if (how != READ_LOCK && how != WRITE_LOCK && how != SHARED_LOCK &&
        how != BOOSTED_LOCK)
        lock_fatal("Lock_Obtain", "bad lock type %d for lock %p", how,
                   (void *)lock);
    self = waiter_begin(lock, obtain_name(how));
    me = LWP_ThisProcess();
    if (how == READ_LOCK)
        obtain_read(lock, me);
    else if (how == WRITE_LOCK)
        obtain_write(lock, me);
    else if (how == SHARED_LOCK)
        obtain_shared(lock);
    else
        obtain_boosted(lock, me);
    waiter_end(lock, self);
}

void ObtainReadLock(struct Lock *lock)
{
    if (!lock || wrong_thread("ObtainReadLock", lock))
        return;
    if ((!(lock->excl_locked & WRITE_LOCK) && !lock->wait_states) ||
        write_held_by(lock, LWP_ThisProcess()))
        add_reader(lock, "ObtainReadLock");
    else
        Lock_Obtain(lock, READ_LOCK);
}

void ObtainWriteLock(struct Lock *lock)
{
    PROCESS me = LWP_ThisProcess();

    if (!lock || wrong_thread("ObtainWriteLock", lock))
        return;
    if (!lock->excl_locked && !lock->readers_reading) {
        lock->excl_locked = WRITE_LOCK;
        lock->excl_locker = me;
    } else if (!write_held_by(lock, me)) {
        Lock_Obtain(lock, WRITE_LOCK);
    }
}

void ObtainSharedLock(struct Lock *lock)
{
    if (!lock || wrong_thread("ObtainSharedLock", lock))
        return;
    if (!lock->excl_locked && !lock->wait_states)
        lock->excl_locked = SHARED_LOCK;
    else
        Lock_Obtain(lock, SHARED_LOCK);
}

/* Drop the write holder's name; only its holder may do that. */
static void clear_writer(struct Lock *lock, const char *call)
{
    if (!(lock->excl_locked & WRITE_LOCK))
        return;
    if (lock->excl_locker != LWP_ThisProcess())
        lock_fatal(call, "lock %p is write-locked by another LWP",
                   (void *)lock);
    lock->excl_locker = NULL;
}

void Lock_ReleaseR(struct Lock *lock)
{
    if (!lock || wrong_thread("Lock_ReleaseR", lock))
        return;
    clear_writer(lock, "Lock_ReleaseR");
    if (lock->wait_states & READ_LOCK) {
        lock->wait_states &= (unsigned char)~READ_LOCK;
        LWP_NoYieldSignal(&lock->readers_reading);
    } else {
        lock->wait_states &= (unsigned char)~EXCL_LOCKS;
        LWP_NoYieldSignal(&lock->excl_locked);
    }
}

void Lock_ReleaseW(struct Lock *lock)
{
    if (!lock || wrong_thread("Lock_ReleaseW", lock))
        return;
    clear_writer(lock, "Lock_ReleaseW");
    if (lock->wait_states & EXCL_LOCKS) {
        lock->wait_states &= (unsigned char)~EXCL_LOCKS;
        LWP_NoYieldSignal(&lock->excl_locked);
    } else {
        lock->wait_states &= (unsigned char)~READ_LOCK;
        LWP_NoYieldSignal(&lock->readers_reading);
    }
}

void ReleaseReadLock(struct Lock *lock)
{
    if (!lock || wrong_thread("ReleaseReadLock", lock))
        return;
    if (!lock->readers_reading) {
        ignored("ReleaseReadLock", lock, "it has no readers");
        return;
    }
    /* Only the write holder can hold read locks under a write lock; its
     * last read release must not wake anyone (nobody could get in) nor go
     * through Lock_ReleaseW, which would forget who holds the write lock
     * and make its own ReleaseWriteLock abort. */
    count_down(&lock->readers_reading);
    if (!lock->readers_reading && lock->wait_states &&
        !(lock->excl_locked & WRITE_LOCK))
        Lock_ReleaseW(lock);
}

void ReleaseWriteLock(struct Lock *lock)
{
    if (!lock || wrong_thread("ReleaseWriteLock", lock))
        return;
    if (!(lock->excl_locked & WRITE_LOCK)) {
        ignored("ReleaseWriteLock", lock, "it is not write-locked");
        return;
    }
    if (lock->excl_locker != LWP_ThisProcess())
        lock_fatal("ReleaseWriteLock", "lock %p is write-locked by another "
                   "LWP", (void *)lock);
    if (lock->wait_states)
        Lock_ReleaseR(lock);
    lock->excl_locker = NULL;
    lock->excl_locked &= (unsigned char)~WRITE_LOCK;
}

void ReleaseSharedLock(struct Lock *lock)
{
    if (!lock || wrong_thread("ReleaseSharedLock", lock))
        return;
    if (!(lock->excl_locked & (SHARED_LOCK | WRITE_LOCK))) {
        ignored("ReleaseSharedLock", lock, "it is not shared-locked");
        return;
    }
    /* A boosted lock is a write lock: check its holder whether or not
     * anyone waits, as ReleaseWriteLock does. */
    if ((lock->excl_locked & WRITE_LOCK) &&
        lock->excl_locker != LWP_ThisProcess())
        lock_fatal("ReleaseSharedLock", "lock %p is write-locked by another "
                   "LWP", (void *)lock);
    if (lock->wait_states)
        Lock_ReleaseR(lock);
    lock->excl_locker = NULL;
    lock->excl_locked &= (unsigned char)~(SHARED_LOCK | WRITE_LOCK);
}

void BoostSharedLock(struct Lock *lock)
{
    if (!lock || wrong_thread("BoostSharedLock", lock))
        return;
    if (lock->excl_locked != SHARED_LOCK) {
        ignored("BoostSharedLock", lock, "it is not shared-locked");
        return;
    }
    if (!lock->readers_reading) {
        lock->excl_locked = WRITE_LOCK;
        lock->excl_locker = LWP_ThisProcess();
    } else {
        Lock_Obtain(lock, BOOSTED_LOCK);
    }
}

void UnboostSharedLock(struct Lock *lock)
{
    if (!lock || wrong_thread("UnboostSharedLock", lock))
        return;
    if (!(lock->excl_locked & WRITE_LOCK)) {
        ignored("UnboostSharedLock", lock, "it is not boosted");
        return;
    }
    lock->excl_locked = SHARED_LOCK;
    lock->excl_locker = NULL;
    if (lock->wait_states)
        Lock_ReleaseR(lock);
}

int CheckLock(struct Lock *lock)
{
    unsigned long n;

    if (!lock)
        return 0;
    if (lock->excl_locked)
        return -1;
    n = count_of(&lock->readers_reading);
    return n > INT_MAX ? INT_MAX : (int)n;
}

int WriteLocked(struct Lock *lock)
{
    return lock && lock->excl_locked != 0;
}

static void obtain_how(struct Lock *lock, enum lock_how how)
{
    if (how == READ_LOCK)
        ObtainReadLock(lock);
    else if (how == WRITE_LOCK)
        ObtainWriteLock(lock);
    else if (how == SHARED_LOCK)
        ObtainSharedLock(lock);
}

static void release_how(struct Lock *lock, enum lock_how how)
{
    if (how == READ_LOCK)
        ReleaseReadLock(lock);
    else if (how == WRITE_LOCK)
        ReleaseWriteLock(lock);
    else if (how == SHARED_LOCK)
        ReleaseSharedLock(lock);
}

void ObtainDualLock(struct Lock *lock_1, enum lock_how how_1,
                    struct Lock *lock_2, enum lock_how how_2)
{
    if ((uintptr_t)lock_1 <= (uintptr_t)lock_2) {
        obtain_how(lock_1, how_1);
        obtain_how(lock_2, how_2);
    } else {
        obtain_how(lock_2, how_2);
        obtain_how(lock_1, how_1);
    }
}

void ReleaseDualLock(struct Lock *lock_1, enum lock_how how_1,
                     struct Lock *lock_2, enum lock_how how_2)
{
    release_how(lock_1, how_1);
    release_how(lock_2, how_2);
}
