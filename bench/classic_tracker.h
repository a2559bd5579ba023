/* SPDX-License-Identifier: BSD-3-Clause */
/* classic_tracker.h - the in-process variable tracker memscope replaces,
 * as a comparison point for bench A (bench/track_var_loop.c).
 *
 * What a typical hand-rolled tracker does on every call: take one global
 * pthread mutex, find or insert the variable in a hash map keyed by its
 * address, and format a description of it with snprintf while holding the
 * lock. All of it runs in the target's threads, whether or not anybody ever
 * reads the table. Threads tracking at the same time serialise on the lock.
 *
 * CLASSIC_TRACK_VAR(v) is a drop-in alternative to TRACK_VAR(v). The table
 * is static and fixed-size (open addressing, linear probing); when it is full
 * new variables are counted in classic_dropped and not stored. */
#ifndef MS_BENCH_CLASSIC_TRACKER_H
#define MS_BENCH_CLASSIC_TRACKER_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CLASSIC_SLOTS 4096 /* power of two */
#define CLASSIC_DESC 128

struct classic_entry {
	const void *addr; /* NULL: free slot */
	const char *name;
	const char *file;
	unsigned long hits;
	char desc[CLASSIC_DESC];
};

static struct classic_entry classic_tab[CLASSIC_SLOTS];
static pthread_mutex_t classic_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long classic_dropped;

static inline uint64_t classic_hash(const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* Record one sighting of a variable. Cost: one lock/unlock pair, a hash
 * lookup and an snprintf, all under the lock. */
static inline void classic_track(const char *name, const void *addr, unsigned long size,
				 uint64_t value, const char *file, int line)
{
	uint64_t i = classic_hash(addr) & (CLASSIC_SLOTS - 1);
	unsigned long n;
	struct classic_entry *e = NULL;

	pthread_mutex_lock(&classic_lock);
	for (n = 0; n < CLASSIC_SLOTS; n++, i = (i + 1) & (CLASSIC_SLOTS - 1)) {
		if (classic_tab[i].addr == addr || !classic_tab[i].addr) {
			e = &classic_tab[i];
			break;
		}
	}
	if (!e) {
		classic_dropped++;
	} else {
		e->addr = addr;
		e->name = name;
		e->file = file;
		e->hits++;
		snprintf(e->desc, sizeof(e->desc), "%s=%llu (%lu bytes, line %d)", name,
			 (unsigned long long)value, size, line);
	}
	pthread_mutex_unlock(&classic_lock);
}

static inline uint64_t classic_value(const void *p, unsigned long n)
{
	uint64_t v = 0;

	memcpy(&v, p, n < sizeof(v) ? n : sizeof(v));
	return v;
}

#define CLASSIC_TRACK_VAR(v)                                                  \
	classic_track(#v, &(v), sizeof(v), classic_value(&(v), sizeof(v)),     \
		      __FILE__, __LINE__)

#endif /* MS_BENCH_CLASSIC_TRACKER_H */
