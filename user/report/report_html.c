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

/* ---- the page: markup around the data, style, script ---------------- */

/* Up to the opening <style>. The CSP forbids every fetch: the page is
 * self-contained by construction, and a stray URL in the data cannot load. */
static const char page_head[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<meta name=\"generator\" content=\"memscope-trace\">\n"
	"<title>memscope report</title>\n"
	"<style>\n";

/* Light and dark themes; charts are styled SVG. */
static const char page_css[] =
	":root{--bg:#fff;--fg:#1d2330;--mut:#667085;--line:#e4e7ec;--card:#f7f8fa;--acc:#2f6fde;--acc2:#9bbcf5;--bad:#c9372c;--warn:#b7791f;--ok:#2e7d32}\n"
	"@media (prefers-color-scheme:dark){:root{--bg:#14171c;--fg:#e6e8eb;--mut:#98a2b3;--line:#2c313a;--card:#1c2027;--acc:#6ea0ff;--acc2:#35507f;--bad:#ff6b5e;--warn:#f0b252;--ok:#6cc070}}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;background:var(--bg);color:var(--fg)}\n"
	"header{padding:16px 24px 8px;border-bottom:1px solid var(--line)}\n"
	"h1{font-size:20px;margin:0 0 4px;word-break:break-all}\n"
	"h2{font-size:17px;margin:0 0 10px}\n"
	"h3{font-size:14px;margin:14px 0 6px}\n"
	"nav{position:sticky;top:0;z-index:2;background:var(--bg);border-bottom:1px solid var(--line);padding:6px 24px;display:flex;gap:14px;flex-wrap:wrap}\n"
	"nav a{color:var(--acc);text-decoration:none}\n"
	"main{padding:8px 24px 40px;max-width:1400px}\n"
	"section{margin:22px 0}\n"
	".muted{color:var(--mut)}\n"
	".error{background:var(--bad);color:#fff;padding:8px 24px}\n"
	".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}\n"
	".card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}\n"
	".card .label{color:var(--mut);font-size:12px;text-transform:uppercase;letter-spacing:.04em}\n"
	".card .value{font-size:22px;font-weight:600;margin:2px 0}\n"
	".card .sub{color:var(--mut);font-size:12px;word-break:break-word}\n"
	".card.warn .value{color:var(--warn)}\n"
	".card.bad .value{color:var(--bad)}\n"
	".card.ok .value{color:var(--ok)}\n"
	"svg.chart{width:100%;height:auto;display:block;font-size:11px;font-family:inherit}\n"
	"svg.chart text{fill:var(--mut)}\n"
	"svg.chart .axis{stroke:var(--line)}\n"
	"svg.chart .area{fill:var(--acc2);opacity:.55}\n"
	"svg.chart .line{fill:none;stroke:var(--acc);stroke-width:1.5}\n"
	"svg.chart .bar{fill:var(--acc)}\n"
	"svg.chart .bar.leak{fill:var(--bad)}\n"
	"svg.chart .bar:hover{opacity:.75}\n"
	"svg.chart .peak{fill:var(--bad)}\n"
	"svg.chart .cursor{stroke:var(--fg);stroke-dasharray:3 3}\n"
	"svg.chart text.tip{fill:var(--fg);font-weight:600}\n"
	"svg.chart text.lane{fill:var(--fg)}\n"
	".tools{display:flex;gap:8px;align-items:center;margin:6px 0;flex-wrap:wrap}\n"
	".tools input{padding:3px 6px;border:1px solid var(--line);border-radius:4px;background:var(--bg);color:var(--fg)}\n"
	"button{padding:2px 8px;border:1px solid var(--line);border-radius:4px;background:var(--card);color:var(--fg);cursor:pointer}\n"
	"button:disabled{opacity:.4;cursor:default}\n"
	"table{border-collapse:collapse;width:100%;font-size:13px}\n"
	"th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}\n"
	"th{position:sticky;top:33px;background:var(--card);cursor:pointer;white-space:nowrap;user-select:none}\n"
	"th.sorted:after{content:\" \\25BE\"}\n"
	"th.sorted.asc:after{content:\" \\25B4\"}\n"
	"td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	"td.code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;word-break:break-all}\n"
	"tr.row.expandable{cursor:pointer}\n"
	"tr.row.expandable:hover{background:var(--card)}\n"
	"tr.detail>td{background:var(--card)}\n"
	"ol.stack{margin:4px 0;padding-left:28px;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}\n"
	"ol.stack .fn{font-weight:600}\n"
	"ol.stack .loc{color:var(--mut)}\n"
	"ul.tree{list-style:none;margin:0;padding-left:18px}\n"
	"#scope-tree{padding-left:0}\n"
	".node{display:grid;grid-template-columns:22px minmax(160px,1.4fr) 160px repeat(4,minmax(80px,.5fr)) minmax(120px,1fr);gap:8px;align-items:center;padding:2px 0;border-bottom:1px solid var(--line)}\n"
	".node.head{font-weight:600;color:var(--mut);font-size:12px}\n"
	".node .tg{border:none;background:none;padding:0;width:20px;color:var(--mut)}\n"
	".node .nm{word-break:break-all}\n"
	".meter{height:10px;background:var(--line);border-radius:3px;overflow:hidden}\n"
	".meter>div{height:100%;background:var(--acc)}\n"
	".meter>div.live{background:var(--bad)}\n"
	".two{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:24px}\n"
	".tag{display:inline-block;padding:0 6px;border-radius:9px;background:var(--line);font-size:12px;margin-right:4px}\n"
	".tag.bad{background:var(--bad);color:#fff}\n"
	"footer{padding:16px 24px;color:var(--mut);border-top:1px solid var(--line)}\n"
	".node .num{text-align:right;font-variant-numeric:tabular-nums}\n";

