/* report_html.c - the HTML dashboard: one self-contained page (inline CSS,
 * JS and SVG charts, no network) that a person opens in a browser.
 *
 * The C side writes the data as JSON inside
 * <script type="application/json" id="data">; ms_json_escape turns < > &
 * into \u escapes, so no name from the target can close that element. The
 * page's script builds every element with textContent and setAttribute,
 * never with innerHTML, so target-supplied text (variable, type, scope,
 * task, file and symbol names) is never parsed as markup.
 *
 * The page itself is three real files, user/report/html/page.html, page.css
 * and page.js, embedded at build time by scripts/embed.sh (html_page.h in
 * the build's output folder): the template has a marker where each of the
 * style, the data and the script goes.
 *
 * Size: totals are exact, but lists are capped to their largest entries
 * (TOP_* below) and leaks are grouped by allocation site, so a trace with
 * 100,000 live blocks gives a page of a few MB at most. Frames are
 * interned: stacks are arrays of indices into one "frames" table. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "util/json.h"
#include "report/report_out.h"
#include "util/vec.h"
#include "html_page.h"

#define TOP_SITES 500       /* allocation sites, by bytes allocated */
#define TOP_LEAK_SITES 500  /* leak (or live) sites, by bytes */
#define TOP_BLOCKS 1000     /* largest live blocks */
#define TOP_VARS 1000       /* largest variables */
#define TOP_TASKS 2000      /* tasks, by bytes allocated */
#define TOP_SCOPE_NODES 5000 /* scope-tree nodes, by bytes allocated */
#define TOP_BAD 500         /* invalid and double frees */
#define STACK_FRAMES 32     /* frames per stack */
#define SITE_VARS 8         /* variable names listed per leak site */

struct html {
	struct ms_json j;
	const struct ms_report_ctx *c;
	struct ms_hashmap frame_idx; /* (pid, ip) -> index into frames */
	MS_VEC(struct ms_frame) frames;
	struct ms_hashmap task_idx;  /* (pid, task id) -> index into tasks */
};

/* An index ranked by a key, for the "largest N" lists. */
struct rank {
	uint64_t key;
	size_t i;
};

