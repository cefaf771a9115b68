/* SPDX-License-Identifier: MIT */
/*
 * Stack overflow, found in five ways:
 *  - a fault in the guard region below the running LWP's stack, caught by
 *    a SIGSEGV handler on an alternate signal stack (the LWP's own stack is
 *    exhausted);
 *  - a fault anywhere while the running LWP's stack pointer, read from the
 *    signal's saved context, is below its stack: a frame larger than the
 *    guard region jumped over it (x86-64 and AArch64);
 *  - at a context switch, the stack pointer of the LWP leaving is below
 *    its stack (lwp_sched_inline.h: one compare), or the magic word at its
 *    stack's low end is damaged, or a shared-stack LWP's live stack is
 *    deeper than its stacksize (lwp_shared.c);
 *  - when an arena stack is given back, or LWP support terminates, the
 *    unused gap below it was touched (lwp_arena.c).
 * All are reported as "LWP <name> overflowed its N-byte stack ... (index
 * I, PROCESS 0x...)", and then lwp_overflowAction decides: abort, or
 * carry on; an LWP that cannot go on (the fault, a stack pointer below
 * its stack) is destroyed.
 */
#define _GNU_SOURCE /* REG_RSP */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "lwp_internal.h"

#define ALTSTACK_SIZE (64 * 1024)

/* Formatting without stdio: this runs inside a signal handler. */
static size_t put_str(char *buf, size_t at, size_t cap, const char *s)
{
    while (*s && at + 1 < cap)
        buf[at++] = *s++;
    return at;
}

static size_t put_num(char *buf, size_t at, size_t cap, size_t n)
{
    char digits[24];
    int k = 0;

    do {
        digits[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    while (k && at + 1 < cap)
        buf[at++] = digits[--k];
    return at;
}

static size_t put_hex(char *buf, size_t at, size_t cap, uintptr_t n)
{
    char digits[2 * sizeof(n)];
    int k = 0;

    do {
        digits[k++] = "0123456789abcdef"[n & 15];
        n >>= 4;
    } while (n);
    at = put_str(buf, at, cap, "0x");
    while (k && at + 1 < cap)
        buf[at++] = digits[--k];
    return at;
}

/* depth: how deep it was found, when known (else 0). The name alone does
 * not tell LWPs apart (it may be empty, or shared), so the index and the
 * handle follow, as %d and %p print them. */
static void complain(struct lwp_pcb *p, const char *how, size_t depth)
{
    char msg[320];
    size_t n = 0;

    n = put_str(msg, n, sizeof(msg), "LWP ");
    n = put_str(msg, n, sizeof(msg), p->name[0] ? p->name : "(unnamed)");
    n = put_str(msg, n, sizeof(msg), " overflowed its ");
    n = put_num(msg, n, sizeof(msg), lwp__stack_limit(p));
    n = put_str(msg, n, sizeof(msg), "-byte stack");
    if (depth) {
        n = put_str(msg, n, sizeof(msg), ": ");
        n = put_num(msg, n, sizeof(msg), depth);
        n = put_str(msg, n, sizeof(msg), " bytes deep");
    }
    n = put_str(msg, n, sizeof(msg), how);
    n = put_str(msg, n, sizeof(msg), " (index ");
    if (p->index < 0)
        n = put_str(msg, n, sizeof(msg), "-");
    n = put_num(msg, n, sizeof(msg),
                p->index < 0 ? 0 - (size_t)p->index : (size_t)p->index);
    n = put_str(msg, n, sizeof(msg), ", PROCESS ");
    n = put_hex(msg, n, sizeof(msg), (uintptr_t)lwp__pid(p));
    n = put_str(msg, n, sizeof(msg), ")\n");
    if (write(STDERR_FILENO, msg, n) < 0)
        return; /* nothing better to do with a failed diagnostic */
}

/* Returns if the program may go on (the action is not LWP_SOABORT). */
static void apply_action(struct lwp_pcb *p, const char *how, size_t depth)
{
    switch (lwp_overflowAction) {
    case LWP_SOQUIET:
        return;
    case LWP_SOMESSAGE:
        complain(p, how, depth);
        lwp_overflowAction = LWP_SOQUIET;
        return;
    default:
        complain(p, how, depth);
        abort();
    }
}

void lwp__canary_damaged(struct lwp_runtime *rt, struct lwp_pcb *p,
                         const char *when)
{
    char how[96];
    size_t n = put_str(how, 0, sizeof(how),
                       " (magic word at its low end damaged");

    (void)rt;
    n = put_str(how, n, sizeof(how), when);
    n = put_str(how, n, sizeof(how), ")");
    how[n] = '\0';
    apply_action(p, how, 0);
    *p->canary = 0; /* report once, not at every switch */
}

/* A shared-stack LWP's live stack, being saved, is deeper than its
 * stacksize. It can go on (the shared stack is larger), so LWP_SOMESSAGE
 * and LWP_SOQUIET let it. */
void lwp__shared_overflowed(struct lwp_pcb *p, size_t depth)
{
    apply_action(p, " when it was switched out", depth);
}

/* The main LWP runs on the thread's stack, which has no magic word of
 * ours, so its word is elsewhere. As the switch compares every LWP's stack
 * pointer with the address of its word (lwp__stack_suspect), the main
 * LWP's word had best lie below the thread's stack: the library's own
 * does when the thread is the process's first (its stack is above the
 * program and the libraries) or the library is linked statically; a
 * word from the heap does in the usual layout for other threads (the
 * heap lies above the program, below the mappings that hold thread
 * stacks). Failing both, the main LWP's switches take the slow path. */
uint64_t *lwp__main_canary_at(struct lwp_runtime *rt, uint64_t *word)
{
    const char *lo = rt->main_stack_top - rt->main_stack_size;

    if ((const char *)word < lo)
        return word;
    if (!rt->main_canary_heap)
        rt->main_canary_heap = calloc(1, sizeof(uint64_t));
    if (rt->main_canary_heap && (const char *)rt->main_canary_heap < lo)
        return rt->main_canary_heap;
    return word;
}

static size_t depth_at(const struct lwp_pcb *p, const char *sp)
{
    return (size_t)(p->stack_lo + p->stack_size - sp);
}

/* It runs on memory that is not its stack (an arena's gap, or beyond the
 * guard region: another LWP's stack, perhaps): it cannot go on. */
void lwp__sp_overflowed(struct lwp_runtime *rt, struct lwp_pcb *p, char *sp)
{
    apply_action(p, " at a context switch", depth_at(p, sp));
    lwp__exit_current(rt, LWP_EXIT_DESTROYED);
}

/* The LWP has returned from its overflow, which harmed no other stack;
 * it may go on. */
void lwp__gap_overflowed(struct lwp_pcb *p, const char *when)
{
    apply_action(p, when, 0);
}

/* Also for a fault of another thread, or inside a special context's
 * routine, where lwp__rt is NULL. */
static void chain(int sig, siginfo_t *si, void *uctx)
{
    struct lwp_runtime *rt =
        atomic_load_explicit(&lwp__rt_any, memory_order_relaxed);
    struct sigaction old = rt->old_segv;

    if (old.sa_flags & SA_SIGINFO) {
        if (old.sa_sigaction) {
            old.sa_sigaction(sig, si, uctx);
            return;
        }
    } else if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) {
        old.sa_handler(sig);
        return;
    }
    /* Default action: reinstall it and return; the fault repeats and
     * ends the program the usual way. */
    sigaction(SIGSEGV, &old, NULL);
    rt->segv_installed = 0;
}

/* The stack pointer of the interrupted code, from the signal's context;
 * NULL where this file does not know the layout. */
static char *fault_sp(void *uctx)
{
    const ucontext_t *uc = uctx;

#if defined(__x86_64__)
    return (char *)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (char *)uc->uc_mcontext.sp;
#else
    (void)uc;
    return NULL;
#endif
}

/* Code running on a signal's alternate stack (a handler of the program's)
 * is not on the LWP's stack, wherever that is. */
static int on_altstack(const char *sp)
{
    stack_t ss;

    return sigaltstack(NULL, &ss) == 0 && !(ss.ss_flags & SS_DISABLE) &&
           sp >= (char *)ss.ss_sp && sp <= (char *)ss.ss_sp + ss.ss_size;
}

/* A fault of the running LWP p at addr, with stack pointer sp, is an
 * overflow: addr in the guard region below its stack, or sp below its
 * stack (by at most LWP_MAXSTACK: farther is a wild stack pointer, not a
 * frame). Sets *depth when it is known. */
static int is_overflow(struct lwp_runtime *rt, struct lwp_pcb *p,
                       const char *addr, const char *sp, size_t *depth)
{
    const char *lo = p->stack_lo;

    *depth = 0;
    if (!lo)
        return 0; /* the main LWP: the thread's stack is the kernel's */
    if (sp && sp < lo && (size_t)(lo - sp) <= (size_t)LWP_MAXSTACK &&
        !on_altstack(sp)) {
        *depth = depth_at(p, sp);
        return 1;
    }
    return addr < lo && (size_t)(lo - addr) <= rt->guard;
}

static void on_segv(int sig, siginfo_t *si, void *uctx)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *cur = rt ? rt->current : NULL;
    size_t depth;

    if (cur && is_overflow(rt, cur, si->si_addr, fault_sp(uctx), &depth)) {
        apply_action(cur, "", depth);
        /* The LWP cannot continue on a full stack: end it here and let the
         * others run. SA_NODEFER keeps SIGSEGV unblocked, so leaving the
         * handler by a context switch is safe. */
        lwp__exit_current(rt, LWP_EXIT_DESTROYED);
    }
    if (atomic_load_explicit(&lwp__rt_any, memory_order_relaxed))
        chain(sig, si, uctx);
}

