/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz_registry.c - libFuzzer harness: arbitrary ring-buffer record streams
 * into the registry (user/registry*.c), then every report writer over the
 * result, under ASan/UBSan. Built by `make fuzz` (see the Makefile rule);
 * replayed by tests/fuzz/run_corpus.sh; seeds from tests/fuzz/gen_corpus.py.
 *
 * Input format. Every read past the end of the input yields zero bytes, so
 * any input is valid and truncation only shortens the stream.
 *
 *   8 config bytes: registry options (LLVMFuzzerTestOneInput: cfg[0] bits
 *   0-2, cfg[1] temp_ns, cfg[2] >> 4 keep) and the report context
 *   (report_ctx())
 *   then operations, one op byte each followed by its operands:
 *     op & 0x1f  what:
 *        0       raw record: u16 length, then that many input bytes, fed
 *                to ms_registry_consume as they are (any type, any size,
 *                unaligned, ending exactly at the end of the input)
 *        1..18   a structured record of that enum ms_event_type (18 is
 *                MS_EV_LIVE); fields drawn from small pools (see the
 *                pool readers) so that addresses, ids and string pointers
 *                of different records meet
 *        19      ms_registry_add_stack
 *        20      a fast-mode snapshot: live_begin, u8 % 64 MS_EV_LIVE
 *                records, live_end (left out when op & 0x80)
 *        21      ms_registry_set_site
 *        22, 23  a lone live_begin / live_end (unbalanced calls)
 *        24      run every report writer now (mid-stream; twice at most)
 *        25..29  ALLOC, FREE, REALLOC, SCOPE_ENTER, SCOPE_EXIT, and
 *        31      STRING: the common records again, to weight them
 *        30      another registry call: u8 % 4 selects forget_pid_strings,
 *                ms_registry_snapshot (labelled or not), add_stack,
 *                ms_registry_fold_now (or, when the operand has 0x40, a
 *                leak check's classes and outcome: leak_check())
 *     op >> 5    variant, for structured records:
 *        & 3     record length: 0, 1 exact; 2 short; 3 long (extra input
 *                bytes after the record)
 *        & 4     header: 40 raw input bytes (type kept) instead of pools
 *
 * Callbacks: read_mem answers from the input stream (error, 0 bytes, or up
 * to len input bytes); internal_caller and the report's resolve are pure
 * functions of their arguments, resolve naming frames with hostile strings.
 *
 * Oracles besides ASan/UBSan (abort() with a message on failure):
 *   json      the JSON and timeline writers' output parses as strict RFC
 *             8259 JSON, UTF-8 valid per RFC 3629 (no overlongs,
 *             surrogates or code points above U+10FFFF)
 *   folded    every folded line is "frames BYTES", no control characters,
 *             valid UTF-8
 *   html      the marker "<fuzz-marker" (put into target strings by the
 *             seeds and into frame names by resolve) never appears raw,
 *             and the page's JSON data island passes the json check
 *   registry  the live set agrees with the summary, the sites and a
 *             model the harness replays from the same records; blocks and
 *             their variables point at each other; ids named by variables
 *             and scopes resolve (unless folded); aggregates add up to the
 *             folded counts; growth results obey their own rule; every
 *             string offset is readable
 * MS_FUZZ_SKIP=json,utf8,folded,html,registry,ids (comma-separated) turns
 * oracles off, e.g. to keep fuzzing past a known, reported bug (utf8
 * keeps the JSON syntax check but accepts any UTF-8-looking bytes; ids
 * only the check that variable ids increase).
 * MS_FUZZ_DUMP=1 prints every writer's output to stdout (run the binary on
 * one file to see what a seed builds). MS_FUZZ_HOSTILE_UTF8=1 lets resolve
 * also name frames with surrogates, overlong forms and code points above
 * U+10FFFF, as a symbol table may.
 *
 * Adding a report writer: add a line to writers[] below (an adapter when it
 * takes more than (FILE *, ctx)); declare it `#pragma weak` if it may not be
 * linked yet. run_corpus.sh warns about ms_report_* writers declared in
 * user/ headers that are missing here.
 */
#define _GNU_SOURCE /* memmem, open_memstream */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memscope_events.h"
#include "registry/reach.h"
#include "registry/registry.h"
#include "report/report.h"
#include "util/vec.h"
#if __has_include("report_out.h")
#include "report/report_out.h"
#define HAVE_REPORT_OUT 1
/* Weak: a writer declared before its .c file lands still links (its
 * address is then NULL and it is skipped). */
#pragma weak ms_report_html
#pragma weak ms_report_folded
#pragma weak ms_report_timeline
#endif
#if __has_include("report_live.h")
#include "report/report_live.h"
#define HAVE_REPORT_LIVE 1
#pragma weak ms_report_live
#pragma weak ms_report_status
#endif

/* The oracles are not the code under test: uninstrumented, they neither
 * feed libFuzzer features nor cost trace-cmp callbacks per output byte. */
#define NO_COV __attribute__((no_sanitize("coverage")))

#define MAX_RECORDS 2000 /* records (and other operations) per input */
#define MAX_MID_REPORTS 2
#define MAX_STACK_IPS 383

/* ---- input stream -------------------------------------------------------- */

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static uint16_t u16(struct in *f)
{
	uint16_t v = u8(f);

	return (uint16_t)(v | (uint16_t)u8(f) << 8);
}

static uint32_t u32(struct in *f)
{
	uint32_t v = u16(f);

	return v | (uint32_t)u16(f) << 16;
}

static uint64_t u64(struct in *f)
{
	uint64_t v = u32(f);

	return v | (uint64_t)u32(f) << 32;
}

/* Copy up to want input bytes to dst; the rest of dst[0..want) is zeroed. */
static size_t take(struct in *f, void *dst, size_t want)
{
	size_t k = want < f->n ? want : f->n;

	memcpy(dst, f->p, k);
	memset((char *)dst + k, 0, want - k);
	f->p += k;
	f->n -= k;
	return k;
}

