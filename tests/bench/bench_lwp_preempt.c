/* SPDX-License-Identifier: MIT */
/*
 * What preemption costs CPU-bound work: two preemptible LWPs of one
 * priority compute for a fixed number of iterations, with no preemption
 * and with a 1 ms slice, in one bench_group so both share the machine's
 * state. The figure is ns per iteration; the ratio is the throughput with
 * preemption as a fraction of the throughput without (target >= 0.97).
 * The tick is on the thread's CPU clock, which the kernel advances at its
 * own tick: a 1 ms slice switches every 1-4 ms depending on CONFIG_HZ; the
 * switches per second measured are printed too.
 */
#include <stdio.h>

#include <lwp/lwp.h>
#include <lwp/preempt.h>

#include "bench_lwp_preempt.h"
#include "bench_util.h"

#define WORKERS 2

static long per_worker;
static int left;
static char done_ev;
static volatile double sink;
static double switches_per_s;

static void worker(void *arg)
{
    double a = 1.0 + (double)(intptr_t)arg;

    PRE_PreemptMe();
    for (long i = 0; i < per_worker; i++)
        a = a * 1.0000001 + 1e-9;
    sink = a;
    if (--left == 0)
        LWP_NoYieldSignal(&done_ev);
}

static double work_run(long n, int preempt)
{
    struct timeval slice = {0, 1000};
    double t0, ns;
    unsigned long before;
    int rc = LWP_Init(LWP_VERSION, LWP_MAX_PRIORITY, NULL);

    if (rc != LWP_SUCCESS)
        bench_fail("LWP_Init", rc);
    if (preempt && (rc = PRE_InitPreempt(&slice)) != LWP_SUCCESS)
        bench_fail("PRE_InitPreempt", rc);
    per_worker = n / WORKERS;
    left = WORKERS;
    before = PRE_Preemptions();
    for (intptr_t i = 0; i < WORKERS; i++)
        if ((rc = LWP_CreateProcess(worker, 0, LWP_NORMAL_PRIORITY, (void *)i,
                                    "work", NULL)) != LWP_SUCCESS)
            bench_fail("LWP_CreateProcess", rc);
    t0 = bench_now_ns();
    LWP_WaitProcess(&done_ev);
    ns = bench_now_ns() - t0;
    if (preempt)
        switches_per_s = (double)(PRE_Preemptions() - before) / (ns * 1e-9);
    LWP_TerminateProcessSupport();
    return ns / (double)(per_worker * WORKERS);
}

static double work_plain(long n)
{
    return work_run(n, 0);
}

static double work_preempted(long n)
{
    return work_run(n, 1);
}

void bench_preempt(int runs, long div)
{
    long n = 400000000L / div;
    struct bench_item it[2] = {{work_plain, n, 0}, {work_preempted, n, 0}};

    bench_group(it, 2, runs);
    bench_print("cpu_work_no_preempt_ns", it[0].ns, "ns");
    bench_print("cpu_work_preempt_1ms_ns", it[1].ns, "ns");
    bench_print("preempt_1ms_switches_per_s", switches_per_s, "per_s");
    bench_ratio("preempt_1ms_throughput_vs_none", it[0].ns, it[1].ns);
}
