/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* memscope_events.h - the records that travel from the BPF programs to the
 * tracer through the ring buffer, and the keys/values of the BPF maps the
 * tracer reads. Shared by bpf/ and user/; nothing else belongs here.
 *
 * Every record starts with struct ms_hdr. Fields are fixed-width, padding is
 * explicit and sizes are checked, so a recorded stream can be replayed into
 * the registry (tests, fuzzing) without BPF.
 */
#ifndef MEMSCOPE_EVENTS_H
#define MEMSCOPE_EVENTS_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define MS_EVENTS_VERSION 1

/* Longest string copied by BPF (including NUL). Longer ones are truncated
 * and flagged MS_F_TRUNCATED. */
#define MS_STR_MAX 256
/* Task names and snapshot labels travel inline. */
#define MS_NAME_MAX 64
/* Per-thread stacks kept in BPF. Deeper nesting is counted, not lost:
 * depth keeps counting and the ids of the hidden levels are reported as 0. */
#define MS_SCOPE_STACK 32
#define MS_TASK_STACK 8
/* Nested allocator calls in flight per thread (operator new -> malloc). */
#define MS_INFLIGHT 4
#define MS_MAX_STACK_DEPTH 127

enum ms_event_type {
	MS_EV_STRING = 1,  /* struct ms_ev_string: text behind a pointer */
	MS_EV_VAR,         /* struct ms_ev_var */
	MS_EV_SCOPE_ENTER, /* struct ms_ev_scope */
	MS_EV_SCOPE_EXIT,  /* struct ms_ev_scope; id 0 = exit without enter */
	MS_EV_ALLOC,       /* struct ms_ev_heap */
	MS_EV_FREE,        /* struct ms_ev_heap */
	MS_EV_REALLOC,     /* struct ms_ev_heap: old_addr -> addr */
	MS_EV_TASK_ENTER,  /* struct ms_ev_task */
	MS_EV_TASK_EXIT,   /* struct ms_ev_task */
	MS_EV_TASK_NAME,   /* struct ms_ev_name (id = task) */
	MS_EV_TASK_SPAWN,  /* struct ms_ev_task: id = parent, other = child */
	MS_EV_TASK_END,    /* struct ms_ev_task */
	MS_EV_SNAPSHOT,    /* struct ms_ev_name (label) */
	MS_EV_PROC_EXIT,   /* struct ms_ev_proc: the traced process exited */
	MS_EV_THREAD_EXIT, /* struct ms_ev_proc: one thread exited */
	MS_EV_FORK,        /* struct ms_ev_proc: child in child_pid */
	MS_EV_EXEC,        /* struct ms_ev_proc */
	MS_EV_LIVE,        /* struct ms_ev_heap: synthesized by the tracer from
			    * the BPF live-block map (fast mode), never sent */
	MS_EV_VMA,         /* struct ms_ev_vma: an executable file mapping,
			    * sent as the process exits; one with MS_F_LAST
			    * and start 0 ends the set */
	MS_EV_UNW_MISS,    /* struct ms_ev_unw_miss: a stack walk met an
			    * executable file mapping that has no unwind
			    * table yet (sent once per file) */
	MS_EV_LINKMAP,     /* struct ms_ev_proc: ld.so's list of loaded objects
			    * is consistent again (start-up done, dlopen,
			    * dlclose); exit_code holds ld.so's r_state */
	MS_EV_EXEC_FILE,   /* struct ms_ev_exec_file: the path an MS_EV_EXEC's
			    * new image was executed from (follows it) */
	MS_EV_TYPE_MAX,
};

/* ms_hdr.flags */
#define MS_F_TRUNCATED (1u << 0) /* string cut at MS_STR_MAX / MS_NAME_MAX */
#define MS_F_FAULT (1u << 1)     /* string not readable from BPF: the tracer
				  * reads it from the target instead */
