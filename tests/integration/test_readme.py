# SPDX-License-Identifier: BSD-3-Clause
"""The README's promises, held to real runs: its JSON schema (parsed from
README.md itself) against real reports key for key, and every report
figure a program decides against tests/progs/known.c, whose numbers are
known in advance (its header comment lists them)."""
import json
import os
import re
import signal
import subprocess

from harness import (ROOT, TRACER, by_name, code_bytes, int3_at, need_root, prog, read_available,
                     semaphores_raised, tmpfile, trace_json, traced_child)
from report_checks import check_folded, check_timeline, read_folded

KNOWN = prog("known")


# ---- the schema block of README.md -------------------------------------------

def _tokens(text):
    """{ } [ ] , : | (annotation) and words (anything else)."""
    return re.findall(r"\([^)]*\)|[{}\[\],:|]|[^\s{}\[\],:|()]+", text)


class _Parser:
    def __init__(self, text):
        self.t = _tokens(text)
        self.i = 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self, want=None):
        tok = self.peek()
        assert want is None or tok == want, "README schema: want %r, got %r at %r" % (
            want, tok, self.t[max(0, self.i - 5):self.i + 5])
        self.i += 1
        return tok

    def value(self):
        """("obj", {field: shape or None}, optional set) | ("list", item) |
        ("pair",) | ("words", text) | None for a plain value."""
        tok = self.peek()
        if tok == "{":
            return self.obj()
        if tok == "[":
            return self.lst()
        self.take()                         # a value name: site|variable|task
        while self.peek() == "|":
            self.take()
            self.take()
        return None

    def obj(self):
        self.take("{")
        fields, optional = {}, set()
        while True:
            name = self.take()
            shape = None
            if name.endswith("?"):          # "truncated_reason?": only when it applies
                name = name[:-1]
                optional.add(name)
            if self.peek() and self.peek().startswith("("):
                self.take()                 # "first_free_ns (double only)"
                optional.add(name)
            if self.peek() == ":":
                self.take()
                shape = self.value()
                while self.peek() == "|":   # "{...} | null"
                    self.take()
                    self.take()
            fields[name] = shape
            if self.take() == "}":
                return ("obj", fields, optional)

    def lst(self):
        self.take("[")
        if self.peek() == "{":
            item = self.obj()
        elif self.peek() == "[":
            self.take()
            while self.take() != "]":
                pass
            item = ("pair",)
        else:
            words = []
            while self.peek() != "]":
                words.append(self.take())
            item = ("words", " ".join(words))
        while self.take() != "]":           # ", ..."
            pass
        return ("list", item)


def readme_schema():
    """{top-level key: shape} and the set of keys present in some modes only."""
    with open(os.path.join(ROOT, "README.md")) as f:
        block = f.read().split("## JSON report", 1)[1].split("```", 2)[1]
    entries = []
    for line in block.splitlines():
        if not line.strip():
            continue
        if line[0].isspace() and entries:
            entries[-1] += " " + line.strip()
        else:
            entries.append(line.strip())
    schema, only_some, same = {}, set(), []
    for e in entries:
        m = re.match(r"([a-z_]+(?:, [a-z_]+)*)\s*(.*)$", e)
        names, rest = m.group(1).split(", "), m.group(2)
        if rest.startswith(("{", "[")):
            p = _Parser(rest)
            shape = p.value()
            tail = " ".join(p.t[p.i:])
            if "only" in tail:
                only_some.update(names)
        else:
            shape = None                    # scalars, or "same shapes as ..."
            s = re.match(r"same shapes as ([a-z_, ]+?) \(", rest)
            if s:
                same.append((names, s.group(1).split(", ")))
        for n in names:
            schema[n] = shape
    for names, like in same:
        for n, l in zip(names, like):
            schema[n] = schema[l]
    # "[block]": an item of leaks
    for n, shape in schema.items():
        if shape and shape[0] == "list" and shape[1] == ("words", "block"):
            schema[n] = schema["leaks"]
    # every "stack" is a leak's: [{function, file, line, module, ip}]
    frames = schema["leaks"][1][1]["stack"]

    def stacks(shape):
        if shape and shape[0] == "list":
            stacks(shape[1])
        elif shape and shape[0] == "obj":
            for k, sub in shape[1].items():
                if k == "stack" and sub is None:
                    shape[1][k] = frames
                stacks(sub)
    for shape in schema.values():
        stacks(shape)
    return schema, only_some


