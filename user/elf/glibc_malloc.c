/* SPDX-License-Identifier: BSD-3-Clause */
/* glibc_malloc.c - glibc malloc's layout from libc's debug info (see
 * glibc_malloc.h). The structures are read from the compile unit of
 * malloc/malloc.c (arena.c is part of it), member by member, so a glibc
 * that moved a field is read right; one that renamed it is refused with
 * the name, never walked with a guess. */
#define _GNU_SOURCE
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "elf/glibc_malloc.h"

#define NOMEMBER UINT32_MAX

static Dwarf_Die *type_of(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute a;

	return dwarf_attr_integrate(die, DW_AT_type, &a) ? dwarf_formref_die(&a, out) : NULL;
}

/* Offset of member `name` of struct die, its type's byte size in *size. */
static uint32_t member(Dwarf_Die *st, const char *name, Dwarf_Word *size)
{
	Dwarf_Die m, t;

	if (dwarf_child(st, &m) != 0)
		return NOMEMBER;
	do {
		Dwarf_Attribute a;
		Dwarf_Word off;
		const char *n;

		if (dwarf_tag(&m) != DW_TAG_member || !(n = dwarf_diename(&m)) || strcmp(n, name))
			continue;
		if (!dwarf_attr_integrate(&m, DW_AT_data_member_location, &a) ||
		    dwarf_formudata(&a, &off))
			return NOMEMBER;
		if (size && (!type_of(&m, &t) || dwarf_aggregate_size(&t, size)))
			*size = 0;
		return (uint32_t)off;
	} while (dwarf_siblingof(&m, &m) == 0);
	return NOMEMBER;
}

struct find {
	const char *names[4];
	Dwarf_Die dies[4];
	int found[4];
};

/* The definitions (not declarations) of the structures f names, among
 * the CU's top-level DIEs. */
static void find_structs(Dwarf_Die *cu, struct find *f)
{
	Dwarf_Die d;
	int i;

	if (dwarf_child(cu, &d) != 0)
		return;
	do {
		const char *n;

		if (dwarf_tag(&d) != DW_TAG_structure_type || dwarf_hasattr(&d, DW_AT_declaration) ||
		    !(n = dwarf_diename(&d)))
			continue;
		for (i = 0; i < 4; i++)
			if (f->names[i] && !f->found[i] && !strcmp(n, f->names[i])) {
				f->dies[i] = d;
				f->found[i] = 1;
			}
	} while (dwarf_siblingof(&d, &d) == 0);
}

static int cmp_range(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* malloc.c's code ranges, merged down to what the layout holds. */
static void code_ranges(Dwarf_Die *cu, Dwarf_Addr dbias, struct ms_glibc_layout *L)
{
	uint64_t (*r)[2] = NULL;
	size_t n = 0, cap = 0, i;
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;

	while ((off = dwarf_ranges(cu, off, &base, &lo, &hi)) > 0) {
		if (n == cap) {
			void *nr = realloc(r, (cap = cap ? 2 * cap : 32) * sizeof(*r));

			if (!nr)
				break;
			r = nr;
		}
		r[n][0] = lo + dbias;
		r[n][1] = hi + dbias;
		n++;
	}
	qsort(r, n, sizeof(*r), cmp_range);
	/* merge the pair with the smallest gap until they fit */
	while (n > sizeof(L->code) / sizeof(L->code[0])) {
		size_t best = 0;

		for (i = 1; i + 1 < n; i++)
			if (r[i + 1][0] - r[i][1] < r[best + 1][0] - r[best][1])
				best = i;
		r[best][1] = r[best + 1][1];
		memmove(&r[best + 1], &r[best + 2], (n - best - 2) * sizeof(*r));
		n--;
	}
	for (i = 0; i < n; i++) {
		L->code[i][0] = r[i][0];
		L->code[i][1] = r[i][1];
	}
	L->ncode = n;
	free(r);
}

static int symbols(Dwfl_Module *mod, struct ms_glibc_layout *L, char *why, size_t len)
{
	const char *want[3] = { "main_arena", "mp_", "tcache_key" };
	uint64_t *dst[3] = { &L->main_arena, &L->mp, &L->tcache_key };
	int n = dwfl_module_getsymtab(mod), i, k, got = 0;
	Dwarf_Addr mbias = 0;

	if (!dwfl_module_getelf(mod, &mbias))
		return -ENOENT;
	for (i = 1; i < n && got < 3; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);

		if (!name || GELF_ST_TYPE(sym.st_info) != STT_OBJECT)
			continue;
		for (k = 0; k < 3; k++)
			if (!*dst[k] && !strcmp(name, want[k])) {
				*dst[k] = addr - mbias;
				got++;
			}
	}
	for (k = 0; k < 3; k++)
		if (!*dst[k]) {
			snprintf(why, len, "libc's debug info has no symbol %s", want[k]);
			return -EPROTO;
		}
	return 0;
}

