/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* site_sp.bpf.c - test tool: at memscope:alloc, report the stack pointer
 * ms_usdt_site_sp() gives (bpf/usdt_site.bpf.h) beside the probe's size
 * argument, into which tests/integration/test_probe_sites.py's target puts
 * its own rsp, read just before the probe. They must be equal at every
 * site form. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "usdt_site.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct site_sp_event {
	__u64 sp;    /* what ms_usdt_site_sp() says */
	__u64 raw;   /* pt_regs->sp as the kernel hands it over */
	__u64 want;  /* the program's own rsp (the probe's size argument) */
	__u64 ip;
	__u64 cookie;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

SEC("usdt")
int site_sp(struct pt_regs *ctx)
{
	struct site_sp_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	long want = 0;

	if (!e)
		return 0;
	bpf_usdt_arg(ctx, 1, &want);
	e->sp = ms_usdt_site_sp(ctx);
	e->raw = PT_REGS_SP(ctx);
	e->want = (__u64)want;
	e->ip = PT_REGS_IP(ctx);
	e->cookie = (__u64)bpf_usdt_cookie(ctx);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
