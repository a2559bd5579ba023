/* report_json.c - the JSON report (schema in README.md, "JSON report"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "util/json.h"
#include "report/report.h"

static void rel_or_null(struct ms_json *j, const struct ms_report_ctx *c, uint64_t ts)
{
	if (ts)
		ms_json_u64(j, ms_rel(c, ts));
	else
		ms_json_null(j);
}

static void id_or_null(struct ms_json *j, uint64_t id)
{
	if (id)
		ms_json_u64(j, id);
	else
		ms_json_null(j);
}

static void stack_json(struct ms_json *j, const struct ms_report_ctx *c, uint32_t pid,
		       int32_t stack_id, uint64_t caller)
{
	struct ms_frame fr[MS_REPORT_MAX_FRAMES];
	int n = ms_report_stack(c, pid, stack_id, caller, fr, MS_REPORT_MAX_FRAMES), i;

	ms_json_arr(j);
	for (i = 0; i < n; i++) {
		ms_json_obj(j);
		ms_json_key(j, "function");
		ms_json_str(j, fr[i].function);
		ms_json_key(j, "file");
		ms_json_str(j, fr[i].file);
		ms_json_key(j, "line");
		if (fr[i].line)
			ms_json_u64(j, (uint64_t)fr[i].line);
		else
			ms_json_null(j);
		ms_json_key(j, "module");
		ms_json_str(j, fr[i].module);
		ms_json_key(j, "ip");
		ms_json_hex(j, fr[i].ip);
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
}

static const char *var_name(const struct ms_report_ctx *c, const struct ms_block *b)
{
	const struct ms_var *v = ms_registry_block_var(c->reg, b);

	return v ? ms_registry_str(c->reg, v->name) : NULL;
}

static void summary_json(struct ms_json *j, const struct ms_report_ctx *c)
{
	const struct ms_summary *s = ms_registry_summary(c->reg);
	size_t nv, ns, nt;

	ms_registry_vars(c->reg, &nv);
	ms_registry_scopes(c->reg, &ns);
	ms_registry_tasks(c->reg, &nt);
	ms_json_key(j, "summary");
	ms_json_obj(j);
	ms_json_key(j, "variables"); ms_json_u64(j, nv);
	ms_json_key(j, "scopes"); ms_json_u64(j, ns);
	ms_json_key(j, "tasks"); ms_json_u64(j, nt);
	ms_json_key(j, "dropped_events"); ms_json_u64(j, c->stats[MS_STAT_DROPPED]);
	ms_json_key(j, "events"); ms_json_u64(j, s->records);
	ms_json_key(j, "duration_ns"); ms_json_u64(j, c->end_ns > c->start_ns ? c->end_ns - c->start_ns : 0);
	ms_json_key(j, "allocs"); ms_json_u64(j, s->allocs);
	ms_json_key(j, "frees"); ms_json_u64(j, s->frees);
	ms_json_key(j, "alloc_bytes"); ms_json_u64(j, s->alloc_bytes);
	ms_json_key(j, "freed_bytes"); ms_json_u64(j, s->freed_bytes);
	ms_json_key(j, "live_allocs"); ms_json_u64(j, s->live_allocs);
	ms_json_key(j, "live_bytes"); ms_json_u64(j, s->live_bytes);
	ms_json_key(j, "peak_live_bytes"); ms_json_u64(j, s->peak_live_bytes);
	ms_json_key(j, "peak_time_ns"); rel_or_null(j, c, s->peak_time_ns);
	ms_json_key(j, "unknown_frees"); ms_json_u64(j, s->unknown_frees);
	ms_json_key(j, "missed_allocs"); ms_json_u64(j, s->missed_allocs);
	ms_json_key(j, "untracked_allocs"); ms_json_u64(j, s->untracked_allocs);
	ms_json_key(j, "live_map_full"); ms_json_u64(j, c->stats[MS_STAT_LIVE_FULL]);
	ms_json_key(j, "stack_failures"); ms_json_u64(j, c->stats[MS_STAT_STACK_FAIL]);
	ms_json_key(j, "probe_misses"); ms_json_u64(j, c->stats[MS_STAT_PROBE_MISSES]);
	ms_json_key(j, "variables_via_ring"); ms_json_u64(j, c->stats[MS_STAT_VAR_RING]);
	ms_json_key(j, "unmatched_scope_exits"); ms_json_u64(j, s->unmatched_scope_exits);
	ms_json_key(j, "scope_overflow"); ms_json_u64(j, c->stats[MS_STAT_SCOPE_DEEP]);
	ms_json_key(j, "string_faults"); ms_json_u64(j, s->string_faults);
	ms_json_key(j, "bad_records"); ms_json_u64(j, s->bad_records);
	ms_json_key(j, "snapshots"); ms_json_u64(j, s->snapshots);
	ms_json_key(j, "folded_variables"); ms_json_u64(j, s->folded_vars);
	ms_json_key(j, "folded_scopes"); ms_json_u64(j, s->folded_scopes);
	ms_json_key(j, "folded_tasks"); ms_json_u64(j, s->folded_tasks);
	ms_json_end_obj(j);
}

static void vars_json(struct ms_json *j, const struct ms_report_ctx *c)
{
	size_t n, i;
	const struct ms_var *v = ms_registry_vars(c->reg, &n);
	char tb[256];

	ms_json_key(j, "variables");
	ms_json_arr(j);
	for (i = 0; i < n; i++) {
		const struct ms_scope *s = ms_registry_scope(c->reg, v[i].scope);

		ms_json_obj(j);
		ms_json_key(j, "id"); ms_json_u64(j, v[i].id);
		ms_json_key(j, "name"); ms_json_str(j, ms_registry_str(c->reg, v[i].name));
		ms_json_key(j, "type");
		ms_json_str(j, ms_report_type(ms_registry_str(c->reg, v[i].type), v[i].size, tb, sizeof(tb)));
		ms_json_key(j, "size"); ms_json_u64(j, v[i].size);
		ms_json_key(j, "address"); ms_json_hex(j, v[i].addr);
		ms_json_key(j, "value");
		if (v[i].has_value)
			ms_json_hex(j, v[i].value);
		else
			ms_json_null(j);
		ms_json_key(j, "file"); ms_json_str(j, ms_registry_str(c->reg, v[i].file));
		ms_json_key(j, "line"); ms_json_u64(j, v[i].line);
		ms_json_key(j, "pid"); ms_json_u64(j, v[i].pid);
		ms_json_key(j, "thread"); ms_json_u64(j, v[i].tid);
		ms_json_key(j, "scope"); id_or_null(j, v[i].scope);
		ms_json_key(j, "task"); id_or_null(j, v[i].task);
		ms_json_key(j, "first_seen_ns"); ms_json_u64(j, ms_rel(c, v[i].first_ns));
		ms_json_key(j, "scope_exit_ns"); rel_or_null(j, c, s ? s->exit_ns : 0);
		ms_json_key(j, "heap");
		if (v[i].has_heap) {
			ms_json_obj(j);
			ms_json_key(j, "address"); ms_json_hex(j, v[i].heap_addr);
			ms_json_key(j, "size"); ms_json_u64(j, v[i].heap_size);
			ms_json_key(j, "freed_ns"); rel_or_null(j, c, v[i].heap_freed_ns);
			ms_json_end_obj(j);
		} else {
			ms_json_null(j);
		}
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
}

static void scopes_json(struct ms_json *j, const struct ms_report_ctx *c)
{
	size_t n, i, nv, k;
	const struct ms_scope *s = ms_registry_scopes(c->reg, &n);
	const struct ms_var *v = ms_registry_vars(c->reg, &nv);

	ms_json_key(j, "scopes");
	ms_json_arr(j);
	for (i = 0; i < n; i++) {
		ms_json_obj(j);
		ms_json_key(j, "id"); ms_json_u64(j, s[i].id);
		ms_json_key(j, "name"); ms_json_str(j, ms_registry_str(c->reg, s[i].name));
		ms_json_key(j, "parent"); id_or_null(j, s[i].parent);
		ms_json_key(j, "pid"); ms_json_u64(j, s[i].pid);
		ms_json_key(j, "thread"); ms_json_u64(j, s[i].tid);
		ms_json_key(j, "task"); id_or_null(j, s[i].task);
		ms_json_key(j, "file"); ms_json_str(j, ms_registry_str(c->reg, s[i].file));
		ms_json_key(j, "line"); ms_json_u64(j, s[i].line);
		ms_json_key(j, "depth"); ms_json_u64(j, s[i].depth);
		ms_json_key(j, "enter_ns"); ms_json_u64(j, ms_rel(c, s[i].enter_ns));
		ms_json_key(j, "exit_ns"); rel_or_null(j, c, s[i].exit_ns);
		ms_json_key(j, "allocs"); ms_json_u64(j, s[i].allocs);
		ms_json_key(j, "alloc_bytes"); ms_json_u64(j, s[i].alloc_bytes);
		ms_json_key(j, "live_bytes_at_exit");
		if (s[i].exit_ns)
			ms_json_u64(j, s[i].live_bytes_at_exit);
		else
			ms_json_null(j);
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

/* (pid, task) -> end time, for the tasks that ended. */
static void ended_tasks(const struct ms_report_ctx *c, struct ms_hashmap *m)
{
	size_t n, i;
	const struct ms_task *t = ms_registry_tasks(c->reg, &n);

	for (i = 0; i < n; i++)
		if (t[i].ended_ns)
			ms_hm_put(m, t[i].pid, t[i].id, t[i].ended_ns);
}

