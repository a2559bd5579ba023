/* SPDX-License-Identifier: BSD-3-Clause */
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
 * The data is the JSON report's (report/shapes.c writes both): the same
 * keys and objects, with what a page needs on top. Lists are capped to
 * their largest entries (TOP_* below) as {"total": N, "rows": [...]};
 * variables, blocks and bad frees also carry "scope_name" and "task_name";
 * "sites" (every allocation site, freed or not) and "scope_tree" (scopes
 * merged by call path) are the page's own; stacks are indices into one
 * "frames" table. So a trace with 100,000 live blocks gives a page of a
 * few MB at most, while the totals stay exact. */
#include <stdlib.h>
#include <string.h>
#include "report/report_out.h"
#include "report/shapes.h"
#include "html_page.h"

#define TOP_SITES 500       /* allocation sites, by bytes allocated */
#define TOP_LEAK_SITES 500  /* leak (or live) sites, by bytes */
#define TOP_BLOCKS 1000     /* largest live blocks */
#define TOP_VARS 1000       /* largest variables */
#define TOP_TASKS 2000      /* tasks, by bytes allocated */
#define TOP_SCOPE_NODES 5000 /* scope-tree nodes, by bytes allocated */
#define TOP_BAD 500         /* invalid and double frees, each */

struct html {
	struct ms_json j;
	struct ms_shape s;
	const struct ms_report_ctx *c;
	struct ms_frame_table frames;
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

/* The page's keys after a shared object's: the scope's and the task's
 * names, which the page shows where the JSON report gives ids. */
static void names_json(struct html *h, uint32_t pid, uint64_t scope, uint64_t task)
{
	const struct ms_scope *s = ms_registry_scope(h->c->reg, scope);
	size_t n;
	const struct ms_task *t = ms_registry_tasks(h->c->reg, &n);
	uint64_t *i = task ? ms_hm_get(&h->task_idx, pid, task) : NULL;

	ms_json_key(&h->j, "scope_name");
	ms_json_str(&h->j, s ? ms_registry_str(h->c->reg, s->name) : NULL);
	ms_json_key(&h->j, "task_name");
	ms_json_str(&h->j, i && *i < n ? ms_registry_str(h->c->reg, t[*i].name) : NULL);
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
		ms_shape_traffic(&h->s, x->allocs, x->alloc_bytes, x->frees, x->freed_bytes);
		ms_json_key(j, "live"); ms_json_u64(j, x->live);
		ms_json_key(j, "live_bytes"); ms_json_u64(j, x->live_bytes);
		ms_json_key(j, "temporaries"); ms_json_u64(j, x->temp);
		ms_json_key(j, "pid"); ms_json_u64(j, x->pid);
		ms_shape_stack_keys(&h->s, x->pid, x->stack_id, 0);
		ms_json_end_obj(j);
	}
	list_end(h);
	free(r);
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

static void vars_json(struct html *h)
{
	size_t n, i;
	const struct ms_var *v = ms_registry_vars(h->c->reg, &n);
	struct rank *r = malloc((n ? n : 1) * sizeof(*r));

	for (i = 0; r && i < n; i++)
		r[i] = (struct rank){ v[i].has_heap && v[i].heap_size > v[i].size ? v[i].heap_size : v[i].size, i };
	if (r)
		sort_ranks(r, n);
	list_begin(h, "variables", n);
	for (i = 0; r && i < n && i < TOP_VARS; i++) {
		const struct ms_var *x = &v[r[i].i];

		ms_json_obj(&h->j);
		ms_shape_var(&h->s, x);
		names_json(h, x->pid, x->scope, x->task);
		ms_json_end_obj(&h->j);
	}
	list_end(h);
	free(r);
}

static void tasks_json(struct html *h)
{
	size_t n, i;
	const struct ms_task *t = ms_registry_tasks(h->c->reg, &n);
	struct rank *r = malloc((n ? n : 1) * sizeof(*r));
	struct ms_task_leaks tl;

	ms_task_leaks_init(&tl, h->c);
	for (i = 0; r && i < n; i++)
		r[i] = (struct rank){ t[i].alloc_bytes, i };
	if (r)
		sort_ranks(r, n);
	list_begin(h, "tasks", n);
	for (i = 0; r && i < n && i < TOP_TASKS; i++) {
		ms_json_obj(&h->j);
		ms_shape_task(&h->s, &t[r[i].i], &tl);
		ms_json_end_obj(&h->j);
	}
	list_end(h);
	ms_task_leaks_free(&tl);
	free(r);
}

static void block_json(struct html *h, const struct ms_block *b)
{
	ms_json_obj(&h->j);
	ms_shape_block(&h->s, b);
	names_json(h, b->pid, b->scope, b->task);
	ms_json_end_obj(&h->j);
}

/* Live blocks grouped by site, with an example block each, and the
 * largest blocks: leak_sites and leaks if the target exited, else
 * live_sites and live (the other two are empty, as in the JSON report). */
static void leaks_json(struct html *h)
{
	int exited = h->c->target_exited;
	size_t ns = 0, nb, i, nlive = 0;
	struct ms_leak_site *ls = ms_report_leak_sites(h->c, &ns);
	const struct ms_block *b = ms_registry_blocks(h->c->reg, &nb);
	struct rank *top = malloc((nb ? nb : 1) * sizeof(*top));

	list_begin(h, exited ? "leak_sites" : "live_sites", ns);
	for (i = 0; i < ns && i < TOP_LEAK_SITES; i++) {
		ms_json_obj(&h->j);
		ms_shape_site(&h->s, &ls[i]);
		ms_json_key(&h->j, "example");
		block_json(h, ls[i].example);
		ms_json_end_obj(&h->j);
	}
	list_end(h);
	list_begin(h, exited ? "live_sites" : "leak_sites", 0);
	list_end(h);

	for (i = 0; top && i < nb; i++)
		if (b[i].used)
			top[nlive++] = (struct rank){ b[i].size, i };
	if (top)
		sort_ranks(top, nlive);
	list_begin(h, exited ? "leaks" : "live", nlive);
	for (i = 0; top && i < nlive && i < TOP_BLOCKS; i++)
		block_json(h, &b[top[i].i]);
	list_end(h);
	list_begin(h, exited ? "live" : "leaks", 0);
	list_end(h);
	free(top);
	free(ls);
}

static void bad_json(struct html *h, const char *key, int dbl)
{
	size_t n, i, total = 0, shown = 0;
	const struct ms_bad_free *f = ms_registry_bad_frees(h->c->reg, &n);

	for (i = 0; i < n; i++)
		total += f[i].is_double == dbl;
	list_begin(h, key, total);
	for (i = 0; i < n && shown < TOP_BAD; i++) {
		if (f[i].is_double != dbl)
			continue;
		ms_json_obj(&h->j);
		ms_shape_bad_free(&h->s, &f[i]);
		names_json(h, f[i].pid, f[i].scope, f[i].task);
		ms_json_end_obj(&h->j);
		shown++;
	}
	list_end(h);
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

int ms_report_html(FILE *f, const struct ms_report_ctx *c)
{
	struct html h;
	const char *page;
	size_t nt, i;
	const struct ms_task *t = ms_registry_tasks(c->reg, &nt);

	memset(&h, 0, sizeof(h));
	h.c = c;
	h.s = (struct ms_shape){ .j = &h.j, .c = c, .frames = &h.frames };
	for (i = 0; i < nt; i++)
		ms_hm_put(&h.task_idx, t[i].pid, t[i].id, i);
	page = put_until(f, ms_page_html, "@@css@@");
	fputs(ms_page_css, f);
	page = put_until(f, page, "@@data@@");
	ms_json_init(&h.j, f, 0);
	ms_json_obj(&h.j);
	ms_shape_head(&h.s);
	ms_shape_summary(&h.s);
	ms_shape_leak_check(&h.s);
	ms_shape_temporaries(&h.s);
	ms_shape_timeline(&h.s);
	leaks_json(&h);
	sites_json(&h);
	vars_json(&h);
	scope_tree_json(&h);
	tasks_json(&h);
	bad_json(&h, "invalid_frees", 0);
	bad_json(&h, "double_frees", 1);
	ms_shape_hist(&h.s, "size_histogram", ms_registry_size_hist(c->reg));
	ms_shape_hist(&h.s, "lifetime_histogram_ns", ms_registry_lifetime_hist(c->reg));
	ms_shape_frames(&h.s, "frames"); /* last: the stacks above fill the table */
	ms_json_end_obj(&h.j);
	page = put_until(f, page, "@@js@@");
	fputs(ms_page_js, f);
	fputs(page, f);
	ms_frame_table_free(&h.frames);
	ms_hm_free(&h.task_idx);
	return ferror(f) ? -1 : 0;
}
