#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Issue 6: libmemscope_sample.so, the library side of sampled mode.

- inert without a tracer: real programs (ls, python3, sh, a C torture test
  and a C++ one: realloc/calloc/aligned/fork/threads/allocating signal
  handlers) print the same output and exit with the same code with and
  without LD_PRELOAD, whatever the interval;
- with bpftrace attached to memscope:sample_alloc/sample_free (root): on a
  target with a known allocation pattern and a fixed seed, the summed
  weights estimate allocated and in-use bytes within their stated error
  bars, every sample_free matches a live sample_alloc, threads started
  before the attach are sampled, weights follow size / (1 - exp(-size/R));
- realloc (in place, moved, to 0, failed), a full pointer set (counted in
  memscope_sample_untracked, never a crash) and C++ operators.

Runs under tests/run.py or standalone: python3 tests/integration/test_sampled_lib.py
"""
import atexit
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import ROOT, Skip  # noqa: E402

LIB = os.path.join(ROOT, ".output", "libmemscope_sample.so")
_build_dir = None

# ---- target programs -------------------------------------------------------

TORTURE_C = r"""
/* Deterministic output (no addresses) exercising every interposed function,
 * errno, failures, threads, fork and allocating signal handlers. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static volatile uint64_t handler_sum;

static void on_signal(int sig)
{
	/* allocates from a signal handler (raised synchronously or while the
	 * main thread sleeps, so glibc's own locks are never held here) */
	unsigned char *p = malloc(100 + sig), *q = calloc(3, 50 + sig);
	void *a = NULL;

	memset(p, sig, 100 + sig);
	handler_sum += p[99] + q[10];
	if (posix_memalign(&a, 64, 300) == 0)
		free(a);
	p = realloc(p, 5000);
	free(p);
	free(q);
	handled++;
}

static uint64_t worker_run(uint64_t seed)
{
	uint64_t x = seed, h = 0;
	int i;

	for (i = 0; i < 30000; i++) {
		size_t s;
		unsigned char *p;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		s = 1 + (x >> 33) % (i % 100 == 0 ? 300000 : 2000);
		p = (i & 1) ? malloc(s) : calloc(1, s);
		if (!p)
			abort();
		p[s - 1] = (unsigned char)i;
		h = h * 31 + p[s - 1];
		p = realloc(p, s + (x >> 50));
		h += p[s - 1];
		free(p);
	}
	return h;
}

static void *worker(void *arg) { return (void *)(uintptr_t)worker_run((uintptr_t)arg); }

