/* SPDX-License-Identifier: BSD-3-Clause */
/* probe_forms.c - every memscope probe, hit with known values from places
 * where the stack is unusual: a plain function, a function that alloca()s,
 * a signal handler on the thread's stack and one on an alternate signal
 * stack. Valid C and C++: tests/integration/test_probe_sites.py builds it
 * with gcc, clang, g++ and clang++ from -O0 to -O3, with and without the
 * 5-byte probe form, and compares what memscope-trace and bpftrace decode
 * with the values below.
 *
 *   probe_forms [ROUNDS [SLEEP_MS]]
 *
 * Each round: TRACK_VAR(plain_val) = 1000 + round in a scope "plain";
 * MEMSCOPE_ALLOC(pool + round, 100 + round) and its FREE; alloca'd buffer
 * of 64 + round bytes: MEMSCOPE_ALLOC(stack_buf, 64 + round), then
 * TRACK_VAR(stack_buf) (the pointer: joined with that block), its FREE, and a block that is
 * never freed, MEMSCOPE_ALLOC(kept + round, 500 + round), whose stack is
 * with_alloca <- main; SIGUSR1 (thread stack): TRACK_VAR
 * (sig_val) = 2000 + round and MEMSCOPE_ALLOC(pool + 64 + round, 300 +
 * round); SIGUSR2 (alternate stack): TRACK_VAR(alt_val) = 3000 + round;
 * task 7 entered, named "forms", exited; task spawn 7 -> 8 + round; a
 * snapshot "round". Prints a checksum of what the program computed. */
#include <alloca.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "memscope.h"

#define NOINLINE __attribute__((noinline))

static char pool[256];
static char kept[256];
static volatile sig_atomic_t cur_round;
static volatile uint64_t sig_sum;

static void on_usr1(int sig)
{
	long sig_val = 2000 + cur_round;

	(void)sig;
	TRACK_VAR(sig_val);
	MEMSCOPE_ALLOC(pool + 64 + cur_round % 64, 300 + cur_round);
	sig_sum += (uint64_t)sig_val;
}

static void on_usr2(int sig)
{
	long alt_val = 3000 + cur_round;

	(void)sig;
	TRACK_VAR(alt_val);
	sig_sum += (uint64_t)alt_val * 3;
}

static NOINLINE uint64_t plain(int round)
{
	MEMSCOPE_SCOPE("plain");
	long plain_val = 1000 + round;

	TRACK_VAR(plain_val);
	MEMSCOPE_ALLOC(pool + round % 64, 100 + round);
	MEMSCOPE_FREE(pool + round % 64);
	return (uint64_t)plain_val;
}

static NOINLINE uint64_t with_alloca(int round)
{
	size_t n = 64 + (size_t)round;
	unsigned char *stack_buf = (unsigned char *)alloca(n);
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		stack_buf[i] = (unsigned char)(i * 13 + (size_t)round);
	MEMSCOPE_ALLOC(stack_buf, 64 + round);
	TRACK_VAR(stack_buf);
	MEMSCOPE_ALLOC(kept + round % 256, 500 + round);
	for (i = 0; i < n; i++)
		sum = sum * 7 + stack_buf[i];
	MEMSCOPE_FREE(stack_buf);
	return sum;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 20;
	long sleep_ms = argc > 2 ? atol(argv[2]) : 0;
	struct timespec ts = { sleep_ms / 1000, (sleep_ms % 1000) * 1000000L };
	struct sigaction sa;
	stack_t alt;
	uint64_t sum = 0;
	int r;

	/* Every page in memory first: BPF cannot read a string literal whose
	 * page was never touched, and this program exits within milliseconds,
	 * before the tracer could read it instead. The tests here are about
	 * where the probes are, not about that race. */
	mlockall(MCL_CURRENT);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	alt.ss_sp = malloc(65536);
	alt.ss_size = 65536;
	alt.ss_flags = 0;
	if (!alt.ss_sp || sigaltstack(&alt, NULL))
		return 1;
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR2, &sa, NULL);
	for (r = 0; r < rounds; r++) {
		cur_round = r;
		sum += plain(r);
		sum += with_alloca(r);
		raise(SIGUSR1);
		raise(SIGUSR2);
		MEMSCOPE_TASK_ENTER(7);
		MEMSCOPE_TASK_NAME(7, "forms");
		MEMSCOPE_TASK_SPAWN(7, 8 + r);
		MEMSCOPE_TASK_EXIT(7);
		MEMSCOPE_SNAPSHOT("round");
		if (sleep_ms)
			nanosleep(&ts, NULL);
	}
	MEMSCOPE_TASK_END(7);
	printf("sum %llu sig %llu\n", (unsigned long long)sum, (unsigned long long)sig_sum);
	return 0;
}
