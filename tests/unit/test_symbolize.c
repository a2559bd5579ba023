/* SPDX-License-Identifier: BSD-3-Clause */
/* test_symbolize.c - procmaps and symbolize against this very process and
 * a forked copy of it. Needs no root, but does need -g (it checks file and
 * line of its own functions). Prints PASS/FAIL/SKIP per case; exits 1 on
 * any failure.
 *
 *   cc -g -O1 -Wall -Wextra -Werror -fsanitize=address,undefined -Iuser \
 *      -Iinclude tests/unit/test_symbolize.c user/elf/symbolize.c \
 *      user/proc/procmaps.c user/elf/segments.c -ldw -lelf -o /tmp/test_symbolize
 */
#define _GNU_SOURCE
#include "proc/procmaps.h"
#include "elf/symbolize.h"
#include "check.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The function we look ourselves up by. Its entry maps to the line of its
 * name or brace (-O0/-O1) or of its body (-O2, no prologue). */
static const int target_line = __LINE__ + 2;
static __attribute__((noinline)) int
target_fn(volatile int *x)
{
	return *x * 3 + 1;
}

static uint64_t target_addr(void)
{
	volatile int v = 2;

	/* Call it so it exists and is not folded away. */
	if (target_fn(&v) != 7)
		abort();
	return (uint64_t)(uintptr_t)&target_fn;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);

	return s && a >= b && !strcmp(s + a - b, suffix);
}

/* Checks that f is target_fn of this executable; NULL if so, else why. */
static const char *is_target(const struct ms_frame *f, uint64_t ip)
{
	static char why[512], exe[256];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	Dl_info dl;

	if (n <= 0 || !dladdr((void *)(uintptr_t)ip, &dl))
		return "readlink or dladdr failed";
	exe[n] = '\0';
	if (!f->function || strcmp(f->function, "target_fn"))
		snprintf(why, sizeof(why), "function %s", f->function);
	else if (!ends_with(f->file, "test_symbolize.c"))
		snprintf(why, sizeof(why), "file %s", f->file);
	else if (f->line < target_line - 1 || f->line > target_line + 3)
		snprintf(why, sizeof(why), "line %d, want %d..%d", f->line,
			 target_line - 1, target_line + 3);
	else if (!f->module || strcmp(f->module, exe))
		snprintf(why, sizeof(why), "module %s, want %s", f->module,
			 exe);
	else if (f->offset != ip - (uint64_t)(uintptr_t)dl.dli_fbase)
		snprintf(why, sizeof(why), "offset %#lx, want %#lx",
			 (unsigned long)f->offset,
			 (unsigned long)(ip - (uintptr_t)dl.dli_fbase));
	else
		return NULL;
	return why;
}

static void test_procmaps(void)
{
	uint64_t ip = target_addr();
	struct ms_maps m = { 0 };
	const struct ms_module *mod;
	struct stat st;
	Dl_info dl;
	char root[64];
	int err, stack_var = 0;

	err = ms_maps_read(getpid(), &m);
	EXPECT("maps_read_self", err == 0 && m.n > 0, "err %d n %zu", err, m.n);
	mod = ms_maps_find(&m, ip);
	stat("/proc/self/exe", &st);
	dladdr((void *)(uintptr_t)ip, &dl);
	snprintf(root, sizeof(root), "/proc/%d/root/", getpid());
	EXPECT("maps_find_exe",
	       mod && mod->dev == st.st_dev && mod->ino == st.st_ino &&
		       ip >= mod->exec_start && ip < mod->exec_end &&
		       mod->start <= mod->exec_start && mod->exec_end <= mod->end,
	       "module %s", mod ? mod->path : "(none)");
	EXPECT("maps_bias", mod && mod->bias == (uintptr_t)dl.dli_fbase,
	       "bias %#lx, want %p", mod ? (unsigned long)mod->bias : 0,
	       dl.dli_fbase);
	EXPECT("maps_open_path",
	       mod && (!strncmp(mod->open_path, root, strlen(root)) || mod->open_path[0] == '/') &&
		       access(mod->open_path, R_OK) == 0,
	       "open_path %s", mod ? mod->open_path : "(none)");
	EXPECT("maps_find_stack",
	       !ms_maps_find(&m, (uint64_t)(uintptr_t)&stack_var) &&
		       !ms_maps_find(&m, 0),
	       "stack address found in a module");
	for (size_t i = 1; i < m.n; i++)
		if (m.mods[i].start < m.mods[i - 1].end)
			EXPECT("maps_sorted", 0, "%s overlaps %s",
			       m.mods[i].path, m.mods[i - 1].path);
	ms_maps_free(&m);
	ms_maps_free(&m);
	ms_maps_free(NULL);
	EXPECT("maps_free_resets", m.mods == NULL && m.n == 0, "not reset");
}

