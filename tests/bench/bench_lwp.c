/* SPDX-License-Identifier: MIT */
/*
 * bench_lwp: what the LWP runtime's basic operations cost, next to the
 * same work done by a minimal scheduler, glibc swapcontext, State Threads
 * and GNU Pth in the same process and the same run.
 *
 *     bench_lwp [--quick] [--runs N]
 *
 * --quick divides every count by 10 (a smoke run); --runs sets how many
 * runs each figure is the median of (default 7; memory figures use at most
 * 3 because one run creates a million LWPs). Pin it to one CPU for stable
 * figures: taskset -c 1 bench_lwp.
 *
 * Figures that are compared are measured in one group whose runs take
 * turns (bench_group), so a busy machine slows both sides alike. Each LWP
 * run has its own LWP_Init/LWP_TerminateProcessSupport session, so no run
 * inherits pooled stacks or a grown event table from another unless that
 * is what is measured.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lwp/iomgr.h>
#include <lwp/lwp.h>

#include "bench_lwp_ctx.h"
#include "bench_lwp_preempt.h"
#include "bench_peers.h"
#include "bench_util.h"

#define MAIN_PRIO 1   /* below every worker: main runs when they are done */
#define PAIR_PRIO 2   /* ping-pong pairs */
#define CHILD_PRIO 4  /* created LWPs that must run at once */
#define CREATE_STACK (64 * 1024)
#define MIN_STACK (32 * 1024)

static int opt_runs = 7;
static long opt_div = 1;

static long count(long full)
{
    return full / opt_div > 0 ? full / opt_div : 1;
}

/* ---- Sessions ---- */

static void session_begin(int stack_use)
{
    int rc;

    lwp_stackUseEnabled = stack_use;
    rc = LWP_Init(LWP_VERSION, MAIN_PRIO, NULL);
    if (rc != LWP_SUCCESS)
        bench_fail("LWP_Init", rc);
}

static void session_end(void)
{
    int rc = LWP_TerminateProcessSupport();

    if (rc != LWP_SUCCESS)
        bench_fail("LWP_TerminateProcessSupport", rc);
    lwp_stackUseEnabled = 1;
}

static PROCESS spawn(void (*fn)(void *), int stack, int prio, void *arg)
{
    PROCESS pid;
    int rc = LWP_CreateProcess(fn, stack, prio, arg, "bench", &pid);

    if (rc != LWP_SUCCESS)
        bench_fail("LWP_CreateProcess", rc);
    return pid;
}

/* ---- Yield ping-pong ---- */

static char start_ev, ping_ev, pong_ev, burst_ev;

/* Both wait for the start signal: the first one created would otherwise
 * run its whole loop before the second exists (a yield with nobody else
 * at its priority does not switch). */
static void yielder(void *arg)
{
    long n = *(long *)arg;

    LWP_WaitProcess(&start_ev);
    for (long i = 0; i < n; i++)
        LWP_DispatchProcess();
}

/* Two LWPs LWP_DispatchProcess to each other n times each; ns per yield. */
static double lwp_yield_run(long n)
{
    double t0, t1;

    session_begin(0);
    spawn(yielder, CREATE_STACK, PAIR_PRIO, &n);
    spawn(yielder, CREATE_STACK, PAIR_PRIO, &n);
    t0 = bench_now_ns();
    LWP_NoYieldSignal(&start_ev);
    LWP_DispatchProcess(); /* returns once both have exited */
    t1 = bench_now_ns();
    session_end();
    return (t1 - t0) / (2.0 * (double)n);
}

/* ---- Wait/signal hand-off ---- */

/* Hand-off = signal the other + wait on one's own event, the shape of the
 * minimal scheduler's and ST's. LWP_NoYieldSignal, because a yielding
 * signal would run the partner before we wait and its reply would be lost
 * (signals are not queued). */
static void ping(void *arg)
{
    long n = *(long *)arg;

    for (long i = 0; i < n; i++) {
        LWP_NoYieldSignal(&pong_ev);
        LWP_WaitProcess(&ping_ev);
    }
}

static void pong(void *arg)
{
    long n = *(long *)arg;

    for (long i = 0; i < n; i++) {
        LWP_WaitProcess(&pong_ev);
        LWP_NoYieldSignal(&ping_ev);
    }
}

/* In the current session: pong starts and waits, ping's creation starts
 * the game, and main resumes when both have exited. ns per hand-off. */
