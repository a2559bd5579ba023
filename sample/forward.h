/* SPDX-License-Identifier: BSD-3-Clause */
/* forward.h - the allocator libmemscope_sample.so forwards to: whatever
 * defines malloc next in the dynamic linker's lookup order (jemalloc,
 * tcmalloc, mimalloc linked into the program or preloaded after this
 * library, else glibc), found with dlsym(RTLD_NEXT).
 *
 * The rule that keeps a program alive: every block goes back to the
 * allocator it came from. So the whole family comes from the one library
 * that defines malloc (the "owner"): a function the owner lacks (jemalloc
 * has no pvalloc or reallocarray) is built from the owner's own functions
 * here, never taken from the next library that happens to define it (that
 * would be glibc's, and its block would later reach jemalloc's free).
 *
 * C++ operators and jemalloc's API are forwarded to their next definitions;
 * cxx_counts says whether this library must sample what operator new
 * returns (the owner defines the operators: jemalloc's new allocates
 * directly) or not (libstdc++'s new calls malloc through its PLT, which is
 * this library's malloc: the block is sampled there already).
 *
 * Bootstrap: dlsym itself may allocate (glibc's dlerror buffer). Calls
 * made by the thread that is resolving are served from a small static
 * arena; its blocks are never handed to the real allocator (free ignores
 * them, realloc copies them out). */
#ifndef MS_SAMPLE_FORWARD_H
#define MS_SAMPLE_FORWARD_H

#include <stddef.h>

struct ms_next {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*reallocarray)(void *, size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*usable_size)(void *);
	/* C++ operators, next definitions (NULL: none anywhere) */
	void *(*op_new)(size_t);
	void *(*op_new_nt)(size_t, const void *);
	void *(*op_new_al)(size_t, size_t);
	void *(*op_new_al_nt)(size_t, size_t, const void *);
	void *(*op_newa)(size_t);
	void *(*op_newa_nt)(size_t, const void *);
	void *(*op_newa_al)(size_t, size_t);
	void *(*op_newa_al_nt)(size_t, size_t, const void *);
	void (*op_del)(void *);
	void (*op_del_sz)(void *, size_t);
	void (*op_del_al)(void *, size_t);
	void (*op_del_sz_al)(void *, size_t, size_t);
	void (*op_del_nt)(void *, const void *);
	void (*op_del_al_nt)(void *, size_t, const void *);
	void (*op_dela)(void *);
	void (*op_dela_sz)(void *, size_t);
	void (*op_dela_al)(void *, size_t);
	void (*op_dela_sz_al)(void *, size_t, size_t);
	void (*op_dela_nt)(void *, const void *);
	void (*op_dela_al_nt)(void *, size_t, const void *);
	int cxx_counts; /* operator new does not come back through malloc */
	/* jemalloc's API, from the owner (NULL: emulated, see sample.c) */
	void *(*mallocx)(size_t, int);
	void *(*rallocx)(void *, size_t, int);
	size_t (*xallocx)(void *, size_t, size_t, int);
	size_t (*sallocx)(const void *, int);
	void (*dallocx)(void *, int);
	void (*sdallocx)(void *, size_t, int);
	size_t (*nallocx)(size_t, int);
};

/* Filled by ms_next_resolve(); before that, the pointers lead to
 * bootstrap stubs that resolve first (so the fast paths never test a
 * flag). */
extern struct ms_next ms_next __attribute__((visibility("hidden")));

/* Resolve the next allocator (idempotent, thread-safe, async-signal-safe
 * once done). Called from the constructor and by the bootstrap stubs. */
void ms_next_resolve(void) __attribute__((visibility("hidden")));
extern int ms_next_done __attribute__((visibility("hidden")));

/* For the functions without a bootstrap stub (all but malloc, free,
 * calloc, realloc, memalign): resolve before the first call. */
#define MS_NEXT_READY()                                                        \
	do {                                                                   \
		if (__builtin_expect(!__atomic_load_n(&ms_next_done, __ATOMIC_ACQUIRE), 0)) \
			ms_next_resolve();                                     \
	} while (0)

/* 1 if p is a block of the bootstrap arena (never the real allocator's). */
int ms_arena_owns(const void *p) __attribute__((visibility("hidden")));
/* Size of the arena block p. */
size_t ms_arena_size(const void *p) __attribute__((visibility("hidden")));

#endif
