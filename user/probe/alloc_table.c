/* SPDX-License-Identifier: BSD-3-Clause */
/* alloc_table.c - the allocator functions memscope probes. See
 * alloc_table.h. */
#include <string.h>
#include "elf/probe_place.h"
#include "memscope_events.h"
#include "probe/alloc_table.h"

#define F(n, sh, k, a0, a1, a2, fl, fam) { n, sh, k, { a0, a1, a2 }, fl, fam, NULL }
#define ALLOC(n, k, a, fam) F(n, MS_SH_ALLOC, k, a, -1, -1, 0, fam)
#define FREE(n, k, fl, fam) F(n, MS_SH_FREE, k, 0, -1, -1, fl, fam)

static const struct ms_alloc_fn fns[] = {
	/* the C library's family (glibc, and every allocator that replaces it) */
	ALLOC("malloc", MS_K_MALLOC, 0, "libc"),
	F("calloc", MS_SH_CALLOC, MS_K_CALLOC, 0, 1, -1, 0, "libc"),
	F("realloc", MS_SH_REALLOC, MS_K_REALLOC, 0, 1, -1, 0, "libc"),
	{ "reallocarray", MS_SH_REALLOCARRAY, MS_K_REALLOCARRAY, { 0, 1, 2 }, 0, "libc", "realloc" },
	F("posix_memalign", MS_SH_POSIX_MEMALIGN, MS_K_POSIX_MEMALIGN, 2, 0, -1, 0, "libc"),
	ALLOC("aligned_alloc", MS_K_ALIGNED_ALLOC, 1, "libc"),
	ALLOC("memalign", MS_K_MEMALIGN, 1, "libc"),
	ALLOC("valloc", MS_K_VALLOC, 0, "libc"),
	ALLOC("pvalloc", MS_K_PVALLOC, 0, "libc"),
	FREE("free", MS_K_FREE, 0, "libc"),
	FREE("cfree", MS_K_FREE, 0, "libc"),
	/* C++ operators (libstdc++, and allocators that define their own) */
	ALLOC("_Znwm", MS_K_NEW, 0, "c++"),
	ALLOC("_ZnwmRKSt9nothrow_t", MS_K_NEW, 0, "c++"),
	ALLOC("_ZnwmSt11align_val_t", MS_K_NEW, 0, "c++"),
	ALLOC("_ZnwmSt11align_val_tRKSt9nothrow_t", MS_K_NEW, 0, "c++"),
	ALLOC("_Znam", MS_K_NEW_ARRAY, 0, "c++"),
	ALLOC("_ZnamRKSt9nothrow_t", MS_K_NEW_ARRAY, 0, "c++"),
	ALLOC("_ZnamSt11align_val_t", MS_K_NEW_ARRAY, 0, "c++"),
	ALLOC("_ZnamSt11align_val_tRKSt9nothrow_t", MS_K_NEW_ARRAY, 0, "c++"),
	FREE("_ZdlPv", MS_K_DELETE, MS_AF_DELETE, "c++"),
	FREE("_ZdlPvm", MS_K_DELETE, MS_AF_DELETE, "c++"),
	FREE("_ZdlPvSt11align_val_t", MS_K_DELETE, MS_AF_DELETE, "c++"),
	FREE("_ZdlPvmSt11align_val_t", MS_K_DELETE, MS_AF_DELETE, "c++"),
	FREE("_ZdlPvRKSt9nothrow_t", MS_K_DELETE, MS_AF_DELETE, "c++"),
	FREE("_ZdlPvSt11align_val_tRKSt9nothrow_t", MS_K_DELETE, MS_AF_DELETE, "c++"),
	FREE("_ZdaPv", MS_K_DELETE_ARRAY, MS_AF_DELETE, "c++"),
	FREE("_ZdaPvm", MS_K_DELETE_ARRAY, MS_AF_DELETE, "c++"),
	FREE("_ZdaPvSt11align_val_t", MS_K_DELETE_ARRAY, MS_AF_DELETE, "c++"),
	FREE("_ZdaPvmSt11align_val_t", MS_K_DELETE_ARRAY, MS_AF_DELETE, "c++"),
	FREE("_ZdaPvRKSt9nothrow_t", MS_K_DELETE_ARRAY, MS_AF_DELETE, "c++"),
	FREE("_ZdaPvSt11align_val_tRKSt9nothrow_t", MS_K_DELETE_ARRAY, MS_AF_DELETE, "c++"),
	/* jemalloc's own API: mallocx(size, flags), rallocx(ptr, size, flags),
	 * xallocx(ptr, size, extra, flags), dallocx(ptr, flags),
	 * sdallocx(ptr, size, flags) */
	ALLOC("mallocx", MS_K_MALLOCX, 0, "jemalloc"),
	F("rallocx", MS_SH_REALLOC, MS_K_RALLOCX, 0, 1, -1, 0, "jemalloc"),
	F("xallocx", MS_SH_XALLOCX, MS_K_XALLOCX, 0, 1, -1, 0, "jemalloc"),
	FREE("dallocx", MS_K_DALLOCX, 0, "jemalloc"),
	FREE("sdallocx", MS_K_SDALLOCX, 0, "jemalloc"),
	/* tcmalloc's tc_* entries (most are aliases of the names above: one
	 * probe per address) */
	ALLOC("tc_malloc", MS_K_MALLOC, 0, "tcmalloc"),
	ALLOC("tc_malloc_skip_new_handler", MS_K_MALLOC, 0, "tcmalloc"),
	F("tc_calloc", MS_SH_CALLOC, MS_K_CALLOC, 0, 1, -1, 0, "tcmalloc"),
	F("tc_realloc", MS_SH_REALLOC, MS_K_REALLOC, 0, 1, -1, 0, "tcmalloc"),
	F("tc_posix_memalign", MS_SH_POSIX_MEMALIGN, MS_K_POSIX_MEMALIGN, 2, 0, -1, 0, "tcmalloc"),
	ALLOC("tc_memalign", MS_K_MEMALIGN, 1, "tcmalloc"),
	ALLOC("tc_valloc", MS_K_VALLOC, 0, "tcmalloc"),
	ALLOC("tc_pvalloc", MS_K_PVALLOC, 0, "tcmalloc"),
	ALLOC("tc_new", MS_K_NEW, 0, "tcmalloc"),
	ALLOC("tc_new_nothrow", MS_K_NEW, 0, "tcmalloc"),
	ALLOC("tc_new_aligned", MS_K_NEW, 0, "tcmalloc"),
	ALLOC("tc_new_aligned_nothrow", MS_K_NEW, 0, "tcmalloc"),
	ALLOC("tc_newarray", MS_K_NEW_ARRAY, 0, "tcmalloc"),
	ALLOC("tc_newarray_nothrow", MS_K_NEW_ARRAY, 0, "tcmalloc"),
	ALLOC("tc_newarray_aligned", MS_K_NEW_ARRAY, 0, "tcmalloc"),
	ALLOC("tc_newarray_aligned_nothrow", MS_K_NEW_ARRAY, 0, "tcmalloc"),
	FREE("tc_free", MS_K_FREE, 0, "tcmalloc"),
	FREE("tc_cfree", MS_K_FREE, 0, "tcmalloc"),
	FREE("tc_free_sized", MS_K_FREE, 0, "tcmalloc"),
	FREE("tc_delete", MS_K_DELETE, MS_AF_DELETE, "tcmalloc"),
	FREE("tc_delete_sized", MS_K_DELETE, MS_AF_DELETE, "tcmalloc"),
	FREE("tc_delete_nothrow", MS_K_DELETE, MS_AF_DELETE, "tcmalloc"),
	FREE("tc_delete_aligned", MS_K_DELETE, MS_AF_DELETE, "tcmalloc"),
	FREE("tc_delete_sized_aligned", MS_K_DELETE, MS_AF_DELETE, "tcmalloc"),
	FREE("tc_delete_aligned_nothrow", MS_K_DELETE, MS_AF_DELETE, "tcmalloc"),
	FREE("tc_deletearray", MS_K_DELETE_ARRAY, MS_AF_DELETE, "tcmalloc"),
	FREE("tc_deletearray_sized", MS_K_DELETE_ARRAY, MS_AF_DELETE, "tcmalloc"),
	FREE("tc_deletearray_nothrow", MS_K_DELETE_ARRAY, MS_AF_DELETE, "tcmalloc"),
	FREE("tc_deletearray_aligned", MS_K_DELETE_ARRAY, MS_AF_DELETE, "tcmalloc"),
	FREE("tc_deletearray_sized_aligned", MS_K_DELETE_ARRAY, MS_AF_DELETE, "tcmalloc"),
	FREE("tc_deletearray_aligned_nothrow", MS_K_DELETE_ARRAY, MS_AF_DELETE, "tcmalloc"),
	/* mimalloc's mi_* API. mi_strdup, mi_realpath & co. allocate through
	 * mi_heap_malloc, which is probed. */
	ALLOC("mi_malloc", MS_K_MALLOC, 0, "mimalloc"),
	ALLOC("mi_zalloc", MS_K_MALLOC, 0, "mimalloc"),
	ALLOC("mi_malloc_small", MS_K_MALLOC, 0, "mimalloc"),
	ALLOC("mi_zalloc_small", MS_K_MALLOC, 0, "mimalloc"),
	ALLOC("mi_malloc_aligned", MS_K_ALIGNED_ALLOC, 0, "mimalloc"),
	ALLOC("mi_malloc_aligned_at", MS_K_ALIGNED_ALLOC, 0, "mimalloc"),
	ALLOC("mi_zalloc_aligned", MS_K_ALIGNED_ALLOC, 0, "mimalloc"),
	ALLOC("mi_zalloc_aligned_at", MS_K_ALIGNED_ALLOC, 0, "mimalloc"),
	ALLOC("mi_memalign", MS_K_MEMALIGN, 1, "mimalloc"),
	ALLOC("mi_aligned_alloc", MS_K_ALIGNED_ALLOC, 1, "mimalloc"),
	ALLOC("mi_valloc", MS_K_VALLOC, 0, "mimalloc"),
	ALLOC("mi_pvalloc", MS_K_PVALLOC, 0, "mimalloc"),
	ALLOC("mi_new", MS_K_NEW, 0, "mimalloc"),
	ALLOC("mi_new_nothrow", MS_K_NEW, 0, "mimalloc"),
	ALLOC("mi_new_aligned", MS_K_NEW, 0, "mimalloc"),
	ALLOC("mi_new_aligned_nothrow", MS_K_NEW, 0, "mimalloc"),
	ALLOC("mi_heap_malloc", MS_K_MALLOC, 1, "mimalloc"),
	ALLOC("mi_heap_zalloc", MS_K_MALLOC, 1, "mimalloc"),
	ALLOC("mi_heap_malloc_small", MS_K_MALLOC, 1, "mimalloc"),
	ALLOC("mi_heap_malloc_aligned", MS_K_ALIGNED_ALLOC, 1, "mimalloc"),
	ALLOC("mi_heap_zalloc_aligned", MS_K_ALIGNED_ALLOC, 1, "mimalloc"),
	F("mi_calloc", MS_SH_CALLOC, MS_K_CALLOC, 0, 1, -1, 0, "mimalloc"),
	F("mi_mallocn", MS_SH_CALLOC, MS_K_CALLOC, 0, 1, -1, 0, "mimalloc"),
	F("mi_calloc_aligned", MS_SH_CALLOC, MS_K_CALLOC, 0, 1, -1, 0, "mimalloc"),
	F("mi_new_n", MS_SH_CALLOC, MS_K_NEW_ARRAY, 0, 1, -1, 0, "mimalloc"),
	F("mi_heap_calloc", MS_SH_CALLOC, MS_K_CALLOC, 1, 2, -1, 0, "mimalloc"),
	F("mi_heap_mallocn", MS_SH_CALLOC, MS_K_CALLOC, 1, 2, -1, 0, "mimalloc"),
	F("mi_realloc", MS_SH_REALLOC, MS_K_REALLOC, 0, 1, -1, 0, "mimalloc"),
	F("mi_reallocf", MS_SH_REALLOC, MS_K_REALLOC, 0, 1, -1, 0, "mimalloc"),
	F("mi_rezalloc", MS_SH_REALLOC, MS_K_REALLOC, 0, 1, -1, 0, "mimalloc"),
	F("mi_realloc_aligned", MS_SH_REALLOC, MS_K_REALLOC, 0, 1, -1, 0, "mimalloc"),
	F("mi_expand", MS_SH_REALLOC, MS_K_REALLOC, 0, 1, -1, 0, "mimalloc"),
	F("mi_new_realloc", MS_SH_REALLOC, MS_K_REALLOC, 0, 1, -1, 0, "mimalloc"),
	F("mi_heap_realloc", MS_SH_REALLOC, MS_K_REALLOC, 1, 2, -1, 0, "mimalloc"),
	F("mi_reallocn", MS_SH_REALLOCARRAY, MS_K_REALLOCARRAY, 0, 1, 2, 0, "mimalloc"),
	F("mi_recalloc", MS_SH_REALLOCARRAY, MS_K_REALLOCARRAY, 0, 1, 2, 0, "mimalloc"),
	{ "mi_reallocarray", MS_SH_REALLOCARRAY, MS_K_REALLOCARRAY, { 0, 1, 2 }, 0, "mimalloc",
	  "mi_realloc" },
	F("mi_new_reallocn", MS_SH_REALLOCARRAY, MS_K_REALLOCARRAY, 0, 1, 2, 0, "mimalloc"),
	F("mi_posix_memalign", MS_SH_POSIX_MEMALIGN, MS_K_POSIX_MEMALIGN, 2, 0, -1, 0, "mimalloc"),
	FREE("mi_free", MS_K_FREE, 0, "mimalloc"),
	/* wrappers that call mi_free: its inner free is not a second one */
	FREE("mi_cfree", MS_K_FREE, MS_AF_DELETE, "mimalloc"),
	FREE("mi_free_size", MS_K_FREE, MS_AF_DELETE, "mimalloc"),
	FREE("mi_free_aligned", MS_K_FREE, MS_AF_DELETE, "mimalloc"),
	FREE("mi_free_size_aligned", MS_K_FREE, MS_AF_DELETE, "mimalloc"),
};

