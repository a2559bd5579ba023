/* SPDX-License-Identifier: BSD-3-Clause */
/* registry_int.h - the registry's private state, shared by registry.c
 * (records, strings, scopes, variables), registry_heap.c (blocks, sites,
 * errors) and registry_task.c (tasks). Not for report writers. */
#ifndef MS_REGISTRY_REGISTRY_INT_H
#define MS_REGISTRY_REGISTRY_INT_H

#include "registry/registry.h"
#include "util/vec.h"

struct ms_pending_str {
	uint64_t ptr;
	uint32_t pid;
	uint32_t off;   /* strtab offset once read, else 0 */
	int stale;      /* the process exec'd since: never to be read */
};

struct ms_thread_state {
	uint32_t pid, tid;
	MS_VEC(uint64_t) open; /* scope ids, innermost last */
};

#define MS_TIMELINE_MAX 4096

struct ms_registry {
	struct ms_reg_opts opts;
	struct ms_summary sum;
	struct ms_strtab strs;
	/* Task names, apart: programs name every connection or request
	 * ("conn-81723"), and these die with their tasks. The table is rebuilt
	 * from the tasks still held when it has grown well past them, so it
	 * stays bounded (offsets carry MS_TNAME; ms_registry_str knows). */
	struct ms_strtab tnames;
#define MS_TNAME (1u << 31)
	struct ms_hashmap target_strs; /* (pid, ptr) -> strtab offset */
	/* Strings nobody could read yet: BPF met an untouched page and the
	 * target was gone before the tracer asked. Their offsets carry
	 * MS_PENDING | index here; ms_registry_resolve_strings() retries once
	 * the tracer can read the files the target had mapped. */
	MS_VEC(struct ms_pending_str) pending;
#define MS_PENDING (1u << 30)
#define MS_PENDING_MAX 65536 /* then unreadable strings share one "?" */
	MS_VEC(struct ms_exec) execs;
	MS_VEC(struct ms_var) vars;
	MS_VEC(struct ms_scope) scopes;
	struct ms_hashmap scope_idx;   /* (id, 0) -> index */
	MS_VEC(struct ms_thread_state) threads;
	struct ms_hashmap thread_idx;  /* (tid, 0) -> index */
	MS_VEC(struct ms_task) tasks;
	struct ms_hashmap task_idx;    /* (pid, id) -> index */
	/* heap */
	MS_VEC(struct ms_block) blocks; /* pool; used==0 entries are free */
	MS_VEC(size_t) free_blocks;
	struct ms_hashmap block_idx;   /* (pid, addr) -> index */
	struct ms_hashmap freed;       /* (pid, addr) -> free time: double frees */
	MS_VEC(struct ms_site) sites;
	struct ms_hashmap site_idx;    /* (pid, stack_id) -> index */
	MS_VEC(struct ms_bad_free) bad;
	MS_VEC(struct ms_stack) stacks;
	struct ms_hashmap stack_idx;   /* (pid, id) -> index */
	uint64_t size_hist[MS_HIST_BUCKETS];
	uint64_t life_hist[MS_HIST_BUCKETS];
	struct ms_point timeline[MS_TIMELINE_MAX];
	size_t ntimeline;
	uint64_t timeline_step; /* ns between kept points; doubles when full */
	/* coverage gaps (ms_registry_coverage_gap): the first one's start, the
	 * latest one's start and end (UINT64_MAX while it lasts) */
	uint64_t first_gap_start, gap_start, last_gap_end;
	int live_snapshot;      /* inside live_begin/live_end */
	struct ms_snapshot snaps[MS_SNAP_MAX];
	size_t nsnaps;
	size_t fold_at[3];
	uint64_t next_var_id; /* compact vars/scopes/tasks when past these */
	MS_VEC(struct ms_agg) aggs;
	struct ms_hashmap agg_idx;     /* (kind<<32|name, file<<32|line) -> index */
	struct ms_leak_check lc;
	struct ms_hashmap indirect;    /* (pid, addr) -> bytes, definitely lost */
};

/* registry.c */
uint32_t ms_reg_target_str(struct ms_registry *r, uint32_t pid, uint64_t ptr);
/* ms_str_intern into r->strs, kept below the MS_PENDING tag bit: 0 when
 * out of memory or past 1 GiB of text. */
uint32_t ms_reg_intern(struct ms_registry *r, const char *s, size_t n);
struct ms_scope *ms_reg_scope(struct ms_registry *r, uint64_t id);
/* registry_heap.c */
void ms_reg_heap_record(struct ms_registry *r, const struct ms_hdr *h, const void *rec, size_t len);
void ms_reg_heap_free_all(struct ms_registry *r);
void ms_reg_link_var(struct ms_registry *r, struct ms_var *v, size_t vi);
/* registry/leakcheck.c */
void ms_reg_leakcheck_free(struct ms_registry *r);
/* registry_growth.c */
void ms_reg_snapshots_free(struct ms_registry *r);
/* registry_fold.c */
void ms_reg_fold_maybe(struct ms_registry *r);
void ms_reg_fold_free(struct ms_registry *r);
/* registry_task.c */
struct ms_task *ms_reg_task(struct ms_registry *r, uint32_t pid, uint64_t id, int create);
void ms_reg_task_record(struct ms_registry *r, const struct ms_hdr *h, const void *rec, size_t len);
void ms_reg_task_touch(struct ms_registry *r, const struct ms_hdr *h);

#endif
