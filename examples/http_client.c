/* SPDX-License-Identifier: BSD-3-Clause */
/* http_client.c - a bounded HTTP/1.1 load generator for the example servers
 * (epoll_server, libuv_server): the deterministic counterpart of wrk.
 *
 *   http_client PORT CONNS REQS_PER_CONN
 *
 * Opens CONNS keep-alive connections to 127.0.0.1:PORT one after another
 * (never two at once, so the server numbers them in order) and on each sends
 * REQS_PER_CONN "GET /" requests, each only after the previous response has
 * arrived whole; checks every response is a 200 with the announced body.
 * Prints "ok CONNS*REQS_PER_CONN" and exits 0, or says what went wrong and
 * exits 1. It does not use memscope and allocates nothing itself. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char request[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

static int fail(const char *what)
{
	fprintf(stderr, "http_client: %s: %s\n", what, errno ? strerror(errno) : "bad response");
	return -1;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return fail("send");
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Read one response and check it. The server never sends more than asked
 * for, so anything beyond this response is an error too. */
static int read_response(int fd)
{
	char buf[4096], *end, *cl;
	size_t len = 0, want = 0, body;

	for (;;) {
		ssize_t k = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (!k)
				errno = 0;
			return fail(k ? "recv" : "connection closed early");
		}
		len += (size_t)k;
		buf[len] = 0;
		end = strstr(buf, "\r\n\r\n");
		if (end && !want) {
			errno = 0;
			cl = strcasestr(buf, "\r\nContent-Length:");
			if (strncmp(buf, "HTTP/1.1 200 ", 13) || !cl || cl > end)
				return fail("response");
			body = strtoul(cl + 17, NULL, 10);
			want = (size_t)(end + 4 - buf) + body;
			if (!body || want >= sizeof(buf))
				return fail("response size");
		}
		if (want && len >= want) {
			errno = 0;
			return len == want ? 0 : fail("extra bytes after response");
		}
		if (len == sizeof(buf) - 1) {
			errno = 0;
			return fail("response too large");
		}
	}
}

static int one_connection(unsigned port, long reqs)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 5 }; /* never hang a test run */
	int fd, one = 1, rc = 0;
	long i;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket");
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		rc = fail("connect");
	for (i = 0; !rc && i < reqs; i++)
		rc = send_all(fd, request, sizeof(request) - 1) ? -1 : read_response(fd);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	long port, conns, reqs, c;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PORT CONNS REQS_PER_CONN\n", argv[0]);
		return 2;
	}
	port = strtol(argv[1], NULL, 10);
	conns = strtol(argv[2], NULL, 10);
	reqs = strtol(argv[3], NULL, 10);
	if (port <= 0 || port > 65535 || conns < 0 || reqs < 0) {
		fprintf(stderr, "http_client: bad arguments\n");
		return 2;
	}
	for (c = 0; c < conns; c++)
		if (one_connection((unsigned)port, reqs))
			return 1;
	printf("ok %ld\n", conns * reqs);
	return 0;
}
