/* SPDX-License-Identifier: BSD-3-Clause */
/* sampled_known.c - known live bytes per site for sampled-mode accuracy:
 *   alloc_a: 2048 blocks of 16 KiB live (32 MiB)
 *   alloc_b: 32768 blocks of 512 B live (16 MiB)
 *   churn:   20000 blocks of 1 KiB allocated and freed
 * then sleeps argv[1] seconds (default 0) and exits; or with argv[1] =
 * "usr1": prints "ready", waits for SIGUSR1, then allocates one block of
 * 8 MiB (alloc_late, kept), prints "late done" and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "wait_usr1.h"

static void *keep[2048 + 32768];

__attribute__((noinline)) static void alloc_a(int i)
{
	keep[i] = malloc(16384);
	memset(keep[i], 1, 64);
}

__attribute__((noinline)) static void alloc_b(int i)
{
	keep[2048 + i] = malloc(512);
	memset(keep[2048 + i], 2, 64);
}

__attribute__((noinline)) static void churn(void)
{
	char *p = malloc(1024);

	p[0] = 1;
	free(p);
}

__attribute__((noinline)) static void *alloc_late(void)
{
	char *p = malloc(8 << 20);

	p[0] = 1;
	return p;
}

int main(int argc, char **argv)
{
	int usr1 = argc > 1 && !strcmp(argv[1], "usr1"), i;

	for (i = 0; i < 2048; i++)
		alloc_a(i);
	for (i = 0; i < 32768; i++)
		alloc_b(i);
	for (i = 0; i < 20000; i++)
		churn();
	if (usr1) {
		/* stdout's buffer comes first: nothing else allocates after */
		printf("ready");
		fflush(stdout);
		wait_usr1("\n");
		keep[0] = alloc_late();
		printf("late done\n");
		return 0;
	}
	if (argc > 1)
		usleep((useconds_t)(atof(argv[1]) * 1e6));
	printf("sampled_known done\n");
	return 0;
}
