/* SPDX-License-Identifier: BSD-3-Clause */
/* otel_sampler.c - an allocator that samples on its own and says so through
 * the otel_memory USDT contract (OpenTelemetry's eBPF profiler, proposed
 * to jemalloc and mimalloc): otel_memory:alloc(ptr, size, weight) for a
 * sampled allocation, otel_memory:free(ptr) for the free of one.
 *
 * Allocates 100 blocks of 1000 bytes and "samples" every tenth with weight
 * 10000 (the bytes it stands for); then frees the even-numbered blocks,
 * announcing the sampled ones. Left: 5 sampled blocks live, so an
 * estimator reads 50000 bytes in use and 100000 allocated. Prints "done". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>

int main(void)
{
	void *b[100];
	int i;

	for (i = 0; i < 100; i++) {
		b[i] = malloc(1000);
		if (i % 10 == 0)
			DTRACE_PROBE3(otel_memory, alloc, b[i], 1000, 10000);
	}
	for (i = 0; i < 100; i += 2) {
		if (i % 20 == 0)
			DTRACE_PROBE1(otel_memory, free, b[i]);
		free(b[i]);
	}
	puts("done");
	return 0;
}
