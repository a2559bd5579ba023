/* SPDX-License-Identifier: BSD-3-Clause */
/* metrics_http.c - see metrics_http.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "trace/metrics_http.h"

#define PATH "/metrics"
#define WAIT_MS 1000
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct ms_http {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;
	pthread_cond_t fresh;
	char *text;         /* the latest rendering, or NULL */
	size_t len;
	unsigned long gen;  /* renderings published so far */
	atomic_int wanted;  /* a scrape waits */
	int closing;
};

int ms_http_listen(const char *addr_port, char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *res = NULL;
	const char *colon = strrchr(addr_port, ':');
	char host[256];
	size_t hl = colon ? (size_t)(colon - addr_port) : 0;
	int fd, err, one = 1;

	if (!colon || !hl || hl >= sizeof(host)) {
		snprintf(why, len, "expected ADDR:PORT");
		return -EINVAL;
	}
	memcpy(host, addr_port, hl);
	host[hl] = 0;
	if (host[0] == '[' && host[hl - 1] == ']') { /* [v6]:port */
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = 0;
	}
	err = getaddrinfo(host, colon + 1, &hints, &res);
	if (err) {
		snprintf(why, len, "%s", gai_strerror(err));
		return -EADDRNOTAVAIL;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 16)) {
		err = -errno;
		snprintf(why, len, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = err;
	}
	freeaddrinfo(res);
	return fd;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *body,
			     size_t len, int copy, const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, (void *)body, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				status == MHD_HTTP_OK ? CONTENT_TYPE : "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

#define REPLY(conn, status, msg) reply(conn, status, msg, sizeof(msg) - 1, 1, NULL)

/* Fresh text for a scrape: ask the poll loop and wait for its next
 * rendering, at most WAIT_MS; a copy of the latest one (NULL if none). */
static char *latest(struct ms_http *h, size_t *len)
{
	struct timespec until;
	unsigned long gen;
	char *copy = NULL;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += WAIT_MS % 1000 * 1000000L;
	until.tv_sec += WAIT_MS / 1000 + until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&h->lock);
	gen = h->gen;
	atomic_store(&h->wanted, 1);
	while (h->gen == gen && !h->closing)
		if (pthread_cond_timedwait(&h->fresh, &h->lock, &until) == ETIMEDOUT)
			break;
	if (h->text && (copy = malloc(h->len ? h->len : 1))) {
		memcpy(copy, h->text, h->len);
		*len = h->len;
	}
	pthread_mutex_unlock(&h->lock);
	return copy;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	struct ms_http *h = cls;
	const char *clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_TRANSFER_ENCODING);
	size_t len = 0;
	char *text;

	(void)version, (void)upload, (void)state;
	if (strcmp(method, MHD_HTTP_METHOD_GET))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n", 9, 1, "GET");
	if (strcmp(url, PATH))
		return REPLY(conn, MHD_HTTP_NOT_FOUND, "not found: the metrics are at " PATH "\n");
	if ((clen && strcmp(clen, "0")) || te || *upload_size)
		return REPLY(conn, MHD_HTTP_CONTENT_TOO_LARGE, "a GET has no body\n");
	text = latest(h, &len);
	if (!text)
		return REPLY(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "no metrics yet\n");
	return reply(conn, MHD_HTTP_OK, text, len, 0, NULL);
}

struct ms_http *ms_http_start(int fd)
{
	struct ms_http *h = calloc(1, sizeof(*h));
	sigset_t block, old;

	if (!h) {
		close(fd);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->fresh, NULL);
	/* the tracer's signals belong to its poll loop, not to these threads */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
				MHD_USE_POLL | MHD_USE_ITC,
				0, NULL, NULL, handle, h,
				MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)8,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)4,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)5,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
				MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!h->d) {
		close(fd);
		pthread_cond_destroy(&h->fresh);
		pthread_mutex_destroy(&h->lock);
		free(h);
		errno = EIO;
		return NULL;
	}
	return h;
}

int ms_http_wanted(struct ms_http *h)
{
	return atomic_load(&h->wanted);
}

int ms_http_publish(struct ms_http *h, char *text, size_t len)
{
	char *old;

	if (pthread_mutex_trylock(&h->lock))
		return -EBUSY;
	old = h->text;
	h->text = text;
	h->len = len;
	h->gen++;
	atomic_store(&h->wanted, 0);
	pthread_cond_broadcast(&h->fresh);
	pthread_mutex_unlock(&h->lock);
	free(old);
	return 0;
}

void ms_http_stop(struct ms_http *h)
{
	int fd;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->closing = 1;
	pthread_cond_broadcast(&h->fresh);
	pthread_mutex_unlock(&h->lock);
	fd = (int)MHD_quiesce_daemon(h->d);
	MHD_stop_daemon(h->d);
	if (fd >= 0)
		close(fd);
	pthread_cond_destroy(&h->fresh);
	pthread_mutex_destroy(&h->lock);
	free(h->text);
	free(h);
}
