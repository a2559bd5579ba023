/* SPDX-License-Identifier: BSD-3-Clause */
/* metrics.c - Prometheus text exposition of the registry (metrics.h). */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "report/metrics.h"
#include "util/json.h"
#include "util/vec.h"

/* The label-bounded families, in output order. */
enum {
	F_SITE_LIVE, F_SITE_ALLOC_BYTES, F_SITE_ALLOCS,
	F_TASK_LIVE, F_TASK_ALLOC_BYTES,
	F_VAR_LIVE, F_VAR_HEAP_BYTES,
	F_MAX
};

static const struct {
	const char *name, *type, *label, *help;
	int not_sampled; /* sampled mode has no unbiased figure for it */
} fams[F_MAX] = {
	[F_SITE_LIVE] = { "memscope_site_live_bytes", "gauge", "site",
			  "Heap bytes live, by allocation site (innermost frame; estimates in sampled mode).", 0 },
	[F_SITE_ALLOC_BYTES] = { "memscope_site_allocated_bytes_total", "counter", "site",
				 "Heap bytes allocated, by allocation site (estimates in sampled mode).", 0 },
	[F_SITE_ALLOCS] = { "memscope_site_allocations_total", "counter", "site",
			    "Allocations, by allocation site (estimates in sampled mode).", 0 },
	[F_TASK_LIVE] = { "memscope_task_live_bytes", "gauge", "task",
			  "Heap bytes live, by the name of the task that allocated them.", 0 },
	[F_TASK_ALLOC_BYTES] = { "memscope_task_allocated_bytes_total", "counter", "task",
				 "Heap bytes allocated, by task name (tasks folded past --keep included).", 1 },
	[F_VAR_LIVE] = { "memscope_variable_live_bytes", "gauge", "variable",
			 "Heap bytes live in blocks a TRACK_VAR variable points to, by variable name.", 0 },
	[F_VAR_HEAP_BYTES] = { "memscope_variable_heap_bytes_total", "counter", "variable",
			       "Sizes of the heap blocks TRACK_VAR variables pointed to when tracked, by name.", 1 },
};

/* The label values owning a series in one family. */
struct members {
	char **v;
	size_t n;
};

struct ms_metrics {
	unsigned top;
	struct members fam[F_MAX];
};

/* Values summed per label text for one family, for one rendering. */
struct tally {
	struct ms_strtab text;
	struct ms_hashmap idx; /* text offset -> index */
	struct { uint32_t off; double v; } *e;
	size_t n, cap;
	double total;
};

struct ms_metrics *ms_metrics_new(unsigned top)
{
	struct ms_metrics *m = calloc(1, sizeof(*m));

	if (m)
		m->top = top ? top : 1;
	return m;
}

void ms_metrics_free(struct ms_metrics *m)
{
	int f;

	if (!m)
		return;
	for (f = 0; f < F_MAX; f++) {
		while (m->fam[f].n)
			free(m->fam[f].v[--m->fam[f].n]);
		free(m->fam[f].v);
	}
	free(m);
}

static void tally_add(struct tally *t, const char *label, double v)
{
	char buf[512];
	uint32_t off;

	label = ms_utf8_clean(label, buf, sizeof(buf));
	off = ms_str_intern(&t->text, label, strlen(label));
	uint64_t *i = off ? ms_hm_get(&t->idx, off, 0) : NULL;

	t->total += v;
	if (i) {
		t->e[*i].v += v;
		return;
	}
	if (!off)
		return; /* out of memory: the value still counts in "other" */
	if (ms_vec_reserve((void **)&t->e, &t->cap, sizeof(*t->e), t->n + 1) ||
	    ms_hm_put(&t->idx, off, 0, t->n))
		return;
	t->e[t->n].off = off;
	t->e[t->n].v = v;
	t->n++;
}

static void tally_free(struct tally *t)
{
	ms_strtab_free(&t->text);
	ms_hm_free(&t->idx);
	free(t->e);
}

static double tally_get(const struct tally *t, const char *label)
{
	uint32_t off = ms_str_find(&t->text, label, strlen(label));
	uint64_t *i = off ? ms_hm_get(&t->idx, off, 0) : NULL;

	return i ? t->e[*i].v : 0;
}

