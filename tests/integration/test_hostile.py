# SPDX-License-Identifier: BSD-3-Clause
"""Issue 7 point 4: hostile probe arguments are bounded, counted, survived."""
import resource
import subprocess

from harness import prog, trace_json


def test_hostile_probe_arguments():
    r, p = trace_json(["--keep", "10000"], [prog("hostile"), "1000000", "100000"], timeout=300)
    assert p.returncode == 0 and p.stdout == "hostile done\n", p.stderr
    s = r["summary"]
    names = [v["name"] for v in r["variables"]]
    assert len(names) == 4                       # every var record kept, none crashed
    assert any(n and len(n) == 255 for n in names)   # huge name cut at MS_STR_MAX - 1
    assert None in names or "" in names or "?" in names   # NULL / invalid pointers survived
    assert s["unmatched_scope_exits"] == 5
    assert s["scope_overflow"] > 0                # deeper than the BPF scope stack: counted
    deep = [x for x in r["scopes"] if x["name"] == "deep"]
    assert all(x["exit_ns"] is not None for x in deep)   # closed by the tracer's own stack
    assert len(r["task_aggregates"]) <= 10001
    # 10^6 tasks and 10^5 scopes: records folded past --keep, memory bounded
    assert len(r["tasks"]) <= 2 * 10000 + 16 and s["folded_tasks"] > 0
    assert len(r["scopes"]) <= 2 * 10000 + 16 and s["folded_scopes"] > 0
    assert s["dropped_events"] >= 0 and s["bad_records"] == 0
