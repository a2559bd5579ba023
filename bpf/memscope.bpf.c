/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* memscope.bpf.c - the BPF side of memscope-trace.
 *
 * memscope:* USDT probes (include/memscope.h) -> per-thread scope and task
 * stacks -> ring buffer records (TRACK_VAR: per-CPU buffers); allocator uprobes -> live-block map ->
 * records (full mode) or per-site counters (fast mode); sched tracepoints ->
 * process/thread lifecycle. Flow continues in user/probe/consumer.c. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "usdt_args.bpf.h"
#include "usdt_site.bpf.h"
#include "heap.bpf.h"
#include "hold.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Under -f the memscope probes are attached without a PID filter (one
 * attachment serves every process mapping the file, so a forked child is
 * traced from its first instruction): skip processes not traced. Without
 * -f the kernel filters by PID and this compiles away. */
static __always_inline int usdt_skip(__u64 pid_tgid)
{
	return cfg_follow && !is_traced(pid_tgid >> 32);
}

#define USDT_SKIP_UNTRACED()                                                   \
	do {                                                                    \
		if (usdt_skip(bpf_get_current_pid_tgid()))                      \
			return 0;                                               \
	} while (0)

/* ---- variables ---------------------------------------------------------- */

/* A slot of this CPU's TRACK_VAR buffer, or NULL: the ring then takes the
 * record (buffers off, full, or in use by a probe this one preempted: a
 * uprobe's BPF program runs with migration, not preemption, disabled).
 * Marks the buffer busy; var_slot_publish() releases it. */
static __always_inline struct ms_vslot *var_slot(struct ms_vcpu **vcp)
{
	__u32 cpu, k;
	struct ms_vcpu *vc;
	struct ms_vslot *v;
	__u64 head;

	if (!cfg_vslots)
		return NULL;
	cpu = bpf_get_smp_processor_id();
	vc = bpf_map_lookup_elem(&vcpus, &cpu);
	/* A compare-and-swap on this CPU's own line: a probe preempted
	 * between a test and a set would let two write one slot. */
	if (!vc || __sync_val_compare_and_swap(&vc->busy, 0, 1))
		return NULL;
	head = vc->head;
	if (head - vc->tail >= cfg_vslots) {
		vc->busy = 0;
		return NULL;
	}
	k = cpu * cfg_vslots + ((__u32)head & (cfg_vslots - 1));
	v = bpf_map_lookup_elem(&vslots, &k);
	if (!v) {
		vc->busy = 0;
		return NULL;
	}
	*vcp = vc;
	return v;
}

/* Make the slot visible to the tracer (x86 keeps stores in order: the
 * record is written before head moves) and free the buffer. */
static __always_inline void var_slot_publish(struct ms_vcpu *vc)
{
	asm volatile("" ::: "memory");
	vc->head++;
	asm volatile("" ::: "memory");
	vc->busy = 0;
}

/* TRACK_VAR's arguments a[]: (name*, addr, size, value, type*, file*,
 * line, tsc) - tsc is missing (0) in programs built with a header older
 * than the argument. */
static __always_inline void var_fill(struct ms_ev_var *e, const __u64 *a, __u64 pid_tgid,
				     const struct ms_thread *t)
{
	/* The probe's own TSC reading is the record's time when the kernel
	 * keeps time by the TSC: bpf_ktime_get_ns() was ~70 ns of a hit. */
	if (cfg_user_tsc && a[7]) {
		hdr_fill_ts(&e->h, MS_EV_VAR, sizeof(*e), pid_tgid, t, a[7]);
		e->h.flags = MS_F_TSC;
	} else {
		hdr_fill(&e->h, MS_EV_VAR, sizeof(*e), pid_tgid, t);
	}
	e->addr = a[1];
	e->size = a[2];
	e->value = a[3];
	e->name = a[0];
	e->type = a[4];
	e->file = a[5];
	e->line = (__u32)a[6];
	e->_pad = 0;
}

