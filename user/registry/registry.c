/* SPDX-License-Identifier: BSD-3-Clause */
/* registry.c - record dispatch, target strings, variables, scopes and
 * threads. See registry.h for the contract. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "registry/registry_int.h"

struct ms_registry *ms_registry_new(const struct ms_reg_opts *opts)
{
	struct ms_registry *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (opts)
		r->opts = *opts;
	if (!r->opts.temp_ns)
		r->opts.temp_ns = 1000000; /* 1 ms */
	if (!r->opts.keep)
		r->opts.keep = 100000;
	r->timeline_step = 1000000;        /* 1 ms, doubles as needed */
	return r;
}

void ms_registry_free(struct ms_registry *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->threads.n; i++)
		free(r->threads.v[i].open.v);
	for (i = 0; i < r->stacks.n; i++)
		free(r->stacks.v[i].ips);
	ms_reg_heap_free_all(r);
	ms_reg_leakcheck_free(r);
	ms_reg_fold_free(r);
	ms_reg_snapshots_free(r);
	free(r->vars.v);
	free(r->execs.v);
	free(r->pending.v);
	free(r->scopes.v);
	free(r->threads.v);
	free(r->tasks.v);
	free(r->stacks.v);
	ms_hm_free(&r->target_strs);
	ms_hm_free(&r->scope_idx);
	ms_hm_free(&r->thread_idx);
	ms_hm_free(&r->task_idx);
	ms_hm_free(&r->stack_idx);
	ms_strtab_free(&r->strs);
	ms_strtab_free(&r->tnames);
	free(r);
}

/* ---- strings ------------------------------------------------------------ */

uint32_t ms_reg_intern(struct ms_registry *r, const char *s, size_t n)
{
	uint32_t off = ms_str_intern(&r->strs, s, n);

	return off < MS_PENDING ? off : 0;
}

static uint32_t str_keep(struct ms_registry *r, uint32_t pid, uint64_t ptr, const char *s, size_t n)
{
	uint32_t off = ms_reg_intern(r, s, n);

	if (off)
		ms_hm_put(&r->target_strs, pid, ptr, off);
	return off;
}

/* Read a string from the target itself; if that fails (it has exited),
 * hand out a pending offset that ms_registry_resolve_strings() may fill
 * in later (past MS_PENDING_MAX of them, a shared "?"). 0 only when out
 * of memory. */
static uint32_t str_read(struct ms_registry *r, uint32_t pid, uint64_t ptr)
{
	struct ms_pending_str *p;
	char buf[MS_STR_MAX];
	ssize_t n = -ENOSYS;
	uint32_t off;

	if (r->opts.read_mem)
		n = r->opts.read_mem(r->opts.user, pid, ptr, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		return str_keep(r, pid, ptr, buf, (size_t)n);
	}
	if (r->pending.n >= MS_PENDING_MAX || MS_VEC_PUSH(r->pending, p))
		return ms_reg_intern(r, "?", 1);
	*p = (struct ms_pending_str){ .ptr = ptr, .pid = pid };
	off = MS_PENDING | (uint32_t)(r->pending.n - 1);
	ms_hm_put(&r->target_strs, pid, ptr, off);
	return off;
}

static void string_record(struct ms_registry *r, const struct ms_ev_string *e)
{
	if (e->h.flags & MS_F_FAULT) {
		/* BPF could not read it (page not faulted in yet); read it
		 * from the target now, while it is most likely alive (once
		 * per address: BPF sends it again on every hit once its own
		 * table of sent strings is full). */
		r->sum.string_faults++;
		ms_reg_target_str(r, e->h.pid, e->ptr);
		return;
	}
	str_keep(r, e->h.pid, e->ptr, e->text, e->len < MS_STR_MAX ? e->len : MS_STR_MAX - 1);
}

void ms_registry_forget_pid_strings(struct ms_registry *r, uint32_t pid)
{
	size_t i;

	/* deleting shifts entries backwards: rescan the slot after a delete */
	for (i = 0; i < r->target_strs.cap;) {
		struct ms_hslot *sl = &r->target_strs.slots[i];

		if (sl->used && sl->k.a == pid && ms_hm_del(&r->target_strs, sl->k.a, sl->k.b, NULL))
			continue;
		i++;
	}
	for (i = 0; i < r->pending.n; i++)
		if (r->pending.v[i].pid == pid)
			r->pending.v[i].stale = 1;
}