static void test_self(void)
{
	uint64_t ip = target_addr();
	struct ms_symbolizer *s = ms_symbolizer_new(getpid());
	struct ms_frame f, g;
	const char *why;
	Dl_info dl;
	int err, stack_var = 0;

	if (!s) {
		EXPECT("self_new", 0, "%s", strerror(errno));
		return;
	}
	err = ms_symbolize(s, ip, &f);
	why = err ? "not found" : is_target(&f, ip);
	EXPECT("self_static_fn", !why, "%s", why);

	/* One byte in: still target_fn, as a return address - 1 would be. */
	err = ms_symbolize(s, ip + 1, &f);
	EXPECT("self_inside_fn",
	       !err && f.function && !strcmp(f.function, "target_fn"),
	       "err %d function %s", err, f.function);

	err = ms_symbolize(s, ip, &g);
	EXPECT("self_cached",
	       !err && g.function == (ms_symbolize(s, ip, &f), f.function) &&
		       g.file == f.file,
	       "second lookup returned other strings");

	/* A libc function ASan does not intercept: no DWARF needed for the name. */
	ip = (uint64_t)(uintptr_t)&getpid;
	dladdr((void *)(uintptr_t)ip, &dl);
	err = ms_symbolize(s, ip, &f);
	EXPECT("self_libc_symtab",
	       !err && f.function && strstr(f.function, "getpid") &&
		       ends_with(f.module, "libc.so.6") &&
		       f.offset == ip - (uintptr_t)dl.dli_fbase,
	       "err %d function %s module %s", err, f.function, f.module);

	err = ms_symbolize(s, (uint64_t)(uintptr_t)&stack_var, &f);
	EXPECT("self_unknown_stack", err == -ENOENT && !f.function,
	       "err %d function %s", err, f.function);
	err = ms_symbolize(s, 0, &f);
	EXPECT("self_unknown_zero", err == -ENOENT, "err %d", err);

	err = ms_symbolizer_refresh(s);
	EXPECT("self_refresh", err == 0, "err %d", err);
	err = ms_symbolize(s, target_addr(), &f);
	why = err ? "not found" : is_target(&f, target_addr());
	EXPECT("self_after_refresh", !why, "%s", why);
	ms_symbolizer_free(s);
	ms_symbolizer_free(NULL);
}

/* A library loaded after the snapshot is found by the automatic refresh. */
static void test_dlopen(void)
{
	static const char *libs[][2] = { { "libcrypt.so.1", "crypt" },
					 { "libresolv.so.2", "ns_initparse" },
					 { "libbz2.so.1.0", "BZ2_bzlibVersion" } };
	struct ms_symbolizer *s = ms_symbolizer_new(getpid());
	void *h = NULL, *fn = NULL;
	struct ms_frame f;
	size_t i;
	int err;

	for (i = 0; s && i < sizeof(libs) / sizeof(libs[0]); i++) {
		if (dlopen(libs[i][0], RTLD_NOW | RTLD_NOLOAD))
			continue; /* already there: proves nothing */
		h = dlopen(libs[i][0], RTLD_NOW | RTLD_LOCAL);
		fn = h ? dlsym(h, libs[i][1]) : NULL;
		if (fn)
			break;
		if (h)
			dlclose(h);
		h = NULL;
	}
	if (!fn) {
		printf("SKIP dlopen_auto_refresh: no unloaded test library\n");
	} else {
		err = ms_symbolize(s, (uint64_t)(uintptr_t)fn, &f);
		EXPECT("dlopen_auto_refresh",
		       !err && f.function && strstr(f.function, libs[i][1]) &&
			       f.module && strstr(f.module, libs[i][0]),
		       "%s: err %d function %s module %s", libs[i][0], err,
		       f.function, f.module);
		dlclose(h);
	}
	ms_symbolizer_free(s);
}

/* The report is written after the target is gone: the snapshot must do. */
static void test_after_exit(void)
{
	uint64_t ip = target_addr();
	struct ms_symbolizer *s;
	struct ms_maps m = { 0 };
	struct ms_frame f;
	const char *why;
	pid_t child;
	int err, pipefd[2];
	char c;

	if (pipe(pipefd))
		abort();
	child = fork();
	if (child == 0) {
		close(pipefd[0]);
		if (write(pipefd[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1)
		abort();
	close(pipefd[0]);
	s = ms_symbolizer_new(child);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (!s) {
		EXPECT("exit_new", 0, "%s", strerror(errno));
		return;
	}
	err = ms_symbolize(s, ip, &f);
	why = err ? "not found" : is_target(&f, ip);
	EXPECT("exit_static_fn", !why, "%s", why);
	ip = (uint64_t)(uintptr_t)&getpid;
	err = ms_symbolize(s, ip, &f);
	EXPECT("exit_libc", !err && f.function && strstr(f.function, "getpid"),
	       "err %d function %s", err, f.function);
	err = ms_symbolize(s, 1, &f);
	EXPECT("exit_unknown", err == -ENOENT, "err %d", err);
	err = ms_symbolizer_refresh(s);
	EXPECT("exit_refresh_esrch", err == -ESRCH, "err %d", err);
	err = ms_symbolize(s, target_addr(), &f);
	EXPECT("exit_after_refresh", !err && f.function, "err %d", err);
	ms_symbolizer_free(s);
	err = ms_maps_read(child, &m);
	EXPECT("exit_maps_esrch", err == -ESRCH && m.n == 0, "err %d", err);
}

/* A zombie has no address space left: nothing to snapshot. */
static void test_zombie(void)
{
	struct ms_symbolizer *s;
	siginfo_t si;
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	/* Wait for the exit without reaping. */
	waitid(P_PID, child, &si, WEXITED | WNOWAIT);
	s = ms_symbolizer_new(child);
	EXPECT("zombie_esrch", !s && errno == ESRCH, "s %p errno %d",
	       (void *)s, errno);
	ms_symbolizer_free(s);
	waitpid(child, NULL, 0);
	s = ms_symbolizer_new(child);
	EXPECT("reaped_esrch", !s && errno == ESRCH, "errno %d", errno);
	ms_symbolizer_free(s);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

int main(void)
{
	int fds = count_fds();

	setvbuf(stdout, NULL, _IOLBF, 0);
	test_procmaps();
	test_self();
	test_dlopen();
	test_after_exit();
	test_zombie();
	EXPECT("no_fd_leak", count_fds() == fds, "%d fds open, %d at start",
	       count_fds(), fds);
	return failed ? 1 : 0;
}
