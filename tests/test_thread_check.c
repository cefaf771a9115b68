/* SPDX-License-Identifier: MIT */
/*
 * Calls from another OS thread than the runtime's: every LWP, IOMGR,
 * Preempt and Lock call that would touch the runtime refuses
 * (LWP_ETHREAD, or as documented) and no LWP runs on that thread;
 * IOMGR_SoftSig still works from there.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include <lwp/lock.h>
#include <lwp/preempt.h>

#include "iomgr_test.h"

TestSuite(thread_check, .init = iot_setup, .fini = iot_teardown,
          .timeout = 30);

static pthread_t runtime_thread;
static char wake_worker, created_event;
static volatile int worker_runs, created_runs, wrong_thread_runs;

static void note_thread(void)
{
    if (!pthread_equal(pthread_self(), runtime_thread))
        wrong_thread_runs++;
}

/* Higher than main: if a foreign call woke it or created it and then
 * switched, it would run at once, on that thread. */
static void worker(void *arg)
{
    (void)arg;
    for (;;) {
        LWP_WaitProcess(&wake_worker);
        note_thread();
        worker_runs++;
    }
}

static void created(void *arg)
{
    (void)arg;
    note_thread();
    created_runs++;
}

/* Runs `fn` on a new OS thread and waits for it (the runtime's thread is
 * blocked in pthread_join meanwhile, as a program's would be). */
static void on_other_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;

    cr_assert_eq(pthread_create(&t, NULL, fn, arg), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
}

static PROCESS worker_pid;

static void start_worker(void)
{
    runtime_thread = pthread_self();
    cr_assert_eq(LWP_CreateProcess(worker, 65536, IOT_HIGH, NULL, "worker",
                                   &worker_pid),
                 LWP_SUCCESS);
    cr_assert_eq(worker_runs, 0, "waiting");
}

/* The return codes of the calls that must refuse with LWP_ETHREAD, named,
 * in the order the other thread made them. */
#define MAX_REFUSALS 16

struct refusals {
    int n;
    const char *call[MAX_REFUSALS];
    int rc[MAX_REFUSALS];
};

/* On the other thread: no Criterion asserts there. */
static void note_rc(struct refusals *r, const char *call, int rc)
{
    if (r->n < MAX_REFUSALS) {
        r->call[r->n] = call;
        r->rc[r->n] = rc;
    }
    r->n++;
}

/* Starts the worker, then runs `fn` on another thread with `*r` filled
 * with 0x55 (so that a result left unset is not 0 or NULL by chance) and
 * `*refused` empty. */
static void call_from_other_thread(void *(*fn)(void *), void *r, size_t size,
                                   struct refusals *refused)
{
    start_worker();
    memset(r, 0x55, size);
    refused->n = 0;
    on_other_thread(fn, r);
}

static void assert_all_refused(const struct refusals *r, int n)
{
    cr_assert_eq(r->n, n, "calls made");
    for (int i = 0; i < n; i++)
        cr_assert_eq(r->rc[i], LWP_ETHREAD, "%s", r->call[i]);
}

/* ---- LWP ---- */

struct lwp_calls {
    struct refusals refused;
    PROCESS this, cur, made;
};

static void *call_lwp(void *arg)
{
    struct lwp_calls *r = arg;
    struct refusals *no = &r->refused;
    PROCESS pid;

    note_rc(no, "LWP_Init", LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &pid));
    note_rc(no, "LWP_CreateProcess",
            LWP_CreateProcess(created, 65536, LWP_MAX_PRIORITY, NULL,
                              "created", &r->made));
    note_rc(no, "LWP_DispatchProcess", LWP_DispatchProcess());
    note_rc(no, "LWP_SignalProcess", LWP_SignalProcess(&wake_worker));
    note_rc(no, "LWP_NoYieldSignal", LWP_NoYieldSignal(&wake_worker));
    note_rc(no, "LWP_WaitProcess", LWP_WaitProcess(&created_event));
    note_rc(no, "LWP_DestroyProcess", LWP_DestroyProcess(worker_pid));
    note_rc(no, "LWP_CurrentProcess", LWP_CurrentProcess(&r->cur));
    r->this = LWP_ThisProcess();
    note_rc(no, "LWP_QWait", LWP_QWait());
    note_rc(no, "LWP_Index", LWP_Index());
    note_rc(no, "LWP_TerminateProcessSupport", LWP_TerminateProcessSupport());
    return NULL;
}

