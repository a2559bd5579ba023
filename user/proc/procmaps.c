/* SPDX-License-Identifier: BSD-3-Clause */
/* procmaps.c - /proc/PID/maps to one ms_module per mapped file. */
#define _GNU_SOURCE
#include "proc/procmaps.h"
#include "elf/segments.h"
#include "util/vec.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* One line of maps; mp->path points into the line buffer. */
static int parse_line(char *line, struct ms_mapping *mp)
{
	unsigned int maj, min;
	unsigned long ino;
	int n = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %lu %n",
		   &mp->start, &mp->end, mp->perms, &mp->off, &maj, &min, &ino,
		   &n) != 7 || n == 0)
		return -EINVAL;
	line[strcspn(line, "\n")] = '\0';
	mp->dev = makedev(maj, min);
	mp->ino = ino;
	mp->path = line + n;
	return 0;
}

/* The root path only if it is still the mapped file: a library replaced on
 * disk (package upgrade) keeps its path but not its inode. map_files always
 * names the mapped file but needs root; overlayfs may also report another
 * device in maps than stat() does, so fall back to the root path then. */
static char *make_open_path(pid_t pid, const struct ms_mapping *mp)
{
	char *root = NULL, *mf = NULL;
	struct stat st;
	int root_ok;

	/* Same file in our own mount namespace: use the plain path, which
	 * stays valid after the target exits (reports are written then). */
	if (stat(mp->path, &st) == 0 && st.st_dev == mp->dev && st.st_ino == mp->ino)
		return strdup(mp->path);
	if (asprintf(&root, "/proc/%d/root%s", (int)pid, mp->path) < 0)
		return NULL;
	root_ok = stat(root, &st) == 0;
	if (root_ok && st.st_dev == mp->dev && st.st_ino == mp->ino)
		return root;
	if (asprintf(&mf, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid,
		     mp->start, mp->end) < 0) {
		free(root);
		return NULL;
	}
	if (root_ok && access(mf, F_OK) != 0) {
		free(mf);
		return root;
	}
	free(root);
	return mf;
}

/* ld.so (and the kernel) map the PT_LOAD whose page-aligned file offset is
 * `off` at its page-aligned p_vaddr, so bias = start - that vaddr. This is 0
 * for ET_EXEC and right for prelinked libraries, where start - off is not.
 * Files that are not ELF get start - off. Device nodes are never opened:
 * opening one (a GPU, a tty) can have side effects. */
static uint64_t load_bias(const char *path, const struct ms_mapping *mp)
{
	uint64_t mask = ~((uint64_t)sysconf(_SC_PAGESIZE) - 1);
	uint64_t bias = mp->start - mp->off;
	struct stat st;
	GElf_Phdr ph;
	Elf *elf;
	int fd;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return bias;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bias;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF && ms_elf_seg_of_offset(elf, mp->off, mask, &ph) == 0)
		bias = mp->start - (ph.p_vaddr & mask);
	elf_end(elf);
	close(fd);
	return bias;
}

static int new_module(pid_t pid, struct ms_maps *m, size_t *cap,
		      const struct ms_mapping *mp)
{
	struct ms_module *mod;

	if (ms_vec_reserve((void **)&m->mods, cap, sizeof(*m->mods), m->n + 1))
		return -ENOMEM;
	mod = &m->mods[m->n];
	*mod = (struct ms_module){ .start = mp->start, .end = mp->end,
				   .dev = mp->dev, .ino = mp->ino };
	mod->path = strdup(mp->path);
	mod->open_path = make_open_path(pid, mp);
	if (!mod->path || !mod->open_path) {
		free(mod->path);
		free(mod->open_path);
		return -ENOMEM;
	}
	mod->bias = load_bias(mod->open_path, mp);
	m->n++;
	return 0;
}

/* A load of a file is a run of consecutive file-backed mappings of it with
 * growing offsets. Someone reading the file with mmap (libelf, python's
 * mmap) makes a second run, possibly right next to the real one: keep the
 * run that has code, else the first. Runs are disjoint and sorted. */
static void drop_duplicates(struct ms_maps *m)
{
	size_t i, j, k = 0;

	for (i = 0; i < m->n; i++) {
		struct ms_module *a = &m->mods[i];

		for (j = 0; j < m->n && a->path; j++) {
			struct ms_module *b = &m->mods[j];

			if (j == i || !b->path || b->dev != a->dev ||
			    b->ino != a->ino)
				continue;
			if ((b->exec_start && !a->exec_start) ||
			    (!b->exec_start == !a->exec_start && j < i)) {
				free(a->path);
				free(a->open_path);
				a->path = NULL;
			}
		}
	}
	for (i = 0; i < m->n; i++)
		if (m->mods[i].path)
			m->mods[k++] = m->mods[i];
	m->n = k;
}

