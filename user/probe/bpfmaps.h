/* SPDX-License-Identifier: BSD-3-Clause */
/* bpfmaps.h - read the BPF aggregation maps (fast mode) into the registry. */
#ifndef MS_PROBE_BPFMAPS_H
#define MS_PROBE_BPFMAPS_H

#include "probe/loader.h"
#include "registry/registry.h"

/* Reads stacks from the loader's stack map: the DWARF walk's (struct
 * ms_ustack values) or the kernel's (bare frame arrays). */
struct ms_stack_reader {
	int fd;
	int dwarf;
	int depth;
	void *buf; /* one map value */
};

/* 0 or -ENOMEM (free with ms_stack_reader_fini; a zeroed reader is fine). */
int ms_stack_reader_init(struct ms_stack_reader *sr, const struct ms_loader *l, int depth);
void ms_stack_reader_fini(struct ms_stack_reader *sr);

/* Copy stack `id` from the BPF stack map into the registry the first
 * time it is seen, while the map still holds it. Returns 1 if a stack was
 * added, 0 otherwise. */
int ms_bpfmaps_fetch_stack(struct ms_stack_reader *sr, struct ms_registry *r, uint32_t pid,
			   int32_t id);
/* Replace the registry's live blocks with the BPF live-block map, and its
 * site counters with the BPF site map; fetch the stacks they name.
 * 0 or -errno. */
int ms_bpfmaps_read_fast(struct ms_loader *l, struct ms_registry *r, int stack_depth);

#endif
