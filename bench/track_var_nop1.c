/* SPDX-License-Identifier: BSD-3-Clause */
/* track_var_nop1.c - bench A's loops with the 1-byte probe form: what a
 * program built with an older include/memscope.h has (see
 * track_var_loop.h). */
#define MEMSCOPE_NOP1 1
#include "track_var_loop.h"

PROBE_LOOP(loop_track1, TRACK_VAR)
PROBE_LOOP(loop_twin1, TWIN_VAR)
