# SPDX-License-Identifier: BSD-3-Clause
"""Issue 5 point 4: growth over time, and `memscope-trace diff`."""
import json
import os
import re
import subprocess

from harness import TRACER, prog, tmpfile, trace_json


def test_growth_found_on_leaking_target():
    n = 150
    r, p = trace_json(["--snapshot-interval", "0.2"], [prog("grow"), str(n), "leak"])
    assert p.returncode == 0, p.stderr
    # MEMSCOPE_SNAPSHOT("tick") after every 10th request: 1000 B more each
    # (stdout's buffer comes with the last line, after them)
    ticks = [s["live_bytes"] for s in r["snapshots"] if s["label"] == "tick"]
    assert ticks == [1000 * k for k in range(1, n // 10 + 1)], ticks
    periodic = [s for s in r["snapshots"] if s["label"] is None]
    assert len(periodic) >= int(r["summary"]["duration_ns"] / 0.2e9) - 1, (len(periodic), r["summary"])
    assert len(r["snapshots"]) == r["summary"]["snapshots"]
    # the true rate, from the program's own 100-byte blocks: the first to
    # the last one's allocation time
    t = sorted(l["allocated_ns"] for l in r["leaks"] if l["variable"] == "cache_entry")
    assert len(t) == n
    rate = 100 * (n - 1) / ((t[-1] - t[0]) / 1e9)
    (site,) = [g for g in r["growth"] if g["kind"] == "site"]
    (var,) = [g for g in r["growth"] if g["kind"] == "variable"]
    assert site["stack"][0]["function"] == "main" and var["name"] == "cache_entry", (site, var)
    for g in (site, var):
        assert abs(g["slope_bytes_per_s"] - rate) <= 0.05 * rate, (g, rate)
        assert g["r2"] >= 0.99 and g["last_bytes"] == n * 100 and g["task"] is None, g
    # every request is a task that ended while its 100 bytes stay live:
    # those are task leaks, not a growing task (each task stops at 100 B)
    assert sum(t["leaked_bytes"] for t in r["tasks"]) == n * 100
    assert len(r["task_leaks"]) == n and [g for g in r["growth"] if g["kind"] == "task"] == []


def test_no_growth_on_steady_target():
    r, p = trace_json(["--snapshot-interval", "0.2"], [prog("grow"), "150"])
    assert p.returncode == 0, p.stderr
    assert len(r["snapshots"]) >= 5
    assert r["growth"] == [], r["growth"]


def test_diff_two_reports():
    a, _ = trace_json([], [prog("grow"), "20"])
    b, _ = trace_json([], [prog("grow"), "20", "leak"])
    pa, pb = tmpfile(), tmpfile()
    json.dump(a, open(pa, "w"))
    json.dump(b, open(pb, "w"))
    p = subprocess.run([TRACER, "diff", pa, pb], capture_output=True, text=True, timeout=30)
    os.unlink(pa)
    os.unlink(pb)
    assert p.returncode == 0, p.stderr
    # 20 requests, each leaking 100 B held by an 8-byte `cache_entry`
    # (stdout's 4096-byte buffer in both)
    want = [r"^  allocs\s+21 -> 41\s+\(\+20\)$", r"^  frees\s+20 -> 20\s+\(\+0\)$",
            r"^  live_bytes\s+4096 -> 6096\s+\(\+2000\)$", r"^  leaks\s+1 -> 21\s+\(\+20\)$",
            # leak sites per class (issue 19): the 20 blocks nothing points to
            # (the column is cut: DWARF stacks go on to __libc_start_main and _start)
            r"^  \[definitely_lost\] main < __libc_start_call_main( < \S+)*\s+0 -> 2000\s+\(\+2000\)\s+new$",
            r"^  definitely_lost_bytes\s+0 -> 2000\s+\(\+2000\)$",
            r"^  still_reachable_bytes\s+4096 -> 4096\s+\(\+0\)$",
            r"^  cache_entry\s+0 -> 160\s+\(\+160\)\s+new$"]
    for w in want:
        assert re.search(w, p.stdout, re.M), (w, p.stdout)
    bad = subprocess.run([TRACER, "diff", "/etc/passwd", "/etc/passwd"], capture_output=True, text=True)
    assert bad.returncode != 0 and "/etc/passwd" in bad.stderr and len(bad.stderr.splitlines()) == 1, bad.stderr


def test_interval_live_view_and_terminal_status():
    r, p = trace_json(["-i", "0.3"], [prog("grow"), "100", "leak"])
    views = [l for l in p.stderr.splitlines() if l.startswith("[memscope ")]
    assert len(views) >= 2, p.stderr
    assert "allocs/s" in views[-1] and "dropped 0" in views[-1]
    assert " main" in p.stderr            # top site by function
    # with a terminal on stderr: a status line rewritten in place
    import pty
    import select
    master, slave = pty.openpty()
    out = tmpfile()
    proc = subprocess.Popen([TRACER, "-o", out, "--", prog("grow"), "100"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while proc.poll() is None or select.select([master], [], [], 0.2)[0]:
        if select.select([master], [], [], 0.2)[0]:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
    os.close(master)
    os.unlink(out)
    assert b"\r\x1b[K[memscope] " in seen and b"events " in seen, seen[-300:]
