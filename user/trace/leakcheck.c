/* SPDX-License-Identifier: BSD-3-Clause */
/* leakcheck.c - the leak check in a trace run. The helper (proc/hold.c)
 * holds the target at its exit, on a fatal signal, or when asked at the end
 * (--leak-check); then, with nothing of the target running:
 *
 *   drain the ring (every record of the target is in it) -> the registry's
 *   live blocks become a graph (registry/reach.h) -> the target's memory is
 *   read into it (proc/leakscan.h) -> memcheck's heuristics look at the
 *   blocks interior pointers point into -> release -> walk the graph and
 *   give every live block its class.
 *
 * The hold lasts from the first thread's stop to the release; the walk
 * runs after it. The outcome, good or not, is recorded in the registry
 * (ms_registry_leak_check) for the reports. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe/bpfmaps.h"
#include "probe/consumer.h"
#include "probe/loader.h"
#include "proc/hold.h"
#include "proc/leakscan.h"
#include "registry/reach.h"
#include "registry/registry.h"
#include "trace/session.h"

uint64_t ms_leak_timeout_ns(const struct session *s)
{
	return (uint64_t)(s->o->leak_timeout * 1e9);
}

void ms_leak_seize(struct session *s, pid_t pid)
{
	char why[160];
	int err;

	if (!s->holder)
		return;
	err = ms_hold_seize(s->holder, pid, why, sizeof(why));
	if (!err)
		return;
	if (err == -EBUSY)
		snprintf(s->lc_note, sizeof(s->lc_note),
			 "PID %d is %s: leaks are not classified (memscope's hold and a debugger both "
			 "need ptrace; detach the debugger, or use --no-leak-check)", (int)pid, why);
	else
		snprintf(s->lc_note, sizeof(s->lc_note), "cannot hold PID %d: %s: leaks are not classified",
			 (int)pid, why);
	fprintf(stderr, "memscope-trace: warning: %s\n", s->lc_note);
	ms_hold_free(s->holder);
	s->holder = NULL;
}

void ms_leak_start(struct session *s)
{
	const struct ms_opts *o = s->o;
	int err;

	/* only the modes that know the live set have leaks to classify */
	if (o->no_leak_check || o->no_alloc || (o->mode != MS_MODE_FULL && o->mode != MS_MODE_FAST))
		return;
	err = ms_hold_new(&s->holder, ms_leak_timeout_ns(s));
	if (err) {
		snprintf(s->lc_note, sizeof(s->lc_note), "cannot start the leak check's helper: %s",
			 strerror(-err));
		fprintf(stderr, "memscope-trace: warning: %s\n", s->lc_note);
		s->holder = NULL;
		return;
	}
	if (!o->cmd)
		ms_leak_seize(s, o->pid);
}

void ms_leak_stop(struct session *s)
{
	ms_hold_free(s->holder);
	s->holder = NULL;
}

/* ---- the reach graph is fed by the scan ---------------------------------- */

static int sink_memory(void *user, uint64_t addr, const void *buf, size_t len, int words)
{
	return ms_reach_scan(user, addr, buf, len, words == MS_SCAN_ROOTS ? MS_WORDS_ROOTS : MS_WORDS_HEAP);
}

static void sink_unreadable(void *user, uint64_t addr, uint64_t len)
{
	ms_reach_unreadable(user, addr, len);
}

static int sink_reg(void *user, uint64_t value)
{
	return ms_reach_register(user, value);
}

static void io_words(void *user, const uint64_t *addrs, uint64_t *vals, uint8_t *ok, size_t n)
{
	ms_leakscan_read_words(user, addrs, vals, ok, n);
}

static int io_vtable(void *user, uint64_t addr)
{
	return ms_leakscan_is_vtable(user, addr);
}

/* The graph over pid's live blocks (ref = registry index), and the same
 * blocks sorted for the scan. */
