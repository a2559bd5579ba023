/* SPDX-License-Identifier: BSD-3-Clause */
/* loader.h - the BPF lifecycle: open -> configure -> load -> attach ->
 * destroy. Owns the skeleton and every link; nothing else touches libbpf
 * objects except consumer.c (records) and bpfmaps.c (map reads). */
#ifndef MS_PROBE_LOADER_H
#define MS_PROBE_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "memscope_events.h"

struct ms_loader_cfg {
	enum ms_mode mode;
	int stack_depth;    /* 0 = no stacks */
	int unwind_fp;      /* stacks by the kernel's frame-pointer walk, not
			     * by the DWARF tables (bpf/unwind.bpf.h) */
	size_t unwind_bytes; /* room for unwind tables (rows + page index) */
	size_t ring_bytes;  /* power of two */
	uint32_t max_live;  /* live-block map capacity */
	uint32_t max_stacks;
	uint32_t max_threads;
	int from_start;     /* target traced since exec */
	int follow;         /* add forked children */
	int no_alloc;       /* no allocator uprobes */
	int samples_only;   /* sampled mode: only the sampling library's probes */
	int hold;           /* stop processes until attached (bpf/hold.bpf.h) */
	int floor;          /* bench: allocator programs return at once */
	int verbose;
	/* test-only settings (MEMSCOPE_TEST_*, checked by the CLI) */
	uint32_t test_thread_slots; /* per-thread state slots, a power of two; 0: by pid_max */
	int32_t test_var_slots;     /* TRACK_VAR slots per CPU, 0 or a power of two; -1: by ring size */
	uint32_t hold_tgid; /* leak check: the hold helper (user/proc/hold.h), 0 = none */
};

/* One probe (an allocator link, or a USDT probe name), for the cost
 * estimate and -v. Owned by the loader; valid until ms_loader_destroy(). */
struct ms_probe_info {
	uint32_t id;      /* its hit counter (probe_hits), 1-based */
	pid_t pid;        /* 0 for a USDT probe name (all processes) */
	const char *path; /* library or executable; "" for a USDT name */
	const char *func; /* "malloc", "_ZdlPv", "memscope:var" ... */
	uint64_t offset;  /* bytes into the function */
	int emulated;     /* the kernel emulates the probed instruction */
	int ret;          /* a return probe */
	int usdt;         /* a USDT probe name: hits are its program's runs */
};

/* The kernel's cost of one probe hit on this machine, measured at attach
 * with an empty BPF program on the tracer's own code (ms_loader_calibrate). */
struct ms_trap_cost {
	double emulated_ns; /* entry probe on an instruction the kernel emulates */
	double xol_ns;      /* entry probe on one it single-steps out of line */
	double ret_ns;      /* a return probe, on top of its entry probe */
};

struct ms_loader;

/* Open, configure and load the BPF object. 0 or -errno (message printed). */
int ms_loader_open(struct ms_loader **out, const struct ms_loader_cfg *cfg);
/* Start tracing process `pid`: lifecycle tracepoints (attached once). */
int ms_loader_add_pid(struct ms_loader *l, pid_t pid);
/* Attach every memscope USDT probe found in the ELF file `path` (a path
 * the tracer can open) for `pid`. Idempotent per (pid, path). Under -f
 * it attaches for every traced process, with no PID filter (pid is then
 * only the process adopted first). Sets *nprobes to the number of probe names attached. Each attachment's USDT
 * cookie says the form of its sites (enum ms_site_cookie). A fork child
 * that skips its probes (include/memscope.h) is adopted first
 * (probe/sites.h). With verbose, prints each site's form. 0 or -errno. */
int ms_loader_attach_usdt(struct ms_loader *l, pid_t pid, const char *path, int *nprobes);
/* With verbose: print the sites whose bytes in the target changed (the
 * kernel optimized them, ...); with final, a summary per file. */
void ms_loader_check_sites(struct ms_loader *l, int final);
/* Attach the allocator uprobes to the functions `path` defines (none is
 * fine). Idempotent per (pid, path). Sets *nfuncs. 0 or -errno. One
 * uprobe_multi link per BPF program where the kernel has them (see
 * loader.c). */
int ms_loader_attach_alloc(struct ms_loader *l, pid_t pid, const char *path, int *nfuncs);
/* 1 if `path` is a file whose allocator functions are probed (glibc, a
 * preloaded allocator, a static executable). */
int ms_loader_is_allocator(const struct ms_loader *l, const char *path);
/* The registers thread tid had as it entered libc's exit() (only with a
 * hold helper configured). 0, or -ENOENT if it did not. */
int ms_loader_exit_regs(const struct ms_loader *l, pid_t tid, struct ms_exit_regs *out);
/* pid is gone (a followed child exited): forget what was attached for it;
 * its links are destroyed by a thread of the loader's (each takes a
 * kernel grace period). */
