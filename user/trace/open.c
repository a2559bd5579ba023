/* SPDX-License-Identifier: BSD-3-Clause */
/* open.c - the first stage of a trace run: everything that can be refused
 * is refused here, in one line naming what was wrong, before anything is
 * loaded or attached: privilege, output files, the command or the PID. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "elf/elf_syms.h"
#include "proc/privilege.h"
#include "proc/spawn.h"
#include "proc/target.h"
#include "trace/metrics_serve.h"
#include "trace/session.h"

int ms_session_check_privilege(void)
{
	char why[256];
	int err = ms_privilege_check(why, sizeof(why));

	if (err)
		fprintf(stderr, "memscope-trace: insufficient privilege: run as root or grant %s\n", why);
	return err;
}

static int open_output(const char *path, FILE **out)
{
	/* Created 0600; never followed through a symlink planted there. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		int err = errno;

		fprintf(stderr, "memscope-trace: cannot write output file %s: %s\n", path,
			err == ELOOP ? "it is a symbolic link" : strerror(err));
		return -err;
	}
	*out = fdopen(fd, "w");
	if (!*out) {
		int err = errno;

		close(fd);
		fprintf(stderr, "memscope-trace: cannot write output file %s: %s\n", path, strerror(err));
		return -err;
	}
	return 0;
}

int ms_session_open_outputs(struct session *s)
{
	const char *path;
	int i, err;

	for (i = 0; i < MS_OUT_MAX; i++)
		if ((path = ms_output_path(s->o, i)) && (err = open_output(path, &s->out[i])))
			return err;
	return 0;
}

int ms_session_open_metrics(struct session *s)
{
	if (!s->o->metrics)
		return 0;
	s->metrics = ms_metrics_serve_open(s->o->metrics, s->o->metrics_top);
	return s->metrics ? 0 : -EADDRNOTAVAIL;
}

/* The command's executable, resolved as execvp would; scripts (#!) are
 * fine: the interpreter is what runs. */
static int find_cmd(struct session *s)
{
	const char *why = NULL;
	const char *cmd = s->o->cmd[0];
	int err = ms_spawn_resolve(cmd, s->exe, sizeof(s->exe));

	if (err) {
		fprintf(stderr, "memscope-trace: cannot execute %s: %s\n", cmd, strerror(-err));
		return err;
	}
	if (ms_elf_check_arch_path(s->exe, &why) == -ENOEXEC && why && strncmp(why, "not an ELF", 10)) {
		fprintf(stderr, "memscope-trace: cannot trace %s: %s\n", cmd, why);
		return -ENOEXEC;
	}
	return 0;
}

/* A running process: alive, not a zombie, a kernel thread or ourselves, and
 * an executable of our architecture (read through /proc/PID/exe, which
 * works across mount namespaces). */
static int find_pid(struct session *s)
{
	pid_t pid = s->o->pid;
	const char *why_exe = NULL;
	char why[256], root_exe[64];
	int err = ms_target_check(pid, why, sizeof(why));

	if (err) {
		fprintf(stderr, "memscope-trace: PID %d %s\n", (int)pid, why);
		return err;
	}
	ms_target_exe(pid, s->exe, sizeof(s->exe));
	snprintf(root_exe, sizeof(root_exe), "/proc/%d/exe", (int)pid);
	if (ms_elf_check_arch_path(root_exe, &why_exe) == -ENOEXEC && why_exe) {
		fprintf(stderr, "memscope-trace: cannot trace PID %d (%s): %s\n", (int)pid, s->exe, why_exe);
		return -ENOEXEC;
	}
	return 0;
}

int ms_session_find_target(struct session *s)
{
	return s->o->cmd ? find_cmd(s) : find_pid(s);
}
