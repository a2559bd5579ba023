/* SPDX-License-Identifier: BSD-3-Clause */
/* test_probe_place.c - unit tests for probe_place.c and elf_syms.c.
 *
 * Needs no root. Prints "PASS name" or "FAIL name: why" per case, "INFO" for
 * the placement decided on every allocator found on this machine and "SKIP"
 * for cases the machine cannot run (no libstdc++, no gcc -m32...). Exits 1
 * if any case failed.
 *
 * The USDT case compiles a program against include/memscope.h: it looks for
 * the header in $MEMSCOPE_INCLUDE, then ./include, then next to this
 * source file.
 */
#include "elf/elf_syms.h"
#include "elf/probe_place.h"
#include "check.h"
#include "memscope_events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"
#define LIBDIR "/usr/lib/x86_64-linux-gnu/"

struct tctx {
	char tmpdir[64];
};

/* Run ms_probe_place() on synthetic bytes at a made-up address and compare
 * offset and emulated with what the rule says. */
static void place_case(const char *name, const uint8_t *code,
		       size_t size, unsigned mask, uint64_t want_off,
		       int want_emul)
{
	struct ms_probe_place pl;
	int ret = ms_probe_place(code, size, 0x401000, mask, &pl);

	EXPECT(name,
	       ret == 0 && pl.offset == want_off && pl.emulated == want_emul,
	       "ret %d offset %llu emulated %d (want %llu/%d): %s", ret,
	       (unsigned long long)pl.offset, pl.emulated,
	       (unsigned long long)want_off, want_emul, pl.why);
	if (ret == 0)
		printf("     why: %s\n", pl.why);
}

