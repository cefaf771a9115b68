/* SPDX-License-Identifier: MIT */
/*
 * Lock: waiters destroyed or recycled while they wait, counts above
 * Coda's 8-bit fields, and an obtain that must wait where no LWP can.
 *
 * Waiters run at the highest priority, so each blocks in its obtain call
 * before its creation returns, and runs as soon as it is woken.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <lwp/context.h>
#include <lwp/lock.h>

#include "lwp_test.h"

#define TOP LWP_MAX_PRIORITY

/* Coda's fields, as a program sees them. */
struct fields {
    unsigned char wait_states, excl_locked, readers_reading, num_waiting;
    PROCESS excl_locker;
};

static struct fields fields_of(const struct Lock *l)
{
    struct fields f = {l->wait_states, l->excl_locked, l->readers_reading,
                       l->num_waiting, l->excl_locker};
    return f;
}

static void assert_fields(const struct Lock *l, struct fields want,
                          const char *when)
{
    struct fields got = fields_of(l);

    cr_assert(got.wait_states == want.wait_states &&
                  got.excl_locked == want.excl_locked &&
                  got.readers_reading == want.readers_reading &&
                  got.num_waiting == want.num_waiting &&
                  got.excl_locker == want.excl_locker,
              "%s: {%u %u %u %u %p}, want {%u %u %u %u %p}", when,
              got.wait_states, got.excl_locked, got.readers_reading,
              got.num_waiting, (void *)got.excl_locker, want.wait_states,
              want.excl_locked, want.readers_reading, want.num_waiting,
              (void *)want.excl_locker);
}

static void assert_free(const struct Lock *l)
{
    struct fields zero = {0, 0, 0, 0, NULL};

    assert_fields(l, zero, "free");
    cr_assert_eq(CheckLock((struct Lock *)l), 0);
}

static void obtain(struct Lock *l, char how)
{
    if (how == 'r')
        ObtainReadLock(l);
    else if (how == 'w')
        ObtainWriteLock(l);
    else
        ObtainSharedLock(l);
}

static void release(struct Lock *l, char how)
{
    if (how == 'r')
        ReleaseReadLock(l);
    else if (how == 'w')
        ReleaseWriteLock(l);
    else
        ReleaseSharedLock(l);
}

/* An LWP that obtains `how`, counts itself in, and releases. */
struct waiter {
    struct Lock *lock;
    char how;
    int got;
};

static void waiter_main(void *arg)
{
    struct waiter *w = arg;

    obtain(w->lock, w->how);
    w->got++;
    release(w->lock, w->how);
}

static PROCESS spawn_waiter(struct waiter *w)
{
    PROCESS pid = NULL;

    cr_assert_eq(LWP_CreateProcess(waiter_main, 0, TOP, w, "waiter", &pid),
                 LWP_SUCCESS);
    return pid;
}

/* What the main LWP holds so that a waiter of `how` must wait. */
static char blocker_for(char how)
{
    return how == 'w' ? 'r' : 'w';
}

static int recycled_ran;

static void recycled_main(void *arg)
{
    (void)arg;
    recycled_ran++;
}

/* A waiter of `how` blocks, then is destroyed or recycled (and then run
 * to its new end): the lock is as before it came, and works on. */
