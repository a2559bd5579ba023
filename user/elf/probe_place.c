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

/* The general-purpose register (hardware number: rax 0 ... rdi 7, r8 8 ...
 * r15 15) that capstone register r is a part of, or -1. */
static int gpr_of(unsigned r)
{
	switch (r) {
	case X86_REG_RAX: case X86_REG_EAX: case X86_REG_AX: case X86_REG_AL: case X86_REG_AH:
		return 0;
	case X86_REG_RCX: case X86_REG_ECX: case X86_REG_CX: case X86_REG_CL: case X86_REG_CH:
		return 1;
	case X86_REG_RDX: case X86_REG_EDX: case X86_REG_DX: case X86_REG_DL: case X86_REG_DH:
		return 2;
	case X86_REG_RBX: case X86_REG_EBX: case X86_REG_BX: case X86_REG_BL: case X86_REG_BH:
		return 3;
	case X86_REG_RSP: case X86_REG_ESP: case X86_REG_SP: case X86_REG_SPL:
		return 4;
	case X86_REG_RBP: case X86_REG_EBP: case X86_REG_BP: case X86_REG_BPL:
		return 5;
	case X86_REG_RSI: case X86_REG_ESI: case X86_REG_SI: case X86_REG_SIL:
		return 6;
	case X86_REG_RDI: case X86_REG_EDI: case X86_REG_DI: case X86_REG_DIL:
		return 7;
	case X86_REG_R8: case X86_REG_R8D: case X86_REG_R8W: case X86_REG_R8B: return 8;
	case X86_REG_R9: case X86_REG_R9D: case X86_REG_R9W: case X86_REG_R9B: return 9;
	case X86_REG_R10: case X86_REG_R10D: case X86_REG_R10W: case X86_REG_R10B: return 10;
	case X86_REG_R11: case X86_REG_R11D: case X86_REG_R11W: case X86_REG_R11B: return 11;
	case X86_REG_R12: case X86_REG_R12D: case X86_REG_R12W: case X86_REG_R12B: return 12;
	case X86_REG_R13: case X86_REG_R13D: case X86_REG_R13W: case X86_REG_R13B: return 13;
	case X86_REG_R14: case X86_REG_R14D: case X86_REG_R14W: case X86_REG_R14B: return 14;
	case X86_REG_R15: case X86_REG_R15D: case X86_REG_R15W: case X86_REG_R15B: return 15;
	default:
		return -1;
	}
}

static const char *const gpr_name[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15",
};

/* System V argument registers, in order: rdi rsi rdx rcx r8 r9. */
static const int abi_arg[6] = { 7, 6, 2, 1, 8, 9 };

/* Where the entry value of each register is at the current point of the
 * walk: holds[r] = the register whose entry value r holds, or -1. */
struct regmap {
	int8_t holds[16];
};

/* The register holding the entry value of register want, preferring want
 * itself; -1 if no register holds it any more. */
static int find_value(const struct regmap *m, int want)
{
	int r;

	if (m->holds[want] == want)
		return want;
	for (r = 0; r < 16; r++)
		if (m->holds[r] == want)
			return r;
	return -1;
}

/* sub/add $imm,%rsp: the frame of a function about to call another.
 * (Operand order in capstone's detail follows the syntax chosen: look at
 * both.) */
static int is_sp_adjust(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	int k, reg = 0, imm = 0;

	if ((insn->id != X86_INS_SUB && insn->id != X86_INS_ADD) || x->op_count != 2)
		return 0;
	for (k = 0; k < 2; k++) {
		reg |= x->operands[k].type == X86_OP_REG && x->operands[k].reg == X86_REG_RSP;
		imm |= x->operands[k].type == X86_OP_IMM;
	}
	return reg && imm;
}

/* Why the instruction cannot be walked over, or NULL if it can: it must
 * not branch or trap, write memory or the stack pointer (the return address
 * at [rsp] is what a return probe and the free probe's caller read). Its
 * register writes are applied to *m (a 64-bit register-to-register mov
 * moves a value; any other write loses it). */
