/* SPDX-License-Identifier: BSD-3-Clause */
/* budget.c - what tracing costs the target, measured while it runs, and the
 * cost budget (--budget PCT) that keeps it within bounds.
 *
 * The cost. Every probe hit is a trap the target pays for in its own
 * time: the kernel's int3 handling, the instruction emulated or
 * single-stepped out of line, a return probe's second trap, and the BPF
 * program. The tracer cannot watch the traps, but it can count them and
 * price them:
 *   - each allocator probe counts its hits in BPF (probe_hits, by the id in
 *     its cookie); a USDT probe's hits are its program's runs;
 *   - at attach the loader times the empty calibration program on three
 *     functions of the tracer's own (ms_loader_calibrate): an emulated
 *     entry, a single-stepped one, and a return probe. These move by
 *     several times between hosts and days, so they are measured, never
 *     assumed;
 *   - the BPF programs' own run time comes from the kernel's statistics
 *     (held on by the loader).
 * est = sum over probes of hits x trap cost of its kind + BPF run time.
 * Compared with the target's CPU time (/proc/PID/stat), which includes
 * all of it, est / CPU is the share of the target's CPU that tracing
 * takes: the figure --budget bounds (a share of p% makes each operation
 * cost 1 / (1 - p%) of its untraced CPU: 10% -> 1.11x). It is an
 * estimate: a trap costs more on a busy machine than in the calibration
 * loop, and cache effects on the target's own code are not counted.
 *
 * The budget. Every second (0.25 s after the start or a change of level)
 * the tracer
 * compares the estimate with the budget and, above it, backs off one step
 * at a time, each named in the report and the live view:
 *   0 as configured
 *   1 no stacks           (the kernel's stack walk, ~1 us per allocation)
 *   2-4 duty cycle        the allocator probes on for 1 s stretches, off for
 *                         1, 3 or 9 s (on 1/2, 1/4, 1/10 of the time),
 *                         chosen from the cost measured while they are on
 *   5 light               the allocator probes off for good (the memscope
 *                         probes stay)
 * From a duty level it steps back up one level after 5 quiet seconds
 * (the cost one level up would stay under half the budget).
 *
 * Honesty while the allocator probes are off (coverage gaps): the
 * registry is told each gap's start and end (ms_registry_coverage_gap), so
 * no block allocated before a gap ended is called a leak (its free may
 * have been missed) and no free after it is called invalid or double;
 * allocation totals count only the time the probes were on, and the report
 * gives the share of the time they were (coverage) and totals scaled by it,
 * saying so. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "probe/loader.h"
#include "registry/registry.h"
#include "report/report.h"
#include "trace/session.h"

#define TICK_NS 1000000000ull       /* the estimate and the decision, every */
#define FIRST_TICK_NS 250000000ull  /* ... but the first one sooner */
#define ON_NS 1000000000ull         /* an on-stretch of the duty cycle */
#define IDLE_CPU_NS 10000000.0      /* a target that used less CPU in a tick
				     * is idle: no decision on its figures */
#define CALM_TICKS 5                /* quiet on-ticks before stepping back up */

enum { L_FULL = 0, L_NO_STACKS, L_DUTY2, L_DUTY4, L_DUTY10, L_LIGHT, L_MAX };

static const struct {
	const char *name;
	double duty; /* share of the time the allocator probes are on */
} levels[L_MAX] = {
	[L_FULL] = { "as configured", 1 },
	[L_NO_STACKS] = { "no stacks", 1 },
	[L_DUTY2] = { "no stacks, allocator probes on 1/2 of the time", 0.5 },
	[L_DUTY4] = { "no stacks, allocator probes on 1/4 of the time", 0.25 },
	[L_DUTY10] = { "no stacks, allocator probes on 1/10 of the time", 0.1 },
	[L_LIGHT] = { "light: allocator probes off", 0 },
};

struct ms_budget {
	struct ms_trap_cost trap;
	int calibrated;
	size_t n;                   /* probes known (grows as libraries load) */
	uint64_t *hits;             /* last reading */
	struct ms_report_probe *rep;
	uint64_t bpf_prev, cpu_prev;
	uint64_t t_start, t_prev;
	double est_total, bpf_total, cpu_total;
	double now_ns_per_s, now_pct;
	/* the budget */
	double pct;                 /* 0: none */
	int level;
	int alloc_on;               /* allocator probes attached */
	uint64_t on_since, on_ns;   /* for coverage */
	uint64_t stretch_end;       /* duty cycle: when to switch */
	uint64_t switched;          /* last switch (off or on) */
	uint64_t gap_start;
	int calm;
	int quick;                  /* next tick after FIRST_TICK_NS */
	struct ms_report_cost report;
};

