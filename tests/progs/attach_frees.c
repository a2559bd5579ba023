/* attach_frees.c - frees, after the tracer attached, blocks allocated before:
 *   before: 5 x malloc(100) (`early`), prints "ready", waits for SIGUSR1
 *   after:  frees the 5 early blocks (unknown to a tracer attached in
 *           between), 3 x malloc(200) + free, keeps 1 x malloc(300) in
 *           `late`, prints "done" and exits.
 * The pre-attach output ("ready") has set up stdout's buffer already. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include "memscope.h"

int main(void)
{
	char *early[5], *late;
	sigset_t usr1;
	int i, sig;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	for (i = 0; i < 5; i++) {
		early[i] = malloc(100);
		TRACK_VAR(early[i]);
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&usr1, &sig);
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