static int layout(Dwarf *dw, Dwarf_Addr dbias, struct ms_glibc_layout *L, char *why, size_t len)
{
	struct find f = { .names = { "malloc_state", "malloc_par", "_heap_info", "tcache_perthread_struct" } };
	Dwarf_Off off = 0, next;
	size_t hsize;
	Dwarf_Die cu;
	Dwarf_Word sz = 0, fsz = 0, csz = 0, esz = 0;
	int i, found = 0;

	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		const char *n;

		if (dwarf_offdie(dw, off + hsize, &cu) && (n = dwarf_diename(&cu)) &&
		    !strcmp(strrchr(n, '/') ? strrchr(n, '/') + 1 : n, "malloc.c")) {
			found = 1;
			break;
		}
		off = next;
	}
	if (!found) {
		snprintf(why, len, "libc's debug info has no compile unit malloc.c");
		return -EPROTO;
	}
	find_structs(&cu, &f);
	for (i = 0; i < 4; i++)
		if (!f.found[i]) {
			snprintf(why, len, "libc's debug info has no struct %s", f.names[i]);
			return -EPROTO;
		}
	L->ms_mutex = member(&f.dies[0], "mutex", NULL);
	L->ms_fastbins = member(&f.dies[0], "fastbinsY", &fsz);
	L->ms_top = member(&f.dies[0], "top", NULL);
	L->ms_next = member(&f.dies[0], "next", NULL);
	L->nfastbins = (uint32_t)(fsz / 8);
	L->ms_size = dwarf_aggregate_size(&f.dies[0], &sz) ? NOMEMBER : (uint32_t)sz;
	L->mp_sbrk_base = member(&f.dies[1], "sbrk_base", NULL);
	L->mp_hp_pagesize = member(&f.dies[1], "hp_pagesize", NULL); /* glibc >= 2.35 */
	L->hi_ar_ptr = member(&f.dies[2], "ar_ptr", NULL);
	L->hi_prev = member(&f.dies[2], "prev", NULL);
	L->hi_size = member(&f.dies[2], "size", NULL);
	L->hi_sizeof = dwarf_aggregate_size(&f.dies[2], &sz) ? NOMEMBER : (uint32_t)sz;
	L->tc_counts = member(&f.dies[3], "counts", &csz);
	L->tc_entries = member(&f.dies[3], "entries", &esz);
	L->tc_sizeof = dwarf_aggregate_size(&f.dies[3], &sz) ? NOMEMBER : (uint32_t)sz;
	L->tc_bins = (uint32_t)(esz / 8);
	L->tc_count_size = L->tc_bins ? (uint32_t)(csz / L->tc_bins) : 0;
	{
		const struct { const char *name; uint32_t v; } need[] = {
			{ "malloc_state.mutex", L->ms_mutex }, { "malloc_state.fastbinsY", L->ms_fastbins },
			{ "malloc_state.top", L->ms_top }, { "malloc_state.next", L->ms_next },
			{ "sizeof(malloc_state)", L->ms_size }, { "malloc_par.sbrk_base", L->mp_sbrk_base },
			{ "_heap_info.ar_ptr", L->hi_ar_ptr }, { "_heap_info.prev", L->hi_prev },
			{ "_heap_info.size", L->hi_size }, { "sizeof(_heap_info)", L->hi_sizeof },
			{ "tcache_perthread_struct.counts", L->tc_counts },
			{ "tcache_perthread_struct.entries", L->tc_entries },
		};

		for (i = 0; i < (int)(sizeof(need) / sizeof(need[0])); i++)
			if (need[i].v == NOMEMBER) {
				snprintf(why, len, "libc's debug info has no %s", need[i].name);
				return -EPROTO;
			}
	}
	if (!L->nfastbins || L->nfastbins > 64 || !L->tc_bins || L->tc_bins > 256 ||
	    (L->tc_count_size != 1 && L->tc_count_size != 2 && L->tc_count_size != 4)) {
		snprintf(why, len, "libc's malloc structures are not what this walk knows");
		return -EPROTO;
	}
	code_ranges(&cu, dbias, L);
	return 0;
}

int ms_glibc_malloc_layout(const char *path, struct ms_glibc_layout *out, char *why, size_t len)
{
	Dwfl_Callbacks cb = {
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.section_address = dwfl_offline_section_address,
	};
	Dwfl *dwfl = dwfl_begin(&cb);
	Dwfl_Module *mod;
	Dwarf_Addr dbias = 0;
	Dwarf *dw;
	int err;

	memset(out, 0, sizeof(*out));
	if (!dwfl)
		return -ENOMEM;
	dwfl_report_begin(dwfl);
	mod = dwfl_report_offline(dwfl, "libc", path, -1);
	dwfl_report_end(dwfl, NULL, NULL);
	if (!mod) {
		snprintf(why, len, "%s: %s", path, dwfl_errmsg(-1));
		dwfl_end(dwfl);
		return -ENOENT;
	}
	dw = dwfl_module_getdwarf(mod, &dbias);
	if (!dw) {
		snprintf(why, len, "no debug info for %s (install libc6-dbg, or set DEBUGINFOD_URLS)", path);
		dwfl_end(dwfl);
		return -ENOENT;
	}
	/* offline, the module may sit at a base of libdwfl's choosing: keep
	 * ELF vaddrs (the main file's bias taken off) */
	{
		Dwarf_Addr mbias = 0;

		dwfl_module_getelf(mod, &mbias);
		err = layout(dw, dbias - mbias, out, why, len);
	}
	if (!err)
		err = symbols(mod, out, why, len);
	dwfl_end(dwfl);
	return err;
}
