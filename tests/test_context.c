/* SPDX-License-Identifier: MIT */
/*
 * Special contexts (<lwp/context.h>): defining types and giving them to
 * LWPs, every documented error, lwp_geterr per LWP, exact save/restore
 * logs for unoptimised and optimised types, the LWP_EINSWITCH guard, the
 * predefined floating-point and errno types, and contexts of LWPs that
 * exit, are destroyed or outlive LWP_TerminateProcessSupport.
 *
 * Logs: a save writes "S<old>><new>", a restore "R<old>><new>", with the
 * one-letter names the test gave its LWPs ("m" is the main LWP, "0" a NULL
 * PROCESS). Children run either in a script (priority above main: each
 * waits for its letter, then hands the turn to the next letter; the last
 * one wakes main) or ping-pong with LWP_DispatchProcess below main.
 */
#include <errno.h>
#include <fenv.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <lwp/context.h>
#include <lwp/iomgr.h>
#include <lwp/lwp.h>

#include "lwp_test.h"

#define HIGH (LWP_NORMAL_PRIORITY + 1) /* scripted LWPs: above main */
#define LOW 1                          /* ping-pong LWPs: below main */
#define STACK 65536

/* A failing call: -1 and the LE_* code it must leave behind. */
#define ASSERT_LE(call, le)                                                  \
    do {                                                                     \
        cr_assert_eq((call), -1, "%s should fail", #call);                   \
        cr_assert_eq(lwp_geterr(), (le), "%s: lwp_geterr() %d, want %s",     \
                     #call, lwp_geterr(), #le);                              \
    } while (0)

static PROCESS main_pid;

/* ---- Order log ---- */



/* ---- Names of LWPs for the log (LWP_Name() is NULL in routines) ---- */

static struct {
    PROCESS pid;
    const char *name;
} names[8];
static int n_names;

static void name_lwp(PROCESS pid, const char *name)
{
    cr_assert_lt(n_names, 8);
    names[n_names].pid = pid;
    names[n_names++].name = name;
}

static const char *name_of(PROCESS pid)
{
    if (!pid)
        return "0";
    for (int i = n_names - 1; i >= 0; i--)
        if (names[i].pid == pid)
            return names[i].name;
    return "?";
}

/* ---- Logging save/restore routines ---- */

/* Buffer of the logging types: whose it is (set with lwp_ctxmemset right
 * after lwp_ctxinit) and how often it was saved and restored. */
struct counted {
    PROCESS owner;
    int saves;
    int restores;
};

static int n_saves, n_restores, n_wrong_buffer;

static void record_call(const char *tag, char kind, void *ctx, PROCESS owner,
                        PROCESS old, PROCESS new_)
{
    struct counted *c = ctx;

    if (c->owner != owner)
        n_wrong_buffer++;
    if (kind == 'S') {
        c->saves++;
        n_saves++;
    } else {
        c->restores++;
        n_restores++;
    }
    lwpt_note("%s%c%s>%s", tag, kind, name_of(old), name_of(new_));
}

/* A save gets the buffer of `old`, a restore the buffer of `new_`. */
static void log_save(void *ctx, PROCESS old, PROCESS new_)
{
    record_call("", 'S', ctx, old, old, new_);
}

static void log_restore(void *ctx, PROCESS old, PROCESS new_)
{
    record_call("", 'R', ctx, new_, old, new_);
}

static void x_save(void *ctx, PROCESS old, PROCESS new_)
{
    record_call("x.", 'S', ctx, old, old, new_);
}

static void x_restore(void *ctx, PROCESS old, PROCESS new_)
{
    record_call("x.", 'R', ctx, new_, old, new_);
}

static void y_save(void *ctx, PROCESS old, PROCESS new_)
{
    record_call("y.", 'S', ctx, old, old, new_);
}

static void y_restore(void *ctx, PROCESS old, PROCESS new_)
{
    record_call("y.", 'R', ctx, new_, old, new_);
}

static int define_type(int optimize)
{
    int cookie = lwp_ctxset(log_save, log_restore, sizeof(struct counted),
                            optimize);

    cr_assert_geq(cookie, 2);
    return cookie;
}

/* lwp_ctxinit, then mark the buffer as p's. */
static void use_type(PROCESS p, int cookie)
{
    struct counted c = {p, 0, 0};

    cr_assert_eq(lwp_ctxinit(p, cookie), 0, "lwp_ctxinit: %d", lwp_geterr());
    cr_assert_eq(lwp_ctxmemset(&c, p, cookie), 0);
}

static struct counted counted_of(PROCESS p, int cookie)
{
    struct counted c;

    memset(&c, 0xa5, sizeof(c));
    cr_assert_eq(lwp_ctxmemget(&c, p, cookie), 0);
    cr_assert_eq(c.owner, p);
    return c;
}

static void assert_counts(PROCESS p, int cookie, int saves, int restores)
{
    struct counted c = counted_of(p, cookie);

    cr_assert_eq(c.saves, saves, "%s: %d saves, want %d", name_of(p),
                 c.saves, saves);
    cr_assert_eq(c.restores, restores, "%s: %d restores, want %d",
                 name_of(p), c.restores, restores);
}

static void assert_order_is_one_of(const char *a, const char *b)
{
    cr_assert(strcmp(lwpt_log, a) == 0 || strcmp(lwpt_log, b) == 0,
              "log \"%s\", want \"%s\" or \"%s\"", lwpt_log, a, b);
}

/* ---- Fixtures ---- */

static void reset_state(void)
{
    lwpt_reset();
    n_names = 0;
    n_saves = n_restores = n_wrong_buffer = 0;
}

static void ctx_setup(void)
{
    reset_state();
    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &main_pid),
                 LWP_SUCCESS);
    name_lwp(main_pid, "m");
}

static void ctx_teardown(void)
{
    if (LWP_ThisProcess())
        LWP_TerminateProcessSupport();
    fesetround(FE_TONEAREST);
    feclearexcept(FE_ALL_EXCEPT);
}

/* ---- Scripted LWPs ---- */

static const char *script;
static size_t script_pos;
static char turn_ev[26];
static char script_done;
/* Called in each turn with the LWP's letter and the turn's index. */
static void (*on_turn)(char me, int turn);

static void pass_turn(void)
{
    char next = script[script_pos];

    if (next)
        LWP_NoYieldSignal(&turn_ev[next - 'a']);
    else
        LWP_NoYieldSignal(&script_done);
}

static void take_one_turn_here(char me)
{
    int turn = (int)script_pos++;

    if (on_turn)
        on_turn(me, turn);
    pass_turn();
}

static void take_turns(void *arg)
{
    char me = *(const char *)arg;

    for (;;) {
        LWP_WaitProcess(&turn_ev[me - 'a']);
        take_one_turn_here(me);
    }
}

/* Takes one turn, then returns (the LWP exits). */
static void take_one_turn(void *arg)
{
    char me = *(const char *)arg;

    LWP_WaitProcess(&turn_ev[me - 'a']);
    take_one_turn_here(me);
}

/* LWP_CREATE_* flags for spawn: a test may put its LWPs on the shared
 * stack, where the routines run around the copier's switches. */
static unsigned int spawn_flags;

static PROCESS spawn(void (*ep)(void *), int prio, const char *name)
{
    struct lwp_attr a = LWP_ATTR_INIT;
    PROCESS pid = NULL;

    a.stacksize = STACK;
    a.priority = prio;
    a.name = name;
    a.flags = spawn_flags;
    cr_assert_eq(LWP_CreateProcessAttr(&a, ep, (void *)name, &pid),
                 LWP_SUCCESS);
    cr_assert_not_null(pid);
    name_lwp(pid, name);
    return pid;
}

/* At HIGH it runs at once up to its first wait: no switch involving it
 * happens after this returns until its letter comes up. */
static PROCESS spawn_turn_taker(const char *name)
{
    return spawn(take_turns, HIGH, name);
}

/* Run the LWPs in the order of the letters of s (no letter twice in a
 * row); returns in main once the last one has handed the turn back. */
static void run_script(const char *s)
{
    script = s;
    script_pos = 0;
    pass_turn();
    cr_assert_eq(LWP_WaitProcess(&script_done), LWP_SUCCESS);
    cr_assert_eq(script_pos, strlen(s));
}

static void note_turn(char me, int turn)
{
    (void)turn;
    lwpt_note("%c", me);
}

/* ---- Ping-pong LWPs (below main: they start when main blocks) ---- */

