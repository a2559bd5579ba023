/* SPDX-License-Identifier: BSD-3-Clause */
/* usdt_sites.h - every USDT probe site of one provider in an ELF file: where
 * it is, which semaphore guards it, and which instruction the probe sits on.
 *
 * The instruction matters since Linux 6.18: a uprobe on sys/sdt.h's 1-byte
 * nop traps (int3) on every hit, while one on a 5-byte nop is turned into a
 * call after its first hit. include/memscope.h emits the 5-byte form with
 * the stack pointer stepped 128 bytes down around it (the red zone), which
 * a stack walk from that site must undo; include/memscope.h explains it.
 * Old binaries and other USDT headers have the 1-byte form.
 *
 * No libbpf here: the loader turns a site list into attach cookies, the
 * tracer into -v lines and into the repair of a fork child's sites.
 * Every int function returns 0 or a count on success, a negative errno on
 * failure.
 */
#ifndef MS_ELF_USDT_SITES_H
#define MS_ELF_USDT_SITES_H

#include <stddef.h>
#include <stdint.h>

enum ms_site_form {
	MS_FORM_OTHER = 0, /* an instruction that is not a nop we know (int3 on every hit) */
	MS_FORM_NOP1,      /* 0x90, sys/sdt.h's nop (int3 on every hit) */
	MS_FORM_NOP5,      /* memscope's site: lea -128(%rsp); nop5; lea 128(%rsp) */
	MS_FORM_NOP5_BARE, /* a 5-byte nop without that guard (another USDT header) */
};

struct ms_usdt_site {
	const char *name;     /* probe name, in the list's storage */
	uint64_t pc;          /* link-time address of the probe instruction */
	uint64_t sem;         /* link-time address of its semaphore, 0 if none */
	uint8_t orig[5];      /* the first bytes of that instruction, in the file */
	enum ms_site_form form;
};

struct ms_usdt_sites {
	struct ms_usdt_site *v; /* in note order */
	size_t n;
	/* Link-time address of the object's memscope__alive pointer (the
	 * .note.memscope entry include/memscope.h writes), 0 if the object
	 * has none (no 5-byte sites, or an older header). */
	uint64_t alive;
	char *names; /* storage for the names */
};

/* Read the sites of `provider` in the ELF file at `path` into *out (empty
 * on entry; free with ms_usdt_sites_free()). Prelinked files are handled as
 * libbpf does (note addresses moved by the .stapsdt.base difference).
 * Returns the number of sites (0 if none), -ENOEXEC if not ELF, or the
 * errno of opening the file. Cost: one pass over the notes, one read of
 * ~32 bytes per site. */
int ms_usdt_sites_read(const char *path, const char *provider, struct ms_usdt_sites *out);

/* Release a list. NULL and an empty list are fine. */
void ms_usdt_sites_free(struct ms_usdt_sites *s);

/* The form of the instruction at code[0], given `before` readable bytes
 * before it and `after` readable bytes from it on. */
enum ms_site_form ms_site_form_of(const uint8_t *code, size_t before, size_t after);

/* Short name of a form for messages: "1-byte nop", "5-byte nop", ... */
const char *ms_site_form_name(enum ms_site_form f);

/* 1 if a uprobe on this form may be turned into a call by the kernel. */
int ms_site_form_optimizable(enum ms_site_form f);

/* The USDT attach cookie for probe `name` (include/memscope_events.h,
 * enum ms_site_cookie): MS_SITE_NOP5 if every site of that name is
 * memscope's 5-byte site, MS_SITE_NOP1 if none is, MS_SITE_MIXED if both
 * occur (BPF then looks at the site itself). */
int ms_usdt_sites_cookie(const struct ms_usdt_sites *s, const char *name);

#endif /* MS_ELF_USDT_SITES_H */