static struct ms_reach *graph(struct ms_registry *reg, pid_t pid, struct ms_scan_block **sorted,
			      size_t *nsorted)
{
	size_t nb, i, k = 0;
	const struct ms_block *b = ms_registry_blocks(reg, &nb);
	struct ms_reach_block *rb = malloc((nb ? nb : 1) * sizeof(*rb));
	struct ms_scan_block *sb;
	struct ms_reach *g;

	*sorted = NULL;
	if (!rb)
		return NULL;
	for (i = 0; i < nb; i++)
		if (b[i].used && b[i].pid == (uint32_t)pid)
			rb[k++] = (struct ms_reach_block){ b[i].addr, b[i].size, i };
	g = ms_reach_new(rb, k);
	free(rb);
	if (!g)
		return NULL;
	k = ms_reach_sorted(g);
	sb = malloc((k ? k : 1) * sizeof(*sb));
	if (!sb) {
		ms_reach_free(g);
		return NULL;
	}
	for (i = 0; i < k; i++)
		sb[i] = (struct ms_scan_block){ ms_reach_block_at(g, i)->addr, ms_reach_block_at(g, i)->size };
	*sorted = sb;
	*nsorted = k;
	return g;
}

static const char *when_name(int reason)
{
	switch (reason) {
	case MS_HOLD_AT_EXIT: return "exit";
	case MS_HOLD_EXIT_LATE: return "exit_group";
	case MS_HOLD_SIGNAL: return "signal";
	default: return "request";
	}
}

/* Read the held target into g; 0 or -errno. */
static int scan(const struct ms_lc_job *j, const struct ms_hold_state *hs, struct ms_reach *g,
		const struct ms_scan_block *blocks, size_t nblocks, int attached,
		struct ms_leakscan_result *res)
{
	struct ms_leakscan_opts o = {
		.pid = j->pid, .tid = hs->tid ? hs->tid : j->pid,
		.threads = hs->threads, .nthreads = hs->nthreads,
		.blocks = blocks, .nblocks = nblocks,
		.unknown_heap_is_root = attached,
		.deadline_ns = hs->since_ns + j->timeout_ns,
	};
	struct ms_scan_sink sink = { sink_memory, sink_unreadable, sink_reg, g };
	struct ms_leakscan *sc = NULL;
	struct ms_reach_io io = { io_words, io_vtable, NULL };
	uint64_t *heap = NULL;
	size_t nheap = 0;
	int err = 0;

	if (j->exit_valid && hs->reason == MS_HOLD_AT_EXIT) {
		o.exit_tid = hs->tid;
		o.exit_sp = j->exit_sp;
		memcpy(o.exit_regs, j->exit_regs, sizeof(o.exit_regs));
	}
	if (j->heap_addrs) {
		o.heap_addrs = j->heap_addrs;
		o.nheap = j->nheap;
	} else {
		err = ms_registry_heap_addrs(j->reg, (uint32_t)j->pid, &heap, &nheap);
		o.heap_addrs = heap;
		o.nheap = nheap;
	}
	if (!err)
		err = ms_leakscan_open(&sc, &o);
	if (!err)
		err = ms_leakscan_run(sc, &sink, res);
	if (!err) {
		io.user = sc;
		err = ms_reach_heuristics(g, &io);
	}
	ms_leakscan_close(sc);
	free(heap);
	return err;
}

