/* SPDX-License-Identifier: MIT */
/*
 * Process control blocks: allocation, handle validation, names, rocks and
 * process dumps.
 *
 * PCBs come from slabs that live until LWP_TerminateProcessSupport. A
 * PROCESS handle is not the PCB's address but a cell in the slab's handle
 * space, an inaccessible address range reserved with the slab, one cell
 * per slot and generation (lwp_internal.h). Lookup checks that the pointer
 * is a cell of one of our slabs' spaces, that it is its slot's current
 * generation, and that the slot holds a live LWP. Releasing a slot steps
 * its generation, and freed slots are reused oldest-first; so a stale
 * handle is refused until its slot has been released LWP_HANDLE_GENS times
 * (256 on 64-bit systems), that is for at least LWP_HANDLE_GENS - 1 reuses
 * of the slot, each after every slot freed before it was reused.
 */
#include <string.h>
#include <sys/mman.h>

#include "lwp_internal.h"

/* Keep the slabs sorted by handle space, for lookup. */
static int slab_insert(struct lwp_runtime *rt, struct lwp_pcb *slab,
                       uintptr_t hspace)
{
    size_t i;

    if (rt->nslabs == rt->slabcap) {
        size_t cap = rt->slabcap ? rt->slabcap * 2 : 16;
        struct lwp_pcb **s = realloc(rt->slabs, cap * sizeof(*s));
        uintptr_t *h;

        if (!s)
            return -1;
        rt->slabs = s;
        h = realloc(rt->hspaces, cap * sizeof(*h));
        if (!h)
            return -1;
        rt->hspaces = h;
        rt->slabcap = cap;
    }
    for (i = rt->nslabs; i > 0 && rt->hspaces[i - 1] > hspace; i--) {
        rt->slabs[i] = rt->slabs[i - 1];
        rt->hspaces[i] = rt->hspaces[i - 1];
    }
    rt->slabs[i] = slab;
    rt->hspaces[i] = hspace;
    rt->nslabs++;
    return 0;
}

static void push_free(struct lwp_runtime *rt, struct lwp_pcb *p)
{
    p->next = NULL;
    if (rt->free_tail)
        rt->free_tail->next = p;
    else
        rt->free_head = p;
    rt->free_tail = p;
}

static void set_pid(struct lwp_pcb *p)
{
    p->pid = (PROCESS)(p->handle0 + (uintptr_t)p->hgen * LWP_HANDLE_CELL *
                                        LWP_PCB_PER_SLAB);
}

static int grow_slabs(struct lwp_runtime *rt)
{
    /* Line-aligned, so that each PCB's hot fields share one cache line. */
    size_t bytes = LWP_PCB_PER_SLAB * sizeof(struct lwp_pcb);
    struct lwp_pcb *slab = aligned_alloc(64, bytes);
    void *hs = mmap(NULL, LWP_HANDLE_SPACE, PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (!slab || hs == MAP_FAILED ||
        slab_insert(rt, slab, (uintptr_t)hs) != 0) {
        free(slab);
        if (hs != MAP_FAILED)
            munmap(hs, LWP_HANDLE_SPACE);
        return -1;
    }
    memset(slab, 0, bytes);
    for (int i = 0; i < LWP_PCB_PER_SLAB; i++) {
        lwp__nodes_own(&slab[i], slab[i].inline_nodes, LWP_INLINE_NODES);
        slab[i].handle0 = (uintptr_t)hs + (uintptr_t)i * LWP_HANDLE_CELL;
        set_pid(&slab[i]);
        push_free(rt, &slab[i]);
    }
    return 0;
}

struct lwp_pcb *lwp__pcb_alloc(struct lwp_runtime *rt)
{
    struct lwp_pcb *p;

    if (!rt->free_head && grow_slabs(rt) != 0)
        return NULL;
    p = rt->free_head;
    rt->free_head = p->next;
    if (!rt->free_head)
        rt->free_tail = NULL;
    /* Left to the caller, which always sets them (creation is a hot
     * path): the priority, index, entry point and argument, and the stack
     * fields (canary, counted, stack_lo, stack_size, arena, vg_id). The
     * context is written by lwp__arch_make. A free PCB has no joiners or
     * contexts, is not joining, and its xflags and error are 0 (lwp__end
     * and lwp__pcb_release see to it). */
    p->state = LWP_ST_FREE;
    lwp__pcb_new_run(p);
    p->nodes = p->inline_nodes;
    p->nodecap = LWP_INLINE_NODES;
    p->name = p->name_buf;
    p->name_buf[0] = '\0';
    return p;
}

void lwp__pcb_release(struct lwp_runtime *rt, struct lwp_pcb *p)
{
    if (p->name != p->name_buf)
        free(p->name);
    if (p->nodes != p->inline_nodes)
        free(p->nodes);
    p->name = p->name_buf;
    p->nodes = p->inline_nodes;
    p->nrocks = 0;
    p->error = 0;
    p->xflags = 0;
    p->state = LWP_ST_FREE;
    /* Its handle goes stale: the next LWP in this slot gets another. */
    p->hgen = (uint8_t)((p->hgen + 1) % LWP_HANDLE_GENS);
    set_pid(p);
    push_free(rt, p);
}

/* The PCB slot whose current handle pid is, whatever its state, or NULL
 * (also for an older generation's handle of the slot). */
static struct lwp_pcb *slot_of(struct lwp_runtime *rt, PROCESS pid)
{
    size_t lo = 0, hi = rt->nslabs;
    uintptr_t a = (uintptr_t)pid;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uintptr_t base = rt->hspaces[mid];
        if (a < base) {
            hi = mid;
        } else if (a - base >= LWP_HANDLE_SPACE) {
            lo = mid + 1;
        } else {
            uintptr_t cell = (a - base) / LWP_HANDLE_CELL;
            struct lwp_pcb *p = &rt->slabs[mid][cell % LWP_PCB_PER_SLAB];
            return (uintptr_t)p->pid == a ? p : NULL;
        }
    }
    return NULL;
}

