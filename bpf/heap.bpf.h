/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* heap.bpf.h - allocation bookkeeping shared by the allocator uprobes, the
 * MEMSCOPE_ALLOC/FREE probes and the sampling library's probes.
 *
 * The live-block map is the truth about what is allocated now; records are
 * streamed in full mode, folded into per-site counters in fast mode. */
#ifndef MS_BPF_HEAP_BPF_H
#define MS_BPF_HEAP_BPF_H

#include "state.bpf.h"

/* Entry side: remember the arguments of an allocator call until it returns.
 * Calls nest (operator new -> malloc, realloc -> malloc in some allocators):
 * only the outermost is recorded. */
/* Keeps the compiler from folding a ctx field offset into a later load
 * (the verifier rejects loads through a modified ctx pointer). */
#define ms_opaque(v) asm volatile("" : "+r"(v))

static __always_inline void infl_push(__u64 sp, __u32 kind, __u64 a0, __u64 a1)
{
	struct ms_thread *t = thread_get();
	__u64 now = bpf_ktime_get_ns();
	__u32 d;

	if (!t)
		return;
	d = t->infl_depth;
	/* An outer entry whose frame is below us on the stack never returned
	 * (longjmp, exception, or a return probe the kernel skipped because
	 * another BPF program ran on this CPU): forget it, or every later call
	 * would look nested and go unrecorded. At an equal stack pointer it
	 * is a tail call (new[] jumps to new, reallocarray to realloc) only
	 * if it happened just now. */
	if (d > 0 && d <= MS_INFLIGHT) {
		struct ms_inflight *top = &t->infl[(d - 1) & (MS_INFLIGHT - 1)];

		if (top->sp < sp || (top->sp == sp && now - top->ts > 20000))
			d = 0;
	}
	if (d >= MS_INFLIGHT) {
		stat_inc(MS_STAT_INFLIGHT_FULL);
		t->infl_depth = d + 1;
		return;
	}
	t->infl[d & (MS_INFLIGHT - 1)].a0 = a0;
	t->infl[d & (MS_INFLIGHT - 1)].a1 = a1;
	t->infl[d & (MS_INFLIGHT - 1)].sp = sp;
	t->infl[d & (MS_INFLIGHT - 1)].kind = kind;
	t->infl[d & (MS_INFLIGHT - 1)].ts = now;
	t->infl_depth = d + 1;
}

/* Return side: pop the entry of thread t. Returns 1 and fills *out when
 * this was the outermost call (the one to record), 0 otherwise. */
static __always_inline int infl_pop(struct ms_thread *t, struct ms_inflight *out)
{
	__u32 d;

	if (t->infl_depth == 0)
		return 0;
	d = t->infl_depth - 1;
	t->infl_depth = d;
	if (d >= MS_INFLIGHT)
		return 0;
	*out = t->infl[d & (MS_INFLIGHT - 1)];
	return d == 0;
}

/* The kernel walks frame pointers from ip and rbp, which are the same at
 * both USDT site forms; a walk that starts from rsp at a USDT probe must
 * take it from ms_usdt_site_sp() (usdt_site.bpf.h). */
static __always_inline __s32 stack_get(void *ctx)
{
	long id;

	if (!cfg_stack || ctl_level)
		return -1;
	id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (id < 0) {
		stat_inc(MS_STAT_STACK_FAIL);
		return -1;
	}
	return id;
}

static __always_inline void site_add(__u32 pid, __s32 stack_id, __u64 bytes, int is_free)
{
	struct ms_site_key k = { .pid = pid, .stack_id = stack_id };
	struct ms_site_val *v = bpf_map_lookup_elem(&sites, &k);

	if (!v) {
		struct ms_site_val z = {};

		if (bpf_map_update_elem(&sites, &k, &z, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&sites, &k)) {
			stat_inc(MS_STAT_SITES_FULL);
			return;
		}
		v = bpf_map_lookup_elem(&sites, &k);
		if (!v)
			return;
	}
	if (is_free) {
		__sync_fetch_and_add(&v->frees, 1);
		__sync_fetch_and_add(&v->freed_bytes, bytes);
	} else {
		__sync_fetch_and_add(&v->allocs, 1);
		__sync_fetch_and_add(&v->alloc_bytes, bytes);
	}
}

