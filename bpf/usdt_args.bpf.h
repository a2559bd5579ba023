/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* usdt_args.bpf.h - read all arguments of a USDT site at once.
 *
 * libbpf's bpf_usdt_arg() looks the site's spec up and copies one register
 * from pt_regs on every call: 7 arguments cost ~340 ns per hit here, half
 * the cost of a TRACK_VAR probe. This reads the spec once and copies pt_regs
 * once, with direct context loads (bpf_probe_read_kernel() of the same 168
 * bytes cost ~60 ns a hit), then decodes every argument from the copy.
 * Same spec format, so the
 * semantics (constants, registers, register + offset dereferences, sign
 * and width) are libbpf's. */
#ifndef MS_BPF_USDT_ARGS_BPF_H
#define MS_BPF_USDT_ARGS_BPF_H

#include <bpf/usdt.bpf.h>

#define MS_USDT_MAX_ARGS 8

static __always_inline int ms_usdt_args(struct pt_regs *ctx, __u64 *out, int n)
{
	struct __bpf_usdt_spec *spec;
	__u64 regs[sizeof(struct pt_regs) / sizeof(__u64)];
	int id, i;

	id = __bpf_usdt_spec_id(ctx);
	if (id < 0)
		return -1;
	spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &id);
	if (!spec)
		return -1;
	/* Constant offsets only: the verifier refuses a variable one into ctx. */
#pragma unroll
	for (i = 0; i < (int)(sizeof(regs) / sizeof(regs[0])); i++)
		regs[i] = ((const __u64 *)ctx)[i];
#pragma unroll
	for (i = 0; i < MS_USDT_MAX_ARGS; i++) {
		struct __bpf_usdt_arg_spec *a = &spec->args[i];
		__u64 v = 0;
		__u32 idx;

		if (i >= n)
			break;
		if (i >= spec->arg_cnt) {
			out[i] = 0;
			continue;
		}
		/* pt_regs fields are 8-byte slots: index, do not offset */
		idx = (__u32)a->reg_off / sizeof(__u64);
		switch (a->arg_type) {
		case BPF_USDT_ARG_CONST:
			v = a->val_off;
			break;
		case BPF_USDT_ARG_REG:
		case BPF_USDT_ARG_REG_DEREF:
			if (idx >= sizeof(regs) / sizeof(regs[0]))
				return -1;
			v = regs[idx];
			if (a->arg_type == BPF_USDT_ARG_REG_DEREF &&
			    bpf_probe_read_user(&v, sizeof(v), (void *)(v + a->val_off)))
				return -1;
			break;
		default:
			return -1;
		}
		/* Narrow to the argument's width with libbpf's sign rules. */
		v <<= a->arg_bitshift;
		if (a->arg_signed)
			v = (__u64)((__s64)v >> a->arg_bitshift);
		else
			v >>= a->arg_bitshift;
		out[i] = v;
	}
	return 0;
}

#endif
