/* SPDX-License-Identifier: BSD-3-Clause */
/* attach_frees.c - frees, after the tracer attached, blocks allocated before:
 *   before: 5 x malloc(100) (`early`), prints "ready", waits for SIGUSR1
 *   after:  frees the 5 early blocks (unknown to a tracer attached in
 *           between), 3 x malloc(200) + free, keeps 1 x malloc(300) in
 *           `late`, prints "done" and exits.
 * The pre-attach output ("ready") has set up stdout's buffer already. */
#include <stdio.h>
#include <stdlib.h>
#include "memscope.h"
#include "wait_usr1.h"

int main(void)
{
	char *early[5], *late;
	int i;

	for (i = 0; i < 5; i++) {
		early[i] = malloc(100);
		TRACK_VAR(early[i]);
	}
	printf("ready");
	fflush(stdout);
	wait_usr1("\n");
	for (i = 0; i < 5; i++)
		free(early[i]);
	for (i = 0; i < 3; i++) {
		char *p = malloc(200);

		p[0] = (char)i;
		free(p);
	}
	late = malloc(300);
	TRACK_VAR(late);
	printf("done\n");
	return late == NULL;
}
