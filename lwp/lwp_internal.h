/* SPDX-License-Identifier: MIT */
/*
 * The LWP runtime's private state. Everything lives in one struct reached
 * through lwp__rt (NULL while LWP support is not initialised); the module
 * sub-structs are the run queues, the event table, the PCB slabs and the
 * stack pool.
 */
#ifndef LWP_LWP_INTERNAL_H
#define LWP_LWP_INTERNAL_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lwp/context.h>
#include <lwp/lwp.h>

#include "arch/switch.h"

/* Internal symbols are never interposed: direct, not GOT, addressing. */
#pragma GCC visibility push(hidden)

#define LWP_NPRIO (LWP_MAX_PRIORITY + 1)
#define LWP_MINSTACK 32768
/* Below every stack: PROT_NONE under a stack of its own mapping, an
 * unused gap under an arena stack (lwp_stack.c). Wide enough that a frame
 * of up to this much beyond the stack's end, allocated in one step by code
 * built without -fstack-clash-protection, lands in it rather than in the
 * next stack. Address space only: it costs no memory and no mapping. */
#define LWP_GUARD_BYTES (64 * 1024)
#define LWP_MAXSTACK (1L << 30) /* larger requests get LWP_ENOMEM */
#define LWP_MAXROCKS 8
#define LWP_NAME_INLINE 32
#define LWP_INLINE_NODES 2
#define LWP_PCB_PER_SLAB 256

#if defined(__GNUC__) || defined(__clang__)
#define lwp_likely(x) __builtin_expect(!!(x), 1)
#define lwp_unlikely(x) __builtin_expect(!!(x), 0)
#else
#define lwp_likely(x) (x)
#define lwp_unlikely(x) (x)
#endif

/* Always-on assertion for states that cannot be reported to a caller. */
#define LWP_ASSERT(cond, call)                                               \
    do {                                                                     \
        if (lwp_unlikely(!(cond)))                                           \
            lwp__fatal((call), "internal check failed: %s (%s:%d)", #cond,   \
                       __FILE__, __LINE__);                                  \
    } while (0)

enum lwp_state {
    LWP_ST_FREE = 0,   /* slot never used or recycled; handle invalid */
    LWP_ST_READY,      /* in its run queue (the running LWP is READY too) */
    LWP_ST_WAITING,    /* blocked on events or in LWP_QWait */
    LWP_ST_SUSPENDED,  /* runnable but held off the run queue */
    LWP_ST_DEAD,       /* exited or destroyed; handle invalid */
    LWP_ST_ZOMBIE      /* exited, joinable: PCB and status kept */
};

/* lwp_pcb.xflags: the rare conditions the hot paths test, one byte in the
 * PCB's first cache line (so an exit, for one, reads no other line of a
 * PCB that may have gone cold). */
#define LWP_XF_SUSP 0x1     /* suspended (state SUSPENDED, or WAITING) */
#define LWP_XF_CTX 0x2      /* has special contexts: switches run them */
#define LWP_XF_JOINABLE 0x4 /* LWP_CREATE_JOINABLE */
#define LWP_XF_JOINERS 0x8  /* others are in LWP_WaitExit on it */
#define LWP_XF_JOINING 0x10 /* is in LWP_WaitExit itself */
#define LWP_XF_SHARED 0x20  /* LWP_CREATE_SHARED_STACK (lwp_shared.c) */
#define LWP_XF_UNDO 0x40    /* in a module's wait: pcb.undo if it ends */
#define LWP_XF_STAMPED 0x80 /* last_ready may be set (run_wait_threshold) */
/* What a recycled LWP keeps. */
#define LWP_XF_KEPT (LWP_XF_JOINABLE | LWP_XF_JOINERS | LWP_XF_SHARED)

/* A suspended LWP that waits keeps waiting, with its count of events
 * still needed (waitcnt) raised, or its QWait semaphore (qpending)
 * lowered, by this much: signals are counted as usual but never complete
 * the wait, so the wake-up paths need no test; LWP_ResumeProcess takes
 * the bias off and finishes a wait that completed meanwhile. */
#define LWP_SUSP_BIAS (1 << 30)

/* One entry of a blocked LWP's event list. The entries waiting on one
 * address form a circular FIFO in the order they blocked; the first of
 * them (`head` set) stands for the event in its hash bucket's chain, so an
 * event with waiters needs no record of its own. */
