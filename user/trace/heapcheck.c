/* SPDX-License-Identifier: BSD-3-Clause */
/* heapcheck.c - `memscope-trace leak-check PID`: memcheck's classes for
 * every block a running process holds, with no trace before it and no BPF.
 *
 *   find the target and its libc -> glibc's malloc layout from libc's
 *   debug info (elf/glibc_malloc.h) -> hold it (proc/hold.h) -> walk its
 *   heap (proc/glibc_heap.h): every block in use, however old -> the same
 *   scan and classification as a trace's leak check (leakcheck.c) ->
 *   release -> the reports.
 *
 * Only glibc's heap can be walked this way: a process whose malloc is
 * another library's is refused, with the command that works (a trace with
 * --leak-check knows the blocks allocated while it ran). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "elf/elf_syms.h"
#include "elf/glibc_malloc.h"
#include "proc/glibc_heap.h"
#include "proc/hold.h"
#include "proc/procmaps.h"
#include "registry/registry.h"
#include "trace/session.h"

#define WALK_TRIES 50

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* libc's load bias and a path to open it; refuse a process whose malloc
 * comes from another library (the sampling library forwards to glibc's). */
static int find_libc(pid_t pid, uint64_t *bias, char *path, size_t len)
{
	struct ms_maps m = { 0 };
	const struct ms_module *libc = NULL;
	int err = ms_maps_read(pid, &m);
	size_t i;

	if (err) {
		fprintf(stderr, "memscope-trace: leak-check: cannot read the mappings of PID %d: %s\n",
			(int)pid, strerror(-err));
		return err;
	}
	for (i = 0; i < m.n && !err; i++) {
		const char *b = base(m.mods[i].path);
		struct ms_elf_func f;

		if (!strncmp(b, "libc.so.", 8)) {
			libc = &m.mods[i];
		} else if (strncmp(b, "ld-linux", 8) && strncmp(b, "libmemscope_sample", 18) &&
			   m.mods[i].exec_start &&
			   !ms_elf_find_func_path(m.mods[i].open_path, "malloc", &f)) {
			fprintf(stderr, "memscope-trace: leak-check: PID %d allocates with the malloc of %s, "
				"and only glibc's heap can be walked: trace it instead "
				"(memscope-trace -p %d --leak-check)\n", (int)pid, m.mods[i].path, (int)pid);
			err = -ENOTSUP;
		}
	}
	if (!err && !libc) {
		fprintf(stderr, "memscope-trace: leak-check: PID %d has no libc.so mapped (a static "
			"program?): only glibc's shared heap can be walked\n", (int)pid);
		err = -ENOTSUP;
	}
	if (!err) {
		*bias = libc->bias;
		snprintf(path, len, "%s", libc->open_path);
	}
	ms_maps_free(&m);
	return err;
}

/* Hold the target still, outside malloc's code and locks, and walk its
 * heap. 1 held and walked; 0 the target ran on (message printed), -errno. */
static int hold_and_walk(struct session *s, const struct ms_glibc_layout *L, uint64_t bias,
			 struct ms_hold_state *hs, struct ms_heap_walk *w)
{
	uint64_t timeout = ms_leak_timeout_ns(s);
	char why[256] = "";
	int tries, r, err = -EAGAIN;

	for (tries = 0; tries < WALK_TRIES && err == -EAGAIN; tries++) {
		uint64_t rips[1024];
		size_t i, n = 0;

		if (tries) { /* let the thread in malloc finish its call */
			struct timespec ts = { 0, 1000000L * tries };

			ms_hold_release(s->holder);
			nanosleep(&ts, NULL);
		}
		r = ms_hold_request(s->holder, timeout, hs);
		if (r != 1) {
			fprintf(stderr, "memscope-trace: leak-check: %s\n", r == -ESRCH ?
				"the target exited before it could be held" :
				"the target's threads did not all stop within --leak-check-timeout");
			return r < 0 ? r : -ETIMEDOUT;
		}
		for (i = 0; i < hs->nthreads && n < sizeof(rips) / sizeof(rips[0]); i++)
			if (hs->threads[i].has_regs)
				rips[n++] = hs->threads[i].regs.rip;
		err = ms_glibc_heap_walk(s->pid, L, bias, rips, n, w, why, sizeof(why));
	}
	if (err) {
		ms_hold_release(s->holder);
		fprintf(stderr, "memscope-trace: leak-check: walking the heap of PID %d: %s%s\n", (int)s->pid,
			why[0] ? why : strerror(-err),
			err == -EAGAIN ? " (tried 50 times: the process is always in malloc)" : "");
		return err;
	}
	return 1;
}

