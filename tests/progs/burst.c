/* SPDX-License-Identifier: BSD-3-Clause */
/* burst.c - a burst of allocations to overflow a frozen tracer's ring
 * buffer: sleeps argv[1] seconds (or with "usr1": prints "waiting", waits
 * for SIGUSR1), then N (argv[2], default 200000) malloc(32)/free pairs,
 * then leaks exactly 10 blocks of 48 bytes held by `keep`. Prints "burst
 * done". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memscope.h"

int main(int argc, char **argv)
{
	long i, n = argc > 2 ? atol(argv[2]) : 200000;
	volatile char sink = 0;

	if (argc > 1 && !strcmp(argv[1], "usr1")) {
		sigset_t usr1;
		int sig;

		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		sigprocmask(SIG_BLOCK, &usr1, NULL);
		printf("waiting\n");
		fflush(stdout);
		sigwait(&usr1, &sig);
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
