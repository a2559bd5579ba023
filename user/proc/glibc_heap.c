/* SPDX-License-Identifier: BSD-3-Clause */
/* glibc_heap.c - walk glibc's malloc heap in a held process (see
 * glibc_heap.h). How a chunk is told apart, as malloc.c lays them out:
 *
 *   arenas     main_arena, then each malloc_state's `next` until it comes
 *              back round. The main arena's chunks run from mp_.sbrk_base
 *              to its top chunk; every other arena's live in heaps of
 *              heap_max bytes (64 MiB) aligned to heap_max, found from the
 *              top chunk and chained by heap_info.prev, chunks after the
 *              heap_info (and after the malloc_state in the arena's first),
 *              ending at a fencepost (a chunk header of 16 or 0 bytes).
 *   in use     the next chunk's PREV_INUSE bit is set, and the chunk is in
 *              no fastbin and no tcache (both keep that bit set);
 *   tcache     its second user word holds tcache_key, the random value
 *              glibc itself checks for double frees;
 *   fastbin    on a fastbin list of its arena (pointers mangled with the
 *              address they are stored at, >> 12: safe-linking);
 *   mmapped    a chunk of its own mapping, which glibc lists nowhere: an
 *              anonymous read-write mapping that starts with a header of
 *              prev_size 0 and IS_MMAPPED, a whole number of pages. One
 *              the kernel merged behind another mapping, or a memalign
 *              one with a lead gap, is missed: its words then count as
 *              roots (fewer leaks found, none invented).
 *   glibc's own  each thread's tcache_perthread_struct is a chunk in use
 *              that the program never asked for: left out when its counts
 *              and entries say what it is.
 *
 * The process must stand still (a thread stopped halfway through malloc
 * leaves lists half changed): a thread stopped in malloc.c's code, or an
 * arena's lock taken, fails the walk with -EAGAIN. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "proc/glibc_heap.h"
#include "proc/procmaps.h"
#include "util/hashmap.h"
#include "util/vec.h"

#define SIZE_SZ 8
#define HDR 16        /* prev_size + size */
#define MINSIZE 32
#define ALIGN 16
#define PREV_INUSE 1ULL
#define IS_MMAPPED 2ULL
#define NON_MAIN_ARENA 4ULL
#define FLAGS 7ULL
#define HEAP_MAX (64ULL << 20) /* 2 * DEFAULT_MMAP_THRESHOLD_MAX on 64-bit */
#define MAX_ARENAS 4096
#define MAX_HEAPS 1000000
#define MAX_LIST 10000000 /* fastbin entries followed per list */
/* Small: big chunks are stepped over by their headers, and a window that
 * ran on into their contents would read the heap twice (walk, then scan) */
#define WINDOW (16U << 10)

/* Reads of the target through a window: a walk goes up through memory, so
 * each byte is read at most once, up to 16 KiB per system call. */
struct rd {
	pid_t pid;
	uint64_t base;
	size_t len;
	unsigned char *buf;
	size_t want; /* bytes a refill reads: a window, or a header's worth */
	uint64_t bytes, calls;
};

static int rd_raw(struct rd *r, uint64_t addr, void *buf, size_t len, size_t *got)
{
	struct iovec l = { buf, len }, rm = { (void *)(uintptr_t)addr, len };
	ssize_t n;

	r->calls++;
	n = process_vm_readv(r->pid, &l, 1, &rm, 1, 0);
	if (n < 0)
		return errno == ESRCH ? -ESRCH : -EFAULT;
	r->bytes += (uint64_t)n;
	*got = (size_t)n;
	return 0;
}

/* The 8 bytes at addr (8-aligned). */
static int rd_word(struct rd *r, uint64_t addr, uint64_t *v)
{
	size_t got = 0;
	int err;

	if (addr < r->base || addr + 8 > r->base + r->len) {
		/* a window from addr to the end of its 16 KiB, at least a page;
		 * or, past a big chunk, its next header alone */
		size_t want = WINDOW - (size_t)(addr & (WINDOW - 1));

		if (want < 4096)
			want += WINDOW;
		if (r->want && r->want < want)
			want = r->want;
		err = rd_raw(r, addr, r->buf, want, &got);
		if (err)
			return err;
		if (got < 8) {
			r->len = 0;
			return -EFAULT;
		}
		r->base = addr;
		r->len = got;
	}
	memcpy(v, r->buf + (addr - r->base), 8);
	return 0;
}

static int rd_bytes(struct rd *r, uint64_t addr, void *buf, size_t len)
{
	size_t got = 0;
	int err = rd_raw(r, addr, buf, len, &got);

	return err ? err : got == len ? 0 : -EFAULT;
}

