/* SPDX-License-Identifier: BSD-3-Clause */
/* registry_task.c - logical tasks (MEMSCOPE_TASK_*): identity, names,
 * parents, the threads they ran on, and their memory. */
#include <string.h>
#include "registry/registry_int.h"

struct ms_task *ms_reg_task(struct ms_registry *r, uint32_t pid, uint64_t id, int create)
{
	uint64_t *i;
	struct ms_task *t;

	if (!id)
		return NULL;
	i = ms_hm_get(&r->task_idx, pid, id);
	if (i)
		return &r->tasks.v[*i];
	if (!create || MS_VEC_PUSH(r->tasks, t))
		return NULL;
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->pid = pid;
	if (ms_hm_put(&r->task_idx, pid, id, r->tasks.n - 1)) {
		r->tasks.n--;
		return NULL;
	}
	return t;
}

static void task_thread(struct ms_task *t, uint32_t tid)
{
	uint32_t i;

	for (i = 0; i < t->nthreads; i++)
		if (t->threads[i] == tid)
			return;
	if (t->nthreads < MS_TASK_THREADS)
		t->threads[t->nthreads++] = tid;
}

static void task_seen(struct ms_task *t, const struct ms_hdr *h)
{
	if (!t->first_ns || h->ts_ns < t->first_ns)
		t->first_ns = h->ts_ns;
	if (h->ts_ns > t->last_ns)
		t->last_ns = h->ts_ns;
}

/* Any record made while a task runs: the task ran on this thread then. */
void ms_reg_task_touch(struct ms_registry *r, const struct ms_hdr *h)
{
	struct ms_task *t = ms_reg_task(r, h->pid, h->task, 1);

	if (!t)
		return;
	task_seen(t, h);
	task_thread(t, h->tid);
}

static uint32_t task_name(struct ms_registry *r, const char *s, size_t n)
{
	uint32_t off = ms_str_intern(&r->tnames, s, n);

	return off ? MS_TNAME | off : 0;
}

void ms_reg_task_record(struct ms_registry *r, const struct ms_hdr *h, const void *rec, size_t len)
{
	const struct ms_ev_task *e = rec;
	const struct ms_ev_name *n = rec;
	struct ms_task *t, *c;

	(void)len;
	t = ms_reg_task(r, h->pid, e->id, 1);
	if (!t)
		return;
	switch (h->type) {
	case MS_EV_TASK_ENTER:
		task_seen(t, h);
		task_thread(t, h->tid);
		break;
	case MS_EV_TASK_EXIT:
		task_seen(t, h);
		break;
	case MS_EV_TASK_NAME:
		if (h->flags & MS_F_FAULT) {
			char buf[MS_NAME_MAX];
			ssize_t k = -1;

			if (r->opts.read_mem)
				k = r->opts.read_mem(r->opts.user, h->pid, n->ptr, buf, sizeof(buf) - 1);
			if (k > 0) {
				buf[k] = 0;
				t->name = task_name(r, buf, (size_t)k);
			}
		} else {
			t->name = task_name(r, n->text, n->len < MS_NAME_MAX ? n->len : MS_NAME_MAX - 1);
		}
		break;
	case MS_EV_TASK_SPAWN:
		c = ms_reg_task(r, h->pid, e->other, 1);
		t = ms_reg_task(r, h->pid, e->id, 0); /* the vector may have moved */
		if (c && t && c != t) {
			c->parent = t->id;
			if (!c->first_ns)
				c->first_ns = h->ts_ns;
		}
		break;
	case MS_EV_TASK_END:
		t->ended_ns = h->ts_ns;
		task_seen(t, h);
		break;
	}
}