int main(void)
{
	void *p, *q;
	int rc, i, st;
	pthread_t th[4];
	uint64_t h = 0;
	struct itimerval it = { { 0, 0 }, { 0, 20000 } };

	setvbuf(stdout, NULL, _IONBF, 0); /* no buffer: fork must not duplicate output */

	errno = EDOM;
	p = malloc(100);
	printf("malloc keeps errno: %d\n", errno == EDOM);
	free(p);
	printf("free keeps errno: %d\n", errno == EDOM);
	p = calloc(10, 10);
	q = realloc(p, 1000);
	printf("calloc/realloc keep errno: %d zeroed: %d\n", errno == EDOM, ((char *)q)[99] == 0);
	free(q);

	errno = 0;
	p = malloc(SIZE_MAX);
	printf("malloc(SIZE_MAX): %d errno ENOMEM: %d\n", p == NULL, errno == ENOMEM);
	errno = 0;
	p = calloc(SIZE_MAX / 2, 4);
	printf("calloc overflow: %d errno ENOMEM: %d\n", p == NULL, errno == ENOMEM);
	q = malloc(50);
	strcpy(q, "kept");
	errno = 0;
	p = realloc(q, SIZE_MAX - 100);
	printf("realloc failure: %d errno ENOMEM: %d old kept: %s\n", p == NULL, errno == ENOMEM, (char *)q);
	errno = 0;
	p = reallocarray(q, SIZE_MAX / 2, 3);
	printf("reallocarray overflow: %d errno ENOMEM: %d\n", p == NULL, errno == ENOMEM);
	q = reallocarray(q, 100, 3);
	printf("reallocarray: %d %s\n", q != NULL, (char *)q);
	errno = EDOM;
	p = realloc(q, 0);
	printf("realloc(p, 0): %d errno kept: %d\n", p == NULL, errno == EDOM);
	p = realloc(NULL, 10);
	printf("realloc(NULL, n): %d\n", p != NULL);
	free(p);
	p = malloc(0);
	printf("malloc(0): %d\n", p != NULL);
	free(p);
	free(NULL);

	p = NULL;
	rc = posix_memalign(&p, 3, 10);
	printf("posix_memalign(3): %d untouched: %d\n", rc == EINVAL, p == NULL);
	rc = posix_memalign(&p, 0, 10);
	printf("posix_memalign(0): %d\n", rc == EINVAL);
	rc = posix_memalign(&p, 4096, 100);
	printf("posix_memalign(4096): %d aligned: %d\n", rc, ((uintptr_t)p & 4095) == 0);
	free(p);
	rc = posix_memalign(&p, 64, SIZE_MAX - 1000);
	printf("posix_memalign(huge): %d\n", rc == ENOMEM);
	p = memalign(64, 10);
	printf("memalign: %d\n", ((uintptr_t)p & 63) == 0);
	free(p);
	p = aligned_alloc(128, 256);
	printf("aligned_alloc: %d\n", ((uintptr_t)p & 127) == 0);
	free(p);
	p = aligned_alloc(48, 96); /* glibc 2.36 accepts it (rounds the alignment up) */
	printf("aligned_alloc(48): %d\n", p != NULL && ((uintptr_t)p & 63) == 0);
	free(p);
	p = valloc(10);
	printf("valloc: %d\n", ((uintptr_t)p & 4095) == 0);
	free(p);
	p = pvalloc(10);
	printf("pvalloc: %d usable: %d\n", ((uintptr_t)p & 4095) == 0, malloc_usable_size(p) >= 4096);
	free(p);
	p = strdup("libc allocates through malloc too");
	printf("strdup: %s\n", (char *)p);
	free(p);

	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	for (i = 0; i < 4; i++) {
		void *r;

		pthread_join(th[i], &r);
		h ^= (uintptr_t)r;
	}
	printf("threads: %llu\n", (unsigned long long)h);

	signal(SIGUSR1, on_signal);
	signal(SIGALRM, on_signal);
	for (i = 0; i < 200; i++)
		raise(SIGUSR1);
	setitimer(ITIMER_REAL, &it, NULL);
	pause();
	printf("signal handler allocations: %d sum %llu\n", (int)handled, (unsigned long long)handler_sum);

	for (i = 0; i < 3; i++) {
		pid_t c = fork();

		if (c == 0) {
			uint64_t r = worker_run(100 + i);
			pid_t g = fork(); /* and a grandchild */

			if (g == 0)
				_exit((int)(worker_run(7) & 31));
			waitpid(g, &st, 0);
			_exit((int)((r + WEXITSTATUS(st)) & 63));
		}
		waitpid(c, &st, 0);
		printf("fork %d: exit %d (parent %llu)\n", i, WEXITSTATUS(st),
		       (unsigned long long)worker_run(200 + i) & 63);
	}
	return 3;
}
"""

TORTURE_CXX = r"""
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

struct alignas(256) Big { char b[1000]; };

int main()
{
	std::vector<std::string> v;
	for (int i = 0; i < 20000; i++)
		v.push_back(std::to_string(i) + std::string(i % 300, 'x'));
	std::map<int, std::unique_ptr<Big>> m;
	for (int i = 0; i < 2000; i++)
		m[i] = std::make_unique<Big>();
	unsigned long sum = 0;
	for (auto &s : v)
		sum += s.size();
	int caught = 0;
	for (int i = 0; i < 100; i++) {
		try {
			throw std::runtime_error(std::string(500, 'e'));
		} catch (const std::exception &e) {
			caught += e.what()[0] == 'e';
		}
	}
	std::thread t([&] { std::vector<int> w(1 << 20, 1); sum += w.size(); });
	t.join();
	std::printf("sum %lu aligned %d caught %d\n", sum,
		    (int)(((unsigned long)m[5].get() & 255) == 0), caught);
	return 5;
}
"""

# The protocol of the traced targets (C and C++ alike). A target prints
# "ready"; each "sync" line on stdin makes it allocate and free the marker
# block (bigger than any countdown can reach, so always sampled) and answer
# "synced": once the test has seen that block's two probes the tracer is
# attached for sure (a raised semaphore alone does not say that the BPF
# program is attached yet). The sync markers are allocated by a thread of
# their own, so that the number of syncs does not shift the sampling
# decisions of the run (each thread has its own random stream). "go"
# starts the run; the target prints "done ...", frees the marker once more
# (the end of its events) and waits for one more line before it exits.
PROTOCOL = r"""
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MARKER_SIZE ((64u << 20) + 17)
static void *volatile marker_sink;
static int sync_req[2], sync_ack[2];

