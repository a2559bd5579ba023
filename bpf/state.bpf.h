/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* state.bpf.h - maps, per-thread state and record emission shared by the
 * memscope BPF programs. Nothing here ever waits: a full ring buffer or a
 * full map drops and counts, and the target carries on. */
#ifndef MS_BPF_STATE_BPF_H
#define MS_BPF_STATE_BPF_H

#include "memscope_events.h"

/* Configuration, written by the loader before load (user/probe/loader.c). */
const volatile __u32 cfg_mode = MS_MODE_FULL;
const volatile __u32 cfg_stack = 0;       /* capture user stacks */
const volatile __u32 cfg_from_start = 0;  /* traced since exec: unknown frees are invalid */
const volatile __u32 cfg_follow = 0;      /* add forked children to `traced` */
const volatile __u64 cfg_wakeup_bytes = 1 << 20; /* wake the tracer past this backlog */
const volatile __u32 cfg_ncpus = 1;       /* possible CPUs (sizes the wakeup window) */
const volatile __u32 cfg_user_tsc = 0;    /* TSC readings from probes are usable times */
/* Stop a process (SIGSTOP) until the tracer has attached its probes: a
 * followed child at fork (its allocator probes are per process), a traced
 * process at exec and when ld.so has mapped new objects (bpf/hold.bpf.h). */
const volatile __u32 cfg_hold_fork = 0;
const volatile __u32 cfg_hold_load = 0;
const volatile __u32 cfg_tracer_tgid = 0; /* the tracer: if it dies, held processes go on */

/* Written by the tracer while it runs (user/trace/budget.c): 0 = as
 * configured, 1 and up = over the cost budget, no user stacks. */
volatile __u32 ctl_level = 0;

/* Next scope id; ids are unique across threads and processes of a trace. */
__u64 next_scope_id = 1;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the loader */
} rb SEC(".maps");

/* TRACK_VAR's per-CPU buffers (struct ms_vslot in memscope_events.h):
 * cfg_vslots slots per CPU, a power of two; 0 = records go to the ring. */
const volatile __u32 cfg_vslots = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* ncpus * cfg_vslots, set by the loader */
	__type(key, __u32);
	__type(value, struct ms_vslot);
} vslots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* ncpus, set by the loader */
	__type(key, __u32);
	__type(value, struct ms_vcpu);
} vcpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* tgids being traced: filters the system-wide tracepoints and, under -f,
 * the memscope USDT probes (attached without a PID filter). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} traced SEC(".maps");

struct ms_inflight {
	__u64 a0;
	__u64 a1;
	__u64 sp; /* stack pointer at entry: tells a nested call from a stale
		   * entry left by a longjmp, an exception or a missed return */
	__u64 ts; /* entry time: a tail call enters at the same sp at once */
	__u32 kind;
	__u32 _pad;
};

/* Probe sites whose strings this thread knows were sent (a direct-mapped
 * cache in front of the strs map: a hash lookup cost ~70 ns a hit). */
#define MS_SITE_CACHE 8

struct ms_thread {
	__u32 scope_depth;
	__u32 task_depth;
	__u32 infl_depth;
	__u32 _pad;
	__u64 skip_free; /* operator delete(p) recorded p; its inner free(p) is not a second free */
	__u64 skip_sp;   /* ... entered with this stack pointer */
	__u64 skip_ra;   /* ... and this return address at [sp] */
	__u64 scopes[MS_SCOPE_STACK];
	__u64 tasks[MS_TASK_STACK];
	struct ms_inflight infl[MS_INFLIGHT];
	__u64 site_seen[MS_SITE_CACHE];
};

/* Per-thread state. Its first home is a slot of an array indexed by the
 * thread id: the verifier inlines an array lookup into a few instructions,
 * where bpf_task_storage_get() cost ~45 ns a hit here, on every probe. The
 * loader sizes the array to a power of two >= pid_max where it can (no two
 * live threads then share a slot); a thread whose slot is held by another
 * live thread falls back to task storage. */
struct ms_thread_slot {
	__u64 owner; /* the owning task's start_time + 1; 0: free */
	__u32 tid;   /* the owner's thread id; 0 while free */
	__u32 _pad;
	struct ms_thread t;
};

const volatile __u32 cfg_slot_mask = 0; /* slots - 1, set by the loader */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* resized by the loader */
	__type(key, __u32);
	__type(value, struct ms_thread_slot);
} thread_slots SEC(".maps");

