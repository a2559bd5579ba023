/* SPDX-License-Identifier: BSD-3-Clause */
/* leakscan.c - see leakscan.h. Which memory is a root, and reading it fast.
 *
 * Roots, as memcheck takes them (every readable and writable client
 * mapping that is not heap, plus registers), with the /proc/PID/maps view:
 *   - module data: private writable file mappings (.data, GOT) and the
 *     anonymous mapping that continues them (.bss); relro, the read-only
 *     part just before a module's writable mapping;
 *   - thread stacks: from each held thread's stack pointer up (the thread
 *     held at _exit: from where exit() was called, the rest is exit()'s
 *     own frames over dead ones; its registers then are roots too); the
 *     static TLS of a thread lives at the top
 *     of its stack mapping, the main thread's in an anonymous mapping of
 *     ld.so, both covered; dynamic TLS is malloc'ed: blocks like any other.
 *     Not the 128 bytes below the stack pointer (the red zone): a thread is
 *     held in a system call or at a call into _exit, not in a leaf function
 *     that keeps data there, and what lies there is the dead frames of the
 *     last calls - malloc's own, holding the block it just returned, which
 *     would keep every thread's latest allocation "reachable";
 *   - every other anonymous writable mapping (a program's own mmap);
 *   - the general registers of every held thread.
 * Not roots: [vvar], [vdso], devices other than /dev/zero (reading them
 * can have effects), shared file mappings (a data file, not where a
 * process keeps pointers; it may be huge), and heap: [heap] (brk) and the
 * anonymous mappings that hold allocator addresses. Free chunks there keep
 * stale pointers. glibc carves its per-thread arenas out of 64 MiB-aligned
 * reservations, and the kernel may merge such a heap with an anonymous
 * mapping just below it (a thread stack): the heap part starts at the
 * 64 MiB boundary below its lowest block, what lies below stays a root. A
 * mapping whose blocks all start 16 bytes into a page holds mmap()ed
 * chunks, one per block: only the blocks themselves are heap there.
 *
 * Reading: process_vm_readv copies from the stopped process into one
 * 8 MiB buffer, up to 1024 ranges per call (IOV_MAX); live blocks close
 * together are read as one range. A range it cannot read is retried page
 * by page through /proc/PID/mem, which also reaches pages
 * process_vm_readv refuses; what neither reads makes the blocks there
 * "unreadable". A block outside every mapping read (the registry holds a
 * block the process no longer maps) is unreadable too. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "proc/leakscan.h"
#include "util/hashmap.h"
#include "util/vec.h"

#define BUF_BYTES (8u << 20)
#define MAX_IOV 1024
#define PAGE 4096ull
#define GLIBC_HEAP_MAX (64ull << 20) /* HEAP_MAX_SIZE on 64-bit */
#define COALESCE_GAP 4096 /* read blocks closer than this as one range */

struct vma {
	uint64_t start, end, off, ino;
	unsigned dev;
	char r, w, x, shared;
	char *name; /* "" for anonymous */
};

struct span {
	uint64_t start, end;
	int heap;
};

struct ms_leakscan {
	struct ms_leakscan_opts o;
	const struct ms_scan_sink *sink;
	struct ms_leakscan_result *res, dummy;
	struct vma *v;
	size_t nv;
	struct span *s;
	size_t ns, scap;
	/* the batch being filled */
	char *buf;
	struct iovec liov[MAX_IOV], riov[MAX_IOV];
	int roots[MAX_IOV];
	size_t nseg, used;
	int memfd;
	struct ms_hashmap vt; /* vtable answers: addr -> 1 no, 2 yes */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void vmas_free(struct vma *v, size_t n)
{
	while (n)
		free(v[--n].name);
	free(v);
}

static int read_maps(pid_t tid, struct vma **out, size_t *nout)
{
	char path[64], line[4352];
	struct vma *v = NULL;
	size_t n = 0, cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off, ino;
		unsigned maj, min;
		char perm[5];
		int pos = 0;
		char *name, *nl;

		if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &s, &e, perm, &off, &maj, &min,
			   &ino, &pos) < 7)
			continue;
		if (ms_vec_reserve((void **)&v, &cap, sizeof(*v), n + 1))
			goto nomem;
		name = line + pos;
		if ((nl = strchr(name, '\n')))
			*nl = 0;
		v[n] = (struct vma){ .start = s, .end = e, .off = off, .ino = ino,
				     .dev = maj << 20 | min, .r = perm[0] == 'r', .w = perm[1] == 'w',
				     .x = perm[2] == 'x', .shared = perm[3] == 's',
				     .name = strdup(name) };
		if (!v[n].name)
			goto nomem;
		n++;
	}
	fclose(f);
	if (!n) {
		free(v);
		return -ESRCH; /* no address space: gone */
	}
	*out = v;
	*nout = n;
	return 0;
