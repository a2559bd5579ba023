/* SPDX-License-Identifier: BSD-3-Clause */
/* grow.c - a request loop for growth detection: argv[1] requests (default
 * 150), 10 ms apart; each request is a task that allocates a 4 KiB buffer
 * and frees it; with argv[2] = "leak" each request also leaks 100 bytes
 * held by `cache_entry` (the slow leak of a long-running server). A
 * MEMSCOPE_SNAPSHOT("tick") every 10 requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memscope.h"

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 150, leak = argc > 2 && !strcmp(argv[2], "leak"), i;

	for (i = 1; i <= n; i++) {
		char *buf, *cache_entry;

		MEMSCOPE_TASK_ENTER(i);
		buf = malloc(4096);
		TRACK_VAR(buf);
		memset(buf, i, 4096);
		if (leak) {
			cache_entry = malloc(100);
			TRACK_VAR(cache_entry);
			memcpy(cache_entry, buf, 100);
		}
		free(buf);
		MEMSCOPE_TASK_EXIT(i);
		MEMSCOPE_TASK_END(i);
		if (i % 10 == 0)
			MEMSCOPE_SNAPSHOT("tick");
		usleep(10000);
	}
	printf("grow done\n");
	return 0;
}