void ms_loader_retire_pid(struct ms_loader *l, pid_t pid);
/* Register ld.so's debugger hook (_dl_debug_state) in the dynamic linker
 * `path` for pid (ld.so calls it at start-up and at each dlopen/dlclose
 * only). Per process, never machine-wide: a breakpoint in every process's
 * ld.so would trap programs that read their own code (valgrind runs it as
 * SIGTRAP). Idempotent per process and file. 0 or -errno. */
int ms_loader_attach_ldso(struct ms_loader *l, pid_t pid, const char *path);
/* The file offsets of the allocator probes attached for pid, per file
 * (device and inode): what a forked child inherits. Fills out[max]
 * (pointers valid until the next attach or detach); returns the count. */
struct ms_alloc_sites {
	dev_t dev;
	ino_t ino;
	const uint64_t *offs;
	size_t n;
};
size_t ms_loader_alloc_sites(const struct ms_loader *l, pid_t pid, struct ms_alloc_sites *out,
			     size_t max);
/* The `holds` map (pid -> struct ms_hold): processes BPF stopped. */
int ms_loader_holds_fd(const struct ms_loader *l);

/* pid exec'd: forget which of its strings and probe sites were sent. */
void ms_loader_forget_strings(struct ms_loader *l, pid_t pid);

int ms_loader_ringbuf_fd(const struct ms_loader *l);
/* TRACK_VAR's per-CPU buffers (struct ms_vslot, struct ms_vcpu): returns
 * the slots per CPU (0: not used) and sets the two maps' fds and the CPU
 * count. */
int ms_loader_var_buffers(const struct ms_loader *l, int *slots_fd, int *cpus_fd, int *ncpus);
/* Where walked stacks are: the map's fd, and whether it holds struct
 * ms_ustack values (DWARF walk) or bare frame arrays (the kernel's). */
int ms_loader_stack_map(const struct ms_loader *l, int *dwarf);

/* The DWARF unwinder's maps (all -1 with --unwind fp or no stacks): the
 * rows and pages arrays (mmapable, sized *nrows and *npages entries), the
 * files hash, and the epoch BPF tags its mapping cache with. */
struct ms_unw_maps {
	int rows_fd, pages_fd, files_fd, missing_fd;
	uint32_t nrows, npages;
	volatile uint32_t *epoch;
};
int ms_loader_unwind_maps(const struct ms_loader *l, struct ms_unw_maps *out);
int ms_loader_live_fd(const struct ms_loader *l);
int ms_loader_sites_fd(const struct ms_loader *l);
/* Sum the per-CPU counters into out[MS_STAT_MAX]. 0 or -errno. */
int ms_loader_read_stats(const struct ms_loader *l, uint64_t *out);
/* Turn on the kernel's BPF run-time statistics (run counts and times per
 * program) for as long as the loader lives. They cost every program run
 * two clock reads. 0 or -errno. */
int ms_loader_enable_run_stats(struct ms_loader *l);
/* Per loaded BPF program, its runs (probe hits) and time inside it, both
 * 0 while statistics are off. Fills at most max; returns how many. Names
 * live as long as the loader. */
struct ms_prog_stat {
	const char *name;
	uint64_t runs, run_ns;
	int uprobe; /* runs on uprobe/USDT hits in traced processes (a
		     * tracepoint program runs for every process) */
};
size_t ms_loader_prog_stats(const struct ms_loader *l, struct ms_prog_stat *out, size_t max);

/* Every probe attached so far (also those paused), in id order. */
const struct ms_probe_info *ms_loader_probes(const struct ms_loader *l, size_t *n);
/* Hits of each probe since attach into hits[i] (n = ms_loader_probes'):
 * allocator probes count their hits in BPF; a USDT probe's are its
 * program's runs, known while BPF statistics are on. 0 or -errno. */
int ms_loader_probe_hits(const struct ms_loader *l, uint64_t *hits);
/* Sum of the run time and runs of the programs that run in the target
 * (uprobes, USDT; kernel statistics held on by the loader). 0, or
 * -ENOTSUP if the kernel would not count. */
int ms_loader_bpf_time(const struct ms_loader *l, uint64_t *run_ns, uint64_t *runs);
/* Measure struct ms_trap_cost: attach the empty calibration program to
 * functions of this executable, call them and time it (~0.1 s). The
 * calibration probes stay until ms_loader_destroy (a probe on code
 * nobody calls costs nothing). 0 or -errno. */
int ms_loader_calibrate(struct ms_loader *l, struct ms_trap_cost *out);
/* Budget level for BPF (0: as configured; 1 and up: no user stacks). */
void ms_loader_set_level(struct ms_loader *l, unsigned level);
/* Take the allocator probes off (pause 1) or put them back (0). While
 * paused, newly mapped libraries are remembered, not probed. 0 or -errno. */
int ms_loader_alloc_pause(struct ms_loader *l, int pause);
int ms_loader_alloc_paused(const struct ms_loader *l);

/* Detach everything and free. NULL-safe. */
void ms_loader_destroy(struct ms_loader *l);

#endif
