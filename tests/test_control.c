/* SPDX-License-Identifier: MIT */
/*
 * Thread control (no I/O): LWP_CreateProcessAttr, groups,
 * LWP_SuspendProcess / LWP_ResumeProcess, LWP_ExitProcess / LWP_WaitExit
 * with zombies, LWP_RecycleProcess and the new error texts. Orders are
 * checked exactly with an order log. The main LWP runs at
 * LWP_NORMAL_PRIORITY; HI LWPs run as soon as they are runnable, LO ones
 * only when main blocks.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lwp/lwp.h>

#include "lwp_test.h"

#define HI LWP_MAX_PRIORITY
#define MID LWP_NORMAL_PRIORITY
#define LO 1
#define ARG(n) ((void *)(intptr_t)(n))

/* ---- Order log and fixtures ---- */




static void setup(void)
{
    lwpt_reset();
    cr_assert_eq(LWP_Init(LWP_VERSION, MID, NULL), LWP_SUCCESS);
}

static void teardown(void)
{
    if (LWP_ThisProcess())
        LWP_TerminateProcessSupport();
}

TestSuite(control, .init = setup, .fini = teardown, .timeout = 30);

/* ---- Helpers ---- */

static char ev_go, ev_never;

static PROCESS spawn(void (*ep)(void *), int prio, void *arg)
{
    PROCESS pid = NULL;

    cr_assert_eq(LWP_CreateProcess(ep, 0, prio, arg, "t", &pid), LWP_SUCCESS);
    cr_assert_not_null(pid);
    return pid;
}

static PROCESS spawn_flags(void (*ep)(void *), int prio, unsigned int flags,
                           void *arg)
{
    struct lwp_attr attr = LWP_ATTR_INIT;
    PROCESS pid = NULL;

    attr.priority = prio;
    attr.flags = flags;
    cr_assert_eq(LWP_CreateProcessAttr(&attr, ep, arg, &pid), LWP_SUCCESS);
    cr_assert_not_null(pid);
    return pid;
}

static PROCESS spawn_dormant(void (*ep)(void *), int prio, void *arg)
{
    return spawn_flags(ep, prio, LWP_CREATE_DORMANT, arg);
}

static int page_round(int n)
{
    long pg = sysconf(_SC_PAGESIZE);

    return (int)((n + pg - 1) / pg * pg);
}

/* ---- Entry points ---- */

static void note_arg(void *arg)
{
    lwpt_note("%s", (const char *)arg);
}

static void note_name(void *arg)
{
    (void)arg;
    lwpt_note("%s", LWP_Name());
}

static void park(void *arg)
{
    (void)arg;
    LWP_WaitProcess(&ev_never);
}

static void wait_go_then_note(void *arg)
{
    LWP_WaitProcess(&ev_go);
    lwpt_note("%s", (const char *)arg);
}

static void qwait_then_note(void *arg)
{
    LWP_QWait();
    lwpt_note("%s", (const char *)arg);
}

static void yield_thrice(void *arg)
{
    lwpt_note("%s1", (const char *)arg);
    LWP_DispatchProcess();
    lwpt_note("%s2", (const char *)arg);
    LWP_DispatchProcess();
    lwpt_note("%s3", (const char *)arg);
}

static void exit_with(void *arg)
{
    lwpt_note("exit");
    LWP_ExitProcess((int)(intptr_t)arg);
    lwpt_note("never");
}

static void wait_go_then_exit(void *arg)
{
    LWP_WaitProcess(&ev_go);
    lwpt_note("t-exit");
    LWP_ExitProcess((int)(intptr_t)arg);
    lwpt_note("never");
}

static void report_self(void *arg)
{
    int prio = -1, group = -1;

    LWP_GetProcessPriority(LWP_ThisProcess(), &prio);
    LWP_GetGroup(LWP_ThisProcess(), &group);
    lwpt_note("[%s] p%d g%d", LWP_Name(), prio, group);
    park(arg);
}

/* Waits (after `start`, if set) for `target` to end, then notes
 * "name:rc:status". */
struct waiter {
    PROCESS target;
    const char *name;
    const void *start;
};

static void wait_exit_note(void *arg)
{
    struct waiter *w = arg;
    int st = -1;
    int rc;

    if (w->start)
        LWP_WaitProcess(w->start);
    rc = LWP_WaitExit(w->target, &st);
    lwpt_note("%s:%d:%d", w->name, rc, st);
}

/* ---- Before LWP_Init ---- */

Test(control, calls_before_init)
{
    struct lwp_attr attr = LWP_ATTR_INIT;
    PROCESS pid = NULL;
    int x = 5;

    cr_assert_eq(LWP_TerminateProcessSupport(), LWP_SUCCESS);
    cr_assert_eq(LWP_CreateProcessAttr(&attr, note_arg, "x", &pid), LWP_EINIT);
    cr_assert_eq(LWP_CreateProcessAttr(NULL, note_arg, "x", &pid), LWP_EINIT);
    cr_assert_null(pid);
    cr_assert_eq(LWP_SuspendProcess(NULL), LWP_EINIT);
    cr_assert_eq(LWP_ResumeProcess(NULL), LWP_EINIT);
    cr_assert_eq(LWP_RecycleProcess(NULL, note_arg, NULL), LWP_EINIT);
    cr_assert_eq(LWP_WaitExit(NULL, &x), LWP_EINIT);
    cr_assert_eq(LWP_GetGroup(NULL, &x), LWP_EINIT);
    cr_assert_eq(x, 5);
    LWP_ExitProcess(3);
    lwpt_note("exit returned");
    cr_assert_str_eq(lwpt_log, "exit returned");
}

