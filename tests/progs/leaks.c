/* SPDX-License-Identifier: BSD-3-Clause */
/* leaks.c - test target with known allocations, checked exactly by
 * tests/integration/test_alloc.py:
 *   leak_small(): 3 x malloc(100), never freed, held by `small`
 *   leak_big():   1 x calloc(10, 500) = 5000 bytes, never freed, `big`
 *   realloc chain: 10 -> 1000 -> 50000 bytes, `grow`, freed at the end
 *   aligned: posix_memalign(64, 256) + aligned_alloc(4096, 8192), freed
 *   cross-thread: a block of 777 bytes allocated in a thread, freed in main
 *   pool: MEMSCOPE_ALLOC/FREE of a custom arena: 2 x 64 allocated, 1 freed
 * argv[1] = "double" ends with a double free (glibc aborts), "invalid" with
 * a free of a never-allocated address (glibc aborts too). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memscope.h"

static char arena[4096];

__attribute__((noinline)) static void leak_small(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		char *small = malloc(100);

		TRACK_VAR(small);
		memset(small, i, 100);
	}
}

__attribute__((noinline)) static void *leak_big(void)
{
	char *big = calloc(10, 500);

	TRACK_VAR(big);
	return big;
}

static void *thread_alloc(void *arg)
{
	(void)arg;
	return malloc(777);
}

int main(int argc, char **argv)
{
	pthread_t th;
	void *cross, *al1 = NULL, *al2;
	char *grow, *p1, *p2;

	leak_small();
	leak_big();
	grow = malloc(10);
	TRACK_VAR(grow);
	grow = realloc(grow, 1000);
	grow = realloc(grow, 50000);
	if (posix_memalign(&al1, 64, 256))
		return 1;
	al2 = aligned_alloc(4096, 8192);
	free(al1);
	free(al2);
	pthread_create(&th, NULL, thread_alloc, NULL);
	pthread_join(th, &cross);
	free(cross);
	p1 = arena;
	p2 = arena + 64;
	MEMSCOPE_ALLOC(p1, 64);
	MEMSCOPE_ALLOC(p2, 64);
	TRACK_VAR(p2);
	MEMSCOPE_FREE(p1);
	free(grow);
	printf("leaks done\n");
	fflush(stdout);
	if (argc > 1 && !strcmp(argv[1], "double")) {
		char *d = malloc(40);

		free(d);
		free(d);
	} else if (argc > 1 && !strcmp(argv[1], "invalid")) {
		free(arena + 128);
	}
	return 0;
}
