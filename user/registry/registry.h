/* SPDX-License-Identifier: BSD-3-Clause */
/* registry.h - the tracer-side model of the target: variables, scopes,
 * tasks, heap blocks, allocation sites, errors and aggregates, rebuilt from
 * ring-buffer records (include/memscope_events.h).
 *
 * No libbpf here: the registry consumes plain records, so tests and the
 * fuzzer replay synthetic streams into it. Report writers read it through
 * the const accessors at the end of this file. */
#ifndef MS_REGISTRY_REGISTRY_H
#define MS_REGISTRY_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "memscope_events.h"
#include "util/hashmap.h"
#include "util/strtab.h"

#define MS_HIST_BUCKETS 48 /* log2 buckets */

struct ms_reg_opts {
	int from_start;    /* traced since exec: unknown frees are errors */
	uint64_t temp_ns;  /* freed within this after allocation = temporary */
	/* Reads target memory for strings the BPF side could not read (page
	 * not yet faulted in). May be NULL. Returns bytes read or -errno. */
	ssize_t (*read_mem)(void *user, uint32_t pid, uint64_t addr, void *buf, size_t len);
	/* The same for a process that was gone when read_mem was tried: from
	 * the files it had mapped, never from a live process (its pid may be
	 * another's by now). Asked by ms_registry_resolve_strings(). May be
	 * NULL. */
	ssize_t (*read_gone)(void *user, uint32_t pid, uint64_t addr, void *buf, size_t len);
	void *user;
	/* True if a free called from `caller`, of a block the registry does
	 * not hold, is the allocator's own bookkeeping (glibc freeing its
	 * thread cache at thread exit), not a release by the program: such
	 * frees are counted (internal_frees), not reported. freed_before is 1
	 * when the registry saw this address freed already (it would be a
	 * double free), 0 when it never saw the block. Only provable
	 * bookkeeping may answer 1: see ms_free_is_bookkeeping(). Returns 1
	 * or 0, or -1 when it cannot tell yet (the caller's module is not
	 * mapped in the tracer's view yet); the registry then asks again in
	 * ms_registry_settle(). May be NULL. */
	int (*internal_caller)(void *user, uint32_t pid, uint64_t caller, int freed_before);
	/* Keep at most about this many ended variables, scopes and tasks as
	 * individual records; older ended ones fold into per-name aggregates
	 * (ms_registry_aggs), so memory follows what is live, not the number
	 * of events seen. 0 = 100000. */
	size_t keep;
};

/* An aggregate of folded (ended, older) records sharing a name and site. */
struct ms_agg {
	int kind; /* 0 variable, 1 scope, 2 task */
	uint32_t name, file, line;
	uint64_t count;
	uint64_t bytes;       /* variables: sizes; scopes/tasks: alloc_bytes */
	uint64_t allocs;      /* scopes/tasks */
	uint64_t total_ns;    /* scopes/tasks: summed lifetimes */
	uint64_t heap_bytes;  /* variables: sizes of the heap blocks they pointed to */
	uint64_t first_ns, last_ns;
};

struct ms_var {
	uint64_t id; /* 1-based, in order of tracking */
	uint32_t name, type, file, line; /* strtab offsets; line number */
	uint64_t addr, size, value;
	int has_value;
	uint32_t pid, tid;
	uint64_t scope; /* scope id, 0 = none */
	uint64_t task;
	uint64_t first_ns;
	/* heap block the variable's value pointed into when tracked */
	int has_heap;
	uint64_t heap_addr, heap_size, heap_freed_ns;
};

struct ms_scope {
	uint64_t id, parent;
	uint32_t name, file, line, depth;
	uint32_t pid, tid;
	uint64_t task;
	uint64_t enter_ns, exit_ns; /* exit 0 = still open */
	uint64_t allocs, alloc_bytes, frees;
	uint64_t live_bytes;         /* now, for blocks allocated inside */
	uint64_t live_bytes_at_exit;
	uint32_t nvars;
	int closed_by_thread_exit;
};

struct ms_task {
	uint64_t id, parent;
	uint32_t name;
	uint32_t pid;
	uint64_t first_ns, last_ns, ended_ns;
	uint64_t allocs, alloc_bytes, frees, freed_bytes;
	uint64_t live_bytes, peak_live_bytes;
	uint32_t nvars;
#define MS_TASK_THREADS 16
	uint32_t threads[MS_TASK_THREADS];
	uint32_t nthreads;
};

