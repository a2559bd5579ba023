/* SPDX-License-Identifier: BSD-3-Clause */
/* diff.c - see diff.h. Reports are parsed with json-c; sites are matched
 * by their function names (addresses differ between runs under ASLR). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "cli/diff.h"
#include "util/vec.h"

static struct json_object *load(const char *path)
{
	struct json_object *o = json_object_from_file(path);

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "summary", NULL)) {
		/* json-c's message ends with its own newline: one line only */
		const char *why = o ? NULL : json_util_get_last_err();
		int len = why ? (int)strcspn(why, "\n") : 0;

		fprintf(stderr, "memscope-trace: diff: %s is not a memscope JSON report%s%.*s\n", path,
			why ? ": " : "", len, why ? why : "");
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int64_t num(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static struct json_object *arr(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_array) ? v : NULL;
}

/* "f1 < f2 < f3" from a stack, innermost first, after the leak class in
 * brackets when the site has one; caller frees. */
static char *signature(struct json_object *site)
{
	struct json_object *st = arr(site, "stack"), *cls;
	size_t i, n = st ? json_object_array_length(st) : 0, len = 0, cap = 0;
	char *out = NULL;

	if (ms_vec_reserve((void **)&out, &cap, 1, 1))
		return NULL;
	out[0] = 0;
	if (json_object_object_get_ex(site, "reachability", &cls) && json_object_get_string(cls)) {
		const char *c = json_object_get_string(cls);

		if (ms_vec_reserve((void **)&out, &cap, 1, strlen(c) + 4)) {
			free(out);
			return NULL;
		}
		len = (size_t)sprintf(out, "[%s] ", c);
	}
	for (i = 0; i < n && i < 6; i++) {
		struct json_object *fr = json_object_array_get_idx(st, i), *fn;
		const char *name = json_object_object_get_ex(fr, "function", &fn) && json_object_get_string(fn)
					   ? json_object_get_string(fn) : "?";

		if (ms_vec_reserve((void **)&out, &cap, 1, len + strlen(name) + 4)) {
			free(out);
			return NULL;
		}
		len += (size_t)sprintf(out + len, "%s%s", i ? " < " : "", name);
	}
	return out;
}

static void delta(const char *what, int64_t a, int64_t b)
{
	printf("  %-22s %14" PRId64 " -> %-14" PRId64 " (%+" PRId64 ")\n", what, a, b, b - a);
}

/* Sum `field` of the entries of list `key`, grouped by `by` (a string
 * field, or the stack signature when by is NULL), old vs new. */
static void groups(struct json_object *a, struct json_object *b, const char *key, const char *by,
		   const char *field, const char *title)
{
	struct json_object *la = arr(a, key), *lb = arr(b, key), *sums = json_object_new_object();
	struct json_object *lists[2] = { la, lb };
	int side, shown = 0;

	for (side = 0; side < 2; side++) {
		size_t i, n = lists[side] ? json_object_array_length(lists[side]) : 0;

		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(lists[side], i), *v, *pair;
			char *sig = NULL;
			const char *name;

			if (by)
				name = json_object_object_get_ex(e, by, &v) && json_object_get_string(v)
					       ? json_object_get_string(v) : "(unnamed)";
			else
				name = sig = signature(e);
			if (!name)
				continue;
			if (!json_object_object_get_ex(sums, name, &pair)) {
				pair = json_object_new_array();
				json_object_array_add(pair, json_object_new_int64(0));
				json_object_array_add(pair, json_object_new_int64(0));
				json_object_object_add(sums, name, pair);
			}
			json_object_array_put_idx(pair, (size_t)side, json_object_new_int64(
				json_object_get_int64(json_object_array_get_idx(pair, (size_t)side)) + num(e, field)));
			free(sig);
		}
	}
	printf("\n%s (%s):\n", title, field);
	json_object_object_foreach(sums, name, pair) {
		int64_t x = json_object_get_int64(json_object_array_get_idx(pair, 0));
		int64_t y = json_object_get_int64(json_object_array_get_idx(pair, 1));

		if (x == y)
			continue;
		printf("  %-52.52s %12" PRId64 " -> %-12" PRId64 " (%+" PRId64 ")%s\n", name, x, y, y - x,
		       !x ? "  new" : !y ? "  gone" : "");
		shown++;
	}
	if (!shown)
		printf("  (no change)\n");
	json_object_put(sums);
}

static int classified(struct json_object *r)
{
	struct json_object *lc, *v;

	return json_object_object_get_ex(r, "leak_check", &lc) &&
	       json_object_object_get_ex(lc, "classified", &v) && json_object_get_boolean(v);
}

int ms_diff_main(const char *old_path, const char *new_path)
{
	struct json_object *a = load(old_path), *b = a ? load(new_path) : NULL, *sa, *sb;
	static const char *const keys[] = { "allocs", "frees", "alloc_bytes", "live_allocs", "live_bytes",
					    "peak_live_bytes", "variables", "scopes", "tasks", "dropped_events" };
	size_t i;

	if (!a || !b) {
		json_object_put(a);
		return 1;
	}
	json_object_object_get_ex(a, "summary", &sa);
	json_object_object_get_ex(b, "summary", &sb);
	printf("memscope diff: %s -> %s\n\ntotals:\n", old_path, new_path);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		delta(keys[i], num(sa, keys[i]), num(sb, keys[i]));
	delta("leaks", arr(a, "leaks") ? (int64_t)json_object_array_length(arr(a, "leaks")) : 0,
	      arr(b, "leaks") ? (int64_t)json_object_array_length(arr(b, "leaks")) : 0);
	/* the leak check's classes, when either report has them */
	if (classified(a) || classified(b)) {
		static const char *const cls[] = { "definitely_lost_bytes", "indirectly_lost_bytes",
						   "possibly_lost_bytes", "still_reachable_bytes" };

		for (i = 0; i < sizeof(cls) / sizeof(cls[0]); i++)
			delta(cls[i], num(sa, cls[i]), num(sb, cls[i]));
	}
	groups(a, b, "leak_sites", NULL, "bytes", "leak sites");
	groups(a, b, "live_sites", NULL, "bytes", "live sites");
	groups(a, b, "variables", "name", "size", "variables");
	groups(a, b, "tasks", "name", "alloc_bytes", "tasks");
	json_object_put(a);
	json_object_put(b);
	return 0;
}
