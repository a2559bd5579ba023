/* SPDX-License-Identifier: BSD-3-Clause */
/* burst.c - bursts of allocations to overflow a frozen tracer's ring buffer.
 *   burst S|usr1 N   sleeps S seconds (or with "usr1": prints "waiting",
 *                    waits for SIGUSR1), then N (default 200000)
 *                    malloc(32)/free pairs, then leaks exactly 10 blocks of
 *                    48 bytes held by `keep`. Prints "burst done".
 *   burst held N     prints "waiting", waits for SIGUSR1, allocates N
 *                    (at most 200000) blocks of 32 bytes, prints
 *                    "allocated", waits for SIGUSR1, reallocs every other
 *                    one to 48 bytes, frees them all, prints "held done". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memscope.h"
#include "wait_usr1.h"

static char *held[200000];

static int held_mode(long n)
{
	long i;

	wait_usr1("waiting\n");
	for (i = 0; i < n && i < 200000; i++)
		held[i] = malloc(32);
	wait_usr1("allocated\n");
	for (i = 0; i < n && i < 200000; i++) {
		if (i % 2)
			held[i] = realloc(held[i], 48);
		free(held[i]);
	}
	return write(1, "held done\n", 10) != 10;
}

int main(int argc, char **argv)
{
	long i, n = argc > 2 ? atol(argv[2]) : 200000;
	volatile char sink = 0;

	if (argc > 1 && !strcmp(argv[1], "held"))
		return held_mode(n);
	if (argc > 1 && !strcmp(argv[1], "usr1")) {
		wait_usr1("waiting\n");
	} else if (argc > 1) {
		usleep((useconds_t)(atof(argv[1]) * 1e6));
	}
	for (i = 0; i < n; i++) {
		char *p = malloc(32);

		p[0] = (char)i;
		sink += p[0];
		free(p);
	}
	for (i = 0; i < 10; i++) {
		char *keep = malloc(48);

		TRACK_VAR(keep);
	}
	printf("burst done\n");
	fflush(stdout);
	return 0;
}
