/* SPDX-License-Identifier: BSD-3-Clause */
/* known.c - a program whose every report figure is known in advance, for
 * tests/integration/test_readme.py, which holds the README's claims to it.
 * No stdio: nothing allocates but what is listed here.
 *   temporaries  4 x malloc(24), each freed at once; the program times each
 *                pair and reports how many took 1 ms or more ("slow=N")
 *   held         task 7 "worker", in scope "work": malloc(500), still live
 *                at the task's end (a task leak), and malloc(200); task 8
 *                "clean", spawned by 7: malloc(64); then 3 x malloc(3000).
 *                All but the 500 are freed at least 20 ms after the last
 *                of them was allocated ("held_ms=N", measured)
 *   leaks        malloc(1), and 2 x calloc(1, 100) held by `kept`
 *   growth       3 x malloc(600) held by `g`, MEMSCOPE_SNAPSHOT("grow")
 *                after each, 5 ms apart
 *   free(NULL)   5 times
 *   scopes       "loop" 5 times, each with TRACK_VAR(i); tasks 9-11 "batch"
 * Prints "known slow=N held_ms=M" (write(2)). With argv[1] = "wait" it
 * then prints "waiting" and waits for SIGUSR1 (a tracer that stops first
 * lists the blocks under live/live_sites). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "memscope.h"
#include "wait_usr1.h"

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void pause_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000l };

	while (nanosleep(&ts, &ts))
		;
}

static void say(const char *s)
{
	if (write(1, s, strlen(s)) < 0)
		_exit(3);
}

int main(int argc, char **argv)
{
	static void *keep[8];
	char line[64], *a500, *a200, *a64, *big[3];
	long long t0, t_alloc, t_free;
	int slow = 0, i, n = 0;

	for (i = 0; i < 4; i++) {
		char *tmp;

		t0 = now_ns();
		tmp = malloc(24);
		tmp[0] = (char)i;
		free(tmp);
		slow += now_ns() - t0 >= 1000000;
	}
	MEMSCOPE_TASK_NAME(7, "worker");
	MEMSCOPE_TASK_ENTER(7);
	{
		MEMSCOPE_SCOPE("work");
		a500 = malloc(500);
		a200 = malloc(200);
	}
	MEMSCOPE_TASK_EXIT(7);
	MEMSCOPE_TASK_SPAWN(7, 8);
	MEMSCOPE_TASK_NAME(8, "clean");
	MEMSCOPE_TASK_ENTER(8);
	a64 = malloc(64);
	MEMSCOPE_TASK_EXIT(8);
	for (i = 0; i < 3; i++)
		big[i] = malloc(3000);
	t_alloc = now_ns();
	pause_ms(25);
	t_free = now_ns();
	free(a200);
	free(a64);
	for (i = 0; i < 3; i++)
		free(big[i]);
	MEMSCOPE_TASK_END(7);
	MEMSCOPE_TASK_END(8);
	keep[n++] = a500;
	keep[n++] = malloc(1);
	for (i = 0; i < 2; i++) {
		char *kept = calloc(1, 100);

		TRACK_VAR(kept);
		keep[n++] = kept;
	}
	for (i = 0; i < 3; i++) {
		char *g = malloc(600);

		TRACK_VAR(g);
		keep[n++] = g;
		MEMSCOPE_SNAPSHOT("grow");
		pause_ms(5);
	}
	for (i = 0; i < 5; i++)
		free(NULL);
	for (i = 0; i < 5; i++) {
		MEMSCOPE_SCOPE("loop");
		TRACK_VAR(i);
	}
	for (i = 9; i <= 11; i++) {
		MEMSCOPE_TASK_NAME((unsigned long)i, "batch");
		MEMSCOPE_TASK_ENTER((unsigned long)i);
		MEMSCOPE_TASK_EXIT((unsigned long)i);
		MEMSCOPE_TASK_END((unsigned long)i);
	}
	snprintf(line, sizeof(line), "known slow=%d held_ms=%lld\n", slow, (t_free - t_alloc) / 1000000);
	say(line);
	if (argc > 1 && !strcmp(argv[1], "wait"))
		wait_usr1("waiting\n");
	return keep[0] == NULL;
}
