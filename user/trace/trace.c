/* trace.c - see trace.h. The session owns every resource and frees them
 * in reverse order under one cleanup label; a report is written whenever
 * tracing started, whatever stopped it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "probe/bpfmaps.h"
#include "elf/elf_syms.h"
#include "probe/loader.h"
#include "proc/procmaps.h"
#include "registry/registry.h"
#include "report/report.h"
#include "report/report_out.h"
#include "report/report_live.h"
#include "probe/consumer.h"
#include "elf/symbolize.h"
#include "proc/target.h"
#include "trace/trace.h"

#define POLL_MS 5          /* drain period: records wait at most this long */
#define RESCAN_MS 100      /* look for newly mapped libraries */

struct session {
	const struct ms_opts *o;
	pid_t pid;
	int is_child;
	int pidfd;
	char exe[4096];
	struct ms_loader *loader;
	struct ms_registry *reg;
	struct ms_consumer *cons;
	struct ms_symbolizer *sym;
	FILE *out;
	FILE *html, *folded, *folded_alloc, *timeline;
	int exited;
	int status;
	const char *stop_reason;
	uint64_t start_ns, end_ns;
	uint64_t sample_interval;
#define MAX_KIDS 256
	pid_t kids[MAX_KIDS]; /* children traced under -f */
	size_t nkids;
	int rescan_now;
#define MAX_ALLOC_MODS 16
	char *alloc_mods[MAX_ALLOC_MODS]; /* probed allocator libraries, as maps names them */
	size_t nalloc_mods;
#define MAX_VMAS 4096 /* executable mappings kept (a process has tens) */
	struct ms_ev_vma *vmas; /* the target's mappings as it exits, so far */
	size_t nvmas;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *mode_name(enum ms_mode m)
{
	switch (m) {
	case MS_MODE_FAST: return "fast";
	case MS_MODE_LIGHT: return "light";
	case MS_MODE_SAMPLED: return "sampled";
	default: return "full";
	}
}

static void note_alloc_module(struct session *s, pid_t pid, const struct ms_module *m);

/* Attach to the probes and allocator of every module the target maps now
 * (executable, libraries, dlopen'ed ones). Returns probe names attached. */
static int attach_mapped_pid(struct session *s, pid_t pid, int quiet)
{
	struct ms_maps maps = { 0 };
	size_t i;
	int total = 0, n, err;

	err = ms_maps_read(pid, &maps);
	if (err)
		return err;
	for (i = 0; i < maps.n; i++) {
		const struct ms_module *m = &maps.mods[i];

		if (!m->exec_start)
			continue;
		err = ms_loader_attach_usdt(s->loader, pid, m->open_path, &n);
		if (!err)
			total += n;
		else if (!quiet && s->o->verbose)
			fprintf(stderr, "memscope-trace: probes in %s: %s\n", m->path, strerror(-err));
		err = ms_loader_attach_alloc(s->loader, pid, m->open_path, &n);
		if (err && !quiet)
			fprintf(stderr, "memscope-trace: allocator in %s: %s\n", m->path, strerror(-err));
		note_alloc_module(s, pid, m);
	}
	ms_maps_free(&maps);
	return total;
}

static int attach_mapped(struct session *s, int quiet)
{
	size_t i;

	for (i = 0; i < s->nkids; i++)
		attach_mapped_pid(s, s->kids[i], 1);
	return attach_mapped_pid(s, s->pid, quiet);
}

/* The target is exiting: symbolize its stacks from the mappings BPF read
 * (/proc/PID/maps is gone, or soon). Files are looked for by name next to
 * the executable, the allocator libraries and in the usual library
 * directories, and must be the very files mapped (device and inode). */
static void vmas_apply(struct session *s)
{
	static const char *const std[] = { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
					   "/lib64", "/usr/lib64", "/lib", "/usr/lib",
					   "/usr/local/lib" };
	const char *dirs[MAX_ALLOC_MODS + 40], *llp = getenv("LD_LIBRARY_PATH");
	char exe_dir[sizeof(s->exe)], mod_dirs[MAX_ALLOC_MODS][4096], *llp_copy = NULL, *save, *tok;
	struct ms_vma *v = calloc(s->nvmas ? s->nvmas : 1, sizeof(*v));
	struct ms_maps maps = { 0 };
	size_t i, nd = 0;

	if (!v)
		goto out;
	snprintf(exe_dir, sizeof(exe_dir), "%s", s->exe);
	dirs[nd++] = dirname(exe_dir);
	for (i = 0; i < s->nalloc_mods; i++) {
		snprintf(mod_dirs[i], sizeof(mod_dirs[i]), "%s", s->alloc_mods[i]);
		dirs[nd++] = dirname(mod_dirs[i]);
	}
	if (llp && (llp_copy = strdup(llp)))
		for (tok = strtok_r(llp_copy, ":", &save); tok && nd < MAX_ALLOC_MODS + 30;
		     tok = strtok_r(NULL, ":", &save))
			dirs[nd++] = tok;
	for (i = 0; i < sizeof(std) / sizeof(std[0]); i++)
		dirs[nd++] = std[i];
	dirs[nd] = NULL;
	for (i = 0; i < s->nvmas; i++) {
		const struct ms_ev_vma *e = &s->vmas[i];

		v[i] = (struct ms_vma){ .start = e->start, .end = e->end, .offset = e->offset,
					.ino = e->ino, .dev = makedev(e->dev >> 20, e->dev & 0xfffff),
					.name = e->name };
	}
	if (ms_maps_from_vmas(v, s->nvmas, dirs, &maps) == 0 && maps.n)
		ms_symbolizer_use_maps(&s->sym, s->pid, &maps);
	ms_maps_free(&maps);
out:
	free(llp_copy);
	free(v);
	s->nvmas = 0;
}

static void vma_record(struct session *s, const struct ms_hdr *h)
{
	const struct ms_ev_vma *e = (const void *)h;

	if ((pid_t)h->pid != s->pid)
		return; /* stacks of followed children use their parent's modules */
	if (h->flags & MS_F_LAST) {
		vmas_apply(s);
		return;
	}
	if (!e->start || s->nvmas >= MAX_VMAS)
		return;
	if (!s->vmas && !(s->vmas = calloc(MAX_VMAS, sizeof(*s->vmas))))
		return;
	s->vmas[s->nvmas] = *e;
	s->vmas[s->nvmas].name[sizeof(e->name) - 1] = 0;
	s->nvmas++;
}

/* Lifecycle records, seen as they are drained: an exec replaces the image
 * (its string literals move), a fork under -f adds a process to trace. */
static void on_record(void *user, const struct ms_hdr *h)
{
	struct session *s = user;
	const struct ms_ev_proc *e = (const void *)h;

	if (h->type == MS_EV_VMA) {
		vma_record(s, h);
	} else if (h->type == MS_EV_EXEC) {
		ms_registry_forget_pid_strings(s->reg, h->pid);
		ms_loader_forget_strings(s->loader, h->pid);
		if ((pid_t)h->pid == s->pid)
			ms_target_exe(s->pid, s->exe, sizeof(s->exe));
		s->rescan_now = 1;
	} else if (h->type == MS_EV_FORK && s->o->follow && s->nkids < MAX_KIDS) {
		if (s->o->verbose)
			fprintf(stderr, "memscope-trace: PID %u forked %u: following it\n", h->pid, e->child_pid);
		s->kids[s->nkids++] = (pid_t)e->child_pid;
		ms_loader_add_pid(s->loader, (pid_t)e->child_pid);
		if (attach_mapped_pid(s, (pid_t)e->child_pid, 1) <= 0 && s->o->verbose)
			fprintf(stderr, "memscope-trace: no memscope probes attached in PID %u\n", e->child_pid);
	}
}

/* Before exec nothing of the command is mapped yet: attach by path to the
 * executable and to the libraries the dynamic linker will load for the
 * allocator (uprobes are per file, so they arm when the file is mapped). */
static int attach_before_exec(struct session *s)
{
	static const char *const libs[] = {
		"/lib/x86_64-linux-gnu/libc.so.6",
		"/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
	};
	const char *preload = getenv("LD_PRELOAD");
	size_t i;
	int n, probes = 0, err;

	/* A script (#!) is not ELF: its interpreter is found at the rescan. */
	if (ms_elf_check_arch_path(s->exe, NULL) == 0) {
		err = ms_loader_attach_usdt(s->loader, s->pid, s->exe, &probes);
		if (err)
			return err;
		err = ms_loader_attach_alloc(s->loader, s->pid, s->exe, &n);
		if (err)
			return err;
	}
	for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		if (access(libs[i], R_OK))
			continue;
		/* every uprobe costs the kernel a walk of all processes mapping
		 * the file: probe libstdc++ only for a program that links it (a
		 * dlopen'ed one is found by the rescan) */
		if (strstr(libs[i], "libstdc++") && ms_elf_needs_path(s->exe, "libstdc++") != 1)
			continue;
		err = ms_loader_attach_alloc(s->loader, s->pid, libs[i], &n);
		if (err)
			return err;
		ms_loader_attach_usdt(s->loader, s->pid, libs[i], &n);
	}
	/* A preloaded allocator (jemalloc, tcmalloc, the sampling library). */
	if (preload) {
		char *copy = strdup(preload), *save = NULL, *tok;

		for (tok = copy ? strtok_r(copy, ": ", &save) : NULL; tok;
		     tok = strtok_r(NULL, ": ", &save)) {
			if (access(tok, R_OK))
				continue;
			ms_loader_attach_alloc(s->loader, s->pid, tok, &n);
			ms_loader_attach_usdt(s->loader, s->pid, tok, &n);
			probes += n;
		}
		free(copy);
	}
	return probes;
}

