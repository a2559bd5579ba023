/* SPDX-License-Identifier: BSD-3-Clause */
/* libuv_server.c - epoll_server.c on libuv: an HTTP/1.1 keep-alive server
 * on 127.0.0.1, one thread, one memscope task per connection.
 *
 *   libuv_server [--port P] [--max-conns N] [--duration S] [--leak-every K]
 *
 * Same options, output and stop rules as epoll_server: "listening on PORT"
 * first, and last
 *   "libuv_server: C connections, R requests, L leaked blocks, B-byte connections".
 * B is sizeof(struct conn), which embeds libuv's handle and write request and
 * so depends on the libuv version (496 with Debian 12's libuv 1.44).
 *
 * Tasks: connection number i (1, 2, ... in accept order) is task i, named
 * "conn-i"; every libuv callback for it (accept, alloc, read, write, close)
 * runs between MEMSCOPE_TASK_ENTER(i) and MEMSCOPE_TASK_EXIT(i), and
 * MEMSCOPE_TASK_END(i) follows its close callback.
 * Memory per connection serving R requests (no --leak-every):
 *   struct conn           1 x B bytes, TRACK_VAR(c), freed in the close callback
 *   request buffer        R x 4096 bytes, TRACK_VAR(req), freed once answered
 *   response buffer       R x 256 bytes, freed by the write callback
 *   => allocs = frees = 1 + 2R, alloc_bytes = freed_bytes = B + 4352 R,
 *      live_bytes = 0, peak_live_bytes = B + 4352 (R >= 1), variables = 1 + R,
 *      threads = [the server's only thread], parent = none.
 * e.g. http_client PORT 5 10 against --max-conns 5 (B = 496): five tasks
 * conn-1..conn-5, each allocs 21, alloc_bytes 44016, variables 11.
 * libuv's own allocations (its fd watcher table grows when a connection gets
 * a higher fd than any before) are made outside every task, see leave_task().
 * --leak-every K adds one never-freed 100-byte block, in the task of the
 * connection serving it, on every K-th request overall. K=5 with 5 x 10:
 * per connection allocs 23, alloc_bytes B + 43720, frees 21, live_bytes 200,
 * peak_live_bytes B + 4452; 10 leaks of 100 bytes, two per task. */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "memscope.h"

#define REQ_CAP 4096  /* a request's header must fit in one buffer */
#define RESP_CAP 256
#define LEAK_SIZE 100
#define BODY "hello from memscope\n"

struct server;

struct conn {
	uv_tcp_t tcp;     /* tcp.data points back here */
	uv_write_t wr;
	struct server *s;
	uint64_t id;      /* task id */
	char *req;        /* request being read; NULL between requests */
	size_t req_len;
	char *resp;       /* response being sent; NULL when none */
	struct conn *prev, *next;
};

struct server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_timer_t timer;
	uv_signal_t sigint, sigterm;
	unsigned max_conns, leak_every;
	double duration;
	int stopping;
	uint64_t serial, closed, requests, leaked;
	struct conn *conns;  /* open connections, closed at shutdown */
	char in[REQ_CAP];    /* read scratch, see on_alloc() */
};

/* Leaked blocks go here so the compiler cannot drop the malloc. */
static void *volatile leak_sink;
/* The connection task running on the loop thread now, 0 between callbacks. */
static uint64_t running;

static void task_enter(uint64_t id)
{
	MEMSCOPE_TASK_ENTER(id);
	running = id;
}

static void task_exit(uint64_t id)
{
	running = 0;
	MEMSCOPE_TASK_EXIT(id);
}

/* libuv's allocator. Its bookkeeping is the loop's memory, not that of the
 * connection whose callback happens to grow it (uv_read_start() enlarges the
 * fd watcher table for a new highest fd), so step out of the task around it. */
static uint64_t leave_task(void)
{
	uint64_t id = running;

	if (id)
		MEMSCOPE_TASK_EXIT(id);
	return id;
}

static void *back_to_task(uint64_t id, void *p)
{
	if (id)
		MEMSCOPE_TASK_ENTER(id);
	return p;
}

static void *loop_malloc(size_t n)
{
	uint64_t id = leave_task();

	return back_to_task(id, malloc(n));
}

static void *loop_realloc(void *p, size_t n)
{
	uint64_t id = leave_task();

	return back_to_task(id, realloc(p, n));
}

static void *loop_calloc(size_t k, size_t n)
{
	uint64_t id = leave_task();

	return back_to_task(id, calloc(k, n));
}

static void server_stop(struct server *s);

static void on_close(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct server *s = c->s;
	uint64_t id = c->id;

	task_enter(id);
	free(c->req);
	free(c->resp);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
	task_exit(id);
	MEMSCOPE_TASK_END(id);
	s->closed++;
	if (s->max_conns && s->closed >= s->max_conns)
		server_stop(s);
}

static void conn_close(struct conn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, on_close);
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

static void on_write(uv_write_t *wr, int status);

/* Answer the oldest complete request in the buffer, if any: reading stops
 * until its response is written (on_write() comes back here). */