struct lwp_waitnode {
    struct lwp_waitnode *next, *prev; /* FIFO of this address (circular) */
    struct lwp_waitnode *hnext;       /* hash chain, on the head only */
    struct lwp_pcb *pcb;
    const void *addr; /* as given; NULL once signalled or unlinked */
    int slot;         /* index in pcb->nodes */
    int head;         /* first waiter: linked in the hash chain */
};

struct lwp_evtable {
    struct lwp_waitnode **buckets; /* chains of head entries */
    unsigned int shift;            /* hash = (addr * K) >> shift */
    size_t nbuckets;
    size_t count;                  /* addresses with at least one waiter */
};

/* An LWP in LWP_WaitExit, in its PCB (not its stack, which a shared-stack
 * LWP does not have in place while it waits): linked into the target's
 * joiners until the target ends and fills in `status`. */
struct lwp_joiner {
    struct lwp_joiner *next;
    struct lwp_pcb *waiter, *target; /* target NULL once handed over */
    int status;
};

struct lwp_pcb {
    struct lwp_pcb *next, *prev; /* run queue (circular) or free list */
    struct lwp_arch_ctx ctx;
    uint64_t *canary;            /* zero word at the stack's low end */
    uint8_t state;               /* enum lwp_state */
    uint8_t priority;
    uint8_t xflags;              /* LWP_XF_* */
    uint8_t qwaiting;            /* blocked in LWP_QWait */
    int index;
    int qpending;                /* Coda's counting semaphore */
    int waitcnt;                 /* entries still needed to wake */
    int eventcnt;                /* entries in nodes[] while waiting; 0 once runnable */
    int wakevent;                /* 1-based entry that completed the wait */
    void *io_req;                /* IOMGR request while selecting */
    /* ^ the first 64 bytes (assembly switch): what a switch and an IOMGR
     * wake-up touch */
    PROCESS pid;                 /* its handle: lwp__pid() */
    int nodecap;
    struct lwp_waitnode *nodes;  /* inline_nodes or heap */
    void (*ep)(void *);
    void *(*afs_ep)(void *);     /* OpenAFS-typed entry point, if given */
    void *parm;
    char *stack_lo;              /* lowest usable byte (NULL for main) */
    struct lwp_arena *arena;     /* owner, for unguarded arena stacks */
    size_t stack_size;
    unsigned int vg_id;          /* valgrind stack id */
    void *topstack;              /* SP at the last switch (ucontext) */
    struct timeval last_ready;   /* for run_wait_threshold: set only with
                                  * LWP_XF_STAMPED, so a block need not
                                  * touch this line to clear it */
    int pre_level;               /* 0: preemptible (PRE_PreemptMe); >0: not */
    uint8_t counted;             /* stack kept for LWP_StackUsed */
    uint8_t error;               /* lwp_geterr(): an LE_* code */
    int group;                   /* LWP_GetGroup */
    int exit_status;             /* once DEAD or ZOMBIE */
    struct lwp_joiner *joiners;  /* in LWP_WaitExit on this one (FIFO) */
    struct lwp_joiner *joining;  /* this one's, while in LWP_WaitExit */
    struct lwp_joiner join;      /* the record LWP_WaitExit links */
    /* A shared-stack LWP's live stack while another one has the shared
     * stack (lwp_shared.c): sh_len bytes that go back below the top. */
    char *sh_save;
    uint32_t sh_len, sh_cap;
    uint32_t sh_hw;              /* deepest sh_len seen: LWP_StackUsed */
    uint32_t sh_limit;           /* its stacksize: the depth it may use */
    uint8_t sh_fresh;            /* not started: its first frame is due */
    void *sh_sp;                 /* its ctx.sp while ctx.sp is NULL (asm) */
    void *io_heap;               /* IOMGR's request off the stack (shared
                                  * stack, or LWP_ProtectStacks) */
    /* With LWP_XF_UNDO: what a module above (Lock) undoes if the LWP is
     * destroyed or recycled while it waits there (lwp__detach). */
    void (*undo)(void *arg);
    void *undo_arg;
    uintptr_t handle0;           /* the slot's generation-0 handle */
    uint8_t hgen;                /* generation: steps at each release */
    struct lwp_ctxslot *ctxs;    /* special contexts, by cookie */
    int nrocks;
    int rock_tags[LWP_MAXROCKS]; /* apart from the values: no padding */
    char *rock_values[LWP_MAXROCKS];
    char *name;                  /* name_buf or heap */
    char name_buf[LWP_NAME_INLINE];
    struct lwp_waitnode inline_nodes[LWP_INLINE_NODES];
} __attribute__((aligned(64)));

