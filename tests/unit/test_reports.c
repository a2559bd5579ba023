/* SPDX-License-Identifier: BSD-3-Clause */
/* test_reports.c - the HTML, folded-stack and trace-event writers fed a
 * synthetic registry (no BPF, no root) whose names are hostile: markup,
 * quotes, backslashes, newlines, ';' and invalid UTF-8. Prints PASS/FAIL
 * per case for tests/run.py.
 *
 * `test_reports --emit DIR [--blocks N]` writes report.json, report.html,
 * live.folded, alloc.folded and trace.json for the same registry into DIR
 * (N extra live blocks, default 0): tests/integration/test_html.py renders
 * that page in Chromium. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "util/json.h"
#include "report/metrics.h"
#include "report/pprof.h"
#include "report/profile.pb-c.h"
#include "report/report.h"
#include "report/report_out.h"

#include "check.h"

#define PID 100
#define XSS "<script>alert(1)</script>"

/* ---- synthetic records (as in test_registry.c) -------------------------- */

static uint64_t ts = 1000;

static void hdr(struct ms_hdr *h, int type, size_t size, uint32_t tid, uint64_t scope, uint64_t task)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->size = size;
	h->pid = PID;
	h->tid = tid;
	h->ts_ns = ts += 1234; /* not a multiple of 1000: fractional µs */
	h->scope = scope;
	h->task = task;
}

static void str(struct ms_registry *r, uint64_t ptr, const char *s)
{
	struct ms_ev_string e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, MS_EV_STRING, sizeof(e), PID, 0, 0);
	e.ptr = ptr;
	e.len = strlen(s);
	memcpy(e.text, s, e.len);
	ms_registry_consume(r, &e, sizeof(e));
}

static void enter(struct ms_registry *r, uint32_t tid, uint64_t id, uint64_t parent, uint64_t name,
		  uint64_t task)
{
	struct ms_ev_scope e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, MS_EV_SCOPE_ENTER, sizeof(e), tid, parent, task);
	e.id = id;
	e.name = name;
	e.file = 0x900;
	e.line = 42;
	ms_registry_consume(r, &e, sizeof(e));
}

static void leave(struct ms_registry *r, uint32_t tid, uint64_t id)
{
	struct ms_ev_scope e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, MS_EV_SCOPE_EXIT, sizeof(e), tid, 0, 0);
	e.id = id;
	ms_registry_consume(r, &e, sizeof(e));
}

static void var(struct ms_registry *r, uint32_t tid, uint64_t scope, uint64_t task, uint64_t name,
		uint64_t type, uint64_t size, uint64_t value)
{
	struct ms_ev_var e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, MS_EV_VAR, sizeof(e), tid, scope, task);
	e.name = name;
	e.type = type;
	e.file = 0x900;
	e.line = 7;
	e.size = size;
	e.value = value;
	e.addr = 0x7ffd0000;
	ms_registry_consume(r, &e, sizeof(e));
}

static void heap(struct ms_registry *r, int type, uint32_t tid, uint64_t scope, uint64_t task,
		 uint64_t addr, uint64_t size, int32_t stack, uint16_t flags)
{
	struct ms_ev_heap e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, type, sizeof(e), tid, scope, task);
	e.h.flags = flags;
	e.addr = addr;
	e.size = size;
	e.stack_id = stack;
	e.caller = type == MS_EV_FREE ? 0x5001 : 0;
	ms_registry_consume(r, &e, sizeof(e));
}

static void task(struct ms_registry *r, int type, uint32_t tid, uint64_t id, uint64_t other)
{
	struct ms_ev_task e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, type, sizeof(e), tid, 0, 0);
	e.id = id;
	e.other = other;
	ms_registry_consume(r, &e, sizeof(e));
}

static void task_name(struct ms_registry *r, uint64_t id, const char *name)
{
	struct ms_ev_name e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, MS_EV_TASK_NAME, sizeof(e), PID, 0, 0);
	e.id = id;
	e.len = strlen(name);
	memcpy(e.text, name, e.len);
	ms_registry_consume(r, &e, sizeof(e));
}

/* ---- a fake symbolizer with hostile names -------------------------------- */

