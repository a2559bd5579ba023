/* SPDX-License-Identifier: BSD-3-Clause */
/* ldso.c - the dynamic linker's start-up, worked out ahead of it. See ldso.h
 * for the rules followed and the ones left out. */
#define _GNU_SOURCE
#include "elf/ldso.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "elf/elf_syms.h"

#define DF_1_NODEFLIB_ 0x800

/* Debian's multiarch layout: what `ld.so --help` lists as the system
 * search path, and what $LIB stands for. */
static const char *const system_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib", NULL,
};
#define DST_LIB "lib/x86_64-linux-gnu"
#define DST_PLATFORM "x86_64"

/* What ld.so reads of one object. */
struct obj {
	char *path;   /* in the program's view */
	char *soname; /* DT_SONAME or NULL */
	char **needed;
	size_t nneeded;
	char *rpath, *runpath;
	int nodeflib;
	int loader;   /* index of the object that needed it, -1 for the executable */
	dev_t dev;
	ino_t ino;
};

struct ctx {
	const struct ms_ldso_env *env;
	struct obj *o;
	size_t n, cap;
	const uint8_t *cache; /* /etc/ld.so.cache, mapped */
	size_t cache_len;
	int hwcaps[3];        /* x86-64-v4, v3, v2 supported */
};

static void full_path(const struct ctx *c, const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", c->env->root ? c->env->root : "", path);
}

/* The dynamic section of an ELF file: strings copied out. 0, -ENOEXEC
 * (not a 64-bit x86-64 ELF), or -errno. interp (may be NULL) gets
 * PT_INTERP. */
static int read_dynamic(const char *file, struct obj *o, char *interp, size_t ilen)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC), err = 0;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	size_t i, np;
	struct stat st;
	Elf *e;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOEXEC;
	}
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
		err = -ENOEXEC;
		goto out;
	}
	if (interp && !elf_getphdrnum(e, &np)) {
		interp[0] = 0;
		for (i = 0; i < np; i++) {
			GElf_Phdr ph;
			size_t got = 0;
			const char *raw;

			if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_INTERP)
				continue;
			raw = elf_rawfile(e, &got);
			if (raw && ph.p_offset < got && ph.p_filesz < ilen && ph.p_offset + ph.p_filesz <= got)
				snprintf(interp, ilen, "%.*s", (int)ph.p_filesz, raw + ph.p_offset);
		}
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Dyn dyn;
			const char *s;
			char **nv;

			if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag == DT_NULL)
				break;
			if (dyn.d_tag == DT_FLAGS_1) {
				o->nodeflib = (dyn.d_un.d_val & DF_1_NODEFLIB_) != 0;
				continue;
			}
			if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RPATH && dyn.d_tag != DT_RUNPATH &&
			    dyn.d_tag != DT_SONAME)
				continue;
			s = elf_strptr(e, sh.sh_link, dyn.d_un.d_val);
			if (!s)
				continue;
			if (dyn.d_tag == DT_RPATH && !o->rpath)
				o->rpath = strdup(s);
			else if (dyn.d_tag == DT_RUNPATH && !o->runpath)
				o->runpath = strdup(s);
			else if (dyn.d_tag == DT_SONAME && !o->soname)
				o->soname = strdup(s);
			else if (dyn.d_tag == DT_NEEDED &&
				 (nv = realloc(o->needed, (o->nneeded + 1) * sizeof(*nv)))) {
				o->needed = nv;
				if ((nv[o->nneeded] = strdup(s)))
					o->nneeded++;
			}
		}
	}
out:
	if (e)
		elf_end(e);
	close(fd);
	return err;
}

static void obj_free(struct obj *o)
{
	size_t i;

	for (i = 0; i < o->nneeded; i++)
		free(o->needed[i]);
	free(o->needed);
	free(o->path);
	free(o->soname);
	free(o->rpath);
	free(o->runpath);
}

/* ---- /etc/ld.so.cache (the format ldconfig writes since glibc 2.32) ----- */

#define CACHE_MAGIC "glibc-ld.so.cache1.1"
#define CACHE_HDR 48     /* magic, version, nlibs, len_strings, flags, ext, unused */
#define CACHE_ENTRY 24   /* flags, key, value, osversion, hwcap */
#define CACHE_X8664 0x0303 /* FLAG_ELF_LIBC6 | FLAG_X8664_LIB64 */
#define CACHE_HWCAP_EXT (1ull << 62) /* hwcap: index of a glibc-hwcaps subdirectory */
#define CACHE_EXT_MAGIC 0xeaa42174u
#define CACHE_EXT_HWCAPS 1u

