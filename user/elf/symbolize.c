/* SPDX-License-Identifier: BSD-3-Clause */
/* symbolize.c - addresses to function/file/line with libdwfl, from a
 * snapshot of the target's modules that outlives the target. */
#define _GNU_SOURCE
#include "elf/symbolize.h"
#include "proc/procmaps.h"
#include "util/vec.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Weak, so that plain C builds link without libstdc++ (names then stay
 * mangled) and builds that link it demangle. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len,
			    int *status) __attribute__((weak));

#define CHUNK_SIZE 16384
#define AUTO_REFRESH_NS 50000000ull
#define MAX_INLINE 16 /* frames one address expands to, its function included */

/* Strings handed out, and module records, live in append-only chunks so
 * that dropping dwfl modules or cache entries never leaves them dangling. */
struct chunk {
	struct chunk *next;
	size_t used, size;
	char data[];
};

/* One address range of a compile unit (DWARF addresses). */
struct cu_range {
	Dwarf_Addr lo, hi;
	Dwarf_Off die;
};

/* Kept in the Dwfl_Module's userdata slot, and on a list for _free. */
struct mod_info {
	const char *path;
	dev_t dev;
	ino_t ino;
	uint64_t bias;
	bool loaded, indexed, mapped;
	/* the load as pprof describes it (see mod_mapping) */
	uint64_t map_start, map_end, map_offset;
	const char *build_id;
	struct cu_range *cus; /* sorted by lo; see line_fallback() */
	size_t ncus;
	struct mod_info *next;
};

struct entry {
	struct ms_frame f; /* f.ip is the key */
	int rc;
	bool used;
	bool inl_done;        /* inl/ninl computed */
	uint8_t ninl;         /* frames in inl (0: just f) */
	struct ms_frame *inl; /* inline chain, innermost first (arena) */
};

struct ms_symbolizer {
	pid_t pid;
	int pidfd;      /* -1 if pidfd_open is missing: pid reuse unnoticed */
	bool gone;      /* the process exited: never re-read its maps */
	uint64_t maps_digest; /* of the maps last applied (ms_maps_digest) */
	uint64_t last_auto_ns;
	Dwfl *dwfl;
	Dwfl_Callbacks cb; /* dwfl_begin keeps a pointer to it */
	struct mod_info *mods; /* every module ever reported */
	struct chunk *arena;
	struct entry *tab; /* open addressing, linear probing, cap = 2^k */
	size_t cap, n;
};

static void *arena_alloc(struct ms_symbolizer *s, size_t len)
{
	struct chunk *c = s->arena;

	len = (len + 7) & ~(size_t)7;
	if (!c || c->size - c->used < len) {
		size_t size = len > CHUNK_SIZE ? len : CHUNK_SIZE;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->next = s->arena;
		c->used = 0;
		c->size = size;
		s->arena = c;
	}
	c->used += len;
	return c->data + c->used - len;
}

static const char *arena_str(struct ms_symbolizer *s, const char *str)
{
	size_t len = str ? strlen(str) + 1 : 0;
	char *p = str ? arena_alloc(s, len) : NULL;

	return p ? memcpy(p, str, len) : NULL;
}

