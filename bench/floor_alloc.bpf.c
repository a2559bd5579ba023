/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* floor_alloc.bpf.c - bench B floor: EMPTY programs on the probe sites
 * memscope-trace uses for a malloc+free pair: malloc entry, malloc return,
 * free entry at the offset memscope chose (past glibc's `test %rdi,%rdi`). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("uprobe")
int malloc_entry(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int malloc_return(void *ctx)
{
	return 0;
}

SEC("uprobe")
int free_entry(void *ctx)
{
	return 0;
}
