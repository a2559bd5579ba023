# SPDX-License-Identifier: BSD-3-Clause
"""Issue 7: the target changes or fails under the tracer; the tracer is
stopped or doubled. Each test checks the target's output and exit code are
unchanged and the report is complete and valid JSON."""
import json
import os
import signal
import subprocess
import time

from harness import (TRACER, by_name, need_root, prog, semaphores_raised, start_tracer, tmpfile, tracers_attached,
                     trace_json, traced_child, wait_attached)

L = prog("lifecycle")


def plain(args):
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return p.stdout, p.returncode


def test_target_exec_another_program():
    # the exec'd program works at once: its image is attached before its
    # first instruction, and the report says where the exec happened
    r, p = trace_json([], [L, "exec", prog("macros_mt")])
    assert (p.stdout.replace("enabled=1", "enabled=0"), p.returncode) == plain([prog("macros_mt")])
    before = by_name(r["variables"], "before_exec")
    assert len(before) == 1                      # from the first image
    assert len(by_name(r["variables"], "counter")) == 1   # from the exec'd one, strings re-read
    assert len(by_name(r["variables"], "leak")) == 1
    assert len(by_name(r["variables"], "buf")) == 3 and len(by_name(r["scopes"], "worker")) == 3
    assert r["target"]["exe"].endswith("macros_mt")
    (x,) = r["execs"]
    assert (x["pid"], x["thread"], x["exe"]) == (r["target"]["pid"], r["target"]["pid"], prog("macros_mt"))
    assert before[0]["first_seen_ns"] <= x["time_ns"] <= min(v["first_seen_ns"] for v in by_name(r["variables"], "counter"))
    assert r["summary"]["holds"]["count"] >= 1 and r["summary"]["holds"]["failed"] == 0


def test_fork_without_follow_child_untraced_and_unharmed():
    r, p = trace_json([], [L, "fork"])
    assert (p.stdout, p.returncode) == plain([L, "fork"])
    assert by_name(r["variables"], "child_buf") == []


def test_fork_with_follow_traces_child():
    r, p = trace_json(["-f"], [L, "fork"])
    assert (p.stdout, p.returncode) == plain([L, "fork"])
    (cb,) = by_name(r["variables"], "child_buf")
    assert cb["pid"] != r["target"]["pid"] and cb["heap"]["size"] == 321


def test_thousand_threads():
    r, p = trace_json([], [L, "threads", "1000"], timeout=120)
    assert (p.stdout, p.returncode) == plain([L, "threads", "1000"])
    # one `id` (a long: its value is shown) in one "thread" scope per
    # thread, all 1000, none dropped
    assert r["summary"]["dropped_events"] == 0, r["summary"]
    ids = by_name(r["variables"], "id")
    assert sorted(int(v["value"], 16) for v in ids) == list(range(1000))
    scopes = {s["id"]: s for s in by_name(r["scopes"], "thread")}
    assert len(scopes) == 1000
    for v in ids:
        s = scopes[v["scope"]]
        assert s["thread"] == v["thread"] != r["target"]["pid"] and s["exit_ns"] is not None, (v, s)
    assert len({v["scope"] for v in ids}) == 1000


def test_dlopen_library_with_probes_after_attach():
    r, p = trace_json([], [L, "dlopen", prog("libplugin.so")])
    assert p.returncode == 0 and p.stdout == "plugin ran\n"
    (pb,) = by_name(r["variables"], "plugin_buf")
    assert pb["heap"]["size"] == 64 and pb["heap"]["freed_ns"] is not None
    (sc,) = by_name(r["scopes"], "plugin")
    assert pb["scope"] == sc["id"]


def test_target_killed_by_signal_report_has_cause():
    r, p = trace_json([], [L, "segv"])
    assert r["target"]["exited"] and r["target"]["signal"] == signal.SIGSEGV
    assert by_name(r["variables"], "doomed")


