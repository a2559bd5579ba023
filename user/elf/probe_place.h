/* SPDX-License-Identifier: BSD-3-Clause */
/* probe_place.h - choose the byte of an allocator function to put an entry
 * uprobe on, so the kernel emulates the probed instruction instead of
 * single-stepping a copy of it out of line (XOL).
 *
 * Why: every uprobe hit traps (int3). The kernel then either emulates the
 * original instruction (cheap) or copies it to the XOL page, sets TF and
 * single-steps it (a second trap). On the reference machine that is ~0.8 us
 * against ~9.4 us per hit, and free() is called as often as malloc().
 *
 * What x86-64 Linux 6.18 emulates (arch/x86/kernel/uprobes.c,
 * branch_setup_xol_ops() and push_setup_xol_ops(); nothing else has an
 * ->emulate op):
 *   - jmp rel8/rel32 (eb, e9), call rel32 (e8), jcc rel8/rel32 (70-7f,
 *     0f 80-8f) -- but a 66 prefix on any of them makes registration fail;
 *   - opcode 90 with any prefixes (nop, 66 90, pause; also 41 90, which is
 *     xchg %eax,%r8d and which the kernel wrongly skips as a nop: the
 *     placement below never lands on it);
 *   - the kernel's own multi-byte NOPs, byte for byte: x86_nops[1..8]
 *     (0f 1f 00, 0f 1f 40 00, 0f 1f 44 00 00, 66 0f 1f 44 00 00,
 *     0f 1f 80 00000000, 0f 1f 84 00 00000000);
 *   - push %rax..%rdi (50-57) and push %r8..%r15 (41 50-57).
 * Registration fails (-ENOTSUPP) for ES/CS/SS/DS/LOCK prefixes (so also for
 * notrack jmp and x86_nops[9..11]), mov to %ss, and opcodes outside the
 * kernel's good_insns_64 table. Everything else is single-stepped.
 */
#ifndef MS_ELF_PROBE_PLACE_H
#define MS_ELF_PROBE_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include "elf/elf_syms.h"

/* Argument registers (System V x86-64 order) a probe program reads. */
#define MS_ARG_RDI (1u << 0)
#define MS_ARG_RSI (1u << 1)
#define MS_ARG_RDX (1u << 2)
#define MS_ARG_RCX (1u << 3)
#define MS_ARG_R8  (1u << 4)
#define MS_ARG_R9  (1u << 5)
#define MS_ARG_ALL (MS_ARG_RDI | MS_ARG_RSI | MS_ARG_RDX | MS_ARG_RCX | \
		    MS_ARG_R8 | MS_ARG_R9)

/* Furthest a probe moves from the function's first byte: offset < 64
 * (jemalloc's free has its first branch at +48). */
#define MS_PROBE_PLACE_MAX_OFFSET 64

struct ms_probe_place {
	uint64_t offset; /* bytes from function start */
	int emulated;    /* 1 if the kernel will emulate the insn at offset */
	/* Where the entry value of argument i (rdi, rsi, rdx, rcx, r8, r9) is
	 * at offset: an enum ms_reg code (memscope_events.h: the register's
	 * hardware number + 1), 0 if no register holds it any more (only
	 * arguments outside the mask can be lost). The stack pointer is always
	 * as at entry: a return probe may share the offset. */
	uint8_t arg_reg[6];
	/* Not emulated anywhere: the target address of the first direct call
	 * or jump of the function's straight-line prefix, reached with the
	 * masked arguments in their own registers (0 if none). If that is a
	 * probed entry of the same shape, this function needs no probe. */
	uint64_t callee;
	char why[256];   /* e.g. "+0 test %rdi, %rdi is single-stepped;
			  * skipped 1 instruction (...); je at +3 is emulated" */
};

/* How Linux 6.18 treats a uprobe on one instruction. */
enum ms_uprobe_insn {
	MS_UPROBE_XOL = 0,  /* single-stepped out of line: a second trap */
	MS_UPROBE_EMULATED, /* emulated in the int3 handler */
	MS_UPROBE_REJECTED, /* uprobe registration fails (-ENOTSUPP) */
};

