/* SPDX-License-Identifier: MIT */
/*
 * Preemption: a POSIX timer on the LWP thread's CPU clock sends a signal
 * every slice; the handler dispatches when the running LWP may be cut
 * (see <lwp/preempt.h> for the rules and why).
 *
 * How "not inside the runtime" is known without any cost to the runtime:
 * every function of this library is placed in one section, lwp_text (the
 * build renames the objects' .text; see cmake/lwp-text-cc), whose bounds
 * the linker provides. The handler reads the interrupted program counter
 * and switches only if it lies in the main executable's code and outside
 * lwp_text. Library code that calls out (malloc, libev) is then covered
 * too, because the program counter is in libc or libev, not in the
 * executable. Nothing is added to any hot path. Where such code is part
 * of the executable (a static program; clang's sanitizer runtimes, whose
 * fiber annotations every switch of that build calls), the runtime sets
 * lwp__no_cut for the spans that must not be cut: a switch from its
 * start until the LWP switched to runs again, the shared stacks' copier,
 * the work after a switch, stack protection (see lwp_internal.h).
 *
 * Switching from inside a signal handler is sound here: the interrupted
 * code is the program's own, the handler runs on the interrupted LWP's
 * stack, and the LWP resumes in the handler later, whose return restores
 * every register the kernel saved. SA_NODEFER keeps the signal unblocked
 * while the handler runs, so the LWP switched to is preemptible too; a
 * nested tick finds the program counter in lwp_text and does nothing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <lwp/lwp.h>
#include <lwp/preempt.h>

#include "lwp/arch/fpenv.h"
#include "lwp/lwp_internal.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define MAX_RANGES 8

/* Bounds of lwp_text, from the linker; weak so a build without the
 * section links (and PRE_InitPreempt then refuses if it must know). */
extern const char __start_lwp_text[]
    __attribute__((weak, visibility("hidden")));
extern const char __stop_lwp_text[]
    __attribute__((weak, visibility("hidden")));

struct range {
    uintptr_t lo, hi;
};

static struct {
    int on;
    int signo;
    timer_t timer;
    struct timeval slice;
    struct sigaction old;
    struct range exe[MAX_RANGES]; /* the main executable's code */
    int nexe;
    int exe_static;               /* no program interpreter: libc inside */
    int warned;                   /* the unsafe-configuration warning */
    unsigned long taken, skipped;
} pre = {.signo = SIGALRM};

volatile int PRE_Block;

/* ---- Where the interrupted code is ---- */

static int collect_exe(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    pre.nexe = 0;
    pre.exe_static = 1;
    for (int i = 0; i < info->dlpi_phnum && pre.nexe < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

        if (ph->p_type == PT_INTERP)
            pre.exe_static = 0;
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        pre.exe[pre.nexe].lo = info->dlpi_addr + ph->p_vaddr;
        pre.exe[pre.nexe].hi = pre.exe[pre.nexe].lo + ph->p_memsz;
        pre.nexe++;
    }
    return 1; /* the first object is the main program: stop */
}

static int in_exe(uintptr_t pc)
{
    for (int i = 0; i < pre.nexe; i++)
        if (pc >= pre.exe[i].lo && pc < pre.exe[i].hi)
            return 1;
    return 0;
}

static int in_library(uintptr_t pc)
{
    return pc >= (uintptr_t)__start_lwp_text && pc < (uintptr_t)__stop_lwp_text;
}

static uintptr_t interrupted_pc(const void *ucv)
{
    const ucontext_t *uc = ucv;

#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
#error "preemption needs the interrupted program counter of this architecture"
#endif
}

/* ---- The tick ---- */

static int may_cut(const struct lwp_runtime *rt, const void *uc)
{
    uintptr_t pc = interrupted_pc(uc);

    return !PRE_Block && !lwp__no_cut && rt->current &&
           rt->current->pre_level == 0 && in_exe(pc) && !in_library(pc);
}

/* The handler's return restores the signal mask saved in the frame when
 * this LWP was cut; other LWPs may have changed the thread's mask since,
 * and LWPs share it, so the frame gets the mask now in force. (The
 * handler adds nothing to the mask: SA_NODEFER, empty sa_mask.) */
