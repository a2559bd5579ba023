/* SPDX-License-Identifier: BSD-3-Clause */
/* symbols.c - a program whose allocating functions are named only in its
 * own symbol table (static, never exported): stripped, it keeps no name
 * for them; tests/integration/test_unwind.py strips copies of it and
 * gives the names back through MiniDebugInfo (.gnu_debugdata) or a
 * debuginfod server. Leaks one 77-byte block through
 * main -> sym_outer -> sym_leaf -> malloc. */
#include <stdio.h>
#include <stdlib.h>

static __attribute__((noinline, noipa)) void *sym_leaf(size_t n)
{
	void *p = malloc(n);

	asm volatile("" ::: "memory");
	return p;
}

static __attribute__((noinline, noipa)) void *sym_outer(size_t n)
{
	void *p = sym_leaf(n + 1);

	asm volatile("" ::: "memory");
	return p;
}

int main(void)
{
	printf("%p\n", sym_outer(76));
	return 0;
}
