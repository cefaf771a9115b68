/* SPDX-License-Identifier: MIT */
/*
 * IOMGR: initialisation, IOMGR_Select, IOMGR_WaitIO, IOMGR_Sleep and
 * IOMGR_Cancel, and the deliberate fixes (closed fds, QSignal of a
 * selecting LWP, Finalize with selecting LWPs).
 */
#include <ev.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "iomgr_test.h"

TestSuite(iomgr_init, .fini = iot_teardown, .timeout = 30);
TestSuite(iomgr_select, .init = iot_setup, .fini = iot_teardown,
          .timeout = 30);
TestSuite(iomgr_waitio, .init = iot_setup, .fini = iot_teardown,
          .timeout = 30);
TestSuite(iomgr_fixes, .init = iot_setup, .fini = iot_teardown,
          .timeout = 30);

/* ---- Initialisation ---- */

Test(iomgr_init, initialize_alone_sets_up_lwp_and_fasttime)
{
    int prio = -1;

    cr_assert_null(LWP_ThisProcess());
    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
    cr_assert_not_null(LWP_ThisProcess());
    cr_assert_str_eq(LWP_Name(), "Main Process");
    cr_assert_eq(LWP_GetProcessPriority(LWP_ThisProcess(), &prio),
                 LWP_SUCCESS);
    cr_assert_eq(prio, LWP_NORMAL_PRIORITY);
    /* Main is index 0, the IO MANAGER index 1. */
    cr_assert_eq(LWP_HighestIndex(), 1);
    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS, "second call");
    cr_assert_eq(LWP_HighestIndex(), 1, "no second manager");
}

Test(iomgr_init, explicit_order_keeps_first_parameters)
{
    int prio = -1;

    cr_assert_eq(FT_Init(0, 0), 0);
    cr_assert_eq(LWP_Init(LWP_VERSION, 1, NULL), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
    cr_assert_eq(LWP_GetProcessPriority(LWP_ThisProcess(), &prio),
                 LWP_SUCCESS);
    cr_assert_eq(prio, 1);
}

Test(iomgr_init, calls_before_initialize)
{
    fd_set r;
    struct timeval tv = {1, 0};

    FD_ZERO(&r);
    cr_assert_eq(IOMGR_Select(0, &r, NULL, NULL, &tv), LWP_EINIT);
    cr_assert_eq(IOMGR_WaitIO(0, IOMGR_READ, &tv), LWP_EINIT);
    cr_assert_eq(IOMGR_Sleep(1), LWP_EINIT);
    cr_assert_eq(IOMGR_Poll(), 0);
    cr_assert_eq(IOMGR_Cancel(NULL), -1);
    cr_assert_eq(IOMGR_Finalize(), LWP_EINIT);
    cr_assert_eq(IOMGR_Signal(SIGUSR1, (char *)&r), LWP_EINIT);
    cr_assert_eq(IOMGR_CancelSignal(SIGUSR1), LWP_EINIT);
    cr_assert_eq(IOMGR_SoftSig(NULL, NULL), -1);
}

Test(iomgr_init, finalize_then_initialize_again)
{
    struct timeval tv = {0, 1000};

    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Finalize(), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Finalize(), LWP_EINIT);
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), LWP_EINIT);
    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
}

Test(iomgr_init, terminate_finalizes_and_reinit_works)
{
    struct timeval tv = {0, 1000};

    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
    cr_assert_eq(LWP_TerminateProcessSupport(), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), LWP_EINIT);
    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
}

Test(iomgr_init, with_loop_null_is_rejected)
{
    cr_assert_eq(IOMGR_InitializeWithLoop(NULL), LWP_EBADARG);
}

Test(iomgr_init, with_loop_uses_and_keeps_the_program_loop)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct timeval tv = {0, 20000};
    int fds[2];

    cr_assert_not_null(loop);
    cr_assert_eq(IOMGR_InitializeWithLoop(loop), LWP_SUCCESS);
    iot_pipe(fds);
    cr_assert_eq(write(fds[1], "x", 1), 1);
    cr_assert_eq(IOMGR_WaitIO(fds[0], IOMGR_READ, &tv), IOMGR_READ);
    cr_assert_eq(IOMGR_Finalize(), LWP_SUCCESS);
    /* Still the program's: usable after IOMGR let it go. */
    ev_run(loop, EVRUN_NOWAIT);
    ev_loop_destroy(loop);
    close(fds[0]);
    close(fds[1]);
}

