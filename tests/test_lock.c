/* SPDX-License-Identifier: MIT */
/*
 * Lock: read/write/shared locks between LWPs.
 *
 * Most tests drive "actors": LWPs at the highest priority that work through
 * a small script of lock calls and note each finished call in an order log.
 * Because an actor outranks the main LWP, it runs the moment it becomes
 * runnable and the main LWP resumes only when every actor is blocked, so the
 * log is fully determined by the lock's wake-up rules. The hand-off tests use
 * actors at the main LWP's priority instead, to check round-robin order.
 */

/* Coda code initialises locks with four zeros; -Wextra warns about it. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lwp/lock.h>

#include "lwp_test.h"

#define TOP LWP_MAX_PRIORITY     /* actors that run as soon as they can */
#define SAME LWP_NORMAL_PRIORITY /* the main LWP's priority */

/* ---- Order log ---- */



/* Give LWPs of the main LWP's priority enough turns to get wherever they
 * can get; each yield lets every runnable one take one step. */
static void settle(void)
{
    for (int i = 0; i < 32; i++)
        LWP_DispatchProcess();
}

/* ---- Actors ---- */

/*
 * One script character per step:
 *   r w s   ObtainReadLock / ObtainWriteLock / ObtainSharedLock
 *   R W S   ReleaseReadLock / ReleaseWriteLock / ReleaseSharedLock
 *   b u     BoostSharedLock / UnboostSharedLock
 *   1 2 4   Lock_Obtain(lock, READ_LOCK / WRITE_LOCK / SHARED_LOCK)
 *   d D     ObtainDualLock / ReleaseDualLock(lock, WRITE, lock2, WRITE)
 *   y       LWP_DispatchProcess (not logged)
 *   |       block until the main LWP calls go() (not logged)
 * Every other step is logged as "name:step" once it has returned.
 */
struct actor {
    struct Lock *lock;
    struct Lock *lock2;
    const char *name;
    const char *script;
    PROCESS pid;
    int done;
};

static void actor_step(struct actor *a, char op)
{
    switch (op) {
    case 'r': ObtainReadLock(a->lock); break;
    case 'w': ObtainWriteLock(a->lock); break;
    case 's': ObtainSharedLock(a->lock); break;
    case 'R': ReleaseReadLock(a->lock); break;
    case 'W': ReleaseWriteLock(a->lock); break;
    case 'S': ReleaseSharedLock(a->lock); break;
    case 'b': BoostSharedLock(a->lock); break;
    case 'u': UnboostSharedLock(a->lock); break;
    case '1': Lock_Obtain(a->lock, READ_LOCK); break;
    case '2': Lock_Obtain(a->lock, WRITE_LOCK); break;
    case '4': Lock_Obtain(a->lock, SHARED_LOCK); break;
    case 'd':
        ObtainDualLock(a->lock, WRITE_LOCK, a->lock2, WRITE_LOCK);
        break;
    case 'D':
        ReleaseDualLock(a->lock, WRITE_LOCK, a->lock2, WRITE_LOCK);
        break;
    case 'y': LWP_DispatchProcess(); return;
    case '|': LWP_WaitProcess(a); return;
    default: lwpt_note("%s:bad-step-%c", a->name, op); return;
    }
    lwpt_note("%s:%c", a->name, op);
}

static void actor_main(void *arg)
{
    struct actor *a = arg;

    for (const char *p = a->script; *p; p++)
        actor_step(a, *p);
    a->done = 1;
}

static void spawn(struct actor *a, int prio)
{
    cr_assert_eq(LWP_CreateProcess(actor_main, 0, prio, a, a->name, &a->pid),
                 LWP_SUCCESS);
}

/* Let the actor past its next '|'. The signal yields, so a TOP actor runs
 * (and everything it wakes at TOP) before this returns. */
static void go(struct actor *a)
{
    cr_assert_eq(LWP_SignalProcess(a), LWP_SUCCESS,
                 "%s was not waiting at a gate (log: %s)", a->name, lwpt_log);
}

/* ---- Capturing what the library prints ---- */

static char *logbuf;
static size_t logsize;

/* Send lwp_logfile to memory until log_end(); the text is in logbuf. */
static void log_begin(void)
{
    free(logbuf);
    logbuf = NULL;
    lwp_logfile = open_memstream(&logbuf, &logsize);
    cr_assert_not_null(lwp_logfile);
}

static void log_end(void)
{
    fclose(lwp_logfile);
    lwp_logfile = stderr;
}

/* Run fn(arg) in a child process with its stderr captured in out; return
 * the signal that ended the child, or 0 if it exited. Fatal misuse ends the
 * process, so its message can only be read from outside. */
