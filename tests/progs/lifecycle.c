/* SPDX-License-Identifier: BSD-3-Clause */
/* lifecycle.c - processes that change under the tracer:
 *   lifecycle exec PROG [ARGS]  TRACK_VAR(before_exec), then exec PROG
 *   lifecycle fork              the child at once enters scope "child",
 *                               tracks `child_buf` (malloc 321, leaked)
 *                               and exits; the parent waits
 *   lifecycle forks N           forks N children at once; child i at once
 *                               tracks `child_no` (= i) and leaks
 *                               malloc(1000 + i), then exits; the parent
 *                               waits for all
 *   lifecycle reap [all]        a SIGCHLD handler (with SA_NOCLDSTOP, or
 *                               without it given `all`); 4 children exit
 *                               0..2 and by SIGTERM; the parent prints each
 *                               waitpid status and how many SIGCHLDs said a
 *                               child stopped or continued
 *   lifecycle fork-exec PROG    forks; the child at once execs PROG; the
 *                               parent waits and prints its status
 *   lifecycle system            system("exit 3") (posix_spawn: a child in
 *                               its parent's memory until it execs), then
 *                               tracks `after` = malloc(555), leaked
 *   lifecycle fork-idle S       forks a child that sleeps S seconds
 *   lifecycle fork-wait         prints "waiting", waits for SIGUSR1, then
 *                               forks a child that exits 0 at once
 *   lifecycle wait-work LIB     prints "waiting", waits for SIGUSR1, then in
 *                               scope "work" tracks `at_work`, leaks
 *                               malloc(777), dlopen()s LIB and at once
 *                               calls its plugin_run()
 *   lifecycle spawn N PROG ...  runs PROG N times, one after another
 *                               (fork, exec, wait)
 *   lifecycle threads N         creates and joins N threads, each
 *                               tracking a variable in a scope
 *   lifecycle dlopen LIB        dlopen()s LIB and at once calls its
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

static volatile sig_atomic_t chld_stops;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code == CLD_STOPPED || si->si_code == CLD_CONTINUED)
		chld_stops++;
}

/* Say "waiting", then wait for SIGUSR1 (a test attaches meanwhile). */
static void wait_usr1(void)
{
	sigset_t go;
	int sig;

	sigemptyset(&go);
	sigaddset(&go, SIGUSR1);
	sigprocmask(SIG_BLOCK, &go, 0);
	printf("waiting\n");
	fflush(stdout);
	sigwait(&go, &sig);
}

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

		pid = fork();
		if (pid == 0) {
			char *child_buf;

			/* at once: the child is traced from its first instruction */
			MEMSCOPE_SCOPE("child");
			child_buf = malloc(321);
			TRACK_VAR(child_buf);
			_exit(child_buf ? 0 : 1);
		}
		waitpid(pid, &status, 0);
		printf("child exited %d\n", WEXITSTATUS(status));
		return 0;
	}
	if (!strcmp(mode, "system")) {
		int rc = system("exit 3");
		char *after = malloc(555);

		TRACK_VAR(after);
		printf("system %d\n", WEXITSTATUS(rc));
		return after ? 0 : 1;
	}
	if (!strcmp(mode, "fork-idle") && argc > 2) {
		int status = 0;
		pid_t pid = fork();

		if (pid == 0) {
			usleep((useconds_t)(atof(argv[2]) * 1e6));
			_exit(0);
		}
		waitpid(pid, &status, 0);
		printf("child exited %d\n", WEXITSTATUS(status));
		return 0;
	}
	if ((!strcmp(mode, "fork-exec") && argc > 2) || !strcmp(mode, "fork-wait")) {
		int status = 0;
		pid_t pid;

		if (!strcmp(mode, "fork-wait"))
			wait_usr1();
		pid = fork();
		if (pid == 0) {
			if (argc > 2)
				execv(argv[2], argv + 2);
			_exit(argc > 2 ? 127 : 0);
		}
		waitpid(pid, &status, 0);
		printf("child exited %d\n", WEXITSTATUS(status));
		return 0;
	}
	if (!strcmp(mode, "wait-work") && argc > 2) {
		void *h;
		void (*run)(void);

		wait_usr1();
		{
			MEMSCOPE_SCOPE("work");
			int at_work = 1;
			char *kept = malloc(777);

			TRACK_VAR(at_work);
			h = dlopen(argv[2], RTLD_NOW);
			if (!h || !kept)
				return 1;
			*(void **)&run = dlsym(h, "plugin_run");
			run();
		}
		printf("worked\n");
		return 0;
	}
	if (!strcmp(mode, "spawn") && argc > 3) {
		int n = atoi(argv[2]), i, status, ok = 0;

		for (i = 0; i < n; i++) {
			pid_t pid = fork();

			if (pid == 0) {
				execv(argv[3], argv + 3);
				_exit(127);
			}
			if (pid < 0 || waitpid(pid, &status, 0) != pid)
				return 1;
			ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
		}
		printf("spawned %d, %d exited 0\n", n, ok);
		return 0;
	}
	if (!strcmp(mode, "forks") && argc > 2) {
		int n = atoi(argv[2]), i, status, ok = 0;

		for (i = 0; i < n; i++) {
			pid_t pid = fork();

			if (pid == 0) {
				long child_no = i;
				char *mine = malloc(1000 + (size_t)i);

				TRACK_VAR(child_no);
				_exit(mine ? 0 : 1);
			}
			if (pid < 0)
				return 1;
		}
		while (wait(&status) > 0)
			ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
		printf("forked %d, %d exited 0\n", n, ok);
		return 0;
	}
	if (!strcmp(mode, "reap")) {
		struct sigaction sa = { .sa_sigaction = on_chld, .sa_flags = SA_SIGINFO | SA_RESTART };
		pid_t kids[4];
		int i, status;

		if (argc < 3 || strcmp(argv[2], "all"))
			sa.sa_flags |= SA_NOCLDSTOP;
		sigaction(SIGCHLD, &sa, NULL);
		for (i = 0; i < 4; i++) {
			kids[i] = fork();
			if (kids[i] == 0) {
				int kid = i;

				TRACK_VAR(kid);
				if (i == 3)
					raise(SIGTERM);
				_exit(i);
			}
		}
		for (i = 0; i < 4; i++) {
			if (waitpid(kids[i], &status, 0) != kids[i])
				return 1;
			printf("child %d: exited %d code %d signaled %d signal %d\n", i, WIFEXITED(status),
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1, WIFSIGNALED(status),
			       WIFSIGNALED(status) ? WTERMSIG(status) : -1);
		}
		printf("SIGCHLD for a stop or continue: %d\n", (int)chld_stops);
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

		h = dlopen(argv[2], RTLD_NOW);
		if (!h)
			return 1;
		/* at once: probes are attached before dlopen() returns */
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
