/* SPDX-License-Identifier: BSD-3-Clause */
/* consumer.h - drain the BPF ring buffer into the registry. Each record's
 * stack id is resolved from the BPF stack map the first time it is seen,
 * while the map still holds it. */
#ifndef MS_PROBE_CONSUMER_H
#define MS_PROBE_CONSUMER_H

#include <stdint.h>
#include "probe/loader.h"
#include "registry/registry.h"

struct ms_consumer;

/* NULL + errno on failure. The consumer borrows l and r. */
struct ms_consumer *ms_consumer_new(struct ms_loader *l, struct ms_registry *r, int stack_depth);
/* Wait up to timeout_ms for a wakeup, then drain everything available
 * (the BPF side submits without wakeups, so a timed drain is the normal
 * path): the ring, and TRACK_VAR's per-CPU buffers (varbuf.h) merged into
 * the ring's order. Returns records consumed or -errno. */
int ms_consumer_poll(struct ms_consumer *c, int timeout_ms);
/* Drain everything produced up to now (not what a target that runs on
 * adds meanwhile). Returns records consumed or -errno. */
int ms_consumer_drain(struct ms_consumer *c);
/* Called for every record after the registry took it (may be NULL). */
void ms_consumer_set_hook(struct ms_consumer *c,
			  void (*hook)(void *user, const struct ms_hdr *h), void *user);
/* Distinct stacks fetched so far: new ones may sit in new libraries. */
uint64_t ms_consumer_stacks(const struct ms_consumer *c);
void ms_consumer_free(struct ms_consumer *c);

#endif