#define MS_F_KNOWN (1u << 2)     /* free/realloc: BPF had the block live */
#define MS_F_UNTRACKED (1u << 3) /* alloc: live-block map full, not kept */
#define MS_F_SAMPLED (1u << 4)   /* sampled mode record; weight is valid */
#define MS_F_CUSTOM (1u << 5)    /* MEMSCOPE_ALLOC/MEMSCOPE_FREE */
#define MS_F_DEEP (1u << 6)      /* scope deeper than MS_SCOPE_STACK */
#define MS_F_LAST (1u << 7)      /* vma: the end of the set (no mapping) */
#define MS_F_TSC (1u << 8)       /* ts_ns holds the probe's raw TSC reading;
				  * the consumer (user/probe/tsc_clock.h) turns it
				  * into CLOCK_MONOTONIC ns before anything
				  * else sees the record */
#define MS_F_HELD (1u << 9)      /* fork, exec, linkmap: the process is stopped
				  * (SIGSTOP) until the tracer has attached its
				  * probes and continues it (struct ms_hold) */

/* The common header of every record (40 bytes). scope and task are the
 * innermost scope and the running task of the thread when the record was
 * made (0 = none). Times are CLOCK_MONOTONIC nanoseconds. */
struct ms_hdr {
	__u16 type;
	__u16 flags;
	__u32 size; /* of the whole record */
	__u32 pid;  /* tgid */
	__u32 tid;
	__u64 ts_ns;
	__u64 scope;
	__u64 task;
};

struct ms_ev_string {
	struct ms_hdr h;
	__u64 ptr; /* address in the target */
	__u32 len; /* bytes in text, without NUL */
	__u32 _pad;
	char text[MS_STR_MAX];
};

/* Strings in var and scope records are target addresses of literals; their
 * text arrives once per process in an MS_EV_STRING before first use. */
struct ms_ev_var {
	struct ms_hdr h;
	__u64 addr;
	__u64 size;
	__u64 value; /* meaningful when size == 8 */
	__u64 name;
	__u64 type; /* 0 = unknown */
	__u64 file;
	__u32 line;
	__u32 _pad;
};

/* TRACK_VAR records skip the ring buffer (its reserve and commit were
 * ~60 ns of a ~230 ns probe hit): each CPU has a buffer of slots in a
 * BPF_F_MMAPABLE array that the tracer reads in place. A slot carries the
 * ring's producer position at the probe, so the tracer can put the record
 * back exactly where it falls among the ring's records: after every record
 * reserved before it, before every one reserved after. */
struct ms_vslot {
	__u64 pos; /* ring producer position (BPF_RB_PROD_POS) */
	struct ms_ev_var v;
};

/* One CPU's buffer state: slots [head - n, head) are published; the tracer
 * has read up to tail. head and busy are written by BPF, tail by the
 * tracer: separate cache lines. */
struct ms_vcpu {
	__u64 head;
	__u64 busy; /* a probe on this CPU is writing a slot (it may have been
		     * preempted: another probe then uses the ring) */
	__u64 _pad1[6];
	__u64 tail;
	__u64 _pad2[7];
};

struct ms_ev_scope {
	struct ms_hdr h; /* h.scope: the scope that encloses this one */
	__u64 id;        /* the scope entered / exited (0 if unknown) */
	__u64 name;      /* enter only */
	__u64 file;      /* enter only */
	__u32 line;      /* enter only */
	__u32 depth;     /* thread's nesting depth after the event */
};

