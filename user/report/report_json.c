/* SPDX-License-Identifier: BSD-3-Clause */
/* report_json.c - the JSON report (schema in README.md, "JSON report").
 * Objects the HTML page shares (summary, variables, tasks, blocks, sites,
 * bad frees, stacks, histograms) are written by report/shapes.c; the rest
 * is the report's own: scopes, aggregates, growth, sampled estimates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "report/shapes.h"

static void scopes_json(struct ms_shape *sh)
{
	const struct ms_report_ctx *c = sh->c;
	struct ms_json *j = sh->j;
	size_t n, i, nv, k;
	const struct ms_scope *s = ms_registry_scopes(c->reg, &n);
	const struct ms_var *v = ms_registry_vars(c->reg, &nv);

	ms_json_key(j, "scopes");
	ms_json_arr(j);
	for (i = 0; i < n; i++) {
		ms_json_obj(j);
		ms_json_key(j, "id"); ms_json_u64(j, s[i].id);
		ms_json_key(j, "name"); ms_json_str(j, ms_registry_str(c->reg, s[i].name));
		ms_json_key(j, "parent"); ms_shape_id(sh, s[i].parent);
		ms_json_key(j, "pid"); ms_json_u64(j, s[i].pid);
		ms_json_key(j, "thread"); ms_json_u64(j, s[i].tid);
		ms_json_key(j, "task"); ms_shape_id(sh, s[i].task);
		ms_json_key(j, "file"); ms_json_str(j, ms_registry_str(c->reg, s[i].file));
		ms_json_key(j, "line"); ms_json_u64(j, s[i].line);
		ms_json_key(j, "depth"); ms_json_u64(j, s[i].depth);
		ms_json_key(j, "enter_ns"); ms_json_u64(j, ms_rel(c, s[i].enter_ns));
		ms_json_key(j, "exit_ns"); ms_shape_time(sh, s[i].exit_ns);
		ms_json_key(j, "allocs"); ms_json_u64(j, s[i].allocs);
		ms_json_key(j, "alloc_bytes"); ms_json_u64(j, s[i].alloc_bytes);
		ms_json_key(j, "live_bytes_at_exit");
		ms_json_u64_or_null(j, s[i].exit_ns != 0, s[i].live_bytes_at_exit);
		ms_json_key(j, "variables");
		ms_json_arr(j);
		/* O(vars) per scope with variables: fine for reports. */
		for (k = 0; s[i].nvars && k < nv; k++)
			if (v[k].scope == s[i].id)
				ms_json_u64(j, v[k].id);
		ms_json_end_arr(j);
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
}

/* The report's lists of registry records, each object written by its
 * shape; `want` == 0 writes an empty list. */
enum list { VARS, TASKS, LIVE, TASK_LEAKS, INVALID, DOUBLE };

static void list_json(struct ms_shape *s, const char *key, enum list what, int want,
		      const struct ms_task_leaks *tl)
{
	const struct ms_registry *r = s->c->reg;
	size_t n = 0, i;
	const struct ms_var *v = what == VARS ? ms_registry_vars(r, &n) : NULL;
	const struct ms_task *t = what == TASKS ? ms_registry_tasks(r, &n) : NULL;
	const struct ms_block *b = what == LIVE || what == TASK_LEAKS ? ms_registry_blocks(r, &n) : NULL;
	const struct ms_bad_free *f = what == INVALID || what == DOUBLE ? ms_registry_bad_frees(r, &n) : NULL;

	ms_json_key(s->j, key);
	ms_json_arr(s->j);
	for (i = 0; want && i < n; i++) {
		if (b && (what == LIVE ? !ms_report_block_shown(s->c, &b[i]) :
			  (!b[i].used || !ms_task_leaks_has(tl, &b[i]))))
			continue;
		if (f && f[i].is_double != (what == DOUBLE))
			continue;
		ms_json_obj(s->j);
		if (v)
			ms_shape_var(s, &v[i]);
		else if (t)
			ms_shape_task(s, &t[i], tl);
		else if (b)
			ms_shape_block(s, &b[i]);
		else
			ms_shape_bad_free(s, &f[i]);
		ms_json_end_obj(s->j);
	}
	ms_json_end_arr(s->j);
}

