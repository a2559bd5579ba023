/* SPDX-License-Identifier: BSD-3-Clause */
/* test_reach.c - leak kinds (user/registry/reach.c) on synthetic memory
 * images: a "data" segment of roots and a "heap" of blocks, laid out by
 * hand per case, plus random graphs checked against a plain re-reading of
 * memcheck's algorithm that rescans memory instead of keeping edges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "registry/reach.h"

#include "check.h"

#define DATA 0x400000ull
#define HEAP 0x10000000ull
#define NW 4096

/* one image: words of data and heap, and the blocks in the heap */
struct img {
	uint64_t data[NW], heap[NW];
	struct ms_reach_block b[64];
	size_t nb;
	uint64_t regs[8];
	size_t nregs;
};

static uint64_t blk(struct img *m, uint64_t word, uint64_t size)
{
	m->b[m->nb].addr = HEAP + word * 8;
	m->b[m->nb].size = size;
	m->b[m->nb].ref = m->nb;
	m->nb++;
	return HEAP + word * 8;
}

static void put(struct img *m, uint64_t addr, uint64_t v)
{
	if (addr >= HEAP)
		m->heap[(addr - HEAP) / 8] = v;
	else
		m->data[(addr - DATA) / 8] = v;
}

/* feed the whole image the way leakscan.c does: data as roots, the heap
 * with its gaps ignored (or as roots) */
static struct ms_reach *run(struct img *m, int heap_gaps_are_roots, const struct ms_reach_io *io)
{
	struct ms_reach *g = ms_reach_new(m->b, m->nb);
	size_t i;

	if (!g)
		return NULL;
	if (ms_reach_scan(g, DATA, m->data, sizeof(m->data), MS_WORDS_ROOTS) ||
	    ms_reach_scan(g, HEAP, m->heap, sizeof(m->heap),
			  heap_gaps_are_roots ? MS_WORDS_ROOTS : MS_WORDS_HEAP))
		goto bad;
	for (i = 0; i < m->nregs; i++)
		if (ms_reach_register(g, m->regs[i]))
			goto bad;
	if (ms_reach_heuristics(g, io) || ms_reach_classify(g))
		goto bad;
	return g;
bad:
	ms_reach_free(g);
	return NULL;
}

/* class of the block at addr */
static int cls(const struct ms_reach *g, uint64_t addr)
{
	size_t i;

	for (i = 0; i < ms_reach_count(g); i++)
		if (ms_reach_block_at(g, i)->addr == addr)
			return ms_reach_class(g, i);
	return -1;
}

static uint64_t indirect(const struct ms_reach *g, uint64_t addr)
{
	size_t i;

	for (i = 0; i < ms_reach_count(g); i++)
		if (ms_reach_block_at(g, i)->addr == addr)
			return ms_reach_indirect_bytes(g, i);
	return ~0ull;
}

static void test_global_array_reachable(void)
{
	static struct img m;
	struct ms_reach *g = NULL;
	uint64_t a, b, c;

	memset(&m, 0, sizeof(m));
	a = blk(&m, 0, 256);
	b = blk(&m, 40, 256);
	c = blk(&m, 80, 100);
	put(&m, DATA + 8, a);
	put(&m, DATA + 16, b);
	/* c is held by a block: reachable through a chain of start pointers */
	put(&m, a + 24, c);
	g = run(&m, 0, NULL);
	CHECK(g);
	CHECK(cls(g, a) == MS_REACH_REACHABLE);
	CHECK(cls(g, b) == MS_REACH_REACHABLE);
	CHECK(cls(g, c) == MS_REACH_REACHABLE);
	CHECK(!strcmp(ms_reach_name(MS_REACH_REACHABLE), "still_reachable"));
	PASS();
out:
	ms_reach_free(g);
}

static void test_overwritten_pointer_definitely_lost(void)
{
	static struct img m;
	struct ms_reach *g = NULL;
	uint64_t a, b;

	memset(&m, 0, sizeof(m));
	a = blk(&m, 0, 400);
	b = blk(&m, 100, 400);
	put(&m, DATA, b);
	/* a's only pointer was overwritten; an unaligned copy does not count */
	memcpy((char *)m.data + 20, &a, 8);
	g = run(&m, 0, NULL);
	CHECK(g);
	CHECK(cls(g, a) == MS_REACH_DEFINITE);
	CHECK(indirect(g, a) == 0);
	CHECK(cls(g, b) == MS_REACH_REACHABLE);
	PASS();
out:
	ms_reach_free(g);
}

