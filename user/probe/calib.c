/* SPDX-License-Identifier: BSD-3-Clause */
/* calib.c - three tiny functions whose first instruction is known, and a
 * timer for them. The loader puts the empty calibration program on them:
 * the time per call less the untraced time is what one probe hit costs
 * the traced program on this machine, today (it moves by several times
 * between hosts and days, FACTS). Written in assembly so that no compiler
 * setting changes the first instruction. */
#include <stdint.h>
#include <time.h>
#include "probe/calib.h"

__asm__(".text\n"
	".globl ms_calib_push\n.type ms_calib_push,@function\n"
	"ms_calib_push:\n\tpush %rbp\n\tpop %rbp\n\tret\n"
	".size ms_calib_push, .-ms_calib_push\n"
	".globl ms_calib_xol\n.type ms_calib_xol,@function\n"
	"ms_calib_xol:\n\tmov %rdi,%rax\n\tret\n"
	".size ms_calib_xol, .-ms_calib_xol\n"
	".globl ms_calib_ret\n.type ms_calib_ret,@function\n"
	"ms_calib_ret:\n\tpush %rbp\n\tpop %rbp\n\tret\n"
	".size ms_calib_ret, .-ms_calib_ret\n");

void ms_calib_push(void);
void ms_calib_xol(void);
void ms_calib_ret(void);

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

double ms_calib_ns_per_call(int which, unsigned n, unsigned reps)
{
	void (*volatile fn)(void) = which == MS_CALIB_FN_PUSH ? ms_calib_push :
				    which == MS_CALIB_FN_XOL ? ms_calib_xol : ms_calib_ret;
	double best = -1;
	unsigned r, i;

	for (r = 0; r < reps; r++) {
		double t0 = now_ns(), dt;

		for (i = 0; i < n; i++)
			fn();
		dt = (now_ns() - t0) / (n ? n : 1);
		if (best < 0 || dt < best)
			best = dt;
	}
	return best;
}
