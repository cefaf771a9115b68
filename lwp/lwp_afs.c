/* SPDX-License-Identifier: MIT */
/* The OpenAFS names of LWP calls (<lwp/afs_compat.h>). */
#include <stdlib.h>

#include <lwp/afs_compat.h>

#include "lwp_internal.h"

int LWP_InitializeProcessSupport(int priority, PROCESS *pid)
{
    return LWP_Init(LWP_VERSION, priority, pid);
}

PROCESS LWP_ThreadId(void)
{
    return LWP_ThisProcess();
}

/* OpenAFS raised every stack to its minimum, or to AFS_LWP_STACK_SIZE
 * from the environment if that was larger; read once, as it did. */
static int afs_min_stack(void)
{
    static int min;

    if (!min) {
        const char *env = getenv("AFS_LWP_STACK_SIZE");
        long want = env ? strtol(env, NULL, 0) : 0;

        min = want > LWP_AFS_MINSTACK && want <= LWP_MAXSTACK
                  ? (int)want
                  : LWP_AFS_MINSTACK;
    }
    return min;
}

int LWP_CreateProcessAFS(void *(*ep)(void *), int stacksize, int priority,
                         void *parm, const char *name, PROCESS *pid)
{
    /* A negative size stays negative: it is still refused. */
    if (stacksize >= 0 && stacksize < afs_min_stack())
        stacksize = afs_min_stack();
    return lwp__create(NULL, ep, stacksize, priority, parm, name, pid);
}
