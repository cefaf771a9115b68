/* SPDX-License-Identifier: MIT */
/* The OpenAFS-only IOMGR calls (<lwp/afs_compat.h>). */
#include <stdlib.h>
#include <string.h>

#include <lwp/afs_compat.h>

#include "iomgr_internal.h"

#define FDSET_POOL_MAX 64 /* sets kept for reuse; more are freed */

/* A freed set's first bytes link the pool. */
union pooled_set {
    fd_set set;
    union pooled_set *next;
};

static union pooled_set *pool;
static int pooled;

fd_set *IOMGR_AllocFDSet(void)
{
    union pooled_set *s = pool;

    if (s) {
        pool = s->next;
        pooled--;
    } else {
        s = malloc(sizeof(*s));
        if (!s)
            return NULL;
    }
    memset(s, 0, sizeof(*s));
    return &s->set;
}

void IOMGR_FreeFDSet(fd_set *set)
{
    union pooled_set *s = (union pooled_set *)(void *)set;

    if (!s)
        return;
    if (pooled >= FDSET_POOL_MAX) {
        free(s);
        return;
    }
    s->next = pool;
    pool = s;
    pooled++;
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