static void check_gone_waiter(char how, int recycle)
{
    struct Lock l;
    struct waiter w = {&l, how, 0};
    struct fields before;
    char held = blocker_for(how);
    PROCESS pid;

    Lock_Init(&l);
    obtain(&l, held);
    before = fields_of(&l);
    pid = spawn_waiter(&w);
    cr_assert_eq(l.num_waiting, 1, "the waiter waits");
    if (recycle) {
        cr_assert_eq(LWP_RecycleProcess(pid, recycled_main, NULL),
                     LWP_SUCCESS);
        assert_fields(&l, before, "after the recycle");
        cr_assert_eq(LWP_ResumeProcess(pid), LWP_SUCCESS);
        LWP_DispatchProcess();
        cr_assert_eq(recycled_ran, 1, "it ran its new entry point");
    } else {
        cr_assert_eq(LWP_DestroyProcess(pid), LWP_SUCCESS);
        LWP_DispatchProcess();
    }
    assert_fields(&l, before, "after the waiter went");
    release(&l, held);
    LWP_DispatchProcess();
    cr_assert_eq(w.got, 0, "the gone waiter never got the lock");
    assert_free(&l);
    /* A real waiter still gets in. */
    obtain(&l, held);
    spawn_waiter(&w);
    release(&l, held);
    LWP_DispatchProcess();
    cr_assert_eq(w.got, 1);
    assert_free(&l);
}

/* One test per kind of waiter and way of going (see check_gone_waiter). */
#define GONE_WAITER_TEST(name, how, recycle)                                   \
    Test(lock_waiters, name, .init = lwpt_setup, .fini = lwpt_teardown,        \
         .timeout = 10)                                                        \
    {                                                                          \
        check_gone_waiter(how, recycle);                                       \
    }

GONE_WAITER_TEST(destroyed_read_waiter_leaves_no_trace, 'r', 0)
GONE_WAITER_TEST(destroyed_write_waiter_leaves_no_trace, 'w', 0)
GONE_WAITER_TEST(destroyed_shared_waiter_leaves_no_trace, 's', 0)
GONE_WAITER_TEST(recycled_read_waiter_leaves_no_trace, 'r', 1)
GONE_WAITER_TEST(recycled_write_waiter_leaves_no_trace, 'w', 1)
GONE_WAITER_TEST(recycled_shared_waiter_leaves_no_trace, 's', 1)

/* A reader that waits only because a writer waited: once the writer is
 * destroyed, the read release that frees the lock must let it in (it
 * would have woken the writer alone). */
Test(lock_waiters, reader_queued_behind_a_destroyed_writer_gets_in,
     .init = lwpt_setup, .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock l;
    struct waiter wr = {&l, 'w', 0}, rd = {&l, 'r', 0};
    PROCESS writer;

    Lock_Init(&l);
    ObtainReadLock(&l);
    writer = spawn_waiter(&wr);
    spawn_waiter(&rd);
    cr_assert_eq(l.num_waiting, 2, "the reader queued behind the writer");
    cr_assert_eq(LWP_DestroyProcess(writer), LWP_SUCCESS);
    ReleaseReadLock(&l);
    LWP_DispatchProcess();
    cr_assert_eq(rd.got, 1, "the reader got the lock");
    cr_assert_eq(wr.got, 0);
    assert_free(&l);
}

/* A boost that waits for readers, destroyed: the LWP still holds its
 * shared lock (nothing releases a destroyed holder's locks), and nobody
 * counts as waiting. */
static void boost_main(void *arg)
{
    struct waiter *w = arg;

    ObtainSharedLock(w->lock);
    BoostSharedLock(w->lock);
    w->got++;
}

Test(lock_waiters, destroyed_boost_waiter_leaves_its_shared_lock,
     .init = lwpt_setup, .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock l;
    struct waiter w = {&l, 's', 0};
    PROCESS pid;

    Lock_Init(&l);
    ObtainReadLock(&l);
    cr_assert_eq(LWP_CreateProcess(boost_main, 0, TOP, &w, "booster", &pid),
                 LWP_SUCCESS);
    cr_assert_eq(l.num_waiting, 1);
    cr_assert_eq(LWP_DestroyProcess(pid), LWP_SUCCESS);
    struct fields want = {0, SHARED_LOCK, 1, 0, NULL};
    assert_fields(&l, want, "after the destroy");
    ReleaseReadLock(&l);
    cr_assert_eq(w.got, 0);
}