static void test_list_head_lost(void)
{
	static struct img m;
	struct ms_reach *g = NULL;
	uint64_t n[5];
	int i;

	memset(&m, 0, sizeof(m));
	/* built by prepending: the head has the highest address */
	for (i = 0; i < 5; i++)
		n[i] = blk(&m, (uint64_t)(4 - i) * 10, 64);
	for (i = 0; i < 4; i++)
		put(&m, n[i], n[i + 1]);
	g = run(&m, 0, NULL);
	CHECK(g);
	CHECK(cls(g, n[0]) == MS_REACH_DEFINITE);
	CHECK(indirect(g, n[0]) == 4 * 64);
	for (i = 1; i < 5; i++) {
		CHECK(cls(g, n[i]) == MS_REACH_INDIRECT);
		CHECK(indirect(g, n[i]) == 0);
	}
	PASS();
out:
	ms_reach_free(g);
}

static void test_interior_pointer_possibly_lost(void)
{
	static struct img m;
	struct ms_reach *g = NULL;
	uint64_t a, b, c;

	memset(&m, 0, sizeof(m));
	a = blk(&m, 0, 512);
	b = blk(&m, 100, 64);
	c = blk(&m, 200, 64);
	put(&m, DATA, a + 104);
	put(&m, a + 8, b);   /* reached from a possibly lost block: possibly */
	put(&m, DATA + 8, c + 63); /* last byte is still inside */
	g = run(&m, 0, NULL);
	CHECK(g);
	CHECK(cls(g, a) == MS_REACH_POSSIBLE);
	CHECK(cls(g, b) == MS_REACH_POSSIBLE);
	CHECK(cls(g, c) == MS_REACH_POSSIBLE);
	PASS();
out:
	ms_reach_free(g);
}

/* A block first met as possible becomes reachable when a start-pointer
 * chain turns up, and so do the blocks it holds: the walk's order does not
 * matter. */
static void test_possible_upgraded(void)
{
	static struct img m;
	struct ms_reach *g = NULL;
	uint64_t a, b, c;

	memset(&m, 0, sizeof(m));
	a = blk(&m, 0, 64);
	b = blk(&m, 20, 64);
	c = blk(&m, 40, 64);
	put(&m, DATA, a + 8);   /* interior: possible at first */
	put(&m, a, c);
	put(&m, DATA + 800, b); /* later in the roots */
	put(&m, b, a);          /* a start pointer from a reachable block */
	g = run(&m, 0, NULL);
	CHECK(g);
	CHECK(cls(g, a) == MS_REACH_REACHABLE);
	CHECK(cls(g, b) == MS_REACH_REACHABLE);
	CHECK(cls(g, c) == MS_REACH_REACHABLE);
	PASS();
out:
	ms_reach_free(g);
}

static void test_registers_are_roots(void)
{
	static struct img m;
	struct ms_reach *g = NULL;
	uint64_t a, b;

	memset(&m, 0, sizeof(m));
	a = blk(&m, 0, 1600);
	b = blk(&m, 400, 32);
	m.regs[m.nregs++] = 12345;
	m.regs[m.nregs++] = a;
	m.regs[m.nregs++] = b + 4;
	g = run(&m, 0, NULL);
	CHECK(g);
	CHECK(cls(g, a) == MS_REACH_REACHABLE);
	CHECK(cls(g, b) == MS_REACH_POSSIBLE);
	PASS();
out:
	ms_reach_free(g);
}

/* A lost cycle: the leader is the lowest address (memcheck's order); a
 * later lost block pointing into an earlier clique takes it over. */
static void test_cycles_and_cliques(void)
{
	static struct img m;
	struct ms_reach *g = NULL;
	uint64_t a, b, c, d;

	memset(&m, 0, sizeof(m));
	a = blk(&m, 0, 48);
	b = blk(&m, 10, 80);
	put(&m, a, b);
	put(&m, b, a);
	c = blk(&m, 100, 16);
	d = blk(&m, 200, 32);
	put(&m, d + 8, c); /* c leads first, then d absorbs it */
	g = run(&m, 0, NULL);
	CHECK(g);
	CHECK(cls(g, a) == MS_REACH_DEFINITE);
	CHECK(indirect(g, a) == 80);
	CHECK(cls(g, b) == MS_REACH_INDIRECT);
	CHECK(cls(g, c) == MS_REACH_INDIRECT);
	CHECK(cls(g, d) == MS_REACH_DEFINITE);
	CHECK(indirect(g, d) == 16);
	PASS();
out:
	ms_reach_free(g);
}

