/* SPDX-License-Identifier: MIT */
/* LWP core: life cycle, queries, rocks and argument checking. */
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "lwp_test.h"

PROCESS lwpt_spawn(void (*ep)(void *), int prio, void *arg, const char *name)
{
    PROCESS pid = NULL;

    cr_assert_eq(LWP_CreateProcess(ep, 0, prio, arg, name, &pid), LWP_SUCCESS);
    return pid;
}

PROCESS lwpt_spawn_shared(void (*ep)(void *), int prio, void *arg,
                          const char *name, unsigned int flags, int stacksize)
{
    struct lwp_attr a = LWP_ATTR_INIT;
    PROCESS pid = NULL;

    a.stacksize = stacksize;
    a.priority = prio;
    a.name = name;
    a.flags = LWP_CREATE_SHARED_STACK | flags;
    cr_assert_eq(LWP_CreateProcessAttr(&a, ep, arg, &pid), LWP_SUCCESS);
    return pid;
}

void lwpt_spin_ms(long ms)
{
    struct timespec t0, t;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    do
        clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000 +
               (t.tv_nsec - t0.tv_nsec) / 1000000 <
           ms);
}

void lwpt_slurp(FILE *f, char *buf, size_t cap)
{
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
}


void lwpt_signal(void *event)
{
    LWP_SignalProcess(event);
}

void lwpt_wait(void *event)
{
    LWP_WaitProcess(event);
}

static void nothing(void *arg)
{
    (void)arg;
}

static void spin_yield(void *arg)
{
    for (;;)
        LWP_DispatchProcess();
}

/* ---- Init and terminate ---- */

Test(lwp_init, makes_caller_the_main_lwp)
{
    PROCESS pid = NULL, cur = NULL;
    int prio = -1;

    cr_assert_eq(LWP_Init(LWP_VERSION, 2, &pid), LWP_SUCCESS);
    cr_assert_not_null(pid);
    cr_assert_eq(LWP_CurrentProcess(&cur), LWP_SUCCESS);
    cr_assert_eq(cur, pid);
    cr_assert_eq(LWP_ThisProcess(), pid);
    cr_assert_str_eq(LWP_Name(), "Main Process");
    cr_assert_eq(LWP_GetProcessPriority(pid, &prio), LWP_SUCCESS);
    cr_assert_eq(prio, 2);
    cr_assert_eq(lwp_logfile, stderr);
    cr_assert_eq(LWP_TerminateProcessSupport(), LWP_SUCCESS);
}

Test(lwp_init, null_pid_is_allowed)
{
    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_MAX_PRIORITY, NULL), LWP_SUCCESS);
    cr_assert_not_null(LWP_ThisProcess());
    cr_assert_eq(LWP_TerminateProcessSupport(), LWP_SUCCESS);
}

Test(lwp_init, second_call_succeeds_and_leaves_pid_alone)
{
    PROCESS first = NULL, second = (PROCESS)0x1;

    cr_assert_eq(LWP_Init(LWP_VERSION, 1, &first), LWP_SUCCESS);
    cr_assert_eq(LWP_Init(LWP_VERSION, 3, &second), LWP_SUCCESS);
    cr_assert_eq(second, (PROCESS)0x1);
    int prio;
    LWP_GetProcessPriority(first, &prio);
    cr_assert_eq(prio, 1, "the first call's parameters are kept");
    LWP_TerminateProcessSupport();
}

Test(lwp_init, bad_priorities_are_rejected)
{
    PROCESS pid = (PROCESS)0x1;

    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_MAX_PRIORITY + 1, &pid),
                 LWP_EBADPRI);
    cr_assert_eq(LWP_Init(LWP_VERSION, -1, &pid), LWP_EBADPRI);
    cr_assert_eq(pid, (PROCESS)0x1);
    cr_assert_null(LWP_ThisProcess());
    cr_assert_eq(LWP_TerminateProcessSupport(), LWP_EINIT);
}

Test(lwp_init, version_mismatch_exits, .exit_code = EXIT_FAILURE)
{
    LWP_Init(210888004, 1, NULL);
}

Test(lwp_init, terminate_then_init_again)
{
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(LWP_Init(LWP_VERSION, 1, NULL), LWP_SUCCESS);
        lwpt_spawn(spin_yield, 0, NULL, "spinner");
        lwpt_spawn(nothing, 0, NULL, "quick");
        cr_assert_eq(LWP_TerminateProcessSupport(), LWP_SUCCESS);
        cr_assert_null(LWP_ThisProcess());
    }
}