static int run_child(void (*fn)(int), int arg, char *out, size_t outsz)
{
    int fds[2], status = 0;
    size_t len = 0;
    ssize_t n;
    pid_t pid;

    cr_assert_eq(pipe(fds), 0);
    fflush(NULL);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        fn(arg);
        _exit(0);
    }
    close(fds[1]);
    while (len + 1 < outsz &&
           ((n = read(fds[0], out + len, outsz - 1 - len)) > 0 ||
            (n < 0 && errno == EINTR)))
        if (n > 0)
            len += (size_t)n;
    out[len] = '\0';
    close(fds[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void hold(struct Lock *l, char mode)
{
    if (mode == 'r')
        ObtainReadLock(l);
    else if (mode == 'w')
        ObtainWriteLock(l);
    else if (mode == 's')
        ObtainSharedLock(l);
}

/* ---- Initialisation and state queries ---- */

Test(lock, static_initialiser_is_unlocked, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    struct Lock l = {0, 0, 0, 0};

    cr_assert_eq(CheckLock(&l), 0);
    cr_assert_eq(WriteLocked(&l), 0);
    ObtainReadLock(&l);
    cr_assert_eq(CheckLock(&l), 1);
    ReleaseReadLock(&l);
    ObtainWriteLock(&l);
    cr_assert_eq(CheckLock(&l), -1);
    cr_assert(WriteLocked(&l));
    ReleaseWriteLock(&l);
    ObtainSharedLock(&l);
    cr_assert_eq(CheckLock(&l), -1);
    ReleaseSharedLock(&l);
    cr_assert_eq(CheckLock(&l), 0);
    cr_assert_eq(WriteLocked(&l), 0);
}

Test(lock, lock_init_clears_every_field, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    struct Lock l;

    memset(&l, 0xa5, sizeof(l));
    Lock_Init(&l);
    cr_assert_eq(l.wait_states, 0);
    cr_assert_eq(l.excl_locked, 0);
    cr_assert_eq(l.readers_reading, 0);
    cr_assert_eq(l.num_waiting, 0);
    cr_assert_null(l.excl_locker);
    cr_assert_eq(CheckLock(&l), 0);

    /* A held lock is simply forgotten. */
    ObtainWriteLock(&l);
    Lock_Init(&l);
    cr_assert_eq(CheckLock(&l), 0);
    cr_assert_null(l.excl_locker);
    ObtainWriteLock(&l);
    ReleaseWriteLock(&l);
}

Test(lock, check_lock_and_write_locked_report_the_mode, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    struct Lock l;

    Lock_Init(&l);
    for (int i = 1; i <= 3; i++) {
        ObtainReadLock(&l);
        cr_assert_eq(CheckLock(&l), i, "CheckLock counts readers");
        cr_assert_eq(WriteLocked(&l), 0);
    }
    for (int i = 2; i >= 0; i--) {
        ReleaseReadLock(&l);
        cr_assert_eq(CheckLock(&l), i);
    }

    ObtainWriteLock(&l);
    cr_assert_eq(CheckLock(&l), -1);
    cr_assert_neq(WriteLocked(&l), 0);
    cr_assert_eq(l.excl_locker, LWP_ThisProcess());
    ReleaseWriteLock(&l);
    cr_assert_null(l.excl_locker, "the holder's name is dropped");

    /* Coda quirk: a shared lock counts as write-locked. */
    ObtainSharedLock(&l);
    cr_assert_eq(CheckLock(&l), -1);
    cr_assert_neq(WriteLocked(&l), 0);
    ObtainReadLock(&l);
    cr_assert_eq(CheckLock(&l), -1, "shared wins over the reader count");
    ReleaseReadLock(&l);
    BoostSharedLock(&l);
    cr_assert_eq(CheckLock(&l), -1);
    cr_assert_neq(WriteLocked(&l), 0);
    ReleaseSharedLock(&l);

    cr_assert_eq(CheckLock(&l), 0);
    cr_assert_eq(WriteLocked(&l), 0);
    cr_assert_eq(CheckLock(NULL), 0);
    cr_assert_eq(WriteLocked(NULL), 0);
}

/* ---- Readers and writers ---- */

Test(lock, many_readers_hold_the_lock_at_once, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 10)
{
    static const char *names[] = {"A", "B", "C", "D", "E"};
    struct actor a[5];
    struct Lock l;

    Lock_Init(&l);
    for (int i = 0; i < 5; i++) {
        a[i] = (struct actor){.lock = &l, .name = names[i], .script = "r|R"};
        spawn(&a[i], TOP);
    }
    cr_assert_str_eq(lwpt_log, "A:r B:r C:r D:r E:r", "nobody waited");
    cr_assert_eq(CheckLock(&l), 5);
    ObtainReadLock(&l);
    cr_assert_eq(CheckLock(&l), 6, "and the main LWP joins them");
    ReleaseReadLock(&l);
    for (int i = 4; i >= 0; i--)
        go(&a[i]);
    cr_assert_str_eq(lwpt_log, "A:r B:r C:r D:r E:r E:R D:R C:R B:R A:R");
    cr_assert_eq(CheckLock(&l), 0);
    cr_assert_eq(l.wait_states, 0);
}

Test(lock, writer_waits_for_readers_to_leave, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock l;
    struct actor a = {.lock = &l, .name = "A", .script = "r|R"};
    struct actor b = {.lock = &l, .name = "B", .script = "r|R"};
    struct actor w = {.lock = &l, .name = "W", .script = "w|W"};

    Lock_Init(&l);
    spawn(&a, TOP);
    spawn(&b, TOP);
    spawn(&w, TOP);
    cr_assert_str_eq(lwpt_log, "A:r B:r", "the writer waits");
    cr_assert_eq(l.num_waiting, 1);
    go(&a);
    cr_assert_str_eq(lwpt_log, "A:r B:r A:R", "one reader is still in");
    cr_assert_eq(CheckLock(&l), 1);
    go(&b);
    cr_assert_str_eq(lwpt_log, "A:r B:r A:R B:R W:w");
    cr_assert_eq(CheckLock(&l), -1);
    cr_assert_eq(l.excl_locker, w.pid);
    cr_assert_eq(l.num_waiting, 0);
    go(&w);
    cr_assert_str_eq(lwpt_log, "A:r B:r A:R B:R W:w W:W");
    cr_assert_eq(CheckLock(&l), 0);
}

Test(lock, readers_wait_for_a_writer, .init = lwpt_setup, .fini = lwpt_teardown,
     .timeout = 10)
{
    struct Lock l;
    struct actor w = {.lock = &l, .name = "W", .script = "w|W"};
    struct actor a = {.lock = &l, .name = "A", .script = "r|R"};
    struct actor b = {.lock = &l, .name = "B", .script = "r|R"};

    Lock_Init(&l);
    spawn(&w, TOP);
    spawn(&a, TOP);
    spawn(&b, TOP);
    cr_assert_str_eq(lwpt_log, "W:w");
    cr_assert_eq(l.num_waiting, 2);
    cr_assert_eq(l.wait_states, READ_LOCK);
    go(&w);
    cr_assert_str_eq(lwpt_log, "W:w W:W A:r B:r",
                     "both readers get in, in the order they came");
    cr_assert_eq(CheckLock(&l), 2);
    go(&a);
    go(&b);
    cr_assert_eq(CheckLock(&l), 0);
    cr_assert_eq(l.num_waiting, 0);
}

Test(lock, write_holder_reobtains_at_once_and_one_release_frees,
     .init = lwpt_setup, .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock l;
    struct actor w = {.lock = &l, .name = "W", .script = "w|W"};
    int sws;

    Lock_Init(&l);
    ObtainWriteLock(&l);
    spawn(&w, TOP);
    cr_assert_str_eq(lwpt_log, "");
    sws = Cont_Sws;
    ObtainWriteLock(&l);
    ObtainWriteLock(&l);
    cr_assert_eq(Cont_Sws, sws, "re-obtaining did not yield");
    cr_assert_eq(CheckLock(&l), -1);
    cr_assert_eq(l.excl_locker, LWP_ThisProcess());

    ReleaseWriteLock(&l);
    cr_assert_eq(CheckLock(&l), 0, "one release frees the lock");
    cr_assert_eq(Cont_Sws, sws, "releasing did not yield");
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "W:w");
    go(&w);
    cr_assert_str_eq(lwpt_log, "W:w W:W");
}

Test(lock, write_holder_may_take_read_locks, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock l;
    struct actor w = {.lock = &l, .name = "W", .script = "w|W"};
    struct actor r = {.lock = &l, .name = "R", .script = "r|R"};
    int sws;

    Lock_Init(&l);
    ObtainWriteLock(&l);
    sws = Cont_Sws;
    ObtainReadLock(&l);
    ObtainReadLock(&l);
    cr_assert_eq(Cont_Sws, sws, "the holder does not wait for itself");
    cr_assert_eq(l.readers_reading, 2);
    cr_assert_eq(CheckLock(&l), -1);

    /* With others waiting, dropping the reads must leave the write lock
     * the holder's, and its release must hand the lock on. */
    spawn(&w, TOP);
    spawn(&r, TOP);
    cr_assert_str_eq(lwpt_log, "");
    ReleaseReadLock(&l);
    ReleaseReadLock(&l);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "", "still write-locked");
    cr_assert_eq(l.excl_locker, LWP_ThisProcess());
    ReleaseWriteLock(&l);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "R:r");
    go(&r);
    cr_assert_str_eq(lwpt_log, "R:r R:R W:w");
    go(&w);

    /* Dropping the write lock first leaves the caller a plain reader. */
    ObtainWriteLock(&l);
    ObtainReadLock(&l);
    ReleaseWriteLock(&l);
    cr_assert_eq(CheckLock(&l), 1);
    cr_assert_eq(WriteLocked(&l), 0);
    ReleaseReadLock(&l);
    cr_assert_eq(CheckLock(&l), 0);
}

