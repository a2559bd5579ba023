/* SPDX-License-Identifier: BSD-3-Clause */
/* elf_syms.c - function symbols, USDT names, build id, arch and linkage of an
 * ELF file, read with libelf from a read-only mapping of the file. */
#include "elf/elf_syms.h"
#include "elf/elf_deps.h"
#include "elf/segments.h"
#include "util/vec.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Note type of a SystemTap USDT probe descriptor (name "stapsdt"). */
#define MS_NT_STAPSDT 3

struct ms_elf {
	int fd;
	Elf *elf;
	GElf_Ehdr ehdr;
};

struct ms_elf *ms_elf_open(const char *path)
{
	struct ms_elf *e;
	int err;

	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	/* elf_version() only records the version the caller speaks; calling it
	 * on every open keeps this module free of global init state. */
	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (e->fd < 0) {
		err = errno;
		goto fail;
	}
	e->elf = elf_begin(e->fd, ELF_C_READ_MMAP, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF ||
	    !gelf_getehdr(e->elf, &e->ehdr)) {
		err = ENOEXEC;
		goto fail;
	}
	return e;
fail:
	ms_elf_close(e);
	errno = err;
	return NULL;
}

void ms_elf_close(struct ms_elf *e)
{
	if (!e)
		return;
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
	free(e);
}

/* "malloc" matches "malloc", "malloc@@GLIBC_2.2.5" and "malloc@GLIBC_2.2.5".
 * `str`/`avail` is the rest of the string table from the symbol's name, so
 * a name running off the end of a corrupt table is never read past.
 * Returns 0 (no match), 2 for a non-default version ("name@VER"), 3 for a
 * plain name or the default version ("name@@VER"); see sym_rank(). */
static int name_matches(const char *str, size_t avail, const char *want,
			size_t want_len)
{
	if (avail <= want_len || memcmp(str, want, want_len) != 0)
		return 0;
	if (str[want_len] == '\0')
		return 3;
	if (str[want_len] != '@')
		return 0;
	return avail > want_len + 1 && str[want_len + 1] == '@' ? 3 : 2;
}

/* File offset of `vaddr` using the header of the section holding the symbol;
 * falls back to the PT_LOAD segment for SHN_ABS and friends. */
static int vaddr_to_off(struct ms_elf *e, size_t shndx, uint64_t vaddr,
			uint64_t *off)
{
	GElf_Shdr sh;
	GElf_Phdr ph;

	if (shndx != SHN_UNDEF && shndx < SHN_LORESERVE) {
		Elf_Scn *scn = elf_getscn(e->elf, shndx);

		if (scn && gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS &&
		    vaddr >= sh.sh_addr && vaddr < sh.sh_addr + sh.sh_size) {
			*off = vaddr - sh.sh_addr + sh.sh_offset;
			return 0;
		}
	}
	if (ms_elf_seg_of_vaddr(e->elf, vaddr, &ph))
		return -EINVAL;
	*off = vaddr - ph.p_vaddr + ph.p_offset;
	return 0;
}

/* Best candidates so far for one name. A rank orders definitions of the
 * same name: 3 = exported default version (what the dynamic linker binds
 * "malloc" to), 2 = an old, non-default version (memcpy@GLIBC_2.2.5 next to
 * the default memcpy@@GLIBC_2.14), 1 = a local symbol. */
struct sym_best {
	struct ms_elf_func func;
	int func_rank;  /* 0: none found */
	int ifunc_rank; /* best GNU indirect function of that name */
	int want;       /* STT_FUNC, or STT_OBJECT for data */
};

/* The .gnu.version table that belongs to symbol table `symtab_ndx`. */
static Elf_Data *versym_for(struct ms_elf *e, size_t symtab_ndx)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e->elf, scn)) != NULL) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_versym &&
		    sh.sh_link == symtab_ndx)
			return elf_getdata(scn, NULL);
	}
	return NULL;
}

static int sym_rank(const GElf_Sym *sym, int name_rank, Elf_Data *versym,
		    size_t i)
{
	GElf_Versym vs;

	if (GELF_ST_BIND(sym->st_info) == STB_LOCAL)
		return 1;
	/* In .dynsym the version lives in .gnu.version; its hidden bit marks
	 * a non-default version. */
	if (versym && gelf_getversym(versym, (int)i, &vs) &&
	    (vs & 0x8000) != 0)
		return 2;
	return name_rank;
}