/* ---- IOMGR_Select ---- */

Test(iomgr_select, zero_timeout_polls_without_yielding)
{
    struct timeval zero = {0, 0};
    fd_set r;
    int fds[2];

    iot_pipe(fds);
    FD_ZERO(&r);
    FD_SET(fds[0], &r);
    cr_assert_eq(IOMGR_Select(fds[0] + 1, &r, NULL, NULL, &zero), 0);
    cr_assert_not(FD_ISSET(fds[0], &r));
    cr_assert_eq(write(fds[1], "x", 1), 1);
    FD_SET(fds[0], &r);
    cr_assert_eq(IOMGR_Select(fds[0] + 1, &r, NULL, NULL, &zero), 1);
    cr_assert(FD_ISSET(fds[0], &r));
}

struct writer_arg {
    int fd;
    int done;
};

static void write_one(void *arg)
{
    struct writer_arg *w = arg;

    cr_assert_eq(write(w->fd, "x", 1), 1);
    w->done = 1;
}

Test(iomgr_select, blocks_until_readable_and_rewrites_sets)
{
    fd_set r, w;
    int fds[2], other[2];
    struct writer_arg wa;

    iot_pipe(fds);
    iot_pipe(other);
    wa.fd = fds[1];
    wa.done = 0;
    /* A lower-priority writer runs only once main blocks. */
    iot_spawn(write_one, LWP_NORMAL_PRIORITY - 1, &wa);
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(fds[0], &r);
    FD_SET(other[0], &r);
    cr_assert_eq(IOMGR_Select(FD_SETSIZE, &r, &w, NULL, NULL), 1);
    cr_assert(wa.done);
    cr_assert(FD_ISSET(fds[0], &r));
    cr_assert_not(FD_ISSET(other[0], &r), "not ready: cleared");
}

Test(iomgr_select, counts_ready_fd_set_pairs)
{
    int sv[2], fds[2];
    fd_set r, w;
    struct timeval tv = {5, 0};
    int nfds;

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    iot_pipe(fds);
    cr_assert_eq(write(sv[1], "x", 1), 1);
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(sv[0], &r);  /* readable */
    FD_SET(sv[0], &w);  /* and writable: two pairs */
    FD_SET(fds[1], &w); /* pipe write end: writable */
    FD_SET(fds[0], &r); /* empty pipe: not ready */
    nfds = (sv[0] > fds[1] ? sv[0] : fds[1]) + 1;
    cr_assert_eq(IOMGR_Select(nfds, &r, &w, NULL, &tv), 3);
    cr_assert(FD_ISSET(sv[0], &r) && FD_ISSET(sv[0], &w));
    cr_assert(FD_ISSET(fds[1], &w));
    cr_assert_not(FD_ISSET(fds[0], &r));
}

Test(iomgr_select, timeout_returns_zero_and_clears_sets)
{
    int fds[2];
    fd_set r;
    struct timeval tv = {0, 50000};
    double t0 = iot_now();

    iot_pipe(fds);
    FD_ZERO(&r);
    FD_SET(fds[0], &r);
    cr_assert_eq(IOMGR_Select(fds[0] + 1, &r, NULL, NULL, &tv), 0);
    cr_assert_geq(iot_now() - t0, 0.049);
    cr_assert_not(FD_ISSET(fds[0], &r));
}

Test(iomgr_select, only_bits_below_nfds_are_used_or_touched)
{
    int fds[2];
    fd_set r;
    struct timeval tv = {0, 20000};

    iot_pipe(fds);
    cr_assert_eq(write(fds[1], "x", 1), 1);
    FD_ZERO(&r);
    FD_SET(fds[0], &r);
    /* fds[0] is not below nfds: ignored, and its bit left alone. */
    cr_assert_eq(IOMGR_Select(fds[0], &r, NULL, NULL, &tv), 0);
    cr_assert(FD_ISSET(fds[0], &r));
}

