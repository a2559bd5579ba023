/* SPDX-License-Identifier: BSD-3-Clause */
/* memscope.h - mark variables, scopes, tasks and custom allocations for
 * memscope-trace.
 *
 * Header-only, C99/C11/C++. Every macro expands to a USDT probe (provider
 * "memscope", in <sys/sdt.h>'s format; on x86-64 it sits on a 5-byte nop the
 * kernel turns into a call, see "the probe site" below) guarded by that
 * probe's semaphore. While no tracer is attached a probe costs one load of a
 * 2-byte semaphore, a predictable branch and nothing else: its arguments are
 * not evaluated, no lock is taken, nothing is allocated or formatted, and
 * there is no library to link. All the work (names, types, registries,
 * reports) happens in the tracer's process.
 *
 * Compile with -DMEMSCOPE_DISABLE to make every macro expand to nothing.
 *
 * Probe names and argument lists (stable; usable from bpftrace too):
 *   memscope:var          (name*, addr, size, value, type*, file*, line)
 *   memscope:scope_enter  (name*, file*, line)
 *   memscope:scope_exit   ()
 *   memscope:alloc        (ptr, size)
 *   memscope:free         (ptr)
 *   memscope:task_enter   (id)
 *   memscope:task_exit    (id)
 *   memscope:task_name    (id, name*)
 *   memscope:task_spawn   (parent_id, child_id)
 *   memscope:task_end     (id)
 *   memscope:snapshot     (label*)
 * Strings marked * are NUL-terminated. var's name, type and file and
 * scope_enter's name and file must be string literals (the tracer caches them
 * by address); task_name's name and snapshot's label may be any buffer.
 */
#ifndef MEMSCOPE_H
#define MEMSCOPE_H

#ifdef MEMSCOPE_DISABLE

#define MEMSCOPE_ENABLED() 0
#define TRACK_VAR(v) ((void)sizeof(v)) /* keeps v "used", evaluates nothing */
#define TRACK_VAR_AS(v, type_name) ((void)sizeof(v))
#define MEMSCOPE_SCOPE(name)
#define MEMSCOPE_SCOPE_ENTER(name) ((void)0)
#define MEMSCOPE_SCOPE_EXIT() ((void)0)
#define MEMSCOPE_ALLOC(ptr, size) ((void)sizeof(ptr), (void)sizeof(size))
#define MEMSCOPE_FREE(ptr) ((void)sizeof(ptr))
#define MEMSCOPE_TASK_ENTER(id) ((void)sizeof(id))
#define MEMSCOPE_TASK_EXIT(id) ((void)sizeof(id))
#define MEMSCOPE_TASK_NAME(id, name) ((void)sizeof(id), (void)sizeof(name))
#define MEMSCOPE_TASK_SPAWN(parent_id, child_id) ((void)sizeof(parent_id), (void)sizeof(child_id))
#define MEMSCOPE_TASK_END(id) ((void)sizeof(id))
#define MEMSCOPE_SNAPSHOT(label) ((void)sizeof(label))

#else /* !MEMSCOPE_DISABLE */

#include <stdint.h>
#include <string.h>

/* Semaphores make the probe arguments free while nobody listens; the kernel
 * raises them when a uprobe is attached (ref_ctr_offset). */
#ifndef _SDT_HAS_SEMAPHORES
#define _SDT_HAS_SEMAPHORES 1
#endif
/* Force every probe argument into a register or a true numeric constant.
 * The default "nor" lets the compiler write operands such as
 * "8@symbol(%rip)" or "$.LC0" (non-PIE code), which USDT readers such as
 * libbpf cannot decode. The 5-byte site below needs it too: it moves rsp,
 * so no operand may be an address relative to rsp. */
#ifndef STAP_SDT_ARG_CONSTRAINT
#define STAP_SDT_ARG_CONSTRAINT nr
#endif
#include <sys/sdt.h>

