/* SPDX-License-Identifier: BSD-3-Clause */
/* registry_heap.c - live blocks, allocation sites, histograms, the memory
 * timeline, and invalid/double frees. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "registry/registry_int.h"

/* Past this many remembered freed addresses the set is reset: double-free
 * detection then only covers recent frees, and memory stays bounded. */
#define FREED_MAX (1u << 20)
/* Interior-pointer search scans the live set only when it is this small;
 * exact matches (the common case) are always found. */
#define LINK_SCAN_MAX 65536

static unsigned log2_bucket(uint64_t v)
{
	unsigned b = v ? 64 - (unsigned)__builtin_clzll(v) : 0;

	return b < MS_HIST_BUCKETS ? b : MS_HIST_BUCKETS - 1;
}

/* Add (sign 1) or remove (sign -1) a sampled block's contribution. */
static void est_add(struct ms_estimate *e, const struct ms_block *b, int alloc, int sign)
{
	double w = (double)b->weight, sz = b->size ? (double)b->size : 1.0, o = w / sz;

	if (!b->weight)
		return;
	if (alloc) {
		e->alloc_space += w;
		e->alloc_space_var += w * (w - sz);
		e->alloc_objects += o;
		e->alloc_objects_var += o * (o - 1);
		e->samples++;
	}
	e->inuse_space += sign * w;
	e->inuse_space_var += sign * w * (w - sz);
	e->inuse_objects += sign * o;
	e->inuse_objects_var += sign * o * (o - 1);
	e->live_samples += sign;
}

static struct ms_site *site_of(struct ms_registry *r, uint32_t pid, int32_t stack_id)
{
	uint64_t *i = ms_hm_get(&r->site_idx, pid, (uint32_t)stack_id);
	struct ms_site *s;

	if (i)
		return &r->sites.v[*i];
	if (MS_VEC_PUSH(r->sites, s))
		return NULL;
	memset(s, 0, sizeof(*s));
	s->pid = pid;
	s->stack_id = stack_id;
	if (ms_hm_put(&r->site_idx, pid, (uint32_t)stack_id, r->sites.n - 1)) {
		r->sites.n--;
		return NULL;
	}
	return s;
}

static void timeline_add(struct ms_registry *r, uint64_t ts)
{
	size_t i;

	if (!ts)
		return;
	if (r->ntimeline && ts < r->timeline[r->ntimeline - 1].ts_ns + r->timeline_step) {
		/* Within the current step: keep the step's maximum. */
		if (r->sum.live_bytes > r->timeline[r->ntimeline - 1].live_bytes)
			r->timeline[r->ntimeline - 1].live_bytes = r->sum.live_bytes;
		return;
	}
	if (r->ntimeline == MS_TIMELINE_MAX) {
		/* Halve the resolution: merge pairs, keeping maxima. */
		for (i = 0; i < MS_TIMELINE_MAX / 2; i++) {
			struct ms_point a = r->timeline[2 * i], b = r->timeline[2 * i + 1];

			r->timeline[i].ts_ns = a.ts_ns;
			r->timeline[i].live_bytes = a.live_bytes > b.live_bytes ? a.live_bytes : b.live_bytes;
		}
		r->ntimeline = MS_TIMELINE_MAX / 2;
		r->timeline_step *= 2;
	}
	r->timeline[r->ntimeline].ts_ns = ts;
	r->timeline[r->ntimeline].live_bytes = r->sum.live_bytes;
	r->ntimeline++;
}

static struct ms_block *block_find(struct ms_registry *r, uint32_t pid, uint64_t addr)
{
	uint64_t *i = ms_hm_get(&r->block_idx, pid, addr);

	return i ? &r->blocks.v[*i] : NULL;
}

static void block_release(struct ms_registry *r, struct ms_block *b, uint64_t ts, int count_free);