/* A select of one set naming one fd takes IOMGR_WaitIO's path: it must
 * still answer as select(2) for the write set, far below nfds, and leave
 * a set naming fds in two words to the general path. */
Test(iomgr_select, one_fd_selects_answer_as_select, .timeout = 10)
{
    int fds[2], low[2], high;
    fd_set r, w;
    struct timeval tv = {0, 20000};

    iot_pipe(fds);
    FD_ZERO(&w);
    FD_SET(fds[1], &w);
    cr_assert_eq(IOMGR_Select(FD_SETSIZE, NULL, &w, NULL, NULL), 1);
    cr_assert(FD_ISSET(fds[1], &w), "the one ready bit stays");
    /* One fd in a low word, another in a high one: both watched. */
    iot_pipe(low);
    high = fcntl(low[0], F_DUPFD, 200);
    cr_assert_geq(high, 200);
    cr_assert_eq(write(low[1], "x", 1), 1);
    FD_ZERO(&r);
    FD_SET(fds[0], &r);
    FD_SET(high, &r);
    cr_assert_eq(IOMGR_Select(high + 1, &r, NULL, NULL, &tv), 1);
    cr_assert(FD_ISSET(high, &r));
    cr_assert_not(FD_ISSET(fds[0], &r), "not ready: cleared");
    /* The one fd not ready: the timeout clears its bit. */
    FD_ZERO(&r);
    FD_SET(fds[0], &r);
    cr_assert_eq(IOMGR_Select(FD_SETSIZE, &r, NULL, NULL, &tv), 0);
    cr_assert_not(FD_ISSET(fds[0], &r));
    close(high);
    for (int i = 0; i < 2; i++) {
        close(low[i]);
        close(fds[i]);
    }
}

Test(iomgr_select, negative_nfds_is_einval)
{
    struct timeval tv = {1, 0};

    errno = 0;
    cr_assert_eq(IOMGR_Select(-1, NULL, NULL, NULL, &tv), -1);
    cr_assert_eq(errno, EINVAL);
}

Test(iomgr_select, sleep_without_fds)
{
    struct timeval tv = {0, 30000};
    double t0 = iot_now();

    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
    cr_assert_geq(iot_now() - t0, 0.029);
}

Test(iomgr_select, many_fds_beyond_the_inline_watches)
{
    enum { N = 40 };
    int p[N][2];
    fd_set r;
    int nfds = 0;
    struct timeval tv = {5, 0};

    FD_ZERO(&r);
    for (int i = 0; i < N; i++) {
        iot_pipe(p[i]);
        FD_SET(p[i][0], &r);
        if (p[i][0] >= nfds)
            nfds = p[i][0] + 1;
    }
    cr_assert_eq(write(p[7][1], "x", 1), 1);
    cr_assert_eq(write(p[31][1], "x", 1), 1);
    cr_assert_eq(IOMGR_Select(nfds, &r, NULL, NULL, &tv), 2);
    for (int i = 0; i < N; i++)
        cr_assert_eq(FD_ISSET(p[i][0], &r) != 0, i == 7 || i == 31);
}

Test(iomgr_select, nfds_beyond_fd_setsize)
{
    struct rlimit rl;
    enum { BIG = 1500 };
    unsigned long r[(BIG + 64) / 64] = {0};
    int fds[2];
    struct timeval tv = {5, 0};

    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur <= BIG) {
        rl.rlim_cur = rl.rlim_max > BIG + 10 ? BIG + 10 : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur <= BIG)
        cr_skip_test("RLIMIT_NOFILE too low for fd %d", BIG);
    iot_pipe(fds);
    cr_assert_eq(dup2(fds[0], BIG), BIG);
    cr_assert_eq(write(fds[1], "x", 1), 1);
    r[BIG / 64] |= 1ul << (BIG % 64);
    cr_assert_eq(IOMGR_Select(BIG + 1, (fd_set *)r, NULL, NULL, &tv), 1);
    cr_assert(r[BIG / 64] & (1ul << (BIG % 64)));
    close(BIG);
}

