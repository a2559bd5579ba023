/* SPDX-License-Identifier: BSD-3-Clause */
/* poll.c - the trace runs here: drain the ring buffer and the TRACK_VAR
 * buffers every POLL_MS, and between drains do what time asks for - look
 * for new libraries and stacks to symbolize, snapshots, the live view -
 * until the target exits, --duration passes or a signal comes. Then drain
 * what the target produced up to that moment: the report is built from it. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "elf/symbolize.h"
#include "probe/bpfmaps.h"
#include "probe/consumer.h"
#include "proc/procmaps.h"
#include "registry/registry.h"
#include "report/report.h"
#include "report/report_live.h"
#include "trace/metrics_serve.h"
#include "trace/session.h"

#define POLL_MS 5          /* drain period: records wait at most this long */
#define RESCAN_MS 100      /* look for newly mapped libraries */
#define SYM_MS 20          /* symbolizer refresh for new stacks, at most every */
#define STATUS_MS 500      /* terminal status line period */

/* When each periodic job last ran. */
struct ticks {
	uint64_t deadline, scan, sym, snap, live, status;
	uint64_t nstacks, live_allocs;
	uint64_t maps_digest; /* of the target's and its children's file mappings */
	int status_line; /* stderr is a terminal */
};

uint64_t ms_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int due(uint64_t now, uint64_t last, double secs)
{
	return now - last >= (uint64_t)(secs * 1e9);
}

/* The target's file mappings and its followed children's, as one digest. */
static uint64_t maps_digest(const struct session *s)
{
	uint64_t d = ms_maps_digest(s->pid);

	for (size_t i = 0; d && i < s->nkids; i++)
		d = d * 31 + ms_maps_digest(s->kids[i]);
	return d;
}

static void symbolizer_refresh(struct session *s)
{
	if (s->sym)
		ms_symbolizer_refresh(s->sym);
	else
		s->sym = ms_symbolizer_new(s->pid);
}

static void check_exit(struct session *s)
{
	int st;

	if (s->exited)
		return;
	if (s->is_child) {
		pid_t r = waitpid(s->pid, &st, WNOHANG);

		if (r == s->pid && (WIFEXITED(st) || WIFSIGNALED(st))) {
			s->exited = 1;
			s->status = st;
		}
		return;
	}
	if (s->pidfd >= 0) {
		struct pollfd p = { .fd = s->pidfd, .events = POLLIN };

		if (poll(&p, 1, 0) == 1)
			s->exited = 1;
	} else if (kill(s->pid, 0) && errno == ESRCH) {
		s->exited = 1;
	}
	if (s->exited) {
		const struct ms_summary *sum;

		/* BPF wrote the exit record before the pidfd turned readable,
		 * but the last poll may have returned before it: read the ring
		 * out first, or a target killed by a signal reads as exit 0 */
		ms_consumer_drain(s->cons);
		sum = ms_registry_summary(s->reg);
		s->status = sum->proc_exited ? sum->exit_code : 0;
	}
}

/* The live view (-i), or a status line rewritten in place on a terminal. */
static void live_view(struct session *s, struct ticks *k, uint64_t t)
{
	const struct ms_opts *o = s->o;
	struct ms_report_ctx c;

	if (o->interval > 0 && due(t, k->live, o->interval)) {
		s->end_ns = t;
		ms_session_report_ctx(s, &c);
		if (k->live)
			ms_report_live(stderr, &c, k->live_allocs, (t - k->live) / 1e9);
		k->live_allocs = ms_registry_summary(s->reg)->allocs;
		k->live = t;
	} else if (k->status_line && due(t, k->status, STATUS_MS / 1e3)) {
		s->end_ns = t;
		ms_session_report_ctx(s, &c);
		ms_report_status(stderr, &c);
		k->status = t;
	}
}

