/* SPDX-License-Identifier: BSD-3-Clause */
/* alloc_apis.cpp - allocate through an allocator's own API as a program
 * linked with it does: built four times (tests/Makefile rules), for glibc,
 * jemalloc (-DUSE_JEMALLOC), tcmalloc (-DUSE_TCMALLOC) and mimalloc
 * (-DUSE_MIMALLOC).
 *
 *   alloc_apis keep   every API allocates a block of a size of its own
 *                     (1000 + 100 * family + i) and keeps it: the report
 *                     must list each as a leak with exactly that size; a
 *                     second block of each is freed through the matching
 *                     API (size 5000 + ...), so none of those may leak
 *   alloc_apis churn N   N rounds of a mixed workload through the whole
 *                     family (standard, C++, the allocator's own API),
 *                     checking block contents; prints one line whose
 *                     checksum covers every byte read back and every
 *                     usable size: the same output with or without the
 *                     sampling library preloaded means every block went
 *                     back to the allocator it came from
 */
#include <malloc.h>
#include <new>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(USE_JEMALLOC)
#include <jemalloc/jemalloc.h>
#elif defined(USE_TCMALLOC)
#include <gperftools/tcmalloc.h>
#elif defined(USE_MIMALLOC)
#include <mimalloc.h>
#endif

static void *volatile sink;

/* Keep p (a leak the report must find) and say which size it has. */
static void keep(const char *api, void *p, size_t size)
{
	sink = p;
	printf("kept %s %zu %p\n", api, size, p);
}

static int keep_blocks(void)
{
	void *p;

	/* the C library's family and C++ operators, on every build */
	keep("malloc", malloc(1001), 1001);
	keep("calloc", calloc(1, 1002), 1002);
	keep("realloc", realloc(malloc(16), 1003), 1003);
	keep("aligned_alloc", aligned_alloc(64, 1024), 1024);
	if (posix_memalign(&p, 64, 1005) == 0)
		keep("posix_memalign", p, 1005);
	keep("new", ::operator new(1006), 1006);
	keep("new[]", ::operator new[](1007), 1007);
	free(malloc(5001));
	::operator delete(::operator new(5002));
	::operator delete(::operator new(5003), (size_t)5003);
	::operator delete[](::operator new[](5004));
#if defined(USE_JEMALLOC)
	keep("mallocx", mallocx(1101, 0), 1101);
	keep("mallocx", mallocx(1102, MALLOCX_ZERO | MALLOCX_ALIGN(64)), 1102);
	keep("rallocx", rallocx(mallocx(16, 0), 1103, 0), 1103);
	p = mallocx(20000, 0);
	/* grown in place or not at all: the size it reports is what it holds */
	if (xallocx(p, 20480, 0, 0) >= 20480)
		keep("xallocx", p, 20480);
	else
		keep("xallocx", p, 20000);
	dallocx(mallocx(5101, 0), 0);
	sdallocx(mallocx(5102, 0), 5102, 0);
#elif defined(USE_TCMALLOC)
	keep("tc_malloc", tc_malloc(1201), 1201);
	keep("tc_calloc", tc_calloc(1, 1202), 1202);
	keep("tc_realloc", tc_realloc(tc_malloc(16), 1203), 1203);
	keep("tc_memalign", tc_memalign(64, 1204), 1204);
	if (tc_posix_memalign(&p, 64, 1205) == 0)
		keep("tc_posix_memalign", p, 1205);
	keep("tc_new", tc_new(1206), 1206);
	keep("tc_newarray", tc_newarray(1207), 1207);
	tc_free(tc_malloc(5201));
	tc_free_sized(tc_malloc(5202), 5202);
	tc_delete(tc_new(5203));
	tc_delete_sized(tc_new(5204), 5204);
	tc_deletearray(tc_newarray(5205));
#elif defined(USE_MIMALLOC)
	keep("mi_malloc", mi_malloc(1301), 1301);
	keep("mi_zalloc", mi_zalloc(1302), 1302);
	keep("mi_calloc", mi_calloc(1, 1303), 1303);
	keep("mi_realloc", mi_realloc(mi_malloc(16), 1304), 1304);
	keep("mi_malloc_aligned", mi_malloc_aligned(1305, 64), 1305);
	keep("mi_zalloc_aligned", mi_zalloc_aligned(1306, 64), 1306);
	keep("mi_heap_malloc", mi_heap_malloc(mi_heap_get_default(), 1307), 1307);
	keep("mi_mallocn", mi_mallocn(1, 1308), 1308);
	keep("mi_reallocn", mi_reallocn(mi_malloc(16), 1, 1309), 1309);
	keep("mi_new", mi_new(1310), 1310);
	keep("mi_heap_calloc", mi_heap_calloc(mi_heap_get_default(), 1, 1311), 1311);
	mi_free(mi_malloc(5301));
	mi_free_size(mi_malloc(5302), 5302);
	mi_free_aligned(mi_malloc_aligned(5303, 64), 64);
	mi_cfree(mi_malloc(5304));
#endif
	fflush(stdout);
	return 0;
}