static void terminate_from_child(void *arg)
{
    LWP_TerminateProcessSupport();
}

Test(lwp_init, terminate_from_other_lwp_exits_1, .exit_code = 1)
{
    LWP_Init(LWP_VERSION, 1, NULL);
    lwpt_spawn(terminate_from_child, 2, NULL, "bad");
}

Test(lwp_init, calls_before_init_return_einit)
{
    PROCESS pid = (PROCESS)0x1;
    int x;
    char *v;
    const void *evs[] = {&x, NULL};

    cr_assert_eq(LWP_CurrentProcess(&pid), LWP_EINIT);
    cr_assert_null(pid, "Coda writes NULL even when not initialised");
    cr_assert_null(LWP_ThisProcess());
    cr_assert_eq(LWP_CreateProcess(nothing, 0, 1, NULL, "x", &pid),
                 LWP_EINIT);
    cr_assert_eq(LWP_DestroyProcess(pid), LWP_EINIT);
    cr_assert_eq(LWP_DispatchProcess(), LWP_EINIT);
    cr_assert_eq(LWP_GetProcessPriority(pid, &x), LWP_EINIT);
    cr_assert_eq(LWP_WaitProcess(&x), LWP_EINIT);
    cr_assert_eq(LWP_MwaitProcess(1, evs), LWP_EINIT);
    cr_assert_eq(LWP_SignalProcess(&x), LWP_EINIT);
    cr_assert_eq(LWP_NoYieldSignal(&x), LWP_EINIT);
    cr_assert_eq(LWP_QWait(), LWP_EINIT);
    cr_assert_eq(LWP_QSignal(pid), LWP_EINIT);
    cr_assert_eq(LWP_StackUsed(pid, &x, &x), LWP_EINIT);
    cr_assert_eq(LWP_NewRock(1, "v"), LWP_EINIT);
    cr_assert_eq(LWP_GetRock(1, &v), LWP_EINIT);
    cr_assert_null(LWP_Name());
    cr_assert_eq(LWP_Index(), LWP_EINIT);
    cr_assert_eq(LWP_HighestIndex(), LWP_EINIT);
    LWP_ProtectStacks();
    LWP_UnProtectStacks();
    LWP_Print_Processes();
}

/* ---- Create and destroy ---- */

static void record_arg(void *arg)
{
    lwpt_note("ran:%s", (const char *)arg);
}

Test(lwp_create, runs_entry_with_parm, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    lwpt_spawn(record_arg, LWP_MAX_PRIORITY, "hello", "child");
    cr_assert_str_eq(lwpt_log, "ran:hello");
}

Test(lwp_create, argument_errors_change_nothing, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    PROCESS pid = (PROCESS)0x1;
    int hi = LWP_HighestIndex();

    cr_assert_eq(LWP_CreateProcess(NULL, 0, 1, NULL, "x", &pid), LWP_EBADARG);
    cr_assert_eq(LWP_CreateProcess(nothing, -1, 1, NULL, "x", &pid),
                 LWP_EBADARG);
    cr_assert_eq(LWP_CreateProcess(nothing, 0, -1, NULL, "x", &pid),
                 LWP_EBADPRI);
    cr_assert_eq(LWP_CreateProcess(nothing, 0, LWP_MAX_PRIORITY + 1, NULL,
                                   "x", &pid),
                 LWP_EBADPRI);
    cr_assert_eq(LWP_CreateProcess(nothing, 0x7fffffff, 1, NULL, "x", &pid),
                 LWP_ENOMEM);
    cr_assert_eq(pid, (PROCESS)0x1);
    cr_assert_eq(LWP_HighestIndex(), hi, "no index was used up");
}

Test(lwp_create, small_and_odd_stack_sizes_are_rounded,
     .init = lwpt_setup, .fini = lwpt_teardown)
{
    PROCESS a, b;
    int max, used;

    cr_assert_eq(LWP_CreateProcess(spin_yield, 1, 1, NULL, "a", &a),
                 LWP_SUCCESS);
    cr_assert_eq(LWP_CreateProcess(spin_yield, 40000, 1, NULL, "b", &b),
                 LWP_SUCCESS);
    LWP_StackUsed(a, &max, &used);
    cr_assert_eq(max, 32768);
    LWP_StackUsed(b, &max, &used);
    cr_assert_eq(max, 40960);
}