/* ---- the probe site ----------------------------------------------------
 *
 * A USDT probe is an instruction the tracer's uprobe replaces, plus a
 * .note.stapsdt entry that says where it is, which semaphore guards it and
 * where its arguments are. sys/sdt.h's instruction is a 1-byte nop: the
 * kernel puts an int3 there, and every hit is a trap (4.6-6.5 us measured
 * on this project's 2-vCPU VMs).
 *
 * Since Linux 6.18 the kernel does better on a 5-byte nop
 * (0f 1f 44 00 00, nopl 0(%rax,%rax,1)): after the first hit, which still
 * traps, it rewrites the nop into a call to a [uprobes-trampoline] page it
 * maps near the code, and the trampoline enters the uprobe by a system
 * call (~1.3 us there, 3-5x cheaper). The kernel only does this when the
 * five bytes sit in one page, so the nop is aligned to 8 bytes.
 *
 * The call has a price: it stores its return address at [rsp-8] (and the
 * trampoline saves three registers below it), inside the 128-byte red
 * zone of the x86-64 ABI, where a leaf function may keep locals without
 * moving rsp. A leaf function that keeps an array there computes garbage
 * while traced. So the site steps rsp down past the red zone first:
 *
 *	lea  -128(%rsp),%rsp          48 8d 64 24 80
 *	(0-7 bytes of nop padding, to the 8-byte boundary)
 *	nopl 0(%rax,%rax,1)           0f 1f 44 00 00   <- the probe address
 *	lea  128(%rsp),%rsp           48 8d a4 24 80 00 00 00
 *
 * lea leaves the flags alone, and the arguments are registers or constants
 * (STAP_SDT_ARG_CONSTRAINT above), never memory relative to rsp, so the
 * probe still sees every value the program holds. The bytes are written
 * out with .byte: no assembler may pick a shorter nop, and the site reads
 * the same in AT&T and Intel syntax.
 *
 * Fork. This kernel does not copy the trampoline page into a child made by
 * fork(), but the child's code is a copy of the parent's, calls included:
 * a child that ran an optimized site before exec would jump into nothing
 * (SIGSEGV). So each object (executable or library) maps one page of its
 * own with MADV_WIPEONFORK the first time one of its sites runs while a
 * tracer listens, and writes 1 into it; the kernel hands every fork child
 * that page zero-filled. A site runs only where the page says 1: a child
 * skips its probes, whatever semaphores it inherited, until a tracer that
 * adopts it has put its sites and semaphores back in order and written 1
 * (memscope-trace does, under -f or -p CHILD). The page's address is in
 * memscope__alive, which a .note.memscope entry points to. This costs one
 * mmap per object on the first traced hit and a load and a branch per hit
 * while traced; nothing while detached.
 *
 * What a tracer must know (memscope-trace does all of it):
 *  - At the probe address rsp is 128 bytes below the frame the compiler's
 *    unwind tables (CFI) describe. A stack walk that starts from rsp must
 *    add 128 back at such a site. The instruction at the probe address
 *    tells the form: 0x90 (the classic nop, rsp as is) or 0f 1f 44 00 00
 *    followed by the lea above (this site). Once the kernel has optimized
 *    a site it reads e8 (call); attached but not yet optimized, cc 1f 44 00 00.
 *  - Everything else (argument specs, semaphores, the note's layout) is
 *    exactly sys/sdt.h's, so libbpf, bpftrace, readelf -n and other USDT
 *    readers find and decode these probes as before.
 *  - While detached, the semaphore branch skips the whole block: the
 *    detached cost is the same load and branch as before.
 *
 * The note is written here rather than by sys/sdt.h because sys/sdt.h puts
 * its label on its own 1-byte nop. Other architectures, 32-bit x86, and a
 * build with -DMEMSCOPE_NOP1 keep sys/sdt.h's probes unchanged. */
#if defined(__x86_64__) && !defined(MEMSCOPE_NOP1)
#define MEMSCOPE__NOP5 1

#ifdef __cplusplus
extern "C" {
#endif
/* This object's fork-wiped page (see above); 0 until a site first runs. */
__attribute__((weak, visibility("hidden"))) volatile unsigned char *volatile memscope__alive;
/* Where memscope__alive points on a kernel without MADV_WIPEONFORK (before
 * 4.14, which has no optimized uprobes either): always 1. */
__attribute__((weak, visibility("hidden"))) volatile unsigned char memscope__alive_always = 1;
#ifdef __cplusplus
}
#endif

/* A system call without libc: the page is mapped from any context a probe
 * may run in (a signal handler, a strict -std=c99 unit that sees no mmap
 * flags), and the program's errno is never touched. */
static inline long memscope__syscall3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(nr), "D"(a), "S"(b), "d"(c)
			     : "rcx", "r11", "memory");
	return ret;
}

