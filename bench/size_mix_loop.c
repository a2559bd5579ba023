/* SPDX-License-Identifier: BSD-3-Clause */
/* size_mix_loop.c - bench D target: what one free + malloc costs the calling
 * thread when the sizes are mixed from 16 B to 64 KiB and blocks stay live
 * for a while, untraced and under allocator tracers.
 *
 * The mix is deterministic: a table of TABLE (size, slot) pairs drawn once
 * from a fixed xorshift64 seed. A size is log-uniform by octave: an octave
 * 2^4 .. 2^15 is chosen uniformly, then a size uniformly within it, so sizes
 * run from 16 B to 64 KiB - 1 (mean ~8 KiB). A working set of WS live blocks
 * (~8 MiB) is allocated before "ready"; each operation frees the block in
 * the table's slot and allocates a new one of the table's size in its place
 * (and writes its first byte), so a block lives WS operations on average and
 * frees are never immediate. The table position carries over from one run
 * to the next.
 *
 * Build with -fno-builtin-malloc -fno-builtin-free. Same protocol as
 * malloc_loop.c: prints "ready <pid>", then reads one command per line:
 *   run N     N operations (free + malloc); answers "ns <ns per operation>"
 *   probes    offsets of int3 bytes in the first 16 bytes of malloc and free
 *             as this process resolves them: "probes malloc=<offs|-> free=<offs|->"
 *   quit */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WS 1024
#define TABLE (1u << 16)
#define SEED 0x9e3779b97f4a7c15ull

static uint32_t sizes[TABLE];
static uint16_t slots[TABLE];
static char *live[WS];
static unsigned long pos;

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void make_table(void)
{
	uint64_t s = SEED;
	unsigned i;

	for (i = 0; i < TABLE; i++) {
		unsigned octave = 4 + (unsigned)(xorshift64(&s) % 12); /* 2^4 .. 2^15 */
		uint32_t lo = 1u << octave;

		sizes[i] = lo + (uint32_t)(xorshift64(&s) % lo);      /* [2^k, 2^(k+1)) */
		slots[i] = (uint16_t)(xorshift64(&s) % WS);
	}
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static __attribute__((noinline)) double loop_ops(long n)
{
	double t0 = now_ns();
	long i;

	for (i = 0; i < n; i++) {
		unsigned k = (unsigned)(pos++ & (TABLE - 1));
		unsigned slot = slots[k];
		char *p;

		free(live[slot]);
		p = malloc(sizes[k]);
		if (p)
			p[0] = (char)k;
		live[slot] = p;
	}
	return (now_ns() - t0) / n;
}

static void int3_offsets(const char *name, char *out, size_t len)
{
	const unsigned char *f = dlsym(RTLD_DEFAULT, name);
	size_t used = 0;
	int i;

	out[0] = '\0';
	for (i = 0; f && i < 16; i++)
		if (f[i] == 0xcc && used + 4 < len)
			used += (size_t)snprintf(out + used, len - used, "%s%d", used ? "," : "", i);
	if (!used)
		snprintf(out, len, "-");
}

int main(void)
{
	char line[128], m[64], f[64];
	long n;
	unsigned i;

	make_table();
	for (i = 0; i < WS; i++) {
		live[i] = malloc(sizes[TABLE - 1 - i]);
		if (live[i])
			live[i][0] = 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %d\n", (int)getpid());
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "run %ld", &n) == 1 && n > 0) {
			printf("ns %.3f\n", loop_ops(n));
		} else if (strncmp(line, "probes", 6) == 0) {
			int3_offsets("malloc", m, sizeof(m));
			int3_offsets("free", f, sizeof(f));
			printf("probes malloc=%s free=%s\n", m, f);
		} else if (strncmp(line, "quit", 4) == 0) {
			break;
		} else {
			printf("error unknown command: %s", line);
		}
	}
	for (i = 0; i < WS; i++)
		free(live[i]);
	return 0;
}
