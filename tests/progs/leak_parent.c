/* SPDX-License-Identifier: BSD-3-Clause */
/* leak_parent.c - a parent that watches its child the way shells and
 * supervisors do: waitpid(WUNTRACED | WCONTINUED) and SIGCHLD. It runs
 * argv[1..] as its child, prints the child's pid, then one line per event
 * it sees ("exited N", "killed N", "stopped N", "continued") and, at the
 * end, "sigchld N". A leak check's hold must show it nothing but the exit. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t nchld;

static void on_chld(int sig)
{
	(void)sig;
	nchld++;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	pid_t c;
	int st;

	if (argc < 2)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_chld; /* no SA_NOCLDSTOP: stops would be told too */
	sigaction(SIGCHLD, &sa, NULL);
	c = fork();
	if (c == 0) {
		execv(argv[1], argv + 1);
		_exit(127);
	}
	printf("%d\n", (int)c);
	fflush(stdout);
	for (;;) {
		pid_t r = waitpid(c, &st, WUNTRACED | WCONTINUED);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (WIFEXITED(st))
			printf("exited %d\n", WEXITSTATUS(st));
		else if (WIFSIGNALED(st))
			printf("killed %d\n", WTERMSIG(st));
		else if (WIFSTOPPED(st))
			printf("stopped %d\n", WSTOPSIG(st));
		else if (WIFCONTINUED(st))
			printf("continued\n");
		fflush(stdout);
		if (WIFEXITED(st) || WIFSIGNALED(st))
			break;
	}
	printf("sigchld %d\n", (int)nchld);
	return 0;
}
