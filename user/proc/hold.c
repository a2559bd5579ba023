/* SPDX-License-Identifier: BSD-3-Clause */
/* hold.c - holding a process whose memory the tracer must read.
 *
 * A leak check needs one picture of the target's memory taken at a moment
 * when nothing moves: at its exit, after atexit handlers and before the
 * kernel tears the address space down, or on request while it runs. The
 * target must stop there without anyone else noticing: its parent (a
 * shell, a supervisor, a test harness doing waitpid(WUNTRACED)) may see a
 * delay but no stop, and the target must not depend on the tracer (killed
 * tracer: the target runs on; stopped tracer: the hold still ends).
 *
 * What holds a process invisibly:
 *   - SIGSTOP (or cgroup freezing from BPF) would do it, but a stop is a
 *     job-control event: the parent's waitpid(WUNTRACED) and SIGCHLD see it.
 *   - BPF cannot block a task, and the exit path gives it no hook between
 *     "exit_group() entered" and "memory released" that could wait.
 *   - ptrace can. A tracee that stops for its tracer (signal-delivery-stop,
 *     PTRACE_EVENT_STOP after PTRACE_INTERRUPT, PTRACE_EVENT_EXIT) is
 *     reported to the tracer only; a ptrace stop is not a job-control stop.
 *     PTRACE_SEIZE attaches without stopping anything and without the
 *     SIGSTOP of PTRACE_ATTACH. With PTRACE_O_TRACEEXIT a thread stops in
 *     do_exit() before exit_mm(): memory and registers intact.
 *   ptrace's costs, weighed: every signal the target receives stops it until
 *   its tracer passes the signal on (microseconds here), each new thread
 *   stops it once (PTRACE_O_TRACECLONE, so new threads are held too), and
 *   a debugger cannot attach while memscope holds the target (nor memscope
 *   while a debugger does: checked, and said, before anything else).
 *
 * PTRACE_EVENT_EXIT alone comes too late for a multithreaded exit:
 * exit_group() sends SIGKILL to the other threads first, and since Linux
 * 5.18 a thread with a fatal signal pending never stops for its tracer, so
 * their registers are gone (their stacks are still mapped). memcheck, which
 * runs the leak check before it lets threads die, scans them. So the exit
 * is caught earlier: BPF's uprobe on libc's _exit (bpf/memscope.bpf.c) sends
 * the exiting thread MS_HOLD_EXIT_SIGNAL from the kernel (si_code
 * SI_KERNEL, which no real SIGCHLD carries), only while this helper
 * traces it. The signal's delivery stops the thread for us before
 * exit_group(); we stop the other threads with PTRACE_INTERRUPT, report,
 * and on release swallow the signal. A process that calls exit_group()
 * itself is still held at PTRACE_EVENT_EXIT (MS_HOLD_EXIT_LATE). A fatal
 * signal is held at its signal-delivery-stop, when the signal's action is
 * the default one (the process would die), and passed on at release.
 * SIGKILL cannot be intercepted by anyone, memcheck included.
 *
 * Why a helper process and not a thread of the tracer: ptrace stops the
 * target until its tracer acts, so the tracer must act promptly whatever
 * it is doing, and must still let the target go when it is itself stopped
 * (kill -STOP, a debugger on the tracer): the helper enforces the hold's
 * timeout on its own, and lets go at once a hold that a stopped tracer
 * cannot serve. It dies with the tracer (PR_SET_PDEATHSIG), and when
 * a tracer exits the kernel detaches its tracees and lets stopped ones run:
 * nothing is left behind. It is forked early, holds no BPF object, and
 * talks through a SOCK_SEQPACKET socket; registers go through a shared
 * mapping. The helper never writes to the target's memory or registers. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "proc/hold.h"
#include "util/vec.h"

#define MAX_THREADS 65536
#define SEIZE_OPTS (PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXIT)

enum { HM_SEIZE = 1, HM_HOLD, HM_RELEASE,
       HM_SEIZED = 16, HM_HELD, HM_RELEASED, HM_TIMEOUT, HM_GONE };

struct hold_msg {
	uint32_t type;
	int32_t a, b, c;   /* per type: errno / reason / signal / code / pid */
	int32_t tid;
	uint32_t nthreads;
	uint64_t t_ns;
	char text[32];
};

