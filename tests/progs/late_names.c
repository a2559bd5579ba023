/* SPDX-License-Identifier: BSD-3-Clause */
/* late_names.c - test target whose memscope names live in a page nothing
 * touches before the probes fire: BPF cannot read them (it may not fault
 * pages in), so the tracer must, and here it cannot ask the target. Run
 * with an argument, it waits for SIGUSR1 (a test freezes the tracer, then
 * sends it), then execs itself without one; that image at once tracks
 * `first` and `second` inside scope "late" and exits, before the tracer
 * has looked at its memory. No literal is read before the probes. */
#include <signal.h>
#include <unistd.h>
#include "memscope.h"

/* Never read. Placed after the string literals, it keeps their page apart
 * from anything the loader reads (.eh_frame would otherwise share it). */
const char late_pad[256 * 1024] = { 1 };

int main(int argc, char **argv)
{
	long first = 1, second = 2;
	char *again[] = { argv[0], 0 };
	sigset_t go;
	int sig;

	if (argc > 1) {
		sigemptyset(&go);
		sigaddset(&go, SIGUSR1);
		sigprocmask(SIG_BLOCK, &go, 0);
		write(1, "waiting\n", 8);
		sigwait(&go, &sig);
		execv(argv[0], again);
		return 127;
	}
	{
		MEMSCOPE_SCOPE("late");
		TRACK_VAR(first);
		TRACK_VAR(second);
	}
	return (int)(first + second) - 3;
}
