/* SPDX-License-Identifier: MIT */
/*
 * LWP stacks: allocation with a guard region, a pool for reuse, the state
 * LWP_StackUsed needs, overflow detection and LWP_ProtectStacks.
 *
 * Layout of one mapping, low addresses first:
 *
 *     [ guard, PROT_NONE, rt->guard ][ magic word | ... usable stack ... ]
 *                                     ^ stack_lo                    top ^
 *
 * The guard is LWP_GUARD_BYTES (64 KiB) rather than a page: a frame that
 * allocates more than a page at once (a large local array, in code built
 * without -fstack-clash-protection) moves the stack pointer past a single
 * page and writes below it, into whatever is mapped there, typically the
 * next LWP's stack. Any frame that ends up to 64 KiB below the stack now
 * faults in the guard. It takes the same two kernel mappings as one page
 * would, and address space is plentiful; the one cost is that stacks lie
 * further apart, so their page tables are less shared (measured: see
 * the README's stack sizing). Farther overflows are caught by the fault
 * handler's stack pointer test and the switch-time check (lwp_overflow.c).
 *
 * The magic word is zero and is never written by the library: a fresh
 * stack's lowest page is then never made resident, which halves the
 * memory of an idle LWP. Anything non-zero there means the LWP reached the
 * very bottom of its stack. While a stack is unused, its pool link lives
 * in its top 64 bytes, a part every LWP dirties anyway.
 *
 * Stack use is measured against an all-zero pattern rather than Coda's
 * byte ramp: fresh anonymous pages are zero, so a new stack costs no fill
 * and its untouched pages never become resident. A stack coming back to
 * the pool is measured from the top down, and only that dirtied part is
 * zeroed again when the stack is reused for a counted LWP.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef LWP_ASAN
#include <sanitizer/asan_interface.h>
#define LWP_NO_ASAN __attribute__((no_sanitize("address")))
#else
#define LWP_NO_ASAN
#endif
#ifdef LWP_HAVE_VALGRIND_H
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#else
#define VALGRIND_STACK_REGISTER(lo, hi) 0u
#define VALGRIND_STACK_DEREGISTER(id) ((void)(id))
#define VALGRIND_MAKE_MEM_DEFINED(a, n) ((void)0)
#define VALGRIND_MAKE_MEM_UNDEFINED(a, n) ((void)0)
#define VALGRIND_DISABLE_ERROR_REPORTING ((void)0)
#define VALGRIND_ENABLE_ERROR_REPORTING ((void)0)
#define RUNNING_ON_VALGRIND 0
#endif

#include "lwp_internal.h"

#define LOW_RESERVED 8             /* the magic word */
#define POOL_HDR 64                /* pool link at the top of a stack */
#define DIRTY_UNKNOWN LWP_DIRTY_UNKNOWN
#define POOL_MAX_STACKS 16384
#define CLEAN_RUN_BLOCKS 8         /* 8 clean 64-byte blocks end a scan */

/* Client requests cost a few cycles even natively, so the hot path asks
 * valgrind only when it is there. */
int lwp__running_on_valgrind(void)
{
    return RUNNING_ON_VALGRIND != 0;
}

static void unpoison(struct lwp_runtime *rt, char *lo, size_t size)
{
#ifdef LWP_ASAN
    ASAN_UNPOISON_MEMORY_REGION(lo, size);
#endif
    if (rt->on_valgrind)
        VALGRIND_MAKE_MEM_DEFINED(lo, size);
    (void)lo;
    (void)size;
}

/* [lo, lo + size) of a stack is about to hold bytes copied in, whatever
 * frames were there before (shared stacks): AddressSanitizer's red zones
 * of those frames go, and memcheck, which made popped stack inaccessible,
 * lets it be written. */
void lwp__stack_forget(struct lwp_runtime *rt, char *lo, size_t size)
{
#ifdef LWP_ASAN
    ASAN_UNPOISON_MEMORY_REGION(lo, size);
#endif
    if (rt->on_valgrind)
        VALGRIND_MAKE_MEM_UNDEFINED(lo, size);
    (void)lo;
    (void)size;
}

