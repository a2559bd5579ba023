/* SPDX-License-Identifier: BSD-3-Clause */
/* report_timeline.c - Chrome trace-event JSON for Perfetto and
 * chrome://tracing: scopes as slices on their threads, tasks as async
 * slices, live heap bytes as a counter track, bad frees as instants.
 *
 * Format: "Trace Event Format" (the JSON object form). Perfetto scopes an
 * async slice by (pid, cat, id2.local), so equal task ids in two traced
 * processes stay apart. Times are µs since the tracer started, written with
 * ns precision: the viewers take fractional microseconds. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "util/json.h"
#include "report/report_out.h"

/* ns -> µs with three decimals. The streaming writer has no fixed-point
 * number, and %g would round large timestamps, so the integer part goes
 * through it (which places the separator) and the fraction follows it. */
static void us(struct ms_json *j, uint64_t ns)
{
	ms_json_u64(j, ns / 1000);
	if (ns % 1000)
		fprintf(j->f, ".%03u", (unsigned)(ns % 1000));
}

static void ev_begin(struct ms_json *j, const char *ph, const char *name, const char *cat,
		     uint32_t pid, uint32_t tid)
{
	ms_json_obj(j);
	ms_json_key(j, "ph"); ms_json_str(j, ph);
	ms_json_key(j, "name"); ms_json_str(j, name);
	if (cat) {
		ms_json_key(j, "cat");
		ms_json_str(j, cat);
	}
	ms_json_key(j, "pid"); ms_json_u64(j, pid);
	ms_json_key(j, "tid"); ms_json_u64(j, tid);
}

/* Name every process and thread that owns an event. Threads are known
 * only by id (the registry keeps no comm per thread). */
static void names(struct ms_json *j, const struct ms_report_ctx *c)
{
	struct ms_hashmap seen = { 0 };
	size_t ns, nt, nb, i;
	uint32_t k;
	const struct ms_scope *s = ms_registry_scopes(c->reg, &ns);
	const struct ms_task *t = ms_registry_tasks(c->reg, &nt);
	const struct ms_bad_free *b = ms_registry_bad_frees(c->reg, &nb);
	const char *exe = c->exe ? strrchr(c->exe, '/') : NULL;
	char buf[64];

	exe = exe ? exe + 1 : c->exe;
	/* (pid, 0) marks a process, (pid, tid + 1) one of its threads. */
	ms_hm_put(&seen, (uint32_t)c->pid, 0, 1);
	for (i = 0; i < ns; i++) {
		ms_hm_put(&seen, s[i].pid, 0, 1);
		ms_hm_put(&seen, s[i].pid, (uint64_t)s[i].tid + 1, 1);
	}
	for (i = 0; i < nt; i++) {
		ms_hm_put(&seen, t[i].pid, 0, 1);
		for (k = 0; k < t[i].nthreads && k < MS_TASK_THREADS; k++)
			ms_hm_put(&seen, t[i].pid, (uint64_t)t[i].threads[k] + 1, 1);
	}
	for (i = 0; i < nb; i++) {
		ms_hm_put(&seen, b[i].pid, 0, 1);
		ms_hm_put(&seen, b[i].pid, (uint64_t)b[i].tid + 1, 1);
	}
	for (i = 0; i < seen.cap; i++) {
		uint32_t pid, tid;

		if (!seen.slots[i].used)
			continue;
		pid = (uint32_t)seen.slots[i].k.a;
		if (!seen.slots[i].k.b) {
			ev_begin(j, "M", "process_name", NULL, pid, 0);
			if (pid == (uint32_t)c->pid && exe)
				snprintf(buf, sizeof(buf), "%.40s (%" PRIu32 ")", exe, pid);
			else
				snprintf(buf, sizeof(buf), "pid %" PRIu32, pid);
		} else {
			tid = (uint32_t)(seen.slots[i].k.b - 1);
			ev_begin(j, "M", "thread_name", NULL, pid, tid);
			if (tid == pid)
				snprintf(buf, sizeof(buf), "main thread (%" PRIu32 ")", tid);
			else
				snprintf(buf, sizeof(buf), "thread %" PRIu32, tid);
		}
		ms_json_key(j, "args");
		ms_json_obj(j);
		ms_json_key(j, "name"); ms_json_str(j, buf);
		ms_json_end_obj(j);
		ms_json_end_obj(j);
	}
	ms_hm_free(&seen);
}