nomem:
	fclose(f);
	vmas_free(v, n);
	return -ENOMEM;
}

static const struct vma *vma_of(const struct ms_leakscan *sc, uint64_t a)
{
	size_t l = 0, h = sc->nv;

	while (l < h) {
		size_t mid = l + (h - l) / 2;

		if (sc->v[mid].end <= a)
			l = mid + 1;
		else
			h = mid;
	}
	return l < sc->nv && sc->v[l].start <= a ? &sc->v[l] : NULL;
}

static int add_span(struct ms_leakscan *sc, uint64_t start, uint64_t end, int heap)
{
	if (end <= start)
		return 0;
	if (ms_vec_reserve((void **)&sc->s, &sc->scap, sizeof(*sc->s), sc->ns + 1))
		return -ENOMEM;
	sc->s[sc->ns++] = (struct span){ start, end, heap };
	return 0;
}

static int is_file(const struct vma *v)
{
	return v->name[0] == '/';
}

/* The part of mapping i that is roots starts at the lowest held stack
 * pointer in it: below it lie dead frames. */
static uint64_t roots_from(const struct ms_leakscan *sc, const struct vma *v)
{
	uint64_t lo = v->start, sp = UINT64_MAX;
	size_t i;

	for (i = 0; i < sc->o.nthreads; i++) {
		const struct ms_hold_thread *t = &sc->o.threads[i];
		uint64_t tsp = t->regs.rsp;

		/* the thread in _exit: from where exit() was called */
		if (t->tid == sc->o.exit_tid && sc->o.exit_sp > tsp && sc->o.exit_sp < v->end)
			tsp = sc->o.exit_sp;
		if (t->has_regs && tsp >= v->start && tsp < v->end && tsp < sp)
			sp = tsp;
	}
	if (sp != UINT64_MAX && sp > lo)
		lo = sp & ~7ull;
	return lo;
}

/* Allocator addresses in [start, end): how many, the lowest, and whether
 * every one is an mmap()ed chunk's (16 bytes into a page). */
static size_t heap_in(const struct ms_leakscan *sc, uint64_t start, uint64_t end, uint64_t *lowest,
		      int *all_mmapped)
{
	const uint64_t *a = sc->o.heap_addrs;
	size_t l = 0, h = sc->o.nheap, k;

	while (l < h) {
		size_t mid = l + (h - l) / 2;

		if (a[mid] < start)
			l = mid + 1;
		else
			h = mid;
	}
	*all_mmapped = 1;
	for (k = l; k < sc->o.nheap && a[k] < end; k++)
		if ((a[k] & (PAGE - 1)) != 16)
			*all_mmapped = 0;
	*lowest = k > l ? a[l] : 0;
	return k - l;
}

