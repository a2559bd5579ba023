/* SPDX-License-Identifier: BSD-3-Clause */
/* malloc_loop.c - bench B target: what one malloc(64)+free pair costs the
 * calling thread, untraced and under allocator tracers.
 *
 * Build with -fno-builtin-malloc -fno-builtin-free, or the compiler deletes
 * the pairs. Prints "ready <pid>" and then reads one command per line:
 *   run N     N malloc(SIZE)/free pairs; answers "ns <ns per pair>"
 *   probes    which of the first 16 bytes of malloc and free currently hold
 *             an int3 (0xcc): a uprobe the kernel has planted there. The
 *             process sees its own patched text, so this tells the driver
 *             that a tracer really is attached. Answers
 *             "probes malloc=<offsets|-> free=<offsets|->", e.g.
 *             "probes malloc=0 free=3".
 *   quit
 *
 * Built with -DDEEP (bench U, stack walks), each pair is made 12 frames
 * deep (loop -> frame10 ... frame1 -> pair), each frame keeping some
 * stack of its own as real ones do; run.sh builds that twice, with and
 * without frame pointers. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIZE 64

static void *volatile sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

#ifdef DEEP
__attribute__((noinline)) static void pair(long k)
{
	void *p = malloc(SIZE + (size_t)(k & 0));

	sink = p;
	free(p);
}

/* frame N calls frame N-1 with a few bytes of its own on the stack */
#define FRAME(n, prev)                                                         \
	__attribute__((noinline)) static void frame##n(long k)                 \
	{                                                                      \
		volatile long pad[n % 4 + 1];                                  \
		pad[0] = k;                                                    \
		prev(pad[0]);                                                  \
		asm volatile("" ::: "memory");                                 \
	}
FRAME(1, pair)
FRAME(2, frame1)
FRAME(3, frame2)
FRAME(4, frame3)
FRAME(5, frame4)
FRAME(6, frame5)
FRAME(7, frame6)
FRAME(8, frame7)
FRAME(9, frame8)
FRAME(10, frame9)
#endif

static __attribute__((noinline)) double loop_pairs(long n)
{
	double t0 = now_ns();
	long i;

	for (i = 0; i < n; i++) {
#ifdef DEEP
		frame10(i);
#else
		void *p = malloc(SIZE);

		sink = p;
		free(p);
#endif
	}
	return (now_ns() - t0) / n;
}

/* Offsets of int3 bytes in the first 16 bytes of symbol `name` (as the
 * dynamic linker resolves it, i.e. the libc the loop calls). */
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

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %d\n", (int)getpid());
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "run %ld", &n) == 1 && n > 0) {
			printf("ns %.3f\n", loop_pairs(n));
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
	return 0;
}
