/* SPDX-License-Identifier: BSD-3-Clause */
/* test_registry.c - the registry fed synthetic records (no BPF, no root).
 * Prints PASS/FAIL per case for tests/run.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "registry/registry.h"

#include "check.h"

static uint64_t ts = 1000;

static void hdr(struct ms_hdr *h, int type, size_t size, uint32_t tid, uint64_t scope, uint64_t task)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->size = size;
	h->pid = 100;
	h->tid = tid;
	h->ts_ns = ts += 10;
	h->scope = scope;
	h->task = task;
}

static void str(struct ms_registry *r, uint64_t ptr, const char *s)
{
	struct ms_ev_string e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, MS_EV_STRING, sizeof(e), 1, 0, 0);
	e.ptr = ptr;
	e.len = strlen(s);
	memcpy(e.text, s, e.len);
	ms_registry_consume(r, &e, sizeof(e));
}

static void enter(struct ms_registry *r, uint32_t tid, uint64_t id, uint64_t parent, uint64_t name)
{
	struct ms_ev_scope e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, MS_EV_SCOPE_ENTER, sizeof(e), tid, parent, 0);
	e.id = id;
	e.name = name;
	ms_registry_consume(r, &e, sizeof(e));
}

static void leave(struct ms_registry *r, uint32_t tid, uint64_t id)
{
	struct ms_ev_scope e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, MS_EV_SCOPE_EXIT, sizeof(e), tid, 0, 0);
	e.id = id;
	ms_registry_consume(r, &e, sizeof(e));
}

static void var(struct ms_registry *r, uint32_t tid, uint64_t scope, uint64_t name, uint64_t size,
		uint64_t value, uint64_t task)
{
	struct ms_ev_var e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, MS_EV_VAR, sizeof(e), tid, scope, task);
	e.name = name;
	e.size = size;
	e.value = value;
	e.addr = 0x7ffd0000;
	ms_registry_consume(r, &e, sizeof(e));
}

static void heap(struct ms_registry *r, int type, uint32_t tid, uint64_t scope, uint64_t task,
		 uint64_t addr, uint64_t size, uint64_t old, uint16_t flags)
{
	struct ms_ev_heap e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, type, sizeof(e), tid, scope, task);
	e.h.flags = flags;
	e.addr = addr;
	e.size = size;
	e.old_addr = old;
	e.stack_id = -1;
	ms_registry_consume(r, &e, sizeof(e));
}

static void test_nesting_across_threads(void)
{
	struct ms_registry *r = ms_registry_new(NULL);
	const struct ms_scope *s;
	size_t n;

	str(r, 0x10, "outer");
	str(r, 0x20, "inner");
	enter(r, 1, 1, 0, 0x10);
	enter(r, 2, 2, 0, 0x10);  /* another thread's own outer */
	enter(r, 1, 3, 1, 0x20);
	enter(r, 2, 4, 2, 0x20);
	leave(r, 2, 4);
	leave(r, 1, 3);
	leave(r, 1, 1);
	s = ms_registry_scopes(r, &n);
	CHECK(n == 4);
	CHECK(ms_registry_scope(r, 3)->parent == 1);
	CHECK(ms_registry_scope(r, 4)->parent == 2);
	CHECK(ms_registry_scope(r, 4)->tid == 2);
	CHECK(strcmp(ms_registry_str(r, s[2].name), "inner") == 0);
	CHECK(ms_registry_scope(r, 1)->exit_ns > ms_registry_scope(r, 3)->exit_ns);
	CHECK(ms_registry_scope(r, 2)->exit_ns == 0); /* still open */
	PASS();
out:
	ms_registry_free(r);
}

static void test_exit_without_enter(void)
{
	struct ms_registry *r = ms_registry_new(NULL);
	size_t n;

	leave(r, 1, 0);   /* BPF saw no enter: id 0 */
	leave(r, 1, 77);  /* an id whose enter was dropped */
	ms_registry_scopes(r, &n);
	CHECK(n == 0);
	CHECK(ms_registry_summary(r)->unmatched_scope_exits == 1);
	PASS();
out:
	ms_registry_free(r);
}

