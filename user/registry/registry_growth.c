/* SPDX-License-Identifier: BSD-3-Clause */
/* registry_growth.c - snapshots of live memory over time and the things
 * whose live bytes grow steadily across them (memory growth in long-running
 * programs: a site, a variable name or a task leaking a little per request).
 *
 * A snapshot stores live bytes per allocation site, per variable name and
 * per task: sizes bounded by what is live. At most MS_SNAP_MAX snapshots
 * are kept; past that every other one is dropped, so a long trace keeps
 * snapshots spread over its whole length. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "registry/registry_int.h"

static void snap_free(struct ms_snapshot *s)
{
	free(s->items);
	memset(s, 0, sizeof(*s));
}

static int snap_put(struct ms_snapshot *s, struct ms_hashmap *idx, int kind, uint64_t a, uint64_t b,
		    uint64_t bytes)
{
	uint64_t *i = ms_hm_get(idx, ((uint64_t)kind << 56) ^ a, b);

	if (i) {
		s->items[*i].bytes += bytes;
		return 0;
	}
	if (ms_vec_reserve((void **)&s->items, &s->cap, sizeof(*s->items), s->n + 1))
		return -1;
	s->items[s->n].kind = kind;
	s->items[s->n].a = a;
	s->items[s->n].b = b;
	s->items[s->n].bytes = bytes;
	ms_hm_put(idx, ((uint64_t)kind << 56) ^ a, b, s->n);
	s->n++;
	return 0;
}

void ms_registry_snapshot(struct ms_registry *r, uint64_t ts, const char *label)
{
	struct ms_snapshot *s;
	struct ms_hashmap idx = { 0 };
	size_t i;

	if (r->nsnaps == MS_SNAP_MAX) {
		/* keep every other snapshot: half the resolution, same span */
		for (i = 0; i < MS_SNAP_MAX; i++) {
			if (i % 2)
				snap_free(&r->snaps[i]);
			else
				r->snaps[i / 2] = r->snaps[i];
		}
		r->nsnaps = MS_SNAP_MAX / 2;
		memset(&r->snaps[r->nsnaps], 0, (MS_SNAP_MAX - r->nsnaps) * sizeof(r->snaps[0]));
	}
	s = &r->snaps[r->nsnaps++];
	memset(s, 0, sizeof(*s));
	s->ts_ns = ts;
	s->label = label ? ms_reg_intern(r, label, strlen(label)) : 0;
	s->live_bytes = r->sum.live_bytes;
	for (i = 0; i < r->blocks.n; i++) {
		const struct ms_block *b = &r->blocks.v[i];

		if (!b->used)
			continue;
		snap_put(s, &idx, MS_GROW_SITE, b->pid, (uint32_t)b->stack_id, b->size);
		if (b->var >= 0 && (size_t)b->var < r->vars.n)
			snap_put(s, &idx, MS_GROW_VAR, r->vars.v[b->var].name, 0, b->size);
		if (b->task)
			snap_put(s, &idx, MS_GROW_TASK, b->pid, b->task, b->size);
	}
	ms_hm_free(&idx);
	r->sum.snapshots++;
}

const struct ms_snapshot *ms_registry_snapshots(const struct ms_registry *r, size_t *n)
{
	*n = r->nsnaps;
	return r->snaps;
}

void ms_reg_snapshots_free(struct ms_registry *r)
{
	size_t i;

	for (i = 0; i < r->nsnaps; i++)
		snap_free(&r->snaps[i]);
	r->nsnaps = 0;
}

/* Least-squares slope (bytes/s) and R^2 of bytes over time. */
static void fit(const double *x, const double *y, size_t n, double *slope, double *r2)
{
	double mx = 0, my = 0, sxx = 0, sxy = 0, syy = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= n;
	my /= n;
	for (i = 0; i < n; i++) {
		sxx += (x[i] - mx) * (x[i] - mx);
		sxy += (x[i] - mx) * (y[i] - my);
		syy += (y[i] - my) * (y[i] - my);
	}
	*slope = sxx > 0 ? sxy / sxx : 0;
	*r2 = sxx > 0 && syy > 0 ? (sxy * sxy) / (sxx * syy) : 0;
}

/* Steady growth: at least 3 snapshots, live bytes never shrinking by more
 * than 10% of the total rise between consecutive snapshots, a rise of at
 * least min_bytes, and a straight-line fit with R^2 >= 0.8. */
int ms_registry_growth(const struct ms_registry *r, uint64_t min_bytes, struct ms_growth **out,
		       size_t *nout)
{
	struct ms_hashmap keys = { 0 };
	MS_VEC(struct ms_growth) g = { 0 };
	struct ms_growth *gi;
	size_t i, k, n = r->nsnaps;
	double *x, *y;

	*out = NULL;
	*nout = 0;
	if (n < 3)
		return 0;
	x = calloc(n, sizeof(*x));
	y = calloc(n, sizeof(*y));
	if (!x || !y) {
		free(x);
		free(y);
		return -1;
	}
	for (i = 0; i < n; i++)
		x[i] = (double)(r->snaps[i].ts_ns - r->snaps[0].ts_ns) / 1e9;
	/* every key seen in the last snapshot is a candidate */
	for (k = 0; k < r->snaps[n - 1].n; k++) {
		const struct ms_snap_item *it = &r->snaps[n - 1].items[k];
		double slope, r2, rise, drop = 0;
		uint64_t g_first, g_last;
		size_t s, q;

		if (ms_hm_get(&keys, ((uint64_t)it->kind << 56) ^ it->a, it->b))
			continue;
		ms_hm_put(&keys, ((uint64_t)it->kind << 56) ^ it->a, it->b, 1);
		for (s = 0; s < n; s++) {
			y[s] = 0;
			for (q = 0; q < r->snaps[s].n; q++) {
				const struct ms_snap_item *o = &r->snaps[s].items[q];

				if (o->kind == it->kind && o->a == it->a && o->b == it->b) {
					y[s] = (double)o->bytes;
					break;
				}
			}
		}
		{
			uint64_t first = 0, last = it->bytes;

			for (q = 0; q < r->snaps[0].n; q++)
				if (r->snaps[0].items[q].kind == it->kind && r->snaps[0].items[q].a == it->a &&
				    r->snaps[0].items[q].b == it->b)
					first = r->snaps[0].items[q].bytes;
			if (last <= first || last - first < min_bytes)
				continue;
			g_first = first;
			g_last = last;
		}
		rise = y[n - 1] - y[0];
		if (rise < (double)min_bytes)
			continue;
		for (s = 1; s < n; s++)
			if (y[s - 1] - y[s] > drop)
				drop = y[s - 1] - y[s];
		fit(x, y, n, &slope, &r2);
		if (drop > rise * 0.1 || r2 < 0.8 || slope <= 0)
			continue;
		if (MS_VEC_PUSH(g, gi))
			break;
		gi->kind = it->kind;
		gi->a = it->a;
		gi->b = it->b;
		gi->slope = slope;
		gi->r2 = r2;
		/* integers from the snapshots: a double near 2^64 cannot be cast back */
		gi->first_bytes = g_first;
		gi->last_bytes = g_last;
	}
	ms_hm_free(&keys);
	free(x);
	free(y);
	*out = g.v;
	*nout = g.n;
	return 0;
}
