/* SPDX-License-Identifier: MIT */
/*
 * The implementations bench_lwp compares the library with. Each function is
 * one run over n operations (n per thread for ping-pongs) and returns ns
 * per operation, or BENCH_SKIPPED when that peer is not available.
 */
#ifndef LWP_BENCH_PEERS_H
#define LWP_BENCH_PEERS_H

/* bench_minsched.c: a bare switch and a minimal scheduler over it. */
double bench_bare_switch(long n);
double bench_minsched_yield(long n);
double bench_minsched_handoff(long n);

/* bench_peers.c: glibc ucontext, State Threads, GNU Pth. */
double bench_swapcontext(long n);
double bench_st_yield(long n);
double bench_st_handoff(long n);
double bench_st_create(long n);
double bench_st_burst(long n);
double bench_pth_yield(long n);

#endif /* LWP_BENCH_PEERS_H */
