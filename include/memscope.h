/* SPDX-License-Identifier: BSD-3-Clause */
/* memscope.h - mark variables, scopes, tasks and custom allocations for
 * memscope-trace.
 *
 * Header-only, C99/C11/C++. Every macro expands to a USDT probe (provider
 * "memscope", <sys/sdt.h>) guarded by that probe's semaphore. While no tracer
 * is attached a probe costs one load of a 2-byte semaphore, a predictable
 * branch and nothing else: its arguments are not evaluated, no lock is taken,
 * nothing is allocated or formatted, and there is no library to link. All the
 * work (names, types, registries, reports) happens in the tracer's process.
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
 * libbpf cannot decode. */
#ifndef STAP_SDT_ARG_CONSTRAINT
#define STAP_SDT_ARG_CONSTRAINT nr
#endif
#include <sys/sdt.h>

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
			STAP_PROBE8(memscope, var, #v, (uintptr_t)&(v),        \
				    (uint64_t)sizeof(v),                       \
				    memscope__value(&(v), sizeof(v)),          \
				    (uintptr_t)(type_name), __FILE__, __LINE__,\
				    memscope__clock());                        \
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
		STAP_PROBE3(memscope, scope_enter, name, file, line);
		return 1;
	}
	return 0;
}

static inline __attribute__((always_inline)) void
memscope__scope_end(unsigned char *entered)
{
	/* Only close what this tracer saw opened. */
	if (*entered && MEMSCOPE__ON(scope_exit))
		STAP_PROBE(memscope, scope_exit);
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
			STAP_PROBE3(memscope, scope_enter, "" name "",         \
				    __FILE__, __LINE__);                       \
	} while (0)
#define MEMSCOPE_SCOPE_EXIT()                                                 \
	do {                                                                   \
		if (MEMSCOPE__ON(scope_exit))                                  \
			STAP_PROBE(memscope, scope_exit);                      \
	} while (0)

/* ---- custom allocators (pools, arenas) --------------------------------- */
#define MEMSCOPE_ALLOC(ptr, size)                                             \
	do {                                                                   \
		if (MEMSCOPE__ON(alloc))                                       \
			STAP_PROBE2(memscope, alloc, (uintptr_t)(ptr),         \
				    (uint64_t)(size));                         \
	} while (0)
#define MEMSCOPE_FREE(ptr)                                                    \
	do {                                                                   \
		if (MEMSCOPE__ON(free))                                        \
			STAP_PROBE1(memscope, free, (uintptr_t)(ptr));         \
	} while (0)

/* ---- logical tasks (requests, coroutines, callback chains) ------------ */
#define MEMSCOPE_TASK_ENTER(id)                                               \
	do {                                                                   \
		if (MEMSCOPE__ON(task_enter))                                  \
			STAP_PROBE1(memscope, task_enter, (uint64_t)(id));     \
	} while (0)
#define MEMSCOPE_TASK_EXIT(id)                                                \
	do {                                                                   \
		if (MEMSCOPE__ON(task_exit))                                   \
			STAP_PROBE1(memscope, task_exit, (uint64_t)(id));      \
	} while (0)
#define MEMSCOPE_TASK_NAME(id, name)                                          \
	do {                                                                   \
		if (MEMSCOPE__ON(task_name))                                   \
			STAP_PROBE2(memscope, task_name, (uint64_t)(id),       \
				    (const char *)(name));                     \
	} while (0)
#define MEMSCOPE_TASK_SPAWN(parent_id, child_id)                              \
	do {                                                                   \
		if (MEMSCOPE__ON(task_spawn))                                  \
			STAP_PROBE2(memscope, task_spawn,                      \
				    (uint64_t)(parent_id), (uint64_t)(child_id));\
	} while (0)
#define MEMSCOPE_TASK_END(id)                                                 \
	do {                                                                   \
		if (MEMSCOPE__ON(task_end))                                    \
			STAP_PROBE1(memscope, task_end, (uint64_t)(id));       \
	} while (0)

/* ---- snapshots (growth over time) -------------------------------------- */
#define MEMSCOPE_SNAPSHOT(label)                                              \
	do {                                                                   \
		if (MEMSCOPE__ON(snapshot))                                    \
			STAP_PROBE1(memscope, snapshot, (const char *)(label));\
	} while (0)

#endif /* MEMSCOPE_DISABLE */
#endif /* MEMSCOPE_H */