static int plan(struct ms_leakscan *sc)
{
	size_t i;
	int err = 0;

	for (i = 0; i < sc->nv && !err; i++) {
		const struct vma *v = &sc->v[i];
		uint64_t lowest, h;
		int mm;

		if (!v->r)
			continue;
		/* [vvar], [vdso], [vsyscall], [uprobes]: the kernel's */
		if (v->name[0] == '[' && strcmp(v->name, "[heap]") && strcmp(v->name, "[stack]") &&
		    strncmp(v->name, "[anon", 5))
			continue;
		if (!v->w) {
			/* relro: read-only, just before the writable mapping of
			 * the same file */
			if (is_file(v) && !v->shared && v->off && i + 1 < sc->nv &&
			    sc->v[i + 1].start == v->end && sc->v[i + 1].w && sc->v[i + 1].ino == v->ino &&
			    sc->v[i + 1].dev == v->dev)
				err = add_span(sc, v->start, v->end, 0);
			continue;
		}
		if (!strncmp(v->name, "/dev/", 5) && strncmp(v->name, "/dev/zero", 9))
			continue;
		if (v->shared && is_file(v) && strncmp(v->name, "/dev/zero", 9))
			continue;
		if (!strcmp(v->name, "[heap]")) {
			err = add_span(sc, v->start, v->end, 1);
			continue;
		}
		if (is_file(v) || !heap_in(sc, v->start, v->end, &lowest, &mm) || mm) {
			err = add_span(sc, roots_from(sc, v), v->end, 0);
			continue;
		}
		h = lowest & ~(GLIBC_HEAP_MAX - 1);
		if (h < v->start)
			h = v->start;
		if (h > v->start) {
			struct vma below = *v;

			below.end = h;
			err = add_span(sc, roots_from(sc, &below), h, 0);
		}
		if (!err)
			err = add_span(sc, h, v->end, 1);
	}
	return err;
}

/* ---- reading --------------------------------------------------------------- */

static int mem_fd(struct ms_leakscan *sc)
{
	char path[64];

	if (sc->memfd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/mem", (int)sc->o.pid, (int)sc->o.tid);
		sc->memfd = open(path, O_RDONLY | O_CLOEXEC);
	}
	return sc->memfd;
}

/* One range process_vm_readv would not read: page by page through
 * /proc/PID/mem; what fails is unreadable. */
static int read_slow(struct ms_leakscan *sc, uint64_t addr, size_t len, char *dst, int roots)
{
	uint64_t a = addr, end = addr + len;

	while (a < end) {
		uint64_t next = (a & ~(PAGE - 1)) + PAGE;
		size_t n = (size_t)((next < end ? next : end) - a);
		int fd = mem_fd(sc);
		ssize_t r = fd >= 0 ? pread(fd, dst + (a - addr), n, (off_t)a) : -1;

		sc->res->syscalls++;
		if (r == (ssize_t)n) {
			int err = sc->sink->memory(sc->sink->user, a, dst + (a - addr), n, roots);

			if (err)
				return err;
			sc->res->read_bytes += n;
		} else {
			if (r < 0 && errno == ESRCH)
				return -ESRCH;
			sc->sink->unreadable(sc->sink->user, a, n);
			sc->res->unreadable_bytes += n;
		}
		a += n;
	}
	return 0;
}

static int flush(struct ms_leakscan *sc)
{
	size_t i = 0;

	while (i < sc->nseg) {
		ssize_t r;
		size_t done = 0;

		if (sc->o.deadline_ns && now_ns() > sc->o.deadline_ns)
			return -ETIMEDOUT;
		r = process_vm_readv(sc->o.tid, &sc->liov[i], sc->nseg - i, &sc->riov[i], sc->nseg - i, 0);
		sc->res->syscalls++;
		if (r < 0) {
			if (errno == ESRCH)
				return -ESRCH;
			r = 0;
		}
		/* feed the ranges read whole; retry the first one that was not */
		for (; i < sc->nseg && done + sc->riov[i].iov_len <= (size_t)r; i++) {
			int err = sc->sink->memory(sc->sink->user, (uint64_t)(uintptr_t)sc->riov[i].iov_base,
						   sc->liov[i].iov_base, sc->riov[i].iov_len, sc->roots[i]);

			if (err)
				return err;
			done += sc->riov[i].iov_len;
			sc->res->read_bytes += sc->riov[i].iov_len;
		}
		if (i < sc->nseg) {
			int err = read_slow(sc, (uint64_t)(uintptr_t)sc->riov[i].iov_base, sc->riov[i].iov_len,
					    sc->liov[i].iov_base, sc->roots[i]);

			if (err)
				return err;
			i++;
		}
	}
	sc->nseg = 0;
	sc->used = 0;
	return 0;
}

