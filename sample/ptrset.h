/* SPDX-License-Identifier: BSD-3-Clause */
/* ptrset.h - the lock-free set of sampled block addresses in
 * libmemscope_sample.so.
 *
 * A fixed table of PTRSET_SLOTS words in .bss (512 KiB of address space;
 * pages are only materialised once a tracer is attached and blocks are
 * sampled). Open addressing: a key lives in the aligned group of
 * PTRSET_GROUP slots (two cache lines) that holds its home slot, probed
 * from the home slot round the group. Slots hold 0 (empty), 1 (tombstone)
 * or an address; every change is one compare-and-swap, so any number of
 * threads and signal handlers may use the set at once with no lock, and an
 * operation touches at most one group (bounded cost, never a scan of the
 * table).
 *
 * Invariant that makes lookups correct without locks: a slot never goes
 * back to empty, and an insert takes the first empty-or-tombstone slot of
 * its probe sequence, so no key ever sits behind an empty slot of its
 * sequence; a lookup stops at the first empty slot or after the group.
 * Tombstones are reused by inserts. The cost is that a group full of
 * tombstones makes a miss probe all PTRSET_GROUP slots (still two lines).
 *
 * Each group also has a count of the keys inserted in it and not yet
 * removed, in a 4 KiB array that stays in cache: a free checks it first,
 * so the frees of unsampled blocks (nearly all of them) cost one load while
 * a tracer is attached, however many tombstones the table has gathered.
 * The count is raised after the key's CAS and lowered after its removal,
 * so it is never 0 while a key whose insert has returned is in the group.
 *
 * A group whose PTRSET_GROUP slots all hold live keys is "full": the insert
 * fails and the caller counts the block as untracked. At the default 512 KiB
 * interval that needs thousands of live samples hashing to one group; in
 * practice it means gigabytes of sampled heap or a pathological interval.
 */
#ifndef MS_SAMPLE_PTRSET_H
#define MS_SAMPLE_PTRSET_H

#include <stdint.h>

#define PTRSET_BITS 16
#define PTRSET_SLOTS (1u << PTRSET_BITS) /* 64 Ki slots */
#define PTRSET_GROUP 16                  /* slots probed per key */
#define PTRSET_GROUPS (PTRSET_SLOTS / PTRSET_GROUP)

/* Keys per group (see above); written only by ptrset.c. */
extern unsigned char ptrset_group_keys[PTRSET_GROUPS];

/* Home slot of p: multiplicative hash of the address without its
 * alignment bits (malloc's blocks are 16-byte aligned). */
static inline uint32_t ptrset_home(uintptr_t p)
{
	return (uint32_t)(((uint64_t)(p >> 4) * 0x9E3779B97F4A7C15ULL) >> (64 - PTRSET_BITS));
}

/* False when p is certainly not in the set: one load from a small array.
 * True means "look": p may be there. Lock-free, async-signal-safe. */
static inline int ptrset_may_contain(uintptr_t p)
{
	return __atomic_load_n(&ptrset_group_keys[ptrset_home(p) / PTRSET_GROUP],
			       __ATOMIC_RELAXED) != 0;
}

/* Add address p (not 0 or 1; malloc's results are 16-byte aligned).
 * Returns 0 when p is in the set afterwards (including when it already
 * was: a stale entry for a block freed while no tracer listened), -ENOSPC
 * when p's group is full. Lock-free, async-signal-safe, no allocation. */
int ptrset_insert(uintptr_t p);

/* Remove p. Returns 1 if p was in the set (this call removed it), 0
 * otherwise. Lock-free, async-signal-safe, no allocation. */
int ptrset_remove(uintptr_t p);

#endif /* MS_SAMPLE_PTRSET_H */