/* Under valgrind: copies the live part of a stack, whole, without
 * memcheck's complaint about the few words it holds inaccessible (gaps it
 * leaves in a signal frame, for an LWP preempted there). Those are copied
 * back as they were, never used. */
void lwp__stack_copy_quietly(void *dst, const char *lo, size_t size)
{
    VALGRIND_DISABLE_ERROR_REPORTING;
    memcpy(dst, lo, size);
    VALGRIND_ENABLE_ERROR_REPORTING;
}

/* ---- Measuring ---- */

static LWP_NO_ASAN int block_dirty(const uint64_t *w)
{
    return (w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) != 0;
}

/* Depth from the top that was written, found top-down: the scan stops
 * after CLEAN_RUN_BLOCKS clean blocks in a row. A gap of untouched stack
 * longer than that (a large uninitialised local array) can hide older
 * writes below it; they then stay in the stack and make LWP_StackUsed
 * over-report for a later user, never under-report. */
static LWP_NO_ASAN uint32_t dirty_depth(char *lo, size_t size)
{
    char *top = lo + size;
    char *lowest = top;
    int clean = 0;

    for (char *b = top - 64; b >= lo + LOW_RESERVED; b -= 64) {
        if (block_dirty((const uint64_t *)b)) {
            lowest = b;
            clean = 0;
        } else if (++clean == CLEAN_RUN_BLOCKS) {
            break;
        }
    }
    return (uint32_t)(top - lowest);
}

/* High-water mark: distance from the top of the lowest non-zero byte. */
LWP_NO_ASAN size_t lwp__stack_used(struct lwp_pcb *p)
{
    const unsigned char *lo = (const unsigned char *)p->stack_lo;
    const unsigned char *c = lo + LOW_RESERVED;
    const unsigned char *top = lo + p->stack_size;

    VALGRIND_MAKE_MEM_DEFINED(p->stack_lo, p->stack_size);
    while (c < top && *(const uint64_t *)c == 0)
        c += 8;
    while (c < top && *c == 0)
        c++;
    return (size_t)(top - c);
}

/* ---- Pool ---- */

static struct lwp_stack_class *class_search(struct lwp_runtime *rt,
                                            size_t size, int create)
{
    struct lwp_stack_class *empty = NULL;

    for (int i = 0; i < LWP_STACK_CLASSES; i++) {
        if (rt->stacks[i].size == size)
            return rt->last_class = &rt->stacks[i];
        if (!empty && rt->stacks[i].count == 0)
            empty = &rt->stacks[i];
    }
    if (!create || !empty)
        return NULL;
    empty->size = size;
    return rt->last_class = empty;
}

/* Programs use few stack sizes, usually one: try the last one first. */
static inline struct lwp_stack_class *class_of(struct lwp_runtime *rt,
                                               size_t size, int create)
{
    if (lwp_likely(rt->last_class && rt->last_class->size == size))
        return rt->last_class;
    return class_search(rt, size, create);
}

/* How many guarded stacks the kernel's mapping limit leaves room for:
 * each takes two mappings, and the rest of the program needs some. */
static size_t guarded_budget(void)
{
    long limit = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");

    if (f) {
        if (fscanf(f, "%ld", &limit) != 1)
            limit = 65530;
        fclose(f);
    }
    return limit > 16384 ? (size_t)(limit - 8192) / 2 : (size_t)limit / 4;
}

char *lwp__map_guarded(struct lwp_runtime *rt, size_t size, unsigned *vg_id)
{
    size_t guard = rt->guard;
    char *base = mmap(NULL, guard + size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                      -1, 0);

    if (base != MAP_FAILED && mprotect(base, guard, PROT_NONE) != 0) {
        munmap(base, guard + size);
        base = MAP_FAILED;
    }
    if (base == MAP_FAILED)
        return NULL;
    *vg_id = VALGRIND_STACK_REGISTER(base + guard, base + guard + size);
    return base + guard;
}

