/* SPDX-License-Identifier: BSD-3-Clause */
/* unwind_nofp.c - allocations whose stacks cross code without frame
 * pointers, as distributions build it: this program and
 * libunwind_nofp.so are built -O2 -fomit-frame-pointer (see the Makefile),
 * and every function here and in the library also overwrites rbp before
 * it calls on, so a frame-pointer walk cannot get past the first frame.
 * (A test program, so it may use memscope.h: mode custom.)
 * Chain: main -> app_outer -> nofp_lib_walk -> nofp_lib_inner (library)
 * -> app_alloc (back in the program) -> malloc.
 *   unwind_nofp leak            leak one 100-byte block through the chain
 *   unwind_nofp double          free a block twice through the chain (abort)
 *   unwind_nofp dlopen LIB      the same through a library dlopen()ed now:
 *                               one 201-byte block, then after 300 ms
 *                               (the tracer builds its table meanwhile) a
 *                               202-byte one
 *   unwind_nofp custom          one 600-byte block of a custom allocator
 *                               announced by MEMSCOPE_ALLOC (a 5-byte
 *                               probe site) in app_alloc, through the chain
 *   unwind_nofp jit             app_alloc called from code copied into an
 *                               anonymous executable mapping (as a JIT
 *                               would): one 303-byte block
 *   unwind_nofp badsp           app_alloc called from a function whose CFI
 *                               finds its caller's frame by an rbp that
 *                               points 8 MiB above the stack, where
 *                               nothing is mapped: one 304-byte block
 *   unwind_nofp fork            a forked child leaks one 401-byte block
 *                               through the chain after 300 ms; the
 *                               parent waits
 *   unwind_nofp exec PROG ARG   exec PROG ARG (a file no table was built
 *                               for before the target ran)
 *   unwind_nofp late            one 501-byte block through the chain, then
 *                               after 300 ms a 502-byte one */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "memscope.h"

typedef void *(*alloc_fn)(size_t n);
void *nofp_lib_walk(alloc_fn cb, size_t n);

/* rbp as the compiler may use it without frame pointers: garbage */
#define CLOBBER_RBP() asm volatile("movq $0x5a5a5a5a5a5a5a5a, %%rbp" ::: "rbp")

static int use_custom; /* app_alloc hands out pool memory, announced */
static char pool[4096];

__attribute__((noinline)) void *app_alloc(size_t n)
{
	volatile char pad[40];
	void *p;

	CLOBBER_RBP();
	pad[0] = (char)n;
	if (use_custom) {
		p = pool;
		MEMSCOPE_ALLOC(p, n + (size_t)pad[0] * 0);
		asm volatile("" ::: "memory");
		return p;
	}
	p = malloc(n + (size_t)pad[0] * 0);
	asm volatile("" ::: "memory");
	return p;
}

__attribute__((noinline)) void app_free_twice(void *p)
{
	volatile char pad[24];

	CLOBBER_RBP();
	pad[0] = 1;
	free(p);
	asm volatile("" ::: "memory");
	free(p); /* glibc aborts: the tracer must have the record by then */
	asm volatile("" ::: "memory");
	(void)pad[0];
}

__attribute__((noinline)) void *app_outer(size_t n)
{
	volatile char pad[72];
	void *p;

	CLOBBER_RBP();
	pad[0] = 0;
	p = nofp_lib_walk(app_alloc, n + (size_t)pad[0]);
	asm volatile("" ::: "memory");
	return p;
}

__attribute__((noinline)) static void *dl_call(void *h, size_t n)
{
	void *(*walk)(alloc_fn, size_t) = (void *(*)(alloc_fn, size_t))dlsym(h, "nofp_dl_walk");

	void *p = walk ? walk(app_alloc, n) : NULL;

	asm volatile("" ::: "memory");
	return p;
}

/* sub $8,%rsp; mov $303,%edi; movabs $app_alloc,%rax; call *%rax;
 * add $8,%rsp; ret - in a page no file backs */