/* A new live block; returns it or NULL on ENOMEM. */
static struct ms_block *block_add(struct ms_registry *r, const struct ms_hdr *h,
				  const struct ms_ev_heap *e, uint64_t weight)
{
	struct ms_block *b = block_find(r, h->pid, e->addr);
	struct ms_scope *s;
	struct ms_task *t;
	struct ms_site *site;
	size_t idx;

	if (b) /* its free was dropped: the address was reused */
		block_release(r, b, h->ts_ns, 0);
	if (r->free_blocks.n) {
		idx = r->free_blocks.v[--r->free_blocks.n];
		b = &r->blocks.v[idx];
	} else {
		if (MS_VEC_PUSH(r->blocks, b))
			return NULL;
		idx = r->blocks.n - 1;
	}
	memset(b, 0, sizeof(*b));
	b->addr = e->addr;
	b->size = e->size;
	b->ts_ns = h->ts_ns;
	b->scope = ms_reg_scope(r, h->scope) ? h->scope : 0;
	b->task = h->task;
	b->weight = weight;
	b->pid = h->pid;
	b->tid = h->tid;
	b->stack_id = e->stack_id;
	b->kind = e->kind;
	b->used = 1;
	b->var = -1;
	if (ms_hm_put(&r->block_idx, h->pid, e->addr, idx)) {
		b->used = 0;
		return NULL;
	}
	ms_hm_del(&r->freed, h->pid, e->addr, NULL);
	r->sum.live_allocs++;
	r->sum.live_bytes += b->size;
	if (r->sum.live_bytes > r->sum.peak_live_bytes) {
		r->sum.peak_live_bytes = r->sum.live_bytes;
		r->sum.peak_time_ns = h->ts_ns;
	}
	site = site_of(r, h->pid, b->stack_id);
	if (site) {
		site->live++;
		site->live_bytes += b->size;
		site->weight_live += weight;
		if (h->type == MS_EV_LIVE) /* a snapshot block: in use only */
			est_add(&site->est, b, 0, 1);
	}
	if (h->type == MS_EV_LIVE)
		est_add(&r->sum.est, b, 0, 1);
	s = ms_reg_scope(r, b->scope);
	if (s)
		s->live_bytes += b->size;
	t = b->task ? ms_reg_task(r, h->pid, b->task, 1) : NULL;
	if (t) {
		t->live_bytes += b->size;
		if (t->live_bytes > t->peak_live_bytes)
			t->peak_live_bytes = t->live_bytes;
	}
	return b;
}

/* Count a new allocation (not for fast-mode snapshot blocks). */
static void alloc_count(struct ms_registry *r, const struct ms_block *b)
{
	struct ms_site *site = site_of(r, b->pid, b->stack_id);
	struct ms_scope *s = ms_reg_scope(r, b->scope);
	struct ms_task *t = b->task ? ms_reg_task(r, b->pid, b->task, 1) : NULL;

	r->sum.allocs++;
	r->sum.alloc_bytes += b->size;
	r->size_hist[log2_bucket(b->size)]++;
	if (site) {
		site->allocs++;
		site->alloc_bytes += b->size;
		site->weight_alloc += b->weight;
		est_add(&site->est, b, 1, 1);
	}
	est_add(&r->sum.est, b, 1, 1);
	if (s) {
		s->allocs++;
		s->alloc_bytes += b->size;
	}
	if (t) {
		t->allocs++;
		t->alloc_bytes += b->size;
	}
	timeline_add(r, b->ts_ns);
}

static void block_release(struct ms_registry *r, struct ms_block *b, uint64_t ts, int count_free)
{
	struct ms_site *site = site_of(r, b->pid, b->stack_id);
	struct ms_scope *s = ms_reg_scope(r, b->scope);
	struct ms_task *t = b->task ? ms_reg_task(r, b->pid, b->task, 0) : NULL;
	uint64_t life = ts > b->ts_ns ? ts - b->ts_ns : 0;
	size_t idx = (size_t)(b - r->blocks.v), *slot;

	r->sum.live_allocs--;
	r->sum.live_bytes -= b->size;
	if (site) {
		site->live--;
		site->live_bytes -= b->size;
		site->weight_live -= b->weight;
		est_add(&site->est, b, 0, -1);
	}
	est_add(&r->sum.est, b, 0, -1);
	if (s)
		s->live_bytes -= b->size < s->live_bytes ? b->size : s->live_bytes;
	if (t)
		t->live_bytes -= b->size < t->live_bytes ? b->size : t->live_bytes;
	if (count_free) {
		r->sum.frees++;
		r->sum.freed_bytes += b->size;
		r->life_hist[log2_bucket(life)]++;
		if (life < r->opts.temp_ns) {
			r->sum.temporaries++;
			r->sum.temporary_bytes += b->size;
			if (site)
				site->temp++;
		}
		if (site) {
			site->frees++;
			site->freed_bytes += b->size;
		}
		if (s)
			s->frees++;
		if (t) {
			t->frees++;
			t->freed_bytes += b->size;
		}
	}
	if (b->var >= 0 && (size_t)b->var < r->vars.n) {
		struct ms_var *v = &r->vars.v[b->var];

		if (v->heap_addr == b->addr && !v->heap_freed_ns)
			v->heap_freed_ns = ts;
	}
	if (r->freed.len >= FREED_MAX)
		ms_hm_free(&r->freed);
	ms_hm_put(&r->freed, b->pid, b->addr, ts);
	ms_hm_del(&r->block_idx, b->pid, b->addr, NULL);
	b->used = 0;
	if (!MS_VEC_PUSH(r->free_blocks, slot))
		*slot = idx;
	timeline_add(r, ts);
}

