/* SPDX-License-Identifier: BSD-3-Clause */
/* pprof.h - the heap profile in Google's pprof format (profile.proto,
 * gzip-compressed), as `go tool pprof`, Pyroscope, Parca and the
 * OpenTelemetry profiling signal read it. */
#ifndef MS_REPORT_PPROF_H
#define MS_REPORT_PPROF_H

#include <stdio.h>
#include "report/report.h"

/* Write the profile to f (not closed). Four sample types, as Go's heap
 * profiles have them: alloc_objects/count, alloc_space/bytes,
 * inuse_objects/count, inuse_space/bytes (the default); period_type
 * space/bytes with the sampling interval as period (1 when every
 * allocation is traced). One sample per group of live blocks sharing a
 * stack, thread, task, scope and variable name (labelled so), plus one per
 * stack for what was allocated there and freed since (labelled with the
 * pid only: frees are counted per stack, not per thread). Summed over the
 * samples, each type equals the JSON report's total (allocs, alloc_bytes,
 * live_allocs, live_bytes); in sampled mode each block counts with its
 * weight, the Horvitz-Thompson estimate the JSON report's `sampled` totals
 * sum, rounded to integers per sample.
 * Locations carry their mapping (file, build id, load range and offset);
 * resolved frames carry functions with file and line. Frames that share
 * an address in the list ms_report_stack() returns are one location with
 * several lines (inline frames, innermost first).
 * Returns 0, -ENOMEM, or -EIO if f reported a write error. Cost:
 * O(blocks log blocks + sites × depth) and a copy of the encoded profile. */
int ms_report_pprof(FILE *f, const struct ms_report_ctx *c);

#endif
