/* SPDX-License-Identifier: MIT */
/*
 * LWP support as a whole: the exported globals, LWP_Init and
 * LWP_TerminateProcessSupport, the small query functions, and messages.
 */
#define _GNU_SOURCE /* pthread_getattr_np */
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "fasttime/fasttime_internal.h"
#include "lwp_internal.h"

/* ---- Globals Coda programs use ---- */

int lwp_debug;
int lwp_overflowAction = LWP_SOABORT;
int lwp_stackUseEnabled = 1;
struct timeval last_context_switch;
struct timeval cont_sw_threshold;
struct timeval run_wait_threshold;
FILE *lwp_logfile;
int LWP_TraceProcesses;
int Cont_Sws;
__attribute__((weak)) int lwp_nextindex;

LWP_THREAD_LOCAL struct lwp_runtime *lwp__rt;
LWP_THREAD_LOCAL int lwp__in_switch;
LWP_THREAD_LOCAL volatile int lwp__no_cut;
_Atomic(struct lwp_runtime *) lwp__rt_any;
static struct lwp_runtime runtime;

/* The main LWP runs on the thread's own stack, which has no magic word of
 * ours; its canary points here instead. */
static uint64_t main_canary;

/* ---- Messages ---- */

void lwp__fatal(const char *call, const char *fmt, ...)
{
    va_list ap;
    struct lwp_runtime *rt = lwp__rt;

    fprintf(stderr, "***LWP fatal: %s in LWP \"%s\": ", call,
            rt && rt->current ? rt->current->name : "(none)");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

void lwp__trace(const char *fmt, ...)
{
    va_list ap;
    FILE *fp = lwp_logfile ? lwp_logfile : stderr;
    struct lwp_runtime *rt = lwp__rt;

    fprintf(fp, "***LWP (%s): ",
            rt && rt->current ? rt->current->name : "-");
    va_start(ap, fmt);
    vfprintf(fp, fmt, ap);
    va_end(ap);
    fputc('\n', fp);
    fflush(fp);
}

/* ---- Init and terminate ---- */

static void find_main_stack(struct lwp_runtime *rt)
{
    pthread_attr_t attr;
    void *addr = NULL;
    size_t size = 0;

    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &addr, &size);
        pthread_attr_destroy(&attr);
    }
    if (!addr) {
        /* Unknown: measure from here; deeper frames above are not ours. */
        addr = (char *)__builtin_frame_address(0) - (8u << 20);
        size = 8u << 20;
    }
    rt->main_stack_top = (char *)addr + size;
    rt->main_stack_size = size;
}

static int make_main(struct lwp_runtime *rt, int priority)
{
    struct lwp_pcb *m = lwp__pcb_alloc(rt);

    if (!m)
        return -1;
    lwp__pcb_set_name(m, "Main Process");
    m->priority = (uint8_t)priority;
    m->index = lwp_nextindex++;
    m->ep = NULL;
    m->afs_ep = NULL;
    m->parm = NULL;
    /* It runs on the thread's own stack, which the library does not own. */
    m->canary = lwp__main_canary_at(rt, &main_canary);
    m->counted = 0;
    m->group = 0;
    m->stack_lo = NULL;
    m->stack_size = 0;
    m->arena = NULL;
    m->vg_id = 0;
    rt->main = m;
    rt->current = m;
    lwp__make_runnable(rt, m);
    return 0;
}

static void release_all(struct lwp_runtime *rt)
{
    lwp__ctx_term(rt);
    lwp__overflow_term(rt);
    lwp__stacks_term(rt);
    lwp__pcbs_term(rt);
    lwp__events_term(&rt->events);
}

int LWP_Init(int version, int priority, PROCESS *pid)
{
    struct lwp_runtime *rt = &runtime;

    if (!lwp_logfile)
        lwp_logfile = stderr;
    /* Both of Coda's values are ours: -pthread defines _REENTRANT, which
     * selects the pthread variant's number in the header. */
    if (version != 210888002 && version != 210888003) {
        fprintf(stderr, "**** FATAL ERROR: LWP VERSION MISMATCH ****\n");
        exit(EXIT_FAILURE);
    }
    if (lwp__in_switch) /* lwp__rt is NULL there, but we are initialised */
        return LWP_EINSWITCH;
    if (lwp__rt)
        return LWP_SUCCESS;
    if (atomic_load(&lwp__rt_any)) /* one runtime, on another thread */
        return LWP_ETHREAD;
    if (priority < 0 || priority > LWP_MAX_PRIORITY)
        return LWP_EBADPRI;
    lwp__ft_ensure_init();
    memset(rt, 0, sizeof(*rt));
    rt->pagesize = (size_t)sysconf(_SC_PAGESIZE);
    rt->on_valgrind = lwp__running_on_valgrind();
    find_main_stack(rt);
    if (lwp__events_init(&rt->events) != 0 || make_main(rt, priority) != 0) {
        release_all(rt);
        return LWP_ENOMEM;
    }
    if (lwp__overflow_init(rt) != 0) {
        release_all(rt);
        return LWP_ESYSTEM;
    }
    timerclear(&last_context_switch);
    lwp__rt = rt;
    atomic_store(&lwp__rt_any, rt);
    LWP_DEBUG("LWP_Init at priority %d", priority);
    if (pid)
        *pid = lwp__pid(rt->main);
    return LWP_SUCCESS;
}