/* ---- per-input state ----------------------------------------------------- */

/* The harness's own model of the live set: (pid, addr) -> size, replayed
 * from the same accepted records with the simplest possible code, and
 * compared with the registry's blocks (catches a block index that loses or
 * duplicates entries, which the summary counters alone would not). */
struct mblock {
	uint32_t pid;
	uint64_t addr, size;
};

struct model {
	struct mblock *v;
	size_t n, cap;
};

struct state {
	struct in in;
	struct model model;
	struct ms_registry *reg;
	uint64_t now;       /* stream clock, ns */
	uint64_t fresh_id;  /* next never-used scope/task id */
	uint64_t fresh_addr;
	unsigned records;
	unsigned mid_reports;
};

/* Pools: mostly small sets of values, so that records meet; 0xf0.. raw. */
#define ADDR_BASE 0x7f0000001000ull
#define STR_BASE 0x400000ull
#define IP_BASE 0x401000ull

static uint64_t p_addr(struct state *s)
{
	uint8_t b = u8(&s->in);

	if (!b)
		return 0;
	if (b < 0x80)
		return ADDR_BASE + (uint64_t)b * 0x100;
	if (b < 0xef)
		return ADDR_BASE + (uint64_t)(b & 0x7f) * 0x100 + 0x18; /* interior */
	if (b == 0xef)
		return s->fresh_addr += 0x40;
	return u64(&s->in);
}

static uint64_t p_id(struct state *s)
{
	uint8_t b = u8(&s->in);

	if (b < 0xef)
		return b & 0x3f; /* 0 = none */
	if (b == 0xef)
		return ++s->fresh_id;
	return u64(&s->in);
}

static uint64_t p_size(struct state *s)
{
	uint8_t b = u8(&s->in);

	if (b < 0x80)
		return b;
	if (b < 0xc0)
		return (uint64_t)(b - 0x80 + 1) * 0x100;
	if (b < 0xf0)
		return 1ull << (b - 0xc0 + 14);
	return u64(&s->in);
}

static uint64_t p_str(struct state *s)
{
	uint8_t b = u8(&s->in);

	if (b < 0xf0)
		return b ? STR_BASE + (uint64_t)b * 0x40 : 0;
	return u64(&s->in);
}

static uint64_t p_ip(struct state *s)
{
	uint8_t b = u8(&s->in);

	if (b < 0xf0)
		return b ? IP_BASE + (uint64_t)b * 0x10 : 0;
	return u64(&s->in);
}

static int32_t p_stack(struct state *s)
{
	uint8_t b = u8(&s->in);

	if (b < 0xf0)
		return (int32_t)(b % 16) - 1; /* -1 = none */
	return (int32_t)u32(&s->in);
}

static uint32_t p_pid(struct state *s, uint8_t who)
{
	static const uint32_t pids[] = { 100, 100, 101 };

	return (who & 3) < 3 ? pids[who & 3] : u32(&s->in);
}

static uint32_t p_tid(struct state *s, uint8_t who)
{
	unsigned t = (who >> 2) & 7;

	return t < 7 ? 100 + t : u32(&s->in);
}

static uint64_t p_ts(struct state *s)
{
	uint8_t b = u8(&s->in);

	if (!b)
		return 0;
	if (b == 0xff)
		return u64(&s->in);
	if (b == 0xfe)
		return s->now - u16(&s->in); /* out of order */
	s->now += (uint64_t)b * b * 50;  /* 50 ns .. 3.2 ms */
	return s->now;
}

/* Text of `cap` bytes: u8 length (0xff: u32 length), min(len, cap) bytes. */
static uint32_t p_text(struct state *s, char *text, size_t cap)
{
	uint8_t b = u8(&s->in);
	uint32_t len = b == 0xff ? u32(&s->in) : b;

	take(&s->in, text, len < cap ? len : cap);
	return len;
}

/* ---- callbacks ----------------------------------------------------------- */

/* Reads "target memory" from the input: an error, nothing, or bytes. */
static ssize_t read_mem(void *user, uint32_t pid, uint64_t addr, void *buf, size_t len)
{
	struct state *s = user;
	uint8_t m = u8(&s->in);
	size_t n;

	(void)pid;
	(void)addr;
	switch (m & 3) {
	case 0:
		return m & 4 ? -EFAULT : -ESRCH;
	case 1:
		return 0;
	default:
		n = m & 0x80 ? len : u8(&s->in);
		if (n > len)
			n = len;
		take(&s->in, buf, n);
		return (ssize_t)n;
	}
}

static int internal_caller(void *user, uint32_t pid, uint64_t caller, int freed_before)
{
	(void)user;
	(void)pid;
	if ((caller >> 4 & 3) == 3 && !(freed_before && (caller >> 8 & 1)))
		return 1;
	return (caller >> 6 & 3) == 3 ? -1 : 0; /* "cannot tell yet" */
}

/* Frame names as hostile as symbol tables can be: markup, quotes, control
 * characters, invalid and over-long UTF-8, empty, NULL. */
static const char *const nasty[] = {
	NULL,
	"main",
	"std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>",
	"<fuzz-marker><script>alert(1)</script>",
	"\"quoted\" \\back\\slash; semi;colon",
	"ctl\x01\x02\x1f\x7f\ttab\nnewline\rcr",
	"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xa9",
	"bad\xff\xfe\xc0\xaf",
	"/usr/lib/x86_64-linux-gnu/libc.so.6",
	"",
	"trunc\xe2\x82",
};
#define NNASTY (sizeof(nasty) / sizeof(nasty[0]))

/* A few strings only reachable with MS_FUZZ_HOSTILE_UTF8: byte sequences
 * that a lax UTF-8 check lets through. */
static const char *const nasty_utf8[] = {
	"surrogate\xed\xa0\x80",
	"overlong\xe0\x80\xaf",
	"beyond\xf4\x90\x80\x80",
};
static int hostile_utf8;