/* Written in the top bytes of a stack while it is unused (pooled, or in
 * an arena's free list). */
struct lwp_pooled {
    uint32_t dirty; /* bytes below the top that may be non-zero */
    struct lwp_pooled *next;
    unsigned int vg_id;
};
#define LWP_DIRTY_UNKNOWN UINT32_MAX

struct lwp_stack_class {
    size_t size;
    struct lwp_pooled *head; /* pooled stacks of this size */
    size_t count;
};

/* Stacks without guard pages, many to one mapping, each above an unused
 * gap; used once the kernel refuses more mappings (see lwp_arena.c). */
struct lwp_arena {
    struct lwp_arena *next;
    char *base;
    size_t map_size;
    size_t stack_size;
    size_t slot_size;                /* rt->guard + stack_size */
    unsigned int nstacks, carved;
    struct lwp_pooled *free;
};

#define LWP_STACK_CLASSES 8

struct lwp_shared;

struct lwp_runtime {
    struct lwp_pcb *current;
    struct lwp_pcb *stack_owner;     /* whose live stack the shared one holds */
    struct lwp_pcb *runq[LWP_NPRIO]; /* head = running or next to run */
    unsigned int runmask;            /* bit p set: runq[p] non-empty */
    int protect;                     /* LWP_ProtectStacks mode */
    /* Non-zero while switches must take the slow path for a mode that
     * lasts (protected stacks, special contexts): one word to test. */
    int slow;
    /* LWPs on unguarded arena stacks: while there are any, every switch
     * reads the magic word of the LWP it leaves (lwp__stack_suspect). */
    int watch_words;
    int ctx_lwps;                    /* LWPs with special contexts */
    struct lwp_pcb *zombie;          /* exited; reaped after the switch */
    int zombie_kept;                 /* ... then left a ZOMBIE, not freed */
    struct lwp_pcb *recycled;        /* recycled itself; rebuilt after it */
    struct lwp_pcb *last_from;       /* LWP switched away from last */
    struct lwp_pcb *main;
    struct lwp_pcb *cont_sw_id;      /* whose run last_context_switch times */

    struct lwp_evtable events;

    struct lwp_pcb **slabs;          /* sorted by hspaces */
    size_t nslabs, slabcap;
    struct lwp_pcb *free_head, *free_tail; /* FIFO: delays handle reuse */
    uintptr_t *hspaces;              /* per slab: its handles' space */

    struct lwp_stack_class stacks[LWP_STACK_CLASSES];
    size_t pooled;                   /* stacks in all classes */
    struct lwp_stack_class *last_class; /* hint: most recent size */
    size_t pagesize;
    size_t guard;                    /* LWP_GUARD_BYTES, in whole pages */
    uint64_t *main_canary_heap;      /* the main LWP's word, if on the heap */
    int arena_mode;                  /* out of kernel mappings */
    int on_valgrind;                 /* RUNNING_ON_VALGRIND at LWP_Init */
    size_t guarded, guarded_max;     /* stacks with own mapping, limit */
    struct lwp_arena *arenas;
    struct lwp_shared *shared;       /* the shared stack, once used */

    char *main_stack_top;            /* for LWP_StackUsed(main) */
    size_t main_stack_size;

    stack_t old_altstack;
    void *altstack;
    size_t altstack_size;
    struct sigaction old_segv;
    int segv_installed;

    /* Hooks of the module above (IOMGR): before an LWP is destroyed (it
     * cancels that LWP's select), and when LWP support terminates. */
    void (*on_destroy)(struct lwp_pcb *);
    void (*on_terminate)(void);
    /* IOMGR's, run by the scheduler when no LWP is runnable, before it
     * calls that a deadlock: IOMGR's manager, which leaves the run queue
     * while there is nothing to poll, joins it again. */
    void (*on_idle)(void);
    /* Preempt's: run by the preemption handler before it dispatches, with
     * the runtime idle (IOMGR polls its loop, so that a preemptible CPU
     * hog cannot starve the I/O manager at priority 0); and when LWP
     * support terminates (the timer is stopped). */
    void (*on_preempt)(void);
    void (*pre_terminate)(void);
    /* Who has each Unix signal's action (enum lwp_sig_owner): IOMGR_Signal
     * and Preempt each refuse a signal the other has. */
    uint8_t sig_owner[NSIG];

