/* SPDX-License-Identifier: BSD-3-Clause */
/* probe_place.c - pick an entry-uprobe offset the kernel emulates, by
 * decoding the function with capstone and mirroring the instruction analysis
 * of arch/x86/kernel/uprobes.c (Linux 6.18). */
#include "elf/probe_place.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* good_insns_64 of arch/x86/kernel/uprobes.c: one row per high nibble, one
 * character per low nibble, '1' = the kernel accepts the opcode byte. The
 * kernel tests only the first opcode byte against this table, and 0x0f is
 * '1', so every two- and three-byte opcode passes. */
static const char good_insns_64[16][17] = {
	/*  0123456789abcdef */
	"1111110011111101", /* 00 */
	"1111110011111100", /* 10 */
	"1111111011111110", /* 20 */
	"1111111011111110", /* 30 */
	"1111111111111111", /* 40 */
	"1111111111111111", /* 50 */
	"0001111111110000", /* 60 */
	"1111111111111111", /* 70 */
	"1101111111111111", /* 80 */
	"1111111111011111", /* 90 */
	"1111111111111111", /* a0 */
	"1111111111111111", /* b0 */
	"1111111111110000", /* c0 */
	"1111000111111111", /* d0 */
	"1111000011010000", /* e0 */
	"1011011111001111", /* f0 */
};

/* x86_nops[1..8] for 64-bit kernels (arch/x86/include/asm/nops.h). The
 * kernel emulates an instruction equal to x86_nops[its length] byte for
 * byte. x86_nops[9..11] start with a CS prefix, which uprobe_init_insn()
 * rejects before the comparison is made, so they never count. */