static int rounds;
static char pingpong_done, never;
static void (*before_rounds)(char me);
static void (*after_yield)(char me);

/* "a" and "b" yield `rounds` times each; then both block for good and "b"
 * wakes main first. */
static void yield_rounds(void *arg)
{
    char me = *(const char *)arg;

    if (before_rounds)
        before_rounds(me);
    for (int i = 0; i < rounds; i++) {
        LWP_DispatchProcess();
        if (after_yield)
            after_yield(me);
    }
    if (me == 'b')
        LWP_NoYieldSignal(&pingpong_done);
    LWP_WaitProcess(&never);
}

static void run_pingpong(void)
{
    cr_assert_eq(LWP_WaitProcess(&pingpong_done), LWP_SUCCESS);
}

static void do_nothing(void *arg)
{
    (void)arg;
}

/* A handle whose LWP has already exited. */
static PROCESS stale_lwp(void)
{
    PROCESS pid = NULL;

    cr_assert_eq(LWP_CreateProcess(do_nothing, STACK, HIGH, NULL, "gone",
                                   &pid),
                 LWP_SUCCESS);
    return pid;
}

/* =================== lwp_ctxset =================== */

Test(context, ctxset_returns_increasing_cookies_from_2, .init = ctx_setup,
     .fini = ctx_teardown)
{
    int c1 = lwp_ctxset(log_save, log_restore, 8, 0);
    int c2 = lwp_ctxset(log_save, log_restore, 8, 1);
    int c3 = lwp_ctxset(NULL, NULL, 1, 0);

    cr_assert_geq(c1, 2);
    cr_assert_gt(c2, c1);
    cr_assert_gt(c3, c2);
    cr_assert_neq(c1, LWP_CTX_FP);
    cr_assert_neq(c1, LWP_CTX_LIBC);
}

Test(context, ctxset_rejects_size_0_and_sizes_above_the_maximum,
     .init = ctx_setup, .fini = ctx_teardown)
{
    unsigned char *mem;
    int big;

    ASSERT_LE(lwp_ctxset(log_save, log_restore, 0, 0), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxset(log_save, log_restore, LWP_CTX_MAXSIZE + 1, 0),
              LE_INVALIDARG);
    ASSERT_LE(lwp_ctxset(log_save, log_restore, UINT_MAX, 1), LE_INVALIDARG);
    big = lwp_ctxset(NULL, NULL, LWP_CTX_MAXSIZE, 0);
    cr_assert_geq(big, 2);
    /* The largest buffer is usable and zero-filled. */
    mem = malloc(LWP_CTX_MAXSIZE);
    cr_assert_not_null(mem);
    memset(mem, 0xa5, LWP_CTX_MAXSIZE);
    cr_assert_eq(lwp_ctxinit(main_pid, big), 0);
    cr_assert_eq(lwp_ctxmemget(mem, main_pid, big), 0);
    for (size_t i = 0; i < LWP_CTX_MAXSIZE; i++)
        if (mem[i] != 0)
            cr_assert_fail("byte %zu of a new buffer is %#x", i, mem[i]);
    free(mem);
}

static void no_init_setup(void)
{
    reset_state();
}

Test(context, calls_before_init_fail_with_LE_NOTINIT, .init = no_init_setup,
     .fini = ctx_teardown)
{
    int v = 0;

    cr_assert_eq(lwp_geterr(), LE_NOERROR);
    ASSERT_LE(lwp_ctxset(log_save, log_restore, 8, 0), LE_NOTINIT);
    ASSERT_LE(lwp_ctxinit(NULL, LWP_CTX_LIBC), LE_NOTINIT);
    ASSERT_LE(lwp_ctxremove(NULL, LWP_CTX_LIBC), LE_NOTINIT);
    ASSERT_LE(lwp_ctxmemget(&v, NULL, LWP_CTX_LIBC), LE_NOTINIT);
    ASSERT_LE(lwp_ctxmemset(&v, NULL, LWP_CTX_LIBC), LE_NOTINIT);
    ASSERT_LE(lwp_fpset(NULL), LE_NOTINIT);
    ASSERT_LE(lwp_libcset(NULL), LE_NOTINIT);
    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &main_pid),
                 LWP_SUCCESS);
    /* The main LWP is new: the error before LWP_Init is not its own. */
    cr_assert_eq(lwp_geterr(), LE_NOERROR);
    cr_assert_geq(lwp_ctxset(log_save, log_restore, 8, 0), 2);
}

Test(context, null_routines_are_allowed, .init = ctx_setup,
     .fini = ctx_teardown)
{
    int save_only = lwp_ctxset(log_save, NULL, sizeof(struct counted), 0);
    int restore_only = lwp_ctxset(NULL, log_restore, sizeof(struct counted),
                                  0);
    int neither = lwp_ctxset(NULL, NULL, sizeof(struct counted), 0);
    PROCESS a, b;

    cr_assert_geq(save_only, 2);
    cr_assert_geq(restore_only, 2);
    cr_assert_geq(neither, 2);
    a = spawn_turn_taker("a");
    b = spawn_turn_taker("b");
    use_type(a, save_only);
    use_type(a, restore_only);
    use_type(a, neither);
    use_type(b, neither);
    run_script("ab");
    cr_assert_str_eq(lwpt_log, "Rm>a Sa>b");
    assert_counts(a, neither, 0, 0);
    assert_counts(b, neither, 0, 0);
}

/* =================== lwp_ctxinit / lwp_ctxremove =================== */

Test(context, second_ctxinit_of_a_type_fails_with_LE_INUSE,
     .init = ctx_setup, .fini = ctx_teardown)
{
    int t = define_type(0);
    int o = define_type(1);
    PROCESS a = spawn_turn_taker("a");

    use_type(a, t);
    use_type(a, o);
    ASSERT_LE(lwp_ctxinit(a, t), LE_INUSE);
    ASSERT_LE(lwp_ctxinit(a, o), LE_INUSE);
    cr_assert_eq(lwp_fpset(a), 0);
    ASSERT_LE(lwp_fpset(a), LE_INUSE);
    ASSERT_LE(lwp_ctxinit(a, LWP_CTX_FP), LE_INUSE);
    cr_assert_eq(lwp_ctxinit(a, LWP_CTX_LIBC), 0);
    ASSERT_LE(lwp_libcset(a), LE_INUSE);
    /* The same type for another LWP is fine, and the buffer kept its
     * contents through the failed calls. */
    use_type(main_pid, t);
    assert_counts(a, t, 0, 0);
}

Test(context, ctxinit_rejects_unknown_cookies_and_bad_lwps,
     .init = ctx_setup, .fini = ctx_teardown)
{
    int t = define_type(0);
    PROCESS gone = stale_lwp();

    ASSERT_LE(lwp_ctxinit(main_pid, 999), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxinit(main_pid, -1), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxinit(main_pid, t + 1), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxinit(NULL, t), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxinit(gone, t), LE_INVALIDARG);
    ASSERT_LE(lwp_fpset(NULL), LE_INVALIDARG);
    ASSERT_LE(lwp_libcset(gone), LE_INVALIDARG);
    /* Nothing was given to main by the failed calls. */
    ASSERT_LE(lwp_ctxremove(main_pid, t), LE_NONEXIST);
}

Test(context, ctxremove_of_a_type_not_set_fails_with_LE_NONEXIST,
     .init = ctx_setup, .fini = ctx_teardown)
{
    int t = define_type(0);
    int unused = define_type(1);

    ASSERT_LE(lwp_ctxremove(main_pid, t), LE_NONEXIST);
    ASSERT_LE(lwp_ctxremove(main_pid, LWP_CTX_FP), LE_NONEXIST);
    ASSERT_LE(lwp_ctxremove(main_pid, LWP_CTX_LIBC), LE_NONEXIST);
    use_type(main_pid, t);
    ASSERT_LE(lwp_ctxremove(main_pid, unused), LE_NONEXIST);
    cr_assert_eq(lwp_ctxremove(main_pid, t), 0);
    ASSERT_LE(lwp_ctxremove(main_pid, t), LE_NONEXIST);
    cr_assert_eq(lwp_fpset(main_pid), 0);
    cr_assert_eq(lwp_ctxremove(main_pid, LWP_CTX_FP), 0);
    ASSERT_LE(lwp_ctxremove(main_pid, LWP_CTX_FP), LE_NONEXIST);
}

