/* SPDX-License-Identifier: BSD-3-Clause */
/* report_common.c - helpers every report writer uses: stacks to frames,
 * type names, leak grouping. */
#include <stdlib.h>
#include <string.h>
#include "report/report.h"
#include "util/vec.h"

static const char *const kind_names[MS_K_MAX] = {
	[MS_K_MALLOC] = "malloc", [MS_K_CALLOC] = "calloc", [MS_K_REALLOC] = "realloc",
	[MS_K_REALLOCARRAY] = "reallocarray", [MS_K_POSIX_MEMALIGN] = "posix_memalign",
	[MS_K_ALIGNED_ALLOC] = "aligned_alloc", [MS_K_MEMALIGN] = "memalign",
	[MS_K_VALLOC] = "valloc", [MS_K_PVALLOC] = "pvalloc", [MS_K_NEW] = "new",
	[MS_K_NEW_ARRAY] = "new[]", [MS_K_FREE] = "free", [MS_K_DELETE] = "delete",
	[MS_K_DELETE_ARRAY] = "delete[]", [MS_K_CUSTOM] = "custom", [MS_K_SAMPLE] = "sampled",
	[MS_K_MALLOCX] = "mallocx", [MS_K_RALLOCX] = "rallocx", [MS_K_XALLOCX] = "xallocx",
	[MS_K_DALLOCX] = "dallocx", [MS_K_SDALLOCX] = "sdallocx", [MS_K_OTEL] = "otel",
	[MS_K_HEAP] = "heap",
};

const char *ms_kind_name(unsigned kind)
{
	return kind < MS_K_MAX && kind_names[kind] ? kind_names[kind] : "?";
}

const char *ms_unw_end_name(unsigned end)
{
	static const char *const names[MS_UNW_END_MAX] = {
		[MS_UNW_END_COMPLETE] = "complete",
		[MS_UNW_END_DEPTH] = "stack depth limit (--stack-depth)",
		[MS_UNW_END_NO_MAPPING] = "code outside any file mapping (JIT or anonymous memory)",
		[MS_UNW_END_NO_INFO] = "no unwind information and no frame pointer",
		[MS_UNW_END_BAD_READ] = "stack memory not readable",
		[MS_UNW_END_BAD_FRAME] = "caller frame not above this one",
	};

	return end < MS_UNW_END_MAX && names[end] ? names[end] : "unknown";
}

/* Frame(s) of ip into out[0..max): with inline frames when the resolver
 * gives them. Returns the frames filled (at least 1 if max > 0). */
static int frames_of(const struct ms_report_ctx *c, uint32_t pid, uint64_t ip, struct ms_frame *out,
		     int max)
{
	int n = 0;

	if (max <= 0)
		return 0;
	if (c->resolve_inline)
		n = c->resolve_inline(c->resolve_user, pid, ip - 1, out, max);
	if (n <= 0) {
		memset(out, 0, sizeof(*out));
		out->ip = ip;
		if (c->resolve)
			c->resolve(c->resolve_user, pid, ip - 1, out);
		n = 1;
	}
	return n;
}

int ms_report_stack(const struct ms_report_ctx *c, uint32_t pid, int32_t stack_id,
		    uint64_t caller, struct ms_frame *out, int max)
{
	const struct ms_stack *s = ms_registry_stack(c->reg, pid, stack_id);
	uint32_t i = 0;
	int n = 0;

	if (caller && n < max) {
		/* A free's stack starts inside free(); the kernel's frame-pointer
		 * walk then lacks the caller, a DWARF walk has it next: put the
		 * caller first (once) and skip the allocator's own frame. */
		i = 1;
		if (!s || s->n < 2 || s->ips[1] != caller)
			n += frames_of(c, pid, caller, out + n, max - n);
	}
	/* Return addresses point after the call: each is looked up at ip - 1 */
	for (; s && i < s->n && n < max; i++)
		n += frames_of(c, pid, s->ips[i], out + n, max - n);
	return n;
}

int ms_report_stack_truncated(const struct ms_report_ctx *c, uint32_t pid, int32_t stack_id)
{
	const struct ms_stack *s = ms_registry_stack(c->reg, pid, stack_id);

	/* the DWARF walk says why it ended; the kernel's frame-pointer walk
	 * does not, so a stack that filled --stack-depth counts as cut */
	if (s && s->end < MS_UNW_END_MAX)
		return ms_stack_truncated(s);
	return s && c->stack_depth > 0 && s->n >= (uint32_t)c->stack_depth;
}

const char *ms_report_type(const char *raw, uint64_t size, char *buf, size_t len)
{
	const char *p, *end;
	size_t n;

	if (!raw)
		return NULL;
	/* C++: "... memscope__type<...>::name() [with T = X]" (gcc) or
	 * "[T = X]" (clang). */
	if (strstr(raw, "memscope__type") && (p = strstr(raw, "T = "))) {
		p += 4;
		end = raw + strlen(raw);
		if (end > p && end[-1] == ']')
			end--;
		n = (size_t)(end - p) < len - 1 ? (size_t)(end - p) : len - 1;
		memcpy(buf, p, n);
		buf[n] = 0;
		return buf;
	}
	/* C11 _Generic sees an array as a pointer to its element. */
	n = strlen(raw);
	if (n > 2 && strcmp(raw + n - 2, " *") == 0 && size != sizeof(void *) && n < len) {
		static const struct { const char *t; unsigned sz; } el[] = {
			{ "char", 1 }, { "signed char", 1 }, { "unsigned char", 1 },
			{ "short", 2 }, { "unsigned short", 2 }, { "int", 4 },
			{ "unsigned int", 4 }, { "long", 8 }, { "unsigned long", 8 },
			{ "long long", 8 }, { "unsigned long long", 8 }, { "float", 4 },
			{ "double", 8 }, { "_Bool", 1 },
		};
		size_t i;

		for (i = 0; i < sizeof(el) / sizeof(el[0]); i++) {
			if (strlen(el[i].t) == n - 2 && strncmp(raw, el[i].t, n - 2) == 0 &&
			    size % el[i].sz == 0) {
				snprintf(buf, len, "%s[%llu]", el[i].t,
					 (unsigned long long)(size / el[i].sz));
				return buf;
			}
		}
	}
	return raw;
}

