/* SPDX-License-Identifier: BSD-3-Clause */
/* alloc_table.h - the allocator entry points memscope probes, by library
 * family, and the shape of each call (which BPF program handles it and
 * where its arguments are in the System V ABI).
 *
 * One BPF program serves every function of a shape (bpf/memscope.bpf.c):
 * malloc, operator new, jemalloc's mallocx, tcmalloc's tc_malloc and
 * mimalloc's mi_heap_malloc all take a size and return a block; they differ
 * only in which argument register holds the size and in the kind recorded.
 * The loader turns a row of this table plus the probe's placement
 * (elf/probe_place.h) into the link's BPF cookie (MS_CK_* in
 * memscope_events.h). No libbpf here. */
#ifndef MS_PROBE_ALLOC_TABLE_H
#define MS_PROBE_ALLOC_TABLE_H

#include <stddef.h>
#include <stdint.h>

enum ms_alloc_shape {
	MS_SH_ALLOC = 0,       /* (size) -> block */
	MS_SH_CALLOC,          /* (n, size) -> block */
	MS_SH_REALLOC,         /* (old, size) -> block */
	MS_SH_REALLOCARRAY,    /* (old, n, size) -> block */
	MS_SH_POSIX_MEMALIGN,  /* (size, void **out) -> 0 or an errno */
	MS_SH_XALLOCX,         /* (block, size) -> real size, resized in place */
	MS_SH_FREE,            /* (block) */
	MS_SH_MAX,
};

#define MS_AF_DELETE 1 /* an operator delete, or a free that wraps another
			* (mi_free_size calls mi_free): its inner free of the
			* same block is not a second free */

struct ms_alloc_fn {
	const char *name;
	uint8_t shape;  /* enum ms_alloc_shape */
	uint8_t kind;   /* enum ms_alloc_kind recorded */
	int8_t arg[3];  /* ABI argument index (0 = rdi ... 5 = r9) of logical
			 * argument i, -1 = unused */
	uint8_t flags;  /* MS_AF_* */
	const char *family; /* "libc", "c++", "jemalloc", "tcmalloc", "mimalloc" */
	/* Where its allocating calls go on to, if it is a wrapper (glibc's
	 * reallocarray checks n * size and jumps to realloc): when its entry
	 * cannot be probed on an emulated instruction and its code does branch
	 * to that function, that function's probe sees its work. */
	const char *via;
};

/* The table, standard names first: when two names share an address
 * (tc_malloc is malloc, mi_free is free) the first one probes it. */
const struct ms_alloc_fn *ms_alloc_fns(size_t *n);

/* The row named `name`, or NULL. */
const struct ms_alloc_fn *ms_alloc_fn_find(const char *name);

/* BPF program names of a shape: its entry, and its return (NULL for
 * frees). */
const char *ms_alloc_shape_entry(unsigned shape);
const char *ms_alloc_shape_return(unsigned shape);

/* MS_ARG_* mask (elf/probe_place.h) of the argument registers the entry
 * program reads for fn. */
unsigned ms_alloc_fn_argmask(const struct ms_alloc_fn *fn);

/* The cookie of a link of fn: argument registers from reg[6] (where each
 * ABI argument is at the probe, enum ms_reg codes), kind, flags, probe id. */
uint64_t ms_alloc_cookie(const struct ms_alloc_fn *fn, const uint8_t reg[6], uint32_t probe_id);

#endif
