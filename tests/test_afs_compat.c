/* SPDX-License-Identifier: MIT */
/* <lwp/afs_compat.h>: the OpenAFS names and entry-point types. */
#include <criterion/criterion.h>
#include <string.h>

#include <lwp/afs_compat.h>

static void teardown(void)
{
    if (LWP_ThisProcess())
        LWP_TerminateProcessSupport();
}

TestSuite(afs_compat, .fini = teardown, .timeout = 30);

Test(afs_compat, initialize_process_support_and_thread_id)
{
    PROCESS pid = NULL;
    int prio = -1;

    cr_assert_null(LWP_ThreadId());
    cr_assert_eq(LWP_InitializeProcessSupport(2, &pid), LWP_SUCCESS);
    cr_assert_not_null(pid);
    cr_assert_eq(LWP_ThreadId(), pid);
    cr_assert_eq(LWP_ActiveProcess, pid);
    cr_assert_eq(LWP_GetProcessPriority(pid, &prio), LWP_SUCCESS);
    cr_assert_eq(prio, 2);
    cr_assert_eq(LWP_InitializeProcessSupport(-1, NULL), LWP_SUCCESS,
                 "already initialised: first call's parameters stay");
}

Test(afs_compat, bad_priority_is_rejected)
{
    cr_assert_eq(LWP_InitializeProcessSupport(LWP_MAX_PRIORITY + 1, NULL),
                 LWP_EBADPRI);
}

static int afs_ran;
static PROCESS afs_self;

static void *afs_entry(void *arg)
{
    afs_ran = *(int *)arg;
    afs_self = LWP_ActiveProcess;
    return arg; /* ignored */
}

Test(afs_compat, entry_points_return_void_pointers)
{
    PROCESS pid = NULL;
    int value = 42;

    cr_assert_eq(LWP_InitializeProcessSupport(LWP_NORMAL_PRIORITY, NULL),
                 LWP_SUCCESS);
    cr_assert_eq(LWP_CreateProcess(afs_entry, 32768, LWP_MAX_PRIORITY,
                                   (void *)&value, "afs", &pid),
                 LWP_SUCCESS);
    cr_assert_eq(afs_ran, 42, "ran at once: it outranks the creator");
    cr_assert_eq(afs_self, pid);
    /* Gone, and harmless to destroy. */
    cr_assert_eq(LWP_DestroyProcess(pid), LWP_EBADPID);
}

Test(afs_compat, create_checks_stay)
{
    cr_assert_eq(LWP_InitializeProcessSupport(LWP_NORMAL_PRIORITY, NULL),
                 LWP_SUCCESS);
    cr_assert_eq(LWP_CreateProcessAFS(NULL, 32768, 1, NULL, "x", NULL),
                 LWP_EBADARG);
    cr_assert_eq(LWP_CreateProcess(afs_entry, -1, 1, NULL, "x", NULL),
                 LWP_EBADARG);
    cr_assert_eq(LWP_CreateProcess(afs_entry, 32768, 99, NULL, "x", NULL),
                 LWP_EBADPRI);
}

static int soft_ran;

static void *afs_soft(void *arg)
{
    soft_ran = *(int *)arg;
    return NULL;
}

Test(afs_compat, iomgr_initializes_lwp_and_soft_signals_take_afs_handlers)
{
    static int value = 7;
    struct timeval tv = {0, 10000};

    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
    cr_assert_not_null(LWP_ThreadId());
    cr_assert_eq(IOMGR_SoftSig(afs_soft, &value), 0);
    for (int i = 0; i < 100 && !soft_ran; i++)
        IOMGR_Select(0, NULL, NULL, NULL, &tv);
    cr_assert_eq(soft_ran, 7);
    cr_assert_eq(IOMGR_SoftSigAFS(NULL, NULL), -1);
    cr_assert_eq(IOMGR_Sleep(0), 0);
}

Test(afs_compat, fd_sets_are_zeroed_and_pooled)
{
    fd_set *a = IOMGR_AllocFDSet(), *b;
    static const fd_set zero;

    cr_assert_not_null(a);
    cr_assert_eq(memcmp(a, &zero, sizeof(zero)), 0);
    FD_SET(3, a);
    IOMGR_FreeFDSet(a);
    b = IOMGR_AllocFDSet();
    cr_assert_eq(b, a, "reused from the pool");
    cr_assert_eq(memcmp(b, &zero, sizeof(zero)), 0, "and zeroed again");
    IOMGR_FreeFDSet(b);
    IOMGR_FreeFDSet(NULL);
}

Test(afs_compat, iomgr_initialize_uses_openafs_normal_priority)
{
    int prio = -1;

    cr_assert_eq(LWP_NORMAL_PRIORITY, 2);
    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
    cr_assert_eq(LWP_GetProcessPriority(LWP_ThreadId(), &prio), LWP_SUCCESS);
    cr_assert_eq(prio, 2);
}

static int peer_turns;

static void *peer(void *arg)
{
    (void)arg;
    for (;;) {
        peer_turns++;
        LWP_DispatchProcess();
    }
    return NULL;
}

Test(afs_compat, iomgr_poll_yields_and_returns_zero)
{
    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
    cr_assert_eq(LWP_CreateProcess(peer, 32768, LWP_NORMAL_PRIORITY, NULL,
                                   "peer", NULL),
                 LWP_SUCCESS);
    peer_turns = 0;
    cr_assert_eq(IOMGR_Poll(), 0);
    cr_assert_eq(peer_turns, 2, "one turn per yield");
}

/* OpenAFS's headers mark printf-like functions with this; the file does
 * not compile if afs_compat.h does not provide it. */
void afs_style_log(const char *fmt, ...) AFS_ATTRIBUTE_FORMAT(__printf__, 1, 2);
