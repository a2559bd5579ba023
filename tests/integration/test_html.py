# SPDX-License-Identifier: BSD-3-Clause
"""Issue 5: the HTML report rendered in headless Chromium (Debian's
`chromium`): no console errors, no script run from target-supplied names,
figures shown in the page equal to the JSON report's, and a page for
100,000 live blocks that stays small and renders quickly.

The pages come from tests/unit/test_reports.c (`--emit DIR`), which feeds
the registry synthetic records with hostile names; once memscope-trace has
`--html`, a real trace of tests/progs/leaks is checked too (as root).

Chromium is driven through the DevTools protocol over
--remote-debugging-pipe (stdlib only): that reports console messages,
uncaught exceptions and JavaScript dialogs, which --dump-dom cannot.
Run standalone with `python3 tests/integration/test_html.py`."""
import atexit
import glob
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import ROOT, Skip, prog, trace_json  # noqa: E402
from report_checks import check_folded, check_timeline, read_folded  # noqa: E402

TRACER = os.path.join(ROOT, ".output", "memscope-trace")
LOST = ("definitely_lost", "indirectly_lost", "possibly_lost")

CARDS = {  # page element id -> how to get its figure from the JSON report
    "card-allocs": lambda r: r["summary"]["allocs"],
    "card-frees": lambda r: r["summary"]["frees"],
    "card-live": lambda r: r["summary"]["live_bytes"],
    "card-peak": lambda r: r["summary"]["peak_live_bytes"],
    # classified by the leak check: only the lost blocks are leaks
    "card-leaks": lambda r: (sum(b["reachability"] in LOST for b in r["leaks"] + r["live"])
                             if r.get("leak_check", {}).get("classified") else len(r["leaks"])),
    "card-variables": lambda r: r["summary"]["variables"],
    "card-scopes": lambda r: r["summary"]["scopes"],
    "card-tasks": lambda r: r["summary"]["tasks"],
    "card-dropped": lambda r: r["summary"]["dropped_events"],
    "card-errors": lambda r: len(r["invalid_frees"]) + len(r["double_frees"]),
}


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise Skip("chromium not installed (Debian package `chromium`)")


