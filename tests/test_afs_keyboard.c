/* SPDX-License-Identifier: MIT */
/* <lwp/afs_compat.h>: OpenAFS's minimum stack, LWP_CreateProcess2 and the
 * keyboard calls. stdin is a pipe here, fed by an LWP of the test. */
#define _GNU_SOURCE /* setenv */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lwp/afs_compat.h>

static void teardown(void)
{
    if (LWP_ThisProcess())
        LWP_TerminateProcessSupport();
}

TestSuite(afs_keyboard, .fini = teardown, .timeout = 30);

/* ---- Minimum stack ---- */

static void *idle_entry(void *arg)
{
    (void)arg;
    return NULL;
}

/* The stack a dormant-free AFS-created LWP got: it parks at once so
 * LWP_StackUsed can see it. */
static char park_ev;

static void *park_entry(void *arg)
{
    (void)arg;
    LWP_WaitProcess(&park_ev);
    return NULL;
}

static int stack_of(int stacksize, int use_2)
{
    PROCESS pid = NULL;
    int max = 0, used;

    if (use_2)
        cr_assert_eq(LWP_CreateProcess2(park_entry, stacksize,
                                        LWP_NORMAL_PRIORITY, NULL, "p2", &pid),
                     LWP_SUCCESS);
    else
        cr_assert_eq(LWP_CreateProcess(park_entry, stacksize,
                                       LWP_NORMAL_PRIORITY, NULL, "p", &pid),
                     LWP_SUCCESS);
    (void)LWP_StackUsed(pid, &max, &used);
    return max;
}

Test(afs_keyboard, small_stacks_get_the_openafs_minimum)
{
    cr_assert_eq(LWP_InitializeProcessSupport(LWP_NORMAL_PRIORITY, NULL),
                 LWP_SUCCESS);
    cr_assert_eq(stack_of(16384, 0), LWP_AFS_MINSTACK);
    cr_assert_eq(stack_of(0, 1), LWP_AFS_MINSTACK, "CreateProcess2 too");
    cr_assert_eq(stack_of(512 * 1024, 0), 512 * 1024, "larger ones stay");
    cr_assert_eq(LWP_CreateProcess2(idle_entry, -1, 1, NULL, "x", NULL),
                 LWP_EBADARG, "negative sizes are still refused");
}

Test(afs_keyboard, the_environment_can_raise_the_minimum)
{
    long page = sysconf(_SC_PAGESIZE);

    cr_assert_eq(setenv("AFS_LWP_STACK_SIZE", "300000", 1), 0);
    cr_assert_eq(LWP_InitializeProcessSupport(LWP_NORMAL_PRIORITY, NULL),
                 LWP_SUCCESS);
    cr_assert_eq(stack_of(16384, 0), (int)((300000 + page - 1) / page * page));
}

Test(afs_keyboard, the_environment_cannot_lower_it)
{
    cr_assert_eq(setenv("AFS_LWP_STACK_SIZE", "4096", 1), 0);
    cr_assert_eq(LWP_InitializeProcessSupport(LWP_NORMAL_PRIORITY, NULL),
                 LWP_SUCCESS);
    cr_assert_eq(stack_of(16384, 0), LWP_AFS_MINSTACK);
}

/* ---- Keyboard ---- */

static int feed_fd = -1;