Test(thread_check, lwp_calls_refuse_and_nothing_runs_there)
{
    struct lwp_calls r;

    call_from_other_thread(call_lwp, &r, sizeof(r), &r.refused);
    assert_all_refused(&r.refused, 11);
    cr_assert_null(r.cur);
    cr_assert_null(r.this);
    cr_assert_eq(worker_runs + created_runs + wrong_thread_runs, 0);

    /* The runtime is intact on its own thread: the worker is still
     * there, still waiting, and wakes here. */
    cr_assert_eq(LWP_SignalProcess(&wake_worker), LWP_SUCCESS);
    cr_assert_eq(worker_runs, 1);
    cr_assert_eq(created_runs + wrong_thread_runs, 0);
}

/* ---- IOMGR and Preempt ---- */

struct io_calls {
    struct refusals refused;
    int poll, cancel;
};

static IOMGR_Standing *main_handle; /* opened on the runtime's thread */

static void *call_io(void *arg)
{
    struct io_calls *r = arg;
    struct refusals *no = &r->refused;
    struct timeval tv = {0, 1000};
    struct timeval slice = {0, 1000};

    note_rc(no, "IOMGR_Select", IOMGR_Select(0, NULL, NULL, NULL, &tv));
    note_rc(no, "IOMGR_WaitIO", IOMGR_WaitIO(0, IOMGR_READ, &tv));
    note_rc(no, "IOMGR_Sleep", IOMGR_Sleep(1));
    note_rc(no, "IOMGR_Initialize", IOMGR_Initialize());
    note_rc(no, "IOMGR_Signal", IOMGR_Signal(SIGUSR1, &wake_worker));
    note_rc(no, "IOMGR_CancelSignal", IOMGR_CancelSignal(SIGUSR1));
    note_rc(no, "IOMGR_Finalize", IOMGR_Finalize());
    IOMGR_Standing *s = NULL;
    note_rc(no, "IOMGR_StandingOpen", IOMGR_StandingOpen(0, IOMGR_READ, &s));
    note_rc(no, "IOMGR_StandingWait",
            IOMGR_StandingWait(main_handle, IOMGR_NO_DEADLINE));
    note_rc(no, "IOMGR_StandingClose", IOMGR_StandingClose(main_handle));
    r->poll = IOMGR_Poll();
    r->cancel = IOMGR_Cancel(worker_pid);
    note_rc(no, "PRE_InitPreempt", PRE_InitPreempt(&slice));
    note_rc(no, "PRE_EndPreempt", PRE_EndPreempt());
    note_rc(no, "PRE_SetSignal", PRE_SetSignal(SIGUSR2));
    return NULL;
}

Test(thread_check, iomgr_and_preempt_calls_refuse)
{
    struct io_calls r;
    struct sigaction sa;
    int fds[2];

    cr_assert_eq(pipe(fds), 0);
    cr_assert_eq(IOMGR_StandingOpen(fds[0], IOMGR_READ, &main_handle), 0);
    call_from_other_thread(call_io, &r, sizeof(r), &r.refused);
    assert_all_refused(&r.refused, 13);
    cr_assert_eq(r.poll, 0, "nothing polled");
    cr_assert_eq(r.cancel, -1);
    cr_assert_eq(sigaction(SIGALRM, NULL, &sa), 0);
    cr_assert_eq(sa.sa_handler, SIG_DFL, "no preemption timer started");
    cr_assert_eq(worker_runs + wrong_thread_runs, 0);

    /* IOMGR is still running here. */
    cr_assert_eq(IOMGR_Signal(SIGUSR1, &wake_worker), LWP_SUCCESS);
    raise(SIGUSR1);
    IOT_WAIT_FOR(worker_runs == 1);
    cr_assert_eq(wrong_thread_runs, 0);
    /* The handle the other thread could not close is intact here. */
    cr_assert_eq(write(fds[1], "x", 1), 1);
    cr_assert_eq(IOMGR_StandingWait(main_handle, IOMGR_NO_DEADLINE),
                 IOMGR_READ);
    cr_assert_eq(IOMGR_StandingClose(main_handle), 0);
    close(fds[0]);
    close(fds[1]);
}

/* ---- Lock ---- */

static struct Lock lock;

