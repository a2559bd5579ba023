/* ringbuf.c - see ringbuf.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfmaps.h"
#include "ringbuf.h"
#include "tsc_clock.h"

struct ms_consumer {
	struct ring_buffer *rb;
	struct ms_registry *reg;
	int stacks_fd;
	int depth;
	uint64_t *ips;
	uint64_t records;
	uint64_t stacks;
	void (*hook)(void *user, const struct ms_hdr *h);
	void *user;
	struct ms_tsc_clock clock; /* for MS_F_TSC records */
	/* a record whose TSC time was turned into ns (the ring is read-only) */
	struct ms_ev_var copy;
};

static int on_record(void *ctx, void *data, size_t len)
{
	struct ms_consumer *c = ctx;
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
		c->stacks += ms_bpfmaps_fetch_stack(c->stacks_fd, c->reg, h->pid,
						    ((const struct ms_ev_heap *)data)->stack_id, c->ips, c->depth);
	ms_registry_consume(c->reg, data, len);
	if (c->hook)
		c->hook(c->user, h);
	return 0;
}

struct ms_consumer *ms_consumer_new(struct ms_loader *l, struct ms_registry *r, int stack_depth)
{
	struct ms_consumer *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->reg = r;
	c->depth = stack_depth;
	c->stacks_fd = ms_loader_stacks_fd(l);
	c->ips = calloc(stack_depth > 0 ? (size_t)stack_depth : 1, sizeof(uint64_t));
	ms_tsc_clock_init(&c->clock); /* uncalibrated where the TSC is not the clock */
	c->rb = ring_buffer__new(ms_loader_ringbuf_fd(l), on_record, c, NULL);
	if (!c->ips || !c->rb) {
		int err = errno ? errno : ENOMEM;

		ms_consumer_free(c);
		errno = err;
		return NULL;
	}
	return c;
}

int ms_consumer_poll(struct ms_consumer *c, int timeout_ms)
{
	uint64_t before = c->records;
	int err = ring_buffer__poll(c->rb, timeout_ms);

	if (err < 0 && err != -EINTR)
		return err;
	ms_tsc_clock_anchor(&c->clock);
	err = ring_buffer__consume(c->rb);
	if (err < 0 && err != -EINTR)
		return err;
	return (int)(c->records - before);
}

void ms_consumer_set_hook(struct ms_consumer *c, void (*hook)(void *, const struct ms_hdr *),
			  void *user)
{
	c->hook = hook;
	c->user = user;
}

uint64_t ms_consumer_records(const struct ms_consumer *c)
{
	return c->records;
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
	free(c->ips);
	free(c);
}