static void sites_json(struct ms_shape *s, const char *key, int want)
{
	size_t n = 0, i;
	struct ms_leak_site *ls = want ? ms_report_leak_sites(s->c, &n) : NULL;

	ms_json_key(s->j, key);
	ms_json_arr(s->j);
	for (i = 0; i < n; i++) {
		ms_json_obj(s->j);
		ms_shape_site(s, &ls[i]);
		ms_json_end_obj(s->j);
	}
	ms_json_end_arr(s->j);
	free(ls);
}

static void est_json(struct ms_json *j, const char *key, double v, double var)
{
	ms_json_key(j, key);
	ms_json_obj(j);
	ms_json_key(j, "estimate"); ms_json_dbl(j, v);
	ms_json_key(j, "stddev"); ms_json_dbl(j, var > 0 ? sqrt(var) : 0);
	ms_json_end_obj(j);
}

static void estimates_json(struct ms_json *j, const struct ms_estimate *e)
{
	est_json(j, "alloc_space", e->alloc_space, e->alloc_space_var);
	est_json(j, "alloc_objects", e->alloc_objects, e->alloc_objects_var);
	est_json(j, "inuse_space", e->inuse_space, e->inuse_space_var);
	est_json(j, "inuse_objects", e->inuse_objects, e->inuse_objects_var);
	ms_json_key(j, "samples"); ms_json_u64(j, e->samples);
	ms_json_key(j, "live_samples"); ms_json_u64(j, e->live_samples);
}

static int by_inuse(const void *a, const void *b)
{
	const struct ms_site *x = *(const struct ms_site *const *)a, *y = *(const struct ms_site *const *)b;

	return x->est.inuse_space < y->est.inuse_space ? 1 : x->est.inuse_space > y->est.inuse_space ? -1 : 0;
}

