/* SPDX-License-Identifier: BSD-3-Clause */
/* usdt_sites.c - the USDT sites of a provider in an ELF file, with the form
 * of the instruction each sits on. See usdt_sites.h.
 *
 * A .note.stapsdt entry (sys/sdt.h's format, which include/memscope.h
 * writes too) is: owner "stapsdt", type 3, then the probe's address, the
 * address of the .stapsdt.base section as the linker saw it, the
 * semaphore's address (0: none), and "provider\0name\0arguments\0". The
 * base tells a prelinked file: its sections moved after linking, and the
 * probe moved with them by the same amount. */
#include "elf/usdt_sites.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elf/segments.h"
#include "memscope_events.h"
#include "util/vec.h"

#define NT_STAPSDT 3
#define NT_MEMSCOPE_ALIVE 1 /* owner "memscope": address of memscope__alive */

/* include/memscope.h's site, byte for byte */
static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
static const uint8_t lea_down[5] = { 0x48, 0x8d, 0x64, 0x24, 0x80 };
static const uint8_t lea_up[8] = { 0x48, 0x8d, 0xa4, 0x24, 0x80, 0x00, 0x00, 0x00 };
#define SITE_BEFORE (sizeof(lea_down) + 7) /* the lea, then up to 7 bytes of padding */
#define SITE_AFTER (sizeof(nop5) + sizeof(lea_up))

enum ms_site_form ms_site_form_of(const uint8_t *code, size_t before, size_t after)
{
	size_t k;

	if (after >= 1 && code[0] == 0x90)
		return MS_FORM_NOP1;
	if (after < sizeof(nop5) || memcmp(code, nop5, sizeof(nop5)))
		return MS_FORM_OTHER;
	if (after < SITE_AFTER || memcmp(code + sizeof(nop5), lea_up, sizeof(lea_up)))
		return MS_FORM_NOP5_BARE;
	for (k = 0; k <= 7 && sizeof(lea_down) + k <= before; k++)
		if (!memcmp(code - sizeof(lea_down) - k, lea_down, sizeof(lea_down)))
			return MS_FORM_NOP5;
	return MS_FORM_NOP5_BARE;
}

const char *ms_site_form_name(enum ms_site_form f)
{
	switch (f) {
	case MS_FORM_NOP1: return "1-byte nop";
	case MS_FORM_NOP5: return "5-byte nop, red zone stepped over";
	case MS_FORM_NOP5_BARE: return "5-byte nop without red-zone guard";
	default: return "not a nop";
	}
}

int ms_site_form_optimizable(enum ms_site_form f)
{
	return f == MS_FORM_NOP5 || f == MS_FORM_NOP5_BARE;
}

int ms_usdt_sites_cookie(const struct ms_usdt_sites *s, const char *name)
{
	size_t i, five = 0, other = 0;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->v[i].name, name))
			continue;
		if (s->v[i].form == MS_FORM_NOP5)
			five++;
		else
			other++;
	}
	if (five && other)
		return MS_SITE_MIXED;
	return five ? MS_SITE_NOP5 : MS_SITE_NOP1;
}

void ms_usdt_sites_free(struct ms_usdt_sites *s)
{
	if (!s)
		return;
	free(s->v);
	free(s->names);
	memset(s, 0, sizeof(*s));
}

/* A list being built: names are offsets into a growing buffer until the
 * end, when they become pointers. */
struct build {
	struct ms_usdt_sites *out;
	size_t cap, names_len, names_cap; /* util/vec.h capacities of out->v, out->names */
};

static int add_site(struct build *b, const char *name, uint64_t pc, uint64_t sem)
{
	size_t len = strlen(name) + 1;
	struct ms_usdt_sites *s = b->out;

	if (ms_vec_reserve((void **)&s->v, &b->cap, sizeof(*s->v), s->n + 1) ||
	    ms_vec_reserve((void **)&s->names, &b->names_cap, 1, b->names_len + len))
		return -ENOMEM;
	memcpy(s->names + b->names_len, name, len);
	memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
	s->v[s->n].name = (const char *)(uintptr_t)b->names_len;
	s->v[s->n].pc = pc;
	s->v[s->n].sem = sem;
	b->names_len += len;
	s->n++;
	return 0;
}

static uint64_t get_addr(const char *p, size_t sz)
{
	uint64_t v = 0;
	uint32_t v32;

	if (sz == 8) {
		memcpy(&v, p, 8);
	} else {
		memcpy(&v32, p, 4);
		v = v32;
	}
	return v;
}

/* The entries of one note section: stapsdt entries of `provider` become
 * sites, the memscope entry gives the alive pointer. */