static int add_read(struct ms_leakscan *sc, uint64_t addr, uint64_t len, int roots)
{
	while (len) {
		size_t n = len < BUF_BYTES ? (size_t)len : BUF_BYTES;
		int err;

		if (sc->nseg == MAX_IOV || sc->used + n > BUF_BYTES)
			if ((err = flush(sc)))
				return err;
		sc->liov[sc->nseg] = (struct iovec){ sc->buf + sc->used, n };
		sc->riov[sc->nseg] = (struct iovec){ (void *)(uintptr_t)addr, n };
		sc->roots[sc->nseg] = roots;
		sc->nseg++;
		sc->used += n;
		addr += n;
		len -= n;
	}
	return 0;
}

/* First block ending after addr. */
static size_t first_block(const struct ms_leakscan *sc, uint64_t addr)
{
	size_t l = 0, h = sc->o.nblocks;

	while (l < h) {
		size_t mid = l + (h - l) / 2;

		if (sc->o.blocks[mid].addr + sc->o.blocks[mid].size <= addr)
			l = mid + 1;
		else
			h = mid;
	}
	return l;
}

/* A heap span: only the live blocks in it (and what lies between blocks
 * close together), unless its free memory must count as roots. */
static int read_heap(struct ms_leakscan *sc, const struct span *s)
{
	size_t i = first_block(sc, s->start);
	uint64_t lo = 0, hi = 0;
	int err;

	if (sc->o.unknown_heap_is_root) {
		sc->res->heap_bytes += s->end - s->start;
		return add_read(sc, s->start, s->end - s->start, MS_SCAN_ROOTS);
	}
	for (; i < sc->o.nblocks; i++) {
		const struct ms_scan_block *b = &sc->o.blocks[i];
		uint64_t bs = b->addr < s->start ? s->start : b->addr;
		uint64_t be = b->addr + b->size > s->end ? s->end : b->addr + b->size;

		if (b->addr >= s->end)
			break;
		if (be <= bs)
			continue;
		if (hi && bs - hi < COALESCE_GAP) {
			hi = be;
			continue;
		}
		if (hi) {
			sc->res->heap_bytes += hi - lo;
			if ((err = add_read(sc, lo, hi - lo, MS_SCAN_HEAP)))
				return err;
		}
		lo = bs;
		hi = be;
	}
	if (hi) {
		sc->res->heap_bytes += hi - lo;
		return add_read(sc, lo, hi - lo, MS_SCAN_HEAP);
	}
	return 0;
}

/* Blocks in no span were never read: their memory is not the process's
 * (any more), or not where the scan looks. */
static void mark_unread(struct ms_leakscan *sc)
{
	size_t i, k = 0;

	for (i = 0; i < sc->o.nblocks; i++) {
		const struct ms_scan_block *b = &sc->o.blocks[i];
		uint64_t end = b->addr + (b->size ? b->size : 1);

		while (k < sc->ns && sc->s[k].end <= b->addr)
			k++;
		if (k < sc->ns && sc->s[k].start <= b->addr && end <= sc->s[k].end)
			continue;
		/* straddling two adjacent spans is fine */
		if (k + 1 < sc->ns && sc->s[k].start <= b->addr && sc->s[k].end == sc->s[k + 1].start &&
		    end <= sc->s[k + 1].end)
			continue;
		sc->sink->unreadable(sc->sink->user, b->addr, end - b->addr);
	}
}

/* ---- heuristics' reads ----------------------------------------------------- */

void ms_leakscan_read_words(struct ms_leakscan *sc, const uint64_t *addrs, uint64_t *vals,
			    uint8_t *ok, size_t n)
{
	struct iovec l[MAX_IOV], r[MAX_IOV];
	size_t i = 0, k;

	while (i < n) {
		size_t m = n - i < MAX_IOV ? n - i : MAX_IOV;
		ssize_t got;

		for (k = 0; k < m; k++) {
			l[k] = (struct iovec){ &vals[i + k], 8 };
			r[k] = (struct iovec){ (void *)(uintptr_t)addrs[i + k], 8 };
		}
		got = process_vm_readv(sc->o.tid, l, m, r, m, 0);
		sc->res->syscalls++;
		k = got > 0 ? (size_t)got / 8 : 0;
		if (k < m) { /* one word failed: try it alone, go on after it */
			int fd = mem_fd(sc);

			ok[i + k] = fd >= 0 && pread(fd, &vals[i + k], 8, (off_t)addrs[i + k]) == 8;
			k++;
		}
		i += k;
	}
}

