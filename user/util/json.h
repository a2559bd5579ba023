/* SPDX-License-Identifier: BSD-3-Clause */
/* json.h - a streaming JSON writer: constant memory whatever the report
 * size, strings escaped per RFC 8259 (control characters, quotes,
 * backslashes; invalid UTF-8 bytes become U+FFFD). */
#ifndef MS_UTIL_JSON_H
#define MS_UTIL_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MS_JSON_DEPTH 32

struct ms_json {
	FILE *f;
	int depth;
	int count[MS_JSON_DEPTH]; /* values written at each level */
	int after_key;
	int pretty;
};

void ms_json_init(struct ms_json *j, FILE *f, int pretty);
void ms_json_obj(struct ms_json *j);   /* { */
void ms_json_end_obj(struct ms_json *j);
void ms_json_arr(struct ms_json *j);   /* [ */
void ms_json_end_arr(struct ms_json *j);
void ms_json_key(struct ms_json *j, const char *k);
void ms_json_str(struct ms_json *j, const char *s); /* NULL -> null */
void ms_json_u64(struct ms_json *j, uint64_t v);
void ms_json_i64(struct ms_json *j, int64_t v);
void ms_json_dbl(struct ms_json *j, double v);
void ms_json_hex(struct ms_json *j, uint64_t v);    /* "0x..." */
void ms_json_bool(struct ms_json *j, int v);
void ms_json_null(struct ms_json *j);
/* v, or null where it is not known (known == 0) */
void ms_json_u64_or_null(struct ms_json *j, int known, uint64_t v);
/* Write s as the body of a JSON string (no quotes); shared with the HTML
 * writer, which embeds JSON in a page. */
void ms_json_escape(FILE *f, const char *s);
/* Length of the well-formed UTF-8 sequence at s, 0 if there is none. */
int ms_utf8_len(const unsigned char *s);
/* s itself if it is valid UTF-8, else a copy in buf (len > 5) with every
 * byte that is not UTF-8 replaced by '?', cut to fit. */
const char *ms_utf8_clean(const char *s, char *buf, size_t len);

#endif