SEC("usdt")
int ms_var(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ms_thread *t = thread_of(task);
	__u64 pid_tgid = task_pid_tgid(task);
	struct ms_vcpu *vc = NULL;
	struct ms_vslot *vs;
	struct ms_ev_var *e;
	__u64 a[8];

	if (usdt_skip(pid_tgid) || ms_usdt_args(ctx, a, 8))
		return 0;
	/* The three strings of a site are literals: sent on its first hit. */
	if (site_first_t(t, pid_tgid, PT_REGS_IP(ctx))) {
		string_send(pid_tgid, a[0]);
		string_send(pid_tgid, a[4]);
		string_send(pid_tgid, a[5]);
	}
	vs = var_slot(&vc);
	if (vs && vc) {
		vs->pos = bpf_ringbuf_query(&rb, BPF_RB_PROD_POS);
		var_fill(&vs->v, a, pid_tgid, t);
		var_slot_publish(vc);
		return 0;
	}
	stat_inc(MS_STAT_VAR_RING);
	e = rb_reserve(sizeof(*e));
	if (!e)
		return 0;
	var_fill(e, a, pid_tgid, t);
	rb_submit(e, sizeof(*e));
	return 0;
}
SEC("usdt")
int ms_scope_enter(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ms_thread *t = thread_of(task);
	__u64 pid_tgid = task_pid_tgid(task);
	struct ms_ev_scope *e;
	__u64 id = __sync_fetch_and_add(&next_scope_id, 1);
	__u64 a[3], name, file;
	int line;
	__u32 d;

	if (usdt_skip(pid_tgid) || ms_usdt_args(ctx, a, 3))
		return 0;
	name = a[0], file = a[1], line = (int)a[2];
	if (site_first_t(t, pid_tgid, PT_REGS_IP(ctx))) {
		string_send(pid_tgid, name);
		string_send(pid_tgid, file);
	}
	if (!t)
		return 0;
	e = rb_reserve(sizeof(*e));
	/* The stack moves even when the record is dropped, so later records
	 * still carry the right scope. */
	d = t->scope_depth;
	if (e)
		hdr_fill(&e->h, MS_EV_SCOPE_ENTER, sizeof(*e), pid_tgid, t);
	if (d < MS_SCOPE_STACK)
		t->scopes[d & (MS_SCOPE_STACK - 1)] = id;
	else
		stat_inc(MS_STAT_SCOPE_DEEP);
	t->scope_depth = d + 1;
	if (!e)
		return 0;
	if (d >= MS_SCOPE_STACK)
		e->h.flags |= MS_F_DEEP;
	e->id = id;
	e->name = name;
	e->file = file;
	e->line = line;
	e->depth = d + 1;
	rb_submit(e, sizeof(*e));
	return 0;
}

SEC("usdt")
int BPF_USDT(ms_scope_exit)
{
	USDT_SKIP_UNTRACED();
	struct task_struct *task = bpf_get_current_task_btf();
	struct ms_thread *t = thread_of(task);
	__u64 pid_tgid = task_pid_tgid(task);
	struct ms_ev_scope *e;
	__u64 id = 0;
	__u16 flags = 0;
	__u32 d;

	if (!t)
		return 0;
	d = t->scope_depth;
	if (d == 0) {
		stat_inc(MS_STAT_UNMATCHED_EXIT);
	} else {
		if (d <= MS_SCOPE_STACK)
			id = t->scopes[(d - 1) & (MS_SCOPE_STACK - 1)];
		else
			flags = MS_F_DEEP;
		t->scope_depth = --d;
	}
	e = rb_reserve(sizeof(*e));
	if (!e)
		return 0;
	hdr_fill(&e->h, MS_EV_SCOPE_EXIT, sizeof(*e), pid_tgid, t);
	e->h.flags = flags;
	e->id = id;
	e->name = 0;
	e->file = 0;
	e->line = 0;
	e->depth = d;
	rb_submit(e, sizeof(*e));
	return 0;
}

/* ---- tasks -------------------------------------------------------------- */

static __always_inline int task_record(__u16 type, __u64 id, __u64 other)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ms_thread *t = thread_get();
	struct ms_ev_task *e = rb_reserve(sizeof(*e));

	if (!e)
		return 0;
	hdr_fill(&e->h, type, sizeof(*e), pid_tgid, t);
	e->id = id;
	e->other = other;
	rb_submit(e, sizeof(*e));
	return 0;
}

SEC("usdt")
int BPF_USDT(ms_task_enter, __u64 id)
{
	USDT_SKIP_UNTRACED();
	struct ms_thread *t = thread_get();
	__u32 d;

	if (t) {
		d = t->task_depth;
		if (d < MS_TASK_STACK)
			t->tasks[d & (MS_TASK_STACK - 1)] = id;
		else
			stat_inc(MS_STAT_TASK_DEEP);
		t->task_depth = d + 1;
	}
	return task_record(MS_EV_TASK_ENTER, id, 0);
}