static int by_value(const void *a, const void *b, void *arg)
{
	const struct tally *t = arg;
	double x = t->e[*(const size_t *)a].v, y = t->e[*(const size_t *)b].v;

	return x < y ? 1 : x > y ? -1 : 0;
}

static int is_member(const struct members *mb, const char *s, size_t *at)
{
	size_t i;

	for (i = 0; i < mb->n; i++)
		if (!strcmp(mb->v[i], s)) {
			if (at)
				*at = i;
			return 1;
		}
	return 0;
}

/* Fill free places with the largest outsiders; an outsider worth more
 * than twice the smallest member takes that member's place. */
static void choose(struct members *mb, unsigned top, const struct tally *t)
{
	size_t *order = malloc((t->n ? t->n : 1) * sizeof(*order)), i, k, low;
	char **nv;

	if (!order)
		return;
	for (i = 0; i < t->n; i++)
		order[i] = i;
	qsort_r(order, t->n, sizeof(*order), by_value, (void *)t);
	if (!mb->v && !(mb->v = calloc(top, sizeof(*mb->v))))
		goto out;
	nv = mb->v;
	for (i = 0; i < t->n; i++) {
		const char *s = ms_str_get(&t->text, t->e[order[i]].off);
		double v = t->e[order[i]].v;
		char *copy;

		if (v <= 0 || is_member(mb, s, NULL))
			continue;
		if (mb->n < top) {
			if ((copy = strdup(s)))
				nv[mb->n++] = copy;
			continue;
		}
		for (low = 0, k = 1; k < mb->n; k++)
			if (tally_get(t, nv[k]) < tally_get(t, nv[low]))
				low = k;
		if (v <= 2 * tally_get(t, nv[low]))
			break; /* sorted: no later outsider qualifies either */
		if ((copy = strdup(s))) {
			free(nv[low]);
			nv[low] = copy;
		}
	}
out:
	free(order);
}

/* A label value: backslash, quote and newline escaped as the text format
 * wants, and valid UTF-8 (Prometheus refuses a whole scrape over one label
 * that is not UTF-8). */