static int resolve(void *user, uint32_t pid, uint64_t ip, struct ms_frame *out)
{
	(void)user;
	(void)pid;
	out->module = "/opt/prog dir/prog";
	out->offset = ip;
	switch (ip & ~0xfffull) {
	case 0x1000:
		out->function = XSS;
		out->file = "/src/</script><script>alert(2)</script>.c";
		out->line = 10;
		return 0;
	case 0x2000:
		out->function = "ns::f<a;b>(\"q\")\nnext\\line";
		out->file = "/src/back\\slash \"q\".c";
		out->line = 20;
		return 0;
	case 0x3000: /* only the module is known */
		out->function = NULL;
		out->module = "/lib/libx.so";
		return 0;
	case 0x4000:
		out->function = "bad\xff\xfe" "utf8";
		return 0;
	case 0x5000:
		out->function = "main";
		out->file = "/src/main.c";
		out->line = 5;
		return 0;
	}
	out->module = NULL;
	return -ENOENT;
}

/* Stacks, innermost first as BPF reports them (return addresses, +1). */
static const uint64_t stack1[] = { 0x1001, 0x2001, 0x5001 };
static const uint64_t stack2[] = { 0x3001, 0x4001, 0x5001 };
static const uint64_t stack3[] = { 0x9001, 0x5001 }; /* 0x9000 unresolved */

/* A small program's worth of records; `extra` more live blocks spread over
 * 50 stacks, one in eight pointed to by a variable. */
static struct ms_registry *build(uint64_t extra, struct ms_report_ctx *c)
{
	struct ms_reg_opts o = { .from_start = 1, .temp_ns = 1000000 };
	struct ms_registry *r = ms_registry_new(&o);
	struct ms_ev_proc pe;
	uint64_t i;

	if (!r)
		return NULL;
	ms_registry_add_stack(r, PID, 1, stack1, 3, MS_UNW_END_COMPLETE);
	ms_registry_add_stack(r, PID, 2, stack2, 3, MS_UNW_END_MAX);
	ms_registry_add_stack(r, PID, 3, stack3, 2, MS_UNW_END_NO_MAPPING);
	str(r, 0x100, XSS);
	str(r, 0x110, "outer \"quoted\" & <img src=x onerror=alert(3)>");
	str(r, 0x120, "back\\slash");
	str(r, 0x130, "new\nline");
	str(r, 0x140, "bad\xff\xfe" "name");
	str(r, 0x150, "char *");
	str(r, 0x160, "loop");
	str(r, 0x900, "</script><script>alert(2)</script>.c");

	task(r, MS_EV_TASK_SPAWN, PID, 1, 2);
	task_name(r, 2, XSS);
	task(r, MS_EV_TASK_ENTER, PID, 2, 0);
	enter(r, PID, 1, 0, 0x110, 2);
	enter(r, PID, 2, 1, 0x100, 2);
	heap(r, MS_EV_ALLOC, PID, 2, 2, 0x10000, 100, 1, 0);
	var(r, PID, 2, 2, 0x100, 0x150, 8, 0x10000);
	heap(r, MS_EV_ALLOC, PID, 2, 2, 0x10100, 300, 2, 0);
	var(r, PID, 2, 2, 0x120, 0x150, 8, 0x10100);
	heap(r, MS_EV_ALLOC, PID, 2, 2, 0x10200, 50, 3, 0);
	heap(r, MS_EV_FREE, PID, 2, 2, 0x10200, 50, -1, MS_F_KNOWN);
	var(r, PID, 2, 2, 0x130, 0x150, 16, 0);
	leave(r, PID, 2);
	/* the same scope path entered again: one tree node, count 2 */
	enter(r, PID, 3, 1, 0x100, 2);
	heap(r, MS_EV_ALLOC, PID, 3, 2, 0x10300, 4000, 1, 0);
	var(r, PID, 3, 2, 0x140, 0, 8, 0x10300);
	leave(r, PID, 3);
	leave(r, PID, 1);
	task(r, MS_EV_TASK_EXIT, PID, 2, 0);
	task(r, MS_EV_TASK_END, PID, 2, 0);
	/* another thread, a scope left open, errors */
	enter(r, PID + 1, 4, 0, 0x160, 0);
	heap(r, MS_EV_ALLOC, PID + 1, 4, 0, 0x20000, 64, 2, 0);
	heap(r, MS_EV_FREE, PID + 1, 4, 0, 0x20000, 64, 2, MS_F_KNOWN);
	heap(r, MS_EV_FREE, PID + 1, 4, 0, 0x20000, 0, 2, 0);   /* double */
	heap(r, MS_EV_FREE, PID + 1, 4, 0, 0x777000, 0, 1, 0);  /* invalid */
	for (i = 0; i < extra; i++) {
		uint64_t addr = 0x40000000 + i * 64;

		heap(r, MS_EV_ALLOC, PID + 1, 4, 0, addr, 16 + (i % 997), (int32_t)(10 + i % 50), 0);
		if (i % 8 == 0)
			var(r, PID + 1, 4, 0, i % 16 ? 0x160 : 0x100, 0x150, 8, addr);
	}
	memset(&pe, 0, sizeof(pe));
	hdr(&pe.h, MS_EV_PROC_EXIT, sizeof(pe), PID, 0, 0);
	ms_registry_consume(r, &pe, sizeof(pe));