static void marker(void)
{
	marker_sink = malloc(MARKER_SIZE);
	free(marker_sink);
}

static void *sync_thread(void *arg)
{
	char c;

	(void)arg;
	while (read(sync_req[0], &c, 1) == 1) {
		marker();
		if (write(sync_ack[1], &c, 1) != 1)
			break;
	}
	return NULL;
}

static void wait_go(void)
{
	char line[64], c = 's';
	pthread_t t;

	if (pipe(sync_req) || pipe(sync_ack) || pthread_create(&t, NULL, sync_thread, NULL))
		exit(1);
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "go", 2) == 0)
			return;
		if (write(sync_req[1], &c, 1) != 1 || read(sync_ack[0], &c, 1) != 1)
			exit(1);
		printf("synced\n");
		fflush(stdout);
	}
	exit(1);
}

static void finish(void)
{
	char line[64];

	fflush(stdout);
	marker();
	if (!fgets(line, sizeof(line), stdin))
		exit(1);
}
"""
MARKER_SIZE = (64 << 20) + 17

# Known allocation pattern: runs it on the main thread and on a thread
# created before the attach, raises an allocating signal handler, forks a
# child that allocates (not followed), prints the exact totals and the
# theoretical variances of the estimators; the kept blocks are still live
# when the tracer stops.
PATTERN_C = r"""
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 60000
#define KEEP_EVERY 16

struct tot {
	uint64_t alloc, live;
	double var_alloc, var_live;
	void *kept[N / KEEP_EVERY + 1];
	size_t nkept;
};

static double R;
static volatile uint64_t handler_allocs;
static struct tot t_main, t_thr;
static int go_pipe[2];

/* variance of one block's contribution to the Horvitz-Thompson estimate */
static double var1(double s)
{
	double p = -expm1(-s / R);

	return s * s * (1 - p) / p;
}

static void count(struct tot *t, size_t s)
{
	t->alloc += s;
	t->var_alloc += var1(s);
}

static void on_usr1(int sig)
{
	char *p = malloc(1000);

	(void)sig;
	memset(p, 1, 1000);
	free(p);
	handler_allocs++;
}

static void pattern(struct tot *t, uint64_t seed)
{
	uint64_t x = seed;
	void *pending[64] = { 0 };
	int i;

	for (i = 0; i < N; i++) {
		unsigned r, k;
		size_t s;
		void *p;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		r = (unsigned)(x >> 33);
		k = r % 100;
		s = k < 70 ? 16 + r % 497 : k < 95 ? 512 + r % 16000 : 16384 + r % 240000;
		switch (i % 5) {
		case 0: p = malloc(s); break;
		case 1: p = calloc(1, s); break;
		case 2: p = aligned_alloc(64, s); break;
		case 3: if (posix_memalign(&p, 256, s)) abort(); break;
		default: /* realloc: counted as the old block plus the new one */
			p = malloc(s / 2 + 1);
			count(t, s / 2 + 1);
			p = realloc(p, s);
			break;
		}
		if (!p)
			abort();
		memset(p, 0x5a, s < 4096 ? s : 4096);
		count(t, s);
		if (i % KEEP_EVERY == 0) {
			t->kept[t->nkept++] = p;
			t->live += s;
			t->var_live += var1(s);
		} else {
			free(pending[i % 64]);
			pending[i % 64] = p;
		}
		if (i % 1000 == 0)
			raise(SIGUSR1);
	}
	for (i = 0; i < 64; i++)
		free(pending[i]);
}

