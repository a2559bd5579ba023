/* SPDX-License-Identifier: BSD-3-Clause */
/* tsc_clock.h - turn TSC readings taken in the target (TRACK_VAR passes
 * one, see include/memscope.h) into CLOCK_MONOTONIC nanoseconds, the clock
 * of every other record.
 *
 * The kernel's monotonic clock is itself the TSC scaled (when its
 * clocksource is "tsc"), slewed by NTP by a few ppm at most. So a straight
 * line through (TSC, CLOCK_MONOTONIC) pairs read here is the same clock to
 * well under a microsecond: the consumer takes a fresh pair at every drain
 * and refits the rate every 100 ms. */
#ifndef MS_PROBE_TSC_CLOCK_H
#define MS_PROBE_TSC_CLOCK_H

#include <stdint.h>

struct ms_tsc_clock {
	uint64_t base_tsc, base_ns; /* the pair the rate was last fitted from */
	uint64_t last_tsc, last_ns; /* the newest pair: conversions start here */
	double ns_per_tick;
	int64_t timens_off; /* this process's CLOCK_MONOTONIC offset (time namespace) */
};

/* 1 if TSC readings can stand for the kernel's clock here: x86, and the
 * current clocksource is "tsc". The loader lets BPF use them only then. */
int ms_tsc_usable(void);
/* First pair and a rate measured over ~5 ms. 0, or -errno (-ENOTSUP when
 * ms_tsc_usable() is 0). */
int ms_tsc_clock_init(struct ms_tsc_clock *c);
/* The same without asking ms_tsc_usable(): for a test that checks the
 * arithmetic against the real counter where the kernel keeps time by
 * another clocksource (a VM's kvm-clock) over an invariant TSC. */
int ms_tsc_clock_calibrate(struct ms_tsc_clock *c);
/* A new (TSC, CLOCK_MONOTONIC) pair; the rate is refitted once the pair
 * is 100 ms past the last fit. */
void ms_tsc_clock_anchor(struct ms_tsc_clock *c);
/* 1 once ms_tsc_clock_init() has calibrated the clock. */
int ms_tsc_clock_ok(const struct ms_tsc_clock *c);
/* tsc -> CLOCK_MONOTONIC ns. Uncalibrated (not expected where BPF sends
 * TSC times: the loader lets it only where ms_tsc_usable()), the time of
 * the call: a record's arrival, at most a drain period late. */
uint64_t ms_tsc_clock_ns(const struct ms_tsc_clock *c, uint64_t tsc);
/* The fit from two pairs (exposed for tests). */
void ms_tsc_clock_fit(struct ms_tsc_clock *c, uint64_t tsc0, uint64_t ns0, uint64_t tsc1,
		      uint64_t ns1);

#endif
