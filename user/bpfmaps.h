/* bpfmaps.h - read the BPF aggregation maps (fast mode) into the registry. */
#ifndef MS_BPFMAPS_H
#define MS_BPFMAPS_H

#include "loader.h"
#include "registry.h"

/* Replace the registry's live blocks with the BPF live-block map, and its
 * site counters with the BPF site map; fetch the stacks they name.
 * 0 or -errno. */
int ms_bpfmaps_read_fast(struct ms_loader *l, struct ms_registry *r, int stack_depth);

#endif
