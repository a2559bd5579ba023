/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* usdt_site.bpf.h - where the stack is at a memscope USDT probe.
 *
 * include/memscope.h puts each probe on a 5-byte nop that the kernel turns
 * into a call, and steps rsp 128 bytes down around it so the call cannot
 * write into the red zone:
 *
 *	lea -128(%rsp),%rsp; [padding]; nopl 0(%rax,%rax,1); lea 128(%rsp),%rsp
 *
 * So at the probe, pt_regs->sp is 128 bytes below the stack pointer the
 * compiler's unwind tables (CFI) describe for that address. Programs built
 * with an older header (sys/sdt.h's 1-byte nop) have rsp as is. ip and rbp
 * are the same in both forms, so frame-pointer walks (bpf_get_stackid())
 * are not affected; anything that reads the stack from rsp at a USDT probe
 * (a DWARF unwinder, a return address at [rsp]) must take the stack
 * pointer from ms_usdt_site_sp().
 *
 * The loader tells the form of each attachment in the USDT cookie
 * (include/memscope_events.h, enum ms_site_cookie), decided from the
 * instructions in the file. When one file has both forms for one probe
 * name (objects built with two headers), the cookie says MIXED and the
 * site is asked: the 8 bytes after the 5-byte nop are the second lea. */
#ifndef MS_BPF_USDT_SITE_BPF_H
#define MS_BPF_USDT_SITE_BPF_H

#include <bpf/usdt.bpf.h>
#include "memscope_events.h"

/* lea 0x80(%rsp),%rsp (48 8d a4 24 80 00 00 00), read as a little-endian u64 */
#define MS_SITE_LEA_UP 0x0000008024a48d48ull
#define MS_SITE_RED_ZONE 128

/* The stack pointer the unwind tables describe at this USDT probe. */
static __always_inline __u64 ms_usdt_site_sp(struct pt_regs *ctx)
{
	__u64 sp = PT_REGS_SP(ctx), next = 0;
	long form = bpf_usdt_cookie(ctx);

	if (form == MS_SITE_NOP5)
		return sp + MS_SITE_RED_ZONE;
	if (form == MS_SITE_MIXED &&
	    !bpf_probe_read_user(&next, sizeof(next), (void *)(PT_REGS_IP(ctx) + 5)) &&
	    next == MS_SITE_LEA_UP)
		return sp + MS_SITE_RED_ZONE;
	return sp;
}

#endif /* MS_BPF_USDT_SITE_BPF_H */