static int resolve(void *user, uint32_t pid, uint64_t ip, struct ms_frame *out)
{
	struct session *s = user;

	(void)pid;
	if (!s->sym)
		return -ENOENT;
	return ms_symbolize(s->sym, ip, out);
}

/* A string literal of a process that is gone, read from the file that
 * mapped its address (literals live in a module's read-only data), as the
 * symbolizer knows the modules: never from a live process. Followed
 * children that did not exec have their parent's modules. */
static ssize_t read_gone_str(void *user, uint32_t pid, uint64_t addr, void *buf, size_t len)
{
	struct session *s = user;
	struct ms_frame f;
	ssize_t n;
	char *nul;

	(void)pid;
	if (!s->sym || ms_symbolize(s->sym, addr, &f) || !f.module)
		return -ENOENT;
	n = ms_elf_read_vaddr(f.module, f.offset, buf, len);
	if (n > 0 && (nul = memchr(buf, 0, (size_t)n)))
		n = nul - (char *)buf;
	return n;
}

/* Strings the BPF side could not read (their page was never touched): ask
 * the live target, else the file that maps that address. */
static ssize_t read_target_str(void *user, uint32_t pid, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = ms_target_read_str(NULL, pid, addr, buf, len);

	return n > 0 ? n : read_gone_str(user, pid, addr, buf, len);
}