struct ms_holder {
	pid_t helper;
	int sock;
	uint64_t timeout_ns;
	struct ms_hold_thread *threads; /* shared with the helper */
	int held, gone, timed_out, killed, status;
	struct ms_hold_state st;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- /proc facts the helper needs ----------------------------------------- */

/* Value of "Key:" in a status file, parsed as base; -1 if missing. */
static long long status_field(const char *path, const char *key, int base)
{
	char buf[4096], *p;
	size_t kl = strlen(key);
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ':')
			return strtoll(p + kl + 1, NULL, base);
	return -1;
}

static pid_t tracer_of(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return (pid_t)status_field(path, "TracerPid", 10);
}

/* Would sig kill the process (default action term or core, not caught,
 * not ignored)? */
static int fatal_default(pid_t pid, int sig)
{
	char path[64];
	long long ign, cgt;

	switch (sig) {
	case SIGCHLD: case SIGURG: case SIGWINCH: case SIGCONT:
	case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return 0;
	}
	if (sig < 1 || sig > 64)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	ign = status_field(path, "SigIgn", 16);
	cgt = status_field(path, "SigCgt", 16);
	if (ign < 0 || cgt < 0)
		return 0;
	return !((((unsigned long long)ign | (unsigned long long)cgt) >> (sig - 1)) & 1);
}

/* A thread at PTRACE_EVENT_EXIT: is its whole process going? Yes when no
 * other thread is left, or when exit_group() (or a fatal signal) has given
 * the others SIGKILL: it gives it to all of them at once, so the first
 * live thread without it answers no (a thread exit costs one look). */
static int process_exiting(pid_t pid, pid_t tid)
{
	char path[96], buf[4096], *p;
	struct dirent *d;
	DIR *dir;
	int others = 0, exiting = 1;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return 1;
	while (exiting && (d = readdir(dir))) {
		unsigned long long pnd = 0;
		pid_t t = (pid_t)atoi(d->d_name);
		ssize_t n;
		int fd;

		if (t <= 0 || t == tid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)t);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			continue; /* gone meanwhile */
		buf[n] = 0;
		/* dead threads (zombies) have nothing pending */
		if ((p = strstr(buf, "\nState:\t")) && (p[8] == 'Z' || p[8] == 'X'))
			continue;
		if ((p = strstr(buf, "\nSigPnd:\t")))
			pnd = strtoull(p + 9, NULL, 16);
		others++;
		if (!(pnd & (1ull << (SIGKILL - 1))))
			exiting = 0;
	}
	closedir(dir);
	return !others || exiting;
}

/* ---- the helper ------------------------------------------------------------ */

enum { T_RUN, T_STOP, T_INT, T_GONE };

struct tracee {
	pid_t tid;
	int state;
	int inject; /* signal to pass on when resumed */
	int listen; /* in group-stop: resume with PTRACE_LISTEN */
};

struct helper {
	pid_t tracer;  /* our parent */
	int sock;
	struct ms_hold_thread *out;
	uint64_t timeout_ns;
	pid_t pid;
	struct tracee *t;
	size_t n, cap;
	int hold;      /* enum ms_hold_reason, 0 = not holding */
	int announced;
	int exit_done; /* the exit was held once: later exit stops pass */
	int killed;    /* a held thread moved on: only SIGKILL does that */
	int sig, code;
	pid_t hold_tid;
	uint64_t since, deadline;
};