static void bad_free(struct ms_registry *r, const struct ms_hdr *h, const struct ms_ev_heap *e,
		     int is_double, uint64_t first_ns, int unsure)
{
	struct ms_bad_free *f;

	if (MS_VEC_PUSH(r->bad, f))
		return;
	memset(f, 0, sizeof(*f));
	f->is_double = is_double;
	f->unsure = unsure;
	f->addr = e->h.type == MS_EV_REALLOC ? e->old_addr : e->addr;
	f->ts_ns = h->ts_ns;
	f->scope = h->scope;
	f->task = h->task;
	f->caller = e->caller;
	f->first_free_ns = first_ns;
	f->pid = h->pid;
	f->tid = h->tid;
	f->stack_id = e->stack_id;
	f->kind = e->kind;
}

/* A release of addr that the registry has no block for. */
static void unknown_release(struct ms_registry *r, const struct ms_hdr *h,
			    const struct ms_ev_heap *e, uint64_t addr)
{
	uint64_t *freed_at = ms_hm_get(&r->freed, h->pid, addr);
	int internal;

	if (h->flags & MS_F_KNOWN) {
		/* BPF had the block; its allocation record was dropped. */
		r->sum.missed_allocs++;
		r->sum.frees++;
		r->sum.freed_bytes += e->old_size;
		return;
	}
	internal = e->caller && r->opts.internal_caller ?
		   r->opts.internal_caller(r->opts.user, h->pid, e->caller) : 0;
	if (internal > 0) {
		r->sum.internal_frees++;
		return;
	}
	/* freed before a coverage gap ended: it may have been allocated
	 * again while nobody watched */
	if (freed_at && *freed_at >= r->last_gap_end) {
		bad_free(r, h, e, 1, *freed_at, internal < 0);
		return;
	}
	/* After a coverage gap an unknown block may have been allocated
	 * while nobody watched: not an error. */
	if (r->opts.from_start && !(h->flags & MS_F_SAMPLED) &&
	    !(r->first_gap_start && h->ts_ns >= r->first_gap_start)) {
		bad_free(r, h, e, 0, 0, internal < 0);
		/* remembered like an unknown free: were it the allocator's own,
		 * a second one is its own too, and settles the same way */
		if (internal < 0)
			ms_hm_put(&r->freed, h->pid, addr, h->ts_ns);
		return;
	}
	/* Allocated before the attach: not an error, and now gone. */
	r->sum.unknown_frees++;
	if (r->freed.len >= FREED_MAX)
		ms_hm_free(&r->freed);
	ms_hm_put(&r->freed, h->pid, addr, h->ts_ns);
}

void ms_reg_heap_record(struct ms_registry *r, const struct ms_hdr *h, const void *rec, size_t len)
{
	const struct ms_ev_heap *e = rec;
	struct ms_block *b, *old;
	int64_t var = -1;

	(void)len;
	switch (h->type) {
	case MS_EV_ALLOC:
		if (!e->addr)
			return;
		if (h->flags & MS_F_UNTRACKED)
			r->sum.untracked_allocs++;
		b = block_add(r, h, e, e->weight);
		if (b)
			alloc_count(r, b);
		break;
	case MS_EV_LIVE:
		if (e->addr)
			block_add(r, h, e, e->weight);
		break;
	case MS_EV_FREE:
		if (!e->addr)
			return;
		b = block_find(r, h->pid, e->addr);
		if (b)
			block_release(r, b, h->ts_ns, 1);
		else
			unknown_release(r, h, e, e->addr);
		break;
	case MS_EV_REALLOC:
		old = block_find(r, h->pid, e->old_addr);
		if (old) {
			var = old->var;
			block_release(r, old, h->ts_ns, 1);
		} else if (e->old_addr) {
			unknown_release(r, h, e, e->old_addr);
		}
		if (!e->addr)
			return;
		b = block_add(r, h, e, e->weight);
		if (!b)
			return;
		alloc_count(r, b);
		/* The variable that named the old block names the new one. */
		if (var >= 0 && (size_t)var < r->vars.n) {
			struct ms_var *v = &r->vars.v[var];

			b->var = var;
			v->heap_addr = b->addr;
			v->heap_size = b->size;
			v->heap_freed_ns = 0;
		}
		break;
	}
}