static double handoff_in_session(long n)
{
    double t0, t1;

    spawn(pong, CREATE_STACK, PAIR_PRIO, &n);
    t0 = bench_now_ns();
    spawn(ping, CREATE_STACK, PAIR_PRIO, &n);
    t1 = bench_now_ns();
    return (t1 - t0) / (2.0 * (double)n);
}

static double lwp_handoff_run(long n)
{
    double r;

    session_begin(0);
    r = handoff_in_session(n);
    session_end();
    return r;
}

/* The Coda idiom: a waiter loops in LWP_WaitProcess, a signaller of the
 * same priority loops in LWP_SignalProcess (which yields to the waiter).
 * One round is signal, switch, wait, switch back; reported per switch so
 * it reads like the hand-off above. */
static void sp_waiter(void *arg)
{
    long n = *(long *)arg;

    for (long i = 0; i < n; i++)
        LWP_WaitProcess(&pong_ev);
}

static void sp_signaller(void *arg)
{
    long n = *(long *)arg;

    for (long i = 0; i < n; i++)
        LWP_SignalProcess(&pong_ev);
}

static double lwp_signalprocess_run(long n)
{
    double t0, t1;

    session_begin(0);
    spawn(sp_waiter, CREATE_STACK, PAIR_PRIO, &n);
    t0 = bench_now_ns();
    spawn(sp_signaller, CREATE_STACK, PAIR_PRIO, &n);
    t1 = bench_now_ns();
    session_end();
    return (t1 - t0) / (2.0 * (double)n);
}

/* ---- Coda's cswitch ----
 * Coda's lib-src/lwp cswitch benchmark, in its shape: the main LWP and a
 * partner, both at priority 0 (the IO MANAGER's), hand the CPU to each
 * other with LWP_QSignal + LWP_QWait, and cont_sw_threshold is set (10 ms)
 * so that every dispatch times the LWP it leaves. Run with IOMGR
 * initialised and without: what an idle IO MANAGER costs LWPs that share
 * its priority. "plain" is the same without the threshold. ns per round
 * (one QSignal + QWait each way). */

static PROCESS cs_main, cs_partner_pid;
static volatile int cs_stop;
static int cs_iomgr, cs_threshold;

/* Created by main at its own priority, it runs first: it waits for the
 * first round, and signals main once more when told to stop. */
static void cs_partner(void *arg)
{
    (void)arg;
    LWP_QWait();
    while (!cs_stop) {
        LWP_QSignal(cs_main);
        LWP_QWait();
    }
    LWP_QSignal(cs_main);
}

static void cs_begin(void)
{
    int rc;

    cs_stop = 0;
    if (cs_threshold) {
        cont_sw_threshold.tv_sec = 0;
        cont_sw_threshold.tv_usec = 10000;
    }
    rc = LWP_Init(LWP_VERSION, 0, &cs_main);
    if (rc != LWP_SUCCESS)
        bench_fail("LWP_Init", rc);
    rc = LWP_CreateProcess(cs_partner, CREATE_STACK, 0, NULL, "cswitch",
                           &cs_partner_pid);
    if (rc != LWP_SUCCESS)
        bench_fail("LWP_CreateProcess", rc);
    if (cs_iomgr && (rc = IOMGR_Initialize()) != LWP_SUCCESS)
        bench_fail("IOMGR_Initialize", rc);
}

static void cs_end(void)
{
    cs_stop = 1;
    LWP_QSignal(cs_partner_pid);
    LWP_QWait();
    timerclear(&cont_sw_threshold);
    timerclear(&last_context_switch);
    session_end(); /* finalizes IOMGR too */
}

static double cswitch_run(long n)
{
    double t0, t1;

    cs_begin();
    t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        LWP_QSignal(cs_partner_pid);
        LWP_QWait();
    }
    t1 = bench_now_ns();
    cs_end();
    return (t1 - t0) / (double)n;
}

static double cswitch_coda_iomgr(long n)
{
    cs_iomgr = 1;
    cs_threshold = 1;
    return cswitch_run(n);
}

static double cswitch_coda_bare(long n)
{
    cs_iomgr = 0;
    cs_threshold = 1;
    return cswitch_run(n);
}

static double cswitch_plain_iomgr(long n)
{
    cs_iomgr = 1;
    cs_threshold = 0;
    return cswitch_run(n);
}

static double cswitch_plain_bare(long n)
{
    cs_iomgr = 0;
    cs_threshold = 0;
    return cswitch_run(n);
}