/* More gone waiters than an 8-bit count holds, then real waiters. */
Test(lock_waiters, three_hundred_gone_waiters_then_real_ones_get_in,
     .init = lwpt_setup, .fini = lwpt_teardown, .timeout = 30)
{
    struct Lock l;
    struct waiter w = {&l, 'r', 0}, real[4];
    PROCESS pid;

    Lock_Init(&l);
    ObtainWriteLock(&l);
    for (int i = 0; i < 300; i++) {
        w.how = "rws"[i % 3];
        pid = spawn_waiter(&w);
        if (i % 2)
            cr_assert_eq(LWP_RecycleProcess(pid, recycled_main, NULL),
                         LWP_SUCCESS);
        cr_assert_eq(LWP_DestroyProcess(pid), LWP_SUCCESS);
        LWP_DispatchProcess();
        cr_assert_eq(l.num_waiting, 0, "after %d gone waiters", i + 1);
        cr_assert_eq(l.wait_states, 0, "after %d gone waiters", i + 1);
    }
    for (int i = 0; i < 4; i++) {
        real[i] = (struct waiter){&l, "rrws"[i], 0};
        spawn_waiter(&real[i]);
    }
    cr_assert_eq(l.num_waiting, 4);
    ReleaseWriteLock(&l);
    LWP_DispatchProcess();
    for (int i = 0; i < 4; i++)
        cr_assert_eq(real[i].got, 1, "waiter %d", i);
    cr_assert_eq(w.got, 0);
    assert_free(&l);
}

/* ---- Counts above 255 ---- */

enum { MANY = 10000 };

Test(lock_waiters, ten_thousand_read_holds_by_one_lwp, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 30)
{
    struct Lock l;
    struct waiter wr = {&l, 'w', 0};

    Lock_Init(&l);
    for (int i = 0; i < MANY; i++)
        ObtainReadLock(&l);
    cr_assert_eq(CheckLock(&l), MANY);
    cr_assert_eq(l.readers_reading, 255, "the field says 255 or more");
    spawn_waiter(&wr);
    for (int i = MANY; i > 1; i--) {
        ReleaseReadLock(&l);
        cr_assert_eq(CheckLock(&l), i - 1);
    }
    LWP_DispatchProcess();
    cr_assert_eq(wr.got, 0, "one reader is left");
    cr_assert_eq(l.readers_reading, 1);
    ReleaseReadLock(&l);
    LWP_DispatchProcess();
    cr_assert_eq(wr.got, 1, "the writer got in after the last reader");
    assert_free(&l);
}

/* LWPs on the shared stack: ten thousand of them need little memory. */
static void spawn_many(void (*ep)(void *), void *arg)
{
    struct lwp_attr a = LWP_ATTR_INIT;

    a.priority = TOP;
    a.name = "many";
    a.flags = LWP_CREATE_SHARED_STACK;
    cr_assert_eq(LWP_CreateProcessAttr(&a, ep, arg, NULL), LWP_SUCCESS);
}

static struct Lock big;
static int inside, left;
static char gate;

static void gated_reader(void *arg)
{
    (void)arg;
    ObtainReadLock(&big);
    inside++;
    LWP_WaitProcess(&gate);
    ReleaseReadLock(&big);
    left++;
}

Test(lock_waiters, ten_thousand_readers_wait_then_hold_at_once,
     .init = lwpt_setup, .fini = lwpt_teardown, .timeout = 120)
{
    Lock_Init(&big);
    inside = left = 0;
    ObtainWriteLock(&big);
    for (int i = 0; i < MANY; i++)
        spawn_many(gated_reader, NULL);
    cr_assert_eq(big.num_waiting, 255, "the field says 255 or more");
    cr_assert_eq(inside, 0);
    ReleaseWriteLock(&big);
    LWP_DispatchProcess();
    cr_assert_eq(inside, MANY, "all readers hold the lock together");
    cr_assert_eq(CheckLock(&big), MANY);
    cr_assert_eq(big.readers_reading, 255);
    cr_assert_eq(big.num_waiting, 0);
    cr_assert_eq(LWP_SignalProcess(&gate), LWP_SUCCESS);
    cr_assert_eq(left, MANY);
    assert_free(&big);
}

