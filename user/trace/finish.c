/* SPDX-License-Identifier: BSD-3-Clause */
/* finish.c - the last stage: every report asked for, written from the
 * registry once it is settled and folded. The writers form a table: a new
 * format is one row (its option in struct ms_opts, its slot in enum
 * ms_output, its function). The report is written whatever stopped the
 * trace; a write error is reported per file and makes the run fail. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "probe/loader.h"
#include "registry/registry.h"
#include "report/report.h"
#include "report/pprof.h"
#include "report/report_out.h"
#include "trace/session.h"

/* The executable as the target names it: a path under its root (a chroot,
 * a container's root file system) loses that prefix ("/bin/prog", not
 * "/var/lib/containers/.../merged/bin/prog"). */
static const char *exe_in_root(const struct session *s)
{
	size_t n = strlen(s->root);

	if (n > 1 && !strncmp(s->exe, s->root, n) && s->exe[n] == '/')
		return s->exe + n;
	return s->exe;
}

static int write_folded_live(FILE *f, const struct ms_report_ctx *c)
{
	return ms_report_folded(f, c, 1);
}

static int write_folded_alloc(FILE *f, const struct ms_report_ctx *c)
{
	return ms_report_folded(f, c, 0);
}

static const struct writer {
	int (*write)(FILE *f, const struct ms_report_ctx *c);
} writers[MS_OUT_MAX] = {
	[MS_OUT_JSON] = { ms_report_json },
	[MS_OUT_HTML] = { ms_report_html },
	[MS_OUT_TIMELINE] = { ms_report_timeline },
	[MS_OUT_FOLDED] = { write_folded_live },
	[MS_OUT_FOLDED_ALLOC] = { write_folded_alloc },
	[MS_OUT_PPROF] = { ms_report_pprof },
};

const char *ms_output_path(const struct ms_opts *o, enum ms_output i)
{
	switch (i) {
	case MS_OUT_JSON: return o->output;
	case MS_OUT_HTML: return o->html;
	case MS_OUT_TIMELINE: return o->timeline;
	case MS_OUT_FOLDED: return o->folded;
	case MS_OUT_FOLDED_ALLOC: return o->folded_alloc;
	case MS_OUT_PPROF: return o->pprof;
	default: return "?";
	}
}

static const char *mode_name(enum ms_mode m)
{
	switch (m) {
	case MS_MODE_FAST: return "fast";
	case MS_MODE_LIGHT: return "light";
	case MS_MODE_SAMPLED: return "sampled";
	default: return "full";
	}
}

void ms_session_report_ctx(struct session *s, struct ms_report_ctx *cp)
{
	struct ms_report_ctx c = { 0 };
	const struct ms_summary *sum = ms_registry_summary(s->reg);

	c.reg = s->reg;
	c.resolve = ms_lookup_resolve;
	c.resolve_inline = ms_lookup_resolve_inline;
	c.resolve_user = s;
	c.pid = s->pid;
	c.exe = exe_in_root(s);
	c.mode = s->mode_label ? s->mode_label : mode_name(s->o->mode);
	c.stop_reason = s->stop_reason;
	c.start_ns = s->start_ns;
	c.end_ns = s->end_ns;
	c.target_exited = s->exited;
	c.exit_status = s->status;
	if (s->exited && !s->is_child && sum->proc_exited)
		c.exit_status = sum->exit_code;
	c.from_start = s->is_child;
	c.sample_interval = s->sample_interval;
	c.start_wall_ns = s->start_wall_ns;
	c.cost = ms_budget_report(s);
	c.stack_depth = s->stack_depth;
	c.stack_note = s->stack_note;
	c.ns_pid = s->ns_pid;
	c.cgroup = s->cgroup[0] ? s->cgroup : NULL;
	c.container_id = s->container_id[0] ? s->container_id : NULL;
	c.holds = s->holds;
	c.hold_total_ns = s->hold_total_ns;
	c.hold_max_ns = s->hold_max_ns;
	if (s->loader)
		ms_loader_read_stats(s->loader, c.stats);
	ms_session_unwind_report(s, &c.unwind);
	*cp = c;
}

/* Writers report only what ferror knows: flush to see a full disk. */
static int finish_output(FILE *f, const char *path, int werr)
{
	if (werr || fflush(f) || ferror(f)) {
		fprintf(stderr, "memscope-trace: write %s: %s\n", path, strerror(errno ? errno : EIO));
		return -EIO;
	}
	return 0;
}

int ms_session_write_reports(struct session *s)
{
	struct ms_report_ctx c;
	int i, err = 0;

	ms_registry_settle(s->reg); /* before names become fold keys */
	ms_registry_fold_now(s->reg);
	ms_session_report_ctx(s, &c);
	if (!s->out[MS_OUT_JSON]) {
		ms_report_text(stdout, &c);
		fflush(stdout);
	}
	for (i = 0; i < MS_OUT_MAX; i++)
		if (s->out[i] && finish_output(s->out[i], ms_output_path(s->o, i), writers[i].write(s->out[i], &c)))
			err = -EIO;
	return err;
}

void ms_session_close_outputs(struct session *s)
{
	int i;

	for (i = 0; i < MS_OUT_MAX; i++)
		if (s->out[i]) {
			fclose(s->out[i]);
			s->out[i] = NULL;
		}
}