static void test_event_after_scope_closed(void)
{
	struct ms_registry *r = ms_registry_new(NULL);
	const struct ms_var *v;
	size_t n;

	str(r, 0x30, "x");
	enter(r, 1, 5, 0, 0);
	leave(r, 1, 5);
	/* a record made inside scope 5 that arrives after its exit */
	var(r, 1, 5, 0x30, 4, 0, 0);
	/* a record naming a scope never seen */
	var(r, 1, 99, 0x30, 4, 0, 0);
	v = ms_registry_vars(r, &n);
	CHECK(n == 2);
	CHECK(v[0].scope == 5);
	CHECK(ms_registry_scope(r, 5)->nvars == 1);
	CHECK(v[1].scope == 0);
	CHECK(ms_registry_summary(r)->unknown_scope_refs == 1);
	CHECK(strcmp(ms_registry_str(r, v[0].name), "x") == 0);
	PASS();
out:
	ms_registry_free(r);
}

static void test_thread_exit_closes_scopes(void)
{
	struct ms_registry *r = ms_registry_new(NULL);
	struct ms_ev_proc e;

	enter(r, 7, 1, 0, 0);
	enter(r, 7, 2, 1, 0);
	memset(&e, 0, sizeof(e));
	hdr(&e.h, MS_EV_THREAD_EXIT, sizeof(e), 7, 0, 0);
	ms_registry_consume(r, &e, sizeof(e));
	CHECK(ms_registry_scope(r, 1)->exit_ns == e.h.ts_ns);
	CHECK(ms_registry_scope(r, 2)->closed_by_thread_exit);
	PASS();
out:
	ms_registry_free(r);
}

static void test_heap_join(void)
{
	struct ms_registry *r = ms_registry_new(NULL);
	const struct ms_summary *s = ms_registry_summary(r);
	const struct ms_var *v;
	size_t n;

	str(r, 0x40, "p");
	enter(r, 1, 1, 0, 0);
	heap(r, MS_EV_ALLOC, 1, 1, 0, 0x1000, 100, 0, 0);
	var(r, 1, 1, 0x40, 8, 0x1010, 0); /* interior pointer */
	heap(r, MS_EV_REALLOC, 1, 1, 0, 0x2000, 300, 0x1000, MS_F_KNOWN);
	v = ms_registry_vars(r, &n);
	CHECK(v[0].has_heap && v[0].heap_addr == 0x2000 && v[0].heap_size == 300);
	CHECK(s->live_bytes == 300 && s->peak_live_bytes == 300);
	leave(r, 1, 1);
	CHECK(ms_registry_scope(r, 1)->live_bytes_at_exit == 300);
	CHECK(ms_registry_scope(r, 1)->allocs == 2);
	heap(r, MS_EV_FREE, 1, 0, 0, 0x2000, 300, 0, MS_F_KNOWN);
	v = ms_registry_vars(r, &n);
	CHECK(v[0].heap_freed_ns != 0);
	CHECK(s->live_bytes == 0 && s->live_allocs == 0);
	CHECK(s->allocs == 2 && s->frees == 2);
	PASS();
out:
	ms_registry_free(r);
}