static int order[MANY], norder;

static void ordered_writer(void *arg)
{
    ObtainWriteLock(&big);
    order[norder++] = (int)(intptr_t)arg;
    ReleaseWriteLock(&big);
}

Test(lock_waiters, ten_thousand_writers_wait_and_get_in_in_order,
     .init = lwpt_setup, .fini = lwpt_teardown, .timeout = 120)
{
    Lock_Init(&big);
    norder = 0;
    ObtainWriteLock(&big);
    for (int i = 0; i < MANY; i++)
        spawn_many(ordered_writer, (void *)(intptr_t)i);
    cr_assert_eq(big.num_waiting, 255, "the field says 255 or more");
    ReleaseWriteLock(&big);
    LWP_DispatchProcess();
    cr_assert_eq(norder, MANY);
    for (int i = 0; i < MANY; i++)
        cr_assert_eq(order[i], i, "writer %d came %dth", order[i], i);
    assert_free(&big);
}

Test(lock_waiters, lock_init_forgets_counts_above_255, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    struct Lock l;

    Lock_Init(&l);
    for (int i = 0; i < 300; i++)
        ObtainReadLock(&l);
    Lock_Init(&l);
    assert_free(&l);
    for (int i = 0; i < 256; i++)
        ObtainReadLock(&l);
    cr_assert_eq(CheckLock(&l), 256, "no count left over from before");
}

/* ---- Obtains inside a special context's save routine ---- */

static struct Lock busy;
static int save_calls;

static void save_obtains_a_free_lock(void *ctx, PROCESS old, PROCESS new_)
{
    struct Lock l;

    (void)ctx, (void)old, (void)new_;
    Lock_Init(&l);
    ObtainWriteLock(&l);
    ReleaseWriteLock(&l);
    save_calls++;
}

static void save_obtains_a_busy_lock(void *ctx, PROCESS old, PROCESS new_)
{
    (void)ctx, (void)old, (void)new_;
    ObtainReadLock(&busy);
}

static void idle(void *arg)
{
    (void)arg;
}

/* The main LWP uses a type whose save routine runs fn, then switches. */
static void switch_with_save(void (*fn)(void *, PROCESS, PROCESS))
{
    PROCESS me = LWP_ThisProcess();
    int t = lwp_ctxset(fn, NULL, 8, 0);

    cr_assert_geq(t, 2);
    cr_assert_eq(lwp_ctxinit(me, t), 0);
    cr_assert_eq(LWP_CreateProcess(idle, 0, TOP, NULL, "idle", NULL),
                 LWP_SUCCESS);
}

Test(lock_waiters, obtain_that_need_not_wait_works_in_a_save_routine,
     .init = lwpt_setup, .fini = lwpt_teardown, .timeout = 10)
{
    save_calls = 0;
    switch_with_save(save_obtains_a_free_lock);
    cr_assert_eq(save_calls, 1);
}

static void busy_obtain_in_save(void)
{
    LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, NULL);
    Lock_Init(&busy);
    ObtainWriteLock(&busy);
    switch_with_save(save_obtains_a_busy_lock);
    fprintf(stderr, "returned\n");
}

Test(lock_waiters, obtain_that_must_wait_in_a_save_routine_says_so,
     .timeout = 10)
{
    char buf[2048];
    int st = lwpt_in_child(busy_obtain_in_save, buf, sizeof(buf));

    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status %#x: %s",
              st, buf);
    cr_assert_not_null(strstr(buf, "ObtainReadLock"), "%s", buf);
    cr_assert_not_null(strstr(buf, "save or restore routine"), "%s", buf);
    cr_assert_null(strstr(buf, "LWP_Init"), "a false reason: %s", buf);
    cr_assert_null(strstr(buf, "returned"), "%s", buf);
}