/* Map and publish this object's page. Returns what a site should do now:
 * 1 run, 0 skip (no memory for the page: a fork child could crash on an
 * optimized site, so no probe fires until a page exists). Linux x86-64:
 * mmap 9, munmap 11, madvise 28 (MADV_WIPEONFORK = 18). Inlined, never
 * called: a call would make every function with a probe a non-leaf one,
 * changing its code while detached (a stack frame where there was none). */
static inline __attribute__((always_inline)) int memscope__alive_init(void)
{
	volatile unsigned char *page, *none = 0;
	long m;

	{
		/* mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) */
		register long r10 __asm__("r10") = 0x22;
		register long r8 __asm__("r8") = -1;
		register long r9 __asm__("r9") = 0;

		__asm__ __volatile__("syscall"
				     : "=a"(m)
				     : "a"(9L), "D"(0L), "S"(4096L), "d"(3L), "r"(r10), "r"(r8),
				       "r"(r9)
				     : "rcx", "r11", "memory");
	}
	if (m < 0 && m > -4096)
		return 0;
	page = (volatile unsigned char *)m;
	if (memscope__syscall3(28, m, 4096, 18)) {
		memscope__syscall3(11, m, 4096, 0);
		page = &memscope__alive_always;
	} else {
		*page = 1;
	}
	if (!__atomic_compare_exchange_n(&memscope__alive, &none, page, 0, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST) &&
	    page != &memscope__alive_always)
		memscope__syscall3(11, m, 4096, 0); /* another thread was first */
	return *memscope__alive;
}

/* 1 if this process may run its probe sites (it is not a fork child no
 * tracer has adopted). Only evaluated once a semaphore is raised. */
static inline __attribute__((always_inline)) int memscope__site_ok(void)
{
	volatile unsigned char *p = memscope__alive;

	return __builtin_expect(p != 0, 1) ? *p : memscope__alive_init();
}

/* The site: lea, nop5 at label 990, lea. MEMSCOPE__TEST_UNGUARDED (tests
 * only) drops the two leas, to show the red zone being clobbered. */
#ifdef MEMSCOPE__TEST_UNGUARDED
#define MEMSCOPE__SITE_ASM                                                    \
	".p2align 3\n"                                                        \
	"990:\t.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\t"
#else
#define MEMSCOPE__SITE_ASM                                                    \
	".byte 0x48, 0x8d, 0x64, 0x24, 0x80\n\t"                              \
	".p2align 3\n"                                                        \
	"990:\t.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\t"                        \
	".byte 0x48, 0x8d, 0xa4, 0x24, 0x80, 0x00, 0x00, 0x00\n\t"
#endif

/* The .note.stapsdt entry of the site at label 990 (sys/sdt.h's layout:
 * type 3, owner "stapsdt", then probe address, the .stapsdt.base address
 * readers use to detect prelinking, the semaphore, provider, name and
 * argument string), the .stapsdt.base section once per object, and once
 * per object file the .note.memscope entry (owner "memscope", type 1)
 * holding the address of memscope__alive. "?" puts the stapsdt note in the
 * code's section group, so the note of an inline C++ function the linker
 * discards goes with it. */
#define MEMSCOPE__NOTE_ASM(prov, name, args)                                  \
	".pushsection .note.stapsdt,\"?\",\"note\"\n\t"                       \
	".balign 4\n\t"                                                       \
	".4byte 992f-991f, 994f-993f, 3\n"                                    \
	"991:\t.asciz \"stapsdt\"\n"                                          \
	"992:\t.balign 4\n"                                                   \
	"993:\t.8byte 990b\n\t"                                               \
	".8byte _.stapsdt.base\n\t"                                           \
	".8byte " #prov "_" #name "_semaphore\n\t"                            \
	".asciz \"" #prov "\"\n\t"                                            \
	".asciz \"" #name "\"\n\t"                                            \
	".asciz \"" args "\"\n"                                               \
	"994:\t.balign 4\n\t"                                                 \
	".popsection\n\t"                                                     \
	".ifndef _.stapsdt.base\n\t"                                          \
	".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n\t" \
	".weak _.stapsdt.base\n\t"                                            \
	".hidden _.stapsdt.base\n"                                            \
	"_.stapsdt.base:\t.space 1\n\t"                                       \
	".size _.stapsdt.base, 1\n\t"                                         \
	".popsection\n\t"                                                     \
	".endif\n\t"                                                          \
	".ifndef _.memscope.alive_note\n\t"                                   \
	".pushsection .note.memscope,\"\",\"note\"\n\t"                       \
	".balign 4\n"                                                         \
	"_.memscope.alive_note:\t.4byte 9, 8, 1\n\t"                          \
	".asciz \"memscope\"\n\t"                                             \
	".balign 4\n\t"                                                       \
	".8byte memscope__alive\n\t"                                          \
	".popsection\n\t"                                                     \
	".endif\n"