struct ms_block {
	uint64_t addr, size, ts_ns, scope, task, weight;
	uint32_t pid, tid;
	int32_t stack_id;
	uint16_t kind;
	uint8_t used;
	uint8_t reach; /* leak check: class (registry/reach.h) | heuristic << 4 */
	int64_t var; /* index into vars, -1 = none */
};
#define MS_BLOCK_REACH(b) ((b)->reach & 15)
#define MS_BLOCK_HEUR(b) ((b)->reach >> 4)

/* Sampled mode: unbiased (Horvitz-Thompson) estimates and their variances.
 * A block of `size` sampled with probability p = size / weight stands for
 * weight bytes and weight/size objects; the variance of a sum of such terms
 * is estimated by sum w(w - size) for bytes and sum o(o - 1) for objects. */
struct ms_estimate {
	double alloc_space, alloc_space_var, alloc_objects, alloc_objects_var;
	double inuse_space, inuse_space_var, inuse_objects, inuse_objects_var;
	uint64_t samples, live_samples;
};

struct ms_site {
	uint32_t pid;
	int32_t stack_id;
	uint64_t allocs, alloc_bytes, frees, freed_bytes;
	uint64_t live, live_bytes;
	uint64_t temp;
	uint64_t weight_live, weight_alloc; /* sampled: summed weights */
	struct ms_estimate est;             /* sampled: estimates + variances */
};

struct ms_bad_free {
	int is_double;
	int unsure; /* internal_caller could not tell yet: settled later */
	uint64_t addr, ts_ns, scope, task, caller, first_free_ns;
	uint32_t pid, tid;
	int32_t stack_id;
	uint16_t kind;
};

struct ms_stack {
	uint32_t pid;
	int32_t id;
	uint32_t n;
	uint8_t end; /* why the walk ended: enum ms_unw_end, or MS_UNW_END_MAX
		      * if the walk did not say (the kernel's frame-pointer
		      * walk) */
	uint64_t *ips;
};

/* A stack whose walk stopped before the outermost frame. */
static inline int ms_stack_truncated(const struct ms_stack *s)
{
	return s && s->end != MS_UNW_END_COMPLETE && s->end < MS_UNW_END_MAX;
}

struct ms_point {
	uint64_t ts_ns, live_bytes;
};

struct ms_summary {
	uint64_t records, bad_records;
	uint64_t allocs, frees, alloc_bytes, freed_bytes;
	uint64_t live_allocs, live_bytes, peak_live_bytes, peak_time_ns;
	uint64_t unknown_frees;     /* blocks from before the attach */
	uint64_t internal_frees;    /* unknown blocks freed by the allocator itself */
	uint64_t missed_allocs;     /* BPF knew the block, its record was dropped */
	uint64_t untracked_allocs;  /* BPF live map was full */
	uint64_t temporaries, temporary_bytes;
	uint64_t unmatched_scope_exits;
	uint64_t unknown_scope_refs; /* records naming a scope never seen */
	uint64_t string_faults;
	uint64_t snapshots;
	uint64_t truncated_stacks;  /* distinct stacks cut short (ms_stack_truncated) */
	uint64_t execs;            /* execs of traced processes (struct ms_exec) */
	uint64_t folded_vars, folded_scopes, folded_tasks;
	uint64_t first_ns, last_ns;
	struct ms_estimate est; /* sampled mode totals */
	uint64_t coverage_gaps; /* times the allocator probes went off (budget) */
	int proc_exited;   /* PROC_EXIT seen */
	int32_t exit_code; /* its wait status */
};

struct ms_registry;

/* Create an empty registry. opts may be NULL. Returns NULL on ENOMEM. */
struct ms_registry *ms_registry_new(const struct ms_reg_opts *opts);
/* NULL-safe. */
void ms_registry_free(struct ms_registry *r);

/* Feed one record of `len` bytes. Malformed records (unknown type, short
 * length) are counted in summary.bad_records and return -EINVAL; the
 * registry stays consistent whatever the bytes. */
int ms_registry_consume(struct ms_registry *r, const void *rec, size_t len);

/* Record the user stack behind a stack id (copied); end says why its walk
 * ended (enum ms_unw_end; MS_UNW_END_MAX: not known). 0 or -ENOMEM. */
int ms_registry_add_stack(struct ms_registry *r, uint32_t pid, int32_t id,
			  const uint64_t *ips, uint32_t n, unsigned end);
int ms_registry_has_stack(const struct ms_registry *r, uint32_t pid, int32_t id);

