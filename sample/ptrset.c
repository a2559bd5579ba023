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

/* Home slot: multiplicative hash of the address without its alignment
 * bits (malloc's blocks are 16-byte aligned). */
static inline uint32_t home(uintptr_t p)
{
	return (uint32_t)(((uint64_t)(p >> 4) * 0x9E3779B97F4A7C15ULL) >> (64 - PTRSET_BITS));
}

/* The i-th slot of the probe sequence of home slot h: round its group. */
static inline uint32_t probe(uint32_t h, unsigned i)
{
	return (h & ~(uint32_t)(PTRSET_GROUP - 1)) | ((h + i) & (PTRSET_GROUP - 1));
}

int ptrset_insert(uintptr_t p)
{
	uint32_t h = home(p);
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
						__ATOMIC_ACQUIRE))
			return 0;
		/* another thread took the slot first: probe again */
	}
	return -ENOSPC;
}

int ptrset_remove(uintptr_t p)
{
	uint32_t h = home(p);
	unsigned i;

	for (i = 0; i < PTRSET_GROUP; i++) {
		uintptr_t *s = &slots[probe(h, i)];
		uintptr_t v = __atomic_load_n(s, __ATOMIC_ACQUIRE);

		if (v == EMPTY)
			return 0;
		if (v == p) {
			/* Fails only if another thread removed p at the same
			 * moment (a double free in the program): one wins. */
			return __atomic_compare_exchange_n(s, &v, TOMB, 0, __ATOMIC_ACQ_REL,
							   __ATOMIC_RELAXED);
		}
	}
	return 0;
}
