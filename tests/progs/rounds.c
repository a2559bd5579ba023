/* SPDX-License-Identifier: BSD-3-Clause */
/* rounds.c - works from its first instruction, giving a tracer no time to
 * attach: 3 threads, each argv[1] rounds (default 2000) of
 *   scope "round" { TRACK_VAR(r) (a long: the report shows its value, the
 *   round number); buf = malloc(128); TRACK_VAR(buf); free(buf) }
 * and argv[2] microseconds of sleep (default 1000) after each. Prints
 * "rounds done". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memscope.h"

#define NTHREADS 3

static long rounds = 2000;
static useconds_t pause_us = 1000;

static void *worker(void *arg)
{
	long r;

	(void)arg;
	for (r = 0; r < rounds; r++) {
		{
			MEMSCOPE_SCOPE("round");
			char *buf;

			TRACK_VAR(r);
			buf = malloc(128);
			TRACK_VAR(buf);
			memset(buf, (int)r, 128);
			free(buf);
		}
		usleep(pause_us);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	int i;

	if (argc > 1)
		rounds = atol(argv[1]);
	if (argc > 2)
		pause_us = (useconds_t)atol(argv[2]);
	for (i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, worker, NULL))
			return 1;
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	printf("rounds done\n");
	return 0;
}
