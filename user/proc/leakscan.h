/* SPDX-License-Identifier: BSD-3-Clause */
/* leakscan.h - read a held process's memory, from outside and never
 * writing to it, for a leak check: its roots (writable data of every
 * module, thread stacks from their stack pointers up, TLS, registers) and
 * its live blocks, handed to a sink as they are read (registry/reach.h
 * builds its graph from them; this folder does not know it).
 * leakscan.c says which memory is a root. */
#ifndef MS_PROC_LEAKSCAN_H
#define MS_PROC_LEAKSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "proc/hold.h"

/* A live block, as the scan needs it: sorted by address, not overlapping. */
struct ms_scan_block {
	uint64_t addr, size;
};

/* What the words of a range that lie outside every block are. */
enum ms_scan_words {
	MS_SCAN_HEAP = 0, /* free memory of the allocator: no roots */
	MS_SCAN_ROOTS,    /* roots */
};

/* Where the memory goes. */
struct ms_scan_sink {
	/* len bytes of the target at addr, in buf; words: enum
	 * ms_scan_words. 0 or -errno (the scan stops). */
	int (*memory)(void *user, uint64_t addr, const void *buf, size_t len, int words);
	/* [addr, addr + len) could not be read. */
	void (*unreadable)(void *user, uint64_t addr, uint64_t len);
	/* A general register of a held thread. 0 or -errno. */
	int (*reg)(void *user, uint64_t value);
	void *user;
};

struct ms_leakscan_opts {
	pid_t tid;  /* a thread of the held process that still has its memory
		     * (the one held at exit: the leader may be gone) */
	pid_t pid;
	const struct ms_hold_thread *threads;
	size_t nthreads;
	const struct ms_scan_block *blocks; /* every live block known */
	size_t nblocks;
	/* Addresses the allocator owns or owned (live blocks of the malloc
	 * family and recently freed ones), sorted: the anonymous mappings
	 * holding them are heap, whose free memory holds stale pointers and
	 * is no root. */
	const uint64_t *heap_addrs;
	size_t nheap;
	/* Attached to a running process: blocks allocated before the attach
	 * are unknown, so heap memory outside the known blocks must count as
	 * roots (fewer leaks found, none invented). */
	int unknown_heap_is_root;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0 = none */
	/* The thread held at _exit, as it entered exit() (exit_tid 0: not
	 * known): its stack is scanned from exit_sp up - below lie exit()'s
	 * frames, over the dead frames of the program's last calls, stale
	 * pointers - and the callee-saved registers it had then are roots. */
	pid_t exit_tid;
	uint64_t exit_sp;
	uint64_t exit_regs[6];
};

struct ms_leakscan_result {
	uint64_t read_bytes;       /* memory read */
	uint64_t root_bytes;       /* of it, roots */
	uint64_t heap_bytes;       /* of it, heap (blocks and their gaps) */
	uint64_t unreadable_bytes; /* could not be read */
	uint64_t syscalls;         /* process_vm_readv and pread calls */
	size_t mappings;           /* ranges scanned */
	size_t threads;            /* threads whose registers were roots */
};

struct ms_leakscan;

/* Read the held process's maps. 0, -ESRCH if it is gone, -errno. */
int ms_leakscan_open(struct ms_leakscan **out, const struct ms_leakscan_opts *o);
/* Read every root and every live block into sink; a block in no memory
 * that was read is reported unreadable. 0; -ETIMEDOUT past the deadline;
 * -ESRCH when the process is gone (killed); -ENOMEM or the sink's error.
 * Cost: one read of every root byte and every live block byte, in batches
 * of up to 1024 ranges and 8 MiB per system call. */
int ms_leakscan_run(struct ms_leakscan *sc, const struct ms_scan_sink *sink,
		    struct ms_leakscan_result *res);
/* While still held, for memcheck's heuristics: the 8-byte words at
 * addrs[i] into vals[i] (ok[i] = 0 where unreadable, else left alone), and
 * whether addr looks like a C++ vtable (at least two function pointers into
 * executable file mappings among its first 20 words, and nothing else;
 * cached). Both count their reads in the result of the run. */
void ms_leakscan_read_words(struct ms_leakscan *sc, const uint64_t *addrs, uint64_t *vals,
			    uint8_t *ok, size_t n);
int ms_leakscan_is_vtable(struct ms_leakscan *sc, uint64_t addr);
void ms_leakscan_close(struct ms_leakscan *sc); /* NULL-safe */

#endif