void ms_leak_check_held(const struct ms_lc_job *j, const struct ms_hold_state *hs)
{
	struct ms_leak_check lc = { .status = MS_LC_FAILED, .pid = (uint32_t)j->pid, .sig = hs->sig };
	struct ms_leakscan_result res = { 0 };
	struct ms_scan_block *sorted = NULL;
	struct ms_reach_stats st;
	struct ms_reach *g;
	uint64_t t0, t1, t2;
	size_t nsorted = 0, i;
	int err = -ENOMEM, rel, killed, gave_up;

	snprintf(lc.when, sizeof(lc.when), "%s", when_name(hs->reason));
	lc.attached = j->attached;
	t0 = ms_now_ns();
	g = graph(j->reg, j->pid, &sorted, &nsorted);
	if (g)
		err = scan(j, hs, g, sorted, nsorted, lc.attached, &res);
	t1 = ms_now_ns();
	rel = ms_hold_release(j->holder);
	t2 = ms_now_ns();
	lc.hold_ns = t2 - hs->since_ns;
	lc.scan_ns = t1 - t0;
	lc.read_bytes = res.read_bytes;
	lc.root_bytes = res.root_bytes;
	lc.heap_bytes = res.heap_bytes;
	lc.unreadable_bytes = res.unreadable_bytes;
	lc.syscalls = res.syscalls;
	lc.threads = res.threads;
	killed = ms_hold_killed(j->holder);
	gave_up = ms_hold_timed_out(j->holder);
	if (gave_up == 2) {
		lc.status = MS_LC_TIMEOUT;
		snprintf(lc.note, sizeof(lc.note), "memscope-trace was stopped while the target was held: "
			 "released unscanned");
	} else if (!killed && (gave_up || err == -ETIMEDOUT || rel == 0)) {
		lc.status = MS_LC_TIMEOUT;
		snprintf(lc.note, sizeof(lc.note),
			 "held %.3f s, past --leak-check-timeout %.3f s: released unscanned",
			 lc.hold_ns / 1e9, j->timeout_ns / 1e9);
	} else if (err && (killed || err == -ESRCH || rel == -ESRCH)) {
		lc.status = MS_LC_KILLED;
		snprintf(lc.note, sizeof(lc.note), "the target was killed while held, before its memory "
			 "was read: not classified");
	} else if (err || (rel < 0 && !killed)) {
		snprintf(lc.note, sizeof(lc.note), "reading the target's memory: %s",
			 strerror(-(err ? err : rel)));
	} else if (ms_reach_classify(g)) {
		snprintf(lc.note, sizeof(lc.note), "classifying: out of memory");
	} else {
		for (i = 0; i < ms_reach_count(g); i++) {
			const struct ms_reach_block *b = ms_reach_block_at(g, i);

			ms_registry_set_reach(j->reg, b->ref, ms_reach_class(g, i), ms_reach_heur(g, i),
					      ms_reach_indirect_bytes(g, i));
		}
		ms_reach_stats(g, &st);
		lc.blocks = ms_reach_count(g);
		lc.edges = st.edges;
		lc.classify_ns = ms_now_ns() - t2;
		lc.status = MS_LC_DONE;
		lc.classified = 1;
		if (killed && hs->reason == MS_HOLD_EXIT_LATE) {
			/* SIGKILL: the thread that took it stopped in the kernel's
			 * exit path, memory intact; the others died at once */
			lc.status = MS_LC_KILLED;
			snprintf(lc.note, sizeof(lc.note), "the target was killed (SIGKILL); held in the "
				 "kernel's exit path, memory intact: the classes hold (other threads' "
				 "registers were gone, their stacks were scanned whole)");
		} else if (killed) {
			/* it went from its stops into the kernel's exit path, where
			 * it stopped again: nothing it had moved */
			lc.status = MS_LC_KILLED;
			snprintf(lc.note, sizeof(lc.note), "the target was killed while held; it stood still "
				 "until its memory was read: the classes hold");
		} else if (hs->reason == MS_HOLD_EXIT_LATE) {
			snprintf(lc.note, sizeof(lc.note),
				 "held in exit_group(): the other threads' registers were gone; their "
				 "stacks were scanned whole");
		} else if (lc.attached && j->attached_note) {
			snprintf(lc.note, sizeof(lc.note), "%s", j->attached_note);
		}
	}
	if (j->note && !lc.note[0] && lc.status == MS_LC_DONE)
		snprintf(lc.note, sizeof(lc.note), "%s", j->note);
	ms_registry_set_leak_check(j->reg, &lc);
	if (j->verbose)
		fprintf(stderr, "memscope-trace: leak check at %s: %s, held %.3f ms (scan %.3f ms, %llu "
			"bytes in %llu reads), %zu threads\n", lc.when,
			lc.status == MS_LC_DONE ? "done" : lc.note, lc.hold_ns / 1e6, lc.scan_ns / 1e6,
			(unsigned long long)res.read_bytes, (unsigned long long)res.syscalls, res.threads);
	ms_reach_free(g);
	free(sorted);
}