/* The allocator's modules are those whose functions carry our uprobes;
 * libc and libstdc++ are the usual ones. */
static int internal_caller(void *user, uint32_t pid, uint64_t caller)
{
	struct session *s = user;
	struct stat mod, exe;
	struct ms_frame f;
	size_t i;

	(void)pid;
	/* Not in a module the tracer knows yet: ask again at the end */
	if (!s->sym || ms_symbolize(s->sym, caller - 1, &f) || !f.module)
		return -1;
	/* A statically linked allocator lives in the executable with the
	 * program: there, glibc's own functions are told by name. */
	if (f.function && (!strncmp(f.function, "tcache_", 7) || !strncmp(f.function, "__libc_", 7) ||
			   !strncmp(f.function, "_IO_", 4) || !strncmp(f.function, "_dl_", 4)))
		return 1;
	/* Called from inside a library whose allocator we probe (glibc, a
	 * preloaded jemalloc): the library freeing its own early blocks. */
	for (i = 0; i < s->nalloc_mods; i++)
		if (!strcmp(f.module, s->alloc_mods[i]))
			return 1;
	/* Once a rescan has listed them, the list is the answer: no system
	 * calls on this path (attached mid-run, every free of an older block
	 * comes here). A target that exited before any rescan: the module
	 * file itself, when this tracer sees it at that path, unless it is
	 * the executable (a static program's own frees are not internal). */
	if (s->nalloc_mods || stat(f.module, &mod) ||
	    (!stat(s->exe, &exe) && exe.st_dev == mod.st_dev && exe.st_ino == mod.st_ino))
		return 0;
	return ms_loader_is_allocator(s->loader, f.module);
}