/* ---- churn: a workload that notices a block handed to the wrong
 * allocator (a crash, a wrong usable size or a wrong byte) ---- */

static uint64_t sum;

static void mix(uint64_t v)
{
	sum = (sum ^ v) * 0x100000001b3ULL;
}

static void fill(void *p, size_t n, unsigned char seed)
{
	memset(p, seed, n);
}

static void check(const void *p, size_t n, unsigned char seed)
{
	const unsigned char *c = (const unsigned char *)p;
	size_t i;

	for (i = 0; i < n; i += 61)
		mix(c[i] == seed ? c[i] : 0xdead);
	mix(n);
}

static int churn(long rounds)
{
	enum { SLOTS = 64 };
	void *slot[SLOTS] = { 0 };
	size_t len[SLOTS] = { 0 };
	int how[SLOTS] = { 0 };
	uint64_t x = 88172645463325252ULL;
	long r;

	for (r = 0; r < rounds; r++) {
		int k, i = (int)(r % SLOTS);
		size_t n;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		n = 1 + (size_t)(x % (r % 97 == 0 ? 200000 : 3000));
		k = (int)((x >> 32) % 10);
		if (slot[i]) {
			check(slot[i], len[i], (unsigned char)i);
			/* usable sizes are the allocator's: the same allocator
			 * gives the same ones */
			if (how[i] < 6)
				mix(malloc_usable_size(slot[i]));
			switch (how[i]) {
			case 6: ::operator delete(slot[i]); break;
			case 7: ::operator delete[](slot[i]); break;
#if defined(USE_JEMALLOC)
			case 8: sdallocx(slot[i], len[i], 0); break;
			case 9: dallocx(slot[i], 0); break;
#endif
			default: free(slot[i]); break;
			}
		}
		switch (k) {
		case 0: slot[i] = malloc(n); break;
		case 1: slot[i] = calloc(1, n); break;
		case 2: slot[i] = realloc(malloc(8), n); break;
		case 3: slot[i] = aligned_alloc(64, (n + 63) & ~(size_t)63); break;
		case 4: if (posix_memalign(&slot[i], 128, n)) slot[i] = NULL; break;
		case 5: slot[i] = memalign(256, n); break;
		case 6: slot[i] = ::operator new(n); break;
		case 7: slot[i] = ::operator new[](n); break;
#if defined(USE_JEMALLOC)
		case 8: slot[i] = mallocx(n, MALLOCX_ZERO); break;
		case 9: slot[i] = rallocx(mallocx(8, 0), n, 0); break;
#else
		case 8: slot[i] = reallocarray(NULL, n, 1); break;
		case 9: slot[i] = valloc(n); break;
#endif
		}
		if (!slot[i])
			return 1;
		len[i] = n;
		how[i] = k;
		fill(slot[i], n, (unsigned char)i);
	}
	printf("churn %ld rounds checksum %016llx\n", rounds, (unsigned long long)sum);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "keep"))
		return keep_blocks();
	if (argc >= 3 && !strcmp(argv[1], "churn"))
		return churn(atol(argv[2]));
	fprintf(stderr, "usage: alloc_apis keep | churn N\n");
	return 2;
}
