/* SPDX-License-Identifier: BSD-3-Clause */
// unwind_cxx.cpp - a C++ program built as GCC builds by default at -O2 -g
// (no frame pointers; see the Makefile), with a known call chain, some of
// it inlined: leaks through main -> top_a -> mid_b -> mid_c (inlined into
// mid_b) -> leaf_alloc -> malloc, and through new std::string (its
// buffer allocated in libstdc++'s constructor, inlined into cxx_leak).
// tests/integration/test_unwind.py traces it with memscope and valgrind
// and compares the two frame by frame.
#include <cstdio>
#include <cstdlib>
#include <string>

__attribute__((noinline)) void *leaf_alloc(size_t n)
{
	void *p = malloc(n);
	asm volatile("" ::: "memory");
	return p;
}

static inline void *mid_c(size_t n)
{
	return leaf_alloc(n * 2);
}

__attribute__((noinline)) void *mid_b(size_t n)
{
	void *p = mid_c(n + 1);
	asm volatile("" ::: "memory");
	return p;
}

__attribute__((noinline)) void *top_a(size_t n)
{
	void *p = mid_b(n + 3);
	asm volatile("" ::: "memory");
	return p;
}

__attribute__((noinline)) std::string *cxx_leak(const char *s)
{
	std::string *str = new std::string(s);
	asm volatile("" ::: "memory");
	return str;
}

int main(int argc, char **argv)
{
	(void)argv;
	printf("%p %p\n", top_a((size_t)argc + 10),
	       (void *)cxx_leak("a string long enough for the heap, past SSO"));
	return 0;
}