static int resolve(void *user, uint32_t pid, uint64_t ip, struct ms_frame *out)
{
	uint64_t h = (ip ^ ip >> 9 ^ (uint64_t)pid * 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;

	(void)user;
	h ^= h >> 31;
	if (h % 7 == 0)
		return -ENOENT;
	out->function = nasty[h % NNASTY];
	out->file = nasty[(h >> 8) % NNASTY];
	out->line = (h >> 16) % 3 ? (int)((h >> 20) % 5000) : 0;
	out->module = nasty[(h >> 24) % NNASTY];
	out->offset = ip - IP_BASE;
	if (hostile_utf8 && (h >> 40) % 5 == 0)
		out->function = nasty_utf8[(h >> 44) % 3];
	return 0;
}

/* ---- output checks ------------------------------------------------------- */

static unsigned skip_mask;
#define SKIP_JSON 1u
#define SKIP_UTF8 2u
#define SKIP_FOLDED 4u
#define SKIP_HTML 8u
#define SKIP_REGISTRY 16u
#define SKIP_IDS 32u

NO_COV static void fail(const char *what, const char *buf, size_t len, size_t at)
{
	size_t from = at > 80 ? at - 80 : 0, to = at + 80 < len ? at + 80 : len;

	fprintf(stderr, "\nfuzz_registry: %s at byte %zu of %zu; context:\n", what, at, len);
	fwrite(buf + from, 1, to - from, stderr);
	fprintf(stderr, "\n");
	abort();
}

/* Length of one valid UTF-8 sequence (RFC 3629) at s[0..end), or 0. */
NO_COV static size_t utf8_strict(const unsigned char *s, const unsigned char *end)
{
	unsigned c = s[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* > U+10FFFF */
	if ((size_t)(end - s) < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

NO_COV static size_t utf8_lax(const unsigned char *s, const unsigned char *end)
{
	size_t n = s[0] < 0x80 ? 1 : s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf5 ? 4 : 0;
	size_t i;

	if (!n || (size_t)(end - s) < n)
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

struct jp {
	const char *b;
	size_t len, i;
	const char *who;
};

NO_COV static void jfail(struct jp *p, const char *what)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "%s: invalid JSON: %s", p->who, what);
	fail(msg, p->b, p->len, p->i);
}

NO_COV static int jpeek(struct jp *p)
{
	return p->i < p->len ? (unsigned char)p->b[p->i] : -1;
}

NO_COV static void jws(struct jp *p)
{
	while (p->i < p->len && (p->b[p->i] == ' ' || p->b[p->i] == '\t' ||
				 p->b[p->i] == '\r' || p->b[p->i] == '\n'))
		p->i++;
}

NO_COV static void jlit(struct jp *p, const char *lit)
{
	size_t n = strlen(lit);

	if (p->len - p->i < n || memcmp(p->b + p->i, lit, n))
		jfail(p, "bad literal");
	p->i += n;
}

NO_COV static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

NO_COV static void jnum(struct jp *p)
{
	if (jpeek(p) == '-')
		p->i++;
	if (jpeek(p) == '0')
		p->i++;
	else if (is_digit(jpeek(p)))
		while (is_digit(jpeek(p)))
			p->i++;
	else
		jfail(p, "bad number");
	if (jpeek(p) == '.') {
		p->i++;
		if (!is_digit(jpeek(p)))
			jfail(p, "bad fraction");
		while (is_digit(jpeek(p)))
			p->i++;
	}
	if (jpeek(p) == 'e' || jpeek(p) == 'E') {
		p->i++;
		if (jpeek(p) == '+' || jpeek(p) == '-')
			p->i++;
		if (!is_digit(jpeek(p)))
			jfail(p, "bad exponent");
		while (is_digit(jpeek(p)))
			p->i++;
	}
}

NO_COV static void jstr(struct jp *p)
{
	const unsigned char *end = (const unsigned char *)p->b + p->len;

	p->i++; /* " */
	for (;;) {
		int c = jpeek(p);
		size_t n;

		if (c < 0)
			jfail(p, "unterminated string");
		if (c == '"') {
			p->i++;
			return;
		}
		if (c < 0x20)
			jfail(p, "raw control character in string");
		if (c == '\\') {
			p->i++;
			c = jpeek(p);
			if (c == 'u') {
				int k;

				p->i++;
				for (k = 0; k < 4; k++, p->i++) {
					int h = jpeek(p);

					if (!is_digit(h) && !(h >= 'a' && h <= 'f') && !(h >= 'A' && h <= 'F'))
						jfail(p, "bad \\u escape");
				}
				continue;
			}
			if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' &&
			    c != 'n' && c != 'r' && c != 't')
				jfail(p, "bad escape");
			p->i++;
			continue;
		}
		n = (skip_mask & SKIP_UTF8 ? utf8_lax : utf8_strict)((const unsigned char *)p->b + p->i, end);
		if (!n)
			jfail(p, "invalid UTF-8 in string");
		p->i += n;
	}
}

NO_COV static void jvalue(struct jp *p, int depth)
{
	int c;

	if (depth > 64)
		jfail(p, "nested too deep");
	jws(p);
	c = jpeek(p);
	if (c == '{' || c == '[') {
		int close = c == '{' ? '}' : ']', first = 1;

		p->i++;
		for (;;) {
			jws(p);
			if (jpeek(p) == close && first) {
				p->i++;
				return;
			}
			if (c == '{') {
				if (jpeek(p) != '"')
					jfail(p, "expected key");
				jstr(p);
				jws(p);
				if (jpeek(p) != ':')
					jfail(p, "expected ':'");
				p->i++;
			}
			jvalue(p, depth + 1);
			jws(p);
			if (jpeek(p) == ',') {
				p->i++;
				first = 0;
				continue;
			}
			if (jpeek(p) != close)
				jfail(p, "expected ',' or close");
			p->i++;
			return;
		}
	}
	if (c == '"')
		jstr(p);
	else if (c == 't')
		jlit(p, "true");
	else if (c == 'f')
		jlit(p, "false");
	else if (c == 'n')
		jlit(p, "null");
	else if (c == '-' || is_digit(c))
		jnum(p);
	else
		jfail(p, "unexpected character");
}

NO_COV static void check_json(const char *who, const char *buf, size_t len)
{
	struct jp p = { buf, len, 0, who };

	if (skip_mask & SKIP_JSON)
		return;
	jvalue(&p, 0);
	jws(&p);
	if (p.i != len)
		jfail(&p, "trailing bytes");
}

NO_COV static void check_folded(const char *who, const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf, *end = s + len;
	size_t line = 0;

	if (skip_mask & SKIP_FOLDED)
		return;
	(void)who;
	while (s < end) {
		const unsigned char *eol = memchr(s, '\n', (size_t)(end - s)), *sp, *q;

		if (!eol)
			fail("folded: line without newline", buf, len, (size_t)(s - (const unsigned char *)buf));
		for (sp = eol; sp > s && sp[-1] != ' '; sp--)
			;
		if (sp == s || sp == eol)
			fail("folded: no ' BYTES' at line end", buf, len, (size_t)(s - (const unsigned char *)buf));
		for (q = sp; q < eol; q++)
			if (!is_digit(*q))
				fail("folded: BYTES not a number", buf, len, (size_t)(q - (const unsigned char *)buf));
		for (q = s; q < sp - 1;) {
			size_t n = (skip_mask & SKIP_UTF8 ? utf8_lax : utf8_strict)(q, sp - 1);

			if (*q < 0x20 || *q == 0x7f)
				fail("folded: control character in frames", buf, len, (size_t)(q - (const unsigned char *)buf));
			if (!n)
				fail("folded: invalid UTF-8 in frames", buf, len, (size_t)(q - (const unsigned char *)buf));
			q += n;
		}
		s = eol + 1;
		line++;
	}
}

/* The page must not carry the marker raw, and the data island
 * <script type="application/json" id="data">...</script> must be JSON. */
NO_COV static void check_html(const char *who, const char *buf, size_t len)
{
	static const char open[] = "<script type=\"application/json\" id=\"data\">";
	const char *m, *data, *end;

	if (skip_mask & SKIP_HTML)
		return;
	m = memmem(buf, len, "<fuzz-marker", 12);
	if (m)
		fail("html: target/symbol string emitted unescaped", buf, len, (size_t)(m - buf));
	data = memmem(buf, len, open, sizeof(open) - 1);
	if (!data)
		return; /* no data island in this writer's layout: nothing to parse */
	data += sizeof(open) - 1;
	end = memmem(data, len - (size_t)(data - buf), "</script", 8);
	if (!end)
		fail("html: data island not closed", buf, len, (size_t)(data - buf));
	check_json(who, data, (size_t)(end - data));
}

/* ---- report writers ------------------------------------------------------ */

typedef int (*writer_fn)(FILE *f, const struct ms_report_ctx *c);

#ifdef HAVE_REPORT_OUT
static int folded_live(FILE *f, const struct ms_report_ctx *c)
{
	return ms_report_folded(f, c, 1);
}

static int folded_all(FILE *f, const struct ms_report_ctx *c)
{
	return ms_report_folded(f, c, 0);
}
#endif

#ifdef HAVE_REPORT_LIVE
/* The periodic view: a rate over 1.5 s since half the allocations, and a
 * rate over no time at all. */
static int live_view(FILE *f, const struct ms_report_ctx *c)
{
	const struct ms_summary *s = ms_registry_summary(c->reg);

	ms_report_live(f, c, s->allocs / 2, 1.5);
	return ms_report_live(f, c, s->allocs + 1, 0);
}

static int status_line(FILE *f, const struct ms_report_ctx *c)
{
	ms_report_status(f, c);
	return 0;
}
#endif

struct writer {
	const char *name;
	writer_fn fn;
	const void *linked; /* NULL: a weak writer not linked in: skipped */
	void (*check)(const char *who, const char *buf, size_t len);
};

static const struct writer writers[] = {
	{ "json", ms_report_json, (const void *)ms_report_json, check_json },
	{ "text", ms_report_text, (const void *)ms_report_text, NULL },
#ifdef HAVE_REPORT_OUT
	{ "html", ms_report_html, (const void *)ms_report_html, check_html },
	{ "folded-live", folded_live, (const void *)ms_report_folded, check_folded },
	{ "folded-all", folded_all, (const void *)ms_report_folded, check_folded },
	{ "timeline", ms_report_timeline, (const void *)ms_report_timeline, check_json },
#endif
#ifdef HAVE_REPORT_LIVE
	{ "live", live_view, (const void *)ms_report_live, NULL },
	{ "status", status_line, (const void *)ms_report_status, NULL },
#endif
};
#define NWRITERS (sizeof(writers) / sizeof(writers[0]))

static FILE *devnull;
static int dump;

static void run_writers(const struct ms_report_ctx *c)
{
	size_t i;

	for (i = 0; i < NWRITERS; i++) {
		const struct writer *w = &writers[i];
		char *buf = NULL;
		size_t len = 0;
		FILE *f;

		if (!w->linked)
			continue;
		if (!w->check && !dump) {
			w->fn(devnull, c);
			continue;
		}
		f = open_memstream(&buf, &len);
		if (!f)
			abort();
		w->fn(f, c);
		if (fclose(f))
			abort();
		if (w->check)
			w->check(w->name, buf, len);
		if (dump) {
			printf("==== %s (%zu bytes)\n", w->name, len);
			fwrite(buf, 1, len, stdout);
		}
		free(buf);
	}
}

/* ---- registry invariants ------------------------------------------------- */

static void reg_fail(const char *what)
{
	fprintf(stderr, "\nfuzz_registry: registry invariant broken: %s\n", what);
	abort();
}

static void check_str(const struct ms_registry *r, uint32_t off)
{
	const char *s = ms_registry_str(r, off);

	if (off && !s)
		reg_fail("string offset does not resolve");
	if (s)
		(void)strlen(s); /* ASan: terminated inside the arena */
}

static void check_registry(const struct ms_registry *r)
{
	const struct ms_summary *sum = ms_registry_summary(r);
	const struct ms_block *b;
	const struct ms_site *st;
	const struct ms_var *v;
	const struct ms_scope *sc;
	const struct ms_task *t;
	size_t n, i;
	uint64_t live = 0, bytes = 0, site_live = 0, site_bytes = 0;

	if (skip_mask & SKIP_REGISTRY)
		return;
	b = ms_registry_blocks(r, &n);
	for (i = 0; i < n; i++) {
		const struct ms_stack *stk;

		if (!b[i].used)
			continue;
		live++;
		bytes += b[i].size;
		if (b[i].var >= 0) {
			/* linking sets both sides; realloc and folding keep them */
			const struct ms_var *bv = ms_registry_block_var(r, &b[i]);

			if (!bv)
				reg_fail("block names a variable index past the array");
			if (!bv->has_heap || bv->heap_addr != b[i].addr)
				reg_fail("block's variable does not point at the block");
		}
		stk = ms_registry_stack(r, b[i].pid, b[i].stack_id);
		if (stk && stk->n && !stk->ips)
			reg_fail("stack without ips");
		if (stk && stk->n)
			(void)stk->ips[stk->n - 1];
	}
	if (live != sum->live_allocs)
		reg_fail("live_allocs != used blocks");
	if (bytes != sum->live_bytes)
		reg_fail("live_bytes != sum of used block sizes");
	st = ms_registry_sites(r, &n);
	for (i = 0; i < n; i++) {
		site_live += st[i].live;
		site_bytes += st[i].live_bytes;
	}
	if (site_live != sum->live_allocs)
		reg_fail("sum of site.live != live_allocs");
	if (site_bytes != sum->live_bytes)
		reg_fail("sum of site.live_bytes != live_bytes");
	/* Folding (opts.keep) removes ended records: ids then only increase,
	 * and a kept record may name a folded scope. */
	v = ms_registry_vars(r, &n);
	for (i = 0; i < n; i++) {
		if (!(skip_mask & SKIP_IDS) &&
		    (sum->folded_vars ? i && v[i].id <= v[i - 1].id : v[i].id != i + 1))
			reg_fail("variable ids out of order");
		if (v[i].scope && !ms_registry_scope(r, v[i].scope) && !sum->folded_scopes)
			reg_fail("variable names an unknown scope");
		check_str(r, v[i].name);
		check_str(r, v[i].type);
		check_str(r, v[i].file);
	}
	sc = ms_registry_scopes(r, &n);
	for (i = 0; i < n; i++) {
		if (ms_registry_scope(r, sc[i].id) != &sc[i])
			reg_fail("scope id does not resolve to itself");
		if (sc[i].parent && !ms_registry_scope(r, sc[i].parent) && !sum->folded_scopes)
			reg_fail("scope parent unknown");
		if (i && sc[i].id == sc[i - 1].id)
			reg_fail("scope listed twice");
		check_str(r, sc[i].name);
		check_str(r, sc[i].file);
	}
	t = ms_registry_tasks(r, &n);
	for (i = 0; i < n; i++) {
		if (t[i].nthreads > MS_TASK_THREADS)
			reg_fail("task nthreads past MS_TASK_THREADS");
		check_str(r, t[i].name);
	}
	ms_registry_timeline(r, &n);
	if (n > 4096)
		reg_fail("timeline past MS_TIMELINE_MAX");
	{
		const struct ms_agg *g = ms_registry_aggs(r, &n);
		uint64_t folded[3] = { 0, 0, 0 };

		for (i = 0; i < n; i++) {
			if (g[i].kind < 0 || g[i].kind > 2)
				reg_fail("aggregate of unknown kind");
			folded[g[i].kind] += g[i].count;
			check_str(r, g[i].name);
			check_str(r, g[i].file);
		}
		if (folded[0] != sum->folded_vars || folded[1] != sum->folded_scopes ||
		    folded[2] != sum->folded_tasks)
			reg_fail("aggregate counts != folded counts");
	}
#ifdef MS_SNAP_MAX
	{
		const struct ms_snapshot *sn = ms_registry_snapshots(r, &n);
		struct ms_growth *g = NULL;
		size_t ng = 0, k;

		if (n > MS_SNAP_MAX)
			reg_fail("more snapshots than MS_SNAP_MAX");
		for (i = 0; i < n; i++) {
			check_str(r, sn[i].label);
			for (k = 0; k < sn[i].n; k++)
				if (sn[i].items[k].kind < MS_GROW_SITE || sn[i].items[k].kind > MS_GROW_TASK)
					reg_fail("snapshot item of unknown kind");
		}
		if (ms_registry_growth(r, 0, &g, &ng) == 0)
			for (k = 0; k < ng; k++)
				if (!(g[k].slope > 0) || !(g[k].r2 >= 0.8 && g[k].r2 <= 1.0 + 1e-9))
					reg_fail("growth outside its own rule (slope > 0, R^2 >= 0.8)");
		free(g);
	}
#endif
}

/* ---- records ------------------------------------------------------------- */

union any_rec {
	struct ms_hdr h;
	struct ms_ev_string s;
	struct ms_ev_var v;
	struct ms_ev_scope sc;
	struct ms_ev_heap hp;
	struct ms_ev_task t;
	struct ms_ev_name n;
	struct ms_ev_proc p;
};

static size_t rec_size(unsigned type)
{
	switch (type) {
	case MS_EV_STRING: return sizeof(struct ms_ev_string);
	case MS_EV_VAR: return sizeof(struct ms_ev_var);
	case MS_EV_SCOPE_ENTER:
	case MS_EV_SCOPE_EXIT: return sizeof(struct ms_ev_scope);
	case MS_EV_ALLOC:
	case MS_EV_FREE:
	case MS_EV_REALLOC:
	case MS_EV_LIVE: return sizeof(struct ms_ev_heap);
	case MS_EV_TASK_NAME:
	case MS_EV_SNAPSHOT: return sizeof(struct ms_ev_name);
	case MS_EV_PROC_EXIT:
	case MS_EV_THREAD_EXIT:
	case MS_EV_FORK:
	case MS_EV_EXEC: return sizeof(struct ms_ev_proc);
	default: return sizeof(struct ms_ev_task);
	}
}

NO_COV static struct mblock *m_find(struct model *m, uint32_t pid, uint64_t addr)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->v[i].pid == pid && m->v[i].addr == addr)
			return &m->v[i];
	return NULL;
}

