/* SPDX-License-Identifier: BSD-3-Clause */
/* reach.c - leak kinds from a picture of a process's memory.
 *
 * The question a leak report must answer is the one valgrind's memcheck
 * answers: when the program stopped, could it still have freed this block,
 * i.e. does anything still point to it? memcheck (mc_leakcheck.c and the
 * "Memory leak detection" section of its manual) and LeakSanitizer (its
 * design document: "a leak is a block not reachable from the root set")
 * both treat it as reachability in a graph, and memscope uses memcheck's
 * rules so that its classes can be checked against memcheck's on the same
 * binary:
 *
 *   - Nodes are the live blocks and the root set: every aligned 8-byte word
 *     of writable memory that is not inside a block (module data, .bss and
 *     relro, every thread's stack from its stack pointer up, TLS) and every
 *     general register of every thread.
 *   - A word whose value is the first byte of a block is a start pointer;
 *     one that falls inside it is an interior pointer. A zero-sized block
 *     counts as one byte wide (malloc(0) is not lost while pointed to).
 *   - still reachable: a chain of start pointers leads to it from a root.
 *     memcheck's heuristics (std::string's header, a 64-bit length, new[]'s
 *     element count, a second vtable of multiple inheritance) make some
 *     interior pointers count as start pointers; they are on by default in
 *     memcheck and here.
 *   - possibly lost: some chain from a root reaches it, but every such
 *     chain has an interior pointer in it (or passes through a possibly lost
 *     block).
 *   - The rest is lost. A lost block pointed to by another lost block is
 *     indirectly lost; one no lost block points to is definitely lost. In a
 *     lost cycle nobody is first, so memcheck makes the block it meets first
 *     (lowest address) the "clique leader": definitely lost, the rest of the
 *     cycle indirectly. Here too, so that counts match.
 *
 * Two passes over the graph, as memcheck makes them. The first marks from
 * the roots: a block reached by a start pointer from a root or from a
 * reachable block becomes reachable, anything else reached becomes possible,
 * and a block that changes state is scanned (again). The states it ends in
 * do not depend on the order of the walk. The second takes the blocks left
 * unreached in address order; each one still unreached leads a clique and
 * takes every unreached block it reaches (through any pointer) as
 * indirectly lost, adding their bytes to its own "indirect" count, a
 * previous leader included.
 *
 * Where memory comes from is the caller's business (user/proc/leakscan.c
 * reads a held process with process_vm_readv). Feeding records only the
 * edges, so the target is released once its memory has been read, before
 * the walk. An edge is 8 bytes (source, target with a 3-bit kind); runs of
 * the same pointer from one block collapse into one edge. Lookups are a
 * binary search over the blocks sorted by address, after a range compare
 * that rejects most non-pointers.
 *
 * A root's pointer to a 16-byte aligned address in a block's last 8 bytes
 * is glibc's header of the next chunk, not a reference (reach.h says why).
 *
 * Where this differs from memcheck: memcheck skips words whose contents
 * are undefined (never written) and the stack below each thread's stack
 * pointer; memscope cannot know definedness, so a stale pointer left in
 * memory that was never cleared keeps a block reachable here (LeakSanitizer
 * behaves the same way). Heap memory outside live blocks is never a root
 * (the allocator's free chunks hold stale pointers), except when the caller
 * says so: attached to a running process, memory of blocks allocated before
 * the attach is unknown and must count as roots. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "registry/registry_int.h"
#include "registry/reach.h"

#define IDX_BITS 29
#define IDX_MASK ((1u << IDX_BITS) - 1)
#define MAX_BLOCKS (1u << IDX_BITS)
#define SRC_ROOT 0xffffffffu

/* edge kinds (top 3 bits of a target) */
enum { K_START = 0, K_INTERIOR = 1, K_HEUR = 2 /* + heuristic */ };

/* per-block flags while feeding */
enum { F_ROOT_START = 1, F_UNREADABLE = 2 };

/* states of the walk */
enum { S_UNREACHED = 0, S_REACHABLE, S_POSSIBLE, S_INDIRECT };

struct edge {
	uint32_t src, dst; /* dst: kind << IDX_BITS | index */
};

struct inner {
	uint32_t src, dst; /* src SRC_ROOT for a root word */
	uint64_t off;      /* offset into dst */
	uint8_t heur;
};