struct lwp_pcb *lwp__pcb_lookup(struct lwp_runtime *rt, PROCESS pid)
{
    struct lwp_pcb *p = slot_of(rt, pid);

    return p && p->state >= LWP_ST_READY && p->state <= LWP_ST_SUSPENDED
               ? p
               : NULL;
}

struct lwp_pcb *lwp__pcb_lookup_any(struct lwp_runtime *rt, PROCESS pid)
{
    struct lwp_pcb *p = lwp__pcb_lookup(rt, pid);

    if (!p && (p = slot_of(rt, pid)) != NULL && p->state != LWP_ST_ZOMBIE)
        p = NULL;
    return p;
}

int lwp__handle(PROCESS pid, struct lwp_pcb **out)
{
    if (!lwp__rt)
        return lwp__no_rt();
    *out = lwp__pcb_lookup(lwp__rt, pid);
    return *out ? LWP_SUCCESS : LWP_EBADPID;
}

int lwp__pcb_set_name(struct lwp_pcb *p, const char *name)
{
    size_t n = 0;

    /* Most names are short: copy while measuring, one pass. */
    p->name = p->name_buf;
    if (!name) {
        p->name_buf[0] = '\0';
        return 0;
    }
    while (n < LWP_NAME_INLINE && (p->name_buf[n] = name[n]) != '\0')
        n++;
    if (n < LWP_NAME_INLINE)
        return 0;
    p->name = strdup(name);
    if (!p->name) {
        p->name = p->name_buf;
        return -1;
    }
    return 0;
}

void lwp__pcbs_term(struct lwp_runtime *rt)
{
    for (size_t s = 0; s < rt->nslabs; s++)
        for (size_t i = 0; i < LWP_PCB_PER_SLAB; i++) {
            struct lwp_pcb *p = &rt->slabs[s][i];
            if (p->state == LWP_ST_FREE || p->state == LWP_ST_DEAD)
                continue;
            if (p->name != p->name_buf)
                free(p->name);
            if (p->nodes != p->inline_nodes)
                free(p->nodes);
        }
    for (size_t i = 0; i < rt->nslabs; i++) {
        free(rt->slabs[i]);
        munmap((void *)rt->hspaces[i], LWP_HANDLE_SPACE);
    }
    free(rt->slabs);
    free(rt->hspaces);
    rt->slabs = NULL;
    rt->hspaces = NULL;
    rt->nslabs = rt->slabcap = 0;
    rt->free_head = rt->free_tail = NULL;
}

/* ---- Rocks ---- */

