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
 * as in Coda.
 *
 * No limit on counts: any number of LWPs may hold a lock for reading at
 * once (10,000 readers all hold it together) and any number may wait. The
 * counters keep Coda's 8-bit fields and layout: readers_reading and
 * num_waiting hold min(count, 255) (so a test against 0 is exact), and the
 * library keeps the rest of a count above 255 aside, keyed by the lock's
 * address; CheckLock returns the whole count.
 *
 * An LWP destroyed (LWP_DestroyProcess, an overflow) or recycled while it
 * waits in an obtain call leaves the counters as if it had never waited:
 * it is taken out of num_waiting, and the other waiters are woken to
 * re-check (each waits again if it still cannot take the lock). An LWP
 * destroyed while it holds a lock still holds it: nothing releases it.
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
 * Errors. These calls return nothing; misuse is answered as follows. A NULL
 * lock is ignored by every function (CheckLock and WriteLocked return 0).
 * Releasing a lock that is not held in that mode changes nothing and prints
 * a warning to lwp_logfile. These stop the program (abort()) with a message
 * on stderr naming the LWP and the call, because going on would break the
 * lock: releasing a write lock held by another LWP; an unknown lock type in
 * Lock_Obtain; and an obtain that must wait where no LWP can wait: before
 * LWP_Init() (the message says LWP_Init() was not called), in a special
 * context's save or restore routine (<lwp/context.h>; the message says so).
 * An obtain that need not wait works in both places. On an OS thread that
 * is not the runtime's (while it lives), every obtain, release, boost and
 * unboost is ignored with a warning to lwp_logfile and changes nothing:
 * the lock's state belongs to the LWPs (a release there could not wake
 * them), and an LWP lock cannot exclude another thread anyway.
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
    unsigned char readers_reading; /* read holders (255: 255 or more) */
    unsigned char num_waiting;     /* waiting LWPs (255: 255 or more) */
    PROCESS excl_locker;           /* holder of the write lock */
};
typedef struct Lock Lock;

/* Types that wait on excl_locked (read waiters wait on readers_reading). */
#define EXCL_LOCKS (WRITE_LOCK | SHARED_LOCK)

/* Unlock and clear every field (and any count kept above 255). */
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

/* -1 if write- or shared-locked, else the number of readers (all of them,
 * also above 255; INT_MAX at most). */
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
