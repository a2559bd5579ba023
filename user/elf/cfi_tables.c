/* SPDX-License-Identifier: BSD-3-Clause */
/* cfi_tables.c - DWARF call frame information turned into tables a BPF
 * program can walk stacks with. See cfi_tables.h for the interface.
 *
 * The problem
 * -----------
 * memscope records where each block was allocated by walking the user stack
 * from inside a uprobe. The kernel's own walk (bpf_get_stack*) follows the
 * chain of saved frame pointers, and programs as distributions build them
 * have none: GCC's -O2 uses rbp as a general register, so the walk stops
 * after one frame, or wanders off into garbage. Debuggers, perf's
 * --call-graph=dwarf and the C++ exception unwinder use the call frame
 * information (CFI) that the compiler emits for every function instead: in
 * .eh_frame (always loaded, since exceptions need it) and .debug_frame. CFI
 * is a small byte code per function (an FDE, with shared prologue code in a
 * CIE): run up to a pc, it says how to compute the Canonical Frame Address
 * (CFA: the caller's stack pointer just before the call) from the
 * registers, and where each register of the caller was saved relative to
 * it.
 *
 * Running that byte code inside BPF is out of the question: it is variable
 * length, has DW_CFA_remember_state stacks and DWARF expressions, and the
 * verifier wants every loop bounded and every memory access proven. So the
 * tracer runs it ahead of time, once per file, and hands BPF the result: a
 * sorted table of rows, each saying "from this offset on, until the next
 * row, the frame is found like this".
 *
 * What a row must say (x86-64)
 * ----------------------------
 * To go from one frame to its caller the walk needs the CFA, the return
 * address and the caller's rbp (the only callee-saved register compilers
 * compute a CFA from):
 *   - CFA: rsp + k almost everywhere; rbp + k in functions that keep a
 *     frame pointer (or need one: alloca, VLAs); *(rbp - k) in functions
 *     that realign the stack (GCC's DW_OP_breg6; DW_OP_deref); and the
 *     fixed expression every PLT section carries (rsp + 8, plus 8 once the
 *     pc is past the push inside a 16-byte PLT entry).
 *   - the return address: always at CFA - 8 in the x86-64 ABI; a row that
 *     says otherwise is left to frame pointers, and one that says it is
 *     undefined marks the outermost frame (_start, a thread's clone).
 *   - rbp: unchanged, or saved at CFA + 8n.
 * Other registers' rules change at every push and pop, but the walk does
 * not need them, so rows that differ only there are merged: the tables
 * come out with well under one row per ten bytes of code. A row packs into
 * 8 bytes (struct ms_unw_row). A rule the walk cannot follow (a general
 * DWARF expression, a CFA off a scratch register in a prologue) becomes an
 * MS_UNW_UNSUPPORTED row, and the walk tries frame pointers there; a pc
 * between two FDEs (hand-written assembly without CFI) meets the
 * MS_UNW_NONE row that ends the FDE before it, and does the same.
 *
 * How others do it, and what we chose
 * -----------------------------------
 * The OpenTelemetry eBPF profiler ("stack deltas") also evaluates CFI ahead
 * of time, deduplicates the rules into a global array and stores per file
 * 4-byte (offset in a 64 KiB page, rule index) deltas, found through a
 * (file, page) hash; it walks a few frames per program and chains programs
 * with tail calls. The Parca agent keeps 16-byte rows per process, sorted
 * by address, binary-searched in up to 19-20 steps, 7 frames per tail call.
 * bpftrace's ustack is the kernel's frame-pointer walk, with the same short
 * stacks memscope had. memscope's choices:
 *   - tables per file, keyed by the file's identity as the kernel sees it
 *     (device, inode), and rows keyed by *file offset*: a pc maps to
 *     pc - vm_start + vm_pgoff * 4096 with nothing but its VMA, so BPF needs
 *     neither the load bias nor program headers, a library shared by many
 *     processes (libc, forked children) is built and stored once, and a
 *     file mapped later (dlopen, exec) just needs its own table.
 *   - a page index: BPF finds the rows of the pc's 4 KiB page in one array
 *     look-up and binary-searches only those (typically 5-6 steps instead
 *     of 15-17 over a whole libc), since every step is a map look-up.
 *   - rules stay inline in the row (8 bytes, no indirection): one look-up
 *     per step and one for the row.
 *   - libdw evaluates the CFI (dwarf_cfi_addrframe), so the DWARF
 *     interpreter is elfutils', not ours. libdw has no iterator over FDEs
 *     with decoded address ranges, so this file walks the section with
 *     dwarf_next_cfi and decodes each FDE's range itself (the pointer
 *     encodings of the CIE's augmentation), then asks libdw row by row:
 *     the row at pc is valid up to `end` (dwarf_frame_info), where the
 *     next query starts. (libdw's `start` is not the row's start after a
 *     DW_CFA_restore_state; only `end` is used.)
 *
 * Bad input
 * ---------
 * Everything read from the file is bounds-checked: dwarf_next_cfi checks
 * entry lengths, the range decoder checks every byte it reads, rows outside
 * executable segments or beyond 4 GiB are dropped, and an FDE libdw cannot
 * evaluate ends its range with an MS_UNW_NONE row. A truncated section
 * yields the rows read before the damage.
 */
