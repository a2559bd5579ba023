/* SPDX-License-Identifier: BSD-3-Clause */
/* metrics.h - the registry as Prometheus metrics (text exposition format
 * 0.0.4), rendered on demand while tracing. Like every report writer it
 * reads the registry through struct ms_report_ctx and writes to a FILE;
 * serving the text over HTTP is the trace stage's job (trace/metrics_http.h).
 *
 * Names and units follow Prometheus conventions: base units (bytes,
 * seconds), counters end in _total, the tracer's own figures use the
 * standard process_* names. Families labelled by site, task or variable
 * name are bounded: at most `top` label values each, plus one series
 * labelled "other" for the rest. A value keeps its series once it has one,
 * until an outsider grows past twice the smallest member, so that counters
 * rarely move between series (Prometheus would read a fall of the "other"
 * counter as a reset). */
#ifndef MS_REPORT_METRICS_H
#define MS_REPORT_METRICS_H

#include <stdint.h>
#include <stdio.h>
#include "report/report.h"

/* What a BPF program cost so far: its runs (probe hits) and the time the
 * kernel measured inside it. */
struct ms_metrics_probe {
	const char *name;
	uint64_t hits;
	uint64_t run_ns;
	int traps; /* each hit traps the target (a uprobe); 0: a tracepoint
		    * program, which runs for every process and costs the
		    * target nothing to speak of */
};

/* Figures from outside the registry, gathered by the trace stage. */
struct ms_metrics_extra {
	uint64_t rss_bytes;    /* the tracer's resident memory */
	double cpu_seconds;    /* the tracer's CPU time, user + system */
	const struct ms_metrics_probe *probes;
	size_t nprobes;        /* 0: BPF statistics are not available */
	/* What one probe hit costs the target besides the BPF program's own
	 * run time (the trap into the kernel and back), in ns; 0 = unknown. */
	double trap_ns;
};

struct ms_metrics;

/* State kept between renderings (which label values own a series).
 * top: label values per family besides "other" (>= 1). NULL on ENOMEM. */
struct ms_metrics *ms_metrics_new(unsigned top);
void ms_metrics_free(struct ms_metrics *m); /* NULL-safe */

/* Write every family to f. Cost: O(live blocks + sites + tasks +
 * variables), plus symbolizing each site's innermost frame (cached by the
 * resolver). 0, or -1 if f reported a write error. */
int ms_metrics_render(struct ms_metrics *m, FILE *f, const struct ms_report_ctx *c,
		      const struct ms_metrics_extra *x);

#endif
