/* SPDX-License-Identifier: BSD-3-Clause */
/* report_live.c - the periodic top-like view (-i SECONDS) and the one-line
 * status shown while tracing when stderr is a terminal. */
#include <inttypes.h>
#include <stdlib.h>
#include "report/report.h"
#include "report/report_live.h"

static const char *human(uint64_t b, char *buf, size_t len)
{
	if (b >= 10ull << 20)
		snprintf(buf, len, "%.1f MiB", b / 1048576.0);
	else if (b >= 10ull << 10)
		snprintf(buf, len, "%.1f KiB", b / 1024.0);
	else
		snprintf(buf, len, "%" PRIu64 " B", b);
	return buf;
}

/* What one hit of probe p costs the target (its trap). */
static double trap_ns(const struct ms_report_cost *k, const struct ms_report_probe *p)
{
	return p->ret ? k->trap_ret_ns : p->emulated ? k->trap_emulated_ns : k->trap_xol_ns;
}

/* The probes' cost to the target now, the budget level, and the five
 * probes that cost the most now (rate x trap cost). */
static void cost_lines(FILE *f, const struct ms_report_ctx *c)
{
	const struct ms_report_cost *k = c->cost;
	size_t i, shown, *order;

	if (!k || !k->valid)
		return;
	fprintf(f, "  cost to the target: %.1f%% of its CPU now (%.2f ms/s), %.1f%% over the run",
		k->now_pct, k->now_ns_per_s / 1e6, k->pct);
	if (k->budget_pct > 0)
		fprintf(f, "; budget %.1f%%: %s, allocator probes on %.0f%% of the time",
			k->budget_pct, k->level_name, k->coverage * 100);
	fputc('\n', f);
	order = malloc((k->nprobes ? k->nprobes : 1) * sizeof(*order));
	if (!order)
		return;
	for (i = 0; i < k->nprobes; i++)
		order[i] = i;
	for (shown = 0; shown < 5 && shown < k->nprobes; shown++) {
		const struct ms_report_probe *p;
		size_t best = shown, q;

		for (q = shown + 1; q < k->nprobes; q++)
			if (k->probes[order[q]].rate * trap_ns(k, &k->probes[order[q]]) >
			    k->probes[order[best]].rate * trap_ns(k, &k->probes[order[best]]))
				best = q;
		q = order[shown];
		order[shown] = order[best];
		order[best] = q;
		p = &k->probes[order[shown]];
		if (p->rate <= 0)
			break;
		fprintf(f, "  probe %-24s %9.0f hits/s  %6.2f ms/s  %s\n", p->func, p->rate,
			p->rate * trap_ns(k, p) / 1e6,
			p->ret ? "return" : p->emulated ? "emulated" : "SINGLE-STEPPED");
	}
	free(order);
}

int ms_report_live(FILE *f, const struct ms_report_ctx *c, uint64_t prev_allocs, double secs)
{
	const struct ms_summary *s = ms_registry_summary(c->reg);
	size_t nsites = 0, i, nv, nt;
	struct ms_leak_site *sites = ms_report_leak_sites(c, &nsites);
	const struct ms_task *t = ms_registry_tasks(c->reg, &nt);
	char b1[32], b2[32];

	ms_registry_vars(c->reg, &nv);
	fprintf(f, "\n[memscope %.1fs] live %s in %" PRIu64 " blocks, peak %s, %.0f allocs/s, "
		"variables %zu, tasks %zu, dropped %" PRIu64 "\n",
		(c->end_ns - c->start_ns) / 1e9, human(s->live_bytes, b1, sizeof(b1)), s->live_allocs,
		human(s->peak_live_bytes, b2, sizeof(b2)),
		secs > 0 ? (double)(s->allocs - prev_allocs) / secs : 0.0, nv, nt, c->stats[MS_STAT_DROPPED]);
	for (i = 0; i < nsites && i < 5; i++) {
		struct ms_frame fr[1];
		int n = ms_report_stack(c, sites[i].pid, sites[i].stack_id, 0, fr, 1);

		fprintf(f, "  %10s %6" PRIu64 " blocks  %s\n", human(sites[i].bytes, b1, sizeof(b1)),
			sites[i].count, n && fr[0].function ? fr[0].function : "?");
	}
	cost_lines(f, c);
	for (i = 0; i < nt && i < 5; i++) {
		/* the most recently active tasks */
		const struct ms_task *k = &t[nt - 1 - i];

		fprintf(f, "  task %-8" PRIu64 " %-16s live %s\n", k->id,
			ms_registry_str(c->reg, k->name) ? ms_registry_str(c->reg, k->name) : "",
			human(k->live_bytes, b1, sizeof(b1)));
	}
	free(sites);
	return fflush(f);
}

void ms_report_status(FILE *f, const struct ms_report_ctx *c)
{
	const struct ms_summary *s = ms_registry_summary(c->reg);
	char b1[32];

	fprintf(f, "\r\033[K[memscope] %.1fs  events %" PRIu64 "  live %s  dropped %" PRIu64,
		(c->end_ns - c->start_ns) / 1e9, s->records, human(s->live_bytes, b1, sizeof(b1)),
		c->stats[MS_STAT_DROPPED]);
	fflush(f);
}
