/* SPDX-License-Identifier: BSD-3-Clause */
/* report_live.h - views printed while tracing. */
#ifndef MS_REPORT_REPORT_LIVE_H
#define MS_REPORT_REPORT_LIVE_H

#include <stdio.h>
#include "report/report.h"

/* A top-like summary: live bytes, allocation rate since prev_allocs over
 * secs, top sites, recent tasks, drops. */
int ms_report_live(FILE *f, const struct ms_report_ctx *c, uint64_t prev_allocs, double secs);
/* One status line, rewritten in place (for a terminal). */
void ms_report_status(FILE *f, const struct ms_report_ctx *c);

#endif
