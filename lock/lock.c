/* SPDX-License-Identifier: MIT */
/*
 * Read/write/shared locks over LWP events, with Coda's semantics.
 *
 * Readers wait on &lock->readers_reading, writers and shared lockers on
 * &lock->excl_locked. Every wake-up is a broadcast without a yield; woken
 * LWPs re-check their condition and may wait again, so the lock state is
 * only ever changed by the LWP that takes or drops it.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lwp/lock.h>

#define BOOSTED_LOCK 6 /* Lock_Obtain internal: shared -> write */

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

static void wait_on(const void *event, const char *call)
{
    if (LWP_WaitProcess(event) != LWP_SUCCESS)
        lock_fatal(call, "the lock is busy and LWP_Init() was not called, "
                         "so nothing could ever release it");
}

static void add_reader(struct Lock *lock, const char *call)
{
    if (lock->readers_reading == 255)
        lock_fatal(call, "lock %p already has 255 readers", (void *)lock);
    lock->readers_reading++;
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

void Lock_Obtain(struct Lock *lock, int how)
{
    PROCESS me = LWP_ThisProcess();

    if (!lock)
        return;
    if (lock->num_waiting == 255)
        lock_fatal("Lock_Obtain", "lock %p already has 255 waiters",
                   (void *)lock);
    if (how != READ_LOCK && how != WRITE_LOCK && how != SHARED_LOCK &&
        how != BOOSTED_LOCK)
        lock_fatal("Lock_Obtain", "bad lock type %d for lock %p", how,
                   (void *)lock);
    lock->num_waiting++;
    if (how == READ_LOCK)
        obtain_read(lock, me);
    else if (how == WRITE_LOCK)
        obtain_write(lock, me);
    else if (how == SHARED_LOCK)
        obtain_shared(lock);
    else
        obtain_boosted(lock, me);
    lock->num_waiting--;
}

void ObtainReadLock(struct Lock *lock)
{
    if (!lock)
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

    if (!lock)
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
    if (!lock)
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
    if (!lock)
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
    if (!lock)
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
    if (!lock)
        return;
    if (!lock->readers_reading) {
        ignored("ReleaseReadLock", lock, "it has no readers");
        return;
    }
    /* Only the write holder can hold read locks under a write lock; its
     * last read release must not wake anyone (nobody could get in) nor go
     * through Lock_ReleaseW, which would forget who holds the write lock
     * and make its own ReleaseWriteLock abort. */
    if (!--lock->readers_reading && lock->wait_states &&
        !(lock->excl_locked & WRITE_LOCK))
        Lock_ReleaseW(lock);
}

void ReleaseWriteLock(struct Lock *lock)
{
    if (!lock)
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
    if (!lock)
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
    if (!lock)
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
    if (!lock)
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
    if (!lock)
        return 0;
    return lock->excl_locked ? -1 : lock->readers_reading;
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
