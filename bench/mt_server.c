/* SPDX-License-Identifier: BSD-3-Clause */
/* mt_server.c - bench C target: the event-loop server of
 * examples/epoll_server.c, on several worker threads.
 *
 *   mt_server [--threads N] [--port P] [--duration S]
 *
 * Each of the N worker threads (default 2) runs its own epoll loop on its own
 * non-blocking listening socket; the sockets share one port on 127.0.0.1
 * through SO_REUSEPORT, so the kernel spreads connections over the threads.
 * It serves HTTP/1.1 keep-alive GET (any other method gets 405). --port 0
 * (the default) picks a free port; the server prints "listening on PORT"
 * (flushed) once every thread listens, and stops after S seconds (0, the
 * default: never) or on SIGINT/SIGTERM. Its last line is
 *   "mt_server: N threads, C connections, R requests (per thread: R1 R2 ...)".
 *
 * Per connection, as in epoll_server: a task (ids are unique over threads:
 * serial * N + thread + 1) named "conn-<id>" while a tracer listens; every
 * callback runs between MEMSCOPE_TASK_ENTER and _EXIT, MEMSCOPE_TASK_END
 * follows the close; struct conn is calloc'ed and TRACK_VAR'ed. Per request:
 * a 4096-byte request buffer and a 256-byte response buffer, both malloc'ed,
 * TRACK_VAR'ed and freed once used.
 *
 * Built twice by bench/server_bench.sh: with include/memscope.h (USDT probes,
 * traced from outside by memscope-trace), and with -DCLASSIC, where the same
 * macros go to bench/classic_tracker.h: every TRACK_VAR takes the tracker's
 * one global mutex, updates its hash table and formats a description with
 * snprintf, in the worker thread, so the workers contend for the lock. A
 * classic tracker keeps the current task in a thread-local (no lock) and
 * records a task's name in its table (under the lock) once per connection.
 *
 * Connections still open at exit are left to the kernel: nothing reads this
 * server's memory report. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef CLASSIC
#include "classic_tracker.h"
static __thread uint64_t classic_task; /* the task this thread is running */
#define MEMSCOPE_ENABLED() 1
#define TRACK_VAR(v) CLASSIC_TRACK_VAR(v)
#define MEMSCOPE_TASK_ENTER(id) (classic_task = (id))
#define MEMSCOPE_TASK_EXIT(id) ((void)(id), classic_task = 0)
#define MEMSCOPE_TASK_NAME(id, name)                                          \
	classic_track(name, (const void *)(uintptr_t)(id), sizeof(uint64_t),   \
		      (id), __FILE__, __LINE__)
#define MEMSCOPE_TASK_END(id) ((void)(id))
#define BUILD_NAME "classic"
#else
#include "memscope.h"
#define BUILD_NAME "memscope"
#endif

#define REQ_CAP 4096 /* a request's header must fit in one buffer */
#define RESP_CAP 256
#define MAX_THREADS 64
#define BODY "hello from memscope\n"

struct conn {
	int fd;
	uint32_t events; /* what epoll is watching for: EPOLLIN or EPOLLOUT */
	uint64_t id;     /* task id */
	char *req;       /* request being read; NULL between requests */
	size_t req_len;
	char *resp;      /* response being sent; NULL when none */
	size_t resp_len, resp_off;
};

struct worker {
	pthread_t th;
	unsigned idx, nthreads;
	int ep, lfd;
	uint64_t serial, requests;
	char in[REQ_CAP]; /* read scratch */
};

static atomic_int stopping; /* set by the main thread */

