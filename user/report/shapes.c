/* SPDX-License-Identifier: BSD-3-Clause */
/* shapes.c - see shapes.h. The key order here is the order of the JSON
 * report's keys (README.md, "JSON report"). */
#include <string.h>
#include "report/shapes.h"

void ms_shape_time(struct ms_shape *s, uint64_t ts)
{
	if (ts)
		ms_json_u64(s->j, ms_rel(s->c, ts));
	else
		ms_json_null(s->j);
}

void ms_shape_id(struct ms_shape *s, uint64_t id)
{
	if (id)
		ms_json_u64(s->j, id);
	else
		ms_json_null(s->j);
}

void ms_shape_head(struct ms_shape *s)
{
	const struct ms_report_ctx *c = s->c;
	struct ms_json *j = s->j;

	ms_json_key(j, "version"); ms_json_u64(j, 1);
	ms_json_key(j, "tool"); ms_json_str(j, "memscope-trace");
	ms_json_key(j, "mode"); ms_json_str(j, c->mode);
	ms_json_key(j, "target");
	ms_json_obj(j);
	ms_json_key(j, "pid"); ms_json_u64(j, (uint64_t)c->pid);
	/* in a container: its PID there, its cgroup and the container's id */
	ms_json_key(j, "ns_pid");
	ms_json_u64_or_null(j, c->ns_pid != 0, (uint64_t)c->ns_pid);
	ms_json_key(j, "cgroup"); ms_json_str(j, c->cgroup);
	ms_json_key(j, "container_id"); ms_json_str(j, c->container_id);
	ms_json_key(j, "exe"); ms_json_str(j, c->exe);
	ms_json_key(j, "traced_from_start"); ms_json_bool(j, c->from_start);
	ms_json_key(j, "exited"); ms_json_bool(j, c->target_exited);
	ms_json_key(j, "exit_code");
	ms_json_u64_or_null(j, c->target_exited && (c->exit_status & 0x7f) == 0,
			    (uint64_t)((c->exit_status >> 8) & 0xff));
	ms_json_key(j, "signal");
	ms_json_u64_or_null(j, c->target_exited && (c->exit_status & 0x7f), (uint64_t)(c->exit_status & 0x7f));
	ms_json_end_obj(j);
	ms_json_key(j, "stop_reason"); ms_json_str(j, c->stop_reason);
}

/* summary.unverified_live after a coverage gap; summary.probe_hits,
 * summary.estimated_cost and, under --budget, summary.budget
 * (trace/budget.c). */
