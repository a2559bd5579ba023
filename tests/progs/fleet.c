/* SPDX-License-Identifier: BSD-3-Clause */
/* fleet.c - a target for the pprof and metrics tests
 * (tests/integration/test_pprof.py, test_metrics.py), with blocks of known
 * sizes from known sites, tasks, scopes, variables and two threads:
 *   load_config(): task "loader" (id 1), scope "load", 4 x 1000 bytes held
 *                  by `conf`, still live
 *   worker():      on a thread of its own, task "worker" (id 2), 2 x 5000
 *                  bytes held by `job`, still live
 *   scratch():     10 x 100 bytes, freed at once
 *   big_table():   1 x 300000 bytes, no variable, still live
 * then, with argv[1] = SECONDS, keeps allocating and freeing 64 bytes in
 * tick() every 10 ms for that long (so that a scraper finds it running),
 * and prints "ready" on stdout once the known blocks exist. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "memscope.h"

/* global, not static: the compiler would drop stores nothing reads, and the
 * leak check would find the blocks lost */
void *keep[16];

__attribute__((noinline)) static void load_config(void)
{
	int i;

	MEMSCOPE_TASK_NAME(1, "loader");
	MEMSCOPE_TASK_ENTER(1);
	{
		MEMSCOPE_SCOPE("load");
		for (i = 0; i < 4; i++) {
			char *conf = malloc(1000);

			TRACK_VAR(conf);
			memset(conf, i, 1000);
			keep[i] = conf;
		}
	}
	MEMSCOPE_TASK_EXIT(1);
}

__attribute__((noinline)) static void *worker(void *arg)
{
	int i;

	(void)arg;
	MEMSCOPE_TASK_NAME(2, "worker");
	MEMSCOPE_TASK_ENTER(2);
	for (i = 0; i < 2; i++) {
		char *job = malloc(5000);

		TRACK_VAR(job);
		memset(job, i, 5000);
		keep[4 + i] = job;
	}
	MEMSCOPE_TASK_EXIT(2);
	return NULL;
}

__attribute__((noinline)) static void scratch(void)
{
	int i;

	for (i = 0; i < 10; i++) {
		char *volatile tmp = malloc(100);

		free(tmp);
	}
}

__attribute__((noinline)) static void *big_table(void)
{
	return calloc(1, 300000);
}

__attribute__((noinline)) static void tick(void)
{
	char *volatile t = malloc(64);

	free(t);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0;
	struct timespec start, now, nap = { 0, 10 * 1000 * 1000 };
	pthread_t th;

	load_config();
	if (pthread_create(&th, NULL, worker, NULL))
		return 1;
	pthread_join(th, NULL);
	scratch();
	keep[6] = big_table();
	printf("ready\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		tick();
		nanosleep(&nap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec + (now.tv_nsec - start.tv_nsec) / 1e9 < secs);
	return 0;
}
