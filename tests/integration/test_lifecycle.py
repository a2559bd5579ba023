# SPDX-License-Identifier: BSD-3-Clause
"""Issue 17: nothing missed. Programs launched with their own allocator,
forked children, exec'd images and dlopen'ed libraries are traced from their
first instruction; what the target sees does not change. No test waits for
the tracer: each program does its work at once."""
import json
import os
import select
import shutil
import signal
import subprocess
import time

from harness import Skip, by_name, need_root, prog, start_tracer, text_changed, tmpfile, trace_json, traced_child

L = prog("lifecycle")


def plain(args):
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return p.stdout, p.returncode


def marker_leaks(r, lo, hi):
    return sorted(b["size"] for b in r["leaks"] if lo <= b["size"] <= hi)


# alloc_leak.c: each program leaks 1001..1010 through its malloc and frees
# 5 blocks of 4000; alloc_all also leaks 2001..2007 through tcmalloc's
# malloc and 3001..3006 through mimalloc's.
ALLOC_PROGS = {
    "alloc_je": {1000: 10},
    "alloc_tc": {1000: 10},
    "alloc_mi": {1000: 10},
    "alloc_all": {1000: 10, 2000: 7, 3000: 6},
}


def check_alloc_prog(name, runs):
    want = ALLOC_PROGS[name]
    bad, totals = [], set()
    for i in range(runs):
        r, p = trace_json([], [prog(name)])
        got = {base: marker_leaks(r, base + 1, base + 99) for base in want}
        frees_4000 = sum(1 for b in r["leaks"] if b["size"] == 4000)
        ok = p.returncode == 0 and all(got[b] == list(range(b + 1, b + 1 + n)) for b, n in want.items())
        ok = ok and frees_4000 == 0 and r["summary"]["allocs"] >= sum(want.values()) + 5 * len(want)
        ok = ok and not r["invalid_frees"] and r["summary"]["holds"]["failed"] == 0
        totals.add(len(r["leaks"]))
        if not ok:
            bad.append((i, got, p.returncode, p.stderr[-300:]))
    # the program's other blocks (stdio buffer, libstdc++'s pool) are the
    # same in every run: the whole leak list is exact, not just our blocks
    assert not bad and len(totals) == 1, (name, bad, totals)


def test_launch_jemalloc_exact_20_runs():
    check_alloc_prog("alloc_je", 20)


def test_launch_tcmalloc_exact_20_runs():
    check_alloc_prog("alloc_tc", 20)


def test_launch_mimalloc_exact_20_runs():
    check_alloc_prog("alloc_mi", 20)


def test_launch_all_three_allocators_exact_20_runs():
    check_alloc_prog("alloc_all", 20)


def test_200_children_each_traced_from_first_instruction():
    """200 children forked at once; each tracks a variable and leaks a
    block as its first work. Every one is in the report, with its block."""
    n = 200
    r, p = trace_json(["-f"], [L, "forks", str(n)], timeout=120)
    assert p.returncode == 0 and p.stdout == "forked %d, %d exited 0\n" % (n, n), p.stderr[-500:]
    kids = by_name(r["variables"], "child_no")
    assert sorted(int(v["value"], 16) & 0xffffffff for v in kids) == list(range(n))
    assert len({v["pid"] for v in kids}) == n and r["target"]["pid"] not in {v["pid"] for v in kids}
    leaks = {b["size"]: b["pid"] for b in r["leaks"] if 1000 <= b["size"] < 1000 + n}
    assert sorted(leaks) == list(range(1000, 1000 + n))
    # each child's block was made in that child
    by_pid = {v["pid"]: int(v["value"], 16) & 0xffffffff for v in kids}
    assert all(by_pid[pid] == size - 1000 for size, pid in leaks.items())
    h = r["summary"]["holds"]
    assert h["failed"] == 0 and h["count"] >= n


def test_children_without_follow_untraced_and_unharmed():
    r, p = trace_json([], [L, "forks", "20"])
    assert (p.stdout, p.returncode) == plain([L, "forks", "20"])
    assert by_name(r["variables"], "child_no") == []
    assert not [b for b in r["leaks"] if 1000 <= b["size"] < 1020]


def test_unfollowed_child_loses_inherited_breakpoints():
    """Without -f a child inherits its parent's allocator breakpoints: the
    tracer writes the file's bytes back, so it never traps for nothing."""
    need_root()
    out = tmpfile()
    tr = start_tracer(["-o", out, "--", L, "fork-idle", "1.5"])
    try:
        deadline, target, child = time.time() + 10, traced_child(tr), None
        while time.time() < deadline and not child:
            grand = subprocess.run(["pgrep", "-P", str(target)], capture_output=True,
                                   text=True).stdout.split()
            child = int(grand[0]) if grand else None
            time.sleep(0.01)
        assert child
        time.sleep(0.3)
        assert text_changed(target)            # the parent is probed
        assert not text_changed(child)         # its child is not, any more
        assert tr.wait(timeout=30) == 0
    finally:
        if tr.poll() is None:
            tr.kill()
        if os.path.exists(out):
            os.unlink(out)