struct ms_reach {
	struct ms_reach_block *b; /* sorted, non-overlapping */
	size_t n;
	struct ms_reach_block *cont; /* containers, left out */
	size_t ncont;
	uint64_t lo, hi;
	size_t cache;
	uint8_t *flag;
	MS_VEC(struct edge) edges;
	MS_VEC(struct inner) inner;
	struct ms_reach_stats st;
	/* results */
	uint8_t *cls, *heur;
	uint64_t *indirect;
};

static const char *const class_names[MS_REACH_MAX] = {
	[MS_REACH_REACHABLE] = "still_reachable", [MS_REACH_POSSIBLE] = "possibly_lost",
	[MS_REACH_INDIRECT] = "indirectly_lost", [MS_REACH_DEFINITE] = "definitely_lost",
	[MS_REACH_UNREADABLE] = "unreadable",
};

const char *ms_reach_name(int cls)
{
	return cls > 0 && cls < MS_REACH_MAX ? class_names[cls] : NULL;
}

int ms_reach_is_lost(int cls)
{
	return cls == MS_REACH_POSSIBLE || cls == MS_REACH_INDIRECT || cls == MS_REACH_DEFINITE;
}

const char *ms_reach_heur_name(int h)
{
	static const char *const names[MS_HEUR_MAX] = {
		[MS_HEUR_STDSTRING] = "stdstring", [MS_HEUR_LENGTH64] = "length64",
		[MS_HEUR_NEWARRAY] = "newarray", [MS_HEUR_MULTIPLE_INHERITANCE] = "multipleinheritance",
	};

	return h > 0 && h < MS_HEUR_MAX ? names[h] : NULL;
}

static inline uint64_t blk_end(const struct ms_reach_block *b)
{
	return b->addr + (b->size ? b->size : 1);
}

static int by_addr(const void *x, const void *y)
{
	const struct ms_reach_block *a = x, *b = y;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->size > b->size ? -1 : a->size < b->size; /* the larger first */
}

struct ms_reach *ms_reach_new(const struct ms_reach_block *blocks, size_t n)
{
	struct ms_reach *g;
	size_t i, k = 0;

	if (n >= MAX_BLOCKS)
		return NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->b = malloc((n ? n : 1) * sizeof(*g->b));
	g->cont = malloc((n ? n : 1) * sizeof(*g->cont));
	g->flag = calloc(n ? n : 1, 1);
	if (!g->b || !g->cont || !g->flag) {
		ms_reach_free(g);
		return NULL;
	}
	if (n)
		memcpy(g->b, blocks, n * sizeof(*blocks));
	qsort(g->b, n, sizeof(*g->b), by_addr);
	/* A block holding the start of the next one holds it whole or in
	 * part: a pool, or the registry's stale view. Left out. */
	for (i = 0; i < n; i++) {
		if (i + 1 < n && g->b[i + 1].addr < blk_end(&g->b[i]))
			g->cont[g->ncont++] = g->b[i];
		else
			g->b[k++] = g->b[i];
	}
	g->n = k;
	if (k) {
		g->lo = g->b[0].addr;
		g->hi = blk_end(&g->b[k - 1]);
	}
	return g;
}

void ms_reach_free(struct ms_reach *g)
{
	if (!g)
		return;
	free(g->b);
	free(g->cont);
	free(g->flag);
	free(g->edges.v);
	free(g->inner.v);
	free(g->cls);
	free(g->heur);
	free(g->indirect);
	free(g);
}

size_t ms_reach_count(const struct ms_reach *g)
{
	return g->n + g->ncont;
}

const struct ms_reach_block *ms_reach_block_at(const struct ms_reach *g, size_t i)
{
	return i < g->n ? &g->b[i] : &g->cont[i - g->n];
}

size_t ms_reach_sorted(const struct ms_reach *g)
{
	return g->n;
}

size_t ms_reach_lower_bound(const struct ms_reach *g, uint64_t addr)
{
	size_t l = 0, h = g->n;

	while (l < h) {
		size_t mid = l + (h - l) / 2;

		if (blk_end(&g->b[mid]) <= addr)
			l = mid + 1;
		else
			h = mid;
	}
	return l;
}

void ms_reach_span(const struct ms_reach *g, uint64_t *lo, uint64_t *hi)
{
	*lo = g->lo;
	*hi = g->hi;
}

/* Largest i with b[i].addr <= p (p >= lo). */
static size_t floor_idx(const struct ms_reach *g, uint64_t p)
{
	size_t l = 0, h = g->n;

	while (h - l > 1) {
		size_t mid = l + (h - l) / 2;

		if (g->b[mid].addr <= p)
			l = mid;
		else
			h = mid;
	}
	return l;
}

