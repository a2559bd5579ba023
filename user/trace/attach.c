/* SPDX-License-Identifier: BSD-3-Clause */
/* attach.c - where the probes go. A command we start is attached by path
 * before its exec (uprobes are per file: they arm as the file is mapped);
 * a running process by the modules it maps now; then, as the trace runs,
 * whatever it maps later (rescans), the image an exec brings and, under -f,
 * the children it forks. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elf/elf_syms.h"
#include "probe/loader.h"
#include "probe/unwind_maps.h"
#include "proc/procmaps.h"
#include "proc/target.h"
#include "registry/registry.h"
#include "trace/session.h"

/* Attach to the probes and allocator of every module the target maps now
 * (executable, libraries, dlopen'ed ones). Returns probe names attached. */
static int attach_mapped_pid(struct session *s, pid_t pid, int quiet)
{
	struct ms_maps maps = { 0 };
	size_t i;
	int total = 0, n, err;

	err = ms_maps_read(pid, &maps);
	if (err)
		return err;
	/* unwind tables before probes: the first stacks need them */
	if (s->unw)
		ms_unwinder_add_maps(s->unw, pid, &maps);
	for (i = 0; i < maps.n; i++) {
		const struct ms_module *m = &maps.mods[i];

		if (!m->exec_start)
			continue;
		err = ms_loader_attach_usdt(s->loader, pid, m->open_path, &n);
		if (!err)
			total += n;
		else if (!quiet && s->o->verbose)
			fprintf(stderr, "memscope-trace: probes in %s: %s\n", m->path, strerror(-err));
		err = ms_loader_attach_alloc(s->loader, pid, m->open_path, &n);
		if (err && !quiet)
			fprintf(stderr, "memscope-trace: allocator in %s: %s\n", m->path, strerror(-err));
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

/* Before exec nothing of the command is mapped yet: attach by path to the
 * executable and to the libraries the dynamic linker will load for the
 * allocator (uprobes are per file, so they arm when the file is mapped). */
int ms_attach_before_exec(struct session *s)
{
	static const char *const libs[] = {
		"/lib/x86_64-linux-gnu/libc.so.6",
		"/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
		/* allocators a program links (redis-server: jemalloc) */
		"/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
		"/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4",
		"/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
		"/usr/lib/x86_64-linux-gnu/libmimalloc.so.2",
	};
	const char *preload = getenv("LD_PRELOAD");
	size_t i;
	int n, probes = 0, err;

	/* A script (#!) is not ELF: its interpreter is found at the rescan. */
	if (ms_elf_check_arch_path(s->exe, NULL) == 0) {
		err = ms_loader_attach_usdt(s->loader, s->pid, s->exe, &probes);
		if (err)
			return err;
		err = ms_loader_attach_alloc(s->loader, s->pid, s->exe, &n);
		if (err)
			return err;
	}
	for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		if (access(libs[i], R_OK))
			continue;
		/* every uprobe costs the kernel a walk of all processes mapping
		 * the file: probe a library only for a program that links it (a
		 * dlopen'ed one is found by the rescan) */
		if (i > 0 && ms_elf_needs_path(s->exe, strrchr(libs[i], '/') + 1) != 1)
			continue;
		err = ms_loader_attach_alloc(s->loader, s->pid, libs[i], &n);
		if (err)
			return err;
		ms_loader_attach_usdt(s->loader, s->pid, libs[i], &n);
	}
	/* A preloaded allocator (jemalloc, tcmalloc, the sampling library). */
	if (preload) {
		char *copy = strdup(preload), *save = NULL, *tok;

		for (tok = copy ? strtok_r(copy, ": ", &save) : NULL; tok;
		     tok = strtok_r(NULL, ": ", &save)) {
			if (access(tok, R_OK))
				continue;
			ms_loader_attach_alloc(s->loader, s->pid, tok, &n);
			ms_loader_attach_usdt(s->loader, s->pid, tok, &n);
			probes += n;
		}
		free(copy);
	}
	return probes;
}

/* Lifecycle records, seen as they are drained: an exec replaces the image
 * (its string literals move), a fork under -f adds a process to trace. */
void ms_session_on_record(void *user, const struct ms_hdr *h)
{
	struct session *s = user;
	const struct ms_ev_proc *e = (const void *)h;

	if (h->type == MS_EV_VMA) {
		ms_exit_maps_record(s, h);
	} else if (h->type == MS_EV_UNW_MISS) {
		if (s->unw)
			ms_unwinder_miss(s->unw, (const struct ms_ev_unw_miss *)h);
	} else if (h->type == MS_EV_EXEC) {
		ms_registry_forget_pid_strings(s->reg, h->pid);
		ms_loader_forget_strings(s->loader, h->pid);
		if ((pid_t)h->pid == s->pid)
			ms_target_exe(s->pid, s->exe, sizeof(s->exe));
		s->rescan_now = 1;
	} else if (h->type == MS_EV_FORK && s->o->follow && s->nkids < MS_MAX_KIDS) {
		if (s->o->verbose)
			fprintf(stderr, "memscope-trace: PID %u forked %u: following it\n", h->pid, e->child_pid);
		s->kids[s->nkids++] = (pid_t)e->child_pid;
		ms_loader_add_pid(s->loader, (pid_t)e->child_pid);
		if (attach_mapped_pid(s, (pid_t)e->child_pid, 1) <= 0 && s->o->verbose)
			fprintf(stderr, "memscope-trace: no memscope probes attached in PID %u\n", e->child_pid);
	}
}