def test_vfork_child_leaves_its_parent_probed():
    """system() runs its child in the parent's memory (posix_spawn, vfork):
    nothing taken out there may touch the parent's probes; with -f the
    shell it runs is followed."""
    for args in ([], ["-f"]):
        r, p = trace_json(args, [L, "system"])
        assert (p.stdout, p.returncode) == ("system 3\n", 0)
        (v,) = by_name(r["variables"], "after")
        assert v["heap"]["size"] == 555 and v["pid"] == r["target"]["pid"]
        assert [b["size"] for b in r["leaks"] if b["size"] == 555] == [555]
        if args:
            assert any(x["exe"] == "/bin/sh" for x in r["execs"])


def test_dlopen_held_without_allocator_probes():
    """ld.so's hook is not an allocator probe: with --no-alloc and in
    light mode a plugin's probes still fire from its first call."""
    for args in (["--no-alloc"], ["-m", "light"]):
        r, p = trace_json(args, [L, "dlopen", prog("libplugin.so")])
        assert (p.stdout, p.returncode) == ("plugin ran\n", 0), p.stderr[-300:]
        (pb,) = by_name(r["variables"], "plugin_buf")
        (sc,) = by_name(r["scopes"], "plugin")
        assert pb["scope"] == sc["id"] and r["summary"]["holds"]["count"] >= 2


def test_perf_uprobe_links_without_uprobe_multi():
    """The fallback for kernels without uprobe_multi links: perf uprobe
    links, the same exact result."""
    env = dict(os.environ, MEMSCOPE_TEST_NO_MULTI="1")
    r, p = trace_json([], [prog("alloc_je")], env=env)
    assert p.returncode == 0 and marker_leaks(r, 1001, 1099) == list(range(1001, 1011))


def test_child_exec_traced_from_new_images_first_instruction():
    """A followed child execs at once: the new image's probes fire from its
    first instruction (macros_mt works at once, every record is there)."""
    r, p = trace_json(["-f"], [L, "fork-exec", prog("macros_mt")])
    assert p.returncode == 0 and "child exited 0" in p.stdout
    child = {v["pid"] for v in by_name(r["variables"], "counter")}
    assert len(child) == 1 and r["target"]["pid"] not in child
    assert len(by_name(r["variables"], "buf")) == 3 and len(by_name(r["scopes"], "worker")) == 3
    (x,) = [x for x in r["execs"] if x["pid"] in child]
    assert x["exe"] == prog("macros_mt")
    (leak,) = [b for b in r["leaks"] if b["size"] == 1000]
    assert leak["pid"] in child


def test_what_the_parent_sees_does_not_change():
    """Children held at fork: the parent's waitpid statuses, its output and
    exit code are those of an untraced run, and a SIGCHLD handler with
    SA_NOCLDSTOP never hears of the hold."""
    want = plain([L, "reap"])
    r, p = trace_json(["-f"], [L, "reap"])
    assert (p.stdout, p.returncode) == want
    assert want[0].endswith("SIGCHLD for a stop or continue: 0\n")
    assert len(by_name(r["variables"], "kid")) == 4
    assert r["summary"]["holds"]["count"] >= 4


def test_parent_without_nocldstop_can_see_the_hold():
    """What the README says a parent may notice: a SIGCHLD handler without
    SA_NOCLDSTOP hears of the stop and the continue (statuses unchanged)."""
    r, p = trace_json(["-f"], [L, "reap", "all"])
    untraced = plain([L, "reap", "all"])[0].splitlines()
    lines = p.stdout.splitlines()
    assert lines[:4] == untraced[:4] and untraced[4].endswith(": 0")
    assert int(lines[4].rsplit(":", 1)[1]) >= 1


def test_no_hold_never_stops_and_attaches_late():
    r, p = trace_json(["-f", "--no-hold"], [L, "reap", "all"])
    assert p.stdout == plain([L, "reap", "all"])[0]
    assert r["summary"]["holds"]["count"] == 0