/* --metrics: a scrape waits for text rendered from the registry now. */
static void metrics(struct session *s, uint64_t t)
{
	struct ms_report_ctx c;

	if (!ms_metrics_serve_wanted(s->metrics))
		return;
	if (s->o->mode == MS_MODE_FAST) /* its counters live in BPF maps */
		ms_bpfmaps_read_fast(s->loader, s->reg, s->stack_depth);
	s->end_ns = t;
	ms_session_report_ctx(s, &c);
	ms_metrics_serve_render(s->metrics, &c);
}

/* One turn between drains; 1 when the trace must stop. */
static int tick(struct session *s, struct ticks *k, uint64_t t)
{
	const struct ms_opts *o = s->o;

	/* New stacks may point into libraries loaded since the last look:
	 * map them now, while the target is alive to ask. */
	if (ms_consumer_stacks(s->cons) != k->nstacks && due(t, k->sym, SYM_MS / 1e3)) {
		k->nstacks = ms_consumer_stacks(s->cons);
		k->sym = t;
		symbolizer_refresh(s);
	}
	/* processes BPF stopped whose record was dropped or not yet seen */
	ms_attach_release_all(s, 0);
	check_exit(s);
	if (s->exited)
		return 1;
	ms_budget_tick(s, t);
	if (o->snapshot_interval > 0 && due(t, k->snap, o->snapshot_interval)) {
		if (k->snap) {
			if (o->mode == MS_MODE_FAST)
				ms_bpfmaps_read_fast(s->loader, s->reg, s->stack_depth);
			ms_registry_snapshot(s->reg, t, NULL);
		}
		k->snap = t;
	}
	live_view(s, k, t);
	metrics(s, t);
	if (k->deadline && t >= k->deadline) {
		s->stop_reason = "duration";
		return 1;
	}
	if (s->rescan_now || due(t, k->scan, RESCAN_MS / 1e3)) {
		uint64_t d = maps_digest(s);

		k->scan = t;
		/* Unchanged mappings have nothing new to attach or name: a
		 * rescan parses every module's ELF headers (mmap and munmap,
		 * each munmap a TLB shootdown), 6% of a CPU on an idle redis */
		if (s->rescan_now || !d || d != k->maps_digest) {
			ms_attach_mapped(s, 1);
			symbolizer_refresh(s);
		}
		s->rescan_now = 0;
		k->maps_digest = d;
		if (o->verbose)
			ms_loader_check_sites(s->loader, 0);
	}
	return 0;
}

void ms_session_poll(struct session *s, volatile const sig_atomic_t *stop_signal)
{
	const struct ms_opts *o = s->o;
	struct ticks k = { .status_line = isatty(STDERR_FILENO) };
	int err;

	if (o->duration > 0)
		k.deadline = s->start_ns + (uint64_t)(o->duration * 1e9);
	while (!*stop_signal) {
		err = ms_consumer_poll(s->cons, POLL_MS);
		if (err < 0) {
			fprintf(stderr, "memscope-trace: ring buffer: %s\n", strerror(-err));
			break;
		}
		ms_leak_poll(s);
		if (tick(s, &k, ms_now_ns()))
			break;
	}
	if (*stop_signal)
		s->stop_reason = "signal";
	/* -v: what the kernel made of each probe site, read before detaching */
	if (o->verbose && !s->exited)
		ms_loader_check_sites(s->loader, 1);
	if (k.status_line && k.status)
		fputs("\r\033[K", stderr);
	ms_leak_end(s);
	/* The probes come off at cleanup; the target runs on untraced. */
	ms_consumer_drain(s->cons);
	if (!s->exited && s->sym)
		ms_symbolizer_refresh(s->sym);
	/* fast mode: BPF's live set, unless the leak check read and classified
	 * it as the target exited (a new read would drop the classes) */
	if (o->mode == MS_MODE_FAST && !(s->exited && ms_registry_leak_check(s->reg)->classified))
		ms_bpfmaps_read_fast(s->loader, s->reg, s->stack_depth);
	s->end_ns = ms_now_ns();
	ms_budget_finish(s, s->end_ns);
}