static void *thr(void *a)
{
	char c;

	(void)a;
	if (read(go_pipe[0], &c, 1) != 1)
		abort();
	pattern(&t_thr, 99);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;
	pid_t c;
	int st;
	uint64_t hb;

	R = atof(argv[1]);
	(void)argc;
	signal(SIGUSR1, on_usr1);
	if (pipe(go_pipe))
		return 1;
	pthread_create(&th, NULL, thr, NULL); /* started before the attach */
	wait_go();
	if (write(go_pipe[1], "g", 1) != 1)
		return 1;
	pattern(&t_main, 12345);
	pthread_join(th, NULL);
	c = fork();
	if (c == 0) {
		struct tot *t = calloc(1, sizeof(*t));

		pattern(t, 7);
		_exit(0);
	}
	waitpid(c, &st, 0);
	hb = handler_allocs;
	printf("done alloc=%llu live=%llu var_alloc=%.9e var_live=%.9e child=%d\n",
	       (unsigned long long)(t_main.alloc + t_thr.alloc + hb * 1000),
	       (unsigned long long)(t_main.live + t_thr.live),
	       t_main.var_alloc + t_thr.var_alloc + (double)hb * var1(1000),
	       t_main.var_live + t_thr.var_live, st);
	finish();
	return 0;
}
"""

# Realloc edge cases, then enough live blocks at a 1-byte interval to fill
# pointer-set groups; prints memscope_sample_untracked.
EDGE_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILL 80000

static void *blocks[FILL];

int main(void)
{
	char *p, *q;
	int i;
	volatile uint64_t *untracked;
	size_t usable;

	wait_go();
	p = malloc(1001);                /* A 1001 */
	p = realloc(p, 1002);            /* F, A 1002 (maybe in place) */
	p = realloc(p, 300003);          /* F, A 300003 (moved) */
	p = realloc(p, 1004);            /* F, A 1004 */
	q = realloc(p, SIZE_MAX - 4096); /* F, then p again: A usable(p) */
	if (q || errno != ENOMEM)
		return 2;
	strcpy(p, "still here");
	usable = malloc_usable_size(p);
	p = realloc(p, 0);               /* F */
	if (p)
		return 3;
	p = reallocarray(NULL, 101, 10); /* A 1010 */
	free(p);                         /* F */
	for (i = 0; i < FILL; i++)
		blocks[i] = malloc(32);
	for (i = 0; i < FILL; i++)
		free(blocks[i]);
	untracked = dlsym(RTLD_DEFAULT, "memscope_sample_untracked");
	printf("done untracked=%llu usable=%zu\n", untracked ? (unsigned long long)*untracked : 0ULL,
	       usable);
	finish();
	return 0;
}
"""

# C++ operators reach the library through libstdc++'s calls to malloc &co.
CXX_OPS = r"""
#include <cstdio>
#include <new>

struct alignas(256) Aligned { char b[999936]; };
static void *volatile sink;

int main()
{
	wait_go();
	char *a = new char[888888];
	struct S { char b[777777]; } *s = new S;
	Aligned *al = new Aligned;
	sink = a;
	sink = s;
	sink = al;
	delete s;
	delete[] a;
	delete al;
	std::printf("done\n");
	finish();
	return 0;
}
"""


def build_dir():
    global _build_dir
    if _build_dir is None:
        _build_dir = tempfile.mkdtemp(prefix="memscope-sampled-")
        atexit.register(shutil.rmtree, _build_dir, True)
    return _build_dir


def build(name, source, cxx=False, protocol=False):
    """Compile a target program once per run (after PROTOCOL if asked);
    return its path."""
    d = build_dir()
    exe = os.path.join(d, name)
    if os.path.exists(exe):
        return exe
    src = exe + (".cpp" if cxx else ".c")
    with open(src, "w") as f:
        if protocol:
            head, sep, body = source.partition("#define _GNU_SOURCE\n")
            f.write(sep + head + PROTOCOL + body if sep else PROTOCOL + source)
        else:
            f.write(source)
    if cxx:
        cmd = ["g++", "-O1", "-g", "-std=c++17", "-fno-allocation-dce", "-fno-builtin-malloc",
               "-fno-builtin-free", "-pthread", src, "-o", exe]
    else:
        cmd = ["cc", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-fno-builtin-malloc",
               "-fno-builtin-free", "-fno-builtin-calloc", "-fno-builtin-realloc",
               # the targets make failing requests and reuse a block after a
               # failed realloc on purpose
               "-Wno-alloc-size-larger-than", "-Wno-use-after-free",
               "-pthread", src, "-o", exe, "-lm", "-ldl"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, "%s: %s" % (" ".join(cmd), p.stderr)
    return exe


def need_lib():
    assert os.path.exists(LIB), "%s missing: run make" % LIB


def run(cmd, env_extra=None, preload=False, timeout=120, stdin=None):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    for k in [k for k in env if k.startswith("MEMSCOPE_SAMPLE_")]:
        del env[k]
    if preload:
        env["LD_PRELOAD"] = LIB
    env.update(env_extra or {})
    return subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, input=stdin,
                          cwd=build_dir())