def conform(obj, shape, path, seen):
    """obj has exactly the keys the README gives shape (at every level it
    gives one); notes in `seen` each list path that had an item."""
    if shape is None or obj is None:
        return
    if shape[0] == "obj":
        _, fields, optional = shape
        assert isinstance(obj, dict), (path, obj)
        missing = set(fields) - optional - set(obj)
        extra = set(obj) - set(fields)
        assert not missing and not extra, "%s: README lists %s that the report lacks, the report has %s " \
            "the README does not list" % (path, sorted(missing), sorted(extra))
        for k, sub in fields.items():
            conform(obj.get(k), sub, path + "." + k, seen)
    elif shape[0] == "list":
        assert isinstance(obj, list), (path, obj)
        if obj:
            seen.add(path)
        for x in obj:
            if shape[1][0] == "pair":
                assert isinstance(x, list) and len(x) == 2, (path, x)
            else:
                conform(x, shape[1], path + "[]", seen)


def check_report(r, schema, only_some, seen):
    top = set(schema) - only_some
    assert top <= set(r) and set(r) <= set(schema), (sorted(top - set(r)), sorted(set(r) - set(schema)))
    for k, shape in schema.items():
        conform(r.get(k), shape, k, seen)
    assert r["stop_reason"] in ("target exited", "duration", "signal"), r["stop_reason"]
    if "sampled" in r:
        for where in [r["sampled"]] + r["sampled"]["sites"]:
            for k in ("alloc_space", "alloc_objects", "inuse_space", "inuse_objects"):
                assert set(where[k]) == {"estimate", "stddev"}, (k, where[k])


