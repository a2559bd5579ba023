/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* floor.bpf.c - bench A floor: an EMPTY program on the memscope:var USDT
 * site. What is left of its cost is the uprobe itself (int3 trap, kernel
 * dispatch, return to user): no tracer can be cheaper on that site. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h> /* the USDT spec maps bpf_program__attach_usdt() needs */

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("usdt")
int empty(void *ctx)
{
	return 0;
}
