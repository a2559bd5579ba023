/* SPDX-License-Identifier: BSD-3-Clause */
/* elf_deps.c - see elf_deps.h. */
#define _GNU_SOURCE
#include "elf/elf_deps.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILES 512

struct walk {
	char *paths[MAX_FILES];
	dev_t dev[MAX_FILES];
	ino_t ino[MAX_FILES];
	size_t n, done;
};

/* Remember path unless the same file is there already. */
static void add(struct walk *w, const char *path)
{
	struct stat st;

	if (w->n == MAX_FILES || stat(path, &st) || !S_ISREG(st.st_mode))
		return;
	for (size_t i = 0; i < w->n; i++)
		if (w->dev[i] == st.st_dev && w->ino[i] == st.st_ino)
			return;
	w->paths[w->n] = strdup(path);
	if (!w->paths[w->n])
		return;
	w->dev[w->n] = st.st_dev;
	w->ino[w->n] = st.st_ino;
	w->n++;
}

/* Try dir/name for each dir of a ':'-separated list; $ORIGIN is the
 * directory of the object that asks. 1 if found. */
static int search(struct walk *w, const char *list, const char *origin, const char *name)
{
	char *copy = list ? strdup(list) : NULL, *save = NULL, *dir, path[PATH_MAX];
	int found = 0;

	for (dir = copy ? strtok_r(copy, ":", &save) : NULL; dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		const char *o = strstr(dir, "$ORIGIN");

		if (o)
			snprintf(path, sizeof(path), "%.*s%s%s/%s", (int)(o - dir), dir, origin, o + 7, name);
		else
			snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (!access(path, R_OK)) {
			add(w, path);
			found = 1;
		}
	}
	free(copy);
	return found;
}

static void deps_of(struct walk *w, const char *path)
{
	static const char defaults[] = "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:"
				       "/usr/lib64:/lib:/usr/lib:/usr/local/lib";
	const char *needed[256], *rpath = NULL, *runpath = NULL;
	char origin[PATH_MAX], tmp[PATH_MAX];
	size_t nneeded = 0, i, n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
	Elf_Scn *scn = NULL;

	if (!elf)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(origin, sizeof(origin), "%s", dirname(tmp));
	if (!elf_getphdrnum(elf, &n)) {
		for (i = 0; i < n; i++) {
			GElf_Phdr ph;
			char interp[PATH_MAX];

			if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_INTERP || !ph.p_filesz ||
			    ph.p_filesz >= sizeof(interp) ||
			    pread(fd, interp, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz)
				continue;
			interp[ph.p_filesz] = 0;
			add(w, interp);
		}
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; d && i < n; i++) {
			GElf_Dyn dyn;
			const char *s;

			if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag == DT_NULL)
				break;
			s = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
			if (!s)
				continue;
			if (dyn.d_tag == DT_NEEDED && nneeded < sizeof(needed) / sizeof(needed[0]))
				needed[nneeded++] = s;
			else if (dyn.d_tag == DT_RPATH)
				rpath = s;
			else if (dyn.d_tag == DT_RUNPATH)
				runpath = s;
		}
	}
	for (i = 0; i < nneeded; i++) {
		const char *name = needed[i];

		if (strchr(name, '/')) {
			add(w, name);
			continue;
		}
		/* ld.so: DT_RPATH only without DT_RUNPATH */
		if ((!runpath && search(w, rpath, origin, name)) ||
		    search(w, getenv("LD_LIBRARY_PATH"), origin, name) ||
		    search(w, runpath, origin, name) || search(w, defaults, origin, name))
			continue;
	}
out:
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
}

int ms_elf_deps(const char *path, void (*cb)(const char *path, void *user), void *user)
{
	struct walk *w = calloc(1, sizeof(*w));
	int n;

	if (!w)
		return -ENOMEM;
	elf_version(EV_CURRENT);
	add(w, path);
	if (!w->n) {
		free(w);
		return -ENOENT;
	}
	/* breadth first: w->n grows as libraries are found */
	for (w->done = 0; w->done < w->n; w->done++)
		deps_of(w, w->paths[w->done]);
	for (size_t i = 0; i < w->n; i++) {
		cb(w->paths[i], user);
		free(w->paths[i]);
	}
	n = (int)w->n;
	free(w);
	return n;
}
