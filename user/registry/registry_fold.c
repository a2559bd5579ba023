/* SPDX-License-Identifier: BSD-3-Clause */
/* registry_fold.c - bounded memory for long traces: once more than 2 x keep
 * variables, scopes or tasks are held, the oldest ended ones fold into
 * per-(kind, name, file, line) aggregates and leave the arrays. Records
 * that something live still points to (a variable naming a live block, an
 * open scope, a task with live bytes) are never folded. Amortized O(1) per
 * record: a compaction of n records happens once per n new ones. */
#include <stdlib.h>
#include <string.h>
#include "registry/registry_int.h"

/* Aggregates are bounded too: past this many, records with yet another
 * name (10^6 distinct task names) share one aggregate with no name. */
#define MAX_AGGS 10000

static struct ms_agg *agg_of(struct ms_registry *r, int kind, uint32_t name, uint32_t file,
			     uint32_t line)
{
	uint64_t a = ((uint64_t)kind << 32) | name, b = ((uint64_t)file << 32) | line, *i;
	struct ms_agg *g;

	if (r->aggs.n >= MAX_AGGS && !ms_hm_get(&r->agg_idx, a, b)) {
		name = file = line = 0;
		a = (uint64_t)kind << 32;
		b = 0;
	}
	i = ms_hm_get(&r->agg_idx, a, b);
	if (i)
		return &r->aggs.v[*i];
	if (MS_VEC_PUSH(r->aggs, g))
		return NULL;
	memset(g, 0, sizeof(*g));
	g->kind = kind;
	g->name = name;
	g->file = file;
	g->line = line;
	if (ms_hm_put(&r->agg_idx, a, b, r->aggs.n - 1)) {
		r->aggs.n--;
		return NULL;
	}
	return g;
}

static void agg_add(struct ms_agg *g, uint64_t bytes, uint64_t allocs, uint64_t life,
		    uint64_t first, uint64_t last)
{
	g->count++;
	g->bytes += bytes;
	g->allocs += allocs;
	g->total_ns += life;
	if (!g->first_ns || (first && first < g->first_ns))
		g->first_ns = first;
	if (last > g->last_ns)
		g->last_ns = last;
}

static int var_ended(struct ms_registry *r, const struct ms_var *v)
{
	const struct ms_scope *s = ms_reg_scope(r, v->scope);

	if (v->has_heap && !v->heap_freed_ns)
		return 0;
	return !v->scope || !s || s->exit_ns;
}

static void fold_vars(struct ms_registry *r)
{
	size_t i, j = 0, excess = r->vars.n - r->opts.keep;
	int64_t *map = malloc(r->vars.n * sizeof(*map));

	if (!map)
		return;
	for (i = 0; i < r->vars.n; i++) {
		struct ms_var *v = &r->vars.v[i];
		struct ms_agg *g;

		if (excess && var_ended(r, v) && (g = agg_of(r, 0, v->name, v->file, v->line))) {
			agg_add(g, v->size, 0, 0, v->first_ns, v->first_ns);
			g->heap_bytes += v->has_heap ? v->heap_size : 0;
			map[i] = -1;
			excess--;
			r->sum.folded_vars++;
			continue;
		}
		map[i] = (int64_t)j;
		r->vars.v[j++] = *v;
	}
	r->vars.n = j;
	/* blocks name their variable by index */
	for (i = 0; i < r->blocks.n; i++)
		if (r->blocks.v[i].used && r->blocks.v[i].var >= 0)
			r->blocks.v[i].var = map[r->blocks.v[i].var];
	free(map);
}

static void fold_scopes(struct ms_registry *r)
{
	size_t i, j = 0, excess = r->scopes.n - r->opts.keep;

	for (i = 0; i < r->scopes.n; i++) {
		struct ms_scope *s = &r->scopes.v[i];
		struct ms_agg *g;

		if (excess && s->exit_ns && (g = agg_of(r, 1, s->name, s->file, s->line))) {
			agg_add(g, s->alloc_bytes, s->allocs, s->exit_ns - s->enter_ns, s->enter_ns,
				s->exit_ns);
			excess--;
			r->sum.folded_scopes++;
			continue;
		}
		r->scopes.v[j++] = *s;
	}
	r->scopes.n = j;
	ms_hm_free(&r->scope_idx);
	for (i = 0; i < r->scopes.n; i++)
		ms_hm_put(&r->scope_idx, r->scopes.v[i].id, 0, i);
}