/* Allocation kinds (which function produced or released a block). */
enum ms_alloc_kind {
	MS_K_MALLOC = 0,
	MS_K_CALLOC,
	MS_K_REALLOC,
	MS_K_REALLOCARRAY,
	MS_K_POSIX_MEMALIGN,
	MS_K_ALIGNED_ALLOC,
	MS_K_MEMALIGN,
	MS_K_VALLOC,
	MS_K_PVALLOC,
	MS_K_NEW,
	MS_K_NEW_ARRAY,
	MS_K_FREE,
	MS_K_DELETE,
	MS_K_DELETE_ARRAY,
	MS_K_CUSTOM,
	MS_K_SAMPLE,
	MS_K_MALLOCX,  /* jemalloc's non-standard API */
	MS_K_RALLOCX,
	MS_K_XALLOCX,  /* resized in place */
	MS_K_DALLOCX,
	MS_K_SDALLOCX,
	MS_K_OTEL,     /* otel_memory:alloc / otel_memory:free USDT (sampled, weighted) */
	MS_K_HEAP,     /* found by walking the allocator's heap (leak-check PID):
			* which function made it is not known */
	MS_K_MAX,
};

struct ms_ev_heap {
	struct ms_hdr h;
	__u64 addr;     /* new block (alloc, realloc) or released block (free) */
	__u64 size;     /* requested size; for free: size if known */
	__u64 old_addr; /* realloc: the block given */
	__u64 old_size; /* realloc/free: its size if known */
	__u64 alloc_ts; /* free/realloc: when the released block was allocated */
	__u64 weight;   /* sampled mode: bytes this sample stands for */
	__u64 caller;   /* free: return address read at the probe (the
			 * immediate caller, which a frame-pointer walk from
			 * inside the callee misses) */
	__s32 stack_id; /* in the stacks map, <0 = none */
	__u16 kind;     /* enum ms_alloc_kind */
	__u16 _pad;
};

struct ms_ev_task {
	struct ms_hdr h;
	__u64 id;
	__u64 other; /* spawn: child id */
};

struct ms_ev_name {
	struct ms_hdr h;
	__u64 id;  /* task id (MS_EV_TASK_NAME) */
	__u64 ptr; /* where the text is in the target (read it on MS_F_FAULT) */
	__u32 len;
	__u32 _pad;
	char text[MS_NAME_MAX];
};

struct ms_ev_proc {
	struct ms_hdr h;
	__s32 exit_code; /* wait-status style: (code << 8) | signal */
	__u32 child_pid;
	char comm[16];
};

/* The process's executable file mappings, read by BPF as it exits (libc's
 * _exit, or a fatal signal): a short-lived target is gone before the
 * tracer could read /proc/PID/maps, and its stacks need them. */
struct ms_ev_vma {
	struct ms_hdr h;
	__u64 start, end;
	__u64 offset; /* file offset of start */
	__u64 ino;
	__u32 dev;    /* kernel encoding: major << 20 | minor */
	__u32 _pad;
	char name[MS_NAME_MAX]; /* the file's name (last path component) */
};

/* The path given to execve (bprm->filename: as the program wrote it, maybe
 * relative); the tracer reads /proc/PID/exe for the resolved file. */
struct ms_ev_exec_file {
	struct ms_hdr h;
	__u32 len; /* bytes in path, without NUL */
	__u32 _pad;
	char path[MS_STR_MAX];
};

/* ---- BPF maps read by the tracer --------------------------------------- */

/* A process BPF stopped until the tracer has attached what it maps (map
 * `holds`, keyed by pid): a followed child at fork, a traced process at
 * exec, or at ld.so's "consistent" point after loading objects. The tracer
 * attaches, deletes the entry and sends SIGCONT. */
enum ms_hold_kind {
	MS_HOLD_FORK = 1,
	MS_HOLD_EXEC,
	MS_HOLD_LINKMAP,
	MS_HOLD_READY, /* written by the tracer: the command it starts is attached
			* already, its first exec need not stop */
};

struct ms_hold {
	__u64 ts_ns; /* CLOCK_MONOTONIC when it was stopped */
	__u32 kind;  /* enum ms_hold_kind */
	__u32 tid;   /* the thread that caused it */
};

/* Live-block map: (pid, address) -> block. */
struct ms_live_key {
	__u32 pid;
	__u32 _pad;
	__u64 addr;
};