static int tcp_pair(int sv[2])
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) ||
        listen(l, 1) || getsockname(l, (struct sockaddr *)&a, &len))
        return -1;
    sv[0] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(sv[0], (struct sockaddr *)&a, sizeof(a)))
        return -1;
    sv[1] = accept(l, NULL, NULL);
    close(l);
    return sv[1] < 0 ? -1 : 0;
}

static void send_urgent(void *arg)
{
    int fd = *(int *)arg;

    cr_assert_eq(send(fd, "!", 1, MSG_OOB), 1);
}

Test(iomgr_select, exceptional_condition_is_tcp_urgent_data)
{
    int sv[2];
    fd_set e;
    struct timeval tv = {5, 0};

    cr_assert_eq(tcp_pair(sv), 0);
    iot_spawn(send_urgent, LWP_NORMAL_PRIORITY - 1, &sv[0]);
    FD_ZERO(&e);
    FD_SET(sv[1], &e);
    cr_assert_eq(IOMGR_Select(sv[1] + 1, NULL, NULL, &e, &tv), 1);
    cr_assert(FD_ISSET(sv[1], &e));
}

/* ---- IOMGR_WaitIO and IOMGR_Sleep ---- */

Test(iomgr_waitio, bad_arguments)
{
    errno = 0;
    cr_assert_eq(IOMGR_WaitIO(-1, IOMGR_READ, NULL), -1);
    cr_assert_eq(errno, EBADF);
    errno = 0;
    cr_assert_eq(IOMGR_WaitIO(0, 0, NULL), -1);
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_eq(IOMGR_WaitIO(0, IOMGR_READ | 0x8, NULL), -1);
    cr_assert_eq(errno, EINVAL);
}

Test(iomgr_waitio, zero_timeout_polls)
{
    struct timeval zero = {0, 0};
    int fds[2];

    iot_pipe(fds);
    cr_assert_eq(IOMGR_WaitIO(fds[0], IOMGR_READ, &zero), 0);
    cr_assert_eq(IOMGR_WaitIO(fds[1], IOMGR_READ | IOMGR_WRITE, &zero),
                 IOMGR_WRITE);
    cr_assert_eq(write(fds[1], "x", 1), 1);
    cr_assert_eq(IOMGR_WaitIO(fds[0], IOMGR_READ, &zero), IOMGR_READ);
    close(fds[1]);
    close(fds[0]);
    errno = 0;
    cr_assert_eq(IOMGR_WaitIO(fds[0], IOMGR_READ, &zero), -1);
    cr_assert_eq(errno, EBADF);
}

Test(iomgr_waitio, blocks_until_readable)
{
    int fds[2];
    struct writer_arg wa;

    iot_pipe(fds);
    wa.fd = fds[1];
    wa.done = 0;
    iot_spawn(write_one, LWP_NORMAL_PRIORITY - 1, &wa);
    cr_assert_eq(IOMGR_WaitIO(fds[0], IOMGR_READ, NULL), IOMGR_READ);
    cr_assert(wa.done);
}

Test(iomgr_waitio, reports_only_ready_bits)
{
    int sv[2];
    struct timeval tv = {5, 0};

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cr_assert_eq(IOMGR_WaitIO(sv[0], IOMGR_READ | IOMGR_WRITE, &tv),
                 IOMGR_WRITE);
}

Test(iomgr_waitio, timeout_returns_zero)
{
    int fds[2];
    struct timeval tv = {0, 30000};
    double t0 = iot_now();

    iot_pipe(fds);
    cr_assert_eq(IOMGR_WaitIO(fds[0], IOMGR_READ, &tv), 0);
    cr_assert_geq(iot_now() - t0, 0.029);
}

Test(iomgr_waitio, sleep_sleeps_and_zero_yields)
{
    double t0 = iot_now();

    cr_assert_eq(IOMGR_Sleep(0), 0);
    cr_assert_eq(IOMGR_Sleep(-3), 0);
    cr_assert_lt(iot_now() - t0, 0.5);
    cr_assert_eq(IOMGR_Sleep(1), 0);
    cr_assert_geq(iot_now() - t0, 0.99);
}

static int shared_fd;

static void count_readable(void *arg)
{
    struct timeval t = {5, 0};

    if (IOMGR_WaitIO(shared_fd, IOMGR_READ, &t) == IOMGR_READ)
        (*(int *)arg)++;
}

