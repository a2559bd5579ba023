/* SPDX-License-Identifier: BSD-3-Clause */
/* strtab.h - one arena for every string the registry keeps (names, types,
 * files, task names), deduplicated by content. A string is a uint32_t
 * offset; 0 means "none". */
#ifndef MS_UTIL_STRTAB_H
#define MS_UTIL_STRTAB_H

#include <stddef.h>
#include <stdint.h>
#include "util/hashmap.h"

struct ms_strtab {
	char *buf;
	size_t len, cap;
	struct ms_hashmap index; /* (hash, len) -> offset */
};

/* Copy s[0..n) (stops at an embedded NUL) and return its offset; the same
 * text always yields the same offset. 0 on allocation failure or if the
 * arena would pass 4 GiB. */
uint32_t ms_str_intern(struct ms_strtab *t, const char *s, size_t n);
/* The offset of s[0..n) if it is already in t, else 0 (nothing added). */
uint32_t ms_str_find(const struct ms_strtab *t, const char *s, size_t n);
/* The text at offset `off`, or NULL for 0. Valid until the next intern. */
const char *ms_str_get(const struct ms_strtab *t, uint32_t off);
void ms_strtab_free(struct ms_strtab *t);

#endif
