/* SPDX-License-Identifier: BSD-3-Clause */
/* heap_shapes.c - a glibc heap with every kind of chunk, for the heap walk
 * of `memscope-trace leak-check PID` (tests/integration/test_heapcheck.py).
 * No memscope.h: the walk needs no probe.
 *
 * The main thread and THREADS threads (each gets an arena of its own) each
 * allocate blocks of many sizes - small ones that go to tcaches and
 * fastbins when freed, larger ones that go to the bins, and ones of 200 KiB
 * and more that get mappings of their own - then free every other one and
 * some runs of neighbours (so free chunks coalesce), keeping the rest in a
 * global array. It prints "keep ADDR USABLE" for each block kept (with
 * malloc_usable_size), "freed ADDR" for each block freed, then "ready",
 * and waits for SIGTERM. The threads stay blocked until then.
 *   heap_shapes [PER_THREAD]   (default 600 blocks per thread) */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 3
#define MAXPER 100000

/* volatile: only written, the compiler would drop the stores */
void **volatile kept[THREADS + 1];
static size_t nper = 600;
static pthread_barrier_t done;
static pthread_mutex_t out = PTHREAD_MUTEX_INITIALIZER;

static size_t size_of(size_t i)
{
	static const size_t sizes[] = { 8, 24, 40, 64, 100, 120, 200, 500, 1000, 1500, 5000, 70000, 200000, 300000 };

	return sizes[((i * 2654435761u) >> 16) % (sizeof(sizes) / sizeof(sizes[0]))];
}

static void shape(int t)
{
	void **p = calloc(nper, sizeof(*p));
	size_t i;

	kept[t] = p;
	for (i = 0; i < nper; i++) {
		p[i] = malloc(size_of(i + (size_t)t));
		memset(p[i], 0x5a, 16);
	}
	pthread_mutex_lock(&out);
	for (i = 0; i < nper; i++) {
		/* every other one, and runs of five in a row every 50 */
		if (i % 2 == 0 || i % 50 < 5) {
			printf("freed %p\n", p[i]);
			free(p[i]);
			p[i] = NULL;
		} else {
			printf("keep %p %zu\n", p[i], malloc_usable_size(p[i]));
		}
	}
	pthread_mutex_unlock(&out);
}

static void *worker(void *arg)
{
	shape((int)(long)arg);
	pthread_barrier_wait(&done);
	pause();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[THREADS];
	sigset_t set;
	int i, sig;

	if (argc > 1)
		nper = strtoul(argv[1], NULL, 10);
	if (nper < 1 || nper > MAXPER)
		return 2;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_barrier_init(&done, NULL, THREADS + 1);
	for (i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, worker, (void *)(long)(i + 1));
	shape(0);
	pthread_barrier_wait(&done);
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	return 0;
}
