/* SPDX-License-Identifier: BSD-3-Clause */
/* trace.c - one trace run, as its stages:
 *
 *   open target -> load -> attach (and release a held command) -> poll ->
 *   finish (write the reports) -> clean up in reverse order
 *
 * Each stage lives in a file of its own (session.h lists them). A report
 * is written whenever tracing started, whatever stopped it. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "elf/elf_syms.h"
#include "elf/symbolize.h"
#include "probe/consumer.h"
#include "probe/loader.h"
#include "probe/unwind_maps.h"
#include "proc/hold.h"
#include "proc/romaps.h"
#include "proc/spawn.h"
#include "proc/target.h"
#include "registry/registry.h"
#include "trace/metrics_serve.h"
#include "trace/session.h"
#include "trace/trace.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void catch_stop_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Frames per stack when --stack-depth is not given: 16, but under
 * --unwind fp only the first for an executable built without frame
 * pointers (the DWARF walk needs none). The kernel's walk
 * follows %rbp, which such code uses for data: past the first frame it
 * yields addresses that are not the callers, and costs ~6 us per stack on
 * redis-server, more than the rest of full mode's work together. */
static void choose_stack_depth(struct session *s)
{
	s->stack_depth = s->o->stack_depth;
	if (s->stack_depth >= 0)
		return;
	s->stack_depth = 16;
	/* the DWARF walk needs no frame pointers: 1 frame only for the
	 * kernel's walk, which past the call site yields wrong callers */
	if (s->o->mode == MS_MODE_LIGHT || !s->o->unwind_fp ||
	    ms_elf_has_frame_pointers_path(s->exe) != 0)
		return;
	s->stack_depth = 1;
	s->stack_note = "the executable is built without frame pointers: stacks keep the call site "
			"only (a frame-pointer walk past it yields wrong callers and costs ~6 us per "
			"allocation); --stack-depth N walks anyway";
	if (s->o->verbose)
		fprintf(stderr, "memscope-trace: %s: %s\n", s->exe, s->stack_note);
}

/* open -> configure -> load the BPF side; then the registry and the
 * consumer that feeds it. 0 or -errno (message printed). */
static int load(struct session *s)
{
	const struct ms_opts *o = s->o;
	struct ms_loader_cfg cfg = {
		.mode = o->mode,
		.stack_depth = s->stack_depth,
		.unwind_fp = o->unwind_fp,
		.unwind_bytes = (size_t)o->unwind_mb << 20,
		.ring_bytes = (size_t)o->ring_mb << 20,
		.max_live = o->max_live,
		.max_stacks = 16384,
		.max_threads = 65536,
		.from_start = o->cmd != NULL,
		.follow = o->follow,
		.no_alloc = o->no_alloc,
		.samples_only = o->mode == MS_MODE_SAMPLED && !o->with_probes,
		.hold = !o->no_hold,
		.floor = getenv("MEMSCOPE_BENCH_FLOOR") && *getenv("MEMSCOPE_BENCH_FLOOR") == '1',
		.verbose = o->verbose,
		.test_thread_slots = o->test_thread_slots,
		.test_var_slots = o->test_var_slots,
		.hold_tgid = (uint32_t)ms_hold_helper(s->holder),
	};
	struct ms_reg_opts ropts = {
		.from_start = o->cmd != NULL,
		.read_mem = ms_lookup_target_str,
		.read_gone = ms_lookup_gone_str,
		.internal_caller = ms_lookup_internal_caller,
		.keep = o->keep,
		.user = s,
	};
	int err = ms_loader_open(&s->loader, &cfg);

	if (err || (err = ms_session_unwind_open(s)))
		return err;
	s->romaps = ms_romaps_new();
	s->reg = s->romaps ? ms_registry_new(&ropts) : NULL;
	s->cons = s->reg ? ms_consumer_new(s->loader, s->reg, s->stack_depth) : NULL;
	if (!s->cons) {
		err = -errno;
		fprintf(stderr, "memscope-trace: ring buffer: %s\n", strerror(errno));
		return err;
	}
	ms_consumer_set_hook(s->cons, ms_session_on_record, s);
	if (s->metrics)
		return ms_metrics_serve_start(s->metrics, s->loader);
	return 0;
}

/* A command: start it held before exec, attach by path, then let it exec.
 * 0 or -errno (message printed; the held child is gone). */
static int start_cmd(struct session *s, struct ms_child *child)
{
	const struct ms_opts *o = s->o;
	int err = ms_spawn_held(s->exe, o->cmd, child);
	int probes;

	if (err) {
		fprintf(stderr, "memscope-trace: cannot start %s: %s\n", o->cmd[0], strerror(-err));
		return err;
	}
	s->pid = child->pid;
	s->is_child = 1;
	ms_session_unwind_prebuild(s);
	ms_leak_seize(s, s->pid);
	err = ms_loader_add_pid(s->loader, s->pid);
	probes = err ? err : ms_attach_before_exec(s);
	if (probes < 0) {
		fprintf(stderr, "memscope-trace: attach to %s: %s\n", s->exe, strerror(-probes));
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	return probes;
}

/* The target's PID in its own namespace, its cgroup and container. */
static void note_namespaces(struct session *s)
{
	ms_target_ns_info(s->pid, &s->ns_pid, s->cgroup, sizeof(s->cgroup), s->container_id,
			  sizeof(s->container_id));
	ms_target_root(s->pid, s->root, sizeof(s->root));
}

/* A running process: attach to what it maps now. Probe names attached, or
 * -errno (message printed). */
static int attach_pid(struct session *s)
{
	int err, probes;

	s->pid = s->o->pid;
	/* now: once its probes are live it may finish its work and be gone */
	note_namespaces(s);
	err = ms_loader_add_pid(s->loader, s->pid);
	probes = err ? err : ms_attach_mapped(s, 0);
	if (probes < 0) {
		fprintf(stderr, "memscope-trace: attach to PID %d: %s\n", (int)s->pid, strerror(-probes));
		return probes;
	}
	s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	s->sym = ms_symbolizer_new(s->pid);
	return probes;
}

/* CLOCK_REALTIME at the monotonic time mono (profiles carry wall time). */
static uint64_t wall_ns(uint64_t mono)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec - (ms_now_ns() - mono);
}

