# SPDX-License-Identifier: BSD-3-Clause
"""The example programs (examples/*.c), traced for real and checked against
the per-task figures documented at the top of each source file.

Needs root (BPF) and a built tree (`make`); says so and skips otherwise.
Run by tests/run.py, or alone: python3 tests/integration/test_examples.py"""
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
try:
    from harness import ROOT, Skip, trace_json
except ImportError:  # harness.py missing: just enough of it to run alone
    import tempfile

    ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    class Skip(Exception):
        """Raised by a test that cannot run here (says why)."""

    def trace_json(args, cmd, timeout=60):
        if os.geteuid() != 0:
            raise Skip("needs root to load BPF programs")
        fd, out = tempfile.mkstemp(prefix="memscope-test-", suffix=".json")
        os.close(fd)
        try:
            p = subprocess.run([os.path.join(ROOT, ".output", "memscope-trace"), "-o", out]
                               + list(args) + ["--"] + list(cmd),
                               capture_output=True, text=True, timeout=timeout)
            with open(out) as f:
                text = f.read()
            if not text:
                raise AssertionError("no report written: rc=%d stderr=%s" % (p.returncode, p.stderr))
            return json.loads(text), p
        finally:
            os.unlink(out)

TRACER = os.path.join(ROOT, ".output", "memscope-trace")
EXAMPLES = os.path.join(ROOT, ".output", "examples")
# The tracer's start (attach) and end (symbolize, write) take seconds when
# other tracers run at the same time; the programs themselves take < 3 s.
TRACE_TIMEOUT = 60
REQ_BUF, RESP_BUF, LEAK = 4096, 256, 100


def example(name):
    path = os.path.join(EXAMPLES, name)
    if not os.access(path, os.X_OK):
        raise Skip("%s not built (run make)" % path)
    return path


def need_tracer():
    if os.geteuid() != 0:
        raise Skip("needs root to load BPF programs")
    if not os.access(TRACER, os.X_OK):
        raise Skip("%s not built (run make)" % TRACER)


def tasks_by_id(report):
    return {t["id"]: t for t in report["tasks"]}


def figures(t):
    keys = ("name", "parent", "allocs", "alloc_bytes", "frees", "freed_bytes",
            "peak_live_bytes", "live_bytes", "variables")
    return {k: t[k] for k in keys}


def assert_figures(t, **want):
    got = figures(t)
    diff = {k: (got[k], v) for k, v in want.items() if got[k] != v}
    assert not diff, "task %s: (got, want) %s; whole task: %s" % (t["id"], diff, t)


# ---- servers: traced server, untraced client ------------------------------

def read_port(proc, deadline):
    """The port from the server's "listening on PORT" line, which reaches us
    through the tracer (the target inherits its stdout)."""
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError("tracer exited before the server listened: rc=%s stderr=%s"
                                 % (proc.returncode, proc.stderr.read()))
        r, _, _ = select.select([proc.stdout], [], [], 0.2)
        if r:
            line = proc.stdout.readline()
            m = re.match(r"listening on (\d+)$", line.strip())
            if m:
                return int(m.group(1))
            if line:
                raise AssertionError("unexpected server output: %r" % line)
    raise AssertionError("server did not print 'listening on PORT' in time")


