/* SPDX-License-Identifier: MIT */
/*
 * A Criterion-free self-test of the machine-dependent parts: the context
 * switch, stack set-up, guard pages and overflow handling, plus a pass over
 * the scheduling and event basics that run on them. It exists for targets
 * where Criterion is not available, such as the AArch64 cross build run
 * under qemu-user by `scripts/test --aarch64`; ctest runs it natively too.
 *
 * Prints one line per check and "lwp_selftest: N passed, M failed";
 * exits 1 if anything failed.
 */
#include <fenv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <errno.h>

#include <lwp/context.h>
#include <lwp/lwp.h>

#include "selftest.h"
#include "support/regcheck.h"

static int passed, failed;
static char order[256];

void selftest_check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "pass" : "FAIL", what);
    if (ok)
        passed++;
    else
        failed++;
}

static void check(int ok, const char *what)
{
    selftest_check(ok, what);
}

static void note(const char *s)
{
    strncat(order, s, sizeof(order) - strlen(order) - 1);
}

static void pinger(void *arg)
{
    long *count = arg;
    for (;;) {
        (*count)++;
        LWP_DispatchProcess();
    }
}

static void check_ping_pong(void)
{
    static long count;
    PROCESS p;

    LWP_CreateProcess(pinger, 0, LWP_NORMAL_PRIORITY, &count, "ping", &p);
    count = 0;
    for (int i = 0; i < 100000; i++)
        LWP_DispatchProcess();
    check(count == 100000, "100,000 yields between two LWPs");
    LWP_DestroyProcess(p);
}

#ifdef LWPT_HAVE_REGISTER_CHECK
int selftest_peer_failures;

void selftest_regcheck_peer(void *base)
{
    for (;;)
        if (!lwpt_regcheck((long)(intptr_t)base))
            selftest_peer_failures++;
}

static void check_registers(void)
{
    PROCESS p;
    int ok = 1;

    LWP_CreateProcess(selftest_regcheck_peer, 0, LWP_NORMAL_PRIORITY,
                      (void *)0x7000, "peer", &p);
    for (int i = 0; i < 1000; i++)
        ok &= lwpt_regcheck(0x1000 + i);
    check(ok && selftest_peer_failures == 0,
          "callee-saved registers survive switches");
    LWP_DestroyProcess(p);
}
#else
static void check_registers(void)
{
    printf("skip: register check (no assembly switch here)\n");
}
#endif

void selftest_aligned_probe(void *arg)
{
    _Alignas(16) char probe[16];
    char text[32];

    snprintf(text, sizeof(text), "%.2f", 2.5 * (double)(intptr_t)arg);
    *(int *)arg = (uintptr_t)probe % 16 == 0 && strcmp(text, "0.00") != 0;
}

static void check_alignment(void)
{
    static int ok;
    int all = 1;

    for (int size = 32768; size < 32768 + 4 * 4096; size += 4096) {
        ok = 0;
        LWP_CreateProcess(selftest_aligned_probe, size, LWP_MAX_PRIORITY, &ok,
                          "al", NULL);
        all &= ok;
    }
    check(all, "stacks are aligned for the ABI at entry");
}

static void noting(void *arg)
{
    note(arg);
}

static int wait_ev;

static void waiting(void *arg)
{
    LWP_WaitProcess(&wait_ev);
    note(arg);
}

static void check_order(void)
{
    order[0] = '\0';
    LWP_CreateProcess(noting, 0, LWP_MAX_PRIORITY, "a", "a", NULL);
    LWP_CreateProcess(noting, 0, 1, "c", "c", NULL);
    LWP_CreateProcess(waiting, 0, LWP_MAX_PRIORITY, "1", "w1", NULL);
    LWP_CreateProcess(waiting, 0, LWP_MAX_PRIORITY, "2", "w2", NULL);
    note("m");
    check(strcmp(order, "am") == 0, "creator yields to higher priority only");
}

static void check_events(void)
{
    order[0] = '\0';
    check(LWP_NoYieldSignal(&order) == LWP_ENOWAIT,
          "a signal without waiters is lost");
    /* w1 and w2 of check_order wait on wait_ev; c (priority 1) is ready. */
    check(LWP_SignalProcess(&wait_ev) == LWP_SUCCESS &&
              strcmp(order, "12") == 0,
          "waiters wake in the order they blocked, before lower priority");
}

