/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* unwind.bpf.h - walking user stacks with DWARF unwind tables, in BPF.
 *
 * The problem
 * -----------
 * Every stack memscope records (an allocation, an invalid or double free,
 * a sampled block) is taken inside a uprobe or a USDT probe of the target.
 * The kernel's walk (bpf_get_stackid with BPF_F_USER_STACK) follows saved
 * frame pointers, and code built as distributions build it has none: in
 * Debian's redis-server every allocation came out as the single frame
 * `zmalloc_usable`, at ~6 us a call, the kernel faulting its way through
 * garbage. Unwinding without frame pointers needs the compiler's call
 * frame information (CFI), and a BPF program cannot interpret CFI: the
 * tracer turns each file's CFI into a sorted table of 8-byte rows
 * (user/elf/cfi_tables.c explains the rows), and this walk only looks rows
 * up and does arithmetic.
 *
 * One frame
 * ---------
 * From (pc, sp, bp) of a frame to its caller's:
 *   1. the mapping that holds pc: the file (device, inode) and where it is
 *      mapped. The file offset of pc (pc - vm_start + vm_pgoff * 4096)
 *      keys the rows, so nothing else about the load is needed.
 *   2. the row for that offset: one array look-up for the page's row
 *      range, then a binary search within it (at most MS_UNW_SEARCH steps;
 *      a 4 KiB page of dense code has a few hundred rows at most).
 *   3. CFA = sp or bp plus an offset (or one of the rare forms in enum
 *      ms_unw_kind); the return address is at CFA - 8, the caller's rbp,
 *      if this frame saved it, at CFA + 8n (one 16-byte read in the usual
 *      case of rbp pushed first). The caller's sp is the CFA.
 * Return addresses point after a call: for every frame but the first (and
 * those after a signal frame, whose pc is exact) the row is looked up at
 * pc - 1, so a call that ends a function is not taken for the next one.
 *
 * Mappings
 * --------
 * The tracer does not tell BPF where each process maps what: BPF finds out
 * itself, so stacks are whole from a program's first instruction, in
 * forked children and after exec, with no race against the tracer reading
 * /proc/PID/maps. A per-CPU cache of recent (address space, mapping)
 * entries answers almost every look-up with a short scan; a miss asks the
 * kernel for the VMA (bpf_find_vma, ~0.3 us, once per mapping per CPU) and
 * the file's table in the unw_files hash. A file with no table yet is
 * reported to the tracer once (MS_EV_UNW_MISS); it builds the table while
 * the walk falls back to frame pointers in that file. Cache entries are
 * tagged with the address space (mm) and with unw_epoch, which the tracer
 * bumps whenever tables are added or a process's mappings may have been
 * replaced (dlclose), so no entry outlives what it describes. A program
 * preempted on the same CPU by another probe could see the cache half
 * written: a sequence count around every write (odd while writing) makes
 * the reader retry with the kernel instead.
 *
 * Where a walk ends
 * -----------------
 * At the outermost frame (a row whose return address is undefined, as
 * _start's and a new thread's are, or a zero return address): complete.
 * At --stack-depth frames with more above, in memory that is not a file
 * mapping (JIT code, anonymous memory), where a read of the stack faults,
 * where neither a row nor a frame pointer says where the caller is, or
 * where the caller's frame would not lie above this one (stacks grow down;
 * this also ends any loop): truncated, with the reason kept with the stack
 * (struct ms_ustack.end). Where a file has no row for pc (no CFI there, or
 * a rule the walk cannot follow) the frame pointer is tried: bp must point
 * into the stack above sp, and [bp], [bp + 8] are the caller's bp and
 * return address. Nothing the target does can make the walk loop, fault or
 * read beyond its bounds: every read is bpf_probe_read_user, every index
 * is checked.
 *
 * The verifier
 * ------------
 * The frame loop is bpf_loop() over a callback, verified once whatever the
 * depth (a bounded loop of up to 127 frames, each with two inner loops,
 * would be verified frame by frame: slow, and near the complexity limit).
 * The callback's inner loops are bounded (MS_UNW_CACHE entries,
 * MS_UNW_SEARCH steps). The whole walk is a global function, verified once
 * for all the programs that take stacks, not once per call site.
 *
 * The result goes to the `ustacks` hash: id = 31 bits of a hash of the
 * frames, probing on to the next id on a collision (the full 64-bit hash
 * tells stacks apart), like the kernel's stack map but with the walk's
 * end reason and frame-pointer count kept with the frames.
 */
