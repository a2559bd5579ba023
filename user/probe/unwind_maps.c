/* SPDX-License-Identifier: BSD-3-Clause */
/* unwind_maps.c - see unwind_maps.h. The rows and page index arrays are
 * mmap()ed (BPF_F_MMAPABLE), so a table goes in with one memcpy; the file
 * entry in unw_files is written after it (a system call: BPF never sees the
 * entry before its rows), and unw_epoch is bumped after that, so cached
 * "no table" answers are dropped. Space is handed out from the front and
 * never reused: files are few and a session is bounded. */
#define _GNU_SOURCE
#include "probe/unwind_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "elf/cfi_tables.h"
#include "elf/elf_syms.h"
#include "proc/procmaps.h"
#include "util/vec.h"

struct file_rec {
	struct ms_unw_key key;
	int state; /* 1: loaded; -errno: not, and not to be tried again */
};

/* A process's files with code, as the last look at its maps found them. */
struct proc_rec {
	pid_t pid;
	uint64_t fingerprint;
};

struct ms_unwinder {
	struct ms_unw_maps m;
	struct ms_unw_row *rows;
	struct ms_unw_page *pages;
	size_t rows_len, pages_len; /* mapped bytes */
	uint32_t rows_used, pages_used;
	MS_VEC(struct file_rec) files;
	MS_VEC(struct proc_rec) procs;
	struct ms_unwind_stats st;
	int verbose;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *map_array(int fd, size_t bytes, size_t *len)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	*len = (bytes + (size_t)page - 1) & ~((size_t)page - 1);
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

struct ms_unwinder *ms_unwinder_new(const struct ms_unw_maps *m, int verbose)
{
	struct ms_unwinder *u = calloc(1, sizeof(*u));
	int err;

	if (!u)
		return NULL;
	u->m = *m;
	u->verbose = verbose;
	u->rows = map_array(m->rows_fd, (size_t)m->nrows * sizeof(*u->rows), &u->rows_len);
	u->pages = map_array(m->pages_fd, (size_t)m->npages * sizeof(*u->pages), &u->pages_len);
	if (!u->rows || !u->pages) {
		err = errno;
		ms_unwinder_free(u);
		errno = err;
		return NULL;
	}
	u->st.capacity_bytes = (uint64_t)m->nrows * sizeof(*u->rows) +
			       (uint64_t)m->npages * sizeof(*u->pages);
	return u;
}

static struct file_rec *file_find(struct ms_unwinder *u, const struct ms_unw_key *k)
{
	for (size_t i = 0; i < u->files.n; i++)
		if (u->files.v[i].key.ino == k->ino && u->files.v[i].key.dev == k->dev)
			return &u->files.v[i];
	return NULL;
}

static struct file_rec *file_new(struct ms_unwinder *u, const struct ms_unw_key *k)
{
	struct file_rec *f;

