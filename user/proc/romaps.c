/* SPDX-License-Identifier: BSD-3-Clause */
/* romaps.c - see romaps.h. */
#define _GNU_SOURCE
#include "proc/romaps.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proc/procmaps.h"

#define MAX_PIDS 8192  /* then the oldest process's mappings are dropped */
#define MAX_FILES 1024 /* files kept open */

struct romap {
	uint64_t start, end, off;
	size_t file; /* index in ms_romaps.f */
};

struct ropid {
	pid_t pid;
	struct romap *m;
	size_t n;
};

struct rofile {
	dev_t dev;
	ino_t ino;
	int fd;
};

struct ms_romaps {
	struct ropid *p;
	size_t np, capp;
	struct rofile *f;
	size_t nf, capf;
};

struct ms_romaps *ms_romaps_new(void)
{
	return calloc(1, sizeof(struct ms_romaps));
}

void ms_romaps_free(struct ms_romaps *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->np; i++)
		free(r->p[i].m);
	for (i = 0; i < r->nf; i++)
		close(r->f[i].fd);
	free(r->p);
	free(r->f);
	free(r);
}

static struct ropid *find_pid(const struct ms_romaps *r, pid_t pid)
{
	size_t i;

	for (i = r->np; i-- > 0;)
		if (r->p[i].pid == pid)
			return &r->p[i];
	return NULL;
}

/* The pid's slot, new and empty if it had none. */
static struct ropid *slot(struct ms_romaps *r, pid_t pid)
{
	struct ropid *p = find_pid(r, pid);

	if (p) {
		free(p->m);
		p->m = NULL;
		p->n = 0;
		return p;
	}
	if (r->np == MAX_PIDS) {
		free(r->p[0].m);
		memmove(r->p, r->p + 1, (r->np - 1) * sizeof(*r->p));
		r->np--;
	}
	if (r->np == r->capp) {
		size_t ncap = r->capp ? r->capp * 2 : 16;
		struct ropid *np = realloc(r->p, ncap * sizeof(*np));

		if (!np)
			return NULL;
		r->p = np;
		r->capp = ncap;
	}
	p = &r->p[r->np++];
	*p = (struct ropid){ .pid = pid };
	return p;
}

/* Index of the open file (dev, ino), opening it through pid's mapping. */
static long file_of(struct ms_romaps *r, pid_t pid, const struct ms_mapping *m)
{
	char path[4096 + 64];
	struct stat st;
	size_t i;
	int fd;

	for (i = 0; i < r->nf; i++)
		if (r->f[i].dev == m->dev && r->f[i].ino == m->ino)
			return (long)i;
	if (r->nf == MAX_FILES)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, m->start, m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, m->path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || st.st_ino != m->ino) {
		close(fd);
		return -1;
	}
	if (r->nf == r->capf) {
		size_t ncap = r->capf ? r->capf * 2 : 16;
		struct rofile *nf = realloc(r->f, ncap * sizeof(*nf));

		if (!nf) {
			close(fd);
			return -1;
		}
		r->f = nf;
		r->capf = ncap;
	}
	r->f[r->nf] = (struct rofile){ m->dev, m->ino, fd };
	return (long)r->nf++;
}

struct upd {
	struct ms_romaps *r;
	pid_t pid;
	struct romap *m;
	size_t n, cap;
};

static int upd_mapping(const struct ms_mapping *m, void *user)
{
	struct upd *u = user;
	long f;

	/* literals live in read-only file mappings */
	if (m->path[0] != '/' || m->perms[0] != 'r' || m->perms[1] != '-' || !m->ino)
		return 0;
	f = file_of(u->r, u->pid, m);
	if (f < 0)
		return 0;
	if (u->n == u->cap) {
		size_t ncap = u->cap ? u->cap * 2 : 32;
		struct romap *nm = realloc(u->m, ncap * sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		u->m = nm;
		u->cap = ncap;
	}
	u->m[u->n++] = (struct romap){ m->start, m->end, m->off, (size_t)f };
	return 0;
}

int ms_romaps_update(struct ms_romaps *r, pid_t pid)
{
	struct upd u = { .r = r, .pid = pid };
	struct ropid *p;
	/* -ESRCH for a process that has just exited (empty maps): what its
	 * literals are read from after it is gone stays as it was */
	int err = ms_maps_each(pid, upd_mapping, &u);

	if (err || !(p = slot(r, pid))) {
		free(u.m);
		return err ? err : -ENOMEM;
	}
	p->m = u.m;
	p->n = u.n;
	return 0;
}

int ms_romaps_fork(struct ms_romaps *r, pid_t parent, pid_t child)
{
	struct ropid *pp = find_pid(r, parent), *c;
	struct romap *copy;
	size_t n;

	if (!pp)
		return -ENOENT;
	n = pp->n;
	copy = malloc((n ? n : 1) * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, pp->m, n * sizeof(*copy));
	c = slot(r, child); /* may move r->p: pp is not used past here */
	if (!c) {
		free(copy);
		return -ENOMEM;
	}
	c->n = n;
	c->m = copy;
	return 0;
}

ssize_t ms_romaps_read(const struct ms_romaps *r, pid_t pid, uint64_t addr, void *buf, size_t len)
{
	const struct ropid *p = find_pid(r, pid);
	size_t i;

	for (i = 0; p && i < p->n; i++) {
		const struct romap *m = &p->m[i];
		ssize_t n;

		if (addr < m->start || addr >= m->end)
			continue;
		if (len > m->end - addr)
			len = (size_t)(m->end - addr);
		n = pread(r->f[m->file].fd, buf, len, (off_t)(m->off + (addr - m->start)));
		return n < 0 ? -errno : n;
	}
	return -ENOENT;
}