/* A block a task allocated that is still live after MEMSCOPE_TASK_END. */
static int task_leak(const struct ms_hashmap *ended, const struct ms_block *b)
{
	uint64_t *end;

	if (!b->used || !b->task)
		return 0;
	end = ms_hm_get(ended, b->pid, b->task);
	return end && *end >= b->ts_ns;
}

static void block_json(struct ms_json *j, const struct ms_report_ctx *c, const struct ms_block *b);

static void tasks_json(struct ms_json *j, const struct ms_report_ctx *c)
{
	size_t n, i, nb, k2;
	uint32_t k;
	const struct ms_task *t = ms_registry_tasks(c->reg, &n);
	const struct ms_block *b = ms_registry_blocks(c->reg, &nb);
	struct ms_hashmap cnt = { 0 }, bytes = { 0 }, ended = { 0 };

	ended_tasks(c, &ended);
	for (k2 = 0; k2 < nb; k2++) {
		uint64_t *v;

		if (!b[k2].used || !b[k2].task)
			continue;
		v = ms_hm_get(&cnt, b[k2].pid, b[k2].task);
		if (!task_leak(&ended, &b[k2]))
			continue;
		ms_hm_put(&cnt, b[k2].pid, b[k2].task, (v ? *v : 0) + 1);
		v = ms_hm_get(&bytes, b[k2].pid, b[k2].task);
		ms_hm_put(&bytes, b[k2].pid, b[k2].task, (v ? *v : 0) + b[k2].size);
	}

	ms_json_key(j, "tasks");
	ms_json_arr(j);
	for (i = 0; i < n; i++) {
		ms_json_obj(j);
		ms_json_key(j, "id"); ms_json_u64(j, t[i].id);
		ms_json_key(j, "name"); ms_json_str(j, ms_registry_str(c->reg, t[i].name));
		ms_json_key(j, "parent"); id_or_null(j, t[i].parent);
		ms_json_key(j, "pid"); ms_json_u64(j, t[i].pid);
		ms_json_key(j, "threads");
		ms_json_arr(j);
		for (k = 0; k < t[i].nthreads; k++)
			ms_json_u64(j, t[i].threads[k]);
		ms_json_end_arr(j);
		ms_json_key(j, "first_ns"); rel_or_null(j, c, t[i].first_ns);
		ms_json_key(j, "last_ns"); rel_or_null(j, c, t[i].last_ns);
		ms_json_key(j, "ended_ns"); rel_or_null(j, c, t[i].ended_ns);
		ms_json_key(j, "allocs"); ms_json_u64(j, t[i].allocs);
		ms_json_key(j, "alloc_bytes"); ms_json_u64(j, t[i].alloc_bytes);
		ms_json_key(j, "frees"); ms_json_u64(j, t[i].frees);
		ms_json_key(j, "freed_bytes"); ms_json_u64(j, t[i].freed_bytes);
		ms_json_key(j, "peak_live_bytes"); ms_json_u64(j, t[i].peak_live_bytes);
		ms_json_key(j, "live_bytes"); ms_json_u64(j, t[i].live_bytes);
		ms_json_key(j, "variables"); ms_json_u64(j, t[i].nvars);
		{
			uint64_t *lc = t[i].ended_ns ? ms_hm_get(&cnt, t[i].pid, t[i].id) : NULL;
			uint64_t *lb = t[i].ended_ns ? ms_hm_get(&bytes, t[i].pid, t[i].id) : NULL;

			ms_json_key(j, "leaks"); ms_json_u64(j, lc ? *lc : 0);
			ms_json_key(j, "leaked_bytes"); ms_json_u64(j, lb ? *lb : 0);
		}
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
	ms_hm_free(&cnt);
	ms_hm_free(&bytes);
	ms_hm_free(&ended);
}

/* Blocks still live after their task ended, listed per task. */
static void task_leaks_json(struct ms_json *j, const struct ms_report_ctx *c)
{
	size_t nb, i;
	const struct ms_block *b = ms_registry_blocks(c->reg, &nb);
	struct ms_hashmap ended = { 0 };

	ended_tasks(c, &ended);
	ms_json_key(j, "task_leaks");
	ms_json_arr(j);
	for (i = 0; i < nb; i++)
		if (task_leak(&ended, &b[i]))
			block_json(j, c, &b[i]);
	ms_json_end_arr(j);
	ms_hm_free(&ended);
}

static void block_json(struct ms_json *j, const struct ms_report_ctx *c, const struct ms_block *b)
{
	ms_json_obj(j);
	ms_json_key(j, "address"); ms_json_hex(j, b->addr);
	ms_json_key(j, "size"); ms_json_u64(j, b->size);
	ms_json_key(j, "kind"); ms_json_str(j, ms_kind_name(b->kind));
	ms_json_key(j, "variable"); ms_json_str(j, var_name(c, b));
	ms_json_key(j, "pid"); ms_json_u64(j, b->pid);
	ms_json_key(j, "thread"); ms_json_u64(j, b->tid);
	ms_json_key(j, "scope"); id_or_null(j, b->scope);
	ms_json_key(j, "task"); id_or_null(j, b->task);
	ms_json_key(j, "allocated_ns"); ms_json_u64(j, ms_rel(c, b->ts_ns));
	ms_json_key(j, "stack"); stack_json(j, c, b->pid, b->stack_id, 0);
	ms_json_end_obj(j);
}

static void blocks_json(struct ms_json *j, const struct ms_report_ctx *c, const char *key, int want)
{
	size_t n, i;
	const struct ms_block *b = ms_registry_blocks(c->reg, &n);

	ms_json_key(j, key);
	ms_json_arr(j);
	for (i = 0; want && i < n; i++)
		if (b[i].used)
			block_json(j, c, &b[i]);
	ms_json_end_arr(j);
}

static void sites_json(struct ms_json *j, const struct ms_report_ctx *c, const char *key, int want)
{
	size_t n = 0, i, nb, k;
	struct ms_leak_site *s = want ? ms_report_leak_sites(c, &n) : NULL;
	const struct ms_block *b = ms_registry_blocks(c->reg, &nb);

	ms_json_key(j, key);
	ms_json_arr(j);
	for (i = 0; i < n; i++) {
		ms_json_obj(j);
		ms_json_key(j, "count"); ms_json_u64(j, s[i].count);
		ms_json_key(j, "bytes"); ms_json_u64(j, s[i].bytes);
		ms_json_key(j, "variables");
		ms_json_arr(j);
		{
			/* Distinct names of variables that point into these blocks. */
			const char *seen[8];
			size_t ns = 0, q;

			for (k = 0; k < nb && ns < 8; k++) {
				const char *nm;

				if (!b[k].used || b[k].pid != s[i].pid || b[k].stack_id != s[i].stack_id)
					continue;
				nm = var_name(c, &b[k]);
				if (!nm)
					continue;
				for (q = 0; q < ns && strcmp(seen[q], nm); q++)
					;
				if (q == ns) {
					seen[ns++] = nm;
					ms_json_str(j, nm);
				}
			}
		}
		ms_json_end_arr(j);
		ms_json_key(j, "stack"); stack_json(j, c, s[i].pid, s[i].stack_id, 0);
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
	free(s);
}

static void bad_json(struct ms_json *j, const struct ms_report_ctx *c, const char *key, int dbl)
{
	size_t n, i;
	const struct ms_bad_free *f = ms_registry_bad_frees(c->reg, &n);

	ms_json_key(j, key);
	ms_json_arr(j);
	for (i = 0; i < n; i++) {
		if (f[i].is_double != dbl)
			continue;
		ms_json_obj(j);
		ms_json_key(j, "address"); ms_json_hex(j, f[i].addr);
		ms_json_key(j, "kind"); ms_json_str(j, ms_kind_name(f[i].kind));
		ms_json_key(j, "pid"); ms_json_u64(j, f[i].pid);
		ms_json_key(j, "thread"); ms_json_u64(j, f[i].tid);
		ms_json_key(j, "scope"); id_or_null(j, f[i].scope);
		ms_json_key(j, "task"); id_or_null(j, f[i].task);
		ms_json_key(j, "time_ns"); ms_json_u64(j, ms_rel(c, f[i].ts_ns));
		if (dbl) {
			ms_json_key(j, "first_free_ns");
			rel_or_null(j, c, f[i].first_free_ns);
		}
		ms_json_key(j, "stack"); stack_json(j, c, f[i].pid, f[i].stack_id, f[i].caller);
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
}

static void hist_json(struct ms_json *j, const char *key, const uint64_t *h)
{
	int i;

	ms_json_key(j, key);
	ms_json_arr(j);
	for (i = 0; i < MS_HIST_BUCKETS; i++) {
		if (!h[i])
			continue;
		ms_json_obj(j);
		/* bucket i holds values v with 2^(i-1) <= v < 2^i (0 for i=0) */
		ms_json_key(j, "min"); ms_json_u64(j, i ? 1ull << (i - 1) : 0);
		ms_json_key(j, "max"); ms_json_u64(j, i ? (i < 64 ? (1ull << i) - 1 : ~0ull) : 0);
		ms_json_key(j, "count"); ms_json_u64(j, h[i]);
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
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
static void sampled_json(struct ms_json *j, const struct ms_report_ctx *c)
{
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
		ms_json_key(j, "stack"); stack_json(j, c, order[i]->pid, order[i]->stack_id, 0);
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
	ms_json_end_obj(j);
	free(order);
}

static void growth_json(struct ms_json *j, const struct ms_report_ctx *c)
{
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
	ms_registry_growth(c->reg, 1024, &g, &ng);
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
		if (g[i].kind == MS_GROW_TASK) {
			ms_json_key(j, "task"); ms_json_u64(j, g[i].b);
		}
		ms_json_key(j, "slope_bytes_per_s"); ms_json_dbl(j, g[i].slope);
		ms_json_key(j, "r2"); ms_json_dbl(j, g[i].r2);
		ms_json_key(j, "first_bytes"); ms_json_u64(j, g[i].first_bytes);
		ms_json_key(j, "last_bytes"); ms_json_u64(j, g[i].last_bytes);
		if (g[i].kind == MS_GROW_SITE) {
			ms_json_key(j, "stack");
			stack_json(j, c, (uint32_t)g[i].a, (int32_t)g[i].b, 0);
		}
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
	free(g);
}

/* Ended records folded away under --keep, per name and site. */
static void aggs_json(struct ms_json *j, const struct ms_report_ctx *c)
{
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
			ms_json_key(j, "first_ns"); rel_or_null(j, c, g[i].first_ns);
			ms_json_key(j, "last_ns"); rel_or_null(j, c, g[i].last_ns);
			ms_json_end_obj(j);
		}
		ms_json_end_arr(j);
	}
}

static void timeline_json(struct ms_json *j, const struct ms_report_ctx *c)
{
	size_t n, i;
	const struct ms_point *p = ms_registry_timeline(c->reg, &n);

	ms_json_key(j, "memory_timeline");
	ms_json_arr(j);
	for (i = 0; i < n; i++) {
		ms_json_arr(j);
		ms_json_u64(j, ms_rel(c, p[i].ts_ns));
		ms_json_u64(j, p[i].live_bytes);
		ms_json_end_arr(j);
	}
	ms_json_end_arr(j);
}

int ms_report_json(FILE *f, const struct ms_report_ctx *c)
{
	const struct ms_summary *s = ms_registry_summary(c->reg);
	struct ms_json j;
	int leaks = c->target_exited;

	ms_json_init(&j, f, 1);
	ms_json_obj(&j);
	ms_json_key(&j, "version"); ms_json_u64(&j, 1);
	ms_json_key(&j, "tool"); ms_json_str(&j, "memscope-trace");
	ms_json_key(&j, "mode"); ms_json_str(&j, c->mode);
	ms_json_key(&j, "target");
	ms_json_obj(&j);
	ms_json_key(&j, "pid"); ms_json_u64(&j, (uint64_t)c->pid);
	ms_json_key(&j, "exe"); ms_json_str(&j, c->exe);
	ms_json_key(&j, "traced_from_start"); ms_json_bool(&j, c->from_start);
	ms_json_key(&j, "exited"); ms_json_bool(&j, c->target_exited);
	ms_json_key(&j, "exit_code");
	if (c->target_exited && (c->exit_status & 0x7f) == 0)
		ms_json_u64(&j, (uint64_t)((c->exit_status >> 8) & 0xff));
	else
		ms_json_null(&j);
	ms_json_key(&j, "signal");
	if (c->target_exited && (c->exit_status & 0x7f))
		ms_json_u64(&j, (uint64_t)(c->exit_status & 0x7f));
	else
		ms_json_null(&j);
	ms_json_end_obj(&j);
	ms_json_key(&j, "stop_reason"); ms_json_str(&j, c->stop_reason);
	summary_json(&j, c);
	vars_json(&j, c);
	scopes_json(&j, c);
	tasks_json(&j, c);
	/* A block still live when the target exited is a leak; if the tracer
	 * stopped first it is only live. */
	task_leaks_json(&j, c);
	blocks_json(&j, c, "leaks", leaks);
	sites_json(&j, c, "leak_sites", leaks);
	blocks_json(&j, c, "live", !leaks);
	sites_json(&j, c, "live_sites", !leaks);
	bad_json(&j, c, "invalid_frees", 0);
	bad_json(&j, c, "double_frees", 1);
	hist_json(&j, "size_histogram", ms_registry_size_hist(c->reg));
	hist_json(&j, "lifetime_histogram_ns", ms_registry_lifetime_hist(c->reg));
	ms_json_key(&j, "temporaries");
	ms_json_obj(&j);
	ms_json_key(&j, "count"); ms_json_u64(&j, s->temporaries);
	ms_json_key(&j, "bytes"); ms_json_u64(&j, s->temporary_bytes);
	ms_json_key(&j, "threshold_ns"); ms_json_u64(&j, 1000000);
	ms_json_end_obj(&j);
	timeline_json(&j, c);
	aggs_json(&j, c);
	growth_json(&j, c);
	if (!strcmp(c->mode, "sampled"))
		sampled_json(&j, c);
	ms_json_end_obj(&j);
	return ferror(f) ? -1 : 0;
}