NO_COV static void m_set(struct model *m, uint32_t pid, uint64_t addr, uint64_t size)
{
	struct mblock *b = m_find(m, pid, addr);

	if (!b && MS_VEC_PUSH(*m, b))
		abort();
	b->pid = pid;
	b->addr = addr;
	b->size = size;
}

NO_COV static void m_del(struct model *m, uint32_t pid, uint64_t addr)
{
	struct mblock *b = m_find(m, pid, addr);

	if (b)
		*b = m->v[--m->n];
}

/* A record the registry accepted: what it does to the live set. */
NO_COV static void model_apply(struct model *m, const void *rec, size_t len)
{
	struct ms_ev_heap e;

	if (len < sizeof(e))
		return; /* not a (valid) heap record */
	memcpy(&e, rec, sizeof(e));
	switch (e.h.type) {
	case MS_EV_ALLOC:
	case MS_EV_LIVE:
		if (e.addr)
			m_set(m, e.h.pid, e.addr, e.size);
		break;
	case MS_EV_FREE:
		if (e.addr)
			m_del(m, e.h.pid, e.addr);
		break;
	case MS_EV_REALLOC:
		m_del(m, e.h.pid, e.old_addr);
		if (e.addr)
			m_set(m, e.h.pid, e.addr, e.size);
		break;
	}
}