static void synthetic_cases(void)
{
	/* push %rbp; mov %rsp,%rbp; pop %rbp; ret */
	static const uint8_t push_first[] = { 0x55, 0x48, 0x89, 0xe5, 0x5d,
					      0xc3 };
	/* test %rdi,%rdi; je +2; push %rbp; pop %rbp; ret; ret */
	static const uint8_t test_je[] = { 0x48, 0x85, 0xff, 0x74, 0x02, 0x55,
					   0x5d, 0xc3, 0xc3 };
	/* endbr64; push %rbp; mov %rsp,%rbp; pop %rbp; ret */
	static const uint8_t endbr_push[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55,
					      0x48, 0x89, 0xe5, 0x5d, 0xc3 };
	/* 0: test %rdi,%rdi  3: je 11  5: sub $1,%rdi  9: jmp 3  11: ret */
	static const uint8_t jump_back[] = { 0x48, 0x85, 0xff, 0x74, 0x06,
					     0x48, 0x83, 0xef, 0x01, 0xeb,
					     0xf8, 0xc3 };
	/* 0: test %rdi,%rdi  3: je 9  5: nop  6: jne 3 (rel32 form would be
	 * longer; a short jcc back to +3 from the body) 8: ret 9: ret */
	static const uint8_t jcc_back[] = { 0x48, 0x85, 0xff, 0x74, 0x04,
					    0x90, 0x75, 0xfb, 0xc3, 0xc3 };
	/* mov %rdi,%rax; ret */
	static const uint8_t mov_first[] = { 0x48, 0x89, 0xf8, 0xc3 };
	/* cmpb $0,0x4030201(%rip); push %r12; pop %r12; ret */
	static const uint8_t cmp_rip_push[] = { 0x80, 0x3d, 0x01, 0x02, 0x03,
						0x04, 0x00, 0x41, 0x54, 0x41,
						0x5c, 0xc3 };
	/* test %rdi,%rdi; mov %rdi,%rax; ret */
	static const uint8_t test_mov[] = { 0x48, 0x85, 0xff, 0x48, 0x89, 0xf8,
					    0xc3 };
	/* 22 test %rdi,%rdi (66 bytes), then je: too far */
	uint8_t too_far[22 * 3 + 3];
	/* jemalloc's free: mov %rdi,%rax; mov %rdi,%rcx; shr $0x1a,%rax;
	 * and $0xf0,%eax; cmp 0x1b0(%rax),%rcx; jne +0; ret */
	static const uint8_t je_free[] = { 0x48, 0x89, 0xf8, 0x48, 0x89, 0xf9,
					   0x48, 0xc1, 0xe8, 0x1a, 0x25, 0xf0,
					   0x00, 0x00, 0x00, 0x48, 0x3b, 0x88,
					   0xb0, 0x01, 0x00, 0x00, 0x75, 0x00,
					   0xc3 };
	/* mimalloc's malloc: mov %rdi,%rsi; mov %fs:0,%rdi;
	 * cmp $0x400,%rsi; ja +0; ret: the size moved to %rsi */
	static const uint8_t mi_malloc[] = { 0x48, 0x89, 0xfe, 0x64, 0x48,
					     0x8b, 0x3c, 0x25, 0x00, 0x00,
					     0x00, 0x00, 0x48, 0x81, 0xfe,
					     0x00, 0x04, 0x00, 0x00, 0x77,
					     0x00, 0xc3 };
	/* mov %rdi,%rax; mov %rax,(%rsi); je +0; ret: writes memory */
	static const uint8_t mem_write[] = { 0x48, 0x89, 0xf8, 0x48, 0x89,
					     0x06, 0x74, 0x00, 0xc3 };
	/* mov %rdi,%rax; sub $8,%rsp; je +0; ret: moves the stack */
	static const uint8_t rsp_write[] = { 0x48, 0x89, 0xf8, 0x48, 0x83,
					     0xec, 0x08, 0x74, 0x00, 0xc3 };
	/* xor %edi,%edi; je +0; ret: the argument is lost */
	static const uint8_t arg_lost[] = { 0x31, 0xff, 0x74, 0x00, 0xc3 };
	/* endbr64; test %rdi,%rdi; mov $1,%eax; push %rbx (libstdc++'s
	 * operator new) */
	static const uint8_t cxx_new[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x85,
					   0xff, 0xb8, 0x01, 0x00, 0x00, 0x00,
					   0x53, 0x5b, 0xc3 };
	/* 5-byte nopl (kernel's x86_nops[5]): emulated at +0 */
	static const uint8_t nop5_first[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00,
					      0xc3 };
	/* test %rdi,%rdi; xchg %eax,%r8d (41 90, which the kernel takes
	 * for a nop); ret */
	static const uint8_t test_xchg[] = { 0x48, 0x85, 0xff, 0x41, 0x90,
					     0xc3 };
	/* test %rdi,%rdi only, then the function ends */
	static const uint8_t test_only[] = { 0x48, 0x85, 0xff };
	struct ms_probe_place pl;
	size_t k;

	for (k = 0; k + 3 <= sizeof(too_far) - 3; k += 3) {
		too_far[k] = 0x48;
		too_far[k + 1] = 0x85;
		too_far[k + 2] = 0xff;
	}
	too_far[k] = 0x74;
	too_far[k + 1] = 0x00;
	too_far[k + 2] = 0xc3;

	place_case("push_rbp_at_0", push_first, sizeof(push_first),
		   MS_ARG_RDI, 0, 1);
	place_case("test_je_offset_3", test_je, sizeof(test_je), MS_ARG_RDI,
		   3, 1);
	place_case("endbr64_push_offset_4", endbr_push, sizeof(endbr_push),
		   MS_ARG_RDI | MS_ARG_RSI, 4, 1);
	place_case("jmp_back_into_prefix_falls_back", jump_back,
		   sizeof(jump_back), MS_ARG_RDI, 0, 0);
	place_case("jcc_back_into_prefix_falls_back", jcc_back,
		   sizeof(jcc_back), MS_ARG_RDI, 0, 0);
	place_case("mov_first_not_emulated", mov_first, sizeof(mov_first),
		   MS_ARG_RDI, 0, 0);
	place_case("cmpb_rip_then_push_offset_7", cmp_rip_push,
		   sizeof(cmp_rip_push), MS_ARG_RDI | MS_ARG_RSI, 7, 1);
	place_case("test_then_mov_falls_back", test_mov, sizeof(test_mov),
		   MS_ARG_RDI, 0, 0);
	place_case("beyond_64_bytes_falls_back", too_far, sizeof(too_far),
		   MS_ARG_RDI, 0, 0);
	place_case("jemalloc_free_first_branch", je_free, sizeof(je_free),
		   MS_ARG_RDI, 22, 1);
	place_case("mimalloc_malloc_size_moved", mi_malloc, sizeof(mi_malloc),
		   MS_ARG_RDI, 19, 1);
	ms_probe_place(mi_malloc, sizeof(mi_malloc), 0x401000, MS_ARG_RDI, &pl);
	EXPECT("mimalloc_malloc_size_in_rsi", pl.arg_reg[0] == MS_REG_SI,
	       "arg0 in reg code %u: %s", pl.arg_reg[0], pl.why);
	ms_probe_place(je_free, sizeof(je_free), 0x401000, MS_ARG_RDI, &pl);
	EXPECT("jemalloc_free_ptr_in_rdi", pl.arg_reg[0] == MS_REG_DI,
	       "arg0 in reg code %u: %s", pl.arg_reg[0], pl.why);
	place_case("memory_write_falls_back", mem_write, sizeof(mem_write),
		   MS_ARG_RDI, 0, 0);
	place_case("stack_pointer_write_falls_back", rsp_write,
		   sizeof(rsp_write), MS_ARG_RDI, 0, 0);
	place_case("argument_lost_falls_back", arg_lost, sizeof(arg_lost),
		   MS_ARG_RDI, 0, 0);
	place_case("argument_lost_outside_mask_ok", arg_lost, sizeof(arg_lost),
		   MS_ARG_RSI, 2, 1);
	place_case("cxx_new_push_after_mov", cxx_new, sizeof(cxx_new),
		   MS_ARG_RDI, 12, 1);
	place_case("nop5_at_0", nop5_first, sizeof(nop5_first), MS_ARG_RDI,
		   0, 1);
	place_case("never_lands_on_xchg_r8_nop", test_xchg,
		   sizeof(test_xchg), MS_ARG_RDI, 0, 0);
	place_case("function_ends_in_prefix_falls_back", test_only,
		   sizeof(test_only), MS_ARG_RDI, 0, 0);

	EXPECT("bad_mask_einval",
	       ms_probe_place(push_first, sizeof(push_first), 0, 1u << 9, &pl) ==
		       -EINVAL, "want -EINVAL");
	EXPECT("size_0_einval",
	       ms_probe_place(push_first, 0, 0, MS_ARG_RDI, &pl) == -EINVAL,
	       "want -EINVAL");
}