size_t ms_registry_resolve_strings(struct ms_registry *r)
{
	char buf[MS_STR_MAX];
	size_t i, left = 0;
	ssize_t n;

	for (i = 0; i < r->pending.n; i++) {
		struct ms_pending_str *p = &r->pending.v[i];

		if (p->off || p->stale)
			continue;
		n = r->opts.read_gone ? r->opts.read_gone(r->opts.user, p->pid, p->ptr, buf, sizeof(buf) - 1) : -ENOSYS;
		if (n > 0) {
			buf[n] = 0;
			p->off = ms_reg_intern(r, buf, (size_t)n);
		}
		left += !p->off;
	}
	return left;
}

uint32_t ms_reg_target_str(struct ms_registry *r, uint32_t pid, uint64_t ptr)
{
	uint64_t *off;

	if (!ptr)
		return 0;
	off = ms_hm_get(&r->target_strs, pid, ptr);
	if (off)
		return (uint32_t)*off;
	/* Its MS_EV_STRING was dropped, or BPF could not read it: ask the
	 * target itself. */
	return str_read(r, pid, ptr);
}

/* ---- threads and scopes ------------------------------------------------- */

static struct ms_thread_state *thread_of(struct ms_registry *r, uint32_t pid, uint32_t tid)
{
	uint64_t *i = ms_hm_get(&r->thread_idx, tid, 0);
	struct ms_thread_state *t;

	if (i)
		return &r->threads.v[*i];
	if (MS_VEC_PUSH(r->threads, t))
		return NULL;
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->tid = tid;
	if (ms_hm_put(&r->thread_idx, tid, 0, r->threads.n - 1)) {
		r->threads.n--;
		return NULL;
	}
	return t;
}

struct ms_scope *ms_reg_scope(struct ms_registry *r, uint64_t id)
{
	uint64_t *i;

	if (!id)
		return NULL;
	i = ms_hm_get(&r->scope_idx, id, 0);
	return i ? &r->scopes.v[*i] : NULL;
}

static void scope_close(struct ms_registry *r, struct ms_scope *s, uint64_t ts, int by_thread)
{
	if (s->exit_ns)
		return;
	s->exit_ns = ts ? ts : 1;
	s->live_bytes_at_exit = s->live_bytes;
	s->closed_by_thread_exit = by_thread;
	(void)r;
}

static void scope_enter(struct ms_registry *r, const struct ms_ev_scope *e)
{
	struct ms_thread_state *t = thread_of(r, e->h.pid, e->h.tid);
	struct ms_scope *s;
	uint64_t *slot;

	if (!e->id || ms_reg_scope(r, e->id))
		return; /* ids are unique; a repeat is garbage */
	if (MS_VEC_PUSH(r->scopes, s))
		return;
	memset(s, 0, sizeof(*s));
	s->id = e->id;
	s->parent = ms_reg_scope(r, e->h.scope) ? e->h.scope : 0;
	/* past the BPF scope stack the record has no parent: the thread's
	 * innermost open scope is it */
	if (!s->parent && (e->h.flags & MS_F_DEEP) && t && t->open.n)
		s->parent = t->open.v[t->open.n - 1];
	s->name = ms_reg_target_str(r, e->h.pid, e->name);
	s->file = ms_reg_target_str(r, e->h.pid, e->file);
	s->line = e->line;
	s->depth = e->depth;
	s->pid = e->h.pid;
	s->tid = e->h.tid;
	s->task = e->h.task;
	s->enter_ns = e->h.ts_ns;
	if (ms_hm_put(&r->scope_idx, s->id, 0, r->scopes.n - 1)) {
		r->scopes.n--;
		return;
	}
	if (t && !MS_VEC_PUSH(t->open, slot))
		*slot = s->id;
}

static void scope_exit(struct ms_registry *r, const struct ms_ev_scope *e)
{
	struct ms_thread_state *t = thread_of(r, e->h.pid, e->h.tid);
	struct ms_scope *s = ms_reg_scope(r, e->id);
	size_t i;

	if (!e->id && (e->h.flags & MS_F_DEEP) && t && t->open.n) {
		/* deeper than the BPF scope stack: BPF lost the id, but the
		 * thread's innermost open scope is the one closing */
		s = ms_reg_scope(r, t->open.v[--t->open.n]);
		if (s)
			scope_close(r, s, e->h.ts_ns, 0);
		return;
	}
	if (!e->id) {
		r->sum.unmatched_scope_exits++;
		return;
	}
	if (!s)
		return; /* its enter was dropped */
	scope_close(r, s, e->h.ts_ns, 0);
	if (!t)
		return;
	/* Normally the innermost; search in case records were dropped. */
	for (i = t->open.n; i-- > 0;) {
		if (t->open.v[i] == e->id) {
			t->open.n = i;
			break;
		}
	}
}