static void send_msg(struct helper *h, const struct hold_msg *m)
{
	while (send(h->sock, m, sizeof(*m), MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static struct tracee *find(struct helper *h, pid_t tid)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (h->t[i].tid == tid)
			return &h->t[i];
	return NULL;
}

static struct tracee *add(struct helper *h, pid_t tid, int state)
{
	struct tracee *t = find(h, tid);

	if (t)
		return t;
	if (ms_vec_reserve((void **)&h->t, &h->cap, sizeof(*h->t), h->n + 1))
		return NULL;
	t = &h->t[h->n++];
	*t = (struct tracee){ .tid = tid, .state = state };
	return t;
}

static void del(struct helper *h, pid_t tid)
{
	struct tracee *t = find(h, tid);

	if (t)
		*t = h->t[--h->n];
}

static void resume(struct tracee *t)
{
	if (t->state != T_STOP)
		return;
	if (t->listen)
		ptrace(PTRACE_LISTEN, t->tid, 0, 0);
	else
		ptrace(PTRACE_CONT, t->tid, 0, (void *)(long)t->inject);
	t->state = T_RUN;
	t->inject = t->listen = 0;
}

static void begin(struct helper *h, int reason, pid_t tid, int sig, int code)
{
	size_t i;

	h->hold = reason;
	h->announced = 0;
	h->killed = 0;
	h->hold_tid = tid;
	h->sig = sig;
	h->code = code;
	h->since = now_ns();
	h->deadline = h->since + h->timeout_ns;
	for (i = 0; i < h->n; i++) {
		struct tracee *t = &h->t[i];

		if (t->state != T_RUN)
			continue;
		if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) == 0)
			t->state = T_INT;
		else
			t->state = T_GONE; /* dying: its exit is on its way */
	}
}

/* Every thread stopped (or gone): read the registers and report. */
static void maybe_announce(struct helper *h)
{
	struct hold_msg m = { .type = HM_HELD };
	size_t i, k = 0;

	if (!h->hold || h->announced)
		return;
	for (i = 0; i < h->n; i++)
		if (h->t[i].state == T_RUN || h->t[i].state == T_INT)
			return;
	for (i = 0; i < h->n && k < MAX_THREADS; i++) {
		struct ms_hold_thread *o = &h->out[k];

		if (h->t[i].state != T_STOP)
			continue;
		o->tid = h->t[i].tid;
		o->has_regs = ptrace(PTRACE_GETREGS, o->tid, 0, &o->regs) == 0;
		k++;
	}
	m.a = h->hold;
	m.b = h->sig;
	m.c = h->code;
	m.tid = h->hold_tid;
	m.nthreads = (uint32_t)k;
	m.t_ns = h->since;
	h->announced = 1;
	send_msg(h, &m);
}

/* Resume everything: the held thread first (it exits, or takes its
 * signal), then the others. */
static void let_go(struct helper *h)
{
	struct tracee *first = find(h, h->hold_tid);
	size_t i;

	if (first)
		resume(first);
	for (i = 0; i < h->n; i++) {
		if (h->t[i].state == T_GONE)
			continue;
		resume(&h->t[i]);
	}
	if (h->hold != MS_HOLD_REQUEST)
		h->exit_done = 1;
	h->hold = 0;
	h->announced = 0;
}

static int seize_all(struct helper *h, pid_t pid, struct hold_msg *r)
{
	char path[64];
	int round, added;
	pid_t tracer = tracer_of(pid);

	if (tracer < 0)
		return ESRCH;
	if (tracer > 0 && tracer != getpid())
		goto busy;
	h->pid = pid;
	/* Until a listing finds no new thread: threads made meanwhile by a
	 * thread not yet seized show up in the next listing; those made by
	 * seized threads are seized by the kernel (PTRACE_O_TRACECLONE). */
	for (round = 0; round < 1000; round++) {
		struct dirent *d;
		DIR *dir;

		snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
		dir = opendir(path);
		if (!dir)
			return round ? 0 : ESRCH;
		added = 0;
		while ((d = readdir(dir))) {
			pid_t tid = (pid_t)atoi(d->d_name);

			if (tid <= 0 || find(h, tid))
				continue;
			if (ptrace(PTRACE_SEIZE, tid, 0, (void *)(long)SEIZE_OPTS) == 0) {
				add(h, tid, T_RUN);
				added++;
			} else if (errno != ESRCH) {
				int e = errno;

				closedir(dir);
				tracer = tracer_of(pid);
				if (tracer > 0 && tracer != getpid())
					goto busy;
				return e;
			}
		}
		closedir(dir);
		if (!added)
			return 0;
	}
	return 0;
busy:
	r->b = tracer;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)tracer);
	{
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, r->text, sizeof(r->text) - 1) : -1;

		if (fd >= 0)
			close(fd);
		r->text[n > 0 ? n : 0] = 0;
		if (n > 0 && r->text[n - 1] == '\n')
			r->text[n - 1] = 0;
	}
	return EBUSY;
}