/* Free memory of the allocator holds stale pointers: not roots, unless the
 * caller cannot tell it from blocks it does not know (attached late). */
static void test_heap_gaps(void)
{
	static struct img m;
	struct ms_reach *g = NULL, *g2 = NULL;
	uint64_t a;

	memset(&m, 0, sizeof(m));
	a = blk(&m, 0, 64);
	put(&m, HEAP + 800, a); /* in no block */
	g = run(&m, 0, NULL);
	g2 = run(&m, 1, NULL);
	CHECK(g && g2);
	CHECK(cls(g, a) == MS_REACH_DEFINITE);
	CHECK(cls(g2, a) == MS_REACH_REACHABLE);
	PASS();
out:
	ms_reach_free(g);
	ms_reach_free(g2);
}

/* glibc's main_arena (libc's .data) points at the chunk after the last
 * one in use: the top chunk's header, inside a block whose size is 1 to 8
 * past a multiple of 16 (strdup("...") of 17 to 24 chars); malloc's dead
 * frames and registers do too. From a root that is no reference; from a
 * block it is taken as it is. */
static void test_chunk_headers(void)
{
	static struct img m;
	struct ms_reach *g = NULL;
	uint64_t a, b, c, d;

	memset(&m, 0, sizeof(m));
	a = blk(&m, 0, 24);   /* chunk 32: the next header is at a + 16 */
	b = blk(&m, 8, 40);   /* chunk 48: next header at b + 32 */
	c = blk(&m, 20, 24);
	d = blk(&m, 40, 32);
	put(&m, DATA, a + 16);
	put(&m, DATA + 8, b + 8);  /* not a header: a reference */
	m.regs[m.nregs++] = b + 32;
	put(&m, DATA + 16, d);
	put(&m, d + 8, c + 16);    /* from a block: a reference */
	g = run(&m, 0, NULL);
	CHECK(g);
	CHECK(cls(g, a) == MS_REACH_DEFINITE);
	CHECK(cls(g, b) == MS_REACH_POSSIBLE);
	CHECK(cls(g, c) == MS_REACH_POSSIBLE);
	PASS();
out:
	ms_reach_free(g);
}

static void test_unreadable_and_zero_size(void)
{
	static struct img m;
	struct ms_reach *g = NULL;
	uint64_t a, z, u;

	memset(&m, 0, sizeof(m));
	a = blk(&m, 0, 64);
	z = blk(&m, 20, 0);
	u = blk(&m, 40, 64);
	put(&m, DATA, z); /* malloc(0) pointed to is not lost */
	put(&m, DATA + 8, a);
	g = ms_reach_new(m.b, m.nb);
	CHECK(g);
	CHECK(!ms_reach_scan(g, DATA, m.data, sizeof(m.data), MS_WORDS_ROOTS));
	/* the heap is fed except u's page */
	CHECK(!ms_reach_scan(g, HEAP, m.heap, 40 * 8, MS_WORDS_HEAP));
	ms_reach_unreadable(g, HEAP + 40 * 8, 4096);
	CHECK(!ms_reach_classify(g));
	CHECK(cls(g, a) == MS_REACH_REACHABLE);
	CHECK(cls(g, z) == MS_REACH_REACHABLE);
	CHECK(cls(g, u) == MS_REACH_UNREADABLE);
	PASS();
out:
	ms_reach_free(g);
}

/* A pool carved into custom blocks: the pool is left out (no class), the
 * inner blocks are classified, and the pool's free words are no roots. */
static void test_container(void)
{
	static struct img m;
	struct ms_reach *g = NULL;
	uint64_t pool, x, y;

	memset(&m, 0, sizeof(m));
	pool = blk(&m, 0, 1024);
	x = blk(&m, 8, 64);
	y = blk(&m, 32, 64);
	put(&m, DATA, x);
	put(&m, pool + 512, y); /* inside the pool, outside x and y */
	g = run(&m, 1, NULL);
	CHECK(g);
	CHECK(cls(g, pool) == MS_REACH_NONE);
	CHECK(cls(g, x) == MS_REACH_REACHABLE);
	CHECK(cls(g, y) == MS_REACH_DEFINITE);
	PASS();
out:
	ms_reach_free(g);
}

