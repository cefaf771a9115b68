/* SPDX-License-Identifier: MIT */
/* The OpenAFS names of LWP calls (<lwp/afs_compat.h>). */
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

int LWP_CreateProcessAFS(void *(*ep)(void *), int stacksize, int priority,
                         void *parm, const char *name, PROCESS *pid)
{
    return lwp__create(NULL, ep, stacksize, priority, parm, name, pid);
}
