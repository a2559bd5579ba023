/* SPDX-License-Identifier: BSD-3-Clause */
/* frame.h - one resolved stack frame, as report writers print it. The
 * report core defines it; whoever resolves addresses (the symbolizer in
 * elf/, a test's fake) fills it in through ms_report_ctx.resolve. */
#ifndef MS_REPORT_FRAME_H
#define MS_REPORT_FRAME_H

#include <stdint.h>

/* Strings are owned by the resolver and stay valid as long as it does. */
struct ms_frame {
	uint64_t ip;
	const char *function; /* symbol containing ip (demangled if possible),
			       * or NULL */
	const char *file;     /* source file from DWARF, or NULL */
	int line;             /* source line, 0 if unknown */
	const char *module;   /* module path as shown in maps, or NULL */
	uint64_t offset;      /* ip - module bias: the ELF vaddr */
	/* The module's load as a whole (pprof's Mapping): its runtime
	 * address range, the file offset mapped at map_start, and its GNU
	 * build id in lowercase hex (NULL if it has none). All 0/NULL when
	 * module is NULL. */
	uint64_t map_start, map_end, map_offset;
	const char *build_id;
	int inlined;          /* a function inlined at ip: the next frame (same
			       * ip) is the one it was inlined into */
};

#endif /* MS_REPORT_FRAME_H */
