/* SPDX-License-Identifier: MIT */
/*
 * Stack overflow: a fault in the guard page below the running LWP's stack
 * is caught by a SIGSEGV handler on an alternate signal stack (the LWP's own
 * stack is exhausted), and a damaged magic word at the low end of a stack
 * is noticed when its LWP is switched out, as is a shared-stack LWP's live
 * stack deeper than its stacksize (lwp_shared.c). All are reported as
 * "LWP <name> overflowed its N-byte stack" and then lwp_overflowAction
 * decides: abort, or (guard page) destroy the LWP and carry on.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
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

/* depth: how deep it was found, when known (else 0). */
static void complain(struct lwp_pcb *p, const char *how, size_t depth)
{
    char msg[256];
    size_t n = 0;

    n = put_str(msg, n, sizeof(msg), "LWP ");
    n = put_str(msg, n, sizeof(msg), p->name);
    n = put_str(msg, n, sizeof(msg), " overflowed its ");
    n = put_num(msg, n, sizeof(msg), lwp__stack_limit(p));
    n = put_str(msg, n, sizeof(msg), "-byte stack");
    if (depth) {
        n = put_str(msg, n, sizeof(msg), ": ");
        n = put_num(msg, n, sizeof(msg), depth);
        n = put_str(msg, n, sizeof(msg), " bytes deep");
    }
    n = put_str(msg, n, sizeof(msg), how);
    n = put_str(msg, n, sizeof(msg), "\n");
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

void lwp__canary_damaged(struct lwp_runtime *rt, struct lwp_pcb *p)
{
    (void)rt;
    apply_action(p, " (magic word at its low end damaged)", 0);
    *p->canary = 0; /* report once, not at every switch */
}

/* A shared-stack LWP's live stack, being saved, is deeper than its
 * stacksize. It can go on (the shared stack is larger), so LWP_SOMESSAGE
 * and LWP_SOQUIET let it. */
void lwp__shared_overflowed(struct lwp_pcb *p, size_t depth)
{
    apply_action(p, " when it was switched out", depth);
}

static void chain(int sig, siginfo_t *si, void *uctx)
{
    struct lwp_runtime *rt = lwp__rt;
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

static void on_segv(int sig, siginfo_t *si, void *uctx)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *cur = rt ? rt->current : NULL;
    char *addr = si->si_addr;

    if (cur && cur->stack_lo && addr < cur->stack_lo &&
        addr >= cur->stack_lo - rt->pagesize) {
        apply_action(cur, "", 0);
        /* The LWP cannot continue on a full stack: end it here and let the
         * others run. SA_NODEFER keeps SIGSEGV unblocked, so leaving the
         * handler by a context switch is safe. */
        lwp__exit_current(rt, LWP_EXIT_DESTROYED);
    }
    if (rt)
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
    if (rt->segv_installed)
        sigaction(SIGSEGV, &rt->old_segv, NULL);
    rt->segv_installed = 0;
    if (rt->altstack) {
        sigaltstack(&rt->old_altstack, NULL);
        munmap(rt->altstack, rt->altstack_size);
        rt->altstack = NULL;
    }
}