#define MEMSCOPE__SITE(prov, name, args, ...)                                 \
	do {                                                                   \
		if (memscope__site_ok())                                       \
			__asm__ __volatile__(MEMSCOPE__SITE_ASM                \
					     MEMSCOPE__NOTE_ASM(prov, name, args) \
					     : : __VA_ARGS__);                 \
	} while (0)

/* MEMSCOPE__PROBEn(provider, name, size1, arg1, ...): a probe with n
 * arguments; sizeK is the argument's size as the note spells it ("8" for
 * 64-bit unsigned, "-4" for int) and argK must have that C type, as
 * sys/sdt.h would have derived the same spec from it. */
#define MEMSCOPE__PROBE0(p, n)                                                \
	do {                                                                   \
		if (memscope__site_ok())                                       \
			__asm__ __volatile__(MEMSCOPE__SITE_ASM                \
					     MEMSCOPE__NOTE_ASM(p, n, "") : :); \
	} while (0)
#define MEMSCOPE__PROBE1(p, n, s1, x1)                                        \
	MEMSCOPE__SITE(p, n, s1 "@%[a1]", [a1] "nr"(x1))
#define MEMSCOPE__PROBE2(p, n, s1, x1, s2, x2)                                \
	MEMSCOPE__SITE(p, n, s1 "@%[a1] " s2 "@%[a2]", [a1] "nr"(x1), [a2] "nr"(x2))
#define MEMSCOPE__PROBE3(p, n, s1, x1, s2, x2, s3, x3)                        \
	MEMSCOPE__SITE(p, n, s1 "@%[a1] " s2 "@%[a2] " s3 "@%[a3]",              \
		       [a1] "nr"(x1), [a2] "nr"(x2), [a3] "nr"(x3))
#define MEMSCOPE__PROBE8(p, n, s1, x1, s2, x2, s3, x3, s4, x4, s5, x5, s6, x6, \
			 s7, x7, s8, x8)                                        \
	MEMSCOPE__SITE(p, n,                                                   \
		       s1 "@%[a1] " s2 "@%[a2] " s3 "@%[a3] " s4 "@%[a4] " s5   \
		       "@%[a5] " s6 "@%[a6] " s7 "@%[a7] " s8 "@%[a8]",          \
		       [a1] "nr"(x1), [a2] "nr"(x2), [a3] "nr"(x3), [a4] "nr"(x4), \
		       [a5] "nr"(x5), [a6] "nr"(x6), [a7] "nr"(x7), [a8] "nr"(x8))
#else /* sys/sdt.h's 1-byte nop */
#define MEMSCOPE__PROBE0(p, n) STAP_PROBE(p, n)
#define MEMSCOPE__PROBE1(p, n, s1, x1) STAP_PROBE1(p, n, x1)
#define MEMSCOPE__PROBE2(p, n, s1, x1, s2, x2) STAP_PROBE2(p, n, x1, x2)
#define MEMSCOPE__PROBE3(p, n, s1, x1, s2, x2, s3, x3) STAP_PROBE3(p, n, x1, x2, x3)
#define MEMSCOPE__PROBE8(p, n, s1, x1, s2, x2, s3, x3, s4, x4, s5, x5, s6, x6, \
			 s7, x7, s8, x8)                                        \
	STAP_PROBE8(p, n, x1, x2, x3, x4, x5, x6, x7, x8)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* One semaphore per probe. Weak + hidden: every translation unit that
 * includes this header defines them, the linker keeps one per executable or
 * shared object, and each object's probes point at its own copy. */
#define MEMSCOPE__SEMAPHORE(probe)                                            \
	__attribute__((weak, visibility("hidden"), section(".probes")))       \
	volatile unsigned short memscope_##probe##_semaphore