Test(context, ctxremove_rejects_unknown_cookies_and_bad_lwps,
     .init = ctx_setup, .fini = ctx_teardown)
{
    int t = define_type(0);
    PROCESS gone = stale_lwp();

    use_type(main_pid, t);
    ASSERT_LE(lwp_ctxremove(main_pid, 999), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxremove(main_pid, -1), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxremove(NULL, t), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxremove(gone, t), LE_INVALIDARG);
    cr_assert_eq(lwp_ctxremove(main_pid, t), 0);
}

Test(context, ctxinit_gives_a_zero_filled_buffer, .init = ctx_setup,
     .fini = ctx_teardown)
{
    unsigned char mem[300], junk[300];
    int t = lwp_ctxset(NULL, NULL, sizeof(mem), 0);
    PROCESS a = spawn_turn_taker("a");
    int v = -1;

    cr_assert_geq(t, 2);
    memset(mem, 0xa5, sizeof(mem));
    cr_assert_eq(lwp_ctxinit(a, t), 0);
    cr_assert_eq(lwp_ctxmemget(mem, a, t), 0);
    for (size_t i = 0; i < sizeof(mem); i++)
        cr_assert_eq(mem[i], 0, "byte %zu is %#x", i, mem[i]);
    /* A buffer given again after removal starts from zero again. */
    memset(junk, 0x5a, sizeof(junk));
    cr_assert_eq(lwp_ctxmemset(junk, a, t), 0);
    cr_assert_eq(lwp_ctxremove(a, t), 0);
    cr_assert_eq(lwp_ctxinit(a, t), 0);
    cr_assert_eq(lwp_ctxmemget(mem, a, t), 0);
    for (size_t i = 0; i < sizeof(mem); i++)
        cr_assert_eq(mem[i], 0, "byte %zu is %#x after re-init", i, mem[i]);
    /* The errno type starts at 0. */
    cr_assert_eq(lwp_libcset(a), 0);
    cr_assert_eq(lwp_ctxmemget(&v, a, LWP_CTX_LIBC), 0);
    cr_assert_eq(v, 0);
}

Test(context, an_lwp_may_use_several_types, .init = ctx_setup,
     .fini = ctx_teardown)
{
    int t1 = lwp_ctxset(NULL, NULL, sizeof(int), 0);
    int t2 = lwp_ctxset(NULL, NULL, sizeof(long), 1);
    unsigned char fp[LWP_CTX_FP_SIZE];
    int i1 = 111, e = 0;
    long l2 = 222;

    cr_assert_eq(lwp_ctxinit(main_pid, t1), 0);
    cr_assert_eq(lwp_ctxinit(main_pid, t2), 0);
    cr_assert_eq(lwp_fpset(main_pid), 0);
    cr_assert_eq(lwp_libcset(main_pid), 0);
    cr_assert_eq(lwp_ctxmemset(&i1, main_pid, t1), 0);
    cr_assert_eq(lwp_ctxmemset(&l2, main_pid, t2), 0);
    cr_assert_eq(lwp_ctxmemget(fp, main_pid, LWP_CTX_FP), 0);
    cr_assert_eq(lwp_ctxmemget(&e, main_pid, LWP_CTX_LIBC), 0);
    cr_assert_eq(lwp_ctxremove(main_pid, t1), 0);
    i1 = l2 = 0;
    ASSERT_LE(lwp_ctxmemget(&i1, main_pid, t1), LE_NONEXIST);
    cr_assert_eq(lwp_ctxmemget(&l2, main_pid, t2), 0);
    cr_assert_eq(l2, 222);
    cr_assert_eq(lwp_ctxremove(main_pid, LWP_CTX_FP), 0);
    cr_assert_eq(lwp_ctxremove(main_pid, LWP_CTX_LIBC), 0);
    cr_assert_eq(lwp_ctxremove(main_pid, t2), 0);
}

/* =================== lwp_geterr =================== */

Test(context, geterr_is_not_reset_by_success, .init = ctx_setup,
     .fini = ctx_teardown)
{
    int t = define_type(0);

    cr_assert_eq(lwp_geterr(), LE_NOERROR);
    ASSERT_LE(lwp_ctxinit(main_pid, 999), LE_INVALIDARG);
    use_type(main_pid, t);
    cr_assert_geq(define_type(1), 2);
    cr_assert_eq(lwp_geterr(), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxremove(main_pid, LWP_CTX_FP), LE_NONEXIST);
    cr_assert_eq(lwp_ctxremove(main_pid, t), 0);
    cr_assert_eq(lwp_geterr(), LE_NONEXIST);
}

static int err_seen[4];

/* a fails (INVALIDARG); b, new, sees NOERROR, then fails (NONEXIST);
 * a still sees its own INVALIDARG. */
static void errors_turn(char me, int turn)
{
    int v;

    (void)me;
    if (turn == 0) {
        (void)lwp_ctxinit(NULL, LWP_CTX_LIBC);
        err_seen[0] = lwp_geterr();
    } else if (turn == 1) {
        err_seen[1] = lwp_geterr();
        (void)lwp_ctxmemget(&v, LWP_ThisProcess(), LWP_CTX_LIBC);
        err_seen[2] = lwp_geterr();
    } else {
        err_seen[3] = lwp_geterr();
    }
}

Test(context, geterr_is_per_lwp, .init = ctx_setup, .fini = ctx_teardown)
{
    spawn_turn_taker("a");
    spawn_turn_taker("b");
    ASSERT_LE(lwp_ctxremove(main_pid, LWP_CTX_FP), LE_NONEXIST);
    on_turn = errors_turn;
    run_script("aba");
    cr_assert_eq(err_seen[0], LE_INVALIDARG);
    cr_assert_eq(err_seen[1], LE_NOERROR);
    cr_assert_eq(err_seen[2], LE_NONEXIST);
    cr_assert_eq(err_seen[3], LE_INVALIDARG);
    cr_assert_eq(lwp_geterr(), LE_NONEXIST);
}

/* =================== lwp_ctxmemget / lwp_ctxmemset =================== */

struct sample {
    int n;
    char text[20];
    double d;
};

Test(context, memset_then_memget_round_trips_per_lwp, .init = ctx_setup,
     .fini = ctx_teardown)
{
    int t = lwp_ctxset(NULL, NULL, sizeof(struct sample), 0);
    struct sample in_a = {7, "for a", 1.5}, in_m = {9, "for main", -2.25};
    struct sample out;
    PROCESS a = spawn_turn_taker("a");

    cr_assert_eq(lwp_ctxinit(a, t), 0);
    cr_assert_eq(lwp_ctxinit(main_pid, t), 0);
    cr_assert_eq(lwp_ctxmemset(&in_a, a, t), 0);
    cr_assert_eq(lwp_ctxmemset(&in_m, main_pid, t), 0);
    memset(&out, 0, sizeof(out));
    cr_assert_eq(lwp_ctxmemget(&out, a, t), 0);
    cr_assert_eq(memcmp(&out, &in_a, sizeof(out)), 0);
    cr_assert_eq(lwp_ctxmemget(&out, main_pid, t), 0);
    cr_assert_eq(memcmp(&out, &in_m, sizeof(out)), 0);
    /* Switches through a (no routines) leave the buffer alone. */
    run_script("a");
    cr_assert_eq(lwp_ctxmemget(&out, a, t), 0);
    cr_assert_eq(memcmp(&out, &in_a, sizeof(out)), 0);
}

Test(context, memget_memset_reject_null_mem_and_bad_cookies_and_lwps,
     .init = ctx_setup, .fini = ctx_teardown)
{
    int t = define_type(0);
    PROCESS gone = stale_lwp();
    struct counted c = {0};

    use_type(main_pid, t);
    ASSERT_LE(lwp_ctxmemget(NULL, main_pid, t), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxmemset(NULL, main_pid, t), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxmemget(&c, main_pid, 999), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxmemset(&c, main_pid, -1), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxmemget(&c, NULL, t), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxmemset(&c, NULL, t), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxmemget(&c, gone, t), LE_INVALIDARG);
    ASSERT_LE(lwp_ctxmemset(&c, gone, t), LE_INVALIDARG);
    /* The failed memset did not touch main's buffer. */
    assert_counts(main_pid, t, 0, 0);
}