/* A file-backed mapping: what modules and digests are made of. */
static int file_backed(const struct ms_mapping *mp)
{
	return mp->ino != 0 && mp->path[0] == '/';
}

static void fnv(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		*h = (*h ^ *b++) * 1099511628211ull;
}

static int digest_mapping(const struct ms_mapping *mp, void *user)
{
	uint64_t *h = user;

	if (!file_backed(mp))
		return 0;
	fnv(h, &mp->start, sizeof(mp->start));
	fnv(h, &mp->end, sizeof(mp->end));
	fnv(h, &mp->off, sizeof(mp->off));
	fnv(h, mp->perms, strlen(mp->perms));
	fnv(h, &mp->dev, sizeof(mp->dev));
	fnv(h, &mp->ino, sizeof(mp->ino));
	fnv(h, mp->path, strlen(mp->path) + 1);
	return 0;
}

uint64_t ms_maps_digest(pid_t pid)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	if (ms_maps_each(pid, digest_mapping, &h))
		return 0;
	return h ? h : 1; /* 0 says "cannot be read" */
}

struct read_state {
	pid_t pid;
	struct ms_maps m;
	size_t cap;
	uint64_t last_off;
};

static int read_mapping(const struct ms_mapping *mp, void *user)
{
	struct read_state *r = user;
	struct ms_module *mod = r->m.n ? &r->m.mods[r->m.n - 1] : NULL;
	int err;

	if (!file_backed(mp))
		return 0;
	if (!mod || mod->dev != mp->dev || mod->ino != mp->ino || mp->off <= r->last_off) {
		err = new_module(r->pid, &r->m, &r->cap, mp);
		if (err)
			return err;
		mod = &r->m.mods[r->m.n - 1];
	}
	r->last_off = mp->off;
	mod->end = mp->end;
	if (mp->perms[2] == 'x') {
		if (!mod->exec_start)
			mod->exec_start = mp->start;
		mod->exec_end = mp->end;
	}
	return 0;
}

int ms_maps_read(pid_t pid, struct ms_maps *out)
{
	struct read_state r = { .pid = pid };
	int err;

	*out = r.m;
	elf_version(EV_CURRENT);
	err = ms_maps_each(pid, read_mapping, &r);
	if (err) {
		ms_maps_free(&r.m);
		return err;
	}
	drop_duplicates(&r.m);
	*out = r.m;
	return 0;
}

const struct ms_module *ms_maps_find(const struct ms_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m ? m->n : 0;

	/* Last module with start <= addr; runs never overlap. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->mods[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr >= m->mods[lo - 1].end)
		return NULL;
	return &m->mods[lo - 1];
}

int ms_maps_from_vmas(const struct ms_vma *v, size_t n, const char *const *dirs,
		      struct ms_maps *out)
{
	char path[4096];
	struct stat st;

	out->mods = n ? calloc(n, sizeof(*out->mods)) : NULL;
	out->n = 0;
	if (n && !out->mods)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct ms_module *mod = &out->mods[out->n];
		struct ms_mapping mp = { .start = v[i].start, .end = v[i].end, .off = v[i].offset };
		size_t d;

		if (!v[i].name || !*v[i].name || strchr(v[i].name, '/'))
			continue;
		for (d = 0; dirs[d]; d++) {
			snprintf(path, sizeof(path), "%s/%s", dirs[d], v[i].name);
			if (!stat(path, &st) && st.st_dev == v[i].dev && st.st_ino == v[i].ino)
				break;
		}
		if (!dirs[d])
			continue;
		mod->path = strdup(path);
		mod->open_path = strdup(path);
		if (!mod->path || !mod->open_path) {
			free(mod->path);
			free(mod->open_path);
			ms_maps_free(out);
			return -ENOMEM;
		}
		mod->start = mod->exec_start = v[i].start;
		mod->end = mod->exec_end = v[i].end;
		mod->bias = load_bias(path, &mp);
		mod->dev = v[i].dev;
		mod->ino = (ino_t)v[i].ino;
		out->n++;
	}
	return 0;
}

void ms_maps_free(struct ms_maps *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->mods[i].path);
		free(m->mods[i].open_path);
	}
	free(m->mods);
	m->mods = NULL;
	m->n = 0;
}

int ms_maps_each(pid_t pid, int (*cb)(const struct ms_mapping *m, void *user), void *user)
{
	char path[64], *line = NULL;
	size_t len = 0, lines = 0;
	struct ms_mapping mp;
	int ret = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (!ret && getline(&line, &len, f) > 0) {
		lines++;
		if (parse_line(line, &mp) == 0)
			ret = cb(&mp, user);
	}
	if (!ret && ferror(f))
		ret = errno ? -errno : -EIO;
	else if (!ret && lines == 0)
		ret = -ESRCH; /* a zombie or kernel thread: no address space */
	free(line);
	fclose(f);
	return ret;
}
