/* SPDX-License-Identifier: MIT */
/* <lwp/afs_compat.h>: the OpenAFS names and entry-point types. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Frees of sets that are not out: ignored with a line on lwp_logfile, and
 * no set is ever handed out twice. */
static char *bad_free_log;
static size_t bad_free_size;

static void bad_frees_begin(void)
{
    lwp_logfile = open_memstream(&bad_free_log, &bad_free_size);
    cr_assert_not_null(lwp_logfile);
}

static int bad_frees_end(void)
{
    int lines = 0;

    fclose(lwp_logfile);
    lwp_logfile = stderr;
    for (const char *p = bad_free_log; (p = strstr(p, "IOMGR_FreeFDSet"));
         p++)
        lines++;
    free(bad_free_log);
    bad_free_log = NULL;
    return lines;
}

/* Three sets out at once must be three different sets. */
static void assert_three_distinct(void)
{
    fd_set *s[3];

    for (int i = 0; i < 3; i++)
        cr_assert_not_null(s[i] = IOMGR_AllocFDSet());
    cr_assert(s[0] != s[1] && s[1] != s[2] && s[0] != s[2],
              "one set handed out twice: %p %p %p", (void *)s[0],
              (void *)s[1], (void *)s[2]);
    for (int i = 0; i < 3; i++)
        IOMGR_FreeFDSet(s[i]);
}

Test(afs_compat, fd_set_double_free_is_ignored)
{
    fd_set *a = IOMGR_AllocFDSet();

    bad_frees_begin();
    IOMGR_FreeFDSet(a);
    IOMGR_FreeFDSet(a);
    cr_assert_eq(bad_frees_end(), 1, "one warning, for the second free");
    assert_three_distinct();
}

Test(afs_compat, fd_set_foreign_pointers_are_ignored)
{
    fd_set local, *heap = malloc(sizeof(fd_set)), *a = IOMGR_AllocFDSet();

    bad_frees_begin();
    IOMGR_FreeFDSet(&local);
    IOMGR_FreeFDSet(heap);
    IOMGR_FreeFDSet((fd_set *)(void *)((char *)a + 8)); /* inside a set */
    cr_assert_eq(bad_frees_end(), 3);
    free(heap);
    IOMGR_FreeFDSet(a);
    assert_three_distinct();
}

Test(afs_compat, fd_set_null_free_is_ignored_quietly)
{
    bad_frees_begin();
    IOMGR_FreeFDSet(NULL);
    cr_assert_eq(bad_frees_end(), 0);
    assert_three_distinct();
}

Test(afs_compat, many_fd_sets_out_at_once_are_distinct)
{
    enum { N = 200 };
    fd_set *s[N];

    for (int i = 0; i < N; i++) {
        cr_assert_not_null(s[i] = IOMGR_AllocFDSet());
        FD_SET(i % FD_SETSIZE, s[i]);
    }
    for (int i = 0; i < N; i++)
        for (int k = 0; k < FD_SETSIZE; k++)
            cr_assert_eq(FD_ISSET(k, s[i]) != 0, k == i % FD_SETSIZE,
                         "set %d shares memory with another", i);
    for (int i = 0; i < N; i++)
        IOMGR_FreeFDSet(s[i]);
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
