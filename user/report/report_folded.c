/* SPDX-License-Identifier: BSD-3-Clause */
/* report_folded.c - folded stacks ("a;b;c BYTES") for flamegraph.pl and
 * speedscope, one line per allocation site. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "util/json.h"
#include "report/report_out.h"

/* A name as one frame: ';' would split the frame and a newline the line,
 * so both (and every control character) are replaced; invalid UTF-8 bytes
 * become '?' so speedscope's decoder sees text. */
static void put_name(FILE *f, const char *name)
{
	const unsigned char *s = (const unsigned char *)name;

	while (*s) {
		int n = ms_utf8_len(s);

		if (*s == ';')
			fputc(':', f);
		else if (*s < 0x20 || *s == 0x7f)
			fputc(' ', f);
		else if (!n)
			fputc('?', f);
		else
			fwrite(s, 1, (size_t)n, f);
		s += n ? n : 1;
	}
}

static void put_frame(FILE *f, const struct ms_frame *fr)
{
	const char *base;

	if (fr->function && *fr->function) {
		put_name(f, fr->function);
		return;
	}
	if (fr->module && *fr->module) {
		/* The basename keeps frames short; the offset is what
		 * addr2line needs. */
		base = strrchr(fr->module, '/');
		put_name(f, base ? base + 1 : fr->module);
		fprintf(f, "+0x%" PRIx64, fr->offset);
		return;
	}
	fprintf(f, "0x%" PRIx64, fr->ip);
}

/* One line: the stack root first, BYTES last; a class, when given, is the
 * root frame, so a flame graph splits into lost and reachable memory. */
static void put_stack(FILE *f, const struct ms_report_ctx *c, uint32_t pid, int32_t stack_id,
		      const char *cls, uint64_t bytes)
{
	/* Every captured frame, not MS_REPORT_MAX_FRAMES: a stack cut at the
	 * outer end would start a flame graph mid-way and never merge. Inline
	 * frames can make more frames than addresses. */
	struct ms_frame fr[2 * (MS_MAX_STACK_DEPTH + 1)];
	int nf = ms_report_stack(c, pid, stack_id, 0, fr, (int)(sizeof(fr) / sizeof(fr[0]))), k;

	if (cls)
		fprintf(f, "%s;", cls);
	if (!nf)
		fputs("[no stack]", f);
	/* a walk that stopped early: its stacks hang under one root of
	 * their own instead of passing for whole ones */
	else if (ms_stack_truncated(ms_registry_stack(c->reg, pid, stack_id)))
		fputs("[truncated];", f);
	/* ms_report_stack gives the innermost frame first. */
	for (k = nf - 1; k >= 0; k--) {
		put_frame(f, &fr[k]);
		if (k)
			fputc(';', f);
	}
	fprintf(f, " %" PRIu64 "\n", bytes);
}

int ms_report_folded(FILE *f, const struct ms_report_ctx *c, int live)
{
	size_t n, i;
	const struct ms_site *s = ms_registry_sites(c->reg, &n);

	if (live && ms_report_classified(c)) {
		struct ms_leak_site *ls = ms_report_leak_sites(c, &n);

		for (i = 0; i < n; i++)
			if (ls[i].bytes)
				put_stack(f, c, ls[i].pid, ls[i].stack_id, ms_reach_name(ls[i].reach),
					  ls[i].bytes);
		free(ls);
		return ferror(f) ? -1 : 0;
	}
	for (i = 0; i < n; i++) {
		uint64_t bytes = live ? s[i].live_bytes : s[i].alloc_bytes;

		if (bytes)
			put_stack(f, c, s[i].pid, s[i].stack_id, NULL, bytes);
	}
	return ferror(f) ? -1 : 0;
}