void lwp__unmap_guarded(struct lwp_runtime *rt, char *lo, size_t size,
                        unsigned vg_id)
{
    VALGRIND_STACK_DEREGISTER(vg_id);
    munmap(lo - rt->guard, size + rt->guard);
}

/* A stack of its own mapping with a guard region below. Once the mapping
 * budget is used up, or the kernel refuses, new stacks come from arenas:
 * unguarded stacks, many per mapping (lwp_arena.c). */
static char *map_stack(struct lwp_runtime *rt, size_t size, unsigned *vg_id)
{
    char *lo;

    if (!rt->guarded_max)
        rt->guarded_max = guarded_budget();
    if (rt->guarded >= rt->guarded_max) {
        rt->arena_mode = 1;
        return NULL;
    }
    lo = lwp__map_guarded(rt, size, vg_id);
    if (!lo) {
        if (errno == ENOMEM) {
            rt->arena_mode = 1;
            LWP_DEBUG("mapping limit reached: new stacks have no guard page");
        }
        return NULL;
    }
    rt->guarded++;
    return lo;
}

static void unmap_stack(struct lwp_runtime *rt, char *lo, size_t size,
                        unsigned vg_id)
{
    lwp__unmap_guarded(rt, lo, size, vg_id);
    rt->guarded--;
}

/* An arena stack (at lo) has no guard, only a gap (lwp_arena.c): an LWP
 * that went below its stack left some of the gap's pages resident.
 * Reported, and the gap made clean for the next user. */
static void check_gap(struct lwp_runtime *rt, struct lwp_pcb *p, char *lo,
                      const char *when)
{
    if (lwp_likely(!lwp__arena_gap_touched(rt, lo)))
        return;
    lwp__gap_overflowed(p, when);
    lwp__arena_gap_clean(rt, lo);
}

static void clean(char *lo, size_t size, uint32_t dirty)
{
    if (dirty == DIRTY_UNKNOWN)
        memset(lo, 0, size);
    else if (dirty)
        memset(lo + size - dirty, 0, dirty);
}

/* Zero the stack of an LWP being recycled, as a new stack would be: the
 * dirtied part of a counted stack; otherwise all of it, by dropping its
 * pages (an untouched page then costs nothing). Leaves it unprotected. */
void lwp__stack_clear(struct lwp_runtime *rt, struct lwp_pcb *p)
{
    char *lo = p->stack_lo;
    size_t size = p->stack_size;

    if (rt->protect)
        lwp__protect_range(lo, size, 0);
    unpoison(rt, lo, size);
    if (*p->canary != 0)
        lwp__canary_damaged(rt, p, ", found when it was recycled");
    if (p->arena)
        check_gap(rt, p, lo, " (found below its stack when it was recycled)");
    if (p->counted)
        clean(lo, size, dirty_depth(lo, size));
    else if (madvise(lo, size, MADV_DONTNEED) != 0)
        memset(lo, 0, size);
}

/* A stack's pool link, in its top bytes. */
static struct lwp_pooled *pool_hdr(char *lo, size_t size)
{
    return (struct lwp_pooled *)(lo + size - POOL_HDR);
}

static char *pool_lo(struct lwp_pooled *h, size_t size)
{
    return (char *)h + POOL_HDR - size;
}

/* Fill in the pool link of an unused stack; its bytes count as dirt. */
static struct lwp_pooled *make_hdr(struct lwp_pcb *p, char *lo)
{
    struct lwp_pooled *h = pool_hdr(lo, p->stack_size);
    uint32_t dirty =
        p->counted ? dirty_depth(lo, p->stack_size) : DIRTY_UNKNOWN;

    h->dirty = dirty != DIRTY_UNKNOWN && dirty < POOL_HDR ? POOL_HDR : dirty;
    h->vg_id = p->vg_id;
    return h;
}

