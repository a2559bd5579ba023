/* SPDX-License-Identifier: BSD-3-Clause */
/* unarm.h - take inherited uprobe breakpoints out of a process.
 *
 * fork() copies the parent's memory, the int3 bytes of its uprobes
 * included. The kernel still owns those bytes: the perf uprobes libbpf
 * makes take a breakpoint out of a process they do not trace at its first
 * hit, but a uprobe_multi link leaves it there, and the child would trap
 * into the kernel on each call of the function for nothing. The tracer
 * writes the file's bytes back into a child it does not follow.
 * Writing the bytes the kernel would write on removal is safe at any time:
 * a thread stopped on the trap finds no breakpoint and runs the original
 * instruction again, and a later removal by the kernel finds the original
 * byte and leaves it. */
#ifndef MS_PROC_UNARM_H
#define MS_PROC_UNARM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* In process pid, at each file offset offs[i] of the file (dev, ino) as it
 * maps it, put back the file's byte where the process holds an int3
 * (0xcc). Returns the bytes restored, or -errno (-ESRCH: gone). Cost: one
 * read of /proc/PID/maps, then a read (and a write) of /proc/PID/mem per
 * offset. */
int ms_proc_unarm(pid_t pid, dev_t dev, ino_t ino, const uint64_t *offs, size_t n);

#endif
