/* SPDX-License-Identifier: BSD-3-Clause */
/* target.c - see target.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* readlink /proc/PID/<name> into buf. 0 or -errno. */
static int proc_link(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

int ms_target_exe(pid_t pid, char *buf, size_t len)
{
	return proc_link(pid, "exe", buf, len);
}

int ms_target_root(pid_t pid, char *buf, size_t len)
{
	return proc_link(pid, "root", buf, len);
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

/* The first run of exactly 64 hex digits in s (a container id), or NULL. */
static const char *hex64(const char *s, size_t *len)
{
	const char *p = s;

	while (*p) {
		size_t n = strspn(p, "0123456789abcdef");

		if (n == 64) {
			*len = n;
			return p;
		}
		p += n ? n : 1;
	}
	return NULL;
}

int ms_target_ns_info(pid_t pid, int *ns_pid, char *cgroup, size_t clen, char *cid, size_t idlen)
{
	char path[64], line[4096];
	const char *id;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *last;

		if (strncmp(line, "NSpid:", 6))
			continue;
		line[strcspn(line, "\n")] = 0;
		last = strrchr(line, '\t');
		*ns_pid = atoi(last ? last + 1 : line + 6);
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	cgroup[0] = cid[0] = 0;
	/* the unified (v2) hierarchy's path; on a v1 or hybrid machine whose
	 * unified path says nothing ("/"), the first v1 path that does */
	while (fgets(line, sizeof(line), f)) {
		char *cg = strchr(line, ':');

		cg = cg ? strchr(cg + 1, ':') : NULL;
		if (!cg)
			continue;
		line[strcspn(line, "\n")] = 0;
		cg++;
		if (!strncmp(line, "0::", 3) ? strcmp(cg, "/") || !cgroup[0] : !cgroup[0] && strcmp(cg, "/"))
			snprintf(cgroup, clen, "%s", cg);
	}
	fclose(f);
	if ((id = hex64(cgroup, &n)) && n < idlen) {
		snprintf(cid, idlen, "%.*s", (int)n, id);
		return 0;
	}
	/* a container run without a cgroup of its own: its engine bind-mounts
	 * its files from a directory named by its id (podman's
	 * overlay-containers/ID/userdata, docker's containers/ID) */
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	f = fopen(path, "re");
	while (f && !cid[0] && fgets(line, sizeof(line), f)) {
		const char *c = strstr(line, "containers/");

		if (c && (id = hex64(c + 11, &n)) && id == c + 11 && n < idlen)
			snprintf(cid, idlen, "%.*s", (int)n, id);
	}
	if (f)
		fclose(f);
	return 0;
}