/* Remember, by the path maps shows (the symbolizer's name for it), a
 * library of pid whose allocator functions are probed: frees called from
 * inside it are its own business (internal_caller). Looked up while the
 * target is alive: records may be read after it is gone. */
static void note_alloc_module(struct session *s, pid_t pid, const struct ms_module *m)
{
	struct stat mod, exe;
	char path[64];
	size_t i;

	if (s->nalloc_mods == MAX_ALLOC_MODS || !ms_loader_is_allocator(s->loader, m->open_path))
		return;
	for (i = 0; i < s->nalloc_mods; i++)
		if (!strcmp(s->alloc_mods[i], m->path))
			return;
	/* not the executable: a static program's own frees are not internal */
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (stat(m->open_path, &mod) || (!stat(path, &exe) && exe.st_dev == mod.st_dev &&
					 exe.st_ino == mod.st_ino))
		return;
	s->alloc_mods[s->nalloc_mods] = strdup(m->path);
	if (s->alloc_mods[s->nalloc_mods])
		s->nalloc_mods++;
}

static void check_exit(struct session *s)
{
	int st;

	if (s->exited)
		return;
	if (s->is_child) {
		pid_t r = waitpid(s->pid, &st, WNOHANG);

		if (r == s->pid && (WIFEXITED(st) || WIFSIGNALED(st))) {
			s->exited = 1;
			s->status = st;
		}
		return;
	}
	if (s->pidfd >= 0) {
		struct pollfd p = { .fd = s->pidfd, .events = POLLIN };

		if (poll(&p, 1, 0) == 1)
			s->exited = 1;
	} else if (kill(s->pid, 0) && errno == ESRCH) {
		s->exited = 1;
	}
	if (s->exited) {
		const struct ms_summary *sum = ms_registry_summary(s->reg);

		s->status = sum->proc_exited ? sum->exit_code : 0;
	}
}

/* Writers report only what ferror knows: flush to see a full disk. */
static int finish_output(FILE *f, const char *path, int werr)
{
	if (!f)
		return 0;
	if (werr || fflush(f) || ferror(f)) {
		fprintf(stderr, "memscope-trace: write %s: %s\n", path, strerror(errno ? errno : EIO));
		return -EIO;
	}
	return 0;
}

static void report_ctx(struct session *s, struct ms_report_ctx *cp)
{
	struct ms_report_ctx c = { 0 };
	const struct ms_summary *sum = ms_registry_summary(s->reg);

	c.reg = s->reg;
	c.resolve = resolve;
	c.resolve_user = s;
	c.pid = s->pid;
	c.exe = s->exe;
	c.mode = mode_name(s->o->mode);
	c.stop_reason = s->stop_reason;
	c.start_ns = s->start_ns;
	c.end_ns = s->end_ns;
	c.target_exited = s->exited;
	c.exit_status = s->status;
	if (s->exited && !s->is_child && sum->proc_exited)
		c.exit_status = sum->exit_code;
	c.from_start = s->is_child;
	c.sample_interval = s->sample_interval;
	if (s->loader)
		ms_loader_read_stats(s->loader, c.stats);
	*cp = c;
}

static int write_reports(struct session *s)
{
	struct ms_report_ctx c;
	int err = 0;

	ms_registry_settle(s->reg); /* before names become fold keys */
	ms_registry_fold_now(s->reg);
	report_ctx(s, &c);
	if (s->out) {
		err = ms_report_json(s->out, &c);
		if (fflush(s->out) || err) {
			fprintf(stderr, "memscope-trace: write %s: %s\n", s->o->output, strerror(errno));
			err = -EIO;
		}
	} else {
		ms_report_text(stdout, &c);
		fflush(stdout);
	}
	if (s->html)
		err |= finish_output(s->html, s->o->html, ms_report_html(s->html, &c));
	if (s->timeline)
		err |= finish_output(s->timeline, s->o->timeline, ms_report_timeline(s->timeline, &c));
	if (s->folded)
		err |= finish_output(s->folded, s->o->folded, ms_report_folded(s->folded, &c, 1));
	if (s->folded_alloc)
		err |= finish_output(s->folded_alloc, s->o->folded_alloc,
				     ms_report_folded(s->folded_alloc, &c, 0));
	return err;
}