struct ms_live_val {
	__u64 size;
	__u64 ts_ns;
	__u64 scope;
	__u64 task;
	__u64 weight;
	__u32 tid;
	__s32 stack_id;
	__u16 kind;
	__u16 _pad[3];
};

/* Per-site counters kept in BPF in fast mode: (pid, stack id) -> counts. */
struct ms_site_key {
	__u32 pid;
	__s32 stack_id;
};

struct ms_site_val {
	__u64 allocs;
	__u64 alloc_bytes;
	__u64 frees;
	__u64 freed_bytes;
};

/* Counters in the per-CPU "stats" array, summed by the tracer. */
enum ms_stat {
	MS_STAT_EVENTS = 0,    /* records submitted */
	MS_STAT_DROPPED,       /* ring buffer full: record dropped */
	MS_STAT_LIVE_FULL,     /* live-block map full: block not kept */
	MS_STAT_THREADS_FULL,  /* thread-state map full */
	MS_STAT_STR_FAULT,     /* string not readable from BPF */
	MS_STAT_STACK_FAIL,    /* stack could not be captured */
	MS_STAT_INFLIGHT_FULL, /* allocator calls nested too deep */
	MS_STAT_SCOPE_DEEP,    /* scope deeper than MS_SCOPE_STACK */
	MS_STAT_TASK_DEEP,     /* task nesting deeper than MS_TASK_STACK */
	MS_STAT_UNMATCHED_EXIT,/* scope exit without enter */
	MS_STAT_SITES_FULL,    /* fast mode site map full */
	MS_STAT_PROBE_MISSES,  /* probe hits the kernel did not run our BPF
				* program for (another BPF program was running
				* on that CPU); filled by the tracer from
				* bpf_prog_info.recursion_misses */
	MS_STAT_VAR_RING,      /* TRACK_VAR records that went through the ring
				* (buffers off, their CPU's buffer full, or in
				* use by a probe this one preempted) */
	MS_STAT_UNW_TRUNCATED, /* stacks whose walk stopped before the
				* outermost frame (each walk, not each stack) */
	MS_STAT_UNW_FP_FRAMES, /* frames unwound by frame pointer for want of
				* an unwind table row */
	MS_STAT_UNW_VMA_MISS,  /* mapping cache misses (a VMA looked up) */
	MS_STAT_UNW_BUSY,      /* stack not walked: this CPU's walk buffers
				* were in use by probes this one preempted */
	MS_STAT_HOLDS,         /* processes stopped until attached (struct ms_hold) */
	MS_STAT_HOLD_FAILED,   /* a stop that could not be sent: attached late */
	MS_STAT_MAX,
};

/* ---- allocator uprobes: the BPF cookie of each link ---------------------- */
/* An allocator probe is placed where the kernel emulates the instruction
 * (user/elf/probe_place.c), which may be past instructions that moved an
 * argument to another register; and one BPF program serves every function
 * of a shape (malloc, mallocx, tc_malloc and mi_malloc are all "size in,
 * block out"). So each link's cookie says where the program finds its
 * logical arguments, the kind to record and which probe it is (its hit
 * counter in the probe_hits map). */
enum ms_reg { /* x86-64 hardware register number + 1; 0 = none */
	MS_REG_NONE = 0,
	MS_REG_AX, MS_REG_CX, MS_REG_DX, MS_REG_BX, MS_REG_SP, MS_REG_BP, MS_REG_SI, MS_REG_DI,
	MS_REG_R8, MS_REG_R9, MS_REG_R10, MS_REG_R11, MS_REG_R12, MS_REG_R13, MS_REG_R14,
	MS_REG_R15,
};
#define MS_CK_ARG_SHIFT(i) (8 * (i)) /* logical argument i (0..2): its enum ms_reg */
#define MS_CK_KIND_SHIFT 24          /* enum ms_alloc_kind, 8 bits */
#define MS_CK_DELETE (1ull << 32)    /* free: an operator delete, whose inner free
				      * of the same block is not a second free */