/* ---- LWP_CreateProcessAttr ---- */

Test(control, attr_null_means_defaults)
{
    PROCESS pid = NULL;
    int max = 0, used = 0;

    cr_assert_eq(LWP_CreateProcessAttr(NULL, report_self, NULL, &pid),
                 LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "[] p3 g0", "normal priority: ran at once");
    cr_assert_eq(LWP_StackUsed(pid, &max, &used), LWP_SUCCESS);
    cr_assert_eq(max, page_round(32768), "smallest stack: %d", max);
}

Test(control, attr_name_is_copied)
{
    char name[64] = "worker";
    char long_name[64] = "a-name-longer-than-thirty-two-characters";
    struct lwp_attr attr = LWP_ATTR_INIT;
    PROCESS a = NULL, b = NULL;

    attr.flags = LWP_CREATE_DORMANT;
    attr.name = name;
    cr_assert_eq(LWP_CreateProcessAttr(&attr, report_self, NULL, &a),
                 LWP_SUCCESS);
    attr.name = long_name;
    cr_assert_eq(LWP_CreateProcessAttr(&attr, report_self, NULL, &b),
                 LWP_SUCCESS);
    memset(name, 'X', 6);
    memset(long_name, 'X', 10);
    cr_assert_eq(LWP_ResumeProcess(a), LWP_SUCCESS);
    cr_assert_eq(LWP_ResumeProcess(b), LWP_SUCCESS);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "[worker] p3 g0 "
                                "[a-name-longer-than-thirty-two-characters] "
                                "p3 g0");
}

Test(control, attr_priority_and_stacksize_are_used)
{
    struct lwp_attr attr = LWP_ATTR_INIT;
    PROCESS pid = NULL;
    int prio = -1, max = 0, used = 0, st = -1;

    attr.priority = LO;
    attr.stacksize = 100000;
    attr.name = "low";
    cr_assert_eq(LWP_CreateProcessAttr(&attr, note_name, NULL, &pid),
                 LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "", "below main: not run yet");
    cr_assert_eq(LWP_GetProcessPriority(pid, &prio), LWP_SUCCESS);
    cr_assert_eq(prio, LO);
    cr_assert_eq(LWP_StackUsed(pid, &max, &used), LWP_SUCCESS);
    cr_assert_eq(max, page_round(100000), "got %d", max);
    cr_assert_eq(LWP_WaitExit(pid, &st), LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "low");
    cr_assert_eq(st, 0);
}

static PROCESS seen_self;

static void report_pid_slot(void *arg)
{
    PROCESS *slot = arg;

    seen_self = LWP_ThisProcess();
    lwpt_note("child:%s", *slot ? "set" : "unset");
    park(NULL);
}

Test(control, attr_not_dormant_runs_child_first_and_writes_pid_after)
{
    struct lwp_attr attr = LWP_ATTR_INIT;
    PROCESS eq = NULL, hi = NULL;

    cr_assert_eq(LWP_CreateProcessAttr(&attr, report_pid_slot, &eq, &eq),
                 LWP_SUCCESS);
    lwpt_note("main:%s", eq ? "set" : "unset");
    cr_assert_eq(eq, seen_self);
    attr.priority = HI;
    cr_assert_eq(LWP_CreateProcessAttr(&attr, report_pid_slot, &hi, &hi),
                 LWP_SUCCESS);
    lwpt_note("main:%s", hi ? "set" : "unset");
    cr_assert_eq(hi, seen_self);
    cr_assert_str_eq(lwpt_log, "child:unset main:set child:unset main:set");
}

Test(control, dormant_lwp_waits_for_resume_and_joins_the_tail)
{
    PROCESS c;

    spawn(yield_thrice, MID, "x");
    c = spawn_dormant(note_arg, MID, "c"); /* no yield: x does not run */
    lwpt_note("m");
    LWP_DispatchProcess(); /* x runs; c does not */
    lwpt_note("r");
    cr_assert_eq(LWP_ResumeProcess(c), LWP_SUCCESS); /* no yield */
    lwpt_note("d");
    LWP_DispatchProcess(); /* queue [x c main] */
    lwpt_note("end");
    cr_assert_str_eq(lwpt_log, "x1 m x2 r d x3 c end");
}

static void note_if_self_is_seen(void *arg)
{
    (void)arg;
    lwpt_note("c:%s", LWP_ThisProcess() == seen_self ? "same" : "other");
}

Test(control, dormant_high_priority_lwp_runs_only_after_resume)
{
    PROCESS c = spawn_dormant(note_if_self_is_seen, HI, NULL);

    seen_self = c; /* written at once */
    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_eq(LWP_ResumeProcess(c), LWP_SUCCESS);
    lwpt_note("r");
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "m r c:same");
}

static struct lwp_attr attr_with(int prio, unsigned int flags)
{
    struct lwp_attr attr = LWP_ATTR_INIT;

    attr.priority = prio;
    attr.flags = flags;
    return attr;
}