    struct lwp_ctxtype *ctxtypes;    /* special context types, by cookie */
    int nctxtypes, ctxtypecap;
    unsigned char fp_shared[LWP_CTX_FP_SIZE] __attribute__((aligned(16)));
    int errno_shared;                /* the env / errno of LWPs without one */
};

/* Per OS thread, initial-exec so that reading them is one load (also in
 * the shared library) and safe in signal handlers. */
#define LWP_THREAD_LOCAL _Thread_local __attribute__((tls_model("initial-exec")))

/* Set while special contexts' save/restore routines run. lwp__rt is NULL
 * then, so every primitive's "not initialised" check catches calls from
 * them; lwp__no_rt() tells the cases apart. */
extern LWP_THREAD_LOCAL int lwp__in_switch;

/* Non-zero while the runtime runs code outside the library that
 * preemption must not cut, because the scheduler is between two LWPs or
 * mid-way through its own work: a switch that calls out
 * (AddressSanitizer's fiber annotations, the ucontext fallback's
 * swapcontext), the shared stacks' copier (realloc, memcpy), the work
 * after a switch (munmap, free) and stack protection's mprotect. Ticks
 * land in such code as the executable's only where the executable holds
 * it (a static program, clang's sanitizer runtimes); the preemption
 * handler skips them while this is set. Per thread, like the runtime;
 * whoever runs next after a switch clears it (lwp__after_switch). */
extern LWP_THREAD_LOCAL volatile int lwp__no_cut;

/* The runtime as the calling OS thread sees it: set only on the thread
 * that called LWP_Init, so every "not initialised" check also refuses
 * calls from other threads, at no cost to the calls themselves. */
extern LWP_THREAD_LOCAL struct lwp_runtime *lwp__rt;


/* The runtime whichever thread asks (NULL when there is none): for the
 * fault handler, which runs on the faulting thread, and to tell another
 * thread's call from one made before LWP_Init. */
extern _Atomic(struct lwp_runtime *) lwp__rt_any;

/* Why a call cannot run, as its return code: LWP_EINSWITCH, LWP_ETHREAD,
 * or LWP_EINIT (also for a module above, e.g. IOMGR, not initialised). */
static inline int lwp__no_rt(void)
{
    if (lwp__in_switch)
        return LWP_EINSWITCH;
    if (!lwp__rt && atomic_load_explicit(&lwp__rt_any, memory_order_relaxed))
        return LWP_ETHREAD;
    return LWP_EINIT;
}

/* The caller is on another OS thread than the live runtime's. */
static inline int lwp__foreign_thread(void)
{
    return lwp_unlikely(!lwp__rt) && lwp__no_rt() == LWP_ETHREAD;
}

/* ---- Unix signals of IOMGR and Preempt ---- */

enum lwp_sig_owner { LWP_SIG_FREE = 0, LWP_SIG_IOMGR, LWP_SIG_PREEMPT };

/* A signal a module may take over: in range, catchable, and not one the
 * kernel raises for a fault of the running code (a handler that returns
 * re-runs the faulting instruction for ever, overflow reports need
 * SIGSEGV, debuggers SIGTRAP). */
static inline int lwp__sig_usable(int signo)
{
    switch (signo) {
    case SIGKILL:
    case SIGSTOP:
    case SIGSEGV:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
    case SIGTRAP:
        return 0;
    default:
        return signo > 0 && signo < NSIG;
    }
}

/* Record that `who` has signo: 0, or -1 if the other module has it. */
static inline int lwp__sig_claim(struct lwp_runtime *rt, int signo,
                                 enum lwp_sig_owner who)
{
    if (rt->sig_owner[signo] != LWP_SIG_FREE && rt->sig_owner[signo] != who)
        return -1;
    rt->sig_owner[signo] = (uint8_t)who;
    return 0;
}

static inline void lwp__sig_release(struct lwp_runtime *rt, int signo,
                                    enum lwp_sig_owner who)
{
    if (rt->sig_owner[signo] == who)
        rt->sig_owner[signo] = LWP_SIG_FREE;
}

static inline void lwp__update_slow(struct lwp_runtime *rt)
{
    rt->slow = rt->protect | (rt->ctx_lwps != 0);
}

/* ---- Run queues (hot: inline) ---- */