static void thread_exit(struct ms_registry *r, const struct ms_ev_proc *e)
{
	uint64_t *i = ms_hm_get(&r->thread_idx, e->h.tid, 0);
	struct ms_thread_state *t;
	size_t k;

	if (!i)
		return;
	t = &r->threads.v[*i];
	/* Scopes a thread left open end with it. */
	for (k = t->open.n; k-- > 0;) {
		struct ms_scope *s = ms_reg_scope(r, t->open.v[k]);

		if (s)
			scope_close(r, s, e->h.ts_ns, 1);
	}
	t->open.n = 0;
}

/* ---- variables ---------------------------------------------------------- */

static void var_record(struct ms_registry *r, const struct ms_ev_var *e)
{
	struct ms_var *v;
	struct ms_scope *s;

	if (MS_VEC_PUSH(r->vars, v))
		return;
	/* every field written once, no memset first (a rep stos per record) */
	*v = (struct ms_var){
		.id = ++r->next_var_id, /* unique when older records fold out */
		.name = ms_reg_target_str(r, e->h.pid, e->name),
		.type = ms_reg_target_str(r, e->h.pid, e->type),
		.file = ms_reg_target_str(r, e->h.pid, e->file),
		.line = (uint32_t)e->line,
		.addr = e->addr,
		.size = e->size,
		.has_value = e->size == sizeof(uint64_t),
		.value = e->size == sizeof(uint64_t) ? e->value : 0,
		.pid = e->h.pid,
		.tid = e->h.tid,
		.task = e->h.task,
		.first_ns = e->h.ts_ns,
	};
	s = ms_reg_scope(r, e->h.scope);
	if (s) {
		v->scope = s->id;
		s->nvars++;
	} else if (e->h.scope) {
		r->sum.unknown_scope_refs++;
	}
	if (v->has_value)
		ms_reg_link_var(r, v, r->vars.n - 1);
	if (e->h.task) {
		struct ms_task *t = ms_reg_task(r, e->h.pid, e->h.task, 1);

		if (t)
			t->nvars++;
	}
}

/* ---- execs -------------------------------------------------------------- */

static void exec_record(struct ms_registry *r, const struct ms_ev_exec_file *e)
{
	struct ms_exec *x;

	r->sum.execs++;
	if (r->execs.n >= MS_EXEC_MAX || MS_VEC_PUSH(r->execs, x))
		return;
	*x = (struct ms_exec){ .pid = e->h.pid, .tid = e->h.tid, .ts_ns = e->h.ts_ns,
			       .scope = e->h.scope, .task = e->h.task,
			       .path = ms_reg_intern(r, e->path, e->len < MS_STR_MAX ? e->len : MS_STR_MAX - 1) };
}

const struct ms_exec *ms_registry_execs(const struct ms_registry *r, size_t *n)
{
	*n = r->execs.n;
	return r->execs.v;
}

/* ---- dispatch ----------------------------------------------------------- */

static const uint32_t min_size[MS_EV_TYPE_MAX] = {
	[MS_EV_STRING] = sizeof(struct ms_ev_string),
	[MS_EV_VAR] = sizeof(struct ms_ev_var),
	[MS_EV_SCOPE_ENTER] = sizeof(struct ms_ev_scope),
	[MS_EV_SCOPE_EXIT] = sizeof(struct ms_ev_scope),
	[MS_EV_ALLOC] = sizeof(struct ms_ev_heap),
	[MS_EV_FREE] = sizeof(struct ms_ev_heap),
	[MS_EV_REALLOC] = sizeof(struct ms_ev_heap),
	[MS_EV_TASK_ENTER] = sizeof(struct ms_ev_task),
	[MS_EV_TASK_EXIT] = sizeof(struct ms_ev_task),
	[MS_EV_TASK_NAME] = sizeof(struct ms_ev_name),
	[MS_EV_TASK_SPAWN] = sizeof(struct ms_ev_task),
	[MS_EV_TASK_END] = sizeof(struct ms_ev_task),
	[MS_EV_SNAPSHOT] = sizeof(struct ms_ev_name),
	[MS_EV_PROC_EXIT] = sizeof(struct ms_ev_proc),
	[MS_EV_THREAD_EXIT] = sizeof(struct ms_ev_proc),
	[MS_EV_FORK] = sizeof(struct ms_ev_proc),
	[MS_EV_EXEC] = sizeof(struct ms_ev_proc),
	[MS_EV_LIVE] = sizeof(struct ms_ev_heap),
	[MS_EV_VMA] = sizeof(struct ms_ev_vma),
	[MS_EV_UNW_MISS] = sizeof(struct ms_ev_unw_miss),
	[MS_EV_LINKMAP] = sizeof(struct ms_ev_proc),
	[MS_EV_EXEC_FILE] = sizeof(struct ms_ev_exec_file),
};