Test(context, memget_memset_of_a_type_not_set_fail_with_LE_NONEXIST,
     .init = ctx_setup, .fini = ctx_teardown)
{
    int t = define_type(0);
    PROCESS a = spawn_turn_taker("a");
    struct counted c = {0};
    int v = 0;

    use_type(main_pid, t);
    ASSERT_LE(lwp_ctxmemget(&c, a, t), LE_NONEXIST);
    ASSERT_LE(lwp_ctxmemset(&c, a, t), LE_NONEXIST);
    ASSERT_LE(lwp_ctxmemget(&v, main_pid, LWP_CTX_LIBC), LE_NONEXIST);
    ASSERT_LE(lwp_ctxmemset(&v, a, LWP_CTX_LIBC), LE_NONEXIST);
    ASSERT_LE(lwp_ctxmemget(&c, a, LWP_CTX_FP), LE_NONEXIST);
    ASSERT_LE(lwp_ctxmemset(&c, a, LWP_CTX_FP), LE_NONEXIST);
}

/* =================== Unoptimised types =================== */

static void spawn_pingpong_pair(PROCESS *a, PROCESS *b, int n)
{
    rounds = n;
    *a = spawn(yield_rounds, LOW, "a");
    *b = spawn(yield_rounds, LOW, "b");
}

/* Two users of an unoptimised type ping-pong twice, on stacks made with
 * `flags`: every switch between them saves and restores. */
static void two_users_ping_pong_log(unsigned int flags)
{
    int t = define_type(0);
    PROCESS a, b;

    spawn_flags = flags;
    spawn_pingpong_pair(&a, &b, 2);
    use_type(a, t);
    use_type(b, t);
    cr_assert_str_eq(lwpt_log, "");
    run_pingpong();
    cr_assert_str_eq(lwpt_log, "Rm>a Sa>b Ra>b Sb>a Rb>a Sa>b Ra>b Sb>a Rb>a "
                            "Sa>b Ra>b Sb>m");
    cr_assert_eq(n_wrong_buffer, 0);
}

Test(context, unoptimised_two_users_ping_pong_log, .init = ctx_setup,
     .fini = ctx_teardown)
{
    two_users_ping_pong_log(0);
}

Test(context, routines_run_the_same_around_shared_stack_switches,
     .init = ctx_setup, .fini = ctx_teardown)
{
    two_users_ping_pong_log(LWP_CREATE_SHARED_STACK);
}

Test(context, unoptimised_two_users_counts_are_exact, .init = ctx_setup,
     .fini = ctx_teardown)
{
    enum { N = 100 };
    int t = define_type(0);
    PROCESS a, b;

    spawn_pingpong_pair(&a, &b, N);
    use_type(a, t);
    use_type(b, t);
    run_pingpong();
    /* main>a, 2N yields, a blocks (a>b), b blocks (b>main). */
    cr_assert_eq(n_saves, 2 * N + 2);
    cr_assert_eq(n_restores, 2 * N + 2);
    assert_counts(a, t, N + 1, N + 1);
    assert_counts(b, t, N + 1, N + 1);
    cr_assert_eq(n_wrong_buffer, 0);
}

Test(context, unoptimised_routines_run_only_for_switches_of_their_user,
     .init = ctx_setup, .fini = ctx_teardown)
{
    int t = define_type(0);
    PROCESS a, b;

    spawn_pingpong_pair(&a, &b, 2);
    use_type(a, t);
    run_pingpong();
    /* Nothing for b>a saves of b, a>b restores of b, or b>main. */
    cr_assert_str_eq(lwpt_log, "Rm>a Sa>b Rb>a Sa>b Rb>a Sa>b");
    assert_counts(a, t, 3, 3);
    cr_assert_eq(n_wrong_buffer, 0);
}

Test(context, unoptimised_counts_with_one_user_are_exact, .init = ctx_setup,
     .fini = ctx_teardown)
{
    enum { N = 50 };
    int t = define_type(0);
    PROCESS a, b;

    spawn_pingpong_pair(&a, &b, N);
    use_type(b, t);
    run_pingpong();
    /* b: in from a N+1 times, out to a N times and to main once. */
    cr_assert_eq(n_saves, N + 1);
    cr_assert_eq(n_restores, N + 1);
    assert_counts(b, t, N + 1, N + 1);
    cr_assert_eq(n_wrong_buffer, 0);
}

Test(context, routines_get_the_lwps_own_buffer, .init = ctx_setup,
     .fini = ctx_teardown)
{
    int t = define_type(0);
    PROCESS a = spawn_turn_taker("a");
    PROCESS b = spawn_turn_taker("b");
    PROCESS c = spawn_turn_taker("c");
    struct counted cnt;

    use_type(a, t);
    use_type(b, t);
    use_type(main_pid, t);
    run_script("abcab");
    cr_assert_str_eq(lwpt_log, "Sm>a Rm>a Sa>b Ra>b Sb>c Rc>a Sa>b Ra>b"
                            " Sb>m Rb>m");
    /* Each call got the buffer whose owner is the LWP saved/restored. */
    cr_assert_eq(n_wrong_buffer, 0);
    assert_counts(a, t, 2, 2);
    assert_counts(b, t, 2, 2);
    assert_counts(main_pid, t, 1, 1);
    ASSERT_LE(lwp_ctxmemget(&cnt, c, t), LE_NONEXIST);
}

Test(context, several_types_run_in_definition_order, .init = ctx_setup,
     .fini = ctx_teardown)
{
    int x = lwp_ctxset(x_save, x_restore, sizeof(struct counted), 0);
    int y = lwp_ctxset(y_save, y_restore, sizeof(struct counted), 0);
    PROCESS a = spawn_turn_taker("a");

    cr_assert_gt(y, x);
    spawn_turn_taker("b");
    /* Given in the other order: the definition order still wins. */
    use_type(a, y);
    use_type(a, x);
    run_script("ab");
    run_script("a");
    cr_assert_str_eq(lwpt_log, "x.Rm>a y.Rm>a x.Sa>b y.Sa>b"
                            " x.Rm>a y.Rm>a x.Sa>m y.Sa>m");
    cr_assert_eq(n_wrong_buffer, 0);
}

/* =================== Optimised types =================== */

Test(context, optimised_state_stays_while_non_users_run, .init = ctx_setup,
     .fini = ctx_teardown)
{
    int o = define_type(1);
    PROCESS a = spawn_turn_taker("a");

    spawn_turn_taker("b");
    use_type(a, o);
    run_script("ababab");
    run_script("bab");
    /* First use: no previous user, restore only; then a always resumes
     * after itself. */
    cr_assert_str_eq(lwpt_log, "R0>a");
    assert_counts(a, o, 0, 1);
    cr_assert_eq(n_wrong_buffer, 0);
}

Test(context, optimised_state_moves_only_between_users, .init = ctx_setup,
     .fini = ctx_teardown)
{
    int o = define_type(1);
    PROCESS a = spawn_turn_taker("a");
    PROCESS c;

    spawn_turn_taker("b");
    c = spawn_turn_taker("c");
    use_type(a, o);
    use_type(c, o);
    run_script("abcba");
    cr_assert_str_eq(lwpt_log, "R0>a Sa>c Ra>c Sc>a Rc>a");
    assert_counts(a, o, 1, 2);
    assert_counts(c, o, 1, 1);
    cr_assert_eq(n_wrong_buffer, 0);
}

Test(context, optimised_counts_are_exact, .init = ctx_setup,
     .fini = ctx_teardown)
{
    enum { N = 100 };
    int o = define_type(1);
    PROCESS a, b;

    spawn_pingpong_pair(&a, &b, N);
    use_type(a, o);
    use_type(b, o);
    run_pingpong();
    /* Every switch between a and b moves the state (2N + 1 of them),
     * plus the first restore of a; main does not use it. */
    cr_assert_eq(n_saves, 2 * N + 1);
    cr_assert_eq(n_restores, 2 * N + 2);
    assert_counts(a, o, N + 1, N + 1);
    assert_counts(b, o, N, N + 1);
    cr_assert_eq(n_wrong_buffer, 0);
}

Test(context, optimised_ctxinit_of_the_running_lwp_makes_it_the_last_user,
     .init = ctx_setup, .fini = ctx_teardown)
{
    int o = define_type(1);
    PROCESS a = spawn_turn_taker("a");

    use_type(main_pid, o);
    use_type(a, o);
    run_script("a");
    cr_assert_str_eq(lwpt_log, "Sm>a Rm>a Sa>m Ra>m");
    assert_counts(main_pid, o, 1, 1);
    assert_counts(a, o, 1, 1);
    cr_assert_eq(n_wrong_buffer, 0);
}

