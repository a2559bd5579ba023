/* SPDX-License-Identifier: BSD-3-Clause */
/* session.h - the state of one trace run, shared by the files of trace/,
 * one per stage of ms_trace_run (trace.c):
 *
 *   open.c     check privilege, open the output files, find the target
 *   sampled.c  sampled mode: the sampling library in the target
 *   attach.c   attach probes: before exec, to what is mapped, to children
 *   poll.c     drain records, watch the target, periodic work, until a stop
 *   exit_maps.c  the target's mappings as it exits, for its stacks
 *   lookups.c  what the registry asks of the target (strings, callers)
 *   unwind.c   the DWARF unwind tables BPF walks stacks with
 *   finish.c   the report writers
 *
 * Nothing outside trace/ sees struct session. */
#ifndef MS_TRACE_SESSION_H
#define MS_TRACE_SESSION_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "memscope_events.h"
#include "report/frame.h"
#include "trace/trace.h"

struct ms_loader;
struct ms_registry;
struct ms_consumer;
struct ms_symbolizer;
struct ms_module;
struct ms_report_ctx;
struct ms_metrics_serve;
struct ms_romaps;
struct ms_report_cost;
struct ms_budget;
struct ms_report_unwind;
struct ms_unwinder;
struct ms_holder;
struct ms_hold_state;

/* The report writers, in the order they are written (finish.c). */
enum ms_output {
	MS_OUT_JSON = 0, /* -o; without it a text summary goes to stdout */
	MS_OUT_HTML,
	MS_OUT_TIMELINE,
	MS_OUT_FOLDED,
	MS_OUT_FOLDED_ALLOC,
	MS_OUT_PPROF,
	MS_OUT_MAX,
};

#define MS_MAX_ALLOC_MODS 16 /* allocator libraries remembered */
#define MS_MAX_VMAS 4096     /* executable mappings kept (a process has tens) */

struct session {
	const struct ms_opts *o;
	pid_t pid;
	int is_child; /* started by us (-- CMD): traced from its first instruction */
	int pidfd;
	char exe[4096];
	struct ms_loader *loader;
	struct ms_registry *reg;
	struct ms_consumer *cons;
	struct ms_symbolizer *sym;
	struct ms_unwinder *unw; /* NULL: no DWARF stacks (--unwind fp, no stacks) */
	struct ms_romaps *romaps; /* where each process maps its files read-only */
	FILE *out[MS_OUT_MAX]; /* open output files, NULL where not asked for */
	int exited;
	int status;
	const char *stop_reason;
	uint64_t start_ns, end_ns;
	uint64_t start_wall_ns; /* CLOCK_REALTIME at start_ns */
	uint64_t sample_interval;
	struct ms_metrics_serve *metrics; /* --metrics, NULL without */
	pid_t *kids; /* followed children alive (-f) */
	size_t nkids, capkids;
	uint64_t holds, hold_total_ns, hold_max_ns; /* processes held and released */
	int ns_pid;            /* the target's PID in its own PID namespace */
	char cgroup[512];      /* its cgroup (v2 path), "" if unknown */
	char container_id[80]; /* the container's id when the cgroup names one */
	char root[4096];       /* its root directory as we see it ("/" or "" on the host) */
	int rescan_now;
	char *alloc_mods[MS_MAX_ALLOC_MODS]; /* probed allocator libraries, as maps names them */
	size_t nalloc_mods;
	struct ms_ev_vma *vmas; /* the target's mappings as it exits, so far */
	size_t nvmas;
	struct ms_budget *budget; /* cost estimate and --budget (budget.c) */
	int stack_depth;          /* frames captured (--stack-depth, or chosen) */
	const char *stack_note;   /* why fewer frames than asked, or NULL */
	struct ms_holder *holder; /* leak check: holds the target (proc/hold.h) */
	char lc_note[512];      /* why the leak check cannot run, when it cannot */
	const char *mode_label; /* the report's mode when not a trace's (heapcheck.c) */
};

uint64_t ms_now_ns(void);

/* watchdog.c: a process of its own that continues what BPF held when the
 * tracer does not (stopped, stuck, gone); it ends when the tracer does.
 * Start it after load, before any attach. 0 or -errno. */
int ms_watchdog_start(int holds_fd);

/* open.c: before anything is loaded. Each returns 0 or -errno and has
 * printed the one-line error. */
int ms_session_check_privilege(void);
int ms_session_open_outputs(struct session *s);
/* --metrics: bind its address (the server starts once the BPF side is
 * loaded, trace.c). */
int ms_session_open_metrics(struct session *s);
int ms_session_find_target(struct session *s);

/* sampled.c: LD_PRELOAD for a command, or check a running process; sets
 * s->sample_interval. 0 or -errno (message printed). */
int ms_session_sampled_setup(struct session *s);

/* attach.c */
/* Attach by path before the command's exec (nothing is mapped yet).
 * Returns the number of probe names attached, or -errno. */