/* The target's fate, never silent: one line on stderr when it died of a
 * signal or exited non-zero. Returns the exit code a command we started
 * gives memscope-trace, as strace and time do (its status, or 128 + the
 * signal), or 0 (attached with -p, or the target still runs). */
static int target_fate(const struct session *s)
{
	const char *name = strrchr(s->exe, '/') ? strrchr(s->exe, '/') + 1 : s->exe;
	int st = s->status;

	if (!s->exited)
		return 0;
	if (WIFSIGNALED(st)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(st));

		fprintf(stderr, "memscope-trace: %s (PID %d) was killed by signal %d (SIG%s)%s\n",
			name, (int)s->pid, WTERMSIG(st), abbrev ? abbrev : "?",
			WCOREDUMP(st) ? ", core dumped" : "");
		return s->is_child ? 128 + WTERMSIG(st) : 0;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st)) {
		fprintf(stderr, "memscope-trace: %s (PID %d) exited with status %d\n", name, (int)s->pid,
			WEXITSTATUS(st));
		return s->is_child ? WEXITSTATUS(st) : 0;
	}
	return 0;
}

static void warn_no_probes(const struct session *s)
{
	const struct ms_opts *o = s->o;

	fprintf(stderr, "memscope-trace: warning: %s has no memscope probes; tracing %s\n", s->exe,
		o->no_alloc || o->mode == MS_MODE_LIGHT ? "nothing but its lifecycle" : "its allocator only");
}

int ms_trace_run(const struct ms_opts *o)
{
	struct session s = { .o = o, .pidfd = -1, .stop_reason = "target exited" };
	struct ms_child child = { .pid = -1, .release_fd = -1, .status_fd = -1 };
	int err, probes, rc = 1, started = 0, fate;

	if (ms_session_check_privilege())
		return 1;
	if (ms_session_open_outputs(&s) || ms_session_open_metrics(&s) || ms_session_find_target(&s))
		goto cleanup;
	if (o->mode == MS_MODE_SAMPLED && ms_session_sampled_setup(&s))
		goto cleanup;
	catch_stop_signals();
	choose_stack_depth(&s);
	ms_leak_start(&s);
	if (load(&s) || ms_budget_start(&s))
		goto cleanup;
	if (ms_watchdog_start(ms_loader_holds_fd(s.loader)) && o->verbose)
		fprintf(stderr, "memscope-trace: no watchdog: a stopped tracer keeps what it holds\n");
	probes = o->cmd ? start_cmd(&s, &child) : attach_pid(&s);
	if (probes < 0)
		goto cleanup;
	if (probes == 0)
		warn_no_probes(&s);
	if (o->cmd)
		note_namespaces(&s); /* held before its exec until released below */
	s.start_ns = ms_now_ns();
	s.start_wall_ns = wall_ns(s.start_ns);
	ms_budget_begin(&s, s.start_ns);
	started = 1;
	if (o->cmd) {
		err = ms_spawn_release(&child);
		if (err) {
			fprintf(stderr, "memscope-trace: cannot execute %s: %s\n", o->cmd[0], strerror(-err));
			waitpid(s.pid, NULL, 0);
			started = 0;
			goto cleanup;
		}
		s.sym = ms_symbolizer_new(s.pid);
	}
	ms_session_poll(&s, &stop_signal);
	rc = ms_session_write_reports(&s) ? 1 : 0;
	started = 0;
	fate = target_fate(&s);
	if (fate)
		rc = fate;
cleanup:
	if (started && s.reg) {
		s.end_ns = ms_now_ns();
		ms_session_write_reports(&s);
	}
	ms_leak_stop(&s);
	if (child.release_fd >= 0)
		close(child.release_fd);
	if (child.status_fd >= 0)
		close(child.status_fd);
	if (s.pidfd >= 0)
		close(s.pidfd);
	ms_metrics_serve_close(s.metrics);
	/* nothing stays stopped for a tracer that is gone */
	if (s.loader)
		ms_attach_release_all(&s, 1);
	ms_consumer_free(s.cons);
	ms_budget_free(&s);
	ms_unwinder_free(s.unw);
	ms_loader_destroy(s.loader);
	free(s.kids);
	while (s.nalloc_mods)
		free(s.alloc_mods[--s.nalloc_mods]);
	free(s.vmas);
	ms_symbolizer_free(s.sym);
	ms_registry_free(s.reg);
	ms_romaps_free(s.romaps);
	ms_session_close_outputs(&s);
	return rc;
}