static void used_stack(void *arg)
{
    volatile char buf[8192];
    static int never;

    for (size_t i = 0; i < sizeof(buf); i += 64)
        buf[i] = 1;
    LWP_WaitProcess(&never);
}

static void check_stack_used(void)
{
    PROCESS p;
    int max = 0, used = 0;

    LWP_CreateProcess(used_stack, 65536, LWP_MAX_PRIORITY, NULL, "u", &p);
    check(LWP_StackUsed(p, &max, &used) == LWP_SUCCESS && max == 65536 &&
              used >= 8192 && used < 32768,
          "LWP_StackUsed finds the high-water mark");
    LWP_DestroyProcess(p);
}

static volatile int recursion_limit = 1 << 30;

static int recurse(int depth)
{
    volatile char pad[512];
    pad[0] = (char)depth;
    if (depth > recursion_limit)
        return 0;
    return recurse(depth + 1) + pad[0];
}

static void overflowing(void *arg)
{
    recurse(0);
}

/* Frames that are really on the stack: AddressSanitizer may put an
 * instrumented frame's arrays on its heap-allocated "fake stack". */
#if defined(__SANITIZE_ADDRESS__)
#define REAL_FRAME __attribute__((noinline, no_sanitize("address")))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REAL_FRAME __attribute__((noinline, no_sanitize("address")))
#endif
#endif
#ifndef REAL_FRAME
#define REAL_FRAME __attribute__((noinline))
#endif

/* A frame larger than a page, allocated in one step (this file is built
 * without -fstack-clash-protection): its low end is more than a page
 * below a 32 KiB stack, inside the 64 KiB guard region. */
static REAL_FRAME void frame_37k(void *arg)
{
    volatile char big[37 * 1024];

    big[0] = 1;
    (void)big[0];
}

/* A frame that reaches 256 KiB below its 1 MiB stack (a size of its own,
 * so a fresh mapping, likely with free address space below), beyond the
 * guard region, into PROT_NONE memory of ours: the fault is not in the
 * guard, so only the stack pointer in the signal's context shows the
 * overflow. */
#define BEYOND_STACK (1024 * 1024)
static REAL_FRAME void frame_beyond_guard(void)
{
    volatile char big[BEYOND_STACK + 256 * 1024];

    big[0] = 1;
    (void)big[0];
}

static void fault_beyond_guard(void *arg)
{
    uintptr_t span = 1024 * 1024;
    char *want = (char *)(((uintptr_t)&arg - BEYOND_STACK - 128 * 1024 -
                           span) &
                          ~(uintptr_t)0xffff); /* below the guard */
    void *got;

    got = mmap(want, span, PROT_NONE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (got != want) {
        fprintf(stderr, "no-room-below\n");
        _exit(0);
    }
    frame_beyond_guard();
}

/* In a child: overflow one LWP, running ep, with `action`; report how the
 * child ended and whether the message appeared (*said: 1, or -1 when the
 * child could not set the overflow up). */
static int overflow_child_with(void (*ep)(void *), int stacksize,
                               int action, int *said)
{
    int fds[2], status = 0;
    char buf[512] = "";
    ssize_t n;
    pid_t pid;

    if (pipe(fds) != 0)
        return -1;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        lwp_overflowAction = action;
        LWP_CreateProcess(ep, stacksize, LWP_MAX_PRIORITY, NULL, "deep",
                          NULL);
        _exit(0);
    }
    close(fds[1]);
    n = read(fds[0], buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    waitpid(pid, &status, 0);
    *said = strstr(buf, "LWP deep overflowed its ") != NULL;
    if (strstr(buf, "no-room-below"))
        *said = -1;
    return status;
}

static int overflow_child(int action, int *said)
{
    return overflow_child_with(overflowing, 32768, action, said);
}

static void check_overflow(void)
{
    int said = 0;
    int status = overflow_child(LWP_SOABORT, &said);

    check(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && said,
          "guard page: overflow reported, then abort");
    status = overflow_child(LWP_SOMESSAGE, &said);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0 && said,
          "guard page: overflow reported, LWP destroyed, program goes on");
    status = overflow_child_with(frame_37k, 32768, LWP_SOABORT, &said);
    check(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && said == 1,
          "37 KB frame in a 32 KiB stack: overflow reported, then abort");
    status = overflow_child_with(fault_beyond_guard, BEYOND_STACK,
                                 LWP_SOABORT, &said);
    if (said < 0)
        printf("skip: fault beyond the guard region (address space below "
               "the stack in use)\n");
    else
        check(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && said,
              "fault with the stack pointer below the stack: overflow "
              "reported, then abort");
}