static void cache_open(struct ctx *c)
{
	char path[PATH_MAX];
	struct stat st;
	void *p;
	int fd;

	full_path(c, "/etc/ld.so.cache", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (!fstat(fd, &st) && st.st_size > CACHE_HDR &&
	    (p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) != MAP_FAILED) {
		if (!memcmp(p, CACHE_MAGIC, sizeof(CACHE_MAGIC) - 1)) {
			c->cache = p;
			c->cache_len = (size_t)st.st_size;
		} else {
			munmap(p, (size_t)st.st_size);
		}
	}
	close(fd);
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static const char *cache_str(const struct ctx *c, uint32_t off)
{
	if (off >= c->cache_len || !memchr(c->cache + off, 0, c->cache_len - off))
		return NULL;
	return (const char *)c->cache + off;
}

/* The glibc-hwcaps subdirectory name of extension index idx, or NULL. */
static const char *cache_hwcap_name(const struct ctx *c, uint32_t idx)
{
	uint32_t ext = rd32(c->cache + 32), n, i;

	if (!ext || ext + 16 > c->cache_len || rd32(c->cache + ext) != CACHE_EXT_MAGIC)
		return NULL;
	n = rd32(c->cache + ext + 4);
	for (i = 0; i < n && ext + 8 + 12 * (i + 1) <= c->cache_len; i++) {
		const uint8_t *sec = c->cache + ext + 8 + 12 * i;
		uint32_t off = rd32(sec + 4), size = rd32(sec + 8);

		if (rd32(sec) == CACHE_EXT_HWCAPS && idx < size / 4 && off + size <= c->cache_len)
			return cache_str(c, rd32(c->cache + off + 4 * idx));
	}
	return NULL;
}

/* Rank of a glibc-hwcaps subdirectory for this CPU: 3 for x86-64-v4 ...
 * 1 for x86-64-v2, 0 if unknown or not supported. */
static int hwcap_rank(const struct ctx *c, const char *name)
{
	static const char *const lv[] = { "x86-64-v4", "x86-64-v3", "x86-64-v2" };
	int i;

	for (i = 0; name && i < 3; i++)
		if (!strcmp(name, lv[i]))
			return c->hwcaps[i] ? 3 - i : 0;
	return 0;
}

/* The path the cache gives for `name`: the entry of the best supported
 * glibc-hwcaps level, else the plain one. */
static const char *cache_lookup(const struct ctx *c, const char *name)
{
	uint32_t nlibs, i;
	const char *best = NULL;
	int best_rank = -1;

	if (!c->cache)
		return NULL;
	nlibs = rd32(c->cache + 20);
	for (i = 0; i < nlibs && CACHE_HDR + (size_t)CACHE_ENTRY * (i + 1) <= c->cache_len; i++) {
		const uint8_t *en = c->cache + CACHE_HDR + (size_t)CACHE_ENTRY * i;
		const char *key = cache_str(c, rd32(en + 4)), *val;
		uint64_t hwcap;
		int rank = 0;

		if ((rd32(en) & 0xffff) != CACHE_X8664 || !key || strcmp(key, name))
			continue;
		memcpy(&hwcap, en + 16, 8);
		if (hwcap & CACHE_HWCAP_EXT) {
			rank = hwcap_rank(c, cache_hwcap_name(c, (uint32_t)hwcap));
			if (!rank)
				continue;
		} else if (hwcap) {
			continue; /* legacy hwcaps: not modelled */
		}
		val = cache_str(c, rd32(en + 8));
		if (val && rank > best_rank) {
			best = val;
			best_rank = rank;
		}
	}
	return best;
}

/* ---- searching ---------------------------------------------------------- */

static int loaded(const struct ctx *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		const char *base = strrchr(c->o[i].path, '/');

		if (!strcmp(c->o[i].path, name) || (c->o[i].soname && !strcmp(c->o[i].soname, name)) ||
		    (!strchr(name, '/') && base && !strcmp(base + 1, name) && i > 0))
			return 1;
	}
	return 0;
}

/* Try file `path` (program's view): a new object if it is a 64-bit x86-64
 * ELF not loaded yet. 1 found (added or already there), 0 not usable. */
static int try_file(struct ctx *c, const char *path, int loader)
{
	char full[PATH_MAX];
	struct obj o = { .loader = loader };
	size_t i;

	full_path(c, path, full, sizeof(full));
	if (access(full, F_OK) || read_dynamic(full, &o, NULL, 0)) {
		obj_free(&o);
		return 0;
	}
	for (i = 0; i < c->n; i++) {
		if (c->o[i].dev == o.dev && c->o[i].ino == o.ino) {
			obj_free(&o);
			return 1; /* the same file under another name */
		}
	}
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;
		struct obj *no = realloc(c->o, ncap * sizeof(*no));

		if (!no) {
			obj_free(&o);
			return 0;
		}
		c->o = no;
		c->cap = ncap;
	}
	o.path = strdup(path);
	if (!o.path) {
		obj_free(&o);
		return 0;
	}
	c->o[c->n++] = o;
	return 1;
}