/* CPU time (ns) of the target and the children it is followed into. */
static uint64_t target_cpu_ns(const struct session *s)
{
	static long hz;
	uint64_t total = 0;
	size_t i;

	if (!hz)
		hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
	for (i = 0; i <= s->nkids; i++) {
		pid_t pid = i < s->nkids ? s->kids[i] : s->pid;
		unsigned long long ut = 0, st = 0;
		char path[64], buf[1024], *p;
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		/* fields after the command (which may hold spaces and ')') */
		p = strrchr(buf, ')');
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
				&st) == 2)
			total += (ut + st) * (1000000000ull / (uint64_t)hz);
	}
	return total;
}

static double trap_of(const struct ms_budget *b, const struct ms_probe_info *p)
{
	return p->ret ? b->trap.ret_ns : p->emulated ? b->trap.emulated_ns : b->trap.xol_ns;
}

static int is_allocating_mode(const struct session *s)
{
	return (s->o->mode == MS_MODE_FULL || s->o->mode == MS_MODE_FAST) && !s->o->no_alloc;
}

int ms_budget_start(struct session *s)
{
	struct ms_budget *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	s->budget = b;
	b->pct = s->o->budget;
	b->alloc_on = 1;
	err = ms_loader_calibrate(s->loader, &b->trap);
	if (err)
		fprintf(stderr, "memscope-trace: cannot measure the cost of a probe hit (%s): no cost "
			"estimate%s\n", strerror(-err), b->pct > 0 ? ", no budget" : "");
	b->calibrated = !err;
	if (!b->calibrated)
		b->pct = 0;
	return 0;
}

/* The tracing started (the target runs traced from now). */
void ms_budget_begin(struct session *s, uint64_t now)
{
	struct ms_budget *b = s->budget;

	if (!b)
		return;
	b->t_start = b->t_prev = b->on_since = b->switched = now;
	b->cpu_prev = target_cpu_ns(s);
}

/* Allocator probes off (a coverage gap starts) or back on. */
static void alloc_switch(struct session *s, int on)
{
	struct ms_budget *b = s->budget;
	uint64_t t;
	int err;

	if (on == b->alloc_on)
		return;
	if (!on) {
		b->gap_start = ms_now_ns();
		ms_registry_coverage_gap(s->reg, b->gap_start, UINT64_MAX);
		b->on_ns += b->gap_start - b->on_since;
		err = ms_loader_alloc_pause(s->loader, 1);
		b->switched = ms_now_ns();
	} else {
		err = ms_loader_alloc_pause(s->loader, 0);
		t = ms_now_ns(); /* every probe is back in */
		ms_registry_coverage_gap(s->reg, b->gap_start, t);
		b->on_since = b->switched = t;
	}
	if (err)
		fprintf(stderr, "memscope-trace: allocator probes %s: %s\n", on ? "on" : "off",
			strerror(-err));
	b->alloc_on = on;
}

static void set_level(struct session *s, int level, double overhead, uint64_t now)
{
	struct ms_budget *b = s->budget;

	if (level == b->level)
		return;
	fprintf(stderr, "memscope-trace: tracing costs the target %.1f%% of its CPU, budget %.1f%%: "
		"%s\n", overhead, b->pct, levels[level].name);
	b->level = level;
	b->calm = 0;
	b->quick = 1; /* see the new level's cost soon */
	ms_loader_set_level(s->loader, level >= L_NO_STACKS);
	if (level == L_LIGHT) {
		alloc_switch(s, 0);
	} else if (levels[level].duty < 1) {
		/* the cost was just measured with the probes on: go off now */
		if (b->alloc_on)
			alloc_switch(s, 0);
		b->stretch_end = now + (uint64_t)(ON_NS * (1 / levels[level].duty - 1));
	} else {
		alloc_switch(s, 1);
	}
}

