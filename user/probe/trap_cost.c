/* SPDX-License-Identifier: BSD-3-Clause */
/* trap_cost.c - the per-hit cost of a uprobe, measured on ourselves.
 *
 * The tracer's cost to its target is the time the target's threads spend
 * in the kernel for each probe hit: the BPF program (which the kernel's
 * BPF statistics measure) and the trap around it (which nothing measures:
 * int3, the uprobe handler, emulating or single-stepping the probed
 * instruction, the return). The trap varies by host and day (from ~0.5 to
 * ~6 µs on the same kind of VM), so it is measured where it is used: a
 * uprobe from the perf uprobe PMU, with no BPF program, on a function of
 * this executable whose first instruction (push %rbp) the kernel emulates,
 * as it does at glibc's malloc. The function is called in rounds with and
 * without the probe; the cheapest round of each gives the difference per
 * call. Probes placed on instructions the kernel single-steps cost more,
 * and 5-byte nops it optimizes cost less: this is the common case, not
 * every site's price. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "probe/trap_cost.h"

#define CALLS 500
#define ROUNDS 3

#if defined(__x86_64__)
/* A function whose first instruction the kernel emulates, written out so
 * that no compiler option can change it. */
__asm__(".text\n"
	".globl ms_trap_target\n"
	".type ms_trap_target, @function\n"
	"ms_trap_target:\n"
	"\tpush %rbp\n"
	"\tmov %rsp, %rbp\n"
	"\tpop %rbp\n"
	"\tret\n"
	".size ms_trap_target, .-ms_trap_target\n");
void ms_trap_target(void);

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The cheapest of ROUNDS rounds of CALLS calls, per call. */
static double per_call(void (*volatile fn)(void))
{
	double best = 0;
	int r, i;

	for (r = 0; r < ROUNDS; r++) {
		uint64_t t0 = now_ns();
		double d;

		for (i = 0; i < CALLS; i++)
			fn();
		d = (double)(now_ns() - t0) / CALLS;
		if (!r || d < best)
			best = d;
	}
	return best;
}

/* File and offset of addr in this process, from its maps. */
static int where(uintptr_t addr, char *path, size_t len, uint64_t *off)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096 + 128];
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (found && fgets(line, sizeof(line), f)) {
		uint64_t lo, hi, o;
		int n = 0;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64 " %*s %*s %n", &lo, &hi, &o, &n) < 3 ||
		    addr < lo || addr >= hi || !n || line[n] != '/')
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(path, len, "%s", line + n);
		*off = addr - lo + o;
		found = 0;
	}
	fclose(f);
	return found;
}

double ms_trap_cost_ns(void)
{
	struct perf_event_attr attr;
	char path[4096];
	uint64_t off = 0;
	double bare, probed;
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "re");
	int type = -1, fd;

	if (!f)
		return 0;
	if (fscanf(f, "%d", &type) != 1)
		type = -1;
	fclose(f);
	if (type < 0 || where((uintptr_t)ms_trap_target, path, sizeof(path), &off))
		return 0;
	memset(&attr, 0, sizeof(attr));
	attr.type = (uint32_t)type;
	attr.size = sizeof(attr);
	attr.config1 = (uint64_t)(uintptr_t)path; /* uprobe_path */
	attr.config2 = off;                       /* probe_offset */
	bare = per_call(ms_trap_target);
	fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return 0;
	probed = per_call(ms_trap_target);
	close(fd);
	return probed > bare ? probed - bare : 0;
}
#else
double ms_trap_cost_ns(void)
{
	return 0;
}
#endif