Test(context, optimised_last_user_destroyed_next_user_gets_restore_only,
     .init = ctx_setup, .fini = ctx_teardown)
{
    int o = define_type(1);
    PROCESS a = spawn_turn_taker("a");
    PROCESS c = spawn_turn_taker("c");

    use_type(a, o);
    use_type(c, o);
    run_script("a");
    cr_assert_str_eq(lwpt_log, "R0>a");
    cr_assert_eq(LWP_DestroyProcess(a), LWP_SUCCESS);
    cr_assert_str_eq(lwpt_log, "R0>a");
    run_script("c");
    assert_order_is_one_of("R0>a R0>c", "R0>a Ra>c");
    assert_counts(c, o, 0, 1);
    cr_assert_eq(n_saves, 0);
    cr_assert_eq(n_wrong_buffer, 0);
}

Test(context, optimised_last_user_exited_next_user_gets_restore_only,
     .init = ctx_setup, .fini = ctx_teardown)
{
    int o = define_type(1);
    PROCESS a = spawn(take_one_turn, HIGH, "a");
    PROCESS c = spawn_turn_taker("c");

    use_type(a, o);
    use_type(c, o);
    struct counted cnt;

    run_script("a");
    ASSERT_LE(lwp_ctxmemget(&cnt, a, o), LE_INVALIDARG);
    run_script("c");
    assert_order_is_one_of("R0>a R0>c", "R0>a Ra>c");
    assert_counts(c, o, 0, 1);
    cr_assert_eq(n_saves, 0);
    cr_assert_eq(n_wrong_buffer, 0);
}

Test(context, optimised_last_user_removed_it_next_user_gets_restore_only,
     .init = ctx_setup, .fini = ctx_teardown)
{
    int o = define_type(1);
    PROCESS a = spawn_turn_taker("a");
    PROCESS c = spawn_turn_taker("c");

    use_type(a, o);
    use_type(c, o);
    run_script("a");
    cr_assert_eq(lwp_ctxremove(a, o), 0);
    run_script("c");
    run_script("ac");
    assert_order_is_one_of("R0>a R0>c", "R0>a Ra>c");
    assert_counts(c, o, 0, 1);
    cr_assert_eq(n_wrong_buffer, 0);
}

/* =================== Exit, destruction, removal =================== */

Test(context, exit_drops_the_contexts_without_a_save, .init = ctx_setup,
     .fini = ctx_teardown)
{
    int t = define_type(0);
    PROCESS a = spawn(take_one_turn, HIGH, "a");
    PROCESS c;
    struct counted cnt;

    spawn_turn_taker("b");
    c = spawn_turn_taker("c");
    use_type(a, t);
    use_type(c, t);
    run_script("ab");
    cr_assert_str_eq(lwpt_log, "Rm>a");
    ASSERT_LE(lwp_ctxmemget(&cnt, a, t), LE_INVALIDARG);
    run_script("bc");
    cr_assert_str_eq(lwpt_log, "Rm>a Rb>c Sc>m");
    assert_counts(c, t, 1, 1);
    cr_assert_eq(n_wrong_buffer, 0);
}

Test(context, destroy_drops_the_contexts_without_a_call, .init = ctx_setup,
     .fini = ctx_teardown)
{
    int t = define_type(0);
    PROCESS a = spawn_turn_taker("a");
    PROCESS b = spawn_turn_taker("b");
    PROCESS never_ran = spawn(take_turns, LOW, "n");
    struct counted cnt;

    use_type(a, t);
    use_type(b, t);
    use_type(never_ran, t);
    cr_assert_eq(lwp_fpset(a), 0);
    cr_assert_eq(lwp_libcset(a), 0);
    run_script("ab");
    cr_assert_str_eq(lwpt_log, "Rm>a Sa>b Ra>b Sb>m");
    cr_assert_eq(LWP_DestroyProcess(a), LWP_SUCCESS);
    cr_assert_eq(LWP_DestroyProcess(never_ran), LWP_SUCCESS);
    ASSERT_LE(lwp_ctxmemget(&cnt, a, t), LE_INVALIDARG);
    run_script("b");
    cr_assert_str_eq(lwpt_log, "Rm>a Sa>b Ra>b Sb>m Rm>b Sb>m");
    assert_counts(b, t, 2, 2);
    cr_assert_eq(n_wrong_buffer, 0);
}

static int remove_cookie;

static void remove_own_type(char me, int turn)
{
    (void)me;
    (void)turn;
    if (lwp_ctxremove(LWP_ThisProcess(), remove_cookie) != 0)
        lwpt_note("remove failed %d", lwp_geterr());
    lwpt_note("removed");
}

Test(context, ctxremove_runs_no_routine_and_ends_the_calls,
     .init = ctx_setup, .fini = ctx_teardown)
{
    int t = define_type(0);
    PROCESS a = spawn_turn_taker("a");
    PROCESS b = spawn_turn_taker("b");

    use_type(a, t);
    use_type(b, t);
    remove_cookie = t;
    on_turn = remove_own_type;
    run_script("a"); /* a removes its own type while running */
    on_turn = NULL;
    cr_assert_str_eq(lwpt_log, "Rm>a removed");
    cr_assert_eq(lwp_ctxremove(b, t), 0); /* main removes b's */
    run_script("ab");
    cr_assert_str_eq(lwpt_log, "Rm>a removed");
    cr_assert_eq(n_wrong_buffer, 0);
}

static void use_everything(PROCESS p, int unopt, int opt)
{
    use_type(p, unopt);
    use_type(p, opt);
    cr_assert_eq(lwp_fpset(p), 0);
    cr_assert_eq(lwp_libcset(p), 0);
}

Test(context, terminate_with_contexts_in_use_is_clean, .init = ctx_setup,
     .fini = ctx_teardown)
{
    int unopt = define_type(0);
    int opt = define_type(1);
    PROCESS a = spawn_turn_taker("a");
    PROCESS b = spawn_turn_taker("b");
    PROCESS lazy = spawn(take_turns, LOW, "z");
    int saves, restores, again;

    use_everything(a, unopt, opt);
    use_everything(b, unopt, opt);
    use_everything(lazy, unopt, opt);
    use_type(main_pid, unopt);
    use_type(main_pid, opt);
    run_script("ab");
    cr_assert_gt(n_saves, 0);
    saves = n_saves;
    restores = n_restores;
    cr_assert_eq(LWP_TerminateProcessSupport(), LWP_SUCCESS);
    cr_assert_eq(n_saves, saves);
    cr_assert_eq(n_restores, restores);
    ASSERT_LE(lwp_ctxset(log_save, log_restore, 8, 0), LE_NOTINIT);
    /* Types lived until the termination: a new runtime has none. */
    cr_assert_eq(LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &main_pid),
                 LWP_SUCCESS);
    ASSERT_LE(lwp_ctxinit(main_pid, opt), LE_INVALIDARG);
    again = lwp_ctxset(log_save, log_restore, 8, 0);
    cr_assert_geq(again, 2);
    cr_assert_eq(lwp_fpset(main_pid), 0);
    cr_assert_eq(lwp_libcset(main_pid), 0);
}

static int errs[4];
static int n_errs;

/* Record the LWP's error, then fail (LE_INVALIDARG). */
static void note_error_then_fail(char me, int turn)
{
    (void)me;
    (void)turn;
    if (n_errs < 4)
        errs[n_errs++] = lwp_geterr();
    (void)lwp_ctxinit(NULL, LWP_CTX_LIBC);
}

Test(context, recycle_drops_the_contexts_and_the_lwp_error,
     .init = ctx_setup, .fini = ctx_teardown)
{
    int t = define_type(0);
    PROCESS a = spawn_turn_taker("a");
    struct counted cnt;

    use_type(a, t);
    cr_assert_eq(lwp_fpset(a), 0);
    on_turn = note_error_then_fail;
    run_script("a");
    cr_assert_str_eq(lwpt_log, "Rm>a Sa>m");
    cr_assert_eq(LWP_RecycleProcess(a, take_turns, (void *)"a"), LWP_SUCCESS);
    ASSERT_LE(lwp_ctxmemget(&cnt, a, t), LE_NONEXIST);
    ASSERT_LE(lwp_ctxremove(a, LWP_CTX_FP), LE_NONEXIST);
    cr_assert_eq(LWP_ResumeProcess(a), LWP_SUCCESS);
    cr_assert_eq(LWP_DispatchProcess(), LWP_SUCCESS); /* a restarts, waits */
    run_script("a");
    cr_assert_str_eq(lwpt_log, "Rm>a Sa>m");
    cr_assert_eq(n_errs, 2);
    cr_assert_eq(errs[0], LE_NOERROR);
    cr_assert_eq(errs[1], LE_NOERROR, "recycling kept the error %d", errs[1]);
}