Test(iomgr_waitio, same_fd_many_waiters_all_wake)
{
    enum { N = 5 };
    int fds[2], woke = 0;
    struct timeval tv = {5, 0};

    iot_pipe(fds);
    shared_fd = fds[0];
    for (int i = 0; i < N; i++)
        iot_spawn(count_readable, IOT_HIGH, &woke);
    cr_assert_eq(woke, 0);
    cr_assert_eq(write(fds[1], "x", 1), 1);
    IOT_WAIT_FOR(woke == N);
    cr_assert_eq(IOMGR_WaitIO(fds[0], IOMGR_READ, &tv), IOMGR_READ);
}

/* More fds fire in one loop pass than IOMGR delivers at once (it holds
 * a few back to prefetch their waiters): every waiter still wakes, once,
 * with its own fd's result. */
struct own_fd {
    int fd;
    int rc;
    int wakes;
};

static void wait_own_fd(void *arg)
{
    struct own_fd *o = arg;
    struct timeval tv = {5, 0};

    o->rc = IOMGR_WaitIO(o->fd, IOMGR_READ, &tv);
    o->wakes++;
}

Test(iomgr_waitio, many_fds_firing_in_one_pass_all_wake_once)
{
    enum { N = 40 };
    struct own_fd o[N];
    int fds[N][2], woke;

    for (int i = 0; i < N; i++) {
        iot_pipe(fds[i]);
        o[i] = (struct own_fd){.fd = fds[i][0], .rc = -9};
        iot_spawn(wait_own_fd, IOT_HIGH, &o[i]);
    }
    /* All readable before the manager's next pass. */
    for (int i = 0; i < N; i++)
        cr_assert_eq(write(fds[i][1], "x", 1), 1);
    IOT_WAIT_FOR(({
        woke = 0;
        for (int i = 0; i < N; i++)
            woke += o[i].wakes;
        woke == N;
    }));
    for (int i = 0; i < N; i++) {
        cr_assert_eq(o[i].rc, IOMGR_READ, "waiter %d", i);
        cr_assert_eq(o[i].wakes, 1, "waiter %d", i);
        close(fds[i][0]);
        close(fds[i][1]);
    }
}

/* ---- IOMGR_Cancel and the fixes ---- */

struct selector {
    int fd;     /* -1: no fds (sleep) */
    int rc;
    int err;
    int done;
    int waitio; /* use IOMGR_WaitIO instead of IOMGR_Select */
    struct timeval *timeout;
};

static void selector_main(void *arg)
{
    struct selector *s = arg;
    fd_set r;

    FD_ZERO(&r);
    errno = 0;
    if (s->waitio) {
        s->rc = IOMGR_WaitIO(s->fd, IOMGR_READ, s->timeout);
    } else {
        if (s->fd >= 0)
            FD_SET(s->fd, &r);
        s->rc = IOMGR_Select(s->fd + 1, &r, NULL, NULL, s->timeout);
    }
    s->err = errno;
    s->done = 1;
}

static PROCESS start_selector(struct selector *s, int fd, int waitio)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->waitio = waitio || fd >= FD_SETSIZE; /* selector_main's fd_set */
    return iot_spawn(selector_main, IOT_HIGH, s);
}

Test(iomgr_fixes, cancel_ends_select_with_minus_two)
{
    struct selector s;
    PROCESS pid = start_selector(&s, -1, 0);

    cr_assert_not(s.done, "sleeps forever");
    cr_assert_eq(IOMGR_Cancel(pid), 0);
    cr_assert_not(s.done, "IOMGR_Cancel does not yield");
    LWP_DispatchProcess();
    cr_assert(s.done);
    cr_assert_eq(s.rc, -2);
    cr_assert_eq(IOMGR_Cancel(pid), -1, "no longer selecting");
}

Test(iomgr_fixes, cancel_ends_waitio_with_minus_two)
{
    struct selector s;
    int fds[2];
    PROCESS pid;

    iot_pipe(fds);
    pid = start_selector(&s, fds[0], 1);
    cr_assert_eq(IOMGR_Cancel(pid), 0);
    LWP_DispatchProcess();
    cr_assert_eq(s.rc, -2);
}