Test(control, attr_errors_change_nothing)
{
    struct lwp_attr attr = attr_with(HI, 0);
    PROCESS pid = NULL;
    int highest = LWP_HighestIndex();

    cr_assert_eq(LWP_CreateProcessAttr(&attr, NULL, NULL, &pid), LWP_EBADARG);
    attr.stacksize = -1;
    cr_assert_eq(LWP_CreateProcessAttr(&attr, note_arg, "x", &pid),
                 LWP_EBADARG);
    attr = attr_with(HI, LWP_CREATE_DORMANT);
    cr_assert_eq(LWP_CreateProcessAttr(&attr, note_arg, "x", NULL),
                 LWP_EBADARG);
    attr = attr_with(HI, 0x80);
    cr_assert_eq(LWP_CreateProcessAttr(&attr, note_arg, "x", &pid),
                 LWP_EBADFLAGS);
    attr = attr_with(HI, LWP_CREATE_DORMANT | 0x10);
    cr_assert_eq(LWP_CreateProcessAttr(&attr, note_arg, "x", &pid),
                 LWP_EBADFLAGS);
    attr = attr_with(-1, 0);
    cr_assert_eq(LWP_CreateProcessAttr(&attr, note_arg, "x", &pid),
                 LWP_EBADPRI);
    attr = attr_with(LWP_MAX_PRIORITY + 1, 0);
    cr_assert_eq(LWP_CreateProcessAttr(&attr, note_arg, "x", &pid),
                 LWP_EBADPRI);
    cr_assert_null(pid);
    cr_assert_eq(LWP_HighestIndex(), highest);
    cr_assert_str_eq(lwpt_log, "");
}

/* ---- Groups ---- */

Test(control, main_is_group_zero_and_children_inherit)
{
    struct lwp_attr attr = LWP_ATTR_INIT;
    PROCESS child = spawn(park, LO, NULL), other = NULL;
    int g = -1;

    cr_assert_eq(LWP_GetGroup(LWP_ThisProcess(), &g), LWP_SUCCESS);
    cr_assert_eq(g, 0);
    cr_assert_eq(LWP_GetGroup(child, &g), LWP_SUCCESS);
    cr_assert_eq(g, 0);
    attr.priority = LO;
    attr.group = 99; /* ignored without LWP_CREATE_SHARE_GROUP */
    cr_assert_eq(LWP_CreateProcessAttr(&attr, park, NULL, &other),
                 LWP_SUCCESS);
    cr_assert_eq(LWP_GetGroup(other, &g), LWP_SUCCESS);
    cr_assert_eq(g, 0);
}

static PROCESS grandchild[2];

static void spawn_grandchildren(void *arg)
{
    struct lwp_attr attr = LWP_ATTR_INIT;

    attr.priority = LO;
    LWP_CreateProcessAttr(&attr, park, NULL, &grandchild[0]);
    attr.flags = LWP_CREATE_SHARE_GROUP;
    attr.group = -5;
    LWP_CreateProcessAttr(&attr, park, NULL, &grandchild[1]);
    park(arg);
}

Test(control, share_group_sets_the_group_and_is_inherited)
{
    struct lwp_attr attr = attr_with(HI, LWP_CREATE_SHARE_GROUP);
    PROCESS child = NULL;
    int g = 0;

    attr.group = 7;
    cr_assert_eq(LWP_CreateProcessAttr(&attr, spawn_grandchildren, NULL,
                                       &child),
                 LWP_SUCCESS);
    cr_assert_eq(LWP_GetGroup(child, &g), LWP_SUCCESS);
    cr_assert_eq(g, 7);
    cr_assert_eq(LWP_GetGroup(grandchild[0], &g), LWP_SUCCESS);
    cr_assert_eq(g, 7, "grandchild inherits its creator's group");
    cr_assert_eq(LWP_GetGroup(grandchild[1], &g), LWP_SUCCESS);
    cr_assert_eq(g, -5, "any integer is stored");
    cr_assert_eq(LWP_GetGroup(LWP_ThisProcess(), &g), LWP_SUCCESS);
    cr_assert_eq(g, 0);
}

Test(control, get_group_errors)
{
    PROCESS gone = spawn(note_arg, HI, "gone");
    int g = 123;

    cr_assert_str_eq(lwpt_log, "gone");
    cr_assert_eq(LWP_GetGroup(NULL, &g), LWP_EBADPID);
    cr_assert_eq(LWP_GetGroup(gone, &g), LWP_EBADPID);
    cr_assert_eq(LWP_GetGroup(LWP_ThisProcess(), NULL), LWP_EBADARG);
    cr_assert_eq(g, 123, "untouched on error");
}

Test(control, get_group_of_a_zombie)
{
    struct lwp_attr attr = attr_with(HI, LWP_CREATE_JOINABLE |
                                             LWP_CREATE_SHARE_GROUP);
    PROCESS z = NULL;
    int g = 0;

    attr.group = 9;
    cr_assert_eq(LWP_CreateProcessAttr(&attr, exit_with, ARG(1), &z),
                 LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "exit");
    cr_assert_eq(LWP_GetGroup(z, &g), LWP_SUCCESS);
    cr_assert_eq(g, 9);
}

/* ---- Suspend and resume ---- */

Test(control, suspending_another_does_not_yield_and_it_waits_for_resume)
{
    PROCESS w = spawn(yield_thrice, MID, "w");

    cr_assert_eq(LWP_SuspendProcess(w), LWP_SUCCESS);
    lwpt_note("s");
    LWP_DispatchProcess();
    LWP_DispatchProcess();
    lwpt_note("d");
    cr_assert_eq(LWP_ResumeProcess(w), LWP_SUCCESS);
    lwpt_note("r");
    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_str_eq(lwpt_log, "w1 s d r w2 m");
}

static void suspend_self_then_note(void *arg)
{
    (void)arg;
    lwpt_note("w-s");
    lwpt_note("w-back:%d", LWP_SuspendProcess(LWP_ThisProcess()));
}

Test(control, suspending_oneself_yields_until_resumed)
{
    PROCESS w = spawn(suspend_self_then_note, HI, NULL);

    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_eq(LWP_ResumeProcess(w), LWP_SUCCESS);
    lwpt_note("r");
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "w-s m r w-back:0");
}

