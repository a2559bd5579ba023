/* SPDX-License-Identifier: BSD-3-Clause */
/* hostile.c - probe arguments no well-behaved program sends, fired through
 * the raw USDT probes (the header's macros cannot produce most of them):
 * NULL and invalid name pointers, unterminated and huge strings, 10^6
 * distinct task names, 10^5 nested scopes, exits without enters.
 * Prints "hostile done". */
#define _SDT_HAS_SEMAPHORES 1
#define STAP_SDT_ARG_CONSTRAINT nr
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "memscope.h"

int main(int argc, char **argv)
{
	long names = argc > 1 ? atol(argv[1]) : 1000000, depth = argc > 2 ? atol(argv[2]) : 100000, i;
	char *huge = malloc(1 << 20), *unterminated, buf[32];
	int x = 1;

	memset(huge, 'A', (1 << 20) - 1);
	huge[(1 << 20) - 1] = 0;
	/* a page of non-NUL bytes followed by an unmapped page */
	unterminated = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(unterminated, 'B', 4096);
	munmap(unterminated + 4096, 4096);
	if (memscope_var_semaphore) {
		STAP_PROBE7(memscope, var, (uintptr_t)0, (uintptr_t)&x, 4, 0, (uintptr_t)0, (uintptr_t)0, 1);
		STAP_PROBE7(memscope, var, (uintptr_t)16, (uintptr_t)&x, 4, 0, (uintptr_t)8, (uintptr_t)24, 2);
		STAP_PROBE7(memscope, var, (uintptr_t)huge, (uintptr_t)&x, 4, 0, (uintptr_t)huge, (uintptr_t)huge, 3);
		STAP_PROBE7(memscope, var, (uintptr_t)unterminated, (uintptr_t)&x, 4, 0, (uintptr_t)0,
			    (uintptr_t)unterminated, 4);
	}
	for (i = 0; i < 5; i++)
		MEMSCOPE_SCOPE_EXIT(); /* exits without enters */
	if (memscope_task_name_semaphore) {
		STAP_PROBE2(memscope, task_name, (uint64_t)1, (uintptr_t)0);
		STAP_PROBE2(memscope, task_name, (uint64_t)2, (uintptr_t)huge);
		STAP_PROBE2(memscope, task_name, (uint64_t)3, (uintptr_t)unterminated);
	}
	for (i = 0; i < names; i++) {
		snprintf(buf, sizeof(buf), "task-%ld", i);
		MEMSCOPE_TASK_ENTER(i + 10);
		MEMSCOPE_TASK_NAME(i + 10, buf);
		MEMSCOPE_TASK_EXIT(i + 10);
		MEMSCOPE_TASK_END(i + 10);
	}
	for (i = 0; i < depth; i++)
		MEMSCOPE_SCOPE_ENTER("deep");
	for (i = 0; i < depth; i++)
		MEMSCOPE_SCOPE_EXIT();
	free(huge);
	printf("hostile done\n");
	return 0;
}
