/* SPDX-License-Identifier: BSD-3-Clause */
/* loader.c - open, configure, load and attach the BPF side; destroy it.
 * See loader.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "probe/loader.h"
#include "probe/tsc_clock.h"
#include "util/vec.h"
#include "elf/elf_syms.h"
#include "elf/ldso.h"
#include "elf/probe_place.h"
#include "elf/usdt_sites.h"
#include "probe/sites.h"
#include "probe/alloc_table.h"
#include "probe/calib.h"
#include "memscope.skel.h"

enum { LINK_USDT = 0, LINK_ALLOC, LINK_CALIB, LINK_EXIT };

/* A link: a libbpf one, or (link NULL) the fd of a uprobe_multi link that
 * libbpf 1.1 cannot create (see attach_multi()). pid -1: no PID filter. */
struct ms_link {
	int kind; /* LINK_* */
	pid_t pid;
	struct bpf_link *link;
	int fd;
};

/* An allocator program loaded again as a BPF_TRACE_UPROBE_MULTI program. */
struct multi_prog {
	const struct bpf_program *p;
	int fd;
};

/* Links of processes that are gone, destroyed by a thread of their own
 * (each takes a grace period in the kernel: tens of ms). */
struct reaper {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	int running, stop;
	MS_VEC(struct ms_link) gone;
};

struct ms_attached {
	pid_t pid;
	int kind; /* 0 = usdt, 1 = alloc, 2 = ld.so's debugger hook, 3 = a file's hook (PID -1) */
	int probed; /* kind 1: allocator functions were found and probed */
	dev_t dev;
	ino_t ino;
	char *path; /* kind 1: to attach again after a pause */
	uint64_t *offs; /* kind 1: file offsets of the probes */
	size_t noffs;
};

struct attach_job {
	struct ms_loader *l;
	pid_t pid;
	const char *path;
	const char *prog;
	uint64_t off;
	int ret;
	uint64_t cookie;
	struct bpf_link *link;
	int err;
};

/* Where the _exit and allocator probes of one file go (device and inode):
 * worked out once (ELF symbols, probe placement, cookies), then reused for
 * every process that maps the file - a followed child, a program exec'd
 * again, the probes put back after a budget pause - so holding one costs
 * the links only. */
struct alloc_plan {
	dev_t dev;
	ino_t ino;
	off_t size; /* and mtime: an inode number freed and reused is */
	struct timespec mtime; /* another file */
	size_t nr, ne, nfuncs;
	struct attach_job *jobs; /* nr return probes, then ne entries */
};

struct ms_loader {
	struct ms_loader_cfg cfg;
	struct memscope_bpf *skel;
	MS_VEC(struct ms_link) links;
	MS_VEC(struct ms_attached) done;
	int tp_attached;
	__u32 vslots; /* TRACK_VAR buffer slots per CPU, 0 = none */
	int ncpus;
	MS_VEC(struct ms_probe_info) probes; /* id - 1 -> probe */
	int alloc_paused; /* budget: allocator probes off for now */
	int reattaching;  /* putting them back: -v said it all the first time */
	int stats_fd;     /* BPF run-time statistics held on, or -1 */
	struct ms_sites *sites; /* -v: the attached sites, watched in the target */
	int no_multi; /* the kernel refused a uprobe_multi link: perf links */
	MS_VEC(struct multi_prog) mprogs;
	MS_VEC(struct alloc_plan) plans;
	struct reaper reap;
};

static int link_add(struct ms_loader *l, int kind, pid_t pid, struct bpf_link *link)
{
	struct ms_link *slot;

	if (MS_VEC_PUSH(l->links, slot)) {
		bpf_link__destroy(link);
		return -ENOMEM;
	}
	*slot = (struct ms_link){ .kind = kind, .pid = pid, .link = link, .fd = -1 };
	return 0;
}

/* Remember the fd of a raw (uprobe_multi) link. */
static int link_add_fd(struct ms_loader *l, int kind, pid_t pid, int fd)
{
	int err = link_add(l, kind, pid, NULL);

	if (err)
		close(fd);
	else
		l->links.v[l->links.n - 1].fd = fd;
	return err;
}

static void link_destroy(struct ms_link *k)
{
	if (k->link)
		bpf_link__destroy(k->link);
	else if (k->fd >= 0)
		close(k->fd); /* the last reference: the kernel unregisters */
}

/* 1 if (pid, file, kind) was attached before; else remembers it, 0. Files
 * are compared by device and inode: /lib/.../libc.so.6 and
 * /usr/lib/.../libc.so.6 (or /proc/PID/root/...) are one file, and probing
 * it twice would report every call twice. */
static int seen(struct ms_loader *l, pid_t pid, const char *path, int kind)
{
	struct ms_attached *a;
	struct stat st;
	size_t i;

	if (stat(path, &st))
		return 0;
	for (i = 0; i < l->done.n; i++)
		if (l->done.v[i].pid == pid && l->done.v[i].kind == kind &&
		    l->done.v[i].dev == st.st_dev && l->done.v[i].ino == st.st_ino)
			return 1;
	if (MS_VEC_PUSH(l->done, a))
		return 0;
	*a = (struct ms_attached){ .pid = pid, .kind = kind, .dev = st.st_dev, .ino = st.st_ino,
				   .path = kind == 1 ? strdup(path) : NULL };
	return 0;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	(void)fmt;
	(void)args;
	return 0;
}

