/* SPDX-License-Identifier: BSD-3-Clause */
/* test_tsc_clock.c - unit tests for tsc_clock.c: TSC readings taken in the
 * target become CLOCK_MONOTONIC nanoseconds.
 *
 * Prints "PASS name" or "FAIL name: why" per case, "SKIP name: why" where
 * the CPU has no invariant TSC. Exits 1 if a case failed. */
#include "probe/tsc_clock.h"
#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The arithmetic, from made-up pairs: a 2.5 GHz counter. */
static void synthetic(void)
{
	struct ms_tsc_clock c = { 0 };
	uint64_t a, b, early;

	ms_tsc_clock_fit(&c, 1000000, 5000000000ull, 2501000000ull, 6000000000ull);
	a = ms_tsc_clock_ns(&c, 2501000000ull);
	b = ms_tsc_clock_ns(&c, 2501000000ull + 2500);
	early = ms_tsc_clock_ns(&c, 1000000 + 250);
	EXPECT("fit_rate", c.ns_per_tick > 0.3999 && c.ns_per_tick < 0.4001, "ns/tick %f", c.ns_per_tick);
	EXPECT("at_the_anchor", a == 6000000000ull, "%llu", (unsigned long long)a);
	EXPECT("after_the_anchor", b == 6000001000ull, "%llu", (unsigned long long)b);
	/* a reading older than the newest pair (records drained after it) */
	EXPECT("before_the_anchor", early == 5000000100ull, "%llu", (unsigned long long)early);
	EXPECT("before_time_zero", ms_tsc_clock_ns(&c, 0) < 5000000000ull, "no wrap below 0");
	/* uncalibrated: the time of the call */
	{
		struct ms_tsc_clock none = { 0 };
		uint64_t before = mono_ns(), t = ms_tsc_clock_ns(&none, 12345), after = mono_ns();

		EXPECT("uncalibrated_is_now", !ms_tsc_clock_ok(&none) && t >= before && t <= after,
		       "%llu not in [%llu, %llu]", (unsigned long long)t, (unsigned long long)before,
		       (unsigned long long)after);
	}
	/* a pair that does not move on keeps the old rate */
	ms_tsc_clock_fit(&c, 10, 10, 10, 10);
	EXPECT("degenerate_pair_keeps_rate", c.ns_per_tick > 0.3999 && c.ns_per_tick < 0.4001, "ns/tick %f",
	       c.ns_per_tick);
}

/* 1 if /proc/cpuinfo lists both flags of an invariant TSC (constant rate,
 * ticking through idle states). */
static int invariant_tsc(void)
{
	char line[4096];
	int constant = 0, nonstop = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && strncmp(line, "flags", 5))
		;
	constant = strstr(line, " constant_tsc") != NULL;
	nonstop = strstr(line, " nonstop_tsc") != NULL;
	fclose(f);
	return constant && nonstop;
}

/* The real clock: a TSC reading converted lands within a few microseconds
 * of clock_gettime() read beside it, and stays there after refits. Run
 * wherever the TSC is invariant, also where the kernel keeps time by
 * another clocksource (kvm-clock in a VM is itself the TSC scaled); the
 * tracer uses TSC times only where ms_tsc_usable(), checked apart. */
static void live(void)
{
	struct ms_tsc_clock c;
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	int64_t worst = 0;
	int i, rc;

	if (!invariant_tsc()) {
		printf("SKIP tsc_live: the CPU has no invariant TSC (constant_tsc, nonstop_tsc)\n");
		return;
	}
	/* init answers for this machine: calibrated exactly where usable */
	rc = ms_tsc_clock_init(&c);
	EXPECT("tsc_init_iff_usable", ms_tsc_usable() ? rc == 0 && ms_tsc_clock_ok(&c) :
	       rc == -ENOTSUP && !ms_tsc_clock_ok(&c), "rc %d, usable %d", rc, ms_tsc_usable());
	rc = ms_tsc_clock_calibrate(&c);
	EXPECT("tsc_init", rc == 0, "rc %d", rc);
	if (rc)
		return;
	for (i = 0; i < 60; i++) {
		uint64_t before = mono_ns(), tsc = __builtin_ia32_rdtsc(), after = mono_ns();
		uint64_t t = ms_tsc_clock_ns(&c, tsc);
		int64_t err = t < before ? (int64_t)(before - t) : t > after ? (int64_t)(t - after) : 0;

		if (err > worst)
			worst = err;
		nanosleep(&pause, NULL); /* 1.2 s in all: refits every 100 ms */
		ms_tsc_clock_anchor(&c);
	}
	EXPECT("tsc_live_within_5us", worst < 5000, "worst %lld ns outside clock_gettime", (long long)worst);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	synthetic();
	live();
	return failed ? 1 : 0;
}