Test(context, a_new_lwp_starts_without_error_even_in_a_reused_pcb,
     .init = ctx_setup, .fini = ctx_teardown)
{
    spawn(take_one_turn, HIGH, "a");
    on_turn = note_error_then_fail;
    run_script("a"); /* a fails, then exits */
    spawn_turn_taker("b");
    run_script("b");
    cr_assert_eq(n_errs, 2);
    cr_assert_eq(errs[0], LE_NOERROR);
    cr_assert_eq(errs[1], LE_NOERROR);
    cr_assert_eq(lwp_geterr(), LE_NOERROR);
}

/* =================== Calls from save/restore =================== */

static PROCESS probe_target; /* an LWP the probes aim their calls at */
static int probe_cookie;

static struct {
    int runs;
    PROCESS self;
    const char *name;
    int dispatch, signal, noyield, wait, mwait, create, qsignal, suspend,
        resume, destroy, exit_returned;
    PROCESS created;
} lwp_probe;

static void probe_lwp_calls(void *ctx, PROCESS old, PROCESS new_)
{
    static char ev;
    const void *evlist[] = {&ev, NULL};

    (void)ctx;
    (void)old;
    (void)new_;
    if (lwp_probe.runs++)
        return;
    lwp_probe.self = LWP_ThisProcess();
    lwp_probe.name = LWP_Name();
    lwp_probe.dispatch = LWP_DispatchProcess();
    lwp_probe.signal = LWP_SignalProcess(&ev);
    lwp_probe.noyield = LWP_NoYieldSignal(&ev);
    lwp_probe.wait = LWP_WaitProcess(&ev);
    lwp_probe.mwait = LWP_MwaitProcess(1, evlist);
    lwp_probe.create = LWP_CreateProcess(do_nothing, STACK, HIGH, NULL,
                                         "x", &lwp_probe.created);
    lwp_probe.qsignal = LWP_QSignal(probe_target);
    lwp_probe.suspend = LWP_SuspendProcess(probe_target);
    lwp_probe.resume = LWP_ResumeProcess(probe_target);
    lwp_probe.destroy = LWP_DestroyProcess(probe_target);
    LWP_ExitProcess(3);
    lwp_probe.exit_returned = 1;
}

static int a_err_after;

static void note_turn_and_error(char me, int turn)
{
    note_turn(me, turn);
    if (me == 'a')
        a_err_after = lwp_geterr();
}

Test(context, lwp_calls_fail_inside_a_restore, .init = ctx_setup,
     .fini = ctx_teardown)
{
    int probe = lwp_ctxset(NULL, probe_lwp_calls, 8, 0);
    PROCESS a = spawn_turn_taker("a");
    int highest = LWP_HighestIndex();

    cr_assert_geq(probe, 2);
    probe_target = spawn_turn_taker("b");
    cr_assert_eq(lwp_ctxinit(a, probe), 0);
    on_turn = note_turn_and_error;
    run_script("ab"); /* the probe runs as main switches to a */
    cr_assert_eq(lwp_probe.runs, 1);
    cr_assert_null(lwp_probe.self);
    cr_assert_null(lwp_probe.name);
    cr_assert_eq(lwp_probe.dispatch, LWP_EINSWITCH);
    cr_assert_eq(lwp_probe.signal, LWP_EINSWITCH);
    cr_assert_eq(lwp_probe.noyield, LWP_EINSWITCH);
    cr_assert_eq(lwp_probe.wait, LWP_EINSWITCH);
    cr_assert_eq(lwp_probe.mwait, LWP_EINSWITCH);
    cr_assert_eq(lwp_probe.create, LWP_EINSWITCH);
    cr_assert_null(lwp_probe.created);
    cr_assert_eq(lwp_probe.qsignal, LWP_EINSWITCH);
    cr_assert_eq(lwp_probe.suspend, LWP_EINSWITCH);
    cr_assert_eq(lwp_probe.resume, LWP_EINSWITCH);
    cr_assert_eq(lwp_probe.destroy, LWP_EINSWITCH);
    cr_assert_eq(lwp_probe.exit_returned, 1);
    /* Scheduling goes on as if nothing had been called: b is alive, not
     * suspended, nothing was created. */
    cr_assert_eq(LWP_HighestIndex(), highest + 1);
    run_script("ba");
    cr_assert_str_eq(lwpt_log, "a b b a");
    cr_assert_eq(lwp_probe.runs, 2);
    cr_assert_eq(LWP_ResumeProcess(probe_target), LWP_ENOTSUSPENDED);
    cr_assert_eq(a_err_after, LE_NOERROR);
    cr_assert_eq(lwp_geterr(), LE_NOERROR);
}

static struct {
    int runs;
    int rc[7], err[7];
} ctx_probe;

static void probe_ctx_calls(void *ctx, PROCESS old, PROCESS new_)
{
    char mem[64] = {0};
    int i = 0;

    (void)ctx;
    (void)new_;
    if (ctx_probe.runs++)
        return;
#define PROBE(call)                                                          \
    do {                                                                     \
        ctx_probe.rc[i] = (call);                                            \
        ctx_probe.err[i++] = lwp_geterr();                                   \
    } while (0)
    PROBE(lwp_ctxset(log_save, log_restore, 8, 0));
    PROBE(lwp_ctxinit(probe_target, probe_cookie));
    PROBE(lwp_ctxremove(old, probe_cookie));
    PROBE(lwp_ctxmemget(mem, old, probe_cookie));
    PROBE(lwp_ctxmemset(mem, old, probe_cookie));
    PROBE(lwp_fpset(probe_target));
    PROBE(lwp_libcset(probe_target));
#undef PROBE
}

Test(context, ctx_calls_fail_inside_a_save_with_LE_INSWITCH,
     .init = ctx_setup, .fini = ctx_teardown)
{
    PROCESS a = spawn_turn_taker("a");
    char mem[64];

    probe_cookie = lwp_ctxset(probe_ctx_calls, NULL, sizeof(mem), 0);
    cr_assert_geq(probe_cookie, 2);
    probe_target = spawn_turn_taker("b");
    cr_assert_eq(lwp_ctxinit(a, probe_cookie), 0);
    on_turn = note_turn_and_error;
    run_script("ab"); /* the probe runs as a switches to b */
    cr_assert_eq(ctx_probe.runs, 1);
    for (int i = 0; i < 7; i++) {
        cr_assert_eq(ctx_probe.rc[i], -1, "probe call %d", i);
        cr_assert_eq(ctx_probe.err[i], LE_INSWITCH, "probe call %d", i);
    }
    /* Nothing changed: a keeps its type, b got none. */
    cr_assert_eq(lwp_ctxmemget(mem, a, probe_cookie), 0);
    ASSERT_LE(lwp_ctxmemget(mem, probe_target, probe_cookie), LE_NONEXIST);
    ASSERT_LE(lwp_ctxremove(probe_target, LWP_CTX_FP), LE_NONEXIST);
    ASSERT_LE(lwp_ctxremove(probe_target, LWP_CTX_LIBC), LE_NONEXIST);
    /* The errors went to the process-wide slot, not to a's. */
    cr_assert_eq(a_err_after, LE_NOERROR);
    run_script("ab");
    cr_assert_str_eq(lwpt_log, "a b a b");
    cr_assert_eq(ctx_probe.runs, 2);
    cr_assert_eq(a_err_after, LE_NOERROR);
}

static struct {
    int runs, poll, sleep, cancel;
} io_probe;

static void probe_iomgr_calls(void *ctx, PROCESS old, PROCESS new_)
{
    (void)ctx;
    (void)new_;
    if (io_probe.runs++)
        return;
    io_probe.poll = IOMGR_Poll();
    io_probe.sleep = IOMGR_Sleep(1);
    io_probe.cancel = IOMGR_Cancel(old);
}