static void round_up(void *arg)
{
    (void)arg;
    fesetround(FE_UPWARD);
}

static void check_fp_shared(void)
{
    LWP_CreateProcess(round_up, 0, LWP_MAX_PRIORITY, NULL, "fp", NULL);
    check(fegetround() == FE_UPWARD, "LWPs share the floating-point mode");
    fesetround(FE_TONEAREST);
}

/* Two LWPs with their own FP environment (lwp_fpset) and errno
 * (lwp_libcset) take turns; each must keep its own, and main the shared
 * ones. Exercises the architecture's FP control registers. */
static int own_bad;

static void own_env(void *arg)
{
    int mode = (int)(intptr_t)arg;

    if (lwp_fpset(LWP_ThisProcess()) != 0 ||
        lwp_libcset(LWP_ThisProcess()) != 0)
        own_bad++;
    fesetround(mode);
    errno = mode + 1;
    for (int i = 0; i < 100; i++) {
        LWP_DispatchProcess();
        if (fegetround() != mode || errno != mode + 1)
            own_bad++;
    }
}

static void check_fp_own(void)
{
    PROCESS a, b;
    struct lwp_attr attr = LWP_ATTR_INIT;

    attr.priority = LWP_MAX_PRIORITY;
    attr.flags = LWP_CREATE_DORMANT | LWP_CREATE_JOINABLE;
    fesetround(FE_TOWARDZERO);
    errno = 7;
    LWP_CreateProcessAttr(&attr, own_env, (void *)(intptr_t)FE_UPWARD, &a);
    LWP_CreateProcessAttr(&attr, own_env, (void *)(intptr_t)FE_DOWNWARD, &b);
    LWP_ResumeProcess(a);
    LWP_ResumeProcess(b);
    LWP_DispatchProcess(); /* both above main: they run to the end */
    check(own_bad == 0 && fegetround() == FE_TOWARDZERO && errno == 7,
          "lwp_fpset / lwp_libcset: own rounding mode and errno");
    fesetround(FE_TONEAREST);
}

static void exiting(void *arg)
{
    LWP_ExitProcess((int)(intptr_t)arg);
}

static void check_wait_exit(void)
{
    struct lwp_attr attr = LWP_ATTR_INIT;
    PROCESS p;
    int status = 0;

    attr.flags = LWP_CREATE_JOINABLE;
    attr.priority = LWP_MAX_PRIORITY;
    LWP_CreateProcessAttr(&attr, exiting, (void *)(intptr_t)42, &p);
    check(LWP_WaitExit(p, &status) == LWP_SUCCESS && status == 42 &&
              LWP_WaitExit(p, &status) == LWP_EBADPID,
          "joinable LWP: zombie until LWP_WaitExit collects its status");
}

static void quick(void *arg)
{
    (*(int *)arg)++;
}

static void check_many(void)
{
    static int ran;

    for (int i = 0; i < 20000; i++)
        LWP_CreateProcess(quick, 0, LWP_MAX_PRIORITY, &ran, "q", NULL);
    check(ran == 20000, "20,000 LWPs created, run and reaped");
}

int main(void)
{
    if (LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, NULL) != LWP_SUCCESS) {
        printf("lwp_selftest: LWP_Init failed\n");
        return 1;
    }
    check_ping_pong();
    check_registers();
    check_alignment();
    check_order();
    check_events();
    check_stack_used();
    check_overflow();
    check_fp_shared();
    check_fp_own();
    check_wait_exit();
    check_many();
    selftest_shared();
    check(LWP_TerminateProcessSupport() == LWP_SUCCESS, "terminate");
    printf("lwp_selftest: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
