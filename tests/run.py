#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""memscope's test runner: C unit tests (each prints PASS/FAIL lines) and
Python integration tests (functions test_* in tests/integration/*.py).
Ends with the line `N passed, N failed[, N skipped]`; exits 1 on failure.
Usage: tests/run.py [substring ...] to run only matching tests.

Integration tests spend most of their time waiting for the kernel to
register and remove uprobes; MEMSCOPE_TEST_JOBS=N (default 1)
runs them in N processes (uprobe registration contends in the kernel, so this
helps little and makes timing-sensitive tests flaky); tests whose figures
depend on a quiet machine (load,
timing, memory growth) run alone afterwards."""
import importlib.util
import os
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from harness import Skip  # noqa: E402

results = {"passed": 0, "failed": 0, "skipped": 0}
failures = []


def selected(name):
    return len(sys.argv) < 2 or any(s in name for s in sys.argv[1:])


def record(name, outcome, detail="", secs=0.0):
    results[outcome] += 1
    tag = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[outcome]
    print("%s %s (%.1fs)%s" % (tag, name, secs, (": " + detail) if detail else ""), flush=True)
    if outcome == "failed":
        failures.append(name)


def run_unit():
    d = os.path.join(ROOT, ".output", "unit")
    if not os.path.isdir(d):
        return
    for exe in sorted(os.listdir(d)):
        name = "unit/" + exe
        if not selected(name):
            continue
        t = time.time()
        p = subprocess.run([os.path.join(d, exe)], capture_output=True, text=True, cwd=ROOT, timeout=300)
        cases = 0
        for line in p.stdout.splitlines():
            if line.startswith("PASS "):
                cases += 1
                record("%s:%s" % (name, line[5:].split()[0]), "passed")
            elif line.startswith("FAIL "):
                cases += 1
                record("%s:%s" % (name, line[5:].split(":")[0]), "failed", line[5:])
        if p.returncode != 0 and not any(l.startswith("FAIL ") for l in p.stdout.splitlines()):
            record(name, "failed", "exit %d: %s" % (p.returncode, (p.stderr or p.stdout)[-2000:]), time.time() - t)
        elif cases == 0:
            record(name, "failed", "no test cases reported")


# Tests that need the machine to themselves (names contain one of these).
EXCLUSIVE = ("soak", "stopped_then_continued", "two_tracers", "estimates", "thousand_threads",
             "sigkill", "wrk", "budget")


def load_tests():
    d = os.path.join(HERE, "integration")
    tests, broken = [], []
    for fn in sorted(os.listdir(d)):
        if not fn.startswith("test_") or not fn.endswith(".py"):
            continue
        spec = importlib.util.spec_from_file_location(fn[:-3], os.path.join(d, fn))
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
        except Exception:
            broken.append((fn, traceback.format_exc(limit=3)))
            continue
        for attr in sorted(a for a in dir(mod) if a.startswith("test_")):
            name = "%s::%s" % (fn[:-3], attr)
            if selected(name):
                tests.append((name, os.path.join(d, fn), attr))
    return tests, broken


def run_one(job):
    """Runs in a worker process: (name, outcome, detail, seconds)."""
    name, path, attr = job
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    t = time.time()
    try:
        spec.loader.exec_module(mod)
        getattr(mod, attr)()
    except Skip as e:
        return name, "skipped", str(e), time.time() - t
    except Exception:
        return name, "failed", traceback.format_exc(limit=4).strip().replace("\n", "\n    "), time.time() - t
    return name, "passed", "", time.time() - t


def run_integration():
    import multiprocessing

    tests, broken = load_tests()
    for fn, tb in broken:
        record(fn, "failed", tb)
    shared = [t for t in tests if not any(x in t[0] for x in EXCLUSIVE)]
    alone = [t for t in tests if any(x in t[0] for x in EXCLUSIVE)]
    jobs = int(os.environ.get("MEMSCOPE_TEST_JOBS", "1"))
    if jobs > 1 and len(shared) > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for res in pool.imap_unordered(run_one, shared):
                record(*res[:3], secs=res[3])
    else:
        for t in shared:
            res = run_one(t)
            record(*res[:3], secs=res[3])
    for t in alone:
        res = run_one(t)
        record(*res[:3], secs=res[3])


def main():
    os.chdir(ROOT)
    run_unit()
    run_integration()
    if failures:
        print("\nfailed:\n  " + "\n  ".join(failures))
    line = "%d passed, %d failed" % (results["passed"], results["failed"])
    if results["skipped"]:
        line += ", %d skipped" % results["skipped"]
    print(line)
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
