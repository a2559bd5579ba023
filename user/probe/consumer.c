/* SPDX-License-Identifier: BSD-3-Clause */
/* consumer.c - see consumer.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "probe/bpfmaps.h"
#include "probe/consumer.h"
#include "probe/tsc_clock.h"
#include "probe/varbuf.h"

struct ms_consumer {
	struct ring_buffer *rb;
	struct ms_registry *reg;
	struct ms_stack_reader stacks_rd;
	uint64_t records;
	uint64_t stacks;
	void (*hook)(void *user, const struct ms_hdr *h);
	void *user;
	struct ms_tsc_clock clock; /* for MS_F_TSC records */
	/* a record whose TSC time was turned into ns (the ring is read-only) */
	struct ms_ev_var copy;
	/* TRACK_VAR's per-CPU buffers (NULL if not used), and the ring
	 * position of the record being handed over: the kernel's consumer
	 * position when a drain starts, advanced record by record. */
	struct ms_varbuf *vars;
	const volatile uint64_t *ring_cons; /* the ring's consumer page */
	const volatile uint64_t *ring_prod; /* and its producer page */
	size_t page;
	uint64_t pos;
	uint64_t seen; /* producer position when the buffers were last looked at */
	uint64_t stop; /* ms_consumer_drain(): hand over nothing past this */
};

/* Every record reaches the registry (and the hook) through here. */
static void hand_over(struct ms_consumer *c, const void *data, size_t len)
{
	const struct ms_hdr *h = data;

	c->records++;
	if ((h->flags & MS_F_TSC) && len <= sizeof(c->copy)) {
		memcpy(&c->copy, data, len);
		c->copy.h.flags &= ~MS_F_TSC;
		c->copy.h.ts_ns = ms_tsc_clock_ns(&c->clock, h->ts_ns);
		data = &c->copy;
		h = data;
	}
	if (len >= sizeof(struct ms_ev_heap) &&
	    (h->type == MS_EV_ALLOC || h->type == MS_EV_FREE || h->type == MS_EV_REALLOC))
		c->stacks += ms_bpfmaps_fetch_stack(&c->stacks_rd, c->reg, h->pid,
						    ((const struct ms_ev_heap *)data)->stack_id);
	ms_registry_consume(c->reg, data, len);
	if (c->hook)
		c->hook(c->user, h);
}

/* The TRACK_VAR records whose probes came before ring position `limit`
 * (every ring record before it has been handed over), read in place: a
 * slot goes back to BPF only when the drain is done. */
static void vars_upto(struct ms_consumer *c, uint64_t limit)
{
	const struct ms_vslot *s;

	while ((s = ms_varbuf_next(c->vars, limit)))
		hand_over(c, &s->v, sizeof(s->v));
}

/* Which TRACK_VAR records are published. Read the ring's producer position
 * first: a variable whose probe came before a ring record (the same
 * thread's free after its TRACK_VAR) was published before that record was
 * reserved, so every ring record below `seen` has its predecessors in view.
 * Records published later wait for a later look. */
static void vars_look(struct ms_consumer *c)
{
	c->seen = __atomic_load_n(c->ring_prod, __ATOMIC_ACQUIRE);
	ms_varbuf_look(c->vars);
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct ms_consumer *c = ctx;

	if (c->vars) {
		/* libbpf reached records reserved after the last look */
		if (c->pos >= c->seen)
			vars_look(c);
		vars_upto(c, c->pos);
	}
	hand_over(c, data, len);
	/* the ring's record header is 8 bytes; records are 8-byte aligned
	 * (libbpf skips discarded ones, which memscope never makes) */
	c->pos += (len + 8 + 7) & ~(uint64_t)7;
	/* libbpf reads the producer position again after each pass: with a
	 * target that outruns the tracer, one consume would never return.
	 * An error makes it store the consumer position and return. */
	return c->stop && c->pos >= c->stop ? -ECANCELED : 0;
}