/* The classifier against encodings read off arch/x86/kernel/uprobes.c. */
static void kind_cases(void)
{
	static const struct {
		const char *name;
		uint8_t bytes[12];
		size_t len;
		enum ms_uprobe_insn want;
	} c[] = {
		{ "push_rbp", { 0x55 }, 1, MS_UPROBE_EMULATED },
		{ "push_r15", { 0x41, 0x57 }, 2, MS_UPROBE_EMULATED },
		{ "rexw_push_rbp", { 0x48, 0x55 }, 2, MS_UPROBE_XOL },
		{ "push_imm8", { 0x6a, 0x00 }, 2, MS_UPROBE_XOL },
		{ "call_rel32", { 0xe8, 0, 0, 0, 0 }, 5, MS_UPROBE_EMULATED },
		{ "jmp_rel8", { 0xeb, 0x00 }, 2, MS_UPROBE_EMULATED },
		{ "je_rel8", { 0x74, 0x00 }, 2, MS_UPROBE_EMULATED },
		{ "je_rel32", { 0x0f, 0x84, 0, 0, 0, 0 }, 6,
		  MS_UPROBE_EMULATED },
		{ "bnd_jmp", { 0xf2, 0xe9, 0, 0, 0, 0 }, 6, MS_UPROBE_EMULATED },
		{ "o16_jmp_rejected", { 0x66, 0xe9, 0, 0, 0, 0 }, 6,
		  MS_UPROBE_REJECTED },
		{ "call_indirect", { 0xff, 0xd0 }, 2, MS_UPROBE_XOL },
		{ "notrack_jmp_rejected", { 0x3e, 0xff, 0xe0 }, 3,
		  MS_UPROBE_REJECTED },
		{ "nop", { 0x90 }, 1, MS_UPROBE_EMULATED },
		{ "pause", { 0xf3, 0x90 }, 2, MS_UPROBE_EMULATED },
		{ "xchg_r8_taken_for_nop", { 0x41, 0x90 }, 2,
		  MS_UPROBE_EMULATED },
		{ "nopl_5", { 0x0f, 0x1f, 0x44, 0x00, 0x00 }, 5,
		  MS_UPROBE_EMULATED },
		{ "nopw_9_not_kernel_nop",
		  { 0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0 }, 9, MS_UPROBE_XOL },
		{ "cs_nopw_rejected",
		  { 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0 }, 9,
		  MS_UPROBE_REJECTED },
		{ "endbr64", { 0xf3, 0x0f, 0x1e, 0xfa }, 4, MS_UPROBE_XOL },
		{ "test_rdi", { 0x48, 0x85, 0xff }, 3, MS_UPROBE_XOL },
		{ "ret", { 0xc3 }, 1, MS_UPROBE_XOL },
		{ "lock_cmpxchg_rejected", { 0xf0, 0x48, 0x0f, 0xb1, 0x0e }, 5,
		  MS_UPROBE_REJECTED },
		{ "int3_rejected", { 0xcc }, 1, MS_UPROBE_REJECTED },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char name[64];
		enum ms_uprobe_insn k = ms_uprobe_insn_kind(c[i].bytes,
							    c[i].len);

		snprintf(name, sizeof(name), "kind_%s", c[i].name);
		EXPECT(name, k == c[i].want, "got %d want %d", (int)k,
		       (int)c[i].want);
	}
}