MEMSCOPE__SEMAPHORE(var);
MEMSCOPE__SEMAPHORE(scope_enter);
MEMSCOPE__SEMAPHORE(scope_exit);
MEMSCOPE__SEMAPHORE(alloc);
MEMSCOPE__SEMAPHORE(free);
MEMSCOPE__SEMAPHORE(task_enter);
MEMSCOPE__SEMAPHORE(task_exit);
MEMSCOPE__SEMAPHORE(task_name);
MEMSCOPE__SEMAPHORE(task_spawn);
MEMSCOPE__SEMAPHORE(task_end);
MEMSCOPE__SEMAPHORE(snapshot);

#ifdef __cplusplus
}
#endif

#define MEMSCOPE__ON(probe) __builtin_expect(memscope_##probe##_semaphore != 0, 0)

/* True only while a tracer is attached to this object's probes. */
#define MEMSCOPE_ENABLED()                                                    \
	(MEMSCOPE__ON(var) || MEMSCOPE__ON(scope_enter) ||                     \
	 MEMSCOPE__ON(alloc) || MEMSCOPE__ON(task_enter))

/* The value of a pointer-sized variable, so the tracer can link a pointer
 * variable to the heap block it points to; 0 otherwise (the tracer knows
 * from the size whether a value was sent). Compiles to one load. */
static inline uint64_t memscope__value(const void *p, unsigned long n)
{
	uint64_t v = 0;
	if (n == sizeof(void *))
		memcpy(&v, p, sizeof(void *));
	return v;
}

/* The time of a TRACK_VAR, as the CPU's time-stamp counter (x86; 0
 * elsewhere). Evaluated only while a tracer listens. rdtsc costs ~12 ns in
 * the program where the tracer's clock read in BPF cost ~70 ns a hit; the
 * tracer turns it into CLOCK_MONOTONIC time (and ignores it, reading its
 * own clock, unless the kernel's clocksource is the TSC). */
static inline uint64_t memscope__clock(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	return 0;
#endif
}

/* ---- type names ------------------------------------------------------- */
#if defined(__cplusplus)
/* The tracer parses "T = <type>" out of this function's pretty name, which
 * the compiler stores as a string literal: full C++ type names, zero cost. */
template <typename T> struct memscope__type {
	static const char *name() { return __PRETTY_FUNCTION__; }
};
#define MEMSCOPE__TYPE_OF(v) (memscope__type<decltype(v)>::name())
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define MEMSCOPE__T(t) t: #t, t *: #t " *", const t *: "const " #t " *"
#define MEMSCOPE__TYPE_OF(v)                                                  \
	_Generic((v), MEMSCOPE__T(_Bool), MEMSCOPE__T(char),                 \
		 MEMSCOPE__T(signed char), MEMSCOPE__T(unsigned char),         \
		 MEMSCOPE__T(short), MEMSCOPE__T(unsigned short),               \
		 MEMSCOPE__T(int), MEMSCOPE__T(unsigned int),                   \
		 MEMSCOPE__T(long), MEMSCOPE__T(unsigned long),                 \
		 MEMSCOPE__T(long long), MEMSCOPE__T(unsigned long long),       \
		 MEMSCOPE__T(float), MEMSCOPE__T(double),                       \
		 MEMSCOPE__T(long double), void *: "void *",                    \
		 const void *: "const void *", char **: "char **",              \
		 const char **: "const char **", default: (const char *)0)
#else
#define MEMSCOPE__TYPE_OF(v) ((const char *)0)
#endif

/* ---- variables -------------------------------------------------------- */
/* (The parameter is not called "var": it would replace the probe name.) */
#define MEMSCOPE__VAR(v, type_name)                                           \
	do {                                                                   \
		if (MEMSCOPE__ON(var))                                         \
			MEMSCOPE__PROBE8(memscope, var, "8", #v,               \
					 "8", (uintptr_t)&(v),                 \
					 "8", (uint64_t)sizeof(v),             \
					 "8", memscope__value(&(v), sizeof(v)),\
					 "8", (uintptr_t)(type_name),          \
					 "8", __FILE__, "-4", __LINE__,        \
					 "8", memscope__clock());              \
	} while (0)

/* Record variable `var`: its name, address, size, type, source position and,
 * when it is pointer-sized, its value. */
#define TRACK_VAR(v) MEMSCOPE__VAR(v, MEMSCOPE__TYPE_OF(v))
/* Same, with an explicit type name (a string literal). */
#define TRACK_VAR_AS(v, type_name) MEMSCOPE__VAR(v, "" type_name "")

