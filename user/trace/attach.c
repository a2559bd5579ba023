/* SPDX-License-Identifier: BSD-3-Clause */
/* attach.c - where and when the probes go.
 *
 * A uprobe is registered for a file and arms itself in each traced process
 * that maps the file, now or later. So:
 *
 *   - a command we start is attached by path before its exec, to every
 *     file ld.so will map for it (elf/ldso.c works them out as ld.so will);
 *   - a running process (-p) is attached to the modules it maps now;
 *   - a process BPF stopped (bpf/hold.bpf.h) - a followed child at fork, a
 *     traced process at exec or once ld.so has mapped new objects - is
 *     attached to what it maps, then continued: its probes fire from its
 *     first instruction, or before the new objects' first call;
 *   - every RESCAN_MS, whatever is mapped and not attached yet (a process
 *     that could not be held).
 *
 * Under -f the memscope probes are attached without a PID filter (once per
 * file; BPF skips processes it does not trace), the allocator probes for
 * each process (uprobe_multi links, see probe/loader.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <bpf/bpf.h>
#include "elf/elf_syms.h"
#include "elf/ldso.h"
#include "probe/loader.h"
#include "probe/unwind_maps.h"
#include "proc/procmaps.h"
#include "proc/romaps.h"
#include "proc/target.h"
#include "proc/unarm.h"
#include "registry/registry.h"
#include "trace/session.h"

/* Attach the memscope probes and the allocator of one file for pid (its
 * path as the tracer opens it; `shown` as the target names it). Returns
 * the memscope probe names attached. */
static int attach_file(struct session *s, pid_t pid, const char *path, const char *shown, int quiet)
{
	int n = 0, total = 0, err;

	err = ms_loader_attach_usdt(s->loader, pid, path, &n);
	if (!err)
		total = n;
	else if (!quiet && s->o->verbose)
		fprintf(stderr, "memscope-trace: probes in %s: %s\n", shown, strerror(-err));
	err = ms_loader_attach_alloc(s->loader, pid, path, &n);
	if (err && !quiet)
		fprintf(stderr, "memscope-trace: allocator in %s: %s\n", shown, strerror(-err));
	/* ld.so's debugger hook, if this is the dynamic linker (-ENOENT
	 * otherwise; asked once per file) */
	ms_loader_attach_ldso(s->loader, pid, path);
	return total;
}

/* Attach to the probes and allocator of every module pid maps now
 * (executable, libraries, dlopen'ed ones). Returns probe names attached. */
static int attach_mapped_pid(struct session *s, pid_t pid, int quiet)
{
	struct ms_maps maps = { 0 };
	size_t i;
	int total = 0, err;

	err = ms_maps_read(pid, &maps);
	if (err)
		return err;
	/* unwind tables before probes: the first stacks need them */
	if (s->unw)
		ms_unwinder_add_maps(s->unw, pid, &maps);
	ms_romaps_update(s->romaps, pid);
	for (i = 0; i < maps.n; i++) {
		const struct ms_module *m = &maps.mods[i];

		if (!m->exec_start)
			continue;
		total += attach_file(s, pid, m->open_path, m->path, quiet);
		ms_lookup_note_alloc_module(s, pid, m);
	}
	ms_maps_free(&maps);
	return total;
}

int ms_attach_mapped(struct session *s, int quiet)
{
	size_t i;

	for (i = 0; i < s->nkids; i++)
		attach_mapped_pid(s, s->kids[i], 1);
	return attach_mapped_pid(s, s->pid, quiet);
}

/* Attach by path to executable `exe` of pid and to every library ld.so
 * will map for it, before it runs: env is the program's (LD_LIBRARY_PATH,
 * LD_PRELOAD), root "" for our own file system or /proc/PID/root. */