static int libbpf_verbose(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* Slots in BPF's per-thread array (bpf/state.bpf.h): a power of two >=
 * pid_max, so that no two live threads share one, up to 32768 (~19 MiB);
 * past that, threads whose ids collide use task storage. A test forces a
 * number (cfg->test_thread_slots) so that threads share slots on any
 * machine. */
static __u32 thread_slots(const struct ms_loader_cfg *cfg)
{
	unsigned long pid_max = 32768;
	__u32 n = 1024;
	FILE *f;

	if (cfg->test_thread_slots)
		return cfg->test_thread_slots;
	f = fopen("/proc/sys/kernel/pid_max", "r");

	if (f) {
		if (fscanf(f, "%lu", &pid_max) != 1)
			pid_max = 32768;
		fclose(f);
	}
	while (n < pid_max && n < 32768)
		n <<= 1;
	return n;
}

/* TRACK_VAR buffer slots per CPU (bpf/memscope.bpf.c var_slot()): the
 * ring's size spread over the possible CPUs, a power of two in [64, 65536]
 * (104 B each). A test forces a number (cfg->test_var_slots >= 0), or 0:
 * every TRACK_VAR record then goes through the ring. */
static __u32 var_slots(const struct ms_loader_cfg *cfg, int ncpus)
{
	__u64 ring_bytes = cfg->ring_bytes;
	__u32 n = 64;

	if (cfg->test_var_slots >= 0)
		return (__u32)cfg->test_var_slots;
	while (n < 65536 && (__u64)n * 2 * sizeof(struct ms_vslot) * (__u64)ncpus <= ring_bytes)
		n <<= 1;
	return n;
}

/* A program of the allocator table's shapes (probe/alloc_table.h). */
static int is_alloc_prog(const struct bpf_program *p)
{
	const char *name = bpf_program__name(p);
	unsigned sh;

	for (sh = 0; sh < MS_SH_MAX; sh++)
		if (!strcmp(name, ms_alloc_shape_entry(sh)) ||
		    (ms_alloc_shape_return(sh) && !strcmp(name, ms_alloc_shape_return(sh))))
			return 1;
	return 0;
}

int ms_loader_open(struct ms_loader **out, const struct ms_loader_cfg *cfg)
{
	struct ms_loader *l;
	struct bpf_program *p;
	int err, depth, ncpus = libbpf_num_possible_cpus() > 0 ? libbpf_num_possible_cpus() : 1;
	__u32 slots;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->cfg = *cfg;
	l->stats_fd = -1;
	/* MEMSCOPE_TEST_NO_MULTI=1 (tests, bench): perf uprobe links, as on a
	 * kernel without uprobe_multi */
	l->no_multi = getenv("MEMSCOPE_TEST_NO_MULTI") != NULL;
	pthread_mutex_init(&l->reap.mu, NULL);
	pthread_cond_init(&l->reap.cv, NULL);
	libbpf_set_print(cfg->verbose ? libbpf_verbose : libbpf_quiet);
	l->skel = memscope_bpf__open();
	if (!l->skel) {
		err = -errno;
		fprintf(stderr, "memscope-trace: open BPF object: %s\n", strerror(-err));
		goto fail;
	}
	/* configure: the only place that writes rodata or sizes maps */
	depth = cfg->stack_depth;
	if (depth > MS_MAX_STACK_DEPTH)
		depth = MS_MAX_STACK_DEPTH;
	l->skel->rodata->cfg_mode = cfg->mode;
	l->skel->rodata->cfg_stack = depth > 0;
	l->skel->rodata->cfg_from_start = cfg->from_start;
	l->skel->rodata->cfg_follow = cfg->follow;
	/* A followed child is held until its allocator probes (per process)
	 * are attached and its memscope sites adopted (a fork child skips
	 * them until then, include/memscope.h) - in every mode; a traced
	 * process at exec and when ld.so has mapped new objects, until those
	 * are probed (bpf/hold.bpf.h). */
	l->skel->rodata->cfg_hold_fork = cfg->follow && cfg->hold;
	l->skel->rodata->cfg_hold_load = cfg->hold;
	l->skel->rodata->cfg_tracer_tgid = getpid();
	l->skel->rodata->cfg_wakeup_bytes = cfg->ring_bytes / 4;
	l->skel->rodata->cfg_ncpus = ncpus;
	l->skel->rodata->cfg_user_tsc = ms_tsc_usable();
	l->skel->rodata->cfg_hold_tgid = cfg->hold_tgid;
	bpf_map__set_max_entries(l->skel->maps.rb, cfg->ring_bytes);
	l->vslots = var_slots(cfg, ncpus);
	l->ncpus = ncpus;
	l->skel->rodata->cfg_vslots = l->vslots;
	bpf_map__set_max_entries(l->skel->maps.vslots, l->vslots ? l->vslots * ncpus : 1);
	bpf_map__set_max_entries(l->skel->maps.vcpus, ncpus);
	slots = thread_slots(cfg);
	l->skel->rodata->cfg_slot_mask = slots - 1;
	bpf_map__set_max_entries(l->skel->maps.thread_slots, slots);
	if (cfg->mode == MS_MODE_FULL) {
		/* full mode: the tracer keeps the live set; BPF a hint table
		 * (bpf/heap.bpf.h) of a power of two >= --max-live entries */
		__u32 n = 4096;

		while (n < cfg->max_live && n < (1u << 24))
			n <<= 1;
		l->skel->rodata->cfg_hint_mask = n - 1;
		bpf_map__set_max_entries(l->skel->maps.hints, n);
		bpf_map__set_max_entries(l->skel->maps.live, 1);
	} else {
		bpf_map__set_max_entries(l->skel->maps.live, cfg->max_live ? cfg->max_live : 1);
	}
	l->skel->rodata->cfg_stack_depth = depth > 0 ? depth : 1;
	l->skel->rodata->cfg_unwind = depth > 0 && !cfg->unwind_fp;
	if (l->skel->rodata->cfg_unwind) {
		/* rows (8 bytes) and their page index (8 bytes per 4 KiB page,
		 * ~1 per 80 rows in libc): 1/16 of the room for the index */
		__u64 nrows = cfg->unwind_bytes / 8 * 15 / 16, npages = cfg->unwind_bytes / 8 / 16;
		/* MEMSCOPE_TEST_UNWIND_ROWS=N (tests only): room for N rows, so
		 * that a test can overflow the tables with small files */
		const char *forced = getenv("MEMSCOPE_TEST_UNWIND_ROWS");

		if (forced && strtoul(forced, NULL, 10) > 0)
			nrows = strtoul(forced, NULL, 10);
		if (nrows < 64)
			nrows = 64;
		if (npages < 256)
			npages = 256;
		l->skel->rodata->cfg_unw_rows = (__u32)nrows;
		l->skel->rodata->cfg_unw_pages = (__u32)npages;
		bpf_map__set_max_entries(l->skel->maps.unw_rows, (__u32)nrows);
		bpf_map__set_max_entries(l->skel->maps.unw_pages, (__u32)npages);
		bpf_map__set_value_size(l->skel->maps.ustacks, 16 + depth * sizeof(__u64));
		bpf_map__set_max_entries(l->skel->maps.ustacks, cfg->max_stacks);
		bpf_map__set_value_size(l->skel->maps.stacks, sizeof(__u64));
		bpf_map__set_max_entries(l->skel->maps.stacks, 1);
	} else {
		bpf_map__set_value_size(l->skel->maps.ustacks, 16 + sizeof(__u64));
		bpf_map__set_max_entries(l->skel->maps.ustacks, 1);
		bpf_map__set_value_size(l->skel->maps.stacks, (depth > 0 ? depth : 1) * sizeof(__u64));
		bpf_map__set_max_entries(l->skel->maps.stacks, depth > 0 ? cfg->max_stacks : 1);
	}
	if (cfg->mode != MS_MODE_FAST)
		bpf_map__set_max_entries(l->skel->maps.sites, 1);
	if (cfg->mode == MS_MODE_LIGHT)
		bpf_program__set_autoload(l->skel->progs.exit_entry, false);
	if (cfg->mode == MS_MODE_LIGHT || !cfg->hold_tgid)
		bpf_program__set_autoload(l->skel->progs.exit_call, false);
	l->skel->rodata->cfg_floor = cfg->floor;
	bpf_object__for_each_program(p, l->skel->obj) {
		if (is_alloc_prog(p) &&
		    (cfg->no_alloc || cfg->mode == MS_MODE_LIGHT || cfg->mode == MS_MODE_SAMPLED))
			bpf_program__set_autoload(p, false);
	}
	err = memscope_bpf__load(l->skel);
	if (err) {
		fprintf(stderr, "memscope-trace: load BPF programs: %s\n", strerror(-err));
		goto fail;
	}
	/* The programs' run time, for the cost estimate: the kernel counts it
	 * while someone holds this fd (~20-40 ns a run of two clock reads). */
	l->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (l->stats_fd < 0 && cfg->verbose)
		fprintf(stderr, "memscope-trace: BPF run-time statistics unavailable (%s): the cost "
			"estimate leaves BPF time out\n", strerror(errno));
	*out = l;
	return 0;
fail:
	ms_loader_destroy(l);
	return err;
}

int ms_loader_add_pid(struct ms_loader *l, pid_t pid)
{
	__u32 key = pid, one = 1;
	int err;

	err = bpf_map_update_elem(bpf_map__fd(l->skel->maps.traced), &key, &one, BPF_ANY);
	if (err)
		return -errno;
	if (l->tp_attached)
		return 0;
	err = memscope_bpf__attach(l->skel); /* only the tp_btf programs autoattach */
	if (err) {
		fprintf(stderr, "memscope-trace: attach sched tracepoints: %s\n", strerror(-err));
		return err;
	}
	l->tp_attached = 1;
	return 0;
}

static uint32_t probe_id(struct ms_loader *l, pid_t pid, const char *path, const char *func,
			 const struct ms_probe_place *pl, int ret);

struct usdt_ctx {
	struct ms_loader *l;
	pid_t pid;
	const char *path;
	const struct ms_usdt_sites *sites; /* memscope's sites; NULL for another provider */
	const char *provider;
	int n, err;
};

static struct bpf_program *usdt_prog(struct ms_loader *l, const char *provider, const char *name)
{
	struct memscope_bpf *s = l->skel;
	int sampled = l->cfg.mode == MS_MODE_SAMPLED;

	/* An allocator's own sampler (otel_memory contract): a source of
	 * weighted samples like the sampling library, so sampled mode only;
	 * the other modes see every allocation through the uprobes. */
	if (!strcmp(provider, "otel_memory"))
		return !sampled ? NULL : !strcmp(name, "alloc") ? s->progs.ms_otel_alloc :
			!strcmp(name, "free") ? s->progs.ms_otel_free : NULL;
	static const struct {
		const char *name;
		size_t off;
	} tab[] = {
#define P(n, f) { n, offsetof(struct memscope_bpf, progs.f) }
		P("var", ms_var), P("scope_enter", ms_scope_enter), P("scope_exit", ms_scope_exit),
		P("task_enter", ms_task_enter), P("task_exit", ms_task_exit),
		P("task_name", ms_task_name), P("task_spawn", ms_task_spawn),
		P("task_end", ms_task_end), P("snapshot", ms_snapshot),
		P("alloc", ms_custom_alloc), P("free", ms_custom_free),
		P("sample_alloc", ms_sample_alloc), P("sample_free", ms_sample_free),
#undef P
	};
	size_t i;

	if (!sampled && strncmp(name, "sample_", 7) == 0)
		return NULL;
	/* Sampled mode is for production: each probe hit is a trap (~1 us),
	 * and a server hits its TRACK_VAR and task probes on every request.
	 * They are attached only when asked (--with-probes). */
	if (sampled && l->cfg.samples_only && strncmp(name, "sample_", 7) != 0)
		return NULL;
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(tab[i].name, name) == 0)
			return *(struct bpf_program **)((char *)s + tab[i].off);
	return NULL;
}