static const char *step(csh h, const cs_insn *insn, struct regmap *m, int allow_sp_adjust)
{
	const cs_x86 *x = &insn->detail->x86;
	cs_regs rd, wr;
	uint8_t nrd, nwr, k;
	struct regmap next = *m;
	int src = -1, dst = -1;

	if (cs_insn_group(h, insn, X86_GRP_JUMP) || cs_insn_group(h, insn, X86_GRP_CALL) ||
	    cs_insn_group(h, insn, X86_GRP_RET) || cs_insn_group(h, insn, X86_GRP_BRANCH_RELATIVE))
		return "is a branch the kernel single-steps";
	if (cs_insn_group(h, insn, X86_GRP_INT) || cs_insn_group(h, insn, X86_GRP_IRET) ||
	    cs_insn_group(h, insn, X86_GRP_PRIVILEGE))
		return "traps";
	switch (insn->id) {
	case X86_INS_SYSCALL: case X86_INS_SYSENTER: case X86_INS_UD2: case X86_INS_HLT:
	case X86_INS_MOVSB: case X86_INS_MOVSW: case X86_INS_MOVSD: case X86_INS_MOVSQ:
	case X86_INS_STOSB: case X86_INS_STOSW: case X86_INS_STOSD: case X86_INS_STOSQ:
	case X86_INS_LODSB: case X86_INS_LODSW: case X86_INS_LODSD: case X86_INS_LODSQ:
	case X86_INS_CMPSB: case X86_INS_CMPSW: case X86_INS_CMPSQ:
	case X86_INS_SCASB: case X86_INS_SCASW: case X86_INS_SCASD: case X86_INS_SCASQ:
	case X86_INS_XCHG: case X86_INS_CMPXCHG: case X86_INS_XADD:
		return "is a string, exchange or system instruction";
	default:
		break;
	}
	if (x->prefix[0] == X86_PREFIX_LOCK)
		return "is locked";
	for (k = 0; k < x->op_count; k++)
		if (x->operands[k].type == X86_OP_MEM && (x->operands[k].access & CS_AC_WRITE))
			return "writes memory";
	if (cs_regs_access(h, insn, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		return "cannot be decoded for register access";
	for (k = 0; k < nwr; k++) {
		int g = gpr_of(wr[k]);

		if (g == 4 && !(allow_sp_adjust && is_sp_adjust(insn)))
			return "moves the stack pointer";
		if (g >= 0)
			next.holds[g] = -1;
	}
	/* mov %src64,%dst64: the destination now holds what the source did */
	if (insn->id == X86_INS_MOV && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
	    x->operands[1].type == X86_OP_REG && x->operands[0].size == 8 &&
	    x->operands[1].size == 8) {
		for (k = 0; k < 2; k++) {
			if (x->operands[k].access & CS_AC_WRITE)
				dst = gpr_of(x->operands[k].reg);
			else
				src = gpr_of(x->operands[k].reg);
		}
		if (src >= 0 && dst >= 0)
			next.holds[dst] = m->holds[src];
	}
	*m = next;
	return NULL;
}

static const char *kind_name(enum ms_uprobe_insn kind)
{
	return kind == MS_UPROBE_REJECTED ? "rejected by the kernel"
					  : "single-stepped";
}

/* The next direct branch or call (conditional ones included) decoded from
 * *p: 1 with its target in *target and its start in *at, 0 at the end.
 * Linear sweep; an undecodable byte is stepped over one at a time, which
 * can only invent extra branches (and so errs toward the safe answers). */
static int next_direct_branch(csh h, cs_insn *insn, const uint8_t **p, size_t *left,
			      uint64_t *addr, uint64_t *target, const uint8_t **at)
{
	while (*left > 0) {
		const cs_x86 *x;

		*at = *p;
		if (!cs_disasm_iter(h, p, left, addr, insn)) {
			(*p)++;
			(*left)--;
			(*addr)++;
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
		return 1;
	}
	return 0;
}

/* Any direct branch or call in code[0..size) whose target lies in
 * (vaddr, vaddr + offset]? Returns its offset in the function, or -1. */
static long branch_into_prefix(csh h, cs_insn *insn, const uint8_t *code,
			       size_t size, uint64_t vaddr, uint64_t offset,
			       uint64_t *target)
{
	const uint8_t *p = code, *at;
	uint64_t addr = vaddr;
	size_t left = size;

	while (next_direct_branch(h, insn, &p, &left, &addr, target, &at))
		if (*target > vaddr && *target <= vaddr + offset)
			return (long)(at - code);
	return -1;
}

/* When no place in the function is emulated: the target of the first
 * direct call or jump of its straight-line prefix, if the masked arguments
 * reach it intact (stack adjustments allowed: the callee's entry is its
 * own); 0 if there is none. A function that only forwards its arguments to
 * another probed entry (libstdc++'s nothrow operator new calls operator
 * new) needs no probe of its own. */
static uint64_t find_callee(csh h, cs_insn *insn, const uint8_t *code, size_t size,
			    uint64_t vaddr, unsigned mask)
{
	const uint8_t *p = code;
	uint64_t addr = vaddr;
	size_t left = size;
	struct regmap m;
	int i;

	for (i = 0; i < 16; i++)
		m.holds[i] = (int8_t)i;
	while (addr - vaddr < MS_PROBE_PLACE_MAX_OFFSET && left > 0) {
		const cs_x86 *x;

		if (!cs_disasm_iter(h, &p, &left, &addr, insn))
			return 0;
		x = &insn->detail->x86;
		if ((insn->id == X86_INS_CALL || insn->id == X86_INS_JMP) && x->op_count == 1 &&
		    x->operands[0].type == X86_OP_IMM) {
			for (i = 0; i < 6; i++)
				if ((mask & (1u << i)) && m.holds[abi_arg[i]] != abi_arg[i])
					return 0;
			return (uint64_t)x->operands[0].imm;
		}
		if (step(h, insn, &m, 1))
			return 0;
	}
	return 0;
}

/* Fill out->arg_reg from the register map (MS_REG_* codes: hardware
 * number + 1, 0 = the value is gone). */
static void fill_args(const struct regmap *m, struct ms_probe_place *out)
{
	int i, r;

	for (i = 0; i < 6; i++) {
		r = find_value(m, abi_arg[i]);
		out->arg_reg[i] = r < 0 ? 0 : (uint8_t)(r + 1);
	}
}

/* The forward walk of ms_probe_place() once +0 is known not to be
 * emulated. Fills *out with the decision; out->offset/emulated are 0 on
 * entry and out->arg_reg is the identity. */
static void walk(csh h, cs_insn *insn, const uint8_t *code, size_t size,
		 uint64_t vaddr, enum ms_uprobe_insn kind0, unsigned mask,
		 struct ms_probe_place *out)
{
	/* Room for any capstone mnemonic + operands: never truncated. */
	char first[sizeof(insn->mnemonic) + sizeof(insn->op_str) + 1] = "";
	const uint8_t *p = code;
	uint64_t addr = vaddr, off = 0, target = 0;
	size_t left = size, used = 0;
	struct regmap m;
	int found = 0, nskipped = 0, i;
	const char *bad;
	long from;

	for (i = 0; i < 16; i++)
		m.holds[i] = (int8_t)i;
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
		bad = step(h, insn, &m, 0);
		if (!bad) {
			for (i = 0; i < 6; i++)
				if ((mask & (1u << i)) && find_value(&m, abi_arg[i]) < 0) {
					bad = "overwrites an argument the probe reads";
					break;
				}
		}
		if (bad) {
			if (off == 0)
				why_add(out, &used, "kept +0: %s is %s and %s", first,
					kind_name(kind0), bad);
			else
				why_add(out, &used, "kept +0 (%s %s): %s%s%s at +%llu %s", first,
					kind_name(kind0), insn->mnemonic, sep(insn), insn->op_str,
					(unsigned long long)off, bad);
			return;
		}
		nskipped++;
		off += insn->size;
	}
	if (!found) {
		why_add(out, &used,
			"kept +0 (%s %s): no emulated instruction in the first %d bytes",
			first, kind_name(kind0), MS_PROBE_PLACE_MAX_OFFSET);
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
	why_add(out, &used, "+0 %s is %s; skipped %d instruction%s (no branch, no write to memory, "
		"%%rsp or an argument); %s%s%s at +%llu is emulated", first, kind_name(kind0),
		nskipped, nskipped == 1 ? "" : "s", insn->mnemonic, sep(insn), insn->op_str,
		(unsigned long long)off);
	for (i = 0; i < 6; i++) {
		int r = find_value(&m, abi_arg[i]);

		if ((mask & (1u << i)) && r != abi_arg[i] && r >= 0)
			why_add(out, &used, "; %%%s's value is in %%%s", gpr_name[abi_arg[i]],
				gpr_name[r]);
	}
	fill_args(&m, out);
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
	struct regmap id;
	csh h;
	int ret = 0, i;

	if (!code || size == 0 || !out || (arg_regs_mask & ~MS_ARG_ALL))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	for (i = 0; i < 16; i++)
		id.holds[i] = (int8_t)i;
	fill_args(&id, out);

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
	walk(h, insn, code, size, vaddr, kind0, arg_regs_mask, out);
	if (!out->emulated)
		out->callee = find_callee(h, insn, code, size, vaddr, arg_regs_mask);
out:
	if (insn)
		cs_free(insn, 1);
	cs_close(&h);
	return ret;
}

long ms_probe_place_branch_targets(const uint8_t *code, size_t size, uint64_t vaddr,
				   uint64_t *out, size_t max)
{
	const uint8_t *p = code, *at;
	uint64_t addr = vaddr, target;
	size_t left = size, n = 0;
	cs_insn *insn;
	csh h;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return -ENOMEM;
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	insn = cs_malloc(h);
	while (insn && next_direct_branch(h, insn, &p, &left, &addr, &target, &at)) {
		if (n < max)
			out[n] = target;
		n++;
	}
	if (insn)
		cs_free(insn, 1);
	cs_close(&h);
	return insn ? (long)n : -ENOMEM;
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