/* ---- Shared locks, boost and unboost ---- */

Test(lock, shared_lock_admits_readers_but_not_writers_or_shared,
     .init = lwpt_setup, .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock l;
    struct actor a = {.lock = &l, .name = "A", .script = "r|R"};
    struct actor w = {.lock = &l, .name = "W", .script = "w|W"};
    struct actor s = {.lock = &l, .name = "S", .script = "s|S"};

    Lock_Init(&l);
    ObtainSharedLock(&l);
    spawn(&a, TOP);
    cr_assert_str_eq(lwpt_log, "A:r", "a reader gets in beside the shared one");
    spawn(&w, TOP);
    spawn(&s, TOP);
    cr_assert_str_eq(lwpt_log, "A:r", "writer and second shared locker wait");
    cr_assert_eq(l.wait_states, WRITE_LOCK | SHARED_LOCK);
    go(&a);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "A:r A:R", "the shared lock still excludes");
    ReleaseSharedLock(&l);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "A:r A:R W:w", "first waiter first");
    go(&w);
    cr_assert_str_eq(lwpt_log, "A:r A:R W:w W:W S:s");
    go(&s);
    cr_assert_str_eq(lwpt_log, "A:r A:R W:w W:W S:s S:S");
    cr_assert_eq(CheckLock(&l), 0);
    cr_assert_eq(l.num_waiting, 0);
}

Test(lock, shared_lockers_queue_behind_waiters, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock l;
    struct actor w = {.lock = &l, .name = "W", .script = "w|W"};
    struct actor s = {.lock = &l, .name = "S", .script = "s|S"};

    Lock_Init(&l);
    ObtainReadLock(&l);
    spawn(&w, TOP);
    spawn(&s, TOP);
    cr_assert_str_eq(lwpt_log, "",
                     "only a reader holds it, but a writer is waiting");
    cr_assert_eq(l.excl_locked, 0);
    ReleaseReadLock(&l);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "W:w");
    go(&w);
    go(&s);
    cr_assert_str_eq(lwpt_log, "W:w W:W S:s S:S");
}

Test(lock, boost_waits_for_readers_and_unboost_lets_readers_in,
     .init = lwpt_setup, .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock l;
    struct actor s = {.lock = &l, .name = "S", .script = "s|b|u|S"};
    struct actor a = {.lock = &l, .name = "A", .script = "r|R"};
    struct actor b = {.lock = &l, .name = "B", .script = "r|R"};
    struct actor c = {.lock = &l, .name = "C", .script = "r|R"};
    struct actor w = {.lock = &l, .name = "W", .script = "w|W"};

    Lock_Init(&l);
    spawn(&s, TOP);
    spawn(&a, TOP);
    spawn(&b, TOP);
    cr_assert_str_eq(lwpt_log, "S:s A:r B:r");
    go(&s);
    cr_assert_str_eq(lwpt_log, "S:s A:r B:r", "boost waits for the readers");
    spawn(&c, TOP);
    cr_assert_str_eq(lwpt_log, "S:s A:r B:r", "a new reader queues behind it");
    go(&a);
    cr_assert_str_eq(lwpt_log, "S:s A:r B:r A:R");
    go(&b);
    cr_assert_str_eq(lwpt_log, "S:s A:r B:r A:R B:R S:b");
    cr_assert_eq(l.excl_locked, WRITE_LOCK);
    cr_assert_eq(l.excl_locker, s.pid);
    cr_assert_eq(CheckLock(&l), -1);

    spawn(&w, TOP);
    go(&s);
    cr_assert_str_eq(lwpt_log, "S:s A:r B:r A:R B:R S:b S:u C:r",
                     "unboost lets the waiting reader in, not the writer");
    cr_assert_eq(l.excl_locked, SHARED_LOCK);
    cr_assert_null(l.excl_locker);
    go(&c);
    cr_assert_str_eq(lwpt_log, "S:s A:r B:r A:R B:R S:b S:u C:r C:R");
    go(&s);
    go(&w);
    cr_assert_str_eq(lwpt_log,
                     "S:s A:r B:r A:R B:R S:b S:u C:r C:R S:S W:w W:W");
    cr_assert_eq(CheckLock(&l), 0);
    cr_assert_eq(l.wait_states, 0);
}