static uint64_t field(const unsigned char *s, uint32_t off)
{
	uint64_t v;

	memcpy(&v, s + off, 8);
	return v;
}

struct walk {
	struct rd rd;
	const struct ms_glibc_layout *L;
	uint64_t bias, key;
	struct ms_hashmap fast; /* fastbin chunks: (0, chunk) */
	struct ms_heap_walk *w;
	size_t capb, capo;
	char *why;
	size_t whylen;
};

static int add_owned(struct walk *k, uint64_t mem)
{
	if (ms_vec_reserve((void **)&k->w->owned, &k->capo, sizeof(*k->w->owned), k->w->nowned + 1))
		return -ENOMEM;
	k->w->owned[k->w->nowned++] = mem;
	return 0;
}

static int add_block(struct walk *k, uint64_t mem, uint64_t size)
{
	if (ms_vec_reserve((void **)&k->w->blocks, &k->capb, sizeof(*k->w->blocks), k->w->nblocks + 1))
		return -ENOMEM;
	k->w->blocks[k->w->nblocks++] = (struct ms_heap_block){ mem, size };
	return 0;
}

static int bad(struct walk *k, const char *what, uint64_t addr)
{
	snprintf(k->why, k->whylen, "%s at 0x%" PRIx64, what, addr);
	return -EPROTO;
}

/* Is the chunk at c (size sz, in use) a thread's tcache_perthread_struct?
 * first: it is the first chunk of its arena, where a thread's first
 * malloc puts it, so an empty one counts too. */
static int is_tcache_struct(struct walk *k, uint64_t c, uint64_t sz, int first)
{
	const struct ms_glibc_layout *L = k->L;
	unsigned char buf[4096];
	uint32_t i, some = 0;

	if (!L->tc_sizeof || L->tc_sizeof > sizeof(buf) ||
	    sz != ((L->tc_sizeof + SIZE_SZ + ALIGN - 1) & ~(uint64_t)(ALIGN - 1)))
		return 0;
	if (rd_bytes(&k->rd, c + HDR, buf, L->tc_sizeof))
		return 0;
	for (i = 0; i < L->tc_bins; i++) {
		uint64_t count = 0, e = field(buf, L->tc_entries + 8 * i), key;

		memcpy(&count, buf + L->tc_counts + L->tc_count_size * i, L->tc_count_size);
		if (!e != !count || (e & (ALIGN - 1)))
			return 0;
		if (e) {
			if (rd_bytes(&k->rd, e + 8, &key, 8) || key != k->key)
				return 0;
			some = 1;
		}
	}
	return some || first;
}

/* Chunks from c up to end (exclusive), or to top; a fencepost (a header
 * smaller than MINSIZE) ends the heap. main: the main arena's brk heap. */
static int walk_chunks(struct walk *k, uint64_t c, uint64_t end, uint64_t top, int main)
{
	struct ms_heap_walk *w = k->w;
	uint64_t first = c;
	int err;

	while (c < end) {
		uint64_t hs, sz, nhs, key = 0;

		if (c == top) {
			w->free_chunks++;
			return add_owned(k, c + HDR);
		}
		if ((err = rd_word(&k->rd, c + 8, &hs)))
			return err == -ESRCH ? err : bad(k, "chunk header unreadable", c);
		sz = hs & ~FLAGS;
		/* the tcache key sits right after the header: read with it */
		if (sz >= MINSIZE && rd_word(&k->rd, c + HDR + 8, &key))
			key = 0;
		if (sz < MINSIZE) {
			if (main && top)
				return bad(k, "the main arena's heap is not contiguous: fencepost", c);
			return 0; /* a fencepost: the heap ends */
		}
		if ((sz & (ALIGN - 1)) || c + sz > end || c + sz < c || (hs & IS_MMAPPED))
			return bad(k, "chunk of impossible size", c);
		k->rd.want = sz > WINDOW / 4 ? 32 : 0; /* past a big one: its next header alone */
		err = rd_word(&k->rd, c + sz + 8, &nhs);
		k->rd.want = 0;
		if (err)
			return err == -ESRCH ? err : bad(k, "chunk header unreadable", c + sz);
		w->chunks++;
		w->heap_bytes += sz;
		if ((err = add_owned(k, c + HDR)))
			return err;
		if (!(nhs & PREV_INUSE)) {
			w->free_chunks++;
		} else if (ms_hm_get(&k->fast, 0, c)) {
			w->fastbin_chunks++;
		} else if (key == k->key && k->key) {
			w->tcache_chunks++;
		} else if (is_tcache_struct(k, c, sz, c == first)) {
			w->tcache_structs++;
		} else if ((err = add_block(k, c + HDR, sz - SIZE_SZ))) {
			return err;
		}
		c += sz;
	}
	if (top && main)
		return bad(k, "the main arena's heap ends before its top chunk", c);
	return 0;
}

