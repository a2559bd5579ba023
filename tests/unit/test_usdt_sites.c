/* SPDX-License-Identifier: BSD-3-Clause */
/* test_usdt_sites.c - unit tests for user/elf/usdt_sites.c: the form of a
 * probe site told from its bytes, and the sites of real programs compiled
 * here against include/memscope.h with gcc, clang, C and C++, every
 * optimization level, PIE and not, with -fcf-protection, and mixed with
 * objects built with the 1-byte form (-DMEMSCOPE_NOP1). No root needed. */
#include "elf/usdt_sites.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memscope_events.h"
#include "check.h"

static char dir[64];

/* the memscope site with `pad` bytes of nop padding between lea and nop */
static size_t site_bytes(uint8_t *b, size_t pad)
{
	static const uint8_t down[] = { 0x48, 0x8d, 0x64, 0x24, 0x80 };
	static const uint8_t rest[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00,
					0x48, 0x8d, 0xa4, 0x24, 0x80, 0x00, 0x00, 0x00 };
	size_t n = 0;

	memcpy(b, down, sizeof(down));
	n += sizeof(down);
	memset(b + n, 0x90, pad);
	n += pad;
	memcpy(b + n, rest, sizeof(rest));
	return n; /* offset of the nop5 */
}

static void test_form_of_bytes(void)
{
	uint8_t b[64];
	size_t pad, at;

	for (pad = 0; pad <= 7; pad++) {
		at = site_bytes(b, pad);
		CHECK(ms_site_form_of(b + at, at, 13) == MS_FORM_NOP5);
		/* too few bytes after: no second lea seen */
		CHECK(ms_site_form_of(b + at, at, 5) == MS_FORM_NOP5_BARE);
		/* no first lea */
		CHECK(ms_site_form_of(b + at, 0, 13) == MS_FORM_NOP5_BARE);
	}
	at = site_bytes(b, 0);
	b[at + 5] = 0xc3; /* ret instead of the second lea */
	CHECK(ms_site_form_of(b + at, at, 13) == MS_FORM_NOP5_BARE);
	b[0] = 0x90;
	CHECK(ms_site_form_of(b, 0, 1) == MS_FORM_NOP1);
	b[0] = 0xcc;
	CHECK(ms_site_form_of(b, 0, 16) == MS_FORM_OTHER);
	CHECK(ms_site_form_optimizable(MS_FORM_NOP5) && ms_site_form_optimizable(MS_FORM_NOP5_BARE) &&
	      !ms_site_form_optimizable(MS_FORM_NOP1));
	PASS();
out:;
}

static const char *include_dir(void)
{
	const char *env = getenv("MEMSCOPE_INCLUDE");

	return env ? env : "include";
}

static int write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	if (fputs(text, f) < 0) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

static const char *src_a =
	"#include \"memscope.h\"\n"
	"int nop1_part(int);\n"
	"static void *pool[4];\n"
	"int main(int argc, char **argv) {\n"
	"  int x = argc; void *p = &pool[argc & 3];\n"
	"  (void)argv; TRACK_VAR(x); MEMSCOPE_ALLOC(p, 8); MEMSCOPE_FREE(p);\n"
	"  { MEMSCOPE_SCOPE(\"s\"); MEMSCOPE_TASK_ENTER(1); MEMSCOPE_TASK_EXIT(1); }\n"
	"  return nop1_part(x);\n"
	"}\n";
static const char *src_b =
	"#include \"memscope.h\"\n"
	"int nop1_part(int y) { TRACK_VAR(y); return 0; }\n";

/* Build a.c (default form) + b.c (-DMEMSCOPE_NOP1) with `cc flags`. */
static int build(const char *cc, const char *flags, const char *exe)
{
	char cmd[1024];

	const char *lang = strstr(cc, "++") ? "c++" : "c";

	snprintf(cmd, sizeof(cmd),
		 "(cd %s && %s %s -I%s -c -x %s a.c -o a.o && %s %s -I%s -DMEMSCOPE_NOP1 -c -x %s b.c "
		 "-o b.o && %s %s a.o b.o -o %s) 2>/dev/null",
		 dir, cc, flags, include_dir(), lang, cc, flags, include_dir(), lang, cc, flags, exe);
	return system(cmd);
}

