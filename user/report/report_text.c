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

/* Block b is one of site's: its stack and its leak class. */
static int of_site(const struct ms_block *b, const struct ms_leak_site *site)
{
	return b->used && b->pid == site->pid && b->stack_id == site->stack_id &&
	       MS_BLOCK_REACH(b) == site->reach;
}

/* Blocks a heap walk found have no stack: say where the first few are,
 * which a debugger can then look at. */
static void heap_blocks(FILE *f, const struct ms_block *b, size_t nb, const struct ms_leak_site *site)
{
	size_t k, shown = 0;

	fprintf(f, "        (found by walking the heap: no stack)");
	for (k = 0; k < nb && shown < 5; k++) {
		if (!of_site(&b[k], site))
			continue;
		fprintf(f, "%s0x%" PRIx64 " (%" PRIu64 " B)", shown++ ? ", " : " ", b[k].addr, b[k].size);
	}
	fprintf(f, "%s\n", shown < site->count ? ", ..." : "");
}

static void frames(FILE *f, const struct ms_report_ctx *c, uint32_t pid, int32_t id, uint64_t caller)
{
	struct ms_frame fr[6];
	const struct ms_stack *st = ms_registry_stack(c->reg, pid, id);
	int n = ms_report_stack(c, pid, id, caller, fr, 6), i;

	for (i = 0; i < n; i++) {
		const char *mod = fr[i].module ? strrchr(fr[i].module, '/') : NULL;

		/* a frame with no name still says where it is */
		if (fr[i].function)
			fprintf(f, "        %s", fr[i].function);
		else if (fr[i].module)
			fprintf(f, "        %s+0x%" PRIx64, mod ? mod + 1 : fr[i].module, fr[i].offset);
		else
			fprintf(f, "        0x%" PRIx64, fr[i].ip);
		if (fr[i].file)
			fprintf(f, " (%s:%d)", fr[i].file, fr[i].line);
		else if (fr[i].function && fr[i].module)
			fprintf(f, " [%s+0x%" PRIx64 "]", fr[i].module, fr[i].offset);
		fputs(fr[i].inlined ? " [inlined]\n" : "\n", f);
	}
	if (!n)
		fprintf(f, "        (no stack: use --stack-depth)\n");
	else if (ms_stack_truncated(st) && (uint32_t)n >= st->n)
		fprintf(f, "        ... the walk stopped here: %s\n", ms_unw_end_name(st->end));
}

/* memcheck's LEAK SUMMARY, and the hold it took; or why there is none. */
static void leak_summary(FILE *f, const struct ms_report_ctx *c)
{
	static const struct { int cls; const char *label; } rows[] = {
		{ MS_REACH_DEFINITE, "definitely lost" }, { MS_REACH_INDIRECT, "indirectly lost" },
		{ MS_REACH_POSSIBLE, "  possibly lost" }, { MS_REACH_REACHABLE, "still reachable" },
		{ MS_REACH_UNREADABLE, "     unreadable" },
	};
	const struct ms_leak_check *lc = ms_registry_leak_check(c->reg);
	uint64_t blocks[MS_REACH_MAX], bytes[MS_REACH_MAX];
	char b1[32], b2[32];
	size_t i;

	if (lc->status == MS_LC_OFF)
		return;
	if (!lc->classified) {
		fprintf(f, "\nleak check: not done: %s\n", nz(lc->note[0] ? lc->note : NULL));
		return;
	}
	ms_report_reach_totals(c, blocks, bytes);
	fprintf(f, "\nleak check at %s (target held %.1f ms, %s read, %" PRIu64 " threads):\n", lc->when,
		lc->hold_ns / 1e6, human(lc->read_bytes, b1, sizeof(b1)), lc->threads);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].cls == MS_REACH_UNREADABLE && !blocks[rows[i].cls])
			continue;
		fprintf(f, "    %s: %s in %" PRIu64 " blocks\n", rows[i].label,
			human(bytes[rows[i].cls], b2, sizeof(b2)), blocks[rows[i].cls]);
	}
	if (lc->note[0])
		fprintf(f, "    (%s)\n", lc->note);
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

	leak_summary(f, c);
	sites = ms_report_leak_sites(c, &nsites);
	if (nsites)
		fprintf(f, "\n%s sites (top %d):\n", c->target_exited ? "leak" : "live", TOP);
	for (i = 0; i < nsites && i < TOP; i++) {
		const char *names = NULL, *cls = ms_reach_name(sites[i].reach);
		char what[40] = "";

		for (k = 0; k < nb && !names; k++) {
			const struct ms_var *bv;

			if (!of_site(&blocks[k], &sites[i]))
				continue;
			bv = ms_registry_block_var(c->reg, &blocks[k]);
			if (bv)
				names = ms_registry_str(c->reg, bv->name);
		}
		if (cls) { /* "definitely_lost" -> "definitely lost" */
			snprintf(what, sizeof(what), " %s", cls);
			for (k = 0; what[k]; k++)
				what[k] = what[k] == '_' ? ' ' : what[k];
		}
		fprintf(f, "  %s in %" PRIu64 " blocks%s%s%s%s\n", human(sites[i].bytes, b1, sizeof(b1)),
			sites[i].count, cls ? " are" : "", what, names ? ", variable " : "",
			names ? names : "");
		if (sites[i].example && sites[i].example->kind == MS_K_HEAP)
			heap_blocks(f, blocks, nb, &sites[i]);
		else
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