static void leak_check(struct session *s, const struct ms_hold_state *hs)
{
	uint64_t stats[MS_STAT_MAX] = { 0 };
	struct ms_lc_job j = {
		.reg = s->reg, .holder = s->holder, .pid = s->pid,
		.timeout_ns = ms_leak_timeout_ns(s),
		.verbose = s->o->verbose,
	};
	struct ms_exit_regs x;

	/* everything the target did before it stopped is in the ring */
	ms_consumer_drain(s->cons);
	if (s->o->mode == MS_MODE_FAST)
		ms_bpfmaps_read_fast(s->loader, s->reg, s->stack_depth);
	/* blocks from before the attach, or whose records were dropped, are
	 * unknown: heap memory outside the known ones counts as roots */
	ms_loader_read_stats(s->loader, stats);
	j.attached = !s->is_child || stats[MS_STAT_DROPPED] > 0;
	j.attached_note = s->is_child ? "events were dropped: heap memory outside the blocks known "
					"counts as roots (fewer leaks found, none invented)" :
					"attached to a running process (its older blocks are unknown): "
					"heap memory outside the blocks known counts as roots (fewer "
					"leaks found, none invented)";
	if (hs->reason == MS_HOLD_AT_EXIT && !ms_loader_exit_regs(s->loader, hs->tid, &x)) {
		j.exit_valid = 1;
		j.exit_sp = x.sp;
		j.exit_regs[0] = x.bx;
		j.exit_regs[1] = x.bp;
		j.exit_regs[2] = x.r12;
		j.exit_regs[3] = x.r13;
		j.exit_regs[4] = x.r14;
		j.exit_regs[5] = x.r15;
	}
	ms_leak_check_held(&j, hs);
}

void ms_leak_poll(struct session *s)
{
	struct ms_hold_state hs;

	if (s->holder && ms_hold_poll(s->holder, &hs) == 1)
		leak_check(s, &hs);
}

void ms_leak_end(struct session *s)
{
	struct ms_leak_check lc = { .status = MS_LC_UNAVAILABLE, .pid = (uint32_t)s->pid };
	struct ms_hold_state hs;
	int r;

	if (s->lc_note[0]) {
		snprintf(lc.note, sizeof(lc.note), "%s", s->lc_note);
		ms_registry_set_leak_check(s->reg, &lc);
		return;
	}
	if (!s->holder)
		return;
	r = ms_hold_poll(s->holder, &hs);
	if (r == 0 && s->o->leak_check && !s->exited)
		r = ms_hold_request(s->holder, ms_leak_timeout_ns(s), &hs);
	if (r == 1) {
		leak_check(s, &hs);
		return;
	}
	if (ms_registry_leak_check(s->reg)->status != MS_LC_OFF)
		return;
	if (ms_hold_timed_out(s->holder) == 2) {
		/* held while this process was stopped: the helper let go */
		lc.status = MS_LC_TIMEOUT;
		snprintf(lc.note, sizeof(lc.note), "memscope-trace was stopped while the target was held: "
			 "released unscanned");
	} else if (ms_hold_timed_out(s->holder)) {
		lc.status = MS_LC_TIMEOUT;
		snprintf(lc.note, sizeof(lc.note), "held past --leak-check-timeout %.3f s: released "
			 "unscanned", s->o->leak_timeout);
	} else if (s->o->leak_check && !s->exited && r == 0) {
		lc.status = MS_LC_TIMEOUT;
		snprintf(lc.note, sizeof(lc.note), "the target's threads did not all stop within "
			 "--leak-check-timeout %.3f s: released unscanned", s->o->leak_timeout);
	} else if (s->exited && (s->status & 0x7f) == SIGKILL) {
		lc.status = MS_LC_KILLED;
		snprintf(lc.note, sizeof(lc.note), "the target was killed by SIGKILL: its memory was "
			 "gone before anyone could read it");
	} else if (s->exited) {
		lc.status = MS_LC_FAILED;
		snprintf(lc.note, sizeof(lc.note), "the target exited without being held (its exit "
			 "did not pass through a probed _exit or a ptrace stop)");
	} else {
		return; /* runs on, no --leak-check: live blocks stay unclassified */
	}
	ms_registry_set_leak_check(s->reg, &lc);
}
