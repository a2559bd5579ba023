/* SPDX-License-Identifier: BSD-3-Clause */
/* varbuf.h - read TRACK_VAR records from BPF's per-CPU buffers (struct
 * ms_vslot, struct ms_vcpu in memscope_events.h) in place, through mmap.
 *
 * Each record carries the ring buffer's producer position at its probe.
 * The ring consumer (consumer.c) asks for the records at or before the
 * position of the ring record it is about to hand over, so both streams
 * reach the registry in one order: the ring's, with each TRACK_VAR where
 * its probe fell. No clocks are compared. */
#ifndef MS_PROBE_VARBUF_H
#define MS_PROBE_VARBUF_H

#include <stdint.h>
#include "memscope_events.h"

struct ms_varbuf;

/* Map the two BPF arrays: slots_fd holds ncpus * slots struct ms_vslot,
 * cpus_fd ncpus struct ms_vcpu. NULL + errno on failure. */
struct ms_varbuf *ms_varbuf_new(int slots_fd, int cpus_fd, int ncpus, uint32_t slots);
/* Look at what BPF has published since (records are handed out only up to
 * the last look). */
void ms_varbuf_look(struct ms_varbuf *b);
/* The next record in order (smallest ring position, then time) whose ring
 * position is <= limit, or NULL. It stays valid until ms_varbuf_next() is
 * called again or ms_varbuf_release(). */
const struct ms_vslot *ms_varbuf_next(struct ms_varbuf *b, uint64_t limit);
/* Give the slots handed out so far back to BPF. */
void ms_varbuf_release(struct ms_varbuf *b);
void ms_varbuf_free(struct ms_varbuf *b);

#endif