Test(iomgr_fixes, negative_timeout_means_forever)
{
    struct selector s;
    struct timeval neg = {-1, 0};
    PROCESS pid;

    memset(&s, 0, sizeof(s));
    s.fd = -1;
    s.timeout = &neg;
    pid = iot_spawn(selector_main, IOT_HIGH, &s);
    cr_assert_eq(IOMGR_Sleep(1), 0);
    cr_assert_not(s.done);
    cr_assert_eq(IOMGR_Cancel(pid), 0);
    LWP_DispatchProcess();
    cr_assert_eq(s.rc, -2);
}

Test(iomgr_fixes, cancel_of_non_selecting_or_bad_pid)
{
    cr_assert_eq(IOMGR_Cancel(LWP_ThisProcess()), -1);
    cr_assert_eq(IOMGR_Cancel(NULL), -1);
    cr_assert_eq(IOMGR_Cancel((PROCESS)&errno), -1);
}

Test(iomgr_fixes, qsignal_of_a_selecting_lwp_is_eintr)
{
    struct selector s;
    PROCESS pid = start_selector(&s, -1, 0);

    cr_assert_eq(LWP_QSignal(pid), LWP_SUCCESS);
    LWP_DispatchProcess();
    cr_assert(s.done);
    cr_assert_eq(s.rc, -1);
    cr_assert_eq(s.err, EINTR);
    cr_assert_eq(IOMGR_Cancel(pid), -1, "nothing left behind");
}

Test(iomgr_fixes, pending_qsignal_ends_select_at_once)
{
    struct timeval tv = {5, 0};
    fd_set r;
    int fds[2];

    iot_pipe(fds);
    FD_ZERO(&r);
    FD_SET(fds[0], &r);
    cr_assert_eq(LWP_QSignal(LWP_ThisProcess()), LWP_ENOWAIT);
    errno = 0;
    cr_assert_eq(IOMGR_Select(fds[0] + 1, &r, NULL, NULL, &tv), -1);
    cr_assert_eq(errno, EINTR);
    cr_assert_not(FD_ISSET(fds[0], &r));
}

Test(iomgr_fixes, finalize_with_selecting_lwps_is_ecanceled)
{
    struct selector a, b;
    int fds[2];

    iot_pipe(fds);
    start_selector(&a, fds[0], 0);
    start_selector(&b, fds[0], 1);
    cr_assert_eq(IOMGR_Finalize(), LWP_SUCCESS);
    LWP_DispatchProcess();
    cr_assert(a.done && b.done);
    cr_assert_eq(a.rc, -1);
    cr_assert_eq(a.err, ECANCELED);
    cr_assert_eq(b.rc, -1);
    cr_assert_eq(b.err, ECANCELED);
}

Test(iomgr_fixes, select_on_a_closed_fd_is_ebadf)
{
    struct selector s;
    int fds[2];

    iot_pipe(fds);
    close(fds[0]);
    close(fds[1]);
    start_selector(&s, fds[0], 0);
    IOT_WAIT_FOR(s.done);
    cr_assert_eq(s.rc, -1);
    cr_assert_eq(s.err, EBADF);
}

Test(iomgr_fixes, fd_closed_while_selecting_is_ebadf)
{
    struct selector s;
    int fds[2];

    iot_pipe(fds);
    start_selector(&s, fds[0], 0);
    close(fds[0]);
    IOT_WAIT_FOR(s.done);
    cr_assert_eq(s.rc, -1);
    cr_assert_eq(s.err, EBADF);
    close(fds[1]);
}

Test(iomgr_fixes, destroying_a_selecting_lwp_stops_its_watchers)
{
    struct selector s;
    int fds[2];
    struct timeval tv = {0, 20000};
    PROCESS pid;

    iot_pipe(fds);
    pid = start_selector(&s, fds[0], 0);
    cr_assert_eq(LWP_DestroyProcess(pid), LWP_SUCCESS);
    /* Its request lived on the freed stack: the loop must not call it. */
    cr_assert_eq(write(fds[1], "x", 1), 1);
    cr_assert_eq(IOMGR_Select(0, NULL, NULL, NULL, &tv), 0);
    cr_assert_eq(IOMGR_Poll(), 0);
    cr_assert_not(s.done);
}