/* Sampled mode: estimates in total and per allocation site. */
static void sampled_json(struct ms_shape *sh)
{
	const struct ms_report_ctx *c = sh->c;
	struct ms_json *j = sh->j;
	size_t n, i, k = 0;
	const struct ms_site *s = ms_registry_sites(c->reg, &n);
	const struct ms_site **order = malloc((n ? n : 1) * sizeof(*order));

	ms_json_key(j, "sampled");
	ms_json_obj(j);
	ms_json_key(j, "note");
	ms_json_str(j, "figures are statistical estimates from sampled allocations (stddev given); "
		       "in-use figures cover allocations made since the attach");
	ms_json_key(j, "interval_bytes"); ms_json_u64(j, c->sample_interval);
	estimates_json(j, &ms_registry_summary(c->reg)->est);
	ms_json_key(j, "sites");
	ms_json_arr(j);
	for (i = 0; order && i < n; i++)
		if (s[i].est.samples || s[i].est.live_samples)
			order[k++] = &s[i];
	if (order)
		qsort(order, k, sizeof(*order), by_inuse);
	for (i = 0; i < k; i++) {
		ms_json_obj(j);
		estimates_json(j, &order[i]->est);
		ms_shape_stack_keys(sh, order[i]->pid, order[i]->stack_id, 0);
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
	ms_json_end_obj(j);
	free(order);
}

static void growth_json(struct ms_shape *sh)
{
	const struct ms_report_ctx *c = sh->c;
	struct ms_json *j = sh->j;
	size_t n, i, ng = 0;
	const struct ms_snapshot *sn = ms_registry_snapshots(c->reg, &n);
	struct ms_growth *g = NULL;
	static const char *const kinds[] = { "?", "site", "variable", "task" };

	ms_json_key(j, "snapshots");
	ms_json_arr(j);
	for (i = 0; i < n; i++) {
		ms_json_obj(j);
		ms_json_key(j, "time_ns"); ms_json_u64(j, ms_rel(c, sn[i].ts_ns));
		ms_json_key(j, "label"); ms_json_str(j, ms_registry_str(c->reg, sn[i].label));
		ms_json_key(j, "live_bytes"); ms_json_u64(j, sn[i].live_bytes);
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
	ms_registry_growth(c->reg, MS_GROWTH_MIN_BYTES, &g, &ng);
	ms_json_key(j, "growth");
	ms_json_arr(j);
	for (i = 0; i < ng; i++) {
		ms_json_obj(j);
		ms_json_key(j, "kind"); ms_json_str(j, kinds[g[i].kind & 3]);
		ms_json_key(j, "name");
		if (g[i].kind == MS_GROW_VAR)
			ms_json_str(j, ms_registry_str(c->reg, (uint32_t)g[i].a));
		else if (g[i].kind == MS_GROW_TASK) {
			size_t nt, k;
			const struct ms_task *t = ms_registry_tasks(c->reg, &nt);
			const char *nm = NULL;

			for (k = 0; k < nt; k++)
				if (t[k].pid == g[i].a && t[k].id == g[i].b)
					nm = ms_registry_str(c->reg, t[k].name);
			ms_json_str(j, nm);
		} else
			ms_json_null(j);
		ms_json_key(j, "task");
		ms_json_u64_or_null(j, g[i].kind == MS_GROW_TASK, g[i].b);
		ms_json_key(j, "slope_bytes_per_s"); ms_json_dbl(j, g[i].slope);
		ms_json_key(j, "r2"); ms_json_dbl(j, g[i].r2);
		ms_json_key(j, "first_bytes"); ms_json_u64(j, g[i].first_bytes);
		ms_json_key(j, "last_bytes"); ms_json_u64(j, g[i].last_bytes);
		if (g[i].kind == MS_GROW_SITE) {
			ms_shape_stack_keys(sh, (uint32_t)g[i].a, (int32_t)g[i].b, 0);
		}
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
	free(g);
}

/* Ended records folded away under --keep, per name and site. */
static void aggs_json(struct ms_shape *sh)
{
	const struct ms_report_ctx *c = sh->c;
	struct ms_json *j = sh->j;
	static const char *const key[] = { "variable_aggregates", "scope_aggregates", "task_aggregates" };
	size_t n, i;
	const struct ms_agg *g = ms_registry_aggs(c->reg, &n);
	int kind;

	for (kind = 0; kind < 3; kind++) {
		ms_json_key(j, key[kind]);
		ms_json_arr(j);
		for (i = 0; i < n; i++) {
			if (g[i].kind != kind)
				continue;
			ms_json_obj(j);
			ms_json_key(j, "name"); ms_json_str(j, ms_registry_str(c->reg, g[i].name));
			if (kind < 2) {
				ms_json_key(j, "file"); ms_json_str(j, ms_registry_str(c->reg, g[i].file));
				ms_json_key(j, "line"); ms_json_u64(j, g[i].line);
			}
			ms_json_key(j, "count"); ms_json_u64(j, g[i].count);
			ms_json_key(j, kind ? "alloc_bytes" : "total_size"); ms_json_u64(j, g[i].bytes);
			if (kind) {
				ms_json_key(j, "allocs"); ms_json_u64(j, g[i].allocs);
				ms_json_key(j, "total_ns"); ms_json_u64(j, g[i].total_ns);
			}
			ms_json_key(j, "first_ns"); ms_shape_time(sh, g[i].first_ns);
			ms_json_key(j, "last_ns"); ms_shape_time(sh, g[i].last_ns);
			ms_json_end_obj(j);
		}
		ms_json_end_arr(j);
	}
}

int ms_report_json(FILE *f, const struct ms_report_ctx *c)
{
	struct ms_json j;
	struct ms_shape s = { .j = &j, .c = c };
	struct ms_task_leaks tl;
	int leaks = c->target_exited;

	ms_task_leaks_init(&tl, c);
	ms_json_init(&j, f, 1);
	ms_json_obj(&j);
	ms_shape_head(&s);
	ms_shape_summary(&s);
	ms_shape_leak_check(&s);
	ms_shape_execs(&s);
	list_json(&s, "variables", VARS, 1, NULL);
	scopes_json(&s);
	list_json(&s, "tasks", TASKS, 1, &tl);
	/* A block still live when the target exited is a leak; if the tracer
	 * stopped first it is only live. */
	list_json(&s, "task_leaks", TASK_LEAKS, 1, &tl);
	list_json(&s, "leaks", LIVE, leaks, NULL);
	sites_json(&s, "leak_sites", leaks);
	list_json(&s, "live", LIVE, !leaks, NULL);
	sites_json(&s, "live_sites", !leaks);
	list_json(&s, "invalid_frees", INVALID, 1, NULL);
	list_json(&s, "double_frees", DOUBLE, 1, NULL);
	ms_shape_hist(&s, "size_histogram", ms_registry_size_hist(c->reg));
	ms_shape_hist(&s, "lifetime_histogram_ns", ms_registry_lifetime_hist(c->reg));
	ms_shape_temporaries(&s);
	ms_shape_timeline(&s);
	aggs_json(&s);
	growth_json(&s);
	if (!strcmp(c->mode, "sampled"))
		sampled_json(&s);
	ms_json_end_obj(&j);
	ms_task_leaks_free(&tl);
	return ferror(f) ? -1 : 0;
}