#ifndef MS_BPF_UNWIND_BPF_H
#define MS_BPF_UNWIND_BPF_H

#include "state.bpf.h"

#define MS_UNW_CACHE 16  /* mappings per CPU */
#define MS_UNW_SEARCH 13 /* binary search steps: 4096 rows in a page */
#define MS_UNW_PROBES 4  /* stack ids tried on a hash collision */
#define UNW_GO MS_UNW_END_MAX /* a step found the caller: walk on */

const volatile __u32 cfg_unwind = 0;      /* 1: DWARF walk into ustacks; 0: kernel FP walk */
const volatile __u32 cfg_stack_depth = 0; /* frames per stack (1..MS_MAX_STACK_DEPTH) */
const volatile __u32 cfg_unw_rows = 1;    /* entries in unw_rows */
const volatile __u32 cfg_unw_pages = 1;   /* entries in unw_pages */

/* Bumped by the tracer when tables change: cached mappings are re-read. */
__u32 unw_epoch = 1;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* set by the loader (--unwind-tables) */
	__type(key, __u32);
	__type(value, struct ms_unw_row);
} unw_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* set by the loader */
	__type(key, __u32);
	__type(value, struct ms_unw_page);
} unw_pages SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ms_unw_key);
	__type(value, struct ms_unw_file);
} unw_files SEC(".maps");

/* Files already reported missing (MS_EV_UNW_MISS goes out once). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ms_unw_key);
	__type(value, __u8);
} unw_missing SEC(".maps");

/* Stack id -> stack. The value is struct ms_ustack cut to depth frames
 * (the loader sets value_size), hence no BTF type. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* set by the loader */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct ms_ustack));
} ustacks SEC(".maps");

/* Where a mapping is and how to find its rows. */
struct unw_map {
	__u64 start, end;
	__u64 adj;  /* file offset = pc + adj */
	__u64 base; /* struct ms_unw_file */
	__u32 row0, nrows, page0, npages;
	__u32 no_file; /* anonymous memory or not executable: no frames here */
	__u32 _pad;
};

struct unw_cache_ent {
	__u64 mm;
	__u32 epoch;
	__u32 _pad;
	struct unw_map m;
};

struct unw_cpu {
	__u64 seq; /* odd while an entry is written (64 bits: clang 14's
		    * BPF back end has no 32-bit compare-and-swap) */
	__u32 next;
	__u32 _pad;
	struct unw_cache_ent e[MS_UNW_CACHE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unw_cpu);
} unw_cache SEC(".maps");

/* The stack being built: two per CPU, for a walk preempted by another. */
struct unw_scratch {
	__u64 busy;
	struct ms_ustack s;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct unw_scratch);
} unw_scratch SEC(".maps");

/* The walk's registers and bookkeeping, shared with the loop callback. */
struct unw_walk {
	__u64 pc, sp, bp;
	__u64 mm;
	__u64 hash;
	struct unw_map m; /* the mapping of the last frame */
	__u32 epoch;
	__u32 slot;  /* unw_scratch index */
	__u32 nr;
	__u32 end;   /* enum ms_unw_end, MS_UNW_END_MAX while walking */
	__u32 fp;    /* frames unwound by frame pointer */
	__u32 exact; /* pc is exact (first frame, after a signal frame) */
};

/* bpf_find_vma's callback: what the mapping holding the address is. */
struct unw_vma {
	__u64 start, end, pgoff, ino;
	__u32 dev;
	__u32 found; /* 1: a file with code; 2: anonymous or not executable */
};

#define MS_VM_EXEC_FLAG 0x4 /* VM_EXEC */

static long unw_vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct unw_vma *v = data;
	struct file *f = vma->vm_file;

	v->start = vma->vm_start;
	v->end = vma->vm_end;
	v->pgoff = vma->vm_pgoff;
	if (!f || !(vma->vm_flags & MS_VM_EXEC_FLAG)) {
		v->found = 2;
		return 0;
	}
	v->ino = BPF_CORE_READ(f, f_inode, i_ino);
	v->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	v->found = 1;
	return 0;
}

