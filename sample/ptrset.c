/* SPDX-License-Identifier: BSD-3-Clause */
/* ptrset.c - lock-free open-addressing set of sampled block addresses (see
 * ptrset.h for the rules that make it safe without locks). */
#include <errno.h>
#include <stddef.h>

#include "ptrset.h"

#define EMPTY ((uintptr_t)0)
#define TOMB ((uintptr_t)1)
/* How often an insert re-probes after losing a race for a slot before it
 * gives up and reports the group full (each loss means another thread made
 * progress, so this bounds the work, not correctness). */
#define INSERT_RETRIES 8

static uintptr_t slots[PTRSET_SLOTS] __attribute__((aligned(128)));
unsigned char ptrset_group_keys[PTRSET_GROUPS] __attribute__((aligned(64)));

/* The i-th slot of the probe sequence of home slot h: round its group. */
static inline uint32_t probe(uint32_t h, unsigned i)
{
	return (h & ~(uint32_t)(PTRSET_GROUP - 1)) | ((h + i) & (PTRSET_GROUP - 1));
}

int ptrset_insert(uintptr_t p)
{
	uint32_t h = ptrset_home(p);
	int tries;

	for (tries = 0; tries < INSERT_RETRIES; tries++) {
		uintptr_t *target = NULL, seen = EMPTY;
		unsigned i;

		for (i = 0; i < PTRSET_GROUP; i++) {
			uintptr_t *s = &slots[probe(h, i)];
			uintptr_t v = __atomic_load_n(s, __ATOMIC_ACQUIRE);

			if (v == p)
				return 0; /* stale entry of an earlier block at p */
			if (v == EMPTY || v == TOMB) {
				if (!target) {
					target = s;
					seen = v;
				}
				if (v == EMPTY)
					break; /* p cannot be further on */
			}
		}
		if (!target)
			return -ENOSPC;
		if (__atomic_compare_exchange_n(target, &seen, p, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			/* at most PTRSET_GROUP keys per group: no overflow */
			__atomic_fetch_add(&ptrset_group_keys[h / PTRSET_GROUP], 1,
					   __ATOMIC_RELAXED);
			return 0;
		}
		/* another thread took the slot first: probe again */
	}
	return -ENOSPC;
}

int ptrset_remove(uintptr_t p)
{
	uint32_t h = ptrset_home(p);
	unsigned i;

	for (i = 0; i < PTRSET_GROUP; i++) {
		uintptr_t *s = &slots[probe(h, i)];
		uintptr_t v = __atomic_load_n(s, __ATOMIC_ACQUIRE);

		if (v == EMPTY)
			return 0;
		if (v == p) {
			/* Fails only if another thread removed p at the same
			 * moment (a double free in the program): one wins. */
			if (!__atomic_compare_exchange_n(s, &v, TOMB, 0, __ATOMIC_ACQ_REL,
							 __ATOMIC_RELAXED))
				return 0;
			__atomic_fetch_sub(&ptrset_group_keys[h / PTRSET_GROUP], 1,
					   __ATOMIC_RELAXED);
			return 1;
		}
	}
	return 0;
}