SEC("usdt")
int BPF_USDT(ms_task_exit, __u64 id)
{
	USDT_SKIP_UNTRACED();
	struct ms_thread *t = thread_get();
	__u32 d, i, found = MS_TASK_STACK;

	if (t && t->task_depth > 0) {
		d = t->task_depth;
		if (d > MS_TASK_STACK) {
			t->task_depth = d - 1;
		} else {
			/* Usually the top; tolerate exits out of order. */
			for (i = 0; i < MS_TASK_STACK; i++)
				if (i < d && t->tasks[i] == id)
					found = i;
			if (found < MS_TASK_STACK) {
				for (i = 0; i < MS_TASK_STACK - 1; i++)
					if (i >= found && i + 1 < d)
						t->tasks[i] = t->tasks[i + 1];
				t->task_depth = d - 1;
			}
		}
	}
	/* The record carries the task still running after the exit. */
	return task_record(MS_EV_TASK_EXIT, id, 0);
}

SEC("usdt")
int BPF_USDT(ms_task_spawn, __u64 parent, __u64 child)
{
	USDT_SKIP_UNTRACED();
	return task_record(MS_EV_TASK_SPAWN, parent, child);
}

SEC("usdt")
int BPF_USDT(ms_task_end, __u64 id)
{
	USDT_SKIP_UNTRACED();
	return task_record(MS_EV_TASK_END, id, 0);
}

static __always_inline int name_record(__u16 type, __u64 id, __u64 ptr)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ms_thread *t = thread_get();
	struct ms_ev_name *e = rb_reserve(sizeof(*e));
	long n;

	if (!e)
		return 0;
	hdr_fill(&e->h, type, sizeof(*e), pid_tgid, t);
	e->id = id;
	e->ptr = ptr;
	e->_pad = 0;
	n = bpf_probe_read_user_str(e->text, sizeof(e->text), (void *)ptr);
	if (n <= 0) {
		e->h.flags |= MS_F_FAULT;
		e->text[0] = 0;
		e->len = 0;
		stat_inc(MS_STAT_STR_FAULT);
	} else {
		e->len = n - 1;
		if (n == sizeof(e->text))
			e->h.flags |= MS_F_TRUNCATED;
	}
	rb_submit(e, sizeof(*e));
	return 0;
}

SEC("usdt")
int BPF_USDT(ms_task_name, __u64 id, __u64 name)
{
	USDT_SKIP_UNTRACED();
	return name_record(MS_EV_TASK_NAME, id, name);
}

SEC("usdt")
int BPF_USDT(ms_snapshot, __u64 label)
{
	USDT_SKIP_UNTRACED();
	return name_record(MS_EV_SNAPSHOT, 0, label);
}

/* What a stack walk from a USDT probe adds to rsp: the site's form says
 * (usdt_site.bpf.h). */
static __always_inline __u64 usdt_sp_adj(struct pt_regs *ctx)
{
	return ms_usdt_site_sp(ctx) - PT_REGS_SP(ctx);
}

/* ---- custom allocators (MEMSCOPE_ALLOC / MEMSCOPE_FREE) ----------------- */

SEC("usdt")
int BPF_USDT(ms_custom_alloc, __u64 ptr, __u64 size)
{
	USDT_SKIP_UNTRACED();
	struct task_struct *task = bpf_get_current_task_btf();

	heap_alloc_sp(ctx, usdt_sp_adj(ctx), thread_of(task), task_pid_tgid(task), 0, ptr, size,
		      MS_K_CUSTOM, MS_F_CUSTOM, 0);
	return 0;
}

SEC("usdt")
int BPF_USDT(ms_custom_free, __u64 ptr)
{
	USDT_SKIP_UNTRACED();
	struct task_struct *task = bpf_get_current_task_btf();

	if (ptr)
		heap_free_sp(ctx, usdt_sp_adj(ctx), thread_of(task), task_pid_tgid(task), ptr,
			     MS_K_CUSTOM, MS_F_CUSTOM, 0);
	return 0;
}

/* ---- sampled allocations: the sampling library, an allocator's sampler -- */

/* A sampled block: weight is the bytes it stands for. */
static __always_inline void sampled_alloc(void *ctx, __u64 ptr, __u64 size, __u64 weight,
					  __u32 kind)
{
	if (usdt_skip(bpf_get_current_pid_tgid()))
		return;
	struct task_struct *task = bpf_get_current_task_btf();

	heap_alloc_sp(ctx, usdt_sp_adj(ctx), thread_of(task), task_pid_tgid(task), 0, ptr, size,
		      kind, MS_F_SAMPLED, weight);
}

/* Only sampled blocks are announced at their free; others are not errors. */
static __always_inline void sampled_free(void *ctx, __u64 ptr, __u32 kind)
{
	if (usdt_skip(bpf_get_current_pid_tgid()))
		return;
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 pid_tgid = task_pid_tgid(task);
	struct ms_live_key k = { .pid = pid_tgid >> 32, .addr = ptr };

	if (ptr && bpf_map_lookup_elem(&live, &k))
		heap_free_sp(ctx, usdt_sp_adj(ctx), thread_of(task), pid_tgid, ptr, kind,
			     MS_F_SAMPLED, 0);
}