static void *jit_call(void)
{
	static const unsigned char head[] = { 0x48, 0x83, 0xec, 0x08, 0xbf, 0x2f, 0x01, 0x00, 0x00, 0x48, 0xb8 };
	static const unsigned char tail[] = { 0xff, 0xd0, 0x48, 0x83, 0xc4, 0x08, 0xc3 };
	void *(*fn)(void);
	void *(*target)(size_t) = app_alloc;
	unsigned char *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (code == MAP_FAILED)
		return NULL;
	memcpy(code, head, sizeof(head));
	memcpy(code + sizeof(head), &target, 8);
	memcpy(code + sizeof(head) + 8, tail, sizeof(tail));
	if (mprotect(code, 4096, PROT_READ | PROT_EXEC))
		return NULL;
	fn = (void *(*)(void))code;
	return fn();
}

/* void *bad_sp_call(void): app_alloc(304) with CFI that says the caller's
 * frame is at rbp + 24 while rbp points 8 MiB above the stack (the real
 * frame is kept in rbx). Runs correctly; only an unwinder is misled. */
void *bad_sp_call(void);
asm(".text\n"
    ".globl bad_sp_call\n"
    ".type bad_sp_call, @function\n"
    "bad_sp_call:\n"
    ".cfi_startproc\n"
    "push %rbx\n"
    ".cfi_def_cfa_offset 16\n"
    ".cfi_offset rbx, -16\n"
    "push %rbp\n"
    ".cfi_def_cfa_offset 24\n"
    ".cfi_offset rbp, -24\n"
    "mov %rsp, %rbx\n"
    "lea 0x800000(%rsp), %rbp\n"
    ".cfi_def_cfa rbp, 24\n"
    "sub $8, %rsp\n"
    "mov $304, %edi\n"
    "call app_alloc\n"
    "mov %rbx, %rsp\n"
    ".cfi_def_cfa rsp, 24\n"
    "pop %rbp\n"
    ".cfi_def_cfa_offset 16\n"
    "pop %rbx\n"
    ".cfi_def_cfa_offset 8\n"
    "ret\n"
    ".cfi_endproc\n"
    ".size bad_sp_call, .-bad_sp_call\n");

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "leak";

	if (!strcmp(mode, "leak")) {
		printf("%p\n", app_outer(100));
	} else if (!strcmp(mode, "double")) {
		void *p = app_outer(64);

		app_free_twice(p);
	} else if (!strcmp(mode, "dlopen") && argc > 2) {
		void *h = dlopen(argv[2], RTLD_NOW);

		if (!h) {
			fprintf(stderr, "%s\n", dlerror());
			return 1;
		}
		printf("%p\n", dl_call(h, 201));
		usleep(300000);
		printf("%p\n", dl_call(h, 202));
	} else if (!strcmp(mode, "fork")) {
		pid_t pid = fork();

		if (pid == 0) {
			usleep(300000); /* the tracer attaches to the child meanwhile */
			printf("%p\n", app_outer(401));
			return 0;
		}
		if (pid < 0 || waitpid(pid, NULL, 0) != pid)
			return 1;
	} else if (!strcmp(mode, "late")) {
		printf("%p\n", app_outer(501));
		usleep(300000);
		printf("%p\n", app_outer(502));
	} else if (!strcmp(mode, "exec") && argc > 3) {
		execv(argv[2], argv + 2);
		perror(argv[2]);
		return 1;
	} else if (!strcmp(mode, "custom")) {
		use_custom = 1;
		printf("%p\n", app_outer(600));
	} else if (!strcmp(mode, "jit")) {
		printf("%p\n", jit_call());
	} else if (!strcmp(mode, "badsp")) {
		printf("%p\n", bad_sp_call());
	} else {
		fprintf(stderr, "usage: unwind_nofp leak|double|dlopen LIB|fork|exec PROG ARG|late|custom|jit|badsp\n");
		return 2;
	}
	return 0;
}