/* The directory ld.so uses for $ORIGIN of object i. */
static void origin_of(const struct ctx *c, size_t i, char *buf, size_t len)
{
	char full[PATH_MAX], real[PATH_MAX];
	const char *p = c->o[i].path;
	char *slash;

	/* Symbolic links resolved, like ld.so (l_origin), when the file is
	 * in our own view of the file system. */
	full_path(c, p, full, sizeof(full));
	if ((!c->env->root || !*c->env->root) && realpath(full, real))
		p = real;
	snprintf(buf, len, "%s", p);
	slash = strrchr(buf, '/');
	if (slash)
		*(slash == buf ? slash + 1 : slash) = 0;
}

/* Copy `dir` into out with $ORIGIN, $LIB and $PLATFORM expanded. */
static void expand(const struct ctx *c, size_t obj, const char *dir, size_t dlen, char *out, size_t len)
{
	static const struct { const char *tok; int braces; } toks[] = {
		{ "ORIGIN", 0 }, { "LIB", 0 }, { "PLATFORM", 0 },
	};
	size_t o = 0, i = 0, k;

	while (i < dlen && o + 1 < len) {
		int done = 0;

		if (dir[i] == '$') {
			for (k = 0; k < sizeof(toks) / sizeof(toks[0]) && !done; k++) {
				size_t tl = strlen(toks[k].tok), skip = 0;
				char val[PATH_MAX];

				if (i + 1 + tl <= dlen && !strncmp(dir + i + 1, toks[k].tok, tl))
					skip = 1 + tl;
				else if (i + 3 + tl <= dlen && dir[i + 1] == '{' &&
					 !strncmp(dir + i + 2, toks[k].tok, tl) && dir[i + 2 + tl] == '}')
					skip = 3 + tl;
				if (!skip)
					continue;
				if (k == 0)
					origin_of(c, obj, val, sizeof(val));
				else
					snprintf(val, sizeof(val), "%s", k == 1 ? DST_LIB : DST_PLATFORM);
				o += (size_t)snprintf(out + o, len - o, "%s", val);
				if (o >= len)
					o = len - 1;
				i += skip;
				done = 1;
			}
		}
		if (!done)
			out[o++] = dir[i++];
	}
	out[o] = 0;
}

/* Look for `name` in one directory, its supported glibc-hwcaps
 * subdirectories first. */
