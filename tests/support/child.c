/* SPDX-License-Identifier: MIT */
/* The overflow tests' helpers (lwp_test.h): a child process whose stderr
 * the test reads, and a recursion that only a stack's end stops. */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lwp_test.h"

int lwpt_in_child(void (*body)(void), char *buf, size_t cap)
{
    int fds[2], status = 0;
    size_t got = 0;
    ssize_t n;
    pid_t pid;

    cr_assert_eq(pipe(fds), 0);
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        body();
        _exit(0);
    }
    close(fds[1]);
    while ((n = read(fds[0], buf + got, cap - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fds[0]);
    waitpid(pid, &status, 0);
    return status;
}

void lwpt_child_says_in_order(void (*body)(void), const char *first,
                              const char *then)
{
    char buf[4096];
    int status = lwpt_in_child(body, buf, sizeof(buf));
    const char *a = strstr(buf, first), *b = strstr(buf, then);

    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%#x", status);
    cr_assert(a && b && a < b, "got: %s", buf);
    cr_assert_not_null(strstr(buf, "main-continues"), "got: %s", buf);
}

/* Never reached; volatile, so the compiler cannot see the recursion is
 * endless and drop or loop it. */
static volatile int recursion_limit = 1 << 30;

int lwpt_recurse(int depth)
{
    volatile char pad[512];

    pad[0] = (char)depth;
    if (depth > recursion_limit)
        return 0;
    return lwpt_recurse(depth + 1) + pad[0];
}
