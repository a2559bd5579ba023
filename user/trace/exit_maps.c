/* SPDX-License-Identifier: BSD-3-Clause */
/* exit_maps.c - a target that ran for a few milliseconds is gone before the
 * tracer could read /proc/PID/maps, and its stacks need its modules. As it
 * exits (libc's _exit, or its last thread's exit after a fatal signal), BPF
 * walks its memory map with the task-VMA iterator and sends each executable
 * file mapping (MS_EV_VMA); the last record of the set (MS_F_LAST) hands
 * them to the symbolizer. */
#define _GNU_SOURCE
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include "elf/symbolize.h"
#include "proc/procmaps.h"
#include "trace/session.h"

/* The target is exiting: symbolize its stacks from the mappings BPF read
 * (/proc/PID/maps is gone, or soon). Files are looked for by name next to
 * the executable, the allocator libraries and in the usual library
 * directories, and must be the very files mapped (device and inode). */
static void vmas_apply(struct session *s)
{
	static const char *const std[] = { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
					   "/lib64", "/usr/lib64", "/lib", "/usr/lib",
					   "/usr/local/lib" };
	const char *dirs[MS_MAX_ALLOC_MODS + 40], *llp = getenv("LD_LIBRARY_PATH");
	const char *pre = getenv("LD_PRELOAD");
	char exe_dir[sizeof(s->exe)], mod_dirs[MS_MAX_ALLOC_MODS][4096], *llp_copy = NULL, *save, *tok;
	char *pre_copy = NULL;
	struct ms_vma *v = calloc(s->nvmas ? s->nvmas : 1, sizeof(*v));
	struct ms_maps maps = { 0 };
	size_t i, nd = 0;

	if (!v)
		goto out;
	snprintf(exe_dir, sizeof(exe_dir), "%s", s->exe);
	dirs[nd++] = dirname(exe_dir);
	for (i = 0; i < s->nalloc_mods; i++) {
		snprintf(mod_dirs[i], sizeof(mod_dirs[i]), "%s", s->alloc_mods[i]);
		dirs[nd++] = dirname(mod_dirs[i]);
	}
	if (llp && (llp_copy = strdup(llp)))
		for (tok = strtok_r(llp_copy, ":", &save); tok && nd < MS_MAX_ALLOC_MODS + 30;
		     tok = strtok_r(NULL, ":", &save))
			dirs[nd++] = tok;
	/* preloaded libraries (the sampling library in sampled mode) are
	 * often in none of those directories */
	if (pre && (pre_copy = strdup(pre)))
		for (tok = strtok_r(pre_copy, ": ", &save); tok && nd < MS_MAX_ALLOC_MODS + 32;
		     tok = strtok_r(NULL, ": ", &save))
			if (strchr(tok, '/'))
				dirs[nd++] = dirname(tok);
	for (i = 0; i < sizeof(std) / sizeof(std[0]); i++)
		dirs[nd++] = std[i];
	dirs[nd] = NULL;
	for (i = 0; i < s->nvmas; i++) {
		const struct ms_ev_vma *e = &s->vmas[i];

		v[i] = (struct ms_vma){ .start = e->start, .end = e->end, .offset = e->offset,
					.ino = e->ino, .dev = makedev(e->dev >> 20, e->dev & 0xfffff),
					.name = e->name };
	}
	if (ms_maps_from_vmas(v, s->nvmas, dirs, &maps) == 0 && maps.n)
		ms_symbolizer_use_maps(&s->sym, s->pid, &maps);
	ms_maps_free(&maps);
out:
	free(llp_copy);
	free(pre_copy);
	free(v);
	s->nvmas = 0;
}

void ms_exit_maps_record(struct session *s, const struct ms_hdr *h)
{
	const struct ms_ev_vma *e = (const void *)h;

	if ((pid_t)h->pid != s->pid)
		return; /* stacks of followed children use their parent's modules */
	if (h->flags & MS_F_LAST) {
		vmas_apply(s);
		return;
	}
	if (!e->start || s->nvmas >= MS_MAX_VMAS)
		return;
	if (!s->vmas && !(s->vmas = calloc(MS_MAX_VMAS, sizeof(*s->vmas))))
		return;
	s->vmas[s->nvmas] = *e;
	s->vmas[s->nvmas].name[sizeof(e->name) - 1] = 0;
	s->nvmas++;
}