def same_with_and_without(cmd, env_extra=None, stdin=None):
    base = run(cmd, stdin=stdin)
    pre = run(cmd, env_extra, preload=True, stdin=stdin)
    assert (pre.returncode, pre.stdout, pre.stderr) == (base.returncode, base.stdout, base.stderr), \
        (cmd, env_extra, base.returncode, pre.returncode, base.stdout[-500:], pre.stdout[-500:],
         base.stderr[-500:], pre.stderr[-500:])
    return base


# ---- 1. inert without a tracer ------------------------------------------------

def test_library_is_loaded_by_ld_preload():
    need_lib()
    p = run(["cat", "/proc/self/maps"], preload=True)
    assert p.returncode == 0 and os.path.realpath(LIB).encode() in p.stdout, p.stdout[-2000:]
    syms = subprocess.run(["nm", "-D", "--defined-only", LIB], capture_output=True, text=True).stdout
    for fn in ["malloc", "calloc", "realloc", "reallocarray", "free", "memalign", "posix_memalign",
               "aligned_alloc", "valloc", "pvalloc", "memscope_sample_untracked"]:
        assert (" T %s\n" % fn in syms) or (" B %s\n" % fn in syms), (fn, syms)
    deps = subprocess.run(["readelf", "-d", LIB], capture_output=True, text=True).stdout
    assert "libm.so" not in deps and "TEXTREL" not in deps, deps
    notes = subprocess.run(["readelf", "-n", LIB], capture_output=True, text=True).stdout
    names = [l.split()[1] for l in notes.splitlines() if l.strip().startswith("Name:")]
    sems = [int(l.split("Semaphore:")[1], 16) for l in notes.splitlines() if "Semaphore:" in l]
    assert sorted(names) == ["sample_alloc", "sample_free"] and len(sems) == 2 and all(sems), notes


def test_inert_real_programs():
    need_lib()
    py = ("import json, threading, subprocess, hashlib\n"
          "out = []\n"
          "def work(i):\n"
          "    out.append(hashlib.sha256(json.dumps(list(range(i * 10000))).encode()).hexdigest())\n"
          "ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]\n"
          "[t.start() for t in ts]; [t.join() for t in ts]\n"
          "print(sorted(out))\n"
          "print(subprocess.run(['echo', 'child'], capture_output=True).stdout)\n"
          "raise SystemExit(4)\n")
    cmds = [["/bin/ls", "-la", "/usr/lib/x86_64-linux-gnu"],
            ["/bin/ls", "/nonexistent"],
            [sys.executable, "-c", py],
            ["/bin/sh", "-c", "seq 1 20000 | sort -r | uniq | wc -l; exit 6"],
            ["sort", "-n"]]
    for env in [None, {"MEMSCOPE_SAMPLE_INTERVAL": "1"}, {"MEMSCOPE_SAMPLE_INTERVAL": "4096",
                                                          "MEMSCOPE_SAMPLE_SEED": "7"}]:
        for cmd in cmds:
            same_with_and_without(cmd, env, stdin=b"3\n1\n2\n" if cmd[0] == "sort" else None)


def test_inert_c_torture():
    need_lib()
    exe = build("torture", TORTURE_C)
    for env in [None, {"MEMSCOPE_SAMPLE_INTERVAL": "1"}, {"MEMSCOPE_SAMPLE_INTERVAL": "1000"},
                {"MEMSCOPE_SAMPLE_SEED": "0x2a"}]:
        p = same_with_and_without([exe], env)
        assert p.returncode == 3, p
        assert b"signal handler allocations: 201" in p.stdout, p.stdout
        assert b"realloc failure: 1 errno ENOMEM: 1 old kept: kept" in p.stdout, p.stdout
        assert b"malloc keeps errno: 1" in p.stdout and b"fork 2: exit" in p.stdout, p.stdout


def test_inert_cxx():
    need_lib()
    if not shutil.which("g++"):
        raise Skip("g++ not installed")
    exe = build("torture_cxx", TORTURE_CXX, cxx=True)
    for env in [None, {"MEMSCOPE_SAMPLE_INTERVAL": "1"}]:
        p = same_with_and_without([exe], env)
        assert p.returncode == 5 and b"aligned 1 caught 100" in p.stdout, p


def test_bad_environment_is_named_not_fatal():
    need_lib()
    for bad in ("12k", "0", "0x1000", ""):
        p = run(["/bin/true"], {"MEMSCOPE_SAMPLE_INTERVAL": bad}, preload=True)
        assert p.returncode == 0 and b"MEMSCOPE_SAMPLE_INTERVAL" in p.stderr, (bad, p)
        assert b"ignoring " + bad.encode() + b"\n" in p.stderr, (bad, p)
    p = run(["/bin/true"], {"MEMSCOPE_SAMPLE_SEED": "x"}, preload=True)
    assert p.returncode == 0 and b"MEMSCOPE_SAMPLE_SEED" in p.stderr, p