static int install_altstack(struct lwp_runtime *rt)
{
    stack_t ss;

    if (sigaltstack(NULL, &rt->old_altstack) != 0)
        return -1;
    if (!(rt->old_altstack.ss_flags & SS_DISABLE))
        return 0; /* the program has one already; share it */
    rt->altstack = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rt->altstack == MAP_FAILED) {
        rt->altstack = NULL;
        return -1;
    }
    rt->altstack_size = ALTSTACK_SIZE;
    ss.ss_sp = rt->altstack;
    ss.ss_size = ALTSTACK_SIZE;
    ss.ss_flags = 0;
    return sigaltstack(&ss, NULL);
}

int lwp__overflow_init(struct lwp_runtime *rt)
{
    struct sigaction sa;

    rt->guard = (LWP_GUARD_BYTES + rt->pagesize - 1) & ~(rt->pagesize - 1);

    if (install_altstack(rt) != 0) {
        lwp__overflow_term(rt);
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &rt->old_segv) != 0) {
        lwp__overflow_term(rt);
        return -1;
    }
    rt->segv_installed = 1;
    return 0;
}

void lwp__overflow_term(struct lwp_runtime *rt)
{
    free(rt->main_canary_heap);
    rt->main_canary_heap = NULL;
    if (rt->segv_installed)
        sigaction(SIGSEGV, &rt->old_segv, NULL);
    rt->segv_installed = 0;
    if (rt->altstack) {
        sigaltstack(&rt->old_altstack, NULL);
        munmap(rt->altstack, rt->altstack_size);
        rt->altstack = NULL;
    }
}
