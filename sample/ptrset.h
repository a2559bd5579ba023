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
 * A group whose PTRSET_GROUP slots all hold live keys is "full": the insert
 * fails and the caller counts the block as untracked. At the default 512 KiB
 * interval that needs thousands of live samples hashing to one group; in
 * practice it means gigabytes of sampled heap or a pathological interval.
 */
#ifndef MEMSCOPE_SAMPLE_PTRSET_H
#define MEMSCOPE_SAMPLE_PTRSET_H

#include <stdint.h>

#define PTRSET_BITS 16
#define PTRSET_SLOTS (1u << PTRSET_BITS) /* 64 Ki slots */
#define PTRSET_GROUP 16                  /* slots probed per key */

/* Add address p (not 0 or 1; malloc's results are 16-byte aligned).
 * Returns 0 when p is in the set afterwards (including when it already
 * was: a stale entry for a block freed while no tracer listened), -ENOSPC
 * when p's group is full. Lock-free, async-signal-safe, no allocation. */
int ptrset_insert(uintptr_t p);

/* Remove p. Returns 1 if p was in the set (this call removed it), 0
 * otherwise. Lock-free, async-signal-safe, no allocation. */
int ptrset_remove(uintptr_t p);

#endif /* MEMSCOPE_SAMPLE_PTRSET_H */
