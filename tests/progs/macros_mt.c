/* SPDX-License-Identifier: BSD-3-Clause */
/* macros_mt.c - test target: every memscope macro, from several threads,
 * with a known outcome the integration tests check:
 *   main: scope "main" { TRACK_VAR(counter) int; TRACK_VAR(leak) char* -> malloc(1000) never freed }
 *   NTHREADS workers: scope "worker" { scope "inner" { TRACK_VAR(buf) char* -> malloc(256) freed;
 *                     TRACK_VAR_AS(point, "struct point") } }
 *   explicit pair "explicit" around TRACK_VAR(ratio) double.
 * argv[1] = seconds to sleep before starting (for attach-after-start tests),
 * or "usr1": print "waiting", then wait for SIGUSR1; argv[2] = rounds (default 1),
 * argv[3] = microseconds to sleep per round (default 0), argv[4] = seconds
 * to stay alive after the work (default 0). Prints "done <sum>" (flushed)
 * when the work is done. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memscope.h"
#include "wait_usr1.h"

#define NTHREADS 3

struct point {
	int x, y, z;
};

static int rounds = 1;
static useconds_t pause_us;

static void *worker(void *arg)
{
	long id = (long)arg, sum = 0;
	int r;

	for (r = 0; r < rounds; r++) {
		MEMSCOPE_SCOPE("worker");
		{
			MEMSCOPE_SCOPE("inner");
			char *buf = malloc(256);
			struct point point = { (int)id, 2, 3 };

			TRACK_VAR(buf);
			TRACK_VAR_AS(point, "struct point");
			memset(buf, (int)id, 256);
			sum += buf[10] + point.x;
			free(buf);
		}
		if (pause_us)
			usleep(pause_us);
	}
	return (void *)sum;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	double ratio = 0.5;
	long total = 0;
	int i;

	if (argc > 1 && !strcmp(argv[1], "usr1")) {
		wait_usr1("waiting\n");
	} else if (argc > 1) {
		usleep((useconds_t)(atof(argv[1]) * 1e6));
	}
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (argc > 3)
		pause_us = (useconds_t)atoi(argv[3]);
	{
		MEMSCOPE_SCOPE("main");
		int counter = 42;
		char *leak = malloc(1000);

		TRACK_VAR(counter);
		TRACK_VAR(leak);
		memset(leak, 1, 1000);
		MEMSCOPE_SCOPE_ENTER("explicit");
		TRACK_VAR(ratio);
		MEMSCOPE_SCOPE_EXIT();
		for (i = 0; i < NTHREADS; i++)
			pthread_create(&th[i], NULL, worker, (void *)(long)(i + 1));
		for (i = 0; i < NTHREADS; i++) {
			void *ret;

			pthread_join(th[i], &ret);
			total += (long)ret;
		}
		total += counter + leak[5];
	}
	printf("done %ld enabled=%d\n", total, MEMSCOPE_ENABLED());
	fflush(stdout);
	if (argc > 4)
		usleep((useconds_t)(atof(argv[4]) * 1e6));
	return 0;
}
