/* SPDX-License-Identifier: BSD-3-Clause */
/* spawn.h - start a command held before exec: the child is forked, waits
 * until the tracer has attached every probe, then execs, so the target is
 * traced from its first instruction. */
#ifndef MS_PROC_SPAWN_H
#define MS_PROC_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

struct ms_child {
	pid_t pid;
	int release_fd; /* write end: the child execs when it closes */
	int status_fd;  /* read end: EOF = exec done, 4 bytes = its errno */
};

/* Resolve cmd[0] through PATH into exe; 0 or -ENOENT/-EACCES. */
int ms_spawn_resolve(const char *cmd, char *exe, size_t len);
/* Fork a child that waits, then execs exe with argv. 0 or -errno. */
int ms_spawn_held(const char *exe, char *const argv[], struct ms_child *c);
/* Let it exec; 0 once exec succeeded, or the child's exec errno (negative). */
int ms_spawn_release(struct ms_child *c);

#endif
