/* SPDX-License-Identifier: MIT */
/*
 * Pass hooks (IOMGR_AddPassHook): calls the IO MANAGER makes just before
 * each pass over its loop. They let a module defer work that LWPs queue
 * during one scheduling round (liblwprpc's outgoing datagrams) to the
 * moment every runnable LWP has run, and then do it in one system call.
 */
#include <errno.h>

#include "iomgr_internal.h"

static int find_hook(const struct iomgr *m, void (*fn)(void *), void *arg)
{
    for (int i = 0; i < m->nhooks; i++)
        if (m->hooks[i].fn == fn && m->hooks[i].arg == arg)
            return i;
    return -1;
}

/* Slots emptied while the hooks ran are closed up afterwards, so that
 * the loop below never skips or repeats one. */
static void compact_hooks(struct iomgr *m)
{
    int n = 0;

    for (int i = 0; i < m->nhooks; i++)
        if (m->hooks[i].fn)
            m->hooks[n++] = m->hooks[i];
    m->nhooks = n;
}

void iomgr__run_hooks(struct iomgr *m)
{
    int n = m->nhooks;

    if (n == 0 || m->in_hooks)
        return;
    m->in_hooks = 1;
    for (int i = 0; i < n; i++)
        if (m->hooks[i].fn)
            m->hooks[i].fn(m->hooks[i].arg);
    m->in_hooks = 0;
    if (m->hook_holes) { /* every pass otherwise: not for nothing */
        m->hook_holes = 0;
        compact_hooks(m);
    }
}

int IOMGR_AddPassHook(void (*fn)(void *), void *arg)
{
    struct iomgr *m = iomgr__entry();

    if (!m)
        return LWP_EINIT;
    if (!fn) {
        errno = EINVAL;
        return -1;
    }
    if (find_hook(m, fn, arg) >= 0) {
        errno = EEXIST;
        return -1;
    }
    if (m->nhooks == IOMGR_MAX_PASS_HOOKS) {
        errno = ENOSPC;
        return -1;
    }
    m->hooks[m->nhooks].fn = fn;
    m->hooks[m->nhooks].arg = arg;
    m->nhooks++;
    return 0;
}

int IOMGR_RemovePassHook(void (*fn)(void *), void *arg)
{
    struct iomgr *m = iomgr__entry();
    int i;

    if (!m)
        return LWP_EINIT;
    i = fn ? find_hook(m, fn, arg) : -1;
    if (i < 0) {
        errno = ENOENT;
        return -1;
    }
    m->hooks[i].fn = NULL;
    if (m->in_hooks)
        m->hook_holes = 1;
    else
        compact_hooks(m);
    return 0;
}
