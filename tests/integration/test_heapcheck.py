# SPDX-License-Identifier: BSD-3-Clause
"""`memscope-trace leak-check PID` (issue 19 point 2, the command alone): a
running process nobody traced is held a moment, its glibc heap walked from
outside, every block classified as memcheck classifies it, and it runs on
as it was. Blocks have no stack (no probe saw them allocated); their sizes
are glibc's usable sizes: a request of n bytes is max(24, n + 8 rounded up
to 16, less 8)."""
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from harness import TRACER, Skip, need_root, prog, tmpfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_pprof import raw_samples  # noqa: E402


def usable(n):
    return max(32, (n + 8 + 15) & ~15) - 8


def leak_check(pid, *args):
    out = tmpfile()
    p = subprocess.run([TRACER, "leak-check", "-o", out] + list(args) + [str(pid)],
                       capture_output=True, text=True, timeout=120)
    try:
        report = None
        if p.returncode == 0:
            with open(out) as f:
                report = json.load(f)
    finally:
        if os.path.exists(out):
            os.unlink(out)
    return report, p


def shapes(n="600"):
    """Start heap_shapes; returns (process, {kept addr: usable size}, freed addrs)."""
    t = subprocess.Popen([prog("heap_shapes"), n], stdout=subprocess.PIPE, text=True)
    keep, freed = {}, set()
    for line in t.stdout:
        w = line.split()
        if w[0] == "keep":
            keep[int(w[1], 16)] = int(w[2])
        elif w[0] == "freed":
            freed.add(int(w[1], 16))
        elif w[0] == "ready":
            return t, keep, freed
    raise AssertionError("heap_shapes did not get ready")


def test_heap_walk_finds_every_block_and_nothing_freed():
    """Four arenas (main and three threads'), blocks from 8 bytes to 300 KB:
    in use, in tcaches, in fastbins, in bins, coalesced, in mappings of
    their own. Every block kept is found at its address with
    malloc_usable_size's size; no freed one is; the few others are the
    program's arrays, stdout's buffer and the threads' DTVs."""
    need_root()
    t, keep, freed = shapes()
    try:
        r, p = leak_check(t.pid, "-v")
        assert p.returncode == 0, p.stderr
        got = {int(b["address"], 16): b for b in r["live"]}
        assert all(b["kind"] == "heap" and b["stack"] == [] for b in got.values())
        assert {a: got[a]["size"] for a in keep if a in got} == keep
        # (a block one thread freed may be given again to another, which
        # keeps it: then the address is in both lists)
        assert not (freed - set(keep)) & set(got), [hex(a) for a in (freed - set(keep)) & set(got)][:5]
        assert all(got[a]["reachability"] == "still_reachable" for a in keep)
        extra = sorted((b["size"], b["reachability"]) for a, b in got.items() if a not in keep)
        # 4 arrays of 600 pointers (reachable from a global), stdout's
        # buffer (a pipe: 4096), and each thread's DTV, which the thread
        # points to at +16 only: possibly lost, as memcheck says of it
        assert extra == sorted([(usable(600 * 8), "still_reachable")] * 4 +
                               [(usable(4096), "still_reachable")] +
                               [(usable(272), "possibly_lost")] * 3), extra
        # every kind of chunk was there to tell apart
        walked = p.stderr
        for what in ("in tcaches", "in fastbins", "mmapped", "free"):
            n = int(walked.split(" " + what)[0].rsplit(" ", 1)[1].lstrip("("))
            assert n > 0, (what, walked)
        assert r["mode"] == "leak-check" and r["leak_check"]["status"] == "done"
        assert r["leak_check"]["attached"] is False  # the heap is known whole
        assert t.poll() is None, "the target must run on"
    finally:
        t.kill()
        t.wait()


