/* SPDX-License-Identifier: BSD-3-Clause */
/* unwind_nofp_lib.c - the library half of unwind_nofp.c, built -O2
 * -fomit-frame-pointer twice: as libunwind_nofp.so (linked) and, with
 * -DNOFP_DL, as libunwind_nofp_dl.so (dlopen()ed; its functions are named
 * nofp_dl_* so that they do not bind to the linked library's). */
#include <stddef.h>

#ifdef NOFP_DL
#define nofp_lib_inner nofp_dl_inner
#define nofp_lib_walk nofp_dl_walk
#endif

typedef void *(*alloc_fn)(size_t n);

#define CLOBBER_RBP() asm volatile("movq $0x5a5a5a5a5a5a5a5a, %%rbp" ::: "rbp")

__attribute__((noinline)) void *nofp_lib_inner(alloc_fn cb, size_t n)
{
	volatile char pad[136];
	void *p;

	CLOBBER_RBP();
	pad[0] = 0;
	p = cb(n + (size_t)pad[0]);
	asm volatile("" ::: "memory");
	return p;
}

__attribute__((noinline)) void *nofp_lib_walk(alloc_fn cb, size_t n)
{
	volatile char pad[8];
	void *p;

	CLOBBER_RBP();
	pad[0] = 0;
	p = nofp_lib_inner(cb, n + (size_t)pad[0]);
	asm volatile("" ::: "memory");
	return p;
}