/* Tell the tracer once that file key has no table. */
static __always_inline void unw_report_miss(const struct ms_unw_key *key, const struct unw_vma *v)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ms_ev_unw_miss *e;
	__u8 one = 1;

	if (bpf_map_update_elem(&unw_missing, key, &one, BPF_NOEXIST))
		return; /* reported before (or the map is full: nothing new) */
	e = rb_reserve(sizeof(*e));
	if (!e) {
		bpf_map_delete_elem(&unw_missing, key); /* try again next time */
		return;
	}
	hdr_fill(&e->h, MS_EV_UNW_MISS, sizeof(*e), task_pid_tgid(task), NULL);
	e->start = v->start;
	e->end = v->end;
	e->offset = v->pgoff << 12;
	e->ino = v->ino;
	e->dev = v->dev;
	e->_pad = 0;
	rb_submit(e, sizeof(*e));
}

/* Ask the kernel for the mapping of pc and fill *m; 0 or -1. */
static __always_inline int unw_map_from_vma(__u64 pc, struct unw_map *m)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct unw_vma v = {};
	struct ms_unw_key key = {};
	struct ms_unw_file *f;

	stat_inc(MS_STAT_UNW_VMA_MISS);
	if (bpf_find_vma(task, pc, unw_vma_cb, &v, 0) || !v.found)
		return -1;
	m->start = v.start;
	m->end = v.end;
	m->adj = (v.pgoff << 12) - v.start;
	m->base = 0;
	m->row0 = m->nrows = m->page0 = m->npages = 0;
	m->no_file = v.found != 1;
	if (m->no_file)
		return 0;
	key.ino = v.ino;
	key.dev = v.dev;
	f = bpf_map_lookup_elem(&unw_files, &key);
	if (!f) {
		unw_report_miss(&key, &v);
		return 0;
	}
	m->base = f->base;
	m->row0 = f->row0;
	m->nrows = f->nrows;
	m->page0 = f->page0;
	m->npages = f->npages;
	return 0;
}

/* The mapping that holds pc, into w->m: the last frame's, the CPU's
 * cache, or the kernel's VMA (then cached). 0, or -1 if pc is in none.
 * A global function: verified once, on its own (see the essay). */
__noinline int ms_unw_map_find(struct unw_walk *w, __u64 pc)
{
	struct unw_cpu *c;
	__u32 zero = 0, i, k, hit = MS_UNW_CACHE;
	__u64 seq;

	if (!w)
		return -1;
	if (w->m.end && pc >= w->m.start && pc < w->m.end)
		return 0;
	c = bpf_map_lookup_elem(&unw_cache, &zero);
	if (!c)
		return unw_map_from_vma(pc, &w->m);
	seq = c->seq;
	asm volatile("" ::: "memory");
	if (!(seq & 1)) {
		for (i = 0; i < MS_UNW_CACHE; i++) {
			struct unw_cache_ent *e = &c->e[i];

			if (e->mm == w->mm && e->epoch == w->epoch && pc >= e->m.start &&
			    pc < e->m.end) {
				hit = i;
				break;
			}
		}
		if (hit < MS_UNW_CACHE) {
			w->m = c->e[hit & (MS_UNW_CACHE - 1)].m;
			asm volatile("" ::: "memory");
			if (c->seq == seq)
				return 0; /* else written meanwhile: ask the kernel */
		}
	}
	if (unw_map_from_vma(pc, &w->m))
		return -1;
	/* Cache it, unless another walk on this CPU is writing. */
	if (seq & 1 || __sync_val_compare_and_swap(&c->seq, seq, seq + 1) != seq)
		return 0;
	k = c->next & (MS_UNW_CACHE - 1);
	c->next = k + 1;
	c->e[k].mm = w->mm;
	c->e[k].epoch = w->epoch;
	c->e[k].m = w->m;
	asm volatile("" ::: "memory");
	c->seq = seq + 2;
	return 0;
}