static void on_wait(struct helper *h, pid_t tid, int st)
{
	struct tracee *t;
	int sig, ev, inject = 0, listen = 0;

	/* A stopped thread runs again only when SIGKILL wakes it; in
	 * exit_group() the others are meant to die. */
	if (h->hold && h->hold != MS_HOLD_EXIT_LATE &&
	    (WIFEXITED(st) || WIFSIGNALED(st) || (unsigned)st >> 16 == PTRACE_EVENT_EXIT))
		h->killed = 1;
	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		del(h, tid);
		if (tid == h->pid) {
			struct hold_msg m = { .type = HM_GONE, .a = st, .b = h->hold != 0 };

			h->hold = 0;
			send_msg(h, &m);
		} else {
			maybe_announce(h);
		}
		return;
	}
	if (!WIFSTOPPED(st))
		return;
	t = add(h, tid, T_RUN); /* a new thread may report before its clone */
	if (!t)
		return;
	sig = WSTOPSIG(st);
	ev = (unsigned)st >> 16;
	t->state = T_STOP;
	switch (ev) {
	case PTRACE_EVENT_CLONE: {
		unsigned long nt = 0;

		/* the new thread reports a stop of its own: wait for it */
		if (!ptrace(PTRACE_GETEVENTMSG, tid, 0, &nt) && nt && !find(h, (pid_t)nt))
			add(h, (pid_t)nt, T_INT);
		break;
	}
	case PTRACE_EVENT_STOP:
		listen = sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
		break;
	case PTRACE_EVENT_EXIT: {
		unsigned long code = 0;

		ptrace(PTRACE_GETEVENTMSG, tid, 0, &code);
		if (!h->hold && !h->exit_done && process_exiting(h->pid, tid)) {
			begin(h, MS_HOLD_EXIT_LATE, tid, 0, (int)code);
			/* SIGKILL (sent before we saw the thread stop at _exit,
			 * or at any time): the thread that took it stops here,
			 * its memory intact */
			h->killed = WIFSIGNALED((int)code) && WTERMSIG((int)code) == SIGKILL;
		}
		break;
	}
	case 0: {
		siginfo_t si;

		if (sig == MS_HOLD_EXIT_SIGNAL && !ptrace(PTRACE_GETSIGINFO, tid, 0, &si) &&
		    si.si_code == SI_KERNEL && si.si_pid == 0) {
			/* ours, from BPF at _exit: held there, never delivered */
			if (!h->hold && !h->exit_done)
				begin(h, MS_HOLD_AT_EXIT, tid, 0, 0);
		} else {
			inject = sig;
			if (!h->hold && !h->exit_done && fatal_default(h->pid, sig))
				begin(h, MS_HOLD_SIGNAL, tid, sig, 0);
		}
		break;
	}
	default:
		break;
	}
	t = find(h, tid); /* begin() does not move entries, add() may have */
	t->inject = inject;
	t->listen = listen;
	if (!h->hold)
		resume(t);
	else
		maybe_announce(h);
}

/* A stopped tracer (kill -STOP, a debugger on it) cannot serve a hold:
 * the target does not wait for it. */
static int tracer_stopped(pid_t tracer)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tracer);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'T' || p[2] == 't');
}

static void on_command(struct helper *h, const struct hold_msg *m)
{
	struct hold_msg r = { 0 };

	switch (m->type) {
	case HM_SEIZE:
		r.type = HM_SEIZED;
		r.a = seize_all(h, m->a, &r);
		send_msg(h, &r);
		break;
	case HM_HOLD:
		if (!h->n) {
			r.type = HM_GONE;
			send_msg(h, &r);
		} else if (!h->hold) {
			begin(h, MS_HOLD_REQUEST, 0, 0, 0);
			maybe_announce(h);
		}
		break;
	case HM_RELEASE:
		r.type = HM_RELEASED;
		r.a = h->hold && h->announced;
		r.b = h->hold && h->killed;
		if (h->hold)
			let_go(h);
		send_msg(h, &r);
		break;
	}
}