union ms_any {
	struct ms_hdr h;
	struct ms_ev_string s;
	struct ms_ev_var v;
	struct ms_ev_scope sc;
	struct ms_ev_heap hp;
	struct ms_ev_task t;
	struct ms_ev_name n;
	struct ms_ev_proc p;
	struct ms_ev_vma vm;
	struct ms_ev_unw_miss um;
	struct ms_ev_exec_file x;
};

int ms_registry_consume(struct ms_registry *r, const void *raw, size_t len)
{
	union ms_any u;
	const void *rec = &u;
	struct ms_hdr h;

	if (len < sizeof(h))
		goto bad;
	memcpy(&h, raw, sizeof(h));
	if (h.type == 0 || h.type >= MS_EV_TYPE_MAX || len < min_size[h.type])
		goto bad;
	/* Work on an aligned copy: replayed or fuzzed records may sit at any
	 * address. Each handler reads its own record type, all of whose
	 * min_size bytes are there: copy just those (zeroing and copying the
	 * whole union was 3/4 of the tracer's time per TRACK_VAR record). */
	memcpy(&u, raw, min_size[h.type]);
	r->sum.records++;
	if (h.ts_ns) {
		if (!r->sum.first_ns || h.ts_ns < r->sum.first_ns)
			r->sum.first_ns = h.ts_ns;
		if (h.ts_ns > r->sum.last_ns)
			r->sum.last_ns = h.ts_ns;
	}
	if (h.task && h.type != MS_EV_STRING && h.type != MS_EV_LIVE)
		ms_reg_task_touch(r, &h);
	switch (h.type) {
	case MS_EV_STRING:
		string_record(r, rec);
		break;
	case MS_EV_VAR:
		var_record(r, rec);
		break;
	case MS_EV_SCOPE_ENTER:
		scope_enter(r, rec);
		break;
	case MS_EV_SCOPE_EXIT:
		scope_exit(r, rec);
		break;
	case MS_EV_ALLOC:
	case MS_EV_FREE:
	case MS_EV_REALLOC:
	case MS_EV_LIVE:
		ms_reg_heap_record(r, &h, rec, len);
		break;
	case MS_EV_TASK_ENTER:
	case MS_EV_TASK_EXIT:
	case MS_EV_TASK_NAME:
	case MS_EV_TASK_SPAWN:
	case MS_EV_TASK_END:
		ms_reg_task_record(r, &h, rec, len);
		break;
	case MS_EV_SNAPSHOT: {
		/* MEMSCOPE_SNAPSHOT(label) from the target */
		const struct ms_ev_name *n = rec;
		char label[MS_NAME_MAX];
		size_t nl = n->len < MS_NAME_MAX ? n->len : MS_NAME_MAX - 1;

		memcpy(label, n->text, nl);
		label[nl] = 0;
		ms_registry_snapshot(r, h.ts_ns, label);
		break;
	}
	case MS_EV_THREAD_EXIT:
		thread_exit(r, rec);
		break;
	case MS_EV_EXEC_FILE:
		exec_record(r, rec);
		break;
	case MS_EV_PROC_EXIT:
		thread_exit(r, rec);
		r->sum.proc_exited = 1;
		r->sum.exit_code = ((const struct ms_ev_proc *)rec)->exit_code;
		break;
	default:
		break;
	}
	/* Any record may create a variable, scope or task (a task is created
	 * by its name, or by the first record that runs in it): three
	 * compares, a compaction only when an array doubled. */
	ms_reg_fold_maybe(r);
	return 0;
bad:
	r->sum.bad_records++;
	return -EINVAL;
}