/* Lost first, gravest first: the order users read leak reports in. */
static int reach_rank(int reach)
{
	static const int rank[MS_REACH_MAX] = {
		[MS_REACH_DEFINITE] = 0, [MS_REACH_INDIRECT] = 1, [MS_REACH_POSSIBLE] = 2,
		[MS_REACH_UNREADABLE] = 3, [MS_REACH_REACHABLE] = 4, [MS_REACH_NONE] = 5,
	};

	return reach >= 0 && reach < MS_REACH_MAX ? rank[reach] : 5;
}

static int by_bytes(const void *a, const void *b)
{
	const struct ms_leak_site *x = a, *y = b;

	if (x->reach != y->reach)
		return reach_rank(x->reach) - reach_rank(y->reach);
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* Remember the name of the variable pointing into b, if new to the site. */
static void site_var(const struct ms_report_ctx *c, struct ms_leak_site *ls, const struct ms_block *b)
{
	const struct ms_var *v = ms_registry_block_var(c->reg, b);
	const char *nm = v ? ms_registry_str(c->reg, v->name) : NULL;
	unsigned q;

	if (!nm || ls->nvars == MS_SITE_VARS)
		return;
	for (q = 0; q < ls->nvars; q++)
		if (!strcmp(ls->vars[q], nm))
			return;
	ls->vars[ls->nvars++] = nm;
}

int ms_report_block_shown(const struct ms_report_ctx *c, const struct ms_block *b)
{
	return b->used && !(c->target_exited && ms_registry_block_unsure(c->reg, b));
}

void ms_report_unverified(const struct ms_report_ctx *c, uint64_t *count, uint64_t *bytes)
{
	size_t nb, i;
	const struct ms_block *b = ms_registry_blocks(c->reg, &nb);

	*count = *bytes = 0;
	for (i = 0; i < nb; i++)
		if (b[i].used && ms_registry_block_unsure(c->reg, &b[i])) {
			(*count)++;
			*bytes += b[i].size;
		}
}

struct ms_leak_site *ms_report_leak_sites(const struct ms_report_ctx *c, size_t *n)
{
	struct ms_hashmap idx = { 0 };
	MS_VEC(struct ms_leak_site) out = { 0 };
	struct ms_leak_site *ls;
	size_t nb, i;
	const struct ms_block *b = ms_registry_blocks(c->reg, &nb);

	for (i = 0; i < nb; i++) {
		uint64_t *k, key;

		if (!ms_report_block_shown(c, &b[i]))
			continue;
		key = (uint64_t)(uint32_t)b[i].stack_id | (uint64_t)MS_BLOCK_REACH(&b[i]) << 32;
		k = ms_hm_get(&idx, b[i].pid, key);
		if (!k) {
			if (ms_hm_put(&idx, b[i].pid, key, out.n) || MS_VEC_PUSH(out, ls))
				break;
			*ls = (struct ms_leak_site){ .pid = b[i].pid, .stack_id = b[i].stack_id,
						     .reach = MS_BLOCK_REACH(&b[i]), .example = &b[i] };
			k = ms_hm_get(&idx, b[i].pid, key);
		}
		ls = &out.v[*k];
		ls->count++;
		ls->bytes += b[i].size;
		if (ls->example->var < 0 && b[i].var >= 0)
			ls->example = &b[i];
		site_var(c, ls, &b[i]);
	}
	ms_hm_free(&idx);
	if (out.n)
		qsort(out.v, out.n, sizeof(*out.v), by_bytes);
	*n = out.n;
	return out.v;
}

const char *ms_report_reach(const struct ms_block *b)
{
	return ms_reach_name(MS_BLOCK_REACH(b));
}

void ms_report_reach_totals(const struct ms_report_ctx *c, uint64_t blocks[MS_REACH_MAX],
			    uint64_t bytes[MS_REACH_MAX])
{
	size_t nb, i;
	const struct ms_block *b = ms_registry_blocks(c->reg, &nb);

	memset(blocks, 0, MS_REACH_MAX * sizeof(*blocks));
	memset(bytes, 0, MS_REACH_MAX * sizeof(*bytes));
	for (i = 0; i < nb; i++) {
		int r;

		if (!ms_report_block_shown(c, &b[i]))
			continue;
		r = MS_BLOCK_REACH(&b[i]);
		if (r >= MS_REACH_MAX)
			r = MS_REACH_NONE;
		blocks[r]++;
		bytes[r] += b[i].size;
	}
}

int ms_report_classified(const struct ms_report_ctx *c)
{
	return ms_registry_leak_check(c->reg)->classified;
}