static int attach_image(struct session *s, pid_t pid, const char *exe, const char *root,
			const char *llp, const char *preload)
{
	struct ms_ldso_env env = { .root = root, .ld_library_path = llp, .ld_preload = preload };
	struct ms_ldso_objs objs;
	char path[8192];
	size_t i;
	int probes = 0, err;

	err = ms_ldso_resolve(exe, &env, &objs);
	if (err)
		return err;
	for (i = 0; i < objs.n; i++) {
		snprintf(path, sizeof(path), "%s%s", root, objs.path[i]);
		if (s->o->verbose)
			fprintf(stderr, "memscope-trace: PID %d will map %s\n", (int)pid, objs.path[i]);
		probes += attach_file(s, pid, path, objs.path[i], 0);
	}
	if (objs.interp[0]) {
		snprintf(path, sizeof(path), "%s%s", root, objs.interp);
		ms_loader_attach_ldso(s->loader, pid, path);
	}
	ms_ldso_objs_free(&objs);
	return probes;
}

int ms_attach_before_exec(struct session *s)
{
	struct ms_hold ready = { .kind = MS_HOLD_READY };
	__u32 key = (__u32)s->pid;
	int probes;

	/* A script (#!) is not ELF: its interpreter is what ld.so starts,
	 * attached when ld.so reports its objects (a hold). */
	if (ms_elf_check_arch_path(s->exe, NULL))
		return 0;
	probes = attach_image(s, s->pid, s->exe, "", getenv("LD_LIBRARY_PATH"), getenv("LD_PRELOAD"));
	/* its first exec need not stop: all it maps is attached */
	if (probes >= 0)
		bpf_map_update_elem(ms_loader_holds_fd(s->loader), &key, &ready, BPF_ANY);
	return probes;
}

/* ---- held processes ------------------------------------------------------ */

static void kid_add(struct session *s, pid_t pid)
{
	size_t i;

	if (pid == s->pid)
		return;
	for (i = 0; i < s->nkids; i++)
		if (s->kids[i] == pid)
			return;
	if (s->nkids == s->capkids) {
		size_t ncap = s->capkids ? s->capkids * 2 : 64;
		pid_t *nk = realloc(s->kids, ncap * sizeof(*nk));

		if (!nk)
			return;
		s->kids = nk;
		s->capkids = ncap;
	}
	s->kids[s->nkids++] = pid;
}

static void kid_remove(struct session *s, pid_t pid)
{
	size_t i;

	for (i = 0; i < s->nkids; i++) {
		if (s->kids[i] == pid) {
			s->kids[i] = s->kids[--s->nkids];
			return;
		}
	}
}

/* pid exec'd: attach its new image through its root, with its own
 * environment, before it runs. */
static void attach_exec(struct session *s, pid_t pid)
{
	char exe[4096], root[64], llp[4096], preload[4096];
	int has_llp, has_pre;

	if (ms_target_exe(pid, exe, sizeof(exe)))
		return;
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	has_llp = ms_target_env(pid, "LD_LIBRARY_PATH", llp, sizeof(llp)) == 0;
	has_pre = ms_target_env(pid, "LD_PRELOAD", preload, sizeof(preload)) == 0;
	attach_image(s, pid, exe, root, has_llp ? llp : NULL, has_pre ? preload : NULL);
}

/* Attach what held process pid needs (unless only_continue: the trace is
 * ending), then let it go. */
static void release(struct session *s, pid_t pid, int only_continue)
{
	int fd = ms_loader_holds_fd(s->loader);
	__u32 key = (__u32)pid;
	struct ms_hold h;
	uint64_t held;

	if (bpf_map_lookup_elem(fd, &key, &h) || h.kind == MS_HOLD_READY)
		return; /* not held (released already, or gone) */
	if (h.kind == MS_HOLD_FORK)
		kid_add(s, pid);
	if (h.kind == MS_HOLD_EXEC && !only_continue)
		attach_exec(s, pid);
	if (!only_continue)
		attach_mapped_pid(s, pid, 1);
	bpf_map_delete_elem(fd, &key);
	kill(pid, SIGCONT);
	held = ms_now_ns() - h.ts_ns;
	s->holds++;
	s->hold_total_ns += held;
	if (held > s->hold_max_ns)
		s->hold_max_ns = held;
	if (s->o->verbose)
		fprintf(stderr, "memscope-trace: PID %d held %.2f ms (%s)\n", (int)pid, held / 1e6,
			h.kind == MS_HOLD_FORK ? "fork" : h.kind == MS_HOLD_EXEC ? "exec" : "ld.so mapped objects");
}