static PROCESS main_pid;

static void resume_main(void *arg)
{
    (void)arg;
    lwpt_note("h:%d", LWP_ResumeProcess(main_pid));
}

Test(control, main_can_suspend_itself)
{
    main_pid = LWP_ThisProcess();
    spawn(resume_main, LO, NULL);
    lwpt_note("m1");
    lwpt_note("m2:%d", LWP_SuspendProcess(main_pid));
    cr_assert_str_eq(lwpt_log, "m1 h:0 m2:0");
}

static PROCESS x_pid;

static void yield_to_suspender(void *arg)
{
    (void)arg;
    x_pid = LWP_ThisProcess();
    lwpt_note("x1");
    LWP_NoYieldSignal(&ev_go);
    LWP_DispatchProcess(); /* the suspender runs and suspends us */
    lwpt_note("x2");
}

static void suspend_x_on_go(void *arg)
{
    (void)arg;
    LWP_WaitProcess(&ev_go);
    lwpt_note("y:%d", LWP_SuspendProcess(x_pid));
}

Test(control, suspended_runnable_lwp_is_skipped_even_at_higher_priority)
{
    spawn(suspend_x_on_go, HI, NULL);
    spawn(yield_to_suspender, HI, NULL);
    lwpt_note("m");
    LWP_DispatchProcess();
    lwpt_note("m2");
    cr_assert_eq(LWP_ResumeProcess(x_pid), LWP_SUCCESS);
    lwpt_note("r");
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "x1 y:0 m m2 r x2");
}

Test(control, suspend_and_resume_errors)
{
    PROCESS gone = spawn(note_arg, HI, "gone");
    PROCESS w = spawn(park, HI, NULL);
    PROCESS d = spawn_dormant(note_arg, HI, "d");

    cr_assert_eq(LWP_SuspendProcess(NULL), LWP_EBADPID);
    cr_assert_eq(LWP_ResumeProcess(NULL), LWP_EBADPID);
    cr_assert_eq(LWP_SuspendProcess(gone), LWP_EBADPID);
    cr_assert_eq(LWP_ResumeProcess(gone), LWP_EBADPID);
    cr_assert_eq(LWP_ResumeProcess(LWP_ThisProcess()), LWP_ENOTSUSPENDED);
    cr_assert_eq(LWP_ResumeProcess(w), LWP_ENOTSUSPENDED, "waiting only");
    cr_assert_eq(LWP_SuspendProcess(d), LWP_ESUSPENDED, "dormant");
    cr_assert_eq(LWP_SuspendProcess(w), LWP_SUCCESS);
    cr_assert_eq(LWP_SuspendProcess(w), LWP_ESUSPENDED, "no nesting");
    cr_assert_eq(LWP_ResumeProcess(w), LWP_SUCCESS);
    cr_assert_eq(LWP_ResumeProcess(w), LWP_ENOTSUSPENDED, "no nesting");
    cr_assert_str_eq(lwpt_log, "gone");
}

Test(control, signal_to_a_suspended_waiter_is_kept_until_resume)
{
    PROCESS w = spawn(wait_go_then_note, HI, "w");

    cr_assert_eq(LWP_SuspendProcess(w), LWP_SUCCESS);
    cr_assert_eq(LWP_SignalProcess(&ev_go), LWP_SUCCESS);
    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_eq(LWP_ResumeProcess(w), LWP_SUCCESS);
    lwpt_note("r");
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "m r w");
}

Test(control, qsignal_to_a_suspended_qwaiter_is_kept_until_resume)
{
    PROCESS w = spawn(qwait_then_note, HI, "w");

    cr_assert_eq(LWP_SuspendProcess(w), LWP_SUCCESS);
    cr_assert_eq(LWP_QSignal(w), LWP_SUCCESS, "it is blocked in LWP_QWait");
    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_eq(LWP_ResumeProcess(w), LWP_SUCCESS);
    lwpt_note("r");
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "m r w");
}

Test(control, resumed_waiter_keeps_waiting_for_its_signal)
{
    PROCESS w = spawn(wait_go_then_note, HI, "w");

    cr_assert_eq(LWP_SuspendProcess(w), LWP_SUCCESS);
    cr_assert_eq(LWP_ResumeProcess(w), LWP_SUCCESS);
    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_eq(LWP_SignalProcess(&ev_go), LWP_SUCCESS);
    lwpt_note("end");
    cr_assert_str_eq(lwpt_log, "m w end");
}

Test(control, destroying_suspended_and_dormant_lwps)
{
    PROCESS s = spawn(park, HI, NULL);
    PROCESS d = spawn_dormant(note_arg, HI, "d");

    cr_assert_eq(LWP_SuspendProcess(s), LWP_SUCCESS);
    cr_assert_eq(LWP_DestroyProcess(s), LWP_SUCCESS);
    cr_assert_eq(LWP_DestroyProcess(d), LWP_SUCCESS);
    cr_assert_eq(LWP_ResumeProcess(s), LWP_EBADPID);
    cr_assert_eq(LWP_ResumeProcess(d), LWP_EBADPID);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "");
}

Test(control, resumed_lwp_joins_the_tail_not_its_old_place)
{
    PROCESS w = spawn(wait_go_then_note, MID, "w");

    spawn(yield_thrice, MID, "x"); /* queue [main x] */
    cr_assert_eq(LWP_SuspendProcess(w), LWP_SUCCESS);
    cr_assert_eq(LWP_NoYieldSignal(&ev_go), LWP_SUCCESS); /* held */
    lwpt_note("s");
    LWP_DispatchProcess(); /* x runs */
    cr_assert_eq(LWP_ResumeProcess(w), LWP_SUCCESS); /* [main x w] */
    lwpt_note("r");
    LWP_DispatchProcess();
    lwpt_note("end");
    cr_assert_str_eq(lwpt_log, "x1 s x2 r x3 w end");
}

