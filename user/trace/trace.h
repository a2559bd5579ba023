/* SPDX-License-Identifier: BSD-3-Clause */
/* trace.h - one tracing session: validate, start or find the target,
 * load and attach, poll until a stop condition, detach, report. */
#ifndef MS_TRACE_TRACE_H
#define MS_TRACE_TRACE_H

#include <stdint.h>
#include <sys/types.h>
#include "memscope_events.h"

struct ms_opts {
	pid_t pid;          /* -p */
	char **cmd;         /* -- CMD ARGS (NULL-terminated) */
	double duration;    /* -d, 0 = until the target exits or a signal */
	const char *output; /* -o FILE (JSON) */
	const char *html;   /* --html FILE */
	const char *folded; /* --folded FILE (live bytes) */
	const char *folded_alloc; /* --folded-alloc FILE (allocated bytes) */
	const char *timeline; /* --timeline FILE (Chrome trace events) */
	const char *pprof;  /* --pprof FILE (gzip'ed profile.proto) */
	const char *metrics; /* --metrics ADDR:PORT (Prometheus endpoint) */
	unsigned metrics_top; /* --metrics-top N: series per family besides "other" */
	enum ms_mode mode;
	int stack_depth;    /* -1: not given (the session decides) */
	int unwind_fp;      /* --unwind fp: the kernel's frame-pointer walk */
	unsigned unwind_mb; /* --unwind-tables: MiB of unwind tables in BPF */
	int no_debuginfod;  /* --no-debuginfod */
	const char *debuginfod_cache; /* --debuginfod-cache DIR */
	int no_alloc;
	int with_probes;    /* sampled mode: attach the program's own probes too */
	unsigned ring_mb;
	uint32_t max_live;
	int follow;
	int no_hold;        /* --no-hold: never stop a process to attach */
	size_t keep;
	double snapshot_interval;
	double interval;    /* -i: live view every SECONDS, 0 = off */ /* --snapshot-interval, 0 = off */        /* --keep: ended records kept individually */
	int verbose;
	double budget;      /* --budget PCT: 0 = none (-1 while parsing: not given) */
	/* Test-only settings from the environment (README: "Test-only
	 * settings"), validated by the CLI: MEMSCOPE_TEST_THREAD_SLOTS (0 =
	 * unset) and MEMSCOPE_TEST_VAR_SLOTS (-1 = unset). */
	uint32_t test_thread_slots;
	int32_t test_var_slots;
	int leak_check;     /* --leak-check: classify what is live when the trace
			     * stops before the target exits */
	int no_leak_check;  /* --no-leak-check: never hold the target */
	double leak_timeout; /* --leak-check-timeout: longest hold, seconds */
};

/* Runs the session; returns the process exit code (0 = report written). */
int ms_trace_run(const struct ms_opts *o);
/* `memscope-trace leak-check PID`: hold o->pid, walk glibc's heap, classify
 * every block as memcheck does, release, write the reports o asks for
 * (pid, output, html, pprof, folded, leak_timeout, verbose). Returns the
 * exit code: 0, or 1 after a one-line error. */
int ms_heapcheck_run(const struct ms_opts *o);

#endif