	memset(c, 0, sizeof(*c));
	c->reg = r;
	c->resolve = resolve;
	c->pid = PID;
	c->exe = "/tmp/" XSS "/prog\"x\\y";
	c->mode = "full";
	c->stop_reason = "target exited";
	c->start_ns = 1000;
	c->end_ns = ts + 1000;
	c->stats[MS_STAT_DROPPED] = 3;
	c->target_exited = 1;
	c->from_start = 1;
	return r;
}

/* ---- helpers ------------------------------------------------------------ */

struct out {
	char *buf;
	size_t len;
};

typedef int (*writer)(FILE *f, const struct ms_report_ctx *c);

static int write_mem(struct out *o, const struct ms_report_ctx *c, writer w)
{
	FILE *f = open_memstream(&o->buf, &o->len);
	int err;

	if (!f)
		return -errno;
	err = w(f, c);
	if (fclose(f))
		err = -1;
	return err;
}

static int folded_live(FILE *f, const struct ms_report_ctx *c) { return ms_report_folded(f, c, 1); }
static int folded_alloc(FILE *f, const struct ms_report_ctx *c) { return ms_report_folded(f, c, 0); }

/* Parse with Python's json module, as a user's tool would. 1 if valid. */
static int json_valid(const char *text, size_t len)
{
	char path[] = "/tmp/memscope-test-XXXXXX";
	char cmd[256];
	int fd = mkstemp(path), ok;

	if (fd < 0)
		return 0;
	ok = write(fd, text, len) == (ssize_t)len;
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys; json.load(open(sys.argv[1], encoding=\"utf-8\"))' %s", path);
	ok = ok && system(cmd) == 0;
	unlink(path);
	return ok;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0, k = strlen(needle);

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += k;
	}
	return n;
}

/* The JSON between <script type="application/json" id="data"> and the
 * next </script>, or NULL. */
static const char *data_island(const char *html, size_t *len)
{
	static const char open[] = "<script type=\"application/json\" id=\"data\">";
	const char *p = strstr(html, open), *e;

	if (!p)
		return NULL;
	p += sizeof(open) - 1;
	e = strstr(p, "</script>");
	if (!e)
		return NULL;
	*len = (size_t)(e - p);
	return p;
}

/* ---- cases -------------------------------------------------------------- */

static void test_json_report_parses(void)
{
	struct ms_report_ctx c;
	struct ms_registry *r = build(0, &c);
	struct out o = { 0 };

	CHECK(r);
	CHECK(write_mem(&o, &c, ms_report_json) == 0);
	CHECK(json_valid(o.buf, o.len));
	PASS();
out:
	free(o.buf);
	ms_registry_free(r);
}

/* Scalars as the writer spells them: a double keeps 15 significant digits
 * (a slope, an estimate or a cost read back equals what was computed, to
 * 1e-15), a non-finite one is null, integers are whole. */
static void test_json_scalars(void)
{
	struct ms_json j;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f);
	ms_json_init(&j, f, 0);
	ms_json_arr(&j);
	ms_json_dbl(&j, 1234567.891);
	ms_json_dbl(&j, 0.1 + 0.2);
	ms_json_dbl(&j, 1.0 / 0.0);
	ms_json_u64(&j, UINT64_MAX);
	ms_json_i64(&j, INT64_MIN);
	ms_json_hex(&j, 0xdeadbeef);
	ms_json_end_arr(&j);
	fclose(f);
	f = NULL;
	CHECK(strcmp(buf, "[1234567.891,0.3,null,18446744073709551615,-9223372036854775808,\"0xdeadbeef\"]") == 0);
	PASS();