/* The fallback: task storage goes away with its thread on its own. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ms_thread);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20); /* resized by the loader (--max-live) */
	__type(key, struct ms_live_key);
	__type(value, struct ms_live_val);
} live SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ms_site_key);
	__type(value, struct ms_site_val);
} sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);    /* resized by the loader */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * 8);   /* --stack-depth * 8, set by the loader */
} stacks SEC(".maps");

/* Strings already sent, per (pid, address): literals travel once. */
struct ms_str_key {
	__u32 pid;
	__u32 _pad;
	__u64 ptr;
};

/* A plain hash, not LRU: an LRU lookup writes to the entry (~2x cost on
 * the hot path). When full, new strings are sent on every hit instead. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ms_str_key);
	__type(value, __u8);
} strs SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1;
}

/* The thread's slot if it owns it or can take it. A slot is taken when it
 * is free, or when its owner had this same thread id: two live threads
 * never share an id, so that owner has exited (its exit may have come
 * before the attach, or been missed). The compare-and-swap settles two
 * threads racing for a free slot. */
static __always_inline struct ms_thread *thread_slot(struct task_struct *task, __u32 tid)
{
	__u64 me = task->start_time + 1, old;
	__u32 idx = tid & cfg_slot_mask;
	struct ms_thread_slot *s = bpf_map_lookup_elem(&thread_slots, &idx);

	if (!s)
		return NULL;
	old = s->owner;
	if (old == me && s->tid == tid)
		return &s->t;
	if (old && s->tid != tid)
		return NULL; /* another live thread's */
	/* A thread already living in task storage stays there: its scope
	 * and task stacks are in it. */
	if (bpf_task_storage_get(&threads, task, NULL, 0))
		return NULL;
	if (__sync_val_compare_and_swap(&s->owner, old, me) != old)
		return NULL;
	s->tid = tid;
	__builtin_memset(&s->t, 0, sizeof(s->t));
	return &s->t;
}

/* The slot task owns, or NULL (slow paths: exec, exit). */
static __always_inline struct ms_thread_slot *slot_owned(struct task_struct *task)
{
	__u32 tid = task->pid, idx = tid & cfg_slot_mask;
	struct ms_thread_slot *s = bpf_map_lookup_elem(&thread_slots, &idx);

	return s && s->owner == task->start_time + 1 && s->tid == tid ? s : NULL;
}

/* The thread's state if it has any (no slot taken, nothing created). */
static __always_inline struct ms_thread *thread_find(struct task_struct *task)
{
	struct ms_thread_slot *s = slot_owned(task);

	return s ? &s->t : bpf_task_storage_get(&threads, task, NULL, 0);
}

/* The exiting thread gives its slot back (called from sched_process_exit;
 * the id is cleared first, so a thread that finds the slot free meanwhile
 * never sees this id and mistakes itself for the owner). */
static __always_inline void thread_slot_release(struct task_struct *task)
{
	struct ms_thread_slot *s = slot_owned(task);

	if (s) {
		s->tid = 0;
		__sync_val_compare_and_swap(&s->owner, task->start_time + 1, 0);
	}
}

static __always_inline struct ms_thread *thread_of(struct task_struct *task)
{
	struct ms_thread *t = thread_slot(task, task->pid);

	if (t)
		return t;
	t = bpf_task_storage_get(&threads, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t)
		stat_inc(MS_STAT_THREADS_FULL);
	return t;
}

static __always_inline struct ms_thread *thread_get(void)
{
	return thread_of(bpf_get_current_task_btf());
}

/* bpf_get_current_pid_tgid() from the task pointer the hot paths already
 * hold: two loads instead of a helper call (~20 ns a hit here). */
static __always_inline __u64 task_pid_tgid(const struct task_struct *task)
{
	return ((__u64)(__u32)task->tgid << 32) | (__u32)task->pid;
}

static __always_inline __u64 thread_scope(const struct ms_thread *t)
{
	__u32 d;

	if (!t)
		return 0;
	d = t->scope_depth;
	if (d == 0 || d > MS_SCOPE_STACK)
		return 0;
	return t->scopes[(d - 1) & (MS_SCOPE_STACK - 1)];
}

static __always_inline __u64 thread_task(const struct ms_thread *t)
{
	__u32 d;

	if (!t)
		return 0;
	d = t->task_depth;
	if (d == 0 || d > MS_TASK_STACK)
		return 0;
	return t->tasks[(d - 1) & (MS_TASK_STACK - 1)];
}

/* Reserve a record; a full ring drops it and counts the drop. */
static __always_inline void *rb_reserve(__u64 size)
{
	void *e = bpf_ringbuf_reserve(&rb, size, 0);

	if (!e)
		stat_inc(MS_STAT_DROPPED);
	return e;
}