class Browser:
    """One headless Chromium, one page, DevTools protocol over a pipe
    (fd 3: commands to the browser, fd 4: replies and events, each JSON
    message ended by a NUL byte)."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="memscope-chromium-")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():
            # In the child: move both ends above 3/4 first so the two dup2
            # cannot clobber each other, then put them where Chromium looks.
            # dup2 leaves them inheritable; every other fd Python made is
            # close-on-exec (PEP 446), hence close_fds=False below.
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.close(a)
            os.close(b)

        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--no-default-browser-check", "--user-data-dir=" + self.profile,
             "--enable-logging=stderr", "--v=0", "--remote-debugging-pipe", "--window-size=1400,1000",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            preexec_fn=fds, close_fds=False)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
            self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                     session=False)["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                self.call(domain + ".enable")
        except Exception:
            self.close()
            raise

    def _read(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("chromium did not answer in time; its log:\n" + self.stderr())
            ready, _, _ = select.select([self.from_chrome], [], [], left)
            if ready:
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise AssertionError("chromium exited; its log:\n" + self.stderr())
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        m = json.loads(msg)
        if m.get("method") == "Page.javascriptDialogOpening":
            # An alert() blocks the page (and its load event) until
            # answered: dismiss it; problems() reports it.
            self.send("Page.handleJavaScriptDialog", {"accept": False})
        return m

    def send(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def call(self, method, params=None, session=True, timeout=30):
        want = self.send(method, params, session)
        deadline = time.time() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == want:
                if "error" in m:
                    raise AssertionError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method, timeout=30):
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["method"] == method:
                    return self.events.pop(i)
            m = self._read(deadline)
            if "method" in m:
                self.events.append(m)

    def open(self, path, timeout=30):
        """Navigate to a file and wait for its load event; returns seconds."""
        t0 = time.time()
        self.call("Page.navigate", {"url": "file://" + os.path.abspath(path)})
        self.wait_event("Page.loadEventFired", timeout)
        return time.time() - t0

    def eval(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        if "exceptionDetails" in r:
            raise AssertionError("evaluate %r: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def problems(self):
        """Console errors and warnings, uncaught exceptions, dialogs."""
        self.call("Runtime.evaluate", {"expression": "0"})  # drain pending events
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                out.append("exception: %s" % p["exceptionDetails"].get("exception", {}).get(
                    "description", p["exceptionDetails"].get("text")))
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
                out.append("console.%s: %s" % (p["type"], [a.get("value", a.get("description")) for a in p["args"]]))
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                out.append("log %s: %s" % (p["entry"]["level"], p["entry"]["text"]))
            elif e["method"] == "Page.javascriptDialogOpening":
                out.append("dialog opened: %s" % p.get("message"))
        return out

    def screenshot(self, path):
        import base64
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def stderr(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def close(self):
        try:
            if self.proc.poll() is None:
                try:
                    os.write(self.to_chrome, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
                except OSError:
                    pass
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            for fd in (self.to_chrome, self.from_chrome):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)


_emitter = []


def emitter():
    """The report-writing driver: tests/unit/test_reports.c, built here
    (without sanitizers, so the 100,000-block page is quick) once per run."""
    if _emitter:
        return _emitter[0]
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise Skip("no C compiler to build the report driver")
    d = tempfile.mkdtemp(prefix="memscope-emit-")
    atexit.register(shutil.rmtree, d, True)
    out = os.path.join(d, "test_reports")
    # the core the unit tests link (Makefile CORE_DIRS), the page it embeds
    # and the C protoc-c generated for the pprof writer (both made by make)
    srcs = [os.path.join(ROOT, "tests", "unit", "test_reports.c")] + sorted(
        f for d in ("util", "registry", "report") for f in glob.glob(os.path.join(ROOT, "user", d, "*.c")))
    srcs.append(os.path.join(ROOT, ".output", "report", "profile.pb-c.c"))
    subprocess.run(["make", "-s", os.path.join(".output", "html_page.h"),
                    os.path.join(".output", "report", "profile.pb-c.c")], cwd=ROOT, check=True)
    subprocess.run([cc, "-O1", "-std=gnu11", "-Iinclude", "-Iuser", "-I.output"] + srcs +
                   ["-o", out, "-lm", "-lprotobuf-c", "-lz"], cwd=ROOT, check=True, capture_output=True)
    _emitter.append(out)
    return out


def emit(blocks=0):
    d = tempfile.mkdtemp(prefix="memscope-html-")
    subprocess.run([emitter(), "--emit", d, "--blocks", str(blocks)], check=True, timeout=300)
    with open(os.path.join(d, "report.json")) as f:
        report = json.load(f)
    return d, report


def page_state(b):
    return b.eval("""(() => {
        const cards = {};
        document.querySelectorAll('.card').forEach(c => cards[c.id] = [c.dataset.value, c.innerText]);
        const rows = id => document.querySelectorAll('#' + id + ' tbody tr.row').length;
        return {
            ready: document.body.dataset.ready || null,
            error: document.getElementById('js-error').hidden ? null : document.getElementById('js-error').textContent,
            cards: cards,
            scripts: document.querySelectorAll('script').length,
            injected: document.querySelectorAll('img, iframe, object, embed, link').length,
            text: document.body.innerText,
            title: document.title,
            rows: {leaks: rows('table-leaks'), blocks: rows('table-blocks'), sites: rows('table-sites'),
                   vars: rows('table-vars'), tasks: rows('table-tasks'), bad: rows('table-bad')},
            charts: ['chart-memory', 'chart-tasks', 'chart-size-hist', 'chart-life-hist']
                .filter(id => document.getElementById(id)),
            tree: document.querySelectorAll('#scope-tree li').length,
            tags: [...document.querySelectorAll('#table-leaks .tag')].map(e => [e.textContent, e.className]),
        };
    })()""")


def check_cards(state, report):
    for cid, fig in CARDS.items():
        assert cid in state["cards"], "missing card %s" % cid
        value, text = state["cards"][cid]
        want = fig(report)
        assert int(value) == want, "%s shows %s, JSON report says %s" % (cid, value, want)
        if cid not in ("card-leaks",) or report["target"]["exited"]:
            assert "{:,}".format(want) in text, "%s text %r lacks %s" % (cid, text, want)


def render(path, shot=None):
    b = Browser()
    try:
        secs = b.open(path)
        state = page_state(b)
        problems = b.problems()
        if shot:
            b.screenshot(shot)
        return secs, state, problems, b
    finally:
        b.close()


def test_page_renders_without_errors_and_matches_json():
    d, report = emit()
    secs, st, problems, _ = render(os.path.join(d, "report.html"),
                                   os.environ.get("MEMSCOPE_HTML_SHOT"))
    assert problems == [], problems
    assert st["ready"] == "1" and st["error"] is None, st["error"]
    check_cards(st, report)
    # hostile names shown as text, never run or parsed as markup
    assert st["scripts"] == 2 and st["injected"] == 0
    assert "<script>alert(1)</script>" in st["text"]
    assert "<img src=x onerror=alert(3)>" in st["text"]
    assert st["title"].startswith("memscope: prog")
    # every section drew something
    assert st["rows"] == {"leaks": len(report["leak_sites"]), "blocks": len(report["leaks"]),
                          "sites": 3, "vars": len(report["variables"]), "tasks": len(report["tasks"]),
                          "bad": len(report["invalid_frees"]) + len(report["double_frees"])}, st["rows"]
    assert st["charts"] == ["chart-memory", "chart-tasks", "chart-size-hist", "chart-life-hist"]
    assert st["tree"] == 3  # three scope paths, the two roots and the child expanded
    shutil.rmtree(d)


def page_data(path):
    """The JSON in the page's data element."""
    with open(path, encoding="utf-8") as f:
        page = f.read()
    start = page.index('<script type="application/json" id="data">') + len('<script type="application/json" id="data">')
    return json.loads(page[start:page.index("</script>", start)])


