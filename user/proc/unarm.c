/* SPDX-License-Identifier: BSD-3-Clause */
/* unarm.c - see unarm.h. */
#define _GNU_SOURCE
#include "proc/unarm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "proc/procmaps.h"

struct unarm {
	pid_t pid;
	dev_t dev;
	ino_t ino;
	const uint64_t *offs;
	size_t n;
	int mem;      /* /proc/PID/mem, read-write */
	int restored;
};

static int unarm_mapping(const struct ms_mapping *m, void *user)
{
	struct unarm *u = user;
	char path[128];
	size_t i;
	int fd = -1;

	if (m->dev != u->dev || m->ino != u->ino || m->perms[2] != 'x')
		return 0;
	for (i = 0; i < u->n; i++) {
		uint64_t off = u->offs[i], addr;
		uint8_t now, orig;

		if (off < m->off || off >= m->off + (m->end - m->start))
			continue;
		addr = m->start + (off - m->off);
		if (pread(u->mem, &now, 1, (off_t)addr) != 1 || now != 0xcc)
			continue;
		/* the very file mapped there, whatever its path now */
		if (fd < 0) {
			snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)u->pid,
				 m->start, m->end);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				return 0;
		}
		if (pread(fd, &orig, 1, (off_t)off) == 1 && orig != 0xcc &&
		    pwrite(u->mem, &orig, 1, (off_t)addr) == 1)
			u->restored++;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

int ms_proc_unarm(pid_t pid, dev_t dev, ino_t ino, const uint64_t *offs, size_t n)
{
	struct unarm u = { .pid = pid, .dev = dev, .ino = ino, .offs = offs, .n = n };
	char path[64];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	u.mem = open(path, O_RDWR | O_CLOEXEC);
	if (u.mem < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	err = ms_maps_each(pid, unarm_mapping, &u);
	close(u.mem);
	return err ? err : u.restored;
}
