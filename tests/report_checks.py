# SPDX-License-Identifier: BSD-3-Clause
"""Checks of the report files beside the JSON (Chrome trace-event timeline,
folded stacks) against the JSON report, shared by the tests that make them
from synthetic records (test_html.py) and through the tracer
(test_readme.py)."""


def check_timeline(trace, report):
    """Slices, async tasks and the counter of a --timeline file are the
    report's scopes, tasks and memory timeline."""
    ev = trace["traceEvents"]
    ns = lambda us: round(us * 1000)  # noqa: E731 - ts are µs with 3 decimals
    slices = {e["args"]["id"]: e for e in ev if e["ph"] == "X"}
    assert sorted(slices) == sorted(s["id"] for s in report["scopes"])
    end = max(ns(e["ts"] + e["dur"]) for e in slices.values())
    for s in report["scopes"]:
        e = slices[s["id"]]
        assert (e["name"], e["pid"], e["tid"], e["cat"]) == (s["name"], s["pid"], s["thread"], "scope")
        assert ns(e["ts"]) == s["enter_ns"]
        assert ns(e["ts"] + e["dur"]) == (s["exit_ns"] if s["exit_ns"] is not None else end)
    # slices on one thread nest (what the viewers need to stack them)
    by_thread = {}
    for e in sorted(slices.values(), key=lambda e: (e["ts"], -e["dur"])):
        open_ = by_thread.setdefault((e["pid"], e["tid"]), [])
        while open_ and open_[-1] <= e["ts"]:
            open_.pop()
        assert not open_ or e["ts"] + e["dur"] <= open_[-1], e
        open_.append(e["ts"] + e["dur"])
    # tasks: one b/e pair per task with an interval, same name, cat and id
    begins = [e for e in ev if e["ph"] == "b"]
    ends = [e for e in ev if e["ph"] == "e"]
    timed = [t for t in report["tasks"] if t["first_ns"] is not None]
    assert len(begins) == len(ends) == len(timed)
    for t in timed:
        (b,) = [e for e in begins if e["args"]["id"] == t["id"]]
        (e,) = [e for e in ends if e["id2"] == b["id2"]]
        assert b["cat"] == e["cat"] == "task" and b["name"] == e["name"] == t["name"]
        assert ns(b["ts"]) == t["first_ns"] and ns(e["ts"]) == (t["ended_ns"] or t["last_ns"])
    counter = [[ns(e["ts"]), e["args"]["bytes"]] for e in ev if e["ph"] == "C"]
    assert counter == report["memory_timeline"]
    named = {(e["pid"], e["tid"]) for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
    assert {(e["pid"], e["tid"]) for e in ev if e["ph"] in "Xi"} <= named
    assert len([e for e in ev if e["ph"] == "i"]) == len(report["invalid_frees"]) + len(report["double_frees"])


def read_folded(path):
    """[(frames root first, bytes)] of a --folded / --folded-alloc file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    out = []
    for line in lines:
        stack, n = line.rsplit(" ", 1)
        frames = stack.split(";")
        assert all(frames) and int(n) > 0, line
        out.append((frames, int(n)))
    return out


def check_folded(live, alloc, report):
    """Live lines are the report's leak (or live) sites, same bytes, same
    stacks (innermost last) where names need no replacing; the two files
    sum to the report's live and allocated bytes."""
    folded = {"live": live, "alloc": alloc}
    sites = report["leak_sites"] or report["live_sites"]
    s = report["summary"]
    assert sum(n for _, n in folded["live"]) == s["live_bytes"]
    assert sum(n for _, n in folded["alloc"]) == s["alloc_bytes"]
    assert sorted(n for _, n in folded["live"]) == sorted(x["bytes"] for x in sites)
    for site in sites:
        (frames,) = [f for f, n in folded["live"] if n == site["bytes"]]
        # roots of their own: the leak class (when a leak check classified
        # the blocks), then [truncated] for a walk that stopped early
        if site.get("reachability"):
            assert frames[0] == site["reachability"], (frames, site)
            frames = frames[1:]
        if site.get("truncated") and site["stack"]:
            assert frames[0] == "[truncated]", (frames, site)
            frames = frames[1:]
        assert len(frames) == len(site["stack"]) or (not site["stack"] and frames == ["[no stack]"]), \
            (frames, site)
        for got, want in zip(frames, reversed(site["stack"])):
            fn = want["function"]
            if fn and fn.isprintable() and ";" not in fn and "\ufffd" not in fn:
                assert got == fn, (got, fn)