/* Classify the single instruction insn[0..len) (len = its exact length) the
 * way arch_uprobe_analyze_insn() of Linux 6.18 does. VEX/EVEX-encoded
 * instructions are reported as XOL (never emulated, never chosen). */
enum ms_uprobe_insn ms_uprobe_insn_kind(const uint8_t *insn, size_t len);

/* Decide where to put the entry probe of the function whose bytes are
 * code[0..size) at address vaddr. arg_regs_mask (MS_ARG_*) names the
 * argument registers the probe program reads: their entry values must
 * still be in some register at the probe (out->arg_reg says which).
 *
 * Rule: probe at +0 if the kernel emulates the first instruction.
 * Otherwise walk forward over the function's straight-line prefix, over
 * instructions that
 *   - do not branch, call, return or trap (a branch the kernel emulates
 *     ends the walk: it is the probe's place),
 *   - write no memory (explicit operand, string instruction, exchange) and
 *     do not move the stack pointer: the return address stays at [rsp],
 *     as the return probe and the free probe's caller read it,
 *   - leave the entry value of every argument in the mask in some
 *     register (a 64-bit `mov %reg,%reg` moves it; any other write to a
 *     register loses what it held).
 * Every call runs the whole prefix (it has no branch), so a probe on the
 * first emulated instruction after it sees every call exactly once, with
 * the arguments where out->arg_reg says and the stack as at entry. Probe
 * there, but only if
 *   (a) no direct branch or call anywhere in the function targets a byte in
 *       (start, offset]: a jump back into the skipped prefix would make the
 *       probe fire again, on a state that is not a function entry, and
 *   (b) offset < MS_PROBE_PLACE_MAX_OFFSET.
 * If the walk fails, fall back to +0 (emulated as classified) and say why.
 * A conditional jump at the chosen offset is fine: it runs before it
 * branches, so every call still passes the probe (free(NULL) included; the
 * BPF side ignores a NULL pointer).
 * Limits: only the function's own direct branches are scanned. Indirect
 * jumps (jump tables) and branches from other functions into the skipped
 * prefix are not seen; compilers do not emit either into a function's
 * straight-line entry, but hand-written assembly could. A skipped load that
 * faults (free of a wild pointer) kills the program before the probe.
 *
 * Returns 0 and fills *out (a fallback to +0 is still 0), -EINVAL on bad
 * arguments (NULL pointers, size 0, mask bits outside MS_ARG_ALL), -ENOMEM
 * if the disassembler cannot start. Cost: one linear disassembly of the
 * function, only when +0 is not already emulated. */
int ms_probe_place(const uint8_t *code, size_t size, uint64_t vaddr,
		   unsigned arg_regs_mask, struct ms_probe_place *out);

/* The targets of the direct calls and jumps (conditional ones included) in
 * code[0..size) at address vaddr, in order, up to max into out[]. Returns
 * how many there are (possibly more than max), or -ENOMEM. Used to check
 * that a function whose entry cannot be probed hands its work to another
 * probed entry. */
long ms_probe_place_branch_targets(const uint8_t *code, size_t size, uint64_t vaddr,
				   uint64_t *out, size_t max);

/* ms_probe_place() on function `func` of ELF file `path` (see
 * ms_elf_find_func()). Fills *fn_out if not NULL. Attach the probe at file
 * offset fn_out->file_off + out->offset (or func_name with that offset).
 * A symbol of size 0 cannot be scanned: the result is +0 with the reason.
 * Returns 0, or the negative errno of the ELF lookup or ms_probe_place(). */
int ms_probe_place_file(const char *path, const char *func,
			unsigned arg_regs_mask, struct ms_probe_place *out,
			struct ms_elf_func *fn_out);

/* Same on an ELF file already opened with ms_elf_open(): use this to place
 * probes on many functions of one library. */
int ms_probe_place_elf(struct ms_elf *e, const char *func,
		       unsigned arg_regs_mask, struct ms_probe_place *out,
		       struct ms_elf_func *fn_out);

#endif /* MS_ELF_PROBE_PLACE_H */