/* Fast mode: replace the live-block set with a fresh read of the BPF map.
 * begin; one MS_EV_LIVE record per block through ms_registry_consume; end. */
void ms_registry_live_begin(struct ms_registry *r);
void ms_registry_live_end(struct ms_registry *r);
/* Fast mode: per-site counters read from BPF. */
int ms_registry_set_site(struct ms_registry *r, uint32_t pid, int32_t stack_id,
			 const struct ms_site_val *v);

/* The process exec'd: the addresses of its string literals mean nothing
 * any more. Forget the strings cached for pid. */
void ms_registry_forget_pid_strings(struct ms_registry *r, uint32_t pid);

/* Ask read_gone for the strings no one could read when they were needed
 * (they read as "?" meanwhile): call it once the caller can read them from
 * the files the exited target had mapped, before folding and before
 * writing a report. Returns how many are still unread (those of an image
 * an exec replaced are not counted: they stay "?"). */
size_t ms_registry_resolve_strings(struct ms_registry *r);

/* ---- read side (report writers) ---------------------------------------- */
const struct ms_summary *ms_registry_summary(const struct ms_registry *r);
const char *ms_registry_str(const struct ms_registry *r, uint32_t off);
/* Bytes held in the registry's string tables (bounded: see fold). */
size_t ms_registry_string_bytes(const struct ms_registry *r);
const struct ms_var *ms_registry_vars(const struct ms_registry *r, size_t *n);
const struct ms_scope *ms_registry_scopes(const struct ms_registry *r, size_t *n);
const struct ms_scope *ms_registry_scope(const struct ms_registry *r, uint64_t id);
const struct ms_task *ms_registry_tasks(const struct ms_registry *r, size_t *n);
/* Live blocks: iterate i in [0, n), skipping entries with used == 0. */
const struct ms_block *ms_registry_blocks(const struct ms_registry *r, size_t *n);
const struct ms_site *ms_registry_sites(const struct ms_registry *r, size_t *n);
const struct ms_bad_free *ms_registry_bad_frees(const struct ms_registry *r, size_t *n);
const struct ms_stack *ms_registry_stack(const struct ms_registry *r, uint32_t pid, int32_t id);
const uint64_t *ms_registry_size_hist(const struct ms_registry *r);     /* MS_HIST_BUCKETS */
const uint64_t *ms_registry_lifetime_hist(const struct ms_registry *r); /* MS_HIST_BUCKETS */
const struct ms_point *ms_registry_timeline(const struct ms_registry *r, size_t *n);
/* Fold ended records down to `keep` now (before a final report). */
void ms_registry_fold_now(struct ms_registry *r);
/* Ask internal_caller again about the invalid and double frees it could
 * not judge when they came (a short-lived target's modules arrive as it
 * exits): the allocator's own frees leave the error lists. Likewise ask
 * read_mem again for the strings still unread (ms_registry_resolve_strings).
 * Call before writing reports. */
void ms_registry_settle(struct ms_registry *r);
/* 1 if a free called from the function named `function` (NULL: no name
 * known) is provably the allocator's own bookkeeping, for a block the
 * registry does not hold: freed_before says the registry saw the address
 * freed already, 0 that it never saw the block. The rule is in
 * registry_heap.c. For internal_caller implementations. */
int ms_free_is_bookkeeping(const char *function, int freed_before);
const struct ms_agg *ms_registry_aggs(const struct ms_registry *r, size_t *n);
/* ---- snapshots and growth (registry_growth.c) ---------------------------- */
#define MS_SNAP_MAX 64
enum { MS_GROW_SITE = 1, MS_GROW_VAR, MS_GROW_TASK };
struct ms_snap_item {
	int kind;    /* MS_GROW_* */
	uint64_t a;  /* site: pid; var: name offset; task: pid */
	uint64_t b;  /* site: stack id; var: 0; task: id */
	uint64_t bytes;
};
struct ms_snapshot {
	uint64_t ts_ns;
	uint32_t label; /* strtab offset, 0 = periodic */
	uint64_t live_bytes;
	struct ms_snap_item *items;
	size_t n, cap;
};
struct ms_growth {
	int kind;
	uint64_t a, b;
	double slope; /* bytes per second */
	double r2;
	uint64_t first_bytes, last_bytes;
};
/* An exec of a traced process (MS_EV_EXEC_FILE): where it happened - the
 * thread, the scope and task it was in - and the file it exec'd (as given
 * to execve). The first MS_EXEC_MAX are kept; more are only counted
 * (summary.execs). */
