/* SPDX-License-Identifier: BSD-3-Clause */
/* cfi_tables.h - compact unwind tables for the BPF stack walk, built from a
 * file's DWARF call frame information (.eh_frame, else .debug_frame).
 *
 * A table is the file's CFI evaluated ahead of time: one row per range of
 * code over which the rule for finding the caller's frame stays the same
 * (struct ms_unw_row in memscope_events.h), sorted by file offset, plus a
 * page index so that BPF searches only the rows of one 4 KiB page. The
 * essay at the top of cfi_tables.c says why it looks like this.
 *
 * Needs libelf and libdw (elfutils); no libbpf. Not thread-safe per table,
 * but tables are independent of each other.
 */
#ifndef MS_ELF_CFI_TABLES_H
#define MS_ELF_CFI_TABLES_H

#include <stddef.h>
#include <stdint.h>
#include "memscope_events.h"

#define MS_CFI_PAGE_SHIFT 12

/* What went into a table and what could not. */
struct ms_cfi_stats {
	size_t fdes;        /* FDEs read */
	size_t bad_fdes;    /* FDEs skipped: undecodable, outside code, or
			     * their rules could not be evaluated */
	size_t unsupported; /* rows whose rule the BPF walk cannot follow
			     * (left to frame pointers) */
	size_t rbp_lost;    /* rows where the caller's rbp is not recoverable
			     * by the rules BPF knows (kept as unchanged) */
	const char *source; /* ".eh_frame", ".debug_frame" or NULL */
};

struct ms_cfi_table {
	struct ms_unw_row *rows; /* sorted by off, adjacent rules distinct */
	size_t nrows;
	uint32_t *pages; /* npages + 1 row indices (see struct ms_unw_file) */
	size_t npages;
	uint64_t base;   /* file offset of page 0 */
	struct ms_cfi_stats st;
};

/* Build the table of the ELF file open at fd (the caller keeps the fd).
 * debug_fd, if >= 0, is the file's separate debug file: its .debug_frame
 * is used when the file itself has no CFI. Returns 0 and fills *t (free
 * with ms_cfi_free), -ENOEXEC if fd is not an x86-64 ELF file, -ENOENT if
 * it has no CFI at all or none of it describes executable code, -ENOMEM.
 * Malformed CFI never crashes it: bad FDEs are skipped and counted, and
 * a truncated section ends the table where it ends.
 * Cost: O(rows x rules per FDE), ~0.1-0.2 s for libc. */
int ms_cfi_build(int fd, int debug_fd, struct ms_cfi_table *t);

/* The row that covers file offset off, or NULL (no row; the caller walks
 * by frame pointer). The same search the BPF walk does, for tests. */
const struct ms_unw_row *ms_cfi_lookup(const struct ms_cfi_table *t, uint64_t off);

/* Release the table and zero it. NULL is fine. */
void ms_cfi_free(struct ms_cfi_table *t);

#endif /* MS_ELF_CFI_TABLES_H */
