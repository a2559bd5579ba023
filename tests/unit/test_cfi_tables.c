/* SPDX-License-Identifier: BSD-3-Clause */
/* test_cfi_tables.c - unit tests for user/elf/cfi_tables.c: the tables of
 * real files are well formed and say what readelf says, and damaged CFI
 * never crashes the builder (run under ASan/UBSan). No root needed. */
#define _GNU_SOURCE
#include "elf/cfi_tables.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"

/* Sorted, no two adjacent rows alike, every row found at its own offset
 * and at the byte before the next row, page index consistent. */
static int well_formed(const struct ms_cfi_table *t)
{
	for (size_t i = 0; i < t->nrows; i++) {
		const struct ms_unw_row *r = &t->rows[i];

		if (i && (r->off <= r[-1].off ||
			  (r->kind == r[-1].kind && r->cfa_off == r[-1].cfa_off && r->rbp == r[-1].rbp)))
			return 0;
		if (ms_cfi_lookup(t, r->off) != r)
			return 0;
		if (i + 1 < t->nrows && ms_cfi_lookup(t, r[1].off - 1) != r)
			return 0;
	}
	for (size_t p = 0; p < t->npages; p++)
		if (t->pages[p] > t->pages[p + 1] || t->pages[p + 1] > t->nrows)
			return 0;
	return t->nrows == 0 || t->pages[t->npages] == t->nrows;
}

static void test_libc_table(void)
{
	struct ms_cfi_table t = { 0 };
	int fd = open(LIBC, O_RDONLY), starts = 0, rsp8 = 0;

	CHECK(fd >= 0);
	CHECK(ms_cfi_build(fd, -1, &t) == 0);
	CHECK(!strcmp(t.st.source, ".eh_frame") && t.st.fdes > 3000 && t.nrows > 10000);
	CHECK(well_formed(&t));
	/* libc's ranges all end in a NONE row, the last row of the table */
	CHECK((t.rows[t.nrows - 1].kind & MS_UNW_KIND_MASK) == MS_UNW_NONE);
	/* a function starts (after a gap) with CFA = rsp + 8: the return
	 * address just pushed (PLT stubs, the signal trampoline and clone's
	 * child half excepted) */
	for (size_t i = 1; i < t.nrows; i++) {
		unsigned k = t.rows[i].kind & MS_UNW_KIND_MASK;

		if ((t.rows[i - 1].kind & MS_UNW_KIND_MASK) != MS_UNW_NONE || k == MS_UNW_PLT ||
		    k == MS_UNW_SIGNAL || k == MS_UNW_END)
			continue;
		starts++;
		rsp8 += t.rows[i].kind == MS_UNW_CFA_RSP && t.rows[i].cfa_off == 8;
	}
	CHECK(starts > 1000 && rsp8 == starts);
	/* the outermost frames (clone's child) and the signal trampoline */
	{
		int ends = 0, sigs = 0;

		for (size_t i = 0; i < t.nrows; i++) {
			ends += (t.rows[i].kind & MS_UNW_KIND_MASK) == MS_UNW_END;
			sigs += (t.rows[i].kind & MS_UNW_KIND_MASK) == MS_UNW_SIGNAL;
		}
		CHECK(ends >= 1 && sigs == 1);
	}
	PASS();
out:
	ms_cfi_free(&t);
	if (fd >= 0)
		close(fd);
}

/* malloc in this libc: push %r12; push %rbp at +2 (readelf: rbp saved
 * at cfa-24 from +3 on), so the rows at +0, +2, +3 are rsp+8, rsp+16,
 * rsp+24 with rbp at CFA - 24. Found through the dynamic symbol table. */