static void test_bad_frees(void)
{
	struct ms_reg_opts o = { .from_start = 1 };
	struct ms_registry *r = ms_registry_new(&o);
	const struct ms_bad_free *b;
	size_t n;

	heap(r, MS_EV_ALLOC, 1, 0, 0, 0x1000, 10, 0, 0);
	heap(r, MS_EV_FREE, 1, 0, 0, 0x1000, 10, 0, MS_F_KNOWN);
	heap(r, MS_EV_FREE, 1, 0, 0, 0x1000, 0, 0, 0);  /* double */
	heap(r, MS_EV_FREE, 1, 0, 0, 0x5000, 0, 0, 0);  /* never allocated */
	b = ms_registry_bad_frees(r, &n);
	CHECK(n == 2);
	CHECK(b[0].is_double && b[0].addr == 0x1000);
	CHECK(!b[1].is_double && b[1].addr == 0x5000);
	ms_registry_free(r);
	/* attached mid-run: unknown frees are not errors */
	r = ms_registry_new(NULL);
	heap(r, MS_EV_FREE, 1, 0, 0, 0x5000, 0, 0, 0);
	ms_registry_bad_frees(r, &n);
	CHECK(n == 0);
	CHECK(ms_registry_summary(r)->unknown_frees == 1);
	PASS();
out:
	ms_registry_free(r);
}

/* callers as the tracer would name them (internal_caller in trace.c) */
static int settled;

static int name_caller(void *user, uint32_t pid, uint64_t caller, int freed_before)
{
	(void)user;
	(void)pid;
	switch (caller) {
	case 0x100: return ms_free_is_bookkeeping("__malloc_arena_thread_freeres", freed_before);
	case 0x200: return ms_free_is_bookkeeping("_IO_new_fclose", freed_before);
	case 0x300: return ms_free_is_bookkeeping("_dl_close_worker.part.0", freed_before);
	case 0x400: return ms_free_is_bookkeeping(NULL, freed_before); /* no symbols */
	case 0x500: /* module not known yet; at settle, glibc's thread exit */
		return settled ? ms_free_is_bookkeeping("__libc_thread_freeres", freed_before) : -1;
	}
	return 0;
}

static void free_from(struct ms_registry *r, uint64_t addr, uint64_t caller)
{
	struct ms_ev_heap e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, MS_EV_FREE, sizeof(e), 1, 0, 0);
	e.addr = addr;
	e.caller = caller;
	e.stack_id = -1;
	ms_registry_consume(r, &e, sizeof(e));
}

/* Only frees the allocator provably makes on its own memory are dropped,
 * and they are counted: glibc's thread-exit cache release (a cached chunk
 * the program freed, the cache itself), ld.so freeing a block nobody saw
 * allocated. A FILE closed twice (stdio's free) and a caller without a
 * name are reported. */
static void test_bookkeeping_frees(void)
{
	struct ms_reg_opts o = { .from_start = 1, .internal_caller = name_caller };
	struct ms_registry *r = ms_registry_new(&o);
	const struct ms_bad_free *b;
	size_t n;

	settled = 0;
	CHECK(r);
	heap(r, MS_EV_ALLOC, 1, 0, 0, 0x1000, 24, 0, 0);
	heap(r, MS_EV_FREE, 1, 0, 0, 0x1000, 24, 0, MS_F_KNOWN);
	free_from(r, 0x1000, 0x100); /* the cached chunk, released at thread exit */
	free_from(r, 0x2000, 0x100); /* the cache itself: never seen allocated */
	heap(r, MS_EV_ALLOC, 1, 0, 0, 0x3000, 472, 0, 0);
	heap(r, MS_EV_FREE, 1, 0, 0, 0x3000, 472, 0, MS_F_KNOWN);
	free_from(r, 0x3000, 0x200); /* fclose() again: a double free */
	free_from(r, 0x4000, 0x300); /* ld.so's startup block */
	heap(r, MS_EV_ALLOC, 1, 0, 0, 0x5000, 64, 0, 0);
	heap(r, MS_EV_FREE, 1, 0, 0, 0x5000, 64, 0, MS_F_KNOWN);
	free_from(r, 0x5000, 0x300); /* ld.so never frees what the program freed */
	free_from(r, 0x6000, 0x400); /* unnamed caller: not provable */
	free_from(r, 0x7000, 0x500); /* cannot tell yet */
	CHECK(ms_registry_summary(r)->internal_frees == 3);
	ms_registry_bad_frees(r, &n);
	CHECK(n == 4);
	settled = 1;
	ms_registry_settle(r);
	CHECK(ms_registry_summary(r)->internal_frees == 4);
	b = ms_registry_bad_frees(r, &n);
	CHECK(n == 3);
	CHECK(b[0].is_double && b[0].addr == 0x3000 && b[0].caller == 0x200);
	CHECK(b[1].is_double && b[1].addr == 0x5000);
	CHECK(!b[2].is_double && b[2].addr == 0x6000);
	CHECK(ms_registry_summary(r)->frees == 3 && ms_registry_summary(r)->unknown_frees == 0);
	/* names as compilers split them; prefixes alone are not enough */
	CHECK(ms_free_is_bookkeeping("tcache_thread_shutdown.cold", 1));
	CHECK(!ms_free_is_bookkeeping("tcache_thread_shutdownx", 1));
	CHECK(!ms_free_is_bookkeeping("__libc_free", 0));
	CHECK(!ms_free_is_bookkeeping("_IO_setb", 0));
	PASS();
out:
	ms_registry_free(r);
}