static int scan_notes(Elf_Data *d, size_t asz, const char *provider, struct build *b)
{
	size_t off = 0, name_off, desc_off, next;
	GElf_Nhdr nh;
	int err;

	while ((next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		const char *owner = (const char *)d->d_buf + name_off;
		const char *desc = (const char *)d->d_buf + desc_off, *end, *prov, *pname;

		off = next;
		if (nh.n_type == NT_MEMSCOPE_ALIVE && nh.n_namesz == 9 && !memcmp(owner, "memscope", 9) &&
		    nh.n_descsz >= 8) {
			if (!b->out->alive)
				b->out->alive = get_addr(desc, 8);
			continue;
		}
		if (nh.n_type != NT_STAPSDT || nh.n_namesz != 8 || memcmp(owner, "stapsdt", 8) ||
		    nh.n_descsz <= 3 * asz)
			continue;
		prov = desc + 3 * asz;
		end = desc + nh.n_descsz;
		pname = memchr(prov, '\0', (size_t)(end - prov));
		if (!pname++ || pname >= end || !memchr(pname, '\0', (size_t)(end - pname)) ||
		    strcmp(prov, provider))
			continue;
		err = add_site(b, pname, get_addr(desc, asz), get_addr(desc + 2 * asz, asz));
		if (err)
			return err;
	}
	return 0;
}

/* Read the bytes around each site from the file (through its PT_LOAD
 * segment) and classify them. A site outside every loaded segment stays
 * MS_FORM_OTHER. */
static void classify(Elf *elf, int fd, struct ms_usdt_sites *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct ms_usdt_site *site = &s->v[i];
		uint8_t buf[SITE_BEFORE + SITE_AFTER];
		uint64_t lo, hi, from, to;
		GElf_Phdr ph;

		if (ms_elf_seg_of_vaddr(elf, site->pc, &ph))
			continue;
		lo = ph.p_vaddr;
		hi = ph.p_vaddr + ph.p_filesz;
		from = site->pc - lo >= SITE_BEFORE ? site->pc - SITE_BEFORE : lo;
		to = hi - site->pc >= SITE_AFTER ? site->pc + SITE_AFTER : hi;
		if (pread(fd, buf, to - from, (off_t)(ph.p_offset + from - lo)) != (ssize_t)(to - from))
			continue;
		memcpy(site->orig, buf + (site->pc - from),
		       to - site->pc < sizeof(site->orig) ? to - site->pc : sizeof(site->orig));
		site->form = ms_site_form_of(buf + (site->pc - from), site->pc - from, to - site->pc);
	}
}

int ms_usdt_sites_read(const char *path, const char *provider, struct ms_usdt_sites *out)
{
	struct build b = { .out = out };
	uint64_t base_addr = 0;
	Elf_Scn *scn = NULL;
	size_t shstrndx, asz, i;
	GElf_Ehdr eh;
	Elf *elf = NULL;
	int fd, err = 0, pass;

	memset(out, 0, sizeof(*out));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		err = -ENOEXEC;
		goto out;
	}
	if (elf_getshdrstrndx(elf, &shstrndx))
		goto out; /* no section headers: no notes */
	asz = eh.e_ident[EI_CLASS] == ELFCLASS64 ? 8 : 4;
	/* .stapsdt.base first (pass 0), then the notes (pass 1) */
	for (pass = 0; pass < 2 && !err; pass++) {
		while (!err && (scn = elf_nextscn(elf, scn)) != NULL) {
			const char *sname;
			GElf_Shdr sh;
			Elf_Data *d;

			if (!gelf_getshdr(scn, &sh) || !(sname = elf_strptr(elf, shstrndx, sh.sh_name)))
				continue;
			if (pass == 0) {
				if (!strcmp(sname, ".stapsdt.base"))
					base_addr = sh.sh_addr;
				continue;
			}
			if (sh.sh_type != SHT_NOTE ||
			    (strcmp(sname, ".note.stapsdt") && strcmp(sname, ".note.memscope")))
				continue;
			d = elf_getdata(scn, NULL);
			if (!d || !d->d_buf)
				continue;
			err = scan_notes(d, asz, provider, &b);
		}
		scn = NULL;
	}
	if (err)
		goto out;
	/* Prelinked: the notes still carry the base address the linker
	 * assigned. Every note of a file has the same base; read it again
	 * from the first one only if the section moved. */
	if (base_addr && out->n) {
		scn = NULL;
		while ((scn = elf_nextscn(elf, scn)) != NULL) {
			const char *sname;
			GElf_Shdr sh;
			Elf_Data *d;
			size_t name_off, desc_off;
			GElf_Nhdr nh;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE ||
			    !(sname = elf_strptr(elf, shstrndx, sh.sh_name)) ||
			    strcmp(sname, ".note.stapsdt") || !(d = elf_getdata(scn, NULL)) ||
			    gelf_getnote(d, 0, &nh, &name_off, &desc_off) == 0 ||
			    nh.n_descsz < 2 * asz)
				continue;
			{
				uint64_t note_base = get_addr((const char *)d->d_buf + desc_off + asz, asz);

				if (note_base && note_base != base_addr)
					for (i = 0; i < out->n; i++)
						out->v[i].pc += base_addr - note_base;
			}
			break;
		}
	}
	for (i = 0; i < out->n; i++)
		out->v[i].name = out->names + (size_t)(uintptr_t)out->v[i].name;
	classify(elf, fd, out);
out:
	if (elf)
		elf_end(elf);
	close(fd);
	if (err) {
		ms_usdt_sites_free(out);
		return err;
	}
	return (int)out->n;
}
