/* SPDX-License-Identifier: BSD-3-Clause */
/* bpfmaps.h - read the BPF aggregation maps (fast mode) into the registry. */
#ifndef MS_PROBE_BPFMAPS_H
#define MS_PROBE_BPFMAPS_H

#include "probe/loader.h"
#include "registry/registry.h"

/* Replace the registry's live blocks with the BPF live-block map, and its
 * site counters with the BPF site map; fetch the stacks they name.
 * 0 or -errno. */
/* Copy stack `id` from the BPF stack map (fd) into the registry the first
 * time it is seen, while the map still holds it. ips is scratch space for
 * depth frames. Returns 1 if a stack was added, 0 otherwise. */
int ms_bpfmaps_fetch_stack(int fd, struct ms_registry *r, uint32_t pid, int32_t id, uint64_t *ips,
			   int depth);
int ms_bpfmaps_read_fast(struct ms_loader *l, struct ms_registry *r, int stack_depth);

#endif