static void *call_lock(void *arg)
{
    (void)arg;
    ObtainReadLock(&lock);   /* would wait: the main LWP writes */
    ObtainWriteLock(&lock);
    ObtainSharedLock(&lock);
    ReleaseWriteLock(&lock); /* held by the main LWP, not by this thread */
    ReleaseReadLock(&lock);
    return NULL;
}

Test(thread_check, lock_calls_are_ignored_there)
{
    FILE *log = tmpfile();
    char line[256] = "";

    cr_assert_not_null(log);
    LWP_SetLog(log, 0);
    start_worker();
    Lock_Init(&lock);
    ObtainWriteLock(&lock);
    on_other_thread(call_lock, NULL);
    cr_assert_eq(lock.excl_locked, WRITE_LOCK, "still the main LWP's");
    cr_assert_eq(lock.excl_locker, LWP_ThisProcess());
    cr_assert_eq(lock.readers_reading, 0);
    cr_assert_eq(lock.num_waiting, 0);
    cr_assert_eq(lock.wait_states, 0);
    cr_assert_eq(wrong_thread_runs, 0);
    ReleaseWriteLock(&lock);
    cr_assert_eq(lock.excl_locked, 0);
    rewind(log);
    cr_assert_not_null(fgets(line, sizeof(line), log));
    cr_assert(strstr(line, "ObtainReadLock") && strstr(line, "thread"),
              "warned: %s", line);
    LWP_SetLog(stderr, 0);
    fclose(log);
}

/* ---- IOMGR_SoftSig: allowed from any thread ---- */

static volatile int soft_runs;

static void soft_handler(void *arg)
{
    (void)arg;
    note_thread();
    soft_runs++;
}

static void *call_softsig(void *arg)
{
    *(int *)arg = IOMGR_SoftSig(soft_handler, NULL);
    return NULL;
}

Test(thread_check, softsig_from_another_thread_runs_on_the_runtime_thread)
{
    int rc = -5;

    start_worker();
    on_other_thread(call_softsig, &rc);
    cr_assert_eq(rc, 0);
    IOT_WAIT_FOR(soft_runs == 1);
    cr_assert_eq(wrong_thread_runs, 0);
}

/* ---- One runtime per process, on whichever thread made it ---- */

static pthread_barrier_t made, checked;

/* Return codes, checked by the test's own thread (Criterion's asserts
 * belong there). */
static void *runtime_elsewhere(void *arg)
{
    int *rc = arg;
    PROCESS me;

    rc[0] = LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &me);
    pthread_barrier_wait(&made);
    pthread_barrier_wait(&checked);
    rc[1] = LWP_TerminateProcessSupport();
    return NULL;
}

Test(thread_check, a_runtime_on_another_thread_is_not_shared)
{
    pthread_t t;
    PROCESS me;
    int rc[2] = {-99, -99};

    iot_teardown(); /* this test makes its own runtimes */
    cr_assert_eq(pthread_barrier_init(&made, NULL, 2), 0);
    cr_assert_eq(pthread_barrier_init(&checked, NULL, 2), 0);
    cr_assert_eq(pthread_create(&t, NULL, runtime_elsewhere, rc), 0);
    pthread_barrier_wait(&made);
    cr_assert_eq(rc[0], LWP_SUCCESS, "made on the other thread");
    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &me),
                 LWP_ETHREAD);
    cr_assert_eq(IOMGR_Initialize(), LWP_ETHREAD);
    pthread_barrier_wait(&checked);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(rc[1], LWP_SUCCESS, "ended there");
    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &me),
                 LWP_SUCCESS, "free once that runtime has ended");
    cr_assert_eq(LWP_ThisProcess(), me);
}

/* ---- A fault on another thread still ends the program ---- */

static void *fault_here(void *arg)
{
    *(volatile int *)arg = 1;
    return NULL;
}

/* The overflow handler sees no runtime on that thread: it must still
 * pass the fault on, not return into it for ever (the alarm ends such a
 * spin). */
static void fault_on_other_thread(void)
{
    void *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    pthread_t t;

    alarm(5);
    if (page != MAP_FAILED && pthread_create(&t, NULL, fault_here, page) == 0)
        pthread_join(t, NULL);
    _exit(0);
}

Test(thread_check, a_fault_on_another_thread_is_not_swallowed)
{
    start_worker();
    iot_assert_fault_ends_child(fault_on_other_thread);
}