/* Full mode streams every event and the tracer keeps the live set; a BPF
 * live map there would only repeat it, at ~400 ns per malloc+free pair
 * (hash insert and delete). What BPF still needs to know at a free is
 * whether the block is one it saw allocated: if not, the free may be an
 * error and its caller and stack are worth reading (~1 us). A direct-mapped
 * table of recently allocated addresses answers that: a collision only
 * costs those reads, never a wrong report (the tracer decides). */
const volatile __u32 cfg_hint_mask = 0; /* entries - 1, a power of two */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* sized by the loader in full mode */
	__type(key, __u32);
	__type(value, __u64);
} hints SEC(".maps");

static __always_inline __u64 *hint_slot(__u32 pid, __u64 addr)
{
	__u32 i = (__u32)((addr >> 4) ^ (addr >> 24) ^ ((__u64)pid * 0x9E3779B1u)) & cfg_hint_mask;

	return bpf_map_lookup_elem(&hints, &i);
}

/* Modes other than full keep the truth about live blocks in BPF. */
static __always_inline int use_live_map(void)
{
	return cfg_mode != MS_MODE_FULL;
}

/* Remember a new block: in the live map (modes other than full; a full map
 * marks the record MS_F_UNTRACKED), or as a hint (full mode). */
static __always_inline __u16 block_keep(const struct ms_live_key *k, const struct ms_live_val *v)
{
	__u64 *h;

	if (use_live_map()) {
		if (bpf_map_update_elem(&live, k, v, BPF_ANY)) {
			stat_inc(MS_STAT_LIVE_FULL);
			return MS_F_UNTRACKED;
		}
		return 0;
	}
	h = hint_slot(k->pid, k->addr);
	if (h)
		*h = k->addr;
	return 0;
}

/* A block came to life at ts (0: now). ctx must be a context whose user
 * stack starts in the allocating code (a uretprobe, or a probe in that
 * code). */
static __always_inline void heap_alloc(void *ctx, struct ms_thread *t, __u64 pid_tgid, __u64 ts,
				       __u64 ptr, __u64 size, __u32 kind, __u16 flags,
				       __u64 weight)
{
	struct ms_live_key k = { .pid = pid_tgid >> 32, .addr = ptr };
	struct ms_live_val v = {};
	struct ms_ev_heap *e;
	__s32 stack_id;

	if (!ptr)
		return;
	if (t)
		t->skip_free = 0;
	if (!ts)
		ts = bpf_ktime_get_ns();
	stack_id = stack_get(ctx);
	if (use_live_map()) {
		v.size = size;
		v.ts_ns = ts;
		v.scope = thread_scope(t);
		v.task = thread_task(t);
		v.weight = weight;
		v.tid = (__u32)pid_tgid;
		v.stack_id = stack_id;
		v.kind = kind;
	}
	flags |= block_keep(&k, &v);
	if (cfg_mode == MS_MODE_FAST) {
		site_add(k.pid, stack_id, size, 0);
		return;
	}
	e = rb_reserve(sizeof(*e));
	if (!e)
		return;
	hdr_fill_ts(&e->h, MS_EV_ALLOC, sizeof(*e), pid_tgid, t, ts);
	e->h.flags = flags;
	e->addr = ptr;
	e->size = size;
	e->old_addr = 0;
	e->old_size = 0;
	e->alloc_ts = 0;
	e->weight = weight;
	e->caller = 0;
	e->stack_id = stack_id;
	e->kind = kind;
	e->_pad = 0;
	rb_submit(e, sizeof(*e));
}

/* Was ptr allocated while we watched? Forgets it either way: a block is
 * released once. *v gets what the live map knew (zero in full mode: the
 * tracer has it). */