static const struct {
	const char *entry, *ret;
} shapes[MS_SH_MAX] = {
	[MS_SH_ALLOC] = { "alloc_entry", "alloc_return" },
	[MS_SH_CALLOC] = { "calloc_entry", "alloc_return" },
	[MS_SH_REALLOC] = { "realloc_entry", "realloc_return" },
	[MS_SH_REALLOCARRAY] = { "reallocarray_entry", "realloc_return" },
	[MS_SH_POSIX_MEMALIGN] = { "posix_memalign_entry", "posix_memalign_return" },
	[MS_SH_XALLOCX] = { "xallocx_entry", "xallocx_return" },
	[MS_SH_FREE] = { "free_entry", NULL },
};

const struct ms_alloc_fn *ms_alloc_fns(size_t *n)
{
	*n = sizeof(fns) / sizeof(fns[0]);
	return fns;
}

const struct ms_alloc_fn *ms_alloc_fn_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(fns) / sizeof(fns[0]); i++)
		if (!strcmp(fns[i].name, name))
			return &fns[i];
	return NULL;
}

const char *ms_alloc_shape_entry(unsigned shape)
{
	return shape < MS_SH_MAX ? shapes[shape].entry : NULL;
}

const char *ms_alloc_shape_return(unsigned shape)
{
	return shape < MS_SH_MAX ? shapes[shape].ret : NULL;
}

unsigned ms_alloc_fn_argmask(const struct ms_alloc_fn *fn)
{
	unsigned m = 0;
	int i;

	for (i = 0; i < 3; i++)
		if (fn->arg[i] >= 0)
			m |= 1u << fn->arg[i];
	return m;
}

uint64_t ms_alloc_cookie(const struct ms_alloc_fn *fn, const uint8_t reg[6], uint32_t probe_id)
{
	uint64_t ck = (uint64_t)fn->kind << MS_CK_KIND_SHIFT;
	int i;

	for (i = 0; i < 3; i++)
		if (fn->arg[i] >= 0 && fn->arg[i] < 6)
			ck |= (uint64_t)reg[fn->arg[i]] << MS_CK_ARG_SHIFT(i);
	if (fn->flags & MS_AF_DELETE)
		ck |= MS_CK_DELETE;
	return ck | ((uint64_t)probe_id << MS_CK_PROBE_SHIFT);
}