/* Attach probe `name`; 1 if attached, 0 if this mode leaves it alone or
 * attaching failed (c->err set, message printed). */
static int usdt_one(const char *name, struct usdt_ctx *c)
{
	struct bpf_program *p = usdt_prog(c->l, c->provider, name);
	struct bpf_link *link;
	char full[96];

	if (!p)
		return 0;
	/* The form of the sites, for BPF (bpf/usdt_site.bpf.h); another
	 * provider's sites are the plain one-byte nops of sys/sdt.h. */
	LIBBPF_OPTS(bpf_usdt_opts, o, .usdt_cookie = c->sites ? ms_usdt_sites_cookie(c->sites, name) :
		    MS_SITE_NOP1);

	link = bpf_program__attach_usdt(p, c->pid, c->path, c->provider, name, &o);
	if (!link) {
		c->err = -errno;
		fprintf(stderr, "memscope-trace: attach %s:%s in %s: %s\n", c->provider, name, c->path,
			strerror(errno));
		return 0;
	}
	if (link_add(c->l, LINK_USDT, c->pid, link))
		return 0;
	c->n++;
	/* one entry per probe name: its hits are its program's runs */
	snprintf(full, sizeof(full), "%s:%s", c->provider, name);
	probe_id(c->l, 0, "", full, NULL, 0);
	if (c->l->cfg.verbose && c->pid < 0)
		fprintf(stderr, "memscope-trace: attached %s:%s in %s for every traced process\n",
			c->provider, name, c->path);
	else if (c->l->cfg.verbose)
		fprintf(stderr, "memscope-trace: attached %s:%s in %s for PID %d\n", c->provider, name,
			c->path, (int)c->pid);
	return 1;
}

static void otel_one(const char *name, void *user)
{
	usdt_one(name, user);
}

/* Adopt pid's sites of path if it is a fork child (probe/sites.h): to
 * the file's bytes before our attachments arm them, or (armed) to the int3
 * form of attachments made earlier without a PID filter. */
static void adopt_logged(const struct ms_loader *l, pid_t pid, const char *path,
			 const struct ms_usdt_sites *sites, int armed)
{
	int err = armed ? ms_sites_adopt_armed(pid, path, sites) : ms_sites_adopt(pid, path, sites);

	if (err < 0)
		fprintf(stderr, "memscope-trace: PID %d skips the probes of %s (a fork child): cannot "
			"%s its sites: %s\n", (int)pid, path, armed ? "arm" : "restore", strerror(-err));
	else if (err && l->cfg.verbose)
		fprintf(stderr, "memscope-trace: PID %d is a fork child: its sites %sin %s %s\n", (int)pid,
			armed ? "" : "and semaphores ", path, armed ? "armed" : "restored");
}

int ms_loader_attach_usdt(struct ms_loader *l, pid_t pid, const char *path, int *nprobes)
{
	struct ms_usdt_sites sites;
	struct usdt_ctx c = { .l = l, .pid = pid, .path = path };
	unsigned char *attached;
	size_t i, k;
	pid_t self = pid;
	int err;

	/* Under -f one attachment without a PID filter serves the target and
	 * each child it forks, from the child's first instruction (BPF skips
	 * processes it does not trace; other processes running this file
	 * pay a trap per probe hit while the trace lasts). */
	if (l->cfg.follow)
		c.pid = pid = -1;
	*nprobes = 0;
	if (seen(l, pid, path, 0)) {
		/* -f: a fork child of a process these attachments serve skips
		 * its probes until adopted (include/memscope.h) */
		if (pid == -1 && self > 0 && ms_usdt_sites_read(path, "memscope", &sites) > 0) {
			adopt_logged(l, self, path, &sites, 1);
			ms_usdt_sites_free(&sites);
		}
		return 0;
	}
	if (l->cfg.mode == MS_MODE_SAMPLED) {
		/* an allocator's own sampler (otel_memory contract) */
		c.provider = "otel_memory";
		ms_elf_usdt_names_path(path, "otel_memory", otel_one, &c);
		*nprobes = c.n;
	}
	c.provider = "memscope";
	err = ms_usdt_sites_read(path, "memscope", &sites);
	if (err <= 0)
		return err < 0 ? err : c.err;
	c.sites = &sites;
	adopt_logged(l, self, path, &sites, 0);
	/* One attachment per probe name; the sites of names this mode leaves
	 * alone drop out of the list -v watches. */
	attached = calloc(sites.n, 1);
	if (!attached) {
		ms_usdt_sites_free(&sites);
		return -ENOMEM;
	}
	for (i = 0; i < sites.n; i++) {
		for (k = 0; k < i && strcmp(sites.v[k].name, sites.v[i].name); k++)
			;
		attached[i] = k < i ? attached[k] : usdt_one(sites.v[i].name, &c);
	}
	for (i = k = 0; i < sites.n; i++)
		if (attached[i])
			sites.v[k++] = sites.v[i];
	sites.n = k;
	free(attached);
	*nprobes = c.n;
	if (l->cfg.verbose && (l->sites || (l->sites = ms_sites_new())))
		ms_sites_add(l->sites, self, path, &sites, stderr);
	ms_usdt_sites_free(&sites);
	return c.err;
}

void ms_loader_check_sites(struct ms_loader *l, int final)
{
	if (l->sites)
		ms_sites_check(l->sites, stderr, final);
}

#define DESTROY_THREADS 16

struct attach_batch {
	struct attach_job *jobs;
	size_t n, step, first;
};

static void *attach_some(void *arg)
{
	struct attach_batch *b = arg;
	size_t i;

	for (i = b->first; i < b->n; i += b->step) {
		struct attach_job *j = &b->jobs[i];
		struct bpf_program *p = bpf_object__find_program_by_name(j->l->skel->obj, j->prog);
		LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = j->ret, .bpf_cookie = j->cookie);

		j->link = p ? bpf_program__attach_uprobe_opts(p, j->pid, j->path, j->off, &o) : NULL;
		j->err = j->link ? 0 : p ? -errno : -ENOENT;
	}
	return NULL;
}

/* Registering a uprobe costs ~35 ms here (the kernel walks and patches
 * every mapping of the file); 60 of them one by one took 2 s. Run them
 * from several threads. */
static void attach_parallel(struct attach_job *jobs, size_t n)
{
	pthread_t th[DESTROY_THREADS];
	struct attach_batch b[DESTROY_THREADS];
	size_t k, nth = n < DESTROY_THREADS ? n : DESTROY_THREADS, started = 0;

	for (k = 0; k < nth; k++) {
		b[k] = (struct attach_batch){ jobs, n, nth, k };
		if (pthread_create(&th[k], NULL, attach_some, &b[k]))
			break;
		started++;
	}
	for (k = started; k < nth; k++)
		attach_some(&b[k]);
	for (k = 0; k < started; k++)
		pthread_join(th[k], NULL);
}

int ms_loader_exit_regs(const struct ms_loader *l, pid_t tid, struct ms_exit_regs *out)
{
	__u32 key = (__u32)tid;

	if (bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.exit_regs), &key, out))
		return -errno;
	return 0;
}