/* A source of sampled blocks: PROVIDER_alloc(ptr, size, weight) and
 * PROVIDER_free(ptr) programs recording kind K. */
#define SAMPLE_SOURCE(name, k)                                                 \
	SEC("usdt")                                                            \
	int BPF_USDT(name##_alloc, __u64 ptr, __u64 size, __u64 weight)        \
	{                                                                      \
		sampled_alloc(ctx, ptr, size, weight, k);                      \
		return 0;                                                      \
	}                                                                      \
	SEC("usdt")                                                            \
	int BPF_USDT(name##_free, __u64 ptr)                                   \
	{                                                                      \
		sampled_free(ctx, ptr, k);                                     \
		return 0;                                                      \
	}

/* libmemscope_sample.so: ms_sample_alloc, ms_sample_free */
SAMPLE_SOURCE(ms_sample, MS_K_SAMPLE)
/* The otel_memory contract OpenTelemetry's eBPF profiler proposed to
 * jemalloc and mimalloc: otel_memory:alloc(ptr, size, weight) fires for an
 * allocation the allocator's own sampler chose, weight being the bytes it
 * stands for; otel_memory:free(ptr) for the free of one. The same meaning
 * as the sampling library's probes: ms_otel_alloc, ms_otel_free. */
SAMPLE_SOURCE(ms_otel, MS_K_OTEL)

/* ---- allocator uprobes -------------------------------------------------- */

/* One program per shape of call; the loader's table (user/probe/loader.c)
 * says which function has which shape, and each link's cookie where the
 * program finds the call's arguments (the probe may sit past instructions
 * that moved them, user/elf/probe_place.c), which kind to record and which
 * probe this is (MS_CK_* in memscope_events.h). */

/* bench: every allocator program returns at once (the floor: the same
 * sites, the same placement, nothing done). */
const volatile __u32 cfg_floor = 0;

/* Hits per probe id (the cookie's), for the tracer's cost estimate. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_MAX_PROBES);
	__type(key, __u32);
	__type(value, __u64);
} probe_hits SEC(".maps");

/* Count the hit and return the link's cookie. */
static __always_inline __u64 probe_hit(void *ctx)
{
	__u64 ck = bpf_get_attach_cookie(ctx);
	__u32 id = (__u32)(ck >> MS_CK_PROBE_SHIFT);
	__u64 *n = bpf_map_lookup_elem(&probe_hits, &id);

	if (n)
		*n += 1;
	return ck;
}

/* One pt_regs field, loaded by an instruction of its own: left to
 * itself the compiler merges the cases below into a load at a computed
 * offset of the context, which the verifier refuses. */
#define CTX_REG(field)                                                         \
	({                                                                     \
		__u64 v_;                                                      \
		asm volatile("%[v] = *(u64 *)(%[c] + %[o])"                    \
			     : [v] "=r"(v_)                                    \
			     : [c] "r"(ctx), [o] "i"(offsetof(struct pt_regs, field))); \
		v_;                                                            \
	})

/* Logical argument i of the call: the register the cookie names. */
static __always_inline __u64 ck_arg(struct pt_regs *ctx, __u64 ck, int i)
{
	switch ((ck >> MS_CK_ARG_SHIFT(i)) & 0xff) {
	case MS_REG_DI: return CTX_REG(di);
	case MS_REG_SI: return CTX_REG(si);
	case MS_REG_DX: return CTX_REG(dx);
	case MS_REG_CX: return CTX_REG(cx);
	case MS_REG_R8: return CTX_REG(r8);
	case MS_REG_R9: return CTX_REG(r9);
	case MS_REG_AX: return CTX_REG(ax);
	case MS_REG_BX: return CTX_REG(bx);
	case MS_REG_BP: return CTX_REG(bp);
	case MS_REG_R10: return CTX_REG(r10);
	case MS_REG_R11: return CTX_REG(r11);
	case MS_REG_R12: return CTX_REG(r12);
	case MS_REG_R13: return CTX_REG(r13);
	case MS_REG_R14: return CTX_REG(r14);
	case MS_REG_R15: return CTX_REG(r15);
	default: return 0;
	}
}

static __always_inline __u32 ck_kind(__u64 ck)
{
	return (__u32)(ck >> MS_CK_KIND_SHIFT) & 0xff;
}

/* Entry of an allocating call: remember (a0, a1) until it returns. */
#define ALLOC_ENTRY(fn, a0, a1)                                                \
	SEC("uprobe")                                                           \
	int BPF_KPROBE(fn##_entry)                                              \
	{                                                                       \
		__u64 ck, sp_ = PT_REGS_SP(ctx), a0_, a1_;                      \
		if (cfg_floor)                                                  \
			return 0;                                               \
		ck = probe_hit(ctx);                                            \
		a0_ = (a0);                                                     \
		a1_ = (a1);                                                     \
		ms_opaque(sp_);                                                 \
		infl_push(sp_, ck_kind(ck), a0_, a1_);                          \
		return 0;                                                       \
	}

/* size in: malloc, new, mallocx, valloc, memalign (size is its 2nd) ... */
ALLOC_ENTRY(alloc, ck_arg(ctx, ck, 0), 0)
/* n * size: calloc, mi_mallocn ... */
ALLOC_ENTRY(calloc, ck_arg(ctx, ck, 0) * ck_arg(ctx, ck, 1), 0)
/* (old block, size): realloc, rallocx, mi_expand ... */
ALLOC_ENTRY(realloc, ck_arg(ctx, ck, 0), ck_arg(ctx, ck, 1))
/* (old block, n * size): reallocarray, mi_reallocn ... */
ALLOC_ENTRY(reallocarray, ck_arg(ctx, ck, 0), ck_arg(ctx, ck, 1) * ck_arg(ctx, ck, 2))
/* posix_memalign(void **memptr, size_t align, size_t size): (size, memptr) */
ALLOC_ENTRY(posix_memalign, ck_arg(ctx, ck, 0), ck_arg(ctx, ck, 1))
/* jemalloc's xallocx(ptr, size, extra, flags): (ptr, size) */
ALLOC_ENTRY(xallocx, ck_arg(ctx, ck, 0), ck_arg(ctx, ck, 1))

/* What every return program starts with: 1 and the call's entry record in
 * *in when this return is the one to record (not the floor, thread state
 * at hand, the outermost of nested calls). */
static __always_inline int ret_begin(void *ctx, struct task_struct **task, struct ms_thread **t,
				     struct ms_inflight *in)
{
	if (cfg_floor)
		return 0;
	probe_hit(ctx);
	*task = bpf_get_current_task_btf();
	*t = thread_of(*task);
	return *t && infl_pop(*t, in);
}

/* A block returned in RAX: size in a0. */
SEC("uretprobe")
int BPF_KRETPROBE(alloc_return, void *ret)
{
	struct task_struct *task;
	struct ms_thread *t;
	struct ms_inflight in;

	if (ret_begin(ctx, &task, &t, &in))
		heap_alloc(ctx, t, task_pid_tgid(task), in.ts, (__u64)ret, in.a0, in.kind, 0, 0);
	return 0;
}

/* The block is written through memptr; 0 means success. */
SEC("uretprobe")
int BPF_KRETPROBE(posix_memalign_return, int rc)
{
	struct task_struct *task;
	struct ms_thread *t;
	struct ms_inflight in;
	__u64 ptr = 0;

	if (!ret_begin(ctx, &task, &t, &in) || rc != 0)
		return 0;
	if (bpf_probe_read_user(&ptr, sizeof(ptr), (void *)in.a1))
		return 0;
	heap_alloc(ctx, t, task_pid_tgid(task), in.ts, ptr, in.a0, in.kind, 0, 0);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(realloc_return, void *retp)
{
	struct task_struct *task;
	struct ms_thread *t;
	struct ms_inflight in;
	__u64 pid_tgid, ret = (__u64)retp, old, size;

	if (!ret_begin(ctx, &task, &t, &in))
		return 0;
	pid_tgid = task_pid_tgid(task);
	old = in.a0;
	size = in.a1;
	if (!ret) {
		/* realloc(p, 0) frees p and returns NULL; any other NULL is a
		 * failure that leaves p alone. */
		if (old && size == 0)
			heap_free(ctx, t, pid_tgid, old, in.kind, 0, 0);
		return 0;
	}
	if (!old)
		heap_alloc(ctx, t, pid_tgid, in.ts, ret, size, in.kind, 0, 0);
	else
		heap_realloc(ctx, t, pid_tgid, in.ts, old, ret, size, in.kind);
	return 0;
}

/* xallocx returns the block's real size: at least `size` if it was resized
 * in place (the block now holds `size` bytes, at the same address), less if
 * it could not be (nothing changed). */
SEC("uretprobe")
int BPF_KRETPROBE(xallocx_return, __u64 real)
{
	struct task_struct *task;
	struct ms_thread *t;
	struct ms_inflight in;

	if (!ret_begin(ctx, &task, &t, &in) || !in.a0 || real < in.a1)
		return 0;
	heap_realloc(ctx, t, task_pid_tgid(task), in.ts, in.a0, in.a0, in.a1, in.kind);
	return 0;
}

/* free(p) & co., probed where the kernel emulates the instruction (past
 * glibc's `test %rdi,%rdi`, jemalloc's first loads): the stack pointer is
 * still as at entry, so the return address sits at [rsp]. */
SEC("uprobe")
int BPF_KPROBE(free_entry)
{
	__u64 ck, ptr, sp = PT_REGS_SP(ctx);
	struct task_struct *task;
	struct ms_thread *t;
	int from_delete;

	if (cfg_floor)
		return 0;
	ck = probe_hit(ctx);
	ptr = ck_arg(ctx, ck, 0);
	from_delete = (ck & MS_CK_DELETE) != 0;
	ms_opaque(sp);
	if (!ptr)
		return 0;
	task = bpf_get_current_task_btf();
	t = thread_of(task);
	if (t) {
		/* free() called by realloc & co., or by operator delete that
		 * was already recorded: not a release of its own. */
		if (t->infl_depth > 0 && t->infl_depth <= MS_INFLIGHT) {
			struct ms_inflight *top = &t->infl[(t->infl_depth - 1) & (MS_INFLIGHT - 1)];

			/* inside realloc & co. (their frame is above ours) */
			if (top->sp > sp)
				return 0;
			/* a tail call from delete/realloc right now; else stale */
			if (top->sp == sp && bpf_ktime_get_ns() - top->ts < 20000)
				return 0;
		}
		/* The inner free or delete of a delete already recorded
		 * (libstdc++'s delete[] jumps to delete, which jumps to free):
		 * the same block, entered from within it: a call below its
		 * frame, or a tail jump, which keeps its stack pointer and its
		 * return address. The program's own second delete of a block
		 * comes from another call site (another return address): a
		 * double free. */
		if (t->skip_free == ptr && sp <= t->skip_sp) {
			__u64 ra = 0;

			if (sp < t->skip_sp ||
			    (!bpf_probe_read_user(&ra, sizeof(ra), (void *)sp) && ra == t->skip_ra)) {
				if (!from_delete)
					t->skip_free = 0;
				return 0;
			}
		}
		if (from_delete) {
			t->skip_free = ptr;
			t->skip_sp = sp;
			t->skip_ra = 0;
			bpf_probe_read_user(&t->skip_ra, sizeof(t->skip_ra), (void *)sp);
		}
	}
	heap_free(ctx, t, task_pid_tgid(task), ptr, ck_kind(ck), 0, sp);
	return 0;
}

/* Calibration (user/probe/calib.c): an empty program the tracer attaches
 * to its own code to measure what one probe hit costs on this machine. */
SEC("uprobe")
int ms_calib(void *ctx)
{
	return 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

static __always_inline void proc_record_t(__u16 type, __u32 pid, __u32 tid, __s32 code,
					  __u32 child, const struct ms_thread *t, __u16 flags,
					  int wake)
{
	struct ms_ev_proc *e = rb_reserve(sizeof(*e));

	if (!e)
		return;
	hdr_fill(&e->h, type, sizeof(*e), ((__u64)pid << 32) | tid, t);
	e->h.flags = flags;
	e->exit_code = code;
	e->child_pid = child;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* A held process waits for the tracer: wake it now. */
	if (wake || (flags & MS_F_HELD))
		bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	else
		rb_submit(e, sizeof(*e));
}

#define proc_record(type, pid, tid, code, child) proc_record_t(type, pid, tid, code, child, NULL, 0, 0)

/* Processes whose executable mappings were sent as they exit (vmas_send_once);
 * taken out at the exit itself. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} vmas_sent SEC(".maps");

/* ---- the executable mappings, as the process exits ---------------------- */

extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it, struct task_struct *task,
				 __u64 addr) __weak __ksym;
extern struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it) __weak __ksym;
extern void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it) __weak __ksym;

#define MS_VM_EXEC 0x4 /* VM_EXEC: a macro, not in vmlinux.h */

/* Send every executable file mapping of the current process: stacks of a
 * target that exits before the tracer reads /proc/PID/maps are symbolized
 * from these. Runs once per process exit, not on a hot path. */
static __always_inline void vmas_send(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 pid_tgid = task_pid_tgid(task);
	struct bpf_iter_task_vma it;
	struct vm_area_struct *vma;
	struct ms_ev_vma *e;

	if (!bpf_iter_task_vma_new)
		return;
	/* No counter and nothing carried across iterations: the verifier
	 * then checks the body once (a bounded counter and a record held
	 * back took it 2.3 s per program). The iterator ends on its own. */
	if (bpf_iter_task_vma_new(&it, task, 0) == 0) {
		while ((vma = bpf_iter_task_vma_next(&it))) {
			struct file *f = vma->vm_file;
			const unsigned char *name;

			if (!f || !(vma->vm_flags & MS_VM_EXEC))
				continue;
			e = rb_reserve(sizeof(*e));
			if (!e)
				break;
			hdr_fill(&e->h, MS_EV_VMA, sizeof(*e), pid_tgid, NULL);
			e->start = vma->vm_start;
			e->end = vma->vm_end;
			e->offset = (__u64)vma->vm_pgoff << 12;
			e->ino = BPF_CORE_READ(f, f_inode, i_ino);
			e->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
			e->_pad = 0;
			name = BPF_CORE_READ(f, f_path.dentry, d_name.name);
			if (bpf_probe_read_kernel_str(e->name, sizeof(e->name), name) < 0)
				e->name[0] = 0;
			rb_submit(e, sizeof(*e));
		}
	}
	bpf_iter_task_vma_destroy(&it);
	/* the end of the set: no mapping, MS_F_LAST */
	e = rb_reserve(sizeof(*e));
	if (!e)
		return;
	hdr_fill(&e->h, MS_EV_VMA, sizeof(*e), pid_tgid, NULL);
	e->h.flags = MS_F_LAST;
	e->start = e->end = e->offset = e->ino = 0;
	e->dev = e->_pad = 0;
	e->name[0] = 0;
	rb_submit(e, sizeof(*e));
}

/* One set per process: libc's _exit and then the exit of its last thread
 * both pass here. The first adds the process to vmas_sent (atomically:
 * BPF_NOEXIST). */
static __always_inline void vmas_send_once(void)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u8 one = 1;

	if (is_traced(pid) && bpf_map_update_elem(&vmas_sent, &pid, &one, BPF_NOEXIST) == 0)
		vmas_send();
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ms_exit, struct task_struct *p, bool group_dead)
{
	__u32 pid = BPF_CORE_READ(p, tgid), tid = BPF_CORE_READ(p, pid);
	__s32 code;

	if (pid == cfg_tracer_tgid) {
		if (group_dead)
			hold_release_all();
		return 0;
	}
	if (!bpf_map_lookup_elem(&traced, &pid))
		return 0;
	bpf_map_delete_elem(&holds, &pid);
	code = BPF_CORE_READ(p, exit_code);
	thread_slot_release(p);
	if (group_dead) {
		/* A group exit (exit_group, fatal signal) carries its status
		 * in signal->group_exit_code. */
		__s32 gcode = BPF_CORE_READ(p, signal, group_exit_code);

		if (gcode)
			code = gcode;
		/* A process killed by a signal never calls _exit. Its last
		 * thread passes here before its memory is unmapped (since
		 * Linux 6.16, which also added group_dead) with interrupts
		 * on: the signal_deliver tracepoint runs with them off, where
		 * the task-VMA iterator yielded no mapping at all. */
		vmas_send_once();
		proc_record(MS_EV_PROC_EXIT, pid, tid, code, 0);
		bpf_map_delete_elem(&traced, &pid);
		bpf_map_delete_elem(&vmas_sent, &pid);
	} else {
		proc_record(MS_EV_THREAD_EXIT, pid, tid, code, 0);
	}
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ms_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 pid = BPF_CORE_READ(parent, tgid);
	__u32 cpid = BPF_CORE_READ(child, tgid);
	__u32 one = 1;

	__u16 flags = 0;

	if (cpid == pid || !bpf_map_lookup_elem(&traced, &pid))
		return 0; /* a new thread, or not ours */
	/* The child is in the set before it runs: its memscope probes (no
	 * PID filter under -f) count it from its first instruction. It is
	 * stopped until the tracer has attached its allocator probes. */
	if (cfg_follow) {
		bpf_map_update_elem(&traced, &cpid, &one, BPF_ANY);
		if (cfg_hold_fork && hold_task(child, cpid, MS_HOLD_FORK, BPF_CORE_READ(child, pid)))
			flags = MS_F_HELD;
	}
	/* the tracer takes inherited breakpoints out of a child it does not
	 * follow: wake it at once */
	proc_record_t(MS_EV_FORK, pid, BPF_CORE_READ(parent, pid), 0, cpid, NULL, flags, 1);
	return 0;
}

/* The leak check's hold (user/proc/hold.c): a helper process traces the
 * target with ptrace. A thread entering _exit is sent SIGCHLD by the kernel
 * on BPF's behalf (si_code SI_KERNEL, which no real SIGCHLD carries); its
 * delivery stops the thread for the helper before exit_group() kills the
 * other threads, so every thread's registers and stack are still there to
 * scan. Sent only while that helper traces the thread, which swallows it:
 * the program never sees it. (bpf_send_signal_task(), which could carry a
 * cookie, is not allowed in uprobe programs.) */
const volatile __u32 cfg_hold_tgid = 0;
#define MS_HOLD_EXIT_SIGNAL 17 /* SIGCHLD; user/proc/hold.h */

static __always_inline void hold_at_exit(void)
{
	struct task_struct *task;

	if (!cfg_hold_tgid)
		return;
	task = bpf_get_current_task_btf();
	if (!task->ptrace || BPF_CORE_READ(task, parent, tgid) != cfg_hold_tgid)
		return;
	bpf_send_signal_thread(MS_HOLD_EXIT_SIGNAL);
}

/* libc's exit(): where the program's stack ends, and the registers its
 * caller left, for the leak check at _exit (struct ms_exit_regs). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct ms_exit_regs);
} exit_regs SEC(".maps");

SEC("uprobe")
int BPF_KPROBE(exit_call)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ms_exit_regs r = {
		.sp = ctx->sp, .bx = ctx->bx, .bp = ctx->bp,
		.r12 = ctx->r12, .r13 = ctx->r13, .r14 = ctx->r14, .r15 = ctx->r15,
	};

	if (cfg_hold_tgid)
		bpf_map_update_elem(&exit_regs, &tid, &r, BPF_ANY);
	return 0;
}

/* libc's _exit (exit() ends there): the mappings are final and intact. */
SEC("uprobe")
int BPF_KPROBE(exit_entry)
{
	vmas_send_once();
	hold_at_exit();
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ms_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 pid = BPF_CORE_READ(p, tgid), tid = BPF_CORE_READ(p, pid);
	struct ms_ev_exec_file *f;
	struct ms_hold *ready;
	struct ms_thread *t;
	__u16 flags = 0;
	long n;

	if (!bpf_map_lookup_elem(&traced, &pid))
		return 0;
	/* The new image has run nothing yet: stopped here, it waits for its
	 * executable and the libraries it links to be probed - unless the
	 * tracer attached them before it let its command exec. */
	ready = bpf_map_lookup_elem(&holds, &pid);
	if (ready && ready->kind == MS_HOLD_READY)
		bpf_map_delete_elem(&holds, &pid);
	else if (cfg_hold_load && hold_current(pid, MS_HOLD_EXEC, tid))
		flags = MS_F_HELD;
	/* Thread state outlives exec; the new image's sites are not sent. */
	t = thread_find(p);
	if (t)
		__builtin_memset(t->site_seen, 0, sizeof(t->site_seen));
	/* the scope and task the exec happened in (the thread's state); the
	 * tracer's own exec of its command is not one of the target's */
	f = ready ? NULL : rb_reserve(sizeof(*f));
	if (f) {
		hdr_fill(&f->h, MS_EV_EXEC_FILE, sizeof(*f), ((__u64)pid << 32) | tid, t);
		f->_pad = 0;
		n = bpf_probe_read_kernel_str(f->path, sizeof(f->path), BPF_CORE_READ(bprm, filename));
		if (n <= 0) {
			f->path[0] = 0;
			n = 1;
		}
		f->len = n - 1;
		rb_submit(f, sizeof(*f));
	}
	proc_record_t(MS_EV_EXEC, pid, tid, 0, 0, t, flags, 0);
	return 0;
}

/* ld.so calls _dl_debug_state() (the debuggers' breakpoint) with its
 * r_debug.r_state at RT_ADD before it maps objects and at RT_CONSISTENT
 * once they are mapped - before they are relocated, before their
 * constructors run and before dlopen() returns. Attached for each traced
 * process (it runs at start-up and at each dlopen: rare); the cookie is the
 * distance from _dl_debug_state to _r_debug in ld.so, 0 if unknown. */
#define MS_RT_CONSISTENT 0

SEC("uprobe")
int ms_dl_state(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), delta = bpf_get_attach_cookie(ctx);
	__u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	__s32 state = MS_RT_CONSISTENT;
	__u16 flags = 0;

	if (!is_traced(pid))
		return 0;
	/* struct r_debug: int r_version; link_map *r_map; r_brk; r_state */
	if (delta && bpf_probe_read_user(&state, sizeof(state), (void *)(PT_REGS_IP(ctx) + delta + 24)))
		state = MS_RT_CONSISTENT;
	if (state != MS_RT_CONSISTENT)
		return 0;
	if (cfg_hold_load && hold_current(pid, MS_HOLD_LINKMAP, tid))
		flags = MS_F_HELD;
	proc_record_t(MS_EV_LINKMAP, pid, tid, state, 0, thread_get(), flags, 0);
	return 0;
}