int LWP_NewRock(int Tag, void *Value)
{
    struct lwp_pcb *cur;

    if (!lwp__rt)
        return lwp__no_rt();
    cur = lwp__rt->current;
    for (int i = 0; i < cur->nrocks; i++)
        if (cur->rock_tags[i] == Tag)
            return LWP_EBADROCK;
    if (cur->nrocks == LWP_MAXROCKS)
        return LWP_ENOROCKS;
    cur->rock_tags[cur->nrocks] = Tag;
    cur->rock_values[cur->nrocks] = Value;
    cur->nrocks++;
    return LWP_SUCCESS;
}

int LWP_GetRock(int Tag, char **Value)
{
    struct lwp_pcb *cur;

    if (!lwp__rt)
        return lwp__no_rt();
    if (!Value)
        return LWP_EBADARG;
    cur = lwp__rt->current;
    for (int i = 0; i < cur->nrocks; i++)
        if (cur->rock_tags[i] == Tag) {
            *Value = cur->rock_values[i];
            return LWP_SUCCESS;
        }
    return LWP_EBADROCK;
}

/* ---- Dumps ---- */

static const char *state_name(const struct lwp_pcb *p)
{
    if (p->state == LWP_ST_READY)
        return "READY";
    if (p->state == LWP_ST_SUSPENDED)
        return "SUSPENDED";
    if (p->xflags & LWP_XF_SUSP)
        return p->qwaiting ? "WAITING (QWait), SUSPENDED" : "WAITING, SUSPENDED";
    return p->qwaiting ? "WAITING (QWait)" : "WAITING";
}

/* Where a shared-stack LWP's live stack is: in place, or saved aside. */
static void dump_shared(const struct lwp_pcb *p, FILE *fp)
{
    fprintf(fp, "\tshared stack at %p, depth allowed: %u, deepest seen: %u\n",
            (void *)p->stack_lo, p->sh_limit, p->sh_hw);
    if (p->sh_fresh)
        fprintf(fp, "\tnot started yet\n");
    else if (p != lwp__rt->current && p != lwp__rt->stack_owner)
        fprintf(fp, "\tlive stack saved aside: %u bytes at %p\n", p->sh_len,
                (void *)p->sh_save);
}

void lwp__dump_one(struct lwp_pcb *p, FILE *fp)
{
    fprintf(fp, "***LWP: process %s (%p)\n", p->name, (void *)lwp__pid(p));
    if (p->ep)
        fprintf(fp, "\tentry point: %p, parameter %p\n",
                (void *)(uintptr_t)p->ep, p->parm);
    fprintf(fp, "\tindex: %d, priority: %d, status: %s\n", p->index,
            p->priority, state_name(p));
    if (p->state == LWP_ST_WAITING && p->eventcnt) {
        fprintf(fp, "\tevents outstanding: %d of", lwp__events_needed(p));
        for (int i = 0; i < p->eventcnt; i++)
            fprintf(fp, " %p", p->nodes[i].addr);
        fprintf(fp, "\n");
    }
    if (p->joining)
        fprintf(fp, "\twaits for the exit of \"%s\"\n",
                p->joining->target->name);
    if (p->wakevent)
        fprintf(fp, "\tlast wakeup event: %d\n", p->wakevent);
    if (p->xflags & LWP_XF_SHARED)
        dump_shared(p, fp);
    else if (p->stack_lo) {
        fprintf(fp, "\tstack base: %p, size: %zu\n", (void *)p->stack_lo,
                p->stack_size);
        if (p->counted && !lwp__rt->protect)
            fprintf(fp, "\tstack usage high water mark: %zu\n",
                    lwp__stack_used(p));
    }
    if (p != lwp__rt->current && lwp__last_sp(p))
        fprintf(fp, "\tstack pointer at last switch: %p\n", lwp__last_sp(p));
    fprintf(fp, "==========================================\n");
}

void LWP_Print_Processes(void)
{
    struct lwp_runtime *rt = lwp__rt;
    FILE *fp = lwp_logfile ? lwp_logfile : stderr;

    if (!rt) {
        fprintf(fp, "***LWP: LWP support not initialized\n");
        return;
    }
    LWP_FOR_EACH_LIVE(rt, p, {
        if (p->state != LWP_ST_WAITING)
            fprintf(fp, "[Priority %d]\n", p->priority);
        else
            fprintf(fp, "[Blocked]\n");
        lwp__dump_one(p, fp);
    });
    fprintf(fp, "Trace done\n");
    fflush(fp);
}
