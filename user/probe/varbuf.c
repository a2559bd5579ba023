/* SPDX-License-Identifier: BSD-3-Clause */
/* varbuf.c - see varbuf.h. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "probe/varbuf.h"

struct ms_varbuf {
	int ncpus;
	uint32_t slots;
	const struct ms_vslot *rec; /* ncpus * slots, read-only */
	struct ms_vcpu *cpu;        /* ncpus; the tracer writes tail */
	size_t rec_len, cpu_len;
	uint64_t *head; /* per CPU, as last looked at */
	uint64_t *tail; /* per CPU, next to hand out */
	uint64_t lo;    /* smallest ring position among the next records: the
			 * ring consumer asks at every ring record */
};

static size_t page_up(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

struct ms_varbuf *ms_varbuf_new(int slots_fd, int cpus_fd, int ncpus, uint32_t slots)
{
	struct ms_varbuf *b = calloc(1, sizeof(*b));
	void *p;
	int i;

	if (!b)
		return NULL;
	b->ncpus = ncpus;
	b->slots = slots;
	b->lo = UINT64_MAX;
	b->rec_len = page_up((size_t)ncpus * slots * sizeof(struct ms_vslot));
	b->cpu_len = page_up((size_t)ncpus * sizeof(struct ms_vcpu));
	b->head = calloc((size_t)ncpus, sizeof(*b->head));
	b->tail = calloc((size_t)ncpus, sizeof(*b->tail));
	if (!b->head || !b->tail)
		goto fail;
	p = mmap(NULL, b->rec_len, PROT_READ, MAP_SHARED, slots_fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	b->rec = p;
	p = mmap(NULL, b->cpu_len, PROT_READ | PROT_WRITE, MAP_SHARED, cpus_fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	b->cpu = p;
	for (i = 0; i < ncpus; i++)
		b->head[i] = b->tail[i] = __atomic_load_n(&b->cpu[i].tail, __ATOMIC_RELAXED);
	return b;
fail:
	i = errno ? errno : ENOMEM;
	ms_varbuf_free(b);
	errno = i;
	return NULL;
}

static const struct ms_vslot *at(const struct ms_varbuf *b, int cpu, uint64_t n)
{
	return &b->rec[(size_t)cpu * b->slots + (n & (b->slots - 1))];
}

static void find_lo(struct ms_varbuf *b)
{
	int i;

	b->lo = UINT64_MAX;
	for (i = 0; i < b->ncpus; i++)
		if (b->tail[i] != b->head[i] && at(b, i, b->tail[i])->pos < b->lo)
			b->lo = at(b, i, b->tail[i])->pos;
}

void ms_varbuf_look(struct ms_varbuf *b)
{
	int i;

	/* acquire: the slots below head are written (BPF stores the record,
	 * then head, and x86 keeps stores in order) */
	for (i = 0; i < b->ncpus; i++)
		b->head[i] = __atomic_load_n(&b->cpu[i].head, __ATOMIC_ACQUIRE);
	find_lo(b);
}

/* Two records between the same ring records were made on different CPUs,
 * by different threads (concurrent: either order is true) or by one that
 * moved: their probes' times tell, when both are in one unit (TSC ticks
 * or ns: a program built with an older header sends no TSC reading). */
static int before(const struct ms_vslot *a, const struct ms_vslot *c)
{
	if (a->pos != c->pos)
		return a->pos < c->pos;
	if ((a->v.h.flags ^ c->v.h.flags) & MS_F_TSC)
		return 0;
	return a->v.h.ts_ns < c->v.h.ts_ns;
}

const struct ms_vslot *ms_varbuf_next(struct ms_varbuf *b, uint64_t limit)
{
	const struct ms_vslot *best = NULL, *r;
	int i, cpu = -1;

	if (limit < b->lo)
		return NULL;
	for (i = 0; i < b->ncpus; i++) {
		if (b->tail[i] == b->head[i])
			continue;
		r = at(b, i, b->tail[i]);
		if (r->pos <= limit && (!best || before(r, best))) {
			best = r;
			cpu = i;
		}
	}
	if (best) {
		b->tail[cpu]++;
		find_lo(b);
	}
	return best;
}

void ms_varbuf_release(struct ms_varbuf *b)
{
	int i;

	/* release: BPF may reuse a slot only after the tracer is done with it */
	for (i = 0; i < b->ncpus; i++)
		__atomic_store_n(&b->cpu[i].tail, b->tail[i], __ATOMIC_RELEASE);
}

void ms_varbuf_free(struct ms_varbuf *b)
{
	if (!b)
		return;
	if (b->rec)
		munmap((void *)b->rec, b->rec_len);
	if (b->cpu)
		munmap(b->cpu, b->cpu_len);
	free(b->head);
	free(b->tail);
	free(b);
}