/* Place and print every name of `names` found in `path`; returns how many
 * were found, or -1 if the file is absent. */
static int place_list(const char *path,
		      const char *const *names, size_t n, unsigned mask)
{
	struct ms_elf *e = ms_elf_open(path);
	int found = 0;
	size_t i;

	if (!e) {
		printf("SKIP %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct ms_probe_place pl;
		struct ms_elf_func fn;
		int ret = ms_probe_place_elf(e, names[i], mask, &pl, &fn);

		if (ret == -ENOENT) {
			printf("INFO %-40s absent\n", names[i]);
			continue;
		}
		if (ret < 0) {
			EXPECT(names[i], 0, "%s: %s", path, strerror(-ret));
			continue;
		}
		found++;
		printf("INFO %-40s vaddr 0x%llx size %4llu -> +%llu %s: %s\n",
		       names[i], (unsigned long long)fn.vaddr,
		       (unsigned long long)fn.size,
		       (unsigned long long)pl.offset,
		       pl.emulated ? "emulated" : "SINGLE-STEPPED", pl.why);
	}
	ms_elf_close(e);
	return found;
}

static void real_libs(void)
{
	static const char *const libc_names[] = {
		"malloc", "calloc", "realloc", "reallocarray", "free",
		"posix_memalign", "aligned_alloc", "memalign", "valloc",
		"pvalloc",
	};
	static const char *const cxx_names[] = {
		"_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
		"_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
		"_ZnwmSt11align_val_tRKSt9nothrow_t",
		"_ZnamSt11align_val_tRKSt9nothrow_t", "_ZdlPv", "_ZdaPv",
		"_ZdlPvm", "_ZdaPvm", "_ZdlPvSt11align_val_t",
		"_ZdaPvSt11align_val_t", "_ZdlPvmSt11align_val_t",
		"_ZdaPvmSt11align_val_t", "_ZdlPvRKSt9nothrow_t",
		"_ZdaPvRKSt9nothrow_t",
	};
	static const char *const libs[] = {
		LIBDIR "libjemalloc.so.2",
		LIBDIR "libtcmalloc_minimal.so.4",
		LIBDIR "libtcmalloc.so.4",
		LIBDIR "libmimalloc.so.2",
	};
	const unsigned mask = MS_ARG_RDI | MS_ARG_RSI | MS_ARG_RDX;
	struct ms_probe_place pl;
	struct ms_elf_func fn;
	struct timespec t0, t1;
	size_t i;
	int ret;

	ret = ms_probe_place_file(LIBC, "free", MS_ARG_RDI, &pl, &fn);
	EXPECT("libc_free_offset_3",
	       ret == 0 && pl.offset == 3 && pl.emulated,
	       "ret %d offset %llu emulated %d: %s", ret,
	       (unsigned long long)pl.offset, pl.emulated, pl.why);
	ret = ms_probe_place_file(LIBC, "malloc", MS_ARG_RDI, &pl, &fn);
	EXPECT("libc_malloc_offset_0",
	       ret == 0 && pl.offset == 0 && pl.emulated,
	       "ret %d offset %llu emulated %d: %s", ret,
	       (unsigned long long)pl.offset, pl.emulated, pl.why);
	ret = ms_probe_place_file(LIBC, "no_such_function_xyz", MS_ARG_RDI,
				  &pl, &fn);
	EXPECT("libc_absent_enoent", ret == -ENOENT, "ret %d", ret);
	/* memcpy is an IFUNC in glibc: its symbol is the resolver. */
	ret = ms_elf_find_func_path(LIBC, "memcpy", &fn);
	EXPECT("libc_ifunc_enotsup", ret == -ENOTSUP, "ret %d", ret);

	printf("INFO --- %s\n", LIBC);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	place_list(LIBC, libc_names,
		   sizeof(libc_names) / sizeof(libc_names[0]), mask);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("INFO placing %zu libc functions took %.2f ms (with printing)\n",
	       sizeof(libc_names) / sizeof(libc_names[0]),
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);

	printf("INFO --- %s\n", LIBDIR "libstdc++.so.6");
	place_list(LIBDIR "libstdc++.so.6", cxx_names,
		   sizeof(cxx_names) / sizeof(cxx_names[0]), mask);
	for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		printf("INFO --- %s\n", libs[i]);
		place_list(libs[i], libc_names,
			   sizeof(libc_names) / sizeof(libc_names[0]), mask);
		place_list(libs[i], cxx_names,
			   sizeof(cxx_names) / sizeof(cxx_names[0]), mask);
	}
}

