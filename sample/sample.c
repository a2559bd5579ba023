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
 * thread-local counter and tail-call glibc's real function; free tests a
 * semaphore and tail-calls glibc's. The pointer set is not touched, no
 * probe fires. Every few hundred KiB per thread a slow path draws the next
 * distance (a few dozen ns) and tests the alloc semaphore.
 *
 * Robustness rules kept throughout: no dlsym (glibc exports its real entry
 * points as __libc_malloc & co.), initial-exec TLS only (zero-initialised,
 * nothing to allocate, no per-thread registration: a thread's first
 * allocation seeds its state), no lock anywhere (signal handlers may
 * allocate; the pointer set is lock-free), errno preserved across the
 * library's own work, fork handled by an atfork child handler.
 *
 * C++: libstdc++'s operator new/new[]/delete (all variants, including the
 * aligned ones, which use aligned_alloc) call malloc/free & co. through
 * the PLT, so they are sampled through the functions here; no operator is
 * interposed separately.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* The probes are include/memscope.h's: semaphores, arguments in registers
 * or constants, and on x86-64 the 5-byte nop the kernel turns into a call
 * (no trap) with the red zone stepped over. */
#include "memscope.h"

#include "ptrset.h"
#include "sample_math.h"

#define MS_API __attribute__((visibility("default")))
#define MS_LIKELY(x) __builtin_expect(!!(x), 1)
#define MS_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define MS_DEFAULT_INTERVAL (512u * 1024u)
#define MS_MAX_INTERVAL (1ULL << 50) /* keeps 37 * R within 64 bits */

/* glibc's allocator proper, exported by libc.so.6 (GLIBC_2.2.5), so the
 * library needs no dlsym at start-up. Called through the GOT (noplt). In
 * glibc 2.36 aligned_alloc is an alias of memalign, and posix_memalign,
 * reallocarray are thin checks around memalign/realloc, reproduced below. */
extern void *__libc_malloc(size_t size) __attribute__((noplt));
extern void *__libc_calloc(size_t n, size_t size) __attribute__((noplt));
extern void *__libc_realloc(void *p, size_t size) __attribute__((noplt));
extern void __libc_free(void *p) __attribute__((noplt));
extern void *__libc_memalign(size_t align, size_t size) __attribute__((noplt));
extern void *__libc_valloc(size_t size) __attribute__((noplt));
extern void *__libc_pvalloc(size_t size) __attribute__((noplt));

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

	ms_config_load();
	pthread_atfork(ms_atfork_prepare, NULL, ms_atfork_child);
	errno = saved;
}

/* ---- the interposed allocator -------------------------------------------------- */

MS_API void *malloc(size_t size)
{
	MS_ALLOC(size, __libc_malloc(size));
}

MS_API void free(void *p)
{
	MS_FREE_HOOK(p);
	__libc_free(p);
}

MS_API void *calloc(size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		return __libc_calloc(n, size); /* fails with ENOMEM */
	MS_ALLOC(bytes, __libc_calloc(n, size));
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
static void *ms_realloc(void *p, size_t size)
{
	void *q;

	if (p)
		MS_FREE_HOOK(p);
	q = __libc_realloc(p, size);
	if (MS_LIKELY(q != NULL))
		ms_alloc_account(q, size);
	else if (p && size)
		ms_alloc_account(p, malloc_usable_size(p));
	return q;
}

MS_API void *realloc(void *p, size_t size)
{
	return ms_realloc(p, size);
}

MS_API void *reallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return ms_realloc(p, bytes);
}

MS_API void *memalign(size_t align, size_t size)
{
	MS_ALLOC(size, __libc_memalign(align, size));
}

/* glibc 2.36: aligned_alloc is memalign (any alignment accepted, rounded
 * up to a power of two); same here. */
MS_API void *aligned_alloc(size_t align, size_t size)
{
	MS_ALLOC(size, __libc_memalign(align, size));
}

/* glibc's checks, then memalign; errno as glibc leaves it. */
MS_API int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (align % sizeof(void *) != 0 || align == 0 ||
	    ((align / sizeof(void *)) & (align / sizeof(void *) - 1)) != 0)
		return EINVAL;
	p = __libc_memalign(align, size);
	if (!p)
		return ENOMEM;
	*out = p;
	ms_alloc_account(p, size);
	return 0;
}

MS_API void *valloc(size_t size)
{
	MS_ALLOC(size, __libc_valloc(size));
}

/* pvalloc rounds the request up to whole pages (0 -> one page): that is
 * the size the program asked for, so it is the size counted. */
MS_API void *pvalloc(size_t size)
{
	size_t page = (size_t)getpagesize();
	void *p = __libc_pvalloc(size);

	if (p)
		ms_alloc_account(p, size ? (size + page - 1) & ~(page - 1) : page);
	return p;
}