int lwp__stack_get(struct lwp_runtime *rt, struct lwp_pcb *p, size_t size)
{
    struct lwp_stack_class *c = class_of(rt, size, 0);
    uint32_t dirty = 0;
    char *lo;

    if (c && c->head) {
        struct lwp_pooled *h = c->head;
        c->head = h->next;
        c->count--;
        rt->pooled--;
        dirty = h->dirty;
        p->vg_id = h->vg_id;
        p->arena = NULL;
        lo = pool_lo(h, size);
    } else if (!rt->arena_mode && (lo = map_stack(rt, size, &p->vg_id))) {
        dirty = 0;
        p->arena = NULL;
    } else {
        p->vg_id = 0;
        lo = rt->arena_mode ? lwp__arena_get(rt, size, &dirty, &p->arena)
                            : NULL;
        if (!lo)
            return -1;
    }
    p->counted = lwp_stackUseEnabled != 0;
    if (p->counted)
        clean(lo, size, dirty);
    p->canary = (uint64_t *)lo;
    p->stack_lo = lo;
    p->stack_size = size;
    if (p->arena)
        rt->watch_words++;
    return 0;
}

void lwp__stack_put(struct lwp_runtime *rt, struct lwp_pcb *p)
{
    char *lo = p->stack_lo;
    struct lwp_stack_class *c;
    struct lwp_pooled *h;

    if (!lo)
        return;
    if (p->xflags & LWP_XF_SHARED) {
        lwp__shared_put(rt, p);
        return;
    }
    p->stack_lo = NULL;
    free(p->io_heap); /* IOMGR's request, made while stacks were protected */
    p->io_heap = NULL;
    if (rt->protect)
        lwp__protect_range(lo, p->stack_size, 0);
    unpoison(rt, lo, p->stack_size);
    /* A damaged word is reported now if no switch saw it (a guarded
     * stack's is not read at switches) and reset, so the next user starts
     * with a valid word. */
    if (*p->canary != 0)
        lwp__canary_damaged(rt, p, ", found when it ended");
    if (p->arena) {
        rt->watch_words--;
        check_gap(rt, p, lo, " (found below its stack when it ended)");
        lwp__arena_put(p->arena, make_hdr(p, lo));
        p->arena = NULL;
        return;
    }
    c = rt->pooled < POOL_MAX_STACKS ? class_of(rt, p->stack_size, 1) : NULL;
    if (!c) {
        unmap_stack(rt, lo, p->stack_size, p->vg_id);
        return;
    }
    h = make_hdr(p, lo);
    h->next = c->head;
    c->head = h;
    c->count++;
    rt->pooled++;
}

void lwp__stacks_use_arenas(struct lwp_runtime *rt)
{
    rt->arena_mode = 1;
}

void lwp__stacks_term(struct lwp_runtime *rt)
{
    lwp__shared_term(rt);
    LWP_FOR_EACH_LIVE(rt, p, {
        if (p->stack_lo && p->arena)
            check_gap(rt, p, p->stack_lo,
                      " (found below its stack when LWP support "
                      "terminated)");
        else if (p->stack_lo)
            unmap_stack(rt, p->stack_lo, p->stack_size, p->vg_id);
        free(p->io_heap);
        p->io_heap = NULL;
        p->stack_lo = NULL;
        p->arena = NULL;
    });
    lwp__arenas_term(rt);
    for (int i = 0; i < LWP_STACK_CLASSES; i++) {
        struct lwp_stack_class *c = &rt->stacks[i];
        while (c->head) {
            struct lwp_pooled *h = c->head;
            c->head = h->next;
            unmap_stack(rt, pool_lo(h, c->size), c->size, h->vg_id);
        }
        c->count = 0;
        c->size = 0;
    }
    rt->pooled = 0;
    rt->last_class = NULL;
}

/* ---- LWP_StackUsed ---- */

static int main_stack_used(struct lwp_runtime *rt, struct lwp_pcb *p,
                           int *max, int *used)
{
    char *sp = p == rt->current ? (char *)__builtin_frame_address(0)
                                : (char *)lwp__last_sp(p);
    long depth = sp ? (long)(rt->main_stack_top - sp) : 0;

    *max = (int)rt->main_stack_size;
    *used = depth > 0 ? (int)depth : 0;
    return *used ? LWP_SUCCESS : LWP_NO_STACK;
}

