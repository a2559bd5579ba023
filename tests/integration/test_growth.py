# SPDX-License-Identifier: BSD-3-Clause
"""Issue 5 point 4: growth over time, and `memscope-trace diff`."""
import json
import os
import subprocess

from harness import TRACER, prog, tmpfile, trace_json


def test_growth_found_on_leaking_target():
    r, p = trace_json(["--snapshot-interval", "0.2"], [prog("grow"), "150", "leak"])
    assert p.returncode == 0, p.stderr
    assert len(r["snapshots"]) >= 5
    assert any(s["label"] == "tick" for s in r["snapshots"])
    sites = [g for g in r["growth"] if g["kind"] == "site"]
    assert sites and sites[0]["stack"][0]["function"] == "main"
    assert sites[0]["slope_bytes_per_s"] > 1000   # ~100 B per 10 ms request
    assert [g for g in r["growth"] if g["kind"] == "variable" and g["name"] == "cache_entry"]
    # every request is a task that ended while its 100 bytes stay live
    assert sum(t["leaked_bytes"] for t in r["tasks"]) == 150 * 100


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
    assert "cache_entry" in p.stdout and "new" in p.stdout
    bad = subprocess.run([TRACER, "diff", "/etc/passwd", "/etc/passwd"], capture_output=True, text=True)
    assert bad.returncode != 0 and "/etc/passwd" in bad.stderr


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
