/* SPDX-License-Identifier: BSD-3-Clause */
/* sampled.c - sampled mode needs libmemscope_sample.so inside the target:
 * preloaded into a command we start; a running process must have been
 * started with it. The sampling interval is the library's (its
 * environment), read here so estimates can be scaled. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elf/elf_syms.h"
#include "proc/target.h"
#include "trace/session.h"

#define SAMPLE_LIB "libmemscope_sample.so"

/* The sampling library next to this executable (the build tree), in
 * ../lib/memscope from it (make install, the Debian package), else the
 * system library directories. */
static int sample_lib_path(char *buf, size_t len)
{
	static const char *const dirs[] = { "/usr/local/lib", "/usr/lib" };
	static const char *const rel[] = { "", "/../lib/memscope" };
	char self[2048], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t i;

	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++)
				if ((size_t)snprintf(buf, len, "%s%s/%s", self, rel[i], SAMPLE_LIB) < len &&
				    !access(buf, R_OK))
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

static void count_name(const char *name, void *user)
{
	(void)name;
	(*(int *)user)++;
}

/* 1 if the ELF file carries otel_memory USDT probes: an allocator that
 * samples on its own (the contract OpenTelemetry proposed to jemalloc and
 * mimalloc), a source of weighted samples without the library. */
static int has_otel_probes(const char *path)
{
	int n = 0;

	return ms_elf_usdt_names_path(path, "otel_memory", count_name, &n) > 0;
}

int ms_session_sampled_setup(struct session *s)
{
	char lib[4096], env[8192], val[64];
	const char *old = getenv("LD_PRELOAD");

	if (s->o->cmd) {
		/* A program whose allocator samples on its own needs no library */
		if (!has_otel_probes(s->exe)) {
			if (ms_elf_is_static_path(s->exe) == 1) {
				fprintf(stderr, "memscope-trace: %s is statically linked: the sampling "
					"library cannot interpose its allocator; use --mode full or --mode "
					"fast\n", s->exe);
				return -EINVAL;
			}
			if (sample_lib_path(lib, sizeof(lib))) {
				fprintf(stderr, "memscope-trace: %s not found next to memscope-trace or "
					"in /usr/local/lib, /usr/lib\n", SAMPLE_LIB);
				return -ENOENT;
			}
			if ((size_t)snprintf(env, sizeof(env), "%s%s%s", lib, old && *old ? ":" : "",
					     old ? old : "") >= sizeof(env))
				return -E2BIG;
			setenv("LD_PRELOAD", env, 1);
		}
		s->sample_interval = getenv("MEMSCOPE_SAMPLE_INTERVAL") ?
			strtoull(getenv("MEMSCOPE_SAMPLE_INTERVAL"), NULL, 10) : 0;
	} else {
		char exe[64];

		snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)s->o->pid);
		if (ms_target_maps_has(s->o->pid, SAMPLE_LIB) != 1 && !has_otel_probes(exe)) {
			fprintf(stderr, "memscope-trace: PID %d does not have %s loaded nor otel_memory "
				"probes: start it with LD_PRELOAD=%s, or use --mode full or --mode fast\n",
				(int)s->o->pid, SAMPLE_LIB, SAMPLE_LIB);
			return -ENOENT;
		}
		if (!ms_target_env(s->o->pid, "MEMSCOPE_SAMPLE_INTERVAL", val, sizeof(val)))
			s->sample_interval = strtoull(val, NULL, 10);
	}
	if (!s->sample_interval)
		s->sample_interval = 512 * 1024;
	return 0;
}
