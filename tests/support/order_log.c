/* SPDX-License-Identifier: MIT */
/* The order log the scheduling-order tests share, and the LWP_Init
 * fixture of the LWP and Lock tests (see lwp_test.h). */
#include <stdarg.h>

#include "../lwp_test.h"

char lwpt_log[4096];

void lwpt_note(const char *fmt, ...)
{
    size_t n = strlen(lwpt_log);
    va_list ap;

    if (n && n + 1 < sizeof(lwpt_log))
        lwpt_log[n++] = ' ';
    va_start(ap, fmt);
    vsnprintf(lwpt_log + n, sizeof(lwpt_log) - n, fmt, ap);
    va_end(ap);
}

void lwpt_reset(void)
{
    lwpt_log[0] = '\0';
}

void lwpt_setup(void)
{
    PROCESS main_pid;

    lwpt_reset();
    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &main_pid),
                 LWP_SUCCESS);
}

void lwpt_teardown(void)
{
    if (LWP_ThisProcess())
        LWP_TerminateProcessSupport();
}
