/* SPDX-License-Identifier: BSD-3-Clause */
/* report.h - what every report writer gets: the registry (read-only), a
 * way to turn addresses into frames, and facts about the session. Writers
 * never see libbpf or libdw. */
#ifndef MS_REPORT_REPORT_H
#define MS_REPORT_REPORT_H

#include <stdio.h>
#include <sys/types.h>
#include "registry/reach.h"
#include "registry/registry.h"
#include "report/frame.h"

/* One probe's share of what tracing costs the target (trace/budget.c). */
struct ms_report_probe {
	const char *func;    /* "malloc", "_ZdlPv", "memscope:var" */
	const char *library; /* "" for a USDT probe name */
	uint64_t offset;     /* bytes into the function */
	int emulated;        /* the kernel emulates the probed instruction */
	int ret;             /* a return probe */
	uint64_t hits;       /* since attach */
	double rate;         /* hits per second over the last interval */
	double est_ns;       /* estimated ns it cost the target over the run */
};

/* What the probes cost the target: hits x the trap cost measured at attach,
 * plus the BPF programs' run time (kernel statistics). */
struct ms_report_cost {
	int valid;              /* trap costs were measured */
	double trap_emulated_ns, trap_xol_ns, trap_ret_ns;
	double est_ns;          /* over the run */
	double bpf_ns;          /* BPF run time over the run (part of est_ns) */
	double target_cpu_ns;   /* the target's CPU time over the run */
	double pct;             /* est_ns / target CPU, in percent */
	double now_ns_per_s;    /* over the last interval */
	double now_pct;
	/* --budget PCT */
	double budget_pct;      /* 0: no budget */
	int level;              /* 0 = as configured ... the last = light */
	const char *level_name;
	double coverage;        /* share of the run the allocator probes were on */
	uint64_t gaps;          /* times they went off */
	const struct ms_report_probe *probes;
	size_t nprobes;
};

/* How stacks were walked, and what the DWARF unwind tables cost. */
struct ms_report_unwind {
	const char *method;      /* "dwarf", "fp", or NULL: no stacks */
	uint64_t files, rows, bytes, capacity_bytes, build_ns;
	uint64_t not_loaded;     /* files whose table did not fit */
	uint64_t no_cfi;         /* files without usable CFI */
	uint64_t misses;         /* files mapped before their table was built */
};

struct ms_report_ctx {
	const struct ms_registry *reg;
	/* Resolve ip (already adjusted) of process pid; 0 or -ENOENT. */
	int (*resolve)(void *user, uint32_t pid, uint64_t ip, struct ms_frame *out);
	/* Optional: the same, expanded into the functions inlined at ip
	 * (innermost first, up to max frames, all with ip); returns the
	 * frames filled, or <= 0 as resolve. Stacks use it when set. */
	int (*resolve_inline)(void *user, uint32_t pid, uint64_t ip, struct ms_frame *out, int max);
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
	const struct ms_report_cost *cost; /* NULL: not estimated */
	int stack_depth;        /* frames captured per stack */
	const char *stack_note; /* why fewer than --stack-depth's default, or NULL */
	struct ms_report_unwind unwind;
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
 * frame (the DWARF walk said so; for the kernel's frame-pointer walk,
 * which does not say: the walk filled --stack-depth), else 0. */
int ms_report_stack_truncated(const struct ms_report_ctx *c, uint32_t pid, int32_t stack_id);
/* Why a stack walk ended, for reports ("stack depth limit ..."). */
const char *ms_unw_end_name(unsigned end);
/* Human type name: C++ pretty-function names reduced to the type, and a
 * C array seen by _Generic as "T *" shown as "T[n]". */
const char *ms_report_type(const char *raw, uint64_t size, char *buf, size_t len);
/* 1 if block b is reported among the leaks (target exited) or the live
 * blocks: used, and, once the target exited, not allocated before a
 * coverage gap of the cost budget (its free may have been missed). */
int ms_report_block_shown(const struct ms_report_ctx *c, const struct ms_block *b);
/* Live blocks left out of the leaks because a coverage gap followed their
 * allocation: their count and bytes. */
void ms_report_unverified(const struct ms_report_ctx *c, uint64_t *count, uint64_t *bytes);
/* Groups of live blocks (those ms_report_block_shown keeps) by allocation
 * site and leak class (the blocks of one site can fall in several
 * classes): the lost classes first (definitely, indirectly, possibly), then
 * unreadable, still reachable and unclassified, largest first within a
 * class. */
#define MS_SITE_VARS 8
struct ms_leak_site {
	uint32_t pid;
	int32_t stack_id;
	int reach; /* enum ms_reach_class; MS_REACH_NONE if not classified */
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
/* A block's leak class as the reports name it ("definitely_lost", ...),
 * NULL if the leak check did not classify it. For every writer (pprof
 * labels included). */
const char *ms_report_reach(const struct ms_block *b);
/* Blocks and bytes per class over the live blocks shown (index: enum
 * ms_reach_class; [MS_REACH_NONE] counts the unclassified ones). */
void ms_report_reach_totals(const struct ms_report_ctx *c, uint64_t blocks[MS_REACH_MAX],
			    uint64_t bytes[MS_REACH_MAX]);
/* 1 if the leak check classified the live blocks (summary figures per
 * class are meaningful). */
int ms_report_classified(const struct ms_report_ctx *c);
/* Relative time for reports: ts - start, or 0 for ts == 0. */
static inline uint64_t ms_rel(const struct ms_report_ctx *c, uint64_t ts)
{
	return ts > c->start_ns ? ts - c->start_ns : 0;
}
const char *ms_kind_name(unsigned kind);

int ms_report_json(FILE *f, const struct ms_report_ctx *c);
int ms_report_text(FILE *f, const struct ms_report_ctx *c);

#endif