/* The row for file offset off in mapping m, or NULL. */
static __always_inline struct ms_unw_row *unw_row_find(const struct unw_map *m, __u64 off)
{
	struct ms_unw_page *pg;
	__u32 lo, hi, k, i, mid;
	struct ms_unw_row *r;

	if (!m->nrows || off < m->base)
		return NULL;
	if ((off - m->base) >> 12 >= m->npages)
		return NULL;
	k = m->page0 + (__u32)((off - m->base) >> 12);
	pg = bpf_map_lookup_elem(&unw_pages, &k);
	if (!pg)
		return NULL;
	/* the first row past off is in [lo, hi]; the row for off is the
	 * one before it (possibly the last of an earlier page) */
	lo = pg->lo;
	hi = pg->hi;
	if (hi > m->nrows)
		return NULL; /* a table that does not fit its own bounds */
	for (i = 0; i < MS_UNW_SEARCH && lo < hi; i++) {
		mid = lo + ((hi - lo) >> 1);
		k = m->row0 + mid;
		r = bpf_map_lookup_elem(&unw_rows, &k);
		if (!r)
			return NULL;
		if (r->off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < hi || lo == 0)
		return NULL;
	k = m->row0 + lo - 1;
	return bpf_map_lookup_elem(&unw_rows, &k);
}

static __always_inline int unw_read(void *dst, __u32 len, __u64 addr)
{
	return bpf_probe_read_user(dst, len, (const void *)addr);
}

/* One frame by frame pointer: UNW_GO, or an enum ms_unw_end. A zero rbp
 * ends the chain (the ABI's mark of the outermost frame: _start and ld.so
 * clear it) where no CFI covers pc; where CFI has a rule the walk cannot
 * follow (no_cfi 0), rbp may just be zero. */
static __always_inline int unw_step_fp(struct unw_walk *w, int no_cfi)
{
	__u64 pair[2];

	if (!w->bp)
		return no_cfi ? MS_UNW_END_COMPLETE : MS_UNW_END_NO_INFO;
	if (w->bp < w->sp || (w->bp & 7))
		return MS_UNW_END_NO_INFO;
	if (unw_read(pair, sizeof(pair), w->bp))
		return MS_UNW_END_BAD_READ;
	w->sp = w->bp + 16;
	w->bp = pair[0];
	w->pc = pair[1];
	w->fp++;
	return UNW_GO;
}

/* One frame by the row r: UNW_GO, or an enum ms_unw_end. */
static __always_inline int unw_step_row(struct unw_walk *w, const struct ms_unw_row *r, __u64 pc)
{
	__u64 cfa, pair[2], regs[7];
	__u32 kind = r->kind & MS_UNW_KIND_MASK;

	switch (kind) {
	case MS_UNW_CFA_RSP:
		cfa = w->sp + r->cfa_off;
		break;
	case MS_UNW_CFA_RBP:
		cfa = w->bp + r->cfa_off;
		break;
	case MS_UNW_CFA_DEREF:
		if (unw_read(&cfa, sizeof(cfa), w->bp - r->cfa_off))
			return MS_UNW_END_BAD_READ;
		break;
	case MS_UNW_PLT:
		cfa = w->sp + 8 + ((pc & 15) >= r->cfa_off ? 8 : 0);
		break;
	case MS_UNW_SIGNAL:
		/* rt_sigframe: the ucontext is at sp; its mcontext's rbp, rbx,
		 * rdx, rax, rcx, rsp, rip are at +120 (40 + 10 * 8) */
		if (unw_read(regs, sizeof(regs), w->sp + 120))
			return MS_UNW_END_BAD_READ;
		w->bp = regs[0];
		w->sp = regs[5];
		w->pc = regs[6];
		w->exact = 1;
		return UNW_GO;
	case MS_UNW_END:
		return MS_UNW_END_COMPLETE;
	default:
		return unw_step_fp(w, kind == MS_UNW_NONE);
	}
	/* the caller's frame lies above this one: no loops, no garbage */
	if (cfa <= w->sp || cfa - w->sp > (1u << 24))
		return MS_UNW_END_BAD_FRAME;
	if ((r->kind & MS_UNW_RBP_SAVED) && r->rbp == -2) {
		if (unw_read(pair, sizeof(pair), cfa - 16))
			return MS_UNW_END_BAD_READ;
		w->bp = pair[0];
		w->pc = pair[1];
	} else {
		if (unw_read(&w->pc, sizeof(w->pc), cfa - 8))
			return MS_UNW_END_BAD_READ;
		if ((r->kind & MS_UNW_RBP_SAVED) &&
		    unw_read(&w->bp, sizeof(w->bp), cfa + (__s64)r->rbp * 8))
			return MS_UNW_END_BAD_READ;
	}
	w->sp = cfa;
	return UNW_GO;
}

/* From the frame at pc (the look-up address: pc - 1 for a return
 * address) in mapping w->m to its caller: UNW_GO, or an enum ms_unw_end.
 * A global function, verified once. */
__noinline int ms_unw_step(struct unw_walk *w, __u64 pc)
{
	struct ms_unw_row *r;
	__u32 fp;
	int end;

	if (!w)
		return MS_UNW_END_NO_INFO;
	fp = w->fp;
	r = unw_row_find(&w->m, pc + w->m.adj);
	end = r ? unw_step_row(w, r, pc) : unw_step_fp(w, 1);
	if (end == UNW_GO && w->fp != fp)
		stat_inc(MS_STAT_UNW_FP_FRAMES);
	if (end == UNW_GO && !w->pc)
		end = MS_UNW_END_COMPLETE; /* no caller */
	return end;
}

/* bpf_loop callback: record frame i, then step to its caller. */
static long unw_frame(__u32 i, void *ctx)
{
	struct unw_walk *w = ctx;
	struct unw_scratch *sc;
	__u32 slot = w->slot;
	__u64 pc, k = i;
	int end;

	/* one register for the check and the index (clang may otherwise
	 * check a copy and index with the unchecked original) */
	asm volatile("" : "+r"(k));
	sc = bpf_map_lookup_elem(&unw_scratch, &slot);
	if (!sc || k >= MS_MAX_STACK_DEPTH) {
		w->end = MS_UNW_END_DEPTH;
		return 1;
	}
	sc->s.ip[k] = w->pc;
	w->nr = (__u32)k + 1;
	w->hash = (w->hash ^ w->pc) * 0x100000001b3ull;
	/* a return address points after its call */
	pc = w->exact ? w->pc : w->pc - 1;
	w->exact = 0;
	if (ms_unw_map_find(w, pc) || w->m.no_file) {
		w->end = MS_UNW_END_NO_MAPPING;
		return 1;
	}
	end = ms_unw_step(w, pc);
	if (end != UNW_GO) {
		w->end = end;
		return 1;
	}
	return 0;
}

/* Walk the user stack at ctx into ustacks; returns the stack id, or -1.
 * sp_adj is added to ctx's sp first: a probe site that stepped rsp down
 * (see include/memscope.h) says by how much. */
__noinline int ms_ustack_walk(struct pt_regs *ctx, __u64 sp_adj)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct unw_walk w = {};
	struct unw_scratch *sc = NULL;
	struct ms_ustack *v;
	__u32 slot, id, p;

	if (!ctx)
		return -1;
	slot = 0;
	sc = bpf_map_lookup_elem(&unw_scratch, &slot);
	if (sc && __sync_val_compare_and_swap(&sc->busy, 0, 1) != 0) {
		slot = 1;
		sc = bpf_map_lookup_elem(&unw_scratch, &slot);
		if (sc && __sync_val_compare_and_swap(&sc->busy, 0, 1) != 0)
			sc = NULL;
	}
	if (!sc) {
		stat_inc(MS_STAT_UNW_BUSY);
		return -1;
	}
	w.pc = PT_REGS_IP(ctx);
	w.sp = PT_REGS_SP(ctx) + sp_adj;
	w.bp = PT_REGS_FP(ctx);
	w.mm = (__u64)task->mm;
	w.epoch = unw_epoch;
	w.slot = slot;
	w.exact = 1;
	w.end = MS_UNW_END_MAX;
	w.hash = 0xcbf29ce484222325ull;
	bpf_loop(cfg_stack_depth, unw_frame, &w, 0);
	if (w.end == MS_UNW_END_MAX)
		w.end = MS_UNW_END_DEPTH;
	if (w.end != MS_UNW_END_COMPLETE)
		stat_inc(MS_STAT_UNW_TRUNCATED);
	w.hash ^= ((__u64)w.end << 56) | w.nr;
	w.hash *= 0x100000001b3ull;
	sc->s.hash = w.hash;
	sc->s.nr = w.nr;
	sc->s.end = (__u8)w.end;
	sc->s.fp = w.fp > 255 ? 255 : (__u8)w.fp;
	sc->s._pad = 0;
	id = (__u32)(w.hash ^ (w.hash >> 32)) & 0x7fffffff;
	for (p = 0; p < MS_UNW_PROBES; p++, id = (id + 1) & 0x7fffffff) {
		v = bpf_map_lookup_elem(&ustacks, &id);
		if (!v) {
			if (!bpf_map_update_elem(&ustacks, &id, &sc->s, BPF_NOEXIST))
				break;
			v = bpf_map_lookup_elem(&ustacks, &id); /* lost a race */
			if (!v) {
				p = MS_UNW_PROBES; /* the map is full */
				break;
			}
		}
		if (v->hash == w.hash)
			break;
	}
	sc->busy = 0;
	if (p >= MS_UNW_PROBES) {
		stat_inc(MS_STAT_STACK_FAIL);
		return -1;
	}
	return (int)id;
}

#endif /* MS_BPF_UNWIND_BPF_H */
