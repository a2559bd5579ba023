/* SPDX-License-Identifier: BSD-3-Clause */
/* sites.c - the probe sites in the target's memory: what -v reports and the
 * repair of fork children. See sites.h. */
#include "probe/sites.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proc/procmaps.h"
#include "proc/target.h"

/* What a site's first byte says, as last seen. */
enum site_state {
	ST_UNSEEN = 0,
	ST_FILE,      /* the file's bytes: no uprobe there (not attached, or removed) */
	ST_INT3,      /* cc: a uprobe that traps */
	ST_CALL,      /* e8 on a 5-byte site: optimized into a call */
	ST_OTHER,     /* anything else */
};

struct site_file {
	struct site_file *next;
	pid_t pid;
	char *path;
	struct ms_usdt_sites u;
	uint8_t *state; /* enum site_state per site */
};

struct ms_sites {
	struct site_file *head; /* newest first */
};

struct ms_sites *ms_sites_new(void)
{
	return calloc(1, sizeof(struct ms_sites));
}

static void file_free(struct site_file *f)
{
	free(f->path);
	free(f->state);
	ms_usdt_sites_free(&f->u);
	free(f);
}

void ms_sites_free(struct ms_sites *s)
{
	struct site_file *f, *next;

	if (!s)
		return;
	for (f = s->head; f; f = next) {
		next = f->next;
		file_free(f);
	}
	free(s);
}

int ms_sites_add(struct ms_sites *s, pid_t pid, const char *path, struct ms_usdt_sites *u,
		 FILE *log)
{
	struct site_file *f = calloc(1, sizeof(*f));
	size_t i;

	if (!f)
		return -ENOMEM;
	f->pid = pid;
	f->path = strdup(path);
	f->state = calloc(u->n ? u->n : 1, 1);
	if (!f->path || !f->state) {
		file_free(f);
		return -ENOMEM;
	}
	f->u = *u;
	memset(u, 0, sizeof(*u));
	f->next = s->head;
	s->head = f;
	for (i = 0; log && i < f->u.n; i++) {
		const struct ms_usdt_site *v = &f->u.v[i];

		fprintf(log, "memscope-trace: memscope:%s at 0x%" PRIx64 " in %s: %s (%s)\n", v->name,
			v->pc, path, ms_site_form_name(v->form),
			ms_site_form_optimizable(v->form) ?
				"the kernel turns it into a call after the first hit" :
				"an int3 trap on every hit");
	}
	return 0;
}

/* Read or write len bytes of pid's memory at addr. 0 or -errno. */
static int mem_io(pid_t pid, uint64_t addr, void *buf, size_t len, int write)
{
	char path[64];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write ? pwrite(fd, buf, len, (off_t)addr) : pread(fd, buf, len, (off_t)addr);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	close(fd);
	return err;
}

/* The load bias of `path` in pid (runtime address - ELF address), found by
 * device and inode. 0 or -ENOENT (not mapped), -ESRCH (gone). */
static int bias_of(pid_t pid, const char *path, uint64_t *bias)
{
	struct ms_maps m = { 0 };
	struct stat st;
	size_t i;
	int ret;

	if (stat(path, &st))
		return -errno;
	ret = ms_maps_read(pid, &m);
	if (ret)
		return ret;
	ret = -ENOENT;
	for (i = 0; i < m.n; i++) {
		if (m.mods[i].dev == st.st_dev && m.mods[i].ino == st.st_ino) {
			*bias = m.mods[i].bias;
			ret = 0;
			break;
		}
	}
	ms_maps_free(&m);
	return ret;
}

/* Bytes a uprobe may have changed at a site of this form. */
static size_t site_len(const struct ms_usdt_site *v)
{
	return ms_site_form_optimizable(v->form) ? 5 : 1;
}

static enum site_state state_of(const struct ms_usdt_site *v, const uint8_t *now)
{
	if (!memcmp(now, v->orig, site_len(v)))
		return ST_FILE;
	if (now[0] == 0xcc)
		return ST_INT3;
	if (now[0] == 0xe8 && ms_site_form_optimizable(v->form))
		return ST_CALL;
	return ST_OTHER;
}

