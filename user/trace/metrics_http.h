/* SPDX-License-Identifier: BSD-3-Clause */
/* metrics_http.h - the Prometheus endpoint (--metrics ADDR:PORT), served by
 * libmicrohttpd on threads of its own so that tracing never waits on a
 * client.
 *
 * The registry is not thread-safe, so the HTTP threads never read it. A
 * scrape raises a flag and waits (at most 1 s) for fresh text; the poll
 * loop sees the flag between drains, renders the text itself and hands it
 * over with a lock it only ever *tries* to take. A poll loop busy for longer
 * leaves the scrape with the previous text (503 before there is any).
 *
 * Requests: GET /metrics only (405 for other methods, 404 for other paths,
 * 413 for a request with a body); at most 16 KiB of request, 5 s without
 * progress, 8 connections (4 per client address). */
#ifndef MS_TRACE_METRICS_HTTP_H
#define MS_TRACE_METRICS_HTTP_H

#include <stddef.h>

struct ms_http;

/* Bind "ADDR:PORT" ("127.0.0.1:9464", "[::1]:9464", "localhost:9464") and
 * listen, before anything is attached. Returns the socket, or -errno with
 * the reason in why (e.g. "Address already in use"). */
int ms_http_listen(const char *addr_port, char *why, size_t len);

/* Serve on socket fd (taken over, also on failure). NULL with errno set. */
struct ms_http *ms_http_start(int fd);

/* 1 if a scrape waits for fresh text. Lock-free. */
int ms_http_wanted(struct ms_http *h);

/* Hand over text (malloc'ed, len bytes) for the scrapes to serve. Never
 * blocks: 0 if taken (h owns it now), -EBUSY if a scrape held the lock
 * (the caller still owns text and may try again). */
int ms_http_publish(struct ms_http *h, char *text, size_t len);

/* Answer waiting scrapes, stop the threads, close the socket. NULL-safe. */
void ms_http_stop(struct ms_http *h);

#endif
