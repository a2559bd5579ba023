/* SPDX-License-Identifier: BSD-3-Clause */
/* lifecycle.c - processes that change under the tracer:
 *   lifecycle exec PROG [ARGS]  TRACK_VAR(before_exec), then exec PROG
 *   lifecycle fork              the child tracks `child_buf` (malloc 321,
 *                               leaked) and exits; the parent waits
 *   lifecycle threads N         creates and joins N threads, each
 *                               tracking a variable in a scope
 *   lifecycle dlopen LIB        after 0.5 s dlopen()s LIB and calls its
 *                               plugin_run(), which carries memscope probes
 *   lifecycle segv              tracks a variable, then dies of SIGSEGV
 *   lifecycle sleep S           tracks `waiting` and sleeps S seconds */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "memscope.h"

static void *thread_fn(void *arg)
{
	long id = (long)arg;

	MEMSCOPE_SCOPE("thread");
	TRACK_VAR(id);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "exec") && argc > 2) {
		int before_exec = 1;

		TRACK_VAR(before_exec);
		execv(argv[2], argv + 2);
		perror("execv");
		return 127;
	}
	if (!strcmp(mode, "fork")) {
		pid_t pid;
		int status = 0;

		usleep(200000);
		pid = fork();
		if (pid == 0) {
			char *child_buf;

			/* the tracer attaches to a new child in ~0.1-2 s */
			usleep(2500000);
			child_buf = malloc(321);
			TRACK_VAR(child_buf);
			_exit(child_buf ? 0 : 1);
		}
		waitpid(pid, &status, 0);
		printf("child exited %d\n", WEXITSTATUS(status));
		return 0;
	}
	if (!strcmp(mode, "threads") && argc > 2) {
		int n = atoi(argv[2]), i;

		for (i = 0; i < n; i++) {
			pthread_t t;

			if (pthread_create(&t, NULL, thread_fn, (void *)(long)i))
				return 1;
			pthread_join(t, NULL);
		}
		printf("threads %d\n", n);
		return 0;
	}
	if (!strcmp(mode, "dlopen") && argc > 2) {
		void *h;
		void (*run)(void);

		usleep(500000);
		h = dlopen(argv[2], RTLD_NOW);
		if (!h)
			return 1;
		/* the tracer looks for new libraries every 100 ms, then needs
		 * time to attach */
		usleep(2500000);
		run = (void (*)(void))dlsym(h, "plugin_run");
		run();
		printf("plugin ran\n");
		return 0;
	}
	if (!strcmp(mode, "segv")) {
		int doomed = 7;

		TRACK_VAR(doomed);
		raise(SIGSEGV);
	}
	if (!strcmp(mode, "sleep") && argc > 2) {
		int waiting = 1;

		TRACK_VAR(waiting);
		usleep((useconds_t)(atof(argv[2]) * 1e6));
		printf("slept\n");
		return 0;
	}
	return 2;
}