def test_page_data_is_the_json_reports():
    """One writer per shape: every object the page shares with the JSON
    report (target, summary, variables, tasks, blocks, sites, bad frees,
    stacks, histograms, timeline) is the report's object, key for key; the
    page only adds scope and task names and caps its lists."""
    d, report = emit()
    page = page_data(os.path.join(d, "report.html"))
    frames = page["frames"]

    def inline(o):  # the page's stacks are indices into its frame table
        o = dict(o)
        if "stack" in o:
            o["stack"] = [frames[i] for i in o["stack"]]
        return o

    def shared(o, extra=("scope_name", "task_name")):
        assert set(extra) <= set(o), (extra, o)
        return inline({k: v for k, v in o.items() if k not in extra})

    for key in ("version", "tool", "mode", "target", "stop_reason", "summary", "temporaries",
                "memory_timeline", "size_histogram", "lifetime_histogram_ns"):
        assert page[key] == report[key], key
    assert list(page["summary"]) == list(report["summary"])  # same keys, same order
    by_id = {v["id"]: v for v in report["variables"]}
    assert page["variables"]["total"] == len(report["variables"]) == len(page["variables"]["rows"])
    for v in page["variables"]["rows"]:
        assert shared(v) == by_id[v["id"]], v
    tasks = {t["id"]: t for t in report["tasks"]}
    assert sorted(t["id"] for t in page["tasks"]["rows"]) == sorted(tasks)
    for t in page["tasks"]["rows"]:
        assert t == tasks[t["id"]], t
    assert report["target"]["exited"] and page["live"]["rows"] == [] and page["live_sites"]["rows"] == []
    blocks = {b["address"]: b for b in report["leaks"]}
    assert page["leaks"]["total"] == len(blocks) == len(page["leaks"]["rows"])
    for b in page["leaks"]["rows"]:
        assert shared(b) == blocks[b["address"]], b
    assert [shared(s, ("example",)) for s in page["leak_sites"]["rows"]] == report["leak_sites"]
    for s in page["leak_sites"]["rows"]:
        assert shared(s["example"]) == blocks[s["example"]["address"]]
    for key in ("invalid_frees", "double_frees"):
        assert page[key]["total"] == len(report[key]) > 0
        assert [shared(f) for f in page[key]["rows"]] == report[key], key
    # the names the page adds are the ones the ids stand for
    scopes = {s["id"]: s["name"] for s in report["scopes"]}
    for v in page["variables"]["rows"]:
        assert v["scope_name"] == scopes.get(v["scope"]) and v["task_name"] == (tasks[v["task"]]["name"] if v["task"] else None)
    shutil.rmtree(d)