Test(iomgr_fixes, select_cost_does_not_depend_on_other_waiters)
{
    /* Functional side of the O(fds asked) promise: 1,000 LWPs waiting on
     * their own pipes, and one more select still sees only its own fd. */
    enum { N = 1000 };
    static struct selector s[N];
    static int p[N][2];
    struct rlimit rl;

    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 2 * N + 50) {
        rl.rlim_cur = rl.rlim_max < 2 * N + 50 ? rl.rlim_max : 2 * N + 50;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < 2 * N + 50)
        cr_skip_test("RLIMIT_NOFILE too low");
    for (int i = 0; i < N; i++) {
        iot_pipe(p[i]);
        start_selector(&s[i], p[i][0], i % 2);
    }
    cr_assert_eq(write(p[N / 2][1], "x", 1), 1);
    IOT_WAIT_FOR(s[N / 2].done);
    for (int i = 0; i < N; i++)
        cr_assert_eq(s[i].done, i == N / 2);
    cr_assert_eq(IOMGR_Finalize(), LWP_SUCCESS);
    LWP_DispatchProcess();
    for (int i = 0; i < N; i++)
        cr_assert(s[i].done);
}

/* ---- Watchers kept armed between waits (iomgr_fd.c) ---- */

struct reuser {
    int fd;     /* in: fd to drain and close; out: the new pipe's read end */
    int rc;
    double took;
};

/* Drains and closes its fd, then makes a new pipe (which gets the same
 * number), writes to it and waits for it, as a new connection would. */
static void reuse_in_new_lwp(void *arg)
{
    struct reuser *u = arg;
    struct timeval tv = {10, 0};
    int p[2];
    double t0;

    cr_assert_eq(pipe(p), 0);
    u->fd = p[0];
    cr_assert_eq(write(p[1], "y", 1), 1);
    t0 = iot_now();
    u->rc = IOMGR_WaitIO(p[0], IOMGR_READ, &tv);
    u->took = iot_now() - t0;
}

Test(iomgr_fixes, fd_number_reused_by_another_lwp_is_watched_at_once)
{
    int p[2];
    char c;
    struct reuser u = {0, 0, 0};
    struct timeval tv = {5, 0};

    iot_pipe(p);
    cr_assert_eq(write(p[1], "x", 1), 1);
    cr_assert_eq(IOMGR_WaitIO(p[0], IOMGR_READ, &tv), IOMGR_READ);
    cr_assert_eq(read(p[0], &c, 1), 1);
    close(p[0]);
    close(p[1]);
    iot_spawn(reuse_in_new_lwp, IOT_HIGH, &u);
    IOT_WAIT_FOR(u.rc != 0);
    if (u.fd != p[0])
        cr_skip_test("the kernel did not reuse fd %d", p[0]);
    cr_assert_eq(u.rc, IOMGR_READ);
    cr_assert_lt(u.took, 0.5, "took %.3f s", u.took);
}

static void write_later(void *arg)
{
    cr_assert_eq(write(*(int *)arg, "z", 1), 1);
}

Test(iomgr_fixes, file_swapped_under_an_fd_by_its_own_lwp_is_found)
{
    /* The one corner the kept-armed watcher trusts: same LWP, same fd
     * number, same events, no loop pass in between. The sweep must find
     * it: a delay of a period or two, not a hang. */
    int p[2], q[2];
    char c;
    struct timeval tv = {10, 0};

    iot_pipe(p);
    cr_assert_eq(write(p[1], "x", 1), 1);
    cr_assert_eq(IOMGR_WaitIO(p[0], IOMGR_READ, &tv), IOMGR_READ);
    cr_assert_eq(read(p[0], &c, 1), 1);
    close(p[0]);
    close(p[1]);
    iot_pipe(q);
    if (q[0] != p[0])
        cr_skip_test("the kernel did not reuse fd %d", p[0]);
    iot_spawn(write_later, LWP_NORMAL_PRIORITY - 1, &q[1]);
    cr_assert_eq(IOMGR_WaitIO(q[0], IOMGR_READ, &tv), IOMGR_READ);
}
