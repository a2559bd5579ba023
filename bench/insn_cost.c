/* SPDX-License-Identifier: BSD-3-Clause */
/* insn_cost.c - bench E0: what one uprobe hit costs a program on this
 * kernel, by the instruction the probe sits on. An empty BPF program
 * (floor_alloc.bpf.c) is attached to tiny functions of this executable
 * whose first instruction is known; the time per call traced, less the
 * time untraced, is the kernel's price for that instruction:
 *   emulated        the int3 handler emulates it (push, jmp/jcc/call, the
 *                   kernel's nops): one trap
 *   single-stepped  copied out of line and single-stepped: a second trap
 *   optimized       a 5-byte nop, rewritten by this kernel into a call to
 *                   the uprobe trampoline (entered by syscall)
 * plus a return probe on top of an emulated entry. This is what placement
 * (user/elf/probe_place.c) chooses between, measured instead of read.
 *
 *   insn_cost [CALLS]    prints one line per instruction: name, what the
 *                        kernel does with it, ns per hit (lowest of 5 runs)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "floor_alloc.skel.h"

#define FN(name, body)                                                         \
	__asm__(".text\n.globl " #name "\n.type " #name ",@function\n" #name ":\n" \
		body "\n.size " #name ", .-" #name "\n");                      \
	void name(void);

FN(i_push, "push %rbp\n pop %rbp\n ret")
FN(i_jmp, "jmp 1f\n1: ret")
FN(i_nop1, "nop\n ret")
FN(i_nop5, ".byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n ret")
FN(i_mov, "mov %rdi, %rax\n ret")
FN(i_test, "test %rdi, %rdi\n ret")
FN(i_endbr, ".byte 0xf3, 0x0f, 0x1e, 0xfa\n ret")
FN(i_load, "mov (%rsp), %rax\n ret")
FN(i_ret, "push %rbp\n pop %rbp\n ret")

static const struct insn {
	const char *name, *kernel;
	void (*fn)(void);
	int ret; /* a return probe too */
} insns[] = {
	{ "push %rbp", "emulated", i_push, 0 },
	{ "jmp rel8", "emulated", i_jmp, 0 },
	{ "nop", "emulated", i_nop1, 0 },
	{ "nopl 0(%rax,%rax) (5 bytes)", "optimized", i_nop5, 0 },
	{ "mov %rdi,%rax", "single-stepped", i_mov, 0 },
	{ "test %rdi,%rdi", "single-stepped", i_test, 0 },
	{ "endbr64", "single-stepped", i_endbr, 0 },
	{ "mov (%rsp),%rax", "single-stepped", i_load, 0 },
	{ "push %rbp + return probe", "emulated + return", i_ret, 1 },
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double per_call(void (*f)(void), unsigned n)
{
	void (*volatile fn)(void) = f;
	double best = -1;
	int r;

	for (r = 0; r < 5; r++) {
		double t0 = now_ns(), dt;
		unsigned i;

		for (i = 0; i < n; i++)
			fn();
		dt = (now_ns() - t0) / n;
		if (best < 0 || dt < best)
			best = dt;
	}
	return best;
}

/* File offset of code address a in this executable (from /proc/self/maps). */
static long file_offset(const void *a)
{
	unsigned long lo, hi, off, addr = (unsigned long)a;
	char line[512], perms[8];
	FILE *f = fopen("/proc/self/maps", "r");
	long ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %7s %lx", &lo, &hi, perms, &off) == 4 && addr >= lo &&
		    addr < hi) {
			ret = (long)(addr - lo + off);
			break;
		}
	fclose(f);
	return ret;
}

static int quiet(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	return l == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 2000;
	struct floor_alloc_bpf *s;
	size_t i;

	libbpf_set_print(quiet);
	s = floor_alloc_bpf__open_and_load();
	if (!s) {
		fprintf(stderr, "insn_cost: load floor_alloc.bpf.o: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
		const struct insn *in = &insns[i];
		long off = file_offset((const void *)in->fn);
		LIBBPF_OPTS(bpf_uprobe_opts, o);
		LIBBPF_OPTS(bpf_uprobe_opts, ro, .retprobe = 1);
		struct bpf_link *l, *rl = NULL;
		double base, traced;

		base = per_call(in->fn, n);
		l = bpf_program__attach_uprobe_opts(s->progs.malloc_entry, getpid(), "/proc/self/exe", off, &o);
		if (l && in->ret)
			rl = bpf_program__attach_uprobe_opts(s->progs.malloc_return, getpid(), "/proc/self/exe",
							     off, &ro);
		if (!l || (in->ret && !rl)) {
			fprintf(stderr, "insn_cost: attach on %s: %s\n", in->name, strerror(errno));
			bpf_link__destroy(l);
			continue;
		}
		per_call(in->fn, 10); /* the first hit may rewrite the site */
		traced = per_call(in->fn, n);
		printf("%-30s %-18s %8.0f\n", in->name, in->kernel, traced - base);
		fflush(stdout);
		bpf_link__destroy(rl);
		bpf_link__destroy(l);
	}
	floor_alloc_bpf__destroy(s);
	return 0;
}