/* Link p in before the head of its queue, which is the tail. */
static inline void lwp__runq_append(struct lwp_runtime *rt, struct lwp_pcb *p)
{
    struct lwp_pcb *head = rt->runq[p->priority];

    if (!head) {
        rt->runq[p->priority] = p;
        p->next = p->prev = p;
        rt->runmask |= 1u << p->priority;
        return;
    }
    p->prev = head->prev;
    p->next = head;
    head->prev->next = p;
    head->prev = p;
}

static inline void lwp__runq_remove(struct lwp_runtime *rt, struct lwp_pcb *p)
{
    if (p->next == p) {
        rt->runq[p->priority] = NULL;
        rt->runmask &= ~(1u << p->priority);
    } else {
        p->next->prev = p->prev;
        p->prev->next = p->next;
        if (rt->runq[p->priority] == p)
            rt->runq[p->priority] = p->next;
    }
    p->next = p->prev = NULL;
}

void lwp__note_ready(struct lwp_pcb *p);

/* Wait entries know their LWP and index for good, so waiting need not
 * write them each time. */
static inline void lwp__nodes_own(struct lwp_pcb *p, struct lwp_waitnode *n,
                                  int count)
{
    for (int i = 0; i < count; i++) {
        n[i].pcb = p;
        n[i].slot = i;
    }
}

/* A dead LWP to reap or stacks to re-protect: the next switch must run
 * the after-switch hook on the stack it resumes. */
static inline void lwp__want_after_switch(void)
{
    lwp__switch_hook = 1;
}

/* Events p still needs, for messages (without a suspension's bias). */
static inline int lwp__events_needed(const struct lwp_pcb *p)
{
    return p->xflags & LWP_XF_SUSP ? p->waitcnt - LWP_SUSP_BIAS : p->waitcnt;
}

/* p's run-wait stamp (lwp__note_ready), read or not, is over. */
static inline void lwp__unstamp(struct lwp_pcb *p)
{
    timerclear(&p->last_ready);
    p->xflags &= (uint8_t)~LWP_XF_STAMPED;
}

/* p stops waiting and joins the tail of its run queue. */
static inline void lwp__make_runnable(struct lwp_runtime *rt,
                                      struct lwp_pcb *p)
{
    p->state = LWP_ST_READY;
    p->qwaiting = 0;
    p->eventcnt = 0;
    lwp__runq_append(rt, p);
    if (lwp_unlikely(run_wait_threshold.tv_sec | run_wait_threshold.tv_usec))
        lwp__note_ready(p);
}

/* ---- lwp_sched.c ---- */
/* A yield that returns `ret` once the caller runs again, for tail calls. */
int lwp__yield_ret(struct lwp_runtime *rt, int ret);
void lwp__block(struct lwp_runtime *rt);
void lwp__exit_current(struct lwp_runtime *rt, int status)
    __attribute__((noreturn));
/* p ends with `status`: out of every queue and wait, its joiners woken,
 * its contexts dropped, DEAD. Returns 1 if it must become a ZOMBIE (it is
 * joinable and nobody waited) once its stack is freed, 0 if its PCB is to
 * be released; both are the caller's to do. */
int lwp__end(struct lwp_runtime *rt, struct lwp_pcb *p, int status);
/* After lwp__end and freeing the stack: keep or release the PCB. */
void lwp__bury(struct lwp_runtime *rt, struct lwp_pcb *p, int keep);
void lwp__start(void *arg) __attribute__((noreturn));
void lwp__dump_one(struct lwp_pcb *p, FILE *fp);
void lwp__detach(struct lwp_runtime *rt, struct lwp_pcb *p);
/* p ends or is recycled inside a module's wait: the module undoes it. */
static inline void lwp__undo_wait(struct lwp_pcb *p)
{
    p->xflags &= (uint8_t)~LWP_XF_UNDO;
    p->undo(p->undo_arg);
}
/* LWP_CreateProcess with the entry point as either type (one is NULL). */
int lwp__create(void (*ep)(void *), void *(*afs_ep)(void *), int stacksize,
                int priority, void *parm, const char *name, PROCESS *pid);
/* LWP_CreateProcessAttr once the attributes are checked. */
int lwp__create_attr(void (*ep)(void *), int stacksize, int priority,
                     void *parm, const char *name, unsigned int flags,
                     int group, PROCESS *pid);
