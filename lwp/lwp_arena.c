/* SPDX-License-Identifier: MIT */
/*
 * Arenas: stacks for when the kernel will not give the process another
 * mapping. Every guarded stack takes two of the kernel's mappings (the
 * guard region and the stack), and vm.max_map_count allows 65530 by
 * default, so past a budget read from that limit (about 28,000 stacks by
 * default) new stacks are carved from arenas of ARENA_STACKS stacks in one
 * mapping.
 *
 * A guard region per stack cannot be had there: PROT_NONE inside a mapping
 * splits it, and stacks and guards alternating cost the same two mappings
 * per stack as guarded stacks do. So each stack sits above a gap of
 * rt->guard bytes of the same mapping that nothing uses:
 *
 *     [ gap | stack 0 ][ gap | stack 1 ] ... [ gap | stack 255 ]
 *
 * An overflow of up to the gap's width lands in the gap, never in the
 * stack below. The gap is untouched memory, so it costs address space
 * only, and a page of it that an overflow writes (or reads) becomes
 * resident: mincore() tells, in one system call, whether an LWP went
 * below its stack. That is checked when the stack is given back (the LWP
 * ended or is recycled) and when LWP support terminates; an overflow
 * still under way is caught at the next context switch by the stack
 * pointer check (lwp_sched_inline.h) and the magic word. Transparent huge
 * pages are off for arenas: a huge page would make a gap resident
 * wholesale (and a sparse stack arena cost megabytes).
 *
 * An arena stack cannot be unmapped on its own (that would split the
 * mapping again), so it goes back to its arena's free list and the arenas
 * are unmapped when LWP support terminates. Arena stacks are not
 * registered with valgrind.
 */
#include <sys/mman.h>
#include <sys/types.h>

#include "lwp_internal.h"

#define ARENA_STACKS 256
#define GAP_PAGES_MAX 64 /* mincore's answer for a gap, one byte a page */

static struct lwp_arena *new_arena(struct lwp_runtime *rt, size_t size)
{
    struct lwp_arena *a = calloc(1, sizeof(*a));
    size_t slot = rt->guard + size;
    size_t len = slot * ARENA_STACKS;

    if (!a)
        return NULL;
    a->base = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                   -1, 0);
    if (a->base == MAP_FAILED) {
        free(a);
        return NULL;
    }
#ifdef MADV_NOHUGEPAGE
    (void)madvise(a->base, len, MADV_NOHUGEPAGE); /* best effort */
#endif
    a->map_size = len;
    a->stack_size = size;
    a->slot_size = slot;
    a->nstacks = ARENA_STACKS;
    a->next = rt->arenas;
    rt->arenas = a;
    return a;
}

char *lwp__arena_get(struct lwp_runtime *rt, size_t size, uint32_t *dirty,
                     struct lwp_arena **owner)
{
    struct lwp_arena *a;

    for (a = rt->arenas; a; a = a->next)
        if (a->stack_size == size && (a->free || a->carved < a->nstacks))
            break;
    if (!a && !(a = new_arena(rt, size)))
        return NULL;
    *owner = a;
    if (a->free) {
        struct lwp_pooled *h = a->free;
        a->free = h->next;
        *dirty = h->dirty;
        return (char *)h + 64 - size; /* the link sits in the top 64 bytes */
    }
    *dirty = 0; /* fresh anonymous memory is zero */
    return a->base + a->slot_size * a->carved++ + rt->guard;
}

void lwp__arena_put(struct lwp_arena *a, struct lwp_pooled *h)
{
    h->next = a->free;
    a->free = h;
}

int lwp__arena_gap_touched(struct lwp_runtime *rt, char *lo)
{
    unsigned char pages[GAP_PAGES_MAX];
    size_t n = rt->guard / rt->pagesize;

    if (n > GAP_PAGES_MAX || mincore(lo - rt->guard, rt->guard, pages) != 0)
        return 0; /* cannot tell: say nothing rather than cry wolf */
    for (size_t i = 0; i < n; i++)
        if (pages[i] & 1)
            return 1;
    return 0;
}

void lwp__arena_gap_clean(struct lwp_runtime *rt, char *lo)
{
    (void)madvise(lo - rt->guard, rt->guard, MADV_DONTNEED);
}

void lwp__arenas_term(struct lwp_runtime *rt)
{
    while (rt->arenas) {
        struct lwp_arena *a = rt->arenas;
        rt->arenas = a->next;
        munmap(a->base, a->map_size);
        free(a);
    }
    rt->arena_mode = 0;
}