def test_tracer_stopped_then_continued():
    need_root()
    out = tmpfile()
    target = subprocess.Popen([prog("macros_mt"), "0", "5000", "5000"], stdout=subprocess.PIPE, text=True)
    tr = start_tracer(["-p", str(target.pid), "--ring-size", "1", "-o", out])
    wait_attached(tr, target.pid)
    tr.send_signal(signal.SIGSTOP)
    time.sleep(10)
    tr.send_signal(signal.SIGCONT)
    stdout, _ = target.communicate(timeout=60)
    tr.wait(timeout=60)
    assert target.returncode == 0 and stdout.startswith("done ")
    r = json.load(open(out))
    os.unlink(out)
    # the ring (1 MiB) filled while the tracer slept: drops counted, and
    # tracing resumed afterwards (records from the last seconds are there);
    # TRACK_VAR's per-CPU buffers filled first and passed records on to it
    assert r["summary"]["dropped_events"] > 0
    assert r["summary"]["variables_via_ring"] > 0
    last = max(s["enter_ns"] for s in r["scopes"])
    assert last > 10e9, last


def test_target_gone_before_tracer_reads_its_strings():
    """The names BPF cannot read (their page not yet touched) are read by
    the tracer; if the target has exited by then (a busy machine), they
    come from the files it had mapped, not out as "?". The tracer is frozen
    while the target execs a new image that uses its probes and exits."""
    need_root()
    out = tmpfile()
    tr = start_tracer(["-o", out, "--", prog("late_names"), "exec"])
    assert tr.stdout.readline() == "waiting\n"   # blocked SIGUSR1 first
    child = traced_child(tr)
    tr.send_signal(signal.SIGSTOP)
    os.kill(child, signal.SIGUSR1)
    deadline = time.time() + 30   # it execs, runs and exits: a zombie, no memory left
    state = None
    while time.time() < deadline and state != "Z":
        state = open("/proc/%d/stat" % child).read().rsplit(") ", 1)[1][0]
        time.sleep(0.02)
    tr.send_signal(signal.SIGCONT)
    tr.wait(timeout=60)
    assert state == "Z", state
    r = json.load(open(out))
    os.unlink(out)
    assert r["target"]["exit_code"] == 0, r["target"]
    assert r["summary"]["string_faults"] > 0   # else this test tests nothing
    assert [(v["name"], v["type"], v["file"]) for v in r["variables"]] == \
        [("first", "long", "tests/progs/late_names.c"), ("second", "long", "tests/progs/late_names.c")]
    assert [(s["name"], s["file"]) for s in r["scopes"]] == [("late", "tests/progs/late_names.c")]


def test_two_tracers_on_one_target():
    """Two tracers on one process each see all of it; the semaphores are
    counted: one tracer leaving keeps the other's raised, the last one
    leaving lowers them while the target runs on."""
    need_root()
    target = subprocess.Popen([prog("macros_mt"), "usr1", "3", "0", "60"], stdout=subprocess.PIPE, text=True)
    try:
        assert target.stdout.readline() == "waiting\n"
        outs = [tmpfile(), tmpfile()]
        # each sees every round: no --budget backing off (-p has 5% by default)
        trs = [start_tracer(["-p", str(target.pid), "-o", o, "--budget", "none"]) for o in outs]
        # both tracers' probes live before the rounds: the semaphores
        # cannot tell (the kernel counts uprobes, and the second tracer's
        # consumers share the first's), so each tracer's links are counted
        for t in trs:
            wait_attached(t, target.pid)
        tracers_attached(trs)
        target.send_signal(signal.SIGUSR1)
        assert target.stdout.readline().startswith("done ")
        trs[0].send_signal(signal.SIGINT)
        assert trs[0].wait(timeout=60) == 0
        assert semaphores_raised(target.pid, every=True), "the second tracer's probes went with the first"
        trs[1].send_signal(signal.SIGINT)
        assert trs[1].wait(timeout=60) == 0
        assert not semaphores_raised(target.pid), "semaphores raised after both tracers left"
        assert target.poll() is None, "target ended before the check could run"
    finally:
        target.kill()
        target.wait()
    reports = [json.load(open(o)) for o in outs]
    for o in outs:
        os.unlink(o)
    for r in reports:
        assert r["stop_reason"] == "signal" and r["summary"]["dropped_events"] == 0
        assert len(by_name(r["scopes"], "worker")) == 9 and len(by_name(r["variables"], "buf")) == 9
