/* SPDX-License-Identifier: BSD-3-Clause */
/* calib.h - functions of known first instruction for measuring what a
 * probe hit costs on this machine (ms_loader_calibrate in loader.c). */
#ifndef MS_PROBE_CALIB_H
#define MS_PROBE_CALIB_H

/* Their symbol names in this executable (attached by file offset). */
#define MS_CALIB_PUSH "ms_calib_push"   /* starts with push %rbp: emulated */
#define MS_CALIB_XOL "ms_calib_xol"     /* starts with mov %rdi,%rax: single-stepped */
#define MS_CALIB_RET "ms_calib_ret"     /* push %rbp, for an entry + return probe */

enum { MS_CALIB_FN_PUSH = 0, MS_CALIB_FN_XOL, MS_CALIB_FN_RET, MS_CALIB_NFN };

/* Nanoseconds per call of calibration function `which`: the lowest of
 * `reps` timed runs of `n` calls (the lowest is the one least disturbed by
 * other work on the machine). */
double ms_calib_ns_per_call(int which, unsigned n, unsigned reps);

#endif
