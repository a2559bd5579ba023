# SPDX-License-Identifier: BSD-3-Clause
"""Issue 6: memscope-trace --mode sampled with libmemscope_sample.so."""
import json
import math
import os
import signal
import subprocess

from harness import TRACER, need_root, prog, start_tracer, tmpfile, trace_json, wait_attached

LIB = os.path.join(os.path.dirname(prog("x")), "..", "libmemscope_sample.so")


R = 65536  # MEMSCOPE_SAMPLE_INTERVAL in these runs


def true_sd(blocks, r=R):
    """Standard deviation of the summed weights over blocks [(count, size)]:
    a block of size s is sampled with probability p = 1 - exp(-s/R) and
    weighs s/p (sample/README.md), so its weight's variance is
    s^2 (1 - p) / p. Known from the program alone, not from the tool."""
    var = 0.0
    for count, size in blocks:
        p = -math.expm1(-size / r)
        var += count * size * size * (1 - p) / p
    return math.sqrt(var)


def check_estimate(est, blocks, what):
    """The estimate within 3.5 true standard deviations of the true sum,
    and the stated stddev an honest one: within 0.6-1.6x the true one."""
    true = sum(c * s for c, s in blocks)
    sd = true_sd(blocks)
    assert abs(est["estimate"] - true) <= 3.5 * sd, (what, est, true, sd)
    assert 0.6 * sd <= est["stddev"] <= 1.6 * sd, (what, est, sd)


def test_sampled_estimates_per_site_within_error_bars():
    env = dict(os.environ, MEMSCOPE_SAMPLE_INTERVAL=str(R), MEMSCOPE_SAMPLE_SEED="7")
    r, p = trace_json(["-m", "sampled"], [prog("sampled_known")], env=env)
    assert p.returncode == 0 and p.stdout == "sampled_known done\n", p.stderr
    s = r["sampled"]
    assert "estimates" in s["note"] and s["interval_bytes"] == R
    # sites told apart by their mean block size (in-use bytes / objects)
    sites = {}
    for site in s["sites"]:
        if site["inuse_objects"]["estimate"] > 0:
            size = site["inuse_space"]["estimate"] / site["inuse_objects"]["estimate"]
            sites[round(size)] = site
    a, b = sites.get(16384), sites.get(512)
    assert a and b, sites.keys()
    check_estimate(a["inuse_space"], [(2048, 16384)], "alloc_a in use")
    check_estimate(b["inuse_space"], [(32768, 512)], "alloc_b in use")
    # stdout's 4096-byte buffer is the program's one other block
    live = [(2048, 16384), (32768, 512), (1, 4096)]
    check_estimate(s["inuse_space"], live, "in use")
    check_estimate(s["alloc_space"], live + [(20000, 1024)], "allocated")
    # every sampled churn block was freed: none of it is in use
    churn = [x for x in s["sites"] if any(f["function"] == "churn" for f in x["stack"])]
    assert churn and all(x["inuse_space"]["estimate"] == 0 for x in churn)
    assert r["invalid_frees"] == [] and r["double_frees"] == []


def test_sampled_attach_to_running_process():
    """Attached after the target allocated 48 MiB: estimates cover only
    what it allocates after, one block of 8 MiB, which at R = 64 KiB is
    sampled with probability 1 - e^-128 and weighs its size."""
    need_root()
    lib = os.path.realpath(LIB)
    env = dict(os.environ, LD_PRELOAD=lib, MEMSCOPE_SAMPLE_INTERVAL=str(R))
    t = subprocess.Popen([prog("sampled_known"), "usr1"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert t.stdout.readline() == "ready\n"
        out = tmpfile()
        tr = start_tracer(["-m", "sampled", "-p", str(t.pid), "-o", out])
        wait_attached(tr, t.pid, path=lib)   # the library's two probes are live
        t.send_signal(signal.SIGUSR1)
        assert t.stdout.read() == "late done\n"
        t.wait(timeout=30)
        assert tr.wait(timeout=60) == 0, tr.stderr.read()
    finally:
        if t.poll() is None:
            t.kill()
            t.wait()
    r = json.load(open(out))
    os.unlink(out)
    s = r["sampled"]
    assert r["mode"] == "sampled" and s["interval_bytes"] == R and not r["target"]["traced_from_start"]
    assert s["samples"] == 1 and s["live_samples"] == 1, s
    for k in ("inuse_space", "alloc_space"):
        assert s[k]["estimate"] == 8 << 20, (k, s[k])
    (site,) = [x for x in s["sites"] if x["inuse_space"]["estimate"] > 0]
    # (the frames above it are the sampling library's own)
    assert [f["function"] for f in site["stack"] if f["function"]][0] == "alloc_late", site
    assert [l["size"] for l in r["leaks"]] == [8 << 20], r["leaks"]


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