#include "elf/cfi_tables.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "util/vec.h"

#define DWARF_REG_RBP 6
#define DWARF_REG_RSP 7
#define DWARF_REG_RIP 16

/* Executable PT_LOAD segments: vaddr -> file offset. */
struct segment {
	uint64_t vaddr, memsz, offset;
};

struct fde_range {
	uint64_t lo, hi;
};

/* What a CIE says about its FDEs. */
struct cie_info {
	Dwarf_Off off;
	uint8_t enc;    /* pointer encoding of initial_location (DW_EH_PE_*) */
	bool usable;    /* augmentation understood */
};

struct builder {
	struct segment seg[8];
	size_t nseg;
	struct cie_info *cies;
	size_t ncies, capcies;
	struct fde_range *fdes;
	size_t nfdes, capfdes;
	struct ms_unw_row *rows;
	size_t nrows, caprows;
	struct ms_cfi_stats st;
};

/* ---- DWARF pointer encodings (the subset .eh_frame uses) ---------------- */

#define PE_OMIT 0xff
#define PE_FORMAT(e) ((e) & 0x0f)
#define PE_APPL(e) ((e) & 0x70)

static bool read_uleb(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
		shift += 7;
	}
	return false;
}

static bool read_sleb(const uint8_t **p, const uint8_t *end, int64_t *v)
{
	unsigned shift = 0;
	uint64_t r = 0;
	uint8_t b = 0;

	while (*p < end && shift < 64) {
		b = *(*p)++;
		r |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				r |= ~0ull << shift;
			*v = (int64_t)r;
			return true;
		}
	}
	return false;
}

static bool read_fixed(const uint8_t **p, const uint8_t *end, size_t n, bool sign, uint64_t *v)
{
	uint64_t r = 0;
	size_t i;

	if ((size_t)(end - *p) < n)
		return false;
	for (i = 0; i < n; i++)
		r |= (uint64_t)(*p)[i] << (8 * i); /* x86-64: little endian */
	if (sign && n < 8 && (r >> (8 * n - 1)) & 1)
		r |= ~0ull << (8 * n);
	*p += n;
	*v = r;
	return true;
}

/* Read one pointer encoded as `enc` at *p; field_addr is the address the
 * field has when loaded (for pc-relative values). */
static bool read_encoded(const uint8_t **p, const uint8_t *end, uint8_t enc, uint64_t field_addr,
			 bool value_only, uint64_t *out)
{
	uint64_t v;
	int64_t s;
	bool ok;

	switch (PE_FORMAT(enc)) {
	case 0x0: ok = read_fixed(p, end, 8, false, &v); break; /* absptr */
	case 0x1: ok = read_uleb(p, end, &v); break;
	case 0x2: ok = read_fixed(p, end, 2, false, &v); break;
	case 0x3: ok = read_fixed(p, end, 4, false, &v); break;
	case 0x4: ok = read_fixed(p, end, 8, false, &v); break;
	case 0x9: ok = read_sleb(p, end, &s); v = (uint64_t)s; break;
	case 0xa: ok = read_fixed(p, end, 2, true, &v); break;
	case 0xb: ok = read_fixed(p, end, 4, true, &v); break;
	case 0xc: ok = read_fixed(p, end, 8, true, &v); break;
	default: return false;
	}
	if (!ok)
		return false;
	if (!value_only) {
		if (enc & 0x80) /* indirect: a run-time value, not in the file */
			return false;
		switch (PE_APPL(enc)) {
		case 0x00: break;
		case 0x10: v += field_addr; break; /* pcrel */
		default: return false; /* textrel/datarel/funcrel: not on x86-64 */
		}
	}
	*out = v;
	return true;
}

