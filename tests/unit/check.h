/* check.h - what the C unit tests share: CHECK(cond) prints "FAIL case:
 * file:line: cond", counts it in `failed` and jumps to the case's `out:`
 * label (where it cleans up); PASS() prints "PASS case" for tests/run.py. */
#ifndef MS_TEST_CHECK_H
#define MS_TEST_CHECK_H

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

#endif