Test(context, iomgr_calls_fail_inside_a_restore, .init = ctx_setup,
     .fini = ctx_teardown)
{
    int probe = lwp_ctxset(NULL, probe_iomgr_calls, 8, 0);
    PROCESS a = spawn_turn_taker("a");

    cr_assert_geq(probe, 2);
    cr_assert_eq(IOMGR_Initialize(), LWP_SUCCESS);
    spawn_turn_taker("b");
    cr_assert_eq(lwp_ctxinit(a, probe), 0);
    on_turn = note_turn;
    run_script("ab");
    cr_assert_eq(io_probe.runs, 1);
    /* <lwp/context.h>: IOMGR calls made there fail with LWP_EINSWITCH,
     * except IOMGR_Poll (does nothing: 0) and IOMGR_Cancel (-1), which
     * keep their own failure values. */
    cr_expect_eq(io_probe.poll, 0, "IOMGR_Poll: %d", io_probe.poll);
    cr_expect_eq(io_probe.sleep, LWP_EINSWITCH, "IOMGR_Sleep: %d",
                 io_probe.sleep);
    cr_expect_eq(io_probe.cancel, -1, "IOMGR_Cancel: %d", io_probe.cancel);
    run_script("ba");
    cr_assert_str_eq(lwpt_log, "a b b a");
}

/* =================== LWP_CTX_FP (lwp_fpset) =================== */

static const int modes[4] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD,
                             FE_TOWARDZERO};
static double third_in[4], minus_third_in[4];

static double divide(double a, double b)
{
    volatile double x = a, y = b;
    volatile double r = x / y;

    return r;
}

static int mode_index(int mode)
{
    for (int i = 0; i < 4; i++)
        if (modes[i] == mode)
            return i;
    return 0;
}

/* What 1/3 and -1/3 give in each rounding mode. */
static void measure_rounding(void)
{
    int saved = fegetround();

    for (int i = 0; i < 4; i++) {
        cr_assert_eq(fesetround(modes[i]), 0);
        third_in[i] = divide(1.0, 3.0);
        minus_third_in[i] = divide(-1.0, 3.0);
    }
    fesetround(saved);
    cr_assert_gt(third_in[1], third_in[2]);
    cr_assert_gt(minus_third_in[3], minus_third_in[2]);
}

/* The mode is `mode`, both as reported and as the divider rounds. */
static int rounding_is(int mode)
{
    int i = mode_index(mode);

    return fegetround() == mode && divide(1.0, 3.0) == third_in[i] &&
           divide(-1.0, 3.0) == minus_third_in[i];
}

static int set_mode[2] = {-1, -1}; /* per letter; -1: leave it */
static int want_mode[2];
static int fp_checks[2], fp_bad[2];

static void set_own_mode(char me)
{
    if (set_mode[me - 'a'] >= 0)
        fesetround(set_mode[me - 'a']);
}

static void check_own_mode(char me)
{
    fp_checks[me - 'a']++;
    if (!rounding_is(want_mode[me - 'a']))
        fp_bad[me - 'a']++;
}

static void expect_fp(int set_a, int want_a, int set_b, int want_b)
{
    set_mode[0] = set_a;
    set_mode[1] = set_b;
    want_mode[0] = want_a;
    want_mode[1] = want_b;
    before_rounds = set_own_mode;
    after_yield = check_own_mode;
}

static void assert_fp_checks(int n)
{
    cr_assert_eq(fp_checks[0], n);
    cr_assert_eq(fp_checks[1], n);
    cr_assert_eq(fp_bad[0], 0, "a lost its mode %d times", fp_bad[0]);
    cr_assert_eq(fp_bad[1], 0, "b lost its mode %d times", fp_bad[1]);
}

/* Two LWPs with lwp_fpset, on stacks made with `flags`, each keep their
 * own rounding mode through N ping-pong rounds; main keeps its own. */
static void fp_mode_is_per_lwp(unsigned int flags)
{
    enum { N = 200 };
    PROCESS a, b;

    measure_rounding();
    spawn_flags = flags;
    spawn_pingpong_pair(&a, &b, N);
    cr_assert_eq(lwp_fpset(a), 0);
    cr_assert_eq(lwp_fpset(b), 0);
    expect_fp(FE_UPWARD, FE_UPWARD, FE_DOWNWARD, FE_DOWNWARD);
    run_pingpong();
    assert_fp_checks(N);
    cr_assert(rounding_is(FE_TONEAREST));
}

Test(context, fp_rounding_mode_is_per_lwp, .init = ctx_setup,
     .fini = ctx_teardown)
{
    LWPT_SKIP_FP_MODES_UNDER_VALGRIND();
    fp_mode_is_per_lwp(0);
}

Test(context, fp_rounding_mode_is_per_lwp_on_the_shared_stack,
     .init = ctx_setup, .fini = ctx_teardown)
{
    LWPT_SKIP_FP_MODES_UNDER_VALGRIND();
    fp_mode_is_per_lwp(LWP_CREATE_SHARED_STACK);
}

Test(context, fp_lwps_without_fpset_keep_the_shared_mode, .init = ctx_setup,
     .fini = ctx_teardown)
{
    LWPT_SKIP_FP_MODES_UNDER_VALGRIND();
    enum { N = 100 };
    PROCESS a, b;

    measure_rounding();
    cr_assert_eq(fesetround(FE_TOWARDZERO), 0);
    spawn_pingpong_pair(&a, &b, N);
    cr_assert_eq(lwp_fpset(a), 0);
    expect_fp(FE_UPWARD, FE_UPWARD, -1, FE_TOWARDZERO);
    run_pingpong();
    assert_fp_checks(N);
    cr_assert(rounding_is(FE_TOWARDZERO));
}

static int fp_seen[3];

/* Script "aba". a starts with the copy made at fpset (toward zero), then
 * goes upward; b (shared) sees main's later to-nearest, goes downward. */
static void fp_copy_turn(char me, int turn)
{
    static const int want[3] = {FE_TOWARDZERO, FE_TONEAREST, FE_UPWARD};

    fp_seen[turn] = rounding_is(want[turn]);
    if (turn == 0)
        fesetround(FE_UPWARD);
    if (me == 'b')
        fesetround(FE_DOWNWARD);
}

Test(context, fpset_copies_the_shared_environment_of_that_moment,
     .init = ctx_setup, .fini = ctx_teardown)
{
    LWPT_SKIP_FP_MODES_UNDER_VALGRIND();
    unsigned char buf[LWP_CTX_FP_SIZE];
    PROCESS a = spawn_turn_taker("a");

    measure_rounding();
    spawn_turn_taker("b");
    cr_assert_eq(fesetround(FE_TOWARDZERO), 0);
    cr_assert_eq(lwp_fpset(a), 0);
    cr_assert_eq(lwp_ctxmemget(buf, a, LWP_CTX_FP), 0);
    cr_assert_eq(fesetround(FE_TONEAREST), 0); /* after fpset: not copied */
    on_turn = fp_copy_turn;
    run_script("aba");
    cr_assert(fp_seen[0], "a did not start in the mode main had at fpset");
    cr_assert(fp_seen[1], "b did not see the shared mode");
    cr_assert(fp_seen[2], "a lost its own mode");
    /* b changed the shared mode; a's own change did not leak. */
    cr_assert(rounding_is(FE_DOWNWARD));
}

static int flag_seen[3];

static void fp_flags_turn(char me, int turn)
{
    (void)me;
    if (turn == 0) {
        feraiseexcept(FE_DIVBYZERO);
        flag_seen[0] = fetestexcept(FE_DIVBYZERO | FE_OVERFLOW);
    } else if (turn == 1) {
        flag_seen[1] = fetestexcept(FE_DIVBYZERO | FE_OVERFLOW);
        feraiseexcept(FE_OVERFLOW);
    } else {
        flag_seen[2] = fetestexcept(FE_DIVBYZERO | FE_OVERFLOW);
    }
}

Test(context, fp_exception_flags_are_per_lwp, .init = ctx_setup,
     .fini = ctx_teardown)
{
    LWPT_SKIP_FP_MODES_UNDER_VALGRIND();
    PROCESS a = spawn_turn_taker("a");
    PROCESS b = spawn_turn_taker("b");

    feclearexcept(FE_ALL_EXCEPT);
    cr_assert_eq(lwp_fpset(a), 0);
    cr_assert_eq(lwp_fpset(b), 0);
    on_turn = fp_flags_turn;
    run_script("aba");
    cr_assert_eq(flag_seen[0], FE_DIVBYZERO);
    cr_assert_eq(flag_seen[1], 0);
    cr_assert_eq(flag_seen[2], FE_DIVBYZERO);
    cr_assert_eq(fetestexcept(FE_DIVBYZERO | FE_OVERFLOW), 0);
}

static int removed_fp_sees_shared;

static void remove_own_fp(char me, int turn)
{
    (void)me;
    (void)turn;
    fesetround(FE_UPWARD);
    if (lwp_ctxremove(LWP_ThisProcess(), LWP_CTX_FP) == 0)
        removed_fp_sees_shared = rounding_is(FE_TOWARDZERO);
}