static void suspend_self(void *arg)
{
    (void)arg;
    LWP_SuspendProcess(LWP_ThisProcess());
}

Test(control, everyone_suspended_is_a_deadlock, .exit_code = 1)
{
    cr_redirect_stdout();
    cr_redirect_stderr();
    spawn(suspend_self, LO, NULL);
    LWP_SuspendProcess(LWP_ThisProcess());
    cr_assert_fail("main resumed although nobody could resume it");
}

static void read_all(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    ssize_t n;

    while (got + 1 < cap && (n = read(fd, buf + got, cap - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
}

Test(control, deadlock_of_suspended_lwps_is_reported)
{
    int fds[2], status = 0;
    char buf[8192];
    pid_t child;

    cr_assert_eq(pipe(fds), 0);
    child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        LWP_CreateProcess(suspend_self, 0, LO, NULL, "sleeper", NULL);
        LWP_SuspendProcess(LWP_ThisProcess());
        _exit(99);
    }
    close(fds[1]);
    read_all(fds[0], buf, sizeof(buf));
    close(fds[0]);
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1,
              "status %#x, output: %s", status, buf);
    cr_assert_not_null(strstr(buf, "***LWP Abort: LWP_DispatchProcess: "
                                   "Possible deadlock, no runnable threads "
                                   "found"),
                       "got: %s", buf);
}

/* ---- Exit status and LWP_WaitExit ---- */

Test(control, returning_from_the_entry_is_status_zero)
{
    PROCESS t = spawn(note_arg, LO, "t");
    int st = -1;

    cr_assert_eq(LWP_WaitExit(t, &st), LWP_SUCCESS);
    lwpt_note("st=%d", st);
    cr_assert_str_eq(lwpt_log, "t st=0");
}

Test(control, exit_process_sets_the_status_and_does_not_return)
{
    PROCESS t = spawn(exit_with, LO, ARG(42));
    int st = -1;

    cr_assert_eq(LWP_WaitExit(t, &st), LWP_SUCCESS);
    lwpt_note("st=%d", st);
    cr_assert_str_eq(lwpt_log, "exit st=42");
}

Test(control, wait_exit_status_may_be_null)
{
    PROCESS t = spawn(exit_with, LO, ARG(1));

    cr_assert_eq(LWP_WaitExit(t, NULL), LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "exit");
}

Test(control, destroyed_lwp_status_is_exit_destroyed)
{
    PROCESS t = spawn(park, LO, NULL);
    struct waiter w = {t, "w", NULL};
    char expected[64];

    spawn(wait_exit_note, HI, &w);
    cr_assert_str_eq(lwpt_log, "");
    cr_assert_eq(LWP_DestroyProcess(t), LWP_SUCCESS); /* no yield */
    lwpt_note("destroyed");
    LWP_DispatchProcess();
    snprintf(expected, sizeof(expected), "destroyed w:0:%d",
             LWP_EXIT_DESTROYED);
    cr_assert_str_eq(lwpt_log, expected);
    cr_assert_eq(LWP_WaitExit(t, NULL), LWP_EBADPID, "freed");
}

Test(control, wait_exit_blocks_until_the_lwp_ends)
{
    PROCESS t = spawn(wait_go_then_exit, MID, ARG(5));
    struct waiter w = {t, "w", NULL};

    spawn(wait_exit_note, HI, &w);
    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_eq(LWP_SignalProcess(&ev_go), LWP_SUCCESS);
    lwpt_note("end");
    cr_assert_str_eq(lwpt_log, "m t-exit w:0:5 end");
}

static char ev_start[3];

Test(control, all_waiters_get_the_status_in_wait_order)
{
    PROCESS t = spawn(wait_go_then_exit, MID, ARG(7));
    struct waiter w[3] = {{t, "w0", &ev_start[0]},
                          {t, "w1", &ev_start[1]},
                          {t, "w2", &ev_start[2]}};

    for (int i = 0; i < 3; i++)
        spawn(wait_exit_note, HI, &w[i]);
    /* They start waiting in the order 2, 0, 1. */
    cr_assert_eq(LWP_SignalProcess(&ev_start[2]), LWP_SUCCESS);
    cr_assert_eq(LWP_SignalProcess(&ev_start[0]), LWP_SUCCESS);
    cr_assert_eq(LWP_SignalProcess(&ev_start[1]), LWP_SUCCESS);
    lwpt_note("go");
    cr_assert_eq(LWP_SignalProcess(&ev_go), LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "go t-exit w2:0:7 w0:0:7 w1:0:7");
}

static void wait_exit_self(void *arg)
{
    int st = 99;

    (void)arg;
    lwpt_note("self:%d:%d", LWP_WaitExit(LWP_ThisProcess(), &st), st);
}

Test(control, wait_exit_errors)
{
    PROCESS gone = spawn(note_arg, HI, "gone");
    int st = 99;

    cr_assert_eq(LWP_WaitExit(LWP_ThisProcess(), &st), LWP_EWAITSELF);
    cr_assert_eq(LWP_WaitExit(NULL, &st), LWP_EBADPID);
    cr_assert_eq(LWP_WaitExit(gone, &st), LWP_EBADPID);
    cr_assert_eq(st, 99);
    spawn(wait_exit_self, HI, NULL);
    cr_assert_str_eq(lwpt_log, "gone self:-21:99");
}

Test(control, joinable_lwp_stays_a_zombie_until_collected)
{
    PROCESS z = spawn_flags(exit_with, HI, LWP_CREATE_JOINABLE, ARG(11));
    int st = -1;

    cr_assert_str_eq(lwpt_log, "exit");
    cr_assert_eq(LWP_WaitExit(z, &st), LWP_SUCCESS);
    cr_assert_eq(st, 11);
    st = -1;
    cr_assert_eq(LWP_WaitExit(z, &st), LWP_EBADPID, "collected: stale");
    cr_assert_eq(st, -1);
}

Test(control, zombie_answers_ebadpid_to_other_calls)
{
    PROCESS z = spawn_flags(exit_with, HI, LWP_CREATE_JOINABLE, ARG(11));
    int prio = -1, max = -1, used = -1, st = -1;

    cr_assert_eq(LWP_SuspendProcess(z), LWP_EBADPID);
    cr_assert_eq(LWP_ResumeProcess(z), LWP_EBADPID);
    cr_assert_eq(LWP_RecycleProcess(z, note_arg, "x"), LWP_EBADPID);
    cr_assert_eq(LWP_QSignal(z), LWP_EBADPID);
    cr_assert_eq(LWP_GetProcessPriority(z, &prio), LWP_EBADPID);
    cr_assert_eq(LWP_StackUsed(z, &max, &used), LWP_EBADPID);
    cr_assert_eq(LWP_WaitExit(z, &st), LWP_SUCCESS, "still collectable");
    cr_assert_eq(st, 11);
    cr_assert_str_eq(lwpt_log, "exit");
}

Test(control, destroying_a_zombie_discards_it)
{
    PROCESS z = spawn_flags(exit_with, HI, LWP_CREATE_JOINABLE, ARG(11));
    int g = -1;

    cr_assert_eq(LWP_DestroyProcess(z), LWP_SUCCESS);
    cr_assert_eq(LWP_WaitExit(z, NULL), LWP_EBADPID);
    cr_assert_eq(LWP_GetGroup(z, &g), LWP_EBADPID);
    cr_assert_eq(LWP_DestroyProcess(z), LWP_EBADPID);
}

Test(control, non_joinable_lwp_is_freed_when_it_ends)
{
    PROCESS t = spawn(exit_with, HI, ARG(3));
    int g = -1;

    cr_assert_str_eq(lwpt_log, "exit");
    cr_assert_eq(LWP_WaitExit(t, NULL), LWP_EBADPID);
    cr_assert_eq(LWP_GetGroup(t, &g), LWP_EBADPID);
    cr_assert_eq(LWP_DestroyProcess(t), LWP_EBADPID);
}

Test(control, destroying_a_joinable_lwp_leaves_a_destroyed_zombie)
{
    PROCESS t = spawn_flags(park, HI, LWP_CREATE_JOINABLE, NULL);
    int st = 0, g = -1;

    cr_assert_eq(LWP_DestroyProcess(t), LWP_SUCCESS);
    cr_assert_eq(LWP_GetGroup(t, &g), LWP_SUCCESS, "a zombie");
    cr_assert_eq(LWP_WaitExit(t, &st), LWP_SUCCESS);
    cr_assert_eq(st, LWP_EXIT_DESTROYED);
    cr_assert_eq(LWP_WaitExit(t, &st), LWP_EBADPID);
}

Test(control, joinable_lwp_collected_by_a_waiter_is_freed)
{
    PROCESS t = spawn_flags(wait_go_then_exit, MID, LWP_CREATE_JOINABLE,
                            ARG(4));
    struct waiter w = {t, "w", NULL};

    spawn(wait_exit_note, HI, &w);
    cr_assert_eq(LWP_SignalProcess(&ev_go), LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "t-exit w:0:4");
    cr_assert_eq(LWP_WaitExit(t, NULL), LWP_EBADPID);
}

Test(control, destroyed_waiter_does_not_disturb_the_others)
{
    PROCESS t = spawn(wait_go_then_exit, MID, ARG(3));
    struct waiter w[3] = {{t, "w0", NULL}, {t, "w1", NULL}, {t, "w2", NULL}};
    PROCESS p[3];

    for (int i = 0; i < 3; i++)
        p[i] = spawn(wait_exit_note, HI, &w[i]);
    cr_assert_eq(LWP_DestroyProcess(p[1]), LWP_SUCCESS);
    cr_assert_eq(LWP_SignalProcess(&ev_go), LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "t-exit w0:0:3 w2:0:3");
}

static void destroy_self(void *arg)
{
    (void)arg;
    lwpt_note("bye");
    LWP_DestroyProcess(LWP_ThisProcess());
    lwpt_note("never");
}

Test(control, lwp_destroying_itself_has_status_exit_destroyed)
{
    PROCESS t = spawn(destroy_self, LO, NULL);
    int st = 0;

    cr_assert_eq(LWP_WaitExit(t, &st), LWP_SUCCESS);
    cr_assert_eq(st, LWP_EXIT_DESTROYED);
    cr_assert_str_eq(lwpt_log, "bye");
}

Test(control, wait_exit_on_a_dormant_lwp_waits_for_its_run)
{
    PROCESS t = spawn_dormant(exit_with, HI, ARG(6));
    struct waiter w = {t, "w", NULL};

    spawn(wait_exit_note, HI, &w);
    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_eq(LWP_ResumeProcess(t), LWP_SUCCESS);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "m exit w:0:6");
}