out:
	if (f)
		fclose(f);
	free(buf);
}

static void test_timeline_events(void)
{
	struct ms_report_ctx c;
	struct ms_registry *r = build(0, &c);
	struct out o = { 0 };
	size_t nscopes, npts, nbad;

	CHECK(r);
	CHECK(write_mem(&o, &c, ms_report_timeline) == 0);
	CHECK(json_valid(o.buf, o.len));
	ms_registry_scopes(r, &nscopes);
	ms_registry_timeline(r, &npts);
	ms_registry_bad_frees(r, &nbad);
	CHECK(strncmp(o.buf, "{\"displayTimeUnit\"", 18) == 0);
	CHECK(strstr(o.buf, "\"traceEvents\":["));
	CHECK(count(o.buf, "\"ph\":\"X\"") == nscopes);
	/* task 2 has an interval; task 1 is only a spawn's parent */
	CHECK(count(o.buf, "\"ph\":\"b\"") == 1 && count(o.buf, "\"ph\":\"e\"") == 1);
	CHECK(count(o.buf, "\"cat\":\"task\"") == 2);
	CHECK(count(o.buf, "\"ph\":\"C\"") == npts && npts > 0);
	CHECK(count(o.buf, "\"ph\":\"i\"") == nbad && nbad == 2);
	/* process + two threads */
	CHECK(count(o.buf, "\"process_name\"") == 1 && count(o.buf, "\"thread_name\"") == 2);
	/* the open scope on thread 101 runs to the end of the trace */
	CHECK(strstr(o.buf, "\"open\":true"));
	/* sub-µs precision kept: the first scope starts 1234 ns after a
	 * multiple of 1000 */
	CHECK(strstr(o.buf, ".234") || strstr(o.buf, ".468") || strstr(o.buf, ".702"));
	CHECK(strstr(o.buf, "\"id2\":{\"local\":\"0x2\"}"));
	CHECK(!strstr(o.buf, "<script"));
	PASS();
out:
	free(o.buf);
	ms_registry_free(r);
}

/* Every line "frame;frame;... BYTES"; returns the byte sum or -1. */
static int64_t folded_sum(const char *text, size_t *lines)
{
	const char *p = text;
	int64_t sum = 0;

	*lines = 0;
	while (*p) {
		const char *nl = strchr(p, '\n'), *sp, *q;
		char *end;
		long long v;

		if (!nl || nl == p)
			return -1;
		for (sp = nl; sp > p && sp[-1] != ' '; sp--)
			;
		if (sp == p || sp == nl || sp - 1 == p)
			return -1;
		v = strtoll(sp, &end, 10);
		if (end != nl || v <= 0)
			return -1;
		/* no empty frame, no ';' at either end */
		if (*p == ';' || sp[-2] == ';')
			return -1;
		for (q = p; q < sp - 1; q++)
			if (q[0] == ';' && q[1] == ';')
				return -1;
		sum += v;
		(*lines)++;
		p = nl + 1;
	}
	return sum;
}

static void test_folded(void)
{
	struct ms_report_ctx c;
	struct ms_registry *r = build(0, &c);
	const struct ms_summary *s;
	struct out live = { 0 }, alloc = { 0 };
	size_t nl = 0, na = 0;

	CHECK(r);
	s = ms_registry_summary(r);
	CHECK(write_mem(&live, &c, folded_live) == 0);
	CHECK(write_mem(&alloc, &c, folded_alloc) == 0);
	CHECK(folded_sum(live.buf, &nl) == (int64_t)s->live_bytes && s->live_bytes == 4400);
	CHECK(folded_sum(alloc.buf, &na) == (int64_t)s->alloc_bytes && s->alloc_bytes == 4514);
	CHECK(nl == 2 && na == 3);
	/* root first; ';' and the newline in a name replaced, the unresolved
	 * frame as module+offset or address, bad UTF-8 as '?' */
	CHECK(strstr(live.buf, "main;ns::f<a:b>(\"q\") next\\line;" XSS " 4100\n"));
	CHECK(strstr(live.buf, "main;bad??utf8;libx.so+0x3000 300\n"));
	CHECK(strstr(alloc.buf, "main;0x9001 50\n"));
	PASS();
out:
	free(live.buf);
	free(alloc.buf);
	ms_registry_free(r);
}

