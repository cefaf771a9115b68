/* SPDX-License-Identifier: MIT */
/* The OpenAFS-only IOMGR calls (<lwp/afs_compat.h>), and its keyboard
 * calls, which wait for stdin through IOMGR_Select. */
#include <stdio.h>
#include <stdio_ext.h>
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