Test(control, suspended_waiter_gets_the_status_after_resume)
{
    PROCESS t = spawn(wait_go_then_exit, MID, ARG(9));
    struct waiter w = {t, "w", NULL};
    PROCESS wp = spawn(wait_exit_note, HI, &w);

    cr_assert_eq(LWP_SuspendProcess(wp), LWP_SUCCESS);
    cr_assert_eq(LWP_SignalProcess(&ev_go), LWP_SUCCESS); /* t exits */
    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_eq(LWP_WaitExit(t, NULL), LWP_EBADPID, "collected by w");
    cr_assert_eq(LWP_ResumeProcess(wp), LWP_SUCCESS);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "t-exit m w:0:9");
}

Test(control, terminate_frees_zombies)
{
    struct lwp_attr attr = attr_with(HI, LWP_CREATE_JOINABLE);

    /* A long name lives on the heap: a leak checker sees it if lost. */
    attr.name = "a-zombie-name-longer-than-thirty-two-characters";
    for (int i = 0; i < 3; i++)
        cr_assert_eq(LWP_CreateProcessAttr(&attr, exit_with, ARG(i), NULL),
                     LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "exit exit exit");
    cr_assert_eq(LWP_TerminateProcessSupport(), LWP_SUCCESS);
    cr_assert_eq(LWP_Init(LWP_VERSION, MID, NULL), LWP_SUCCESS);
}

