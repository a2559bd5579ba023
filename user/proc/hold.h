/* SPDX-License-Identifier: BSD-3-Clause */
/* hold.h - hold a traced process with its memory intact: as it exits, as
 * a fatal signal is about to kill it, or on request, so that the tracer can
 * read its memory (user/proc/leakscan.c) and let it go again.
 *
 * A helper process does the holding (hold.c explains why a helper, and why
 * ptrace). The tracer talks to it through ms_hold_*; every call is cheap
 * and none blocks longer than the timeout it is given. */
#ifndef MS_PROC_HOLD_H
#define MS_PROC_HOLD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/* Why the target is held. */
enum ms_hold_reason {
	MS_HOLD_AT_EXIT = 1, /* entering libc's _exit (exit(), return from
			      * main): every thread stopped, registers kept */
	MS_HOLD_EXIT_LATE,   /* exit_group() called directly: the exiting
			      * thread's registers only; the others are dying */
	MS_HOLD_SIGNAL,      /* a fatal signal is about to be delivered */
	MS_HOLD_REQUEST,     /* the tracer asked (a leak check of a process
			      * that runs on) */
};

struct ms_hold_thread {
	int32_t tid;
	int32_t has_regs;
	struct user_regs_struct regs;
};

struct ms_hold_state {
	int reason;       /* enum ms_hold_reason */
	int sig;          /* MS_HOLD_SIGNAL: the signal */
	int exit_code;    /* exits: the status as exit_group got it */
	pid_t tid;        /* the thread that exits or gets the signal */
	uint64_t since_ns; /* CLOCK_MONOTONIC when the first thread stopped */
	size_t nthreads;
	const struct ms_hold_thread *threads; /* valid until release */
};

struct ms_holder;

/* Start the helper (a fork of this process: call it early, before BPF
 * objects and big buffers exist, since it keeps copies of the mappings
 * until it exits). timeout_ns bounds every hold: past it the helper lets
 * the target go by itself, even if this process is stopped. 0 or -errno. */
int ms_hold_new(struct ms_holder **out, uint64_t timeout_ns);
/* Its pid: BPF checks that the exiting thread is traced by it. 0 for NULL. */
pid_t ms_hold_helper(const struct ms_holder *h);
/* The signal BPF sends a thread entering _exit to have it held
 * (bpf_send_signal_thread: si_code SI_KERNEL, which no real SIGCHLD has;
 * ignored by default should it ever reach the program). */
#define MS_HOLD_EXIT_SIGNAL 17 /* SIGCHLD */

/* Seize every thread of pid (new threads follow). 0; -EBUSY if another
 * tracer (a debugger) has it, who in why; -EPERM, -ESRCH. Waits at most
 * 5 s for the helper. */
int ms_hold_seize(struct ms_holder *h, pid_t pid, char *why, size_t len);
/* Readable when the helper has something to say: call ms_hold_poll. */
int ms_hold_fd(const struct ms_holder *h);
/* Read what the helper said, without blocking. 1 and *st filled if the
 * target is held now, 0 if not, -ESRCH once it is gone. */
int ms_hold_poll(struct ms_holder *h, struct ms_hold_state *st);
/* Stop every thread now and wait (at most timeout_ns) until they all are.
 * 1 and *st filled, 0 if the helper gave up (a thread did not stop in
 * time: the target runs on), -ESRCH if the target is gone. */
int ms_hold_request(struct ms_holder *h, uint64_t timeout_ns, struct ms_hold_state *st);
/* Let the target go. Returns 1 if it was held from the report until now
 * (what was read is a picture of one moment), 0 if the helper had already
 * let it go (timeout), -ESRCH if it is gone. A SIGKILL during the hold
 * (ms_hold_killed) usually leaves the picture whole: the threads go from
 * their stops straight into the kernel's exit, where the one that took
 * the signal stops again, memory still mapped. */
int ms_hold_release(struct ms_holder *h);
/* Once a hold was given up: 1 past the timeout, 2 because this process
 * was stopped (it could not have served it). 0 if never. */
int ms_hold_timed_out(const struct ms_holder *h);
/* 1 once the target was killed while held. */
int ms_hold_killed(const struct ms_holder *h);
/* The target's wait status as the helper reaped it (valid once gone). */
int ms_hold_status(const struct ms_holder *h);
/* Stop the helper: it exits, and the kernel lets every thread it still
 * traces go (threads it holds resume). NULL-safe. */
void ms_hold_free(struct ms_holder *h);

#endif
