/* SPDX-License-Identifier: BSD-3-Clause */
/* bpfmaps.c - see bpfmaps.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "probe/bpfmaps.h"

int ms_stack_reader_init(struct ms_stack_reader *sr, const struct ms_loader *l, int depth)
{
	memset(sr, 0, sizeof(*sr));
	sr->fd = ms_loader_stack_map(l, &sr->dwarf);
	sr->depth = depth > MS_MAX_STACK_DEPTH ? MS_MAX_STACK_DEPTH : depth;
	sr->buf = calloc(1, sizeof(struct ms_ustack));
	return sr->buf ? 0 : -ENOMEM;
}

void ms_stack_reader_fini(struct ms_stack_reader *sr)
{
	free(sr->buf);
	sr->buf = NULL;
}

int ms_bpfmaps_fetch_stack(struct ms_stack_reader *sr, struct ms_registry *r, uint32_t pid,
			   int32_t id)
{
	uint32_t key = (uint32_t)id, n = 0;
	struct ms_ustack *u = sr->buf;
	uint64_t *ips = sr->buf;

	if (id < 0 || sr->depth <= 0 || !sr->buf || ms_registry_has_stack(r, pid, id))
		return 0;
	memset(sr->buf, 0, sizeof(struct ms_ustack));
	if (bpf_map_lookup_elem(sr->fd, &key, sr->buf))
		return 0;
	if (sr->dwarf) {
		n = u->nr < (uint32_t)sr->depth ? u->nr : (uint32_t)sr->depth;
		return ms_registry_add_stack(r, pid, id, (const uint64_t *)u->ip, n, u->end) == 0;
	}
	while (n < (uint32_t)sr->depth && ips[n])
		n++;
	return ms_registry_add_stack(r, pid, id, ips, n, MS_UNW_END_MAX) == 0;
}

int ms_bpfmaps_read_fast(struct ms_loader *l, struct ms_registry *r, int stack_depth)
{
	int live = ms_loader_live_fd(l), sites = ms_loader_sites_fd(l);
	struct ms_live_key k, nk, *prev = NULL;
	struct ms_site_key sk, nsk, *sprev = NULL;
	struct ms_live_val v;
	struct ms_site_val sv;
	struct ms_stack_reader sr;

	if (ms_stack_reader_init(&sr, l, stack_depth))
		return -ENOMEM;
	ms_registry_live_begin(r);
	while (bpf_map_get_next_key(live, prev, &nk) == 0) {
		struct ms_ev_heap e;

		k = nk;
		prev = &k;
		if (bpf_map_lookup_elem(live, &k, &v))
			continue;
		memset(&e, 0, sizeof(e));
		e.h.type = MS_EV_LIVE;
		e.h.size = sizeof(e);
		e.h.pid = k.pid;
		e.h.tid = v.tid;
		e.h.ts_ns = v.ts_ns;
		e.h.scope = v.scope;
		e.h.task = v.task;
		e.addr = k.addr;
		e.size = v.size;
		e.weight = v.weight;
		e.stack_id = v.stack_id;
		e.kind = v.kind;
		ms_bpfmaps_fetch_stack(&sr, r, k.pid, v.stack_id);
		ms_registry_consume(r, &e, sizeof(e));
	}
	ms_registry_live_end(r);
	while (bpf_map_get_next_key(sites, sprev, &nsk) == 0) {
		sk = nsk;
		sprev = &sk;
		if (bpf_map_lookup_elem(sites, &sk, &sv))
			continue;
		ms_bpfmaps_fetch_stack(&sr, r, sk.pid, sk.stack_id);
		ms_registry_set_site(r, sk.pid, sk.stack_id, &sv);
	}
	ms_stack_reader_fini(&sr);
	return 0;
}