/* Bytes a pointer of encoding enc takes, for skipping it (fixed sizes
 * only; LEB128 personality pointers are read to skip them). */
static bool skip_encoded(const uint8_t **p, const uint8_t *end, uint8_t enc)
{
	uint64_t v;

	return read_encoded(p, end, enc & 0x0f, 0, true, &v);
}

/* ---- CIEs and FDEs ------------------------------------------------------ */

static int cie_add(struct builder *b, Dwarf_Off off, const Dwarf_CIE *cie)
{
	/* .eh_frame without 'R' and .debug_frame: plain 8-byte addresses */
	struct cie_info ci = { .off = off, .enc = 0x00, .usable = true };
	const char *aug = cie->augmentation;
	const uint8_t *p = cie->augmentation_data, *end;

	if (ms_vec_reserve((void **)&b->cies, &b->capcies, sizeof(*b->cies), b->ncies + 1))
		return -ENOMEM;
	if (!aug)
		aug = "";
	end = p ? p + cie->augmentation_data_size : NULL;
	if (aug[0] == 'z') {
		for (const char *a = aug + 1; *a && ci.usable; a++) {
			uint8_t e;

			switch (*a) {
			case 'R': /* FDE pointer encoding */
				if (!p || p >= end)
					ci.usable = false;
				else
					ci.enc = *p++;
				break;
			case 'L': /* LSDA encoding: one byte */
				if (!p || p >= end)
					ci.usable = false;
				else
					p++;
				break;
			case 'P': /* personality: encoding, then the pointer */
				if (!p || p >= end) {
					ci.usable = false;
					break;
				}
				e = *p++;
				if (!skip_encoded(&p, end, e))
					ci.usable = false;
				break;
			case 'S': /* signal frame */
			case 'B': /* aarch64 b-key, no data */
			case 'G': /* MTE tagged frame, no data */
				break;
			default: /* unknown letter: R may come after it */
				ci.usable = false;
			}
		}
	} else if (aug[0]) {
		ci.usable = false; /* "eh" and other pre-'z' augmentations */
	}
	b->cies[b->ncies++] = ci;
	return 0;
}

static const struct cie_info *cie_find(const struct builder *b, Dwarf_Off off)
{
	/* CIEs come before their FDEs, usually just before: search back. */
	for (size_t i = b->ncies; i-- > 0;)
		if (b->cies[i].off == off)
			return &b->cies[i];
	return NULL;
}

/* Enumerate the FDEs of one CFI section into b->fdes (link-time address
 * ranges). sec_addr is the section's address (for pc-relative pointers). */
static int read_fdes(struct builder *b, Elf *elf, Elf_Data *data, bool eh, uint64_t sec_addr)
{
	const unsigned char *ident = (const unsigned char *)elf_getident(elf, NULL);
	Dwarf_Off off = 0, next;
	Dwarf_CFI_Entry ent;
	int rc;

	if (!ident)
		return -ENOEXEC;
	while ((rc = dwarf_next_cfi(ident, data, eh, off, &next, &ent)) == 0) {
		Dwarf_Off here = off;

		off = next;
		if (dwarf_cfi_cie_p(&ent)) {
			if (cie_add(b, here, &ent.cie))
				return -ENOMEM;
			continue;
		}
		b->st.fdes++;
		const struct cie_info *ci = cie_find(b, ent.fde.CIE_pointer);
		const uint8_t *p = ent.fde.start, *end = ent.fde.end;
		uint64_t lo, len;
		uint8_t enc = ci ? ci->enc : 0;

		if (!ci || !ci->usable || !p || !end || p > end ||
		    !read_encoded(&p, end, eh ? enc : 0x00,
				  sec_addr + (uint64_t)(ent.fde.start - (const uint8_t *)data->d_buf), false,
				  &lo) ||
		    !read_encoded(&p, end, eh ? enc : 0x00, 0, true, &len) || len == 0 ||
		    lo + len < lo) {
			b->st.bad_fdes++;
			continue;
		}
		if (ms_vec_reserve((void **)&b->fdes, &b->capfdes, sizeof(*b->fdes), b->nfdes + 1))
			return -ENOMEM;
		b->fdes[b->nfdes++] = (struct fde_range){ lo, lo + len };
	}
	/* rc == 1: the end; -1: damage from here on, keep what was read */
	return 0;
}

/* ---- rows --------------------------------------------------------------- */

