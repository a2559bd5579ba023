/* SPDX-License-Identifier: BSD-3-Clause */
/* forward.c - find the allocator libmemscope_sample.so forwards to and
 * build what it lacks from its own functions. See forward.h. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forward.h"

/* ---- the bootstrap arena ---------------------------------------------------- */

/* Enough for glibc's dlsym/dladdr bookkeeping many times over. */
#define ARENA_BYTES (64 * 1024)
#define ARENA_ALIGN 16

static _Alignas(ARENA_ALIGN) unsigned char arena[ARENA_BYTES];
static size_t arena_used; /* atomic bump pointer */

/* This thread is inside dlsym for us: its allocations use the arena. */
static __thread int resolving __attribute__((tls_model("initial-exec")));
int ms_next_done; /* 1 once ms_next holds the real functions */

/* A block of n bytes aligned to align (a power of two >= 16) with its size
 * in the 16 bytes before it; NULL when the arena is spent. */
static void *arena_alloc(size_t n, size_t align)
{
	size_t old, start, end;

	if (align < ARENA_ALIGN)
		align = ARENA_ALIGN;
	do {
		old = __atomic_load_n(&arena_used, __ATOMIC_RELAXED);
		start = (old + ARENA_ALIGN + align - 1) & ~(align - 1);
		end = start + ((n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1));
		if (end > ARENA_BYTES || end < start)
			return NULL;
	} while (!__atomic_compare_exchange_n(&arena_used, &old, end, 0, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	*(size_t *)(arena + start - ARENA_ALIGN) = n;
	return arena + start;
}

int ms_arena_owns(const void *p)
{
	return (const unsigned char *)p >= arena && (const unsigned char *)p < arena + ARENA_BYTES;
}

size_t ms_arena_size(const void *p)
{
	return *(const size_t *)((const unsigned char *)p - ARENA_ALIGN);
}

/* ---- bootstrap stubs: resolve, then do the call --------------------------------- */

static void *boot_malloc(size_t n)
{
	if (resolving)
		return arena_alloc(n, ARENA_ALIGN);
	ms_next_resolve();
	return ms_next.malloc(n);
}

static void boot_free(void *p)
{
	if (!p || ms_arena_owns(p))
		return;
	ms_next_resolve();
	ms_next.free(p);
}

static void *boot_calloc(size_t n, size_t size)
{
	size_t bytes;

	if (resolving)
		return __builtin_mul_overflow(n, size, &bytes) ? NULL : arena_alloc(bytes, ARENA_ALIGN);
	ms_next_resolve();
	return ms_next.calloc(n, size);
}

static void *boot_realloc(void *p, size_t n)
{
	void *q;

	if (resolving) {
		q = arena_alloc(n, ARENA_ALIGN);
		if (q && p)
			memcpy(q, p, ms_arena_owns(p) && ms_arena_size(p) < n ? ms_arena_size(p) : n);
		return q;
	}
	ms_next_resolve();
	return ms_next.realloc(p, n);
}

static void *boot_memalign(size_t align, size_t n)
{
	if (resolving)
		return arena_alloc(n, align);
	ms_next_resolve();
	return ms_next.memalign(align, n);
}

struct ms_next ms_next = {
	.malloc = boot_malloc,
	.free = boot_free,
	.calloc = boot_calloc,
	.realloc = boot_realloc,
	.memalign = boot_memalign,
};

/* ---- the family built from the owner's functions ------------------------------------ */

static void *emu_reallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return ms_next.realloc(p, bytes);
}

/* The owner's own aligned allocators (NULL where it has none). */
static struct {
	void *(*memalign)(size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
} own;

/* An aligned block from the owner, whichever of the three it has. */
static void *owner_aligned(size_t align, size_t n)
{
	void *p = NULL;
	int rc;

	if (own.memalign)
		return own.memalign(align, n);
	if (own.aligned_alloc)
		return own.aligned_alloc(align, n);
	if (own.posix_memalign) {
		rc = own.posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, n);
		if (rc) {
			errno = rc;
			return NULL;
		}
		return p;
	}
	if (align <= 16)
		return ms_next.malloc(n);
	errno = ENOMEM;
	return NULL;
}

static void *emu_memalign(size_t align, size_t n)
{
	return owner_aligned(align, n);
}

static int emu_posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (align % sizeof(void *) || !align || (align & (align - 1)))
		return EINVAL;
	p = owner_aligned(align, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

static void *emu_valloc(size_t n)
{
	return owner_aligned((size_t)getpagesize(), n);
}

static void *emu_pvalloc(size_t n)
{
	size_t page = (size_t)getpagesize();

	return owner_aligned(page, n ? (n + page - 1) & ~(page - 1) : page);
}

static size_t emu_usable_size(void *p)
{
	(void)p;
	return 0;
}

/* ---- resolution ------------------------------------------------------------------ */

/* The next definition of `name` if the owner defines it, else NULL. */
static void *owner_sym(const char *name, const void *owner)
{
	void *p = dlsym(RTLD_NEXT, name);
	Dl_info info;

	if (!p || !dladdr(p, &info) || info.dli_fbase != owner)
		return NULL;
	return p;
}

static void die(const char *msg)
{
	static const char pre[] = "libmemscope_sample: ";

	if (write(2, pre, sizeof(pre) - 1) < 0 || write(2, msg, strlen(msg)) < 0 ||
	    write(2, "\n", 1) < 0)
		abort();
	abort();
}

void ms_next_resolve(void)
{
	struct ms_next n;
	Dl_info info;
	const void *owner;
	int saved = errno;

	if (__atomic_load_n(&ms_next_done, __ATOMIC_ACQUIRE) || resolving)
		return;
	resolving = 1;
	memset(&n, 0, sizeof(n));
	n.malloc = dlsym(RTLD_NEXT, "malloc");
	if (!n.malloc || !dladdr((void *)n.malloc, &info))
		die("no malloc after this library in the lookup order");
	owner = info.dli_fbase;
	n.free = owner_sym("free", owner);
	n.calloc = owner_sym("calloc", owner);
	n.realloc = owner_sym("realloc", owner);
	if (!n.free || !n.calloc || !n.realloc)
		die("the library that defines malloc lacks free, calloc or realloc");
	n.reallocarray = owner_sym("reallocarray", owner);
	n.posix_memalign = owner_sym("posix_memalign", owner);
	n.memalign = owner_sym("memalign", owner);
	n.aligned_alloc = owner_sym("aligned_alloc", owner);
	n.valloc = owner_sym("valloc", owner);
	n.pvalloc = owner_sym("pvalloc", owner);
	n.usable_size = owner_sym("malloc_usable_size", owner);
	/* C++: whatever comes next, and whether it allocates on its own */
	n.op_new = dlsym(RTLD_NEXT, "_Znwm");
	n.op_new_nt = dlsym(RTLD_NEXT, "_ZnwmRKSt9nothrow_t");
	n.op_new_al = dlsym(RTLD_NEXT, "_ZnwmSt11align_val_t");
	n.op_new_al_nt = dlsym(RTLD_NEXT, "_ZnwmSt11align_val_tRKSt9nothrow_t");
	n.op_newa = dlsym(RTLD_NEXT, "_Znam");
	n.op_newa_nt = dlsym(RTLD_NEXT, "_ZnamRKSt9nothrow_t");
	n.op_newa_al = dlsym(RTLD_NEXT, "_ZnamSt11align_val_t");
	n.op_newa_al_nt = dlsym(RTLD_NEXT, "_ZnamSt11align_val_tRKSt9nothrow_t");
	n.op_del = dlsym(RTLD_NEXT, "_ZdlPv");
	n.op_del_sz = dlsym(RTLD_NEXT, "_ZdlPvm");
	n.op_del_al = dlsym(RTLD_NEXT, "_ZdlPvSt11align_val_t");
	n.op_del_sz_al = dlsym(RTLD_NEXT, "_ZdlPvmSt11align_val_t");
	n.op_del_nt = dlsym(RTLD_NEXT, "_ZdlPvRKSt9nothrow_t");
	n.op_del_al_nt = dlsym(RTLD_NEXT, "_ZdlPvSt11align_val_tRKSt9nothrow_t");
	n.op_dela = dlsym(RTLD_NEXT, "_ZdaPv");
	n.op_dela_sz = dlsym(RTLD_NEXT, "_ZdaPvm");
	n.op_dela_al = dlsym(RTLD_NEXT, "_ZdaPvSt11align_val_t");
	n.op_dela_sz_al = dlsym(RTLD_NEXT, "_ZdaPvmSt11align_val_t");
	n.op_dela_nt = dlsym(RTLD_NEXT, "_ZdaPvRKSt9nothrow_t");
	n.op_dela_al_nt = dlsym(RTLD_NEXT, "_ZdaPvSt11align_val_tRKSt9nothrow_t");
	n.cxx_counts = n.op_new && dladdr((void *)n.op_new, &info) && info.dli_fbase == owner;
	/* jemalloc's API, only from the owner */
	n.mallocx = owner_sym("mallocx", owner);
	n.rallocx = owner_sym("rallocx", owner);
	n.xallocx = owner_sym("xallocx", owner);
	n.sallocx = owner_sym("sallocx", owner);
	n.dallocx = owner_sym("dallocx", owner);
	n.sdallocx = owner_sym("sdallocx", owner);
	n.nallocx = owner_sym("nallocx", owner);
	/* what the owner lacks, built from what it has */
	if (!n.reallocarray)
		n.reallocarray = emu_reallocarray;
	if (!n.usable_size)
		n.usable_size = emu_usable_size;
	/* the owner's aligned allocators, for the emulations */
	own.memalign = n.memalign;
	own.aligned_alloc = n.aligned_alloc;
	own.posix_memalign = n.posix_memalign;
	if (!n.posix_memalign)
		n.posix_memalign = emu_posix_memalign;
	if (!n.memalign)
		n.memalign = emu_memalign;
	if (!n.aligned_alloc)
		n.aligned_alloc = emu_memalign;
	if (!n.valloc)
		n.valloc = emu_valloc;
	if (!n.pvalloc)
		n.pvalloc = emu_pvalloc;
	/* the emulations call malloc before ms_next is whole */
	ms_next.malloc = n.malloc;
	ms_next = n;
	__atomic_store_n(&ms_next_done, 1, __ATOMIC_RELEASE);
	resolving = 0;
	errno = saved;
}
