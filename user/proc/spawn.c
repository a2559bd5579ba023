/* SPDX-License-Identifier: BSD-3-Clause */
/* spawn.c - see spawn.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proc/spawn.h"

/* 0 if execve() could run path as a file: X_OK alone passes a directory
 * for root, which execve() refuses with EACCES. */
static int runnable(const char *path)
{
	struct stat st;

	if (access(path, X_OK) || stat(path, &st))
		return -errno;
	return S_ISREG(st.st_mode) ? 0 : -EACCES;
}

int ms_spawn_resolve(const char *cmd, char *exe, size_t len)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	int err = -ENOENT, r;

	if (strchr(cmd, '/')) {
		if ((r = runnable(cmd)))
			return r;
		return realpath(cmd, exe) && strlen(exe) < len ? 0 : -ENAMETOOLONG;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? path : ".", cmd);
		if ((r = runnable(buf)) == 0) {
			if (realpath(buf, exe))
				return 0;
		} else if (r == -EACCES) {
			err = -EACCES;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return err;
}

int ms_spawn_held(const char *exe, char *const argv[], struct ms_child *c)
{
	int hold[2], status[2];
	pid_t pid;

	if (pipe2(hold, O_CLOEXEC))
		return -errno;
	if (pipe2(status, O_CLOEXEC)) {
		close(hold[0]);
		close(hold[1]);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(hold[0]);
		close(hold[1]);
		close(status[0]);
		close(status[1]);
		return err;
	}
	if (pid == 0) {
		char b;
		int e;
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		close(hold[1]);
		close(status[0]);
		/* Wait until the probes are attached. If the tracer died
		 * first, run anyway: the target must not depend on it. */
		while (read(hold[0], &b, 1) < 0 && errno == EINTR)
			;
		close(hold[0]);
		execv(exe, argv);
		e = errno;
		if (write(status[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(hold[0]);
	close(status[1]);
	c->pid = pid;
	c->release_fd = hold[1];
	c->status_fd = status[0];
	return 0;
}

int ms_spawn_release(struct ms_child *c)
{
	int e = 0;
	ssize_t n;

	close(c->release_fd);
	c->release_fd = -1;
	do
		n = read(c->status_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(c->status_fd);
	c->status_fd = -1;
	return n == sizeof(e) ? -e : 0;
}