# ---- 2. with a tracer: bpftrace on the two probes -----------------------------

def need_bpftrace():
    if os.geteuid() != 0:
        raise Skip("needs root to attach bpftrace")
    if not shutil.which("bpftrace"):
        raise Skip("bpftrace not installed")
    need_lib()


def lib_semaphores(pid):
    """Values of the library's two semaphores in process pid (None if the
    library is not mapped yet)."""
    notes = subprocess.run(["readelf", "-n", LIB], capture_output=True, text=True).stdout
    sems = [int(l.split("Semaphore:")[1], 16) for l in notes.splitlines() if "Semaphore:" in l]
    real = os.path.realpath(LIB)
    base = None
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and parts[5] == real and int(parts[2], 16) == 0:
                base = int(parts[0].split("-")[0], 16)
                break
    if base is None:
        return None
    vals = []
    with open("/proc/%d/mem" % pid, "rb") as m:
        for s in sems:
            m.seek(base + s)
            vals.append(int.from_bytes(m.read(2), "little"))
    return vals


PRINT_ALL = (
    'U:sample_alloc /pid == PID/ { printf("A %d %d %lu %lu %lu %lu\\n", pid, tid, arg0, arg1, arg2, nsecs); }\n'
    'U:sample_free /pid == PID/ { printf("F %d %d %lu %lu\\n", pid, tid, arg0, nsecs); }\n')


class Session:
    """A target (speaking PROTOCOL) started with the library preloaded and
    bpftrace attached to its two probes with -p. The script (U: stands for
    the probe prefix, PID for the target's pid; one program per probe, so
    that seeing both probes of the marker means every program is attached)
    prints 'A pid tid ptr size weight ns' and 'F pid tid ptr ns' lines, by
    default one per event, and must print the marker's."""

    def __init__(self, cmd, env_extra, script=PRINT_ALL):
        env = dict(os.environ, LD_PRELOAD=LIB)
        env.update(env_extra)
        self.lines = []
        self.bpf = None
        self.target = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True, env=env, cwd=build_dir())
        try:
            self._attach(script)
        except BaseException:
            self.close()
            raise

    def _attach(self, script):
        ready = self.target.stdout.readline()
        assert ready.startswith("ready"), ready
        self.pid = self.target.pid
        script = script.replace("U:", "usdt:%s:memscope:" % LIB).replace("PID", str(self.pid))
        self.bpf = subprocess.Popen(["bpftrace", "-B", "none", "-p", str(self.pid), "-e", script],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    env=dict(os.environ, BPFTRACE_MAP_KEYS_MAX="200000"))
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.time() + 30
        while True:
            sems = lib_semaphores(self.pid)
            if sems and all(sems):
                break
            if self.bpf.poll() is not None or time.time() > deadline:
                raise AssertionError("bpftrace did not attach: %s" % self.bpf.stderr.read())
            time.sleep(0.05)
        # the semaphores go up when the uprobes are registered, which may
        # be before bpftrace has attached its programs: sync on the marker
        while True:
            t = time.monotonic_ns()
            self._send("sync")
            assert self.target.stdout.readline().strip() == "synced"
            if self._wait_marker(t, 1.0):
                break
            if self.bpf.poll() is not None or time.time() > deadline:
                raise AssertionError("bpftrace never reported the marker: %s" % self.bpf.stderr.read())

    def _read(self):
        for line in self.bpf.stdout:
            self.lines.append(line.rstrip("\n"))

    def _send(self, line):
        self.target.stdin.write(line + "\n")
        self.target.stdin.flush()

    def _wait_marker(self, since_ns, timeout):
        """True once a marker block allocated after since_ns (CLOCK_MONOTONIC,
        bpftrace's nsecs) has been reported allocated and freed."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            allocated = set()
            for l in list(self.lines):
                f = l.split()
                if f[:1] == ["A"] and int(f[4]) == MARKER_SIZE and int(f[6]) > since_ns:
                    allocated.add(f[3])
                elif f[:1] == ["F"] and f[3] in allocated:
                    return True
            time.sleep(0.05)
        return False

    def go(self, timeout=60):
        """Let the target run; return its 'done' line once the final
        marker's events have arrived (plus a short settle for events still
        in other CPUs' perf buffers)."""
        self.t_go = time.monotonic_ns()
        self._send("go")
        done = self.target.stdout.readline().strip()
        assert done.startswith("done"), done
        if not self._wait_marker(self.t_go, timeout):
            raise AssertionError("the final marker's events never arrived (%d lines)" % len(self.lines))
        time.sleep(0.5)
        return done

    def close(self):
        if self.bpf and self.bpf.poll() is None:
            self.bpf.send_signal(signal.SIGINT)
            try:
                self.bpf.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.bpf.kill()
        if self.target.poll() is None:
            try:
                self._send("quit")
                self.target.wait(timeout=20)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.target.kill()
        return self.target.wait()

    def counter(self, name):
        """Value of a bpftrace count() map printed at exit (0 if absent)."""
        for l in self.lines:
            if l.startswith("@%s: " % name):
                return int(l.split()[1])
        return 0

    def events(self):
        """The target's events after 'go' in time order, marker blocks
        left out: ('A', tid, ptr, size, weight) and ('F', tid, ptr)."""
        assert not [l for l in self.lines if "Lost" in l], [l for l in self.lines if "Lost" in l]
        timed = []
        for l in self.lines:
            f = l.split()
            if f[:1] == ["A"] and int(f[1]) == self.pid:
                timed.append((int(f[6]), ("A", int(f[2]), int(f[3]), int(f[4]), int(f[5]))))
            elif f[:1] == ["F"] and int(f[1]) == self.pid:
                timed.append((int(f[4]), ("F", int(f[2]), int(f[3]))))
        timed.sort(key=lambda te: te[0])
        ev, markers = [], set()
        for t, e in timed:
            if t < self.t_go:
                continue
            if e[0] == "A" and e[3] == MARKER_SIZE:
                markers.add(e[2])
            elif e[0] == "F" and e[2] in markers:
                markers.discard(e[2])
            else:
                ev.append(e)
        return ev


