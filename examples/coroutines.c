/* SPDX-License-Identifier: BSD-3-Clause */
/* coroutines.c - stream processing with two ucontext coroutines on one
 * thread, each a memscope task: the tracer must follow the switches.
 *
 *   coroutines
 *
 * A producer (task 1, "producer") turns 1000 items into 10 batches of 100:
 * for each it allocates a 400-byte batch (100 ints), TRACK_VARs it, hands it
 * over through a one-slot channel and yields. A consumer (task 2,
 * "consumer") takes each batch, copies it into an 800-byte scratch array
 * (100 doubles), sorts that for the batch's median, frees the scratch and
 * the batch, and yields. The scheduler resumes them in turn between
 * MEMSCOPE_TASK_ENTER(id) and MEMSCOPE_TASK_EXIT(id), and calls
 * MEMSCOPE_TASK_END(id) once a coroutine has finished; the coroutine stacks
 * belong to the scheduler and are allocated outside both tasks.
 * Prints "coroutines: 1000 items in 10 batches, S switches, checksum C" last.
 *
 * Expected figures (the tracer charges a block to the task that allocated
 * it, whoever frees it):
 *   producer (1): allocs 10, alloc_bytes 4000, frees 10, freed_bytes 4000,
 *     peak_live_bytes 400, live_bytes 0, variables 10.
 *   consumer (2): allocs 10, alloc_bytes 8000, frees 10, freed_bytes 8000,
 *     peak_live_bytes 800, live_bytes 0, variables 10.
 *   Both: parent none, threads = [main], ended; and their run times
 *   alternate (each is resumed 11 times, 22 switches). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>
#include "memscope.h"

#define ITEMS 1000
#define BATCH 100
#define NBATCH (ITEMS / BATCH)
#define STACK_SIZE (64 * 1024)

struct coro {
	uint64_t id;     /* task id */
	ucontext_t ctx;
	void (*fn)(void);
	int done;
	void *stack;
};

static ucontext_t sched_ctx;
static struct coro *current;
static unsigned switches;

/* The one-slot channel from producer to consumer. */
static int *chan;
static int chan_closed;
static double medians[NBATCH];

static void yield(void)
{
	swapcontext(&current->ctx, &sched_ctx);
}

/* makecontext() can only pass int arguments, so the coroutine finds itself
 * through `current`; returning resumes uc_link, the scheduler. */
static void trampoline(void)
{
	current->fn();
	current->done = 1;
}

static void resume(struct coro *co)
{
	current = co;
	switches++;
	MEMSCOPE_TASK_ENTER(co->id);
	swapcontext(&sched_ctx, &co->ctx);
	MEMSCOPE_TASK_EXIT(co->id);
	current = NULL;
	if (co->done)
		MEMSCOPE_TASK_END(co->id);
}

static void producer(void)
{
	int b, i;

	for (b = 0; b < NBATCH; b++) {
		int *batch;

		while (chan) /* the consumer has not taken the last one yet */
			yield();
		batch = malloc(BATCH * sizeof(*batch));
		if (!batch)
			break;
		TRACK_VAR(batch);
		for (i = 0; i < BATCH; i++)
			batch[i] = ((b * BATCH + i) * 7919) % 1000;
		chan = batch;
		yield(); /* every 100 items */
	}
	chan_closed = 1;
}

static void consumer(void)
{
	int b = 0, i, j;

	for (;;) {
		int *batch;
		double *sorted;

		while (!chan && !chan_closed)
			yield();
		if (!chan)
			break;
		batch = chan;
		chan = NULL;
		sorted = malloc(BATCH * sizeof(*sorted));
		if (sorted) {
			TRACK_VAR(sorted);
			for (i = 0; i < BATCH; i++) {
				double v = batch[i];

				for (j = i; j > 0 && sorted[j - 1] > v; j--)
					sorted[j] = sorted[j - 1];
				sorted[j] = v;
			}
			medians[b++] = (sorted[BATCH / 2 - 1] + sorted[BATCH / 2]) / 2;
			free(sorted);
		}
		free(batch); /* the producer's block, released here */
		yield();
	}
}

static int coro_init(struct coro *co, uint64_t id, const char *name, void (*fn)(void))
{
	co->id = id;
	co->fn = fn;
	co->stack = malloc(STACK_SIZE);
	if (!co->stack || getcontext(&co->ctx))
		return -1;
	co->ctx.uc_stack.ss_sp = co->stack;
	co->ctx.uc_stack.ss_size = STACK_SIZE;
	co->ctx.uc_link = &sched_ctx;
	makecontext(&co->ctx, trampoline, 0);
	MEMSCOPE_TASK_NAME(id, name);
	return 0;
}

int main(void)
{
	struct coro prod = { 0 }, cons = { 0 };
	double checksum = 0;
	int b;

	if (coro_init(&prod, 1, "producer", producer) ||
	    coro_init(&cons, 2, "consumer", consumer)) {
		perror("coroutines: setup");
		return 1;
	}
	while (!prod.done || !cons.done) {
		if (!prod.done)
			resume(&prod);
		if (!cons.done)
			resume(&cons);
	}
	free(prod.stack);
	free(cons.stack);
	for (b = 0; b < NBATCH; b++)
		checksum += medians[b] * (b + 1);
	printf("coroutines: %d items in %d batches, %u switches, checksum %.1f\n",
	       ITEMS, NBATCH, switches, checksum);
	return 0;
}