/* ---- uprobe_multi links ------------------------------------------------
 *
 * Under -f each followed child gets the allocator probes of its own (a
 * probe without a PID filter on libc's malloc would trap in every process
 * on the machine). With one perf uprobe per function, as libbpf attaches
 * them, 200 short-lived children left 4,000 links whose removal the
 * kernel serializes at 50-70 ms each (a plain trace of a program linked
 * with jemalloc, tcmalloc and mimalloc had ~115 of them and took 8.4 s to
 * end; 0.5 s with uprobe_multi links). A uprobe_multi link carries all
 * the functions one program serves in a file and is removed in parallel
 * with others, so the allocator probes are attached that way. libbpf 1.1
 * predates these links: the programs are loaded a second time with that
 * attach type, and the links created here.
 *
 * One difference matters: a process forked from a traced one inherits its
 * breakpoints. A perf uprobe removes one from a process it does not trace
 * at the first hit; a uprobe_multi link leaves it, and that process would
 * trap (harmlessly, ~3-5 us) on every allocator call. So a child that is
 * not followed has them taken out by the tracer (ms_loader_alloc_sites(),
 * proc/unarm.c). */
#define MS_BPF_TRACE_UPROBE_MULTI 48 /* enum bpf_attach_type, kernel 6.6 */
#define MS_BPF_F_UPROBE_MULTI_RETURN 1

#define MS_MULTI_FUNCS 64

/* The BTF function records of p's instructions, as the kernel needs them
 * for a program with subprograms (bpf_loop() callbacks, global functions:
 * the DWARF stack walk): where each subprogram starts, found from the
 * calls in the instructions (libbpf appends subprograms after the main
 * one), and its type, from p as the kernel loaded it (the same functions
 * in the same order). Count, 0 if p has none, -errno. */
static int multi_func_info(const struct bpf_program *p, struct bpf_func_info *fi)
{
	const struct bpf_insn *in = bpf_program__insns(p);
	size_t n = bpf_program__insn_cnt(p), i, k, j;
	struct bpf_func_info got[MS_MULTI_FUNCS];
	struct bpf_prog_info info;
	__u32 starts[MS_MULTI_FUNCS], len = sizeof(info), nf = 1;

	starts[0] = 0;
	for (i = 0; i < n; i++) {
		int call = in[i].code == (BPF_JMP | BPF_CALL) && in[i].src_reg == BPF_PSEUDO_CALL;
		int func = in[i].code == (BPF_LD | BPF_IMM | BPF_DW) && in[i].src_reg == BPF_PSEUDO_FUNC;
		__u32 t = (__u32)((int64_t)i + in[i].imm + 1);

		if (!call && !func)
			continue;
		for (k = 0; k < nf && starts[k] != t; k++)
			;
		if (k < nf)
			continue;
		if (nf == MS_MULTI_FUNCS)
			return -E2BIG;
		/* sorted insert */
		for (j = nf++; j > 0 && starts[j - 1] > t; j--)
			starts[j] = starts[j - 1];
		starts[j] = t;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		return -errno;
	if (!info.nr_func_info)
		return 0;
	if (info.nr_func_info != nf)
		return -EINVAL;
	memset(&info, 0, sizeof(info));
	info.nr_func_info = nf;
	info.func_info_rec_size = sizeof(struct bpf_func_info);
	info.func_info = (__u64)(uintptr_t)got;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		return -errno;
	for (k = 0; k < nf; k++)
		fi[k] = (struct bpf_func_info){ starts[k], got[k].type_id };
	return (int)nf;
}

/* The uprobe_multi twin of p, loaded on first use from the instructions
 * libbpf relocated for p (map fds already in place). fd or -errno. */
static int multi_prog_fd(struct ms_loader *l, const struct bpf_program *p)
{
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = MS_BPF_TRACE_UPROBE_MULTI);
	struct bpf_func_info fi[MS_MULTI_FUNCS];
	struct multi_prog *nm;
	size_t i;
	int fd, nfi;

	for (i = 0; i < l->mprogs.n; i++)
		if (l->mprogs.v[i].p == p)
			return l->mprogs.v[i].fd;
	nfi = multi_func_info(p, fi);
	if (nfi < 0)
		return nfi;
	if (nfi) {
		o.prog_btf_fd = (__u32)btf__fd(bpf_object__btf(l->skel->obj));
		o.func_info = fi;
		o.func_info_cnt = (__u32)nfi;
		o.func_info_rec_size = sizeof(struct bpf_func_info);
	}
	fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, bpf_program__name(p), "Dual BSD/GPL",
			   bpf_program__insns(p), bpf_program__insn_cnt(p), &o);
	if (fd < 0)
		return -errno;
	if (MS_VEC_PUSH(l->mprogs, nm)) {
		close(fd);
		return -ENOMEM;
	}
	*nm = (struct multi_prog){ p, fd };
	return fd;
}

/* BPF_LINK_CREATE for a uprobe_multi link (union bpf_attr's
 * link_create.uprobe_multi, laid out here). Link fd or -errno. */
static int link_create_multi(int prog_fd, const char *path, const uint64_t *offs,
			     const uint64_t *cookies, uint32_t n, int ret, pid_t pid)
{
	struct {
		__u32 prog_fd, target_fd, attach_type, flags;
		__u64 path, offsets, ref_ctr_offsets, cookies;
		__u32 cnt, mflags, pid, _pad;
	} attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = (__u32)prog_fd;
	attr.attach_type = MS_BPF_TRACE_UPROBE_MULTI;
	attr.path = (__u64)(uintptr_t)path;
	attr.offsets = (__u64)(uintptr_t)offs;
	attr.cookies = (__u64)(uintptr_t)cookies;
	attr.cnt = n;
	attr.mflags = ret ? MS_BPF_F_UPROBE_MULTI_RETURN : 0;
	attr.pid = (__u32)pid;
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

/* One link per (program, return or entry) over the jobs' offsets:
 * returns first, for the reason given in ms_loader_attach_alloc(). */
static int attach_multi(struct ms_loader *l, pid_t pid, const char *path, struct attach_job *rets,
			size_t nr, struct attach_job *entries, size_t ne)
{
	struct attach_job *all[2] = { rets, entries };
	size_t cnt[2] = { nr, ne }, g, i, k, n;
	uint64_t offs[64], cookies[64];
	int err = 0;

	/* every twin loads first: where the kernel refuses one, all the
	 * probes fall back to per-function uprobes, none runs twice */
	for (g = 0; g < 2; g++) {
		for (i = 0; i < cnt[g]; i++) {
			const struct bpf_program *p = bpf_object__find_program_by_name(l->skel->obj,
										       all[g][i].prog);
			int pfd = p ? multi_prog_fd(l, p) : -ENOENT;

			if (pfd < 0) {
				if (l->cfg.verbose)
					fprintf(stderr, "memscope-trace: %s: no uprobe_multi twin (%s): "
						"per-function uprobes from now on\n", all[g][i].prog,
						pfd == -EINVAL ? "the verifier dropped a subprogram this "
						"configuration never runs" : strerror(-pfd));
				return pfd;
			}
		}
	}
	for (g = 0; g < 2; g++) {
		for (i = 0; i < cnt[g]; i++) {
			struct attach_job *j = &all[g][i];
			const struct bpf_program *p;
			int pfd, fd;

			for (k = 0; k < i && strcmp(all[g][k].prog, j->prog); k++)
				;
			if (k < i)
				continue; /* this program's link is made */
			for (n = 0, k = i; k < cnt[g] && n < 64; k++) {
				if (strcmp(all[g][k].prog, j->prog))
					continue;
				offs[n] = all[g][k].off;
				cookies[n++] = all[g][k].cookie;
			}
			p = bpf_object__find_program_by_name(l->skel->obj, j->prog);
			pfd = p ? multi_prog_fd(l, p) : -ENOENT;
			fd = pfd < 0 ? pfd : link_create_multi(pfd, path, offs, cookies, (uint32_t)n, j->ret, pid);
			if (fd >= 0) {
				int kind = strcmp(j->prog, "exit_entry") && strcmp(j->prog, "exit_call") ?
					   LINK_ALLOC : LINK_EXIT;

				if (link_add_fd(l, kind, pid, fd) && !err)
					err = -ENOMEM;
			} else if (!err) {
				err = fd;
				if (err != -EINVAL && err != -EOPNOTSUPP && err != -ENOSYS && err != -E2BIG)
					fprintf(stderr, "memscope-trace: attach %s in %s for PID %d: %s\n",
						j->prog, path, (int)pid, strerror(-err));
			}
		}
	}
	return err;
}

/* ld.so's hook in file `path`, looked for once per file, not once per
 * process: a done entry of kind 3 (PID -1) keeps the offset and the
 * distance to _r_debug, or nothing if the file has no hook. */
static int ldso_hook(struct ms_loader *l, const char *path, uint64_t *off, int64_t *delta)
{
	struct ms_attached *a;
	struct stat st;
	size_t i;
	int err;

	if (stat(path, &st))
		return -errno;
	for (i = 0; i < l->done.n; i++) {
		a = &l->done.v[i];
		if (a->kind == 3 && a->dev == st.st_dev && a->ino == st.st_ino) {
			if (a->noffs != 2)
				return -ENOENT;
			*off = a->offs[0];
			*delta = (int64_t)a->offs[1];
			return 0;
		}
	}
	err = ms_ldso_debug_hook(path, off, delta);
	if ((err && err != -ENOENT) || MS_VEC_PUSH(l->done, a))
		return err;
	*a = (struct ms_attached){ .pid = -1, .kind = 3, .dev = st.st_dev, .ino = st.st_ino };
	if (!err && (a->offs = malloc(2 * sizeof(*a->offs)))) {
		a->offs[0] = *off;
		a->offs[1] = (uint64_t)*delta;
		a->noffs = 2;
	}
	return err;
}

int ms_loader_attach_ldso(struct ms_loader *l, pid_t pid, const char *path)
{
	struct bpf_link *link;
	int64_t delta = 0;
	uint64_t off = 0;
	int err;

	if (seen(l, pid, path, 2))
		return 0;
	err = ldso_hook(l, path, &off, &delta);
	if (err)
		return err;
	{
		LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = (__u64)delta);

		link = bpf_program__attach_uprobe_opts(l->skel->progs.ms_dl_state, pid, path, off, &o);
	}
	if (!link)
		return -errno;
	if (l->cfg.verbose)
		fprintf(stderr, "memscope-trace: ld.so's _dl_debug_state in %s at 0x%llx for PID %d\n",
			path, (unsigned long long)off, (int)pid);
	return link_add(l, LINK_USDT, pid, link);
}

