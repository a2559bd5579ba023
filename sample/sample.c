/* SPDX-License-Identifier: BSD-3-Clause */
/* sample.c - libmemscope_sample.so: sampled heap profiling for memscope-trace
 * --mode sampled. Preloaded into a target (LD_PRELOAD), it interposes the
 * C allocator, decides with a per-thread byte countdown which allocations
 * to report and fires a USDT probe only for those and for their frees:
 *
 *   memscope:sample_alloc (ptr, size, weight)   after the real allocation
 *   memscope:sample_free  (ptr)                 before the real free
 *
 * Sampling. Each thread counts down bytes to its next sample point; the
 * distances are drawn from an exponential distribution with mean R
 * (MEMSCOPE_SAMPLE_INTERVAL bytes, default 512 KiB), i.e. sample points form
 * a Poisson process over the bytes a thread allocates. An allocation of s
 * bytes is sampled when it covers a point, with probability
 * p = 1 - exp(-s / R), and then carries the weight s / p: summing weights
 * over samples estimates allocated (or, over unfreed samples, in-use) bytes
 * without bias. After a sample the next distance is drawn afresh
 * (memorylessness makes this exact).
 *
 * Cost while no tracer is attached: malloc & co. subtract the size from a
 * thread-local counter and tail-call the real function; free tests a
 * semaphore and tail-calls the real one. The pointer set is not touched, no
 * probe fires. Every few hundred KiB per thread a slow path draws the next
 * distance (a few dozen ns) and tests the alloc semaphore.
 *
 * The real functions are those of the allocator the program would have
 * used without this library: whatever defines malloc next in the lookup
 * order (jemalloc, tcmalloc, mimalloc, glibc), found with dlsym(RTLD_NEXT)
 * at the first call (forward.c). The whole family comes from that one
 * library, so a block always goes back to the allocator it came from.
 *
 * Robustness rules kept throughout: initial-exec TLS only (zero-initialised,
 * nothing to allocate, no per-thread registration: a thread's first
 * allocation seeds its state), no lock anywhere (signal handlers may
 * allocate; the pointer set is lock-free), errno preserved across the
 * library's own work, fork handled by an atfork child handler.
 *
 * C++: libstdc++'s operator new/new[]/delete (all variants, including the
 * aligned ones, which use aligned_alloc) call malloc/free & co. through
 * the PLT, so they are sampled through the functions here. An allocator
 * that defines the operators itself (jemalloc, tcmalloc, mimalloc) does
 * not: the operators here then sample what it returns (forward.h,
 * cxx_counts). jemalloc's own API (mallocx & co.) is interposed too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The probes are include/memscope.h's: semaphores, arguments in registers
 * or constants, and on x86-64 the 5-byte nop the kernel turns into a call
 * (no trap) with the red zone stepped over. */
#include "memscope.h"

#include "forward.h"
#include "ptrset.h"
#include "sample_math.h"

#define MS_API __attribute__((visibility("default")))
#define MS_LIKELY(x) __builtin_expect(!!(x), 1)
#define MS_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define MS_DEFAULT_INTERVAL (512u * 1024u)
#define MS_MAX_INTERVAL (1ULL << 50) /* keeps 37 * R within 64 bits */

/* One semaphore per probe, in .probes as <sys/sdt.h> expects; the kernel
 * raises them when a uprobe is attached to the probe (ref_ctr_offset). */
__attribute__((visibility("hidden"), section(".probes")))
volatile unsigned short memscope_sample_alloc_semaphore;
__attribute__((visibility("hidden"), section(".probes")))
volatile unsigned short memscope_sample_free_semaphore;

/* Exported for the tracer (read from the target's memory by symbol):
 * memscope_sample_untracked counts sampled blocks that were not announced
 * because their pointer-set group was full; memscope_sample_interval is the
 * mean interval R in effect (0 until the library has configured itself). */
