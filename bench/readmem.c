/* SPDX-License-Identifier: BSD-3-Clause */
/* readmem.c - the floor of the leak check's hold: copy every readable and
 * writable private mapping of process PID out with process_vm_readv, in
 * 8 MiB batches of up to 1024 ranges (as user/proc/leakscan.c reads), and
 * print "ns BYTES". Nothing is scanned: this is what reading alone costs.
 *   readmem PID */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#define BUF (8u << 20)

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	char path[64], line[4352];
	static struct iovec l[1024], r[1024];
	unsigned long long t0, total = 0;
	size_t n = 0, used = 0;
	char *buf = malloc(BUF);
	pid_t pid;
	FILE *f;

	if (argc != 2 || !buf)
		return 2;
	pid = atoi(argv[1]);
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	t0 = now_ns();
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		char perm[5];

		if (sscanf(line, "%llx-%llx %4s", &s, &e, perm) != 3 || perm[0] != 'r' || perm[1] != 'w' ||
		    perm[3] != 'p' || strstr(line, "[vvar"))
			continue;
		while (s < e) {
			size_t k = e - s < BUF ? e - s : BUF;
			ssize_t got;

			if (n == 1024 || used + k > BUF) {
				got = process_vm_readv(pid, l, n, r, n, 0);
				total += got > 0 ? got : 0;
				n = used = 0;
			}
			l[n] = (struct iovec){ buf + used, k };
			r[n] = (struct iovec){ (void *)s, k };
			n++;
			used += k;
			s += k;
		}
	}
	if (n) {
		ssize_t got = process_vm_readv(pid, l, n, r, n, 0);

		total += got > 0 ? got : 0;
	}
	printf("%llu %llu\n", now_ns() - t0, total);
	fclose(f);
	return 0;
}