static void conn_serve(struct conn *c)
{
	struct server *s = c->s;
	char *end, *old = c->req;
	size_t used, old_len = c->req_len;
	uv_buf_t b;
	int n;

	if (!old || c->resp || uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	end = memmem(old, old_len, "\r\n\r\n", 4);
	if (!end) {
		if (old_len == REQ_CAP) /* header too big: give up */
			conn_close(c);
		return;
	}
	used = (size_t)(end + 4 - old);
	c->resp = malloc(RESP_CAP);
	if (!c->resp) {
		conn_close(c);
		return;
	}
	if (!memcmp(old, "GET ", 4))
		n = snprintf(c->resp, RESP_CAP,
			     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			     "Content-Length: %zu\r\n\r\n%s", strlen(BODY), BODY);
	else
		n = snprintf(c->resp, RESP_CAP,
			     "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\n"
			     "Content-Length: 0\r\n\r\n");
	/* A pipelined next request starts a buffer of its own, so every
	 * request costs exactly one request buffer. */
	c->req = NULL;
	c->req_len = 0;
	if (used < old_len && !req_new(c, old + used, old_len - used)) {
		free(old);
		conn_close(c);
		return;
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
	uv_read_stop((uv_stream_t *)&c->tcp);
	b = uv_buf_init(c->resp, (unsigned)n);
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_write))
		conn_close(c); /* on_close frees the response */
}

/* libuv asks for a buffer before every read. Hand it the scratch, not a
 * request buffer: a read that only reports EOF must not cost a request
 * buffer, or every connection would show one extra allocation. */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;

	(void)suggested;
	task_enter(c->id);
	*buf = uv_buf_init(c->s->in, (unsigned)(REQ_CAP - c->req_len));
	task_exit(c->id);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = st->data;
	uint64_t id = c->id;

	task_enter(id);
	if (n < 0) {
		conn_close(c); /* EOF or error */
	} else if (n > 0) {
		if (!c->req) {
			if (!req_new(c, buf->base, (size_t)n))
				conn_close(c);
		} else {
			memcpy(c->req + c->req_len, buf->base, (size_t)n);
			c->req_len += (size_t)n;
		}
		conn_serve(c);
	}
	task_exit(id);
}

static void on_write(uv_write_t *wr, int status)
{
	struct conn *c = wr->data;
	uint64_t id = c->id;

	task_enter(id);
	free(c->resp);
	c->resp = NULL;
	if (status < 0) {
		conn_close(c);
	} else {
		conn_serve(c); /* a pipelined request may be waiting */
		if (!c->resp && !uv_is_closing((uv_handle_t *)&c->tcp) &&
		    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read))
			conn_close(c);
	}
	task_exit(id);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct server *s = listener->data;
	uint64_t id;
	struct conn *c;

	if (status < 0 || s->stopping)
		return;
	id = ++s->serial;
	if (MEMSCOPE_ENABLED()) { /* skip the formatting while untraced */
		char name[32];

		snprintf(name, sizeof(name), "conn-%llu", (unsigned long long)id);
		MEMSCOPE_TASK_NAME(id, name);
	}
	task_enter(id);
	c = calloc(1, sizeof(*c));
	if (!c) {
		task_exit(id);
		MEMSCOPE_TASK_END(id);
		return;
	}
	TRACK_VAR(c);
	c->s = s;
	c->id = id;
	c->tcp.data = c;
	c->wr.data = c;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	uv_tcp_init(s->loop, &c->tcp);
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) ||
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read))
		conn_close(c);
	task_exit(id);
}

/* Close everything; uv_run() returns once the last close callback ran. */
static void server_stop(struct server *s)
{
	struct conn *c;

	if (s->stopping)
		return;
	s->stopping = 1;
	uv_close((uv_handle_t *)&s->listener, NULL);
	uv_close((uv_handle_t *)&s->timer, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	for (c = s->conns; c; c = c->next)
		conn_close(c);
}

static void on_timer(uv_timer_t *t)
{
	server_stop(t->data);
}

static void on_signal(uv_signal_t *sig, int signum)
{
	(void)signum;
	server_stop(sig->data);
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

static int listen_on(struct server *s, unsigned port)
{
	struct sockaddr_in a;
	int len = sizeof(a), err;

	uv_ip4_addr("127.0.0.1", (int)port, &a);
	if ((err = uv_tcp_init(s->loop, &s->listener)) ||
	    (err = uv_tcp_bind(&s->listener, (struct sockaddr *)&a, 0)) ||
	    (err = uv_listen((uv_stream_t *)&s->listener, 128, on_connection)) ||
	    (err = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&a, &len))) {
		fprintf(stderr, "libuv_server: listen: %s\n", uv_strerror(err));
		return -1;
	}
	s->listener.data = s;
	printf("listening on %u\n", ntohs(a.sin_port));
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static struct server srv; /* static: the read scratch is large */
	struct server *s = &srv;
	unsigned port = 0;

	if (parse_args(s, &port, argc, argv)) {
		fprintf(stderr, "usage: %s [--port P] [--max-conns N] [--duration S] [--leak-every K]\n",
			argv[0]);
		return 2;
	}
	/* Before any other libuv call, as libuv requires. */
	uv_replace_allocator(loop_malloc, loop_realloc, loop_calloc, free);
	s->loop = uv_default_loop();
	if (listen_on(s, port))
		return 1;
	uv_timer_init(s->loop, &s->timer);
	uv_signal_init(s->loop, &s->sigint);
	uv_signal_init(s->loop, &s->sigterm);
	s->timer.data = s->sigint.data = s->sigterm.data = s;
	if (s->duration > 0)
		uv_timer_start(&s->timer, on_timer, (uint64_t)(s->duration * 1000), 0);
	uv_signal_start(&s->sigint, on_signal, SIGINT);
	uv_signal_start(&s->sigterm, on_signal, SIGTERM);
	uv_run(s->loop, UV_RUN_DEFAULT);
	uv_loop_close(s->loop);
	printf("libuv_server: %llu connections, %llu requests, %llu leaked blocks, %zu-byte connections\n",
	       (unsigned long long)s->serial, (unsigned long long)s->requests,
	       (unsigned long long)s->leaked, sizeof(struct conn));
	return 0;
}