def traced_server(server, server_args, load):
    """Trace `server --port 0 SERVER_ARGS`, run load(port) against it, wait
    for the server to stop by itself; return (report, server stdout, tracer)."""
    need_tracer()
    out = "/tmp/memscope-test-%s-%d.json" % (server, os.getpid())
    proc = subprocess.Popen([TRACER, "-o", out, "--", example(server), "--port", "0"]
                            + server_args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + TRACE_TIMEOUT
        load(read_port(proc, deadline))
        rest, err = proc.communicate(timeout=max(1, deadline - time.time()))
        assert proc.returncode == 0, "tracer rc=%d: %s" % (proc.returncode, err)
        with open(out) as f:
            return json.load(f), rest, proc
    finally:
        if proc.poll() is None:
            proc.kill()  # the server stops anyway: every run has --duration
            proc.wait()
        for f in (proc.stdout, proc.stderr):
            f.close()
        if os.path.exists(out):
            os.unlink(out)


def http_client(conns, reqs):
    client = example("http_client")

    def load(port):
        p = subprocess.run([client, str(port), str(conns), str(reqs)],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 0 and p.stdout.strip() == "ok %d" % (conns * reqs), \
            "http_client: rc=%d out=%r err=%r" % (p.returncode, p.stdout, p.stderr)
    return load


def server_summary(server, stdout):
    """(connections, requests, leaked blocks, sizeof(struct conn)) from the
    server's last line."""
    m = re.search(r"^%s: (\d+) connections, (\d+) requests, (\d+) leaked blocks, "
                  r"(\d+)-byte connections$" % server, stdout, re.M)
    assert m, "no summary line from %s in %r" % (server, stdout)
    return tuple(int(x) for x in m.groups())


def check_sequential(server, conn_size=None, conns=5, reqs=10, leak_every=0):
    """conns x reqs from http_client, one connection at a time: the exact
    figures of the source's header comment, per connection task."""
    args = ["--max-conns", str(conns), "--duration", "15"]
    if leak_every:
        args += ["--leak-every", str(leak_every)]
    report, stdout, _ = traced_server(server, args, http_client(conns, reqs))
    nconn, nreq, nleak, size = server_summary(server, stdout)
    assert (nconn, nreq) == (conns, reqs * conns), stdout
    if conn_size is not None:
        assert size == conn_size, "sizeof(struct conn) %d, header says %d" % (size, conn_size)
    leaks_per_conn = reqs // leak_every if leak_every else 0
    assert nleak == conns * leaks_per_conn
    pid = report["target"]["pid"]
    tasks = tasks_by_id(report)
    assert sorted(tasks) == list(range(1, conns + 1)), "task ids %s" % sorted(tasks)
    leak_bytes = LEAK * leaks_per_conn
    for i in range(1, conns + 1):
        t = tasks[i]
        assert_figures(t, name="conn-%d" % i, parent=None,
                       allocs=1 + 2 * reqs + leaks_per_conn,
                       alloc_bytes=size + (REQ_BUF + RESP_BUF) * reqs + leak_bytes,
                       frees=1 + 2 * reqs, freed_bytes=size + (REQ_BUF + RESP_BUF) * reqs,
                       # the last leak comes with the last request (reqs % leak_every == 0)
                       peak_live_bytes=size + REQ_BUF + RESP_BUF + LEAK * max(leaks_per_conn - 1, 0),
                       live_bytes=leak_bytes, variables=1 + reqs)
        assert t["threads"] == [t["pid"]], "single-threaded server, task %d: %s" % (i, t)
        assert t["pid"] == pid, "task %d in pid %d, server pid %d" % (i, t["pid"], pid)
        assert t["ended_ns"] is not None, "conn-%d never ended: %s" % (i, t)
        names = sorted(v["name"] for v in report["variables"] if v.get("task") == i)
        assert names == ["c"] + ["req"] * reqs, "conn-%d variables %s" % (i, names)
    leaks = [l for l in report["leaks"] if l["task"] is not None]
    assert len(leaks) == conns * leaks_per_conn and all(l["size"] == LEAK for l in leaks), \
        "task leaks %s" % [(l["size"], l["task"]) for l in leaks]
    for i in range(1, conns + 1):
        assert sum(1 for l in leaks if l["task"] == i) == leaks_per_conn


def check_wrk(server):
    """Under wrk (concurrent keep-alive connections), whatever each
    connection served, its figures must fit 1 + 2R allocations for R requests,
    and the R must add up to what the server counted."""
    wrk = shutil.which("wrk")
    if not wrk:
        raise Skip("wrk not installed")

    def load(port):
        p = subprocess.run([wrk, "-t", "2", "-c", "20", "-d", "2", "http://127.0.0.1:%d/" % port],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 0 and "requests in" in p.stdout, p.stdout + p.stderr
    report, stdout, _ = traced_server(server, ["--duration", "4"], load)
    nconn, nreq, _, size = server_summary(server, stdout)
    tasks = report["tasks"]
    assert len(tasks) == nconn and nconn >= 20, "%d tasks, %d connections" % (len(tasks), nconn)
    served = 0
    for t in tasks:
        r = t["variables"] - 1  # TRACK_VAR(c) once, TRACK_VAR(req) per request
        served += r
        assert_figures(t, name="conn-%d" % t["id"], parent=None, allocs=1 + 2 * r,
                       alloc_bytes=size + (REQ_BUF + RESP_BUF) * r, frees=1 + 2 * r,
                       freed_bytes=size + (REQ_BUF + RESP_BUF) * r, live_bytes=0)
        assert t["ended_ns"] is not None
    assert served == nreq, "tasks served %d requests, the server %d" % (served, nreq)


def test_epoll_server_tasks():
    check_sequential("epoll_server", conn_size=72)


def test_epoll_server_leak_every():
    check_sequential("epoll_server", conn_size=72, leak_every=5)


def test_epoll_server_wrk():
    check_wrk("epoll_server")


def test_libuv_server_tasks():
    check_sequential("libuv_server")


def test_libuv_server_leak_every():
    check_sequential("libuv_server", leak_every=5)


def test_libuv_server_wrk():
    check_wrk("libuv_server")


# ---- thread pool and coroutines -------------------------------------------

def test_thread_pool():
    need_tracer()
    report, p = trace_json([], [example("thread_pool")], timeout=TRACE_TIMEOUT)
    assert p.returncode == 0, p.stderr
    m = re.search(r"^thread_pool: 100 jobs on 4 workers \((\d) used\), checksum \d+$",
                  p.stdout, re.M)
    assert m, p.stdout
    tasks = tasks_by_id(report)
    assert sorted(tasks) == list(range(1, 101)) + [1000], sorted(tasks)
    d = tasks[1000]
    assert_figures(d, name="dispatcher", parent=None, allocs=1, alloc_bytes=800, frees=1,
                   freed_bytes=800, peak_live_bytes=800, live_bytes=0, variables=1)
    main_tid = d["pid"]
    assert d["threads"] == [main_tid], d
    threads = set()
    for i in range(1, 101):
        t = tasks[i]
        assert_figures(t, name="job-%d" % i, parent=1000, allocs=1, alloc_bytes=4000, frees=1,
                       freed_bytes=4000, peak_live_bytes=4000, live_bytes=0, variables=1)
        assert len(t["threads"]) == 1 and t["threads"][0] != main_tid, t
        assert t["ended_ns"] is not None, t
        threads.update(t["threads"])
    assert 2 <= len(threads) <= 4, "jobs ran on threads %s" % threads
    assert len(threads) == int(m.group(1)), "tracer saw %d threads, the pool used %s" % (
        len(threads), m.group(1))


def test_coroutines():
    need_tracer()
    report, p = trace_json([], [example("coroutines")], timeout=TRACE_TIMEOUT)
    assert p.returncode == 0, p.stderr
    assert re.search(r"^coroutines: 1000 items in 10 batches, 22 switches, checksum [\d.]+$",
                     p.stdout, re.M), p.stdout
    tasks = tasks_by_id(report)
    assert sorted(tasks) == [1, 2], sorted(tasks)
    prod, cons = tasks[1], tasks[2]
    assert_figures(prod, name="producer", parent=None, allocs=10, alloc_bytes=4000, frees=10,
                   freed_bytes=4000, peak_live_bytes=400, live_bytes=0, variables=10)
    assert_figures(cons, name="consumer", parent=None, allocs=10, alloc_bytes=8000, frees=10,
                   freed_bytes=8000, peak_live_bytes=800, live_bytes=0, variables=10)
    for t in (prod, cons):
        assert t["threads"] == [t["pid"]], t
        assert t["ended_ns"] is not None, t
    # one thread, yet both lifetimes overlap: the switches were followed
    assert prod["first_ns"] < cons["last_ns"] and cons["first_ns"] < prod["last_ns"], (prod, cons)
    for tid, name in ((1, "batch"), (2, "sorted")):
        vs = [v["name"] for v in report["variables"] if v.get("task") == tid]
        assert vs == [name] * 10, "task %d variables %s" % (tid, vs)


# ---- untraced: the examples stand on their own (no root needed) -----------

def test_examples_run_untraced():
    for name, pattern in (("thread_pool", r"thread_pool: 100 jobs on 4 workers"),
                          ("coroutines", r"coroutines: 1000 items in 10 batches, 22 switches")):
        p = subprocess.run([example(name)], capture_output=True, text=True, timeout=20)
        assert p.returncode == 0 and re.search(pattern, p.stdout), (name, p.stdout, p.stderr)
    for server in ("epoll_server", "libuv_server"):
        s = subprocess.Popen([example(server), "--max-conns", "2", "--duration", "10"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            http_client(2, 3)(read_port(s, time.time() + 10))
            out, err = s.communicate(timeout=10)
            assert s.returncode == 0, err
            assert server_summary(server, out)[:3] == (2, 6, 0), out
        finally:
            if s.poll() is None:
                s.kill()
                s.wait()
            s.stdout.close()
            s.stderr.close()


if __name__ == "__main__":
    failed = 0
    wanted = sys.argv[1:]
    for name, fn in sorted(globals().items()):
        if not name.startswith("test_") or not callable(fn):
            continue
        if wanted and not any(w in name for w in wanted):
            continue
        t = time.time()
        try:
            fn()
        except Skip as e:
            print("SKIP %s: %s" % (name, e))
        except Exception as e:  # noqa: BLE001 - report every failure and go on
            failed += 1
            print("FAIL %s (%.1fs): %s: %s" % (name, time.time() - t, type(e).__name__, e))
        else:
            print("PASS %s (%.1fs)" % (name, time.time() - t))
    sys.exit(1 if failed else 0)