Test(lock, boost_without_readers_is_immediate, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    struct Lock l;
    int sws;

    Lock_Init(&l);
    ObtainSharedLock(&l);
    sws = Cont_Sws;
    BoostSharedLock(&l);
    cr_assert_eq(Cont_Sws, sws);
    cr_assert_eq(l.excl_locked, WRITE_LOCK);
    cr_assert_eq(l.excl_locker, LWP_ThisProcess());
    UnboostSharedLock(&l);
    cr_assert_eq(l.excl_locked, SHARED_LOCK);
    cr_assert_null(l.excl_locker);
    BoostSharedLock(&l);
    ReleaseSharedLock(&l);
    cr_assert_eq(CheckLock(&l), 0, "ReleaseSharedLock frees a boosted lock");
    cr_assert_null(l.excl_locker);
    cr_assert_eq(Cont_Sws, sws);
}

/* ---- Whom a release wakes ---- */

Test(lock, write_release_prefers_waiting_readers, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock l;
    struct actor w = {.lock = &l, .name = "W", .script = "w|W"};
    struct actor w2 = {.lock = &l, .name = "W2", .script = "w|W"};
    struct actor r = {.lock = &l, .name = "R", .script = "r|R"};

    Lock_Init(&l);
    spawn(&w, TOP);
    spawn(&w2, TOP);
    spawn(&r, TOP);
    cr_assert_eq(l.wait_states, READ_LOCK | WRITE_LOCK);
    go(&w);
    cr_assert_str_eq(lwpt_log, "W:w W:W R:r",
                     "the reader goes first although W2 waited longer");
    go(&r);
    go(&w2);
    cr_assert_str_eq(lwpt_log, "W:w W:W R:r R:R W2:w W2:W");
}

Test(lock, read_release_that_frees_the_lock_prefers_writers, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock l;
    struct actor a = {.lock = &l, .name = "A", .script = "r|R"};
    struct actor w = {.lock = &l, .name = "W", .script = "w|W"};
    struct actor r = {.lock = &l, .name = "R", .script = "r|R"};

    Lock_Init(&l);
    spawn(&a, TOP);
    spawn(&w, TOP);
    spawn(&r, TOP);
    cr_assert_str_eq(lwpt_log, "A:r",
                     "R queues behind the waiting writer (no barging)");
    cr_assert_eq(CheckLock(&l), 1);
    go(&a);
    cr_assert_str_eq(lwpt_log, "A:r A:R W:w");
    go(&w);
    go(&r);
    cr_assert_str_eq(lwpt_log, "A:r A:R W:w W:W R:r R:R");
}

Test(lock, writers_barge_past_waiters, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock l;
    struct actor w = {.lock = &l, .name = "W", .script = "w|W"};
    struct actor r = {.lock = &l, .name = "R", .script = "r|R"};
    int sws;

    Lock_Init(&l);
    ObtainReadLock(&l);
    spawn(&w, TOP);
    spawn(&r, TOP);
    cr_assert_eq(l.wait_states, READ_LOCK | WRITE_LOCK);

    /* W is woken but has not run; R still waits. The lock is free. */
    ReleaseReadLock(&l);
    cr_assert_eq(l.wait_states, READ_LOCK);
    cr_assert_eq(CheckLock(&l), 0);
    sws = Cont_Sws;
    ObtainWriteLock(&l);
    cr_assert_eq(Cont_Sws, sws, "the fast path ignored the waiters");
    cr_assert_eq(l.excl_locker, LWP_ThisProcess());
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "", "W found the lock taken and waits again");

    ReleaseWriteLock(&l);
    LWP_DispatchProcess();
    go(&r);
    go(&w);
    cr_assert_str_eq(lwpt_log, "R:r R:R W:w W:W");
}

Test(lock, lock_release_r_and_w_called_directly, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock l;
    struct actor w = {.lock = &l, .name = "W", .script = "w|W"};
    struct actor r = {.lock = &l, .name = "R", .script = "r|R"};
    int sws;

    Lock_Init(&l);
    ObtainReadLock(&l);
    spawn(&w, TOP);
    spawn(&r, TOP);
    cr_assert_eq(l.wait_states, READ_LOCK | WRITE_LOCK);

    sws = Cont_Sws;
    Lock_ReleaseW(&l);
    cr_assert_eq(l.wait_states, READ_LOCK, "only the writer was woken");
    cr_assert_eq(Cont_Sws, sws);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "", "a reader still holds it");
    cr_assert_eq(l.wait_states, READ_LOCK | WRITE_LOCK, "W waits again");

    sws = Cont_Sws;
    Lock_ReleaseR(&l);
    cr_assert_eq(l.wait_states, WRITE_LOCK, "only the reader was woken");
    cr_assert_eq(Cont_Sws, sws);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "R:r");
    cr_assert_eq(CheckLock(&l), 2);

    /* With no reader waiting, Lock_ReleaseR falls back to the writers. */
    Lock_ReleaseR(&l);
    cr_assert_eq(l.wait_states, 0);
    LWP_DispatchProcess();
    cr_assert_eq(l.wait_states, WRITE_LOCK);

    go(&r);
    ReleaseReadLock(&l);
    LWP_DispatchProcess();
    go(&w);
    cr_assert_str_eq(lwpt_log, "R:r R:R W:w W:W");
    cr_assert_eq(l.num_waiting, 0);
}