static void put_escaped(FILE *f, const char *s)
{
	char buf[4096];

	for (s = ms_utf8_clean(s, buf, sizeof(buf)); *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_value(FILE *f, double v)
{
	if (v == floor(v) && fabs(v) < 9e15)
		fprintf(f, "%.0f\n", v);
	else
		fprintf(f, "%.9g\n", v);
}

static void family(struct ms_metrics *m, FILE *f, int which, const struct tally *t)
{
	struct members *mb = &m->fam[which];
	double rest = t->total;
	size_t i;

	choose(mb, m->top, t);
	header(f, fams[which].name, fams[which].type, fams[which].help);
	for (i = 0; i < mb->n; i++) {
		double v = tally_get(t, mb->v[i]);

		rest -= v;
		fprintf(f, "%s{%s=\"", fams[which].name, fams[which].label);
		put_escaped(f, mb->v[i]);
		fputs("\"} ", f);
		put_value(f, v);
	}
	fprintf(f, "%s{%s=\"other\"} ", fams[which].name, fams[which].label);
	put_value(f, rest > 0 ? rest : 0);
}

/* A site's label: its innermost frame, "function (file:line)". */
static const char *site_label(const struct ms_report_ctx *c, uint32_t pid, int32_t stack_id,
			      char *buf, size_t len)
{
	struct ms_frame fr[1];
	const char *base;

	if (ms_report_stack(c, pid, stack_id, 0, fr, 1) < 1)
		return "[no stack]";
	if (fr[0].function && fr[0].file) {
		base = strrchr(fr[0].file, '/');
		snprintf(buf, len, "%s (%s:%d)", fr[0].function, base ? base + 1 : fr[0].file, fr[0].line);
	} else if (fr[0].function) {
		snprintf(buf, len, "%s", fr[0].function);
	} else if (fr[0].module) {
		base = strrchr(fr[0].module, '/');
		snprintf(buf, len, "%s+0x%" PRIx64, base ? base + 1 : fr[0].module, fr[0].offset);
	} else {
		snprintf(buf, len, "0x%" PRIx64, fr[0].ip);
	}
	return buf;
}

static const char *name_label(const struct ms_report_ctx *c, uint32_t name)
{
	const char *s = name ? ms_registry_str(c->reg, name) : NULL;

	return s && *s ? s : "(unnamed)";
}

/* Weighted in sampled mode, as the pprof writer counts it. */
static double block_bytes(const struct ms_report_ctx *c, const struct ms_block *b)
{
	return !strcmp(c->mode, "sampled") && b->weight ? (double)b->weight : (double)b->size;
}

static void by_site(struct ms_metrics *m, FILE *f, const struct ms_report_ctx *c, int sampled)
{
	struct tally t[3] = { 0 };
	size_t n, i, k;
	const struct ms_site *s = ms_registry_sites(c->reg, &n);
	char buf[512];

	for (i = 0; i < n; i++) {
		const char *l = site_label(c, s[i].pid, s[i].stack_id, buf, sizeof(buf));

		tally_add(&t[0], l, sampled ? s[i].est.inuse_space : (double)s[i].live_bytes);
		tally_add(&t[1], l, sampled ? s[i].est.alloc_space : (double)s[i].alloc_bytes);
		tally_add(&t[2], l, sampled ? s[i].est.alloc_objects : (double)s[i].allocs);
	}
	for (k = 0; k < 3; k++) {
		family(m, f, F_SITE_LIVE + (int)k, &t[k]);
		tally_free(&t[k]);
	}
}

static void by_task_and_var(struct ms_metrics *m, FILE *f, const struct ms_report_ctx *c, int sampled)
{
	struct tally tl = { 0 }, ta = { 0 }, vl = { 0 }, va = { 0 };
	struct ms_hashmap tasks = { 0 };
	size_t nt, nb, nv, ng, i;
	const struct ms_task *t = ms_registry_tasks(c->reg, &nt);
	const struct ms_block *b = ms_registry_blocks(c->reg, &nb);
	const struct ms_var *v = ms_registry_vars(c->reg, &nv);
	const struct ms_agg *g = ms_registry_aggs(c->reg, &ng);

	for (i = 0; i < nt; i++) {
		ms_hm_put(&tasks, t[i].pid, t[i].id, i);
		tally_add(&ta, name_label(c, t[i].name), (double)t[i].alloc_bytes);
	}
	for (i = 0; i < nb; i++) {
		const struct ms_var *bv;
		uint64_t *ti;

		if (!b[i].used)
			continue;
		if (b[i].task) {
			ti = ms_hm_get(&tasks, b[i].pid, b[i].task);
			tally_add(&tl, name_label(c, ti ? t[*ti].name : 0), block_bytes(c, &b[i]));
		}
		if ((bv = ms_registry_block_var(c->reg, &b[i])))
			tally_add(&vl, name_label(c, bv->name), block_bytes(c, &b[i]));
	}
	for (i = 0; i < nv; i++)
		if (v[i].has_heap)
			tally_add(&va, name_label(c, v[i].name), (double)v[i].heap_size);
	for (i = 0; i < ng; i++) {
		if (g[i].kind == 0)
			tally_add(&va, name_label(c, g[i].name), (double)g[i].heap_bytes);
		else if (g[i].kind == 2)
			tally_add(&ta, name_label(c, g[i].name), (double)g[i].bytes);
	}
	family(m, f, F_TASK_LIVE, &tl);
	if (!sampled)
		family(m, f, F_TASK_ALLOC_BYTES, &ta);
	family(m, f, F_VAR_LIVE, &vl);
	if (!sampled)
		family(m, f, F_VAR_HEAP_BYTES, &va);
	tally_free(&tl);
	tally_free(&ta);
	tally_free(&vl);
	tally_free(&va);
	ms_hm_free(&tasks);
}

static void one(FILE *f, const char *name, const char *type, const char *help, double v)
{
	header(f, name, type, help);
	fprintf(f, "%s ", name);
	put_value(f, v);
}

/* Probe hits and the estimated cost to the target, per BPF program. */
static void probes(FILE *f, const struct ms_metrics_extra *x)
{
	double total = 0;
	size_t i;

	if (!x->nprobes)
		return;
	header(f, "memscope_probe_hits_total", "counter",
	       "Runs of each BPF program: probe hits in the target (kernel BPF statistics).");
	for (i = 0; i < x->nprobes; i++)
		fprintf(f, "memscope_probe_hits_total{program=\"%s\"} %" PRIu64 "\n", x->probes[i].name,
			x->probes[i].hits);
	header(f, "memscope_probe_run_seconds_total", "counter",
	       "Time the kernel measured inside each BPF program, on the target's threads.");
	for (i = 0; i < x->nprobes; i++)
		fprintf(f, "memscope_probe_run_seconds_total{program=\"%s\"} %.9f\n", x->probes[i].name,
			x->probes[i].run_ns / 1e9);
	header(f, "memscope_probe_cost_seconds_total", "counter",
	       "Estimated CPU time each probe cost the target: BPF run time plus hits times the trap cost.");
	for (i = 0; i < x->nprobes; i++) {
		double cost;

		if (!x->probes[i].traps)
			continue;
		cost = (x->probes[i].run_ns + x->probes[i].hits * x->trap_ns) / 1e9;

		total += cost;
		fprintf(f, "memscope_probe_cost_seconds_total{program=\"%s\"} %.9f\n", x->probes[i].name, cost);
	}
	if (x->trap_ns > 0)
		one(f, "memscope_probe_trap_seconds", "gauge",
		    "Cost of one uprobe trap (kernel entry and exit), measured by the tracer at start.",
		    x->trap_ns / 1e9);
	one(f, "memscope_target_cost_seconds_total", "counter",
	    "Estimated CPU time tracing cost the target, all probes together.", total);
}

int ms_metrics_render(struct ms_metrics *m, FILE *f, const struct ms_report_ctx *c,
		      const struct ms_metrics_extra *x)
{
	const struct ms_summary *s = ms_registry_summary(c->reg);
	int sampled = !strcmp(c->mode, "sampled");
	size_t ns, i;
	const struct ms_site *site = ms_registry_sites(c->reg, &ns);
	uint64_t truncated = 0;

	header(f, "memscope_target_info", "gauge", "The traced process; always 1.");
	fprintf(f, "memscope_target_info{pid=\"%d\",exe=\"", (int)c->pid);
	put_escaped(f, c->exe ? c->exe : "");
	fprintf(f, "\",mode=\"%s\"} 1\n", c->mode);
	one(f, "memscope_live_bytes", "gauge", "Heap bytes allocated and not yet freed (estimate in sampled mode).",
	    sampled ? s->est.inuse_space : (double)s->live_bytes);
	one(f, "memscope_live_allocations", "gauge", "Heap blocks allocated and not yet freed (estimate in sampled mode).",
	    sampled ? s->est.inuse_objects : (double)s->live_allocs);
	one(f, "memscope_allocated_bytes_total", "counter", "Heap bytes allocated (estimate in sampled mode).",
	    sampled ? s->est.alloc_space : (double)s->alloc_bytes);
	one(f, "memscope_allocations_total", "counter", "Allocations (estimate in sampled mode).",
	    sampled ? s->est.alloc_objects : (double)s->allocs);
	if (!sampled) {
		one(f, "memscope_freed_bytes_total", "counter", "Heap bytes freed.", (double)s->freed_bytes);
		one(f, "memscope_frees_total", "counter", "Frees of known blocks.", (double)s->frees);
	}
	by_site(m, f, c, sampled);
	by_task_and_var(m, f, c, sampled);
	one(f, "memscope_events_total", "counter", "Records the tracer received from BPF.", (double)s->records);
	one(f, "memscope_dropped_events_total", "counter", "Records BPF dropped because the ring buffer was full.",
	    (double)c->stats[MS_STAT_DROPPED]);
	one(f, "memscope_probe_misses_total", "counter",
	    "Probe hits the kernel did not run the BPF program for (another one was running).",
	    (double)c->stats[MS_STAT_PROBE_MISSES]);
	one(f, "memscope_stack_failures_total", "counter", "Allocations whose stack could not be captured.",
	    (double)c->stats[MS_STAT_STACK_FAIL]);
	for (i = 0; i < ns; i++)
		truncated += (uint64_t)ms_report_stack_truncated(c, site[i].pid, site[i].stack_id);
	one(f, "memscope_truncated_stacks_total", "counter",
	    "Distinct allocation stacks cut before their outermost frame.", (double)truncated);
	probes(f, x);
	one(f, "process_resident_memory_bytes", "gauge", "The tracer's resident memory.", (double)x->rss_bytes);
	one(f, "process_cpu_seconds_total", "counter", "The tracer's CPU time, user and system.", x->cpu_seconds);
	return ferror(f) ? -1 : 0;
}
