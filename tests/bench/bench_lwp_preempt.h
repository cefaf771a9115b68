/* SPDX-License-Identifier: MIT */
#ifndef BENCH_LWP_PREEMPT_H
#define BENCH_LWP_PREEMPT_H

/* Prints CPU-bound throughput with and without 1 ms preemption. */
void bench_preempt(int runs, long div);

#endif