def known_waiting(args):
    """known.c held at its end ("wait") while the tracer stops first;
    returns (report, tracer). The target is killed afterwards."""
    need_root()
    out = tmpfile()
    tr = subprocess.Popen([TRACER, "-o", out] + args + ["--", KNOWN, "wait"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    assert tr.stdout.readline().startswith("known slow=")
    assert tr.stdout.readline() == "waiting\n"
    tr.wait(timeout=60)
    r = json.load(open(out))
    os.unlink(out)
    os.kill(r["target"]["pid"], signal.SIGKILL)
    return r, tr


def test_report_schema_is_the_readme_s():
    """Reports of every kind, each section non-empty in one of them: every
    key the README lists is there, and no key it does not list."""
    schema, only_some = readme_schema()
    assert {"summary", "variables", "leaks", "live", "growth", "sampled", "task_leaks"} <= set(schema)
    assert only_some == {"sampled"}, only_some
    seen = set()
    runs = [trace_json(["--keep", "2"], [KNOWN])[0],              # folded, growth, tasks
            known_waiting(["-d", "1"])[0],                         # live, live_sites
            trace_json([], [prog("leaks"), "double"])[0],
            trace_json([], [prog("leaks"), "invalid"])[0],
            trace_json([], ["/bin/sh", "-c", "exec " + KNOWN])[0],      # execs
            trace_json(["-m", "sampled", "--with-probes"], [prog("sampled_join")],
                       env=dict(os.environ, MEMSCOPE_SAMPLE_INTERVAL="65536"))[0]]
    for r in runs:
        check_report(r, schema, only_some, seen)
    lists = {k for k, v in schema.items() if v and v[0] == "list"} | {"sampled.sites"}
    assert lists <= seen, "README sections no run filled: %s" % sorted(lists - seen)
    assert {"leaks[].stack", "scopes[].variables", "sampled.sites"} <= seen, sorted(seen)
    assert any(v["heap"] for r in runs for v in r["variables"])


# ---- the program with known numbers ----------------------------------------

def known_run(args=()):
    r, p = trace_json(list(args), [KNOWN])
    assert p.returncode == 0, p.stderr
    m = re.match(r"known slow=(\d+) held_ms=(\d+)\n$", p.stdout)
    assert m, p.stdout
    slow, held_ms = int(m.group(1)), int(m.group(2))
    assert held_ms >= 20, held_ms   # known.c held its blocks that long
    return r, slow


def test_known_figures():
    """Sizes, lifetimes, temporaries, tasks, task leaks, scopes, free(NULL),
    peak and leaks: each the number known.c's header gives."""
    r, slow = known_run()
    s = r["summary"]
    assert r["invalid_frees"] == [] and r["double_frees"] == [] and s["dropped_events"] == 0
    # 16 allocations, 9 frees: free(NULL) x 5 is no free and no error
    assert (s["allocs"], s["alloc_bytes"], s["frees"], s["freed_bytes"]) == (16, 11861, 9, 9360), s
    assert (s["live_allocs"], s["live_bytes"], s["peak_live_bytes"]) == (7, 2501, 9764), s
    # size_histogram: log2 buckets [2^(b-1), 2^b - 1] (size 1 alone in [1, 1])
    hist = [(h["min"], h["max"], h["count"]) for h in r["size_histogram"]]
    assert hist == [(1, 1, 1), (16, 31, 4), (64, 127, 3), (128, 255, 1), (256, 511, 1), (512, 1023, 3),
                    (2048, 4095, 3)], hist
    # lifetimes: 5 blocks held >= 20 ms (the bucket from 2^24 ns = 16.8 ms
    # up), 4 temporaries; a temporary known.c itself saw take >= 1 ms
    # ("slow") may have lived longer
    life = r["lifetime_histogram_ns"]
    assert sum(h["count"] for h in life) == 9
    assert all(h["max"] == 2 * h["min"] - 1 for h in life), life
    assert sum(h["count"] for h in life if h["min"] >= 1 << 24) == 5, life
    assert sum(h["count"] for h in life if h["min"] < 1000000) >= 4 - slow, (life, slow)
    t = r["temporaries"]
    assert t["threshold_ns"] == 1000000 and 4 - slow <= t["count"] <= 4 and t["bytes"] == 24 * t["count"], t
    # tasks: 7 "worker" allocated 500 + 200 in scope "work", freed 200; 8
    # "clean", spawned by 7, 64 and freed it; 9-11 "batch" allocate nothing
    tasks = {x["id"]: x for x in r["tasks"]}
    assert sorted(tasks) == [7, 8, 9, 10, 11]
    figures = lambda x: {k: x[k] for k in ("name", "parent", "allocs", "alloc_bytes", "frees", "freed_bytes",  # noqa: E731
                                           "peak_live_bytes", "live_bytes", "leaks", "leaked_bytes")}
    assert figures(tasks[7]) == dict(name="worker", parent=None, allocs=2, alloc_bytes=700, frees=1,
                                     freed_bytes=200, peak_live_bytes=700, live_bytes=500, leaks=1,
                                     leaked_bytes=500), tasks[7]
    assert figures(tasks[8]) == dict(name="clean", parent=7, allocs=1, alloc_bytes=64, frees=1, freed_bytes=64,
                                     peak_live_bytes=64, live_bytes=0, leaks=0, leaked_bytes=0), tasks[8]
    assert all(tasks[i]["name"] == "batch" and tasks[i]["allocs"] == 0 and tasks[i]["ended_ns"] for i in (9, 10, 11))
    # task_leaks: the block still live after TASK_END(7)
    assert [(b["size"], b["task"]) for b in r["task_leaks"]] == [(500, 7)], r["task_leaks"]
    (work,) = by_name(r["scopes"], "work")
    assert (work["task"], work["allocs"], work["alloc_bytes"], work["live_bytes_at_exit"]) == (7, 2, 700, 700), work
    loops = by_name(r["scopes"], "loop")
    assert len(loops) == 5 and [len(x["variables"]) for x in loops] == [1] * 5
    ivars = by_name(r["variables"], "i")
    assert [(v["type"], v["size"], v["scope"]) for v in ivars] == [("int", 4, x["id"]) for x in loops]
    leaks = sorted((b["size"], b["variable"]) for b in r["leaks"])
    assert leaks == [(1, None), (100, "kept"), (100, "kept"), (500, None), (600, "g"), (600, "g"), (600, "g")], leaks
    # three "grow" snapshots, 600 B apart, and the site and the variable
    # that grew; the slope is the least-squares fit of those snapshots
    snaps = r["snapshots"]
    assert [(x["label"], x["live_bytes"]) for x in snaps] == [("grow", 1301), ("grow", 1901), ("grow", 2501)], snaps
    xs = [x["time_ns"] / 1e9 for x in snaps]
    ys = [600, 1200, 1800]
    mx, my = sum(xs) / 3, sum(ys) / 3
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    got = sorted((g["kind"], g["name"], g["first_bytes"], g["last_bytes"]) for g in r["growth"])
    assert got == [("site", None, 600, 1800), ("variable", "g", 600, 1800)], r["growth"]
    for g in r["growth"]:
        assert abs(g["slope_bytes_per_s"] - slope) <= 1e-6 * slope and g["r2"] >= 0.8, (g, slope)


def test_aggregates_past_keep():
    """--keep 2: ended records past 2 fold into per-name aggregates (the
    README's aggregates), each one counted once, kept or folded."""
    r, _ = known_run(["--keep", "2"])
    s = r["summary"]
    # variables: the 5 `i`, ended with their scopes, fold; `kept` and `g`
    # name live blocks and never fold
    assert sorted(v["name"] for v in r["variables"]) == ["g", "g", "g", "kept", "kept"]
    (iv,) = r["variable_aggregates"]
    assert (iv["name"], iv["file"], iv["count"], iv["total_size"], s["folded_variables"]) == \
        ("i", "tests/progs/known.c", 5, 20, 5), iv
    # scopes: "work" and 3 of the 5 "loop"s fold (oldest first), 2 stay
    assert [x["name"] for x in r["scopes"]] == ["loop", "loop"] and s["folded_scopes"] == 4
    aggs = {a["name"]: a for a in r["scope_aggregates"]}
    assert (aggs["work"]["count"], aggs["work"]["allocs"], aggs["work"]["alloc_bytes"]) == (1, 2, 700), aggs
    assert (aggs["loop"]["count"], aggs["loop"]["allocs"]) == (3, 0), aggs
    for a in r["scope_aggregates"] + r["task_aggregates"]:
        assert 0 < a["total_ns"] and a["first_ns"] <= a["last_ns"] <= s["duration_ns"], a
    # tasks: 7 holds live bytes and stays; 8 and two of 9-11 fold
    assert [x["id"] for x in r["tasks"]] == [7, 11] and s["folded_tasks"] == 3
    aggs = {a["name"]: (a["count"], a["allocs"], a["alloc_bytes"]) for a in r["task_aggregates"]}
    assert aggs == {"clean": (1, 1, 64), "batch": (2, 0, 0)}, aggs


def test_live_sections_when_the_tracer_stops_first():
    """-d stops the tracer while known.c waits: its blocks are listed
    under live/live_sites, none under leaks."""
    r, tr = known_waiting(["-d", "1"])
    assert tr.returncode == 0 and r["stop_reason"] == "duration" and not r["target"]["exited"]
    assert r["leaks"] == [] and r["leak_sites"] == []
    live = sorted((b["size"], b["variable"]) for b in r["live"])
    assert live == [(1, None), (100, "kept"), (100, "kept"), (500, None), (600, "g"), (600, "g"), (600, "g")], live
    sites = sorted((x["count"], x["bytes"], x["variables"]) for x in r["live_sites"])
    assert sum(c for c, _, _ in sites) == 7 and sum(b for _, b, _ in sites) == 2501, sites
    assert (3, 1800, ["g"]) in sites and (2, 200, ["kept"]) in sites, sites


# ---- options ---------------------------------------------------------------------

def test_report_files_through_the_tracer():
    """--timeline, --folded and --folded-alloc, written by the tracer for a
    real run, match its JSON report; every output is created 0600."""
    files = {"timeline": tmpfile(".json"), "folded": tmpfile(".folded"), "folded-alloc": tmpfile(".folded")}
    args = []
    for flag, path in files.items():
        args += ["--" + flag, path]
    try:
        r, p = trace_json(args, [KNOWN])
        assert p.returncode == 0, p.stderr
        for path in files.values():
            assert os.stat(path).st_mode & 0o777 == 0o600, path
        with open(files["timeline"]) as f:
            trace = json.load(f)
        check_timeline(trace, r)
        live = read_folded(files["folded"])
        check_folded(live, read_folded(files["folded-alloc"]), r)
    finally:
        for path in files.values():
            if os.path.exists(path):
                os.unlink(path)
    # known.c's 4 live sites, all allocated in main: 1800 B of `g`, 500,
    # 200 of `kept`, 1
    assert sorted(n for _, n in live) == [1, 200, 500, 1800] and all(f[-1] == "main" for f, _ in live), live
    # its scopes and tasks on the timeline
    names = sorted(e["name"] for e in trace["traceEvents"] if e["ph"] == "X")
    assert names == ["loop"] * 5 + ["work"], names
    tasks = sorted(e["name"] for e in trace["traceEvents"] if e["ph"] == "b")
    assert tasks == ["batch"] * 3 + ["clean", "worker"], tasks


def test_stack_depth():
    """--stack-depth N: at most N frames per allocation; 0: none (the
    blocks are still found, one site for all)."""
    r, _ = trace_json([], [prog("leaks")])
    (small,) = {tuple(f["function"] for f in l["stack"]) for l in r["leaks"] if l["variable"] == "small"}
    assert small[:3] == ("leak_small", "main", "__libc_start_call_main"), small
    r2, _ = trace_json(["--stack-depth", "2"], [prog("leaks")])
    got = {tuple(f["function"] for f in l["stack"]) for l in r2["leaks"] if l["variable"] == "small"}
    assert got == {small[:2]}, (got, small)
    # an inline frame shares its caller's address: N addresses, more frames
    assert all(1 <= len({f["ip"] for f in l["stack"]}) <= 2 for l in r2["leaks"]), r2["leaks"]
    assert all(l["truncated"] for l in r2["leaks"] if len(l["stack"]) == 2), r2["leaks"]
    r0, _ = trace_json(["--stack-depth", "0"], [prog("leaks")])
    assert sorted(l["size"] for l in r0["leaks"]) == sorted(l["size"] for l in r["leaks"])
    assert all(l["stack"] == [] for l in r0["leaks"]), r0["leaks"]
    # one site, split by the leak check's classes (issue 19): one entry per class
    sites = r0["leak_sites"]
    assert sorted(s["reachability"] for s in sites) == sorted({l["reachability"] for l in r0["leaks"]}), sites
    assert all(s["stack"] == [] for s in sites), sites
    assert (sum(s["count"] for s in sites), sum(s["bytes"] for s in sites)) == \
        (len(r0["leaks"]), r0["summary"]["live_bytes"]), sites
    assert r0["summary"]["stack_failures"] == 0


def test_max_live_in_light_mode():
    """Light mode keeps the program's MEMSCOPE_ALLOC blocks in BPF's live
    map, sized by --max-live: leaks.c's pool has 2 blocks of 64, one of
    which it frees; with room for 1, the second is counted as overflow."""
    r, _ = trace_json(["-m", "light"], [prog("leaks")])
    s = r["summary"]
    assert (s["live_map_full"], s["allocs"], s["frees"]) == (0, 2, 1), s
    assert [(l["size"], l["kind"], l["variable"]) for l in r["leaks"]] == [(64, "custom", "p2")], r["leaks"]
    r, _ = trace_json(["-m", "light", "--max-live", "1"], [prog("leaks")])
    s = r["summary"]
    assert s["live_map_full"] == 1 and s["untracked_allocs"] == 1, s


def test_verbose_says_what_is_attached_where():
    """-v names every probe attached, the file and the process, and where
    each allocator probe went: the target's memory has a breakpoint at
    every offset it names. And -- CMD held the program until then: all of
    it is in place by the program's first line of output."""
    need_root()
    out = tmpfile()
    tr = subprocess.Popen([TRACER, "-v", "-o", out, "--", prog("attach_frees")], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    child = None
    try:
        assert tr.stdout.readline() == "ready\n"
        child = traced_child(tr)
        assert semaphores_raised(child, every=True)
        said = read_available(tr.stderr).splitlines()
        exe = os.path.realpath(prog("attach_frees"))
        usdt = {m.group(1) for m in (re.match(r"memscope-trace: attached memscope:(\w+) in (\S+) for PID (\d+)$", l)
                                     for l in said) if m and os.path.realpath(m.group(2)) == exe
                and int(m.group(3)) == child}
        assert usdt == {"var"}, said    # attach_frees.c uses TRACK_VAR only
        where = {}
        for l in said:
            m = re.match(r"memscope-trace: (\w+) in (\S+/libc\.so\.6) at \+(\d+): .+$", l)
            if m:
                where[m.group(1)] = int(m.group(3))
        assert {"malloc", "free", "calloc", "realloc"} <= set(where), said
        for fn, off in where.items():
            assert int3_at(child, "/libc.so.6", fn, off), (fn, off, code_bytes(child, "/libc.so.6", fn))
    finally:
        if child:
            os.kill(child, signal.SIGUSR1)
        tr.wait(timeout=60)
        if os.path.exists(out):
            os.unlink(out)
    assert tr.returncode == 0