/* Live bytes of one site (blocks of `step` bytes) moved to each value of
 * ys, one snapshot per second; the growth the rule reports (0 or 1 key). */
static size_t grows(const uint64_t *ys, size_t n, uint64_t step, double *slope)
{
	struct ms_registry *r = ms_registry_new(NULL);
	struct ms_growth *g = NULL;
	uint64_t live = 0, next = 0x100000, addrs[256];
	size_t i, ng = 0, nb = 0;

	for (i = 0; i < n && r; i++) {
		while (live < ys[i] && nb < 256) {
			heap(r, MS_EV_ALLOC, 1, 0, 0, addrs[nb++] = next, step, 0, 0);
			next += 0x1000;
			live += step;
		}
		while (live > ys[i] && nb) {
			heap(r, MS_EV_FREE, 1, 0, 0, addrs[--nb], step, 0, MS_F_KNOWN);
			live -= step;
		}
		ms_registry_snapshot(r, (i + 1) * 1000000000ull, NULL);
	}
	if (r && ms_registry_growth(r, MS_GROWTH_MIN_BYTES, &g, &ng) == 0 && ng && slope)
		*slope = g[0].slope;
	free(g);
	ms_registry_free(r);
	return ng;
}

/* The README's growth rule, limit by limit: at least 3 snapshots, a rise
 * of at least 1 KiB, no drop of more than 10% of the rise, R^2 >= 0.8. */
static void test_growth_rule(void)
{
	static const uint64_t two[] = { 0, 2048 }, three[] = { 0, 1024, 2048 },
			      under[] = { 0, 496, 1023 }, kib[] = { 0, 512, 1024 },
			      dip_ok[] = { 0, 1000, 2000, 3000, 2500, 4000, 5000 },
			      dip_big[] = { 0, 1000, 2000, 3000, 2450, 4000, 5000 },
			      late[] = { 0, 0, 0, 3000 }, ramp[] = { 0, 0, 1500, 3000 };
	double slope = 0;

	CHECK(MS_GROWTH_MIN_BYTES == 1024);
	CHECK(grows(two, 2, 1024, NULL) == 0);      /* 2 snapshots: too few */
	CHECK(grows(three, 3, 1024, &slope) == 1 && slope == 1024.0);
	CHECK(grows(under, 3, 31, NULL) == 0);      /* rose 1023 B */
	CHECK(grows(kib, 3, 32, NULL) == 1);        /* rose 1024 B */
	CHECK(grows(dip_ok, 7, 50, NULL) == 1);     /* dropped 500, 10% of the rise */
	CHECK(grows(dip_big, 7, 50, NULL) == 0);    /* dropped 550 */
	CHECK(grows(late, 4, 100, NULL) == 0);      /* R^2 0.6 */
	CHECK(grows(ramp, 4, 100, NULL) == 1);      /* R^2 0.89 */
	PASS();
out:
	return;
}