static void test_html_escapes_target_names(void)
{
	static char head[100000];
	struct ms_report_ctx c;
	struct ms_registry *r = build(0, &c);
	struct out o = { 0 };
	const char *data;
	size_t len;

	CHECK(r);
	CHECK(write_mem(&o, &c, ms_report_html) == 0);
	CHECK(strncmp(o.buf, "<!DOCTYPE html>", 15) == 0);
	CHECK(strstr(o.buf, "</html>\n"));
	/* The page has exactly its own two script elements: no name opened
	 * or closed one. */
	CHECK(count(o.buf, "<script") == 2 && count(o.buf, "</script") == 2);
	CHECK(!strstr(o.buf, "<script>alert"));
	CHECK(!strstr(o.buf, "<img"));
	CHECK(strstr(o.buf, "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"));
	CHECK(strstr(o.buf, "new\\nline") && strstr(o.buf, "back\\\\slash"));
	CHECK(strstr(o.buf, "bad\\ufffd\\ufffdname"));
	data = data_island(o.buf, &len);
	CHECK(data && json_valid(data, len));
	/* the script builds the DOM from text only, and fetches nothing */
	CHECK(!strstr(o.buf, "innerHTML") && !strstr(o.buf, "outerHTML") &&
	      !strstr(o.buf, "insertAdjacentHTML") && !strstr(o.buf, "document.write"));
	/* The page around the data loads nothing (the data is checked
	 * above: its markup is escaped). */
	CHECK(data - o.buf < 100000);
	memcpy(head, o.buf, (size_t)(data - o.buf));
	head[data - o.buf] = 0;
	CHECK(!strstr(head, "https://") && !strstr(head, "src=") && !strstr(head, "<link"));
	CHECK(!strstr(data + len, "https://") && !strstr(data + len, "src=") &&
	      !strstr(data + len, "fetch(") && !strstr(data + len, "XMLHttpRequest") &&
	      !strstr(data + len, "import("));
	CHECK(strstr(o.buf, "Content-Security-Policy") && strstr(o.buf, "default-src 'none'"));
	PASS();
out:
	free(o.buf);
	ms_registry_free(r);
}

static void test_html_scope_tree_merges_paths(void)
{
	struct ms_report_ctx c;
	struct ms_registry *r = build(0, &c);
	struct out o = { 0 };

	CHECK(r);
	CHECK(write_mem(&o, &c, ms_report_html) == 0);
	/* scopes 2 and 3 share a path: 4 scopes, 3 nodes */
	CHECK(strstr(o.buf, "\"scope_tree\":{\"scopes\":4,\"total\":3,"));
	CHECK(strstr(o.buf, "\"count\":2,\"open\":0,\"allocs\":4,\"alloc_bytes\":4450,\"total_bytes\":4450"));
	/* inner node's bytes are in its parent's total */
	CHECK(strstr(o.buf, "\"parent\":-1,\"name\":\"outer \\\"quoted\\\" \\u0026 \\u003cimg src=x onerror=alert(3)\\u003e\""));
	CHECK(strstr(o.buf, "\"allocs\":0,\"alloc_bytes\":0,\"total_bytes\":4450"));
	PASS();
out:
	free(o.buf);
	ms_registry_free(r);
}

static void test_html_large_trace_is_bounded(void)
{
	struct ms_report_ctx c;
	struct ms_registry *r = build(100000, &c);
	struct out o = { 0 };
	struct ms_leak_site *sites = NULL;
	const char *data;
	size_t len, nsites;
	clock_t t0 = clock();
	double secs;

	CHECK(r);
	CHECK(ms_registry_summary(r)->live_allocs == 100000 + 3);
	CHECK(write_mem(&o, &c, ms_report_html) == 0);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	/* caps: 1000 blocks listed, and one example block per site; a few
	 * hundred KB */
	sites = ms_report_leak_sites(&c, &nsites);
	CHECK(sites && nsites == 52);
	CHECK(o.len < 2u << 20);
	CHECK(count(o.buf, "\"allocated_ns\":") == 1000 + nsites);
	CHECK(strstr(o.buf, "\"leaks\":{\"total\":100003,"));
	CHECK(secs < 20);
	data = data_island(o.buf, &len);
	CHECK(data && json_valid(data, len));
	PASS();
out:
	free(sites);
	free(o.buf);
	ms_registry_free(r);
}