/* The chunks on arena a's fastbin lists, into k->fast. */
static int fastbins(struct walk *k, const unsigned char *ms)
{
	uint32_t i;

	for (i = 0; i < k->L->nfastbins; i++) {
		uint64_t p = field(ms, k->L->ms_fastbins + 8 * i), n;
		size_t steps = 0;

		while (p && steps++ < MAX_LIST) {
			if ((p & (ALIGN - 1)) || rd_bytes(&k->rd, p + HDR, &n, 8))
				return bad(k, "fastbin list broken", p);
			if (ms_hm_put(&k->fast, 0, p, 1))
				return -ENOMEM;
			p = n ^ ((p + HDR) >> 12); /* REVEAL_PTR */
		}
	}
	return 0;
}

static int read_arena(struct walk *k, uint64_t a, unsigned char *ms)
{
	int err = rd_bytes(&k->rd, a, ms, k->L->ms_size);
	uint32_t mutex;

	if (err)
		return err == -ESRCH ? err : bad(k, "arena unreadable", a);
	memcpy(&mutex, ms + k->L->ms_mutex, 4);
	if (mutex) {
		snprintf(k->why, k->whylen, "an arena's lock is taken (a thread is in malloc)");
		return -EAGAIN;
	}
	return fastbins(k, ms);
}

/* The heaps of non-main arena a, newest (the one with top) first; each
 * heap's base is appended to heaps[*nheaps] (room for one is there, more
 * are made): their mappings are no mmapped chunks. */
static int walk_arena_heaps(struct walk *k, uint64_t a, const unsigned char *ms, uint64_t heap_max,
			    uint64_t **heaps, size_t *nheaps, size_t *cap)
{
	const struct ms_glibc_layout *L = k->L;
	uint64_t top = field(ms, L->ms_top), h = top & ~(heap_max - 1);
	unsigned char hi[256];
	size_t n = 0;
	int err;

	if (L->hi_sizeof > sizeof(hi))
		return bad(k, "heap_info too large", a);
	while (h && n++ < MAX_HEAPS) {
		uint64_t start, size, prev;

		if ((err = rd_bytes(&k->rd, h, hi, L->hi_sizeof)))
			return err == -ESRCH ? err : bad(k, "heap_info unreadable", h);
		size = field(hi, L->hi_size);
		prev = field(hi, L->hi_prev);
		if (field(hi, L->hi_ar_ptr) != a || size > heap_max || size < L->hi_sizeof)
			return bad(k, "heap_info does not belong to its arena", h);
		if (ms_vec_reserve((void **)heaps, cap, sizeof(**heaps), *nheaps + 1))
			return -ENOMEM;
		(*heaps)[(*nheaps)++] = h;
		start = h + L->hi_sizeof;
		if (a == start) /* the arena's first heap holds its malloc_state */
			start = a + L->ms_size;
		start = (start + ALIGN - 1) & ~(uint64_t)(ALIGN - 1);
		k->w->heaps++;
		if ((err = walk_chunks(k, start, h + size, top >= h && top < h + size ? top : 0, 0)))
			return err;
		h = prev;
	}
	return 0;
}

struct mmapped {
	struct walk *k;
	uint64_t heap_max;
	const uint64_t *arena_heaps;
	size_t nah;
};

/* One mapping: if anonymous, read-write and no arena's, the chunks with
 * mappings of their own that start it (the kernel merges neighbours). */
static int mmapped_in(const struct ms_mapping *mp, void *user)
{
	struct mmapped *x = user;
	struct walk *k = x->k;
	uint64_t c;
	size_t i;
	int err;

	if (strcmp(mp->perms, "rw-p") || mp->path[0])
		return 0; /* file-backed, [heap], [stack] and friends */
	for (i = 0; i < x->nah; i++)
		if (x->arena_heaps[i] < mp->end && x->arena_heaps[i] + x->heap_max > mp->start)
			return 0;
	for (c = mp->start; c + 4096 <= mp->end;) {
		uint64_t hdr[2], sz;

		if (rd_bytes(&k->rd, c, hdr, sizeof(hdr)))
			break;
		sz = hdr[1] & ~FLAGS;
		if (hdr[0] || (hdr[1] & FLAGS) != IS_MMAPPED || !sz || (sz & 4095) ||
		    c + sz > mp->end || c + sz < c)
			break;
		k->w->mmapped++;
		k->w->heap_bytes += sz;
		if ((err = add_owned(k, c + HDR)) || (err = add_block(k, c + HDR, sz - HDR)))
			return err;
		c += sz;
	}
	return 0;
}

