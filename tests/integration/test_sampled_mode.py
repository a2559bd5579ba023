# SPDX-License-Identifier: BSD-3-Clause
"""Issue 6: memscope-trace --mode sampled with libmemscope_sample.so."""
import os
import subprocess
import time

from harness import TRACER, Skip, prog, tmpfile, trace_json, need_root

LIB = os.path.join(os.path.dirname(prog("x")), "..", "libmemscope_sample.so")


def within(est, true, k=3.5):
    return abs(est["estimate"] - true) <= k * est["stddev"] + 1, (est, true)


def test_sampled_estimates_per_site_within_error_bars():
    env = dict(os.environ, MEMSCOPE_SAMPLE_INTERVAL="65536", MEMSCOPE_SAMPLE_SEED="7")
    r, p = trace_json(["-m", "sampled"], [prog("sampled_known")], env=env)
    assert p.returncode == 0 and p.stdout == "sampled_known done\n", p.stderr
    s = r["sampled"]
    assert "estimates" in s["note"] and s["interval_bytes"] == 65536
    # sites told apart by their mean block size (in-use bytes / objects)
    sites = {}
    for site in s["sites"]:
        if site["inuse_objects"]["estimate"] > 0:
            size = site["inuse_space"]["estimate"] / site["inuse_objects"]["estimate"]
            sites[round(size)] = site
    a, b = sites.get(16384), sites.get(512)
    assert a and b, sites.keys()
    ok, why = within(a["inuse_space"], 2048 * 16384)
    assert ok, why
    ok, why = within(b["inuse_space"], 32768 * 512)
    assert ok, why
    ok, why = within(s["inuse_space"], 2048 * 16384 + 32768 * 512 + 4096)
    assert ok, why
    ok, why = within(s["alloc_space"], 2048 * 16384 + 32768 * 512 + 20000 * 1024 + 4096)
    assert ok, why
    # every sampled churn block was freed: none of it is in use
    churn = [x for x in s["sites"] if any(f["function"] == "churn" for f in x["stack"])]
    assert churn and all(x["inuse_space"]["estimate"] == 0 for x in churn)
    assert r["invalid_frees"] == [] and r["double_frees"] == []


def test_sampled_attach_to_running_process():
    need_root()
    env = dict(os.environ, LD_PRELOAD=os.path.realpath(LIB), MEMSCOPE_SAMPLE_INTERVAL="65536")
    # the target allocates first, then sleeps: in-use covers only since attach
    t = subprocess.Popen([prog("sampled_known"), "4"], env=env, stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    out = tmpfile()
    p = subprocess.run([TRACER, "-m", "sampled", "-p", str(t.pid), "-d", "1", "-o", out],
                       capture_output=True, text=True, timeout=60)
    t.kill()
    t.wait()
    assert p.returncode == 0, p.stderr
    import json
    r = json.load(open(out))
    os.unlink(out)
    assert r["mode"] == "sampled" and r["sampled"]["interval_bytes"] == 65536
    assert r["sampled"]["samples"] == 0   # nothing allocated after the attach


def test_sampled_refuses_static_and_unpreloaded():
    need_root()
    p = subprocess.run([TRACER, "-m", "sampled", "--", prog("leaks_static")], capture_output=True, text=True)
    assert p.returncode != 0 and "statically linked" in p.stderr and "--mode full" in p.stderr
    t = subprocess.Popen(["sleep", "5"])
    p = subprocess.run([TRACER, "-m", "sampled", "-p", str(t.pid)], capture_output=True, text=True)
    t.kill()
    t.wait()
    assert p.returncode != 0 and "libmemscope_sample.so" in p.stderr and str(t.pid) in p.stderr


def join_leak(args):
    env = dict(os.environ, MEMSCOPE_SAMPLE_INTERVAL="65536", MEMSCOPE_SAMPLE_SEED="3")
    r, p = trace_json(["-m", "sampled"] + args, [prog("sampled_join")], env=env)
    assert p.returncode == 0 and p.stdout == "sampled_join done 1\n", p.stderr
    big = [l for l in r["leaks"] if l["size"] == 8 << 20]
    assert len(big) == 1, r["leaks"]
    return r, big[0]


def test_sampled_with_probes_joins_names_scopes_tasks():
    r, leak = join_leak(["--with-probes"])
    assert leak["variable"] == "table", leak
    assert leak["task"] == 42, leak
    scopes = {s["id"]: s["name"] for s in r["scopes"]}
    assert scopes.get(leak["scope"]) == "load_table", (leak, scopes)
    tasks = {t["id"]: t for t in r["tasks"]}
    assert tasks[42]["name"] == "loader" and tasks[42]["live_bytes"] == 8 << 20, tasks


def test_sampled_without_probes_leaves_the_program_probes_alone():
    r, leak = join_leak([])
    # the sample is there, from the library alone; the program's own
    # probes were not attached (production default: no trap per request)
    assert leak["variable"] is None and leak["task"] is None and leak["scope"] is None, leak
    assert r["summary"]["variables"] == 0 and r["tasks"] == [], r["summary"]


def test_with_probes_outside_sampled_mode_is_refused():
    p = subprocess.run([TRACER, "--with-probes", "--", prog("sampled_join")], capture_output=True, text=True)
    assert p.returncode == 2 and "--with-probes" in p.stderr and p.stderr.count("\n") == 1, p.stderr
