/* target.c - see target.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include "proc/target.h"
#include "util/vec.h"

int ms_target_check(pid_t pid, char *why, size_t len)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	if (pid <= 0) {
		snprintf(why, len, "is not a valid process id");
		return -EINVAL;
	}
	if (pid == getpid()) {
		snprintf(why, len, "is memscope-trace itself");
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "does not exist");
		return -ESRCH;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		snprintf(why, len, "does not exist");
		return -ESRCH;
	}
	buf[n] = 0;
	/* state follows the last ')' (comm may contain parentheses) */
	p = strrchr(buf, ')');
	if (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X')) {
		snprintf(why, len, "is a zombie (it has exited)");
		return -ESRCH;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0 && errno == ENOENT) {
		snprintf(why, len, "is a kernel thread (no user space to trace)");
		return -EINVAL;
	}
	if (n < 0) {
		snprintf(why, len, "cannot be inspected: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int ms_target_exe(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

ssize_t ms_target_read_str(void *user, uint32_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n;
	char *nul;

	(void)user;
	if (!len)
		return 0;
	n = process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0);
	if (n <= 0) {
		/* process_vm_readv fails as a whole when the range crosses
		 * into an unmapped page; /proc/PID/mem reads up to it. */
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "/proc/%u/mem", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		n = pread(fd, buf, len, (off_t)addr);
		close(fd);
		if (n <= 0)
			return n < 0 ? -errno : -EFAULT;
	}
	nul = memchr(buf, 0, (size_t)n);
	return nul ? nul - (char *)buf : n;
}

int ms_check_privilege(char *why, size_t len)
{
	static const struct { cap_value_t cap; const char *name; } need[] = {
		/* load programs, maps, ring buffer */
		{ CAP_BPF, "CAP_BPF" },
		/* uprobes and tracepoints through perf_event_open */
		{ CAP_PERFMON, "CAP_PERFMON" },
		/* the kernel only lets CAP_SYS_ADMIN attach a uprobe that bumps a
		 * USDT semaphore (perf_event_open with ref_ctr_offset: EACCES) */
		{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN" },
		/* /proc/PID/mem and maps of another user's process */
		{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE" },
		/* its files through /proc/PID/root and map_files */
		{ CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH" },
	};
	cap_t caps;
	size_t i, off = 0;
	int missing = 0;

	caps = cap_get_proc();
	if (!caps)
		return geteuid() == 0 ? 0 : -EPERM;
	why[0] = 0;
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(caps, need[i].cap, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET)
			continue;
		missing++;
		off += (size_t)snprintf(why + off, off < len ? len - off : 0, "%s%s",
					missing > 1 ? " + " : "", need[i].name);
	}
	cap_free(caps);
	return missing ? -EPERM : 0;
}

int ms_resolve_cmd(const char *cmd, char *exe, size_t len)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	int err = -ENOENT;

	if (strchr(cmd, '/')) {
		if (access(cmd, X_OK))
			return -errno;
		return realpath(cmd, exe) && strlen(exe) < len ? 0 : -ENAMETOOLONG;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? path : ".", cmd);
		if (access(buf, X_OK) == 0) {
			if (realpath(buf, exe))
				return 0;
		} else if (errno == EACCES) {
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

int ms_target_env(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64], *env = NULL, *p;
	size_t cap = 0, n = 0, nl = strlen(name);
	ssize_t k;
	int fd, err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (ms_vec_reserve((void **)&env, &cap, 1, n + 4096)) {
			err = -ENOMEM;
			goto out;
		}
		k = read(fd, env + n, cap - n - 1);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	if (!env)
		goto out;
	env[n] = 0;
	for (p = env; p < env + n; p += strlen(p) + 1) {
		if (!strncmp(p, name, nl) && p[nl] == '=') {
			snprintf(buf, len, "%s", p + nl + 1);
			err = 0;
			break;
		}
	}
out:
	free(env);
	close(fd);
	return err;
}

int ms_target_maps_has(pid_t pid, const char *needle)
{
	char path[64], line[4096];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}
