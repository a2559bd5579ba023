/* SPDX-License-Identifier: BSD-3-Clause */
/* report_text.c - the readable summary printed when no -o is given. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "report/report.h"

#define TOP 10

static const char *human(uint64_t b, char *buf, size_t len)
{
	if (b >= 10ull << 30)
		snprintf(buf, len, "%.1f GiB", b / (double)(1ull << 30));
	else if (b >= 10ull << 20)
		snprintf(buf, len, "%.1f MiB", b / (double)(1ull << 20));
	else if (b >= 10ull << 10)
		snprintf(buf, len, "%.1f KiB", b / 1024.0);
	else
		snprintf(buf, len, "%" PRIu64 " B", b);
	return buf;
}

static const char *nz(const char *s)
{
	return s ? s : "?";
}

static void frames(FILE *f, const struct ms_report_ctx *c, uint32_t pid, int32_t id, uint64_t caller)
{
	struct ms_frame fr[6];
	int n = ms_report_stack(c, pid, id, caller, fr, 6), i;

	for (i = 0; i < n; i++) {
		if (fr[i].file)
			fprintf(f, "        %s (%s:%d)\n", nz(fr[i].function), fr[i].file, fr[i].line);
		else
			fprintf(f, "        %s [%s+0x%" PRIx64 "]\n", nz(fr[i].function),
				nz(fr[i].module), fr[i].offset);
	}
	if (!n)
		fprintf(f, "        (no stack: use --stack-depth)\n");
}

static int by_live(const void *a, const void *b)
{
	const struct ms_task *x = *(const struct ms_task *const *)a, *y = *(const struct ms_task *const *)b;

	if (x->alloc_bytes != y->alloc_bytes)
		return x->alloc_bytes < y->alloc_bytes ? 1 : -1;
	return 0;
}

int ms_report_text(FILE *f, const struct ms_report_ctx *c)
{
	const struct ms_summary *s = ms_registry_summary(c->reg);
	size_t nv, ns, nt, nbad, nsites = 0, i, k, nb;
	const struct ms_var *v = ms_registry_vars(c->reg, &nv);
	const struct ms_task *t = ms_registry_tasks(c->reg, &nt);
	const struct ms_bad_free *bad = ms_registry_bad_frees(c->reg, &nbad);
	const struct ms_block *blocks = ms_registry_blocks(c->reg, &nb);
	struct ms_leak_site *sites;
	char b1[32], b2[32], b3[32], tb[256];

	ms_registry_scopes(c->reg, &ns);
	fprintf(f, "memscope-trace: pid %d (%s), mode %s, %.3f s, stopped: %s\n", (int)c->pid,
		nz(c->exe), c->mode, (c->end_ns - c->start_ns) / 1e9, nz(c->stop_reason));
	if (c->target_exited) {
		if (c->exit_status & 0x7f)
			fprintf(f, "target killed by signal %d\n", c->exit_status & 0x7f);
		else
			fprintf(f, "target exited with code %d\n", (c->exit_status >> 8) & 0xff);
	}
	fprintf(f, "\nvariables %zu  scopes %zu  tasks %zu  events %" PRIu64 "  dropped %" PRIu64 "\n",
		nv, ns, nt, s->records, c->stats[MS_STAT_DROPPED]);
	fprintf(f, "allocs %" PRIu64 " (%s)  frees %" PRIu64 "  live %" PRIu64 " (%s)  peak %s\n",
		s->allocs, human(s->alloc_bytes, b1, sizeof(b1)), s->frees, s->live_allocs,
		human(s->live_bytes, b2, sizeof(b2)), human(s->peak_live_bytes, b3, sizeof(b3)));
	if (!strcmp(c->mode, "sampled")) {
		/* the blocks below are samples; these are the estimates */
		fprintf(f, "sampled (estimates, interval %" PRIu64 " B): in use %.1f MiB +- %.1f, "
			"allocated %.1f MiB +- %.1f, from %" PRIu64 " samples; blocks below are the samples\n",
			c->sample_interval, s->est.inuse_space / 1048576.0,
			s->est.inuse_space_var > 0 ? sqrt(s->est.inuse_space_var) / 1048576.0 : 0.0,
			s->est.alloc_space / 1048576.0,
			s->est.alloc_space_var > 0 ? sqrt(s->est.alloc_space_var) / 1048576.0 : 0.0,
			s->est.samples);
	}
	if (s->unknown_frees)
		fprintf(f, "frees of blocks allocated before the attach: %" PRIu64 "\n", s->unknown_frees);
	if (c->cost && c->cost->valid)
		fprintf(f, "cost to the target: ~%.1f%% of its CPU (probe hits x trap cost measured at "
			"attach + BPF run time)\n", c->cost->pct);
	if (c->cost && c->cost->budget_pct > 0)
		fprintf(f, "budget %.1f%%: %s; allocator probes on %.0f%% of the time: allocs and bytes "
			"above count that time only (scaled to the whole run: ~%.0f allocs, %s)\n",
			c->cost->budget_pct, c->cost->level_name, c->cost->coverage * 100,
			c->cost->coverage > 0 ? s->allocs / c->cost->coverage : 0.0,
			human((uint64_t)(c->cost->coverage > 0 ? s->alloc_bytes / c->cost->coverage : 0),
			      b1, sizeof(b1)));
	if (s->coverage_gaps) {
		uint64_t un, ub;

		ms_report_unverified(c, &un, &ub);
		fprintf(f, "allocator probes were off %" PRIu64 " times (cost budget): %" PRIu64
			" live blocks (%s) allocated before a gap are not called leaks\n",
			s->coverage_gaps, un, human(ub, b1, sizeof(b1)));
	}

	sites = ms_report_leak_sites(c, &nsites);
	if (nsites)
		fprintf(f, "\n%s sites (top %d):\n", c->target_exited ? "leak" : "live", TOP);
	for (i = 0; i < nsites && i < TOP; i++) {
		const char *names = NULL;

		for (k = 0; k < nb && !names; k++) {
			const struct ms_var *bv;

			if (!blocks[k].used || blocks[k].pid != sites[i].pid ||
			    blocks[k].stack_id != sites[i].stack_id)
				continue;
			bv = ms_registry_block_var(c->reg, &blocks[k]);
			if (bv)
				names = ms_registry_str(c->reg, bv->name);
		}
		fprintf(f, "  %s in %" PRIu64 " blocks%s%s\n", human(sites[i].bytes, b1, sizeof(b1)),
			sites[i].count, names ? ", variable " : "", names ? names : "");
		frames(f, c, sites[i].pid, sites[i].stack_id, 0);
	}
	free(sites);

	for (i = 0; i < nbad; i++) {
		fprintf(f, "\n%s of 0x%" PRIx64 " in thread %u:\n",
			bad[i].is_double ? "double free" : "invalid free", bad[i].addr, bad[i].tid);
		frames(f, c, bad[i].pid, bad[i].stack_id, bad[i].caller);
	}

	if (nv)
		fprintf(f, "\nvariables (first %d):\n", TOP);
	for (i = 0; i < nv && i < TOP; i++) {
		fprintf(f, "  %-16s %-20s %6" PRIu64 " B  %s:%u  thread %u", nz(ms_registry_str(c->reg, v[i].name)),
			nz(ms_report_type(ms_registry_str(c->reg, v[i].type), v[i].size, tb, sizeof(tb))),
			v[i].size, nz(ms_registry_str(c->reg, v[i].file)), v[i].line, v[i].tid);
		if (v[i].has_heap)
			fprintf(f, "  -> heap %s%s", human(v[i].heap_size, b1, sizeof(b1)),
				v[i].heap_freed_ns ? " (freed)" : "");
		fputc('\n', f);
	}
	if (nt) {
		const struct ms_task **order = malloc(nt * sizeof(*order));

		if (order) {
			for (i = 0; i < nt; i++)
				order[i] = &t[i];
			qsort(order, nt, sizeof(*order), by_live);
			fprintf(f, "\ntop tasks by allocated bytes:\n");
			for (i = 0; i < nt && i < TOP; i++)
				fprintf(f, "  task %-8" PRIu64 " %-20s allocs %-6" PRIu64 " %10s  live %s\n",
					order[i]->id, nz(ms_registry_str(c->reg, order[i]->name)),
					order[i]->allocs, human(order[i]->alloc_bytes, b1, sizeof(b1)),
					human(order[i]->live_bytes, b2, sizeof(b2)));
			free(order);
		}
	}
	return ferror(f) ? -1 : 0;
}
