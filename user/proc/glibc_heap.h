/* SPDX-License-Identifier: BSD-3-Clause */
/* glibc_heap.h - the blocks glibc's malloc has handed out in a held
 * process, found by walking its heap from outside (process_vm_readv, never
 * writing), for `memscope-trace leak-check PID` on a process nobody traced:
 * every block the program holds, however old, without a probe.
 *
 * What the walk needs from glibc (where main_arena, mp_ and tcache_key
 * are, and the layout of its structures) comes from libc's debug info
 * (user/elf/glibc_malloc.c reads it: libc6-dbg or debuginfod); the walk
 * itself (glibc_heap.c) says how each kind of chunk is told apart. */
#ifndef MS_PROC_GLIBC_HEAP_H
#define MS_PROC_GLIBC_HEAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* glibc's malloc as this libc.so.6 builds it: addresses are ELF vaddrs
 * of the file (add the load bias), offsets bytes into the structure. */
struct ms_glibc_layout {
	uint64_t main_arena, mp, tcache_key; /* vaddrs */
	/* struct malloc_state */
	uint32_t ms_mutex, ms_fastbins, ms_top, ms_next, ms_size;
	uint32_t nfastbins;
	/* struct malloc_par */
	uint32_t mp_sbrk_base, mp_hp_pagesize; /* hp_pagesize: UINT32_MAX if absent */
	/* struct _heap_info */
	uint32_t hi_ar_ptr, hi_prev, hi_size, hi_sizeof;
	/* struct tcache_perthread_struct */
	uint32_t tc_counts, tc_entries, tc_sizeof, tc_bins, tc_count_size;
	/* [lo, hi) vaddr ranges of malloc.c's code: a thread stopped in one
	 * may be halfway through changing the heap */
	uint64_t code[32][2];
	size_t ncode;
};

/* A block in use: addr is what malloc returned, size what the program may
 * use (malloc_usable_size: the chunk less its header; the size asked for
 * is not stored anywhere). */
struct ms_heap_block {
	uint64_t addr, size;
};

struct ms_heap_walk {
	struct ms_heap_block *blocks; /* sorted by address */
	size_t nblocks;
	/* every chunk's user address, in use or free (sorted): the memory
	 * the allocator owns */
	uint64_t *owned;
	size_t nowned;
	/* what the walk saw */
	size_t arenas, heaps, chunks, free_chunks, tcache_chunks, fastbin_chunks, mmapped;
	size_t tcache_structs; /* glibc's own per-thread caches, left out */
	uint64_t heap_bytes;   /* bytes of chunks walked */
	uint64_t read_bytes, syscalls;
};

/* Walk the heap of held process pid, whose libc.so.6 is loaded with bias
 * `bias`. Fails (-EAGAIN) if a thread is stopped inside malloc's code or
 * holds an arena's lock: the heap may be half changed; let the process run
 * a moment and try again. -EPROTO when a chunk does not make sense (a
 * heap the program corrupted, or a different glibc): why says where.
 * -ESRCH if the process is gone, -ENOMEM. rips: where each held thread
 * stopped. */
int ms_glibc_heap_walk(pid_t pid, const struct ms_glibc_layout *L, uint64_t bias,
		       const uint64_t *rips, size_t nrips, struct ms_heap_walk *out,
		       char *why, size_t len);
void ms_heap_walk_free(struct ms_heap_walk *w); /* NULL-safe, leaves it empty */

#endif
