/* SPDX-License-Identifier: BSD-3-Clause */
/* hashmap.c - see hashmap.h. */
#include <errno.h>
#include <stdlib.h>
#include "util/hashmap.h"

static uint64_t hk(uint64_t a, uint64_t b)
{
	/* splitmix64 finalizer over both halves: addresses are aligned and
	 * clustered, so their low bits alone would collide. */
	uint64_t x = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull);

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

uint64_t *ms_hm_get(const struct ms_hashmap *m, uint64_t a, uint64_t b)
{
	size_t i, mask;

	if (!m->cap)
		return NULL;
	mask = m->cap - 1;
	for (i = hk(a, b) & mask;; i = (i + 1) & mask) {
		struct ms_hslot *s = &m->slots[i];

		if (!s->used)
			return NULL;
		if (s->k.a == a && s->k.b == b)
			return &s->v;
	}
}

static int grow(struct ms_hashmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64, i, j;
	struct ms_hslot *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++) {
		if (!m->slots[i].used)
			continue;
		for (j = hk(m->slots[i].k.a, m->slots[i].k.b) & (ncap - 1); ns[j].used;
		     j = (j + 1) & (ncap - 1))
			;
		ns[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	return 0;
}

int ms_hm_put(struct ms_hashmap *m, uint64_t a, uint64_t b, uint64_t v)
{
	size_t i, mask;
	uint64_t *p = ms_hm_get(m, a, b);

	if (p) {
		*p = v;
		return 0;
	}
	/* Keep the load under 1/2: probes stay short. */
	if ((m->len + 1) * 2 > m->cap && grow(m))
		return -ENOMEM;
	mask = m->cap - 1;
	for (i = hk(a, b) & mask; m->slots[i].used; i = (i + 1) & mask)
		;
	m->slots[i].k.a = a;
	m->slots[i].k.b = b;
	m->slots[i].v = v;
	m->slots[i].used = 1;
	m->len++;
	return 0;
}

int ms_hm_del(struct ms_hashmap *m, uint64_t a, uint64_t b, uint64_t *old)
{
	size_t i, j, mask;
	uint64_t *p = ms_hm_get(m, a, b);

	if (!p)
		return 0;
	if (old)
		*old = *p;
	mask = m->cap - 1;
	i = (size_t)((struct ms_hslot *)((char *)p - offsetof(struct ms_hslot, v)) - m->slots);
	m->slots[i].used = 0;
	m->len--;
	/* Backward shift: move later entries of the cluster into the hole when
	 * their home slot is not between the hole and them. */
	for (j = (i + 1) & mask; m->slots[j].used; j = (j + 1) & mask) {
		size_t home = hk(m->slots[j].k.a, m->slots[j].k.b) & mask;

		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			m->slots[i] = m->slots[j];
			m->slots[j].used = 0;
			i = j;
		}
	}
	return 1;
}

void ms_hm_free(struct ms_hashmap *m)
{
	if (!m)
		return;
	free(m->slots);
	m->slots = NULL;
	m->cap = m->len = 0;
}