static void test_sites_of_real_programs(void)
{
	static const struct {
		const char *cc, *flags;
	} builds[] = {
		{ "gcc", "-O0" }, { "gcc", "-O2" }, { "gcc", "-O3 -no-pie" },
		{ "gcc", "-O2 -fcf-protection" }, { "clang", "-O0" }, { "clang", "-O3" },
		{ "g++", "-O2" }, { "clang++", "-O1 -fno-pie -no-pie" },
	};
	struct ms_usdt_sites s = { 0 };
	char exe[128];
	size_t i, k;

	for (i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
		size_t five = 0, one = 0;
		uint64_t var_sem = 0;

		snprintf(exe, sizeof(exe), "%s/t%zu", dir, i);
		if (build(builds[i].cc, builds[i].flags, exe)) {
			printf("SKIP %s: %s %s cannot build\n", __func__, builds[i].cc, builds[i].flags);
			continue;
		}
		CHECK(ms_usdt_sites_read(exe, "memscope", &s) >= 8);
		CHECK(s.alive != 0);
		for (k = 0; k < s.n; k++) {
			const struct ms_usdt_site *v = &s.v[k];

			if (!strcmp(v->name, "var")) {
				CHECK(v->sem != 0 && (!var_sem || var_sem == v->sem));
				var_sem = v->sem;
				if (v->form == MS_FORM_NOP1)
					one++;
			}
			if (v->form == MS_FORM_NOP5) {
				five++;
				CHECK(v->pc % 8 == 0); /* aligned: never across a page */
				CHECK(!memcmp(v->orig, "\x0f\x1f\x44\x00\x00", 5));
			} else {
				/* only b.c's TRACK_VAR has the 1-byte form */
				CHECK(v->form == MS_FORM_NOP1 && !strcmp(v->name, "var") && v->orig[0] == 0x90);
			}
		}
		CHECK(one == 1 && five == s.n - 1);
		CHECK(ms_usdt_sites_cookie(&s, "var") == MS_SITE_MIXED);
		CHECK(ms_usdt_sites_cookie(&s, "alloc") == MS_SITE_NOP5);
		CHECK(ms_usdt_sites_cookie(&s, "no_such_probe") == MS_SITE_NOP1);
		ms_usdt_sites_free(&s);
		CHECK(ms_usdt_sites_read(exe, "other_provider", &s) == 0 && s.n == 0);
	}
	PASS();
out:
	ms_usdt_sites_free(&s);
}

static void test_old_and_unguarded_builds(void)
{
	struct ms_usdt_sites s = { 0 };
	char exe[128];
	size_t k;

	/* everything 1-byte: no alive note, cookie NOP1 */
	snprintf(exe, sizeof(exe), "%s/old", dir);
	CHECK(build("gcc", "-O2 -DMEMSCOPE_NOP1", exe) == 0);
	CHECK(ms_usdt_sites_read(exe, "memscope", &s) >= 8);
	CHECK(s.alive == 0);
	for (k = 0; k < s.n; k++)
		CHECK(s.v[k].form == MS_FORM_NOP1);
	CHECK(ms_usdt_sites_cookie(&s, "var") == MS_SITE_NOP1);
	ms_usdt_sites_free(&s);
	/* the test-only build without the leas: a bare 5-byte nop */
	snprintf(exe, sizeof(exe), "%s/bare", dir);
	CHECK(build("gcc", "-O2 -DMEMSCOPE__TEST_UNGUARDED", exe) == 0);
	CHECK(ms_usdt_sites_read(exe, "memscope", &s) >= 8);
	for (k = 0; k < s.n; k++)
		CHECK(s.v[k].form == MS_FORM_NOP5_BARE || s.v[k].form == MS_FORM_NOP1);
	CHECK(ms_usdt_sites_cookie(&s, "alloc") == MS_SITE_NOP1); /* rsp as is */
	ms_usdt_sites_free(&s);
	/* not ELF */
	CHECK(ms_usdt_sites_read("Makefile", "memscope", &s) == -ENOEXEC);
	CHECK(ms_usdt_sites_read("/nonexistent/x", "memscope", &s) == -ENOENT);
	PASS();
out:
	ms_usdt_sites_free(&s);
}

static void test_sampling_library(void)
{
	const char *lib = ".output/libmemscope_sample.so";
	struct ms_usdt_sites s = { 0 };
	size_t k;

	if (access(lib, R_OK)) {
		printf("SKIP %s: %s not built\n", __func__, lib);
		return;
	}
	CHECK(ms_usdt_sites_read(lib, "memscope", &s) == 2);
	for (k = 0; k < s.n; k++)
		CHECK(s.v[k].form == MS_FORM_NOP5 && s.v[k].sem);
	CHECK(s.alive != 0);
	PASS();
out:
	ms_usdt_sites_free(&s);
}

int main(void)
{
	char abs[512], cmd[256];

	/* the builds run in a temporary directory: the header by absolute path */
	if (!getenv("MEMSCOPE_INCLUDE")) {
		if (!getcwd(abs, sizeof(abs) - 16))
			return 1;
		strcat(abs, "/include");
		setenv("MEMSCOPE_INCLUDE", abs, 1);
	}
	snprintf(dir, sizeof(dir), "/tmp/ms-usdt-sites-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	if (system(cmd) || write_file("a.c", src_a) || write_file("b.c", src_b))
		return 1;
	test_form_of_bytes();
	test_sites_of_real_programs();
	test_old_and_unguarded_builds();
	test_sampling_library();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		printf("INFO could not remove %s\n", dir);
	return failed ? 1 : 0;
}