static inline long find(struct ms_reach *g, uint64_t p)
{
	size_t i = g->cache;

	if (p < g->lo || p >= g->hi)
		return -1;
	/* pointers cluster: the last block found, or the one after it */
	if (i < g->n && g->b[i].addr <= p) {
		if (p < blk_end(&g->b[i]))
			return (long)i;
		if (i + 1 < g->n && g->b[i + 1].addr > p)
			return -1;
	}
	i = floor_idx(g, p);
	g->cache = i;
	return p < blk_end(&g->b[i]) ? (long)i : -1;
}

long ms_reach_find(const struct ms_reach *g, uint64_t p)
{
	size_t i;

	if (!g->n || p < g->lo || p >= g->hi)
		return -1;
	i = floor_idx(g, p);
	return p < blk_end(&g->b[i]) ? (long)i : -1;
}

/* Is a inside a container but outside the blocks it holds? */
static int in_container(const struct ms_reach *g, uint64_t a)
{
	size_t l = 0, h = g->ncont;

	/* containers may nest: look at every one starting at or before a */
	while (l < h) {
		size_t mid = l + (h - l) / 2;

		if (g->cont[mid].addr <= a)
			l = mid + 1;
		else
			h = mid;
	}
	while (l-- > 0)
		if (a < blk_end(&g->cont[l]))
			return 1;
	return 0;
}

/* A root's pointer to glibc's header of the chunk after dst (reach.h). */
static int chunk_header(const struct ms_reach_block *d, uint64_t v)
{
	return v != d->addr && !(v & 15) && d->size >= 8 && v >= d->addr + d->size - 8;
}

static int add_edge(struct ms_reach *g, uint32_t src, uint32_t dst, uint64_t v)
{
	uint64_t off = v - g->b[dst].addr;

	if (src == SRC_ROOT && chunk_header(&g->b[dst], v))
		return 0;

	if (!off) {
		struct edge *e;

		if (src == SRC_ROOT) {
			g->flag[dst] |= F_ROOT_START;
			return 0;
		}
		if (g->edges.n && g->edges.v[g->edges.n - 1].src == src &&
		    g->edges.v[g->edges.n - 1].dst == dst)
			return 0;
		if (MS_VEC_PUSH(g->edges, e))
			return -ENOMEM;
		e->src = src;
		e->dst = dst;
		g->st.edges++;
	} else {
		struct inner *e;

		g->st.interior++;
		if (g->inner.n) {
			e = &g->inner.v[g->inner.n - 1];
			if (e->src == src && e->dst == dst && e->off == off)
				return 0;
		}
		if (MS_VEC_PUSH(g->inner, e))
			return -ENOMEM;
		e->src = src;
		e->dst = dst;
		e->off = off;
		e->heur = 0;
	}
	return 0;
}

int ms_reach_scan(struct ms_reach *g, uint64_t addr, const void *buf, size_t len, int words)
{
	int outside_is_root = words == MS_WORDS_ROOTS;
	uint64_t a = (addr + 7) & ~7ull, end = (addr + len) & ~7ull;
	const unsigned char *p = (const unsigned char *)buf + (a - addr);
	size_t cur = 0; /* source cursor: first block ending after a */
	int cur_set = 0;

	if (addr + len < addr || !g->n)
		return 0;
	for (; a < end; a += 8, p += 8) {
		uint64_t v;
		uint32_t src;
		long dst;

		g->st.words++;
		memcpy(&v, p, 8);
		if (v < g->lo || v >= g->hi)
			continue;
		dst = find(g, v);
		if (dst < 0)
			continue;
		/* a pointer: whose word is it? */
		if (!cur_set) {
			cur = a < g->lo ? 0 : floor_idx(g, a);
			cur_set = 1;
		}
		while (cur < g->n && blk_end(&g->b[cur]) <= a)
			cur++;
		if (cur < g->n && g->b[cur].addr <= a) {
			src = (uint32_t)cur;
		} else {
			if (!outside_is_root || (g->ncont && in_container(g, a)))
				continue;
			src = SRC_ROOT;
		}
		if (add_edge(g, src, (uint32_t)dst, v))
			return -ENOMEM;
	}
	/* root words: those fed outside any block, counted in bulk */
	if (outside_is_root) {
		uint64_t in = 0, s = (addr + 7) & ~7ull;
		size_t i;

		for (i = s < g->lo ? 0 : floor_idx(g, s); i < g->n && g->b[i].addr < end; i++) {
			uint64_t lo = g->b[i].addr > s ? g->b[i].addr : s;
			uint64_t hi = blk_end(&g->b[i]) < end ? blk_end(&g->b[i]) : end;

			if (hi > lo)
				in += (hi - lo + 7) / 8;
		}
		g->st.root_words += (end > s ? (end - s) / 8 : 0) - in;
	}
	return 0;
}