Test(lock, lock_obtain_slow_path_takes_each_type, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock l;
    struct actor a = {.lock = &l, .name = "A", .script = "1|R"};
    struct actor b = {.lock = &l, .name = "B", .script = "2|W"};
    struct actor c = {.lock = &l, .name = "C", .script = "4|S"};

    Lock_Init(&l);
    ObtainWriteLock(&l);
    spawn(&a, TOP);
    cr_assert_eq(l.num_waiting, 1);
    ReleaseWriteLock(&l);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "A:1");
    cr_assert_eq(CheckLock(&l), 1);
    go(&a);

    ObtainReadLock(&l);
    spawn(&b, TOP);
    ReleaseReadLock(&l);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "A:1 A:R B:2");
    cr_assert_eq(l.excl_locker, b.pid);
    go(&b);

    ObtainWriteLock(&l);
    spawn(&c, TOP);
    ReleaseWriteLock(&l);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "A:1 A:R B:2 B:W C:4");
    cr_assert_eq(l.excl_locked, SHARED_LOCK);
    go(&c);
    cr_assert_eq(CheckLock(&l), 0);
    cr_assert_eq(l.num_waiting, 0);
}

/* ---- Hand-off at equal priority ---- */

Test(lock, equal_priority_writers_hand_off_in_arrival_order, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock l;
    struct actor a = {.lock = &l, .name = "A", .script = "wyW"};
    struct actor b = {.lock = &l, .name = "B", .script = "wyW"};
    struct actor c = {.lock = &l, .name = "C", .script = "wyW"};

    Lock_Init(&l);
    ObtainWriteLock(&l);
    spawn(&a, SAME);
    spawn(&b, SAME);
    spawn(&c, SAME);
    cr_assert_eq(l.num_waiting, 3);
    ReleaseWriteLock(&l);
    settle();
    cr_assert_str_eq(lwpt_log, "A:w A:W B:w B:W C:w C:W",
                     "each holder kept it across a yield; the others "
                     "queued in arrival order");
    cr_assert(a.done && b.done && c.done);
    cr_assert_eq(CheckLock(&l), 0);
    cr_assert_eq(l.num_waiting, 0);
}

Test(lock, equal_priority_readers_then_writer_hand_off, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock l;
    struct actor r1 = {.lock = &l, .name = "R1", .script = "ryR"};
    struct actor w = {.lock = &l, .name = "W", .script = "wyW"};
    struct actor r2 = {.lock = &l, .name = "R2", .script = "ryR"};

    Lock_Init(&l);
    ObtainWriteLock(&l);
    spawn(&r1, SAME);
    spawn(&w, SAME);
    spawn(&r2, SAME);
    ReleaseWriteLock(&l);
    settle();
    cr_assert_str_eq(lwpt_log, "R1:r R2:r R1:R R2:R W:w W:W",
                     "both readers are let in together, then the writer");
    cr_assert(r1.done && w.done && r2.done);
}

/* ---- Dual locks ---- */

Test(lock, dual_lock_takes_the_lower_address_first, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock locks[2];
    struct Lock *lo = &locks[0], *hi = &locks[1];
    struct actor a = {.lock = hi, .lock2 = lo, .name = "A", .script = "d|D"};
    struct actor b = {.lock = lo, .lock2 = hi, .name = "B", .script = "d|D"};

    Lock_Init(lo);
    Lock_Init(hi);
    ObtainWriteLock(lo);
    spawn(&a, TOP);
    spawn(&b, TOP);
    cr_assert_str_eq(lwpt_log, "");
    cr_assert_eq(CheckLock(hi), 0,
                 "neither took the higher lock while waiting for the lower");
    cr_assert_eq(lo->num_waiting, 2);
    ReleaseWriteLock(lo);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "A:d");
    cr_assert_eq(lo->excl_locker, a.pid);
    cr_assert_eq(hi->excl_locker, a.pid);
    go(&a);
    cr_assert_str_eq(lwpt_log, "A:d A:D B:d");
    go(&b);
    cr_assert_str_eq(lwpt_log, "A:d A:D B:d B:D");
    cr_assert_eq(CheckLock(lo), 0);
    cr_assert_eq(CheckLock(hi), 0);
}

/* Two LWPs that take the same two locks in opposite argument lwpt_log, a third
 * that holds one of them across yields so the others often have to wait
 * half-way. Taking them in argument order would deadlock. */
struct dual_worker {
    struct Lock *first, *second;
    unsigned seed;
    int *done;
};

static int dual_inside;
static int dual_violations;

static unsigned next_rand(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) & 0x7fff;
}

static void yield_some(unsigned *seed)
{
    for (unsigned n = next_rand(seed) % 3; n; n--)
        LWP_DispatchProcess();
}

static void dual_main(void *arg)
{
    struct dual_worker *d = arg;

    for (int i = 0; i < 300; i++) {
        if (d->second) {
            ObtainDualLock(d->first, WRITE_LOCK, d->second, WRITE_LOCK);
            if (dual_inside++)
                dual_violations++;
            yield_some(&d->seed);
            dual_inside--;
            ReleaseDualLock(d->first, WRITE_LOCK, d->second, WRITE_LOCK);
        } else {
            ObtainWriteLock(d->first);
            yield_some(&d->seed);
            ReleaseWriteLock(d->first);
        }
        yield_some(&d->seed);
    }
    (*d->done)++;
}

