/* SPDX-License-Identifier: BSD-3-Clause */
/* hashmap.h - open-addressing hash map from a 128-bit key (two u64) to a
 * u64 value. Used by the registry for live blocks, ids and strings: no
 * allocation per entry, linear probing, backward-shift deletion (no
 * tombstones, so a long trace with churn never degrades). */
#ifndef MS_UTIL_HASHMAP_H
#define MS_UTIL_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

struct ms_hkey {
	uint64_t a, b;
};

struct ms_hslot {
	struct ms_hkey k;
	uint64_t v;
	uint64_t used; /* 0 = empty */
};

struct ms_hashmap {
	struct ms_hslot *slots;
	size_t cap; /* power of two */
	size_t len;
};

/* Zero-initialized struct ms_hashmap is an empty map. */
/* Returns a pointer to the value, or NULL. Valid until the next insert. */
uint64_t *ms_hm_get(const struct ms_hashmap *m, uint64_t a, uint64_t b);
/* Insert or overwrite. 0 or -ENOMEM. */
int ms_hm_put(struct ms_hashmap *m, uint64_t a, uint64_t b, uint64_t v);
/* Remove; returns 1 if the key was there (and its value in *old if non-NULL). */
int ms_hm_del(struct ms_hashmap *m, uint64_t a, uint64_t b, uint64_t *old);
void ms_hm_free(struct ms_hashmap *m);
/* Iterate: for (i = 0; i < m->cap; i++) if (m->slots[i].used) ... */

#endif
