/* SPDX-License-Identifier: BSD-3-Clause */
/* leak_kinds.c - blocks in each of memcheck's leak classes, for
 * tests/integration/test_leak_check.py, which runs this binary under
 * memscope-trace and under valgrind --leak-check=full and compares the two.
 * Each argument is a scenario, run in order; each allocates through a
 * function of its own (noinline, not a tail call), so both tools name the
 * blocks by their allocation site:
 *   global       4 x 256 kept in a global array            still reachable
 *   lost         2 x 400 whose pointers were overwritten,
 *                then 24 bytes lost just below glibc's top  definitely lost
 *   list         a list of 5 x 64 whose head is lost       1 definitely + 4 indirectly
 *   interior     512 bytes pointed to only at +104          possibly lost
 *   maintls      2400 held by the main thread's __thread    still reachable
 *   stack        1200 held only on another thread's stack   still reachable
 *   reg          1600 held only in another thread's registers  still reachable
 *   tls          2000 held only in another thread's __thread   still reachable
 *   stack_dropped, reg_dropped, tls_dropped: the same, then dropped: lost
 * then main returns (exit -> _exit), or the last argument says how to end:
 *   abort        abort(): a fatal signal
 *   exit_group   the exit_group system call, bypassing libc's exit
 *   wait         print "done" and wait for SIGTERM, which _exit()s;
 *                SIGUSR2 prints "sum X", a checksum of the globals and
 *                of the blocks they point to (the leak check never writes)
 * An argument "pause" prints "ready" and waits for SIGUSR1 before the
 * scenarios after it (a tracer attached with -p sees them all). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void *volatile keep[8];
void *volatile inner;
__thread void *volatile tls_keep;
static volatile int ready;
static void *volatile sink;

struct node {
	struct node *next;
	char pad[56];
};

/* a different fill byte each, or the compiler folds them into one */
#define ALLOC_FN(name, fill)                                                   \
	__attribute__((noinline)) static void *name(size_t n)                 \
	{                                                                      \
		void *p = malloc(n);                                           \
		memset(p, fill, n < 16 ? n : 16);                              \
		return p;                                                      \
	}
ALLOC_FN(alloc_global, 1)
ALLOC_FN(alloc_lost, 2)
ALLOC_FN(alloc_list, 3)
ALLOC_FN(alloc_interior, 4)
ALLOC_FN(alloc_maintls, 5)
ALLOC_FN(alloc_stack, 6)
ALLOC_FN(alloc_reg, 7)
ALLOC_FN(alloc_tls, 8)

static void *stack_holder(void *drop)
{
	void *volatile local = alloc_stack(1200);

	if (drop)
		local = NULL;
	sink = (void *)((uintptr_t)local & 0); /* read back: no store is dead */
	ready++;
	for (;;)
		pause();
	return NULL;
}

static void *reg_holder(void *drop)
{
	register void *r12 asm("r12") = alloc_reg(1600);

	if (drop) /* no copy left in any register either */
		asm volatile("xor %%r12d, %%r12d; xor %%eax, %%eax; xor %%ecx, %%ecx; xor %%edx, %%edx;"
			     "xor %%esi, %%esi; xor %%edi, %%edi; xor %%r8d, %%r8d; xor %%r9d, %%r9d;"
			     "xor %%r10d, %%r10d; xor %%r11d, %%r11d"
			     : "+r"(r12) : : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11");
	asm volatile("" : "+r"(r12));
	ready++;
	for (;;)
		asm volatile("pause" : "+r"(r12));
	return NULL;
}

static void *tls_holder(void *drop)
{
	tls_keep = alloc_tls(2000);
	if (drop)
		tls_keep = NULL;
	ready++;
	for (;;)
		pause();
	return NULL;
}

__attribute__((noinline)) static void run(const char *m)
{
	int i, threads = ready;
	pthread_t t;
	void *drop = strstr(m, "_dropped") ? (void *)1 : NULL;

	if (!strcmp(m, "global")) {
		for (i = 0; i < 4; i++)
			keep[i] = alloc_global(256);
	} else if (!strcmp(m, "lost")) {
		for (i = 0; i < 2; i++) {
			sink = alloc_lost(400);
			sink = NULL;
		}
		sink = alloc_lost(24); /* strdup("..."): chunk 32, glibc's top at +16 */
		sink = NULL;
	} else if (!strcmp(m, "list")) {
		struct node *h = NULL;

		for (i = 0; i < 5; i++) {
			struct node *n = alloc_list(sizeof(*n));

			n->next = h;
			h = n;
		}
		sink = h;
		sink = NULL;
	} else if (!strcmp(m, "interior")) {
		inner = (char *)alloc_interior(512) + 104;
	} else if (!strcmp(m, "maintls")) {
		tls_keep = alloc_maintls(2400);
	} else if (!strncmp(m, "stack", 5)) {
		pthread_create(&t, NULL, stack_holder, drop);
		threads++;
	} else if (!strncmp(m, "reg", 3)) {
		pthread_create(&t, NULL, reg_holder, drop);
		threads++;
	} else if (!strncmp(m, "tls", 3)) {
		pthread_create(&t, NULL, tls_holder, drop);
		threads++;
	}
	while (ready < threads)
		usleep(1000);
}

static volatile sig_atomic_t go, sum_asked;

/* FNV-1a over n bytes at p, into h */
static uint64_t fnv(uint64_t h, const volatile void *p, size_t n)
{
	const volatile unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 0x100000001b3ull;
	return h;
}

/* The memory a leak check reads that this program can still name: the
 * global pointers, the blocks behind them, the main thread's TLS. */
static uint64_t checksum(void)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, keep, sizeof(keep));
	int i;

	h = fnv(h, &inner, sizeof(inner));
	h = fnv(h, &tls_keep, sizeof(tls_keep));
	for (i = 0; i < 8; i++)
		if (keep[i])
			h = fnv(h, keep[i], 256);
	if (inner)
		h = fnv(h, (char *)inner - 104, 512);
	if (tls_keep)
		h = fnv(h, tls_keep, 2400);
	return h;
}

static void on_usr2(int sig)
{
	(void)sig;
	sum_asked = 1;
}

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

int main(int argc, char **argv)
{
	const char *end = "";
	int i;

	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	signal(SIGUSR2, on_usr2);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "abort") || !strcmp(argv[i], "exit_group") || !strcmp(argv[i], "wait")) {
			end = argv[i];
		} else if (!strcmp(argv[i], "pause")) {
			printf("ready\n");
			fflush(stdout);
			while (!go)
				usleep(1000);
		} else {
			run(argv[i]);
		}
	}
	usleep(50000); /* the threads are in their loops */
	if (!strcmp(end, "abort"))
		abort();
	if (!strcmp(end, "exit_group"))
		syscall(SYS_exit_group, 3);
	if (!strcmp(end, "wait")) {
		printf("done\n");
		fflush(stdout);
		for (;;) {
			usleep(1000); /* not pause(): a signal just before it would be missed */
			if (sum_asked) {
				sum_asked = 0;
				printf("sum %llx\n", (unsigned long long)checksum());
				fflush(stdout);
			}
		}
	}
	return 0;
}
