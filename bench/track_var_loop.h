/* SPDX-License-Identifier: BSD-3-Clause */
/* track_var_loop.h - the loops of bench A's target, shared by its two
 * translation units: track_var_loop.c (include/memscope.h as it is: the
 * 5-byte probe site) and track_var_nop1.c (the same loops built with
 * MEMSCOPE_NOP1: sys/sdt.h's 1-byte nop, as every older header made it).
 * Each unit has a TRACK_VAR loop on memscope:var and a twin loop on
 * memscope_bench:var, TRACK_VAR's exact expansion under another provider,
 * so that memscope-trace on memscope:var and an empty BPF program (the
 * floor) on memscope_bench:var can be attached at once and measured in
 * turns, on both site forms. */
#ifndef MS_BENCH_TRACK_VAR_LOOP_H
#define MS_BENCH_TRACK_VAR_LOOP_H

#include <stdint.h>
#include <time.h>
#include "memscope.h"

/* the twin sites' semaphore (both units' memscope_bench:var sites) */
extern volatile unsigned short memscope_bench_var_semaphore;

#define TWIN_VAR(v)                                                           \
	do {                                                                   \
		if (__builtin_expect(memscope_bench_var_semaphore != 0, 0))    \
			MEMSCOPE__PROBE8(memscope_bench, var, "8", #v,         \
					 "8", (uintptr_t)&(v),                 \
					 "8", (uint64_t)sizeof(v),             \
					 "8", memscope__value(&(v), sizeof(v)),\
					 "8", (uintptr_t)(MEMSCOPE__TYPE_OF(v)), \
					 "8", __FILE__, "-4", __LINE__,        \
					 "8", memscope__clock());              \
	} while (0)

static inline double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* one loop body for every probe, so the sites are alike: x is stored and
 * its address escapes, with the probe between */
#define PROBE_LOOP(fn, PROBE)                                                 \
	__attribute__((noinline)) double fn(long n)                            \
	{                                                                      \
		long x = 0, i;                                                 \
		double t0 = now_ns();                                          \
                                                                               \
		for (i = 0; i < n; i++) {                                      \
			x = i;                                                 \
			PROBE(x);                                              \
			__asm__ volatile("" : : "r"(&x) : "memory");           \
		}                                                              \
		return (now_ns() - t0) / n;                                    \
	}

/* track_var_loop.c: 5-byte sites */
double loop_track(long n);
double loop_twin(long n);
/* track_var_nop1.c: 1-byte sites */
double loop_track1(long n);
double loop_twin1(long n);

#endif
