/* SPDX-License-Identifier: BSD-3-Clause */
/* bpfmaps.c - see bpfmaps.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "probe/bpfmaps.h"

int ms_bpfmaps_fetch_stack(int fd, struct ms_registry *r, uint32_t pid, int32_t id, uint64_t *ips,
			   int depth)
{
	uint32_t key = (uint32_t)id, n = 0;

	if (id < 0 || depth <= 0 || ms_registry_has_stack(r, pid, id))
		return 0;
	memset(ips, 0, (size_t)depth * sizeof(*ips));
	if (bpf_map_lookup_elem(fd, &key, ips))
		return 0;
	while (n < (uint32_t)depth && ips[n])
		n++;
	return ms_registry_add_stack(r, pid, id, ips, n) == 0;
}

int ms_bpfmaps_read_fast(struct ms_loader *l, struct ms_registry *r, int stack_depth)
{
	int live = ms_loader_live_fd(l), sites = ms_loader_sites_fd(l), stacks = ms_loader_stacks_fd(l);
	struct ms_live_key k, nk, *prev = NULL;
	struct ms_site_key sk, nsk, *sprev = NULL;
	struct ms_live_val v;
	struct ms_site_val sv;
	uint64_t *ips = calloc(stack_depth > 0 ? (size_t)stack_depth : 1, sizeof(*ips));

	if (!ips)
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
		ms_bpfmaps_fetch_stack(stacks, r, k.pid, v.stack_id, ips, stack_depth);
		ms_registry_consume(r, &e, sizeof(e));
	}
	ms_registry_live_end(r);
	while (bpf_map_get_next_key(sites, sprev, &nsk) == 0) {
		sk = nsk;
		sprev = &sk;
		if (bpf_map_lookup_elem(sites, &sk, &sv))
			continue;
		ms_bpfmaps_fetch_stack(stacks, r, sk.pid, sk.stack_id, ips, stack_depth);
		ms_registry_set_site(r, sk.pid, sk.stack_id, &sv);
	}
	free(ips);
	return 0;
}