#define TRACER_CHECK_MS 50 /* while holding, look this often whether the tracer runs */

static void helper_run(int sock, struct ms_hold_thread *out, uint64_t timeout_ns)
{
	struct helper h = { .tracer = getppid(), .sock = sock, .out = out, .timeout_ns = timeout_ns };
	sigset_t chld;
	int sfd;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return;
	for (;;) {
		struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
		int timeout = -1;
		pid_t tid;
		int st;

		if (h.hold) {
			uint64_t t = now_ns();

			timeout = t >= h.deadline ? 0 : (int)((h.deadline - t) / 1000000 + 1);
			if (timeout > TRACER_CHECK_MS)
				timeout = TRACER_CHECK_MS;
		}
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			return;
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) > 0)
				;
		}
		/* reap every event, whatever woke us: SIGCHLDs coalesce */
		while ((tid = waitpid(-1, &st, __WALL | WNOHANG)) > 0)
			on_wait(&h, tid, st);
		if (p[0].revents & POLLIN) {
			struct hold_msg m;
			ssize_t n = recv(sock, &m, sizeof(m), 0);

			if (n == 0)
				break; /* the tracer is gone */
			if (n == sizeof(m))
				on_command(&h, &m);
		} else if (p[0].revents & (POLLHUP | POLLERR)) {
			break;
		}
		if (h.hold && (now_ns() >= h.deadline || tracer_stopped(h.tracer))) {
			struct hold_msg m = { .type = HM_TIMEOUT, .a = h.hold,
					      .b = now_ns() < h.deadline };

			let_go(&h);
			send_msg(&h, &m);
		}
	}
	/* The tracer is gone: a thread held at _exit must not get the
	 * signal that stopped it when the kernel detaches it. */
	if (h.hold)
		let_go(&h);
}

/* ---- the tracer's side ----------------------------------------------------- */