static void mask_to_frame(void *ucv)
{
    ucontext_t *uc = ucv;
    sigset_t now;

    if (pthread_sigmask(SIG_SETMASK, NULL, &now) == 0)
        memcpy(&uc->uc_sigmask, &now, LWP_KERNEL_SIGSET_BYTES);
}

/* Switch with the interrupted FP environment in place, not the default
 * one the kernel gives handlers: other LWPs and the special contexts see
 * the environment as the program left it. What the switches leave when
 * this LWP resumes (FP environment and signal mask) is what its
 * handler's return restores. */
static void dispatch_in_frame(void *uc)
{
    struct lwp_fpenv env;
    int framed = lwp__fpenv_from_frame(uc, &env) == 0;

    if (framed)
        lwp__fpenv_load(&env);
    LWP_DispatchProcess();
    if (framed) {
        lwp__fpenv_save(&env);
        lwp__fpenv_to_frame(uc, &env);
    }
    mask_to_frame(uc);
}

/* The LWP cut here stays in a critical section until the handler
 * returns: a tick nested in what the handler calls outside the library
 * (IOMGR's poll, pthread_sigmask: executable code in a static program)
 * would cut it mid-way, and every resume inside the handler could nest
 * one more signal frame on its stack. */
static void on_tick(int signo, siginfo_t *si, void *uc)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *me;
    int saved_errno = errno;

    (void)signo;
    (void)si;
    if (!rt || !pre.on)
        return;
    if (!may_cut(rt, uc)) {
        pre.skipped++;
        return;
    }
    pre.taken++;
    me = rt->current;
    me->pre_level++;
    if (rt->on_preempt)
        rt->on_preempt();
    dispatch_in_frame(uc);
    me->pre_level--;
    errno = saved_errno;
}

/* ---- Timer and handler ---- */

static int valid_slice(const struct timeval *tv)
{
    return tv->tv_sec >= 0 && tv->tv_usec >= 0 && tv->tv_usec < 1000000 &&
           (tv->tv_sec > 0 || tv->tv_usec > 0);
}

static int arm(void)
{
    struct itimerspec its;

    its.it_interval.tv_sec = pre.slice.tv_sec;
    its.it_interval.tv_nsec = (long)pre.slice.tv_usec * 1000;
    its.it_value = its.it_interval;
    return timer_settime(pre.timer, 0, &its, NULL);
}

static void stop(void)
{
    if (!pre.on)
        return;
    pre.on = 0;
    timer_delete(pre.timer);
    sigaction(pre.signo, &pre.old, NULL);
    lwp__sig_release(lwp__rt, pre.signo, LWP_SIG_PREEMPT);
}

/* IOMGR_Signal delivers signo: taking it over would silently end those
 * deliveries, and IOMGR_CancelSignal would later restore an action under
 * a running timer. */
static int iomgr_has(int signo)
{
    return lwp__rt->sig_owner[signo] == LWP_SIG_IOMGR;
}

/* Handler and timer for pre.signo: LWP_SUCCESS, or LWP_ESIGBUSY /
 * LWP_ESYSTEM with nothing left set up. */
static int start(void)
{
    struct sigaction sa;
    struct sigevent sev;

    if (lwp__sig_claim(lwp__rt, pre.signo, LWP_SIG_PREEMPT) != 0)
        return LWP_ESIGBUSY;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_tick;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = pre.signo;
    sev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
    if (sigaction(pre.signo, &sa, &pre.old) != 0)
        goto fail;
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &pre.timer) != 0) {
        sigaction(pre.signo, &pre.old, NULL);
        goto fail;
    }
    pre.on = 1;
    if (arm() != 0) {
        stop();
        return LWP_ESYSTEM;
    }
    return LWP_SUCCESS;
fail:
    lwp__sig_release(lwp__rt, pre.signo, LWP_SIG_PREEMPT);
    return LWP_ESYSTEM;
}

/* The library's code must be told apart from the executable's when it is
 * linked into it. */
