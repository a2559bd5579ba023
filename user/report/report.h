/* SPDX-License-Identifier: BSD-3-Clause */
/* report.h - what every report writer gets: the registry (read-only), a
 * way to turn addresses into frames, and facts about the session. Writers
 * never see libbpf or libdw. */
#ifndef MS_REPORT_REPORT_H
#define MS_REPORT_REPORT_H

#include <stdio.h>
#include <sys/types.h>
#include "registry/registry.h"
#include "report/frame.h"

struct ms_report_ctx {
	const struct ms_registry *reg;
	/* Resolve ip (already adjusted) of process pid; 0 or -ENOENT. */
	int (*resolve)(void *user, uint32_t pid, uint64_t ip, struct ms_frame *out);
	void *resolve_user;
	pid_t pid;
	const char *exe;
	const char *mode;       /* "full", "fast", "light", "sampled" */
	const char *stop_reason; /* "target exited", "duration", "signal" */
	uint64_t start_ns, end_ns;
	uint64_t stats[MS_STAT_MAX];
	int target_exited;      /* blocks still live are leaks */
	int exit_status;        /* wait status, valid if target_exited */
	int from_start;
	uint64_t sample_interval; /* sampled mode: mean bytes between samples */
	uint64_t start_wall_ns; /* CLOCK_REALTIME at start_ns, 0 = unknown */
	int stack_depth;        /* frames asked per stack (--stack-depth) */
	int ns_pid;               /* the target's PID in its own PID namespace, 0 = unknown */
	const char *cgroup;       /* its cgroup (v2 path), NULL = unknown */
	const char *container_id; /* the container's id, NULL = none */
	uint64_t holds, hold_total_ns, hold_max_ns; /* processes held until attached */
};

#define MS_REPORT_MAX_FRAMES 64

/* Frames of the stack behind a block or a bad free: fills out[] and
 * returns how many (0 if none). caller != 0 is the immediate caller of a
 * free, which the kernel's frame-pointer walk misses. */
int ms_report_stack(const struct ms_report_ctx *c, uint32_t pid, int32_t stack_id,
		    uint64_t caller, struct ms_frame *out, int max);
/* 1 if the stack behind (pid, stack_id) was cut before its outermost
 * frame (the walk filled --stack-depth), else 0. */
int ms_report_stack_truncated(const struct ms_report_ctx *c, uint32_t pid, int32_t stack_id);
/* Human type name: C++ pretty-function names reduced to the type, and a
 * C array seen by _Generic as "T *" shown as "T[n]". */
const char *ms_report_type(const char *raw, uint64_t size, char *buf, size_t len);
/* Groups of live blocks by allocation site, largest first. */
#define MS_SITE_VARS 8
struct ms_leak_site {
	uint32_t pid;
	int32_t stack_id;
	uint64_t count, bytes;
	const struct ms_block *example;
	/* distinct names of the variables pointing into these blocks, in
	 * block order, the first MS_SITE_VARS (registry strings) */
	const char *vars[MS_SITE_VARS];
	unsigned nvars;
};
/* Returns a malloc'ed array (caller frees) and its length in *n. One pass
 * over the blocks: O(blocks * MS_SITE_VARS). */
struct ms_leak_site *ms_report_leak_sites(const struct ms_report_ctx *c, size_t *n);
/* Relative time for reports: ts - start, or 0 for ts == 0. */
static inline uint64_t ms_rel(const struct ms_report_ctx *c, uint64_t ts)
{
	return ts > c->start_ns ? ts - c->start_ns : 0;
}
const char *ms_kind_name(unsigned kind);

int ms_report_json(FILE *f, const struct ms_report_ctx *c);
int ms_report_text(FILE *f, const struct ms_report_ctx *c);

#endif
