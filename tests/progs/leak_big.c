/* SPDX-License-Identifier: BSD-3-Clause */
/* leak_big.c - a big live heap for the leak check's hold: MIB MiB in
 * blocks of BLOCK bytes (each written, so the pages are real), kept in a
 * global array, except every LOSE-th block, whose pointer is dropped.
 *   leak_big MIB BLOCK LOSE [wait]
 * With "wait" it prints "ready" and waits for SIGTERM (then _exit()s);
 * else it returns from main at once. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void **blocks;

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

int main(int argc, char **argv)
{
	size_t mib, size, lose, n, i;

	if (argc < 4)
		return 2;
	mib = strtoul(argv[1], NULL, 10);
	size = strtoul(argv[2], NULL, 10);
	lose = strtoul(argv[3], NULL, 10);
	if (!size)
		return 2;
	n = (mib << 20) / size;
	blocks = calloc(n ? n : 1, sizeof(*blocks));
	if (!blocks)
		return 1;
	for (i = 0; i < n; i++) {
		blocks[i] = malloc(size);
		if (!blocks[i])
			return 1;
		memset(blocks[i], (int)(i & 0x7f), size);
		if (lose && i % lose == lose - 1)
			blocks[i] = NULL;
	}
	if (argc > 4 && !strcmp(argv[4], "wait")) {
		signal(SIGTERM, on_term);
		printf("ready %zu\n", n);
		fflush(stdout);
		for (;;)
			pause();
	}
	return 0;
}