static void cost_json(struct ms_json *j, const struct ms_report_ctx *c)
{
	const struct ms_report_cost *k = c->cost;
	const struct ms_summary *s = ms_registry_summary(c->reg);
	size_t i;

	if (s->coverage_gaps) {
		uint64_t n, b;

		ms_report_unverified(c, &n, &b);
		ms_json_key(j, "unverified_live");
		ms_json_obj(j);
		ms_json_key(j, "count"); ms_json_u64(j, n);
		ms_json_key(j, "bytes"); ms_json_u64(j, b);
		ms_json_key(j, "note");
		ms_json_str(j, "live blocks allocated before the allocator probes were last off (cost "
			       "budget): their frees may have been missed, so they are not listed as leaks");
		ms_json_end_obj(j);
	}
	if (!k)
		return;
	ms_json_key(j, "probe_hits");
	ms_json_arr(j);
	for (i = 0; i < k->nprobes; i++) {
		const struct ms_report_probe *p = &k->probes[i];

		ms_json_obj(j);
		ms_json_key(j, "probe"); ms_json_str(j, p->func);
		ms_json_key(j, "library"); ms_json_str(j, p->library);
		ms_json_key(j, "offset"); ms_json_u64(j, p->offset);
		ms_json_key(j, "emulated"); ms_json_bool(j, p->emulated);
		ms_json_key(j, "return"); ms_json_bool(j, p->ret);
		ms_json_key(j, "hits"); ms_json_u64(j, p->hits);
		ms_json_key(j, "rate"); ms_json_dbl(j, p->rate);
		ms_json_key(j, "est_ns"); ms_json_dbl(j, p->est_ns);
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
	ms_json_key(j, "estimated_cost");
	ms_json_obj(j);
	ms_json_key(j, "ns"); ms_json_dbl(j, k->est_ns);
	ms_json_key(j, "bpf_ns"); ms_json_dbl(j, k->bpf_ns);
	ms_json_key(j, "target_cpu_ns"); ms_json_dbl(j, k->target_cpu_ns);
	ms_json_key(j, "pct"); ms_json_dbl(j, k->pct);
	ms_json_key(j, "ns_per_s"); ms_json_dbl(j, k->now_ns_per_s);
	ms_json_key(j, "trap_ns");
	ms_json_obj(j);
	ms_json_key(j, "emulated"); ms_json_dbl(j, k->trap_emulated_ns);
	ms_json_key(j, "single_stepped"); ms_json_dbl(j, k->trap_xol_ns);
	ms_json_key(j, "return"); ms_json_dbl(j, k->trap_ret_ns);
	ms_json_end_obj(j);
	ms_json_key(j, "note");
	ms_json_str(j, "probe hits x the trap cost measured at attach, plus the BPF programs' run "
		       "time; pct is its share of the target's CPU time");
	ms_json_end_obj(j);
	if (k->budget_pct <= 0)
		return;
	ms_json_key(j, "budget");
	ms_json_obj(j);
	ms_json_key(j, "pct"); ms_json_dbl(j, k->budget_pct);
	ms_json_key(j, "level"); ms_json_u64(j, (uint64_t)k->level);
	ms_json_key(j, "level_name"); ms_json_str(j, k->level_name);
	ms_json_key(j, "coverage"); ms_json_dbl(j, k->coverage);
	ms_json_key(j, "gaps"); ms_json_u64(j, k->gaps);
	ms_json_key(j, "scaled_allocs"); ms_json_dbl(j, k->coverage > 0 ? s->allocs / k->coverage : 0);
	ms_json_key(j, "scaled_alloc_bytes");
	ms_json_dbl(j, k->coverage > 0 ? s->alloc_bytes / k->coverage : 0);
	ms_json_key(j, "note");
	ms_json_str(j, k->coverage < 1 ? "allocator probes were on for `coverage` of the run: "
		       "allocs, frees and their bytes count only that time; scaled_* divide by "
		       "coverage (estimates, assuming the rate seen while they were on)" :
		       "allocator probes were on for the whole run");
	ms_json_end_obj(j);
}

/* summary.unwind: how stacks were walked and what the tables cost. */
static void shape_unwind(struct ms_shape *sh)
{
	const struct ms_report_ctx *c = sh->c;
	const struct ms_report_unwind *u = &c->unwind;
	struct ms_json *j = sh->j;

	ms_json_key(j, "unwind");
	ms_json_obj(j);
	ms_json_key(j, "method"); ms_json_str(j, u->method);
	ms_json_key(j, "files"); ms_json_u64(j, u->files);
	ms_json_key(j, "rows"); ms_json_u64(j, u->rows);
	ms_json_key(j, "bytes"); ms_json_u64(j, u->bytes);
	ms_json_key(j, "capacity_bytes"); ms_json_u64(j, u->capacity_bytes);
	ms_json_key(j, "build_ms"); ms_json_dbl(j, u->build_ns / 1e6);
	ms_json_key(j, "files_not_loaded"); ms_json_u64(j, u->not_loaded);
	ms_json_key(j, "files_without_cfi"); ms_json_u64(j, u->no_cfi);
	ms_json_key(j, "files_mapped_before_table"); ms_json_u64(j, u->misses);
	ms_json_key(j, "truncated_walks"); ms_json_u64(j, c->stats[MS_STAT_UNW_TRUNCATED]);
	ms_json_key(j, "frame_pointer_frames"); ms_json_u64(j, c->stats[MS_STAT_UNW_FP_FRAMES]);
	ms_json_key(j, "mapping_lookups"); ms_json_u64(j, c->stats[MS_STAT_UNW_VMA_MISS]);
	ms_json_key(j, "walks_skipped_busy"); ms_json_u64(j, c->stats[MS_STAT_UNW_BUSY]);
	ms_json_end_obj(j);
}

/* memcheck's LEAK SUMMARY, per class: <class>_bytes and <class>_blocks,
 * null when no leak check classified the blocks. */
static void reach_totals(struct ms_shape *sh)
{
	static const int cls[] = { MS_REACH_DEFINITE, MS_REACH_INDIRECT, MS_REACH_POSSIBLE,
				   MS_REACH_REACHABLE, MS_REACH_UNREADABLE };
	uint64_t blocks[MS_REACH_MAX], bytes[MS_REACH_MAX];
	int done = ms_report_classified(sh->c);
	struct ms_json *j = sh->j;
	char key[64];
	size_t i, k;

	ms_report_reach_totals(sh->c, blocks, bytes);
	for (i = 0; i < sizeof(cls) / sizeof(cls[0]); i++)
		for (k = 0; k < 2; k++) {
			snprintf(key, sizeof(key), "%s_%s", ms_reach_name(cls[i]), k ? "blocks" : "bytes");
			ms_json_key(j, key);
			ms_json_u64_or_null(j, done, (k ? blocks : bytes)[cls[i]]);
		}
}

void ms_shape_summary(struct ms_shape *sh)
{
	const struct ms_report_ctx *c = sh->c;
	const struct ms_summary *s = ms_registry_summary(c->reg);
	struct ms_json *j = sh->j;
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
	ms_json_key(j, "peak_time_ns"); ms_shape_time(sh, s->peak_time_ns);
	ms_json_key(j, "unknown_frees"); ms_json_u64(j, s->unknown_frees);
	ms_json_key(j, "internal_frees"); ms_json_u64(j, s->internal_frees);
	ms_json_key(j, "missed_allocs"); ms_json_u64(j, s->missed_allocs);
	ms_json_key(j, "untracked_allocs"); ms_json_u64(j, s->untracked_allocs);
	ms_json_key(j, "live_map_full"); ms_json_u64(j, c->stats[MS_STAT_LIVE_FULL]);
	ms_json_key(j, "stack_failures"); ms_json_u64(j, c->stats[MS_STAT_STACK_FAIL]);
	ms_json_key(j, "truncated_stacks"); ms_json_u64(j, s->truncated_stacks);
	shape_unwind(sh);
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
	ms_json_key(j, "execs"); ms_json_u64(j, s->execs);
	ms_json_key(j, "holds");
	ms_json_obj(j);
	ms_json_key(j, "count"); ms_json_u64(j, c->holds);
	ms_json_key(j, "failed"); ms_json_u64(j, c->stats[MS_STAT_HOLD_FAILED]);
	ms_json_key(j, "total_ms"); ms_json_dbl(j, c->hold_total_ns / 1e6);
	ms_json_key(j, "max_ms"); ms_json_dbl(j, c->hold_max_ns / 1e6);
	ms_json_end_obj(j);
	ms_json_key(j, "stack_depth"); ms_json_u64(j, (uint64_t)(c->stack_depth > 0 ? c->stack_depth : 0));
	ms_json_key(j, "stack_note"); ms_json_str(j, c->stack_note);
	cost_json(j, c);
	reach_totals(sh);
	ms_json_end_obj(j);
}

static const char *const lc_status[] = {
	[MS_LC_OFF] = "off", [MS_LC_DONE] = "done", [MS_LC_TIMEOUT] = "timeout",
	[MS_LC_KILLED] = "killed", [MS_LC_UNAVAILABLE] = "unavailable", [MS_LC_FAILED] = "failed",
};

void ms_shape_leak_check(struct ms_shape *sh)
{
	const struct ms_leak_check *lc = ms_registry_leak_check(sh->c->reg);
	int st = lc->status >= 0 && lc->status <= MS_LC_FAILED ? lc->status : MS_LC_FAILED;
	struct ms_json *j = sh->j;

	ms_json_key(j, "leak_check");
	ms_json_obj(j);
	ms_json_key(j, "status"); ms_json_str(j, lc_status[st]);
	ms_json_key(j, "when"); ms_json_str(j, lc->when[0] ? lc->when : NULL);
	ms_json_key(j, "signal");
	ms_json_u64_or_null(j, lc->sig != 0, (uint64_t)lc->sig);
	ms_json_key(j, "hold_ns"); ms_json_u64(j, lc->hold_ns);
	ms_json_key(j, "scan_ns"); ms_json_u64(j, lc->scan_ns);
	ms_json_key(j, "classify_ns"); ms_json_u64(j, lc->classify_ns);
	ms_json_key(j, "threads"); ms_json_u64(j, lc->threads);
	ms_json_key(j, "read_bytes"); ms_json_u64(j, lc->read_bytes);
	ms_json_key(j, "root_bytes"); ms_json_u64(j, lc->root_bytes);
	ms_json_key(j, "heap_bytes"); ms_json_u64(j, lc->heap_bytes);
	ms_json_key(j, "unreadable_bytes"); ms_json_u64(j, lc->unreadable_bytes);
	ms_json_key(j, "reads"); ms_json_u64(j, lc->syscalls);
	ms_json_key(j, "blocks"); ms_json_u64(j, lc->blocks);
	ms_json_key(j, "pointers"); ms_json_u64(j, lc->edges);
	ms_json_key(j, "attached"); ms_json_bool(j, lc->attached);
	ms_json_key(j, "classified"); ms_json_bool(j, lc->classified);
	ms_json_key(j, "note"); ms_json_str(j, lc->note[0] ? lc->note : NULL);
	ms_json_end_obj(j);
}

void ms_shape_execs(struct ms_shape *sh)
{
	const struct ms_report_ctx *c = sh->c;
	struct ms_json *j = sh->j;
	size_t n, i;
	const struct ms_exec *x = ms_registry_execs(c->reg, &n);

	ms_json_key(j, "execs");
	ms_json_arr(j);
	for (i = 0; i < n; i++) {
		ms_json_obj(j);
		ms_json_key(j, "pid"); ms_json_u64(j, x[i].pid);
		ms_json_key(j, "thread"); ms_json_u64(j, x[i].tid);
		ms_json_key(j, "time_ns"); ms_json_u64(j, ms_rel(c, x[i].ts_ns));
		ms_json_key(j, "scope"); ms_shape_id(sh, x[i].scope);
		ms_json_key(j, "task"); ms_shape_id(sh, x[i].task);
		ms_json_key(j, "exe"); ms_json_str(j, ms_registry_str(c->reg, x[i].path));
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
}

void ms_shape_temporaries(struct ms_shape *sh)
{
	const struct ms_summary *s = ms_registry_summary(sh->c->reg);
	struct ms_json *j = sh->j;

	ms_json_key(j, "temporaries");
	ms_json_obj(j);
	ms_json_key(j, "count"); ms_json_u64(j, s->temporaries);
	ms_json_key(j, "bytes"); ms_json_u64(j, s->temporary_bytes);
	ms_json_key(j, "threshold_ns"); ms_json_u64(j, 1000000);
	ms_json_end_obj(j);
}

void ms_shape_timeline(struct ms_shape *s)
{
	size_t n, i;
	const struct ms_point *p = ms_registry_timeline(s->c->reg, &n);

	/* At most MS_TIMELINE_MAX points: the registry halves its
	 * resolution rather than grow. */
	ms_json_key(s->j, "memory_timeline");
	ms_json_arr(s->j);
	for (i = 0; i < n; i++) {
		ms_json_arr(s->j);
		ms_json_u64(s->j, ms_rel(s->c, p[i].ts_ns));
		ms_json_u64(s->j, p[i].live_bytes);
		ms_json_end_arr(s->j);
	}
	ms_json_end_arr(s->j);
}

void ms_shape_hist(struct ms_shape *s, const char *key, const uint64_t *h)
{
	struct ms_json *j = s->j;
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

/* ---- stacks and frames ---------------------------------------------- */

void ms_shape_frame(struct ms_shape *s, const struct ms_frame *f)
{
	struct ms_json *j = s->j;

	ms_json_obj(j);
	ms_json_key(j, "function"); ms_json_str(j, f->function);
	ms_json_key(j, "file"); ms_json_str(j, f->file);
	ms_json_key(j, "line");
	ms_json_u64_or_null(j, f->line > 0, (uint64_t)f->line);
	ms_json_key(j, "module"); ms_json_str(j, f->module);
	ms_json_key(j, "offset"); ms_json_hex(j, f->offset);
	ms_json_key(j, "ip"); ms_json_hex(j, f->ip);
	if (f->inlined) {
		ms_json_key(j, "inlined");
		ms_json_bool(j, 1);
	}
	ms_json_end_obj(j);
}

/* Index of fr in the table, added if new; -1 when out of memory. Frames
 * are keyed by (pid, ip, place among the frames inlined at ip): `same`
 * frames before this one in the stack had the same ip. */
static int64_t intern(struct ms_frame_table *t, uint32_t pid, const struct ms_frame *fr, int same)
{
	uint64_t key = fr->ip ^ ((uint64_t)same << 56);
	uint64_t *k = ms_hm_get(&t->idx, pid, key);
	struct ms_frame *slot;

	if (k)
		return (int64_t)*k;
	if (MS_VEC_RESERVE(t->v, 1) || ms_hm_put(&t->idx, pid, key, t->v.n) ||
	    MS_VEC_PUSH(t->v, slot))
		return -1;
	*slot = *fr;
	return (int64_t)(t->v.n - 1);
}

void ms_shape_stack(struct ms_shape *s, uint32_t pid, int32_t stack_id, uint64_t caller)
{
	struct ms_frame fr[MS_REPORT_MAX_FRAMES];
	int n = ms_report_stack(s->c, pid, stack_id, caller, fr, MS_REPORT_MAX_FRAMES), i, same = 0;

	ms_json_arr(s->j);
	for (i = 0; i < n; i++) {
		int64_t k;

		if (!s->frames) {
			ms_shape_frame(s, &fr[i]);
			continue;
		}
		same = i && fr[i].ip == fr[i - 1].ip ? same + 1 : 0;
		k = intern(s->frames, pid, &fr[i], same);
		if (k >= 0)
			ms_json_u64(s->j, (uint64_t)k);
	}
	ms_json_end_arr(s->j);
}

void ms_shape_stack_keys(struct ms_shape *s, uint32_t pid, int32_t stack_id, uint64_t caller)
{
	const struct ms_stack *st = ms_registry_stack(s->c->reg, pid, stack_id);
	struct ms_json *j = s->j;

	ms_json_key(j, "stack");
	ms_shape_stack(s, pid, stack_id, caller);
	ms_json_key(j, "truncated");
	if (!st || st->end >= MS_UNW_END_MAX) {
		ms_json_null(j); /* the kernel's walk does not say */
	} else {
		ms_json_bool(j, ms_stack_truncated(st));
		if (ms_stack_truncated(st)) {
			ms_json_key(j, "truncated_reason");
			ms_json_str(j, ms_unw_end_name(st->end));
		}
	}
}

void ms_shape_frames(struct ms_shape *s, const char *key)
{
	size_t i;

	ms_json_key(s->j, key);
	ms_json_arr(s->j);
	for (i = 0; s->frames && i < s->frames->v.n; i++)
		ms_shape_frame(s, &s->frames->v.v[i]);
	ms_json_end_arr(s->j);
}

void ms_frame_table_free(struct ms_frame_table *t)
{
	ms_hm_free(&t->idx);
	MS_VEC_FREE(t->v);
}

/* ---- variables, tasks, blocks, sites, bad frees ----------------------- */

void ms_shape_var(struct ms_shape *sh, const struct ms_var *v)
{
	const struct ms_registry *reg = sh->c->reg;
	const struct ms_scope *s = ms_registry_scope(reg, v->scope);
	struct ms_json *j = sh->j;
	char tb[256];

	ms_json_key(j, "id"); ms_json_u64(j, v->id);
	ms_json_key(j, "name"); ms_json_str(j, ms_registry_str(reg, v->name));
	ms_json_key(j, "type");
	ms_json_str(j, ms_report_type(ms_registry_str(reg, v->type), v->size, tb, sizeof(tb)));
	ms_json_key(j, "size"); ms_json_u64(j, v->size);
	ms_json_key(j, "address"); ms_json_hex(j, v->addr);
	ms_json_key(j, "value");
	if (v->has_value)
		ms_json_hex(j, v->value);
	else
		ms_json_null(j);
	ms_json_key(j, "file"); ms_json_str(j, ms_registry_str(reg, v->file));
	ms_json_key(j, "line"); ms_json_u64(j, v->line);
	ms_json_key(j, "pid"); ms_json_u64(j, v->pid);
	ms_json_key(j, "thread"); ms_json_u64(j, v->tid);
	ms_json_key(j, "scope"); ms_shape_id(sh, v->scope);
	ms_json_key(j, "task"); ms_shape_id(sh, v->task);
	ms_json_key(j, "first_seen_ns"); ms_json_u64(j, ms_rel(sh->c, v->first_ns));
	ms_json_key(j, "scope_exit_ns"); ms_shape_time(sh, s ? s->exit_ns : 0);
	ms_json_key(j, "heap");
	if (v->has_heap) {
		ms_json_obj(j);
		ms_json_key(j, "address"); ms_json_hex(j, v->heap_addr);
		ms_json_key(j, "size"); ms_json_u64(j, v->heap_size);
		ms_json_key(j, "freed_ns"); ms_shape_time(sh, v->heap_freed_ns);
		ms_json_end_obj(j);
	} else {
		ms_json_null(j);
	}
}

int ms_task_leaks_has(const struct ms_task_leaks *tl, const struct ms_block *b)
{
	uint64_t *end;

	if (!b->used || !b->task)
		return 0;
	end = ms_hm_get(&tl->ended, b->pid, b->task);
	return end && *end >= b->ts_ns;
}

void ms_task_leaks_init(struct ms_task_leaks *tl, const struct ms_report_ctx *c)
{
	size_t nt, nb, i;
	const struct ms_task *t = ms_registry_tasks(c->reg, &nt);
	const struct ms_block *b = ms_registry_blocks(c->reg, &nb);

	memset(tl, 0, sizeof(*tl));
	for (i = 0; i < nt; i++)
		if (t[i].ended_ns)
			ms_hm_put(&tl->ended, t[i].pid, t[i].id, t[i].ended_ns);
	for (i = 0; i < nb; i++) {
		uint64_t *v;

		if (!ms_task_leaks_has(tl, &b[i]))
			continue;
		v = ms_hm_get(&tl->count, b[i].pid, b[i].task);
		ms_hm_put(&tl->count, b[i].pid, b[i].task, (v ? *v : 0) + 1);
		v = ms_hm_get(&tl->bytes, b[i].pid, b[i].task);
		ms_hm_put(&tl->bytes, b[i].pid, b[i].task, (v ? *v : 0) + b[i].size);
	}
}

void ms_task_leaks_free(struct ms_task_leaks *tl)
{
	ms_hm_free(&tl->ended);
	ms_hm_free(&tl->count);
	ms_hm_free(&tl->bytes);
}

void ms_shape_traffic(struct ms_shape *s, uint64_t allocs, uint64_t alloc_bytes, uint64_t frees,
		      uint64_t freed_bytes)
{
	ms_json_key(s->j, "allocs"); ms_json_u64(s->j, allocs);
	ms_json_key(s->j, "alloc_bytes"); ms_json_u64(s->j, alloc_bytes);
	ms_json_key(s->j, "frees"); ms_json_u64(s->j, frees);
	ms_json_key(s->j, "freed_bytes"); ms_json_u64(s->j, freed_bytes);
}

void ms_shape_task(struct ms_shape *s, const struct ms_task *t, const struct ms_task_leaks *tl)
{
	struct ms_json *j = s->j;
	uint64_t *lc = t->ended_ns ? ms_hm_get(&tl->count, t->pid, t->id) : NULL;
	uint64_t *lb = t->ended_ns ? ms_hm_get(&tl->bytes, t->pid, t->id) : NULL;
	uint32_t k;

	ms_json_key(j, "id"); ms_json_u64(j, t->id);
	ms_json_key(j, "name"); ms_json_str(j, ms_registry_str(s->c->reg, t->name));
	ms_json_key(j, "parent"); ms_shape_id(s, t->parent);
	ms_json_key(j, "pid"); ms_json_u64(j, t->pid);
	ms_json_key(j, "threads");
	ms_json_arr(j);
	for (k = 0; k < t->nthreads && k < MS_TASK_THREADS; k++)
		ms_json_u64(j, t->threads[k]);
	ms_json_end_arr(j);
	ms_json_key(j, "first_ns"); ms_shape_time(s, t->first_ns);
	ms_json_key(j, "last_ns"); ms_shape_time(s, t->last_ns);
	ms_json_key(j, "ended_ns"); ms_shape_time(s, t->ended_ns);
	ms_shape_traffic(s, t->allocs, t->alloc_bytes, t->frees, t->freed_bytes);
	ms_json_key(j, "peak_live_bytes"); ms_json_u64(j, t->peak_live_bytes);
	ms_json_key(j, "live_bytes"); ms_json_u64(j, t->live_bytes);
	ms_json_key(j, "variables"); ms_json_u64(j, t->nvars);
	ms_json_key(j, "leaks"); ms_json_u64(j, lc ? *lc : 0);
	ms_json_key(j, "leaked_bytes"); ms_json_u64(j, lb ? *lb : 0);
}

void ms_shape_block(struct ms_shape *s, const struct ms_block *b)
{
	const struct ms_var *v = ms_registry_block_var(s->c->reg, b);
	struct ms_json *j = s->j;

	ms_json_key(j, "address"); ms_json_hex(j, b->addr);
	ms_json_key(j, "size"); ms_json_u64(j, b->size);
	ms_json_key(j, "kind"); ms_json_str(j, ms_kind_name(b->kind));
	ms_json_key(j, "variable"); ms_json_str(j, v ? ms_registry_str(s->c->reg, v->name) : NULL);
	ms_json_key(j, "pid"); ms_json_u64(j, b->pid);
	ms_json_key(j, "thread"); ms_json_u64(j, b->tid);
	ms_json_key(j, "scope"); ms_shape_id(s, b->scope);
	ms_json_key(j, "task"); ms_shape_id(s, b->task);
	ms_json_key(j, "allocated_ns"); ms_json_u64(j, ms_rel(s->c, b->ts_ns));
	ms_json_key(j, "reachability"); ms_json_str(j, ms_report_reach(b));
	if (MS_BLOCK_REACH(b) == MS_REACH_DEFINITE) {
		ms_json_key(j, "indirect_bytes");
		ms_json_u64(j, ms_registry_block_indirect(s->c->reg, b));
	}
	if (MS_BLOCK_HEUR(b)) {
		ms_json_key(j, "reachable_via");
		ms_json_str(j, ms_reach_heur_name(MS_BLOCK_HEUR(b)));
	}
	ms_shape_stack_keys(s, b->pid, b->stack_id, 0);
}

void ms_shape_site(struct ms_shape *s, const struct ms_leak_site *ls)
{
	struct ms_json *j = s->j;
	unsigned q;

	ms_json_key(j, "count"); ms_json_u64(j, ls->count);
	ms_json_key(j, "bytes"); ms_json_u64(j, ls->bytes);
	ms_json_key(j, "reachability"); ms_json_str(j, ms_reach_name(ls->reach));
	ms_json_key(j, "variables");
	ms_json_arr(j);
	for (q = 0; q < ls->nvars; q++)
		ms_json_str(j, ls->vars[q]);
	ms_json_end_arr(j);
	ms_shape_stack_keys(s, ls->pid, ls->stack_id, 0);
}

void ms_shape_bad_free(struct ms_shape *s, const struct ms_bad_free *f)
{
	struct ms_json *j = s->j;

	ms_json_key(j, "address"); ms_json_hex(j, f->addr);
	ms_json_key(j, "kind"); ms_json_str(j, ms_kind_name(f->kind));
	ms_json_key(j, "pid"); ms_json_u64(j, f->pid);
	ms_json_key(j, "thread"); ms_json_u64(j, f->tid);
	ms_json_key(j, "scope"); ms_shape_id(s, f->scope);
	ms_json_key(j, "task"); ms_shape_id(s, f->task);
	ms_json_key(j, "time_ns"); ms_json_u64(j, ms_rel(s->c, f->ts_ns));
	if (f->is_double) {
		ms_json_key(j, "first_free_ns");
		ms_shape_time(s, f->first_free_ns);
	}
	ms_shape_stack_keys(s, f->pid, f->stack_id, f->caller);
}
