/* SPDX-License-Identifier: BSD-3-Clause */
/* unwind_nofp.c - allocations whose stacks cross code without frame
 * pointers, as distributions build it: this program and
 * libunwind_nofp.so are built -O2 -fomit-frame-pointer (see the Makefile),
 * and every function here and in the library also overwrites rbp before
 * it calls on, so a frame-pointer walk cannot get past the first frame.
 * Chain: main -> app_outer -> nofp_lib_walk -> nofp_lib_inner (library)
 * -> app_alloc (back in the program) -> malloc.
 *   unwind_nofp leak            leak one 100-byte block through the chain
 *   unwind_nofp double          free a block twice through the chain (abort)
 *   unwind_nofp dlopen LIB      the same through a library dlopen()ed now:
 *                               one 201-byte block, then after 300 ms
 *                               (the tracer builds its table meanwhile) a
 *                               202-byte one */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef void *(*alloc_fn)(size_t n);
void *nofp_lib_walk(alloc_fn cb, size_t n);

/* rbp as the compiler may use it without frame pointers: garbage */
#define CLOBBER_RBP() asm volatile("movq $0x5a5a5a5a5a5a5a5a, %%rbp" ::: "rbp")

__attribute__((noinline)) void *app_alloc(size_t n)
{
	volatile char pad[40];
	void *p;

	CLOBBER_RBP();
	pad[0] = (char)n;
	p = malloc(n + (size_t)pad[0] * 0);
	asm volatile("" ::: "memory");
	return p;
}

__attribute__((noinline)) void app_free_twice(void *p)
{
	volatile char pad[24];

	CLOBBER_RBP();
	pad[0] = 1;
	free(p);
	asm volatile("" ::: "memory");
	free(p); /* glibc aborts: the tracer must have the record by then */
	asm volatile("" ::: "memory");
	(void)pad[0];
}

__attribute__((noinline)) void *app_outer(size_t n)
{
	volatile char pad[72];
	void *p;

	CLOBBER_RBP();
	pad[0] = 0;
	p = nofp_lib_walk(app_alloc, n + (size_t)pad[0]);
	asm volatile("" ::: "memory");
	return p;
}

__attribute__((noinline)) static void *dl_call(void *h, size_t n)
{
	void *(*walk)(alloc_fn, size_t) = (void *(*)(alloc_fn, size_t))dlsym(h, "nofp_dl_walk");

	void *p = walk ? walk(app_alloc, n) : NULL;

	asm volatile("" ::: "memory");
	return p;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "leak";

	if (!strcmp(mode, "leak")) {
		printf("%p\n", app_outer(100));
	} else if (!strcmp(mode, "double")) {
		void *p = app_outer(64);

		app_free_twice(p);
	} else if (!strcmp(mode, "dlopen") && argc > 2) {
		void *h = dlopen(argv[2], RTLD_NOW);

		if (!h) {
			fprintf(stderr, "%s\n", dlerror());
			return 1;
		}
		printf("%p\n", dl_call(h, 201));
		usleep(300000);
		printf("%p\n", dl_call(h, 202));
	} else {
		fprintf(stderr, "usage: unwind_nofp leak|double|dlopen LIB\n");
		return 2;
	}
	return 0;
}