def check_pairing(ev):
    """Every sample_free names a live sampled block; no block is announced
    twice while live. Returns {ptr: (size, weight)} still live."""
    live = {}
    for e in ev:
        if e[0] == "A":
            assert e[2] not in live, ("announced twice while live", e)
            live[e[2]] = (e[3], e[4])
        else:
            assert e[2] in live, ("sample_free of a block never announced", e)
            del live[e[2]]
    return live


def expected_weight(size, r):
    return size / -math.expm1(-size / r)


def test_sampled_estimates_within_error_bars():
    need_bpftrace()
    r = 262144
    exe = build("pattern", PATTERN_C, protocol=True)
    s = Session([exe, str(r)], {"MEMSCOPE_SAMPLE_SEED": "42", "MEMSCOPE_SAMPLE_INTERVAL": str(r)})
    try:
        done = s.go()
    finally:
        rc = s.close()
    assert rc == 0, rc
    f = dict(kv.split("=") for kv in done.split()[1:])
    assert f["child"] == "0", done
    true_alloc, true_live = int(f["alloc"]), int(f["live"])
    sd_alloc_true, sd_live_true = math.sqrt(float(f["var_alloc"])), math.sqrt(float(f["var_live"]))

    ev = s.events()
    allocs = [e for e in ev if e[0] == "A"]
    assert len(allocs) > 1000, len(allocs)
    # threads: the one created before the attach is sampled too
    assert len({e[1] for e in allocs}) >= 2, {e[1] for e in allocs}
    for _, _, _, size, w in allocs:
        assert abs(w - expected_weight(size, r)) <= 1.0, (size, w, expected_weight(size, r))
    live = check_pairing(ev)

    # Horvitz-Thompson: sum of weights; its variance is estimated from the
    # samples by sum w (w - s). Stated error bar: 3 standard deviations.
    est_alloc = sum(e[4] for e in allocs)
    sd_alloc = math.sqrt(sum(e[4] * (e[4] - e[3]) for e in allocs))
    est_live = sum(w for _, w in live.values())
    sd_live = math.sqrt(sum(w * (w - sz) for sz, w in live.values()))
    slack = 2 * r  # libc's own allocations after the attach (thread exit, fork)
    report = ("alloc est %.0f true %d sd %.0f (true sd %.0f); live est %.0f true %d sd %.0f (true sd %.0f)"
              % (est_alloc, true_alloc, sd_alloc, sd_alloc_true, est_live, true_live, sd_live, sd_live_true))
    print("    " + report)
    assert abs(est_alloc - true_alloc) <= 3 * sd_alloc + slack, report
    assert abs(est_live - true_live) <= 3 * sd_live + slack, report
    # the stated error bars are honest: close to the true standard deviations
    assert 0.7 < sd_alloc / sd_alloc_true < 1.4, report
    assert 0.5 < sd_live / sd_live_true < 2.0, report
    # and the estimates are useful at this interval
    assert sd_alloc / true_alloc < 0.05 and sd_live / true_live < 0.15, report