static int64_t op_num(const Dwarf_Op *op)
{
	return (int64_t)op->number;
}

/* The x86-64 PLT expression: rsp + 8 + ((rip & 15) >= K) << 3. */
static bool is_plt(const Dwarf_Op *o, size_t n, unsigned *k)
{
	if (n != 9 || o[0].atom != DW_OP_breg7 || op_num(&o[0]) != 8 ||
	    o[1].atom != DW_OP_breg16 || op_num(&o[1]) != 0 || o[2].atom != DW_OP_lit15 ||
	    o[3].atom != DW_OP_and || o[4].atom < DW_OP_lit0 || o[4].atom > DW_OP_lit31 ||
	    o[5].atom != DW_OP_ge || o[6].atom != DW_OP_lit3 || o[7].atom != DW_OP_shl ||
	    o[8].atom != DW_OP_plus)
		return false;
	*k = (unsigned)(o[4].atom - DW_OP_lit0);
	return true;
}

/* A register rule "saved at CFA + n" as libdw spells it. */
static bool saved_at_cfa(const Dwarf_Op *o, size_t n, int64_t *off)
{
	if (n == 1 && o[0].atom == DW_OP_call_frame_cfa) {
		*off = 0;
		return true;
	}
	if (n == 2 && o[0].atom == DW_OP_call_frame_cfa && o[1].atom == DW_OP_plus_uconst) {
		*off = op_num(&o[1]);
		return true;
	}
	return false;
}

/* The row for one evaluated frame state. */
static struct ms_unw_row frame_row(struct builder *b, Dwarf_Frame *f)
{
	struct ms_unw_row r = { .kind = MS_UNW_UNSUPPORTED };
	Dwarf_Op mem[3], *ops = NULL;
	size_t nops = 0;
	int64_t off;
	bool sig = false;
	Dwarf_Addr s, e;
	unsigned k;
	int ra = dwarf_frame_info(f, &s, &e, &sig);

	/* the return address: undefined at the outermost frame, else CFA-8 */
	if (ra != DWARF_REG_RIP || dwarf_frame_register(f, ra, mem, &ops, &nops))
		goto unsupported;
	if (nops == 0 && ops == mem) {
		r.kind = MS_UNW_END;
		return r;
	}
	if (sig) {
		r.kind = MS_UNW_SIGNAL;
		return r;
	}
	if (!saved_at_cfa(ops, nops, &off) || off != -8)
		goto unsupported;
	if (dwarf_frame_cfa(f, &ops, &nops) || nops == 0)
		goto unsupported;
	if (nops == 1 && ops[0].atom == DW_OP_bregx &&
	    (ops[0].number == DWARF_REG_RSP || ops[0].number == DWARF_REG_RBP) &&
	    (int64_t)ops[0].number2 >= 0 && (int64_t)ops[0].number2 <= 0xffff) {
		r.kind = ops[0].number == DWARF_REG_RSP ? MS_UNW_CFA_RSP : MS_UNW_CFA_RBP;
		r.cfa_off = (uint16_t)ops[0].number2;
	} else if (nops == 2 && ops[0].atom == DW_OP_breg6 && ops[1].atom == DW_OP_deref &&
		   op_num(&ops[0]) <= 0 && op_num(&ops[0]) >= -0xffff) {
		r.kind = MS_UNW_CFA_DEREF;
		r.cfa_off = (uint16_t)-op_num(&ops[0]);
	} else if (is_plt(ops, nops, &k)) {
		r.kind = MS_UNW_PLT;
		r.cfa_off = (uint16_t)k;
		return r;
	} else {
		goto unsupported;
	}
	/* the caller's rbp */
	if (dwarf_frame_register(f, DWARF_REG_RBP, mem, &ops, &nops) == 0 && nops > 0) {
		if (saved_at_cfa(ops, nops, &off) && off % 8 == 0 && off / 8 >= -128 &&
		    off / 8 <= 127) {
			r.kind |= MS_UNW_RBP_SAVED;
			r.rbp = (int8_t)(off / 8);
		} else {
			b->st.rbp_lost++;
		}
	}
	return r;
unsupported:
	b->st.unsupported++;
	r.kind = MS_UNW_UNSUPPORTED;
	r.cfa_off = 0;
	return r;
}

/* The executable segment holding vaddr; its end counts too (the row that
 * closes a segment's last function). */