static void test_tasks(void)
{
	struct ms_registry *r = ms_registry_new(NULL);
	struct ms_ev_task t;
	struct ms_ev_name nm;
	const struct ms_task *tk;
	size_t n, i;

	memset(&t, 0, sizeof(t));
	hdr(&t.h, MS_EV_TASK_SPAWN, sizeof(t), 1, 0, 0);
	t.id = 1;
	t.other = 2;
	ms_registry_consume(r, &t, sizeof(t));
	memset(&nm, 0, sizeof(nm));
	hdr(&nm.h, MS_EV_TASK_NAME, sizeof(nm), 1, 0, 0);
	nm.id = 2;
	nm.len = 4;
	memcpy(nm.text, "conn", 4);
	ms_registry_consume(r, &nm, sizeof(nm));
	/* task 2 runs on two threads, allocating on both */
	heap(r, MS_EV_ALLOC, 1, 0, 2, 0x100, 50, 0, 0);
	heap(r, MS_EV_ALLOC, 2, 0, 2, 0x200, 70, 0, 0);
	heap(r, MS_EV_FREE, 3, 0, 0, 0x100, 50, 0, MS_F_KNOWN); /* freed elsewhere */
	hdr(&t.h, MS_EV_TASK_END, sizeof(t), 2, 0, 0);
	t.id = 2;
	ms_registry_consume(r, &t, sizeof(t));
	tk = ms_registry_tasks(r, &n);
	for (i = 0; i < n && tk[i].id != 2; i++)
		;
	CHECK(i < n);
	CHECK(tk[i].parent == 1);
	CHECK(strcmp(ms_registry_str(r, tk[i].name), "conn") == 0);
	CHECK(tk[i].allocs == 2 && tk[i].alloc_bytes == 120);
	CHECK(tk[i].frees == 1 && tk[i].freed_bytes == 50);
	CHECK(tk[i].live_bytes == 70 && tk[i].peak_live_bytes == 120);
	CHECK(tk[i].nthreads == 2 && tk[i].ended_ns);
	PASS();
out:
	ms_registry_free(r);
}

static void test_garbage(void)
{
	struct ms_registry *r = ms_registry_new(NULL);
	unsigned char buf[512];
	size_t i;

	srand(1);
	for (i = 0; i < 20000; i++) {
		size_t len = (size_t)rand() % sizeof(buf), k;

		for (k = 0; k < len; k++)
			buf[k] = (unsigned char)rand();
		if (len >= 2)
			buf[0] = (unsigned char)(rand() % (MS_EV_TYPE_MAX + 1)), buf[1] = 0;
		ms_registry_consume(r, buf + (i & 3), len > 4 ? len - 4 : len);
	}
	CHECK(ms_registry_summary(r)->bad_records > 0);
	PASS();
out:
	ms_registry_free(r);
}

static void test_fold_bounds_memory(void)
{
	struct ms_reg_opts o = { .keep = 100 };
	struct ms_registry *r = ms_registry_new(&o);
	const struct ms_agg *g;
	const struct ms_var *v;
	size_t n, i;
	uint64_t id;

	str(r, 0x50, "tmp");
	str(r, 0x60, "held");
	heap(r, MS_EV_ALLOC, 1, 0, 0, 0x9000, 64, 0, 0);
	var(r, 1, 0, 0x60, 8, 0x9000, 0); /* names a live block: never folded */
	for (id = 1; id <= 10000; id++) {
		enter(r, 1, id, 0, 0x50);
		var(r, 1, id, 0x50, 4, 0, 0);
		leave(r, 1, id);
		/* folding keeps the newest --keep records, never fewer */
		ms_registry_scopes(r, &n);
		CHECK(n >= (id < 100 ? id : 100));
		ms_registry_vars(r, &n);
		CHECK(n >= (id < 100 ? id : 100));
	}
	ms_registry_vars(r, &n);
	CHECK(n <= 2 * 100 + 1);
	ms_registry_scopes(r, &n);
	CHECK(n <= 2 * 100 + 1);
	CHECK(ms_registry_summary(r)->folded_vars + ms_registry_vars(r, &n) - ms_registry_vars(r, &n) > 9000);
	v = ms_registry_vars(r, &n);
	for (i = 0; i < n && strcmp(ms_registry_str(r, v[i].name), "held"); i++)
		;
	CHECK(i < n && v[i].has_heap);
	{
		size_t nb, k;
		const struct ms_block *b = ms_registry_blocks(r, &nb);

		for (k = 0; k < nb && !(b[k].used && b[k].addr == 0x9000); k++)
			;
		CHECK(k < nb && ms_registry_block_var(r, &b[k]) == &v[i]);
	}
	g = ms_registry_aggs(r, &n);
	CHECK(n == 2); /* tmp variable, tmp scope */
	CHECK(g[0].count + g[1].count == ms_registry_summary(r)->folded_vars +
						 ms_registry_summary(r)->folded_scopes);
	PASS();
out:
	ms_registry_free(r);
}