/* memcheck's test: at least two non-null words pointing into executable
 * file mappings, and nothing else, among the first 20 words (a vtable
 * lives in a file mapping too). */
int ms_leakscan_is_vtable(struct ms_leakscan *sc, uint64_t addr)
{
	const struct vma *v = vma_of(sc, addr);
	uint64_t w[20], *hit;
	struct iovec l, r;
	size_t n, i, fns = 0;
	ssize_t got;
	int yes = 0;

	if (!v || !is_file(v) || !v->r)
		return 0;
	if ((hit = ms_hm_get(&sc->vt, addr, 0)))
		return *hit == 2;
	n = (size_t)((v->end - addr) / 8);
	if (n > 20)
		n = 20;
	l = (struct iovec){ w, n * 8 };
	r = (struct iovec){ (void *)(uintptr_t)addr, n * 8 };
	got = process_vm_readv(sc->o.tid, &l, 1, &r, 1, 0);
	sc->res->syscalls++;
	for (i = 0; got == (ssize_t)(n * 8) && i < n && fns < 2; i++) {
		const struct vma *f;

		if (!w[i])
			continue;
		f = vma_of(sc, w[i]);
		if (!f || !is_file(f) || !f->x)
			break;
		fns++;
	}
	yes = fns == 2;
	ms_hm_put(&sc->vt, addr, 0, yes ? 2 : 1);
	return yes;
}

/* ---- the scan -------------------------------------------------------------- */

int ms_leakscan_open(struct ms_leakscan **out, const struct ms_leakscan_opts *o)
{
	struct ms_leakscan *sc = calloc(1, sizeof(*sc));
	int err;

	*out = NULL;
	if (!sc)
		return -ENOMEM;
	sc->o = *o;
	sc->memfd = -1;
	sc->res = &sc->dummy;
	err = read_maps(o->tid, &sc->v, &sc->nv);
	if (!err && !(sc->buf = malloc(BUF_BYTES)))
		err = -ENOMEM;
	if (!err)
		err = plan(sc);
	if (err) {
		ms_leakscan_close(sc);
		return err;
	}
	*out = sc;
	return 0;
}

int ms_leakscan_run(struct ms_leakscan *sc, const struct ms_scan_sink *sink,
		    struct ms_leakscan_result *res)
{
	size_t i;
	int err = 0;

	memset(res, 0, sizeof(*res));
	sc->res = res;
	sc->sink = sink;
	/* registers first: memcheck's roots include every general register */
	for (i = 0; !err && i < sc->o.nthreads; i++) {
		const struct user_regs_struct *r = &sc->o.threads[i].regs;
		const unsigned long long regs[] = { r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi,
						    r->rbp, r->rsp, r->r8, r->r9, r->r10, r->r11,
						    r->r12, r->r13, r->r14, r->r15 };
		size_t k;

		if (!sc->o.threads[i].has_regs)
			continue;
		res->threads++;
		for (k = 0; !err && k < sizeof(regs) / sizeof(regs[0]); k++)
			err = sink->reg(sink->user, regs[k]);
	}
	for (i = 0; !err && sc->o.exit_tid && i < sizeof(sc->o.exit_regs) / sizeof(sc->o.exit_regs[0]); i++)
		err = sink->reg(sink->user, sc->o.exit_regs[i]);
	for (i = 0; !err && i < sc->ns; i++) {
		const struct span *s = &sc->s[i];

		res->mappings++;
		if (s->heap) {
			err = read_heap(sc, s);
		} else {
			res->root_bytes += s->end - s->start;
			err = add_read(sc, s->start, s->end - s->start, MS_SCAN_ROOTS);
		}
	}
	if (!err)
		err = flush(sc);
	if (!err)
		mark_unread(sc);
	if (!err && sc->o.deadline_ns && now_ns() > sc->o.deadline_ns)
		err = -ETIMEDOUT;
	return err;
}

void ms_leakscan_close(struct ms_leakscan *sc)
{
	if (!sc)
		return;
	if (sc->memfd >= 0)
		close(sc->memfd);
	ms_hm_free(&sc->vt);
	free(sc->buf);
	free(sc->s);
	vmas_free(sc->v, sc->nv);
	free(sc);
}
