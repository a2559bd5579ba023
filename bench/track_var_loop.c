/* SPDX-License-Identifier: BSD-3-Clause */
/* track_var_loop.c - bench A target: what one TRACK_VAR(x) costs the traced
 * thread, detached and attached, against an empty loop and a classic
 * in-process tracker (classic_tracker.h).
 *
 * Prints "ready <pid>" and then reads one command per line on stdin, so a
 * tracer can attach between commands without restarting the process:
 *   none N        N iterations of the loop without any probe
 *   track N       N iterations with TRACK_VAR(x) (5-byte site)
 *   track1 N      the same with the 1-byte site of an older header
 *   twin N        N iterations with TWIN_VAR(x): TRACK_VAR's exact code
 *                 under another provider (memscope_bench:var), so that an
 *                 empty BPF program on it (the floor) and memscope-trace on
 *                 TRACK_VAR can be attached at once and measured in turns
 *   twin1 N       the same with the 1-byte site (track_var_loop.h)
 *   classic T N   T threads at once, each N iterations of CLASSIC_TRACK_VAR
 *   sem           the memscope:var semaphore (non-zero while a tracer is
 *                 attached to the probe: the kernel raises it)
 *   twinsem       the memscope_bench:var semaphore
 *   quit
 * Each command answers one line: "ns <nanoseconds per call>" (wall time of
 * the loop / N, per thread for classic) or "sem <value>". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "track_var_loop.h"
#include "classic_tracker.h"

/* Both loops store x and make its address escape, so the only difference
 * is the probe site (semaphore load + branch, or the trap when attached). */
static __attribute__((noinline)) double loop_none(long n)
{
	long x = 0, i;
	double t0 = now_ns();

	for (i = 0; i < n; i++) {
		x = i;
		__asm__ volatile("" : : "r"(&x) : "memory");
	}
	return (now_ns() - t0) / n;
}

__attribute__((section(".probes"))) volatile unsigned short memscope_bench_var_semaphore;

PROBE_LOOP(loop_track, TRACK_VAR)
PROBE_LOOP(loop_twin, TWIN_VAR)

struct classic_arg {
	long n;
	pthread_barrier_t *start;
};

static void *classic_thread(void *p)
{
	struct classic_arg *a = p;
	long x = 0, i;

	pthread_barrier_wait(a->start);
	for (i = 0; i < a->n; i++) {
		x = i;
		CLASSIC_TRACK_VAR(x);
		__asm__ volatile("" : : "r"(&x) : "memory");
	}
	return NULL;
}

/* T threads each make n calls; all start together. Returns wall time / n:
 * what one call costs each thread while the others run too. */
static double loop_classic(int threads, long n)
{
	pthread_t tid[64];
	pthread_barrier_t start;
	struct classic_arg a = { .n = n, .start = &start };
	double t0;
	int i;

	pthread_barrier_init(&start, NULL, threads + 1);
	for (i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, classic_thread, &a)) {
			perror("pthread_create");
			exit(1);
		}
	t0 = now_ns();
	pthread_barrier_wait(&start);
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&start);
	return (now_ns() - t0) / n;
}

int main(void)
{
	char line[128];
	long n;
	int t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %d\n", (int)getpid());
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "none %ld", &n) == 1 && n > 0)
			printf("ns %.3f\n", loop_none(n));
		/* "track1 N" before "track N", which would read it as N = 1 */
		else if (sscanf(line, "track1 %ld", &n) == 1 && n > 0)
			printf("ns %.3f\n", loop_track1(n));
		else if (sscanf(line, "twin1 %ld", &n) == 1 && n > 0)
			printf("ns %.3f\n", loop_twin1(n));
		else if (sscanf(line, "track %ld", &n) == 1 && n > 0)
			printf("ns %.3f\n", loop_track(n));
		else if (sscanf(line, "twin %ld", &n) == 1 && n > 0)
			printf("ns %.3f\n", loop_twin(n));
		else if (sscanf(line, "classic %d %ld", &t, &n) == 2 && t > 0 && t <= 64 && n > 0)
			printf("ns %.3f\n", loop_classic(t, n));
		else if (strncmp(line, "twinsem", 7) == 0)
			printf("sem %u\n", (unsigned)memscope_bench_var_semaphore);
		else if (strncmp(line, "sem", 3) == 0)
			printf("sem %u\n", (unsigned)memscope_var_semaphore);
		else if (strncmp(line, "quit", 4) == 0)
			break;
		else
			printf("error unknown command: %s", line);
	}
	return 0;
}
