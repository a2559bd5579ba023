/* SPDX-License-Identifier: BSD-3-Clause */
/* shapes.h - the report's objects, each written once. The JSON report
 * (report_json.c) and the HTML page's data (report_html.c) describe the same
 * things: the target, the summary, a stack and its frames, a variable, a
 * task, a heap block, a leak site, a bad free, a histogram, the memory
 * timeline. Each is written here, under the names and in the shape that
 * README.md's "JSON report" documents, so the two cannot drift apart.
 *
 * What a writer may do on top: the page lists only the largest entries of
 * a list, as {"total": N, "rows": [...]}, adds keys of its own after the
 * shared ones (names it resolves for display: "scope_name", "task_name"),
 * and writes stacks as indices into one table of frames (see struct
 * ms_shape). It never renames or reshapes a shared key.
 *
 * ms_shape_X() writes the members of an X object: the caller opens and
 * closes it (ms_json_obj / ms_json_end_obj), so it can add its own keys.
 * The others write a whole value or key, as said. Nothing here allocates
 * except the frame table and the task leak counts; all write to s->j. */
#ifndef MS_REPORT_SHAPES_H
#define MS_REPORT_SHAPES_H

#include "report/report.h"
#include "util/json.h"
#include "util/vec.h"

/* Frames written once, stacks as indices into them: a page with hundreds
 * of stacks repeats the same few frames. Keyed by (pid, ip). */
struct ms_frame_table {
	struct ms_hashmap idx; /* (pid, ip) -> index into v */
	MS_VEC(struct ms_frame) v;
};

struct ms_shape {
	struct ms_json *j;
	const struct ms_report_ctx *c;
	/* NULL: stacks are arrays of frame objects. Else stacks are arrays of
	 * indices into this table, which ms_shape_frames() writes at the end.
	 * On ENOMEM a frame is left out of a stack rather than the report
	 * lost. */
	struct ms_frame_table *frames;
};

/* Relative time since the tracer started ("*_ns"), null for 0. */
void ms_shape_time(struct ms_shape *s, uint64_t ts);
/* A scope, task or parent id, null for 0. */
void ms_shape_id(struct ms_shape *s, uint64_t id);

/* Keys version, tool, mode, target {pid, ns_pid, cgroup,
 * container_id, exe, traced_from_start, exited,
 * exit_code, signal} and stop_reason, into the open top-level object. */
void ms_shape_head(struct ms_shape *s);
/* Key "summary" and its object: counts, totals, peak, drops, bytes and
 * blocks per leak class. */
void ms_shape_summary(struct ms_shape *s);
/* Key "leak_check" and its object: how the leak check went (status, when,
 * the hold, what was read) or why it did not run. */
void ms_shape_leak_check(struct ms_shape *s);
/* Key "execs": where each exec of a traced process happened, and what it
 * exec'd: [{pid, thread, time_ns, scope, task, exe}]. */
void ms_shape_execs(struct ms_shape *s);
/* Key "temporaries": {count, bytes, threshold_ns}. */
void ms_shape_temporaries(struct ms_shape *s);
/* Key "memory_timeline": [[time_ns, live_bytes], ...]. */
void ms_shape_timeline(struct ms_shape *s);
/* Key `key` and the non-empty log2 buckets of h[MS_HIST_BUCKETS] as
 * [{min, max, count}]. */
void ms_shape_hist(struct ms_shape *s, const char *key, const uint64_t *h);

/* A stack value: frames innermost first (see struct ms_shape). caller != 0
 * is a free's immediate caller (ms_report_stack). At most
 * MS_REPORT_MAX_FRAMES frames. */
void ms_shape_stack(struct ms_shape *s, uint32_t pid, int32_t stack_id, uint64_t caller);
/* Keys "stack" (as ms_shape_stack), "truncated" (true when the walk
 * stopped before the outermost frame, null when the walk does not say:
 * the kernel's frame-pointer walk) and, when true, "truncated_reason". */
void ms_shape_stack_keys(struct ms_shape *s, uint32_t pid, int32_t stack_id, uint64_t caller);
/* One frame object: {function, file, line, module, offset, ip} and
 * "inlined": true for a function inlined at ip (innermost first). */
void ms_shape_frame(struct ms_shape *s, const struct ms_frame *f);
/* Key `key` and the frame table as an array of frame objects. */
void ms_shape_frames(struct ms_shape *s, const char *key);
void ms_frame_table_free(struct ms_frame_table *t);

/* Members of a variable: id, name, type, size, address, value, file,
 * line, pid, thread, scope, task, first_seen_ns, scope_exit_ns, heap. */
void ms_shape_var(struct ms_shape *s, const struct ms_var *v);

/* Blocks still live after their task's MEMSCOPE_TASK_END, counted per
 * task: built once (O(tasks + blocks)) for the task objects. */
struct ms_task_leaks {
	struct ms_hashmap ended;        /* (pid, task) -> end time */
	struct ms_hashmap count, bytes; /* (pid, task) -> leaked blocks, bytes */
};
void ms_task_leaks_init(struct ms_task_leaks *tl, const struct ms_report_ctx *c);
/* 1 if b is a block its task left behind. */
int ms_task_leaks_has(const struct ms_task_leaks *tl, const struct ms_block *b);
void ms_task_leaks_free(struct ms_task_leaks *tl);
/* Members allocs, alloc_bytes, frees, freed_bytes: what went through the
 * allocator in a task or at a site. */
void ms_shape_traffic(struct ms_shape *s, uint64_t allocs, uint64_t alloc_bytes, uint64_t frees,
		      uint64_t freed_bytes);
/* Members of a task: id, name, parent, pid, threads, first_ns, last_ns,
 * ended_ns, allocs, alloc_bytes, frees, freed_bytes, peak_live_bytes,
 * live_bytes, variables, leaks, leaked_bytes. */
void ms_shape_task(struct ms_shape *s, const struct ms_task *t, const struct ms_task_leaks *tl);

/* Members of a heap block: address, size, kind, variable, pid, thread,
 * scope, task, allocated_ns, reachability, indirect_bytes (definitely
 * lost only), reachable_via (when a heuristic applied), stack. */
void ms_shape_block(struct ms_shape *s, const struct ms_block *b);
/* Members of a leak (or live) site and class: count, bytes,
 * reachability, variables, stack. */
void ms_shape_site(struct ms_shape *s, const struct ms_leak_site *ls);
/* Members of an invalid or double free: address, kind, pid, thread,
 * scope, task, time_ns, first_free_ns (double frees only), stack. */
void ms_shape_bad_free(struct ms_shape *s, const struct ms_bad_free *f);

#endif