static int conn_want(struct worker *w, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (c->events == events)
		return 1;
	c->events = events;
	return epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

/* A new request buffer holding the first n bytes of `data`. */
static int req_new(struct conn *c, const char *data, size_t n)
{
	char *req = malloc(REQ_CAP);

	if (!req)
		return 0;
	TRACK_VAR(req);
	memcpy(req, data, n);
	c->req = req;
	c->req_len = n;
	return 1;
}

/* Send what is left of the response; 0 if the connection is dead. */
static int conn_write(struct worker *w, struct conn *c)
{
	while (c->resp_off < c->resp_len) {
		ssize_t n = send(c->fd, c->resp + c->resp_off, c->resp_len - c->resp_off,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return conn_want(w, c, EPOLLOUT);
		if (n < 0)
			return 0;
		c->resp_off += (size_t)n;
	}
	free(c->resp);
	c->resp = NULL;
	return conn_want(w, c, EPOLLIN);
}

/* Answer every complete request in the buffer, one at a time. 0 if the
 * connection must close. */
static int conn_serve(struct worker *w, struct conn *c)
{
	while (c->req && !c->resp) {
		char *end = memmem(c->req, c->req_len, "\r\n\r\n", 4);
		char *old = c->req, *resp;
		size_t used, old_len = c->req_len;
		int n;

		if (!end)
			return c->req_len < REQ_CAP; /* header too big: give up */
		used = (size_t)(end + 4 - c->req);
		resp = malloc(RESP_CAP);
		if (!resp)
			return 0;
		TRACK_VAR(resp);
		if (!memcmp(c->req, "GET ", 4))
			n = snprintf(resp, RESP_CAP,
				     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				     "Content-Length: %zu\r\n\r\n%s", strlen(BODY), BODY);
		else
			n = snprintf(resp, RESP_CAP,
				     "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\n"
				     "Content-Length: 0\r\n\r\n");
		c->resp = resp;
		c->resp_len = (size_t)n;
		c->resp_off = 0;
		/* A pipelined next request starts a buffer of its own. */
		c->req = NULL;
		c->req_len = 0;
		if (used < old_len && !req_new(c, old + used, old_len - used)) {
			free(old);
			return 0;
		}
		free(old);
		w->requests++;
		if (!conn_write(w, c))
			return 0;
	}
	return 1;
}

static int conn_read(struct worker *w, struct conn *c)
{
	ssize_t n = read(c->fd, w->in, REQ_CAP - c->req_len);

	if (n == 0)
		return 0;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (!c->req)
		return req_new(c, w->in, (size_t)n) && conn_serve(w, c);
	memcpy(c->req + c->req_len, w->in, (size_t)n);
	c->req_len += (size_t)n;
	return conn_serve(w, c);
}

/* Free what the connection owns; the caller is inside its task. */
static void conn_free(struct conn *c)
{
	free(c->req);
	free(c->resp);
	close(c->fd); /* also removes it from the epoll set */
	free(c);
}

static void conn_open(struct worker *w, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t id = (++w->serial - 1) * w->nthreads + w->idx + 1;
	struct conn *c;

	if (MEMSCOPE_ENABLED()) { /* skip the formatting while untraced */
		char name[32];

		snprintf(name, sizeof(name), "conn-%llu", (unsigned long long)id);
		MEMSCOPE_TASK_NAME(id, name);
	}
	MEMSCOPE_TASK_ENTER(id);
	c = calloc(1, sizeof(*c));
	if (c) {
		TRACK_VAR(c);
		c->fd = fd;
		c->id = id;
		c->events = EPOLLIN;
		ev.data.ptr = c;
	}
	if (!c || epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev)) {
		perror("mt_server: new connection");
		free(c);
		close(fd);
	}
	MEMSCOPE_TASK_EXIT(id);
	if (!c)
		MEMSCOPE_TASK_END(id);
}

static void conn_event(struct worker *w, struct conn *c, uint32_t events)
{
	uint64_t id = c->id;
	int alive;

	MEMSCOPE_TASK_ENTER(id);
	if (events & EPOLLERR)
		alive = 0;
	else if (c->resp)
		alive = conn_write(w, c) && conn_serve(w, c);
	else
		alive = conn_read(w, c);
	if (!alive)
		conn_free(c);
	MEMSCOPE_TASK_EXIT(id);
	if (!alive)
		MEMSCOPE_TASK_END(id);
}

static void accept_all(struct worker *w)
{
	for (;;) {
		int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			conn_open(w, fd);
			continue;
		}
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			perror("mt_server: accept");
		if (errno != EINTR)
			return;
	}
}

/* The worker loop. epoll_wait wakes every 100 ms to look at `stopping`:
 * signals are taken by the main thread alone. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[64];

	while (!stopping) {
		int n = epoll_wait(w->ep, evs, 64, 100), i;

		if (n < 0 && errno != EINTR) {
			perror("mt_server: epoll_wait");
			break;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr)
				conn_event(w, evs[i].data.ptr, evs[i].events);
			else
				accept_all(w);
		}
	}
	return NULL;
}

/* Listen on 127.0.0.1:*port with SO_REUSEPORT; on port 0, *port becomes the
 * port the kernel picked. 0 or -1 (errno set). */
static int worker_listen(struct worker *w, unsigned *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)*port) };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	socklen_t len = sizeof(a);
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->ep < 0 || w->lfd < 0 ||
	    setsockopt(w->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(w->lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    bind(w->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(w->lfd, 512) ||
	    getsockname(w->lfd, (struct sockaddr *)&a, &len) ||
	    epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd, &ev))
		return -1;
	*port = ntohs(a.sin_port);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ 0 },
	};
	static struct worker ws[MAX_THREADS];
	unsigned nthreads = 2, port = 0, i;
	unsigned long long conns = 0, reqs = 0;
	double duration = 0, deadline;
	sigset_t set;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 't': nthreads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'p': port = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'd': duration = strtod(optarg, NULL); break;
		default: goto usage;
		}
	}
	if (optind != argc || port > 65535 || nthreads < 1 || nthreads > MAX_THREADS)
		goto usage;

	/* Workers inherit the blocked mask; the main thread waits for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (i = 0; i < nthreads; i++) {
		ws[i].idx = i;
		ws[i].nthreads = nthreads;
		if (worker_listen(&ws[i], &port)) {
			perror("mt_server: listen");
			return 1;
		}
	}
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&ws[i].th, NULL, worker_run, &ws[i])) {
			fprintf(stderr, "mt_server: cannot start thread %u\n", i);
			return 1;
		}
	}
	printf("listening on %u\n", port);
	fflush(stdout);

	deadline = duration > 0 ? now_s() + duration : 0;
	for (;;) {
		struct timespec ts = { .tv_sec = 1 };
		int sig;

		if (deadline) {
			double left = deadline - now_s();

			if (left <= 0)
				break;
			if (left < 1) {
				ts.tv_sec = 0;
				ts.tv_nsec = (long)(left * 1e9);
			}
		}
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM)
			break;
	}
	stopping = 1;
	for (i = 0; i < nthreads; i++) {
		pthread_join(ws[i].th, NULL);
		conns += ws[i].serial;
		reqs += ws[i].requests;
	}
	printf("mt_server: %u threads, %llu connections, %llu requests (per thread:", nthreads,
	       conns, reqs);
	for (i = 0; i < nthreads; i++)
		printf(" %llu", (unsigned long long)ws[i].requests);
	printf(") [%s build]\n", BUILD_NAME);
	return 0;

usage:
	fprintf(stderr, "usage: %s [--threads N] [--port P] [--duration S]\n", argv[0]);
	return 2;
}