Test(lock, dual_lock_in_opposite_orders_does_not_deadlock, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 30)
{
    struct Lock locks[2];
    int done = 0;
    struct dual_worker w[3] = {
        {&locks[0], &locks[1], 1, &done},
        {&locks[1], &locks[0], 2, &done},
        {&locks[1], NULL, 3, &done},
    };

    Lock_Init(&locks[0]);
    Lock_Init(&locks[1]);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(LWP_CreateProcess(dual_main, 0, SAME, &w[i], "dual",
                                       NULL),
                     LWP_SUCCESS);
    for (long guard = 0; done < 3 && guard < 1000000; guard++)
        LWP_DispatchProcess();
    cr_assert_eq(done, 3);
    cr_assert_eq(dual_violations, 0);
    cr_assert_eq(CheckLock(&locks[0]), 0);
    cr_assert_eq(CheckLock(&locks[1]), 0);
}

Test(lock, release_dual_lock_releases_in_argument_order, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 10)
{
    struct Lock locks[2];
    struct Lock *lo = &locks[0], *hi = &locks[1];
    struct actor p = {.lock = hi, .name = "P", .script = "w|W"};
    struct actor q = {.lock = lo, .name = "Q", .script = "w|W"};
    struct actor p2 = {.lock = hi, .name = "P2", .script = "w|W"};
    struct actor q2 = {.lock = lo, .name = "Q2", .script = "w|W"};

    Lock_Init(lo);
    Lock_Init(hi);
    ObtainDualLock(hi, WRITE_LOCK, lo, WRITE_LOCK);
    spawn(&p, TOP);
    spawn(&q, TOP);
    ReleaseDualLock(hi, WRITE_LOCK, lo, WRITE_LOCK);
    cr_assert_eq(CheckLock(lo), 0);
    cr_assert_eq(CheckLock(hi), 0);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "P:w Q:w", "hi was released (and woken) first");
    go(&p);
    go(&q);

    lwpt_reset();
    ObtainDualLock(hi, WRITE_LOCK, lo, WRITE_LOCK);
    spawn(&p2, TOP);
    spawn(&q2, TOP);
    ReleaseDualLock(lo, WRITE_LOCK, hi, WRITE_LOCK);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "Q2:w P2:w", "lo was released first");
    go(&p2);
    go(&q2);
}

Test(lock, dual_lock_leaves_a_lock_with_an_unknown_how_alone,
     .init = lwpt_setup, .fini = lwpt_teardown)
{
    struct Lock a, b;

    Lock_Init(&a);
    Lock_Init(&b);
    log_begin();
    ObtainDualLock(&a, WRITE_LOCK, &b, (enum lock_how)0);
    cr_assert_eq(CheckLock(&a), -1);
    cr_assert_eq(CheckLock(&b), 0);
    ReleaseDualLock(&a, WRITE_LOCK, &b, (enum lock_how)0);
    cr_assert_eq(CheckLock(&a), 0);

    ObtainDualLock(&a, (enum lock_how)3, &b, READ_LOCK);
    cr_assert_eq(CheckLock(&a), 0);
    cr_assert_eq(CheckLock(&b), 1);
    ObtainReadLock(&a);
    ReleaseDualLock(&a, (enum lock_how)7, &b, READ_LOCK);
    cr_assert_eq(CheckLock(&a), 1, "how 7 did not release a");
    cr_assert_eq(CheckLock(&b), 0);
    ReleaseReadLock(&a);

    ObtainDualLock(&a, SHARED_LOCK, &b, SHARED_LOCK);
    cr_assert_eq(a.excl_locked, SHARED_LOCK);
    cr_assert_eq(b.excl_locked, SHARED_LOCK);
    ReleaseDualLock(&a, SHARED_LOCK, &b, SHARED_LOCK);
    cr_assert_eq(CheckLock(&a), 0);
    cr_assert_eq(CheckLock(&b), 0);

    /* The same lock twice is just two obtains of it. */
    ObtainDualLock(&a, READ_LOCK, &a, READ_LOCK);
    cr_assert_eq(CheckLock(&a), 2);
    ReleaseDualLock(&a, READ_LOCK, &a, READ_LOCK);
    cr_assert_eq(CheckLock(&a), 0);
    log_end();
    cr_assert_str_eq(logbuf, "", "nothing was misused");
}

/* ---- Documented misuse ---- */

Test(lock, null_lock_is_ignored_everywhere, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    struct Lock b;
    int sws = Cont_Sws;

    Lock_Init(&b);
    log_begin();
    Lock_Init(NULL);
    ObtainReadLock(NULL);
    ObtainWriteLock(NULL);
    ObtainSharedLock(NULL);
    ReleaseReadLock(NULL);
    ReleaseWriteLock(NULL);
    ReleaseSharedLock(NULL);
    BoostSharedLock(NULL);
    UnboostSharedLock(NULL);
    Lock_Obtain(NULL, READ_LOCK);
    Lock_Obtain(NULL, 3); /* not even the bad type is looked at */
    Lock_ReleaseR(NULL);
    Lock_ReleaseW(NULL);
    ObtainDualLock(NULL, WRITE_LOCK, NULL, READ_LOCK);
    ReleaseDualLock(NULL, WRITE_LOCK, NULL, READ_LOCK);
    cr_assert_eq(CheckLock(NULL), 0);
    cr_assert_eq(WriteLocked(NULL), 0);
    ObtainDualLock(NULL, WRITE_LOCK, &b, READ_LOCK);
    cr_assert_eq(CheckLock(&b), 1, "the other lock is still taken");
    ReleaseDualLock(&b, READ_LOCK, NULL, WRITE_LOCK);
    cr_assert_eq(CheckLock(&b), 0);
    log_end();
    cr_assert_str_eq(logbuf, "");
    cr_assert_eq(Cont_Sws, sws, "nothing yielded");
}

struct misuse {
    char held;                       /* what the lock holds first: r w s */
    void (*call)(struct Lock *);     /* the release in the wrong mode */
    const char *name;
};