/* Empty containers the script fills; no data in the markup. */
static const char page_body[] =
	"</style>\n"
	"</head>\n"
	"<body>\n"
	"<header><h1 id=\"title\">memscope report</h1><div id=\"meta\" class=\"muted\"></div></header>\n"
	"<div id=\"js-error\" class=\"error\" hidden></div>\n"
	"<noscript><p class=\"error\">This report draws its tables and charts with JavaScript; enable it to see them.</p></noscript>\n"
	"<nav><a href=\"#sec-summary\">Summary</a><a href=\"#sec-memory\">Memory</a><a href=\"#sec-leaks\">Leaks</a><a href=\"#sec-sites\">Sites</a><a href=\"#sec-vars\">Variables</a><a href=\"#sec-scopes\">Scopes</a><a href=\"#sec-tasks\">Tasks</a><a href=\"#sec-errors\">Bad frees</a><a href=\"#sec-hist\">Histograms</a></nav>\n"
	"<main>\n"
	"<section id=\"sec-summary\"><div id=\"cards\" class=\"cards\"></div></section>\n"
	"<section id=\"sec-memory\"><h2>Live heap over time</h2><div id=\"memory\"></div></section>\n"
	"<section id=\"sec-leaks\"><h2 id=\"leaks-title\">Leaks</h2><p id=\"leaks-note\" class=\"muted\"></p><div id=\"leaks\"></div><h3>Largest blocks</h3><div id=\"blocks\"></div></section>\n"
	"<section id=\"sec-sites\"><h2>Top allocation sites</h2><div id=\"sites\"></div></section>\n"
	"<section id=\"sec-vars\"><h2>Top variables</h2><div id=\"vars\"></div></section>\n"
	"<section id=\"sec-scopes\"><h2>Scopes</h2><p class=\"muted\">Scopes merged by call path. <b>self</b>: bytes allocated directly in the scope; <b>total</b>: with the scopes nested in it; <b>live</b>: still allocated now.</p><div id=\"scopes\"></div></section>\n"
	"<section id=\"sec-tasks\"><h2>Tasks</h2><div id=\"tasks-timeline\"></div><div id=\"tasks\"></div></section>\n"
	"<section id=\"sec-errors\"><h2>Invalid and double frees</h2><div id=\"errors\"></div></section>\n"
	"<section id=\"sec-hist\"><h2>Histograms</h2><div class=\"two\"><div><h3>Allocation sizes</h3><div id=\"size-hist\"></div></div><div><h3>Lifetimes of freed blocks</h3><div id=\"life-hist\"></div></div></div></section>\n"
	"</main>\n"
	"<footer>Written by memscope-trace. Self-contained: this file loads nothing from the network.</footer>\n";

/* Reads the JSON, builds the page with createElement/textContent only.
 * Tables sort, filter and paginate in the browser; charts are SVG. */
