/* SPDX-License-Identifier: BSD-3-Clause */
/* sampled_sites.c - bench D accuracy target: allocation sites whose live
 * bytes are known exactly, most of them above 10 MiB, for memscope-trace
 * --mode sampled at its default interval (512 KiB).
 *
 *   sampled_sites [SCALE]     SCALE (default 1) multiplies every count
 *
 * Each site allocates blocks of one size only, so a report's site is told
 * apart by its mean block size (in-use bytes / in-use objects), which the
 * estimator gives exactly for a one-size site. Sizes are chosen to be
 * unlike anything libc allocates on its own. At SCALE 1:
 *   site  size        count    live
 *   A     48 B        262144   12 MiB   (just above the 10 MiB line)
 *   B     520 B       32768    16.3 MiB
 *   C     3000 B      11200    32 MiB
 *   D     40000 B     1680     64.1 MiB
 *   E     1.5 MiB     16       24 MiB   (blocks of 3 R: sampled with p = 0.95)
 *   F     2000 B      2048     3.9 MiB  (below the line: shown, no target)
 *   churn 1000 B      100000   0        (allocated and freed at once)
 * The sites are allocated interleaved (round robin, in proportion), as a
 * real program would. At the end it prints one line per site,
 * "site NAME SIZE COUNT LIVE_COUNT", and exits with the blocks still live. */
#include <stdio.h>
#include <stdlib.h>

struct site {
	const char *name;
	size_t size;
	long count;  /* at SCALE 1 */
	int live;    /* 0: freed at once */
	long n;      /* scaled */
	long done;
	void **keep;
};

static struct site sites[] = {
	{"A", 48, 262144, 1, 0, 0, NULL},
	{"B", 520, 32768, 1, 0, 0, NULL},
	{"C", 3000, 11200, 1, 0, 0, NULL},
	{"D", 40000, 1680, 1, 0, 0, NULL},
	{"E", 1572864, 16, 1, 0, 0, NULL},
	{"F", 2000, 2048, 1, 0, 0, NULL},
	{"churn", 1000, 100000, 0, 0, 0, NULL},
};
#define NSITES (sizeof(sites) / sizeof(sites[0]))

static void *volatile sink;

/* one function per site, never inlined and never a tail call, so each
 * site also has its own frame in the stack */
#define SITE_FN(name)                                                   \
	static __attribute__((noinline)) void *site_##name(size_t size) \
	{                                                               \
		char *p = malloc(size);                                 \
		if (p)                                                  \
			p[0] = 1;                                       \
		sink = p;                                               \
		return p;                                               \
	}
SITE_FN(A)
SITE_FN(B)
SITE_FN(C)
SITE_FN(D)
SITE_FN(E)
SITE_FN(F)
SITE_FN(churn)
static void *(*const fns[NSITES])(size_t) = {site_A, site_B, site_C, site_D, site_E, site_F, site_churn};

int main(int argc, char **argv)
{
	double scale = argc > 1 ? atof(argv[1]) : 1.0;
	unsigned s;

	if (scale <= 0)
		scale = 1.0;
	for (s = 0; s < NSITES; s++) {
		sites[s].n = (long)(sites[s].count * scale + 0.5);
		if (sites[s].n < 1)
			sites[s].n = 1;
		if (sites[s].live && !(sites[s].keep = calloc((size_t)sites[s].n, sizeof(void *)))) {
			perror("calloc");
			return 1;
		}
	}
	/* round robin in proportion: in pass j of PASSES, site s allocates
	 * blocks floor(j n_s / PASSES) .. floor((j + 1) n_s / PASSES) - 1, so
	 * every site is spread over the whole run and all finish together */
	const long passes = 1024;
	long j;

	for (j = 0; j < passes; j++) {
		for (s = 0; s < NSITES; s++) {
			struct site *t = &sites[s];
			long end = (long)((double)(j + 1) * (double)t->n / (double)passes);

			for (; t->done < end; t->done++) {
				void *p = fns[s](t->size);

				if (!p) {
					perror("malloc");
					return 1;
				}
				if (t->live)
					t->keep[t->done] = p;
				else
					free(p);
			}
		}
	}
	for (s = 0; s < NSITES; s++)
		printf("site %s %zu %ld %ld\n", sites[s].name, sites[s].size, sites[s].n,
		       sites[s].live ? sites[s].n : 0L);
	fflush(stdout);
	return 0;
}