def test_classes_of_a_running_process_nobody_traced():
    """leak_kinds' scenarios, run untraced: the classes test_leak_check's
    test_classes_match_memcheck finds equal to memcheck's (for the blocks
    allocated there), plus the pointers only on other threads' stacks, in
    their registers and their TLS (reachable). The target's memory is the
    same before and after (the check never writes) and it runs on."""
    need_root()
    t = subprocess.Popen([prog("leak_kinds"), "global", "lost", "list", "interior", "maintls",
                          "stack", "reg", "tls", "wait"], stdout=subprocess.PIPE, text=True)
    try:
        assert t.stdout.readline() == "done\n"
        t.send_signal(signal.SIGUSR2)
        before = t.stdout.readline()
        assert before.startswith("sum ")
        pp = tmpfile(".pb.gz")
        try:
            r, p = leak_check(t.pid, "--pprof", pp)
            assert p.returncode == 0, p.stderr
            samples, out = raw_samples(pp)
        finally:
            if os.path.exists(pp):
                os.unlink(pp)
        # the pprof profile: in-use bytes per class are the JSON's, and it
        # says what its values are
        inuse = collections.Counter()
        for v, labels in samples:
            inuse[labels.get("reachability")] += v[3]
        byclass = collections.Counter()
        for b in r["live"]:
            byclass[b["reachability"]] += b["size"]
        assert inuse == byclass, (inuse, byclass)
        assert "found by walking the heap" in out and "mode leak-check" in out, out
        got = sorted((b["size"], b["reachability"]) for b in r["live"])
        want = sorted([(usable(256), "still_reachable")] * 4 +
                      [(usable(400), "definitely_lost")] * 2 + [(usable(24), "definitely_lost")] +
                      [(usable(64), "definitely_lost")] + [(usable(64), "indirectly_lost")] * 4 +
                      [(usable(512), "possibly_lost")] + [(usable(2400), "still_reachable")] +
                      [(usable(1200), "still_reachable"), (usable(1600), "still_reachable"),
                       (usable(2000), "still_reachable")] +
                      [(usable(288), "possibly_lost")] * 3 +  # the threads' DTVs (one TLS module more)
                      [(usable(4096), "still_reachable")])   # stdout's buffer (a pipe)
        assert got == want, got
        (head,) = [b for b in r["live"] if b["reachability"] == "definitely_lost" and
                   b["size"] == usable(64)]
        assert head["indirect_bytes"] == 4 * usable(64)
        s = r["summary"]
        assert s["definitely_lost_blocks"] == 4 and s["indirectly_lost_blocks"] == 4
        lc = r["leak_check"]
        assert lc["when"] == "request" and 0 < lc["hold_ns"] < 5e9 and lc["threads"] == 4
        t.send_signal(signal.SIGUSR2)
        assert t.stdout.readline() == before
        assert "TracerPid:\t0" in open("/proc/%d/status" % t.pid).read()
        # the text summary: the classes, and where the lost blocks are
        p = subprocess.run([TRACER, "leak-check", str(t.pid)], capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 0 and p.stderr == "", p.stderr
        assert "definitely lost: %d B in 4 blocks" % (2 * usable(400) + usable(24) + usable(64)) in p.stdout
        assert "(found by walking the heap: no stack) 0x" in p.stdout, p.stdout
        t.send_signal(signal.SIGTERM)
        assert t.wait(timeout=10) == 0
    finally:
        if t.poll() is None:
            t.kill()
            t.wait()


def test_python311_heap():
    """Debian's python3.11, nobody's test program: 40 bytearrays of 100 KB
    kept in a list are still reachable (through pymalloc's arenas, which
    are no heap of glibc's), among thousands of the interpreter's blocks."""
    need_root()
    py = shutil.which("python3.11")
    if not py:
        raise Skip("python3.11 not installed")
    t = subprocess.Popen([py, "-c", "import sys; keep = [bytearray(100000) for _ in range(40)]; "
                          "print('ready', flush=True); sys.stdin.read()"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert t.stdout.readline() == "ready\n"
        r, p = leak_check(t.pid)
        assert p.returncode == 0, p.stderr
        big = [b for b in r["live"] if b["size"] == usable(100000 + 1)]
        assert len(big) >= 40 and all(b["reachability"] == "still_reachable" for b in big), \
            [(b["size"], b["reachability"]) for b in big]
        assert len(r["live"]) > 500
        assert r["leak_check"]["status"] == "done" and t.poll() is None
    finally:
        t.kill()
        t.wait()


def test_other_allocators_are_refused_with_what_works():
    """Debian's redis-server allocates with jemalloc, whose heap this walk
    does not know: one line naming the library and the command that works;
    the server is never held."""
    need_root()
    rs = shutil.which("redis-server")
    if not rs:
        raise Skip("redis-server not installed")
    sock = tmpfile(".sock")
    t = subprocess.Popen([rs, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while time.time() < deadline and "jemalloc" not in open("/proc/%d/maps" % t.pid).read():
            time.sleep(0.05)
        r, p = leak_check(t.pid)
        assert p.returncode == 1 and r is None
        lines = p.stderr.splitlines()
        assert len(lines) == 1 and "libjemalloc" in lines[0], p.stderr
        assert "memscope-trace -p %d --leak-check" % t.pid in lines[0]
        assert t.poll() is None
        assert "TracerPid:\t0" in open("/proc/%d/status" % t.pid).read()
    finally:
        t.kill()
        t.wait()
        if os.path.exists(sock):
            os.unlink(sock)


def test_bad_input_one_line_each():
    need_root()
    for args, rc, text in [([], 2, "needs a PID"), (["abc"], 2, "PID 'abc'"), (["0"], 2, "PID '0'"),
                           (["1", "2"], 2, "one PID"), (["999999999"], 1, "PID 999999999"),
                           (["--bogus", "1"], 2, "--bogus"),
                           (["--leak-check-timeout", "0", "1"], 2, "--leak-check-timeout '0'")]:
        p = subprocess.run([TRACER, "leak-check"] + args, capture_output=True, text=True, timeout=30)
        lines = p.stderr.splitlines()
        assert p.returncode == rc and len(lines) == 1 and text in lines[0], (args, p.returncode, p.stderr)
        assert p.stdout == ""
