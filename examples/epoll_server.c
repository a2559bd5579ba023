/* SPDX-License-Identifier: BSD-3-Clause */
/* epoll_server.c - a single-threaded epoll HTTP/1.1 keep-alive server on
 * 127.0.0.1 with one memscope task per connection.
 *
 *   epoll_server [--port P] [--max-conns N] [--duration S] [--leak-every K]
 *
 * --port 0 (the default) picks a free port. The server always prints
 * "listening on PORT" (flushed) and stops after N connections have closed,
 * after S seconds, or on SIGINT/SIGTERM; with neither N nor S it stops after
 * 10 s. Its last line is
 *   "epoll_server: C connections, R requests, L leaked blocks, 72-byte connections".
 * Load it with examples/http_client.c (deterministic) or wrk (keep-alive GET).
 *
 * Tasks: connection number i (1, 2, ... in accept order) is task i, named
 * "conn-i"; every callback for it runs between MEMSCOPE_TASK_ENTER(i) and
 * MEMSCOPE_TASK_EXIT(i), and MEMSCOPE_TASK_END(i) follows its close.
 * Memory per connection serving R requests (no --leak-every):
 *   struct conn           1 x 72 bytes, TRACK_VAR(c), freed at close
 *   request buffer        R x 4096 bytes, TRACK_VAR(req), freed once answered
 *   response buffer       R x 256 bytes, freed once sent
 *   => allocs = frees = 1 + 2R, alloc_bytes = freed_bytes = 72 + 4352 R,
 *      live_bytes = 0, peak_live_bytes = 4424 (R >= 1), variables = 1 + R,
 *      threads = [the server's only thread], parent = none.
 * e.g. http_client PORT 5 10 against --max-conns 5: five tasks conn-1..conn-5,
 * each allocs 21, alloc_bytes 43592, variables 11, live_bytes 0.
 * --leak-every K adds one never-freed 100-byte block, in the task of the
 * connection serving it, on every K-th request overall. K=5 with 5 x 10:
 * per connection allocs 23, alloc_bytes 43792, frees 21, live_bytes 200,
 * peak_live_bytes 4524 (the 5th request's leak plus a later request's buffers);
 * 10 leaks of 100 bytes, two per task. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "memscope.h"

#define REQ_CAP 4096  /* a request's header must fit in one buffer */
#define RESP_CAP 256
#define LEAK_SIZE 100
#define BODY "hello from memscope\n"

struct conn {
	int fd;
	uint32_t events;  /* what epoll is watching for: EPOLLIN or EPOLLOUT */
	uint64_t id;      /* task id */
	char *req;        /* request being read; NULL between requests */
	size_t req_len;
	char *resp;       /* response being sent; NULL when none */
	size_t resp_len, resp_off;
	struct conn *prev, *next;
};
/* The per-connection figures in the header comment depend on it. */
_Static_assert(sizeof(struct conn) == 72, "struct conn is 72 bytes on x86-64");

struct server {
	int ep, lfd;
	unsigned max_conns, leak_every;
	double duration;
	uint64_t serial, closed, requests, leaked;
	struct conn *conns;  /* open connections, closed at shutdown */
	char in[REQ_CAP];    /* read scratch, see conn_read() */
};