/* The share (percent) of the target's CPU the probes take when they are on
 * for `duty` of the time, from the share `on` measured while they were on
 * throughout: the extra work per unit of the target's own is
 * k = on / (1 - on), so on for duty of the time, d k / (1 + d k). */
static double duty_share(double on, double duty)
{
	double s = on / 100, k = s < 0.999 ? s / (1 - s) : 999;

	return 100 * duty * k / (1 + duty * k);
}

/* The first duty level whose expected share stays under the budget. */
static int duty_level(double budget, double on)
{
	int l;

	for (l = L_DUTY2; l < L_LIGHT; l++)
		if (duty_share(on, levels[l].duty) <= budget)
			return l;
	return L_LIGHT;
}

/* Read the counters, price the hits since the last reading. Returns the
 * estimated cost and the target's CPU time of the interval. */
static void sample(struct session *s, uint64_t now, double *est_out, double *cpu_out)
{
	struct ms_budget *b = s->budget;
	size_t n, i;
	const struct ms_probe_info *pi = ms_loader_probes(s->loader, &n);
	uint64_t bpf_ns = 0, runs, cpu = target_cpu_ns(s), *hits;
	double est = 0, dt = (now - b->t_prev) / 1e9, bpf = 0;

	if (n > b->n) {
		uint64_t *h = realloc(b->hits, n * sizeof(*h));
		struct ms_report_probe *r = h ? realloc(b->rep, n * sizeof(*r)) : NULL;

		if (h)
			b->hits = h;
		if (!r)
			return;
		b->rep = r;
		memset(b->hits + b->n, 0, (n - b->n) * sizeof(*h));
		memset(b->rep + b->n, 0, (n - b->n) * sizeof(*r));
		b->n = n;
	}
	hits = calloc(b->n ? b->n : 1, sizeof(*hits));
	if (!hits || ms_loader_probe_hits(s->loader, hits)) {
		free(hits);
		return;
	}
	for (i = 0; i < b->n; i++) {
		uint64_t d = hits[i] >= b->hits[i] ? hits[i] - b->hits[i] : 0;
		struct ms_report_probe *r = &b->rep[i];

		r->func = pi[i].func;
		r->library = pi[i].path;
		r->offset = pi[i].offset;
		r->emulated = pi[i].emulated;
		r->ret = pi[i].ret;
		r->hits = hits[i];
		r->rate = dt > 0 ? d / dt : 0;
		r->est_ns += d * trap_of(b, &pi[i]);
		est += d * trap_of(b, &pi[i]);
	}
	memcpy(b->hits, hits, b->n * sizeof(*hits));
	free(hits);
	if (!ms_loader_bpf_time(s->loader, &bpf_ns, &runs)) {
		bpf = bpf_ns >= b->bpf_prev ? (double)(bpf_ns - b->bpf_prev) : 0;
		b->bpf_prev = bpf_ns;
	}
	est += bpf;
	*est_out = est;
	*cpu_out = cpu >= b->cpu_prev ? (double)(cpu - b->cpu_prev) : 0;
	if (cpu)
		b->cpu_prev = cpu;
	b->est_total += est;
	b->bpf_total += bpf;
	b->cpu_total += *cpu_out;
	b->now_ns_per_s = dt > 0 ? est / dt : 0;
	b->t_prev = now;
}

/* The share of the target's CPU the probes took, in percent. */
static double overhead_pct(double est, double cpu)
{
	if (cpu <= 0)
		return 0;
	return est >= cpu ? 100 : 100.0 * est / cpu;
}

/* The budget's decision on an interval's figures. */
static void control(struct session *s, uint64_t now, uint64_t tick_start, double est, double cpu)
{
	struct ms_budget *b = s->budget;
	double ov = overhead_pct(est, cpu);
	int l;

	if (b->pct <= 0 || cpu < IDLE_CPU_NS || b->level == L_LIGHT)
		return;
	if (b->level <= L_NO_STACKS) {
		if (ov <= b->pct)
			return;
		if (b->level == L_FULL && s->stack_depth > 0)
			set_level(s, L_NO_STACKS, ov, now);
		else if (is_allocating_mode(s))
			set_level(s, duty_level(b->pct, ov), ov, now);
		return;
	}
	/* a duty level: judge only intervals with the probes on throughout */
	if (!b->alloc_on || b->switched > tick_start)
		return;
	l = duty_level(b->pct, ov);
	if (l > b->level) {
		set_level(s, l, ov, now);
	} else if (b->level > L_DUTY2 && duty_share(ov, levels[b->level - 1].duty) < b->pct / 2) {
		if (++b->calm >= CALM_TICKS)
			set_level(s, b->level - 1, duty_share(ov, levels[b->level - 1].duty), now);
	} else {
		b->calm = 0;
	}
}