#define MS_CK_PROBE_SHIFT 40         /* probe id: index into probe_hits */
#define MS_MAX_PROBES 2048           /* probe ids (id 0: probes past the table) */

/* ---- DWARF unwinding (bpf/unwind.bpf.h, user/elf/cfi_tables.c) ------- */

/* An unwind table row: from file offset `off` up to the next row's, how to
 * find the caller's frame. Rows of a file are sorted by off; the last row
 * of every covered range is an MS_UNW_NONE row where the range ends. */
struct ms_unw_row {
	__u32 off;     /* offset in the file (pc - mapping start + pgoff) */
	__u16 cfa_off; /* CFA = base register + cfa_off; MS_UNW_CFA_DEREF:
			* CFA = *(rbp - cfa_off); MS_UNW_PLT: the threshold */
	__u8 kind;     /* MS_UNW_* kind | MS_UNW_RBP_SAVED */
	__s8 rbp;      /* the caller's rbp is saved at CFA + 8 * rbp */
};

enum ms_unw_kind {
	MS_UNW_CFA_RSP = 0, /* CFA = rsp + cfa_off */
	MS_UNW_CFA_RBP,     /* CFA = rbp + cfa_off */
	MS_UNW_CFA_DEREF,   /* CFA = *(rbp - cfa_off) (stack realignment) */
	MS_UNW_PLT,         /* CFA = rsp + 8, + 8 more when (pc & 15) >= cfa_off */
	MS_UNW_SIGNAL,      /* a signal trampoline: registers from ucontext at rsp */
	MS_UNW_END,         /* the outermost frame: the return address is undefined */
	MS_UNW_NONE,        /* no CFI here: frame pointers */
	MS_UNW_UNSUPPORTED, /* a CFI rule the walk cannot follow: frame pointers */
};
#define MS_UNW_KIND_MASK 0x7
#define MS_UNW_RBP_SAVED 0x8

/* A file's table in the unw_rows/unw_pages arrays, keyed by the file's
 * identity as the kernel sees it (struct ms_unw_key). Page p of the file
 * (offsets base + p*4096 up to the next page) has its rows at indices
 * [lo, hi) of unw_pages[page0 + p], relative to row0, so a look-up is a
 * binary search over one page's rows. (A pair per entry: BPF array
 * elements are 8-byte aligned anyway, and one look-up gives both ends.) */
struct ms_unw_page {
	__u32 lo, hi;
};

struct ms_unw_key {
	__u64 ino;
	__u32 dev; /* kernel encoding: major << 20 | minor */
	__u32 _pad;
};

struct ms_unw_file {
	__u64 base;   /* file offset of page 0 (4 KiB aligned) */
	__u32 row0;   /* first row in unw_rows */
	__u32 nrows;
	__u32 page0;  /* first entry in unw_pages */
	__u32 npages;
};

/* Why a walk ended (struct ms_ustack.end). */
enum ms_unw_end {
	MS_UNW_END_COMPLETE = 0, /* reached the outermost frame */
	MS_UNW_END_DEPTH,        /* --stack-depth frames taken, more above */
	MS_UNW_END_NO_MAPPING,   /* pc in no file mapping (JIT, anonymous memory) */
	MS_UNW_END_NO_INFO,      /* no usable CFI and no frame pointer */
	MS_UNW_END_BAD_READ,     /* stack memory could not be read */
	MS_UNW_END_BAD_FRAME,    /* the caller's frame is not above this one */
	MS_UNW_END_MAX,
};

/* A user stack walked by BPF with the unwind tables: the value of the
 * `ustacks` hash map (stack id -> stack). Only the first 16 + 8 * depth
 * bytes exist in the map (depth = --stack-depth). */
struct ms_ustack {
	__u64 hash;  /* of the frames: tells two stacks apart under one id */
	__u32 nr;    /* frames in ip[] */
	__u8 end;    /* enum ms_unw_end */
	__u8 fp;     /* frames unwound by frame pointer */
	__u16 _pad;
	__u64 ip[MS_MAX_STACK_DEPTH];
};