/* The ring's consumer and producer pages (read-only: libbpf consumes),
 * and TRACK_VAR's buffers if the loader made them. 0 or -1 with errno. */
static int positions_open(struct ms_consumer *c, struct ms_loader *l)
{
	int slots_fd, cpus_fd, ncpus, slots = ms_loader_var_buffers(l, &slots_fd, &cpus_fd, &ncpus);
	void *p;

	c->page = (size_t)sysconf(_SC_PAGESIZE);
	p = mmap(NULL, 2 * c->page, PROT_READ, MAP_SHARED, ms_loader_ringbuf_fd(l), 0);
	if (p == MAP_FAILED)
		return -1;
	c->ring_cons = p;
	c->ring_prod = (const volatile uint64_t *)((const char *)p + c->page);
	if (slots <= 0)
		return 0;
	c->vars = ms_varbuf_new(slots_fd, cpus_fd, ncpus, (uint32_t)slots);
	return c->vars ? 0 : -1;
}

struct ms_consumer *ms_consumer_new(struct ms_loader *l, struct ms_registry *r, int stack_depth)
{
	struct ms_consumer *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->reg = r;
	if (ms_stack_reader_init(&c->stacks_rd, l, stack_depth)) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	ms_tsc_clock_init(&c->clock); /* uncalibrated where the TSC is not the clock */
	c->rb = ring_buffer__new(ms_loader_ringbuf_fd(l), on_record, c, NULL);
	if (!c->rb || positions_open(c, l)) {
		int err = errno ? errno : ENOMEM;

		ms_consumer_free(c);
		errno = err;
		return NULL;
	}
	return c;
}

/* Before libbpf drains the ring: where it starts, and which TRACK_VAR
 * records are published (those published later wait for the next drain,
 * or for a ring record that follows them). */
static void drain_begin(struct ms_consumer *c)
{
	c->pos = *c->ring_cons;
	if (c->vars)
		vars_look(c);
}

/* After it: the TRACK_VAR records that came after the last ring record. */
static void drain_end(struct ms_consumer *c)
{
	if (!c->vars)
		return;
	vars_look(c);
	vars_upto(c, c->pos);
	ms_varbuf_release(c->vars);
}

int ms_consumer_poll(struct ms_consumer *c, int timeout_ms)
{
	uint64_t before = c->records;
	int err;

	drain_begin(c);
	err = ring_buffer__poll(c->rb, timeout_ms);
	drain_end(c);
	if (err < 0 && err != -EINTR && err != -ECANCELED)
		return err;
	ms_tsc_clock_anchor(&c->clock);
	drain_begin(c);
	err = ring_buffer__consume(c->rb);
	drain_end(c);
	if (err < 0 && err != -EINTR && err != -ECANCELED)
		return err;
	return (int)(c->records - before);
}

int ms_consumer_drain(struct ms_consumer *c)
{
	uint64_t before = c->records;
	int n;

	/* A target that runs on keeps adding records: a loop until a drain
	 * finds none could go on as long as it does. */
	c->stop = __atomic_load_n(c->ring_prod, __ATOMIC_ACQUIRE);
	do
		n = ms_consumer_poll(c, 0);
	while (n > 0 && c->pos < c->stop);
	c->stop = 0;
	return n < 0 ? n : (int)(c->records - before);
}

void ms_consumer_set_hook(struct ms_consumer *c, void (*hook)(void *, const struct ms_hdr *),
			  void *user)
{
	c->hook = hook;
	c->user = user;
}

uint64_t ms_consumer_stacks(const struct ms_consumer *c)
{
	return c->stacks;
}

void ms_consumer_free(struct ms_consumer *c)
{
	if (!c)
		return;
	ring_buffer__free(c->rb);
	ms_varbuf_free(c->vars);
	if (c->ring_cons)
		munmap((void *)c->ring_cons, 2 * c->page);
	ms_stack_reader_fini(&c->stacks_rd);
	free(c);
}
