/* SPDX-License-Identifier: BSD-3-Clause */
/* metrics_serve.c - see metrics_serve.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "probe/loader.h"
#include "trace/metrics_http.h"
#include "trace/metrics_serve.h"
#include "report/metrics.h"

#define MAX_PROGS 64

struct ms_metrics_serve {
	const char *addr;
	int fd;               /* listening, until the server takes it */
	struct ms_http *http;
	struct ms_metrics *metrics;
	struct ms_loader *loader;
};

struct ms_metrics_serve *ms_metrics_serve_open(const char *addr_port, unsigned top)
{
	struct ms_metrics_serve *m = calloc(1, sizeof(*m));
	char why[256];

	if (!m || !(m->metrics = ms_metrics_new(top))) {
		fprintf(stderr, "memscope-trace: --metrics: %s\n", strerror(ENOMEM));
		free(m);
		return NULL;
	}
	m->addr = addr_port;
	m->fd = ms_http_listen(addr_port, why, sizeof(why));
	if (m->fd < 0) {
		fprintf(stderr, "memscope-trace: --metrics %s: cannot listen: %s\n", addr_port, why);
		ms_metrics_free(m->metrics);
		free(m);
		return NULL;
	}
	return m;
}

int ms_metrics_serve_start(struct ms_metrics_serve *m, struct ms_loader *l)
{
	int err = ms_loader_enable_run_stats(l);

	if (err)
		fprintf(stderr, "memscope-trace: warning: BPF statistics unavailable (%s): "
			"no probe hits or cost in the metrics\n", strerror(-err));
	m->loader = err ? NULL : l;
	m->http = ms_http_start(m->fd);
	m->fd = -1;
	if (!m->http) {
		err = -errno;
		fprintf(stderr, "memscope-trace: --metrics %s: cannot serve: %s\n", m->addr, strerror(errno));
		return err;
	}
	return 0;
}

int ms_metrics_serve_wanted(const struct ms_metrics_serve *m)
{
	return m && m->http && ms_http_wanted(m->http);
}

/* Resident set from statm (pages), CPU from getrusage. */
static void self_usage(uint64_t *rss, double *cpu)
{
	FILE *f = fopen("/proc/self/statm", "re");
	unsigned long size, res = 0;
	struct rusage ru;

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	*rss = (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
	getrusage(RUSAGE_SELF, &ru);
	*cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

void ms_metrics_serve_render(struct ms_metrics_serve *m, const struct ms_report_ctx *c)
{
	struct ms_prog_stat ps[MAX_PROGS];
	struct ms_metrics_probe pr[MAX_PROGS];
	/* the trap cost measured at attach (an emulated push, as at malloc) */
	struct ms_metrics_extra x = { .probes = pr,
				       .trap_ns = c->cost && c->cost->valid ? c->cost->trap_emulated_ns : 0 };
	char *text = NULL;
	size_t len = 0, n = m->loader ? ms_loader_prog_stats(m->loader, ps, MAX_PROGS) : 0, i;
	FILE *f;

	for (i = 0; i < n; i++)
		pr[i] = (struct ms_metrics_probe){ .name = ps[i].name, .hits = ps[i].runs,
						   .run_ns = ps[i].run_ns, .traps = ps[i].uprobe };
	x.nprobes = n;
	self_usage(&x.rss_bytes, &x.cpu_seconds);
	f = open_memstream(&text, &len);
	if (!f)
		return;
	if (ms_metrics_render(m->metrics, f, c, &x) | fclose(f)) {
		free(text);
		return;
	}
	if (ms_http_publish(m->http, text, len))
		free(text); /* a scrape held the lock: asked again next time round */
}

void ms_metrics_serve_close(struct ms_metrics_serve *m)
{
	if (!m)
		return;
	ms_http_stop(m->http);
	if (m->fd >= 0)
		close(m->fd);
	ms_metrics_free(m->metrics);
	free(m);
}
