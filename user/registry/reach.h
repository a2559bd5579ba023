/* SPDX-License-Identifier: BSD-3-Clause */
/* reach.h - which live heap blocks a process can still reach, classified
 * as valgrind's memcheck classifies them, from a picture of its memory.
 *
 * The caller (user/proc/leakscan.c for a real process, the unit tests for
 * synthetic memory images) hands over the live blocks, then feeds memory:
 * every aligned word of the roots (writable data of every module, thread
 * stacks and TLS) and of the blocks themselves, plus the threads'
 * registers. Each word that points to a block's first byte is a start
 * pointer, one that points inside it an interior pointer. Feeding only
 * records edges; the target can run again as soon as the last byte is in.
 * ms_reach_classify() then walks the graph (reach.c opens with the rules).
 *
 * No libbpf, no libdw, no system calls: everything comes through the
 * arguments, so the rules are tested on synthetic memory. */
#ifndef MS_REGISTRY_REACH_H
#define MS_REGISTRY_REACH_H

#include <stddef.h>
#include <stdint.h>

/* A block's class. The order is the report's order of gravity. */
enum ms_reach_class {
	MS_REACH_NONE = 0,    /* not classified (no leak check ran, or the
			       * block holds other blocks: a custom pool) */
	MS_REACH_REACHABLE,   /* still_reachable: a chain of start pointers
			       * from a root */
	MS_REACH_POSSIBLE,    /* possibly_lost: reached, but only through a
			       * chain with an interior pointer in it */
	MS_REACH_INDIRECT,    /* indirectly_lost: pointed to only by lost
			       * blocks */
	MS_REACH_DEFINITE,    /* definitely_lost: no pointer from anywhere
			       * (or the entry of a lost cycle) */
	MS_REACH_UNREADABLE,  /* its memory could not be read: not classified */
	MS_REACH_MAX,
};

/* "still_reachable", "possibly_lost", "indirectly_lost",
 * "definitely_lost", "unreadable"; NULL for MS_REACH_NONE. */
const char *ms_reach_name(int cls);
/* 1 for the two lost classes and possibly_lost (what a user must look at). */
int ms_reach_is_lost(int cls);

/* memcheck's heuristics (--leak-check-heuristics=all, its default): an
 * interior pointer that matches one counts as a start pointer. */
enum ms_reach_heur {
	MS_HEUR_NONE = 0,
	MS_HEUR_STDSTRING,   /* +24 into {length, capacity, refcount, chars} */
	MS_HEUR_LENGTH64,    /* +8 after a 64-bit length of the rest */
	MS_HEUR_NEWARRAY,    /* +8 after new[]'s element count */
	MS_HEUR_MULTIPLE_INHERITANCE, /* to a second vtable pointer */
	MS_HEUR_MAX,
};
const char *ms_reach_heur_name(int h);

struct ms_reach_block {
	uint64_t addr, size;
	uint64_t ref; /* the caller's handle for the block, returned as is */
};

struct ms_reach;

/* A graph over copies of the n blocks (any order; sorted inside).
 * Overlapping blocks: one whose range holds the start of another is a
 * container (a pool carved into custom blocks) and is left out, as
 * memcheck leaves out a malloc'ed block that holds mempool chunks; its
 * words outside the inner blocks are neither roots nor edges. NULL on
 * ENOMEM or with more than 2^29 blocks. Cost: O(n log n). */
struct ms_reach *ms_reach_new(const struct ms_reach_block *blocks, size_t n);
void ms_reach_free(struct ms_reach *g); /* NULL-safe */

/* Blocks in address order: i in [0, ms_reach_count()). */
size_t ms_reach_count(const struct ms_reach *g);
const struct ms_reach_block *ms_reach_block_at(const struct ms_reach *g, size_t i);
/* The first ms_reach_sorted() blocks are sorted by address and do not
 * overlap (left-out containers come after them). */
size_t ms_reach_sorted(const struct ms_reach *g);
/* First sorted index whose block ends after addr (ms_reach_sorted() if
 * none). O(log n). */
size_t ms_reach_lower_bound(const struct ms_reach *g, uint64_t addr);
/* Index of the block whose [addr, addr + max(size, 1)) holds p, or -1. */
long ms_reach_find(const struct ms_reach *g, uint64_t p);
/* Lowest block address and highest block end: a word outside cannot point
 * into any block. */