#define SAMPLE_LIB "libmemscope_sample.so"

/* The sampling library next to this executable (the build tree and an
 * install put them side by side), else the system library directories. */
static int sample_lib_path(char *buf, size_t len)
{
	static const char *const dirs[] = { "/usr/local/lib", "/usr/lib" };
	char self[2048], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t i;

	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			if ((size_t)snprintf(buf, len, "%s/%s", self, SAMPLE_LIB) < len && !access(buf, R_OK))
				return 0;
		}
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(buf, len, "%s/%s", dirs[i], SAMPLE_LIB);
		if (!access(buf, R_OK))
			return 0;
	}
	return -ENOENT;
}

/* Sampled mode needs the library in the target: preload it into a command
 * we start; a running process must have been started with it. */
static int sampled_setup(struct session *s)
{
	char lib[4096], env[8192], val[64];
	const char *old = getenv("LD_PRELOAD");

	if (s->o->cmd) {
		if (ms_elf_is_static_path(s->exe) == 1) {
			fprintf(stderr, "memscope-trace: %s is statically linked: the sampling library "
				"cannot interpose its allocator; use --mode full or --mode fast\n", s->exe);
			return -EINVAL;
		}
		if (sample_lib_path(lib, sizeof(lib))) {
			fprintf(stderr, "memscope-trace: %s not found next to memscope-trace or in "
				"/usr/local/lib, /usr/lib\n", SAMPLE_LIB);
			return -ENOENT;
		}
		if ((size_t)snprintf(env, sizeof(env), "%s%s%s", lib, old && *old ? ":" : "",
				     old ? old : "") >= sizeof(env))
			return -E2BIG;
		setenv("LD_PRELOAD", env, 1);
		s->sample_interval = getenv("MEMSCOPE_SAMPLE_INTERVAL") ?
			strtoull(getenv("MEMSCOPE_SAMPLE_INTERVAL"), NULL, 10) : 0;
	} else {
		if (ms_target_maps_has(s->o->pid, SAMPLE_LIB) != 1) {
			fprintf(stderr, "memscope-trace: PID %d does not have %s loaded: start it with "
				"LD_PRELOAD=%s, or use --mode full or --mode fast\n", (int)s->o->pid,
				SAMPLE_LIB, SAMPLE_LIB);
			return -ENOENT;
		}
		if (!ms_target_env(s->o->pid, "MEMSCOPE_SAMPLE_INTERVAL", val, sizeof(val)))
			s->sample_interval = strtoull(val, NULL, 10);
	}
	if (!s->sample_interval)
		s->sample_interval = 512 * 1024;
	return 0;
}

