/* SPDX-License-Identifier: MIT */
#ifndef BENCH_LWP_CTX_H
#define BENCH_LWP_CTX_H

/* Prints yield ping-pong with special contexts next to the plain one. */
void bench_ctx(int runs, long div);

#endif