void ms_attach_release_all(struct session *s, int only_continue)
{
	int fd = ms_loader_holds_fd(s->loader);
	__u32 key, next, *prev = NULL, pids[256];
	size_t n = 0, i;

	/* collect first: release() deletes, which disturbs the iteration */
	while (n < sizeof(pids) / sizeof(pids[0]) && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		pids[n++] = key;
		prev = &key;
	}
	for (i = 0; i < n; i++)
		release(s, (pid_t)pids[i], only_continue);
}

/* A child not followed (no -f) inherited its parent's allocator
 * breakpoints: take them out (proc/unarm.h), or it traps on every
 * allocator call for nothing. Its first calls before this may trap. */
static void unarm_child(struct session *s, pid_t parent, pid_t child)
{
	struct ms_alloc_sites f[64];
	size_t i, n;
	int r, total = 0;

	/* vfork and posix_spawn: the child runs in its parent's memory,
	 * breakpoints and all, until it execs - nothing of its own to fix */
	if (syscall(SYS_kcmp, parent, child, KCMP_VM, 0, 0) == 0)
		return;
	n = ms_loader_alloc_sites(s->loader, parent, f, 64);
	for (i = 0; i < n; i++)
		if ((r = ms_proc_unarm(child, f[i].dev, f[i].ino, f[i].offs, f[i].n)) > 0)
			total += r;
	if (s->o->verbose)
		fprintf(stderr, "memscope-trace: PID %d forked %d (not followed): %d inherited breakpoints "
			"taken out\n", (int)parent, (int)child, total);
}

/* Lifecycle records, seen as they are drained: a held process is attached
 * and continued; an exec replaces the image (its string literals move); a
 * fork under -f adds a process to trace. */
void ms_session_on_record(void *user, const struct ms_hdr *h)
{
	struct session *s = user;
	const struct ms_ev_proc *e = (const void *)h;

	switch (h->type) {
	case MS_EV_VMA:
		ms_exit_maps_record(s, h);
		return;
	case MS_EV_UNW_MISS:
		if (s->unw)
			ms_unwinder_miss(s->unw, (const struct ms_ev_unw_miss *)h);
		return;
	case MS_EV_EXEC:
		ms_registry_forget_pid_strings(s->reg, h->pid);
		ms_loader_forget_strings(s->loader, h->pid);
		if ((pid_t)h->pid == s->pid)
			ms_target_exe(s->pid, s->exe, sizeof(s->exe));
		if (h->flags & MS_F_HELD)
			release(s, (pid_t)h->pid, 0);
		else
			ms_romaps_update(s->romaps, (pid_t)h->pid); /* its literals moved */
		s->rescan_now = 1;
		return;
	case MS_EV_LINKMAP:
		if (h->flags & MS_F_HELD)
			release(s, (pid_t)h->pid, 0);
		else
			s->rescan_now = 1;
		return;
	case MS_EV_FORK:
		if (!s->o->follow) {
			unarm_child(s, (pid_t)h->pid, (pid_t)e->child_pid);
			return;
		}
		if (s->o->verbose)
			fprintf(stderr, "memscope-trace: PID %u forked %u: following it\n", h->pid,
				e->child_pid);
		kid_add(s, (pid_t)e->child_pid);
		ms_romaps_fork(s->romaps, (pid_t)h->pid, (pid_t)e->child_pid);
		if (h->flags & MS_F_HELD)
			release(s, (pid_t)e->child_pid, 0);
		else
			attach_mapped_pid(s, (pid_t)e->child_pid, 1);
		return;
	case MS_EV_PROC_EXIT:
		/* a followed child's probes go, in the background */
		if ((pid_t)h->pid != s->pid && s->o->follow) {
			kid_remove(s, (pid_t)h->pid);
			ms_loader_retire_pid(s->loader, (pid_t)h->pid);
		}
		return;
	default:
		return;
	}
}
