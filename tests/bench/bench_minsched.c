/* SPDX-License-Identifier: MIT */
/*
 * The practical limits: a bare context switch that saves one callee-saved
 * register set and loads another, and a minimal scheduler over it (two
 * FIFO run queues, intrusive lists, nothing else). Whatever the library
 * spends beyond the minimal scheduler is its own bookkeeping.
 *
 * The switch is written here rather than borrowed from the library so the
 * limit does not move when the library's switch changes. Architectures
 * without one here report "skipped".
 */
#include <stdint.h>
#include <stdlib.h>

#include "bench_peers.h"
#include "bench_util.h"

#define CO_STACK (64 * 1024)

#if defined(__x86_64__)
#define HAVE_BARE_SWITCH 1
/* Frame of a suspended context, from its saved sp upwards: r15 r14 r13 r12
 * rbx rbp, return address. A new context has fn in r13, arg in r12 and
 * bench_start as the return address. */
__asm__(".text\n"
        ".globl bench_swap\n"
        ".hidden bench_swap\n"
        ".type bench_swap, @function\n"
        ".p2align 4\n"
        "bench_swap:\n"
        "    endbr64\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size bench_swap, .-bench_swap\n"
        ".globl bench_start\n"
        ".hidden bench_start\n"
        ".type bench_start, @function\n"
        "bench_start:\n"
        "    endbr64\n"
        "    movq %r12, %rdi\n"
        "    callq *%r13\n"
        "    ud2\n"
        ".size bench_start, .-bench_start\n");
#define FRAME_WORDS 9
#define FRAME_FN 2
#define FRAME_ARG 3
#define FRAME_RET 6
#elif defined(__aarch64__)
#define HAVE_BARE_SWITCH 1
/* Frame from the saved sp upwards: x19..x30 then d8..d15 (160 bytes). A
 * new context has arg in x19, fn in x20 and bench_start in x30. */
__asm__(".text\n"
        ".globl bench_swap\n"
        ".hidden bench_swap\n"
        ".type bench_swap, %function\n"
        ".p2align 4\n"
        "bench_swap:\n"
        "    sub sp, sp, #160\n"
        "    stp x19, x20, [sp, #0]\n"
        "    stp x21, x22, [sp, #16]\n"
        "    stp x23, x24, [sp, #32]\n"
        "    stp x25, x26, [sp, #48]\n"
        "    stp x27, x28, [sp, #64]\n"
        "    stp x29, x30, [sp, #80]\n"
        "    stp d8, d9, [sp, #96]\n"
        "    stp d10, d11, [sp, #112]\n"
        "    stp d12, d13, [sp, #128]\n"
        "    stp d14, d15, [sp, #144]\n"
        "    mov x2, sp\n"
        "    str x2, [x0]\n"
        "    mov sp, x1\n"
        "    ldp x19, x20, [sp, #0]\n"
        "    ldp x21, x22, [sp, #16]\n"
        "    ldp x23, x24, [sp, #32]\n"
        "    ldp x25, x26, [sp, #48]\n"
        "    ldp x27, x28, [sp, #64]\n"
        "    ldp x29, x30, [sp, #80]\n"
        "    ldp d8, d9, [sp, #96]\n"
        "    ldp d10, d11, [sp, #112]\n"
        "    ldp d12, d13, [sp, #128]\n"
        "    ldp d14, d15, [sp, #144]\n"
        "    add sp, sp, #160\n"
        "    ret\n"
        ".size bench_swap, .-bench_swap\n"
        ".globl bench_start\n"
        ".hidden bench_start\n"
        ".type bench_start, %function\n"
        "bench_start:\n"
        "    mov x0, x19\n"
        "    blr x20\n"
        "    brk #0\n"
        ".size bench_start, .-bench_start\n");
#define FRAME_WORDS 20
#define FRAME_FN 1
#define FRAME_ARG 0
#define FRAME_RET 11
#endif

#ifdef HAVE_BARE_SWITCH

void bench_swap(void **from_sp, void *to_sp);
extern char bench_start[];

/* A context that will run fn(arg) on [lo, lo + size); fn never returns. */
static void *make_frame(char *lo, size_t size, void (*fn)(void *), void *arg)
{
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
    uintptr_t *sp = (uintptr_t *)top - FRAME_WORDS;

    for (int i = 0; i < FRAME_WORDS; i++)
        sp[i] = 0;
    sp[FRAME_FN] = (uintptr_t)fn;
    sp[FRAME_ARG] = (uintptr_t)arg;
    sp[FRAME_RET] = (uintptr_t)bench_start;
    return sp;
}

static char *alloc_stack(void)
{
    char *s = malloc(CO_STACK);

    if (!s)
        bench_fail("malloc of a stack", 0);
    return s;
}

/* ---- Bare switch ---- */

static void *bare_main_sp, *bare_co_sp;

