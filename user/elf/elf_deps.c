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

int ms_elf_dyn_strings(Elf *elf, int (*fn)(void *user, int64_t tag, const char *s), void *user)
{
	Elf_Scn *scn = NULL;
	int ret = 0;

	while (!ret && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; d && i < n && !ret; i++) {
			GElf_Dyn dyn;
			const char *s;

			if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag == DT_NULL)
				break;
			if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RPATH && dyn.d_tag != DT_RUNPATH &&
			    dyn.d_tag != DT_SONAME && dyn.d_tag != DT_AUXILIARY && dyn.d_tag != DT_FILTER)
				continue;
			s = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
			if (s)
				ret = fn(user, dyn.d_tag, s);
		}
	}
	return ret;
}

/* What deps_of() needs of a file's dynamic section. */
struct dyn {
	const char *needed[256], *rpath, *runpath;
	size_t nneeded;
};

static int dyn_entry(void *user, int64_t tag, const char *s)
{
	struct dyn *d = user;

	if (tag == DT_NEEDED && d->nneeded < sizeof(d->needed) / sizeof(d->needed[0]))
		d->needed[d->nneeded++] = s;
	else if (tag == DT_RPATH)
		d->rpath = s;
	else if (tag == DT_RUNPATH)
		d->runpath = s;
	return 0;
}

static void deps_of(struct walk *w, const char *path)
{
	static const char defaults[] = "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:"
				       "/usr/lib64:/lib:/usr/lib:/usr/local/lib";
	struct dyn dyn = { .nneeded = 0 };
	char origin[PATH_MAX], tmp[PATH_MAX];
	size_t i, n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;

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
	ms_elf_dyn_strings(elf, dyn_entry, &dyn);
	for (i = 0; i < dyn.nneeded; i++) {
		const char *name = dyn.needed[i];

		if (strchr(name, '/')) {
			add(w, name);
			continue;
		}
		/* ld.so: DT_RPATH only without DT_RUNPATH */
		if ((!dyn.runpath && search(w, dyn.rpath, origin, name)) ||
		    search(w, getenv("LD_LIBRARY_PATH"), origin, name) ||
		    search(w, dyn.runpath, origin, name) || search(w, defaults, origin, name))
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