/* ---- Create + run + exit ---- */

static void noop(void *arg)
{
    (void)arg;
}

/* The child outranks main, so LWP_CreateProcess runs it to completion
 * before returning; ns per LWP. One untimed LWP first puts a stack in the
 * pool, as a long-running program has one. */
static double create_run(long n, int stack_use)
{
    double t0, t1;

    session_begin(stack_use);
    spawn(noop, CREATE_STACK, CHILD_PRIO, NULL);
    t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        spawn(noop, CREATE_STACK, CHILD_PRIO, NULL);
    t1 = bench_now_ns();
    session_end();
    return (t1 - t0) / (double)n;
}

static double create_run_nouse(long n)
{
    return create_run(n, 0);
}

static double create_run_use(long n)
{
    return create_run(n, 1);
}

static void parked(void *arg)
{
    LWP_WaitProcess(arg);
}

/* n LWPs are created and park; one signal wakes them all, and they exit
 * before main (lower priority) runs again. ns per LWP. */
static double burst_once(long n)
{
    double t0, t1;

    t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        spawn(parked, CREATE_STACK, CHILD_PRIO, &burst_ev);
    LWP_NoYieldSignal(&burst_ev);
    LWP_DispatchProcess();
    t1 = bench_now_ns();
    return (t1 - t0) / (double)n;
}

/* Warm: a first, untimed burst leaves n stacks in the pool. Cold: the
 * first burst of a session, which maps and faults in every stack. */
static double burst_run(long n, int stack_use, int warm)
{
    double r;

    session_begin(stack_use);
    if (warm)
        burst_once(n);
    r = burst_once(n);
    session_end();
    return r;
}

static double burst_warm_nouse(long n)
{
    return burst_run(n, 0, 1);
}

static double burst_warm_use(long n)
{
    return burst_run(n, 1, 1);
}

static double burst_cold_nouse(long n)
{
    return burst_run(n, 0, 0);
}

/* ---- Signal among many blocked LWPs ---- */

static long blocked_others; /* LWPs asleep during blocked_run */

/* One hand-off game while blocked_others LWPs sleep on distinct events
 * (addresses inside `evs`, compared and never touched). */
static double blocked_run(long n)
{
    char *evs = malloc((size_t)blocked_others + 1);
    double r;

    if (!evs)
        bench_fail("malloc", 0);
    session_begin(0);
    for (long i = 0; i < blocked_others; i++)
        spawn(parked, MIN_STACK, CHILD_PRIO, evs + i);
    r = handoff_in_session(n);
    session_end();
    free(evs);
    return r;
}

/* ---- Memory per idle LWP ---- */