static void test_empty_registry(void)
{
	struct ms_report_ctx c;
	struct out a = { 0 }, b = { 0 }, d = { 0 };
	const char *data;
	size_t len;

	memset(&c, 0, sizeof(c));
	c.reg = ms_registry_new(NULL);
	CHECK(c.reg);
	c.mode = "full";
	CHECK(write_mem(&a, &c, ms_report_html) == 0);
	data = data_island(a.buf, &len);
	CHECK(data && json_valid(data, len));
	CHECK(write_mem(&b, &c, ms_report_timeline) == 0 && json_valid(b.buf, b.len));
	CHECK(write_mem(&d, &c, folded_live) == 0 && d.len == 0);
	PASS();
out:
	free(a.buf);
	free(b.buf);
	free(d.buf);
	ms_registry_free((struct ms_registry *)c.reg);
}

static void test_write_error_reported(void)
{
	struct ms_report_ctx c;
	struct ms_registry *r = build(2000, &c);
	FILE *f = fopen("/dev/full", "w");

	CHECK(r);
	if (!f) {
		printf("SKIP %s: no /dev/full\n", __func__);
		goto out;
	}
	CHECK(ms_report_html(f, &c) == -1);
	/* A small output may still sit in the buffer: the writers report
	 * what f knows, the caller's fflush reports the rest. */
	clearerr(f);
	CHECK(ms_report_timeline(f, &c) == -1 || fflush(f) == EOF);
	PASS();
out:
	if (f)
		fclose(f);
	ms_registry_free(r);
}

/* ---- --emit: files for the browser test --------------------------------- */

static int emit_one(const char *dir, const char *name, const struct ms_report_ctx *c, writer w)
{
	char path[4096];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "test_reports: %s: %s\n", path, strerror(errno));
		return -1;
	}
	err = w(f, c);
	if (fclose(f) || err) {
		fprintf(stderr, "test_reports: write %s failed\n", path);
		return -1;
	}
	return 0;
}

static int emit(const char *dir, uint64_t extra)
{
	struct ms_report_ctx c;
	struct ms_registry *r = build(extra, &c);
	int err = 0;

	if (!r)
		return 1;
	err |= emit_one(dir, "report.json", &c, ms_report_json);
	err |= emit_one(dir, "report.html", &c, ms_report_html);
	err |= emit_one(dir, "live.folded", &c, folded_live);
	err |= emit_one(dir, "alloc.folded", &c, folded_alloc);
	err |= emit_one(dir, "trace.json", &c, ms_report_timeline);
	ms_registry_free(r);
	return err ? 1 : 0;
}

/* ---- pprof and Prometheus ------------------------------------------------ */

static int ms_pprof_writer(FILE *f, const struct ms_report_ctx *c) { return ms_report_pprof(f, c); }

/* gunzip + protobuf-c unpack of what the pprof writer wrote. */
static Perftools__Profiles__Profile *decode(const struct out *o)
{
	size_t cap = 1 << 20;
	unsigned char *raw = malloc(cap);
	z_stream z = { 0 };
	Perftools__Profiles__Profile *p = NULL;

	if (!raw || inflateInit2(&z, 15 + 16) != Z_OK)
		goto out;
	z.next_in = (unsigned char *)o->buf;
	z.avail_in = (uInt)o->len;
	z.next_out = raw;
	z.avail_out = (uInt)cap;
	if (inflate(&z, Z_FINISH) == Z_STREAM_END)
		p = perftools__profiles__profile__unpack(NULL, cap - z.avail_out, raw);
	inflateEnd(&z);
out:
	free(raw);
	return p;
}

static const char *label_of(const Perftools__Profiles__Profile *p, const Perftools__Profiles__Sample *s,
			    const char *key)
{
	size_t i;

	for (i = 0; i < s->n_label; i++)
		if (!strcmp(p->string_table[s->label[i]->key], key))
			return p->string_table[s->label[i]->str];
	return NULL;
}