void ms_reach_span(const struct ms_reach *g, uint64_t *lo, uint64_t *hi);

/* What the words of fed memory that lie outside every block are. */
enum ms_reach_words {
	MS_WORDS_HEAP = 0,  /* free memory of the allocator: ignored */
	MS_WORDS_ROOTS,     /* roots */
};

/* Feed len bytes of the target's memory at addr (buf holds them). Each
 * 8-byte aligned word inside a block is an edge from that block; a word
 * outside every block is what `words` says. Ranges may come in any order
 * and be fed more than once only if fed identically. 0 or -ENOMEM. Cost:
 * O(len/8 * log n) at worst; pointer-free memory costs a compare per
 * word.
 *
 * A root pointing to a 16-byte aligned address in a block's last 8 bytes
 * is no reference to it: with glibc that address is the header of the
 * next chunk, which glibc's own data (main_arena's top and bins) and the
 * dead frames and registers of malloc and free point at; memcheck's
 * allocator leaves no such address. (A program's only pointer to the last
 * element of a 3-element array of 8-byte values would be one too: that
 * block comes out definitely rather than possibly lost.) Pointers inside
 * blocks are taken as they are. */
int ms_reach_scan(struct ms_reach *g, uint64_t addr, const void *buf, size_t len, int words);

/* A register of a held thread: a root word. 0 or -ENOMEM. */
int ms_reach_register(struct ms_reach *g, uint64_t value);
/* [addr, addr + len) could not be read: every block it overlaps is
 * MS_REACH_UNREADABLE (its own pointers are unknown). */
void ms_reach_unreadable(struct ms_reach *g, uint64_t addr, uint64_t len);

/* Heuristics need a look at the pointed-to blocks, which the caller reads
 * (still holding the target). read_words fills vals[i] with the 8 bytes at
 * addrs[i] and returns 0, or sets ok[i] = 0 for a word it could not read;
 * is_vtable(addr) says whether addr looks like a C++ vtable (an array of
 * at least two function pointers into executable file mappings). With
 * read_words NULL no heuristic applies. Call after the last scan and
 * before classify. 0 or -ENOMEM. Cost: two words per distinct
 * (block, offset) an interior pointer targets. */
struct ms_reach_io {
	void (*read_words)(void *user, const uint64_t *addrs, uint64_t *vals, uint8_t *ok, size_t n);
	int (*is_vtable)(void *user, uint64_t addr);
	void *user;
};
int ms_reach_heuristics(struct ms_reach *g, const struct ms_reach_io *io);
/* The heuristic that matches an interior pointer at offset off into a
 * block of size bytes whose first two words are w0, w1 (valid = their
 * bits: 1 for w0, 2 for w1) and whose word at off is at_ptr (valid bit
 * 4); vtables() tells if both w0 and at_ptr look like vtables. Pure. */
int ms_reach_heur_match(uint64_t size, uint64_t off, uint64_t w0, uint64_t w1, uint64_t at_ptr,
			unsigned valid, int (*vtables)(void *user, uint64_t a, uint64_t b), void *user);

/* Classify every block (memcheck's rules; reach.c says which). After it,
 * feeding is over. 0 or -ENOMEM. Cost: O(blocks + edges). */
int ms_reach_classify(struct ms_reach *g);
/* Results by index (address order). */
int ms_reach_class(const struct ms_reach *g, size_t i);
/* Definitely lost: bytes of the blocks lost because this one is (its
 * clique), as memcheck's "N (D direct, I indirect) bytes". */
uint64_t ms_reach_indirect_bytes(const struct ms_reach *g, size_t i);
/* Still reachable only through a heuristic: which one (else 0). */
int ms_reach_heur(const struct ms_reach *g, size_t i);

/* What feeding saw (for the report and the benchmark). */
struct ms_reach_stats {
	uint64_t words;          /* words fed */
	uint64_t root_words;     /* of them, roots */
	uint64_t edges;          /* block -> block pointers kept */
	uint64_t interior;       /* interior pointers (roots and blocks) */
	uint64_t unreadable_bytes;
};
void ms_reach_stats(const struct ms_reach *g, struct ms_reach_stats *out);

#endif
