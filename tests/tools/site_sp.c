/* SPDX-License-Identifier: BSD-3-Clause */
/* site_sp.c - test tool for the stack-pointer contract of memscope's probe
 * sites (bpf/usdt_site.bpf.h): attaches site_sp.bpf.c to memscope:alloc in
 * EXE for PID with the cookie memscope-trace's loader would pass (from
 * user/elf/usdt_sites.c), then prints one line per hit:
 *
 *   sp 0x... raw 0x... want 0x... ip 0x... cookie N
 *
 * until COUNT hits or 20 s. Usage: site_sp PID EXE COUNT. Exit 0, or 1 with
 * a message on stderr. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "elf/usdt_sites.h"
#include "site_sp.skel.h"

struct site_sp_event {
	unsigned long long sp, raw, want, ip, cookie;
};

static int seen, count;

static int on_event(void *ctx, void *data, size_t len)
{
	const struct site_sp_event *e = data;

	(void)ctx;
	/* a positive return does not stop libbpf's ring_buffer__poll(): when
	 * the poll comes late, one batch holds hits past COUNT */
	if (len < sizeof(*e) || seen >= count)
		return 0;
	printf("sp 0x%llx raw 0x%llx want 0x%llx ip 0x%llx cookie %llu\n", e->sp, e->raw, e->want, e->ip,
	       e->cookie);
	seen++;
	return 0;
}

int main(int argc, char **argv)
{
	struct ms_usdt_sites sites = { 0 };
	struct site_sp_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	struct bpf_link *link = NULL;
	time_t end = time(NULL) + 20;
	int rc = 1, pid;

	if (argc != 4) {
		fprintf(stderr, "usage: site_sp PID EXE COUNT\n");
		return 2;
	}
	pid = atoi(argv[1]);
	count = atoi(argv[3]);
	if (ms_usdt_sites_read(argv[2], "memscope", &sites) <= 0) {
		fprintf(stderr, "site_sp: no memscope probes in %s\n", argv[2]);
		return 1;
	}
	LIBBPF_OPTS(bpf_usdt_opts, o, .usdt_cookie = ms_usdt_sites_cookie(&sites, "alloc"));
	skel = site_sp_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "site_sp: load: %s\n", strerror(errno));
		goto out;
	}
	link = bpf_program__attach_usdt(skel->progs.site_sp, pid, argv[2], "memscope", "alloc", &o);
	if (!link) {
		fprintf(stderr, "site_sp: attach memscope:alloc in %s: %s\n", argv[2], strerror(errno));
		goto out;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	if (!rb)
		goto out;
	printf("attached\n");
	fflush(stdout);
	while (seen < count && time(NULL) < end)
		if (ring_buffer__poll(rb, 100) < 0)
			break;
	fflush(stdout);
	rc = seen >= count ? 0 : 1;
	if (rc)
		fprintf(stderr, "site_sp: %d of %d hits seen\n", seen, count);
out:
	ring_buffer__free(rb);
	bpf_link__destroy(link);
	site_sp_bpf__destroy(skel);
	ms_usdt_sites_free(&sites);
	return rc;
}