/* ---- LWP_RecycleProcess ---- */

static struct {
    PROCESS self;
    int index;
    char name[48];
    int prio;
    int group;
    int rock_rc;
} seen;
static int old_index = -1;

static void rock_then_wait(void *arg)
{
    (void)arg;
    old_index = LWP_Index();
    LWP_NewRock(1, "old-rock");
    lwpt_note("old");
    LWP_WaitProcess(&ev_go);
    lwpt_note("old-woke");
}

static void record_identity(void *arg)
{
    char *v = NULL;

    seen.self = LWP_ThisProcess();
    seen.index = LWP_Index();
    snprintf(seen.name, sizeof(seen.name), "%s", LWP_Name());
    LWP_GetProcessPriority(seen.self, &seen.prio);
    LWP_GetGroup(seen.self, &seen.group);
    seen.rock_rc = LWP_GetRock(1, &v);
    lwpt_note("new:%s", (const char *)arg);
}

Test(control, recycle_keeps_identity_and_drops_rocks)
{
    struct lwp_attr attr = attr_with(HI, LWP_CREATE_SHARE_GROUP);
    PROCESS t = NULL;

    attr.name = "recycled";
    attr.group = 5;
    cr_assert_eq(LWP_CreateProcessAttr(&attr, rock_then_wait, NULL, &t),
                 LWP_SUCCESS);
    cr_assert_eq(LWP_RecycleProcess(t, record_identity, "p"), LWP_SUCCESS);
    lwpt_note("recycled");
    cr_assert_eq(LWP_ResumeProcess(t), LWP_SUCCESS);
    lwpt_note("resumed");
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "old recycled resumed new:p");
    cr_assert_eq(seen.self, t);
    cr_assert_eq(seen.index, old_index);
    cr_assert_str_eq(seen.name, "recycled");
    cr_assert_eq(seen.prio, HI);
    cr_assert_eq(seen.group, 5);
    cr_assert_eq(seen.rock_rc, LWP_EBADROCK);
}

Test(control, recycled_lwp_stays_dormant_and_forgets_its_wait)
{
    PROCESS t = spawn(wait_go_then_note, HI, "old-woke");

    cr_assert_eq(LWP_RecycleProcess(t, note_arg, "new"), LWP_SUCCESS);
    cr_assert_eq(LWP_SignalProcess(&ev_go), LWP_ENOWAIT);
    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_eq(LWP_ResumeProcess(t), LWP_SUCCESS);
    lwpt_note("r");
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "m r new");
}

static void note_qwait_note(void *arg)
{
    (void)arg;
    lwpt_note("q-wait");
    LWP_QWait();
    lwpt_note("q-got");
}

Test(control, recycle_drops_pending_qsignals)
{
    PROCESS t = spawn(park, HI, NULL);

    cr_assert_eq(LWP_QSignal(t), LWP_ENOWAIT, "remembered");
    cr_assert_eq(LWP_RecycleProcess(t, note_qwait_note, NULL), LWP_SUCCESS);
    cr_assert_eq(LWP_ResumeProcess(t), LWP_SUCCESS);
    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_eq(LWP_QSignal(t), LWP_SUCCESS, "it blocked in LWP_QWait");
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "q-wait m q-got");
}

Test(control, recycle_a_suspended_lwp)
{
    PROCESS t = spawn(wait_go_then_note, HI, "old-woke");

    cr_assert_eq(LWP_SuspendProcess(t), LWP_SUCCESS);
    cr_assert_eq(LWP_RecycleProcess(t, note_arg, "new"), LWP_SUCCESS);
    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_eq(LWP_ResumeProcess(t), LWP_SUCCESS, "one resume starts it");
    lwpt_note("r");
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "m r new");
}

Test(control, recycle_a_runnable_lwp)
{
    PROCESS t = spawn(yield_thrice, MID, "x");

    cr_assert_eq(LWP_RecycleProcess(t, note_arg, "new"), LWP_SUCCESS);
    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_eq(LWP_ResumeProcess(t), LWP_SUCCESS);
    lwpt_note("r");
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "x1 m r new");
}

Test(control, recycle_a_dormant_lwp)
{
    PROCESS t = spawn_dormant(note_arg, HI, "old");

    cr_assert_eq(LWP_RecycleProcess(t, note_arg, "new"), LWP_SUCCESS);
    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_eq(LWP_ResumeProcess(t), LWP_SUCCESS);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "m new");
}