static const uint8_t kernel_nops[9][8] = {
	[1] = { 0x90 },
	[2] = { 0x66, 0x90 },
	[3] = { 0x0f, 0x1f, 0x00 },
	[4] = { 0x0f, 0x1f, 0x40, 0x00 },
	[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	[6] = { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	[7] = { 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
	[8] = { 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
};

static int is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: /* segment */
	case 0x64: case 0x65:
	case 0x66: case 0x67:                       /* operand/address size */
	case 0xf0: case 0xf2: case 0xf3:            /* lock, repne, rep */
		return 1;
	default:
		return 0;
	}
}

/* is_prefix_bad(): ES/CS/SS/DS segment overrides and LOCK. */
static int is_bad_prefix(uint8_t b)
{
	return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0xf0;
}

enum ms_uprobe_insn ms_uprobe_insn_kind(const uint8_t *insn, size_t len)
{
	int has_66 = 0, bad = 0;
	uint8_t rex = 0, op1;
	size_t i = 0;

	if (!insn || len == 0)
		return MS_UPROBE_REJECTED;
	/* uprobe_init_insn(): decode, refuse bad prefixes, refuse
	 * instructions that mask exceptions, check good_insns_64. */
	while (i < len && is_legacy_prefix(insn[i])) {
		has_66 |= insn[i] == 0x66;
		bad |= is_bad_prefix(insn[i]);
		i++;
	}
	if (i < len && (insn[i] & 0xf0) == 0x40)
		rex = insn[i++];
	if (i >= len || bad)
		return MS_UPROBE_REJECTED;
	op1 = insn[i];
	/* VEX/EVEX: never a branch, push or nop we could use; not modelled. */
	if (op1 == 0xc4 || op1 == 0xc5 || op1 == 0x62)
		return MS_UPROBE_XOL;
	/* insn_masking_exception(): mov to %ss, pop %ss. */
	if (op1 == 0x17 ||
	    (op1 == 0x8e && i + 1 < len && ((insn[i + 1] >> 3) & 7) == 2))
		return MS_UPROBE_REJECTED;
	if (good_insns_64[op1 >> 4][op1 & 0xf] != '1')
		return MS_UPROBE_REJECTED;

	/* branch_setup_xol_ops(): the kernel's NOPs, byte for byte... */
	if (len < sizeof(kernel_nops) / sizeof(kernel_nops[0]) &&
	    memcmp(insn, kernel_nops[len], len) == 0)
		return MS_UPROBE_EMULATED;
	switch (op1) {
	case 0x90:
		/* ...opcode 90 with any prefix ("prefix* + nop"). The kernel
		 * takes 41 90 (xchg %eax,%r8d) for a nop too; this mirrors it
		 * and the placement walk never lands on one. */
		return MS_UPROBE_EMULATED;
	case 0xeb: /* jmp rel8 */
	case 0xe9: /* jmp rel32 */
	case 0xe8: /* call rel32 */
		return has_66 ? MS_UPROBE_REJECTED : MS_UPROBE_EMULATED;
	case 0x0f:
		/* jcc rel32 is 0f 80-8f; opcode bytes 38/3a start 3-byte
		 * opcodes, which the kernel leaves to XOL. */
		if (i + 1 < len && insn[i + 1] >= 0x80 && insn[i + 1] <= 0x8f)
			return has_66 ? MS_UPROBE_REJECTED : MS_UPROBE_EMULATED;
		break;
	default:
		if (op1 >= 0x70 && op1 <= 0x7f) /* jcc rel8 */
			return has_66 ? MS_UPROBE_REJECTED : MS_UPROBE_EMULATED;
		break;
	}
	/* push_setup_xol_ops(): push %reg, 1 byte, or 2 bytes with REX 41
	 * exactly (push %r8..%r15). */
	if (op1 >= 0x50 && op1 <= 0x57) {
		if (len == 1)
			return MS_UPROBE_EMULATED;
		if (len == 2 && i == 1 && rex == 0x41)
			return MS_UPROBE_EMULATED;
	}
	return MS_UPROBE_XOL;
}

/* Append to out->why, truncating quietly: the text is for humans. */
__attribute__((format(printf, 3, 4)))
static void why_add(struct ms_probe_place *out, size_t *used,
		    const char *fmt, ...)
{
	size_t cap = sizeof(out->why);
	va_list ap;
	int n;

	if (*used >= cap - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out->why + *used, cap - *used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*used += (size_t)n;
	if (*used > cap - 1)
		*used = cap - 1;
}

static const char *sep(const cs_insn *insn)
{
	return insn->op_str[0] ? " " : "";
}

/* Only effect is setting flags: test, cmp (a memory operand is only read),
 * endbr64/endbr32 and NOPs. Capstone's register-write list is checked too,
 * so an encoding capstone decodes unexpectedly cannot slip through. */
static int flags_only(csh h, const cs_insn *insn)
{
	cs_regs rd, wr;
	uint8_t nrd, nwr, k;

	switch (insn->id) {
	case X86_INS_TEST:
	case X86_INS_CMP:
	case X86_INS_ENDBR64:
	case X86_INS_ENDBR32:
	case X86_INS_NOP:
		break;
	default:
		return 0;
	}
	if (cs_regs_access(h, insn, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		return 0;
	for (k = 0; k < nwr; k++)
		if (wr[k] != X86_REG_EFLAGS)
			return 0;
	return 1;
}

/* Any direct branch or call in code[0..size) whose target lies in
 * (vaddr, vaddr + offset]? Returns its offset in the function, or -1.
 * Linear sweep; an undecodable byte is stepped over one at a time, which can
 * only invent extra branches and so errs toward falling back to +0. */
static long branch_into_prefix(csh h, cs_insn *insn, const uint8_t *code,
			       size_t size, uint64_t vaddr, uint64_t offset,
			       uint64_t *target)
{
	const uint8_t *p = code;
	uint64_t addr = vaddr;
	size_t left = size;

	while (left > 0) {
		const uint8_t *at = p;
		const cs_x86 *x;

		if (!cs_disasm_iter(h, &p, &left, &addr, insn)) {
			p++;
			left--;
			addr++;
			continue;
		}
		if (!cs_insn_group(h, insn, X86_GRP_JUMP) &&
		    !cs_insn_group(h, insn, X86_GRP_CALL) &&
		    !cs_insn_group(h, insn, X86_GRP_BRANCH_RELATIVE))
			continue;
		x = &insn->detail->x86;
		if (x->op_count < 1 || x->operands[0].type != X86_OP_IMM)
			continue;
		*target = (uint64_t)x->operands[0].imm;
		if (*target > vaddr && *target <= vaddr + offset)
			return (long)(at - code);
	}
	return -1;
}

static const char *kind_name(enum ms_uprobe_insn kind)
{
	return kind == MS_UPROBE_REJECTED ? "rejected by the kernel"
					  : "single-stepped";
}

/* The forward walk of ms_probe_place() once +0 is known not to be
 * emulated. Fills *out with the decision; out->offset/emulated are 0 on
 * entry. */
static void walk(csh h, cs_insn *insn, const uint8_t *code, size_t size,
		 uint64_t vaddr, enum ms_uprobe_insn kind0,
		 struct ms_probe_place *out)
{
	/* Room for any capstone mnemonic + operands: never truncated. */
	char first[sizeof(insn->mnemonic) + sizeof(insn->op_str) + 1] = "";
	char skipped[96] = "";
	const uint8_t *p = code;
	uint64_t addr = vaddr, off = 0, target = 0;
	size_t left = size, used = 0, slen = 0;
	int found = 0;
	long from;

	while (off < MS_PROBE_PLACE_MAX_OFFSET && left > 0) {
		if (!cs_disasm_iter(h, &p, &left, &addr, insn)) {
			why_add(out, &used, "kept +0: cannot decode +%llu",
				(unsigned long long)off);
			return;
		}
		if (off == 0) {
			snprintf(first, sizeof(first), "%s%s%s",
				 insn->mnemonic, sep(insn), insn->op_str);
		} else if (ms_uprobe_insn_kind(code + off, insn->size) ==
				   MS_UPROBE_EMULATED &&
			   insn->id != X86_INS_XCHG) {
			/* Never land on 41 90 (xchg %eax,%r8d): the kernel
			 * "emulates" it as a nop, i.e. skips the exchange. */
			found = 1;
			break;
		}
		if (!flags_only(h, insn)) {
			if (off == 0)
				why_add(out, &used,
					"kept +0: %s is %s and writes more "
					"than flags", first, kind_name(kind0));
			else
				why_add(out, &used,
					"kept +0 (%s %s): %s%s%s at +%llu "
					"writes more than flags", first,
					kind_name(kind0), insn->mnemonic,
					sep(insn), insn->op_str,
					(unsigned long long)off);
			return;
		}
		if (slen < sizeof(skipped) - 1) {
			int n = snprintf(skipped + slen, sizeof(skipped) - slen,
					 "%s%s%s%s", slen ? ", " : "",
					 insn->mnemonic, sep(insn),
					 insn->op_str);
			slen = n < 0 ? sizeof(skipped) - 1 : slen + (size_t)n;
		}
		off += insn->size;
	}
	if (!found) {
		why_add(out, &used,
			"kept +0 (%s %s): no emulated instruction after "
			"flags-only ones in %d bytes", first, kind_name(kind0),
			MS_PROBE_PLACE_MAX_OFFSET);
		return;
	}
	from = branch_into_prefix(h, insn, code, size, vaddr, off, &target);
	if (from >= 0) {
		why_add(out, &used,
			"kept +0 (%s %s): branch at +%ld targets +%llu, inside "
			"the skipped prefix", first, kind_name(kind0), from,
			(unsigned long long)(target - vaddr));
		return;
	}
	/* Decode the chosen instruction again: the scan reused `insn`. */
	p = code + off;
	left = size - off;
	addr = vaddr + off;
	if (!cs_disasm_iter(h, &p, &left, &addr, insn))
		return;
	why_add(out, &used, "skipped %s (flags only); %s%s%s at +%llu is "
		"emulated", skipped, insn->mnemonic, sep(insn), insn->op_str,
		(unsigned long long)off);
	out->offset = off;
	out->emulated = 1;
}

int ms_probe_place(const uint8_t *code, size_t size, uint64_t vaddr,
		   unsigned arg_regs_mask, struct ms_probe_place *out)
{
	enum ms_uprobe_insn kind0;
	const uint8_t *p = code;
	uint64_t addr = vaddr;
	size_t left = size, used = 0;
	cs_insn *insn = NULL;
	csh h;
	int ret = 0;

	/* The flags-only rule never writes a general-purpose register, so it
	 * keeps every argument register whatever the mask says; the mask is
	 * checked here and kept in the API for a wider rule (skipping writes
	 * to registers the probe does not read). */
	if (!code || size == 0 || !out || (arg_regs_mask & ~MS_ARG_ALL))
		return -EINVAL;
	memset(out, 0, sizeof(*out));

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return -ENOMEM;
	/* AT&T syntax, like objdump and gdb on Linux, for the why text. */
	if (cs_option(h, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT) != CS_ERR_OK ||
	    cs_option(h, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK) {
		ret = -EINVAL;
		goto out;
	}
	insn = cs_malloc(h);
	if (!insn) {
		ret = -ENOMEM;
		goto out;
	}
	if (!cs_disasm_iter(h, &p, &left, &addr, insn)) {
		why_add(out, &used, "kept +0: first instruction does not "
			"decode");
		goto out;
	}
	kind0 = ms_uprobe_insn_kind(code, insn->size);
	if (kind0 == MS_UPROBE_EMULATED) {
		out->emulated = 1;
		why_add(out, &used, "+0: %s%s%s is emulated", insn->mnemonic,
			sep(insn), insn->op_str);
		goto out;
	}
	walk(h, insn, code, size, vaddr, kind0, out);
out:
	if (insn)
		cs_free(insn, 1);
	cs_close(&h);
	return ret;
}

int ms_probe_place_elf(struct ms_elf *e, const char *func,
		       unsigned arg_regs_mask, struct ms_probe_place *out,
		       struct ms_elf_func *fn_out)
{
	struct ms_elf_func fn;
	const uint8_t *code;
	int ret;

	if (!e || !func || !out)
		return -EINVAL;
	ret = ms_elf_find_func(e, func, &fn);
	if (ret < 0)
		return ret;
	if (fn_out)
		*fn_out = fn;
	if (fn.size == 0) {
		memset(out, 0, sizeof(*out));
		snprintf(out->why, sizeof(out->why),
			 "kept +0: symbol has no size, cannot scan branches");
		return 0;
	}
	ret = ms_elf_func_bytes(e, &fn, &code);
	if (ret < 0)
		return ret;
	return ms_probe_place(code, fn.size, fn.vaddr, arg_regs_mask, out);
}

int ms_probe_place_file(const char *path, const char *func,
			unsigned arg_regs_mask, struct ms_probe_place *out,
			struct ms_elf_func *fn_out)
{
	struct ms_elf *e = ms_elf_open(path);
	int ret;

	if (!e)
		return -errno;
	ret = ms_probe_place_elf(e, func, arg_regs_mask, out, fn_out);
	ms_elf_close(e);
	return ret;
}