/* stdin becomes the read end of a fresh pipe; returns the write end. */
static void stdin_from_pipe(void)
{
    int fds[2];

    cr_assert_eq(pipe(fds), 0);
    cr_assert_eq(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
    close(fds[0]);
    clearerr(stdin);
    __fpurge(stdin);
    feed_fd = fds[1];
    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
}

static void feed(const char *s)
{
    cr_assert_eq(write(feed_fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* A feeder LWP: writes each piece after the reader has had to wait. */
static const char *const *pieces;
static int feeder_turns;

static void *feeder(void *arg)
{
    struct timeval tick = {0, 20000};

    (void)arg;
    for (int i = 0; pieces[i]; i++) {
        IOMGR_Select(0, NULL, NULL, NULL, &tick);
        feeder_turns++;
        if (pieces[i][0] == '\0') {
            close(feed_fd); /* end of file */
            feed_fd = -1;
        } else {
            feed(pieces[i]);
        }
    }
    return NULL;
}

static void start_feeder(const char *const *list)
{
    pieces = list;
    cr_assert_eq(LWP_CreateProcess(feeder, 0, LWP_NORMAL_PRIORITY, NULL,
                                   "feeder", NULL),
                 LWP_SUCCESS);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

Test(afs_keyboard, wait_for_keystroke_looks_waits_and_times_out)
{
    static const char *const later[] = {"k", NULL};
    double t0;

    stdin_from_pipe();
    cr_assert_eq(LWP_WaitForKeystroke(0), 0, "nothing typed yet");
    t0 = now_s();
    cr_assert_eq(LWP_WaitForKeystroke(1), 0);
    cr_assert_geq(now_s() - t0, 0.5, "waited for the timeout");
    start_feeder(later);
    cr_assert_eq(LWP_WaitForKeystroke(-1), 1);
    cr_assert_eq(feeder_turns, 1, "the feeder ran while we waited");
    cr_assert_eq(getchar(), 'k');
}

Test(afs_keyboard, wait_for_keystroke_sees_what_stdio_buffered)
{
    stdin_from_pipe();
    feed("ab");
    cr_assert_eq(getchar(), 'a'); /* "b" now sits in stdin's buffer */
    cr_assert_eq(LWP_WaitForKeystroke(0), 1);
}

Test(afs_keyboard, wait_for_keystroke_without_iomgr_is_zero)
{
    cr_assert_eq(LWP_WaitForKeystroke(0), 0);
}

Test(afs_keyboard, get_line_reads_lines_arriving_in_pieces)
{
    static const char *const parts[] = {"hel", "lo\nwor", "ld\n", "", NULL};
    char line[64];

    stdin_from_pipe();
    start_feeder(parts);
    cr_assert_eq(LWP_GetLine(line, sizeof(line)), 6);
    cr_assert_str_eq(line, "hello\n");
    cr_assert_eq(feeder_turns, 2, "the line came in two pieces");
    cr_assert_eq(LWP_GetLine(line, sizeof(line)), 6);
    cr_assert_str_eq(line, "world\n");
    cr_assert_eq(LWP_GetLine(line, sizeof(line)), -1, "end of file");
}

Test(afs_keyboard, get_line_too_small_and_bad_arguments)
{
    char line[4];

    stdin_from_pipe();
    feed("abcdef\nlast");
    close(feed_fd);
    cr_assert_eq(LWP_GetLine(line, sizeof(line)), 0);
    cr_assert_str_eq(line, "abc");
    cr_assert_eq(LWP_GetLine(line, sizeof(line)), 0);
    cr_assert_str_eq(line, "def");
    cr_assert_eq(LWP_GetLine(line, sizeof(line)), 1);
    cr_assert_str_eq(line, "\n");
    cr_assert_eq(LWP_GetLine(line, sizeof(line)), 0, "cut by the buffer");
    cr_assert_str_eq(line, "las");
    cr_assert_eq(LWP_GetLine(line, sizeof(line)), 0, "no newline at EOF");
    cr_assert_str_eq(line, "t");
    cr_assert_eq(LWP_GetLine(line, sizeof(line)), -1);
    cr_assert_eq(LWP_GetLine(NULL, 10), 0);
    cr_assert_eq(LWP_GetLine(line, 1), 0);
    cr_assert_eq(LWP_GetLine(line, -5), 0);
}

Test(afs_keyboard, get_response_key_drops_typed_ahead_input)
{
    static const char *const answer[] = {"y", NULL};
    char key = 'x';

    stdin_from_pipe();
    cr_assert_eq(LWP_GetResponseKey(0, NULL), 0);
    cr_assert_eq(LWP_GetResponseKey(0, &key), 0, "nothing typed");
    cr_assert_eq(key, '\0');
    feed("nn");
    cr_assert_eq(getchar(), 'n'); /* the other "n" is buffered */
    start_feeder(answer);
    cr_assert_eq(LWP_GetResponseKey(5, &key), 1);
    cr_assert_eq(key, 'y', "the buffered answer was discarded");
    close(feed_fd);
    cr_assert_eq(LWP_GetResponseKey(5, &key), 0, "end of file");
    cr_assert_eq(key, '\0');
}
