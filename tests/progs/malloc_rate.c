/* SPDX-License-Identifier: BSD-3-Clause */
/* malloc_rate.c - a malloc-heavy target that reports its own CPU time per
 * operation, window by window, for the cost budget test.
 *
 *   malloc_rate SECONDS
 *
 * Each operation frees one of 256 live blocks and allocates another in its
 * place (so blocks live across any moment the allocator probes go off, and
 * are freed while they are off). Every 0.25 s it prints
 * "window OPS CPU_NS", the operations of the window and the process CPU
 * time they took. At the end every block is freed: the program leaks
 * nothing, and "done" is printed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	enum { LIVE = 256 };
	static void *live[LIVE];
	double secs = argc > 1 ? atof(argv[1]) : 5;
	uint64_t end = ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9), x = 88172645463325252ull;
	unsigned long ops = 0, i;

	while (ns(CLOCK_MONOTONIC) < end) {
		uint64_t w_end = ns(CLOCK_MONOTONIC) + 250000000ull, cpu0 = ns(CLOCK_PROCESS_CPUTIME_ID);

		ops = 0;
		while (ns(CLOCK_MONOTONIC) < w_end) {
			for (i = 0; i < 64; i++, ops++) {
				unsigned k;

				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				k = (unsigned)(x % LIVE);
				free(live[k]);
				live[k] = malloc(16 + (size_t)(x >> 40) % 512);
			}
		}
		printf("window %lu %llu\n", ops,
		       (unsigned long long)(ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0));
		fflush(stdout);
	}
	for (i = 0; i < LIVE; i++)
		free(live[i]);
	puts("done");
	return 0;
}