/* Take a suspended LWP's stack back to a fresh start at p->ep. */
void lwp__restart(struct lwp_runtime *rt, struct lwp_pcb *p);

/* ---- lwp_ctx.c ---- */
int lwp__ctx_switch(struct lwp_runtime *rt, struct lwp_pcb *cur,
                    struct lwp_pcb *next, int ret);
void lwp__ctx_drop_all(struct lwp_runtime *rt, struct lwp_pcb *p);
void lwp__ctx_term(struct lwp_runtime *rt);

/* ---- lwp_event.c ---- */
int lwp__events_init(struct lwp_evtable *t);
void lwp__events_term(struct lwp_evtable *t);
void lwp__unlink_nodes(struct lwp_runtime *rt, struct lwp_pcb *p,
                       const void *skip);

/* ---- lwp_pcb.c ---- */
/* The per-run state of a PCB as a new LWP (or a recycled one) starts:
 * not waiting, no QSignals, no rocks, not preemptible, no IOMGR request.
 * Field by field: a memset compiles to "rep stos", whose start-up cost
 * showed as a tenth of an LWP's whole create-run-exit. */
static inline void lwp__pcb_new_run(struct lwp_pcb *p)
{
    p->qwaiting = 0;
    p->qpending = 0;
    p->waitcnt = 0;
    p->eventcnt = 0;
    p->wakevent = 0;
    p->topstack = NULL;
    lwp__unstamp(p);
    p->nrocks = 0;
    p->pre_level = 1; /* not preemptible until PRE_PreemptMe */
    p->io_req = NULL;
}

/* PROCESS handles. Each slab of PCBs owns a reserved, inaccessible
 * address range (never touched: it costs address space only) holding one
 * 64-byte cell per slot and generation; an LWP's handle is the address of
 * its slot's cell for the slot's current generation, which steps at each
 * release. So a handle is a pointer no other memory can have, aligned as
 * a PCB, never dereferenced, and a stale one names no later LWP until its
 * slot has been released LWP_HANDLE_GENS times (lwp_pcb.c). */
#define LWP_HANDLE_GENS ((unsigned int)LWP_HANDLE_REUSE)
#define LWP_HANDLE_CELL 64
#define LWP_HANDLE_SPACE                                                     \
    ((size_t)LWP_HANDLE_CELL * LWP_PCB_PER_SLAB * LWP_HANDLE_GENS)

static inline PROCESS lwp__pid(const struct lwp_pcb *p)
{
    return p->pid;
}

struct lwp_pcb *lwp__pcb_alloc(struct lwp_runtime *rt);
void lwp__pcb_release(struct lwp_runtime *rt, struct lwp_pcb *p);
struct lwp_pcb *lwp__pcb_lookup(struct lwp_runtime *rt, PROCESS pid);
/* Also accepts a zombie. */
struct lwp_pcb *lwp__pcb_lookup_any(struct lwp_runtime *rt, PROCESS pid);
/* The live LWP behind a caller's handle: LWP_SUCCESS, LWP_EINIT,
 * LWP_EINSWITCH or LWP_EBADPID. */
int lwp__handle(PROCESS pid, struct lwp_pcb **out);
int lwp__pcb_set_name(struct lwp_pcb *p, const char *name);
void lwp__pcbs_term(struct lwp_runtime *rt);
#define LWP_FOR_EACH_LIVE(rt, var, body)                                     \
    for (size_t lwp_s_ = 0; lwp_s_ < (rt)->nslabs; lwp_s_++)                 \
        for (size_t lwp_i_ = 0; lwp_i_ < LWP_PCB_PER_SLAB; lwp_i_++) {       \
            struct lwp_pcb *var = &(rt)->slabs[lwp_s_][lwp_i_];              \
            if (var->state >= LWP_ST_READY &&                             \
                var->state <= LWP_ST_SUSPENDED) {                            \
                body                                                         \
            }                                                                \
        }

/* ---- lwp_stack.c ---- */
int lwp__running_on_valgrind(void);
/* A stack of `size` bytes with a PROT_NONE guard region below, registered
 * with valgrind; NULL (errno set) if the kernel refuses. */
char *lwp__map_guarded(struct lwp_runtime *rt, size_t size, unsigned *vg_id);
void lwp__unmap_guarded(struct lwp_runtime *rt, char *lo, size_t size,
                        unsigned vg_id);
