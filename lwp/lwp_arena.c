/* SPDX-License-Identifier: MIT */
/*
 * Arenas: stacks for when the kernel will not give the process another
 * mapping. Every guarded stack takes two of the kernel's mappings (the
 * guard page and the stack), and vm.max_map_count allows 65530 by default,
 * so past a budget read from that limit (about 28,000 stacks by default)
 * new stacks are carved from arenas of
 * ARENA_STACKS stacks in one mapping. They have no guard page between
 * them, so only the magic word at each stack's low end catches an
 * overflow, at the next context switch.
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

static struct lwp_arena *new_arena(struct lwp_runtime *rt, size_t size)
{
    struct lwp_arena *a = calloc(1, sizeof(*a));
    size_t len = size * ARENA_STACKS;

    if (!a)
        return NULL;
    a->base = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                   -1, 0);
    if (a->base == MAP_FAILED) {
        free(a);
        return NULL;
    }
    a->map_size = len;
    a->stack_size = size;
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
    return a->base + size * a->carved++;
}

void lwp__arena_put(struct lwp_arena *a, struct lwp_pooled *h)
{
    h->next = a->free;
    a->free = h;
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
