/* SPDX-License-Identifier: BSD-3-Clause */
/* vec.h - the project's growable array. Every array that grows as records,
 * links, modules or frames arrive uses it, so growth, overflow and
 * out-of-memory are handled in one place.
 *
 *   MS_VEC(struct ms_var) vars = { 0 };
 *   struct ms_var *v;
 *   if (MS_VEC_PUSH(vars, v))   // v points at the new, uninitialised slot
 *           return -ENOMEM;     // vars is unchanged
 *   ...
 *   MS_VEC_FREE(vars);
 *
 * Capacity doubles (from 16), so n pushes cost O(n) copies in all. Elements
 * move when the array grows: keep indices, not pointers, across a push.
 * A struct that wants its own field names calls ms_vec_reserve() on them. */
#ifndef MS_UTIL_VEC_H
#define MS_UTIL_VEC_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define MS_VEC(T) struct { T *v; size_t n, cap; }

/* Make room for at least `need` elements of size `elem` in *v (capacity
 * *cap). Returns 0, or -ENOMEM with *v and *cap unchanged. */
static inline int ms_vec_reserve(void **v, size_t *cap, size_t elem, size_t need)
{
	size_t ncap = *cap ? *cap : 16;
	void *nv;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elem)
		return -ENOMEM;
	nv = realloc(*v, ncap * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

/* Room for `extra` more elements: 0 or -ENOMEM. */
#define MS_VEC_RESERVE(vec, extra)                                              \
	ms_vec_reserve((void **)&(vec).v, &(vec).cap, sizeof(*(vec).v), (vec).n + (extra))

/* Append one slot and point r at it: 0, or -1 (out of memory, vec
 * unchanged). */
#define MS_VEC_PUSH(vec, r)                                                     \
	(((vec).n < (vec).cap || MS_VEC_RESERVE(vec, 1) == 0)                  \
		 ? ((r) = &(vec).v[(vec).n++], 0)                                 \
		 : -1)

#define MS_VEC_FREE(vec) (free((vec).v), (vec).v = NULL, (vec).n = (vec).cap = 0)

#endif