void ms_budget_tick(struct session *s, uint64_t now)
{
	struct ms_budget *b = s->budget;
	uint64_t tick_start;
	double est = 0, cpu = 0;

	if (!b || !b->calibrated || !b->t_start)
		return;
	/* the duty cycle's switches */
	if (b->level > L_NO_STACKS && b->level < L_LIGHT && now >= b->stretch_end) {
		alloc_switch(s, !b->alloc_on);
		b->stretch_end = ms_now_ns() + (b->alloc_on ? ON_NS :
			(uint64_t)(ON_NS * (1 / levels[b->level].duty - 1)));
	}
	if (now - b->t_prev < (b->t_prev == b->t_start || b->quick ? FIRST_TICK_NS : TICK_NS))
		return;
	b->quick = 0;
	tick_start = b->t_prev;
	sample(s, now, &est, &cpu);
	b->now_pct = overhead_pct(est, cpu);
	control(s, now, tick_start, est, cpu);
}

void ms_budget_finish(struct session *s, uint64_t now)
{
	struct ms_budget *b = s->budget;
	double est, cpu;
	size_t i;

	if (!b || !b->calibrated || !b->t_start)
		return;
	sample(s, now, &est, &cpu);
	if (b->alloc_on)
		b->on_ns += now - b->on_since;
	b->on_since = now;
	if (!s->o->verbose)
		return;
	fprintf(stderr, "memscope-trace: cost to the target: %.1f ms estimated of %.1f ms of its CPU "
		"(%.1f%%; BPF run time %.1f ms)\n", b->est_total / 1e6, b->cpu_total / 1e6,
		overhead_pct(b->est_total, b->cpu_total), b->bpf_total / 1e6);
	for (i = 0; i < b->n; i++) {
		const struct ms_report_probe *r = &b->rep[i];

		if (!r->hits)
			continue;
		fprintf(stderr, "memscope-trace: probe %s%s%s +%llu (%s): %llu hits, %.0f/s at the end, "
			"~%.2f ms\n", r->func, *r->library ? " in " : "", r->library,
			(unsigned long long)r->offset, r->ret ? "return" : r->emulated ? "emulated" :
			"SINGLE-STEPPED", (unsigned long long)r->hits, r->rate, r->est_ns / 1e6);
	}
}

const struct ms_report_cost *ms_budget_report(struct session *s)
{
	struct ms_budget *b = s->budget;
	struct ms_report_cost *k;
	uint64_t span;

	if (!b || !b->calibrated)
		return NULL;
	k = &b->report;
	k->valid = 1;
	k->trap_emulated_ns = b->trap.emulated_ns;
	k->trap_xol_ns = b->trap.xol_ns;
	k->trap_ret_ns = b->trap.ret_ns;
	k->est_ns = b->est_total;
	k->bpf_ns = b->bpf_total;
	k->target_cpu_ns = b->cpu_total;
	k->pct = overhead_pct(b->est_total, b->cpu_total);
	k->now_ns_per_s = b->now_ns_per_s;
	k->now_pct = b->now_pct;
	k->budget_pct = b->pct;
	k->level = b->level;
	k->level_name = levels[b->level].name;
	span = b->t_prev > b->t_start ? b->t_prev - b->t_start : 0;
	k->coverage = span ? (double)(b->on_ns + (b->alloc_on && b->t_prev > b->on_since ?
						   b->t_prev - b->on_since : 0)) / span : 1;
	if (k->coverage > 1)
		k->coverage = 1;
	k->gaps = ms_registry_summary(s->reg)->coverage_gaps;
	k->probes = b->rep;
	k->nprobes = b->n;
	return k;
}

void ms_budget_free(struct session *s)
{
	struct ms_budget *b = s->budget;

	if (!b)
		return;
	free(b->hits);
	free(b->rep);
	free(b);
	s->budget = NULL;
}