/* A task's name as an aggregate key, in the shared string table: added
 * there only while aggregates may still be created (at most MAX_AGGS
 * names), else only found (0: the nameless shared aggregate). */
static uint32_t agg_task_name(struct ms_registry *r, uint32_t name)
{
	const char *s = ms_registry_str(r, name);

	if (!s)
		return 0;
	if (r->aggs.n < MAX_AGGS)
		return ms_reg_intern(r, s, strlen(s));
	return ms_str_find(&r->strs, s, strlen(s));
}

/* Rebuild the task-name table from the tasks still held, once it holds
 * much more than they need: names of folded tasks go away. */
static void tnames_compact(struct ms_registry *r)
{
	struct ms_strtab nt = { 0 };
	size_t i;

	if (r->tnames.len < 65536 || r->tnames.len < 4 * 32 * r->tasks.n)
		return;
	for (i = 0; i < r->tasks.n; i++) {
		struct ms_task *t = &r->tasks.v[i];
		const char *s = (t->name & MS_TNAME) ? ms_registry_str(r, t->name) : NULL;
		uint32_t off;

		if (!s)
			continue;
		off = ms_str_intern(&nt, s, strlen(s));
		t->name = off ? MS_TNAME | off : 0;
	}
	ms_strtab_free(&r->tnames);
	r->tnames = nt;
}

static void fold_tasks(struct ms_registry *r)
{
	size_t i, j = 0, excess = r->tasks.n - r->opts.keep;

	for (i = 0; i < r->tasks.n; i++) {
		struct ms_task *t = &r->tasks.v[i];
		struct ms_agg *g;

		if (excess && t->ended_ns && !t->live_bytes &&
		    (g = agg_of(r, 2, agg_task_name(r, t->name), 0, 0))) {
			agg_add(g, t->alloc_bytes, t->allocs,
				t->ended_ns > t->first_ns ? t->ended_ns - t->first_ns : 0, t->first_ns,
				t->ended_ns);
			excess--;
			r->sum.folded_tasks++;
			continue;
		}
		r->tasks.v[j++] = *t;
	}
	r->tasks.n = j;
	ms_hm_free(&r->task_idx);
	for (i = 0; i < r->tasks.n; i++)
		ms_hm_put(&r->task_idx, r->tasks.v[i].pid, r->tasks.v[i].id, i);
	tnames_compact(r);
}

/* Next compaction when the array doubles from what a compaction left:
 * if most records cannot fold (10^5 scopes still open), compacting on every
 * new record would be quadratic. */
static size_t next_at(size_t keep, size_t n)
{
	return 2 * (n > keep ? n : keep);
}

void ms_reg_fold_maybe(struct ms_registry *r)
{
	size_t k = r->opts.keep;

	if (r->vars.n > (r->fold_at[0] ? r->fold_at[0] : 2 * k)) {
		fold_vars(r);
		r->fold_at[0] = next_at(k, r->vars.n);
	}
	if (r->scopes.n > (r->fold_at[1] ? r->fold_at[1] : 2 * k)) {
		fold_scopes(r);
		r->fold_at[1] = next_at(k, r->scopes.n);
	}
	if (r->tasks.n > (r->fold_at[2] ? r->fold_at[2] : 2 * k)) {
		fold_tasks(r);
		r->fold_at[2] = next_at(k, r->tasks.n);
	}
}

void ms_reg_fold_free(struct ms_registry *r)
{
	free(r->aggs.v);
	ms_hm_free(&r->agg_idx);
}

const struct ms_agg *ms_registry_aggs(const struct ms_registry *r, size_t *n)
{
	*n = r->aggs.n;
	return r->aggs.v;
}

void ms_registry_fold_now(struct ms_registry *r)
{
	if (r->vars.n > r->opts.keep)
		fold_vars(r);
	if (r->scopes.n > r->opts.keep)
		fold_scopes(r);
	if (r->tasks.n > r->opts.keep)
		fold_tasks(r);
}
