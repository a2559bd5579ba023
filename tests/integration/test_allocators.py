# SPDX-License-Identifier: BSD-3-Clause
"""Real allocators, real servers (issue 16): every allocator API traced with
exact bytes, no single-stepped hot entry in any allocator library, the
sampling library safe with jemalloc, tcmalloc, mimalloc and redis-server,
the otel_memory USDT contract as a sample source, the target's fate in the
exit status, the cost estimate and the --budget."""
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import time

from harness import Skip, TRACER, need_root, prog, tmpfile, trace_json

# tests/progs/alloc_apis.cpp, built once per allocator (Makefile)
VARIANTS = {"glibc": "alloc_apis", "jemalloc": "alloc_apis_je",
            "tcmalloc": "alloc_apis_tc", "mimalloc": "alloc_apis_mi"}


def kept_blocks(stdout):
    """{address: (api, size)} of the 'kept ...' lines alloc_apis printed."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith("kept "):
            _, api, size, addr = line.split()
            out[int(addr, 16)] = (api, int(size))
    return out


def test_every_allocator_api_traced_with_exact_bytes():
    # malloc, calloc, realloc, aligned_alloc, posix_memalign, new, new[] and
    # each allocator's own API (mallocx/rallocx/xallocx, tc_*, mi_*): every
    # block kept is a leak of exactly its size at its address; every block
    # freed through the matching API (dallocx, sdallocx, tc_free_sized,
    # tc_delete_sized, mi_free_size ...) is gone, and no free is an error
    for name, exe in VARIANTS.items():
        r, p = trace_json([], [prog(exe), "keep"])
        assert p.returncode == 0, (name, p.stderr)
        kept = kept_blocks(p.stdout)
        assert len(kept) >= 7, (name, p.stdout)
        leaks = {int(l["address"], 16): l for l in r["leaks"]}
        for addr, (api, size) in kept.items():
            assert addr in leaks and leaks[addr]["size"] == size, (name, api, size, leaks.get(addr))
        # the 5xxx blocks were freed through the API under test
        assert not [l for l in r["leaks"] if 5000 < l["size"] < 6000], (name, r["leaks"])
        assert r["invalid_frees"] == [] and r["double_frees"] == [], \
            (name, r["invalid_frees"], r["double_frees"])
    # jemalloc's own kinds are named
    r, p = trace_json([], [prog("alloc_apis_je"), "keep"])
    kinds = {l["kind"] for l in r["leaks"]}
    assert {"mallocx", "rallocx", "xallocx"} <= kinds, kinds


def test_no_allocator_entry_is_single_stepped():
    # -v prints the probe place of every allocator entry in libc,
    # libstdc++, jemalloc, tcmalloc and mimalloc: none may sit on an
    # instruction the kernel single-steps (jemalloc's free starts with
    # mov %rdi,%rax, libstdc++'s operator new with endbr64); an entry that
    # cannot be probed says which probed entry sees its work
    seen = {}
    for name, exe in VARIANTS.items():
        out = tmpfile()
        p = subprocess.run([TRACER, "-v", "-o", out, "--", prog(exe), "keep"],
                           capture_output=True, text=True, timeout=60)
        os.unlink(out)
        assert p.returncode == 0, (name, p.stderr)
        placed = [l for l in p.stderr.splitlines() if re.search(r" in /\S+ (SINGLE-STEPPED )?at \+\d+: ", l)]
        assert placed, (name, p.stderr)
        assert not [l for l in p.stderr.splitlines() if "SINGLE-STEPPED" in l], (name, p.stderr)
        for l in p.stderr.splitlines():
            m = re.match(r"memscope-trace: (\S+) in (\S+) (at \+\d+|not probed)", l)
            if m:
                seen[(os.path.basename(m.group(2)).split(".so")[0], m.group(1))] = m.group(3)
    assert seen[("libjemalloc", "free")] == "at +48", seen.get(("libjemalloc", "free"))
    assert seen[("libc", "free")] == "at +3"
    assert seen[("libstdc++", "_Znwm")] == "at +12"
    assert seen[("libstdc++", "_ZnwmRKSt9nothrow_t")] == "not probed"
    for lib in ("libtcmalloc_minimal", "libmimalloc"):
        assert seen[(lib, "malloc")].startswith("at +") and seen[(lib, "free")].startswith("at +"), lib


def test_sampled_mode_keeps_each_allocator_whole():
    # the sampling library forwards to whatever defines malloc next: the
    # churn workload (every family member, C++ operators, jemalloc's API;
    # every byte read back, every usable size summed) prints the same
    # checksum with and without it, and samples are taken
    env = dict(os.environ, MEMSCOPE_SAMPLE_INTERVAL="4096")
    for name, exe in VARIANTS.items():
        plain = subprocess.run([prog(exe), "churn", "20000"], capture_output=True, text=True, timeout=60)
        assert plain.returncode == 0 and plain.stdout.startswith("churn "), (name, plain.stderr)
        r, p = trace_json(["-m", "sampled"], [prog(exe), "churn", "20000"], env=env)
        assert p.returncode == 0 and p.stdout == plain.stdout, (name, p.stdout, plain.stdout, p.stderr)
        assert r["sampled"]["samples"] > 100, (name, r["sampled"]["samples"])
        assert r["target"]["exit_code"] == 0, (name, r["target"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_redis_server_under_sampled_mode_answers_and_exits_cleanly():
    # Debian's redis-server links jemalloc and asks it for usable sizes:
    # the sampling library used to hand it glibc blocks (SIGSEGV at once)
    need_root()
    if not shutil.which("redis-server") or not shutil.which("redis-benchmark"):
        raise Skip("redis-server / redis-benchmark not installed (make deps)")
    port = str(free_port())
    out = tmpfile()
    env = dict(os.environ, MEMSCOPE_SAMPLE_INTERVAL="65536")
    tr = subprocess.Popen([TRACER, "-m", "sampled", "-o", out, "--", "redis-server", "--port", port,
                           "--save", "", "--appendonly", "no"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env)
    try:
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", port, "ping"], capture_output=True,
                              text=True).stdout.strip() == "PONG":
                break
            time.sleep(0.1)
        b = subprocess.run(["redis-benchmark", "-p", port, "-t", "set,get", "-n", "20000", "-r", "50000",
                            "-d", "200", "-q"], capture_output=True, text=True, timeout=120)
        assert re.search(r"SET: [\d.]+ requests per second", b.stdout) and \
            re.search(r"GET: [\d.]+ requests per second", b.stdout), b.stdout + b.stderr
        subprocess.run(["redis-cli", "-p", port, "shutdown", "nosave"], capture_output=True, timeout=30)
        _, err = tr.communicate(timeout=60)
    finally:
        if tr.poll() is None:
            tr.kill()
            tr.wait()
    with open(out) as f:
        r = json.load(f)
    os.unlink(out)
    assert tr.returncode == 0, err
    assert r["target"]["exited"] and r["target"]["exit_code"] == 0 and r["target"]["signal"] is None, r["target"]
    assert r["sampled"]["samples"] > 10, r["sampled"]


def test_otel_memory_probes_are_a_sample_source():
    # an allocator that samples on its own fires otel_memory:alloc(ptr,
    # size, weight) and otel_memory:free(ptr): 10 samples of weight 10000,
    # 5 freed (tests/progs/otel_sampler.c); no sampling library needed
    r, p = trace_json(["-m", "sampled"], [prog("otel_sampler")])
    assert p.returncode == 0 and p.stdout == "done\n", p.stderr
    s = r["sampled"]
    assert s["samples"] == 10 and s["live_samples"] == 5, s
    assert s["alloc_space"]["estimate"] == 100000 and s["inuse_space"]["estimate"] == 50000, s
    assert sorted((l["size"], l["kind"]) for l in r["leaks"]) == [(1000, "otel")] * 5, r["leaks"]


def test_target_fate_is_the_exit_status():
    # a command memscope-trace started: its exit status, or 128 + signal,
    # with one line on stderr naming it; attached with -p: the line, exit 0
    need_root()
    out = tmpfile()
    p = subprocess.run([TRACER, "-o", out, "--", "sh", "-c", "kill -SEGV $$"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 128 + signal.SIGSEGV, (p.returncode, p.stderr)
    assert re.search(r"killed by signal 11 \(SIGSEGV\)", p.stderr), p.stderr
    p = subprocess.run([TRACER, "-o", out, "--", "sh", "-c", "exit 3"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 3 and "exited with status 3" in p.stderr, (p.returncode, p.stderr)
    p = subprocess.run([TRACER, "-o", out, "--", "true"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "exited with" not in p.stderr and "killed" not in p.stderr, p.stderr
    target = subprocess.Popen(["sh", "-c", "sleep 1.5; kill -ABRT $$"])
    p = subprocess.run([TRACER, "-o", out, "-p", str(target.pid)], capture_output=True, text=True,
                       timeout=60)
    target.wait()
    os.unlink(out)
    assert p.returncode == 0 and re.search(r"killed by signal 6 \(SIGABRT\)", p.stderr), \
        (p.returncode, p.stderr)


def ns_per_op(stdout):
    """ns of CPU per operation of each malloc_rate window."""
    return [int(c) / int(o) for o, c in re.findall(r"^window (\d+) (\d+)$", stdout, re.M) if int(o)]


def test_budget_keeps_the_target_within_its_cpu_band():
    # a malloc-heavy target (a malloc and a free per operation, ~10 ns
    # untraced, ~1000x that with every allocation traced), attached with
    # -p --budget 10 after 1.5 s untraced: the tracer backs off to light
    # within seconds; the last seconds' CPU per operation stays near the
    # same process's untraced windows (10% budget: 1.11x; 1.5x allowed for
    # this shared machine; the same process, because two processes of one
    # program can differ by 1.5x for their whole lives). The report names
    # the level and the coverage, and lists no leak whose free could have
    # been missed (the program frees everything).
    need_root()
    target = subprocess.Popen([prog("malloc_rate"), "10"], stdout=subprocess.PIPE, text=True)
    lines = [target.stdout.readline() for _ in range(6)]
    base = statistics.median(ns_per_op("".join(lines))[2:])
    out = tmpfile()
    tr = subprocess.Popen([TRACER, "-p", str(target.pid), "--budget", "10", "-i", "1", "-o", out],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rest, _ = target.communicate(timeout=60)
    _, err = tr.communicate(timeout=60)
    with open(out) as f:
        r = json.load(f)
    os.unlink(out)
    assert target.returncode == 0 and rest.endswith("done\n") and tr.returncode == 0, err
    traced = statistics.median(ns_per_op(rest)[-8:])
    assert traced <= 1.5 * base, (traced, base, ns_per_op(rest), err)
    b = r["summary"]["budget"]
    assert b["pct"] == 10 and b["level"] >= 1 and b["level_name"], b
    assert 0 < b["coverage"] < 1 and b["gaps"] >= 1, b
    assert r["leaks"] == [] and r["invalid_frees"] == [] and r["double_frees"] == [], \
        (r["leaks"][:3], r["invalid_frees"][:3], r["double_frees"][:3])
    assert r["summary"]["unverified_live"]["count"] > 0, r["summary"]["unverified_live"]
    # the live view shows the cost and the level
    assert "cost to the target:" in err and "budget 10.0%:" in err, err
    assert "tracing costs the target" in err, err


def test_cost_estimate_per_probe():
    # every allocator probe's hits and the estimate in the report, and -v
    # prints them per probe: malloc_rate makes one malloc and one free per
    # operation, all of them seen (no budget with -- CMD); the live view
    # (-i 1) shows the cost now and the costliest probes' hit rates
    r, p = trace_json(["-v", "-i", "1"], [prog("malloc_rate"), "2.5"])
    assert p.returncode == 0, p.stderr
    ops = sum(int(o) for o, _ in re.findall(r"^window (\d+) (\d+)$", p.stdout, re.M))
    hits = {(h["probe"], h["return"]): h["hits"] for h in r["summary"]["probe_hits"]
            if "libc.so" in h["library"]}
    assert hits[("free", False)] >= ops and hits[("malloc", False)] >= ops, (ops, hits)
    assert hits[("malloc", True)] >= ops, hits
    c = r["summary"]["estimated_cost"]
    assert c["trap_ns"]["emulated"] > 0 and c["ns"] > 0 and 0 < c["pct"] <= 100, c
    assert re.search(r"probe free in \S+libc\S* \+3 \(emulated\): \d+ hits, \d+/s at the end, "
                     r"~[\d.]+ ms$", p.stderr, re.M), p.stderr
    assert re.search(r"^memscope-trace: cost to the target: [\d.]+ ms estimated of [\d.]+ ms of its "
                     r"CPU \([\d.]+%; BPF run time [\d.]+ ms\)$", p.stderr, re.M), p.stderr
    live = re.findall(r"^  cost to the target: ([\d.]+)% of its CPU now \(([\d.]+) ms/s\), "
                      r"[\d.]+% over the run$", p.stderr, re.M)
    assert live and float(live[-1][0]) > 0 and float(live[-1][1]) > 0, p.stderr
    rates = {m[0]: (float(m[1]), float(m[2])) for m in
             re.findall(r"^  probe (\S+) +([\d.]+) hits/s +([\d.]+) ms/s  emulated$", p.stderr, re.M)}
    assert rates.get("free", (0, 0))[0] > 1000 and rates["free"][1] > 0, p.stderr
    assert rates.get("malloc", (0, 0))[0] > 1000, p.stderr
