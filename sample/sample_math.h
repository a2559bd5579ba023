/* SPDX-License-Identifier: BSD-3-Clause */
/* sample_math.h - the little arithmetic libmemscope_sample.so needs, without
 * libm: a per-thread random generator, the natural log for exponential
 * draws and 1 - exp(-x) for sample weights.
 *
 * Self-contained on purpose: the library is preloaded into programs that do
 * not link libm, and the Makefile links it with -ldl -pthread only. All of it
 * runs on the sampling slow path (about once per R bytes allocated per
 * thread), never on the interposition fast path. Accuracy is a few ulp,
 * far below the statistical noise of sampling. */
#ifndef MS_SAMPLE_SAMPLE_MATH_H
#define MS_SAMPLE_SAMPLE_MATH_H

#include <stdint.h>
#include <string.h>

#define MS_LN2 0.69314718055994530942

/* splitmix64: turns any 64-bit value (a seed, a counter) into a well mixed
 * one. Used to seed the per-thread generators. */
static inline uint64_t ms_splitmix64(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

/* xorshift64*: the next value of the generator whose state is *s (never 0;
 * the state stays non-zero). */
static inline uint64_t ms_xorshift64s(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Natural log of a positive, finite, normal x: x = m * 2^e with m in
 * [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172;
 * the series to s^15 leaves an error near 1e-13 relative. */
static inline double ms_log(double x)
{
	uint64_t b;
	double m, s, s2, p;
	int e;

	memcpy(&b, &x, sizeof(b));
	e = (int)((b >> 52) & 0x7ff) - 1023;
	b = (b & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL;
	memcpy(&m, &b, sizeof(m));
	if (m > 1.4142135623730951) {
		m *= 0.5;
		e++;
	}
	s = (m - 1.0) / (m + 1.0);
	s2 = s * s;
	p = s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 +
	    s2 * (1.0 / 11 + s2 * (1.0 / 13 + s2 * (1.0 / 15)))))));
	return e * MS_LN2 + 2.0 * s + 2.0 * s * p;
}

/* exp(-x) for 0.5 <= x <= 40: exp(-x) = 2^k exp(r), |r| <= ln2 / 2, with
 * a Taylor series for exp(r) (error below 1e-16 relative). */
static inline double ms_exp_neg(double x)
{
	double y = -x, r, term = 1.0, sum = 1.0, scale;
	int k = (int)(y / MS_LN2 - 0.5), i; /* y < 0: rounds to nearest */
	uint64_t b;

	r = y - k * MS_LN2;
	for (i = 1; i <= 16; i++) {
		term *= r / i;
		sum += term;
	}
	b = (uint64_t)(1023 + k) << 52; /* 2^k, k in [-58, 0] */
	memcpy(&scale, &b, sizeof(scale));
	return sum * scale;
}

/* 1 - exp(-x) for x >= 0, accurate also for tiny x (where computing
 * 1 - exp(-x) directly would cancel): the probability that an allocation
 * of x * R bytes is sampled at mean interval R. */
static inline double ms_neg_expm1(double x)
{
	double term = x, sum = x;
	int k;

	if (x > 40.0)
		return 1.0; /* exp(-40) < 2^-57: invisible in a double */
	if (x >= 0.5)
		return 1.0 - ms_exp_neg(x);
	for (k = 2; k <= 18; k++) { /* alternating: x - x^2/2! + x^3/3! ... */
		term *= -x / k;
		sum += term;
	}
	return sum;
}

#endif /* MS_SAMPLE_SAMPLE_MATH_H */