Test(lock, releasing_a_lock_not_held_in_that_mode_warns, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    static const struct misuse cases[] = {
        {0, ReleaseReadLock, "ReleaseReadLock"},
        {'w', ReleaseReadLock, "ReleaseReadLock"},
        {'s', ReleaseReadLock, "ReleaseReadLock"},
        {0, ReleaseWriteLock, "ReleaseWriteLock"},
        {'r', ReleaseWriteLock, "ReleaseWriteLock"},
        {'s', ReleaseWriteLock, "ReleaseWriteLock"},
        {0, ReleaseSharedLock, "ReleaseSharedLock"},
        {'r', ReleaseSharedLock, "ReleaseSharedLock"},
        {0, BoostSharedLock, "BoostSharedLock"},
        {'r', BoostSharedLock, "BoostSharedLock"},
        {'w', BoostSharedLock, "BoostSharedLock"},
        {0, UnboostSharedLock, "UnboostSharedLock"},
        {'r', UnboostSharedLock, "UnboostSharedLock"},
        {'s', UnboostSharedLock, "UnboostSharedLock"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct misuse *m = &cases[i];
        struct Lock l, before;
        int sws;

        /* Zero the padding too, so memcmp compares defined bytes only. */
        memset(&l, 0, sizeof(l));
        memset(&before, 0, sizeof(before));
        Lock_Init(&l);
        hold(&l, m->held);
        memcpy(&before, &l, sizeof(l));
        sws = Cont_Sws;
        log_begin();
        m->call(&l);
        log_end();
        cr_assert_eq(memcmp(&l, &before, sizeof(l)), 0,
                     "%s on a lock held '%c' changed it", m->name,
                     m->held ? m->held : '-');
        cr_assert_eq(Cont_Sws, sws);
        cr_assert_not_null(strstr(logbuf, m->name),
                           "warning for %s (held '%c') was \"%s\"", m->name,
                           m->held ? m->held : '-', logbuf);
        cr_assert_not_null(strstr(logbuf, "Main Process"), "%s", logbuf);
    }

    /* A re-obtained write lock is freed by one release; a second warns. */
    {
        struct Lock l;

        Lock_Init(&l);
        ObtainWriteLock(&l);
        ObtainWriteLock(&l);
        ReleaseWriteLock(&l);
        log_begin();
        ReleaseWriteLock(&l);
        log_end();
        cr_assert_not_null(strstr(logbuf, "ReleaseWriteLock"), "%s", logbuf);
        cr_assert_eq(CheckLock(&l), 0);
    }
}

/* The fatal cases: each runs in this test's process (for .signal) and, in
 * the message tests, in a child whose stderr is read back. */

static void obtain_bad_type(int how)
{
    struct Lock l;

    Lock_Init(&l);
    Lock_Obtain(&l, how);
}

Test(lock, lock_obtain_with_a_bad_type_aborts, .init = lwpt_setup,
     .fini = lwpt_teardown, .signal = SIGABRT)
{
    obtain_bad_type(3);
}

Test(lock, lock_obtain_bad_type_message, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    static const int bad[] = {0, 3, 5, 7, 8, -1, 255};
    char out[1024];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(run_child(obtain_bad_type, bad[i], out, sizeof(out)),
                     SIGABRT, "type %d", bad[i]);
        cr_assert_not_null(strstr(out, "Lock_Obtain"), "%s", out);
        cr_assert_not_null(strstr(out, "bad lock type"), "%s", out);
        cr_assert_not_null(strstr(out, "Main Process"), "%s", out);
    }
}

static struct Lock foreign;

/* Have another LWP take `foreign` (write, or shared and boosted) and exit
 * still holding it, then release it from the main LWP. */
static void release_foreign(int boosted)
{
    struct actor h = {.lock = &foreign, .name = "holder",
                      .script = boosted ? "sb" : "w"};

    Lock_Init(&foreign);
    spawn(&h, TOP);
    if (boosted)
        ReleaseSharedLock(&foreign);
    else
        ReleaseWriteLock(&foreign);
}

Test(lock, release_write_lock_by_another_lwp_aborts, .init = lwpt_setup,
     .fini = lwpt_teardown, .signal = SIGABRT)
{
    release_foreign(0);
}

Test(lock, release_boosted_lock_by_another_lwp_aborts, .init = lwpt_setup,
     .fini = lwpt_teardown, .signal = SIGABRT)
{
    release_foreign(1); /* even with nobody waiting */
}

Test(lock, release_by_another_lwp_message, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    char out[1024];

    cr_assert_eq(run_child(release_foreign, 0, out, sizeof(out)), SIGABRT);
    cr_assert_not_null(strstr(out, "ReleaseWriteLock"), "%s", out);
    cr_assert_not_null(strstr(out, "Main Process"), "%s", out);
    cr_assert_not_null(strstr(out, "another LWP"), "%s", out);
    cr_assert_eq(run_child(release_foreign, 1, out, sizeof(out)), SIGABRT);
    cr_assert_not_null(strstr(out, "ReleaseSharedLock"), "%s", out);
}

Test(lock, fast_paths_work_before_lwp_init)
{
    struct Lock l;

    Lock_Init(&l);
    ObtainReadLock(&l);
    ObtainReadLock(&l);
    cr_assert_eq(CheckLock(&l), 2);
    ReleaseReadLock(&l);
    ReleaseReadLock(&l);
    ObtainWriteLock(&l);
    cr_assert_eq(CheckLock(&l), -1);
    ReleaseWriteLock(&l);
    ObtainSharedLock(&l);
    BoostSharedLock(&l);
    UnboostSharedLock(&l);
    ReleaseSharedLock(&l);
    cr_assert_eq(CheckLock(&l), 0);
}

static void wait_before_init(int how)
{
    struct Lock l;

    Lock_Init(&l);
    ObtainReadLock(&l);
    hold(&l, (char)how);
}

Test(lock, obtain_that_must_wait_before_lwp_init_aborts, .signal = SIGABRT)
{
    wait_before_init('w');
}