static void recycle_self(void *arg)
{
    lwpt_note("old");
    LWP_RecycleProcess(LWP_ThisProcess(), note_arg, arg);
    lwpt_note("never");
}

Test(control, recycling_oneself_does_not_return)
{
    PROCESS t = spawn(recycle_self, HI, "new");

    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_eq(LWP_ResumeProcess(t), LWP_SUCCESS);
    lwpt_note("r");
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "old m r new");
}

Test(control, recycle_keeps_wait_exit_waiters)
{
    PROCESS t = spawn(park, HI, NULL);
    struct waiter w = {t, "w", NULL};

    spawn(wait_exit_note, HI, &w);
    cr_assert_eq(LWP_RecycleProcess(t, exit_with, ARG(77)), LWP_SUCCESS);
    LWP_DispatchProcess();
    lwpt_note("m");
    cr_assert_eq(LWP_ResumeProcess(t), LWP_SUCCESS);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "m exit w:0:77");
}

Test(control, recycled_waiter_leaves_the_join_list)
{
    PROCESS t = spawn(wait_go_then_exit, MID, ARG(2));
    struct waiter w = {t, "w-old", NULL};
    PROCESS wp = spawn(wait_exit_note, HI, &w);

    cr_assert_eq(LWP_RecycleProcess(wp, note_arg, "w-new"), LWP_SUCCESS);
    cr_assert_eq(LWP_SignalProcess(&ev_go), LWP_SUCCESS); /* t exits */
    lwpt_note("m");
    cr_assert_eq(LWP_WaitExit(t, NULL), LWP_EBADPID, "nobody collected t");
    cr_assert_eq(LWP_ResumeProcess(wp), LWP_SUCCESS);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "t-exit m w-new");
}

Test(control, recycle_keeps_the_joinable_flag)
{
    PROCESS t = spawn_flags(park, HI, LWP_CREATE_JOINABLE, NULL);
    int st = -1;

    cr_assert_eq(LWP_RecycleProcess(t, exit_with, ARG(8)), LWP_SUCCESS);
    cr_assert_eq(LWP_ResumeProcess(t), LWP_SUCCESS);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "exit");
    cr_assert_eq(LWP_WaitExit(t, &st), LWP_SUCCESS, "kept as a zombie");
    cr_assert_eq(st, 8);
}

static __attribute__((noinline)) void dirty_stack(void)
{
    volatile char buf[16384];

    for (size_t i = 0; i < sizeof(buf); i += 64)
        buf[i] = 0x5a;
}

static void dirty_then_park(void *arg)
{
    dirty_stack();
    park(arg);
}

Test(control, recycle_clears_the_stack)
{
    struct lwp_attr attr = attr_with(HI, 0);
    PROCESS t = NULL;
    int max = 0, used = 0;

    attr.stacksize = 65536;
    cr_assert_eq(LWP_CreateProcessAttr(&attr, dirty_then_park, NULL, &t),
                 LWP_SUCCESS);
    cr_assert_eq(LWP_StackUsed(t, &max, &used), LWP_SUCCESS);
    cr_assert_geq(used, 16000, "the old run used %d", used);
    cr_assert_eq(LWP_RecycleProcess(t, note_arg, "new"), LWP_SUCCESS);
    cr_assert_eq(LWP_StackUsed(t, &max, &used), LWP_SUCCESS);
    cr_assert_lt(used, 4096, "cleared, yet %d bytes used", used);
    cr_assert_eq(LWP_ResumeProcess(t), LWP_SUCCESS);
    LWP_DispatchProcess();
    cr_assert_str_eq(lwpt_log, "new");
}

Test(control, recycle_errors)
{
    PROCESS gone = spawn(note_arg, HI, "gone");
    PROCESS z = spawn_flags(exit_with, HI, LWP_CREATE_JOINABLE, ARG(1));
    PROCESS t = spawn(park, HI, NULL);

    cr_assert_eq(LWP_RecycleProcess(NULL, note_arg, NULL), LWP_EBADPID);
    cr_assert_eq(LWP_RecycleProcess(gone, note_arg, NULL), LWP_EBADPID);
    cr_assert_eq(LWP_RecycleProcess(z, note_arg, NULL), LWP_EBADPID);
    cr_assert_eq(LWP_RecycleProcess(t, NULL, NULL), LWP_EBADARG);
    cr_assert_eq(LWP_RecycleProcess(LWP_ThisProcess(), note_arg, NULL),
                 LWP_EMAINPROC);
    cr_assert_eq(LWP_NoYieldSignal(&ev_never), LWP_SUCCESS,
                 "t still waits: the failed recycle changed nothing");
    cr_assert_str_eq(lwpt_log, "gone exit");
}

/* ---- Error texts ---- */

Test(control, strerror_names_the_new_codes)
{
    static const struct {
        int code;
        const char *name;
    } codes[] = {
        {LWP_EINSWITCH, "LWP_EINSWITCH"},
        {LWP_ESUSPENDED, "LWP_ESUSPENDED"},
        {LWP_ENOTSUSPENDED, "LWP_ENOTSUSPENDED"},
        {LWP_EWAITSELF, "LWP_EWAITSELF"},
        {LWP_EMAINPROC, "LWP_EMAINPROC"},
        {LWP_EBADFLAGS, "LWP_EBADFLAGS"},
    };

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *text = LWP_StrError(codes[i].code);

        cr_assert_eq(codes[i].code, -18 - (int)i);
        cr_assert_not_null(text);
        cr_assert_not_null(strstr(text, codes[i].name), "%d: %s",
                           codes[i].code, text);
        cr_assert_str_neq(text, LWP_StrError(-1000));
    }
}