static const struct segment *seg_of(const struct builder *b, uint64_t vaddr)
{
	for (size_t i = 0; i < b->nseg; i++)
		if (vaddr >= b->seg[i].vaddr && vaddr - b->seg[i].vaddr <= b->seg[i].memsz)
			return &b->seg[i];
	return NULL;
}

/* Append a row for link-time address vaddr, as a file offset. Rows in no
 * executable segment are of no use to a walk and are dropped. */
static int row_add(struct builder *b, uint64_t vaddr, struct ms_unw_row r)
{
	const struct segment *s = seg_of(b, vaddr);
	uint64_t off;

	if (!s)
		return 0;
	off = vaddr - s->vaddr + s->offset;
	if (off > UINT32_MAX)
		return 0;
	if (ms_vec_reserve((void **)&b->rows, &b->caprows, sizeof(*b->rows), b->nrows + 1))
		return -ENOMEM;
	r.off = (uint32_t)off;
	b->rows[b->nrows++] = r;
	return 0;
}

static int cmp_fde(const void *x, const void *y)
{
	const struct fde_range *a = x, *b = y;

	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Rows of every FDE, each range closed by an MS_UNW_NONE row unless the
 * next FDE starts right there. */
static int eval_rows(struct builder *b, Dwarf_CFI *cfi)
{
	const struct ms_unw_row none = { .kind = MS_UNW_NONE };
	int err;

	if (b->nfdes)
		qsort(b->fdes, b->nfdes, sizeof(*b->fdes), cmp_fde);
	for (size_t i = 0; i < b->nfdes; i++) {
		uint64_t pc = b->fdes[i].lo, hi = b->fdes[i].hi;

		/* overlapping FDEs (damaged or odd CFI): the later one starts
		 * where the earlier one ended */
		if (i && pc < b->fdes[i - 1].hi)
			pc = b->fdes[i - 1].hi;
		while (pc < hi) {
			Dwarf_Frame *f = NULL;
			Dwarf_Addr s, e = 0;
			bool sig;

			if (dwarf_cfi_addrframe(cfi, pc, &f) || !f) {
				b->st.bad_fdes++;
				break;
			}
			dwarf_frame_info(f, &s, &e, &sig);
			err = row_add(b, pc, frame_row(b, f));
			free(f);
			if (err)
				return err;
			pc = e > pc && e < hi ? e : hi;
		}
		if (i + 1 == b->nfdes || b->fdes[i + 1].lo > hi || pc < hi) {
			if ((err = row_add(b, pc < hi ? pc : hi, none)))
				return err;
		}
	}
	return 0;
}

static bool same_rule(const struct ms_unw_row *a, const struct ms_unw_row *b)
{
	return a->kind == b->kind && a->cfa_off == b->cfa_off && a->rbp == b->rbp;
}

static int cmp_row(const void *x, const void *y)
{
	const struct ms_unw_row *a = x, *b = y;

	return a->off < b->off ? -1 : a->off > b->off;
}

/* Sort, keep one row per offset, merge runs of the same rule, and build
 * the page index. */
static int finish(struct builder *b, struct ms_cfi_table *t)
{
	size_t i, n = 0, p;
	uint64_t last_page;

	if (!b->nrows)
		return -ENOENT;
	/* qsort is not stable; a NONE row and a real row can share an
	 * offset only when damaged FDEs overlap: prefer the real one. */
	qsort(b->rows, b->nrows, sizeof(*b->rows), cmp_row);
	for (i = 0; i < b->nrows; i++) {
		struct ms_unw_row *r = &b->rows[i];

		if (n && b->rows[n - 1].off == r->off) {
			if ((b->rows[n - 1].kind & MS_UNW_KIND_MASK) == MS_UNW_NONE)
				b->rows[n - 1] = *r;
			continue;
		}
		if (n && same_rule(&b->rows[n - 1], r))
			continue;
		b->rows[n++] = *r;
	}
	b->nrows = n;
	t->base = b->rows[0].off & ~((1ull << MS_CFI_PAGE_SHIFT) - 1);
	last_page = (b->rows[n - 1].off - t->base) >> MS_CFI_PAGE_SHIFT;
	t->npages = (size_t)last_page + 1;
	t->pages = calloc(t->npages + 1, sizeof(*t->pages));
	if (!t->pages)
		return -ENOMEM;
	/* pages[p] = first row at or past the page's start */
	for (p = 0, i = 0; p <= t->npages; p++) {
		uint64_t start = t->base + ((uint64_t)p << MS_CFI_PAGE_SHIFT);

		while (i < n && b->rows[i].off < start)
			i++;
		t->pages[p] = (uint32_t)i;
	}
	t->pages[t->npages] = (uint32_t)n;
	t->rows = b->rows;
	t->nrows = n;
	b->rows = NULL;
	t->st = b->st;
	return 0;
}

/* ---- sections ----------------------------------------------------------- */

static Elf_Scn *find_section(Elf *elf, const char *name, GElf_Shdr *out)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (n && !strcmp(n, name)) {
			*out = sh;
			return scn;
		}
	}
	return NULL;
}

