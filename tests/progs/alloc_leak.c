/* SPDX-License-Identifier: BSD-3-Clause */
/* alloc_leak.c - leaks a known set of blocks through the allocator the
 * program is linked with; built as alloc_je (jemalloc), alloc_tc
 * (tcmalloc), alloc_mi (mimalloc) and alloc_all (all three: jemalloc wins
 * `malloc`), see the Makefile. No probes of ours: the allocator is the
 * program's own, and the blocks are made at once, before main's first
 * line could wait for a tracer.
 *
 *   malloc   10 leaked blocks of 1001..1010 bytes, 5 of 4000 freed
 *   alloc_all (-DALL_THREE) also: 7 leaked blocks of 2001..2007 bytes through tcmalloc's
 *            own malloc and 6 of 3001..3006 through mimalloc's, called
 *            through dlsym() on each library's handle (each freed block
 *            goes back to the allocator that made it). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static void *volatile keep[64];

/* leak n blocks of base+1 .. base+n bytes, and make and free 5 others */
static int leak(void *(*m)(size_t), void (*f)(void *), size_t base, int n, int k)
{
	int i;

	for (i = 0; i < n; i++)
		if (!(keep[k++] = m(base + 1 + (size_t)i)))
			return -1;
	for (i = 0; i < 5; i++) {
		void *p = m(4000);

		if (!p)
			return -1;
		f(p);
	}
	return k;
}

static int via(const char *lib, size_t base, int n, int k)
{
	void *h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
	void *(*m)(size_t);
	void (*f)(void *);

	if (!h)
		return -1;
	*(void **)&m = dlsym(h, "malloc");
	*(void **)&f = dlsym(h, "free");
	return m && f ? leak(m, f, base, n, k) : -1;
}

int main(void)
{
	int k = leak(malloc, free, 1000, 10, 0);

#ifdef ALL_THREE
	if (k >= 0)
		k = via("libtcmalloc.so.4", 2000, 7, k);
	if (k >= 0)
		k = via("libmimalloc.so.2", 3000, 6, k);
#else
	(void)via;
#endif
	printf("%s %d\n", k < 0 ? "failed" : "leaked", k);
	return k < 0;
}