NO_COV static int by_block(const void *a, const void *b)
{
	const struct mblock *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->size < y->size ? -1 : x->size > y->size;
}

NO_COV static void check_model(struct model *m, const struct ms_registry *r)
{
	size_t nb, i, k = 0;
	const struct ms_block *b = ms_registry_blocks(r, &nb);
	struct mblock *got = malloc((nb ? nb : 1) * sizeof(*got));

	if (!got)
		abort();
	for (i = 0; i < nb; i++)
		if (b[i].used)
			got[k++] = (struct mblock){ b[i].pid, b[i].addr, b[i].size };
	if (k != m->n) {
		fprintf(stderr, "registry has %zu live blocks, the model %zu\n", k, m->n);
		reg_fail("live blocks differ from the model");
	}
	qsort(got, k, sizeof(*got), by_block);
	if (m->n)
		qsort(m->v, m->n, sizeof(*m->v), by_block);
	for (i = 0; i < k; i++) {
		if (by_block(&got[i], &m->v[i])) {
			fprintf(stderr, "registry block pid %u 0x%llx size %llu, model pid %u 0x%llx size %llu\n",
				got[i].pid, (unsigned long long)got[i].addr, (unsigned long long)got[i].size,
				m->v[i].pid, (unsigned long long)m->v[i].addr, (unsigned long long)m->v[i].size);
			reg_fail("live blocks differ from the model");
		}
	}
	free(got);
}