static void read_pid_slot(void *arg)
{
    PROCESS *slot = arg;
    lwpt_note("slot:%s", *slot ? "set" : "unset");
}

Test(lwp_create, child_of_equal_priority_runs_before_pid_is_written,
     .init = lwpt_setup, .fini = lwpt_teardown)
{
    static PROCESS slot;

    slot = NULL;
    cr_assert_eq(LWP_CreateProcess(read_pid_slot, 0, LWP_NORMAL_PRIORITY,
                                   &slot, "c", &slot),
                 LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "slot:unset");
    cr_assert_not_null(slot);
}

static char seen_names[2][200];

static void grab_name(void *arg)
{
    strcpy(seen_names[(intptr_t)arg], LWP_Name());
}

Test(lwp_create, null_name_and_long_name, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    static const char *long_name =
        "a-rather-long-lwp-name-that-does-not-fit-in-the-inline-buffer";
    LWP_CreateProcess(grab_name, 0, 4, (void *)0, NULL, NULL);
    LWP_CreateProcess(grab_name, 0, 4, (void *)1, long_name, NULL);
    cr_assert_str_eq(seen_names[0], "");
    cr_assert_str_eq(seen_names[1], long_name);
}

Test(lwp_destroy, other_lwp_is_freed_without_yield, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    PROCESS pid = lwpt_spawn(spin_yield, 1, NULL, "victim");
    int prio;

    cr_assert_eq(LWP_GetProcessPriority(pid, &prio), LWP_SUCCESS);
    lwpt_note("before");
    cr_assert_eq(LWP_DestroyProcess(pid), LWP_SUCCESS);
    lwpt_note("after");
    cr_assert_str_eq(lwpt_log, "before after");
    cr_assert_eq(LWP_GetProcessPriority(pid, &prio), LWP_EBADPID);
    cr_assert_eq(LWP_DestroyProcess(pid), LWP_EBADPID, "double destroy");
}

static void destroy_self(void *arg)
{
    lwpt_note("self-start");
    LWP_DestroyProcess(LWP_ThisProcess());
    lwpt_note("never");
}

Test(lwp_destroy, self_never_returns, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    PROCESS pid = lwpt_spawn(destroy_self, 4, NULL, "suicidal");
    int prio;

    cr_assert_str_eq(lwpt_log, "self-start");
    cr_assert_eq(LWP_GetProcessPriority(pid, &prio), LWP_EBADPID);
}

Test(lwp_destroy, exited_stale_foreign_and_null_handles,
     .init = lwpt_setup, .fini = lwpt_teardown)
{
    PROCESS done = lwpt_spawn(nothing, 4, NULL, "done");
    struct {
        char pad[64];
    } fake;
    int x;

    cr_assert_eq(LWP_DestroyProcess(done), LWP_EBADPID, "already exited");
    cr_assert_eq(LWP_DestroyProcess(NULL), LWP_EBADPID);
    cr_assert_eq(LWP_DestroyProcess((PROCESS)&fake), LWP_EBADPID);
    cr_assert_eq(LWP_DestroyProcess((PROCESS)((char *)LWP_ThisProcess() + 8)),
                 LWP_EBADPID, "pointer into a PCB");
    cr_assert_eq(LWP_GetProcessPriority(done, &x), LWP_EBADPID);
    cr_assert_eq(LWP_QSignal(done), LWP_EBADPID);
    cr_assert_eq(LWP_StackUsed(done, &x, &x), LWP_EBADPID);
}

/* ---- Queries ---- */

Test(lwp_query, null_out_pointers, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    cr_assert_eq(LWP_CurrentProcess(NULL), LWP_EBADARG);
    cr_assert_eq(LWP_GetProcessPriority(LWP_ThisProcess(), NULL),
                 LWP_EBADARG);
    cr_assert_eq(LWP_GetRock(1, NULL), LWP_EBADARG);
    int x;
    cr_assert_eq(LWP_StackUsed(LWP_ThisProcess(), NULL, &x), LWP_EBADARG);
    cr_assert_eq(LWP_StackUsed(LWP_ThisProcess(), &x, NULL), LWP_EBADARG);
}