static void elf_cases(void)
{
	const char *reason = NULL;
	char id[129], small[8];
	int ret;

	ret = ms_elf_check_arch_path(LIBC, &reason);
	EXPECT("arch_libc_ok", ret == 0, "ret %d: %s", ret,
	       reason ? reason : "");
	ret = ms_elf_check_arch_path("/etc/passwd", &reason);
	EXPECT("arch_not_elf", ret == -ENOEXEC && reason,
	       "ret %d", ret);
	if (ret == -ENOEXEC && reason)
		printf("     reason: %s\n", reason);
	ret = ms_elf_check_arch_path("/nonexistent/file", &reason);
	EXPECT("arch_missing_enoent", ret == -ENOENT, "ret %d", ret);
	ret = ms_elf_is_static_path(LIBC);
	EXPECT("libc_not_static", ret == 0, "ret %d", ret);
	ret = ms_elf_build_id_path(LIBC, id, sizeof(id));
	EXPECT("libc_build_id", ret == 0 && strlen(id) == 40,
	       "ret %d id '%s'", ret, ret == 0 ? id : "");
	if (ret == 0)
		printf("     build id: %s\n", id);
	ret = ms_elf_build_id_path(LIBC, small, sizeof(small));
	EXPECT("build_id_small_buf_enospc", ret == -ENOSPC, "ret %d", ret);
}

/* Compile `src` into tmpdir/out with `flags`; 0 on success. */
static int compile(struct tctx *t, const char *src, const char *flags,
		   const char *out)
{
	char path[128], cmd[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/prog.c", t->tmpdir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(src, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cc %s -o %s/%s %s 2>/dev/null", flags,
		 t->tmpdir, out, path);
	return system(cmd) == 0 ? 0 : -1;
}

struct usdt_seen {
	int var, enter, exit, calls;
};

static void on_usdt(const char *name, void *user)
{
	struct usdt_seen *s = user;

	s->calls++;
	s->var += strcmp(name, "var") == 0;
	s->enter += strcmp(name, "scope_enter") == 0;
	s->exit += strcmp(name, "scope_exit") == 0;
}