static long rss_bytes(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

struct idle_result {
    double bytes_per_lwp;
    long created;
    int stack_used; /* high-water mark of one idle LWP, 0 if unknown */
};

/* Creates up to n LWPs of the minimum stack, each parked in
 * LWP_WaitProcess on its own event, and divides the growth of the
 * resident set by the number created. */
static struct idle_result idle_once(long n, int stack_use)
{
    struct idle_result r = {0, 0, 0};
    char *evs = malloc((size_t)n);
    PROCESS last = NULL;
    long rss0;
    int max = 0;

    if (!evs)
        bench_fail("malloc", 0);
    session_begin(stack_use);
    /* Heap pages freed by earlier sessions are still resident; PCB slabs
     * reusing them would not show in the growth. Give them back first. */
    malloc_trim(0);
    rss0 = rss_bytes();
    for (; r.created < n; r.created++)
        if (LWP_CreateProcess(parked, MIN_STACK, CHILD_PRIO, evs + r.created,
                              NULL, &last) != LWP_SUCCESS)
            break;
    r.bytes_per_lwp =
        r.created ? (double)(rss_bytes() - rss0) / (double)r.created : 0;
    if (stack_use && last)
        LWP_StackUsed(last, &max, &r.stack_used);
    session_end();
    free(evs);
    return r;
}

static struct idle_result idle_run(long n, int stack_use, int runs)
{
    double v[3];
    struct idle_result r = {0, 0, 0};

    for (int i = 0; i < runs; i++) {
        r = idle_once(n, stack_use);
        v[i] = r.bytes_per_lwp;
    }
    r.bytes_per_lwp = bench_median(v, runs);
    return r;
}

static void idle_report(const char *tag, struct idle_result r, long n,
                        int used)
{
    long page = sysconf(_SC_PAGESIZE);
    long used_pages = ((long)used + page - 1) / page;
    char name[96];

    snprintf(name, sizeof(name), "lwp_idle_created_%s", tag);
    bench_print(name, (double)r.created, r.created < n ? "count (short)"
                                                       : "count");
    snprintf(name, sizeof(name), "lwp_idle_bytes_per_lwp_%s", tag);
    bench_print(name, r.bytes_per_lwp, "bytes");
    snprintf(name, sizeof(name), "lwp_idle_pages_touched_per_lwp_%s", tag);
    bench_print(name, r.bytes_per_lwp / (double)page, "pages");
    if (!used)
        return;
    snprintf(name, sizeof(name), "lwp_idle_bytes_beyond_used_stack_%s", tag);
    bench_print(name, r.bytes_per_lwp - (double)(used_pages * page), "bytes");
}

/* ---- Report ---- */

enum { Y_BARE, Y_MS, Y_UC, Y_ST, Y_PTH, Y_LWP, Y_COUNT };

static void yields(void)
{
    long n = count(500000);
    struct bench_item it[Y_COUNT] = {
        [Y_BARE] = {bench_bare_switch, n, 0},
        [Y_MS] = {bench_minsched_yield, n, 0},
        [Y_UC] = {bench_swapcontext, count(100000), 0},
        [Y_ST] = {bench_st_yield, count(20000), 0},
        [Y_PTH] = {bench_pth_yield, count(5000), 0},
        [Y_LWP] = {lwp_yield_run, n, 0},
    };

    bench_group(it, Y_COUNT, opt_runs);
    bench_print("bare_switch_ns", it[Y_BARE].ns, "ns");
    bench_print("minsched_yield_ns", it[Y_MS].ns, "ns");
    bench_print("swapcontext_ns", it[Y_UC].ns, "ns");
    bench_print("st_yield_usleep0_ns", it[Y_ST].ns, "ns");
    bench_print("pth_yield_ns", it[Y_PTH].ns, "ns");
    bench_print("lwp_yield_ns", it[Y_LWP].ns, "ns");
    bench_ratio("lwp_yield_vs_bare", it[Y_LWP].ns, it[Y_BARE].ns);
    bench_ratio("lwp_yield_vs_minsched", it[Y_LWP].ns, it[Y_MS].ns);
    bench_ratio("lwp_yield_vs_swapcontext", it[Y_LWP].ns, it[Y_UC].ns);
    bench_ratio("lwp_yield_vs_st_usleep0", it[Y_LWP].ns, it[Y_ST].ns);
    bench_ratio("lwp_yield_vs_pth", it[Y_LWP].ns, it[Y_PTH].ns);
}

enum { H_MS, H_ST, H_LWP, H_SP, H_COUNT };

static void handoffs(void)
{
    long n = count(500000);
    struct bench_item it[H_COUNT] = {
        [H_MS] = {bench_minsched_handoff, n, 0},
        [H_ST] = {bench_st_handoff, n, 0},
        [H_LWP] = {lwp_handoff_run, n, 0},
        [H_SP] = {lwp_signalprocess_run, n, 0},
    };

    bench_group(it, H_COUNT, opt_runs);
    bench_print("minsched_handoff_ns", it[H_MS].ns, "ns");
    bench_print("st_handoff_ns", it[H_ST].ns, "ns");
    bench_print("lwp_handoff_ns", it[H_LWP].ns, "ns");
    bench_print("lwp_signalprocess_handoff_ns", it[H_SP].ns, "ns");
    bench_ratio("lwp_handoff_vs_minsched", it[H_LWP].ns, it[H_MS].ns);
    bench_ratio("lwp_handoff_vs_st", it[H_LWP].ns, it[H_ST].ns);
}

enum { CS_CODA_IO, CS_CODA, CS_PLAIN_IO, CS_PLAIN, CS_COUNT };

static void cswitches(void)
{
    long n = count(1000000);
    struct bench_item it[CS_COUNT] = {
        [CS_CODA_IO] = {cswitch_coda_iomgr, n, 0},
        [CS_CODA] = {cswitch_coda_bare, n, 0},
        [CS_PLAIN_IO] = {cswitch_plain_iomgr, n, 0},
        [CS_PLAIN] = {cswitch_plain_bare, n, 0},
    };

    bench_group(it, CS_COUNT, opt_runs);
    bench_print("cswitch_iomgr_ns", it[CS_CODA_IO].ns, "ns");
    bench_print("cswitch_no_iomgr_ns", it[CS_CODA].ns, "ns");
    bench_print("cswitch_iomgr_ms_per_million", it[CS_CODA_IO].ns, "ms");
    bench_ratio("cswitch_iomgr_vs_no_iomgr", it[CS_CODA_IO].ns,
                it[CS_CODA].ns);
    bench_print("cswitch_plain_iomgr_ns", it[CS_PLAIN_IO].ns, "ns");
    bench_print("cswitch_plain_no_iomgr_ns", it[CS_PLAIN].ns, "ns");
    bench_ratio("cswitch_plain_iomgr_vs_no_iomgr", it[CS_PLAIN_IO].ns,
                it[CS_PLAIN].ns);
}

enum { C_OFF, C_ON, C_ST, B_OFF, B_ON, B_COLD, B_ST, C_COUNT };

static void creates(void)
{
    long n = count(100000), b = count(10000);
    struct bench_item it[C_COUNT] = {
        [C_OFF] = {create_run_nouse, n, 0},
        [C_ON] = {create_run_use, n, 0},
        [C_ST] = {bench_st_create, n, 0},
        [B_OFF] = {burst_warm_nouse, b, 0},
        [B_ON] = {burst_warm_use, b, 0},
        [B_COLD] = {burst_cold_nouse, b, 0},
        [B_ST] = {bench_st_burst, b, 0},
    };

    bench_group(it, C_COUNT, opt_runs);
    bench_print("lwp_create_ns", it[C_OFF].ns, "ns");
    bench_print("lwp_create_stackuse_ns", it[C_ON].ns, "ns");
    bench_print("st_create_join_ns", it[C_ST].ns, "ns");
    bench_print("lwp_create_burst_ns", it[B_OFF].ns, "ns");
    bench_print("lwp_create_burst_stackuse_ns", it[B_ON].ns, "ns");
    bench_print("lwp_create_burst_cold_ns", it[B_COLD].ns, "ns");
    bench_print("st_create_burst_ns", it[B_ST].ns, "ns");
    bench_ratio("lwp_create_vs_st", it[C_OFF].ns, it[C_ST].ns);
    bench_ratio("lwp_create_stackuse_vs_st", it[C_ON].ns, it[C_ST].ns);
    bench_ratio("lwp_create_burst_vs_st", it[B_OFF].ns, it[B_ST].ns);
}

/* Runs of the two cases alternate (see bench_group), so each 100,000-LWP
 * session is set up afresh; that costs about a second a run. */
static double blocked_none(long n)
{
    blocked_others = 0;
    return blocked_run(n);
}

static double blocked_many(long n)
{
    blocked_others = count(100000);
    return blocked_run(n);
}

static void blocked(void)
{
    long n = count(200000);
    struct bench_item it[2] = {{blocked_none, n, 0}, {blocked_many, n, 0}};

    bench_group(it, 2, opt_runs);
    bench_print("lwp_signal_0_blocked_ns", it[0].ns, "ns");
    bench_print("lwp_signal_100k_blocked_ns", it[1].ns, "ns");
    bench_ratio("lwp_signal_100k_vs_0_blocked", it[1].ns, it[0].ns);
}

static void memory(void)
{
    long n = count(1000000);
    int runs = opt_runs < 3 ? opt_runs : 3;
    struct idle_result on = idle_run(n, 1, runs);
    struct idle_result off = idle_run(n, 0, runs);

    bench_print("lwp_idle_stack_used_bytes", on.stack_used, "bytes");
    idle_report("nouse", off, n, on.stack_used);
    idle_report("stackuse", on, n, on.stack_used);
}

static void print_header(void)
{
    char load[64];

    bench_loadavg(load, sizeof(load));
    printf("# bench_lwp: median of %d runs%s; loadavg %s\n", opt_runs,
           opt_div > 1 ? ", --quick (counts / 10)" : "", load);
}

int main(int argc, char **argv)
{
    double t0 = bench_now_ns();

    bench_parse_args(argc, argv, &opt_runs, &opt_div);
    print_header();
    yields();
    handoffs();
    cswitches();
    creates();
    blocked();
    memory();
    bench_ctx(opt_runs, opt_div);
    bench_preempt(opt_runs < 5 ? opt_runs : 5, opt_div);
    bench_print("bench_total_s", (bench_now_ns() - t0) / 1e9, "s");
    return 0;
}
