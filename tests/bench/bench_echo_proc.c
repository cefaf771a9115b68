/* SPDX-License-Identifier: MIT */
/*
 * Child processes of bench_echo. Whatever way the benchmark ends (normal
 * exit, bench_fail, Ctrl-C, SIGTERM, or the parent being killed outright),
 * no server or client may be left running: the parent kills and reaps its
 * children at exit and on the usual stop signals, and every child asks the
 * kernel to kill it when the parent dies (the one case the parent cannot
 * handle itself).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_echo.h"
#include "bench_util.h"

#define MAX_KIDS 4 /* a server and a client at a time, with room to spare */

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define N_STOP (int)(sizeof(stop_signals) / sizeof(stop_signals[0]))

static volatile pid_t kids[MAX_KIDS];
static pid_t owner; /* the parent; children inherit the atexit handler */

static void wait_quietly(pid_t pid)
{
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* Async-signal-safe (kill and waitpid only), as a signal handler uses it. */
static void kill_all(void)
{
    if (getpid() != owner)
        return;
    for (int i = 0; i < MAX_KIDS; i++) {
        pid_t pid = kids[i];

        if (pid > 0) {
            kill(pid, SIGKILL);
            wait_quietly(pid);
            kids[i] = 0;
        }
    }
}

static void on_stop_signal(int sig)
{
    kill_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

void echo_proc_init(void)
{
    struct sigaction sa = {.sa_handler = on_stop_signal};

    owner = getpid();
    if (atexit(kill_all) != 0)
        bench_fail("atexit", 0);
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < N_STOP; i++)
        sigaction(stop_signals[i], &sa, NULL);
}

static void set_stop_signals(int how)
{
    sigset_t set;

    sigemptyset(&set);
    for (int i = 0; i < N_STOP; i++)
        sigaddset(&set, stop_signals[i]);
    sigprocmask(how, &set, NULL);
}

static void remember(pid_t pid)
{
    for (int i = 0; i < MAX_KIDS; i++)
        if (kids[i] == 0) {
            kids[i] = pid;
            return;
        }
    kill(pid, SIGKILL);
    wait_quietly(pid);
    bench_fail("echo_spawn: too many children", MAX_KIDS);
}

/* Pinned to cpu, and SCHED_BATCH: a woken process does not preempt the
 * running one. Client and server then take turns at the points where one
 * has nothing left to do. Without it, the kernel's wake-up preemption
 * settles in one of two regimes. In one the server blocks in its poller.
 * In the other the server is preempted by every client wake-up, and pays
 * for waking the client at every write. Which regime a server gets
 * depends on whether it needs a little more or less CPU than the client,
 * so a 5% difference in cost became a 10-20% difference in the figures,
 * from run to run. */
static void pin(int cpu)
{
    cpu_set_t set;
    struct sched_param sp = {.sched_priority = 0};

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        perror("bench_echo: sched_setaffinity");
    if (sched_setscheduler(0, SCHED_BATCH, &sp) != 0)
        perror("bench_echo: SCHED_BATCH");
}

/* In the child: drop the parent's clean-up, die with the parent (checking
 * it did not die before the request was made), pin, run. */
static void child(int (*fn)(void *), void *arg, int cpu, pid_t parent)
{
    for (int i = 0; i < N_STOP; i++)
        signal(stop_signals[i], SIG_DFL);
    set_stop_signals(SIG_UNBLOCK);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(1);
    if (cpu >= 0)
        pin(cpu);
    _exit(fn(arg));
}

pid_t echo_spawn(int (*fn)(void *), void *arg, int cpu)
{
    pid_t parent = getpid(), pid;

    fflush(NULL); /* or the child's exit path could print our buffer twice */
    /* Blocked until the pid is remembered, so a Ctrl-C in between cannot
     * leave this child out of the clean-up. */
    set_stop_signals(SIG_BLOCK);
    pid = fork();
    if (pid == 0)
        child(fn, arg, cpu, parent);
    if (pid > 0)
        remember(pid);
    set_stop_signals(SIG_UNBLOCK);
    if (pid < 0)
        bench_fail("fork", errno);
    return pid;
}

/* Stop signals wait until the pid is forgotten: the clean-up must not
 * kill a pid that has been reaped (and might be reused). */
void echo_reap(pid_t pid, int sig)
{
    set_stop_signals(SIG_BLOCK);
    if (sig)
        kill(pid, sig);
    wait_quietly(pid);
    for (int i = 0; i < MAX_KIDS; i++)
        if (kids[i] == pid)
            kids[i] = 0;
    set_stop_signals(SIG_UNBLOCK);
}