/* ---- stacks ------------------------------------------------------------- */

int ms_registry_add_stack(struct ms_registry *r, uint32_t pid, int32_t id,
			  const uint64_t *ips, uint32_t n, unsigned end)
{
	struct ms_stack *s;

	if (id < 0 || ms_hm_get(&r->stack_idx, pid, (uint32_t)id))
		return 0;
	if (MS_VEC_PUSH(r->stacks, s))
		return -ENOMEM;
	s->pid = pid;
	s->id = id;
	s->n = n;
	s->end = end < MS_UNW_END_MAX ? (uint8_t)end : MS_UNW_END_MAX;
	s->ips = n ? malloc(n * sizeof(*ips)) : NULL;
	if (n && !s->ips) {
		r->stacks.n--;
		return -ENOMEM;
	}
	if (n)
		memcpy(s->ips, ips, n * sizeof(*ips));
	if (ms_hm_put(&r->stack_idx, pid, (uint32_t)id, r->stacks.n - 1)) {
		free(s->ips);
		r->stacks.n--;
		return -ENOMEM;
	}
	if (ms_stack_truncated(s))
		r->sum.truncated_stacks++;
	return 0;
}

int ms_registry_has_stack(const struct ms_registry *r, uint32_t pid, int32_t id)
{
	return id >= 0 && ms_hm_get(&r->stack_idx, pid, (uint32_t)id) != NULL;
}

const struct ms_stack *ms_registry_stack(const struct ms_registry *r, uint32_t pid, int32_t id)
{
	uint64_t *i;

	if (id < 0)
		return NULL;
	i = ms_hm_get(&r->stack_idx, pid, (uint32_t)id);
	return i ? &r->stacks.v[*i] : NULL;
}

/* ---- read side ---------------------------------------------------------- */

const struct ms_summary *ms_registry_summary(const struct ms_registry *r)
{
	return &r->sum;
}

size_t ms_registry_string_bytes(const struct ms_registry *r)
{
	return r->strs.len + r->tnames.len;
}

const char *ms_registry_str(const struct ms_registry *r, uint32_t off)
{
	if (off & MS_TNAME)
		return ms_str_get(&r->tnames, off & ~MS_TNAME);
	if (off & MS_PENDING) {
		const struct ms_pending_str *p;

		if ((off & ~MS_PENDING) >= r->pending.n)
			return NULL;
		p = &r->pending.v[off & ~MS_PENDING];
		return p->off ? ms_str_get(&r->strs, p->off) : "?";
	}
	return ms_str_get(&r->strs, off);
}

const struct ms_var *ms_registry_vars(const struct ms_registry *r, size_t *n)
{
	*n = r->vars.n;
	return r->vars.v;
}

const struct ms_scope *ms_registry_scopes(const struct ms_registry *r, size_t *n)
{
	*n = r->scopes.n;
	return r->scopes.v;
}

const struct ms_scope *ms_registry_scope(const struct ms_registry *r, uint64_t id)
{
	return ms_reg_scope((struct ms_registry *)r, id);
}

const struct ms_task *ms_registry_tasks(const struct ms_registry *r, size_t *n)
{
	*n = r->tasks.n;
	return r->tasks.v;
}

const struct ms_block *ms_registry_blocks(const struct ms_registry *r, size_t *n)
{
	*n = r->blocks.n;
	return r->blocks.v;
}

const struct ms_site *ms_registry_sites(const struct ms_registry *r, size_t *n)
{
	*n = r->sites.n;
	return r->sites.v;
}

const struct ms_bad_free *ms_registry_bad_frees(const struct ms_registry *r, size_t *n)
{
	*n = r->bad.n;
	return r->bad.v;
}

const uint64_t *ms_registry_size_hist(const struct ms_registry *r)
{
	return r->size_hist;
}

const uint64_t *ms_registry_lifetime_hist(const struct ms_registry *r)
{
	return r->life_hist;
}

const struct ms_point *ms_registry_timeline(const struct ms_registry *r, size_t *n)
{
	*n = r->ntimeline;
	return r->timeline;
}

const struct ms_var *ms_registry_block_var(const struct ms_registry *r, const struct ms_block *b)
{
	if (b->var < 0 || (size_t)b->var >= r->vars.n)
		return NULL;
	return &r->vars.v[b->var];
}