static const char page_js[] =
	"(function () {\n"
	"'use strict';\n"
	"/* Every string from the report goes into the page through textContent or\n"
	"   setAttribute: nothing here parses data as HTML. */\n"
	"var errBox = document.getElementById('js-error');\n"
	"window.addEventListener('error', function (e) {\n"
	"  errBox.hidden = false;\n"
	"  errBox.textContent = 'Report script error: ' + e.message;\n"
	"});\n"
	"var D = JSON.parse(document.getElementById('data').textContent);\n"
	"var S = D.summary, M = D.meta, FR = D.frames;\n"
	"var SVGNS = 'http://www.w3.org/2000/svg';\n"
	"\n"
	"function h(tag, props, kids) {\n"
	"  var e = document.createElement(tag);\n"
	"  for (var k in props || {}) {\n"
	"    var v = props[k];\n"
	"    if (v == null) continue;\n"
	"    if (k === 'text') e.textContent = v;\n"
	"    else if (k === 'cls') e.className = v;\n"
	"    else if (k === 'on') for (var ev in v) e.addEventListener(ev, v[ev]);\n"
	"    else e.setAttribute(k, v);\n"
	"  }\n"
	"  (kids || []).forEach(function (c) {\n"
	"    if (c != null) e.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));\n"
	"  });\n"
	"  return e;\n"
	"}\n"
	"function sv(tag, attrs, text) {\n"
	"  var e = document.createElementNS(SVGNS, tag);\n"
	"  for (var k in attrs) e.setAttribute(k, attrs[k]);\n"
	"  if (text != null) e.textContent = text;\n"
	"  return e;\n"
	"}\n"
	"function tip(node, text) { node.appendChild(sv('title', {}, text)); return node; }\n"
	"function $(id) { return document.getElementById(id); }\n"
	"\n"
	"function num(n) { return n == null ? '\\u2013' : Number(n).toLocaleString('en-US'); }\n"
	"function bytes(n) {\n"
	"  if (n == null) return '\\u2013';\n"
	"  var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;\n"
	"  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }\n"
	"  return (i ? n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0) : String(n)) + ' ' + u[i];\n"
	"}\n"
	"function dur(ns) {\n"
	"  if (ns == null) return '\\u2013';\n"
	"  if (ns < 1e3) return ns + ' ns';\n"
	"  if (ns < 1e6) return (ns / 1e3).toFixed(ns < 1e4 ? 2 : 1) + ' \\u00b5s';\n"
	"  if (ns < 1e9) return (ns / 1e6).toFixed(ns < 1e7 ? 2 : 1) + ' ms';\n"
	"  return (ns / 1e9).toFixed(ns < 1e10 ? 3 : 1) + ' s';\n"
	"}\n"
	"function base(p) { return p ? p.slice(p.lastIndexOf('/') + 1) : ''; }\n"
	"function orDash(s) { return s == null || s === '' ? '\\u2013' : s; }\n"
	"function taskLabel(id, name) { return id ? (name ? name + ' (' + id + ')' : 'task ' + id) : '\\u2013'; }\n"
	"\n"
	"/* ---- stacks ---- */\n"
	"function frameFn(f) { return f.function || (f.module ? base(f.module) + '+' + f.offset : f.ip); }\n"
	"function frameLoc(f) {\n"
	"  var s = f.file ? f.file + (f.line ? ':' + f.line : '') : '';\n"
	"  if (f.module) s += (s ? '  ' : '') + '[' + base(f.module) + '+' + f.offset + ']';\n"
	"  return s;\n"
	"}\n"
	"function topFrame(st) { return st && st.length ? frameFn(FR[st[0]]) : '(no stack)'; }\n"
	"function topLoc(st) {\n"
	"  if (!st || !st.length) return '';\n"
	"  var f = FR[st[0]];\n"
	"  return f.file ? base(f.file) + (f.line ? ':' + f.line : '') : base(f.module);\n"
	"}\n"
	"function stackEl(st) {\n"
	"  var ol = h('ol', { cls: 'stack' });\n"
	"  (st || []).forEach(function (i) {\n"
	"    var f = FR[i];\n"
	"    ol.appendChild(h('li', null, [h('span', { cls: 'fn', text: frameFn(f) }), '  ',\n"
	"      h('span', { cls: 'loc', text: frameLoc(f) })]));\n"
	"  });\n"
	"  if (!st || !st.length) ol.appendChild(h('li', { cls: 'muted', text: 'no stack captured (see --stack-depth)' }));\n"
	"  return ol;\n"
	"}\n"
	"function capNote(shown, total, what) {\n"
	"  return total > shown ? h('p', { cls: 'muted', text: 'Showing the ' + num(shown) + ' largest of ' + num(total) + ' ' + what + '.' }) : null;\n"
	"}\n"
	"\n"
	"/* ---- a sortable, filterable, paginated table ----\n"
	"   cols: {key, label, num, fmt(row) -> text|Node, val(row) -> sort value, cls}\n"
	"   o: {id, sort, asc, pageSize, filter(row) -> text, detail(row) -> Node} */\n"
	"function table(host, cols, rows, o) {\n"
	"  o = o || {};\n"
	"  var st = { key: o.sort || null, asc: !!o.asc, page: 0, q: '' }, size = o.pageSize || 25;\n"
	"  var tbl = h('table', { id: o.id }), thead = h('thead'), tbody = h('tbody');\n"
	"  var info = h('span', { cls: 'muted' });\n"
	"  var prev = h('button', { text: '\\u2039 prev', type: 'button' }), next = h('button', { text: 'next \\u203a', type: 'button' });\n"
	"  var tools = h('div', { cls: 'tools' });\n"
	"  if (o.filter) {\n"
	"    var inp = h('input', { type: 'search', placeholder: 'filter', 'aria-label': 'filter ' + (o.id || '') });\n"
	"    inp.addEventListener('input', function () { st.q = inp.value.toLowerCase(); st.page = 0; render(); });\n"
	"    tools.appendChild(inp);\n"
	"  }\n"
	"  tools.appendChild(prev); tools.appendChild(next); tools.appendChild(info);\n"
	"  prev.addEventListener('click', function () { st.page--; render(); });\n"
	"  next.addEventListener('click', function () { st.page++; render(); });\n"
	"  tbl.appendChild(thead); tbl.appendChild(tbody);\n"
	"  host.appendChild(tools); host.appendChild(tbl);\n"
	"  function val(c, r) { return c.val ? c.val(r) : r[c.key]; }\n"
	"  function head() {\n"
	"    var tr = h('tr');\n"
	"    cols.forEach(function (c) {\n"
	"      var th = h('th', { text: c.label, cls: (c.num ? 'num ' : '') + (st.key === c.key ? 'sorted' + (st.asc ? ' asc' : '') : ''), scope: 'col' });\n"
	"      th.addEventListener('click', function () {\n"
	"        if (st.key === c.key) st.asc = !st.asc; else { st.key = c.key; st.asc = !c.num; }\n"
	"        st.page = 0; head(); render();\n"
	"      });\n"
	"      tr.appendChild(th);\n"
	"    });\n"
	"    thead.textContent = '';\n"
	"    thead.appendChild(tr);\n"
	"  }\n"
	"  function view() {\n"
	"    var r = rows;\n"
	"    if (st.q) r = r.filter(function (x) { return o.filter(x).toLowerCase().indexOf(st.q) >= 0; });\n"
	"    if (st.key) {\n"
	"      var c = cols.filter(function (k) { return k.key === st.key; })[0], dir = st.asc ? 1 : -1;\n"
	"      r = r.map(function (x, i) { return [val(c, x), i, x]; }).sort(function (a, b) {\n"
	"        var x = a[0], y = b[0];\n"
	"        if (x == null && y != null) return 1;\n"
	"        if (y == null && x != null) return -1;\n"
	"        return x < y ? -dir : x > y ? dir : a[1] - b[1];\n"
	"      }).map(function (a) { return a[2]; });\n"
	"    }\n"
	"    return r;\n"
	"  }\n"
	"  function render() {\n"
	"    var r = view(), pages = Math.max(1, Math.ceil(r.length / size));\n"
	"    st.page = Math.max(0, Math.min(st.page, pages - 1));\n"
	"    var lo = st.page * size, hi = Math.min(r.length, lo + size);\n"
	"    tbody.textContent = '';\n"
	"    r.slice(lo, hi).forEach(function (x) {\n"
	"      var tr = h('tr', { cls: 'row' + (o.detail ? ' expandable' : '') });\n"
	"      cols.forEach(function (c) {\n"
	"        var v = c.fmt ? c.fmt(x) : x[c.key];\n"
	"        var td = h('td', { cls: (c.num ? 'num ' : '') + (c.cls || '') });\n"
	"        if (v != null && typeof v === 'object') td.appendChild(v); else td.textContent = v == null ? '\\u2013' : String(v);\n"
	"        tr.appendChild(td);\n"
	"      });\n"
	"      tbody.appendChild(tr);\n"
	"      if (o.detail) {\n"
	"        var open = null;\n"
	"        tr.addEventListener('click', function () {\n"
	"          if (open) { open.remove(); open = null; return; }\n"
	"          open = h('tr', { cls: 'detail' }, [h('td', { colspan: String(cols.length) }, [o.detail(x)])]);\n"
	"          tr.after(open);\n"
	"        });\n"
	"      }\n"
	"    });\n"
	"    if (!r.length) tbody.appendChild(h('tr', null, [h('td', { colspan: String(cols.length), cls: 'muted', text: rows.length ? 'no match' : 'none' })]));\n"
	"    info.textContent = r.length ? 'rows ' + num(lo + 1) + '\\u2013' + num(hi) + ' of ' + num(r.length) +\n"
	"      (r.length !== rows.length ? ' (filtered from ' + num(rows.length) + ')' : '') : '';\n"
	"    prev.disabled = st.page === 0;\n"
	"    next.disabled = st.page >= pages - 1;\n"
	"  }\n"
	"  head(); render();\n"
	"  return tbl;\n"
	"}\n"
	"\n"
	"/* ---- axes ---- */\n"
	"function ticks(max, n) {\n"
	"  if (!(max > 0)) return [0];\n"
	"  var raw = max / n, mag = Math.pow(10, Math.floor(Math.log10(raw))), step = mag;\n"
	"  [1, 2, 2.5, 5, 10].some(function (m) { step = m * mag; return step >= raw; });\n"
	"  var t = [];\n"
	"  for (var v = 0; v <= max * 1.0001; v += step) t.push(v);\n"
	"  return t;\n"
	"}\n"
	"function byteTicks(max) {\n"
	"  if (!(max > 0)) return [0];\n"
	"  var unit = 1;\n"
	"  while (max / unit >= 1024 && unit < Math.pow(1024, 4)) unit *= 1024;\n"
	"  return ticks(max / unit, 4).map(function (v) { return v * unit; });\n"
	"}\n"
	"\n"
	"/* ---- memory over time: step area chart with a hover cursor ---- */\n"
	"function memoryChart(host) {\n"
	"  var pts = D.timeline;\n"
	"  if (!pts.length) { host.appendChild(h('p', { cls: 'muted', text: 'No heap activity recorded.' })); return; }\n"
	"  var W = 1000, H = 260, L = 78, R = 16, T = 14, B = 28;\n"
	"  var t1 = Math.max(pts[pts.length - 1][0], M.duration_ns || 0, 1);\n"
	"  var ymax = Math.max(S.peak_live_bytes || 0, 1);\n"
	"  pts.forEach(function (p) { if (p[1] > ymax) ymax = p[1]; });\n"
	"  var yt = byteTicks(ymax);\n"
	"  ymax = Math.max(ymax, yt[yt.length - 1]);\n"
	"  function x(t) { return L + t / t1 * (W - L - R); }\n"
	"  function y(v) { return T + (1 - v / ymax) * (H - T - B); }\n"
	"  var svg = sv('svg', { id: 'chart-memory', class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'live heap bytes over time' });\n"
	"  yt.forEach(function (v) {\n"
	"    svg.appendChild(sv('line', { class: 'axis', x1: L, x2: W - R, y1: y(v), y2: y(v) }));\n"
	"    svg.appendChild(sv('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, bytes(v)));\n"
	"  });\n"
	"  ticks(t1, 6).forEach(function (t) {\n"
	"    svg.appendChild(sv('text', { x: x(t), y: H - 8, 'text-anchor': 'middle' }, dur(t)));\n"
	"  });\n"
	"  var d = 'M' + x(0).toFixed(1) + ',' + y(0).toFixed(1), prev = 0, line = '';\n"
	"  pts.forEach(function (p, i) {\n"
	"    var X = x(p[0]).toFixed(1);\n"
	"    d += 'L' + X + ',' + y(prev).toFixed(1) + 'L' + X + ',' + y(p[1]).toFixed(1);\n"
	"    line += (i ? 'L' : 'M') + X + ',' + y(p[1]).toFixed(1);\n"
	"    prev = p[1];\n"
	"  });\n"
	"  var xe = x(t1).toFixed(1);\n"
	"  d += 'L' + xe + ',' + y(prev).toFixed(1) + 'L' + xe + ',' + y(0).toFixed(1) + 'Z';\n"
	"  svg.appendChild(sv('path', { class: 'area', d: d }));\n"
	"  svg.appendChild(sv('path', { class: 'line', d: line + 'L' + xe + ',' + y(prev).toFixed(1) }));\n"
	"  if (S.peak_time_ns != null)\n"
	"    svg.appendChild(tip(sv('circle', { class: 'peak', cx: x(S.peak_time_ns), cy: y(S.peak_live_bytes), r: 4 }),\n"
	"      'peak ' + bytes(S.peak_live_bytes) + ' at ' + dur(S.peak_time_ns)));\n"
	"  var cur = sv('line', { class: 'cursor', y1: T, y2: H - B, x1: -10, x2: -10 });\n"
	"  var label = sv('text', { class: 'tip', x: 0, y: T + 10 });\n"
	"  svg.appendChild(cur); svg.appendChild(label);\n"
	"  var hit = sv('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: 'transparent' });\n"
	"  svg.appendChild(hit);\n"
	"  hit.addEventListener('mousemove', function (e) {\n"
	"    var r = svg.getBoundingClientRect(), X = (e.clientX - r.left) * W / r.width;\n"
	"    var t = (X - L) / (W - L - R) * t1, lo = 0, hi = pts.length - 1;\n"
	"    while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (pts[mid][0] <= t) lo = mid; else hi = mid - 1; }\n"
	"    var v = pts[lo][0] <= t ? pts[lo][1] : 0;\n"
	"    cur.setAttribute('x1', X); cur.setAttribute('x2', X);\n"
	"    label.setAttribute('x', Math.min(X + 6, W - 190));\n"
	"    label.textContent = dur(Math.max(0, Math.round(t))) + ': ' + bytes(v);\n"
	"  });\n"
	"  hit.addEventListener('mouseleave', function () { cur.setAttribute('x1', -10); cur.setAttribute('x2', -10); label.textContent = ''; });\n"
	"  host.appendChild(svg);\n"
	"  host.appendChild(h('p', { cls: 'muted', text: 'Peak ' + bytes(S.peak_live_bytes) + (S.peak_time_ns != null ? ' at ' + dur(S.peak_time_ns) : '') +\n"
	"    '; ' + num(pts.length) + ' points (each the maximum of its interval).' }));\n"
	"}\n"
	"\n"
	"/* ---- histogram: one bar per log2 bucket ---- */\n"
	"function histogram(host, id, buckets, fmt, what) {\n"
	"  if (!buckets.length) { host.appendChild(h('p', { cls: 'muted', text: 'No ' + what + ' recorded.' })); return; }\n"
	"  var W = 520, H = 220, L = 50, R = 8, T = 16, B = 46, max = 1;\n"
	"  buckets.forEach(function (b) { if (b[2] > max) max = b[2]; });\n"
	"  var bw = (W - L - R) / buckets.length;\n"
	"  var svg = sv('svg', { id: id, class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': what });\n"
	"  ticks(max, 4).forEach(function (v) {\n"
	"    var Y = T + (1 - v / max) * (H - T - B);\n"
	"    svg.appendChild(sv('line', { class: 'axis', x1: L, x2: W - R, y1: Y, y2: Y }));\n"
	"    svg.appendChild(sv('text', { x: L - 5, y: Y + 4, 'text-anchor': 'end' }, num(v)));\n"
	"  });\n"
	"  buckets.forEach(function (b, i) {\n"
	"    var bh = Math.max(1.5, b[2] / max * (H - T - B)), X = L + i * bw; /* a bucket of 1 stays visible */\n"
	"    svg.appendChild(tip(sv('rect', { class: 'bar', x: X + 1, y: H - B - bh, width: Math.max(1, bw - 2), height: bh }),\n"
	"      fmt(b[0]) + ' \\u2013 ' + fmt(b[1]) + ': ' + num(b[2])));\n"
	"    var tx = X + bw / 2;\n"
	"    svg.appendChild(sv('text', { x: tx, y: H - B + 12, 'text-anchor': 'end', transform: 'rotate(-35 ' + tx + ' ' + (H - B + 12) + ')' }, '\\u2265' + fmt(b[0])));\n"
	"  });\n"
	"  host.appendChild(svg);\n"
	"}\n"
	"\n"
	"/* ---- sections ---- */\n"
	"function header() {\n"
	"  var exe = M.exe || '(unknown program)';\n"
	"  document.title = 'memscope: ' + base(exe);\n"
	"  $('title').textContent = 'memscope: ' + exe;\n"
	"  var how = M.exited ? (M.signal != null ? 'killed by signal ' + M.signal : 'exited with code ' + M.exit_code) : 'still running when the trace stopped';\n"
	"  $('meta').textContent = 'pid ' + M.pid + ' \\u00b7 mode ' + orDash(M.mode) + ' \\u00b7 ' + dur(M.duration_ns) +\n"
	"    ' \\u00b7 stopped: ' + orDash(M.stop_reason) + ' \\u00b7 target ' + how + ' \\u00b7 ' + num(S.events) + ' events';\n"
	"}\n"
	"\n"
	"function cards() {\n"
	"  var host = $('cards');\n"
	"  function card(id, label, value, shown, sub, cls) {\n"
	"    host.appendChild(h('div', { cls: 'card ' + (cls || ''), id: id, 'data-value': String(value), title: label + ': ' + num(value) }, [\n"
	"      h('div', { cls: 'label', text: label }), h('div', { cls: 'value', text: shown }), h('div', { cls: 'sub', text: sub })]));\n"
	"  }\n"
	"  var leaks = M.exited ? S.live_allocs : 0;\n"
	"  card('card-allocs', 'allocations', S.allocs, num(S.allocs), bytes(S.alloc_bytes) + ' (' + num(S.alloc_bytes) + ' B) allocated');\n"
	"  card('card-frees', 'frees', S.frees, num(S.frees), bytes(S.freed_bytes) + ' freed; ' + num(S.temporaries) + ' temporaries');\n"
	"  card('card-live', 'live memory', S.live_bytes, bytes(S.live_bytes), num(S.live_bytes) + ' B in ' + num(S.live_allocs) + ' blocks');\n"
	"  card('card-peak', 'peak memory', S.peak_live_bytes, bytes(S.peak_live_bytes),\n"
	"    num(S.peak_live_bytes) + ' B' + (S.peak_time_ns != null ? ' at ' + dur(S.peak_time_ns) : ''));\n"
	"  if (M.exited)\n"
	"    card('card-leaks', 'leaks', leaks, num(leaks), bytes(S.live_bytes) + ' (' + num(S.live_bytes) + ' B) never freed', leaks ? 'bad' : 'ok');\n"
	"  else\n"
	"    card('card-leaks', 'leaks', 0, '\\u2013', 'target still running: ' + num(S.live_allocs) + ' blocks live, not counted as leaks');\n"
	"  card('card-variables', 'variables', S.variables, num(S.variables), 'tracked with TRACK_VAR');\n"
	"  card('card-scopes', 'scopes', S.scopes, num(S.scopes), 'entered (' + num(D.scope_tree.total) + ' distinct paths)');\n"
	"  card('card-tasks', 'tasks', S.tasks, num(S.tasks), 'seen');\n"
	"  card('card-dropped', 'dropped events', S.dropped_events, num(S.dropped_events),\n"
	"    S.dropped_events ? 'ring buffer was full: figures are incomplete' : 'none: the trace is complete', S.dropped_events ? 'warn' : 'ok');\n"
	"  var bad = S.invalid_frees + S.double_frees;\n"
	"  card('card-errors', 'bad frees', bad, num(bad), num(S.double_frees) + ' double, ' + num(S.invalid_frees) + ' invalid', bad ? 'bad' : 'ok');\n"
	"}\n"
	"\n"
	"function leaksSection() {\n"
	"  var L = D.leaks, isLeak = L.kind === 'leaks';\n"
	"  $('leaks-title').textContent = isLeak ? 'Leaks' : 'Live blocks';\n"
	"  $('leaks-note').textContent = (isLeak ? 'Blocks still allocated when the target exited: ' : 'Blocks live when the trace stopped (the target was still running, so these are not leaks): ') +\n"
	"    num(L.blocks) + ' blocks, ' + bytes(L.bytes) + ', from ' + num(L.total) + ' allocation sites. Click a row for its stack.';\n"
	"  var host = $('leaks');\n"
	"  table(host, [\n"
	"    { key: 'bytes', label: 'bytes', num: true, fmt: function (r) { return bytes(r.bytes); } },\n"
	"    { key: 'count', label: 'blocks', num: true, fmt: function (r) { return num(r.count); } },\n"
	"    { key: 'vars', label: 'variables', val: function (r) { return r.variables.join(', '); }, fmt: function (r) { return orDash(r.variables.join(', ')); } },\n"
	"    { key: 'fn', label: 'allocated in', val: function (r) { return topFrame(r.stack); }, cls: 'code', fmt: function (r) { return topFrame(r.stack); } },\n"
	"    { key: 'loc', label: 'at', val: function (r) { return topLoc(r.stack); }, cls: 'code', fmt: function (r) { return topLoc(r.stack); } },\n"
	"    { key: 'kind', label: 'kind', val: function (r) { return r.example.kind; }, fmt: function (r) { return r.example.kind; } }\n"
	"  ], L.rows, {\n"
	"    id: 'table-leaks', sort: 'bytes',\n"
	"    filter: function (r) { return r.variables.join(' ') + ' ' + r.stack.map(function (i) { return frameFn(FR[i]) + ' ' + (FR[i].file || ''); }).join(' '); },\n"
	"    detail: function (r) {\n"
	"      var e = r.example;\n"
	"      return h('div', null, [\n"
	"        h('div', { cls: 'muted', text: 'e.g. ' + e.address + ', ' + num(e.size) + ' B, ' + e.kind + ', thread ' + e.thread +\n"
	"          ', scope ' + orDash(e.scope) + ', task ' + taskLabel(e.task, e.task_name) + ', allocated at ' + dur(e.allocated_ns) }),\n"
	"        stackEl(r.stack)]);\n"
	"    }\n"
	"  });\n"
	"  var note = capNote(L.rows.length, L.total, 'sites');\n"
	"  if (note) host.appendChild(note);\n"
	"  var bh = $('blocks');\n"
	"  table(bh, [\n"
	"    { key: 'size', label: 'size', num: true, fmt: function (r) { return num(r.size); } },\n"
	"    { key: 'address', label: 'address', cls: 'code' },\n"
	"    { key: 'kind', label: 'kind' },\n"
	"    { key: 'variable', label: 'variable', fmt: function (r) { return orDash(r.variable); } },\n"
	"    { key: 'scope', label: 'scope', fmt: function (r) { return orDash(r.scope); } },\n"
	"    { key: 'task', label: 'task', fmt: function (r) { return taskLabel(r.task, r.task_name); } },\n"
	"    { key: 'thread', label: 'thread', num: true },\n"
	"    { key: 'allocated_ns', label: 'allocated at', num: true, fmt: function (r) { return dur(r.allocated_ns); } },\n"
	"    { key: 'fn', label: 'allocated in', cls: 'code', val: function (r) { return r.site >= 0 ? topFrame(L.rows[r.site].stack) : null; },\n"
	"      fmt: function (r) { return r.site >= 0 ? topFrame(L.rows[r.site].stack) : '\\u2013'; } }\n"
	"  ], D.blocks.rows, {\n"
	"    id: 'table-blocks', sort: 'size',\n"
	"    filter: function (r) { return [r.address, r.kind, r.variable, r.scope, r.task_name].join(' '); },\n"
	"    detail: function (r) { return r.site >= 0 ? stackEl(L.rows[r.site].stack) : h('p', { cls: 'muted', text: 'stack: see the sites above (this site is not among those shown)' }); }\n"
	"  });\n"
	"  note = capNote(D.blocks.rows.length, D.blocks.total, 'live blocks');\n"
	"  if (note) bh.appendChild(note);\n"
	"}\n"
	"\n"
	"function sitesSection() {\n"
	"  var host = $('sites');\n"
	"  table(host, [\n"
	"    { key: 'alloc_bytes', label: 'allocated', num: true, fmt: function (r) { return bytes(r.alloc_bytes); } },\n"
	"    { key: 'allocs', label: 'allocs', num: true, fmt: function (r) { return num(r.allocs); } },\n"
	"    { key: 'live_bytes', label: 'live', num: true, fmt: function (r) { return bytes(r.live_bytes); } },\n"
	"    { key: 'live', label: 'live blocks', num: true, fmt: function (r) { return num(r.live); } },\n"
	"    { key: 'temporaries', label: 'temporaries', num: true, fmt: function (r) { return num(r.temporaries); } },\n"
	"    { key: 'fn', label: 'function', cls: 'code', val: function (r) { return topFrame(r.stack); }, fmt: function (r) { return topFrame(r.stack); } },\n"
	"    { key: 'loc', label: 'at', cls: 'code', val: function (r) { return topLoc(r.stack); }, fmt: function (r) { return topLoc(r.stack); } }\n"
	"  ], D.sites.rows, {\n"
	"    id: 'table-sites', sort: 'alloc_bytes',\n"
	"    filter: function (r) { return r.stack.map(function (i) { return frameFn(FR[i]) + ' ' + (FR[i].file || ''); }).join(' '); },\n"
	"    detail: function (r) { return stackEl(r.stack); }\n"
	"  });\n"
	"  var note = capNote(D.sites.rows.length, D.sites.total, 'sites');\n"
	"  if (note) host.appendChild(note);\n"
	"}\n"
	"\n"
	"function varsSection() {\n"
	"  var V = D.variables, host = $('vars');\n"
	"  table(host, [\n"
	"    { key: 'name', label: 'name', cls: 'code' },\n"
	"    { key: 'type', label: 'type', cls: 'code', fmt: function (r) { return orDash(r.type); } },\n"
	"    { key: 'size', label: 'size', num: true, fmt: function (r) { return num(r.size); } },\n"
	"    { key: 'heap', label: 'heap block', num: true, val: function (r) { return r.heap ? r.heap.size : null; },\n"
	"      fmt: function (r) { return r.heap ? bytes(r.heap.size) + (r.heap.freed_ns != null ? ' (freed at ' + dur(r.heap.freed_ns) + ')' : ' (live)') : '\\u2013'; } },\n"
	"    { key: 'scope', label: 'scope', fmt: function (r) { return orDash(r.scope); } },\n"
	"    { key: 'task', label: 'task', fmt: function (r) { return taskLabel(r.task, r.task_name); } },\n"
	"    { key: 'thread', label: 'thread', num: true },\n"
	"    { key: 'where', label: 'declared at', cls: 'code', val: function (r) { return (r.file || '') + ':' + r.line; },\n"
	"      fmt: function (r) { return r.file ? base(r.file) + ':' + r.line : '\\u2013'; } },\n"
	"    { key: 'first_seen_ns', label: 'seen at', num: true, fmt: function (r) { return dur(r.first_seen_ns); } }\n"
	"  ], V.rows, {\n"
	"    id: 'table-vars', sort: 'heap',\n"
	"    filter: function (r) { return [r.name, r.type, r.scope, r.file, r.task_name].join(' '); },\n"
	"    detail: function (r) {\n"
	"      return h('div', { cls: 'muted', text: 'address ' + r.address + ', declared at ' + orDash(r.file) + ':' + r.line +\n"
	"        (r.heap ? ', points into block ' + r.heap.address : '') + (r.scope_exit_ns != null ? ', scope left at ' + dur(r.scope_exit_ns) : '') });\n"
	"    }\n"
	"  });\n"
	"  var note = capNote(V.rows.length, V.total, 'variables');\n"
	"  if (note) host.appendChild(note);\n"
	"}\n"
	"\n"
	"function scopesSection() {\n"
	"  var T = D.scope_tree, rows = T.rows, host = $('scopes');\n"
	"  if (!rows.length) { host.appendChild(h('p', { cls: 'muted', text: 'No scopes recorded (MEMSCOPE_SCOPE).' })); return; }\n"
	"  var kids = rows.map(function () { return []; }), roots = [], max = 1;\n"
	"  rows.forEach(function (r, i) { if (r.parent >= 0) kids[r.parent].push(i); else roots.push(i); });\n"
	"  function order(list) { return list.sort(function (a, b) { return rows[b].total_bytes - rows[a].total_bytes || a - b; }); }\n"
	"  roots.forEach(function (i) { if (rows[i].total_bytes > max) max = rows[i].total_bytes; });\n"
	"  function meter(v, live) {\n"
	"    var m = h('div', { cls: 'meter' }), f = h('div', { cls: live ? 'live' : '' });\n"
	"    f.style.width = (100 * v / max).toFixed(2) + '%';\n"
	"    m.appendChild(f);\n"
	"    return m;\n"
	"  }\n"
	"  function node(i, depth) {\n"
	"    var r = rows[i], li = h('li'), ks = kids[i], ul = null;\n"
	"    var tg = h('button', { cls: 'tg', type: 'button', text: ks.length ? '\\u25b8' : '', 'aria-label': 'expand' });\n"
	"    var row = h('div', { cls: 'node' }, [tg,\n"
	"      h('span', { cls: 'nm code', title: (r.file || '?') + ':' + r.line, text: orDash(r.name) }),\n"
	"      meter(r.total_bytes, false),\n"
	"      h('span', { cls: 'num', title: num(r.alloc_bytes) + ' B in ' + num(r.allocs) + ' allocations', text: bytes(r.alloc_bytes) }),\n"
	"      h('span', { cls: 'num', title: num(r.total_bytes) + ' B', text: bytes(r.total_bytes) }),\n"
	"      h('span', { cls: 'num', title: num(r.total_live) + ' B live', text: bytes(r.total_live) }),\n"
	"      h('span', { cls: 'num', text: '\\u00d7' + num(r.count) + (r.open ? ' (' + num(r.open) + ' open)' : '') }),\n"
	"      h('span', { cls: 'muted', text: (r.file ? base(r.file) + ':' + r.line : '') + ' \\u00b7 avg ' + dur(Math.round(r.dur_ns / r.count)) + (r.variables ? ' \\u00b7 ' + num(r.variables) + ' vars' : '') })]);\n"
	"    li.appendChild(row);\n"
	"    function toggle(show) {\n"
	"      if (!ks.length) return;\n"
	"      if (!ul) {\n"
	"        ul = h('ul', { cls: 'tree' });\n"
	"        var o = order(ks.slice());\n"
	"        o.slice(0, 200).forEach(function (k) { ul.appendChild(node(k, depth + 1)); });\n"
	"        if (o.length > 200) ul.appendChild(h('li', { cls: 'muted', text: '\\u2026 ' + num(o.length - 200) + ' more' }));\n"
	"        li.appendChild(ul);\n"
	"      }\n"
	"      ul.hidden = !show;\n"
	"      tg.textContent = show ? '\\u25be' : '\\u25b8';\n"
	"    }\n"
	"    tg.addEventListener('click', function () { toggle(!ul || ul.hidden); });\n"
	"    if (depth < 2) toggle(true);\n"
	"    return li;\n"
	"  }\n"
	"  host.appendChild(h('div', { cls: 'node head' }, ['', 'scope', 'total (bar)', 'self', 'total', 'live', 'entered', 'where'].map(function (t, i) {\n"
	"    return h('span', { cls: i >= 3 && i <= 6 ? 'num' : '', text: t });\n"
	"  })));\n"
	"  var top = h('ul', { id: 'scope-tree', cls: 'tree' });\n"
	"  order(roots).slice(0, 500).forEach(function (i) { top.appendChild(node(i, 0)); });\n"
	"  host.appendChild(top);\n"
	"  var note = capNote(rows.length, T.total, 'scope paths');\n"
	"  if (note) host.appendChild(note);\n"
	"}\n"
	"\n"
	"function tasksSection() {\n"
	"  var T = D.tasks, rows = T.rows, host = $('tasks'), th = $('tasks-timeline');\n"
	"  if (!rows.length) { host.appendChild(h('p', { cls: 'muted', text: 'No tasks recorded (MEMSCOPE_TASK_*).' })); return; }\n"
	"  /* timeline: one lane per task, by start time, a page of lanes at a time */\n"
	"  var lanes = rows.filter(function (r) { return r.first_ns != null; }).sort(function (a, b) { return a.first_ns - b.first_ns || a.id - b.id; });\n"
	"  var per = 40, page = 0, t1 = Math.max(M.duration_ns || 0, 1);\n"
	"  lanes.forEach(function (r) { var e = r.ended_ns != null ? r.ended_ns : r.last_ns; if (e > t1) t1 = e; });\n"
	"  var box = h('div'), tools = h('div', { cls: 'tools' }), info = h('span', { cls: 'muted' });\n"
	"  var prev = h('button', { type: 'button', text: '\\u2039 earlier' }), next = h('button', { type: 'button', text: 'later \\u203a' });\n"
	"  tools.appendChild(prev); tools.appendChild(next); tools.appendChild(info);\n"
	"  th.appendChild(tools); th.appendChild(box);\n"
	"  function draw() {\n"
	"    var part = lanes.slice(page * per, page * per + per), W = 1000, L = 200, R = 16, T0 = 6, lh = 18;\n"
	"    var H = T0 + part.length * lh + 24;\n"
	"    var svg = sv('svg', { id: 'chart-tasks', class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'task timeline' });\n"
	"    function x(t) { return L + t / t1 * (W - L - R); }\n"
	"    ticks(t1, 6).forEach(function (t) {\n"
	"      svg.appendChild(sv('line', { class: 'axis', x1: x(t), x2: x(t), y1: T0, y2: H - 20 }));\n"
	"      svg.appendChild(sv('text', { x: x(t), y: H - 6, 'text-anchor': 'middle' }, dur(t)));\n"
	"    });\n"
	"    part.forEach(function (r, i) {\n"
	"      var y0 = T0 + i * lh, end = r.ended_ns != null ? r.ended_ns : (r.last_ns != null ? r.last_ns : r.first_ns);\n"
	"      var name = taskLabel(r.id, r.name);\n"
	"      svg.appendChild(sv('text', { class: 'lane', x: L - 6, y: y0 + 13, 'text-anchor': 'end' }, name.length > 30 ? name.slice(0, 29) + '\\u2026' : name));\n"
	"      svg.appendChild(tip(sv('rect', { class: 'bar' + (r.live_bytes ? ' leak' : ''), x: x(r.first_ns), y: y0 + 3, height: lh - 6, width: Math.max(2, x(end) - x(r.first_ns)) }),\n"
	"        name + ': ' + dur(r.first_ns) + ' \\u2013 ' + dur(end) + (r.ended_ns == null ? ' (not ended)' : '') + ', ' + num(r.allocs) + ' allocs, ' +\n"
	"        bytes(r.alloc_bytes) + ', peak ' + bytes(r.peak_live_bytes) + ', live ' + bytes(r.live_bytes)));\n"
	"    });\n"
	"    box.textContent = '';\n"
	"    box.appendChild(svg);\n"
	"    var pages = Math.max(1, Math.ceil(lanes.length / per));\n"
	"    info.textContent = 'tasks ' + num(Math.min(lanes.length, page * per + 1)) + '\\u2013' + num(Math.min(lanes.length, page * per + per)) + ' of ' + num(lanes.length) + ' by start time; red: still holding memory';\n"
	"    prev.disabled = page === 0; next.disabled = page >= pages - 1;\n"
	"  }\n"
	"  prev.addEventListener('click', function () { page--; draw(); });\n"
	"  next.addEventListener('click', function () { page++; draw(); });\n"
	"  draw();\n"
	"  table(host, [\n"
	"    { key: 'id', label: 'id', num: true },\n"
	"    { key: 'name', label: 'name', fmt: function (r) { return orDash(r.name); } },\n"
	"    { key: 'parent', label: 'parent', num: true, fmt: function (r) { return r.parent ? r.parent : '\\u2013'; } },\n"
	"    { key: 'threads', label: 'threads', val: function (r) { return r.threads.length; }, fmt: function (r) { return r.threads.join(', '); } },\n"
	"    { key: 'first_ns', label: 'start', num: true, fmt: function (r) { return dur(r.first_ns); } },\n"
	"    { key: 'length', label: 'duration', num: true, val: function (r) { var e = r.ended_ns != null ? r.ended_ns : r.last_ns; return r.first_ns != null && e != null ? e - r.first_ns : null; },\n"
	"      fmt: function (r) { var e = r.ended_ns != null ? r.ended_ns : r.last_ns; return r.first_ns != null && e != null ? dur(e - r.first_ns) + (r.ended_ns == null ? ' +' : '') : '\\u2013'; } },\n"
	"    { key: 'allocs', label: 'allocs', num: true, fmt: function (r) { return num(r.allocs); } },\n"
	"    { key: 'alloc_bytes', label: 'allocated', num: true, fmt: function (r) { return bytes(r.alloc_bytes); } },\n"
	"    { key: 'peak_live_bytes', label: 'peak', num: true, fmt: function (r) { return bytes(r.peak_live_bytes); } },\n"
	"    { key: 'live_bytes', label: 'live', num: true, fmt: function (r) { return bytes(r.live_bytes); } },\n"
	"    { key: 'variables', label: 'vars', num: true }\n"
	"  ], rows, { id: 'table-tasks', sort: 'alloc_bytes', filter: function (r) { return (r.name || '') + ' ' + r.id; } });\n"
	"  var note = capNote(rows.length, T.total, 'tasks');\n"
	"  if (note) host.appendChild(note);\n"
	"}\n"
	"\n"
	"function errorsSection() {\n"
	"  var B = D.bad_frees, host = $('errors');\n"
	"  if (!B.rows.length) { host.appendChild(h('p', { cls: 'muted', text: 'None.' })); return; }\n"
	"  table(host, [\n"
	"    { key: 'double', label: 'error', val: function (r) { return r.double ? 1 : 0; }, fmt: function (r) { return h('span', { cls: 'tag bad', text: r.double ? 'double free' : 'invalid free' }); } },\n"
	"    { key: 'address', label: 'address', cls: 'code' },\n"
	"    { key: 'kind', label: 'by' },\n"
	"    { key: 'time_ns', label: 'at', num: true, fmt: function (r) { return dur(r.time_ns); } },\n"
	"    { key: 'thread', label: 'thread', num: true },\n"
	"    { key: 'scope', label: 'scope', fmt: function (r) { return orDash(r.scope); } },\n"
	"    { key: 'task', label: 'task', fmt: function (r) { return taskLabel(r.task, r.task_name); } },\n"
	"    { key: 'fn', label: 'freed in', cls: 'code', val: function (r) { return topFrame(r.stack); }, fmt: function (r) { return topFrame(r.stack); } }\n"
	"  ], B.rows, {\n"
	"    id: 'table-bad', sort: 'time_ns', asc: true,\n"
	"    detail: function (r) {\n"
	"      return h('div', null, [r.first_free_ns != null ? h('div', { cls: 'muted', text: 'first freed at ' + dur(r.first_free_ns) }) : null, stackEl(r.stack)]);\n"
	"    }\n"
	"  });\n"
	"  var note = capNote(B.rows.length, B.total, 'bad frees');\n"
	"  if (note) host.appendChild(note);\n"
	"}\n"
	"\n"
	"header();\n"
	"cards();\n"
	"memoryChart($('memory'));\n"
	"leaksSection();\n"
	"sitesSection();\n"
	"varsSection();\n"
	"scopesSection();\n"
	"tasksSection();\n"
	"errorsSection();\n"
	"histogram($('size-hist'), 'chart-size-hist', D.size_hist, bytes, 'allocations');\n"
	"histogram($('life-hist'), 'chart-life-hist', D.life_hist, dur, 'frees');\n"
	"document.body.setAttribute('data-ready', '1');\n"
	"})();\n";

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
	size_t nt, i;
	const struct ms_task *t = ms_registry_tasks(c->reg, &nt);

	memset(&h, 0, sizeof(h));
	h.c = c;
	for (i = 0; i < nt; i++)
		ms_hm_put(&h.task_idx, t[i].pid, t[i].id, i);
	fputs(page_head, f);
	fputs(page_css, f);
	fputs(page_body, f);
	fputs("<script type=\"application/json\" id=\"data\">", f);
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
	fputs("</script>\n<script>\n", f);
	fputs(page_js, f);
	fputs("</script>\n</body>\n</html>\n", f);
	MS_VEC_FREE(h.frames);
	ms_hm_free(&h.frame_idx);
	ms_hm_free(&h.task_idx);
	return ferror(f) ? -1 : 0;
}