Test(lock, obtain_that_must_wait_before_lwp_init_message)
{
    char out[1024];

    cr_assert_eq(run_child(wait_before_init, 'w', out, sizeof(out)), SIGABRT);
    cr_assert_not_null(strstr(out, "ObtainWriteLock"), "%s", out);
    cr_assert_not_null(strstr(out, "LWP_Init"), "%s", out);
    cr_assert_eq(run_child(wait_before_init, 's', out, sizeof(out)), 0,
                 "a shared lock does not wait for readers");
}

/* ---- Counts that fill the 8-bit fields (above: test_lock_waiters.c) */

Test(lock, two_hundred_fifty_five_readers_fit, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    struct Lock l;

    Lock_Init(&l);
    for (int i = 0; i < 255; i++)
        ObtainReadLock(&l);
    cr_assert_eq(CheckLock(&l), 255);
    for (int i = 0; i < 255; i++)
        ReleaseReadLock(&l);
    cr_assert_eq(CheckLock(&l), 0);
}

static struct Lock crowd;
static int crowd_in;

static void crowd_reader(void *arg)
{
    ObtainReadLock(&crowd);
    crowd_in++;
    LWP_WaitProcess(&crowd_in);
}

static void crowd_waiters(int n)
{
    Lock_Init(&crowd);
    crowd_in = 0;
    ObtainWriteLock(&crowd);
    for (int i = 0; i < n; i++)
        cr_assert_eq(LWP_CreateProcess(crowd_reader, 0, TOP, NULL, "crowd",
                                       NULL),
                     LWP_SUCCESS);
}

Test(lock, two_hundred_fifty_five_waiters_all_get_in, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 30)
{
    crowd_waiters(255);
    cr_assert_eq(crowd.num_waiting, 255);
    ReleaseWriteLock(&crowd);
    LWP_DispatchProcess();
    cr_assert_eq(crowd_in, 255);
    cr_assert_eq(CheckLock(&crowd), 255);
    cr_assert_eq(crowd.num_waiting, 0);
}

/* ---- Stress ---- */

enum { ITERS = 1000, READERS = 4, WRITERS = 2 };

static struct Lock st_lock;
static int st_readers, st_writers, st_shared, st_boosted;
static int st_violations, st_done;

struct st_worker {
    unsigned seed;
};

static void st_check(int ok)
{
    if (!ok)
        st_violations++;
}

static void st_reader(void *arg)
{
    struct st_worker *w = arg;

    for (int i = 0; i < ITERS; i++) {
        ObtainReadLock(&st_lock);
        st_readers++;
        st_check(!st_writers && !st_boosted);
        yield_some(&w->seed);
        st_check(!st_writers && !st_boosted);
        st_readers--;
        ReleaseReadLock(&st_lock);
        yield_some(&w->seed);
    }
    st_done++;
}

/* A writer that sometimes re-obtains its lock and reads under it. */
static void st_writer(void *arg)
{
    struct st_worker *w = arg;

    for (int i = 0; i < ITERS; i++) {
        ObtainWriteLock(&st_lock);
        st_writers++;
        st_check(st_writers == 1 && !st_readers && !st_shared);
        yield_some(&w->seed);
        if (i % 4 == 1)
            ObtainWriteLock(&st_lock);
        if (i % 3 == 0) {
            ObtainReadLock(&st_lock);
            yield_some(&w->seed);
            ReleaseReadLock(&st_lock);
        }
        st_check(st_writers == 1 && !st_readers && !st_shared);
        st_writers--;
        ReleaseWriteLock(&st_lock);
        yield_some(&w->seed);
    }
    st_done++;
}

/* A shared locker that boosts two times in three, then either unboosts
 * or releases the boosted lock directly. */
static void st_sharer(void *arg)
{
    struct st_worker *w = arg;

    for (int i = 0; i < ITERS; i++) {
        ObtainSharedLock(&st_lock);
        st_shared++;
        st_check(st_shared == 1 && !st_writers);
        yield_some(&w->seed);
        if (i % 3) {
            BoostSharedLock(&st_lock);
            st_boosted = 1;
            st_check(!st_readers && !st_writers);
            yield_some(&w->seed);
            st_check(!st_readers && !st_writers);
            st_boosted = 0;
            if (i % 3 == 1) {
                UnboostSharedLock(&st_lock);
                yield_some(&w->seed);
            }
        }
        st_check(st_shared == 1 && !st_writers);
        st_shared--;
        ReleaseSharedLock(&st_lock);
        yield_some(&w->seed);
    }
    st_done++;
}

Test(lock, stress_readers_writers_and_a_shared_locker, .init = lwpt_setup,
     .fini = lwpt_teardown, .timeout = 60)
{
    struct st_worker w[READERS + WRITERS + 1];
    int n = 0;
    long guard;

    Lock_Init(&st_lock);
    for (int i = 0; i < READERS + WRITERS + 1; i++)
        w[i].seed = 7u * (unsigned)i + 1u;
    for (int i = 0; i < READERS; i++, n++)
        cr_assert_eq(LWP_CreateProcess(st_reader, 0, SAME, &w[n], "reader",
                                       NULL),
                     LWP_SUCCESS);
    for (int i = 0; i < WRITERS; i++, n++)
        cr_assert_eq(LWP_CreateProcess(st_writer, 0, SAME, &w[n], "writer",
                                       NULL),
                     LWP_SUCCESS);
    cr_assert_eq(LWP_CreateProcess(st_sharer, 0, SAME, &w[n], "sharer",
                                   NULL),
                 LWP_SUCCESS);
    n++;
    for (guard = 0; st_done < n && guard < 10000000; guard++)
        LWP_DispatchProcess();
    cr_assert_eq(st_done, n, "only %d of %d workers finished", st_done, n);
    cr_assert_eq(st_violations, 0);
    cr_assert_eq(CheckLock(&st_lock), 0);
    cr_assert_eq(st_lock.wait_states, 0);
    cr_assert_eq(st_lock.num_waiting, 0);
    cr_assert_null(st_lock.excl_locker);
}