size_t ms_loader_alloc_sites(const struct ms_loader *l, pid_t pid, struct ms_alloc_sites *out,
			     size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < l->done.n && n < max; i++) {
		const struct ms_attached *d = &l->done.v[i];

		if (d->pid == pid && d->kind == 1 && d->noffs)
			out[n++] = (struct ms_alloc_sites){ d->dev, d->ino, d->offs, d->noffs };
	}
	return n;
}

int ms_loader_holds_fd(const struct ms_loader *l)
{
	return bpf_map__fd(l->skel->maps.holds);
}

int ms_loader_is_allocator(const struct ms_loader *l, const char *path)
{
	struct stat st;
	size_t i;

	if (stat(path, &st))
		return 0;
	for (i = 0; i < l->done.n; i++)
		if (l->done.v[i].kind == 1 && l->done.v[i].probed && l->done.v[i].dev == st.st_dev &&
		    l->done.v[i].ino == st.st_ino)
			return 1;
	return 0;
}

/* The id of probe (pid, path, func, ret): the same one again when a paused
 * probe comes back, so its hits add up. 0 when the table is full (id 0
 * counts every probe past it). */
static uint32_t probe_id(struct ms_loader *l, pid_t pid, const char *path, const char *func,
			 const struct ms_probe_place *pl, int ret)
{
	struct ms_probe_info *p;
	size_t i;

	for (i = 0; i < l->probes.n; i++) {
		p = &l->probes.v[i];
		if (p->pid == pid && p->ret == ret && !strcmp(p->func, func) && !strcmp(p->path, path))
			return p->id;
	}
	if (l->probes.n + 1 >= MS_MAX_PROBES || MS_VEC_PUSH(l->probes, p))
		return 0;
	memset(p, 0, sizeof(*p));
	p->path = strdup(path);
	p->func = strdup(func);
	if (!p->path || !p->func) {
		free((char *)p->path);
		free((char *)p->func);
		l->probes.n--;
		return 0;
	}
	p->id = (uint32_t)l->probes.n;
	p->pid = pid;
	p->offset = pl ? pl->offset : 0;
	p->emulated = pl ? pl->emulated : 1;
	p->ret = ret;
	p->usdt = pl == NULL;
	return p->id;
}

/* A function whose entry cannot be probed on an emulated instruction but
 * whose work another probed entry sees: every call goes on to an entry of
 * the same shape (libstdc++'s nothrow operator new calls operator new
 * through its PLT slot), or it is a wrapper whose code branches to the
 * function the table names as its `via` (glibc's reallocarray jumps to
 * realloc). The other entry's name, or NULL. */
static const char *covered_by(struct ms_elf *e, const struct ms_alloc_fn *f,
			      const struct ms_probe_place *pl, const uint8_t *code,
			      const struct ms_elf_func *fn, char *buf, size_t len)
{
	const struct ms_alloc_fn *g;
	struct ms_elf_func via;
	uint64_t targets[32];
	long n, i;

	if (pl->emulated)
		return NULL;
	if (pl->callee && ms_elf_plt_name(e, pl->callee, buf, len) == 0 &&
	    (g = ms_alloc_fn_find(buf)) && g->shape == f->shape && g != f)
		return buf;
	if (!f->via || !code || ms_elf_find_func(e, f->via, &via) < 0)
		return NULL;
	n = ms_probe_place_branch_targets(code, fn->size, fn->vaddr, targets, 32);
	for (i = 0; i < n && i < 32; i++)
		if (targets[i] == via.vaddr ||
		    (ms_elf_plt_name(e, targets[i], buf, len) == 0 && !strcmp(buf, f->via))) {
			snprintf(buf, len, "%s", f->via);
			return buf;
		}
	return NULL;
}

/* Decide the probes of every table function `path` defines and append
 * their attach jobs (returns first, then entries) to rets/entries. */
static int plan_alloc(struct ms_loader *l, struct ms_elf *e, pid_t pid, const char *path,
		      struct attach_job *rets, size_t *nr, struct attach_job *entries, size_t *ne)
{
	size_t nf, i, k, ndone = 0;
	const struct ms_alloc_fn *fns = ms_alloc_fns(&nf);
	uint64_t *done_off = calloc(nf, sizeof(*done_off));
	int nfuncs = 0;

	if (!done_off)
		return -ENOMEM;
	for (i = 0; i < nf; i++) {
		const struct ms_alloc_fn *f = &fns[i];
		struct ms_elf_func fn;
		struct ms_probe_place place;
		const uint8_t *code;
		const char *ret = ms_alloc_shape_return(f->shape), *callee;
		char cname[128];
		uint32_t id;

		if (ms_elf_find_func(e, f->name, &fn) < 0 || !fn.file_off)
			continue;
		/* Aliases (aligned_alloc = memalign in glibc, tc_free = free in
		 * tcmalloc) share an address: one probe, or every call would
		 * be seen twice. */
		for (k = 0; k < ndone && done_off[k] != fn.file_off; k++)
			;
		if (k < ndone)
			continue;
		done_off[ndone++] = fn.file_off;
		/* Probe where the kernel emulates the instruction instead of
		 * single-stepping it (elf/probe_place.h); the arguments may
		 * have moved by then, the cookie says where. */
		memset(&place, 0, sizeof(place));
		code = NULL;
		if (ms_elf_func_bytes(e, &fn, &code) == 0) {
			ms_probe_place(code, fn.size, fn.vaddr, ms_alloc_fn_argmask(f), &place);
		} else {
			static const uint8_t ident[6] = { MS_REG_DI, MS_REG_SI, MS_REG_DX,
							  MS_REG_CX, MS_REG_R8, MS_REG_R9 };

			memcpy(place.arg_reg, ident, sizeof(ident));
			snprintf(place.why, sizeof(place.why), "kept +0: no size, cannot decode");
		}
		callee = covered_by(e, f, &place, code, &fn, cname, sizeof(cname));
		if (l->cfg.verbose && !l->reattaching && callee)
			fprintf(stderr, "memscope-trace: %s in %s not probed: %s; what it "
				"allocates or frees goes through %s (probed)\n", f->name, path, place.why,
				callee);
		else if (l->cfg.verbose && !l->reattaching)
			fprintf(stderr, "memscope-trace: %s in %s %sat +%llu: %s\n", f->name, path,
				place.emulated ? "" : "SINGLE-STEPPED ",
				(unsigned long long)place.offset, place.why);
		if (callee)
			continue;
		id = probe_id(l, pid, path, f->name, &place, 0);
		entries[(*ne)++] = (struct attach_job){ l, pid, path, ms_alloc_shape_entry(f->shape),
			fn.file_off + place.offset, 0, ms_alloc_cookie(f, place.arg_reg, id), NULL, 0 };
		/* The return probe shares the entry's offset: one trap, and
		 * the return address is still at [rsp] there. */
		if (ret) {
			id = probe_id(l, pid, path, f->name, &place, 1);
			rets[(*nr)++] = (struct attach_job){ l, pid, path, ret, fn.file_off + place.offset,
				1, ms_alloc_cookie(f, place.arg_reg, id), NULL, 0 };
		}
		nfuncs++;
	}
	free(done_off);
	return nfuncs;
}

