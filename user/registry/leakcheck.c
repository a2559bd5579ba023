/* SPDX-License-Identifier: BSD-3-Clause */
/* leakcheck.c - the registry's side of a leak check: which addresses are
 * the allocator's, and the classes the check gave the live blocks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "registry/registry_int.h"

void ms_registry_set_leak_check(struct ms_registry *r, const struct ms_leak_check *lc)
{
	r->lc = *lc;
	r->lc.when[sizeof(r->lc.when) - 1] = 0;
	r->lc.note[sizeof(r->lc.note) - 1] = 0;
}

const struct ms_leak_check *ms_registry_leak_check(const struct ms_registry *r)
{
	return &r->lc;
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int ms_registry_heap_addrs(const struct ms_registry *r, uint32_t pid, uint64_t **out, size_t *n)
{
	size_t i, k = 0, cap = r->blocks.n + r->freed.len + 1;
	uint64_t *a = malloc(cap * sizeof(*a));

	*out = NULL;
	*n = 0;
	if (!a)
		return -ENOMEM;
	for (i = 0; i < r->blocks.n; i++) {
		const struct ms_block *b = &r->blocks.v[i];

		if (b->used && b->pid == pid && b->kind != MS_K_CUSTOM)
			a[k++] = b->addr;
	}
	for (i = 0; i < r->freed.cap; i++) {
		const struct ms_hslot *sl = &r->freed.slots[i];

		if (sl->used && sl->k.a == pid)
			a[k++] = sl->k.b;
	}
	qsort(a, k, sizeof(*a), by_value);
	*out = a;
	*n = k;
	return 0;
}

void ms_registry_set_reach(struct ms_registry *r, size_t i, int cls, int heur, uint64_t indirect)
{
	struct ms_block *b;

	if (i >= r->blocks.n || !r->blocks.v[i].used)
		return;
	b = &r->blocks.v[i];
	b->reach = (uint8_t)((cls & 15) | (heur & 15) << 4);
	if (indirect)
		ms_hm_put(&r->indirect, b->pid, b->addr, indirect);
	else
		ms_hm_del(&r->indirect, b->pid, b->addr, NULL);
}

uint64_t ms_registry_block_indirect(const struct ms_registry *r, const struct ms_block *b)
{
	uint64_t *v = ms_hm_get(&r->indirect, b->pid, b->addr);

	return v ? *v : 0;
}

void ms_reg_leakcheck_free(struct ms_registry *r)
{
	ms_hm_free(&r->indirect);
}