static void bare_co(void *arg)
{
    (void)arg;
    for (;;)
        bench_swap(&bare_co_sp, bare_main_sp);
}

/* Main and one coroutine switch back and forth; ns per switch. The
 * coroutine is abandoned suspended, which is harmless: it owns nothing. */
double bench_bare_switch(long n)
{
    char *stack = alloc_stack();
    double t0, t1;

    bare_co_sp = make_frame(stack, CO_STACK, bare_co, NULL);
    t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        bench_swap(&bare_main_sp, bare_co_sp);
    t1 = bench_now_ns();
    free(stack);
    return (t1 - t0) / (2.0 * (double)n);
}

/* ---- Minimal scheduler ---- */

/* The running task is in no queue; a runnable one is in its priority's
 * FIFO. That is all a cooperative priority scheduler needs to keep. */
struct ms_task {
    struct ms_task *next;
    void *sp;
    int prio; /* 0 or 1 */
    int waiting;
    void (*fn)(long);
    long n;
    char *stack;
};

static struct {
    struct ms_task *head[2], *tail[2];
    struct ms_task *cur;
} ms;

static void ms_push(struct ms_task *t)
{
    int p = t->prio;

    t->next = NULL;
    if (ms.tail[p])
        ms.tail[p]->next = t;
    else
        ms.head[p] = t;
    ms.tail[p] = t;
}

static struct ms_task *ms_pop(void)
{
    int p = ms.head[1] ? 1 : 0;
    struct ms_task *t = ms.head[p];

    ms.head[p] = t->next;
    if (!ms.head[p])
        ms.tail[p] = NULL;
    return t;
}

/* cur has been queued (yield) or not (block, exit): run the best task. */
static void ms_run_next(struct ms_task *cur)
{
    struct ms_task *next = ms_pop();

    if (next != cur) {
        ms.cur = next;
        bench_swap(&cur->sp, next->sp);
    }
}

static void ms_yield(void)
{
    ms_push(ms.cur);
    ms_run_next(ms.cur);
}

static void ms_block(void)
{
    ms.cur->waiting = 1;
    ms_run_next(ms.cur);
}

/* Like a signal: lost unless the task waits. */
static void ms_wake(struct ms_task *t)
{
    if (t->waiting) {
        t->waiting = 0;
        ms_push(t);
    }
}

static void ms_entry(void *arg)
{
    struct ms_task *t = arg;

    t->fn(t->n);
    ms_run_next(t); /* exit: never queued again */
    abort();
}

static void ms_spawn(struct ms_task *t, void (*fn)(long), long n)
{
    t->prio = 1;
    t->waiting = 0;
    t->fn = fn;
    t->n = n;
    t->stack = alloc_stack();
    t->sp = make_frame(t->stack, CO_STACK, ms_entry, t);
    ms_push(t);
}

/* Main (priority 0) yields to the spawned tasks and gets the CPU back when
 * all have returned; the elapsed time is what the tasks did. */
static double ms_run(struct ms_task *tasks, int count)
{
    struct ms_task self = {.prio = 0};
    double t0, t1;

    ms.cur = &self;
    t0 = bench_now_ns();
    ms_yield();
    t1 = bench_now_ns();
    for (int i = 0; i < count; i++)
        free(tasks[i].stack);
    return t1 - t0;
}

static void ms_yielder(long n)
{
    for (long i = 0; i < n; i++)
        ms_yield();
}

/* Two tasks yield to each other n times each; ns per yield (one switch). */
double bench_minsched_yield(long n)
{
    struct ms_task t[2];

    ms_spawn(&t[0], ms_yielder, n);
    ms_spawn(&t[1], ms_yielder, n);
    return ms_run(t, 2) / (2.0 * (double)n);
}

static struct ms_task *ms_ping_task, *ms_pong_task;

static void ms_ping(long n)
{
    for (long i = 0; i < n; i++) {
        ms_wake(ms_pong_task);
        ms_block();
    }
}

static void ms_pong(long n)
{
    for (long i = 0; i < n; i++) {
        ms_block();
        ms_wake(ms_ping_task);
    }
}

/* Hand-off = wake the other task + block self; pong runs first so that it
 * waits before ping's first wake. ns per hand-off (one switch). */
double bench_minsched_handoff(long n)
{
    struct ms_task t[2];

    ms_pong_task = &t[0];
    ms_ping_task = &t[1];
    ms_spawn(&t[0], ms_pong, n);
    ms_spawn(&t[1], ms_ping, n);
    return ms_run(t, 2) / (2.0 * (double)n);
}

#else /* !HAVE_BARE_SWITCH */

double bench_bare_switch(long n)
{
    (void)n;
    return BENCH_SKIPPED;
}

double bench_minsched_yield(long n)
{
    (void)n;
    return BENCH_SKIPPED;
}

double bench_minsched_handoff(long n)
{
    (void)n;
    return BENCH_SKIPPED;
}

#endif /* HAVE_BARE_SWITCH */
