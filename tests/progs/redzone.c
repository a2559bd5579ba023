/* SPDX-License-Identifier: BSD-3-Clause */
/* redzone.c - leaf functions that keep their locals in the x86-64 red zone
 * (the 128 bytes below rsp a function that calls nothing may use without
 * moving rsp) and hit a TRACK_VAR while those locals are live.
 *
 * An optimized uprobe turns the probe into a call, whose return address
 * (and the three registers the kernel's trampoline saves) land at
 * [rsp-8]..[rsp-32]: without the header's guard, the arrays below get
 * overwritten while traced and the checksums change.
 *
 *   redzone [ROUNDS]   prints one checksum per function, then "done"
 *
 * tests/integration/test_probe_sites.py builds it with gcc and clang, with
 * and without the guard, and checks that the functions really use the red
 * zone (no stack adjustment, negative offsets from rsp). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "memscope.h"

#define LEAF __attribute__((noinline))

/* 8 bytes of chars, a volatile counter */
LEAF uint64_t leaf8(long n)
{
	volatile unsigned char a[8];
	volatile long count = 0;
	uint64_t sum = 0;
	long i;

	for (i = 0; i < 8; i++)
		a[i] = (unsigned char)(i * 7 + 1);
	for (i = 0; i < n; i++) {
		a[i & 7] = (unsigned char)(a[(i + 3) & 7] + i);
		TRACK_VAR(i);
		count = count + 1;
		sum = sum * 31 + a[(i + 5) & 7] + (uint64_t)count;
	}
	return sum;
}

/* 24 bytes of ints */
LEAF uint64_t leaf24(long n)
{
	volatile int a[6];
	uint64_t sum = 0;
	long i;

	for (i = 0; i < 6; i++)
		a[i] = (int)(i * 1000 + 3);
	for (i = 0; i < n; i++) {
		a[i % 6] = a[(i + 1) % 6] ^ (int)i;
		TRACK_VAR(i);
		sum = sum * 131 + (uint64_t)(uint32_t)a[(i + 4) % 6];
	}
	return sum;
}

/* 56 bytes of longs, and a volatile double */
LEAF uint64_t leaf56(long n)
{
	volatile long a[7];
	volatile double d = 0.5;
	uint64_t sum = 0;
	long i;

	for (i = 0; i < 7; i++)
		a[i] = i * i + 11;
	for (i = 0; i < n; i++) {
		a[i % 7] += a[(i + 2) % 7] + i;
		TRACK_VAR(sum);
		d = d * 1.0001 + (double)(i & 15);
		sum = sum * 1000003 + (uint64_t)a[(i + 6) % 7] + (uint64_t)d;
	}
	return sum;
}

/* 96 bytes in two arrays: most of the red zone (what the compiler spills
 * comes on top) */
LEAF uint64_t leaf96(long n)
{
	volatile uint64_t lo[6], hi[6];
	uint64_t sum = 0;
	long i = 0;

	do {
		lo[i % 6] = (uint64_t)i << 20 | 0x55;
		hi[i % 6] = ~lo[i % 6];
	} while (++i < 6);
	for (i = 0; i < n; i++) {
		hi[i % 6] = lo[(i + 1) % 6] * 3 + (uint64_t)i;
		TRACK_VAR(i);
		lo[(i + 3) % 6] ^= hi[(i + 5) % 6] + (sum << 7);
		sum += lo[i % 6];
	}
	return sum;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 2000;

	printf("leaf8 %llu\n", (unsigned long long)leaf8(rounds));
	printf("leaf24 %llu\n", (unsigned long long)leaf24(rounds));
	printf("leaf56 %llu\n", (unsigned long long)leaf56(rounds));
	printf("leaf96 %llu\n", (unsigned long long)leaf96(rounds));
	printf("done\n");
	return 0;
}