/* The end of an interval still open when the trace stopped. */
static uint64_t trace_end(const struct ms_report_ctx *c)
{
	const struct ms_summary *s = ms_registry_summary(c->reg);

	return c->end_ns > s->last_ns ? c->end_ns : s->last_ns;
}

static void scopes(struct ms_json *j, const struct ms_report_ctx *c)
{
	size_t n, i;
	const struct ms_scope *s = ms_registry_scopes(c->reg, &n);
	uint64_t end = trace_end(c);

	for (i = 0; i < n; i++) {
		const char *name = ms_registry_str(c->reg, s[i].name);
		uint64_t exit = s[i].exit_ns ? s[i].exit_ns : end;

		ev_begin(j, "X", name ? name : "(unnamed scope)", "scope", s[i].pid, s[i].tid);
		ms_json_key(j, "ts"); us(j, ms_rel(c, s[i].enter_ns));
		ms_json_key(j, "dur"); us(j, exit > s[i].enter_ns ? exit - s[i].enter_ns : 0);
		ms_json_key(j, "args");
		ms_json_obj(j);
		ms_json_key(j, "id"); ms_json_u64(j, s[i].id);
		ms_json_key(j, "file"); ms_json_str(j, ms_registry_str(c->reg, s[i].file));
		ms_json_key(j, "line"); ms_json_u64(j, s[i].line);
		ms_json_key(j, "task"); ms_json_u64(j, s[i].task);
		ms_json_key(j, "allocs"); ms_json_u64(j, s[i].allocs);
		ms_json_key(j, "alloc_bytes"); ms_json_u64(j, s[i].alloc_bytes);
		ms_json_key(j, "live_bytes_at_exit");
		ms_json_u64_or_null(j, s[i].exit_ns != 0, s[i].live_bytes_at_exit);
		ms_json_key(j, "variables"); ms_json_u64(j, s[i].nvars);
		if (!s[i].exit_ns) {
			ms_json_key(j, "open");
			ms_json_bool(j, 1);
		}
		ms_json_end_obj(j);
		ms_json_end_obj(j);
	}
}

static void task_event(struct ms_json *j, const struct ms_report_ctx *c, const struct ms_task *t,
		       const char *ph, const char *name, uint64_t ts)
{
	ev_begin(j, ph, name, "task", t->pid, t->nthreads ? t->threads[0] : t->pid);
	ms_json_key(j, "ts"); us(j, ms_rel(c, ts));
	ms_json_key(j, "id2");
	ms_json_obj(j);
	ms_json_key(j, "local"); ms_json_hex(j, t->id);
	ms_json_end_obj(j);
}

