# SPDX-License-Identifier: BSD-3-Clause
"""Issue 7 point 4: hostile probe arguments are bounded, counted, survived.
tests/progs/hostile.c fires each one once (its comment says which); every
outcome below is the one that record must give."""
from harness import prog, trace_json

NAMES, DEPTH, KEEP = 300000, 100000, 10000
SCOPE_STACK = 32  # MS_SCOPE_STACK: scopes BPF keeps per thread


def test_hostile_probe_arguments():
    # held by `--`: the program starts at once, no time given for attaching
    r, p = trace_json(["--keep", str(KEEP)], [prog("hostile"), str(NAMES), str(DEPTH)], timeout=300)
    assert p.returncode == 0 and p.stdout == "hostile done\n", p.stderr
    s = r["summary"]
    # ~1.4 M records at the probes' pace (a trap each), several times
    # slower than the tracer drains them: none may be lost
    assert s["dropped_events"] == 0 and s["bad_records"] == 0, s
    a, b = "A" * 255, "B" * 255          # cut at MS_STR_MAX - 1
    # (name, type, file, line) of the 4 raw var records, in order:
    # NULL pointers, invalid pointers, a 1 MiB string, a string running
    # into an unmapped page
    got = [(v["name"], v["type"], v["file"], v["line"]) for v in r["variables"]]
    assert got == [(None, None, None, 1), ("?", "?", "?", 2), (a, a, a, 3), (b, None, b, 4)], \
        [(str(x)[:20] for x in g) for g in got]
    # task names: NULL, the huge one and the unterminated one, cut at
    # MS_NAME_MAX - 1; never ended, so held to the end
    t = {x["id"]: x["name"] for x in r["tasks"]}
    assert (t[1], t[2], t[3]) == (None, "A" * 63, "B" * 63), (t[1], t[2], t[3])
    assert s["unmatched_scope_exits"] == 5
    # deeper than the BPF scope stack: the rest counted, and closed by the
    # tracer's own stack
    assert s["scope_overflow"] == DEPTH - SCOPE_STACK, s
    deep = [x for x in r["scopes"] if x["name"] == "deep"]
    assert len(deep) == KEEP and all(x["exit_ns"] is not None for x in deep), len(deep)
    # 3x10^5 tasks and 10^5 scopes: records folded past --keep, each one
    # either kept or folded; aggregates capped at 10,000 names + 1 shared
    assert len(r["tasks"]) == KEEP and s["folded_tasks"] == NAMES + 3 - KEEP, s
    assert len(r["scopes"]) == KEEP and s["folded_scopes"] == DEPTH - KEEP, s
    assert len(r["task_aggregates"]) == 10000 + 1
    assert sum(x["count"] for x in r["scope_aggregates"]) == DEPTH - KEEP