/* Every connection named apart ("conn-N"), 200,000 of them, ended: the
 * names of folded tasks must not pile up (they did: the 1-hour soak's
 * tracer grew by ~4 MiB a minute). */
static void test_task_names_bounded(void)
{
	struct ms_reg_opts o = { .keep = 100 };
	struct ms_registry *r = ms_registry_new(&o);
	struct ms_ev_task t;
	struct ms_ev_name nm;
	const struct ms_task *tk;
	size_t n, i, named = 0;
	uint64_t id;

	for (id = 1; id <= 200000; id++) {
		memset(&nm, 0, sizeof(nm));
		hdr(&nm.h, MS_EV_TASK_NAME, sizeof(nm), 1, 0, 0);
		nm.id = id;
		nm.len = (uint32_t)snprintf(nm.text, sizeof(nm.text), "conn-%llu", (unsigned long long)id);
		ms_registry_consume(r, &nm, sizeof(nm));
		memset(&t, 0, sizeof(t));
		hdr(&t.h, MS_EV_TASK_END, sizeof(t), 1, 0, 0);
		t.id = id;
		ms_registry_consume(r, &t, sizeof(t));
	}
	tk = ms_registry_tasks(r, &n);
	CHECK(n <= 2 * 100 + 1);
	CHECK(ms_registry_summary(r)->folded_tasks >= 199000);
	/* 200,000 names take ~2.3 MB; what is held needs ~1,000 of them plus
	 * the 10,000 aggregate names */
	CHECK(ms_registry_string_bytes(r) < 400000);
	for (i = 0; i < n; i++) {
		char want[32];

		snprintf(want, sizeof(want), "conn-%llu", (unsigned long long)tk[i].id);
		named += ms_registry_str(r, tk[i].name) && !strcmp(ms_registry_str(r, tk[i].name), want);
	}
	CHECK(named == n);
	PASS();
out:
	ms_registry_free(r);
}

/* A target gone before the tracer asked (read_mem fails), whose files
 * are found later (read_gone, once `found` is set): one string per address. */
struct fake_mem {
	int found, reads, gone_reads;
};

static ssize_t fake_read(void *user, uint32_t pid, uint64_t addr, void *buf, size_t len)
{
	struct fake_mem *m = user;

	(void)pid, (void)addr, (void)buf, (void)len;
	m->reads++;
	return -3; /* -ESRCH */
}

static ssize_t fake_gone(void *user, uint32_t pid, uint64_t addr, void *buf, size_t len)
{
	struct fake_mem *m = user;

	(void)pid;
	m->gone_reads++;
	if (!m->found)
		return -2; /* -ENOENT */
	return snprintf(buf, len, "s%llx", (unsigned long long)addr);
}

static void fault(struct ms_registry *r, uint64_t ptr)
{
	struct ms_ev_string e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, MS_EV_STRING, sizeof(e), 1, 0, 0);
	e.h.flags = MS_F_FAULT;
	e.ptr = ptr;
	ms_registry_consume(r, &e, sizeof(e));
}