static int func_off(const char *path, const char *name, uint64_t *off)
{
	int fd = open(path, O_RDONLY), found = 0;
	Elf *e;
	Elf_Scn *scn = NULL;

	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	while (e && !found && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *n;

			if (!gelf_getsym(d, (int)i, &s))
				continue;
			n = elf_strptr(e, sh.sh_link, s.st_name);
			if (n && !strcmp(n, name) && GELF_ST_TYPE(s.st_info) == STT_FUNC) {
				*off = s.st_value; /* libc: text vaddr == file offset */
				found = 1;
				break;
			}
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return found;
}

static void test_prologue_rows(void)
{
	struct ms_cfi_table t = { 0 };
	const struct ms_unw_row *r;
	int fd = open(LIBC, O_RDONLY);
	uint64_t m;

	CHECK(fd >= 0 && func_off(LIBC, "malloc", &m));
	CHECK(ms_cfi_build(fd, -1, &t) == 0);
	r = ms_cfi_lookup(&t, m);
	CHECK(r && r->off == m && r->kind == MS_UNW_CFA_RSP && r->cfa_off == 8);
	r = ms_cfi_lookup(&t, m + 2);
	CHECK(r && r->kind == MS_UNW_CFA_RSP && r->cfa_off == 16);
	r = ms_cfi_lookup(&t, m + 3);
	CHECK(r && r->kind == (MS_UNW_CFA_RSP | MS_UNW_RBP_SAVED) && r->cfa_off == 24 && r->rbp == -3);
	/* before the first row: nothing */
	CHECK(ms_cfi_lookup(&t, t.rows[0].off - 1) == NULL || t.rows[0].off == t.base);
	PASS();
out:
	ms_cfi_free(&t);
	if (fd >= 0)
		close(fd);
}

/* The .eh_frame section of a file image: offset and size. */
static int eh_frame_of(const char *img, size_t len, size_t *off, size_t *size)
{
	Elf *e = elf_memory((char *)img, len);
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	int found = 0;

	if (!e || elf_getshdrstrndx(e, &shstrndx))
		goto out;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh))
			continue;
		n = elf_strptr(e, shstrndx, sh.sh_name);
		if (n && !strcmp(n, ".eh_frame")) {
			*off = sh.sh_offset;
			*size = sh.sh_size;
			found = 1;
			break;
		}
	}
out:
	if (e)
		elf_end(e);
	return found;
}

static int build_image(const char *img, size_t len, struct ms_cfi_table *t)
{
	int fd = memfd_create("cfi", 0), err;

	if (fd < 0 || write(fd, img, len) != (ssize_t)len) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	err = ms_cfi_build(fd, -1, t);
	close(fd);
	return err;
}

/* Flipped bytes, zeroed tails and huge lengths in .eh_frame: the builder
 * returns an error or a well-formed table, and never reads out of bounds
 * (ASan would stop the test). */
static void test_damaged_cfi(void)
{
	struct ms_cfi_table t = { 0 };
	char *orig = NULL, *img = NULL;
	size_t len = 0, off, size;
	struct stat st;
	int fd = open(LIBC, O_RDONLY), ok = 1, built = 0;
	unsigned seed = 12345;

	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	len = (size_t)st.st_size;
	orig = malloc(len);
	img = malloc(len);
	CHECK(orig && img && read(fd, orig, len) == (ssize_t)len);
	CHECK(eh_frame_of(orig, len, &off, &size) && size > 4096);
	for (int round = 0; round < 60 && ok; round++) {
		memcpy(img, orig, len);
		if (round < 40) { /* random bytes */
			for (int k = 0; k < 1 + round; k++) {
				seed = seed * 1103515245u + 12345u;
				img[off + (seed >> 8) % size] = (char)(seed >> 3);
			}
		} else if (round < 50) { /* the section cut short */
			memset(img + off + size * (size_t)(round - 40) / 10, 0,
			       size - size * (size_t)(round - 40) / 10);
		} else { /* an entry claiming to run past the end */
			uint32_t huge = 0xfffffff0u - (uint32_t)round;

			memcpy(img + off + (size_t)(round - 50) * 64, &huge, 4);
		}
		if (build_image(img, len, &t) == 0) {
			built++;
			ok = well_formed(&t);
		}
		ms_cfi_free(&t);
	}
	CHECK(ok);
	CHECK(built > 10); /* most damage leaves most of the table */
	PASS();
out:
	ms_cfi_free(&t);
	free(orig);
	free(img);
	if (fd >= 0)
		close(fd);
}

static void test_not_elf(void)
{
	struct ms_cfi_table t = { 0 };
	int fd = memfd_create("x", 0);

	CHECK(fd >= 0 && write(fd, "#!/bin/sh\n", 10) == 10);
	CHECK(ms_cfi_build(fd, -1, &t) == -ENOEXEC && t.nrows == 0);
	PASS();
out:
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	test_libc_table();
	test_prologue_rows();
	test_damaged_cfi();
	test_not_elf();
	return failed ? 1 : 0;
}