int ms_attach_before_exec(struct session *s);
/* Attach to every module the target (and followed children) map now.
 * Returns probe names attached in the target, or -errno. */
int ms_attach_mapped(struct session *s, int quiet);
/* Lifecycle records, seen as they are drained (consumer hook). */
void ms_session_on_record(void *user, const struct ms_hdr *h);
/* Attach and continue every process BPF holds (a record of it may have been
 * dropped); only_continue: the trace ends, just let them go. */
void ms_attach_release_all(struct session *s, int only_continue);

/* exit_maps.c: an MS_EV_VMA record; the set's last one symbolizes. */
void ms_exit_maps_record(struct session *s, const struct ms_hdr *h);

/* lookups.c: the registry's and the writers' callbacks (user = session). */
int ms_lookup_resolve(void *user, uint32_t pid, uint64_t ip, struct ms_frame *out);
int ms_lookup_resolve_inline(void *user, uint32_t pid, uint64_t ip, struct ms_frame *out, int max);
ssize_t ms_lookup_gone_str(void *user, uint32_t pid, uint64_t addr, void *buf, size_t len);
ssize_t ms_lookup_target_str(void *user, uint32_t pid, uint64_t addr, void *buf, size_t len);
int ms_lookup_internal_caller(void *user, uint32_t pid, uint64_t caller, int freed_before);
/* Remember a library of pid whose allocator is probed (vmas_apply looks
 * for exited targets' files next to them). */
void ms_lookup_note_alloc_module(struct session *s, pid_t pid, const struct ms_module *m);

/* unwind.c: the tables (after load; 0 or -errno, message printed), the
 * files a command will map built before it runs, and the report's
 * summary of them. */
int ms_session_unwind_open(struct session *s);
void ms_session_unwind_prebuild(struct session *s);
void ms_session_unwind_report(const struct session *s, struct ms_report_unwind *u);

/* poll.c: until the target exits, --duration, or *stop_signal. */
void ms_session_poll(struct session *s, volatile const sig_atomic_t *stop_signal);

/* budget.c: what the probes cost the target, and --budget. start after
 * load (measures the trap cost; 0 or -ENOMEM), begin when the target runs
 * traced, tick every poll turn (acts once a second), finish when tracing
 * stops (-v prints the cost per probe). */
int ms_budget_start(struct session *s);
void ms_budget_begin(struct session *s, uint64_t now);
void ms_budget_tick(struct session *s, uint64_t now);
void ms_budget_finish(struct session *s, uint64_t now);
/* For the report context; NULL if the cost could not be measured. */
const struct ms_report_cost *ms_budget_report(struct session *s);
void ms_budget_free(struct session *s);
/* leakcheck.c: memcheck's leak kinds for the blocks live when the target
 * is held - at its exit, on a fatal signal, or at the end (--leak-check). */
/* Before load: fork the holding helper (its pid goes to BPF); -p: seize. */
void ms_leak_start(struct session *s);
/* A command, held before exec: seize it. */
void ms_leak_seize(struct session *s, pid_t pid);
/* In the poll loop: serve a hold the helper reports. */
void ms_leak_poll(struct session *s);
/* After the loop: a hold not served yet, --leak-check of a target that runs
 * on, or why nothing was classified. */
void ms_leak_end(struct session *s);
/* Cleanup: the helper exits; the kernel lets go what it traced. */
void ms_leak_stop(struct session *s);
/* --leak-check-timeout in ns: the longest hold. */
uint64_t ms_leak_timeout_ns(const struct session *s);
/* The leak check of a held target, whoever holds it: a trace run
 * (leak_check above) or `memscope-trace leak-check PID` (heapcheck.c). */
struct ms_lc_job {
	struct ms_registry *reg;  /* the live blocks; gets their classes and the outcome */
	struct ms_holder *holder; /* holds pid; released here */
	pid_t pid;
	uint64_t timeout_ns;      /* longest hold */
	int attached;             /* older blocks unknown: unknown heap counts as roots */
	const char *attached_note; /* what the report says of it */
	const char *note;         /* said when the check is done and nothing else is */
	/* the allocator's addresses (sorted); NULL: the registry's */
	const uint64_t *heap_addrs;
	size_t nheap;
	int exit_valid;           /* held at _exit: its stack pointer and callee-saved registers */
	uint64_t exit_sp, exit_regs[6];
	int verbose;
};
/* Scan the held target, release it, classify: the outcome goes into
 * j->reg (ms_registry_set_leak_check), good or not. */
void ms_leak_check_held(const struct ms_lc_job *j, const struct ms_hold_state *hs);

/* finish.c */
/* The file asked for output i, or NULL. */
const char *ms_output_path(const struct ms_opts *o, enum ms_output i);
void ms_session_report_ctx(struct session *s, struct ms_report_ctx *c);
/* Settle, fold and write every report asked for. 0, or -EIO (printed). */
int ms_session_write_reports(struct session *s);
void ms_session_close_outputs(struct session *s);

#endif /* MS_TRACE_SESSION_H */