int LWP_TerminateProcessSupport(void)
{
    struct lwp_runtime *rt = lwp__rt;

    if (!rt)
        return lwp__no_rt();
    if (rt->current != rt->main) {
        printf("***LWP Abort: Terminate_Process_Support invoked from wrong "
               "process!\n");
        fflush(stdout);
        exit(1);
    }
    LWP_DEBUG("LWP_TerminateProcessSupport");
    if (rt->pre_terminate)
        rt->pre_terminate();
    if (rt->on_terminate)
        rt->on_terminate();
    if (rt->protect)
        LWP_UnProtectStacks();
    if (rt->zombie) {
        lwp__stack_put(rt, rt->zombie);
        lwp__bury(rt, rt->zombie, rt->zombie_kept);
        rt->zombie = NULL;
    }
    rt->recycled = NULL; /* its stack goes with the others */
    lwp__switch_hook = 0;
    release_all(rt);
    lwp__rt = NULL;
    atomic_store(&lwp__rt_any, NULL);
    return LWP_SUCCESS;
}

/* ---- Queries ---- */

int LWP_CurrentProcess(PROCESS *pid)
{
    if (!pid)
        return LWP_EBADARG;
    *pid = lwp__rt ? lwp__pid(lwp__rt->current) : NULL;
    return lwp__rt ? LWP_SUCCESS : lwp__no_rt();
}

PROCESS LWP_ThisProcess(void)
{
    return lwp__rt ? lwp__pid(lwp__rt->current) : NULL;
}

int LWP_GetProcessPriority(PROCESS pid, int *priority)
{
    struct lwp_pcb *p;
    int rc = lwp__handle(pid, &p);

    if (rc != LWP_SUCCESS)
        return rc;
    if (!priority)
        return LWP_EBADARG;
    *priority = p->priority;
    return LWP_SUCCESS;
}

char *LWP_Name(void)
{
    return lwp__rt ? lwp__rt->current->name : NULL;
}

int LWP_Index(void)
{
    return lwp__rt ? lwp__rt->current->index : lwp__no_rt();
}

int LWP_HighestIndex(void)
{
    return lwp__rt ? lwp_nextindex - 1 : lwp__no_rt();
}

void LWP_SetLog(FILE *file, int level)
{
    lwp_logfile = file ? file : stderr;
    lwp_debug = level;
}

const char *LWP_StrError(int code)
{
    static const char *const text[] = {
        "LWP_SUCCESS: success",
        "LWP_EBADPID: stale, foreign, exited or NULL PROCESS",
        "LWP_EBLOCKED: blocked",
        "LWP_EINIT: LWP_Init has not been called",
        "LWP_EMAXPROC: too many LWPs",
        "LWP_ENOBLOCK: not blocked",
        "LWP_ENOMEM: out of memory",
        "LWP_ENOPROCESS: no such LWP",
        "LWP_ENOWAIT: nobody was waiting",
        "LWP_EBADCOUNT: bad wait count or event list",
        "LWP_EBADEVENT: NULL event",
        "LWP_EBADPRI: bad priority",
        "LWP_NO_STACK: stack use was not counted",
        "LWP_EBADSIG: bad signal number",
        "LWP_ESYSTEM: a system call failed",
        "LWP_ENOROCKS: all rocks are in use",
        "LWP_EBADROCK: rock exists or is missing",
        "LWP_EBADARG: NULL pointer or negative size",
        "LWP_EINSWITCH: called from a special context's save or restore",
        "LWP_ESUSPENDED: the LWP is already suspended",
        "LWP_ENOTSUSPENDED: the LWP is not suspended",
        "LWP_EWAITSELF: an LWP cannot wait for its own exit",
        "LWP_EMAINPROC: not possible for the main LWP",
        "LWP_EBADFLAGS: unknown LWP_CREATE_* flags",
        "LWP_ETHREAD: called from an OS thread that is not the runtime's",
        "LWP_ESIGBUSY: the signal is used by IOMGR_Signal or by preemption",
    };

    if (code > 0 || -code >= (int)(sizeof(text) / sizeof(text[0])))
        return "unknown LWP return code";
    return text[-code];
}
