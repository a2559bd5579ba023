/* SPDX-License-Identifier: BSD-3-Clause */
/* thread_pool.c - 100 jobs on a pool of 4 worker threads, each job a
 * memscope task spawned by a "dispatcher" task.
 *
 *   thread_pool
 *
 * main creates the pool (outside any task: creating threads allocates their
 * TLS, which is the pool's), then runs as task 1000 "dispatcher": it
 * allocates the results array, names job tasks 1..100 "job-N", spawns each
 * from task 1000 and queues it, waits for all of them, checks the results
 * and frees the array. A worker runs each job between MEMSCOPE_TASK_ENTER(N)
 * and MEMSCOPE_TASK_EXIT(N), then MEMSCOPE_TASK_END(N): it allocates a
 * 1000-int buffer, fills it with pseudo-random numbers, sorts it and frees it.
 * Prints "thread_pool: 100 jobs on 4 workers (W used), checksum C" last.
 *
 * Expected figures:
 *   job-N (N = 1..100): parent 1000, allocs 1, alloc_bytes 4000, frees 1,
 *     freed_bytes 4000, peak_live_bytes 4000, live_bytes 0, variables 1,
 *     threads = the one worker that ran it; ended.
 *   dispatcher (1000): parent none, allocs 1, alloc_bytes 800 (100 longs,
 *     calloc), frees 1, live_bytes 0, variables 1, threads = [main]; ended.
 *   The jobs are spread over the workers by the scheduler: at least 2
 *   distinct threads in practice (each job sorts for ~100 us, so one worker
 *   cannot drain the queue before the others wake up). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "memscope.h"

#define NWORKERS 4
#define NJOBS 100
#define JOB_INTS 1000
#define DISPATCHER 1000

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t work;  /* a job was queued, or the pool is stopping */
	pthread_cond_t idle;  /* a job finished */
	uint64_t queue[NJOBS]; /* sized for the whole batch: submit never blocks */
	unsigned head, tail, done;
	int stopping;
	long *results;        /* results[N - 1] is job N's */
	unsigned ran[NWORKERS]; /* jobs per worker */
	pthread_t th[NWORKERS];
};

struct worker {
	struct pool *p;
	unsigned index;
};

/* Job N's work: sort N's pseudo-random numbers, return a checksum of the
 * sorted order. The insertion sort is slow on purpose (~100 us a job). */
static long job_run(uint64_t id)
{
	int *buffer = malloc(JOB_INTS * sizeof(*buffer));
	uint32_t x = (uint32_t)id * 2654435761u;
	long sum = 0;
	int i, j;

	if (!buffer)
		return -1;
	TRACK_VAR(buffer);
	for (i = 0; i < JOB_INTS; i++) {
		x = x * 1103515245u + 12345u;
		buffer[i] = (int)(x >> 16);
	}
	for (i = 1; i < JOB_INTS; i++) {
		int v = buffer[i];

		for (j = i; j > 0 && buffer[j - 1] > v; j--)
			buffer[j] = buffer[j - 1];
		buffer[j] = v;
	}
	for (i = 0; i < JOB_INTS; i++)
		sum += (long)buffer[i] * (i % 7 + 1);
	free(buffer);
	return sum;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->p;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		uint64_t id;
		long r;

		while (p->head == p->tail && !p->stopping)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->head == p->tail)
			break;
		id = p->queue[p->head++];
		pthread_mutex_unlock(&p->mu);

		MEMSCOPE_TASK_ENTER(id);
		r = job_run(id);
		MEMSCOPE_TASK_EXIT(id);
		MEMSCOPE_TASK_END(id);

		pthread_mutex_lock(&p->mu);
		p->results[id - 1] = r;
		p->ran[w->index]++;
		p->done++;
		pthread_cond_signal(&p->idle);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int pool_start(struct pool *p, struct worker *w)
{
	unsigned i;

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->idle, NULL);
	for (i = 0; i < NWORKERS; i++) {
		w[i].p = p;
		w[i].index = i;
		if (pthread_create(&p->th[i], NULL, worker_main, &w[i]))
			return -1;
	}
	return 0;
}

static void pool_submit(struct pool *p, uint64_t id)
{
	pthread_mutex_lock(&p->mu);
	p->queue[p->tail++] = id;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

static void pool_wait(struct pool *p, unsigned n)
{
	pthread_mutex_lock(&p->mu);
	while (p->done < n)
		pthread_cond_wait(&p->idle, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

static void pool_stop(struct pool *p)
{
	unsigned i;

	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < NWORKERS; i++)
		pthread_join(p->th[i], NULL);
}

int main(void)
{
	static struct pool pool;
	struct worker w[NWORKERS];
	long *results, checksum = 0;
	unsigned i, used = 0;
	uint64_t id;

	if (pool_start(&pool, w)) {
		perror("thread_pool: pthread_create");
		return 1;
	}
	MEMSCOPE_TASK_NAME(DISPATCHER, "dispatcher");
	MEMSCOPE_TASK_ENTER(DISPATCHER);
	results = calloc(NJOBS, sizeof(*results));
	if (!results) {
		perror("thread_pool: calloc");
		return 1;
	}
	TRACK_VAR(results);
	pool.results = results; /* published to the workers by the queue lock */
	for (id = 1; id <= NJOBS; id++) {
		if (MEMSCOPE_ENABLED()) { /* skip the formatting while untraced */
			char name[16];

			snprintf(name, sizeof(name), "job-%u", (unsigned)id);
			MEMSCOPE_TASK_NAME(id, name);
		}
		MEMSCOPE_TASK_SPAWN(DISPATCHER, id);
		pool_submit(&pool, id);
	}
	pool_wait(&pool, NJOBS);
	for (i = 0; i < NJOBS; i++) {
		if (results[i] < 0) {
			fprintf(stderr, "thread_pool: job %u failed\n", i + 1);
			return 1;
		}
		checksum += results[i];
	}
	free(results);
	MEMSCOPE_TASK_EXIT(DISPATCHER);
	MEMSCOPE_TASK_END(DISPATCHER);
	pool_stop(&pool);
	for (i = 0; i < NWORKERS; i++)
		used += pool.ran[i] > 0;
	printf("thread_pool: %d jobs on %d workers (%u used), checksum %ld\n",
	       NJOBS, NWORKERS, used, checksum);
	return 0;
}