int ms_reach_register(struct ms_reach *g, uint64_t value)
{
	long dst = find(g, value);

	g->st.words++;
	g->st.root_words++;
	return dst < 0 ? 0 : add_edge(g, SRC_ROOT, (uint32_t)dst, value);
}

void ms_reach_unreadable(struct ms_reach *g, uint64_t addr, uint64_t len)
{
	size_t i;

	if (!g->n || !len)
		return;
	g->st.unreadable_bytes += len;
	i = addr < g->lo ? 0 : floor_idx(g, addr);
	for (; i < g->n && g->b[i].addr < addr + len; i++)
		if (blk_end(&g->b[i]) > addr)
			g->flag[i] |= F_UNREADABLE;
}

/* ---- heuristics ----------------------------------------------------------- */

int ms_reach_heur_match(uint64_t size, uint64_t off, uint64_t w0, uint64_t w1, uint64_t at_ptr,
			unsigned valid, int (*vtables)(void *user, uint64_t a, uint64_t b), void *user)
{
	/* std::string (the reference-counted ABI): the pointer follows
	 * {length, capacity, refcount}; the block holds capacity + 1 chars. */
	if (off == 24 && (valid & 3) == 3 && 24 + w1 + 1 == size && w0 <= w1)
		return MS_HEUR_STDSTRING;
	/* a 64-bit length of the rest of the block, then the pointer (sqlite) */
	if (off == 8 && (valid & 1) && w0 > 0 && size >= 8 && size - 8 == w0)
		return MS_HEUR_LENGTH64;
	/* new[] of objects with a destructor: the element count, then them */
	if (off == 8 && (valid & 1) && w0 > 0 && size >= 8 && (size - 8) % w0 == 0)
		return MS_HEUR_NEWARRAY;
	/* a base class's subobject: it starts with a vtable pointer, and so
	 * does the whole object */
	if (!(off & 7) && (valid & 5) == 5 && !(w0 & 7) && !(at_ptr & 7) && w0 >= 4096 &&
	    at_ptr >= 4096 && vtables && vtables(user, w0, at_ptr))
		return MS_HEUR_MULTIPLE_INHERITANCE;
	return MS_HEUR_NONE;
}

static int by_target(const void *x, const void *y)
{
	const struct inner *a = x, *b = y;

	if (a->dst != b->dst)
		return a->dst < b->dst ? -1 : 1;
	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	return a->src < b->src ? -1 : a->src > b->src;
}

static int both_vtables(void *user, uint64_t a, uint64_t b)
{
	const struct ms_reach_io *io = user;

	return io->is_vtable(io->user, a) && io->is_vtable(io->user, b);
}