static void note_index(void *arg)
{
    lwpt_note("%s=%d", LWP_Name(), LWP_Index());
}

Test(lwp_query, indexes_grow_and_are_never_reused, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    int main_index = LWP_Index();

    lwpt_spawn(note_index, 4, NULL, "a");
    lwpt_spawn(note_index, 4, NULL, "b");
    char want[64];
    snprintf(want, sizeof(want), "a=%d b=%d", main_index + 1,
             main_index + 2);
    cr_assert_str_eq(lwpt_log, want);
    cr_assert_eq(LWP_HighestIndex(), main_index + 2);
}

Test(lwp_query, set_log_and_strerror, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    LWP_SetLog(f, 1);
    cr_assert_eq(lwp_logfile, f);
    cr_assert_eq(lwp_debug, 1);
    lwpt_spawn(nothing, 4, NULL, "traced");
    LWP_SetLog(NULL, 0);
    cr_assert_eq(lwp_logfile, stderr);
    fclose(f);
    cr_assert_not_null(strstr(buf, "traced"), "trace mentions the LWP");
    free(buf);
    cr_assert_not_null(strstr(LWP_StrError(LWP_ENOWAIT), "LWP_ENOWAIT"));
    cr_assert_not_null(strstr(LWP_StrError(LWP_EBADARG), "LWP_EBADARG"));
    cr_assert_str_eq(LWP_StrError(-1000), "unknown LWP return code");
    cr_assert_str_eq(LWP_StrError(5), "unknown LWP return code");
}

static int print_ev;

static void print_waiter(void *arg)
{
    LWP_WaitProcess(&print_ev);
}

Test(lwp_query, print_processes_lists_every_lwp, .init = lwpt_setup,
     .fini = lwpt_teardown)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    lwpt_spawn(print_waiter, 4, NULL, "sleeper");
    lwpt_spawn(spin_yield, 1, NULL, "busy");
    lwp_logfile = f;
    LWP_Print_Processes();
    lwp_logfile = stderr;
    fclose(f);
    cr_assert_not_null(strstr(buf, "Main Process"));
    cr_assert_not_null(strstr(buf, "sleeper"));
    cr_assert_not_null(strstr(buf, "busy"));
    cr_assert_not_null(strstr(buf, "[Blocked]"));
    char evs[32];
    snprintf(evs, sizeof(evs), "%p", (void *)&print_ev);
    cr_assert_not_null(strstr(buf, evs), "the awaited event is shown");
    free(buf);
}

/* ---- Rocks ---- */

Test(lwp_rock, new_and_get, .init = lwpt_setup, .fini = lwpt_teardown)
{
    char *v = NULL;

    cr_assert_eq(LWP_GetRock(7, &v), LWP_EBADROCK);
    cr_assert_eq(LWP_NewRock(7, "seven"), LWP_SUCCESS);
    cr_assert_eq(LWP_GetRock(7, &v), LWP_SUCCESS);
    cr_assert_str_eq(v, "seven");
    cr_assert_eq(LWP_NewRock(7, "again"), LWP_EBADROCK, "set only once");
    cr_assert_eq(LWP_GetRock(7, &v), LWP_SUCCESS);
    cr_assert_str_eq(v, "seven");
}

Test(lwp_rock, eight_per_lwp, .init = lwpt_setup, .fini = lwpt_teardown)
{
    for (int i = 0; i < 8; i++)
        cr_assert_eq(LWP_NewRock(100 + i, NULL), LWP_SUCCESS);
    cr_assert_eq(LWP_NewRock(200, NULL), LWP_ENOROCKS);
    cr_assert_eq(LWP_NewRock(100, NULL), LWP_EBADROCK);
}

static void child_rocks(void *arg)
{
    char *v;
    lwpt_note("child-get:%d", LWP_GetRock(1, &v));
    LWP_NewRock(1, "child");
    LWP_GetRock(1, &v);
    lwpt_note("child:%s", v);
}

Test(lwp_rock, are_per_lwp, .init = lwpt_setup, .fini = lwpt_teardown)
{
    char *v;

    LWP_NewRock(1, "main");
    lwpt_spawn(child_rocks, 4, NULL, "c");
    LWP_GetRock(1, &v);
    cr_assert_str_eq(v, "main");
    cr_assert_str_eq(lwpt_log, "child-get:-16 child:child");
}