MS_API volatile uint64_t memscope_sample_untracked;
MS_API volatile uint64_t memscope_sample_interval;

/* Per-thread state. Zero for a new thread (static TLS is zero-filled), which
 * the fast path sees as "countdown exhausted" and the slow path as "not
 * seeded yet". */
struct ms_thread {
	uint64_t left; /* bytes to the next sample point; 0 = (re)start */
	uint64_t rng;  /* xorshift64* state; 0 = not seeded */
	uint64_t mean; /* R the current countdown was drawn with */
};
static __thread struct ms_thread ms_self __attribute__((tls_model("initial-exec")));

/* Configuration: read from the environment once, by the constructor or by
 * an allocation that comes first (other libraries' constructors may
 * allocate before ours runs). */
static struct {
	uint64_t interval;
	uint64_t seed;
	int has_seed;
	int ready; /* written last (release) */
} cfg;
static uint64_t ms_thread_seq; /* threads seeded so far (seed derivation) */
static uint64_t ms_fork_gen;   /* identifies this process among forks of one run */
static uint64_t ms_forks;      /* forks made by this process so far */

/* ---- configuration ------------------------------------------------------ */

static void ms_warn(const char *a, const char *b)
{
	const char *parts[] = { "libmemscope_sample: ", a, b, "\n" };
	unsigned i;

	for (i = 0; i < 4; i++) {
		const char *s = parts[i];
		size_t n = 0;

		while (s[n])
			n++;
		if (write(2, s, n) < 0)
			return;
	}
}

/* Parse an unsigned decimal (or, if hex_ok, 0x-hex) integer; 0 on success,
 * -1 if s is not one (empty, trailing junk, overflow). No locale, no
 * allocation. */