def test_realloc_edges_and_full_set():
    need_bpftrace()
    exe = build("edge", EDGE_C, protocol=True)
    # every allocation of 32+ bytes is sampled at R = 1: 80000 live blocks
    # overflow groups of the 64 Ki-slot pointer set
    # overflow groups of the 64 Ki-slot pointer set. The 32-byte blocks are
    # paired in the kernel (a per-event line each would overflow bpftrace's
    # perf buffers); every other event is printed.
    script = (
        'U:sample_alloc /pid == PID/ {\n'
        '  if (arg1 == 32) {\n'
        '    if (@m[arg0]) { @dup32 = count(); }\n'
        '    @m[arg0] = 1; @a32 = count();\n'
        '  } else {\n'
        '    printf("A %d %d %lu %lu %lu %lu\\n", pid, tid, arg0, arg1, arg2, nsecs);\n'
        '  }\n'
        '}\n'
        'U:sample_free /pid == PID/ {\n'
        '  if (@m[arg0]) { delete(@m[arg0]); @f32 = count(); }\n'
        '  else { printf("F %d %d %lu %lu\\n", pid, tid, arg0, nsecs); }\n'
        '}\n'
        'END { clear(@m); }\n')
    s = Session([exe], {"MEMSCOPE_SAMPLE_INTERVAL": "1", "MEMSCOPE_SAMPLE_SEED": "1"}, script)
    try:
        done = s.go()
    finally:
        rc = s.close()
    assert rc == 0, rc
    f = dict(kv.split("=") for kv in done.split()[1:])
    untracked, usable = int(f["untracked"]), int(f["usable"])
    ev = s.events()
    live = check_pairing(ev)
    assert not live, live
    sizes = [e[3] for e in ev if e[0] == "A"]
    # realloc: each step is a free then an allocation; a failed realloc
    # leaves the old block, announced again with its usable size
    assert sizes[:4] == [1001, 1002, 300003, 1004], sizes
    # (p was mmapped at 300003 bytes, shrunk to one page by mremap)
    assert sizes[4] == usable and sizes[5:] == [1010], (sizes, usable)
    allocs = [e for e in ev if e[0] == "A"]
    assert allocs[4][2] == allocs[3][2], allocs  # the same block, announced again
    kinds = "".join(e[0] for e in ev)
    assert kinds == "AFAFAFAFAFAF", kinds
    # the set filled up: blocks counted as untracked, never announced; all
    # the announced ones were recognised at free
    a32, f32 = s.counter("a32"), s.counter("f32")
    print("    fill: %d of 80000 live 32-byte samples announced, %d untracked (set full)" % (a32, untracked))
    assert untracked > 0, done
    assert a32 + untracked == 80000, (a32, untracked)
    assert f32 == a32 and s.counter("dup32") == 0, (a32, f32, s.counter("dup32"))


def test_cxx_operators_sampled():
    need_bpftrace()
    if not shutil.which("g++"):
        raise Skip("g++ not installed")
    exe = build("cxx_ops", CXX_OPS, cxx=True, protocol=True)
    s = Session([exe], {"MEMSCOPE_SAMPLE_INTERVAL": "4096", "MEMSCOPE_SAMPLE_SEED": "3"})
    try:
        s.go()
    finally:
        rc = s.close()
    assert rc == 0, rc
    ev = s.events()
    check_pairing(ev)
    got = {}
    for e in ev:
        if e[0] == "A":
            got[e[2]] = e[3]
    freed = [got.get(e[2]) for e in ev if e[0] == "F"]
    for size in (888888, 777777, 999936):  # new[], new, aligned new
        assert size in got.values() and size in freed, (size, sorted(got.values()))


if __name__ == "__main__":
    failed = 0
    for name, fn in sorted((n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)):
        t = time.time()
        try:
            fn()
            print("PASS %s (%.1fs)" % (name, time.time() - t), flush=True)
        except Skip as e:
            print("SKIP %s: %s" % (name, e), flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            print("FAIL %s (%.1fs): %r" % (name, time.time() - t, e), flush=True)
    sys.exit(1 if failed else 0)
