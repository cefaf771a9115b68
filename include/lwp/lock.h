/* SPDX-License-Identifier: MIT */
/*
 * Read/write/shared locks between LWPs (Coda's <lwp/lock.h>).
 *
 * A lock is caller-owned memory; all-zero (Lock_Init, or a static
 * { 0, 0, 0, 0 } initialiser) is unlocked. Any number of readers, or one
 * writer, or one shared locker plus readers, may hold it. A shared lock
 * excludes writers and other shared lockers and can be boosted to a write
 * lock. The holder of a write lock may also take read locks, and taking the
 * write lock again returns at once without counting (one release frees it),
 * as in Coda. Counters are 8 bits: at most 255 readers or waiters.
 *
 * Wake-ups are broadcasts on &readers_reading (readers) or &excl_locked
 * (writers and shared lockers); woken LWPs re-check and may wait again. A
 * read release that frees the lock prefers waiting writers; a write or
 * shared release prefers waiting readers.
 *
 * Obtain calls may yield (only when they must wait); release calls, CheckLock
 * and WriteLocked never yield. Nothing here may be called from a signal
 * handler.
 *
 * Misuse, documented behaviour: a NULL lock is ignored by every function
 * (CheckLock and WriteLocked return 0). Releasing a lock that is not held in
 * that mode changes nothing and prints a warning to lwp_logfile. Releasing
 * a write lock held by another LWP, an unknown lock type in Lock_Obtain, or
 * an obtain that must wait before LWP_Init() stops the program with a
 * message naming the LWP and the call.
 */
#ifndef LWP_LOCK_H
#define LWP_LOCK_H

#include <lwp/lwp.h>

#ifdef __cplusplus
extern "C" {
#endif

enum lock_how {
    READ_LOCK = 1,  /* lock for reading */
    WRITE_LOCK = 2, /* lock for writing */
    SHARED_LOCK = 4 /* shared: excludes writers, admits readers */
};

/* Layout is Coda's: static initialisers rely on the four counters first. */
struct Lock {
    unsigned char wait_states;     /* lock types waited for (lock_how bits) */
    unsigned char excl_locked;     /* WRITE_LOCK or SHARED_LOCK, or 0 */
    unsigned char readers_reading; /* number of read holders */
    unsigned char num_waiting;     /* number of waiting LWPs */
    PROCESS excl_locker;           /* holder of the write lock */
};
typedef struct Lock Lock;

/* Types that wait on excl_locked (read waiters wait on readers_reading). */
#define EXCL_LOCKS (WRITE_LOCK | SHARED_LOCK)

/* Unlock and clear every field. */
LWP_EXPORT void Lock_Init(struct Lock *lock);

/* Take the lock for reading; waits while it is write-locked by another LWP
 * or while other LWPs wait for it. May yield. */
LWP_EXPORT void ObtainReadLock(struct Lock *lock);
/* Take the lock for writing; waits while it has readers or another
 * exclusive holder. Writers may barge past waiters. May yield. */
LWP_EXPORT void ObtainWriteLock(struct Lock *lock);
/* Take the lock shared; waits while it is exclusively held or others wait.
 * May yield. */
LWP_EXPORT void ObtainSharedLock(struct Lock *lock);

/* Drop one read hold. Never yields. */
LWP_EXPORT void ReleaseReadLock(struct Lock *lock);
/* Drop the write lock (must be the holder). Never yields. */
LWP_EXPORT void ReleaseWriteLock(struct Lock *lock);
/* Drop a shared lock, or a boosted one. Never yields. */
LWP_EXPORT void ReleaseSharedLock(struct Lock *lock);

/* Turn the caller's shared lock into a write lock, waiting for the readers
 * to leave. May yield. */
LWP_EXPORT void BoostSharedLock(struct Lock *lock);
/* Turn the caller's boosted (write) lock back into a shared lock and let
 * waiting readers in. Never yields. */
LWP_EXPORT void UnboostSharedLock(struct Lock *lock);

/* -1 if write- or shared-locked, else the number of readers. */
LWP_EXPORT int CheckLock(struct Lock *lock);
/* Non-zero if write- or shared-locked (Coda: true for shared locks too). */
LWP_EXPORT int WriteLocked(struct Lock *lock);

/* Slow paths, exported as in Coda: wait until the lock can be taken `how`
 * (a lock_how value) and take it. May yield. */
LWP_EXPORT void Lock_Obtain(struct Lock *lock, int how);
/* Wake waiters, preferring readers / preferring writers. Never yield. */
LWP_EXPORT void Lock_ReleaseR(struct Lock *lock);
LWP_EXPORT void Lock_ReleaseW(struct Lock *lock);

/* Take two locks without deadlocking against another LWP taking the same
 * two: the lower-addressed lock is taken first. A how value other than the
 * three lock types leaves that lock alone. May yield. */
LWP_EXPORT void ObtainDualLock(struct Lock *lock_1, enum lock_how how_1,
                               struct Lock *lock_2, enum lock_how how_2);
/* Release both, in argument order. Never yields. */
LWP_EXPORT void ReleaseDualLock(struct Lock *lock_1, enum lock_how how_1,
                                struct Lock *lock_2, enum lock_how how_2);

#ifdef __cplusplus
}
#endif

#endif /* LWP_LOCK_H */
