/* SPDX-License-Identifier: BSD-3-Clause */
/* test_romaps.c - string literals read from the files a process maps,
 * whatever became of it: a forked copy of this process is looked at alive,
 * then as a zombie (its maps file empty, without an error), then reaped.
 * Needs no root. Prints PASS/FAIL per case; exits 1 on any failure. */
#define _GNU_SOURCE
#include "proc/romaps.h"
#include "check.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char literal[] = "a literal in .rodata, read from the file";

/* A child that waits for a byte on fd, then exits. */
static pid_t child(int *wfd)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		if (read(p[0], &c, 1) < 0)
			_exit(2);
		_exit(0);
	}
	close(p[0]);
	*wfd = p[1];
	return pid;
}

static int reads_literal(struct ms_romaps *r, pid_t pid)
{
	char buf[sizeof(literal)] = "";
	ssize_t n = ms_romaps_read(r, pid, (uint64_t)(uintptr_t)literal, buf, sizeof(buf));

	return n == (ssize_t)sizeof(literal) && !memcmp(buf, literal, sizeof(literal));
}

/* The race a trace of many short-lived children lost names to: a rescan
 * that reads the maps of a child that has just exited must not wipe what
 * was known of it. */
static void test_exited_process_keeps_its_mappings(void)
{
	struct ms_romaps *r = ms_romaps_new();
	int wfd = -1, st;
	pid_t pid = child(&wfd);
	char path[64];
	FILE *f = NULL;

	CHECK(r && pid > 0);
	CHECK(ms_romaps_update(r, pid) == 0);
	CHECK(reads_literal(r, pid));
	/* let it exit; unreaped, it is a zombie whose maps file is empty */
	CHECK(write(wfd, "x", 1) == 1);
	CHECK(waitid(P_PID, (id_t)pid, NULL, WEXITED | WNOWAIT) == 0);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	CHECK(f && fgetc(f) == EOF); /* the case the fix is about */
	CHECK(ms_romaps_update(r, pid) == -ESRCH);
	CHECK(reads_literal(r, pid));
	/* reaped: gone altogether */
	CHECK(waitpid(pid, &st, 0) == pid);
	pid = 0;
	PASS();
out:
	if (f)
		fclose(f);
	if (wfd >= 0)
		close(wfd);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	ms_romaps_free(r);
}

static void test_fork_copies_and_update_replaces(void)
{
	struct ms_romaps *r = ms_romaps_new();
	int wfd = -1, st;
	pid_t pid = child(&wfd);

	CHECK(r && pid > 0);
	CHECK(ms_romaps_fork(r, getpid(), pid) == -ENOENT); /* parent unknown */
	CHECK(ms_romaps_update(r, getpid()) == 0);
	CHECK(ms_romaps_fork(r, getpid(), pid) == 0);
	CHECK(reads_literal(r, pid));
	CHECK(ms_romaps_update(r, pid) == 0);
	CHECK(reads_literal(r, pid));
	CHECK(ms_romaps_read(r, pid, 8, (char[8]){ 0 }, 8) == -ENOENT); /* nothing there */
	PASS();
out:
	if (wfd >= 0)
		close(wfd);
	if (pid > 0)
		waitpid(pid, &st, 0);
	ms_romaps_free(r);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_exited_process_keeps_its_mappings();
	test_fork_copies_and_update_replaces();
	return failed ? 1 : 0;
}
