/* SPDX-License-Identifier: BSD-3-Clause */
/* fclose_twice.c - a FILE closed twice: the second fclose() frees the same
 * FILE a second time (glibc then aborts: "double free detected in tcache").
 * Before that, one thread frees a 24- and a 200-byte block and exits:
 * glibc releases its cache then, the two cached chunks and the cache
 * itself, 3 frees of its own bookkeeping (summary.internal_frees).
 * Prints "file 0x..." (the FILE's address) before closing it; both
 * fclose() calls are inside MEMSCOPE_SCOPE("close_twice"). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "memscope.h"

static void *cached(void *arg)
{
	char *a = malloc(24), *b = malloc(200);

	(void)arg;
	free(a);
	free(b);
	return NULL;
}

int main(void)
{
	pthread_t th;
	FILE *f, *volatile again; /* volatile: the compiler would refuse the bug */

	if (pthread_create(&th, NULL, cached, NULL) || pthread_join(th, NULL))
		return 1;
	f = fopen("/dev/null", "w");
	if (!f)
		return 1;
	fputs("written\n", f);
	printf("file %p\n", (void *)f);
	fflush(stdout);
	again = f;
	{
		MEMSCOPE_SCOPE("close_twice");
		fclose(f);
		fclose(again); /* the bug */
	}
	return 0;
}
