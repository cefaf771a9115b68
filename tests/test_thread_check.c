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
#include <sys/wait.h>

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

/* ---- LWP ---- */

struct lwp_calls {
    int init, create, dispatch, signal, nosignal, wait, destroy, current;
    int qwait, terminate, index;
    PROCESS this, cur, made;
};

static void *call_lwp(void *arg)
{
    struct lwp_calls *r = arg;
    PROCESS pid;

    r->init = LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &pid);
    r->create = LWP_CreateProcess(created, 65536, LWP_MAX_PRIORITY, NULL,
                                  "created", &r->made);
    r->dispatch = LWP_DispatchProcess();
    r->signal = LWP_SignalProcess(&wake_worker);
    r->nosignal = LWP_NoYieldSignal(&wake_worker);
    r->wait = LWP_WaitProcess(&created_event);
    r->destroy = LWP_DestroyProcess(worker_pid);
    r->current = LWP_CurrentProcess(&r->cur);
    r->this = LWP_ThisProcess();
    r->qwait = LWP_QWait();
    r->index = LWP_Index();
    r->terminate = LWP_TerminateProcessSupport();
    return NULL;
}

Test(thread_check, lwp_calls_refuse_and_nothing_runs_there)
{
    struct lwp_calls r;

    start_worker();
    memset(&r, 0x55, sizeof(r));
    on_other_thread(call_lwp, &r);
    cr_assert_eq(r.init, LWP_ETHREAD);
    cr_assert_eq(r.create, LWP_ETHREAD);
    cr_assert_eq(r.dispatch, LWP_ETHREAD);
    cr_assert_eq(r.signal, LWP_ETHREAD);
    cr_assert_eq(r.nosignal, LWP_ETHREAD);
    cr_assert_eq(r.wait, LWP_ETHREAD);
    cr_assert_eq(r.destroy, LWP_ETHREAD);
    cr_assert_eq(r.current, LWP_ETHREAD);
    cr_assert_null(r.cur);
    cr_assert_null(r.this);
    cr_assert_eq(r.qwait, LWP_ETHREAD);
    cr_assert_eq(r.index, LWP_ETHREAD);
    cr_assert_eq(r.terminate, LWP_ETHREAD);
    cr_assert_eq(worker_runs + created_runs + wrong_thread_runs, 0);

    /* The runtime is intact on its own thread: the worker is still
     * there, still waiting, and wakes here. */
    cr_assert_eq(LWP_SignalProcess(&wake_worker), LWP_SUCCESS);
    cr_assert_eq(worker_runs, 1);
    cr_assert_eq(created_runs + wrong_thread_runs, 0);
}

/* ---- IOMGR and Preempt ---- */

struct io_calls {
    int select, waitio, sleep, init, signal, cancel_signal, finalize;
    int poll, cancel, pre_init, pre_end, pre_set;
};

static void *call_io(void *arg)
{
    struct io_calls *r = arg;
    struct timeval tv = {0, 1000};
    struct timeval slice = {0, 1000};

    r->select = IOMGR_Select(0, NULL, NULL, NULL, &tv);
    r->waitio = IOMGR_WaitIO(0, IOMGR_READ, &tv);
    r->sleep = IOMGR_Sleep(1);
    r->init = IOMGR_Initialize();
    r->signal = IOMGR_Signal(SIGUSR1, &wake_worker);
    r->cancel_signal = IOMGR_CancelSignal(SIGUSR1);
    r->finalize = IOMGR_Finalize();
    r->poll = IOMGR_Poll();
    r->cancel = IOMGR_Cancel(worker_pid);
    r->pre_init = PRE_InitPreempt(&slice);
    r->pre_end = PRE_EndPreempt();
    r->pre_set = PRE_SetSignal(SIGUSR2);
    return NULL;
}

Test(thread_check, iomgr_and_preempt_calls_refuse)
{
    struct io_calls r;
    struct sigaction sa;

    start_worker();
    memset(&r, 0x55, sizeof(r));
    on_other_thread(call_io, &r);
    cr_assert_eq(r.select, LWP_ETHREAD);
    cr_assert_eq(r.waitio, LWP_ETHREAD);
    cr_assert_eq(r.sleep, LWP_ETHREAD);
    cr_assert_eq(r.init, LWP_ETHREAD);
    cr_assert_eq(r.signal, LWP_ETHREAD);
    cr_assert_eq(r.cancel_signal, LWP_ETHREAD);
    cr_assert_eq(r.finalize, LWP_ETHREAD);
    cr_assert_eq(r.poll, 0, "nothing polled");
    cr_assert_eq(r.cancel, -1);
    cr_assert_eq(r.pre_init, LWP_ETHREAD);
    cr_assert_eq(r.pre_end, LWP_ETHREAD);
    cr_assert_eq(r.pre_set, LWP_ETHREAD);
    cr_assert_eq(sigaction(SIGALRM, NULL, &sa), 0);
    cr_assert_eq(sa.sa_handler, SIG_DFL, "no preemption timer started");
    cr_assert_eq(worker_runs + wrong_thread_runs, 0);

    /* IOMGR is still running here. */
    cr_assert_eq(IOMGR_Signal(SIGUSR1, &wake_worker), LWP_SUCCESS);
    raise(SIGUSR1);
    IOT_WAIT_FOR(worker_runs == 1);
    cr_assert_eq(wrong_thread_runs, 0);
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
    int status = 0;
    pid_t pid;

    start_worker();
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0)
        fault_on_other_thread();
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(!WIFSIGNALED(status) || WTERMSIG(status) != SIGALRM,
              "the fault was re-run until the alarm");
    /* Killed by the fault, or a sanitizer's report of it and exit(1). */
    if (WIFSIGNALED(status))
        cr_assert_eq(WTERMSIG(status), SIGSEGV);
    else
        cr_assert_neq(WEXITSTATUS(status), 0);
}