static volatile sig_atomic_t stopping;
/* Leaked blocks go here so the compiler cannot drop the malloc. */
static void *volatile leak_sink;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int conn_want(struct server *s, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (c->events == events)
		return 1;
	c->events = events;
	return epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

/* A new request buffer, holding the first n bytes of `data`. */
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
static int conn_write(struct server *s, struct conn *c)
{
	while (c->resp_off < c->resp_len) {
		ssize_t n = send(c->fd, c->resp + c->resp_off, c->resp_len - c->resp_off,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return conn_want(s, c, EPOLLOUT);
		if (n < 0)
			return 0;
		c->resp_off += (size_t)n;
	}
	free(c->resp);
	c->resp = NULL;
	return conn_want(s, c, EPOLLIN);
}

/* Answer every complete request in the buffer, one at a time: a response
 * must be sent before the next request is looked at. 0 if the connection
 * must close. */
static int conn_serve(struct server *s, struct conn *c)
{
	while (c->req && !c->resp) {
		char *end = memmem(c->req, c->req_len, "\r\n\r\n", 4);
		char *old = c->req;
		size_t used, old_len = c->req_len;
		int n;

		if (!end)
			return c->req_len < REQ_CAP; /* header too big: give up */
		used = (size_t)(end + 4 - c->req);
		c->resp = malloc(RESP_CAP);
		if (!c->resp)
			return 0;
		if (!memcmp(c->req, "GET ", 4))
			n = snprintf(c->resp, RESP_CAP,
				     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				     "Content-Length: %zu\r\n\r\n%s", strlen(BODY), BODY);
		else
			n = snprintf(c->resp, RESP_CAP,
				     "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\n"
				     "Content-Length: 0\r\n\r\n");
		c->resp_len = (size_t)n;
		c->resp_off = 0;
		/* A pipelined next request starts a buffer of its own, so every
		 * request costs exactly one request buffer. */
		c->req = NULL;
		c->req_len = 0;
		if (used < old_len && !req_new(c, old + used, old_len - used)) {
			free(old);
			return 0;
		}
		free(old);
		s->requests++;
		if (s->leak_every && s->requests % s->leak_every == 0) {
			leak_sink = malloc(LEAK_SIZE);
			if (leak_sink) {
				memset(leak_sink, 0x5a, LEAK_SIZE);
				s->leaked++;
			}
		}
		if (!conn_write(s, c))
			return 0;
	}
	return 1;
}

/* Read into scratch and copy: a read that only reports EOF must not cost a
 * request buffer, or every connection would show one extra allocation. */
static int conn_read(struct server *s, struct conn *c)
{
	ssize_t n = read(c->fd, s->in, REQ_CAP - c->req_len);

	if (n == 0)
		return 0;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (!c->req)
		return req_new(c, s->in, (size_t)n) && conn_serve(s, c);
	memcpy(c->req + c->req_len, s->in, (size_t)n);
	c->req_len += (size_t)n;
	return conn_serve(s, c);
}

/* Free everything the connection owns; the caller is inside its task. */
static void conn_free(struct server *s, struct conn *c)
{
	free(c->req);
	free(c->resp);
	close(c->fd); /* also removes it from the epoll set */
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

static void conn_close(struct server *s, struct conn *c)
{
	uint64_t id = c->id;

	MEMSCOPE_TASK_ENTER(id);
	conn_free(s, c);
	MEMSCOPE_TASK_EXIT(id);
	MEMSCOPE_TASK_END(id);
	s->closed++;
}

static void conn_open(struct server *s, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t id = ++s->serial;
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
	if (!c || epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev)) {
		perror("epoll_server: new connection");
		free(c);
		close(fd);
		MEMSCOPE_TASK_EXIT(id);
		MEMSCOPE_TASK_END(id);
		s->closed++;
		return;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	MEMSCOPE_TASK_EXIT(id);
}

static void conn_event(struct server *s, struct conn *c, uint32_t events)
{
	uint64_t id = c->id;
	int alive;

	MEMSCOPE_TASK_ENTER(id);
	if (events & EPOLLERR)
		alive = 0;
	else if (c->resp)
		alive = conn_write(s, c) && conn_serve(s, c);
	else
		alive = conn_read(s, c);
	if (!alive)
		conn_free(s, c);
	MEMSCOPE_TASK_EXIT(id);
	if (!alive) {
		MEMSCOPE_TASK_END(id);
		s->closed++;
	}
}

static void accept_all(struct server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			conn_open(s, fd);
			continue;
		}
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			perror("epoll_server: accept");
		if (errno != EINTR)
			return;
	}
}

static int listen_on(struct server *s, unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	socklen_t len = sizeof(a);
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(s->lfd, 128) ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &len) ||
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev))
		return -1;
	printf("listening on %u\n", ntohs(a.sin_port));
	fflush(stdout);
	return 0;
}

static int parse_args(struct server *s, unsigned *port, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "max-conns", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "leak-every", required_argument, NULL, 'k' },
		{ 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p': *port = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': s->max_conns = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'd': s->duration = strtod(optarg, NULL); break;
		case 'k': s->leak_every = (unsigned)strtoul(optarg, NULL, 10); break;
		default: return -1;
		}
	}
	if (optind != argc || *port > 65535)
		return -1;
	if (!s->max_conns && !(s->duration > 0))
		s->duration = 10;
	return 0;
}

int main(int argc, char **argv)
{
	static struct server srv; /* static: the read scratch is large */
	struct server *s = &srv;
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: wake epoll_wait */
	struct epoll_event evs[64];
	double deadline = 0;
	unsigned port = 0;

	if (parse_args(s, &port, argc, argv)) {
		fprintf(stderr, "usage: %s [--port P] [--max-conns N] [--duration S] [--leak-every K]\n",
			argv[0]);
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0 || listen_on(s, port)) {
		perror("epoll_server: listen");
		return 1;
	}
	if (s->duration > 0)
		deadline = now_s() + s->duration;
	while (!stopping && !(s->max_conns && s->closed >= s->max_conns)) {
		int timeout = -1, n, i;

		if (deadline) {
			double left = deadline - now_s();

			if (left <= 0)
				break;
			timeout = (int)(left * 1000) + 1;
		}
		n = epoll_wait(s->ep, evs, 64, timeout);
		if (n < 0 && errno != EINTR) {
			perror("epoll_server: epoll_wait");
			break;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr)
				conn_event(s, evs[i].data.ptr, evs[i].events);
			else
				accept_all(s);
		}
	}
	while (s->conns)
		conn_close(s, s->conns);
	close(s->lfd);
	close(s->ep);
	printf("epoll_server: %llu connections, %llu requests, %llu leaked blocks, %zu-byte connections\n",
	       (unsigned long long)s->serial, (unsigned long long)s->requests,
	       (unsigned long long)s->leaked, sizeof(struct conn));
	return 0;
}
