/* SPDX-License-Identifier: MIT */
/* The OpenAFS-only IOMGR calls (<lwp/afs_compat.h>), and its keyboard
 * calls, which wait for stdin through IOMGR_Select. */
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

#include <lwp/afs_compat.h>

#include "iomgr_internal.h"

/* Sets come from chunks kept for reuse (never returned to the system: as
 * many as were ever out at once). Each chunk records which of its sets are
 * out, so a free is accepted only for a set that is out: a second free, or
 * a pointer IOMGR_AllocFDSet never returned, is ignored and cannot put a
 * set on the free list twice. */
#define FDSET_CHUNK 64

union fdset_slot {
    fd_set set;
    union fdset_slot *next; /* while free */
};

struct fdset_chunk {
    union fdset_slot slots[FDSET_CHUNK];
    uint64_t out; /* bit i: slots[i] is handed out */
};

static struct fdset_chunk **chunks; /* sorted by address */
static size_t nchunks, chunkcap;
static union fdset_slot *free_sets;

static int add_chunk(void)
{
    struct fdset_chunk *c;
    size_t i;

    if (nchunks == chunkcap) {
        size_t cap = chunkcap ? 2 * chunkcap : 4;
        struct fdset_chunk **n = realloc(chunks, cap * sizeof(*n));
        if (!n)
            return -1;
        chunks = n;
        chunkcap = cap;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    for (i = nchunks; i > 0 && (uintptr_t)chunks[i - 1] > (uintptr_t)c; i--)
        chunks[i] = chunks[i - 1];
    chunks[i] = c;
    nchunks++;
    for (int k = FDSET_CHUNK - 1; k >= 0; k--) {
        c->slots[k].next = free_sets;
        free_sets = &c->slots[k];
    }
    return 0;
}

/* The chunk holding `set` at a slot boundary, and the slot's index. */
static struct fdset_chunk *chunk_of(const void *set, int *index)
{
    uintptr_t a = (uintptr_t)set;
    size_t lo = 0, hi = nchunks;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uintptr_t base = (uintptr_t)chunks[mid]->slots;
        if (a < base) {
            hi = mid;
        } else if (a - base >= sizeof(chunks[mid]->slots)) {
            lo = mid + 1;
        } else {
            if ((a - base) % sizeof(union fdset_slot))
                return NULL;
            *index = (int)((a - base) / sizeof(union fdset_slot));
            return chunks[mid];
        }
    }
    return NULL;
}

fd_set *IOMGR_AllocFDSet(void)
{
    union fdset_slot *s;
    struct fdset_chunk *c;
    int i = 0;

    if (!free_sets && add_chunk() != 0)
        return NULL;
    s = free_sets;
    free_sets = s->next;
    c = chunk_of(s, &i);
    c->out |= (uint64_t)1 << i;
    memset(s, 0, sizeof(*s));
    return &s->set;
}

void IOMGR_FreeFDSet(fd_set *set)
{
    union fdset_slot *s = (union fdset_slot *)(void *)set;
    struct fdset_chunk *c;
    FILE *log;
    int i = 0;

    if (!set)
        return;
    c = chunk_of(set, &i);
    if (c && (c->out & ((uint64_t)1 << i))) {
        c->out &= ~((uint64_t)1 << i);
        s->next = free_sets;
        free_sets = s;
        return;
    }
    log = lwp_logfile ? lwp_logfile : stderr;
    fprintf(log, "***LWP: IOMGR_FreeFDSet(%p) ignored: %s\n", (void *)set,
            c ? "the set is already free"
              : "IOMGR_AllocFDSet did not return it");
    fflush(log);
}

int IOMGR_InitializeAFS(void)
{
    if (!lwp__rt) {
        int rc = LWP_InitializeProcessSupport(LWP_NORMAL_PRIORITY, NULL);
        if (rc != LWP_SUCCESS)
            return rc;
    }
    return (IOMGR_Initialize)();
}

int IOMGR_PollAFS(void)
{
    (IOMGR_Poll)();
    LWP_DispatchProcess();
    LWP_DispatchProcess();
    return 0;
}

int IOMGR_SoftSigAFS(void *(*aproc)(void *), void *arock)
{
    return iomgr__softsig(NULL, aproc, arock);
}

/* ---- Keyboard ---- */

/* Whether stdio holds stdin bytes not yet handed out: then waiting for
 * the fd would wait for more than is needed. glibc's FILE shows it. */
static int stdin_buffered(void)
{
#ifdef __GLIBC__
    return stdin->_IO_read_ptr < stdin->_IO_read_end;
#else
    return 0;
#endif
}

int LWP_WaitForKeystroke(int seconds)
{
    struct timeval tv = {seconds, 0};
    int fd = fileno(stdin), rc;
    fd_set rd;

    if (stdin_buffered())
        return 1;
    if (fd < 0 || fd >= FD_SETSIZE)
        return 0;
    FD_ZERO(&rd);
    FD_SET(fd, &rd);
    rc = IOMGR_Select(fd + 1, &rd, NULL, NULL, seconds < 0 ? NULL : &tv);
    return rc > 0;
}

int LWP_GetLine(char *linebuf, int len)
{
    int n = 0, c = 0;

    if (!linebuf || len < 2)
        return 0;
    while (n < len - 1) {
        if (!stdin_buffered())
            LWP_WaitForKeystroke(-1);
        c = getc(stdin);
        if (c == EOF)
            break;
        linebuf[n++] = (char)c;
        if (c == '\n')
            break;
    }
    linebuf[n] = '\0';
    if (n == 0 && c == EOF)
        return -1;
    return linebuf[n - 1] == '\n' ? n : 0;
}

int LWP_GetResponseKey(int seconds, char *key)
{
    int c;

    if (!key)
        return 0;
    __fpurge(stdin); /* answers typed ahead do not count */
    c = LWP_WaitForKeystroke(seconds) ? getc(stdin) : EOF;
    *key = c == EOF ? '\0' : (char)c;
    return c != EOF;
}