static void consume(struct state *s, const void *rec, size_t len)
{
	if (ms_registry_consume(s->reg, rec, len) == 0)
		model_apply(&s->model, rec, len);
	s->records++;
}

/* Feed exactly len bytes from an allocation of exactly len bytes, so that
 * ASan sees any read past the record. */
static void feed(struct state *s, const void *rec, size_t len)
{
	void *copy = malloc(len ? len : 1);

	if (!copy)
		abort();
	memcpy(copy, rec, len);
	consume(s, copy, len);
	free(copy);
}

static void raw_record(struct state *s)
{
	size_t len = u16(&s->in) % (sizeof(union any_rec) + 64);

	if (len <= s->in.n) {
		/* Straight from the input: unaligned, maybe ending exactly at
		 * the end of libFuzzer's buffer. Skip it first: read_mem, called
		 * from inside consume, reads on from the stream. */
		const uint8_t *rec = s->in.p;

		s->in.p += len;
		s->in.n -= len;
		consume(s, rec, len);
	} else {
		uint8_t buf[sizeof(union any_rec) + 64];

		take(&s->in, buf, len);
		feed(s, buf, len);
	}
}

static void fill_header(struct state *s, struct ms_hdr *h, unsigned type, size_t size, int raw)
{
	uint8_t who, fl;

	if (raw) {
		take(&s->in, h, sizeof(*h));
		h->type = (uint16_t)type;
		return;
	}
	who = u8(&s->in);
	fl = u8(&s->in);
	h->type = (uint16_t)type;
	h->flags = fl < 0x80 ? fl : u16(&s->in);
	h->size = (uint32_t)size;
	h->pid = p_pid(s, who);
	h->tid = p_tid(s, who);
	h->ts_ns = p_ts(s);
	h->scope = p_id(s);
	h->task = p_id(s);
}

static void fill_heap(struct state *s, struct ms_ev_heap *e)
{
	uint8_t k;

	e->addr = p_addr(s);
	e->size = p_size(s);
	e->old_addr = p_addr(s);
	e->old_size = p_size(s);
	e->alloc_ts = u8(&s->in) ? s->now - 1000 : 0;
	e->weight = p_size(s);
	e->caller = p_ip(s);
	e->stack_id = p_stack(s);
	k = u8(&s->in);
	e->kind = k < 0xf0 ? k % MS_K_MAX : u16(&s->in);
}