int ms_reach_heuristics(struct ms_reach *g, const struct ms_reach_io *io)
{
	uint64_t *addrs = NULL, *vals = NULL;
	uint8_t *ok = NULL;
	size_t i, j, k, na = 0, cap;
	int err = -ENOMEM;

	if (!io || !io->read_words || !g->inner.n)
		return 0;
	qsort(g->inner.v, g->inner.n, sizeof(*g->inner.v), by_target);
	/* per distinct (block, offset): its first two words and the word the
	 * pointer points at */
	cap = 3 * g->inner.n;
	addrs = malloc(cap * sizeof(*addrs));
	vals = calloc(cap, sizeof(*vals));
	ok = malloc(cap);
	if (!addrs || !vals || !ok)
		goto out;
	for (i = 0; i < g->inner.n; i = j) {
		const struct ms_reach_block *b = &g->b[g->inner.v[i].dst];

		for (j = i; j < g->inner.n && g->inner.v[j].dst == g->inner.v[i].dst; j++) {
			uint64_t off = g->inner.v[j].off;

			if (j > i && off == g->inner.v[j - 1].off)
				continue;
			if (!(off & 7) && off + 8 <= b->size)
				addrs[na++] = b->addr + off;
		}
		if (b->size >= 8)
			addrs[na++] = b->addr;
		if (b->size >= 16)
			addrs[na++] = b->addr + 8;
	}
	memset(ok, 1, na);
	io->read_words(io->user, addrs, vals, ok, na);
	/* the same walk again, now with the words */
	for (i = 0, k = 0; i < g->inner.n; i = j) {
		const struct ms_reach_block *b = &g->b[g->inner.v[i].dst];
		size_t first = k, nptr = 0;
		uint64_t w0 = 0, w1 = 0;
		unsigned head = 0;

		for (j = i; j < g->inner.n && g->inner.v[j].dst == g->inner.v[i].dst; j++) {
			uint64_t off = g->inner.v[j].off;

			if (j > i && off == g->inner.v[j - 1].off)
				continue;
			if (!(off & 7) && off + 8 <= b->size)
				nptr++;
		}
		k = first + nptr;
		if (b->size >= 8) {
			if (ok[k])
				head |= 1, w0 = vals[k];
			k++;
		}
		if (b->size >= 16) {
			if (ok[k])
				head |= 2, w1 = vals[k];
			k++;
		}
		for (j = i, nptr = 0; j < g->inner.n && g->inner.v[j].dst == g->inner.v[i].dst; j++) {
			struct inner *e = &g->inner.v[j];
			uint64_t at = 0;
			unsigned valid = head;

			if (j > i && e->off == g->inner.v[j - 1].off) {
				e->heur = g->inner.v[j - 1].heur;
				continue;
			}
			if (!(e->off & 7) && e->off + 8 <= b->size) {
				if (ok[first + nptr]) {
					at = vals[first + nptr];
					valid |= 4;
				}
				nptr++;
			}
			e->heur = (uint8_t)ms_reach_heur_match(b->size, e->off, w0, w1, at, valid,
							       io->is_vtable ? both_vtables : NULL,
							       (void *)io);
		}
	}
	err = 0;
out:
	free(addrs);
	free(vals);
	free(ok);
	return err;
}

/* ---- the walk ------------------------------------------------------------ */

struct walk {
	struct ms_reach *g;
	size_t *off;   /* CSR: edges of i are adj[off[i] .. off[i+1]) */
	uint32_t *adj; /* kind << IDX_BITS | target */
	uint8_t *state, *pending;
	uint32_t *stack;
	size_t top;
};

static void push(struct walk *w, uint32_t i)
{
	if (w->pending[i])
		return;
	w->pending[i] = 1;
	w->stack[w->top++] = i;
}

/* memcheck's lc_push_without_clique_if_a_chunk_ptr */
static void reach_from(struct walk *w, uint32_t c, unsigned kind, int prior_definite)
{
	int via_start = kind != K_INTERIOR;

	if (w->state[c] == S_REACHABLE) {
		if (kind == K_START)
			w->g->heur[c] = 0; /* reached directly after all */
		return;
	}
	if (via_start && prior_definite) {
		w->state[c] = S_REACHABLE;
		w->g->heur[c] = kind >= K_HEUR ? (uint8_t)(kind - K_HEUR) : 0;
		push(w, c);
	} else if (w->state[c] == S_UNREACHED) {
		w->state[c] = S_POSSIBLE;
		push(w, c);
	}
}

static int build_csr(struct walk *w)
{
	struct ms_reach *g = w->g;
	size_t i, ne = 0;
	size_t *fill;

	w->off = calloc(g->n + 1, sizeof(*w->off));
	if (!w->off)
		return -ENOMEM;
	for (i = 0; i < g->edges.n; i++)
		w->off[g->edges.v[i].src + 1]++;
	for (i = 0; i < g->inner.n; i++)
		if (g->inner.v[i].src != SRC_ROOT)
			w->off[g->inner.v[i].src + 1]++;
	for (i = 0; i < g->n; i++)
		w->off[i + 1] += w->off[i];
	ne = w->off[g->n];
	w->adj = malloc((ne ? ne : 1) * sizeof(*w->adj));
	fill = malloc((g->n ? g->n : 1) * sizeof(*fill));
	if (!w->adj || !fill) {
		free(fill);
		return -ENOMEM;
	}
	memcpy(fill, w->off, g->n * sizeof(*fill));
	for (i = 0; i < g->edges.n; i++)
		w->adj[fill[g->edges.v[i].src]++] = g->edges.v[i].dst; /* K_START */
	for (i = 0; i < g->inner.n; i++) {
		const struct inner *e = &g->inner.v[i];
		unsigned kind = e->heur ? K_HEUR + e->heur : K_INTERIOR;

		if (e->src != SRC_ROOT)
			w->adj[fill[e->src]++] = kind << IDX_BITS | e->dst;
	}
	free(fill);
	/* the edge lists are in the CSR now */
	free(g->edges.v);
	g->edges.v = NULL;
	g->edges.n = g->edges.cap = 0;
	return 0;
}