int ms_hold_new(struct ms_holder **out, uint64_t timeout_ns)
{
	struct ms_holder *h = calloc(1, sizeof(*h));
	pid_t parent = getpid(), pid;
	int sv[2];

	*out = NULL;
	if (!h)
		return -ENOMEM;
	h->timeout_ns = timeout_ns;
	h->threads = mmap(NULL, MAX_THREADS * sizeof(*h->threads), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (h->threads == MAP_FAILED) {
		free(h);
		return -ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		int err = -errno;

		munmap(h->threads, MAX_THREADS * sizeof(*h->threads));
		free(h);
		return err;
	}
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(sv[0]);
		close(sv[1]);
		munmap(h->threads, MAX_THREADS * sizeof(*h->threads));
		free(h);
		return err;
	}
	if (pid == 0) {
		/* Dies with the tracer; ignores the terminal's signals (the
		 * tracer decides); keeps no file of the tracer's. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		prctl(PR_SET_NAME, "memscope-hold");
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		if (dup2(sv[1], 3) == 3) {
			close_range(4, ~0u, 0);
			helper_run(3, h->threads, timeout_ns);
		}
		_exit(0);
	}
	close(sv[1]);
	h->helper = pid;
	h->sock = sv[0];
	*out = h;
	return 0;
}

pid_t ms_hold_helper(const struct ms_holder *h)
{
	return h ? h->helper : 0;
}

int ms_hold_fd(const struct ms_holder *h)
{
	return h ? h->sock : -1;
}

static void take(struct ms_holder *h, const struct hold_msg *m)
{
	switch (m->type) {
	case HM_HELD:
		h->held = 1;
		h->st = (struct ms_hold_state){
			.reason = m->a, .sig = m->b, .exit_code = m->c, .tid = m->tid,
			.since_ns = m->t_ns, .nthreads = m->nthreads, .threads = h->threads,
		};
		break;
	case HM_TIMEOUT:
		h->held = 0;
		h->timed_out = m->b ? 2 : 1;
		break;
	case HM_GONE:
		h->held = 0;
		h->gone = 1;
		h->status = m->a;
		if (m->b)
			h->killed = 1;
		break;
	}
}

/* Next message of the given type (others are taken on the way), waiting
 * until deadline (0 = do not wait). 1 found, 0 not (yet), -errno. */
static int await(struct ms_holder *h, uint32_t type, uint64_t deadline, struct hold_msg *out)
{
	for (;;) {
		struct pollfd p = { .fd = h->sock, .events = POLLIN };
		struct hold_msg m;
		uint64_t t = now_ns();
		ssize_t n;
		int wait = !deadline || t >= deadline ? 0 : (int)((deadline - t) / 1000000 + 1);

		if (poll(&p, 1, wait) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			return 0;
		n = recv(h->sock, &m, sizeof(m), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -EPIPE; /* the helper died */
		if (n != sizeof(m))
			continue;
		take(h, &m);
		if (m.type == type || (type == HM_HELD && (m.type == HM_TIMEOUT || m.type == HM_GONE))) {
			if (out)
				*out = m;
			return 1;
		}
	}
}

static int send_cmd(struct ms_holder *h, uint32_t type, int a)
{
	struct hold_msg m = { .type = type, .a = a };

	while (send(h->sock, &m, sizeof(m), MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int ms_hold_seize(struct ms_holder *h, pid_t pid, char *why, size_t len)
{
	struct hold_msg r;
	int err = send_cmd(h, HM_SEIZE, pid);

	if (!err && (err = await(h, HM_SEIZED, now_ns() + 5000000000ull, &r)) == 1)
		err = -r.a;
	else if (!err)
		err = -ETIMEDOUT;
	if (err == -EBUSY)
		snprintf(why, len, "already traced by PID %d (%s)", (int)r.b, r.text[0] ? r.text : "?");
	else if (err)
		snprintf(why, len, "%s", strerror(-err));
	return err;
}

int ms_hold_poll(struct ms_holder *h, struct ms_hold_state *st)
{
	if (!h)
		return 0;
	await(h, 0, 0, NULL); /* takes whatever is there */
	if (h->held) {
		*st = h->st;
		return 1;
	}
	return h->gone ? -ESRCH : 0;
}

int ms_hold_request(struct ms_holder *h, uint64_t timeout_ns, struct ms_hold_state *st)
{
	struct hold_msg m;
	int r;

	if (h->gone)
		return -ESRCH;
	if (h->held) {
		*st = h->st;
		return 1;
	}
	r = send_cmd(h, HM_HOLD, 0);
	if (r)
		return r;
	r = await(h, HM_HELD, now_ns() + timeout_ns + 1000000000ull, &m);
	if (r < 0)
		return r;
	if (h->held) {
		*st = h->st;
		return 1;
	}
	return h->gone ? -ESRCH : 0;
}

int ms_hold_release(struct ms_holder *h)
{
	struct hold_msg r;
	int err;

	if (!h)
		return 0;
	if (h->gone)
		return -ESRCH;
	err = send_cmd(h, HM_RELEASE, 0);
	if (err)
		return err;
	err = await(h, HM_RELEASED, now_ns() + 5000000000ull, &r);
	h->held = 0;
	if (err < 0)
		return err;
	if (err == 1 && r.b)
		h->killed = 1;
	if (h->gone)
		return -ESRCH;
	return err == 1 && r.a;
}

int ms_hold_timed_out(const struct ms_holder *h)
{
	return h && h->timed_out;
}

int ms_hold_killed(const struct ms_holder *h)
{
	return h && h->killed;
}

int ms_hold_status(const struct ms_holder *h)
{
	return h ? h->status : 0;
}

void ms_hold_free(struct ms_holder *h)
{
	if (!h)
		return;
	close(h->sock); /* the helper sees EOF and exits */
	if (h->helper > 0)
		waitpid(h->helper, NULL, 0);
	munmap(h->threads, MAX_THREADS * sizeof(*h->threads));
	free(h);
}