void ms_reg_link_var(struct ms_registry *r, struct ms_var *v, size_t vi)
{
	struct ms_block *b = block_find(r, v->pid, v->value);
	size_t i;

	if (!b && v->value && r->sum.live_allocs <= LINK_SCAN_MAX) {
		for (i = 0; i < r->blocks.n; i++) {
			struct ms_block *c = &r->blocks.v[i];

			if (c->used && c->pid == v->pid && v->value >= c->addr &&
			    v->value - c->addr < c->size) {
				b = c;
				break;
			}
		}
	}
	if (!b)
		return;
	v->has_heap = 1;
	v->heap_addr = b->addr;
	v->heap_size = b->size;
	v->heap_freed_ns = 0;
	b->var = (int64_t)vi;
}

void ms_registry_live_begin(struct ms_registry *r)
{
	size_t i;

	/* Drop the old picture without counting frees. */
	for (i = 0; i < r->blocks.n; i++)
		r->blocks.v[i].used = 0;
	r->blocks.n = 0;
	r->free_blocks.n = 0;
	ms_hm_free(&r->block_idx);
	for (i = 0; i < r->sites.n; i++) {
		struct ms_estimate *e = &r->sites.v[i].est;

		r->sites.v[i].live = 0;
		r->sites.v[i].live_bytes = 0;
		r->sites.v[i].weight_live = 0;
		e->inuse_space = e->inuse_space_var = e->inuse_objects = e->inuse_objects_var = 0;
		e->live_samples = 0;
	}
	r->sum.est.inuse_space = r->sum.est.inuse_space_var = 0;
	r->sum.est.inuse_objects = r->sum.est.inuse_objects_var = 0;
	r->sum.est.live_samples = 0;
	for (i = 0; i < r->scopes.n; i++)
		r->scopes.v[i].live_bytes = 0;
	for (i = 0; i < r->tasks.n; i++)
		r->tasks.v[i].live_bytes = 0;
	r->sum.live_allocs = 0;
	r->sum.live_bytes = 0;
	r->live_snapshot = 1;
}

void ms_registry_live_end(struct ms_registry *r)
{
	size_t i;

	/* Fast mode: the registry saw no allocations, so variables are joined
	 * with the blocks now, by the value they had when tracked. */
	for (i = 0; i < r->vars.n; i++) {
		struct ms_var *v = &r->vars.v[i];

		if (v->has_value && !v->has_heap)
			ms_reg_link_var(r, v, i);
	}
	r->live_snapshot = 0;
	timeline_add(r, r->sum.last_ns);
}

int ms_registry_set_site(struct ms_registry *r, uint32_t pid, int32_t stack_id,
			 const struct ms_site_val *v)
{
	struct ms_site *s = site_of(r, pid, stack_id);
	uint64_t dallocs, dbytes, dfrees, dfreed;

	if (!s)
		return -ENOMEM;
	/* Counters only grow; fold the increase into the totals. */
	dallocs = v->allocs - s->allocs;
	dbytes = v->alloc_bytes - s->alloc_bytes;
	dfrees = v->frees - s->frees;
	dfreed = v->freed_bytes - s->freed_bytes;
	r->sum.allocs += dallocs;
	r->sum.alloc_bytes += dbytes;
	r->sum.frees += dfrees;
	r->sum.freed_bytes += dfreed;
	s->allocs = v->allocs;
	s->alloc_bytes = v->alloc_bytes;
	s->frees = v->frees;
	s->freed_bytes = v->freed_bytes;
	return 0;
}

void ms_reg_heap_free_all(struct ms_registry *r)
{
	free(r->blocks.v);
	free(r->free_blocks.v);
	free(r->sites.v);
	free(r->bad.v);
	ms_hm_free(&r->block_idx);
	ms_hm_free(&r->freed);
	ms_hm_free(&r->site_idx);
}

void ms_registry_settle(struct ms_registry *r)
{
	size_t i, j = 0;

	for (i = 0; i < r->bad.n; i++) {
		struct ms_bad_free *f = &r->bad.v[i];

		if (f->unsure && r->opts.internal_caller &&
		    r->opts.internal_caller(r->opts.user, f->pid, f->caller) > 0) {
			r->sum.internal_frees++;
			continue;
		}
		f->unsure = 0;
		r->bad.v[j++] = *f;
	}
	r->bad.n = j;
	ms_registry_resolve_strings(r);
}

void ms_registry_coverage_gap(struct ms_registry *r, uint64_t start_ns, uint64_t end_ns)
{
	if (start_ns != r->gap_start) {
		r->gap_start = start_ns;
		r->sum.coverage_gaps++;
		if (!r->first_gap_start)
			r->first_gap_start = start_ns;
	}
	r->last_gap_end = end_ns;
}

int ms_registry_block_unsure(const struct ms_registry *r, const struct ms_block *b)
{
	return b->ts_ns < r->last_gap_end;
}