static void drain_marks(struct walk *w)
{
	while (w->top) {
		uint32_t b = w->stack[--w->top];
		int definite = w->state[b] != S_POSSIBLE;
		size_t e;

		w->pending[b] = 0;
		for (e = w->off[b]; e < w->off[b + 1]; e++)
			reach_from(w, w->adj[e] & IDX_MASK, w->adj[e] >> IDX_BITS, definite);
	}
}

/* memcheck's clique pass: leader takes every unreached block it reaches */
static void drain_clique(struct walk *w, uint32_t leader)
{
	struct ms_reach *g = w->g;

	while (w->top) {
		uint32_t b = w->stack[--w->top];
		size_t e;

		w->pending[b] = 0;
		for (e = w->off[b]; e < w->off[b + 1]; e++) {
			uint32_t c = w->adj[e] & IDX_MASK;

			if (w->state[c] != S_UNREACHED || c == leader)
				continue;
			push(w, c);
			g->indirect[leader] += g->b[c].size + g->indirect[c];
			g->indirect[c] = 0;
			w->state[c] = S_INDIRECT;
		}
	}
}

int ms_reach_classify(struct ms_reach *g)
{
	struct walk w = { .g = g };
	size_t i;
	int err = -ENOMEM;

	free(g->cls);
	free(g->heur);
	free(g->indirect);
	g->cls = calloc(ms_reach_count(g) ? ms_reach_count(g) : 1, 1);
	g->heur = calloc(g->n ? g->n : 1, 1);
	g->indirect = calloc(g->n ? g->n : 1, sizeof(*g->indirect));
	w.state = calloc(g->n ? g->n : 1, 1);
	w.pending = calloc(g->n ? g->n : 1, 1);
	w.stack = malloc((g->n ? g->n : 1) * sizeof(*w.stack));
	if (!g->cls || !g->heur || !g->indirect || !w.state || !w.pending || !w.stack ||
	    build_csr(&w))
		goto out;
	/* pass 1: from the roots */
	for (i = 0; i < g->n; i++)
		if (g->flag[i] & F_ROOT_START)
			reach_from(&w, (uint32_t)i, K_START, 1);
	for (i = 0; i < g->inner.n; i++) {
		const struct inner *e = &g->inner.v[i];

		if (e->src == SRC_ROOT)
			reach_from(&w, e->dst, e->heur ? K_HEUR + e->heur : K_INTERIOR, 1);
	}
	drain_marks(&w);
	/* pass 2: cliques of lost blocks, leaders in address order */
	for (i = 0; i < g->n; i++) {
		if (w.state[i] != S_UNREACHED)
			continue;
		push(&w, (uint32_t)i);
		drain_clique(&w, (uint32_t)i);
	}
	for (i = 0; i < g->n; i++) {
		static const uint8_t to_class[] = {
			[S_UNREACHED] = MS_REACH_DEFINITE, [S_REACHABLE] = MS_REACH_REACHABLE,
			[S_POSSIBLE] = MS_REACH_POSSIBLE, [S_INDIRECT] = MS_REACH_INDIRECT,
		};

		g->cls[i] = (g->flag[i] & F_UNREADABLE) ? MS_REACH_UNREADABLE : to_class[w.state[i]];
		if (g->cls[i] != MS_REACH_REACHABLE)
			g->heur[i] = 0;
		if (g->cls[i] != MS_REACH_DEFINITE)
			g->indirect[i] = 0;
	}
	err = 0;
out:
	free(w.off);
	free(w.adj);
	free(w.state);
	free(w.pending);
	free(w.stack);
	return err;
}

int ms_reach_class(const struct ms_reach *g, size_t i)
{
	return g->cls && i < ms_reach_count(g) ? g->cls[i] : MS_REACH_NONE;
}

uint64_t ms_reach_indirect_bytes(const struct ms_reach *g, size_t i)
{
	return g->indirect && i < g->n ? g->indirect[i] : 0;
}

int ms_reach_heur(const struct ms_reach *g, size_t i)
{
	return g->heur && i < g->n ? g->heur[i] : 0;
}

void ms_reach_stats(const struct ms_reach *g, struct ms_reach_stats *out)
{
	*out = g->st;
}
