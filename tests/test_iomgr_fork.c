/* SPDX-License-Identifier: MIT */
/*
 * fork(): what README.md's "fork()" section promises. The child of a
 * process running LWPs gets the whole runtime (its other LWPs run there
 * too), and the recipe for a child that goes on with IOMGR (a loop of its
 * own handed to IOMGR_InitializeWithLoop, ev_loop_fork in the child)
 * works in the child without disturbing the parent's waits.
 */
#include <ev.h>
#include <signal.h>
#include <sys/wait.h>

#include "iomgr_test.h"

static struct ev_loop *own_loop;

static void setup_own_loop(void)
{
    own_loop = ev_loop_new(EVFLAG_AUTO);
    cr_assert_not_null(own_loop);
    cr_assert_eq(IOMGR_InitializeWithLoop(own_loop), LWP_SUCCESS);
}

static void teardown_own_loop(void)
{
    iot_teardown();
    if (own_loop)
        ev_loop_destroy(own_loop);
    own_loop = NULL;
}

/* In the child: the recipe, then a wait on a new pipe, a select timeout
 * and a sleep. Returns the exit status: 0 when all behaved. */
static int child_uses_iomgr(void)
{
    struct timeval second = {1, 0}, tenth = {0, 100000};
    int fds[2];

    ev_loop_fork(own_loop);
    if (pipe(fds) != 0 || write(fds[1], "x", 1) != 1)
        return 10;
    if (IOMGR_WaitIO(fds[0], IOMGR_READ, &second) != IOMGR_READ)
        return 11;
    if (IOMGR_Select(0, NULL, NULL, NULL, &tenth) != 0)
        return 12;
    if (IOMGR_Sleep(0) != 0)
        return 13;
    return 0;
}

static int wait_child(pid_t pid)
{
    int status = 0;

    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "child killed by signal %d",
              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return WEXITSTATUS(status);
}

Test(iomgr_fork, child_with_ev_loop_fork_uses_iomgr_and_parent_goes_on,
     .init = setup_own_loop, .fini = teardown_own_loop, .timeout = 20)
{
    struct timeval second = {1, 0};
    int fds[2];
    pid_t pid;

    iot_pipe(fds);
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0)
        _exit(child_uses_iomgr());
    cr_assert_eq(wait_child(pid), 0, "the child's IOMGR calls");
    /* The parent's own registrations are intact after the child's. */
    cr_assert_eq(write(fds[1], "y", 1), 1);
    cr_assert_eq(IOMGR_WaitIO(fds[0], IOMGR_READ, &second), IOMGR_READ);
    close(fds[0]);
    close(fds[1]);
}

static char wake_other;
static int report_fd = -1;

/* Waits for wake_other, then writes the pid of the process it runs in. */
static void other_lwp(void *arg)
{
    pid_t me;

    (void)arg;
    LWP_WaitProcess(&wake_other);
    me = getpid();
    if (write(report_fd, &me, sizeof(me)) != (ssize_t)sizeof(me))
        _exit(20);
}

Test(iomgr_fork, other_lwps_run_in_the_child_too, .init = iot_setup,
     .fini = iot_teardown, .timeout = 20)
{
    int fds[2];
    pid_t pid, reported = 0;

    iot_pipe(fds);
    report_fd = fds[1];
    iot_spawn(other_lwp, IOT_HIGH, NULL);
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        /* The copied LWP wakes and runs here, in the child. */
        LWP_SignalProcess(&wake_other);
        _exit(0);
    }
    cr_assert_eq(wait_child(pid), 0);
    cr_assert_eq(read(fds[0], &reported, sizeof(reported)),
                 (ssize_t)sizeof(reported));
    cr_assert_eq(reported, pid, "the parent's LWP ran in the child");
    LWP_SignalProcess(&wake_other); /* and still waits in the parent */
    cr_assert_eq(read(fds[0], &reported, sizeof(reported)),
                 (ssize_t)sizeof(reported));
    cr_assert_eq(reported, getpid());
    close(fds[0]);
    close(fds[1]);
}