/* Chunks with mappings of their own: at the start of anonymous read-write
 * mappings that hold no arena. */
static int walk_mmapped(struct walk *k, uint64_t heap_max, const uint64_t *arena_heaps, size_t nah)
{
	struct mmapped x = { k, heap_max, arena_heaps, nah };

	return ms_maps_each(k->rd.pid, mmapped_in, &x);
}

static int by_addr(const void *a, const void *b)
{
	const struct ms_heap_block *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int walk_all(struct walk *k)
{
	const struct ms_glibc_layout *L = k->L;
	unsigned char *ms = malloc(L->ms_size), mp[512];
	uint64_t main_arena = k->bias + L->main_arena, a = main_arena, heap_max = HEAP_MAX;
	uint64_t *ah = NULL, sbrk;
	size_t nah = 0, cap = 0, n = 0;
	uint32_t mp_len = L->mp_sbrk_base + 8;
	int err;

	if (!ms)
		return -ENOMEM;
	if (L->mp_hp_pagesize != UINT32_MAX && L->mp_hp_pagesize + 8 > mp_len)
		mp_len = L->mp_hp_pagesize + 8;
	if (mp_len > sizeof(mp)) {
		err = bad(k, "malloc_par too large", 0);
		goto out;
	}
	if ((err = rd_bytes(&k->rd, k->bias + L->mp, mp, mp_len)) ||
	    (err = rd_bytes(&k->rd, k->bias + L->tcache_key, &k->key, 8))) {
		if (err != -ESRCH)
			err = bad(k, "libc's data unreadable", k->bias + L->mp);
		goto out;
	}
	if (L->mp_hp_pagesize != UINT32_MAX && field(mp, L->mp_hp_pagesize) > heap_max)
		heap_max = field(mp, L->mp_hp_pagesize);
	sbrk = field(mp, L->mp_sbrk_base);
	do {
		if ((err = read_arena(k, a, ms)))
			goto out;
		k->w->arenas++;
		if (a == main_arena) {
			uint64_t top = field(ms, L->ms_top);

			/* no brk heap yet: top is the arena's own initial bin */
			if (sbrk && top) {
				k->w->heaps++;
				err = walk_chunks(k, (sbrk + ALIGN - 1) & ~(uint64_t)(ALIGN - 1),
						  UINT64_MAX, top, 1);
			}
		} else {
			err = walk_arena_heaps(k, a, ms, heap_max, &ah, &nah, &cap);
		}
		if (err)
			goto out;
		a = field(ms, L->ms_next);
	} while (a && a != main_arena && ++n < MAX_ARENAS);
	err = walk_mmapped(k, heap_max, ah, nah);
out:
	free(ah);
	free(ms);
	return err;
}

int ms_glibc_heap_walk(pid_t pid, const struct ms_glibc_layout *L, uint64_t bias,
		       const uint64_t *rips, size_t nrips, struct ms_heap_walk *out,
		       char *why, size_t len)
{
	struct walk k = { .rd = { .pid = pid }, .L = L, .bias = bias, .w = out, .why = why,
			  .whylen = len };
	size_t i, j;
	int err;

	memset(out, 0, sizeof(*out));
	if (len)
		why[0] = 0;
	for (i = 0; i < nrips; i++)
		for (j = 0; j < L->ncode; j++)
			if (rips[i] >= bias + L->code[j][0] && rips[i] < bias + L->code[j][1]) {
				snprintf(why, len, "a thread is stopped in malloc's code");
				return -EAGAIN;
			}
	k.rd.buf = malloc(2 * WINDOW);
	if (!k.rd.buf)
		return -ENOMEM;
	err = walk_all(&k);
	out->read_bytes = k.rd.bytes;
	out->syscalls = k.rd.calls;
	free(k.rd.buf);
	ms_hm_free(&k.fast);
	if (err) {
		ms_heap_walk_free(out);
		return err;
	}
	qsort(out->blocks, out->nblocks, sizeof(*out->blocks), by_addr);
	qsort(out->owned, out->nowned, sizeof(*out->owned), by_value);
	return 0;
}

void ms_heap_walk_free(struct ms_heap_walk *w)
{
	if (!w)
		return;
	free(w->blocks);
	free(w->owned);
	memset(w, 0, sizeof(*w));
}
