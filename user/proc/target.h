/* SPDX-License-Identifier: BSD-3-Clause */
/* target.h - facts about the traced process, read from /proc: whether it
 * can be traced, its executable, environment and mappings, its memory. */
#ifndef MS_PROC_TARGET_H
#define MS_PROC_TARGET_H

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

/* Value of environment variable `name` in pid's initial environment into
 * buf; 0, or -ENOENT if unset, -errno if unreadable. */
int ms_target_env(pid_t pid, const char *name, char *buf, size_t len);
/* Where pid lives: its PID in its own PID namespace (/proc/PID/status
 * NSpid, the last one), its cgroup v2 path (/proc/PID/cgroup, "0::PATH")
 * and, when that path names a container (podman's libpod-ID.scope,
 * docker-ID.scope, crio-ID, .../docker/ID: a run of 64 hex digits), the
 * container's id ("" if none). 0 or -errno (nothing filled). */
int ms_target_ns_info(pid_t pid, int *ns_pid, char *cgroup, size_t clen, char *cid, size_t idlen);
/* pid's root directory as the tracer sees it (readlink /proc/PID/root:
 * "/" unless it runs in a chroot or container) into buf. 0 or -errno. */
int ms_target_root(pid_t pid, char *buf, size_t len);
/* 1 if pid maps a file whose name contains `needle`, 0 if not, -errno. */
int ms_target_maps_has(pid_t pid, const char *needle);

#endif
