/* SPDX-License-Identifier: BSD-3-Clause */
/* metrics_serve.h - --metrics during one trace run: the endpoint
 * (metrics_http.h), the rendering (report/metrics.h) and the figures from
 * outside the registry (BPF program statistics, the trap cost, the
 * tracer's own RSS and CPU), put together for the poll loop. */
#ifndef MS_TRACE_METRICS_SERVE_H
#define MS_TRACE_METRICS_SERVE_H

#include "report/report.h"

struct ms_loader;
struct ms_metrics_serve;

/* Bind addr_port and measure the trap cost, before anything is attached.
 * NULL after printing one line naming the problem. */
struct ms_metrics_serve *ms_metrics_serve_open(const char *addr_port, unsigned top);
/* Start serving, with the loader's BPF statistics turned on. 0 or -errno
 * (message printed). */
int ms_metrics_serve_start(struct ms_metrics_serve *m, struct ms_loader *l);
/* 1 if a scrape waits: the poll loop should build a context and call
 * ms_metrics_serve_render(). */
int ms_metrics_serve_wanted(const struct ms_metrics_serve *m);
/* Render now and hand the text to the waiting scrapes (never blocks). */
void ms_metrics_serve_render(struct ms_metrics_serve *m, const struct ms_report_ctx *c);
/* Stop serving and free. NULL-safe. */
void ms_metrics_serve_close(struct ms_metrics_serve *m);

#endif