/* ---- scopes ----------------------------------------------------------- */
static inline __attribute__((always_inline)) unsigned char
memscope__scope_begin(const char *name, const char *file, int line)
{
	if (MEMSCOPE__ON(scope_enter)) {
		MEMSCOPE__PROBE3(memscope, scope_enter, "8", name, "8", file, "-4", line);
		return 1;
	}
	return 0;
}

static inline __attribute__((always_inline)) void
memscope__scope_end(unsigned char *entered)
{
	/* Only close what this tracer saw opened. */
	if (*entered && MEMSCOPE__ON(scope_exit))
		MEMSCOPE__PROBE0(memscope, scope_exit);
}

#define MEMSCOPE__CAT2(a, b) a##b
#define MEMSCOPE__CAT(a, b) MEMSCOPE__CAT2(a, b)

/* A scope named `name` (a string literal) lasting until the end of the
 * enclosing block. Scopes nest per thread. */
#define MEMSCOPE_SCOPE(name)                                                  \
	__attribute__((cleanup(memscope__scope_end), unused)) unsigned char    \
	MEMSCOPE__CAT(memscope__scope_, __LINE__) =                            \
		memscope__scope_begin("" name "", __FILE__, __LINE__)

/* An explicit pair; every ENTER needs one EXIT on the same thread. */
#define MEMSCOPE_SCOPE_ENTER(name)                                            \
	do {                                                                   \
		if (MEMSCOPE__ON(scope_enter))                                 \
			MEMSCOPE__PROBE3(memscope, scope_enter, "8", "" name "",\
					 "8", __FILE__, "-4", __LINE__);       \
	} while (0)
#define MEMSCOPE_SCOPE_EXIT()                                                 \
	do {                                                                   \
		if (MEMSCOPE__ON(scope_exit))                                  \
			MEMSCOPE__PROBE0(memscope, scope_exit);                \
	} while (0)

/* ---- custom allocators (pools, arenas) --------------------------------- */
#define MEMSCOPE_ALLOC(ptr, size)                                             \
	do {                                                                   \
		if (MEMSCOPE__ON(alloc))                                       \
			MEMSCOPE__PROBE2(memscope, alloc, "8", (uintptr_t)(ptr),\
					 "8", (uint64_t)(size));               \
	} while (0)
#define MEMSCOPE_FREE(ptr)                                                    \
	do {                                                                   \
		if (MEMSCOPE__ON(free))                                        \
			MEMSCOPE__PROBE1(memscope, free, "8", (uintptr_t)(ptr));\
	} while (0)

/* ---- logical tasks (requests, coroutines, callback chains) ------------ */
#define MEMSCOPE_TASK_ENTER(id)                                               \
	do {                                                                   \
		if (MEMSCOPE__ON(task_enter))                                  \
			MEMSCOPE__PROBE1(memscope, task_enter, "8", (uint64_t)(id));\
	} while (0)
#define MEMSCOPE_TASK_EXIT(id)                                                \
	do {                                                                   \
		if (MEMSCOPE__ON(task_exit))                                   \
			MEMSCOPE__PROBE1(memscope, task_exit, "8", (uint64_t)(id));\
	} while (0)
#define MEMSCOPE_TASK_NAME(id, name)                                          \
	do {                                                                   \
		if (MEMSCOPE__ON(task_name))                                   \
			MEMSCOPE__PROBE2(memscope, task_name, "8", (uint64_t)(id),\
					 "8", (const char *)(name));           \
	} while (0)
#define MEMSCOPE_TASK_SPAWN(parent_id, child_id)                              \
	do {                                                                   \
		if (MEMSCOPE__ON(task_spawn))                                  \
			MEMSCOPE__PROBE2(memscope, task_spawn,                 \
					 "8", (uint64_t)(parent_id),           \
					 "8", (uint64_t)(child_id));           \
	} while (0)
#define MEMSCOPE_TASK_END(id)                                                 \
	do {                                                                   \
		if (MEMSCOPE__ON(task_end))                                    \
			MEMSCOPE__PROBE1(memscope, task_end, "8", (uint64_t)(id));\
	} while (0)

/* ---- snapshots (growth over time) -------------------------------------- */
#define MEMSCOPE_SNAPSHOT(label)                                              \
	do {                                                                   \
		if (MEMSCOPE__ON(snapshot))                                    \
			MEMSCOPE__PROBE1(memscope, snapshot, "8", (const char *)(label));\
	} while (0)

#endif /* MEMSCOPE_DISABLE */
#endif /* MEMSCOPE_H */