def test_held_child_continues_when_tracer_killed():
    """The tracer is frozen, the target forks (its child is held), the
    tracer is killed: the child goes on (BPF continues what it held)."""
    need_root()
    out = tmpfile()
    tr = start_tracer(["-f", "-o", out, "--", L, "fork-wait"], stdout=subprocess.PIPE)
    kid = None
    try:
        assert tr.stdout.readline() == "waiting\n"
        target = traced_child(tr)
        tr.send_signal(signal.SIGSTOP)
        os.kill(target, signal.SIGUSR1)   # it forks now; the child is stopped
        deadline = time.time() + 10
        while time.time() < deadline and kid is None:
            kids = subprocess.run(["pgrep", "-P", str(target)], capture_output=True,
                                  text=True).stdout.split()
            if kids and open("/proc/%s/stat" % kids[0]).read().rsplit(") ", 1)[1][0] == "T":
                kid = int(kids[0])
            time.sleep(0.01)
        assert kid, "the child was not held"
        tr.send_signal(signal.SIGKILL)
        tr.wait(timeout=30)
        ready, _, _ = select.select([tr.stdout], [], [], 10)
        line = tr.stdout.readline() if ready else None
        assert line == "child exited 0\n", line
    finally:
        # a stopped tracer keeps its probes: never leave one behind
        if tr.poll() is None:
            tr.kill()
            tr.wait()
        if kid:
            try:
                os.kill(kid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        if os.path.exists(out):
            os.unlink(out)


def test_processes_not_traced_keep_their_code_while_a_trace_runs():
    """Every probe, ld.so's dlopen hook included, is attached for the
    traced processes only: one started beside the trace keeps ld.so's and
    libc's code as the files have it, and valgrind, which runs a program's
    code from its own reading of it, runs /bin/true to the end (a hook in
    every process's ld.so killed it with SIGTRAP)."""
    need_root()
    if not shutil.which("valgrind"):
        raise Skip("valgrind not installed (scripts/deps.sh installs it)")
    bystander = subprocess.Popen(["sleep", "60"])
    out = tmpfile()
    tr = start_tracer(["-f", "-o", out, "--", L, "fork-idle", "4"])
    try:
        target = traced_child(tr)
        deadline = time.time() + 10
        while time.time() < deadline and not text_changed(target, "/ld-linux-x86-64.so.2"):
            time.sleep(0.01)
        assert text_changed(target, "/ld-linux-x86-64.so.2")   # the traced one has the hook
        assert not text_changed(bystander.pid, "/ld-linux-x86-64.so.2")
        assert not text_changed(bystander.pid)
        vg = subprocess.run(["valgrind", "-q", "/bin/true"], capture_output=True, text=True,
                            timeout=60)
        assert vg.returncode == 0, vg.stderr[-500:]
        assert tr.poll() is None, "the trace ended before valgrind did"
        assert tr.wait(timeout=30) == 0
    finally:
        bystander.kill()
        bystander.wait()
        if tr.poll() is None:
            tr.kill()
            tr.wait()
        if os.path.exists(out):
            os.unlink(out)


class Load:
    """Two busy loops beside the test (the machine has 2 vCPUs)."""

    def __enter__(self):
        self.procs = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(2)]
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()


def named(r):
    return [(v["name"], v["type"], v["file"]) for v in r["variables"]] + \
        [(s["name"], "", s["file"]) for s in r["scopes"]]


def test_names_never_lost_50_images_tracked_at_once_loaded():
    """50 images exec'd one after another under -f, each tracking at once
    names that live on a page nothing touched before (BPF cannot read them)
    and exiting, while two busy loops load the machine: every name, type
    and file is resolved, none is "?"."""
    n = 50
    with Load():
        r, p = trace_json(["-f"], [L, "spawn", str(n), prog("late_names")], timeout=120)
    assert p.stdout == "spawned %d, %d exited 0\n" % (n, n)
    assert r["summary"]["string_faults"] > 0     # else this tests nothing
    want = [("first", "long", "tests/progs/late_names.c"), ("second", "long", "tests/progs/late_names.c")]
    got = sorted((v["name"], v["type"], v["file"]) for v in r["variables"])
    assert got == sorted(want * n), [x for x in got if x not in want][:6]
    assert [(s["name"], s["file"]) for s in r["scopes"]] == [("late", "tests/progs/late_names.c")] * n
    assert len({v["pid"] for v in r["variables"]}) == n


def test_names_never_lost_attach_at_start_loaded():
    """-p right after the target started, while it tracks at once: 50
    attaches, five at a time (five tracers loading and five targets
    trapping load the two vCPUs). No name, type or file of what was
    tracked after an attach is ever "?"; an attach that came after the
    target's work (it runs ~1.5 s) sees nothing, and at most a few may."""
    bad, seen = [], 0
    if True:
        for batch in range(10):
            runs = []
            for i in range(5):
                target = subprocess.Popen([prog("macros_mt"), "0", "500", "3000"], stdout=subprocess.DEVNULL)
                out = tmpfile()
                runs.append((target, start_tracer(["-p", str(target.pid), "--no-alloc", "-o", out]), out))
            for target, tr, out in runs:
                target.wait(timeout=60)
                tr.wait(timeout=60)
                r = json.load(open(out)) if tr.returncode == 0 else {"variables": [], "scopes": []}
                if os.path.exists(out):
                    os.unlink(out)
                names = [x for x in named(r) if "?" in x or None in x]
                if names:
                    bad.append((batch, names[:4]))
                seen += bool(r["variables"])
    assert not bad and seen >= 40, (bad, seen)
    print("attaches that saw the target track: %d of 50" % seen)
