/* target.h - facts about the traced process, read from /proc, and the
 * start of a command held before exec until the probes are attached. */
#ifndef MS_TARGET_H
#define MS_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* 0 if pid can be traced; else -errno and a reason in why ("does not
 * exist", "is a zombie", "is a kernel thread", "is memscope-trace itself"). */
int ms_target_check(pid_t pid, char *why, size_t len);
/* Executable path of pid (as the target sees it). 0 or -errno. */
int ms_target_exe(pid_t pid, char *buf, size_t len);
/* Read target memory (process_vm_readv, falling back to /proc/PID/mem).
 * Suits ms_reg_opts.read_mem: stops at the first NUL. */
ssize_t ms_target_read_str(void *user, uint32_t pid, uint64_t addr, void *buf, size_t len);
/* 0 if this process may load BPF programs and attach uprobes; else
 * -EPERM and what is missing in why. */
int ms_check_privilege(char *why, size_t len);

/* Value of environment variable `name` in pid's initial environment into
 * buf; 0, or -ENOENT if unset, -errno if unreadable. */
int ms_target_env(pid_t pid, const char *name, char *buf, size_t len);
/* 1 if pid maps a file whose name contains `needle`, 0 if not, -errno. */
int ms_target_maps_has(pid_t pid, const char *needle);

struct ms_child {
	pid_t pid;
	int release_fd; /* write end: the child execs when it closes */
	int status_fd;  /* read end: EOF = exec done, 4 bytes = its errno */
};

/* Resolve cmd[0] through PATH into exe; 0 or -ENOENT/-EACCES. */
int ms_resolve_cmd(const char *cmd, char *exe, size_t len);
/* Fork a child that waits, then execs exe with argv. 0 or -errno. */
int ms_spawn_held(const char *exe, char *const argv[], struct ms_child *c);
/* Let it exec; 0 once exec succeeded, or the child's exec errno (negative). */
int ms_spawn_release(struct ms_child *c);

#endif