/* Records submitted on this CPU: the backlog is looked at every
 * MS_RB_CHECK-th of them (a query per record was ~15 ns of a ~300 ns hit). */
#define MS_RB_CHECK 32
#define MS_RB_MAX_CPUS 1024
#define MS_RB_MAX_RECORD 512 /* the largest record (ms_ev_string) rounded up */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} rb_count SEC(".maps");

/* Submit without waking the tracer (it drains on a short timer); wake it
 * only when the backlog grows past cfg_wakeup_bytes. A wakeup per record
 * would triple the cost of every probe hit. */
static __always_inline void rb_submit(void *e, __u64 size)
{
	__u64 flags = BPF_RB_NO_WAKEUP, avail, *n;
	__u32 zero = 0;

	n = bpf_map_lookup_elem(&rb_count, &zero);
	if (n && (++*n % MS_RB_CHECK) == 0) {
		/* Wake only while the backlog is just past the threshold:
		 * waking on every record past it turned a slow or frozen
		 * tracer into an interrupt storm in the target (122k irq_work
		 * in 2 s, +35% CPU per request). Between two checks of one CPU
		 * the backlog grows by at most MS_RB_CHECK records per CPU,
		 * so some check lands inside this window. */
		avail = bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA);
		if (avail >= cfg_wakeup_bytes &&
		    avail < cfg_wakeup_bytes + (__u64)MS_RB_CHECK * MS_RB_MAX_RECORD * cfg_ncpus)
			flags = BPF_RB_FORCE_WAKEUP;
	}
	bpf_ringbuf_submit(e, flags);
}

static __always_inline void hdr_fill_ts(struct ms_hdr *h, __u16 type, __u32 size,
					__u64 pid_tgid, const struct ms_thread *t, __u64 ts)
{
	h->type = type;
	h->flags = 0;
	h->size = size;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->ts_ns = ts;
	h->scope = thread_scope(t);
	h->task = thread_task(t);
}

#define hdr_fill(h, type, size, pid_tgid, t) \
	hdr_fill_ts(h, type, size, pid_tgid, t, bpf_ktime_get_ns())

/* Send the text behind a string literal's address once per process. */
static __always_inline void string_send(__u64 pid_tgid, __u64 ptr)
{
	struct ms_str_key k = { .pid = pid_tgid >> 32, .ptr = ptr };
	struct ms_ev_string *e;
	__u8 one = 1;
	long n;

	if (!ptr || bpf_map_lookup_elem(&strs, &k))
		return;
	e = rb_reserve(sizeof(*e));
	if (!e)
		return; /* not remembered: sent again next time */
	hdr_fill(&e->h, MS_EV_STRING, sizeof(*e), pid_tgid, NULL);
	e->ptr = ptr;
	e->_pad = 0;
	n = bpf_probe_read_user_str(e->text, sizeof(e->text), (void *)ptr);
	if (n <= 0) {
		/* Page not faulted in yet: the tracer reads it itself. */
		e->h.flags |= MS_F_FAULT;
		e->len = 0;
		e->text[0] = 0;
		stat_inc(MS_STAT_STR_FAULT);
	} else {
		e->len = n - 1;
		if (n == sizeof(e->text))
			e->h.flags |= MS_F_TRUNCATED;
	}
	rb_submit(e, sizeof(*e));
	bpf_map_update_elem(&strs, &k, &one, BPF_ANY);
}

/* 1 the first time (per process) a probe site is hit: its string literals
 * must be sent. Keyed by the site's address, so one lookup covers them all.
 * Shares the strs map (site addresses and string addresses never collide
 * as keys: the high bit marks a site). */
static __always_inline int site_first(__u64 pid_tgid, __u64 ip)
{
	struct ms_str_key k = { .pid = pid_tgid >> 32, .ptr = ip | (1ull << 63) };
	__u8 one = 1;

	if (bpf_map_lookup_elem(&strs, &k))
		return 0;
	bpf_map_update_elem(&strs, &k, &one, BPF_ANY);
	return 1;
}

/* site_first() behind the thread's site cache. The cache is per thread but
 * means "sent for this process": a thread belongs to one process, and
 * ms_exec clears it when the process image changes. */
static __always_inline int site_first_t(struct ms_thread *t, __u64 pid_tgid, __u64 ip)
{
	__u32 slot = ((ip >> 2) ^ (ip >> 9)) & (MS_SITE_CACHE - 1);
	int first;

	if (t && t->site_seen[slot] == ip)
		return 0;
	first = site_first(pid_tgid, ip);
	if (t)
		t->site_seen[slot] = ip;
	return first;
}

#endif /* MS_BPF_STATE_BPF_H */