/* memcheck's heuristics, fed through read_words from the image */
static void read_img(void *user, const uint64_t *addrs, uint64_t *vals, uint8_t *ok, size_t n)
{
	struct img *m = user;
	size_t i;

	for (i = 0; i < n; i++) {
		if (addrs[i] >= HEAP && addrs[i] < HEAP + sizeof(m->heap))
			vals[i] = m->heap[(addrs[i] - HEAP) / 8];
		else
			ok[i] = 0;
	}
}

static int vt(void *user, uint64_t a)
{
	(void)user;
	return a == 0x7000 || a == 0x7100;
}

static void test_heuristics(void)
{
	static struct img m;
	struct ms_reach_io io = { read_img, vt, &m };
	struct ms_reach *g = NULL, *g0 = NULL;
	uint64_t arr, len, str, mi, plain;

	memset(&m, 0, sizeof(m));
	arr = blk(&m, 0, 8 + 5 * 24);  /* new T[5], sizeof(T) = 24 */
	put(&m, arr, 5);
	put(&m, DATA, arr + 8);
	len = blk(&m, 40, 8 + 100);    /* length64 */
	put(&m, len, 100);
	put(&m, DATA + 8, len + 8);
	str = blk(&m, 80, 24 + 31 + 1); /* {length, capacity, refcount, chars} */
	put(&m, str, 11);
	put(&m, str + 8, 31);
	put(&m, DATA + 16, str + 24);
	mi = blk(&m, 120, 64);          /* two vtable pointers */
	put(&m, mi, 0x7000);
	put(&m, mi + 16, 0x7100);
	put(&m, DATA + 24, mi + 16);
	plain = blk(&m, 160, 64);       /* nothing matches */
	put(&m, plain, 3);
	put(&m, DATA + 32, plain + 8);
	g = run(&m, 0, &io);
	g0 = run(&m, 0, NULL);
	CHECK(g && g0);
	CHECK(cls(g, arr) == MS_REACH_REACHABLE);
	CHECK(ms_reach_heur(g, 0) == MS_HEUR_NEWARRAY);
	CHECK(cls(g, len) == MS_REACH_REACHABLE);
	CHECK(ms_reach_heur(g, 1) == MS_HEUR_LENGTH64);
	CHECK(cls(g, str) == MS_REACH_REACHABLE);
	CHECK(ms_reach_heur(g, 2) == MS_HEUR_STDSTRING);
	CHECK(cls(g, mi) == MS_REACH_REACHABLE);
	CHECK(ms_reach_heur(g, 3) == MS_HEUR_MULTIPLE_INHERITANCE);
	CHECK(cls(g, plain) == MS_REACH_POSSIBLE);
	/* without a look at the blocks every one is only possibly lost */
	CHECK(cls(g0, arr) == MS_REACH_POSSIBLE && cls(g0, mi) == MS_REACH_POSSIBLE);
	/* a later start pointer: reachable directly, not by a heuristic */
	put(&m, DATA + 40, arr);
	ms_reach_free(g);
	g = run(&m, 0, &io);
	CHECK(g && cls(g, arr) == MS_REACH_REACHABLE && ms_reach_heur(g, 0) == 0);
	PASS();
out:
	ms_reach_free(g);
	ms_reach_free(g0);
}

/* ---- random graphs against a plain reading of memcheck ------------------ */

enum { U = 0, R, P, I };

static long ref_find(const struct img *m, const size_t *order, uint64_t v)
{
	size_t k;

	for (k = 0; k < m->nb; k++) {
		const struct ms_reach_block *b = &m->b[order[k]];
		uint64_t end = b->addr + (b->size ? b->size : 1);

		if (v >= b->addr && v < end)
			return (long)k;
	}
	return -1;
}