static int open_output(const char *path, FILE **out)
{
	/* Created 0600; never followed through a symlink planted there. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		int err = errno;

		fprintf(stderr, "memscope-trace: cannot write output file %s: %s\n", path,
			err == ELOOP ? "it is a symbolic link" : strerror(err));
		return -err;
	}
	*out = fdopen(fd, "w");
	if (!*out) {
		close(fd);
		return -errno;
	}
	return 0;
}

int ms_trace_run(const struct ms_opts *o)
{
	struct session s = { .o = o, .pidfd = -1, .stop_reason = "target exited" };
	struct ms_loader_cfg cfg = { 0 };
	struct ms_reg_opts ropts = { 0 };
	struct ms_child child = { .pid = -1, .release_fd = -1, .status_fd = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	char why[256];
	uint64_t deadline = 0, last_scan = 0, last_sym = 0, nstacks = 0, last_snap = 0;
	uint64_t last_live = 0, last_status = 0, live_allocs = 0;
	int status_line = isatty(STDERR_FILENO);
	int err, probes, rc = 1, started = 0;

	err = ms_check_privilege(why, sizeof(why));
	if (err) {
		fprintf(stderr, "memscope-trace: insufficient privilege: run as root or grant %s\n", why);
		return 1;
	}
	if ((o->output && open_output(o->output, &s.out)) ||
	    (o->html && open_output(o->html, &s.html)) ||
	    (o->timeline && open_output(o->timeline, &s.timeline)) ||
	    (o->folded && open_output(o->folded, &s.folded)) ||
	    (o->folded_alloc && open_output(o->folded_alloc, &s.folded_alloc)))
		goto cleanup;
	if (o->cmd) {
		const char *why = NULL;

		err = ms_resolve_cmd(o->cmd[0], s.exe, sizeof(s.exe));
		if (err) {
			fprintf(stderr, "memscope-trace: cannot execute %s: %s\n", o->cmd[0], strerror(-err));
			goto cleanup;
		}
		/* scripts (#!) are fine: the interpreter is what runs */
		if (ms_elf_check_arch_path(s.exe, &why) == -ENOEXEC && why && strncmp(why, "not an ELF", 10)) {
			fprintf(stderr, "memscope-trace: cannot trace %s: %s\n", o->cmd[0], why);
			goto cleanup;
		}
	} else {
		err = ms_target_check(o->pid, why, sizeof(why));
		if (err) {
			fprintf(stderr, "memscope-trace: PID %d %s\n", (int)o->pid, why);
			goto cleanup;
		}
		ms_target_exe(o->pid, s.exe, sizeof(s.exe));
		{
			const char *why = NULL;
			char root_exe[64];

			snprintf(root_exe, sizeof(root_exe), "/proc/%d/exe", (int)o->pid);
			if (ms_elf_check_arch_path(root_exe, &why) == -ENOEXEC && why) {
				fprintf(stderr, "memscope-trace: cannot trace PID %d (%s): %s\n", (int)o->pid,
					s.exe, why);
				goto cleanup;
			}
		}
	}

	if (o->mode == MS_MODE_SAMPLED && sampled_setup(&s))
		goto cleanup;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* open -> configure -> load */
	cfg.mode = o->mode;
	cfg.stack_depth = o->stack_depth;
	cfg.ring_bytes = (size_t)o->ring_mb << 20;
	cfg.max_live = o->max_live;
	cfg.max_stacks = 16384;
	cfg.max_threads = 65536;
	cfg.from_start = o->cmd != NULL;
	cfg.follow = o->follow;
	cfg.no_alloc = o->no_alloc;
	cfg.samples_only = o->mode == MS_MODE_SAMPLED && !o->with_probes;
	cfg.verbose = o->verbose;
	err = ms_loader_open(&s.loader, &cfg);
	if (err)
		goto cleanup;
	ropts.from_start = o->cmd != NULL;
	ropts.read_mem = read_target_str;
	ropts.read_gone = read_gone_str;
	ropts.internal_caller = internal_caller;
	ropts.keep = o->keep;
	ropts.user = &s;
	s.reg = ms_registry_new(&ropts);
	s.cons = s.reg ? ms_consumer_new(s.loader, s.reg, o->stack_depth) : NULL;
	if (!s.cons) {
		fprintf(stderr, "memscope-trace: ring buffer: %s\n", strerror(errno));
		goto cleanup;
	}
	ms_consumer_set_hook(s.cons, on_record, &s);

	/* attach */
	if (o->cmd) {
		err = ms_spawn_held(s.exe, o->cmd, &child);
		if (err) {
			fprintf(stderr, "memscope-trace: cannot start %s: %s\n", o->cmd[0], strerror(-err));
			goto cleanup;
		}
		s.pid = child.pid;
		s.is_child = 1;
		err = ms_loader_add_pid(s.loader, s.pid);
		probes = err ? err : attach_before_exec(&s);
		if (probes < 0) {
			fprintf(stderr, "memscope-trace: attach to %s: %s\n", s.exe, strerror(-probes));
			kill(s.pid, SIGKILL);
			waitpid(s.pid, NULL, 0);
			goto cleanup;
		}
	} else {
		s.pid = o->pid;
		err = ms_loader_add_pid(s.loader, s.pid);
		probes = err ? err : attach_mapped(&s, 0);
		if (probes < 0) {
			fprintf(stderr, "memscope-trace: attach to PID %d: %s\n", (int)s.pid, strerror(-probes));
			goto cleanup;
		}
		s.pidfd = (int)syscall(SYS_pidfd_open, s.pid, 0);
		s.sym = ms_symbolizer_new(s.pid);
	}
	if (probes == 0)
		fprintf(stderr, "memscope-trace: warning: %s has no memscope probes; tracing %s\n",
			s.exe, o->no_alloc || o->mode == MS_MODE_LIGHT ? "nothing but its lifecycle" : "its allocator only");
	s.start_ns = now_ns();
	started = 1;
	if (o->cmd) {
		err = ms_spawn_release(&child);
		if (err) {
			fprintf(stderr, "memscope-trace: cannot execute %s: %s\n", o->cmd[0], strerror(-err));
			waitpid(s.pid, NULL, 0);
			started = 0;
			goto cleanup;
		}
		s.sym = ms_symbolizer_new(s.pid);
	}
	if (o->duration > 0)
		deadline = s.start_ns + (uint64_t)(o->duration * 1e9);

	/* poll */
	while (!stop_signal) {
		uint64_t t;

		err = ms_consumer_poll(s.cons, POLL_MS);
		if (err < 0) {
			fprintf(stderr, "memscope-trace: ring buffer: %s\n", strerror(-err));
			break;
		}
		t = now_ns();
		/* New stacks may point into libraries loaded since the last
		 * look: map them now, while the target is alive to ask. */
		if (ms_consumer_stacks(s.cons) != nstacks && t - last_sym >= 20000000ull) {
			nstacks = ms_consumer_stacks(s.cons);
			last_sym = t;
			if (s.sym)
				ms_symbolizer_refresh(s.sym);
			else
				s.sym = ms_symbolizer_new(s.pid);
		}
		check_exit(&s);
		if (s.exited)
			break;
		if (o->snapshot_interval > 0 &&
		    t - last_snap >= (uint64_t)(o->snapshot_interval * 1e9)) {
			if (last_snap) {
				if (o->mode == MS_MODE_FAST)
					ms_bpfmaps_read_fast(s.loader, s.reg, o->stack_depth);
				ms_registry_snapshot(s.reg, t, NULL);
			}
			last_snap = t;
		}
		if (o->interval > 0 && t - last_live >= (uint64_t)(o->interval * 1e9)) {
			struct ms_report_ctx c;

			s.end_ns = t;
			report_ctx(&s, &c);
			if (last_live)
				ms_report_live(stderr, &c, live_allocs, (t - last_live) / 1e9);
			live_allocs = ms_registry_summary(s.reg)->allocs;
			last_live = t;
		} else if (status_line && t - last_status >= 500000000ull) {
			struct ms_report_ctx c;

			s.end_ns = t;
			report_ctx(&s, &c);
			ms_report_status(stderr, &c);
			last_status = t;
		}
		if (deadline && t >= deadline) {
			s.stop_reason = "duration";
			break;
		}
		if (s.rescan_now || t - last_scan >= RESCAN_MS * 1000000ull) {
			s.rescan_now = 0;
			last_scan = t;
			attach_mapped(&s, 1);
			if (s.sym)
				ms_symbolizer_refresh(s.sym);
			else
				s.sym = ms_symbolizer_new(s.pid);
		}
	}
	if (stop_signal)
		s.stop_reason = "signal";
	if (status_line && last_status)
		fputs("\r\033[K", stderr);
	/* Drain what the target produced up to now: the report is built from
	 * that. The probes come off at cleanup; the target runs on untraced. */
	ms_consumer_drain(s.cons);
	if (!s.exited && s.sym)
		ms_symbolizer_refresh(s.sym);
	if (o->mode == MS_MODE_FAST)
		ms_bpfmaps_read_fast(s.loader, s.reg, o->stack_depth);
	s.end_ns = now_ns();
	rc = write_reports(&s) ? 1 : 0;
	started = 0;
cleanup:
	if (started && s.reg) {
		s.end_ns = now_ns();
		write_reports(&s);
	}
	if (child.release_fd >= 0)
		close(child.release_fd);
	if (child.status_fd >= 0)
		close(child.status_fd);
	if (s.pidfd >= 0)
		close(s.pidfd);
	ms_consumer_free(s.cons);
	ms_loader_destroy(s.loader);
	while (s.nalloc_mods)
		free(s.alloc_mods[--s.nalloc_mods]);
	free(s.vmas);
	ms_symbolizer_free(s.sym);
	ms_registry_free(s.reg);
	if (s.out)
		fclose(s.out);
	if (s.html)
		fclose(s.html);
	if (s.timeline)
		fclose(s.timeline);
	if (s.folded)
		fclose(s.folded);
	if (s.folded_alloc)
		fclose(s.folded_alloc);
	return rc;
}
