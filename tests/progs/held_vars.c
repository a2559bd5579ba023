/* held_vars.c - a thread that tracks three variables and then waits: BPF
 * holds its TRACK_VAR records back (a batch per thread, sent with the
 * thread's next other probe), so they reach a tracer that stops now only
 * through its reading of BPF's per-thread slots.
 *
 * Prints "ready", tracks a, b and c when a line arrives on stdin, prints
 * "tracked", then sleeps until killed. */
#include <stdio.h>
#include <unistd.h>

#include "memscope.h"

int main(void)
{
	char line[16];
	int a = 1;
	long b = 2;
	double c = 3.0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	TRACK_VAR(a);
	TRACK_VAR(b);
	TRACK_VAR(c);
	printf("tracked %d %ld %.0f\n", a, b, c);
	for (;;)
		pause();
}