/* Scan one symbol table, updating *best. */
static void scan_symtab(struct ms_elf *e, Elf_Scn *scn, const GElf_Shdr *sh,
			const char *name, struct sym_best *best)
{
	size_t want_len = strlen(name), i, nsyms;
	Elf_Data *syms, *strs, *versym;
	Elf_Scn *str_scn;

	if (sh->sh_entsize == 0)
		return;
	syms = elf_getdata(scn, NULL);
	str_scn = elf_getscn(e->elf, sh->sh_link);
	strs = str_scn ? elf_getdata(str_scn, NULL) : NULL;
	if (!syms || !strs || !strs->d_buf)
		return;
	versym = sh->sh_type == SHT_DYNSYM ? versym_for(e, elf_ndxscn(scn))
					   : NULL;
	nsyms = sh->sh_size / sh->sh_entsize;

	for (i = 0; i < nsyms; i++) {
		int type, rank, name_rank;
		GElf_Sym sym;
		uint64_t off;

		if (!gelf_getsym(syms, (int)i, &sym))
			break;
		if (sym.st_shndx == SHN_UNDEF || sym.st_name >= strs->d_size)
			continue;
		name_rank = name_matches((const char *)strs->d_buf +
						 sym.st_name,
					 strs->d_size - sym.st_name, name,
					 want_len);
		if (!name_rank)
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		rank = sym_rank(&sym, name_rank, versym, i);
		if (type == STT_GNU_IFUNC && rank > best->ifunc_rank)
			best->ifunc_rank = rank;
		/* Ties keep the first: .dynsym is scanned before .symtab. */
		if (type != best->want || rank <= best->func_rank)
			continue;
		/* data in .bss has an address but no file bytes */
		if (vaddr_to_off(e, sym.st_shndx, sym.st_value, &off) != 0) {
			if (best->want == STT_FUNC)
				continue;
			off = 0;
		}
		best->func.vaddr = sym.st_value;
		best->func.file_off = off;
		best->func.size = sym.st_size;
		best->func_rank = rank;
	}
}

static int find_sym(struct ms_elf *e, const char *name, int want, struct ms_elf_func *out)
{
	/* .dynsym first: it holds what the library exports, which is what a
	 * caller reaches through the PLT. .symtab adds local functions and
	 * executables that export nothing. */
	static const GElf_Word order[] = { SHT_DYNSYM, SHT_SYMTAB };
	struct sym_best best = { .func_rank = 0, .want = want };
	size_t k;

	if (!e || !name || !*name || !out)
		return -EINVAL;
	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(e->elf, scn)) != NULL) {
			GElf_Shdr sh;

			if (gelf_getshdr(scn, &sh) && sh.sh_type == order[k])
				scan_symtab(e, scn, &sh, name, &best);
		}
		if (best.func_rank == 3 && best.ifunc_rank < 3)
			break; /* the exported default: nothing can beat it */
	}
	if (best.ifunc_rank > best.func_rank)
		return -ENOTSUP;
	if (!best.func_rank)
		return -ENOENT;
	*out = best.func;
	return 0;
}

int ms_elf_find_func(struct ms_elf *e, const char *name,
		     struct ms_elf_func *out)
{
	return find_sym(e, name, STT_FUNC, out);
}

int ms_elf_find_object(struct ms_elf *e, const char *name, struct ms_elf_func *out)
{
	return find_sym(e, name, STT_OBJECT, out);
}