static void structured_record(struct state *s, unsigned type, unsigned variant)
{
	union any_rec u;
	uint8_t buf[sizeof(u) + 64];
	size_t size = rec_size(type), len = size;
	uint8_t b;

	memset(&u, 0, sizeof(u));
	fill_header(s, &u.h, type, size, variant & 4);
	switch (type) {
	case MS_EV_STRING:
		u.s.ptr = p_str(s);
		u.s.len = p_text(s, u.s.text, MS_STR_MAX);
		break;
	case MS_EV_VAR:
		u.v.addr = p_addr(s);
		u.v.size = p_size(s);
		u.v.value = p_addr(s);
		u.v.name = p_str(s);
		u.v.type = p_str(s);
		u.v.file = p_str(s);
		u.v.line = u16(&s->in);
		break;
	case MS_EV_SCOPE_ENTER:
	case MS_EV_SCOPE_EXIT:
		u.sc.id = p_id(s);
		u.sc.name = p_str(s);
		u.sc.file = p_str(s);
		u.sc.line = u16(&s->in);
		u.sc.depth = u8(&s->in);
		break;
	case MS_EV_ALLOC:
	case MS_EV_FREE:
	case MS_EV_REALLOC:
	case MS_EV_LIVE:
		fill_heap(s, &u.hp);
		break;
	case MS_EV_TASK_NAME:
	case MS_EV_SNAPSHOT:
		u.n.id = p_id(s);
		u.n.ptr = p_str(s);
		u.n.len = p_text(s, u.n.text, MS_NAME_MAX);
		break;
	case MS_EV_PROC_EXIT:
	case MS_EV_THREAD_EXIT:
	case MS_EV_FORK:
	case MS_EV_EXEC:
		b = u8(&s->in);
		u.p.exit_code = b < 0x80 ? b << 8 : b < 0xff ? b & 0x7f : (int32_t)u32(&s->in);
		u.p.child_pid = 100 + u8(&s->in) % 4;
		take(&s->in, u.p.comm, u8(&s->in) % (sizeof(u.p.comm) + 1));
		break;
	default: /* tasks */
		u.t.id = p_id(s);
		u.t.other = p_id(s);
		break;
	}
	memcpy(buf, &u, size);
	switch (variant & 3) {
	case 2:
		len = size - 1 - u8(&s->in) % size;
		break;
	case 3:
		len = size + u8(&s->in) % 64;
		take(&s->in, buf + size, len - size);
		break;
	}
	feed(s, buf, len);
}

static void add_stack(struct state *s, unsigned variant)
{
	uint8_t who = u8(&s->in);
	uint32_t pid = p_pid(s, who), n, i;
	int32_t id = p_stack(s);
	uint64_t *ips;

	n = u8(&s->in) + (variant & 4 ? 128 : 0);
	if (n > MAX_STACK_IPS)
		n = MAX_STACK_IPS;
	ips = n ? malloc(n * sizeof(*ips)) : NULL;
	if (n && !ips)
		abort();
	for (i = 0; i < n; i++)
		ips[i] = p_ip(s);
	/* the walk's end reason, from what was read (every value, valid or
	 * not, without taking input bytes from later operations) */
	if (ms_registry_add_stack(s->reg, pid, id, ips, n, (n + (uint32_t)id) % (MS_UNW_END_MAX + 2)) == 0 &&
	    id >= 0 &&
	    !(skip_mask & SKIP_REGISTRY) && !ms_registry_has_stack(s->reg, pid, id))
		reg_fail("stack added but not there");
	free(ips);
}

static void set_site(struct state *s)
{
	uint8_t who = u8(&s->in);
	uint32_t pid = p_pid(s, who);
	int32_t id = p_stack(s);
	struct ms_site_val v;

	v.allocs = p_size(s);
	v.alloc_bytes = p_size(s);
	v.frees = p_size(s);
	v.freed_bytes = p_size(s);
	ms_registry_set_site(s->reg, pid, id, &v);
}

static void live_snapshot(struct state *s, unsigned variant)
{
	unsigned k = u8(&s->in) % 64;

	ms_registry_live_begin(s->reg);
	s->model.n = 0;
	while (k-- && s->records < MAX_RECORDS)
		structured_record(s, MS_EV_LIVE, 0);
	if (!(variant & 4))
		ms_registry_live_end(s->reg);
}

/* The registry calls the tracer makes besides consume. */
/* A leak check's outcome: every live block gets a class (any, unreadable
 * and out of range ones included), a heuristic and indirect bytes from the
 * input; the check's status, classified flag and a note of target text. */
static void leak_check(struct state *s, uint8_t who)
{
	struct ms_leak_check lc;
	size_t nb, i;
	const struct ms_block *b = ms_registry_blocks(s->reg, &nb);

	for (i = 0; i < nb && s->in.n; i++) {
		uint8_t x = u8(&s->in);

		if (b[i].used)
			ms_registry_set_reach(s->reg, i, x % (MS_REACH_MAX + 2), x >> 5,
					      x & 8 ? b[i].size * 3 : 0);
	}
	memset(&lc, 0, sizeof(lc));
	lc.status = who % 7;
	lc.classified = who & 1;
	lc.hold_ns = who * 1000003ull;
	snprintf(lc.when, sizeof(lc.when), "%s", who & 2 ? "exit" : "request");
	p_text(s, lc.note, sizeof(lc.note) - 1);
	ms_registry_set_leak_check(s->reg, &lc);
}