def test_leak_row_expands_to_symbolized_stack():
    d, report = emit()
    b = Browser()
    try:
        b.open(os.path.join(d, "report.html"))
        frames = b.eval("""(() => {
            document.querySelector('#table-leaks tbody tr.row').click();
            return [...document.querySelectorAll('#table-leaks tr.detail ol.stack .fn')].map(e => e.textContent);
        })()""")
        top = report["leak_sites"][0]["stack"]
        assert frames == [f["function"] or "libx.so+" + hex(int(f["ip"], 16) - 1) for f in top], (frames, top)
        # sorting by a column and paging keep working
        order = b.eval("""(() => {
            const th = [...document.querySelectorAll('#table-leaks th')].find(t => t.textContent === 'blocks');
            th.click();
            return [...document.querySelectorAll('#table-leaks tbody tr.row td:nth-child(2)')].map(e => e.textContent);
        })()""")
        assert order == sorted(order, key=lambda s: -int(s.replace(",", ""))), order
        assert b.problems() == []
    finally:
        b.close()
        shutil.rmtree(d)


def test_large_trace_page_is_small_and_fast():
    d, report = emit(100000)
    path = os.path.join(d, "report.html")
    size = os.path.getsize(path)
    assert size < 3 << 20, "page is %d bytes" % size
    assert report["summary"]["live_allocs"] == 100003
    secs, st, problems, _ = render(path)
    assert problems == [], problems
    assert st["ready"] == "1"
    assert secs < 10, "page took %.1f s to load" % secs
    check_cards(st, report)
    assert st["rows"]["blocks"] == 25  # one page of the 1,000 largest
    assert "of 1,000" in st["text"] and "largest of 100,003 live blocks" in st["text"]
    shutil.rmtree(d)


def test_timeline_matches_json():
    """trace.json: valid trace-event JSON whose slices, async tasks and
    counter are the JSON report's scopes, tasks and memory timeline."""
    d, report = emit()
    with open(os.path.join(d, "trace.json")) as f:
        check_timeline(json.load(f), report)
    shutil.rmtree(d)


def test_folded_matches_json():
    """live.folded / alloc.folded: `frame;...;frame BYTES`, root first,
    summing to the report's live and allocated bytes, one line per site."""
    d, report = emit()
    live = read_folded(os.path.join(d, "live.folded"))
    check_folded(live, read_folded(os.path.join(d, "alloc.folded")), report)
    assert all(frames[0] == "main" for frames, _ in live)
    shutil.rmtree(d)


PAGE = os.path.join(ROOT, "user", "report", "html")

# Run in a Python that has Debian's python3-tinycss2 (the test runner's own
# python3 may be another build): prints one line per parse error.
CSS_CHECK = r"""
import sys, tinycss2
errors = []
def walk(nodes, where):
    for n in nodes:
        if n.type == "error":
            errors.append("%s:%s: %s" % (where, n.source_line, n.message))
        elif n.type == "qualified-rule":
            walk(tinycss2.parse_declaration_list(n.content), where)
        elif n.type == "at-rule" and n.content is not None:
            walk(tinycss2.parse_rule_list(n.content), where)
        elif n.type == "declaration":
            walk(n.value, where)
        elif hasattr(n, "arguments"):
            walk(n.arguments, where)
        elif getattr(n, "content", None) and isinstance(n.content, list):
            walk(n.content, where)
with open(sys.argv[1], encoding="utf-8") as f:
    rules = tinycss2.parse_stylesheet(f.read(), skip_comments=True, skip_whitespace=True)
walk(rules, sys.argv[1])
print("\n".join(errors))
print("rules %d" % len(rules))
"""


