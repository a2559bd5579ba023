/* SPDX-License-Identifier: BSD-3-Clause */
/* strtab.c - see strtab.h. */
#include <stdlib.h>
#include <string.h>
#include "util/strtab.h"
#include "util/vec.h"

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

uint32_t ms_str_intern(struct ms_strtab *t, const char *s, size_t n)
{
	uint64_t h, *hit;
	size_t need;
	uint32_t off;

	if (!s)
		return 0;
	n = strnlen(s, n);
	h = fnv1a(s, n);
	hit = ms_hm_get(&t->index, h, n);
	if (hit && memcmp(t->buf + *hit, s, n) == 0)
		return (uint32_t)*hit;
	if (!t->buf) {
		if (ms_vec_reserve((void **)&t->buf, &t->cap, 1, 4096))
			return 0;
		t->buf[0] = 0; /* offset 0 is "none" */
		t->len = 1;
	}
	need = t->len + n + 1;
	if (need > UINT32_MAX || ms_vec_reserve((void **)&t->buf, &t->cap, 1, need))
		return 0;
	off = (uint32_t)t->len;
	memcpy(t->buf + off, s, n);
	t->buf[off + n] = 0;
	t->len = need;
	if (!hit)
		ms_hm_put(&t->index, h, n, off);
	return off;
}

uint32_t ms_str_find(const struct ms_strtab *t, const char *s, size_t n)
{
	uint64_t *hit;

	if (!s || !t->buf)
		return 0;
	n = strnlen(s, n);
	hit = ms_hm_get((struct ms_hashmap *)&t->index, fnv1a(s, n), n);
	if (hit && memcmp(t->buf + *hit, s, n) == 0 && t->buf[*hit + n] == 0)
		return (uint32_t)*hit;
	return 0;
}

const char *ms_str_get(const struct ms_strtab *t, uint32_t off)
{
	if (!off || off >= t->len)
		return NULL;
	return t->buf + off;
}

void ms_strtab_free(struct ms_strtab *t)
{
	if (!t)
		return;
	free(t->buf);
	ms_hm_free(&t->index);
	memset(t, 0, sizeof(*t));
}
