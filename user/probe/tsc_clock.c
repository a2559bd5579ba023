/* SPDX-License-Identifier: BSD-3-Clause */
/* tsc_clock.c - see tsc_clock.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "probe/tsc_clock.h"

#define NS_PER_S 1000000000ull

static uint64_t rdtsc(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	return 0;
#endif
}

/* CLOCK_MONOTONIC as the kernel (and BPF) keep it: a tracer in a time
 * namespace reads it shifted by the namespace's offset, which is taken
 * back off here (/proc/self/timens_offsets). */
static int64_t timens_offset_ns(void)
{
	char line[128];
	long long s, ns;
	int64_t off = 0;
	FILE *f = fopen("/proc/self/timens_offsets", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "monotonic %lld %lld", &s, &ns) == 2)
			off = (int64_t)s * (int64_t)NS_PER_S + ns;
	fclose(f);
	return off;
}

static uint64_t mono_ns(const struct ms_tsc_clock *c)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec - (uint64_t)c->timens_off;
}

int ms_tsc_usable(void)
{
#if defined(__x86_64__) || defined(__i386__)
	char cs[32] = "";
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");

	if (!f)
		return 0;
	if (!fgets(cs, sizeof(cs), f))
		cs[0] = 0;
	fclose(f);
	return strcmp(cs, "tsc\n") == 0;
#else
	return 0;
#endif
}

/* A (TSC, ns) pair read close together: the TSC halfway between two
 * readings around clock_gettime(), retried if something (a preemption, an
 * interrupt) came between them. */
static void pair(const struct ms_tsc_clock *c, uint64_t *tsc, uint64_t *ns)
{
	uint64_t t0, t1, n, best = UINT64_MAX;
	int i;

	for (i = 0; i < 8; i++) {
		t0 = rdtsc();
		n = mono_ns(c);
		t1 = rdtsc();
		if (t1 - t0 < best) {
			best = t1 - t0;
			*tsc = t0 + (t1 - t0) / 2;
			*ns = n;
		}
		if (best < 2000)
			break;
	}
}

void ms_tsc_clock_fit(struct ms_tsc_clock *c, uint64_t tsc0, uint64_t ns0, uint64_t tsc1,
		      uint64_t ns1)
{
	if (tsc1 > tsc0 && ns1 > ns0)
		c->ns_per_tick = (double)(ns1 - ns0) / (double)(tsc1 - tsc0);
	c->base_tsc = c->last_tsc = tsc1;
	c->base_ns = c->last_ns = ns1;
}

int ms_tsc_clock_init(struct ms_tsc_clock *c)
{
	if (!ms_tsc_usable()) {
		memset(c, 0, sizeof(*c));
		return -ENOTSUP;
	}
	return ms_tsc_clock_calibrate(c);
}

int ms_tsc_clock_calibrate(struct ms_tsc_clock *c)
{
	struct timespec wait = { 0, 5 * 1000 * 1000 };
	uint64_t tsc0, ns0, tsc1, ns1;

	memset(c, 0, sizeof(*c));
	c->timens_off = timens_offset_ns();
	pair(c, &tsc0, &ns0);
	nanosleep(&wait, NULL);
	pair(c, &tsc1, &ns1);
	if (tsc1 <= tsc0 || ns1 <= ns0)
		return -EINVAL;
	ms_tsc_clock_fit(c, tsc0, ns0, tsc1, ns1);
	return 0;
}

int ms_tsc_clock_ok(const struct ms_tsc_clock *c)
{
	return c->ns_per_tick != 0;
}

void ms_tsc_clock_anchor(struct ms_tsc_clock *c)
{
	uint64_t tsc, ns;

	if (!ms_tsc_clock_ok(c))
		return;
	pair(c, &tsc, &ns);
	/* Refit over 100 ms windows: the first rate comes from 5 ms (~100
	 * ppm); 100 ms makes it ~3 ppm, ~15 ns over a 5 ms drain period. */
	if (ns >= c->base_ns + NS_PER_S / 10) {
		ms_tsc_clock_fit(c, c->base_tsc, c->base_ns, tsc, ns);
		return;
	}
	c->last_tsc = tsc;
	c->last_ns = ns;
}

uint64_t ms_tsc_clock_ns(const struct ms_tsc_clock *c, uint64_t tsc)
{
	double d;

	if (!ms_tsc_clock_ok(c))
		return mono_ns(c);
	d = (double)(int64_t)(tsc - c->last_tsc) * c->ns_per_tick;
	if (d < 0 && (uint64_t)-d > c->last_ns)
		return 0;
	return c->last_ns + (int64_t)d;
}