void lwp__stack_forget(struct lwp_runtime *rt, char *lo, size_t size);
int lwp__stack_get(struct lwp_runtime *rt, struct lwp_pcb *p, size_t size);
void lwp__stack_put(struct lwp_runtime *rt, struct lwp_pcb *p);
void lwp__stacks_term(struct lwp_runtime *rt);
/* From now on new stacks come from arenas, as they do once the kernel's
 * mapping limit is near (tests reach that path without 30,000 LWPs). */
void lwp__stacks_use_arenas(struct lwp_runtime *rt);
char *lwp__arena_get(struct lwp_runtime *rt, size_t size, uint32_t *dirty,
                     struct lwp_arena **owner);
void lwp__arena_put(struct lwp_arena *a, struct lwp_pooled *h);
void lwp__arenas_term(struct lwp_runtime *rt);
int lwp__overflow_init(struct lwp_runtime *rt);
void lwp__overflow_term(struct lwp_runtime *rt);
/* p's magic word is damaged: report it as lwp_overflowAction says and
 * reset it. `when`: "" at a switch, else ", found when ..." */
void lwp__canary_damaged(struct lwp_runtime *rt, struct lwp_pcb *p,
                         const char *when);
/* Where the main LWP's magic word is to be: `word` (the library's own),
 * or a word of the heap (see lwp_overflow.c). */
uint64_t *lwp__main_canary_at(struct lwp_runtime *rt, uint64_t *word);
void lwp__shared_overflowed(struct lwp_pcb *p, size_t depth);
/* The running LWP's stack pointer `sp` is below its stack at a switch:
 * reported, then the program aborts or the LWP is destroyed. */
void lwp__sp_overflowed(struct lwp_runtime *rt, struct lwp_pcb *p, char *sp)
    __attribute__((noreturn));
/* The gap below p's arena stack was written; `when` ends the message. */
void lwp__gap_overflowed(struct lwp_pcb *p, const char *when);
/* Non-zero if a page of the gap below the arena stack at `lo` was
 * touched; lwp__arena_gap_clean drops those pages. */
int lwp__arena_gap_touched(struct lwp_runtime *rt, char *lo);
void lwp__arena_gap_clean(struct lwp_runtime *rt, char *lo);
void lwp__protect(struct lwp_runtime *rt, struct lwp_pcb *p, int on);
void lwp__protect_range(char *lo, size_t size, int on);
void lwp__stack_clear(struct lwp_runtime *rt, struct lwp_pcb *p);
void lwp__stack_copy_quietly(void *dst, const char *lo, size_t size);
size_t lwp__stack_used(struct lwp_pcb *p);

/* ---- lwp_shared.c ---- */
int lwp__shared_get(struct lwp_runtime *rt, struct lwp_pcb *p, size_t size);
void lwp__shared_put(struct lwp_runtime *rt, struct lwp_pcb *p);
void lwp__shared_restart(struct lwp_runtime *rt, struct lwp_pcb *p);
int lwp__switch_shared(struct lwp_runtime *rt, struct lwp_pcb *from,
                       struct lwp_pcb *to, int ret);
void lwp__shared_term(struct lwp_runtime *rt);

/* ---- lwp_init.c ---- */
void lwp__fatal(const char *call, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
void lwp__trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define LWP_DEBUG(...)                                                       \
    do {                                                                     \
        if (lwp_unlikely(lwp_debug))                                         \
            lwp__trace(__VA_ARGS__);                                         \
    } while (0)

/* The stack depth p may use: its stack's size, or for a shared-stack LWP
 * the stacksize it was created with. */
static inline size_t lwp__stack_limit(const struct lwp_pcb *p)
{
    return (p->xflags & LWP_XF_SHARED) ? p->sh_limit : p->stack_size;
}

/* Stack pointer of a suspended LWP as of its last switch, or NULL. */
static inline void *lwp__last_sp(const struct lwp_pcb *p)
{
    void *sp = lwp__arch_sp(&p->ctx);
    return sp ? sp : p->topstack;
}

/* Asks for the n cache lines from p up (n a constant, at most 16), to be
 * written: the stack lines a resumed LWP is about to touch. A hint only;
 * a prefetch never faults. */
static inline __attribute__((always_inline)) void
lwp__prefetch_lines(const char *p, int n)
{
#pragma GCC unroll 16
    for (int i = 0; i < n; i++)
        __builtin_prefetch(p + 64 * i, 1);
}

#pragma GCC visibility pop

#endif /* LWP_LWP_INTERNAL_H */
