/* SPDX-License-Identifier: BSD-3-Clause */
/* json.c - see json.h. */
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include "util/json.h"

void ms_json_init(struct ms_json *j, FILE *f, int pretty)
{
	j->f = f;
	j->depth = 0;
	j->count[0] = 0;
	j->after_key = 0;
	j->pretty = pretty;
}

static void sep(struct ms_json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->count[j->depth]++)
		fputc(',', j->f);
	if (j->pretty && j->depth)
		fprintf(j->f, "\n%*s", j->depth * 2, "");
}

static void open_(struct ms_json *j, char c)
{
	sep(j);
	fputc(c, j->f);
	if (j->depth < MS_JSON_DEPTH - 1)
		j->depth++;
	j->count[j->depth] = 0;
}

static void close_(struct ms_json *j, char c)
{
	int had = j->count[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (j->pretty && had)
		fprintf(j->f, "\n%*s", j->depth * 2, "");
	fputc(c, j->f);
	if (j->depth == 0 && j->pretty)
		fputc('\n', j->f);
}

void ms_json_obj(struct ms_json *j) { open_(j, '{'); }
void ms_json_end_obj(struct ms_json *j) { close_(j, '}'); }
void ms_json_arr(struct ms_json *j) { open_(j, '['); }
void ms_json_end_arr(struct ms_json *j) { close_(j, ']'); }

/* Length of a well-formed UTF-8 sequence at s (RFC 3629 table 3-7: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0. */
int ms_utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	int n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void ms_json_escape(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		int n;

		switch (*s) {
		case '"': fputs("\\\"", f); s++; continue;
		case '\\': fputs("\\\\", f); s++; continue;
		case '\n': fputs("\\n", f); s++; continue;
		case '\r': fputs("\\r", f); s++; continue;
		case '\t': fputs("\\t", f); s++; continue;
		/* < > & escaped too, so the same text is safe inside <script>. */
		case '<': fputs("\\u003c", f); s++; continue;
		case '>': fputs("\\u003e", f); s++; continue;
		case '&': fputs("\\u0026", f); s++; continue;
		}
		if (*s < 0x20) {
			fprintf(f, "\\u%04x", *s);
			s++;
			continue;
		}
		n = ms_utf8_len(s);
		if (!n) {
			fputs("\\ufffd", f);
			s++;
			continue;
		}
		fwrite(s, 1, (size_t)n, f);
		s += n;
	}
}

void ms_json_key(struct ms_json *j, const char *k)
{
	sep(j);
	fputc('"', j->f);
	ms_json_escape(j->f, k);
	fputs(j->pretty ? "\": " : "\":", j->f);
	j->after_key = 1;
}

void ms_json_str(struct ms_json *j, const char *s)
{
	if (!s) {
		ms_json_null(j);
		return;
	}
	sep(j);
	fputc('"', j->f);
	ms_json_escape(j->f, s);
	fputc('"', j->f);
}

void ms_json_u64(struct ms_json *j, uint64_t v)
{
	sep(j);
	fprintf(j->f, "%" PRIu64, v);
}

void ms_json_i64(struct ms_json *j, int64_t v)
{
	sep(j);
	fprintf(j->f, "%" PRId64, v);
}

/* 15 significant digits: exact for whole numbers below 10^15 (estimated
 * bytes: "%.6g" wrote 8 MiB as 8388610), short for decimals (0.8). */
void ms_json_dbl(struct ms_json *j, double v)
{
	sep(j);
	if (isfinite(v))
		fprintf(j->f, "%.15g", v);
	else
		fputs("null", j->f);
}

void ms_json_hex(struct ms_json *j, uint64_t v)
{
	sep(j);
	fprintf(j->f, "\"0x%" PRIx64 "\"", v);
}

void ms_json_bool(struct ms_json *j, int v)
{
	sep(j);
	fputs(v ? "true" : "false", j->f);
}

void ms_json_null(struct ms_json *j)
{
	sep(j);
	fputs("null", j->f);
}

void ms_json_u64_or_null(struct ms_json *j, int known, uint64_t v)
{
	if (known)
		ms_json_u64(j, v);
	else
		ms_json_null(j);
}

const char *ms_utf8_clean(const char *s, char *buf, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0;

	while (*u && ms_utf8_len(u))
		u += ms_utf8_len(u);
	if (!*u)
		return s;
	for (u = (const unsigned char *)s; *u && n + 5 < len;) {
		int k = ms_utf8_len(u);

		if (k) {
			memcpy(buf + n, u, (size_t)k);
			n += (size_t)k;
			u += k;
		} else {
			buf[n++] = '?';
			u++;
		}
	}
	buf[n] = 0;
	return buf;
}