static int by_key_desc(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? 1 : -1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void sort_ranks(struct rank *r, size_t n)
{
	if (n > 1)
		qsort(r, n, sizeof(*r), by_key_desc);
}

static void rel_or_null(struct html *h, uint64_t ts)
{
	if (ts)
		ms_json_u64(&h->j, ms_rel(h->c, ts));
	else
		ms_json_null(&h->j);
}

static const char *scope_name(struct html *h, uint64_t id)
{
	const struct ms_scope *s = ms_registry_scope(h->c->reg, id);

	return s ? ms_registry_str(h->c->reg, s->name) : NULL;
}

static const char *task_name(struct html *h, uint32_t pid, uint64_t id)
{
	size_t n;
	const struct ms_task *t = ms_registry_tasks(h->c->reg, &n);
	uint64_t *i = id ? ms_hm_get(&h->task_idx, pid, id) : NULL;

	return i && *i < n ? ms_registry_str(h->c->reg, t[*i].name) : NULL;
}

/* A stack as indices into the frame table; new frames are added to it.
 * On ENOMEM a frame is left out rather than the report lost. */
static void stack_json(struct html *h, uint32_t pid, int32_t stack_id, uint64_t caller)
{
	struct ms_frame fr[STACK_FRAMES];
	int n = ms_report_stack(h->c, pid, stack_id, caller, fr, STACK_FRAMES), i;

	ms_json_arr(&h->j);
	for (i = 0; i < n; i++) {
		uint64_t *k = ms_hm_get(&h->frame_idx, pid, fr[i].ip);

		if (!k) {
			struct ms_frame *slot;

			if (MS_VEC_RESERVE(h->frames, 1) ||
			    ms_hm_put(&h->frame_idx, pid, fr[i].ip, h->frames.n) ||
			    MS_VEC_PUSH(h->frames, slot))
				continue;
			*slot = fr[i];
			k = ms_hm_get(&h->frame_idx, pid, fr[i].ip);
		}
		ms_json_u64(&h->j, *k);
	}
	ms_json_end_arr(&h->j);
}

static void frames_json(struct html *h)
{
	struct ms_json *j = &h->j;
	size_t i;

	ms_json_key(j, "frames");
	ms_json_arr(j);
	for (i = 0; i < h->frames.n; i++) {
		const struct ms_frame *f = &h->frames.v[i];

		ms_json_obj(j);
		ms_json_key(j, "function"); ms_json_str(j, f->function);
		ms_json_key(j, "file"); ms_json_str(j, f->file);
		ms_json_key(j, "line"); ms_json_u64(j, f->line > 0 ? (uint64_t)f->line : 0);
		ms_json_key(j, "module"); ms_json_str(j, f->module);
		ms_json_key(j, "offset"); ms_json_hex(j, f->offset);
		ms_json_key(j, "ip"); ms_json_hex(j, f->ip);
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
}

static void meta_json(struct html *h)
{
	const struct ms_report_ctx *c = h->c;
	struct ms_json *j = &h->j;

	ms_json_key(j, "meta");
	ms_json_obj(j);
	ms_json_key(j, "tool"); ms_json_str(j, "memscope-trace");
	ms_json_key(j, "exe"); ms_json_str(j, c->exe);
	ms_json_key(j, "pid"); ms_json_u64(j, (uint64_t)c->pid);
	ms_json_key(j, "mode"); ms_json_str(j, c->mode);
	ms_json_key(j, "stop_reason"); ms_json_str(j, c->stop_reason);
	ms_json_key(j, "traced_from_start"); ms_json_bool(j, c->from_start);
	ms_json_key(j, "exited"); ms_json_bool(j, c->target_exited);
	ms_json_key(j, "exit_code");
	if (c->target_exited && (c->exit_status & 0x7f) == 0)
		ms_json_u64(j, (uint64_t)((c->exit_status >> 8) & 0xff));
	else
		ms_json_null(j);
	ms_json_key(j, "signal");
	if (c->target_exited && (c->exit_status & 0x7f))
		ms_json_u64(j, (uint64_t)(c->exit_status & 0x7f));
	else
		ms_json_null(j);
	ms_json_key(j, "duration_ns");
	ms_json_u64(j, c->end_ns > c->start_ns ? c->end_ns - c->start_ns : 0);
	ms_json_end_obj(j);
}

/* The same figures, under the same names, as the JSON report's summary:
 * the page's cards are checked against it. */
static void summary_json(struct html *h)
{
	const struct ms_report_ctx *c = h->c;
	const struct ms_summary *s = ms_registry_summary(c->reg);
	struct ms_json *j = &h->j;
	size_t nv, ns, nt, nb, i, dbl = 0;
	const struct ms_bad_free *b = ms_registry_bad_frees(c->reg, &nb);

	ms_registry_vars(c->reg, &nv);
	ms_registry_scopes(c->reg, &ns);
	ms_registry_tasks(c->reg, &nt);
	for (i = 0; i < nb; i++)
		dbl += b[i].is_double != 0;
	ms_json_key(j, "summary");
	ms_json_obj(j);
	ms_json_key(j, "variables"); ms_json_u64(j, nv);
	ms_json_key(j, "scopes"); ms_json_u64(j, ns);
	ms_json_key(j, "tasks"); ms_json_u64(j, nt);
	ms_json_key(j, "dropped_events"); ms_json_u64(j, c->stats[MS_STAT_DROPPED]);
	ms_json_key(j, "events"); ms_json_u64(j, s->records);
	ms_json_key(j, "allocs"); ms_json_u64(j, s->allocs);
	ms_json_key(j, "frees"); ms_json_u64(j, s->frees);
	ms_json_key(j, "alloc_bytes"); ms_json_u64(j, s->alloc_bytes);
	ms_json_key(j, "freed_bytes"); ms_json_u64(j, s->freed_bytes);
	ms_json_key(j, "live_allocs"); ms_json_u64(j, s->live_allocs);
	ms_json_key(j, "live_bytes"); ms_json_u64(j, s->live_bytes);
	ms_json_key(j, "peak_live_bytes"); ms_json_u64(j, s->peak_live_bytes);
	ms_json_key(j, "peak_time_ns"); rel_or_null(h, s->peak_time_ns);
	ms_json_key(j, "temporaries"); ms_json_u64(j, s->temporaries);
	ms_json_key(j, "temporary_bytes"); ms_json_u64(j, s->temporary_bytes);
	ms_json_key(j, "invalid_frees"); ms_json_u64(j, nb - dbl);
	ms_json_key(j, "double_frees"); ms_json_u64(j, dbl);
	ms_json_key(j, "unknown_frees"); ms_json_u64(j, s->unknown_frees);
	ms_json_key(j, "missed_allocs"); ms_json_u64(j, s->missed_allocs);
	ms_json_key(j, "untracked_allocs"); ms_json_u64(j, s->untracked_allocs);
	ms_json_key(j, "live_map_full"); ms_json_u64(j, c->stats[MS_STAT_LIVE_FULL]);
	ms_json_key(j, "stack_failures"); ms_json_u64(j, c->stats[MS_STAT_STACK_FAIL]);
	ms_json_key(j, "unmatched_scope_exits"); ms_json_u64(j, s->unmatched_scope_exits);
	ms_json_key(j, "string_faults"); ms_json_u64(j, s->string_faults);
	ms_json_key(j, "bad_records"); ms_json_u64(j, s->bad_records);
	ms_json_key(j, "snapshots"); ms_json_u64(j, s->snapshots);
	ms_json_end_obj(j);
}

static void timeline_json(struct html *h)
{
	size_t n, i;
	const struct ms_point *p = ms_registry_timeline(h->c->reg, &n);

	/* At most MS_TIMELINE_MAX points: the registry halves its
	 * resolution rather than grow. */
	ms_json_key(&h->j, "timeline");
	ms_json_arr(&h->j);
	for (i = 0; i < n; i++) {
		ms_json_arr(&h->j);
		ms_json_u64(&h->j, ms_rel(h->c, p[i].ts_ns));
		ms_json_u64(&h->j, p[i].live_bytes);
		ms_json_end_arr(&h->j);
	}
	ms_json_end_arr(&h->j);
}

/* Opens {"total": n, "rows": [ ; the caller writes the rows and closes. */
static void list_begin(struct html *h, const char *key, size_t total)
{
	ms_json_key(&h->j, key);
	ms_json_obj(&h->j);
	ms_json_key(&h->j, "total"); ms_json_u64(&h->j, total);
	ms_json_key(&h->j, "rows");
	ms_json_arr(&h->j);
}

static void list_end(struct html *h)
{
	ms_json_end_arr(&h->j);
	ms_json_end_obj(&h->j);
}

static void sites_json(struct html *h)
{
	struct ms_json *j = &h->j;
	size_t n, i, k = 0;
	const struct ms_site *s = ms_registry_sites(h->c->reg, &n);
	struct rank *r = malloc((n ? n : 1) * sizeof(*r));

	for (i = 0; r && i < n; i++)
		if (s[i].allocs || s[i].live)
			r[k++] = (struct rank){ s[i].alloc_bytes ? s[i].alloc_bytes : s[i].live_bytes, i };
	sort_ranks(r, k);
	list_begin(h, "sites", k);
	for (i = 0; i < k && i < TOP_SITES; i++) {
		const struct ms_site *x = &s[r[i].i];

		ms_json_obj(j);
		ms_json_key(j, "allocs"); ms_json_u64(j, x->allocs);
		ms_json_key(j, "alloc_bytes"); ms_json_u64(j, x->alloc_bytes);
		ms_json_key(j, "frees"); ms_json_u64(j, x->frees);
		ms_json_key(j, "freed_bytes"); ms_json_u64(j, x->freed_bytes);
		ms_json_key(j, "live"); ms_json_u64(j, x->live);
		ms_json_key(j, "live_bytes"); ms_json_u64(j, x->live_bytes);
		ms_json_key(j, "temporaries"); ms_json_u64(j, x->temp);
		ms_json_key(j, "pid"); ms_json_u64(j, x->pid);
		ms_json_key(j, "stack"); stack_json(h, x->pid, x->stack_id, 0);
		ms_json_end_obj(j);
	}
	list_end(h);
	free(r);
}

static void vars_json(struct html *h)
{
	struct ms_json *j = &h->j;
	size_t n, i;
	const struct ms_var *v = ms_registry_vars(h->c->reg, &n);
	struct rank *r = malloc((n ? n : 1) * sizeof(*r));
	char tb[256];

	for (i = 0; r && i < n; i++)
		r[i] = (struct rank){ v[i].has_heap && v[i].heap_size > v[i].size ? v[i].heap_size : v[i].size, i };
	if (r)
		sort_ranks(r, n);
	list_begin(h, "variables", n);
	for (i = 0; r && i < n && i < TOP_VARS; i++) {
		const struct ms_var *x = &v[r[i].i];
		const struct ms_scope *s = ms_registry_scope(h->c->reg, x->scope);

		ms_json_obj(j);
		ms_json_key(j, "id"); ms_json_u64(j, x->id);
		ms_json_key(j, "name"); ms_json_str(j, ms_registry_str(h->c->reg, x->name));
		ms_json_key(j, "type");
		ms_json_str(j, ms_report_type(ms_registry_str(h->c->reg, x->type), x->size, tb, sizeof(tb)));
		ms_json_key(j, "size"); ms_json_u64(j, x->size);
		ms_json_key(j, "address"); ms_json_hex(j, x->addr);
		ms_json_key(j, "file"); ms_json_str(j, ms_registry_str(h->c->reg, x->file));
		ms_json_key(j, "line"); ms_json_u64(j, x->line);
		ms_json_key(j, "pid"); ms_json_u64(j, x->pid);
		ms_json_key(j, "thread"); ms_json_u64(j, x->tid);
		ms_json_key(j, "scope"); ms_json_str(j, s ? ms_registry_str(h->c->reg, s->name) : NULL);
		ms_json_key(j, "task"); ms_json_u64(j, x->task);
		ms_json_key(j, "task_name"); ms_json_str(j, task_name(h, x->pid, x->task));
		ms_json_key(j, "first_seen_ns"); ms_json_u64(j, ms_rel(h->c, x->first_ns));
		ms_json_key(j, "scope_exit_ns"); rel_or_null(h, s ? s->exit_ns : 0);
		ms_json_key(j, "heap");
		if (x->has_heap) {
			ms_json_obj(j);
			ms_json_key(j, "address"); ms_json_hex(j, x->heap_addr);
			ms_json_key(j, "size"); ms_json_u64(j, x->heap_size);
			ms_json_key(j, "freed_ns"); rel_or_null(h, x->heap_freed_ns);
			ms_json_end_obj(j);
		} else {
			ms_json_null(j);
		}
		ms_json_end_obj(j);
	}
	list_end(h);
	free(r);
}

/* ---- the page ---------------------------------------------------------- */

/* Write template t up to `mark` and return what follows the mark (all of
 * t and its end if there is no such mark). */
static const char *put_until(FILE *f, const char *t, const char *mark)
{
	const char *m = strstr(t, mark);
	size_t n = m ? (size_t)(m - t) : strlen(t);

	fwrite(t, 1, n, f);
	return m ? m + strlen(mark) : t + n;
}

/* Scope tree: scopes merged by call path (parent node, name, file, line),
 * so a scope entered a million times in a loop is one node with count
 * 1000000. Scopes come in id order, which is entry order, so a parent's
 * node exists before its children's. */
struct snode {
	int64_t parent; /* node index, -1 = root */
	uint32_t name, file, line;
	uint64_t count, open, allocs, alloc_bytes, live_bytes, live_at_exit, dur_ns, vars;
	uint64_t total_bytes, total_live; /* with descendants */
	int64_t out;    /* row in the page, -1 = left out */
};

static void scope_tree_json(struct html *h)
{
	const struct ms_summary *sum = ms_registry_summary(h->c->reg);
	struct ms_json *j = &h->j;
	struct ms_hashmap by_path = { 0 };
	MS_VEC(struct snode) tree = { 0 };
	struct snode *nd;
	struct rank *r = NULL;
	size_t n, i, nn = 0, rows = 0;
	const struct ms_scope *s = ms_registry_scopes(h->c->reg, &n);
	/* node of each scope, by its index in s[] */
	size_t *node_of = malloc((n ? n : 1) * sizeof(*node_of));
	uint64_t end = h->c->end_ns > sum->last_ns ? h->c->end_ns : sum->last_ns;

	for (i = 0; node_of && i < n; i++) {
		const struct ms_scope *ps = s[i].parent ? ms_registry_scope(h->c->reg, s[i].parent) : NULL;
		/* a parent not seen before its child (its enter was dropped)
		 * makes the child a root */
		int64_t parent = ps && ps >= s && ps < s + i ? (int64_t)node_of[ps - s] : -1;
		/* line is folded into the high bits: a collision only merges
		 * two nodes with the same name and file */
		uint64_t a = (uint64_t)(parent + 1) | ((uint64_t)s[i].line << 40);
		uint64_t b = s[i].name | ((uint64_t)s[i].file << 32);
		uint64_t *k = ms_hm_get(&by_path, a, b), idx, exit;
		struct snode *x;

		if (!k) {
			if (MS_VEC_RESERVE(tree, 1) || ms_hm_put(&by_path, a, b, tree.n) ||
			    MS_VEC_PUSH(tree, x))
				break;
			*x = (struct snode){ .parent = parent, .name = s[i].name,
					     .file = s[i].file, .line = s[i].line };
			idx = tree.n - 1;
		} else {
			idx = *k;
		}
		node_of[i] = idx;
		x = &tree.v[idx];
		exit = s[i].exit_ns ? s[i].exit_ns : end;
		x->count++;
		x->open += !s[i].exit_ns;
		x->allocs += s[i].allocs;
		x->alloc_bytes += s[i].alloc_bytes;
		x->live_bytes += s[i].live_bytes;
		x->live_at_exit += s[i].exit_ns ? s[i].live_bytes_at_exit : 0;
		x->dur_ns += exit > s[i].enter_ns ? exit - s[i].enter_ns : 0;
		x->vars += s[i].nvars;
	}
	nd = tree.v;
	nn = tree.n;
	/* Children have higher indices than their parents: one backward pass
	 * adds each subtree into its parent. */
	for (i = nn; i-- > 0;) {
		nd[i].total_bytes += nd[i].alloc_bytes;
		nd[i].total_live += nd[i].live_bytes;
		if (nd[i].parent >= 0) {
			nd[nd[i].parent].total_bytes += nd[i].total_bytes;
			nd[nd[i].parent].total_live += nd[i].total_live;
		}
		nd[i].out = -1;
	}
	/* Keep the largest subtrees. A parent's total is at least its child's
	 * and ties go to the lower index, so the kept set includes every kept
	 * node's ancestors. */
	r = malloc((nn ? nn : 1) * sizeof(*r));
	for (i = 0; r && i < nn; i++)
		r[i] = (struct rank){ nd[i].total_bytes, i };
	if (r)
		sort_ranks(r, nn);
	for (i = 0; r && i < nn && i < TOP_SCOPE_NODES; i++)
		nd[r[i].i].out = 0;
	ms_json_key(j, "scope_tree");
	ms_json_obj(j);
	ms_json_key(j, "scopes"); ms_json_u64(j, n);
	ms_json_key(j, "total"); ms_json_u64(j, nn);
	ms_json_key(j, "rows");
	ms_json_arr(j);
	for (i = 0; i < nn; i++) {
		if (nd[i].out < 0)
			continue;
		nd[i].out = (int64_t)rows++;
		ms_json_obj(j);
		ms_json_key(j, "parent");
		ms_json_i64(j, nd[i].parent >= 0 ? nd[nd[i].parent].out : -1);
		ms_json_key(j, "name"); ms_json_str(j, ms_registry_str(h->c->reg, nd[i].name));
		ms_json_key(j, "file"); ms_json_str(j, ms_registry_str(h->c->reg, nd[i].file));
		ms_json_key(j, "line"); ms_json_u64(j, nd[i].line);
		ms_json_key(j, "count"); ms_json_u64(j, nd[i].count);
		ms_json_key(j, "open"); ms_json_u64(j, nd[i].open);
		ms_json_key(j, "allocs"); ms_json_u64(j, nd[i].allocs);
		ms_json_key(j, "alloc_bytes"); ms_json_u64(j, nd[i].alloc_bytes);
		ms_json_key(j, "total_bytes"); ms_json_u64(j, nd[i].total_bytes);
		ms_json_key(j, "live_bytes"); ms_json_u64(j, nd[i].live_bytes);
		ms_json_key(j, "total_live"); ms_json_u64(j, nd[i].total_live);
		ms_json_key(j, "live_at_exit"); ms_json_u64(j, nd[i].live_at_exit);
		ms_json_key(j, "dur_ns"); ms_json_u64(j, nd[i].dur_ns);
		ms_json_key(j, "variables"); ms_json_u64(j, nd[i].vars);
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
	ms_json_end_obj(j);
	free(r);
	MS_VEC_FREE(tree);
	free(node_of);
	ms_hm_free(&by_path);
}

static void tasks_json(struct html *h)
{
	struct ms_json *j = &h->j;
	size_t n, i;
	uint32_t k;
	const struct ms_task *t = ms_registry_tasks(h->c->reg, &n);
	struct rank *r = malloc((n ? n : 1) * sizeof(*r));

	for (i = 0; r && i < n; i++)
		r[i] = (struct rank){ t[i].alloc_bytes, i };
	if (r)
		sort_ranks(r, n);
	list_begin(h, "tasks", n);
	for (i = 0; r && i < n && i < TOP_TASKS; i++) {
		const struct ms_task *x = &t[r[i].i];

		ms_json_obj(j);
		ms_json_key(j, "id"); ms_json_u64(j, x->id);
		ms_json_key(j, "name"); ms_json_str(j, ms_registry_str(h->c->reg, x->name));
		ms_json_key(j, "parent"); ms_json_u64(j, x->parent);
		ms_json_key(j, "pid"); ms_json_u64(j, x->pid);
		ms_json_key(j, "threads");
		ms_json_arr(j);
		for (k = 0; k < x->nthreads && k < MS_TASK_THREADS; k++)
			ms_json_u64(j, x->threads[k]);
		ms_json_end_arr(j);
		ms_json_key(j, "first_ns"); rel_or_null(h, x->first_ns);
		ms_json_key(j, "last_ns"); rel_or_null(h, x->last_ns);
		ms_json_key(j, "ended_ns"); rel_or_null(h, x->ended_ns);
		ms_json_key(j, "allocs"); ms_json_u64(j, x->allocs);
		ms_json_key(j, "alloc_bytes"); ms_json_u64(j, x->alloc_bytes);
		ms_json_key(j, "frees"); ms_json_u64(j, x->frees);
		ms_json_key(j, "freed_bytes"); ms_json_u64(j, x->freed_bytes);
		ms_json_key(j, "peak_live_bytes"); ms_json_u64(j, x->peak_live_bytes);
		ms_json_key(j, "live_bytes"); ms_json_u64(j, x->live_bytes);
		ms_json_key(j, "variables"); ms_json_u64(j, x->nvars);
		ms_json_end_obj(j);
	}
	list_end(h);
	free(r);
}

static void block_where(struct html *h, const struct ms_block *b)
{
	struct ms_json *j = &h->j;

	ms_json_key(j, "address"); ms_json_hex(j, b->addr);
	ms_json_key(j, "size"); ms_json_u64(j, b->size);
	ms_json_key(j, "kind"); ms_json_str(j, ms_kind_name(b->kind));
	ms_json_key(j, "pid"); ms_json_u64(j, b->pid);
	ms_json_key(j, "thread"); ms_json_u64(j, b->tid);
	ms_json_key(j, "scope"); ms_json_str(j, scope_name(h, b->scope));
	ms_json_key(j, "task"); ms_json_u64(j, b->task);
	ms_json_key(j, "task_name"); ms_json_str(j, task_name(h, b->pid, b->task));
	ms_json_key(j, "allocated_ns"); ms_json_u64(j, ms_rel(h->c, b->ts_ns));
}

/* Live blocks grouped by site (leaks if the target exited), and the
 * largest blocks, each pointing at its site row for the stack. */
static void leaks_json(struct html *h)
{
	const struct ms_summary *sum = ms_registry_summary(h->c->reg);
	struct ms_json *j = &h->j;
	struct ms_hashmap site_row = { 0 };
	size_t ns = 0, nb, i, k, q, nlive = 0;
	struct ms_leak_site *ls = ms_report_leak_sites(h->c, &ns);
	const struct ms_block *b = ms_registry_blocks(h->c->reg, &nb);
	size_t shown = ns < TOP_LEAK_SITES ? ns : TOP_LEAK_SITES;
	uint32_t (*names)[SITE_VARS] = calloc(shown ? shown : 1, sizeof(*names));
	uint8_t *nnames = calloc(shown ? shown : 1, 1);
	struct rank *top = malloc((nb ? nb : 1) * sizeof(*top));

	for (i = 0; i < shown; i++)
		ms_hm_put(&site_row, ls[i].pid, (uint32_t)ls[i].stack_id, i);
	/* One pass over the live blocks for both the names per site and the
	 * largest blocks: rescanning the blocks per site, as the JSON report
	 * does for its few sites, would be quadratic here. */
	for (k = 0; k < nb; k++) {
		const struct ms_var *v;
		uint64_t *row;

		if (!b[k].used)
			continue;
		if (top)
			top[nlive++] = (struct rank){ b[k].size, k };
		v = ms_registry_block_var(h->c->reg, &b[k]);
		row = v && names && nnames ? ms_hm_get(&site_row, b[k].pid, (uint32_t)b[k].stack_id) : NULL;
		if (!row || nnames[*row] == SITE_VARS)
			continue;
		for (q = 0; q < nnames[*row] && names[*row][q] != v->name; q++)
			;
		if (q == nnames[*row])
			names[*row][nnames[*row]++] = v->name;
	}
	ms_json_key(j, "leaks");
	ms_json_obj(j);
	ms_json_key(j, "kind"); ms_json_str(j, h->c->target_exited ? "leaks" : "live");
	ms_json_key(j, "blocks"); ms_json_u64(j, sum->live_allocs);
	ms_json_key(j, "bytes"); ms_json_u64(j, sum->live_bytes);
	ms_json_key(j, "total"); ms_json_u64(j, ns);
	ms_json_key(j, "rows");
	ms_json_arr(j);
	for (i = 0; i < shown; i++) {
		ms_json_obj(j);
		ms_json_key(j, "count"); ms_json_u64(j, ls[i].count);
		ms_json_key(j, "bytes"); ms_json_u64(j, ls[i].bytes);
		ms_json_key(j, "variables");
		ms_json_arr(j);
		for (q = 0; names && nnames && q < nnames[i]; q++)
			ms_json_str(j, ms_registry_str(h->c->reg, names[i][q]));
		ms_json_end_arr(j);
		ms_json_key(j, "example");
		ms_json_obj(j);
		block_where(h, ls[i].example);
		ms_json_end_obj(j);
		ms_json_key(j, "stack"); stack_json(h, ls[i].pid, ls[i].stack_id, 0);
		ms_json_end_obj(j);
	}
	ms_json_end_arr(j);
	ms_json_end_obj(j);

	if (top)
		sort_ranks(top, nlive);
	list_begin(h, "blocks", nlive);
	for (i = 0; top && i < nlive && i < TOP_BLOCKS; i++) {
		const struct ms_block *x = &b[top[i].i];
		const struct ms_var *v = ms_registry_block_var(h->c->reg, x);
		uint64_t *row = ms_hm_get(&site_row, x->pid, (uint32_t)x->stack_id);

		ms_json_obj(j);
		block_where(h, x);
		ms_json_key(j, "variable"); ms_json_str(j, v ? ms_registry_str(h->c->reg, v->name) : NULL);
		ms_json_key(j, "site"); ms_json_i64(j, row ? (int64_t)*row : -1);
		ms_json_end_obj(j);
	}
	list_end(h);
	free(top);
	free(names);
	free(nnames);
	free(ls);
	ms_hm_free(&site_row);
}

static void bad_json(struct html *h)
{
	struct ms_json *j = &h->j;
	size_t n, i;
	const struct ms_bad_free *f = ms_registry_bad_frees(h->c->reg, &n);

	list_begin(h, "bad_frees", n);
	for (i = 0; i < n && i < TOP_BAD; i++) {
		ms_json_obj(j);
		ms_json_key(j, "double"); ms_json_bool(j, f[i].is_double);
		ms_json_key(j, "address"); ms_json_hex(j, f[i].addr);
		ms_json_key(j, "kind"); ms_json_str(j, ms_kind_name(f[i].kind));
		ms_json_key(j, "pid"); ms_json_u64(j, f[i].pid);
		ms_json_key(j, "thread"); ms_json_u64(j, f[i].tid);
		ms_json_key(j, "scope"); ms_json_str(j, scope_name(h, f[i].scope));
		ms_json_key(j, "task"); ms_json_u64(j, f[i].task);
		ms_json_key(j, "task_name"); ms_json_str(j, task_name(h, f[i].pid, f[i].task));
		ms_json_key(j, "time_ns"); ms_json_u64(j, ms_rel(h->c, f[i].ts_ns));
		ms_json_key(j, "first_free_ns"); rel_or_null(h, f[i].is_double ? f[i].first_free_ns : 0);
		ms_json_key(j, "stack"); stack_json(h, f[i].pid, f[i].stack_id, f[i].caller);
		ms_json_end_obj(j);
	}
	list_end(h);
}

/* Non-empty log2 buckets as [min, max, count]. */
static void hist_json(struct html *h, const char *key, const uint64_t *b)
{
	int i;

	ms_json_key(&h->j, key);
	ms_json_arr(&h->j);
	for (i = 0; i < MS_HIST_BUCKETS; i++) {
		if (!b[i])
			continue;
		ms_json_arr(&h->j);
		ms_json_u64(&h->j, i ? 1ull << (i - 1) : 0);
		ms_json_u64(&h->j, i ? (1ull << i) - 1 : 0);
		ms_json_u64(&h->j, b[i]);
		ms_json_end_arr(&h->j);
	}
	ms_json_end_arr(&h->j);
}

int ms_report_html(FILE *f, const struct ms_report_ctx *c)
{
	struct html h;
	const char *page;
	size_t nt, i;
	const struct ms_task *t = ms_registry_tasks(c->reg, &nt);

	memset(&h, 0, sizeof(h));
	h.c = c;
	for (i = 0; i < nt; i++)
		ms_hm_put(&h.task_idx, t[i].pid, t[i].id, i);
	page = put_until(f, ms_page_html, "@@css@@");
	fputs(ms_page_css, f);
	page = put_until(f, page, "@@data@@");
	ms_json_init(&h.j, f, 0);
	ms_json_obj(&h.j);
	ms_json_key(&h.j, "version"); ms_json_u64(&h.j, 1);
	meta_json(&h);
	summary_json(&h);
	timeline_json(&h);
	leaks_json(&h);
	sites_json(&h);
	vars_json(&h);
	scope_tree_json(&h);
	tasks_json(&h);
	bad_json(&h);
	hist_json(&h, "size_hist", ms_registry_size_hist(c->reg));
	hist_json(&h, "life_hist", ms_registry_lifetime_hist(c->reg));
	frames_json(&h); /* last: the stacks above fill the table */
	ms_json_end_obj(&h.j);
	page = put_until(f, page, "@@js@@");
	fputs(ms_page_js, f);
	fputs(page, f);
	MS_VEC_FREE(h.frames);
	ms_hm_free(&h.frame_idx);
	ms_hm_free(&h.task_idx);
	return ferror(f) ? -1 : 0;
}