static int ms_parse_u64(const char *s, int hex_ok, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10, d;

	if (hex_ok && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -1;
		if (v > (UINT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

/* Read MEMSCOPE_SAMPLE_INTERVAL and MEMSCOPE_SAMPLE_SEED once. Does nothing
 * while libc has no environment yet (an allocation made by the dynamic
 * linker before libc's own initialisation); the caller then uses the
 * default for the time being and a later call commits. Idempotent and
 * race-tolerant: concurrent callers compute the same values. */
static void ms_config_load(void)
{
	extern char **environ;
	const char *s;
	uint64_t interval = MS_DEFAULT_INTERVAL, seed = 0;
	int has_seed = 0;

	if (__atomic_load_n(&cfg.ready, __ATOMIC_ACQUIRE) || !environ)
		return;
	s = getenv("MEMSCOPE_SAMPLE_INTERVAL");
	/* decimal only: memscope-trace reads the same variable the same way */
	if (s && (ms_parse_u64(s, 0, &interval) || interval == 0 || interval > MS_MAX_INTERVAL)) {
		ms_warn("MEMSCOPE_SAMPLE_INTERVAL must be a decimal byte count from 1 to 2^50, ignoring ",
			s);
		interval = MS_DEFAULT_INTERVAL;
	}
	s = getenv("MEMSCOPE_SAMPLE_SEED");
	if (s) {
		if (ms_parse_u64(s, 1, &seed))
			ms_warn("MEMSCOPE_SAMPLE_SEED must be an unsigned integer, ignoring ", s);
		else
			has_seed = 1;
	}
	cfg.interval = interval;
	cfg.seed = seed;
	cfg.has_seed = has_seed;
	memscope_sample_interval = interval;
	__atomic_store_n(&cfg.ready, 1, __ATOMIC_RELEASE);
}

static uint64_t ms_interval(void)
{
	if (MS_LIKELY(__atomic_load_n(&cfg.ready, __ATOMIC_ACQUIRE)))
		return cfg.interval;
	ms_config_load();
	return __atomic_load_n(&cfg.ready, __ATOMIC_ACQUIRE) ? cfg.interval : MS_DEFAULT_INTERVAL;
}

/* ---- sampling ------------------------------------------------------------- */

/* Next distance to a sample point: ceil-ish of an Exp(R) draw, at least 1
 * (so a 0-byte allocation is never sampled: it would weigh infinitely).
 * An allocation of s bytes is sampled iff s >= distance, i.e. iff
 * R * E < s for E ~ Exp(1): probability 1 - exp(-s / R) exactly. */
static uint64_t ms_draw(struct ms_thread *t)
{
	uint64_t mean = ms_interval();
	double u = (double)((ms_xorshift64s(&t->rng) >> 11) + 1) * 0x1p-53; /* (0, 1] */

	t->mean = mean;
	return (uint64_t)(-ms_log(u) * (double)mean) + 1;
}

/* Seed this thread's generator and draw its first distance. With
 * MEMSCOPE_SAMPLE_SEED (tests) the seed depends only on that value, the
 * order in which threads first allocate and the fork generation, so a
 * deterministic program samples the same blocks on every run. */
static void ms_thread_init(struct ms_thread *t)
{
	uint64_t idx = __atomic_fetch_add(&ms_thread_seq, 1, __ATOMIC_RELAXED);
	uint64_t gen = __atomic_load_n(&ms_fork_gen, __ATOMIC_RELAXED);
	uint64_t s;

	ms_interval(); /* make sure the configuration (seed) is loaded */
	if (cfg.has_seed) {
		s = ms_splitmix64(cfg.seed ^ ms_splitmix64(idx + (gen << 40)));
	} else {
		struct timespec ts = { 0, 0 };

		clock_gettime(CLOCK_MONOTONIC, &ts);
		s = ms_splitmix64((uintptr_t)t ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
				  ((uint64_t)gettid() << 32) ^ idx ^ (gen << 48));
	}
	t->rng = s ? s : 0x9E3779B97F4A7C15ULL;
	t->left = ms_draw(t);
}

/* Announce sampled block p of size bytes, drawn at mean interval mean:
 * remember it in the pointer set, then fire the probe. A full set group
 * means the block cannot be recognised at free: it is counted in
 * memscope_sample_untracked and not announced (an alloc with no matching
 * free would read as a leak). */
static void ms_announce(void *p, size_t size, uint64_t mean)
{
	uintptr_t ptr = (uintptr_t)p;
	uint64_t sz = size, weight;

	if (ptrset_insert(ptr)) {
		__atomic_fetch_add(&memscope_sample_untracked, 1, __ATOMIC_RELAXED);
		return;
	}
	weight = (uint64_t)((double)size / ms_neg_expm1((double)size / (double)mean) + 0.5);
	MEMSCOPE__PROBE3(memscope, sample_alloc, "8", ptr, "8", sz, "8", weight);
}

/* The countdown ran out (or this thread's first allocation): decide
 * whether block p (NULL: the allocation failed) is sampled. */
static __attribute__((noinline, cold)) void ms_alloc_slow(void *p, size_t size)
{
	struct ms_thread *t = &ms_self;
	int saved = errno;
	uint64_t mean;

	if (!p)
		goto out; /* nothing was allocated; keep the countdown */
	/* A bootstrap block (dlsym's error strings while ms_next_resolve
	 * runs) is this library's, not the program's, and free() drops it
	 * without a probe: announced, it would read as a leak. */
	if (MS_UNLIKELY(ms_arena_owns(p)))
		goto out;
	if (!t->rng)
		ms_thread_init(t);
	if (size < t->left) {
		t->left -= size;
		goto out;
	}
	mean = t->mean;
	t->left = ms_draw(t);
	if (memscope_sample_alloc_semaphore)
		ms_announce(p, size, mean);
out:
	errno = saved;
}

/* The whole fast path: count size bytes against this thread's countdown.
 * Returns 0 when the countdown has not run out (the block is not sampled,
 * whether or not the allocation then succeeds), 1 when the caller must
 * allocate and then call ms_alloc_slow. Not atomic on purpose: a signal
 * handler that allocates between the load and the store loses one update,
 * which costs nothing but a slightly longer distance. */
static inline __attribute__((always_inline)) int ms_countdown(size_t size)
{
	struct ms_thread *t = &ms_self;

	if (MS_LIKELY(size < t->left)) {
		t->left -= size;
		return 0;
	}
	return 1;
}

/* For wrappers that cannot tail-call: account block p (NULL: failed) of
 * size bytes after the real call. */
static inline __attribute__((always_inline)) void ms_alloc_account(void *p, size_t size)
{
	if (ms_countdown(size))
		ms_alloc_slow(p, size);
}

/* Wrapper body for the common case: count first, so that the real call is
 * a tail call when the countdown has not run out (no frame of ours on the
 * fast path); otherwise allocate, then decide. */
#define MS_ALLOC(size, call)                                                   \
	do {                                                                   \
		void *p_;                                                      \
		if (MS_LIKELY(!ms_countdown(size)))                            \
			return call;                                           \
		p_ = call;                                                     \
		ms_alloc_slow(p_, size);                                       \
		return p_;                                                     \
	} while (0)

/* A tracer listens to frees: if p is a sampled block, forget it and say so,
 * before the real free can hand the address to another thread. */
static __attribute__((noinline)) void ms_free_slow(void *p)
{
	uintptr_t ptr = (uintptr_t)p;

	if (ptr && ptrset_remove(ptr))
		MEMSCOPE__PROBE1(memscope, sample_free, "8", ptr);
}

/* Before every real free: nothing but a semaphore test while no tracer
 * listens; with one, a load from the set's group counts, and a lookup only
 * if p's group holds sampled blocks. */
#define MS_FREE_HOOK(p)                                                        \
	do {                                                                   \
		if (MS_UNLIKELY(memscope_sample_free_semaphore != 0) &&        \
		    ptrset_may_contain((uintptr_t)(p)))                        \
			ms_free_slow(p);                                       \
	} while (0)

/* ---- fork and load ------------------------------------------------------------ */

/* In the child of fork(), in the thread that forked (the only one left).
 * Its generator is restarted so parent and child do not make the same
 * sampling decisions from here on; with a fixed seed the child's stream is
 * still reproducible (it derives from the parent's identity and the number
 * of forks the parent made).
 *
 * The pointer set is inherited copy-on-write and kept as is: it describes
 * blocks the child also inherited. If the tracer follows the child, their
 * frees announce sample_free for blocks the child's trace never saw
 * allocated; the tracer treats them like frees of blocks allocated before
 * the attach. If not, the child's copies of the semaphores go back to 0
 * when the kernel drops the inherited breakpoints, and the child is inert.
 * Clearing the set here would copy up to 512 KiB per fork for nothing. */
static void ms_atfork_child(void)
{
	struct ms_thread *t = &ms_self;

	/* ms_forks was raised by ms_atfork_prepare: distinct per fork */
	ms_fork_gen = ms_splitmix64(ms_fork_gen + ms_forks);
	ms_forks = 0;
	ms_thread_seq = 0;
	t->rng = 0;
	t->left = 0;
}

static void ms_atfork_prepare(void)
{
	__atomic_fetch_add(&ms_forks, 1, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void ms_init(void)
{
	int saved = errno;

	ms_next_resolve();
	ms_config_load();
	pthread_atfork(ms_atfork_prepare, NULL, ms_atfork_child);
	errno = saved;
}

/* ---- the interposed allocator -------------------------------------------------- */

MS_API void *malloc(size_t size)
{
	MS_ALLOC(size, ms_next.malloc(size));
}

MS_API void free(void *p)
{
	if (MS_UNLIKELY(ms_arena_owns(p)))
		return; /* a bootstrap block: never the real allocator's */
	MS_FREE_HOOK(p);
	ms_next.free(p);
}

MS_API void *calloc(size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		return ms_next.calloc(n, size); /* fails with ENOMEM */
	MS_ALLOC(bytes, ms_next.calloc(n, size));
}

/* realloc is a free of the old block followed by an allocation of the new
 * one, in that order: the free probe fires before the real realloc, which
 * may release the old address to another thread at once.
 *
 *  - realloc(NULL, n): an allocation of n bytes.
 *  - realloc(p, 0): glibc frees p and returns NULL: a free only.
 *  - success: free(p) then an allocation decision for the new block with
 *    its full new size n (also when it stays in place).
 *  - failure (NULL, errno ENOMEM): p is still allocated but, if it was
 *    sampled, the tracer has already been told it was freed, and the
 *    failure cannot be predicted before the call. So a failed realloc is
 *    reported as what it leaves behind: free(p), then a new allocation
 *    decision for p itself, sized by malloc_usable_size(p) (the original
 *    request size is not kept). In-use estimates stay unbiased; allocated
 *    totals count p's bytes once more (rare: only on allocation failure).
 */
static void *ms_realloc(void *p, size_t size, void *(*real)(void *, size_t))
{
	void *q;

	if (MS_UNLIKELY(ms_arena_owns(p))) {
		/* out of the bootstrap arena into the real allocator */
		q = ms_next.malloc(size);
		if (q)
			memcpy(q, p, ms_arena_size(p) < size ? ms_arena_size(p) : size);
		return q;
	}
	if (p)
		MS_FREE_HOOK(p);
	q = real(p, size);
	if (MS_LIKELY(q != NULL))
		ms_alloc_account(q, size);
	else if (p && size)
		ms_alloc_account(p, ms_next.usable_size(p));
	return q;
}

MS_API void *realloc(void *p, size_t size)
{
	return ms_realloc(p, size, ms_next.realloc);
}

MS_API void *reallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return ms_realloc(p, bytes, ms_next.realloc);
}

MS_API void *memalign(size_t align, size_t size)
{
	MS_ALLOC(size, ms_next.memalign(align, size));
}

MS_API void *aligned_alloc(size_t align, size_t size)
{
	MS_NEXT_READY();
	MS_ALLOC(size, ms_next.aligned_alloc(align, size));
}

MS_API int posix_memalign(void **out, size_t align, size_t size)
{
	int rc;

	MS_NEXT_READY();
	rc = ms_next.posix_memalign(out, align, size);
	if (rc == 0)
		ms_alloc_account(*out, size);
	return rc;
}

MS_API void *valloc(size_t size)
{
	MS_NEXT_READY();
	MS_ALLOC(size, ms_next.valloc(size));
}

/* pvalloc rounds the request up to whole pages (0 -> one page): that is
 * the size the program asked for, so it is the size counted. */
MS_API void *pvalloc(size_t size)
{
	size_t page = (size_t)getpagesize();
	void *p;

	MS_NEXT_READY();
	p = ms_next.pvalloc(size);
	if (p)
		ms_alloc_account(p, size ? (size + page - 1) & ~(page - 1) : page);
	return p;
}

MS_API size_t malloc_usable_size(void *p)
{
	if (MS_UNLIKELY(ms_arena_owns(p)))
		return ms_arena_size(p);
	MS_NEXT_READY();
	return ms_next.usable_size(p);
}

/* ---- C++ operators ------------------------------------------------------------------- */

/* Defined here under their mangled names. Each forwards to the next
 * definition (the allocator's, or libstdc++'s) and, when that one does not
 * come back through malloc, samples what it returns (forward.h). A throwing
 * operator new unwinds through these frames (they have unwind tables). */
#define MS_OP_NEW(fn, sym, next, params, args, size)                           \
	MS_API void *fn params __asm__(sym);                                   \
	MS_API void *fn params                                                 \
	{                                                                      \
		MS_NEXT_READY();                                               \
		if (!ms_next.cxx_counts)                                       \
			return ms_next.next ? ms_next.next args : ms_op_fallback(size); \
		MS_ALLOC(size, ms_next.next args);                             \
	}
#define MS_OP_DEL(fn, sym, next, params, args, p)                              \
	MS_API void fn params __asm__(sym);                                    \
	MS_API void fn params                                                  \
	{                                                                      \
		MS_NEXT_READY();                                               \
		if (ms_next.cxx_counts)                                        \
			MS_FREE_HOOK(p);                                       \
		if (ms_next.next)                                              \
			ms_next.next args;                                     \
		else                                                           \
			free(p);                                               \
	}

/* No operator new anywhere after this library (a C program that never
 * calls one): a plain block, or abort as an operator new that cannot
 * throw must. */
static void *ms_op_fallback(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		abort();
	return p;
}

MS_OP_NEW(ms_op_new, "_Znwm", op_new, (size_t n), (n), n)
MS_OP_NEW(ms_op_new_nt, "_ZnwmRKSt9nothrow_t", op_new_nt, (size_t n, const void *nt), (n, nt), n)
MS_OP_NEW(ms_op_new_al, "_ZnwmSt11align_val_t", op_new_al, (size_t n, size_t al), (n, al), n)
MS_OP_NEW(ms_op_new_al_nt, "_ZnwmSt11align_val_tRKSt9nothrow_t", op_new_al_nt,
	  (size_t n, size_t al, const void *nt), (n, al, nt), n)
MS_OP_NEW(ms_op_newa, "_Znam", op_newa, (size_t n), (n), n)
MS_OP_NEW(ms_op_newa_nt, "_ZnamRKSt9nothrow_t", op_newa_nt, (size_t n, const void *nt), (n, nt), n)
MS_OP_NEW(ms_op_newa_al, "_ZnamSt11align_val_t", op_newa_al, (size_t n, size_t al), (n, al), n)
MS_OP_NEW(ms_op_newa_al_nt, "_ZnamSt11align_val_tRKSt9nothrow_t", op_newa_al_nt,
	  (size_t n, size_t al, const void *nt), (n, al, nt), n)
MS_OP_DEL(ms_op_del, "_ZdlPv", op_del, (void *p), (p), p)
MS_OP_DEL(ms_op_del_sz, "_ZdlPvm", op_del_sz, (void *p, size_t n), (p, n), p)
MS_OP_DEL(ms_op_del_al, "_ZdlPvSt11align_val_t", op_del_al, (void *p, size_t al), (p, al), p)
MS_OP_DEL(ms_op_del_sz_al, "_ZdlPvmSt11align_val_t", op_del_sz_al, (void *p, size_t n, size_t al),
	  (p, n, al), p)
MS_OP_DEL(ms_op_del_nt, "_ZdlPvRKSt9nothrow_t", op_del_nt, (void *p, const void *nt), (p, nt), p)
MS_OP_DEL(ms_op_del_al_nt, "_ZdlPvSt11align_val_tRKSt9nothrow_t", op_del_al_nt,
	  (void *p, size_t al, const void *nt), (p, al, nt), p)
MS_OP_DEL(ms_op_dela, "_ZdaPv", op_dela, (void *p), (p), p)
MS_OP_DEL(ms_op_dela_sz, "_ZdaPvm", op_dela_sz, (void *p, size_t n), (p, n), p)
MS_OP_DEL(ms_op_dela_al, "_ZdaPvSt11align_val_t", op_dela_al, (void *p, size_t al), (p, al), p)
MS_OP_DEL(ms_op_dela_sz_al, "_ZdaPvmSt11align_val_t", op_dela_sz_al, (void *p, size_t n, size_t al),
	  (p, n, al), p)
MS_OP_DEL(ms_op_dela_nt, "_ZdaPvRKSt9nothrow_t", op_dela_nt, (void *p, const void *nt), (p, nt), p)
MS_OP_DEL(ms_op_dela_al_nt, "_ZdaPvSt11align_val_tRKSt9nothrow_t", op_dela_al_nt,
	  (void *p, size_t al, const void *nt), (p, al, nt), p)

/* ---- jemalloc's API -------------------------------------------------------------------- */

/* Forwarded to jemalloc when it is the allocator; otherwise built from the
 * allocator's standard functions (a program may look for mallocx to find
 * out whether jemalloc is there: it then gets a working one). Flags:
 * MALLOCX_LG_ALIGN(la) in the low 6 bits, MALLOCX_ZERO = 0x40; the tcache
 * and arena bits mean nothing elsewhere. */
#define MS_MALLOCX_ALIGN(flags) ((flags) & 0x3f ? (size_t)1 << ((flags) & 0x3f) : 0)
#define MS_MALLOCX_ZERO 0x40

static void *ms_mallocx_emu(size_t size, int flags)
{
	size_t align = MS_MALLOCX_ALIGN(flags);
	void *p = align > 16 ? ms_next.memalign(align, size) : ms_next.malloc(size);

	if (p && (flags & MS_MALLOCX_ZERO))
		memset(p, 0, size);
	return p;
}

MS_API void *mallocx(size_t size, int flags)
{
	MS_NEXT_READY();
	if (!ms_next.mallocx)
		MS_ALLOC(size, ms_mallocx_emu(size, flags));
	MS_ALLOC(size, ms_next.mallocx(size, flags));
}

static void *ms_rallocx_real(void *p, size_t size, int flags)
{
	size_t align = MS_MALLOCX_ALIGN(flags), old;
	void *q;

	if (ms_next.rallocx)
		return ms_next.rallocx(p, size, flags);
	if (align <= 16)
		return ms_next.realloc(p, size);
	/* an alignment realloc cannot promise: a new block and a copy */
	q = ms_next.memalign(align, size);
	if (q) {
		old = ms_next.usable_size(p);
		memcpy(q, p, old < size ? old : size);
		ms_next.free(p);
	}
	return q;
}

MS_API void *rallocx(void *p, size_t size, int flags)
{
	void *q;

	MS_NEXT_READY();
	MS_FREE_HOOK(p);
	q = ms_rallocx_real(p, size, flags);
	if (MS_LIKELY(q != NULL))
		ms_alloc_account(q, size);
	else
		ms_alloc_account(p, ms_next.usable_size(p));
	return q;
}

/* Resized in place or not at all: the block is given up and taken again at
 * its new size (or its old one, when it could not grow). */
MS_API size_t xallocx(void *p, size_t size, size_t extra, int flags)
{
	size_t real;

	MS_NEXT_READY();
	if (!ms_next.xallocx)
		return ms_next.usable_size(p); /* cannot resize in place */
	MS_FREE_HOOK(p);
	real = ms_next.xallocx(p, size, extra, flags);
	ms_alloc_account(p, real >= size ? size : real);
	return real;
}

MS_API size_t sallocx(const void *p, int flags)
{
	MS_NEXT_READY();
	return ms_next.sallocx ? ms_next.sallocx(p, flags) : ms_next.usable_size((void *)p);
}

MS_API size_t nallocx(size_t size, int flags)
{
	MS_NEXT_READY();
	return ms_next.nallocx ? ms_next.nallocx(size, flags) : size;
}

MS_API void dallocx(void *p, int flags)
{
	MS_NEXT_READY();
	MS_FREE_HOOK(p);
	if (ms_next.dallocx)
		ms_next.dallocx(p, flags);
	else
		ms_next.free(p);
}

MS_API void sdallocx(void *p, size_t size, int flags)
{
	MS_NEXT_READY();
	MS_FREE_HOOK(p);
	if (ms_next.sdallocx)
		ms_next.sdallocx(p, size, flags);
	else
		ms_next.free(p);
}
