/* SPDX-License-Identifier: BSD-3-Clause */
/* report_out.h - report writers for other tools and for people: the HTML
 * dashboard, folded stacks for flame graphs, and Chrome trace-event JSON.
 * Like the JSON and text writers they read the registry through struct
 * ms_report_ctx (report.h) and only write to f; none of them closes f.
 * Each returns 0, or -1 if f reported a write error. */
#ifndef MS_REPORT_REPORT_OUT_H
#define MS_REPORT_REPORT_OUT_H

#include <stdio.h>
#include "report/report.h"

/* One self-contained HTML page (inline CSS, JS and SVG; no network): the
 * report data is embedded as JSON and the page builds the DOM with
 * textContent, so target-supplied names are never parsed as HTML. Per-item
 * lists are capped (largest first) so that the page stays small and fast
 * with any number of live blocks; the totals are always exact. Cost:
 * O(blocks log blocks + sites + scopes + variables), plus symbolizing the
 * stacks of the sites shown. */
int ms_report_html(FILE *f, const struct ms_report_ctx *c);

/* Folded stacks, one line per allocation site: "outer;...;inner BYTES",
 * outermost caller first, as flamegraph.pl and speedscope read them.
 * live != 0: bytes still live; live == 0: all bytes allocated there. Sites
 * with 0 bytes are left out. Live bytes the leak check classified come one
 * line per site and class, the class as root frame
 * ("definitely_lost;main;... BYTES"). Frames are function names, or module+0xoffset
 * when unresolved; ';' and control characters in names are replaced. */
int ms_report_folded(FILE *f, const struct ms_report_ctx *c, int live);

/* Chrome trace-event JSON ({"traceEvents":[...]}) for Perfetto and
 * chrome://tracing: scopes as complete slices on their threads, tasks as
 * async slices, live heap bytes as a counter, bad frees as instant events,
 * process and thread names as metadata. Times are µs since the tracer
 * started. Streams: constant memory beyond the registry. */
int ms_report_timeline(FILE *f, const struct ms_report_ctx *c);

#endif