static __always_inline int block_take(__u32 pid, __u64 ptr, struct ms_live_val *v)
{
	struct ms_live_key k = { .pid = pid, .addr = ptr };
	struct ms_live_val *lv;
	__u64 *h;

	if (use_live_map()) {
		lv = bpf_map_lookup_elem(&live, &k);
		if (!lv)
			return 0;
		*v = *lv;
		bpf_map_delete_elem(&live, &k);
		return 1;
	}
	h = hint_slot(pid, ptr);
	if (!h || *h != ptr)
		return 0;
	*h = 0;
	return 1;
}

/* A block is released: ptr != 0. sp, when not 0, is the stack pointer at
 * the entry of the releasing call: the caller's return address is at [sp]
 * (read only for an unknown block, where it tells glibc's own internal
 * frees from the program's). */
static __always_inline void heap_free(void *ctx, struct ms_thread *t, __u64 pid_tgid, __u64 ptr,
				      __u32 kind, __u16 flags, __u64 sp)
{
	struct ms_live_val v = {};
	struct ms_ev_heap *e;
	__u64 caller = 0;
	int known;

	known = block_take(pid_tgid >> 32, ptr, &v);
	if (cfg_mode == MS_MODE_FAST) {
		if (known) {
			site_add(pid_tgid >> 32, v.stack_id, v.size, 1);
			return;
		}
		/* Unknown frees are only worth a record when they are errors. */
		if (!cfg_from_start)
			return;
	}
	if (!known && sp)
		bpf_probe_read_user(&caller, sizeof(caller), (void *)sp);
	e = rb_reserve(sizeof(*e));
	if (!e)
		return;
	hdr_fill(&e->h, MS_EV_FREE, sizeof(*e), pid_tgid, t);
	e->h.flags = flags | (known ? MS_F_KNOWN : 0);
	e->addr = ptr;
	e->size = v.size;
	e->old_addr = 0;
	e->old_size = v.size;
	e->alloc_ts = v.ts_ns;
	e->weight = v.weight;
	e->caller = caller;
	/* The stack of a free only matters when it is an error. */
	e->stack_id = known ? -1 : stack_get(ctx);
	e->kind = kind;
	e->_pad = 0;
	rb_submit(e, sizeof(*e));
}

/* realloc(old, size) returned ptr (both non-zero); ts is the call's time. */
static __always_inline void heap_realloc(void *ctx, struct ms_thread *t, __u64 pid_tgid, __u64 ts,
					 __u64 old, __u64 ptr, __u64 size, __u32 kind)
{
	struct ms_live_key k = { .pid = pid_tgid >> 32, .addr = ptr };
	struct ms_live_val v = {}, nv = {};
	struct ms_ev_heap *e;
	__u16 flags = 0;
	int known;

	known = block_take(k.pid, old, &v);
	if (t)
		t->skip_free = 0;
	if (!ts)
		ts = bpf_ktime_get_ns();
	nv.size = size;
	nv.ts_ns = ts;
	nv.scope = thread_scope(t);
	nv.task = thread_task(t);
	nv.tid = (__u32)pid_tgid;
	nv.stack_id = stack_get(ctx);
	nv.kind = kind;
	flags |= block_keep(&k, &nv);
	if (cfg_mode == MS_MODE_FAST) {
		if (known)
			site_add(k.pid, v.stack_id, v.size, 1);
		site_add(k.pid, nv.stack_id, size, 0);
		return;
	}
	e = rb_reserve(sizeof(*e));
	if (!e)
		return;
	hdr_fill_ts(&e->h, MS_EV_REALLOC, sizeof(*e), pid_tgid, t, ts);
	e->h.flags = flags | (known ? MS_F_KNOWN : 0);
	e->addr = ptr;
	e->size = size;
	e->old_addr = old;
	e->old_size = v.size;
	e->alloc_ts = v.ts_ns;
	e->weight = 0;
	e->caller = 0;
	e->stack_id = nv.stack_id;
	e->kind = kind;
	e->_pad = 0;
	rb_submit(e, sizeof(*e));
}

#endif /* MS_BPF_HEAP_BPF_H */