Test(context, ctxremove_fp_of_the_running_lwp_restores_the_shared_env,
     .init = ctx_setup, .fini = ctx_teardown)
{
    LWPT_SKIP_FP_MODES_UNDER_VALGRIND();
    PROCESS a = spawn_turn_taker("a");

    measure_rounding();
    cr_assert_eq(fesetround(FE_TOWARDZERO), 0);
    cr_assert_eq(lwp_fpset(a), 0);
    on_turn = remove_own_fp;
    run_script("a");
    cr_assert_eq(removed_fp_sees_shared, 1);
    cr_assert(rounding_is(FE_TOWARDZERO));
    /* main removing its own puts the shared mode back too. */
    cr_assert_eq(lwp_fpset(main_pid), 0);
    cr_assert_eq(fesetround(FE_UPWARD), 0);
    cr_assert_eq(lwp_ctxremove(main_pid, LWP_CTX_FP), 0);
    cr_assert(rounding_is(FE_TOWARDZERO));
}

static void record_toward_zero(char me, int turn)
{
    (void)me;
    fp_seen[turn] = rounding_is(FE_TOWARDZERO);
}

Test(context, fpset_by_an_lwp_with_its_own_env_copies_the_shared_one,
     .init = ctx_setup, .fini = ctx_teardown)
{
    LWPT_SKIP_FP_MODES_UNDER_VALGRIND();
    PROCESS a = spawn_turn_taker("a");

    measure_rounding();
    cr_assert_eq(fesetround(FE_TOWARDZERO), 0); /* the shared mode */
    cr_assert_eq(lwp_fpset(main_pid), 0);
    cr_assert(rounding_is(FE_TOWARDZERO));
    cr_assert_eq(fesetround(FE_UPWARD), 0); /* main's own only */
    cr_assert_eq(lwp_fpset(a), 0);
    on_turn = record_toward_zero;
    run_script("a");
    cr_assert(fp_seen[0], "a got main's own mode, not the shared one");
    cr_assert(rounding_is(FE_UPWARD));
    cr_assert_eq(lwp_ctxremove(main_pid, LWP_CTX_FP), 0);
    cr_assert(rounding_is(FE_TOWARDZERO));
}

static void go_upward_or_downward(char me, int turn)
{
    (void)turn;
    fesetround(me == 'c' ? FE_DOWNWARD : FE_UPWARD);
}

Test(context, memget_fp_holds_the_env_of_the_last_switch_out,
     .init = ctx_setup, .fini = ctx_teardown)
{
    unsigned char fa[LWP_CTX_FP_SIZE], fb[LWP_CTX_FP_SIZE],
        fc[LWP_CTX_FP_SIZE];
    PROCESS a = spawn_turn_taker("a");
    PROCESS b = spawn_turn_taker("b");
    PROCESS c = spawn_turn_taker("c");

    feclearexcept(FE_ALL_EXCEPT);
    cr_assert_eq(lwp_fpset(a), 0);
    cr_assert_eq(lwp_fpset(b), 0);
    cr_assert_eq(lwp_fpset(c), 0);
    on_turn = go_upward_or_downward;
    run_script("abc");
    cr_assert_eq(lwp_ctxmemget(fa, a, LWP_CTX_FP), 0);
    cr_assert_eq(lwp_ctxmemget(fb, b, LWP_CTX_FP), 0);
    cr_assert_eq(lwp_ctxmemget(fc, c, LWP_CTX_FP), 0);
    cr_assert_eq(memcmp(fa, fb, sizeof(fa)), 0, "same env, other bytes");
    cr_assert_neq(memcmp(fa, fc, sizeof(fa)), 0, "upward == downward");
}

static void go_upward_and_set_errno(char me, int turn)
{
    (void)me;
    (void)turn;
    fesetround(FE_UPWARD);
    errno = 7;
}

Test(context, own_fp_mode_and_errno_of_an_exiting_lwp_do_not_leak,
     .init = ctx_setup, .fini = ctx_teardown)
{
    LWPT_SKIP_FP_MODES_UNDER_VALGRIND();
    PROCESS a = spawn(take_one_turn, HIGH, "a");
    int saved;

    measure_rounding();
    cr_assert_eq(fesetround(FE_TOWARDZERO), 0);
    cr_assert_eq(lwp_fpset(a), 0);
    cr_assert_eq(lwp_libcset(a), 0);
    on_turn = go_upward_and_set_errno;
    errno = 5;
    run_script("a"); /* a changes both, then exits */
    saved = errno;
    cr_assert_eq(saved, 5);
    cr_assert(rounding_is(FE_TOWARDZERO));
}

/* =================== LWP_CTX_LIBC (lwp_libcset) =================== */

static int errno_seen[8];
static int errno_to_set[3]; /* per letter; 0: leave errno alone */

static void errno_turn(char me, int turn)
{
    errno_seen[turn] = errno;
    if (errno_to_set[me - 'a'])
        errno = errno_to_set[me - 'a'];
}

Test(context, errno_is_per_lwp_with_libcset, .init = ctx_setup,
     .fini = ctx_teardown)
{
    PROCESS a = spawn_turn_taker("a");
    PROCESS b = spawn_turn_taker("b");
    int saved;

    cr_assert_eq(lwp_libcset(a), 0);
    cr_assert_eq(lwp_libcset(b), 0);
    errno_to_set[0] = 11;
    errno_to_set[1] = 22;
    on_turn = errno_turn;
    errno = 5;
    run_script("ababab");
    saved = errno;
    cr_assert_eq(saved, 5);
    cr_assert_eq(errno_seen[0], 0);
    cr_assert_eq(errno_seen[1], 0);
    for (int i = 2; i < 6; i++)
        cr_assert_eq(errno_seen[i], i % 2 ? 22 : 11, "turn %d: errno %d", i,
                     errno_seen[i]);
}

Test(context, errno_without_libcset_is_shared, .init = ctx_setup,
     .fini = ctx_teardown)
{
    PROCESS a = spawn_turn_taker("a");
    int saved, v = -1;

    spawn_turn_taker("b");
    cr_assert_eq(lwp_libcset(a), 0);
    errno_to_set[0] = 7;
    on_turn = errno_turn;
    errno = 5;
    run_script("ab");
    saved = errno;
    cr_assert_eq(saved, 5);
    /* a starts at 0 (and sets 7); b sees main's shared errno. */
    cr_assert_eq(errno_seen[0], 0);
    cr_assert_eq(errno_seen[1], 5);
    errno = 6;
    run_script("ba");
    saved = errno;
    cr_assert_eq(saved, 6);
    cr_assert_eq(errno_seen[0], 6);
    cr_assert_eq(errno_seen[1], 7);
    cr_assert_eq(lwp_ctxmemget(&v, a, LWP_CTX_LIBC), 0);
    cr_assert_eq(v, 7);
}

Test(context, memget_libc_gives_the_saved_errno_of_a_waiting_lwp,
     .init = ctx_setup, .fini = ctx_teardown)
{
    PROCESS a = spawn_turn_taker("a");
    int v = -1;

    cr_assert_eq(lwp_libcset(a), 0);
    errno_to_set[0] = 7;
    on_turn = errno_turn;
    run_script("a");
    cr_assert_eq(lwp_ctxmemget(&v, a, LWP_CTX_LIBC), 0);
    cr_assert_eq(v, 7);
    errno_to_set[0] = 9;
    run_script("a");
    cr_assert_eq(errno_seen[0], 7);
    cr_assert_eq(lwp_ctxmemget(&v, a, LWP_CTX_LIBC), 0);
    cr_assert_eq(v, 9);
}

static int errno_after_remove;

static void remove_own_libc(char me, int turn)
{
    (void)me;
    (void)turn;
    errno = 7;
    if (lwp_ctxremove(LWP_ThisProcess(), LWP_CTX_LIBC) == 0)
        errno_after_remove = errno;
}

Test(context, ctxremove_libc_of_the_running_lwp_restores_the_shared_errno,
     .init = ctx_setup, .fini = ctx_teardown)
{
    PROCESS a = spawn_turn_taker("a");
    int saved;

    cr_assert_eq(lwp_libcset(a), 0);
    on_turn = remove_own_libc;
    errno = 5;
    run_script("a");
    saved = errno;
    cr_assert_eq(errno_after_remove, 5);
    cr_assert_eq(saved, 5);
}