static const char *func_name(struct ms_symbolizer *s, const char *name)
{
	char *d = NULL;
	const char *r;
	int status;

	if (name && !strncmp(name, "_Z", 2) && __cxa_demangle)
		d = __cxa_demangle(name, NULL, NULL, &status);
	r = arena_str(s, d ? d : name);
	free(d);
	return r;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The pidfd turns readable once the process has exited; checked after each
 * maps read, it also proves the maps were not those of a recycled pid. */
static bool alive(const struct ms_symbolizer *s)
{
	struct pollfd p = { .fd = s->pidfd, .events = POLLIN };

	return s->pidfd < 0 || poll(&p, 1, 0) == 0;
}

static struct mod_info *mod_info(Dwfl_Module *dm)
{
	void **ud = NULL;

	dwfl_module_info(dm, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
	return ud ? *ud : NULL;
}

/* The module already reported for this load of the file, if any. */
static Dwfl_Module *same_module(struct ms_symbolizer *s,
				const struct ms_module *m)
{
	Dwfl_Module *dm = dwfl_addrmodule(s->dwfl, m->exec_start);
	struct mod_info *mi = dm ? mod_info(dm) : NULL;

	if (mi && mi->dev == m->dev && mi->ino == m->ino && mi->bias == m->bias)
		return dm;
	return NULL;
}

/* Called only between dwfl_report_begin and _end. dwfl takes the fd. */
static bool report_new(struct ms_symbolizer *s, const struct ms_module *m)
{
	struct mod_info *mi = arena_alloc(s, sizeof(*mi));
	int fd = open(m->open_path, O_RDONLY | O_CLOEXEC);
	Dwfl_Module *dm = NULL;
	void **ud;

	if (mi && fd >= 0)
		dm = dwfl_report_elf(s->dwfl, m->path, m->open_path, fd,
				     m->bias, true);
	if (!dm) { /* not ELF, unreadable or OOM: the module stays unknown */
		if (fd >= 0)
			close(fd);
		return false;
	}
	*mi = (struct mod_info){ .path = arena_str(s, m->path), .dev = m->dev,
				 .ino = m->ino, .bias = m->bias,
				 .next = s->mods };
	s->mods = mi;
	dwfl_module_info(dm, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
	*ud = mi;
	return true;
}

static int on_removed(Dwfl_Module *dm, void *ud, const char *name,
		      Dwarf_Addr start, void *arg)
{
	(void)dm, (void)ud, (void)name, (void)start;
	*(bool *)arg = true;
	return DWARF_CB_OK;
}

/* Load symbols and DWARF now, while /proc/PID/root still resolves the
 * .gnu_debuglink and .debug directories next to the file. */
static __attribute__((unused)) int load_debug(Dwfl_Module *dm, void **ud, const char *name,
		      Dwarf_Addr start, void *arg)
{
	struct mod_info *mi = *ud;
	Dwarf_Addr bias;

	(void)name, (void)start, (void)arg;
	if (mi && !mi->loaded) {
		dwfl_module_getdwarf(dm, &bias);
		dwfl_module_getsymtab(dm);
		mi->loaded = true;
	}
	return DWARF_CB_OK;
}

/* Make the module set m's: keep what is unchanged, load what is new, drop
 * what is gone. */
static int apply_maps(struct ms_symbolizer *s, const struct ms_maps *m)
{
	Dwfl_Module **keep = calloc(m->n + 1, sizeof(*keep));
	bool changed = false;

	if (!keep)
		return -ENOMEM;
	/* Look the old modules up before reporting: dwfl forbids lookups
	 * during a report session. */
	for (size_t i = 0; i < m->n; i++)
		if (m->mods[i].exec_start)
			keep[i] = same_module(s, &m->mods[i]);
	dwfl_report_begin(s->dwfl);
	for (size_t i = 0; i < m->n; i++) {
		Dwarf_Addr lo, hi;
		const char *name;

		if (keep[i]) {
			name = dwfl_module_info(keep[i], NULL, &lo, &hi, NULL,
						NULL, NULL, NULL);
			dwfl_report_module(s->dwfl, name, lo, hi);
		} else if (m->mods[i].exec_start && report_new(s, &m->mods[i])) {
			changed = true;
		}
	}
	dwfl_report_end(s->dwfl, on_removed, &changed);
	/* Debug info loads lazily at the first lookup in a module: a refresh
	 * must stay cheap, the poll loop waits on it. Module files are opened
	 * by plain path when they are ours too, so lookups work after exit. */
	if (changed && s->n) { /* misses may resolve now, hits may be stale */
		memset(s->tab, 0, s->cap * sizeof(*s->tab));
		s->n = 0;
	}
	free(keep);
	return 0;
}

static int load_maps(struct ms_symbolizer *s)
{
	struct ms_maps m = { 0 };
	uint64_t digest = ms_maps_digest(s->pid);
	int err;

	/* the same file mappings: nothing to learn, and no ELF file to open
	 * for each module (this runs every 20 ms while new stacks come) */
	if (digest && digest == s->maps_digest && alive(s))
		return 0;
	err = ms_maps_read(s->pid, &m);
	if (!err && !alive(s))
		err = -ESRCH;
	if (err)
		s->gone = err == -ESRCH;
	else if (!(err = apply_maps(s, &m)))
		s->maps_digest = digest;
	ms_maps_free(&m);
	return err;
}

static int cmp_range(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void index_cus(struct mod_info *mi, Dwarf *dw)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die die;
	size_t cap = 0;

	mi->indexed = true;
	while (dwarf_get_units(dw, cu, &cu, NULL, NULL, &die, NULL) == 0) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;

		while ((off = dwarf_ranges(&die, off, &base, &lo, &hi)) > 0) {
			/* out of memory: a partial index finds fewer lines */
			if (ms_vec_reserve((void **)&mi->cus, &cap, sizeof(*mi->cus), mi->ncus + 1))
				goto sort;
			mi->cus[mi->ncus++] = (struct cu_range){
				lo, hi, dwarf_dieoffset(&die) };
		}
	}
sort:
	qsort(mi->cus, mi->ncus, sizeof(*mi->cus), cmp_range);
}

/* elfutils 0.188 maps addresses to compile units through .debug_aranges
 * only, and clang does not emit that section: without this, clang-built
 * code gets no file or line. Built on first use per module, O(CUs).
 * ip is a DWARF address (bias removed). */
static bool cu_fallback(struct mod_info *mi, Dwarf *dw, uint64_t ip, Dwarf_Die *die)
{
	size_t lo = 0, hi;

	if (!mi->indexed)
		index_cus(mi, dw);
	for (hi = mi->ncus; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (mi->cus[mid].lo <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && ip < mi->cus[lo - 1].hi && dwarf_offdie(dw, mi->cus[lo - 1].die, die);
}

static Dwarf_Line *line_fallback(struct mod_info *mi, Dwfl_Module *dm,
				 uint64_t ip)
{
	Dwarf_Addr bias;
	Dwarf *dw = dwfl_module_getdwarf(dm, &bias);
	Dwarf_Die die;

	if (!dw || !cu_fallback(mi, dw, ip - bias, &die))
		return NULL;
	return dwarf_getsrc_die(&die, ip - bias);
}

/* The compile unit DIE that covers ip (a run-time address); *bias is set. */
static bool cu_die(struct mod_info *mi, Dwfl_Module *dm, uint64_t ip, Dwarf_Die *die,
		   Dwarf_Addr *bias)
{
	Dwarf_Die *cu = dwfl_module_addrdie(dm, ip, bias);
	Dwarf *dw;

	if (cu) {
		*die = *cu;
		return true;
	}
	dw = dwfl_module_getdwarf(dm, bias);
	return dw && cu_fallback(mi, dw, ip - *bias, die);
}

static struct entry *slot(struct ms_symbolizer *s, uint64_t ip)
{
	size_t mask = s->cap - 1;
	size_t i = (size_t)((ip * 0x9e3779b97f4a7c15ull) >> 32) & mask;

	while (s->tab[i].used && s->tab[i].f.ip != ip)
		i = (i + 1) & mask;
	return &s->tab[i];
}

static int cache_put(struct ms_symbolizer *s, const struct ms_frame *f,
		     int rc)
{
	if ((s->n + 1) * 2 > s->cap) {
		size_t ocap = s->cap, ncap = ocap ? ocap * 2 : 256;
		struct entry *old = s->tab, *tab = calloc(ncap, sizeof(*tab));

		if (!tab)
			return -ENOMEM;
		s->tab = tab;
		s->cap = ncap;
		for (size_t i = 0; i < ocap; i++)
			if (old[i].used)
				*slot(s, old[i].f.ip) = old[i];
		free(old);
	}
	*slot(s, f->ip) = (struct entry){ .f = *f, .rc = rc, .used = true };
	s->n++;
	return 0;
}

/* The load's address range, the file offset at its start (that of the
 * lowest PT_LOAD, moved down as its address was) and the build id: what a
 * pprof Mapping needs. Once per module, on its first lookup. */
static void mod_mapping(struct ms_symbolizer *s, struct mod_info *mi, Dwfl_Module *dm)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *bits;
	Dwarf_Addr lo = 0, hi = 0, bias = 0, vaddr;
	char id[2 * 64 + 1];
	Elf *elf;
	size_t i, nph;
	int len;

	mi->mapped = true;
	dwfl_module_info(dm, NULL, &lo, &hi, NULL, NULL, NULL, NULL);
	mi->map_start = lo;
	mi->map_end = hi;
	elf = dwfl_module_getelf(dm, &bias);
	if (elf && elf_getphdrnum(elf, &nph) == 0) {
		for (i = 0; i < nph; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
				continue;
			if (lo - bias <= ph.p_vaddr && ph.p_vaddr - (lo - bias) <= ph.p_offset)
				mi->map_offset = ph.p_offset - (ph.p_vaddr - (lo - bias));
			break;
		}
	}
	len = dwfl_module_build_id(dm, &bits, &vaddr);
	if (len > 0 && len <= 64) {
		for (i = 0; i < (size_t)len; i++) {
			id[2 * i] = hex[bits[i] >> 4];
			id[2 * i + 1] = hex[bits[i] & 15];
		}
		id[2 * len] = 0;
		mi->build_id = arena_str(s, id);
	}
}

/* -ENOENT if in no module; -EAGAIN if, in addition, the maps were not
 * re-read (rate limit), so the miss must not be cached. */
static int resolve(struct ms_symbolizer *s, uint64_t ip, struct ms_frame *f)
{
	Dwfl_Module *dm = dwfl_addrmodule(s->dwfl, ip);
	struct mod_info *mi;
	Dwarf_Addr bias = 0;
	const char *file;
	Dwarf_Line *dl;
	Dwfl_Line *line;
	GElf_Off off;
	GElf_Sym sym;

	*f = (struct ms_frame){ .ip = ip };
	if (!dm && !s->gone) {
		uint64_t now = now_ns();

		if (s->last_auto_ns && now - s->last_auto_ns < AUTO_REFRESH_NS)
			return -EAGAIN;
		s->last_auto_ns = now;
		load_maps(s);
		dm = dwfl_addrmodule(s->dwfl, ip);
	}
	if (!dm)
		return -ENOENT;
	mi = mod_info(dm);
	f->module = mi->path;
	if (!mi->mapped)
		mod_mapping(s, mi, dm);
	f->map_start = mi->map_start;
	f->map_end = mi->map_end;
	f->map_offset = mi->map_offset;
	f->build_id = mi->build_id;
	if (dwfl_module_getelf(dm, &bias))
		f->offset = ip - bias;
	f->function = func_name(s, dwfl_module_addrinfo(dm, ip, &off, &sym,
							NULL, NULL, NULL));
	line = dwfl_module_getsrc(dm, ip);
	if (line) {
		file = dwfl_lineinfo(line, NULL, &f->line, NULL, NULL, NULL);
	} else if ((dl = line_fallback(mi, dm, ip))) {
		file = dwarf_linesrc(dl, NULL, NULL);
		dwarf_lineno(dl, &f->line);
	} else {
		file = NULL;
	}
	f->file = arena_str(s, file);
	return 0;
}

/* The name an inlined subroutine has in DWARF (on its abstract origin):
 * what valgrind and addr2line -i show for inline frames. */
static const char *inline_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;

	return dwarf_attr_integrate(die, DW_AT_name, &a) ? dwarf_formstring(&a) : NULL;
}

/* Where an inlined subroutine was called from: its DW_AT_call_file and
 * DW_AT_call_line, the position of the frame around it. */
static void call_site(Dwarf_Die *die, Dwarf_Die *cu, const char **file, int *line)
{
	Dwarf_Attribute a;
	Dwarf_Word v;
	Dwarf_Files *files;
	size_t nfiles;

	*file = NULL;
	*line = 0;
	if (dwarf_attr(die, DW_AT_call_file, &a) && dwarf_formudata(&a, &v) == 0 &&
	    dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && v < nfiles)
		*file = dwarf_filesrc(files, v, NULL, NULL);
	if (dwarf_attr(die, DW_AT_call_line, &a) && dwarf_formudata(&a, &v) == 0 && v <= INT32_MAX)
		*line = (int)v;
}

/* The functions inlined at base->ip, innermost first, then base's own
 * function at the call site of the outermost of them: out[0] has base's
 * file and line. Returns the frames filled (1 when nothing is inlined). */
static int inline_chain(struct ms_symbolizer *s, const struct ms_frame *base, struct ms_frame *out,
			int max)
{
	Dwfl_Module *dm = dwfl_addrmodule(s->dwfl, base->ip);
	struct mod_info *mi = dm ? mod_info(dm) : NULL;
	Dwarf_Die cu, *scopes = NULL;
	Dwarf_Addr bias;
	const char *file = base->file;
	int line = base->line, n = 0, nscopes, i;

	/* dwarf_getscopes() gives the innermost scope at the address, but past
	 * an inlined subroutine it goes on in the inlined function's abstract
	 * tree; the frames are the concrete DIE's parents (as eu-addr2line -i) */
	if (mi && cu_die(mi, dm, base->ip, &cu, &bias) &&
	    dwarf_getscopes(&cu, base->ip - bias, &scopes) > 0) {
		Dwarf_Die inner = scopes[0];

		free(scopes);
		scopes = NULL;
		nscopes = dwarf_getscopes_die(&inner, &scopes);
	} else {
		nscopes = 0;
	}
	if (nscopes > 0) {
		for (i = 0; i < nscopes && n < max - 1; i++) {
			int tag = dwarf_tag(&scopes[i]);

			if (tag == DW_TAG_subprogram)
				break;
			if (tag != DW_TAG_inlined_subroutine)
				continue;
			out[n] = *base;
			out[n].function = arena_str(s, inline_name(&scopes[i]));
			out[n].file = file;
			out[n].line = line;
			out[n].inlined = 1;
			n++;
			call_site(&scopes[i], &cu, &file, &line);
			file = arena_str(s, file);
		}
	}
	free(scopes);
	out[n] = *base;
	out[n].file = file;
	out[n].line = line;
	out[n].inlined = 0;
	return n + 1;
}

static struct ms_symbolizer *symbolizer_alloc(pid_t pid)
{
	struct ms_symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->pid = pid;
	s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	s->cb.find_elf = dwfl_build_id_find_elf;
	s->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	s->cb.section_address = dwfl_offline_section_address;
	s->dwfl = dwfl_begin(&s->cb);
	if (!s->dwfl) {
		ms_symbolizer_free(s);
		return NULL;
	}
	return s;
}

struct ms_symbolizer *ms_symbolizer_new(pid_t pid)
{
	struct ms_symbolizer *s = symbolizer_alloc(pid);
	int err = -ENOMEM;

	if (s && !(err = load_maps(s)))
		return s;
	ms_symbolizer_free(s);
	errno = -err;
	return NULL;
}

int ms_symbolizer_use_maps(struct ms_symbolizer **sp, pid_t pid, const struct ms_maps *m)
{
	int err;

	if (!*sp && !(*sp = symbolizer_alloc(pid)))
		return -ENOMEM;
	err = apply_maps(*sp, m);
	/* the process is exiting: /proc/PID/maps has nothing newer to say */
	(*sp)->gone = true;
	return err;
}

int ms_symbolizer_refresh(struct ms_symbolizer *s)
{
	return s->gone ? -ESRCH : load_maps(s);
}

int ms_symbolize(struct ms_symbolizer *s, uint64_t ip, struct ms_frame *out)
{
	struct entry *e = s->cap ? slot(s, ip) : NULL;
	int rc;

	if (e && e->used) {
		*out = e->f;
		return e->rc;
	}
	rc = resolve(s, ip, out);
	if (rc == -EAGAIN)
		return -ENOENT;
	/* Not caching on OOM only costs a second lookup later. */
	cache_put(s, out, rc);
	return rc;
}

int ms_symbolize_inline(struct ms_symbolizer *s, uint64_t ip, struct ms_frame *out, int max)
{
	struct ms_frame base, chain[MAX_INLINE];
	struct entry *e;
	int rc = ms_symbolize(s, ip, &base), n;

	if (rc || max <= 0)
		return rc ? rc : 0;
	e = s->cap ? slot(s, ip) : NULL; /* cached by ms_symbolize (unless OOM) */
	if (e && e->used && e->inl_done) {
		if (!e->ninl) {
			out[0] = base;
			return 1;
		}
		n = e->ninl < max ? e->ninl : max;
		memcpy(out, e->inl, (size_t)n * sizeof(*out));
		return n;
	}
	n = inline_chain(s, &base, chain, MAX_INLINE);
	if (e && e->used) {
		e->inl_done = true;
		if (n > 1 && (e->inl = arena_alloc(s, (size_t)n * sizeof(*chain)))) {
			memcpy(e->inl, chain, (size_t)n * sizeof(*chain));
			e->ninl = (uint8_t)n;
		} else if (n > 1) {
			e->inl_done = false; /* OOM: try again next time */
		}
	}
	n = n < max ? n : max;
	memcpy(out, chain, (size_t)n * sizeof(*out));
	return n;
}

void ms_symbolizer_free(struct ms_symbolizer *s)
{
	if (!s)
		return;
	if (s->dwfl)
		dwfl_end(s->dwfl);
	if (s->pidfd >= 0)
		close(s->pidfd);
	for (struct mod_info *mi = s->mods; mi; mi = mi->next)
		free(mi->cus);
	while (s->arena) {
		struct chunk *c = s->arena;

		s->arena = c->next;
		free(c);
	}
	free(s->tab);
	free(s);
}
