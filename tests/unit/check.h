/* SPDX-License-Identifier: BSD-3-Clause */
/* check.h - what the C unit tests share, so every test prints the lines
 * tests/run.py reads ("PASS case", "FAIL case: why") the same way.
 *
 * CHECK(cond) prints "FAIL case: file:line: cond", counts it in `failed`
 * and jumps to the case's `out:` label (where it cleans up); PASS() prints
 * "PASS case" (the case is the function's name).
 * EXPECT(name, cond, fmt, ...) is for a case that is one comparison: it
 * prints "PASS name" or "FAIL name: <fmt...>", counts a failure and goes
 * on; it returns cond. */
#ifndef MS_TESTS_UNIT_CHECK_H
#define MS_TESTS_UNIT_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static int failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("FAIL %s: %s:%d: %s\n", __func__, __FILE__, __LINE__, #cond); \
			failed++;                                              \
			goto out;                                              \
		}                                                              \
	} while (0)
#define PASS() printf("PASS %s\n", __func__)

__attribute__((format(printf, 3, 4)))
static inline int EXPECT(const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("PASS %s\n", name);
		return 1;
	}
	failed++;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return 0;
}

#endif