/* Each block the walk found, as a live block of the registry. */
static int feed(struct ms_registry *reg, pid_t pid, const struct ms_heap_walk *w, uint64_t ts)
{
	size_t i;

	for (i = 0; i < w->nblocks; i++) {
		struct ms_ev_heap e;

		memset(&e, 0, sizeof(e));
		e.h.type = MS_EV_LIVE;
		e.h.size = sizeof(e);
		e.h.pid = (uint32_t)pid;
		e.h.tid = (uint32_t)pid;
		e.h.ts_ns = ts;
		e.addr = w->blocks[i].addr;
		e.size = w->blocks[i].size;
		e.stack_id = -1;
		e.kind = MS_K_HEAP;
		if (ms_registry_consume(reg, &e, sizeof(e)))
			return -ENOMEM;
	}
	return 0;
}

int ms_heapcheck_run(const struct ms_opts *o)
{
	struct session s = { .o = o, .pid = o->pid, .pidfd = -1, .mode_label = "leak-check" };
	struct ms_reg_opts ro = { 0 };
	struct ms_glibc_layout L;
	struct ms_heap_walk w = { 0 };
	struct ms_hold_state hs;
	const struct ms_leak_check *lc;
	char libc[4096], why[512];
	uint64_t bias = 0;
	int err;

	s.start_ns = ms_now_ns();
	if ((err = ms_session_find_target(&s)) || (err = find_libc(s.pid, &bias, libc, sizeof(libc))))
		return 1;
	err = ms_glibc_malloc_layout(libc, &L, why, sizeof(why));
	if (err) {
		fprintf(stderr, "memscope-trace: leak-check: %s\n", why);
		return 1;
	}
	if (ms_session_open_outputs(&s))
		return 1;
	s.reg = ms_registry_new(&ro);
	err = s.reg ? ms_hold_new(&s.holder, ms_leak_timeout_ns(&s)) : -ENOMEM;
	if (err) {
		fprintf(stderr, "memscope-trace: leak-check: cannot start the helper that holds PID %d: %s\n",
			(int)s.pid, strerror(-err));
		goto out;
	}
	err = ms_hold_seize(s.holder, s.pid, why, sizeof(why));
	if (err) {
		if (err == -EBUSY)
			fprintf(stderr, "memscope-trace: leak-check: PID %d is %s: detach the debugger first\n",
				(int)s.pid, why);
		else
			fprintf(stderr, "memscope-trace: leak-check: cannot hold PID %d: %s\n", (int)s.pid, why);
		goto out;
	}
	err = hold_and_walk(&s, &L, bias, &hs, &w);
	if (err < 0)
		goto out;
	err = feed(s.reg, s.pid, &w, ms_now_ns());
	{
		struct ms_lc_job j = {
			.reg = s.reg, .holder = s.holder, .pid = s.pid,
			.timeout_ns = ms_leak_timeout_ns(&s),
			.heap_addrs = w.owned, .nheap = w.nowned, .verbose = o->verbose,
		};

		/* out of memory feeding: release unscanned */
		if (err)
			ms_hold_release(s.holder);
		else
			ms_leak_check_held(&j, &hs);
	}
	if (o->verbose)
		fprintf(stderr, "memscope-trace: leak-check: walked %zu arenas, %zu heaps, %zu chunks "
			"(%zu in use, %zu free, %zu in tcaches, %zu in fastbins, %zu mmapped, %zu "
			"thread caches of glibc's own), %llu bytes read in %llu calls\n", w.arenas,
			w.heaps, w.chunks + w.mmapped, w.nblocks, w.free_chunks, w.tcache_chunks,
			w.fastbin_chunks, w.mmapped, w.tcache_structs, (unsigned long long)w.read_bytes,
			(unsigned long long)w.syscalls);
	s.end_ns = ms_now_ns();
	s.stop_reason = "leak check";
	lc = ms_registry_leak_check(s.reg);
	if (!err && lc->status != MS_LC_DONE) {
		fprintf(stderr, "memscope-trace: leak-check: %s\n", lc->note);
		err = -EIO;
	}
	if (ms_session_write_reports(&s) && !err)
		err = -EIO;
out:
	ms_hold_free(s.holder);
	ms_heap_walk_free(&w);
	ms_session_close_outputs(&s);
	ms_registry_free(s.reg);
	return err ? 1 : 0;
}