/* The plan for path's file, or NULL if none was made yet. */
static struct alloc_plan *plan_find(const struct ms_loader *l, const char *path)
{
	struct stat st;
	size_t i;

	if (stat(path, &st))
		return NULL;
	for (i = 0; i < l->plans.n; i++) {
		struct alloc_plan *p = &l->plans.v[i];

		if (p->dev == st.st_dev && p->ino == st.st_ino && p->size == st.st_size &&
		    p->mtime.tv_sec == st.st_mtim.tv_sec && p->mtime.tv_nsec == st.st_mtim.tv_nsec)
			return p;
	}
	return NULL;
}

/* Work out the plan of path's file (its _exit, the allocator functions
 * this mode probes), keep it and return it; NULL and errno on failure. */
static struct alloc_plan *plan_make(struct ms_loader *l, pid_t pid, const char *path)
{
	size_t nf, nr = 0, ne = 0;
	struct attach_job *rets = NULL, *entries = NULL;
	struct alloc_plan *p = NULL;
	struct ms_elf *e;
	struct stat st;
	int n = 0, err = 0;

	ms_alloc_fns(&nf);
	if (stat(path, &st) || !(e = ms_elf_open(path)))
		return NULL;
	rets = calloc(nf, sizeof(*rets));
	entries = calloc(nf + 2, sizeof(*entries)); /* + _exit, exit */
	if (!rets || !entries) {
		err = -ENOMEM;
		goto out;
	}
	/* _exit: the process's mappings are sent from there, for the stacks
	 * of a target that is gone before /proc/PID/maps could be read. */
	{
		struct ms_elf_func fn;

		if (ms_elf_find_func(e, "_exit", &fn) >= 0 && fn.file_off)
			entries[ne++] = (struct attach_job){ l, pid, path, "exit_entry", fn.file_off, 0,
							     0, NULL, 0 };
		/* exit(): the leak check's view of the exiting thread */
		if (l->cfg.hold_tgid && ms_elf_find_func(e, "exit", &fn) >= 0 && fn.file_off)
			entries[ne++] = (struct attach_job){ l, pid, path, "exit_call", fn.file_off, 0,
							     0, NULL, 0 };
	}
	if (!l->cfg.no_alloc && l->cfg.mode != MS_MODE_SAMPLED) {
		n = plan_alloc(l, e, pid, path, rets, &nr, entries, &ne);
		if (n < 0) {
			err = n;
			goto out;
		}
	}
	if (MS_VEC_PUSH(l->plans, p)) {
		err = -ENOMEM;
		goto out;
	}
	*p = (struct alloc_plan){ st.st_dev, st.st_ino, st.st_size, st.st_mtim, nr, ne, (size_t)n,
				  calloc(nr + ne + 1, sizeof(struct attach_job)) };
	if (!p->jobs) {
		l->plans.n--;
		p = NULL;
		err = -ENOMEM;
		goto out;
	}
	memcpy(p->jobs, rets, nr * sizeof(*rets));
	memcpy(p->jobs + nr, entries, ne * sizeof(*entries));
out:
	ms_elf_close(e);
	free(rets);
	free(entries);
	if (err)
		errno = -err;
	return p;
}

/* Attach the probe on _exit (with_exit) and the allocator probes
 * (with_alloc) of (pid, path) from the file's plan; *nfuncs = functions
 * probed. d (may be NULL): the file's entry in done, given the offsets. */
static int attach_alloc_now(struct ms_loader *l, pid_t pid, const char *path, int with_exit,
			    int with_alloc, int *nfuncs, struct ms_attached *d)
{
	const struct alloc_plan *plan = plan_find(l, path);
	struct attach_job *rets, *entries;
	size_t nr = 0, ne = 0, i;
	int err = 0;

	*nfuncs = 0;
	if (!plan && !(plan = plan_make(l, pid, path)))
		return -errno;
	rets = calloc(plan->nr + 1, sizeof(*rets));
	entries = calloc(plan->ne + 1, sizeof(*entries));
	if (!rets || !entries) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < plan->nr + plan->ne; i++) {
		struct attach_job j = plan->jobs[i];
		int is_exit = !strcmp(j.prog, "exit_entry") || !strcmp(j.prog, "exit_call");

		if (is_exit ? !with_exit : !with_alloc)
			continue;
		j.l = l;
		j.pid = pid;
		j.path = path;
		if (i < plan->nr)
			rets[nr++] = j;
		else
			entries[ne++] = j;
	}
	if (with_alloc)
		*nfuncs = (int)plan->nfuncs;
	if (d && !d->offs && (d->offs = calloc(plan->nr + plan->ne + 1, sizeof(*d->offs))))
		for (i = 0; i < plan->nr + plan->ne; i++)
			d->offs[d->noffs++] = plan->jobs[i].off;
	if (!nr && !ne)
		goto out;
	if (!l->no_multi) {
		err = attach_multi(l, pid, path, rets, nr, entries, ne);
		if (err != -EINVAL && err != -EOPNOTSUPP && err != -ENOSYS && err != -E2BIG)
			goto out;
		/* a kernel without uprobe_multi links (before 6.6) */
		l->no_multi = 1;
		err = 0;
	}
	/* Return probes first: a return seen without its entry is ignored,
	 * while an entry whose return is never seen would make every later
	 * call on that thread look nested. */
	attach_parallel(rets, nr);
	attach_parallel(entries, ne);
	for (i = 0; i < nr + ne; i++) {
		struct attach_job *j = i < nr ? &rets[i] : &entries[i - nr];

		if (j->link) {
			/* the _exit and exit probes stay when the budget pauses
			 * the rest */
			if (link_add(l, strcmp(j->prog, "exit_entry") && strcmp(j->prog, "exit_call") ?
					LINK_ALLOC : LINK_EXIT, pid, j->link) && !err)
				err = -ENOMEM;
		} else if (!err) {
			err = j->err;
			fprintf(stderr, "memscope-trace: attach %s in %s: %s\n", j->prog, path, strerror(-err));
		}
	}
out:
	free(rets);
	free(entries);
	return err;
}

int ms_loader_attach_alloc(struct ms_loader *l, pid_t pid, const char *path, int *nfuncs)
{
	struct ms_attached *d;
	int err;

	*nfuncs = 0;
	/* light mode captures no stacks: it needs neither */
	if (l->cfg.mode == MS_MODE_LIGHT)
		return 0;
	if (seen(l, pid, path, 1))
		return 0;
	/* the entry seen() just added, if it could (it needs stat and memory) */
	d = l->done.n && l->done.v[l->done.n - 1].pid == pid && l->done.v[l->done.n - 1].kind == 1 &&
	    !l->done.v[l->done.n - 1].probed ? &l->done.v[l->done.n - 1] : NULL;
	/* Paused by the budget: remembered, attached when the probes come
	 * back. */
	err = attach_alloc_now(l, pid, path, 1, !l->alloc_paused, nfuncs, d);
	if (d && (*nfuncs || l->alloc_paused))
		d->probed = 1;
	return err;
}

