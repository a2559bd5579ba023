/* SPDX-License-Identifier: BSD-3-Clause */
/* unwind.c - the unwind tables of a trace run (probe/unwind_maps.h): set
 * up after load, built for a command's files before it runs and for a
 * running process's files before its probes are attached, and for files
 * BPF meets later (MS_EV_UNW_MISS); what they cost goes in the report. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "elf/elf_deps.h"
#include "probe/loader.h"
#include "probe/unwind_maps.h"
#include "report/report.h"
#include "trace/session.h"

int ms_session_unwind_open(struct session *s)
{
	struct ms_unw_maps um;

	if (ms_loader_unwind_maps(s->loader, &um))
		return 0; /* --unwind fp, or no stacks */
	s->unw = ms_unwinder_new(&um, s->o->verbose);
	if (!s->unw) {
		int err = -errno;

		fprintf(stderr, "memscope-trace: unwind tables: %s\n", strerror(errno));
		return err;
	}
	return 0;
}

static void prebuild_one(const char *path, void *user)
{
	ms_unwinder_add_path(user, path);
}

void ms_session_unwind_prebuild(struct session *s)
{
	const char *preload = getenv("LD_PRELOAD");
	char *copy, *save = NULL, *tok;

	if (!s->unw)
		return;
	ms_elf_deps(s->exe, prebuild_one, s->unw);
	copy = preload ? strdup(preload) : NULL;
	for (tok = copy ? strtok_r(copy, ": ", &save) : NULL; tok; tok = strtok_r(NULL, ": ", &save))
		ms_elf_deps(tok, prebuild_one, s->unw);
	free(copy);
}

void ms_session_unwind_report(const struct session *s, struct ms_report_unwind *u)
{
	struct ms_unwind_stats st;

	memset(u, 0, sizeof(*u));
	if (s->stack_depth > 0)
		u->method = s->o->unwind_fp ? "fp" : "dwarf";
	if (!s->unw)
		return;
	ms_unwinder_stats(s->unw, &st);
	u->files = st.files;
	u->rows = st.rows;
	u->bytes = st.bytes;
	u->capacity_bytes = st.capacity_bytes;
	u->build_ns = st.build_ns;
	u->not_loaded = st.not_loaded;
	u->no_cfi = st.no_cfi;
	u->misses = st.misses;
}