#define MS_EXEC_MAX 10000
struct ms_exec {
	uint32_t pid, tid;
	uint64_t ts_ns;
	uint64_t scope, task;
	uint32_t path; /* strtab offset */
};
const struct ms_exec *ms_registry_execs(const struct ms_registry *r, size_t *n);

/* Take a snapshot of live bytes per site, variable name and task now. */
void ms_registry_snapshot(struct ms_registry *r, uint64_t ts, const char *label);
const struct ms_snapshot *ms_registry_snapshots(const struct ms_registry *r, size_t *n);
/* Keys whose live bytes grow steadily across the snapshots (see the .c for
 * the rule), rising by at least min_bytes. *out is malloc'ed. 0 or -1. */
#define MS_GROWTH_MIN_BYTES 1024 /* the report's rise threshold (README) */
int ms_registry_growth(const struct ms_registry *r, uint64_t min_bytes, struct ms_growth **out,
		       size_t *nout);

/* The allocator probes were off (the cost budget, trace/budget.c) from
 * start_ns to end_ns (CLOCK_MONOTONIC, the records' clock; end UINT64_MAX
 * while the gap lasts: call again with the same start when it ends).
 * Times, not the order of calls, decide, since records of either side of
 * a gap may still sit in the ring: a block allocated before a gap ended
 * may have been freed unseen, so it is never called a leak
 * (ms_registry_block_unsure); an address freed before a gap ended may
 * have been allocated again unseen, so its next free is no double free; an
 * unknown free after the first gap began is no invalid free. */
void ms_registry_coverage_gap(struct ms_registry *r, uint64_t start_ns, uint64_t end_ns);
/* 1 if block b was allocated before a coverage gap ended: its free may
 * have been missed. */
int ms_registry_block_unsure(const struct ms_registry *r, const struct ms_block *b);

/* ---- leak check (registry/leakcheck.c) ----------------------------------- */
/* The target's memory was read while it was held, and each live block got
 * memcheck's class (registry/reach.h); this says how that went. */
enum ms_lc_status {
	MS_LC_OFF = 0,     /* no leak check (not asked, or not possible in this mode) */
	MS_LC_DONE,        /* blocks classified */
	MS_LC_TIMEOUT,     /* held past --leak-check-timeout: released unscanned */
	MS_LC_KILLED,      /* the target died while held */
	MS_LC_UNAVAILABLE, /* the target could not be held (a debugger has it) */
	MS_LC_FAILED,      /* reading its memory failed otherwise */
};
struct ms_leak_check {
	int status;          /* enum ms_lc_status */
	char when[16];       /* "exit", "exit_group", "signal", "request" */
	int sig;             /* "signal": which */
	uint32_t pid;
	int attached;        /* heap memory outside known blocks counted as roots */
	int classified;      /* the live blocks have their classes (done, or
			      * killed after the memory was read) */
	uint64_t hold_ns;    /* the target stood still this long */
	uint64_t scan_ns;    /* of it, reading its memory */
	uint64_t classify_ns; /* the walk, after the target was let go */
	uint64_t read_bytes, root_bytes, heap_bytes, unreadable_bytes, syscalls;
	uint64_t threads, blocks, edges;
	char note[512];      /* what went wrong, or a caveat, in words */
};
/* Copy lc in (the block classes come through ms_registry_set_reach). */
void ms_registry_set_leak_check(struct ms_registry *r, const struct ms_leak_check *lc);
/* The last one set; status MS_LC_OFF if none. */
const struct ms_leak_check *ms_registry_leak_check(const struct ms_registry *r);
/* Addresses the allocator of pid owns or recently owned: its live blocks
 * of the malloc family (not MEMSCOPE_ALLOC ones) and the recently freed
 * addresses it remembers, sorted. *out is malloc'ed. 0 or -ENOMEM. */
int ms_registry_heap_addrs(const struct ms_registry *r, uint32_t pid, uint64_t **out, size_t *n);
/* Block i of ms_registry_blocks() got class cls; heur is the heuristic
 * that made it reachable, indirect the bytes it takes down with it
 * (definitely lost). */
void ms_registry_set_reach(struct ms_registry *r, size_t i, int cls, int heur, uint64_t indirect);
/* The indirect bytes set for a definitely lost block, else 0. */
uint64_t ms_registry_block_indirect(const struct ms_registry *r, const struct ms_block *b);

/* Variable index of the block, -1 if none. */
const struct ms_var *ms_registry_block_var(const struct ms_registry *r, const struct ms_block *b);

#endif
