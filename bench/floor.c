/* SPDX-License-Identifier: BSD-3-Clause */
/* floor.c - attach EMPTY BPF programs to the probe sites memscope-trace
 * uses, so the bench can measure the cost no uprobe-based tracer can go
 * below on this machine (the "floor").
 *
 *   floor usdt PID [PROVIDER]      floor.bpf.c on PROVIDER:var (default
 *                                  memscope) of /proc/PID/exe
 *   floor probes PID               floor.bpf.c on every memscope:* probe of
 *                                  /proc/PID/exe (what -m light attaches to)
 *   floor alloc PID LIB FREE_OFF   floor_alloc.bpf.c on malloc (entry and
 *                                  return) and free+FREE_OFF in LIB
 *
 * Prints "attached" once every probe is in, then waits for SIGINT or
 * SIGTERM and detaches. Exit status 0, or 1 with a message on stderr. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "floor.skel.h"
#include "floor_alloc.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static struct bpf_link *uprobe(struct bpf_program *p, pid_t pid, const char *lib,
			       const char *func, size_t off, int ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = func, .retprobe = ret);
	struct bpf_link *l = bpf_program__attach_uprobe_opts(p, pid, lib, off, &o);

	if (!l)
		fprintf(stderr, "floor: attach %s%s+%zu in %s: %s\n", ret ? "ret " : "", func, off,
			lib, strerror(errno));
	return l;
}

int main(int argc, char **argv)
{
	struct floor_bpf *fs = NULL;
	struct floor_alloc_bpf *as = NULL;
	/* include/memscope.h's probe names */
	static const char *const names[] = { "var",	    "scope_enter", "scope_exit", "alloc",
					     "free",	    "task_enter",  "task_exit",	 "task_name",
					     "task_spawn", "task_end",	   "snapshot" };
	struct bpf_link *links[sizeof(names) / sizeof(names[0])] = { 0 };
	int n_links = 0;
	const char *provider;
	char exe[64];
	pid_t pid;
	int rc = 1, i;

	if (argc < 3 || (strcmp(argv[1], "usdt") && strcmp(argv[1], "alloc") && strcmp(argv[1], "probes")) ||
	    (!strcmp(argv[1], "alloc") && argc != 5) || (!strcmp(argv[1], "usdt") && argc > 4) ||
	    (!strcmp(argv[1], "probes") && argc != 3)) {
		fprintf(stderr, "usage: floor usdt PID [PROVIDER] | floor probes PID |"
				" floor alloc PID LIB FREE_OFF\n");
		return 2;
	}
	pid = (pid_t)atoi(argv[2]);
	libbpf_set_print(libbpf_print);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (strcmp(argv[1], "alloc")) { /* usdt, probes */
		fs = floor_bpf__open_and_load();
		if (!fs) {
			fprintf(stderr, "floor: load floor.bpf.o: %s\n", strerror(errno));
			goto cleanup;
		}
		snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	}
	if (!strcmp(argv[1], "probes")) {
		for (i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
			/* a probe the program does not use is not there: skip it */
			links[n_links] = bpf_program__attach_usdt(fs->progs.empty, pid, exe,
								  "memscope", names[i], NULL);
			if (links[n_links])
				n_links++;
		}
		if (!n_links) {
			fprintf(stderr, "floor: no memscope probe attached in %s\n", exe);
			goto cleanup;
		}
	} else if (!strcmp(argv[1], "usdt")) {
		provider = argc == 4 ? argv[3] : "memscope";
		links[0] = bpf_program__attach_usdt(fs->progs.empty, pid, exe, provider, "var", NULL);
		if (!links[0]) {
			fprintf(stderr, "floor: attach %s:var in %s: %s\n", provider, exe,
				strerror(errno));
			goto cleanup;
		}
		n_links = 1;
	} else {
		size_t free_off = strtoul(argv[4], NULL, 0);

		as = floor_alloc_bpf__open_and_load();
		if (!as) {
			fprintf(stderr, "floor: load floor_alloc.bpf.o: %s\n", strerror(errno));
			goto cleanup;
		}
		links[0] = uprobe(as->progs.malloc_entry, pid, argv[3], "malloc", 0, 0);
		if (links[0])
			links[1] = uprobe(as->progs.malloc_return, pid, argv[3], "malloc", 0, 1);
		if (links[1])
			links[2] = uprobe(as->progs.free_entry, pid, argv[3], "free", free_off, 0);
		n_links = 3;
		if (!links[2])
			goto cleanup;
	}
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		pause();
	rc = 0;
cleanup:
	for (i = n_links - 1; i >= 0; i--)
		bpf_link__destroy(links[i]);
	floor_alloc_bpf__destroy(as);
	floor_bpf__destroy(fs);
	return rc;
}