static void destroy_links(struct ms_link *links, size_t n);

int ms_loader_alloc_pause(struct ms_loader *l, int pause)
{
	size_t i, j = 0, ng = 0;
	struct ms_link *gone;
	int err = 0, n;

	if (!!pause == l->alloc_paused)
		return 0;
	l->alloc_paused = !!pause;
	if (!pause) {
		l->reattaching = 1;
		for (i = 0; i < l->done.n; i++)
			if (l->done.v[i].kind == 1 && l->done.v[i].path) {
				int e = attach_alloc_now(l, l->done.v[i].pid, l->done.v[i].path, 0, 1, &n,
							 NULL);

				if (e && !err)
					err = e;
			}
		l->reattaching = 0;
		return err;
	}
	/* every process's allocator links, a followed child's included */
	gone = calloc(l->links.n + 1, sizeof(*gone));
	if (!gone)
		return -ENOMEM;
	for (i = 0; i < l->links.n; i++) {
		if (l->links.v[i].kind == LINK_ALLOC)
			gone[ng++] = l->links.v[i];
		else
			l->links.v[j++] = l->links.v[i];
	}
	l->links.n = j;
	destroy_links(gone, ng);
	free(gone);
	return 0;
}

int ms_loader_alloc_paused(const struct ms_loader *l)
{
	return l->alloc_paused;
}

/* Take pid's links out of the list into *out (malloc'ed), and forget what
 * was attached for it. */
static size_t take_pid(struct ms_loader *l, pid_t pid, struct ms_link **out)
{
	struct ms_link *gone = calloc(l->links.n + 1, sizeof(*gone));
	size_t i, j = 0, ng = 0;

	for (i = 0; i < l->links.n; i++) {
		if (l->links.v[i].pid == pid && gone)
			gone[ng++] = l->links.v[i];
		else
			l->links.v[j++] = l->links.v[i];
	}
	l->links.n = j;
	for (i = 0, j = 0; i < l->done.n; i++) {
		if (l->done.v[i].pid != pid)
			l->done.v[j++] = l->done.v[i];
		else {
			free(l->done.v[i].offs);
			free(l->done.v[i].path);
		}
	}
	l->done.n = j;
	*out = gone;
	return ng;
}

static void *reaper_main(void *arg)
{
	struct reaper *r = arg;

	pthread_mutex_lock(&r->mu);
	while (!r->stop || r->gone.n) {
		struct ms_link *v;
		size_t n;

		if (!r->gone.n) {
			pthread_cond_wait(&r->cv, &r->mu);
			continue;
		}
		v = r->gone.v;
		n = r->gone.n;
		r->gone.v = NULL;
		r->gone.n = r->gone.cap = 0;
		pthread_mutex_unlock(&r->mu);
		destroy_links(v, n);
		free(v);
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

void ms_loader_retire_pid(struct ms_loader *l, pid_t pid)
{
	struct reaper *r = &l->reap;
	struct ms_link *gone;
	size_t i, ng = take_pid(l, pid, &gone);

	if (!ng) {
		free(gone);
		return;
	}
	pthread_mutex_lock(&r->mu);
	if (!r->running && pthread_create(&r->th, NULL, reaper_main, r) == 0)
		r->running = 1;
	for (i = 0; r->running && i < ng; i++) {
		struct ms_link *slot;

		if (MS_VEC_PUSH(r->gone, slot))
			break;
		*slot = gone[i];
	}
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	/* whatever the reaper could not take is destroyed here */
	destroy_links(gone + i, ng - i);
	free(gone);
}


void ms_loader_forget_strings(struct ms_loader *l, pid_t pid)
{
	int fd = bpf_map__fd(l->skel->maps.strs);
	struct { __u32 pid, pad; __u64 ptr; } k, next, *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		if ((pid_t)k.pid == pid) {
			bpf_map_delete_elem(fd, &k);
			/* the iteration restarts: deletion invalidates prev */
			prev = NULL;
			continue;
		}
		prev = &k;
	}
}

/* Destroying a uprobe link waits for an SRCU grace period in the kernel
 * (~60 ms here): one after another, 60 allocator probes took 3.7 s to
 * detach. Destroying them from several threads lets the grace periods
 * overlap (perf uprobe links still serialize on a kernel mutex;
 * uprobe_multi links do not). */
struct destroy_job {
	struct ms_link *links;
	size_t n, step, first;
};

static void *destroy_some(void *arg)
{
	struct destroy_job *j = arg;
	size_t i;

	for (i = j->first; i < j->n; i += j->step)
		link_destroy(&j->links[i]);
	return NULL;
}

static void destroy_links(struct ms_link *links, size_t n)
{
	pthread_t th[DESTROY_THREADS];
	struct destroy_job jobs[DESTROY_THREADS];
	size_t k, nth = n < DESTROY_THREADS ? n : DESTROY_THREADS, started = 0;

	for (k = 0; k < nth; k++) {
		jobs[k] = (struct destroy_job){ links, n, nth, k };
		if (pthread_create(&th[k], NULL, destroy_some, &jobs[k]))
			break;
		started++;
	}
	/* whatever no thread took is destroyed here */
	for (k = started; k < nth; k++)
		destroy_some(&jobs[k]);
	for (k = 0; k < started; k++)
		pthread_join(th[k], NULL);
}

int ms_loader_ringbuf_fd(const struct ms_loader *l)
{
	return bpf_map__fd(l->skel->maps.rb);
}

int ms_loader_var_buffers(const struct ms_loader *l, int *slots_fd, int *cpus_fd, int *ncpus)
{
	*slots_fd = bpf_map__fd(l->skel->maps.vslots);
	*cpus_fd = bpf_map__fd(l->skel->maps.vcpus);
	*ncpus = l->ncpus;
	return (int)l->vslots;
}

int ms_loader_stack_map(const struct ms_loader *l, int *dwarf)
{
	*dwarf = l->skel->rodata->cfg_unwind != 0;
	return bpf_map__fd(*dwarf ? l->skel->maps.ustacks : l->skel->maps.stacks);
}

int ms_loader_unwind_maps(const struct ms_loader *l, struct ms_unw_maps *out)
{
	const struct memscope_bpf *s = l->skel;

	memset(out, 0, sizeof(*out));
	out->rows_fd = out->pages_fd = out->files_fd = out->missing_fd = -1;
	if (!s->rodata->cfg_unwind)
		return -ENOENT;
	out->rows_fd = bpf_map__fd(s->maps.unw_rows);
	out->pages_fd = bpf_map__fd(s->maps.unw_pages);
	out->files_fd = bpf_map__fd(s->maps.unw_files);
	out->missing_fd = bpf_map__fd(s->maps.unw_missing);
	out->nrows = s->rodata->cfg_unw_rows;
	out->npages = s->rodata->cfg_unw_pages;
	out->epoch = &s->data->unw_epoch;
	return 0;
}

int ms_loader_live_fd(const struct ms_loader *l)
{
	return bpf_map__fd(l->skel->maps.live);
}

int ms_loader_sites_fd(const struct ms_loader *l)
{
	return bpf_map__fd(l->skel->maps.sites);
}

/* Sum key `k` of per-CPU array map `fd` over the CPUs into *out (0 if
 * the lookup fails). vals has room for ncpu values. */
static void percpu_sum(int fd, __u32 k, __u64 *vals, int ncpu, uint64_t *out)
{
	int c;

	*out = 0;
	if (bpf_map_lookup_elem(fd, &k, vals))
		return;
	for (c = 0; c < ncpu; c++)
		*out += vals[c];
}

static int prog_info(const struct bpf_program *p, struct bpf_prog_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_program__fd(p) >= 0 && !bpf_obj_get_info_by_fd(bpf_program__fd(p), info, &len) ? 0 : -1;
}

int ms_loader_read_stats(const struct ms_loader *l, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(l->skel->maps.stats);
	struct bpf_prog_info info;
	struct bpf_program *p;
	__u64 *vals;
	__u32 k;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (k = 0; k < MS_STAT_MAX; k++)
		percpu_sum(fd, k, vals, ncpu, &out[k]);
	free(vals);
	out[MS_STAT_PROBE_MISSES] = 0;
	bpf_object__for_each_program(p, l->skel->obj)
		if (!prog_info(p, &info))
			out[MS_STAT_PROBE_MISSES] += info.recursion_misses;
	return 0;
}

int ms_loader_enable_run_stats(struct ms_loader *l)
{
	/* turned on at load for the cost estimate; tried again here */
	if (l->stats_fd < 0)
		l->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	return l->stats_fd < 0 ? -errno : 0;
}

/* Add the runs and run time of p's uprobe_multi twin, which runs for the
 * per-process allocator links, to *runs and *run_ns. */
static void twin_add(const struct ms_loader *l, const struct bpf_program *p, uint64_t *runs,
		     uint64_t *run_ns)
{
	struct bpf_prog_info info;
	size_t i;

	for (i = 0; i < l->mprogs.n; i++) {
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (l->mprogs.v[i].p == p && !bpf_obj_get_info_by_fd(l->mprogs.v[i].fd, &info, &len)) {
			*runs += info.run_cnt;
			*run_ns += info.run_time_ns;
		}
	}
}

size_t ms_loader_prog_stats(const struct ms_loader *l, struct ms_prog_stat *out, size_t max)
{
	struct bpf_program *p;
	size_t n = 0;

	bpf_object__for_each_program(p, l->skel->obj) {
		struct bpf_prog_info info;

		if (n == max || prog_info(p, &info))
			continue;
		out[n] = (struct ms_prog_stat){ .name = bpf_program__name(p), .runs = info.run_cnt,
						.run_ns = info.run_time_ns,
						.uprobe = bpf_program__type(p) == BPF_PROG_TYPE_KPROBE };
		twin_add(l, p, &out[n].runs, &out[n].run_ns);
		n++;
	}
	return n;
}

void ms_loader_destroy(struct ms_loader *l)
{
	size_t i;

	if (!l)
		return;
	if (l->reap.running) {
		pthread_mutex_lock(&l->reap.mu);
		l->reap.stop = 1;
		pthread_cond_signal(&l->reap.cv);
		pthread_mutex_unlock(&l->reap.mu);
		pthread_join(l->reap.th, NULL);
	}
	MS_VEC_FREE(l->reap.gone);
	destroy_links(l->links.v, l->links.n);
	MS_VEC_FREE(l->links);
	for (i = 0; i < l->done.n; i++) {
		free(l->done.v[i].path);
		free(l->done.v[i].offs);
	}
	MS_VEC_FREE(l->done);
	for (i = 0; i < l->mprogs.n; i++)
		close(l->mprogs.v[i].fd);
	MS_VEC_FREE(l->mprogs);
	for (i = 0; i < l->plans.n; i++)
		free(l->plans.v[i].jobs);
	MS_VEC_FREE(l->plans);
	for (i = 0; i < l->probes.n; i++) {
		free((char *)l->probes.v[i].path);
		free((char *)l->probes.v[i].func);
	}
	MS_VEC_FREE(l->probes);
	if (l->stats_fd >= 0)
		close(l->stats_fd);
	ms_sites_free(l->sites);
	memscope_bpf__destroy(l->skel);
	free(l);
}

const struct ms_probe_info *ms_loader_probes(const struct ms_loader *l, size_t *n)
{
	*n = l->probes.n;
	return l->probes.v;
}

/* The program a USDT probe entry ("memscope:var") runs. */
static const struct bpf_program *usdt_entry_prog(const struct ms_loader *l, const char *full)
{
	const char *colon = strchr(full, ':');
	char provider[32];

	if (!colon || (size_t)(colon - full) >= sizeof(provider))
		return NULL;
	memcpy(provider, full, (size_t)(colon - full));
	provider[colon - full] = 0;
	return usdt_prog((struct ms_loader *)l, provider, colon + 1);
}

int ms_loader_probe_hits(const struct ms_loader *l, uint64_t *hits)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(l->skel->maps.probe_hits);
	struct bpf_prog_info info;
	__u64 *vals;
	size_t i;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < l->probes.n; i++) {
		const struct ms_probe_info *p = &l->probes.v[i];
		const struct bpf_program *prog;
		__u32 k = p->id;

		hits[i] = 0;
		if (p->usdt) {
			/* run_cnt is counted while BPF statistics are on */
			prog = usdt_entry_prog(l, p->func);
			if (prog && !prog_info(prog, &info))
				hits[i] = info.run_cnt;
			continue;
		}
		percpu_sum(fd, k, vals, ncpu, &hits[i]);
	}
	free(vals);
	return 0;
}

