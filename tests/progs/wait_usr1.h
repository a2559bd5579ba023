/* SPDX-License-Identifier: BSD-3-Clause */
/* wait_usr1.h - for test programs: print `line` once SIGUSR1 is blocked,
 * then wait for SIGUSR1. A test sends it when its tracer is where it wants
 * it (attached, frozen), instead of guessing a time to sleep. The line is
 * written with write(2): nothing is allocated. */
#ifndef MS_TESTS_PROGS_WAIT_USR1_H
#define MS_TESTS_PROGS_WAIT_USR1_H

#include <signal.h>
#include <string.h>
#include <unistd.h>

static void wait_usr1(const char *line)
{
	sigset_t usr1;
	int sig;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	if (write(1, line, strlen(line)) < 0)
		_exit(3);
	sigwait(&usr1, &sig);
}

#endif