int ms_elf_func_bytes(struct ms_elf *e, const struct ms_elf_func *fn,
		      const uint8_t **code)
{
	Elf_Scn *scn = NULL;

	if (!e || !fn || !code || fn->size == 0)
		return -EINVAL;
	while ((scn = elf_nextscn(e->elf, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;
		uint64_t rel;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		if (fn->vaddr < sh.sh_addr ||
		    fn->vaddr - sh.sh_addr >= sh.sh_size ||
		    fn->size > sh.sh_size - (fn->vaddr - sh.sh_addr))
			continue;
		/* Raw data: code needs no byte-order conversion, and with
		 * ELF_C_READ_MMAP this points into the mapping (no copy). */
		d = elf_rawdata(scn, NULL);
		rel = fn->vaddr - sh.sh_addr;
		if (!d || !d->d_buf || rel + fn->size > d->d_size)
			return -EINVAL;
		*code = (const uint8_t *)d->d_buf + rel;
		return 0;
	}
	return -EINVAL;
}

/* The GOT address a PLT slot at vaddr jumps through, or 0. */
static uint64_t plt_got(struct ms_elf *e, uint64_t vaddr)
{
	struct ms_elf_func fn = { .vaddr = vaddr, .size = 16 };
	const uint8_t *c;
	size_t i = 0;
	int32_t disp;

	if (ms_elf_func_bytes(e, &fn, &c) < 0)
		return 0;
	if (c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa)
		i = 4; /* endbr64 */
	if (c[i] == 0xf2)
		i++; /* bnd */
	if (c[i] != 0xff || c[i + 1] != 0x25)
		return 0;
	memcpy(&disp, c + i + 2, sizeof(disp));
	return vaddr + i + 6 + (uint64_t)(int64_t)disp;
}

int ms_elf_plt_name(struct ms_elf *e, uint64_t vaddr, char *name, size_t len)
{
	Elf_Scn *scn = NULL;
	uint64_t got;

	if (!e || !name || !len)
		return -EINVAL;
	got = plt_got(e, vaddr);
	if (!got)
		return -ENOENT;
	while ((scn = elf_nextscn(e->elf, scn)) != NULL) {
		Elf_Scn *symscn;
		GElf_Shdr sh, symsh;
		Elf_Data *d, *syms;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		symscn = elf_getscn(e->elf, sh.sh_link);
		d = elf_getdata(scn, NULL);
		if (!symscn || !gelf_getshdr(symscn, &symsh) || !d)
			continue;
		syms = elf_getdata(symscn, NULL);
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n && syms; i++) {
			GElf_Rela r;
			GElf_Sym sym;
			const char *s;
			size_t k;

			if (!gelf_getrela(d, (int)i, &r) || r.r_offset != got)
				continue;
			if (!gelf_getsym(syms, (int)GELF_R_SYM(r.r_info), &sym))
				return -ENOENT;
			s = elf_strptr(e->elf, symsh.sh_link, sym.st_name);
			if (!s || !*s)
				return -ENOENT;
			for (k = 0; s[k] && s[k] != '@'; k++)
				;
			if (k >= len)
				return -ENOSPC;
			memcpy(name, s, k);
			name[k] = 0;
			return 0;
		}
	}
	return -ENOENT;
}

/* A probe name seen before? The list holds distinct names only, so this is
 * O(sites x distinct names); USDT providers have a handful of names. */
static int seen_before(const char **names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

/* Walk one .note.stapsdt data block, reporting new names of `provider`. */
static int usdt_scan_notes(struct ms_elf *e, Elf_Data *d, const char *provider,
			   const char ***names, size_t *n, size_t *cap,
			   void (*cb)(const char *, void *), void *user)
{
	size_t addr_sz = e->ehdr.e_ident[EI_CLASS] == ELFCLASS64 ? 8 : 4;
	size_t off = 0, name_off, desc_off, next;
	GElf_Nhdr nh;

	while ((next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		const char *desc = (const char *)d->d_buf + desc_off;
		const char *prov, *pname, *end;

		off = next;
		if (nh.n_type != MS_NT_STAPSDT || nh.n_namesz != 8 ||
		    memcmp((const char *)d->d_buf + name_off, "stapsdt", 8) != 0)
			continue;
		/* desc: pc, base, semaphore addresses, then
		 * "provider\0name\0args\0". */
		if (nh.n_descsz <= 3 * addr_sz)
			continue;
		prov = desc + 3 * addr_sz;
		end = desc + nh.n_descsz;
		pname = memchr(prov, '\0', (size_t)(end - prov));
		if (!pname++ || pname >= end ||
		    !memchr(pname, '\0', (size_t)(end - pname)))
			continue;
		if (strcmp(prov, provider) != 0 ||
		    seen_before(*names, *n, pname))
			continue;
		if (ms_vec_reserve((void **)names, cap, sizeof(**names), *n + 1))
			return -ENOMEM;
		(*names)[(*n)++] = pname;
		if (cb)
			cb(pname, user);
	}
	return 0;
}

int ms_elf_usdt_names(struct ms_elf *e, const char *provider,
		      void (*cb)(const char *name, void *user), void *user)
{
	const char **names = NULL;
	size_t n = 0, cap = 0, shstrndx;
	Elf_Scn *scn = NULL;
	int ret = 0;

	if (!e || !provider)
		return -EINVAL;
	if (elf_getshdrstrndx(e->elf, &shstrndx) != 0)
		return 0; /* no section headers, so no .note.stapsdt */
	while ((scn = elf_nextscn(e->elf, scn)) != NULL) {
		const char *sname;
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		sname = elf_strptr(e->elf, shstrndx, sh.sh_name);
		if (!sname || strcmp(sname, ".note.stapsdt") != 0)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		ret = usdt_scan_notes(e, d, provider, &names, &n, &cap, cb,
				      user);
		if (ret < 0)
			break;
	}
	free(names);
	return ret < 0 ? ret : (int)n;
}

int ms_elf_check_arch(struct ms_elf *e, const char **reason)
{
	const char *why = NULL;

	if (!e)
		return -EINVAL;
	if (e->ehdr.e_ident[EI_CLASS] != ELFCLASS64)
		why = "32-bit ELF (ELFCLASS32); memscope traces 64-bit x86-64 "
		      "programs only";
	else if (e->ehdr.e_machine != EM_X86_64)
		why = "ELF for another machine (e_machine is not EM_X86_64); "
		      "memscope traces x86-64 programs only";
	if (reason)
		*reason = why;
	return why ? -ENOEXEC : 0;
}

/* DT_NEEDED present in the PT_DYNAMIC segment? Reads the segment through
 * the program header so it works on files without section headers. */
static int has_needed(struct ms_elf *e, const GElf_Phdr *ph)
{
	Elf_Data *d;
	size_t i, n;

	d = elf_getdata_rawchunk(e->elf, (int64_t)ph->p_offset,
				 ph->p_filesz, ELF_T_DYN);
	if (!d)
		return -EINVAL;
	n = ph->p_filesz / gelf_fsize(e->elf, ELF_T_DYN, 1, EV_CURRENT);
	for (i = 0; i < n; i++) {
		GElf_Dyn dyn;

		if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag == DT_NEEDED)
			return 1;
	}
	return 0;
}

int ms_elf_is_static(struct ms_elf *e)
{
	size_t i, n;

	if (!e)
		return -EINVAL;
	if (elf_getphdrnum(e->elf, &n) != 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;
		int ret;

		if (!gelf_getphdr(e->elf, (int)i, &ph))
			return -EINVAL;
		if (ph.p_type == PT_INTERP)
			return 0;
		if (ph.p_type == PT_DYNAMIC) {
			ret = has_needed(e, &ph);
			if (ret != 0)
				return ret < 0 ? ret : 0;
		}
	}
	return 1;
}

/* Look for the GNU build-id note in one note block. */
static int build_id_in(Elf_Data *d, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t off = 0, name_off, desc_off, next, i;
	GElf_Nhdr nh;

	while ((next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		const uint8_t *id = (const uint8_t *)d->d_buf + desc_off;

		off = next;
		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
		    memcmp((const char *)d->d_buf + name_off, "GNU", 4) != 0 ||
		    nh.n_descsz == 0)
			continue;
		if (len < (size_t)nh.n_descsz * 2 + 1)
			return -ENOSPC;
		for (i = 0; i < nh.n_descsz; i++) {
			buf[2 * i] = hex[id[i] >> 4];
			buf[2 * i + 1] = hex[id[i] & 0xf];
		}
		buf[2 * i] = '\0';
		return 0;
	}
	return -ENOENT;
}

int ms_elf_build_id(struct ms_elf *e, char *buf, size_t len)
{
	Elf_Scn *scn = NULL;
	size_t i, n;
	int ret;

	if (!e || !buf)
		return -EINVAL;
	while ((scn = elf_nextscn(e->elf, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		ret = build_id_in(d, buf, len);
		if (ret != -ENOENT)
			return ret;
	}
	/* Section headers can be stripped; PT_NOTE segments cannot. */
	if (elf_getphdrnum(e->elf, &n) != 0)
		return -ENOENT;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;
		Elf_Data *d;

		if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		d = elf_getdata_rawchunk(e->elf, (int64_t)ph.p_offset,
					 ph.p_filesz, ELF_T_NHDR);
		if (!d)
			continue;
		ret = build_id_in(d, buf, len);
		if (ret != -ENOENT)
			return ret;
	}
	return -ENOENT;
}

int ms_elf_find_func_path(const char *path, const char *name,
			  struct ms_elf_func *out)
{
	struct ms_elf *e = ms_elf_open(path);
	int ret;

	if (!e)
		return -errno;
	ret = ms_elf_find_func(e, name, out);
	ms_elf_close(e);
	return ret;
}

int ms_elf_usdt_names_path(const char *path, const char *provider,
			   void (*cb)(const char *name, void *user), void *user)
{
	struct ms_elf *e = ms_elf_open(path);
	int ret;

	if (!e)
		return -errno;
	ret = ms_elf_usdt_names(e, provider, cb, user);
	ms_elf_close(e);
	return ret;
}

int ms_elf_check_arch_path(const char *path, const char **reason)
{
	struct ms_elf *e = ms_elf_open(path);
	int ret;

	if (!e) {
		ret = -errno;
		if (reason)
			*reason = ret == -ENOEXEC ? "not an ELF file"
						  : "cannot open the file";
		return ret;
	}
	ret = ms_elf_check_arch(e, reason);
	ms_elf_close(e);
	return ret;
}

int ms_elf_is_static_path(const char *path)
{
	struct ms_elf *e = ms_elf_open(path);
	int ret;

	if (!e)
		return -errno;
	ret = ms_elf_is_static(e);
	ms_elf_close(e);
	return ret;
}

int ms_elf_build_id_path(const char *path, char *buf, size_t len)
{
	struct ms_elf *e = ms_elf_open(path);
	int ret;

	if (!e)
		return -errno;
	ret = ms_elf_build_id(e, buf, len);
	ms_elf_close(e);
	return ret;
}

ssize_t ms_elf_read_vaddr(const char *path, uint64_t vaddr, void *buf, size_t len)
{
	struct ms_elf *e = ms_elf_open(path);
	GElf_Phdr ph;
	ssize_t n = -ENOENT;

	if (!e)
		return -errno;
	if (ms_elf_seg_of_vaddr(e->elf, vaddr, &ph) == 0) {
		uint64_t avail = ph.p_vaddr + ph.p_filesz - vaddr;

		n = pread(e->fd, buf, len < avail ? len : avail, (off_t)(ph.p_offset + vaddr - ph.p_vaddr));
		if (n < 0)
			n = -errno;
	}
	ms_elf_close(e);
	return n;
}

static int needs(void *needle, int64_t tag, const char *s)
{
	return tag == DT_NEEDED && strstr(s, needle);
}

int ms_elf_needs_path(const char *path, const char *needle)
{
	struct ms_elf *e = ms_elf_open(path);
	int found;

	if (!e)
		return -errno;
	found = ms_elf_dyn_strings(e->elf, needs, (void *)needle);
	ms_elf_close(e);
	return found;
}

int ms_elf_has_frame_pointers(struct ms_elf *e)
{
	static const uint8_t prologue[4] = { 0x55, 0x48, 0x89, 0xe5 };
	static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	int pass, seen = 0, with = 0;

	if (!e)
		return -EINVAL;
	/* .symtab has every function; a stripped file only the exported */
	for (pass = 0; pass < 2 && !seen; pass++) {
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(e->elf, scn)) != NULL && seen < 400) {
			GElf_Shdr sh;
			Elf_Data *d;
			size_t i, n;

			if (!gelf_getshdr(scn, &sh) || sh.sh_entsize == 0 ||
			    sh.sh_type != (pass ? SHT_DYNSYM : SHT_SYMTAB))
				continue;
			d = elf_getdata(scn, NULL);
			n = sh.sh_size / sh.sh_entsize;
			for (i = 0; d && i < n && seen < 400; i++) {
				struct ms_elf_func fn;
				const uint8_t *c;
				GElf_Sym sym;

				if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
				    sym.st_shndx == SHN_UNDEF || sym.st_size < 32)
					continue;
				fn.vaddr = sym.st_value;
				fn.size = sym.st_size;
				if (ms_elf_func_bytes(e, &fn, &c))
					continue;
				if (!memcmp(c, endbr64, 4))
					c += 4;
				seen++;
				with += !memcmp(c, prologue, 4);
			}
		}
	}
	if (!seen)
		return -ENOENT;
	return 2 * with >= seen;
}

int ms_elf_has_frame_pointers_path(const char *path)
{
	struct ms_elf *e = ms_elf_open(path);
	int ret;

	if (!e)
		return -errno;
	ret = ms_elf_has_frame_pointers(e);
	ms_elf_close(e);
	return ret;
}