int ms_loader_bpf_time(const struct ms_loader *l, uint64_t *run_ns, uint64_t *runs)
{
	struct bpf_program *p;
	struct bpf_prog_info info;

	*run_ns = *runs = 0;
	if (l->stats_fd < 0)
		return -ENOTSUP;
	bpf_object__for_each_program(p, l->skel->obj) {
		/* uprobe and USDT programs run in the target; the system-wide
		 * tracepoints (exit, fork, exec, signals) mostly elsewhere */
		if (p == l->skel->progs.ms_calib || bpf_program__type(p) != BPF_PROG_TYPE_KPROBE ||
		    prog_info(p, &info))
			continue;
		*run_ns += info.run_time_ns;
		*runs += info.run_cnt;
		twin_add(l, p, runs, run_ns);
	}
	return 0;
}

int ms_loader_calibrate(struct ms_loader *l, struct ms_trap_cost *out)
{
	static const char *const names[MS_CALIB_NFN] = { MS_CALIB_PUSH, MS_CALIB_XOL, MS_CALIB_RET };
	struct attach_job jobs[MS_CALIB_NFN + 1];
	double base[MS_CALIB_NFN], traced[MS_CALIB_NFN];
	struct ms_elf_func fn;
	struct ms_elf *e;
	size_t nj = 0, i;
	int k, err = 0;

	memset(out, 0, sizeof(*out));
	e = ms_elf_open("/proc/self/exe");
	if (!e)
		return -errno;
	for (k = 0; k < MS_CALIB_NFN; k++) {
		if ((err = ms_elf_find_func(e, names[k], &fn)) < 0)
			break;
		jobs[nj++] = (struct attach_job){ l, getpid(), "/proc/self/exe", "ms_calib", fn.file_off,
						  0, 0, NULL, 0 };
		if (k == MS_CALIB_FN_RET)
			jobs[nj++] = (struct attach_job){ l, getpid(), "/proc/self/exe", "ms_calib",
							  fn.file_off, 1, 0, NULL, 0 };
	}
	ms_elf_close(e);
	if (err)
		return err;
	for (k = 0; k < MS_CALIB_NFN; k++)
		base[k] = ms_calib_ns_per_call(k, 2000, 3);
	attach_parallel(jobs, nj);
	for (i = 0; i < nj; i++) {
		if (!jobs[i].link) {
			if (!err)
				err = jobs[i].err;
		} else if (link_add(l, LINK_CALIB, getpid(), jobs[i].link) && !err) {
			err = -ENOMEM;
		}
	}
	if (err)
		return err;
	for (k = 0; k < MS_CALIB_NFN; k++)
		traced[k] = ms_calib_ns_per_call(k, 300, 5);
	out->emulated_ns = traced[MS_CALIB_FN_PUSH] - base[MS_CALIB_FN_PUSH];
	out->xol_ns = traced[MS_CALIB_FN_XOL] - base[MS_CALIB_FN_XOL];
	out->ret_ns = traced[MS_CALIB_FN_RET] - base[MS_CALIB_FN_RET] - out->emulated_ns;
	if (out->ret_ns < 0)
		out->ret_ns = 0;
	if (l->cfg.verbose)
		fprintf(stderr, "memscope-trace: a probe hit costs the target %.0f ns on an emulated "
			"instruction, %.0f ns on a single-stepped one, a return probe %.0f ns more "
			"(measured now, empty BPF program)\n", out->emulated_ns, out->xol_ns, out->ret_ns);
	return 0;
}

void ms_loader_set_level(struct ms_loader *l, unsigned level)
{
	if (l->skel->bss)
		l->skel->bss->ctl_level = level;
}