/* A shared-stack LWP: the deepest live stack it had when switched out
 * (or has now, when it is running). */
static int shared_stack_used(struct lwp_runtime *rt, struct lwp_pcb *p,
                             int *max, int *used)
{
    size_t depth = p->sh_hw;

    if (p == rt->current) {
        size_t now = (size_t)(p->stack_lo + p->stack_size -
                              (char *)__builtin_frame_address(0));
        if (now > depth)
            depth = now;
    }
    *max = (int)p->sh_limit;
    *used = (int)depth;
    return depth ? LWP_SUCCESS : LWP_NO_STACK;
}

int LWP_StackUsed(PROCESS pid, int *max, int *used)
{
    struct lwp_runtime *rt = lwp__rt;
    struct lwp_pcb *p;
    int rc = lwp__handle(pid, &p);

    if (rc != LWP_SUCCESS)
        return rc;
    if (!max || !used)
        return LWP_EBADARG;
    if (!p->stack_lo)
        return main_stack_used(rt, p, max, used);
    if (p->xflags & LWP_XF_SHARED)
        return shared_stack_used(rt, p, max, used);
    *max = (int)p->stack_size;
    *used = 0;
    if (!p->counted)
        return LWP_NO_STACK;
    if (rt->protect && p != rt->current)
        lwp__protect_range(p->stack_lo, p->stack_size, 0);
    *used = (int)lwp__stack_used(p);
    if (rt->protect && p != rt->current)
        lwp__protect_range(p->stack_lo, p->stack_size, 1);
    return *used ? LWP_SUCCESS : LWP_NO_STACK;
}

/* ---- LWP_ProtectStacks ---- */

void lwp__protect_range(char *lo, size_t size, int on)
{
    if (mprotect(lo, size, on ? PROT_NONE : PROT_READ | PROT_WRITE) != 0)
        lwp__fatal("LWP_ProtectStacks", "mprotect of stack %p failed: %s",
                   (void *)lo, strerror(errno));
}

void lwp__protect(struct lwp_runtime *rt, struct lwp_pcb *p, int on)
{
    int no_cut = lwp__no_cut;

    (void)rt;
    lwp__no_cut = 1; /* called mid-switch */
    /* The shared stack is in use by one of them at any time. */
    if (p->stack_lo && !(p->xflags & LWP_XF_SHARED))
        lwp__protect_range(p->stack_lo, p->stack_size, on);
    lwp__no_cut = no_cut;
}

/* A wait in the module above (IOMGR) that began before stacks were
 * protected has its request in the waiter's stack, where the module
 * touches it until the wait ends: that stack is protected only when its
 * LWP next leaves the CPU (lwp__after_switch_hook), by then without it.
 * Waits that begin while stacks are protected keep their request on the
 * heap (iomgr_wait.c). */
static int request_in_own_stack(const struct lwp_pcb *p)
{
    const char *r = p->io_req;

    return r && p->stack_lo && r >= p->stack_lo &&
           r < p->stack_lo + p->stack_size;
}

void LWP_ProtectStacks(void)
{
    struct lwp_runtime *rt = lwp__rt;

    if (!rt || rt->protect)
        return;
    rt->protect = 1;
    lwp__update_slow(rt);
    lwp__want_after_switch();
    LWP_FOR_EACH_LIVE(rt, p, {
        if (p != rt->current && !request_in_own_stack(p))
            lwp__protect(rt, p, 1);
    });
}

void LWP_UnProtectStacks(void)
{
    struct lwp_runtime *rt = lwp__rt;

    if (!rt || !rt->protect)
        return;
    rt->protect = 0;
    lwp__update_slow(rt);
    LWP_FOR_EACH_LIVE(rt, p, { lwp__protect(rt, p, 0); });
}