static void tasks(struct ms_json *j, const struct ms_report_ctx *c)
{
	size_t n, i;
	const struct ms_task *t = ms_registry_tasks(c->reg, &n);
	uint64_t end = trace_end(c);
	char buf[48];

	for (i = 0; i < n; i++) {
		const char *name = ms_registry_str(c->reg, t[i].name);
		uint64_t first = t[i].first_ns, last = t[i].ended_ns ? t[i].ended_ns : t[i].last_ns;

		if (!first)
			continue; /* known only as a spawn's parent: no interval */
		if (!last)
			last = end;
		if (last < first)
			last = first;
		if (!name) {
			snprintf(buf, sizeof(buf), "task %" PRIu64, t[i].id);
			name = buf;
		}
		task_event(j, c, &t[i], "b", name, first);
		ms_json_key(j, "args");
		ms_json_obj(j);
		ms_json_key(j, "id"); ms_json_u64(j, t[i].id);
		ms_json_key(j, "parent"); ms_json_u64(j, t[i].parent);
		ms_json_key(j, "ended"); ms_json_bool(j, t[i].ended_ns != 0);
		ms_json_key(j, "allocs"); ms_json_u64(j, t[i].allocs);
		ms_json_key(j, "alloc_bytes"); ms_json_u64(j, t[i].alloc_bytes);
		ms_json_key(j, "frees"); ms_json_u64(j, t[i].frees);
		ms_json_key(j, "freed_bytes"); ms_json_u64(j, t[i].freed_bytes);
		ms_json_key(j, "peak_live_bytes"); ms_json_u64(j, t[i].peak_live_bytes);
		ms_json_key(j, "live_bytes"); ms_json_u64(j, t[i].live_bytes);
		ms_json_key(j, "variables"); ms_json_u64(j, t[i].nvars);
		ms_json_end_obj(j);
		ms_json_end_obj(j);
		/* The end must repeat name and cat: that is how it is matched. */
		task_event(j, c, &t[i], "e", name, last);
		ms_json_end_obj(j);
	}
}

static void counter(struct ms_json *j, const struct ms_report_ctx *c)
{
	size_t n, i;
	const struct ms_point *p = ms_registry_timeline(c->reg, &n);

	for (i = 0; i < n; i++) {
		ev_begin(j, "C", "live heap", "memory", (uint32_t)c->pid, (uint32_t)c->pid);
		ms_json_key(j, "ts"); us(j, ms_rel(c, p[i].ts_ns));
		ms_json_key(j, "args");
		ms_json_obj(j);
		ms_json_key(j, "bytes"); ms_json_u64(j, p[i].live_bytes);
		ms_json_end_obj(j);
		ms_json_end_obj(j);
	}
}

static void bad_frees(struct ms_json *j, const struct ms_report_ctx *c)
{
	size_t n, i;
	const struct ms_bad_free *b = ms_registry_bad_frees(c->reg, &n);

	for (i = 0; i < n; i++) {
		ev_begin(j, "i", b[i].is_double ? "double free" : "invalid free", "error",
			 b[i].pid, b[i].tid);
		ms_json_key(j, "s"); ms_json_str(j, "t");
		ms_json_key(j, "ts"); us(j, ms_rel(c, b[i].ts_ns));
		ms_json_key(j, "args");
		ms_json_obj(j);
		ms_json_key(j, "address"); ms_json_hex(j, b[i].addr);
		ms_json_key(j, "kind"); ms_json_str(j, ms_kind_name(b[i].kind));
		ms_json_key(j, "scope"); ms_json_u64(j, b[i].scope);
		ms_json_key(j, "task"); ms_json_u64(j, b[i].task);
		ms_json_end_obj(j);
		ms_json_end_obj(j);
	}
}

int ms_report_timeline(FILE *f, const struct ms_report_ctx *c)
{
	struct ms_json j;

	/* Compact: a trace with millions of scopes is big enough already. */
	ms_json_init(&j, f, 0);
	ms_json_obj(&j);
	ms_json_key(&j, "displayTimeUnit"); ms_json_str(&j, "ms");
	ms_json_key(&j, "otherData");
	ms_json_obj(&j);
	ms_json_key(&j, "tool"); ms_json_str(&j, "memscope-trace");
	ms_json_key(&j, "exe"); ms_json_str(&j, c->exe);
	ms_json_key(&j, "mode"); ms_json_str(&j, c->mode);
	ms_json_key(&j, "stop_reason"); ms_json_str(&j, c->stop_reason);
	ms_json_end_obj(&j);
	ms_json_key(&j, "traceEvents");
	ms_json_arr(&j);
	names(&j, c);
	scopes(&j, c);
	tasks(&j, c);
	counter(&j, c);
	bad_frees(&j, c);
	ms_json_end_arr(&j);
	ms_json_end_obj(&j);
	fputc('\n', f);
	return ferror(f) ? -1 : 0;
}
