/* SPDX-License-Identifier: BSD-3-Clause */
/* lookups.c - what the registry and the report writers ask of the target
 * while the trace runs or after it has gone: an address as a frame, a
 * string literal BPF could not read, whether a free came from inside the
 * allocator's own library. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "elf/elf_syms.h"
#include "elf/symbolize.h"
#include "probe/loader.h"
#include "proc/procmaps.h"
#include "proc/romaps.h"
#include "proc/target.h"
#include "registry/registry.h"
#include "trace/session.h"

int ms_lookup_resolve(void *user, uint32_t pid, uint64_t ip, struct ms_frame *out)
{
	struct session *s = user;

	(void)pid;
	if (!s->sym)
		return -ENOENT;
	return ms_symbolize(s->sym, ip, out);
}

int ms_lookup_resolve_inline(void *user, uint32_t pid, uint64_t ip, struct ms_frame *out, int max)
{
	struct session *s = user;

	(void)pid;
	if (!s->sym)
		return -ENOENT;
	return ms_symbolize_inline(s->sym, ip, out, max);
}

/* A string literal of a process that is gone, read from the file that
 * mapped its address (literals live in a module's read-only data), as the
 * symbolizer knows the modules: never from a live process. Followed
 * children that did not exec have their parent's modules. */
static ssize_t cut_at_nul(void *buf, ssize_t n)
{
	char *nul = n > 0 ? memchr(buf, 0, (size_t)n) : NULL;

	return nul ? nul - (char *)buf : n;
}

/* A literal from the file pid maps read-only at addr (proc/romaps.h): as
 * it was mapped at the last attach, hold or fork, whatever the process
 * has done since. */
static ssize_t file_str(struct session *s, uint32_t pid, uint64_t addr, void *buf, size_t len)
{
	return cut_at_nul(buf, ms_romaps_read(s->romaps, (pid_t)pid, addr, buf, len));
}

ssize_t ms_lookup_gone_str(void *user, uint32_t pid, uint64_t addr, void *buf, size_t len)
{
	struct session *s = user;
	struct ms_frame f;
	ssize_t n = file_str(s, pid, addr, buf, len);

	if (n > 0)
		return n;
	if (!s->sym || ms_symbolize(s->sym, addr, &f) || !f.module)
		return -ENOENT;
	return cut_at_nul(buf, ms_elf_read_vaddr(f.module, f.offset, buf, len));
}

/* Strings the BPF side could not read (their page was never touched): a
 * literal from its file first (the process may be gone, or have exec'd
 * another image), else the live target's memory, else the file the
 * symbolizer knows for that address. */
ssize_t ms_lookup_target_str(void *user, uint32_t pid, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = file_str(user, pid, addr, buf, len);

	if (n <= 0)
		n = ms_target_read_str(NULL, pid, addr, buf, len);
	return n > 0 ? n : ms_lookup_gone_str(user, pid, addr, buf, len);
}

/* Is a free of a block the registry does not hold the allocator's own
 * bookkeeping? Told by the calling function's name (registry_heap.c says
 * which functions prove it), in the library or a static executable. */
int ms_lookup_internal_caller(void *user, uint32_t pid, uint64_t caller, int freed_before)
{
	struct session *s = user;
	struct ms_frame f;

	(void)pid;
	/* Not in a module the tracer knows yet: ask again at the end */
	if (!s->sym || ms_symbolize(s->sym, caller - 1, &f) || !f.module)
		return -1;
	return ms_free_is_bookkeeping(f.function, freed_before);
}

/* Remember, by the path maps shows (the symbolizer's name for it), a
 * library of pid whose allocator functions are probed: an exited target's
 * files are looked for next to it (exit_maps.c). Looked up while the
 * target is alive: records may be read after it is gone. */
void ms_lookup_note_alloc_module(struct session *s, pid_t pid, const struct ms_module *m)
{
	struct stat mod, exe;
	char path[64];
	size_t i;

	if (s->nalloc_mods == MS_MAX_ALLOC_MODS || !ms_loader_is_allocator(s->loader, m->open_path))
		return;
	for (i = 0; i < s->nalloc_mods; i++)
		if (!strcmp(s->alloc_mods[i], m->path))
			return;
	/* not the executable: its folder is looked in anyway */
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (stat(m->open_path, &mod) || (!stat(path, &exe) && exe.st_dev == mod.st_dev &&
					 exe.st_ino == mod.st_ino))
		return;
	s->alloc_mods[s->nalloc_mods] = strdup(m->path);
	if (s->alloc_mods[s->nalloc_mods])
		s->nalloc_mods++;
}
