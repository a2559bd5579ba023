/* SPDX-License-Identifier: BSD-3-Clause */
/* watchdog.c - a held process never waits long for a tracer that cannot
 * act.
 *
 * BPF stops a process until the tracer has attached to it (bpf/hold.bpf.h)
 * and the tracer continues it within milliseconds. A tracer stopped with
 * SIGSTOP, or stuck, would keep it stopped; one that dies continues it from
 * BPF (its own exit tracepoint). The watchdog covers the rest: a process of
 * its own, forked before any probe is attached and holding nothing but the
 * `holds` map and the tracer's pidfd, that continues every process held
 * for more than MS_HOLD_MAX_MS, and all of them once the tracer is gone.
 * It is nobody's child (the tracer's children are its commands) and in a
 * session of its own (Ctrl-C on the tracer's terminal ends the tracer,
 * which ends it). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "memscope_events.h"
#include "trace/session.h"

#define MS_HOLD_MAX_MS 5000
#define WATCH_MS 100

/* Continue what was held before `older_than` (0: everything). */
static void release_old(int fd, uint64_t older_than)
{
	__u32 key, next, *prev = NULL, pids[256];
	struct ms_hold h;
	size_t n = 0, i;

	while (n < sizeof(pids) / sizeof(pids[0]) && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &h) && h.kind != MS_HOLD_READY &&
		    (!older_than || h.ts_ns < older_than))
			pids[n++] = key;
	}
	for (i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, &pids[i]) == 0)
			kill((pid_t)pids[i], SIGCONT);
}

/* Until the tracer has exited (its pidfd reads): every WATCH_MS, what was
 * held too long. Then everything. */
static void watch(int fd, int tracer_fd)
{
	struct pollfd p = { .fd = tracer_fd, .events = POLLIN };

	/* Ctrl-C reaches the whole process group: the tracer handles it and
	 * ends; this one ends with it */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	prctl(PR_SET_NAME, "memscope-watch");
	for (;;) {
		int n = poll(&p, 1, WATCH_MS);

		if (n > 0 || (n < 0 && errno != EINTR))
			break; /* the tracer is gone */
		release_old(fd, ms_now_ns() - (uint64_t)MS_HOLD_MAX_MS * 1000000);
	}
	release_old(fd, 0);
}

int ms_watchdog_start(int holds_fd)
{
	int tracer_fd = (int)syscall(SYS_pidfd_open, getpid(), 0), null, st;
	pid_t pid;

	if (tracer_fd < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(tracer_fd);
		return -errno;
	}
	if (pid > 0) {
		/* the middle process exits at once: the watchdog is nobody's
		 * child here, and the tracer's children are its commands */
		close(tracer_fd);
		waitpid(pid, &st, 0);
		return 0;
	}
	if (fork() != 0)
		_exit(0);
	/* Only the map and the tracer's pidfd: keeping the tracer's links
	 * open here would keep its probes attached after it exits; nor its
	 * output, whose reader must see it end with the tracer. */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(holds_fd, 3) < 0 || dup2(tracer_fd, 4) < 0)
		_exit(1);
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	close_range(5, ~0U, 0);
	setsid(); /* out of the tracer's process group and terminal */
	watch(3, 4);
	_exit(0);
}