static const char *state_text(enum site_state st)
{
	switch (st) {
	case ST_FILE: return "the file's bytes (no uprobe there now)";
	case ST_INT3: return "int3 trap (cc)";
	case ST_CALL: return "optimized: a call into the [uprobes-trampoline] page (e8)";
	default: return "unexpected bytes";
	}
}

void ms_sites_check(struct ms_sites *s, FILE *log, int final)
{
	struct site_file *f;
	size_t k;

	for (f = s->head; f; f = f->next) {
		size_t calls = 0, five = 0;
		uint64_t bias;

		if (bias_of(f->pid, f->path, &bias))
			continue; /* not mapped yet, or the process is gone */
		for (k = 0; k < f->u.n; k++) {
			const struct ms_usdt_site *v = &f->u.v[k];
			uint8_t now[5];
			enum site_state st;

			if (mem_io(f->pid, v->pc + bias, now, site_len(v), 0))
				break;
			st = state_of(v, now);
			five += ms_site_form_optimizable(v->form);
			calls += st == ST_CALL;
			if (st != f->state[k])
				fprintf(log, "memscope-trace: memscope:%s at 0x%" PRIx64 " in %s, PID %d: %s\n",
					v->name, v->pc, f->path, (int)f->pid, state_text(st));
			f->state[k] = (uint8_t)st;
		}
		if (final && k == f->u.n)
			fprintf(log,
				"memscope-trace: %s, PID %d: %zu of %zu 5-byte sites optimized into calls, "
				"%zu on other instructions (int3)%s\n",
				f->path, (int)f->pid, calls, five, f->u.n - five,
				ms_target_maps_has(f->pid, "[uprobes-trampoline]") == 1 ?
					"; [uprobes-trampoline] mapped" : "");
	}
}

/* armed: the sites stay probed by an attachment without a PID filter,
 * which the kernel does not re-arm in a fork child: each becomes the
 * kernel's int3 form (0xcc, then the nop's other bytes) and the inherited
 * semaphores stand (they count those very uprobes). */
static int adopt(pid_t pid, const char *path, const struct ms_usdt_sites *u, int armed)
{
	uint64_t bias, page = 0;
	uint8_t flag = 0, one = 1;
	uint16_t zero = 0;
	size_t i, j;
	int err;

	if (!u->alive || bias_of(pid, path, &bias))
		return 0;
	err = mem_io(pid, u->alive + bias, &page, sizeof(page), 0);
	if (err || !page)
		return err;
	err = mem_io(pid, page, &flag, 1, 0);
	if (err || flag)
		return err;
	/* A fork child: every site back to the file's bytes (it may hold the
	 * parent's int3s and calls into a page it does not have) ... */
	for (i = 0; i < u->n; i++) {
		const struct ms_usdt_site *v = &u->v[i];
		uint8_t now[5], want[5];

		memcpy(want, v->orig, site_len(v));
		if (armed)
			want[0] = 0xcc;
		err = mem_io(pid, v->pc + bias, now, site_len(v), 0);
		if (!err && memcmp(now, want, site_len(v)))
			err = mem_io(pid, v->pc + bias, want, site_len(v), 1);
		if (err)
			return err;
	}
	/* ... its semaphores to 0: the counts it inherited are the parent's
	 * uprobes, not its own; the kernel counts ours from here ... */
	for (i = 0; !armed && i < u->n; i++) {
		for (j = 0; j < i && u->v[j].sem != u->v[i].sem; j++)
			;
		if (u->v[i].sem && j == i && (err = mem_io(pid, u->v[i].sem + bias, &zero, sizeof(zero), 1)))
			return err;
	}
	/* ... and only then its sites may run again. */
	err = mem_io(pid, page, &one, 1, 1);
	return err ? err : 1;
}

int ms_sites_adopt(pid_t pid, const char *path, const struct ms_usdt_sites *u)
{
	return adopt(pid, path, u, 0);
}

int ms_sites_adopt_armed(pid_t pid, const char *path, const struct ms_usdt_sites *u)
{
	return adopt(pid, path, u, 1);
}