static void test_pprof_decodes_with_exact_totals(void)
{
	struct ms_report_ctx c;
	struct ms_registry *r = build(0, &c);
	const struct ms_summary *sum;
	struct out o = { 0 };
	Perftools__Profiles__Profile *p = NULL;
	int64_t tot[4] = { 0 };
	size_t i, k, named = 0;
	int xss = 0, bad_utf8 = 0, unresolved = 0;

	CHECK(r);
	sum = ms_registry_summary(r);
	CHECK(write_mem(&o, &c, ms_pprof_writer) == 0);
	CHECK((p = decode(&o)));
	CHECK(p->n_sample_type == 4 && !strcmp(p->string_table[p->sample_type[0]->type], "alloc_objects") &&
	      !strcmp(p->string_table[p->sample_type[3]->unit], "bytes"));
	CHECK(!strcmp(p->string_table[p->default_sample_type], "inuse_space"));
	CHECK(p->period == 1 && !strcmp(p->string_table[p->period_type->type], "space"));
	for (i = 0; i < p->n_sample; i++) {
		for (k = 0; k < 4; k++)
			tot[k] += p->sample[i]->value[k];
		if (label_of(p, p->sample[i], "variable"))
			named++;
	}
	CHECK(tot[0] == (int64_t)sum->allocs && tot[1] == (int64_t)sum->alloc_bytes);
	CHECK(tot[2] == (int64_t)sum->live_allocs && tot[3] == (int64_t)sum->live_bytes);
	CHECK(named == 3); /* the live blocks of 100, 300 and 4000 bytes have variables */
	for (i = 0; i < p->n_string_table; i++) {
		xss |= !strcmp(p->string_table[i], XSS);
		bad_utf8 |= !strcmp(p->string_table[i], "bad??utf8");
		CHECK(!strstr(p->string_table[i], "\xff"));
	}
	CHECK(xss && bad_utf8);
	/* the unresolved frame: an address with no line, for a symbolizer */
	for (i = 0; i < p->n_location; i++)
		unresolved += (p->location[i]->address & ~1ull) == 0x9000 && p->location[i]->n_line == 0;
	CHECK(unresolved == 1);
	PASS();
out:
	if (p)
		perftools__profiles__profile__free_unpacked(p, NULL);
	free(o.buf);
	ms_registry_free(r);
}

static void test_metrics_text_is_escaped_and_bounded(void)
{
	struct ms_report_ctx c;
	struct ms_registry *r = build(200, &c);
	struct ms_metrics *m = ms_metrics_new(3);
	struct ms_metrics_probe pr = { .name = "malloc_entry", .hits = 10, .run_ns = 5000, .traps = 1 };
	struct ms_metrics_extra x = { .rss_bytes = 1 << 20, .cpu_seconds = 0.5, .probes = &pr, .nprobes = 1,
				      .trap_ns = 1000 };
	struct out o = { 0 };
	FILE *f;
	char *line, *save;
	size_t sites = 0;
	double live = 0, site_sum = 0;

	CHECK(r && m);
	f = open_memstream(&o.buf, &o.len);
	CHECK(f);
	CHECK(ms_metrics_render(m, f, &c, &x) == 0 && fclose(f) == 0);
	CHECK(strstr(o.buf, "memscope_probe_cost_seconds_total{program=\"malloc_entry\"} 0.000015000\n"));
	/* the task's name is markup; the exe has a quote and a backslash */
	CHECK(strstr(o.buf, "memscope_task_allocated_bytes_total{task=\"" XSS "\"} 4450\n"));
	CHECK(strstr(o.buf, "exe=\"/tmp/" XSS "/prog\\\"x\\\\y\""));
	CHECK(strstr(o.buf, "{variable=\"new\\nline\"}") || !strstr(o.buf, "new\nline"));
	CHECK(!strstr(o.buf, "\xff"));
	for (line = strtok_r(o.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "memscope_site_live_bytes{", 25)) {
			sites++;
			site_sum += strtod(strrchr(line, ' ') + 1, NULL);
		} else if (!strncmp(line, "memscope_live_bytes ", 20)) {
			live = strtod(line + 20, NULL);
		}
	}
	CHECK(sites == 4 && live > 0 && site_sum == live); /* top 3 + other */
	PASS();
out:
	free(o.buf);
	ms_metrics_free(m);
	ms_registry_free(r);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "--emit") == 0)
		return emit(argv[2], argc >= 5 && strcmp(argv[3], "--blocks") == 0 ?
					     strtoull(argv[4], NULL, 10) : 0);
	test_json_report_parses();
	test_json_scalars();
	test_timeline_events();
	test_folded();
	test_html_escapes_target_names();
	test_html_scope_tree_merges_paths();
	test_html_large_trace_is_bounded();
	test_empty_registry();
	test_write_error_reported();
	test_pprof_decodes_with_exact_totals();
	test_metrics_text_is_escaped_and_bounded();
	return failed ? 1 : 0;
}