static int load_segments(struct builder *b, Elf *elf)
{
	size_t n, i;
	GElf_Ehdr eh;

	if (!gelf_getehdr(elf, &eh) || eh.e_machine != EM_X86_64 ||
	    gelf_getclass(elf) != ELFCLASS64 || elf_getphdrnum(elf, &n))
		return -ENOEXEC;
	for (i = 0; i < n && b->nseg < sizeof(b->seg) / sizeof(b->seg[0]); i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
			b->seg[b->nseg++] = (struct segment){ ph.p_vaddr, ph.p_memsz, ph.p_offset };
	}
	return b->nseg ? 0 : -ENOENT;
}

/* Rows from .eh_frame of elf. 0, -ENOENT (none), -ENOMEM. */
static int from_eh_frame(struct builder *b, Elf *elf)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(elf, ".eh_frame", &sh);
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
	Dwarf_CFI *cfi;
	int err;

	if (!d || !d->d_buf || !d->d_size)
		return -ENOENT;
	err = read_fdes(b, elf, d, true, sh.sh_addr);
	if (err)
		return err;
	cfi = dwarf_getcfi_elf(elf);
	if (!cfi)
		return -ENOENT;
	err = eval_rows(b, cfi);
	dwarf_cfi_end(cfi);
	b->st.source = ".eh_frame";
	return err;
}

/* Rows from .debug_frame of elf (the file itself or its debug file). */
static int from_debug_frame(struct builder *b, Elf *elf)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(elf, ".debug_frame", &sh);
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
	Dwarf_CFI *cfi;
	Dwarf *dw;
	int err;

	if (!d || !d->d_buf || !d->d_size)
		return -ENOENT;
	err = read_fdes(b, elf, d, false, 0);
	if (err)
		return err;
	dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	cfi = dw ? dwarf_getcfi(dw) : NULL; /* owned by dw */
	err = cfi ? eval_rows(b, cfi) : -ENOENT;
	if (dw)
		dwarf_end(dw);
	b->st.source = ".debug_frame";
	return err;
}

static void builder_reset_cfi(struct builder *b)
{
	b->ncies = b->nfdes = b->nrows = 0;
}

int ms_cfi_build(int fd, int debug_fd, struct ms_cfi_table *t)
{
	struct builder b = { 0 };
	Elf *elf = NULL, *dbg = NULL;
	int err;

	memset(t, 0, sizeof(*t));
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto out;
	}
	err = load_segments(&b, elf);
	if (err)
		goto out;
	err = from_eh_frame(&b, elf);
	if (err == -ENOMEM)
		goto out;
	if (!b.nrows) {
		builder_reset_cfi(&b);
		err = from_debug_frame(&b, elf);
	}
	if (!b.nrows && err != -ENOMEM && debug_fd >= 0 &&
	    (dbg = elf_begin(debug_fd, ELF_C_READ_MMAP, NULL))) {
		builder_reset_cfi(&b);
		err = from_debug_frame(&b, dbg);
	}
	if (err == -ENOMEM)
		goto out;
	err = finish(&b, t);
out:
	if (err)
		ms_cfi_free(t);
	if (dbg)
		elf_end(dbg);
	if (elf)
		elf_end(elf);
	free(b.cies);
	free(b.fdes);
	free(b.rows);
	return err;
}

const struct ms_unw_row *ms_cfi_lookup(const struct ms_cfi_table *t, uint64_t off)
{
	uint64_t p;
	uint32_t lo, hi;

	if (!t->nrows || off < t->base)
		return NULL;
	p = (off - t->base) >> MS_CFI_PAGE_SHIFT;
	if (p >= t->npages)
		return NULL;
	/* the first row past off is in [pages[p], pages[p + 1]] */
	lo = t->pages[p];
	hi = t->pages[p + 1];
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->rows[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &t->rows[lo - 1] : NULL;
}

void ms_cfi_free(struct ms_cfi_table *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t->pages);
	memset(t, 0, sizeof(*t));
}