/* A walk met an executable file mapping with no table: the tracer builds
 * one (the file is /proc/PID/map_files/START-END while it is mapped). */
struct ms_ev_unw_miss {
	struct ms_hdr h;
	__u64 start, end;
	__u64 offset; /* file offset of start */
	__u64 ino;
	__u32 dev;    /* kernel encoding */
	__u32 _pad;
};

/* Tracing modes (rodata cfg_mode). */
enum ms_mode {
	MS_MODE_FULL = 0, /* every event streamed */
	MS_MODE_FAST,     /* allocations aggregated in BPF, read periodically */
	MS_MODE_LIGHT,    /* memscope probes only, no allocator uprobes */
	MS_MODE_SAMPLED,  /* the sampling library's probes */
};

/* The USDT attach cookie of a memscope probe (bpf_usdt_cookie()): which
 * instruction its sites sit on, so BPF knows where the stack pointer is.
 * At memscope's 5-byte site rsp is 128 bytes below the frame the unwind
 * tables describe (include/memscope.h); bpf/usdt_site.bpf.h undoes it. */
enum ms_site_cookie {
	MS_SITE_NOP1 = 0,  /* 1-byte nop (or anything else): rsp as is */
	MS_SITE_NOP5 = 1,  /* memscope's 5-byte site: rsp + 128 */
	MS_SITE_MIXED = 2, /* both in this file for this probe name: ask the site */
};

/* The exit_regs map: tid -> the stack pointer and callee-saved registers
 * of a thread as it entered libc's exit(). The leak check, holding the
 * thread at _exit after the atexit handlers ran, scans its stack from this
 * stack pointer up (below lie exit()'s own frames, over the dead frames of
 * the program's last calls) and takes these registers as roots. */
struct ms_exit_regs {
	__u64 sp, bx, bp, r12, r13, r14, r15;
};

#ifndef __bpf__
_Static_assert(sizeof(struct ms_hdr) == 40, "ms_hdr layout");
_Static_assert(sizeof(struct ms_ev_string) == 40 + 16 + MS_STR_MAX, "string");
_Static_assert(sizeof(struct ms_ev_var) == 40 + 56, "var layout");
_Static_assert(sizeof(struct ms_ev_scope) == 40 + 32, "scope layout");
_Static_assert(sizeof(struct ms_vslot) == 8 + 96, "var slot layout");
_Static_assert(sizeof(struct ms_vcpu) == 128, "var cpu layout");
_Static_assert(sizeof(struct ms_ev_heap) == 40 + 64, "heap layout");
_Static_assert(sizeof(struct ms_ev_task) == 40 + 16, "task layout");
_Static_assert(sizeof(struct ms_ev_name) == 40 + 24 + MS_NAME_MAX, "name");
_Static_assert(sizeof(struct ms_ev_proc) == 40 + 24, "proc layout");
_Static_assert(sizeof(struct ms_ev_exec_file) == 40 + 8 + MS_STR_MAX, "exec file layout");
_Static_assert(sizeof(struct ms_hold) == 16, "hold layout");
_Static_assert(sizeof(struct ms_live_val) == 56, "live layout");
_Static_assert(sizeof(struct ms_unw_row) == 8, "unwind row layout");
_Static_assert(sizeof(struct ms_unw_file) == 24, "unwind file layout");
_Static_assert(sizeof(struct ms_unw_page) == 8, "unwind page layout");
_Static_assert(sizeof(struct ms_ustack) == 16 + 8 * MS_MAX_STACK_DEPTH, "ustack layout");
_Static_assert(sizeof(struct ms_ev_unw_miss) == 40 + 40, "unwind miss layout");
_Static_assert(sizeof(struct ms_exit_regs) == 56, "exit regs layout");
#endif

#endif /* MEMSCOPE_EVENTS_H */
