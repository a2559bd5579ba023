/* SPDX-License-Identifier: BSD-3-Clause */
/* privilege.h - may this process trace: load BPF programs, attach uprobes
 * that raise USDT semaphores, read another process's memory and files. */
#ifndef MS_PROC_PRIVILEGE_H
#define MS_PROC_PRIVILEGE_H

#include <stddef.h>

/* 0 if this process has every capability tracing needs (root has them);
 * else -EPERM and the missing ones in why ("CAP_BPF + CAP_PERFMON"). */
int ms_privilege_check(char *why, size_t len);

#endif