static int library_bounds_known(void)
{
    if ((uintptr_t)__stop_lwp_text > (uintptr_t)__start_lwp_text)
        return 1;
    return !in_exe((uintptr_t)PRE_InitPreempt);
}

/* A sanitizer runtime's code (allocator, interceptors, reports) that is
 * part of the executable, where ticks may land (GCC's sanitizers are
 * shared libraries; clang links its runtimes into the program). */
static int sanitizer_in_exe(void)
{
    static const char *const probes[] = {
        "__asan_init", "__tsan_init", "__msan_init", "__hwasan_init",
        "__lsan_do_leak_check", "__ubsan_handle_add_overflow",
    };

    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        void *sym = dlsym(RTLD_DEFAULT, probes[i]);

        if (sym && in_exe((uintptr_t)sym))
            return 1;
    }
    return 0;
}

/* Once per process: the configurations <lwp/preempt.h> calls unsafe
 * unless the program adds critical sections, which hang or corrupt much
 * later (a tick inside malloc's lock) rather than failing here. */
static void warn_if_unsafe(void)
{
    const char *what;

    if (pre.warned)
        return;
    if (pre.exe_static)
        what = "the program is statically linked, so libc";
    else if (sanitizer_in_exe())
        what = "a sanitizer runtime";
    else
        return;
    pre.warned = 1;
    fprintf(stderr,
            "***LWP warning: PRE_InitPreempt: %s is part of the executable, "
            "where preemption may cut an LWP: wrap every call into it that "
            "takes a lock (malloc, free, stdio, ...) in "
            "PRE_BeginCritical/PRE_EndCritical (see <lwp/preempt.h>)\n",
            what);
    fflush(stderr);
}

int PRE_InitPreempt(struct timeval *slice)
{
    struct timeval dflt = {PRE_DEFAULT_SLICE_SEC, 0};
    int rc;

    if (!lwp__rt)
        return lwp__no_rt();
    if (!slice)
        slice = &dflt;
    if (!valid_slice(slice))
        return LWP_EBADARG;
    if (pre.on) {
        pre.slice = *slice;
        return arm() == 0 ? LWP_SUCCESS : LWP_ESYSTEM;
    }
    if (iomgr_has(pre.signo))
        return LWP_ESIGBUSY;
    dl_iterate_phdr(collect_exe, NULL);
    if (!library_bounds_known())
        return LWP_ESYSTEM;
    warn_if_unsafe();
    pre.slice = *slice;
    pre.taken = pre.skipped = 0;
    rc = start();
    if (rc != LWP_SUCCESS)
        return rc;
    lwp__rt->pre_terminate = stop; /* idempotent: left set once off */
    return LWP_SUCCESS;
}

int PRE_EndPreempt(void)
{
    if (!lwp__rt)
        return lwp__no_rt();
    stop();
    return LWP_SUCCESS;
}

int PRE_SetSignal(int signo)
{
    if (!lwp__sig_usable(signo))
        return LWP_EBADSIG;
    if (!lwp__rt) {
        int why = lwp__no_rt();

        if (why != LWP_EINIT) /* another thread, or a context routine */
            return why;
        pre.signo = signo; /* before LWP_Init: nobody owns signals yet */
        return LWP_SUCCESS;
    }
    if (iomgr_has(signo))
        return LWP_ESIGBUSY;
    if (!pre.on) {
        pre.signo = signo;
        return LWP_SUCCESS;
    }
    stop();
    pre.signo = signo;
    return start();
}

/* ---- Levels ---- */

void PRE_PreemptMe(void)
{
    if (lwp__rt)
        lwp__rt->current->pre_level = 0;
}

void PRE_BeginCritical(void)
{
    if (lwp__rt)
        lwp__rt->current->pre_level++;
}

void PRE_EndCritical(void)
{
    if (lwp__rt && lwp__rt->current->pre_level > 0)
        lwp__rt->current->pre_level--;
}

void PRE_Concurrent(int on)
{
    (void)on;
}

unsigned long PRE_Preemptions(void)
{
    return pre.taken;
}

unsigned long PRE_Skipped(void)
{
    return pre.skipped;
}