def check_asset(name, open_tag, parse, broken):
    """user/report/html/NAME passes `parse` (a list of error lines, empty
    when the file parses), a broken one does not (the parser is really
    consulted), and the page the writer makes holds the file verbatim
    between open_tag and its closing tag (embedded at build time, not a
    copy)."""
    path = os.path.join(PAGE, name)
    assert parse(path) == [], parse(path)
    d, _ = emit()
    try:
        with open(os.path.join(d, "report.html"), encoding="utf-8") as f:
            page = f.read()
        with open(path, encoding="utf-8") as f:
            assert "<%s>\n%s</%s>" % (open_tag, f.read(), open_tag) in page
        bad = os.path.join(d, "broken-" + name)
        with open(bad, "w") as f:
            f.write(broken)
        assert parse(bad) != []
    finally:
        shutil.rmtree(d)


def test_page_script_parses_and_is_what_the_page_runs():
    """page.js is a real file, checked by node's parser."""
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        raise Skip("node not installed (Debian package `nodejs`)")

    def parse(path):
        p = subprocess.run([node, "--check", path], capture_output=True, text=True)
        return [] if p.returncode == 0 else p.stderr.splitlines() or ["exit %d" % p.returncode]
    check_asset("page.js", "script", parse, "function (] {")


def test_page_style_parses_and_is_what_the_page_uses():
    """page.css is a real file without a CSS parse error at any nesting
    level (tinycss2)."""
    for py in (sys.executable, "/usr/bin/python3"):
        if subprocess.run([py, "-c", "import tinycss2"], capture_output=True).returncode == 0:
            break
    else:
        raise Skip("tinycss2 not installed (Debian package `python3-tinycss2`)")

    def parse(path):
        out = subprocess.run([py, "-c", CSS_CHECK, path], capture_output=True, text=True, check=True)
        *errors, count = out.stdout.splitlines()
        assert count.startswith("rules "), out.stdout
        return [e for e in errors if e]
    check_asset("page.css", "style", parse, ".a{color:red;}\n.b{color:\"open string\n}\n")
    with open(os.path.join(PAGE, "page.css"), encoding="utf-8") as f:
        assert f.read().count("{") > 50  # the real style, not an empty file


def tracer_has_html():
    if not os.path.exists(TRACER):
        return False
    p = subprocess.run([TRACER, "--help"], capture_output=True, text=True)
    return "--html" in p.stdout + p.stderr


def test_traced_target_page_matches_json():
    if not tracer_has_html():
        raise Skip("memscope-trace has no --html yet")
    html = tempfile.mktemp(prefix="memscope-test-", suffix=".html")
    try:
        report, p = trace_json(["--html", html], [prog("leaks")])
        assert p.returncode == 0, p.stderr
        secs, st, problems, _ = render(html)
        assert problems == [], problems
        assert st["ready"] == "1"
        check_cards(st, report)
        assert "small" in st["text"] and "leak_small" in st["text"]
        # each site says its class; red only for the lost ones
        classes = {x["reachability"] for x in report["leak_sites"]}
        assert report["leak_check"]["classified"] and "still_reachable" in classes and classes & set(LOST)
        assert sorted(t.replace(" ", "_") for t, _ in st["tags"]) == sorted(
            x["reachability"] for x in report["leak_sites"])
        for text, cls in st["tags"]:
            assert ("bad" in cls.split()) == (text.replace(" ", "_") in LOST), (text, cls)
    finally:
        if os.path.exists(html):
            os.unlink(html)


if __name__ == "__main__":
    failed = 0
    for name in sorted(n for n in dir() if n.startswith("test_")):
        t = time.time()
        try:
            globals()[name]()
        except Skip as e:
            print("SKIP %s: %s" % (name, e))
        except Exception as e:  # noqa: BLE001 - report and go on
            failed += 1
            print("FAIL %s: %r" % (name, e))
        else:
            print("PASS %s (%.1fs)" % (name, time.time() - t))
    sys.exit(1 if failed else 0)