static int try_dir(struct ctx *c, const char *dir, const char *name, int loader)
{
	static const char *const lv[] = { "x86-64-v4", "x86-64-v3", "x86-64-v2" };
	char path[PATH_MAX];
	int i;

	if (!*dir)
		dir = "."; /* an empty entry is the current directory */
	for (i = 0; i < 3; i++) {
		if (!c->hwcaps[i])
			continue;
		snprintf(path, sizeof(path), "%s/glibc-hwcaps/%s/%s", dir, lv[i], name);
		if (try_file(c, path, loader))
			return 1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return try_file(c, path, loader);
}

/* Each directory of a search path (':' or ';' separated), expanded for
 * object `obj`. */
static int try_path(struct ctx *c, const char *list, size_t obj, const char *name, int loader)
{
	const char *p = list;

	while (p) {
		const char *end = p + strcspn(p, ":;");
		char dir[PATH_MAX];

		expand(c, obj, p, (size_t)(end - p), dir, sizeof(dir));
		if (try_dir(c, dir, name, loader))
			return 1;
		p = *end ? end + 1 : NULL;
	}
	return 0;
}

/* ld.so's _dl_map_object() for a name needed by object `loader` (-1: a
 * preloaded name, looked up for the executable). */
static int search(struct ctx *c, const char *name, int loader)
{
	size_t who = loader < 0 ? 0 : (size_t)loader;
	const char *hit;
	int l, i;

	if (strchr(name, '/')) {
		char path[PATH_MAX];

		if (name[0] == '/' || !c->env->cwd)
			snprintf(path, sizeof(path), "%s", name);
		else
			snprintf(path, sizeof(path), "%s/%s", c->env->cwd, name);
		return try_file(c, path, loader);
	}
	/* DT_RPATH of the loader and its loaders, while no DT_RUNPATH */
	if (!c->o[who].runpath) {
		for (l = (int)who; l >= 0; l = c->o[l].loader) {
			if (c->o[l].rpath && !c->o[l].runpath &&
			    try_path(c, c->o[l].rpath, (size_t)l, name, loader))
				return 1;
			if (l == 0)
				break;
		}
	}
	if (c->env->ld_library_path && try_path(c, c->env->ld_library_path, 0, name, loader))
		return 1;
	if (c->o[who].runpath && try_path(c, c->o[who].runpath, who, name, loader))
		return 1;
	if (c->o[who].nodeflib)
		return 0;
	hit = cache_lookup(c, name);
	if (hit && try_file(c, hit, loader))
		return 1;
	for (i = 0; system_dirs[i]; i++)
		if (try_dir(c, system_dirs[i], name, loader))
			return 1;
	return 0;
}

/* Names in a preload list: separated by spaces, tabs, colons or newlines. */
static void preload(struct ctx *c, const char *list)
{
	const char *p = list;

	while (p && *p) {
		size_t n = strcspn(p, " \t:\n");
		char name[PATH_MAX];

		if (n && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = 0;
			if (!loaded(c, name))
				search(c, name, -1);
		}
		p += n;
		p += strspn(p, " \t:\n");
	}
}

static char *read_small(const struct ctx *c, const char *path)
{
	char full[PATH_MAX], *buf;
	ssize_t n;
	int fd;

	full_path(c, path, full, sizeof(full));
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(65536);
	n = buf ? read(fd, buf, 65535) : -1;
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	return buf;
}

int ms_ldso_resolve(const char *exe, const struct ms_ldso_env *env, struct ms_ldso_objs *out)
{
	struct ctx c = { .env = env };
	char full[PATH_MAX], *etc;
	struct obj main = { .loader = -1 };
	size_t i, k;
	int err;

	memset(out, 0, sizeof(*out));
	c.hwcaps[0] = __builtin_cpu_supports("x86-64-v4");
	c.hwcaps[1] = __builtin_cpu_supports("x86-64-v3");
	c.hwcaps[2] = __builtin_cpu_supports("x86-64-v2");
	full_path(&c, exe, full, sizeof(full));
	err = read_dynamic(full, &main, out->interp, sizeof(out->interp));
	if (err) {
		obj_free(&main);
		return err;
	}
	main.path = strdup(exe);
	c.o = malloc(16 * sizeof(*c.o));
	if (!main.path || !c.o) {
		obj_free(&main);
		free(c.o);
		return -ENOMEM;
	}
	c.cap = 16;
	c.o[c.n++] = main;
	if (out->interp[0]) {
		cache_open(&c);
		preload(&c, env->ld_preload);
		if ((etc = read_small(&c, "/etc/ld.so.preload"))) {
			preload(&c, etc);
			free(etc);
		}
		/* breadth first: each object's needs after those of the ones
		 * before it; c.n grows as the loop runs */
		for (i = 0; i < c.n; i++)
			for (k = 0; k < c.o[i].nneeded; k++)
				if (!loaded(&c, c.o[i].needed[k]))
					search(&c, c.o[i].needed[k], (int)i);
	}
	if (c.cache)
		munmap((void *)c.cache, c.cache_len);
	out->path = calloc(c.n, sizeof(*out->path));
	for (i = 0; i < c.n; i++) {
		if (out->path) {
			out->path[i] = c.o[i].path;
			c.o[i].path = NULL;
		}
		obj_free(&c.o[i]);
	}
	free(c.o);
	if (!out->path)
		return -ENOMEM;
	out->n = c.n;
	return 0;
}

void ms_ldso_objs_free(struct ms_ldso_objs *o)
{
	size_t i;

	for (i = 0; o->path && i < o->n; i++)
		free(o->path[i]);
	free(o->path);
	memset(o, 0, sizeof(*o));
}

int ms_ldso_debug_hook(const char *path, uint64_t *off, int64_t *r_debug_delta)
{
	struct ms_elf *e = ms_elf_open(path);
	struct ms_elf_func fn, rd;
	int err;

	if (!e)
		return -errno;
	err = ms_elf_find_func(e, "_dl_debug_state", &fn);
	if (!err) {
		*off = fn.file_off;
		*r_debug_delta = ms_elf_find_object(e, "_r_debug", &rd) ? 0 :
				 (int64_t)(rd.vaddr - fn.vaddr);
	}
	ms_elf_close(e);
	return err;
}