	if (MS_VEC_PUSH(u->files, f))
		return NULL;
	*f = (struct file_rec){ .key = *k };
	return f;
}

/* The separate debug file by build id, whose .debug_frame serves files
 * without .eh_frame; -1 if there is none. */
static int open_debug_file(const char *path)
{
	char id[128], dbg[PATH_MAX];

	if (ms_elf_build_id_path(path, id, sizeof(id)) || strlen(id) < 3)
		return -1;
	snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%.2s/%s.debug", id, id + 2);
	return open(dbg, O_RDONLY | O_CLOEXEC);
}

/* Copy t into the arrays and publish it for key. 0 or -ENOSPC/-errno. */
static int publish(struct ms_unwinder *u, const struct ms_unw_key *key, const struct ms_cfi_table *t)
{
	struct ms_unw_file f;

	if (t->nrows > u->m.nrows - u->rows_used || t->npages > u->m.npages - u->pages_used)
		return -ENOSPC;
	memcpy(u->rows + u->rows_used, t->rows, t->nrows * sizeof(*t->rows));
	for (size_t p = 0; p < t->npages; p++)
		u->pages[u->pages_used + p] = (struct ms_unw_page){ t->pages[p], t->pages[p + 1] };
	f = (struct ms_unw_file){ .base = t->base, .row0 = u->rows_used, .nrows = (uint32_t)t->nrows,
				  .page0 = u->pages_used, .npages = (uint32_t)t->npages };
	if (bpf_map_update_elem(u->m.files_fd, key, &f, BPF_ANY))
		return -errno;
	u->rows_used += (uint32_t)t->nrows;
	u->pages_used += (uint32_t)t->npages;
	u->st.files++;
	u->st.rows += t->nrows;
	u->st.bytes += t->nrows * sizeof(*t->rows) + t->npages * sizeof(*u->pages);
	/* BPF's cached "no table here" answers go */
	__atomic_add_fetch(u->m.epoch, 1, __ATOMIC_SEQ_CST);
	return 0;
}

int ms_unwinder_add_file(struct ms_unwinder *u, const char *open_path, uint32_t kdev, uint64_t ino,
			 const char *name)
{
	struct ms_unw_key key = { .ino = ino, .dev = kdev };
	struct ms_cfi_table t;
	struct file_rec *rec = file_find(u, &key);
	uint64_t t0 = now_ns();
	int fd, dfd = -1, err;

	if (rec)
		return rec->state > 0 ? 0 : rec->state;
	rec = file_new(u, &key);
	if (!rec)
		return -ENOMEM;
	fd = open(open_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rec->state = -errno;
		return rec->state;
	}
	err = ms_cfi_build(fd, -1, &t);
	if (err == -ENOENT && (dfd = open_debug_file(open_path)) >= 0)
		err = ms_cfi_build(fd, dfd, &t);
	if (!err) {
		err = publish(u, &key, &t);
		if (err == -ENOSPC) {
			u->st.not_loaded++;
			fprintf(stderr, "memscope-trace: no room for the unwind table of %s (%zu rows): "
				"its frames are walked by frame pointer; raise --unwind-tables\n",
				name ? name : open_path, t.nrows);
		} else if (!err && u->verbose) {
			fprintf(stderr, "memscope-trace: unwind table of %s: %zu rows, %zu bytes, from %s "
				"(%zu FDEs, %zu skipped, %zu rules left to frame pointers) in %.1f ms\n",
				name ? name : open_path, t.nrows,
				t.nrows * sizeof(*t.rows) + t.npages * sizeof(*u->pages), t.st.source,
				t.st.fdes, t.st.bad_fdes, t.st.unsupported, (now_ns() - t0) / 1e6);
		}
		ms_cfi_free(&t);
	} else if (err == -ENOENT || err == -ENOEXEC) {
		u->st.no_cfi++;
		if (u->verbose)
			fprintf(stderr, "memscope-trace: %s has no usable call frame information: "
				"walked by frame pointer\n", name ? name : open_path);
	}
	if (dfd >= 0)
		close(dfd);
	close(fd);
	rec->state = err ? err : 1;
	u->st.build_ns += now_ns() - t0;
	return err;
}

static uint32_t kernel_dev(dev_t d)
{
	return (major(d) << 20) | minor(d);
}

int ms_unwinder_add_path(struct ms_unwinder *u, const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	return ms_unwinder_add_file(u, path, kernel_dev(st.st_dev), st.st_ino, path);
}

static struct proc_rec *proc_of(struct ms_unwinder *u, pid_t pid)
{
	struct proc_rec *p;

	for (size_t i = 0; i < u->procs.n; i++)
		if (u->procs.v[i].pid == pid)
			return &u->procs.v[i];
	if (MS_VEC_PUSH(u->procs, p))
		return NULL;
	*p = (struct proc_rec){ .pid = pid };
	return p;
}

void ms_unwinder_add_maps(struct ms_unwinder *u, pid_t pid, const struct ms_maps *m)
{
	struct proc_rec *p = proc_of(u, pid);
	uint64_t fp = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < m->n; i++) {
		const struct ms_module *mod = &m->mods[i];

		if (!mod->exec_start)
			continue;
		ms_unwinder_add_file(u, mod->open_path, kernel_dev(mod->dev), mod->ino, mod->path);
		fp = (fp ^ mod->exec_start ^ ((uint64_t)mod->ino << 1)) * 0x100000001b3ull;
	}
	/* a file unmapped (dlclose) and another mapped in its place must not
	 * be walked with the old one's table: BPF drops its cached mappings */
	if (p && p->fingerprint != fp) {
		if (p->fingerprint)
			__atomic_add_fetch(u->m.epoch, 1, __ATOMIC_SEQ_CST);
		p->fingerprint = fp;
	}
}

void ms_unwinder_miss(struct ms_unwinder *u, const struct ms_ev_unw_miss *e)
{
	char path[64], name[PATH_MAX];
	ssize_t n;

	u->st.misses++;
	snprintf(path, sizeof(path), "/proc/%u/map_files/%llx-%llx", e->h.pid, (unsigned long long)e->start,
		 (unsigned long long)e->end);
	n = readlink(path, name, sizeof(name) - 1);
	name[n > 0 ? n : 0] = 0;
	if (u->verbose)
		fprintf(stderr, "memscope-trace: PID %u mapped %s: building its unwind table\n", e->h.pid,
			n > 0 ? name : path);
	ms_unwinder_add_file(u, path, e->dev, e->ino, n > 0 ? name : NULL);
}

void ms_unwinder_stats(const struct ms_unwinder *u, struct ms_unwind_stats *out)
{
	*out = u->st;
}

void ms_unwinder_free(struct ms_unwinder *u)
{
	if (!u)
		return;
	if (u->rows)
		munmap(u->rows, u->rows_len);
	if (u->pages)
		munmap(u->pages, u->pages_len);
	MS_VEC_FREE(u->files);
	MS_VEC_FREE(u->procs);
	free(u);
}