/* A string BPF could not read, of a target gone before the tracer asked:
 * "?" until settle can read it from the files, then the text, for every
 * record naming it; never the text of another image once the process has
 * exec'd; the live process is not asked again (its pid may be reused). */
static struct ms_registry *registry_of_gone(struct fake_mem *m)
{
	struct ms_reg_opts o = { .read_mem = fake_read, .read_gone = fake_gone, .user = m };

	return ms_registry_new(&o);
}

static void test_unread_strings_resolved_late(void)
{
	struct fake_mem m = { 0 };
	struct ms_registry *r = registry_of_gone(&m);
	const struct ms_var *v;
	size_t n;

	fault(r, 0xa0);
	fault(r, 0xa0); /* sent again: BPF's table of sent strings was full */
	var(r, 1, 0, 0xa0, 8, 0, 0);
	var(r, 1, 0, 0xa0, 8, 0, 0);
	var(r, 1, 0, 0xb0, 8, 0, 0); /* its string record was dropped */
	v = ms_registry_vars(r, &n);
	CHECK(n == 3);
	CHECK(strcmp(ms_registry_str(r, v[0].name), "?") == 0);
	CHECK(ms_registry_summary(r)->string_faults == 2);
	CHECK(m.reads == 2); /* once per address, not per record */
	CHECK(ms_registry_resolve_strings(r) == 2 && m.gone_reads == 2);
	m.found = 1;
	ms_registry_settle(r);
	CHECK(strcmp(ms_registry_str(r, v[0].name), "sa0") == 0);
	CHECK(strcmp(ms_registry_str(r, v[1].name), "sa0") == 0);
	CHECK(strcmp(ms_registry_str(r, v[2].name), "sb0") == 0);
	CHECK(ms_registry_resolve_strings(r) == 0);
	CHECK(m.reads == 2); /* settle asked the files only */
	/* after an exec the old image's addresses are not to be read */
	m.found = 0;
	var(r, 1, 0, 0xc0, 8, 0, 0);
	ms_registry_forget_pid_strings(r, 100);
	m.found = 1;
	ms_registry_settle(r);
	v = ms_registry_vars(r, &n);
	CHECK(strcmp(ms_registry_str(r, v[3].name), "?") == 0);
	CHECK(strcmp(ms_registry_str(r, v[0].name), "sa0") == 0);
	/* an offset that names no pending string reads as none */
	CHECK(ms_registry_str(r, (1u << 30) | 12345) == NULL);
	PASS();
out:
	ms_registry_free(r);
}

/* Unreadable strings are bounded: past the cap they share one "?". */
static void test_unread_strings_bounded(void)
{
	struct fake_mem m = { 0 };
	struct ms_registry *r = registry_of_gone(&m);
	const struct ms_var *v;
	uint64_t i;
	size_t n;

	for (i = 0; i < 70000; i++)
		var(r, 1, 0, 0x1000 + i, 8, 0, 0);
	v = ms_registry_vars(r, &n);
	CHECK(n == 70000);
	CHECK(v[0].name != v[1].name);          /* each its own, while under the cap */
	CHECK(v[69998].name == v[69999].name);  /* past it, one shared "?" */
	CHECK(strcmp(ms_registry_str(r, v[69999].name), "?") == 0);
	m.found = 1;
	CHECK(ms_registry_resolve_strings(r) == 0);
	CHECK(strcmp(ms_registry_str(r, v[0].name), "s1000") == 0);
	PASS();
out:
	ms_registry_free(r);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* FAIL lines survive a sanitizer exit */
	test_task_names_bounded();
	test_fold_bounds_memory();
	test_nesting_across_threads();
	test_exit_without_enter();
	test_event_after_scope_closed();
	test_thread_exit_closes_scopes();
	test_heap_join();
	test_bad_frees();
	test_bookkeeping_frees();
	test_growth_rule();
	test_tasks();
	test_garbage();
	test_unread_strings_resolved_late();
	test_unread_strings_bounded();
	return failed ? 1 : 0;
}