/* Directory holding memscope.h, or NULL. */
static const char *include_dir(char *buf, size_t len)
{
	const char *env = getenv("MEMSCOPE_INCLUDE");
	const char *slash;

	if (env && *env)
		return env;
	if (access("include/memscope.h", R_OK) == 0)
		return "include";
	/* __FILE__ is .../tests/unit/test_probe_place.c */
	slash = strstr(__FILE__, "tests/unit/");
	if (slash) {
		snprintf(buf, len, "%.*sinclude", (int)(slash - __FILE__),
			 __FILE__);
		return buf;
	}
	return NULL;
}

static void built_cases(struct tctx *t)
{
	static const char usdt_src[] =
		"#include \"memscope.h\"\n"
		"int main(void){int x=1; TRACK_VAR(x); TRACK_VAR(x);"
		" MEMSCOPE_SCOPE(\"s\"); return 0;}\n";
	static const char plain_src[] = "int main(void){return 0;}\n";
	struct usdt_seen s = { 0 };
	char flags[512], path[128], incbuf[256];
	const char *reason = NULL, *inc;
	int ret;

	if (!mkdtemp(t->tmpdir)) {
		printf("SKIP built programs: mkdtemp: %s\n", strerror(errno));
		return;
	}
	inc = include_dir(incbuf, sizeof(incbuf));
	snprintf(flags, sizeof(flags), "-O2 -I%s", inc ? inc : ".");
	snprintf(path, sizeof(path), "%s/usdt", t->tmpdir);
	if (compile(t, usdt_src, flags, "usdt") == 0) {
		ret = ms_elf_usdt_names_path(path, "memscope", on_usdt, &s);
		EXPECT("usdt_names",
		       ret == 3 && s.calls == 3 && s.var == 1 && s.enter == 1 &&
			       s.exit == 1,
		       "ret %d calls %d var %d scope_enter %d scope_exit %d",
		       ret, s.calls, s.var, s.enter, s.exit);
		ret = ms_elf_usdt_names_path(path, "nosuchprovider", NULL,
					     NULL);
		EXPECT("usdt_other_provider_0", ret == 0, "ret %d", ret);
	} else {
		EXPECT("usdt_names", 0, "cannot compile against %s/memscope.h",
		       inc ? inc : "(not found)");
	}

	snprintf(path, sizeof(path), "%s/m32", t->tmpdir);
	if (compile(t, plain_src, "-m32", "m32") == 0) {
		ret = ms_elf_check_arch_path(path, &reason);
		EXPECT("arch_32bit_enoexec", ret == -ENOEXEC && reason,
		       "ret %d", ret);
		if (reason)
			printf("     reason: %s\n", reason);
	} else {
		printf("SKIP arch_32bit_enoexec: gcc -m32 does not work\n");
	}

	snprintf(path, sizeof(path), "%s/static", t->tmpdir);
	if (compile(t, plain_src, "-static", "static") == 0) {
		ret = ms_elf_is_static_path(path);
		EXPECT("static_binary_is_static", ret == 1, "ret %d", ret);
	} else {
		printf("SKIP static_binary_is_static: no static libc\n");
	}
	snprintf(path, sizeof(path), "%s/dynamic", t->tmpdir);
	if (compile(t, plain_src, "", "dynamic") == 0) {
		ret = ms_elf_is_static_path(path);
		EXPECT("dynamic_binary_not_static", ret == 0, "ret %d", ret);
	}

	{
		static const char *const files[] = { "prog.c", "usdt", "m32",
						     "static", "dynamic" };
		size_t i;

		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", t->tmpdir,
				 files[i]);
			unlink(path);
		}
		rmdir(t->tmpdir);
	}
}

int main(void)
{
	struct tctx t = { .tmpdir = "/tmp/ms_probe_place.XXXXXX" };

	setvbuf(stdout, NULL, _IOLBF, 0);
	synthetic_cases();
	kind_cases();
	elf_cases();
	built_cases(&t);
	real_libs();
	if (failed)
		printf("%d case(s) FAILED\n", failed);
	else
		printf("all cases passed\n");
	return failed ? 1 : 0;
}