/* memcheck's leak check, rescanning memory at every step */
static void ref_classify(const struct img *m, const size_t *order, int *st, uint64_t *ind)
{
	size_t stack[256], top = 0, k, w;
	int pend[64] = { 0 };

#define PUSH(x) do { if (!pend[x]) { pend[x] = 1; stack[top++] = (x); } } while (0)
#define REACH(v, definite)                                                        \
	do {                                                                      \
		long c_ = ref_find(m, order, v);                                  \
		if (c_ < 0 || st[c_] == R)                                        \
			break;                                                    \
		if ((v) == m->b[order[c_]].addr && (definite)) {                  \
			st[c_] = R;                                               \
			PUSH((size_t)c_);                                         \
		} else if (st[c_] == U) {                                         \
			st[c_] = P;                                               \
			PUSH((size_t)c_);                                         \
		}                                                                 \
	} while (0)
	for (w = 0; w < NW; w++) {
		/* a root's pointer to glibc's next chunk header is none */
		long c = ref_find(m, order, m->data[w]);
		const struct ms_reach_block *b = c < 0 ? NULL : &m->b[order[c]];

		if (b && m->data[w] != b->addr && !(m->data[w] & 15) && b->size >= 8 &&
		    m->data[w] >= b->addr + b->size - 8)
			continue;
		REACH(m->data[w], 1);
	}
	while (top) {
		size_t b = stack[--top];
		const struct ms_reach_block *bb = &m->b[order[b]];
		int definite = st[b] != P;

		pend[b] = 0;
		for (w = 0; w * 8 < bb->size; w++)
			REACH(m->heap[(bb->addr - HEAP) / 8 + w], definite);
	}
	for (k = 0; k < m->nb; k++) {
		if (st[k] != U)
			continue;
		PUSH(k);
		while (top) {
			size_t b = stack[--top];
			const struct ms_reach_block *bb = &m->b[order[b]];

			pend[b] = 0;
			for (w = 0; w * 8 < bb->size; w++) {
				long c = ref_find(m, order, m->heap[(bb->addr - HEAP) / 8 + w]);

				if (c < 0 || st[c] != U || (size_t)c == k)
					continue;
				PUSH((size_t)c);
				ind[k] += m->b[order[c]].size + ind[c];
				ind[c] = 0;
				st[c] = I;
			}
		}
	}
#undef PUSH
#undef REACH
}

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(uint64_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state % n;
}

static void test_random_graphs_match_memcheck(void)
{
	static struct img m;
	struct ms_reach *g = NULL;
	int round, bad = 0;

	for (round = 0; round < 300 && !bad; round++) {
		size_t order[64], k, i, nb = 5 + rnd(40);
		int st[64] = { 0 };
		uint64_t ind[64] = { 0 }, word = 0;

		memset(&m, 0, sizeof(m));
		for (k = 0; k < nb; k++) {
			uint64_t words = 1 + rnd(6);

			word += rnd(4);
			/* sizes that are not word multiples too */
			blk(&m, word, words * 8 - rnd(2) * rnd(8));
			word += words;
		}
		/* blocks were made in address order: order[] is the identity */
		for (k = 0; k < nb; k++)
			order[k] = k;
		for (i = 0; i < 3 * nb; i++) { /* pointers, start or interior */
			const struct ms_reach_block *to = &m.b[rnd(nb)];
			const struct ms_reach_block *from = &m.b[rnd(nb)];
			uint64_t v = to->addr + (rnd(3) ? 0 : rnd(to->size ? to->size : 1));

			if (from->size >= 8)
				put(&m, from->addr + 8 * rnd(from->size / 8), v);
		}
		for (i = rnd(4); i > 0; i--) {
			const struct ms_reach_block *to = &m.b[rnd(nb)];

			put(&m, DATA + 8 * rnd(NW), to->addr + (rnd(3) ? 0 : rnd(to->size + 1)));
		}
		ref_classify(&m, order, st, ind);
		g = run(&m, 0, NULL);
		if (!g) {
			bad = 1;
			break;
		}
		for (k = 0; k < nb; k++) {
			static const int want[] = { [U] = MS_REACH_DEFINITE, [R] = MS_REACH_REACHABLE,
						    [P] = MS_REACH_POSSIBLE, [I] = MS_REACH_INDIRECT };

			if (ms_reach_class(g, k) != want[st[k]] ||
			    ms_reach_indirect_bytes(g, k) != (st[k] == U ? ind[k] : 0)) {
				printf("round %d block %zu: class %d want %d, indirect %llu want %llu\n",
				       round, k, ms_reach_class(g, k), want[st[k]],
				       (unsigned long long)ms_reach_indirect_bytes(g, k),
				       (unsigned long long)ind[k]);
				bad = 1;
			}
		}
		ms_reach_free(g);
		g = NULL;
	}
	CHECK(!bad);
	PASS();
out:
	ms_reach_free(g);
}

int main(void)
{
	test_global_array_reachable();
	test_overwritten_pointer_definitely_lost();
	test_list_head_lost();
	test_interior_pointer_possibly_lost();
	test_possible_upgraded();
	test_registers_are_roots();
	test_cycles_and_cliques();
	test_heap_gaps();
	test_chunk_headers();
	test_unreadable_and_zero_size();
	test_container();
	test_heuristics();
	test_random_graphs_match_memcheck();
	return failed ? 1 : 0;
}
