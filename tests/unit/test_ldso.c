/* SPDX-License-Identifier: BSD-3-Clause */
/* test_ldso.c - elf/ldso.c against the dynamic linker itself: for each
 * program, the files ms_ldso_resolve() says ld.so will map must be the
 * files `ld.so --list` maps (compared by device and inode). Programs: some
 * of the system's, the tests' allocator programs, and ones built here in a
 * temporary directory with DT_RPATH, DT_RUNPATH, $ORIGIN, a dependency
 * found through its loader's RUNPATH, LD_LIBRARY_PATH and LD_PRELOAD.
 * Needs cc; no root. */
#define _GNU_SOURCE
#include "elf/ldso.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"

#define LDSO "/lib64/ld-linux-x86-64.so.2"

struct fid {
	dev_t dev;
	ino_t ino;
};

static int fid_of(const char *path, struct fid *f)
{
	struct stat st;

	if (stat(path, &st))
		return -1;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	return 0;
}

/* The files `ld.so --list exe` maps, with env (NULL-terminated "K=V"). */
static int ldso_list(const char *exe, char *const env[], struct fid *out, int max)
{
	char cmd[8192], line[4096];
	size_t o = 0;
	int n = 0, i;
	FILE *p;

	o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, "env -i");
	for (i = 0; env && env[i]; i++)
		o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, " '%s'", env[i]);
	snprintf(cmd + o, sizeof(cmd) - o, " %s --list '%s'", LDSO, exe);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (n < max && fgets(line, sizeof(line), p)) {
		char *arrow = strstr(line, "=> "), *path = arrow ? arrow + 3 : line + strspn(line, " \t");

		path[strcspn(path, " \t\n(")] = 0;
		if (path[0] == '/' && fid_of(path, &out[n]) == 0)
			n++;
	}
	return pclose(p) == 0 ? n : -1;
}

static const char *env_get(char *const env[], const char *k)
{
	size_t kl = strlen(k);
	int i;

	for (i = 0; env && env[i]; i++)
		if (!strncmp(env[i], k, kl) && env[i][kl] == '=')
			return env[i] + kl + 1;
	return NULL;
}

/* 1 if the two lists hold the same files (ours has the executable first,
 * which ld.so --list does not print). */
static int same_files(const char *exe, char *const env[], int verbose)
{
	struct ms_ldso_env e = { .root = "", .ld_library_path = env_get(env, "LD_LIBRARY_PATH"),
				 .ld_preload = env_get(env, "LD_PRELOAD") };
	struct ms_ldso_objs objs;
	struct fid want[128], got[128];
	int nw = ldso_list(exe, env, want, 128), ng = 0, i, j, ok;
	size_t k;

	if (nw < 0 || ms_ldso_resolve(exe, &e, &objs))
		return 0;
	for (k = 1; k < objs.n && ng < 128; k++)
		if (fid_of(objs.path[k], &got[ng]) == 0)
			ng++;
	ok = ng == nw;
	for (i = 0; ok && i < nw; i++) {
		for (j = 0; j < ng && (got[j].dev != want[i].dev || got[j].ino != want[i].ino); j++)
			;
		ok = j < ng;
	}
	if (!ok || verbose) {
		printf("INFO %s: ld.so maps %d files, resolved %d:", exe, nw, ng);
		for (k = 0; k < objs.n; k++)
			printf(" %s", objs.path[k]);
		printf("\n");
	}
	ms_ldso_objs_free(&objs);
	return ok;
}

static void system_programs(void)
{
	static const char *const progs[] = {
		"/bin/ls", "/usr/bin/python3", "/usr/bin/redis-server", "/usr/bin/valgrind.bin",
		".output/tests/alloc_je", ".output/tests/alloc_tc", ".output/tests/alloc_mi",
		".output/tests/alloc_all", ".output/memscope-trace",
	};
	size_t i;
	int tried = 0;

	for (i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (access(progs[i], X_OK))
			continue;
		tried++;
		CHECK(same_files(progs[i], NULL, 0));
	}
	CHECK(tried >= 3);
	PASS();
out:
	return;
}

static int sh(const char *fmt, const char *dir)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), fmt, dir, dir, dir, dir, dir, dir);
	return system(cmd);
}

/* libz.so (RUNPATH $ORIGIN) needs liby.so in its own directory; two
 * programs need libz: one through DT_RPATH $ORIGIN/lib, one through
 * DT_RUNPATH; a third finds it only through LD_LIBRARY_PATH; a fourth
 * through an RPATH naming ${ORIGIN}; LD_PRELOAD adds libp.so. */
static void search_paths(void)
{
	char dir[] = "/tmp/memscope-ldso-XXXXXX", exe[256], llp[300], pre[300];
	char *env_llp[] = { llp, NULL }, *env_pre[] = { llp, pre, NULL };

	CHECK(mkdtemp(dir));
	CHECK(sh("mkdir -p %s/lib %s/other && cd %s && "
		 "echo 'int y(void){return 1;}' > y.c && echo 'int y(void); int z(void){return y();}' > z.c && "
		 "echo 'int p(void){return 2;}' > p.c && echo 'int z(void); int main(void){return z()-1;}' > m.c && "
		 "cc -shared -fPIC y.c -o lib/liby.so && "
		 "cc -shared -fPIC z.c -o lib/libz.so -Llib -ly -Wl,--enable-new-dtags,-rpath,'$ORIGIN' && "
		 "cc -shared -fPIC p.c -o other/libp.so && "
		 "cc m.c -o rpath -Llib -lz -Wl,--disable-new-dtags,-rpath,'$ORIGIN/lib',-rpath-link,lib && "
		 "cc m.c -o runpath -Llib -lz -Wl,--enable-new-dtags,-rpath,'$ORIGIN/lib',-rpath-link,lib && "
		 "cc m.c -o llp -Llib -lz -Wl,-rpath-link,lib && "
		 "cc m.c -o braces -Llib -lz -Wl,--disable-new-dtags,-rpath,'${ORIGIN}/lib',-rpath-link,lib",
		 dir) == 0);
	snprintf(llp, sizeof(llp), "LD_LIBRARY_PATH=%s/lib", dir);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s/other/libp.so", dir);
	snprintf(exe, sizeof(exe), "%s/rpath", dir);
	CHECK(same_files(exe, NULL, 1));
	snprintf(exe, sizeof(exe), "%s/runpath", dir);
	CHECK(same_files(exe, NULL, 1));
	snprintf(exe, sizeof(exe), "%s/braces", dir);
	CHECK(same_files(exe, NULL, 1));
	snprintf(exe, sizeof(exe), "%s/llp", dir);
	CHECK(same_files(exe, env_llp, 1));
	CHECK(same_files(exe, env_pre, 1));
	PASS();
out:
	if (dir[sizeof(dir) - 7] != 'X')
		sh("rm -rf %s", dir);
}

/* the hook is in ld.so and nowhere else */
static void debug_hook(void)
{
	uint64_t off = 0;
	int64_t delta = 0;

	CHECK(ms_ldso_debug_hook(LDSO, &off, &delta) == 0 && off > 0 && delta != 0);
	CHECK(ms_ldso_debug_hook("/lib/x86_64-linux-gnu/libc.so.6", &off, &delta) == -ENOENT);
	PASS();
out:
	return;
}

int main(void)
{
	system_programs();
	search_paths();
	debug_hook();
	return failed ? 1 : 0;
}