static void api_call(struct state *s)
{
	uint8_t what = u8(&s->in), who = u8(&s->in);
	char label[MS_NAME_MAX + 1];

	switch (what % 4) {
	case 0:
		/* the process exec'd */
		ms_registry_forget_pid_strings(s->reg, p_pid(s, who));
		break;
	case 1:
#ifdef MS_SNAP_MAX
		/* a periodic snapshot, or one with a label */
		if (who & 0x80) {
			p_text(s, label, MS_NAME_MAX);
			label[MS_NAME_MAX] = 0;
			ms_registry_snapshot(s->reg, p_ts(s), label);
		} else {
			ms_registry_snapshot(s->reg, p_ts(s), NULL);
		}
#endif
		break;
	case 2:
		/* one more stack for an id (duplicates are ignored) */
		add_stack(s, 0);
		break;
	case 3:
		if (who & 0x40) {
			leak_check(s, who);
			break;
		}
		/* fold down to keep now (the tracer's periodic pass) */
		ms_registry_fold_now(s->reg);
		break;
	}
}

/* ---- entry points -------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *skip = getenv("MS_FUZZ_SKIP");
	static const char *const names[] = { "json", "utf8", "folded", "html", "registry", "ids" };
	size_t i;

	(void)argc;
	(void)argv;
	for (i = 0; skip && i < sizeof(names) / sizeof(names[0]); i++)
		if (strstr(skip, names[i]))
			skip_mask |= 1u << i;
	hostile_utf8 = getenv("MS_FUZZ_HOSTILE_UTF8") != NULL;
	dump = getenv("MS_FUZZ_DUMP") != NULL;
	devnull = fopen("/dev/null", "w");
	if (!devnull) {
		perror("fuzz_registry: /dev/null");
		exit(1);
	}
	fprintf(stderr, "fuzz_registry: writers:");
	for (i = 0; i < NWRITERS; i++)
		fprintf(stderr, " %s%s", writers[i].name, writers[i].linked ? "" : "(not linked)");
	fprintf(stderr, "; skipped checks: %s\n", skip ? skip : "none");
	return 0;
}

static void report_ctx(struct state *s, const uint8_t *cfg, struct ms_report_ctx *c)
{
	static const char *const modes[] = { "full", "fast", "light", "sampled" };
	static const char *const reasons[] = { "target exited", "duration", "signal", NULL };
	const struct ms_summary *sum = ms_registry_summary(s->reg);
	int i;

	memset(c, 0, sizeof(*c));
	c->reg = s->reg;
	c->resolve = cfg[0] & 8 ? resolve : NULL;
	c->pid = 100;
	c->exe = cfg[0] & 32 ? NULL : "/opt/app/bin/ser\"ver <fuzz-marker> caf\xc3\xa9";
	c->mode = modes[cfg[2] & 3];
	c->stop_reason = cfg[0] & 128 ? NULL : reasons[(cfg[2] >> 2) & 3];
	c->start_ns = cfg[4] == 0xff ? UINT64_MAX : (uint64_t)cfg[4] * 100000;
	c->end_ns = cfg[5] == 0xff ? UINT64_MAX : cfg[5] ? sum->last_ns + (uint64_t)cfg[5] * 1000 : 0;
	for (i = 0; i < MS_STAT_MAX; i++)
		c->stats[i] = cfg[6] == 0xff ? UINT64_MAX : (uint64_t)cfg[6] << i;
	c->target_exited = !!(cfg[0] & 16);
	c->exit_status = cfg[3] < 0x80 ? cfg[3] << 8 : cfg[3] & 0x7f;
	c->from_start = !!(cfg[0] & 64);
	c->sample_interval = cfg[7] ? 1ull << (cfg[7] & 63) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state s;
	struct ms_reg_opts o;
	struct ms_report_ctx c;
	uint8_t cfg[8];

	memset(&s, 0, sizeof(s));
	s.in.p = data;
	s.in.n = size;
	s.now = 1000000000; /* 1 s */
	s.fresh_id = 1000;
	s.fresh_addr = 0x7e0000000000ull;
	take(&s.in, cfg, sizeof(cfg));

	memset(&o, 0, sizeof(o));
	o.from_start = cfg[0] & 1;
	o.temp_ns = cfg[1] ? 1ull << (cfg[1] & 63) : 0;
	o.read_mem = cfg[0] & 2 ? read_mem : NULL;
	o.user = &s;
	o.internal_caller = cfg[0] & 4 ? internal_caller : NULL;
	o.keep = cfg[2] >> 4; /* 1..15: fold early; 0: the default */
	s.reg = ms_registry_new(&o);
	if (!s.reg)
		return 0;

	while (s.in.n && s.records < MAX_RECORDS) {
		uint8_t op = u8(&s.in);
		unsigned what = op & 0x1f, variant = op >> 5;
		static const uint8_t alias[] = { MS_EV_ALLOC, MS_EV_FREE, MS_EV_REALLOC,
						 MS_EV_SCOPE_ENTER, MS_EV_SCOPE_EXIT, 0,
						 MS_EV_STRING };

		switch (what) {
		case 0:
			raw_record(&s);
			break;
		case 19:
			add_stack(&s, variant);
			s.records++;
			break;
		case 20:
			live_snapshot(&s, variant);
			s.records++;
			break;
		case 21:
			set_site(&s);
			s.records++;
			break;
		case 22:
			ms_registry_live_begin(s.reg);
			s.model.n = 0;
			s.records++;
			break;
		case 23:
			ms_registry_live_end(s.reg);
			s.records++;
			break;
		case 30:
			api_call(&s);
			s.records++;
			break;
		case 24:
			if (s.mid_reports < MAX_MID_REPORTS) {
				s.mid_reports++;
				check_registry(s.reg);
				if (!(skip_mask & SKIP_REGISTRY))
					check_model(&s.model, s.reg);
				report_ctx(&s, cfg, &c);
				run_writers(&c);
			}
			s.records++;
			break;
		default:
			structured_record(&s, what < MS_EV_TYPE_MAX ? what : alias[what - 25], variant);
			break;
		}
	}

	check_registry(s.reg);
	if (!(skip_mask & SKIP_REGISTRY))
		check_model(&s.model, s.reg);
	ms_registry_settle(s.reg);
	check_registry(s.reg);
	report_ctx(&s, cfg, &c);
	run_writers(&c);
	ms_registry_free(s.reg);
	free(s.model.v);
	return 0;
}
