# SPDX-License-Identifier: BSD-3-Clause
"""Issue 18 point 1: --pprof writes a gzip'ed profile.proto heap profile
that Go's own `go tool pprof` reads, whose totals are the JSON report's."""
import contextlib
import gzip
import os
import re
import shutil
import subprocess

from harness import TRACER, Skip, need_root, prog, tmpfile, trace_json

SAMPLE_TYPES = ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"]


def go_pprof(*args):
    if not shutil.which("go"):
        raise Skip("go (golang-go) is not installed: make deps")
    p = subprocess.run(["go", "tool", "pprof"] + list(args), capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, HOME=os.environ.get("HOME", "/root"),
                                GOCACHE=os.path.join(os.environ.get("TMPDIR", "/tmp"), "memscope-gocache")))
    assert p.returncode == 0, p.stderr
    return p.stdout


def raw_samples(path):
    """Samples as go tool pprof -raw prints them: [(values, labels)]."""
    out = go_pprof("-raw", path)
    assert "alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes[dflt]" in out, out
    body = out.split("Samples:", 1)[1].split("Locations", 1)[0].splitlines()[2:]
    samples = []
    for line in body:
        m = re.match(r"^\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+):", line)
        if m:
            samples.append(([int(x) for x in m.groups()], {}))
        elif samples and ":[" in line:
            samples[-1][1].update(dict(re.findall(r"(\w+):\[([^\]]*)\]", line)))
    assert samples, out
    return samples, out


def top_total(path, index):
    """The total `go tool pprof -top` states for one sample type, in bytes
    or objects."""
    out = go_pprof("-top", "-unit=B", "-sample_index=" + index, path)
    m = re.search(r"of (\d+)B? total", out)
    assert m, out
    return int(m.group(1))


@contextlib.contextmanager
def traced(args, cmd, env=None):
    """Trace with -o and --pprof; yields (JSON report, profile path, go
    tool pprof -raw samples, -raw text). The profile is removed after."""
    pp = tmpfile(".pb.gz")
    try:
        r, p = trace_json(["--pprof", pp] + args, cmd, env=env)
        assert p.returncode == 0, p.stderr
        samples, out = raw_samples(pp)
        yield r, pp, samples, out
    finally:
        if os.path.exists(pp):
            os.unlink(pp)


def json_totals(r):
    s = r["summary"]
    return [s["allocs"], s["alloc_bytes"], s["live_allocs"], s["live_bytes"]]


def sums(samples):
    return [sum(v[i] for v, _ in samples) for i in range(4)]


def test_pprof_totals_labels_and_mappings_match_the_json_report():
    need_root()
    with traced([], [prog("fleet"), "0.05"]) as (r, pp, samples, out):
        with open(pp, "rb") as f:
            data = f.read()
        assert data[:2] == b"\x1f\x8b" and gzip.decompress(data)  # gzip, as pprof's readers expect
        want = json_totals(r)
        assert sums(samples) == want, (want, out)
        for i, t in enumerate(SAMPLE_TYPES):
            assert top_total(pp, t) == want[i], t
        assert "PeriodType: space bytes" in out and "Period: 1\n" in out, out
        # every live block's sample names its thread; the known ones their
        # task, scope and variable
        conf = [v for v, l in samples if l.get("variable") == "conf"]
        assert conf == [[4, 4000, 4, 4000]], out
        assert [l for v, l in samples if l.get("variable") == "conf"][0]["task"] == "loader"
        assert [l for v, l in samples if l.get("variable") == "conf"][0]["scope"] == "load"
        # and its leak class (the leak check ran at exit): kept in a global
        assert [l for v, l in samples if l.get("variable") == "conf"][0]["reachability"] == "still_reachable"
        job = [(v, l) for v, l in samples if l.get("variable") == "job"]
        assert len(job) == 1 and job[0][0] == [2, 10000, 2, 10000] and job[0][1]["task"] == "worker", out
        assert job[0][1]["thread"] != job[0][1]["pid"]  # its own thread
        assert [v for v, l in samples if v[1] == 300000] == [[1, 300000, 1, 300000]]
        # what scratch() freed: allocated, not in use, labelled with the pid only
        freed = [(v, l) for v, l in samples if v[:2] == [10, 1000]]
        assert freed and freed[0][0][2:] == [0, 0] and set(freed[0][1]) == {"pid"}, out
        # functions with file and line; the executable's mapping first, with its build id
        for fn in ("load_config", "worker", "scratch"):
            assert re.search(r" %s \S*tests/progs/fleet\.c:\d+" % fn, out), (fn, out)
        note = subprocess.run(["readelf", "-n", prog("fleet")], capture_output=True, text=True).stdout
        build_id = re.search(r"Build ID: ([0-9a-f]+)", note).group(1)
        maps = out.split("Mappings", 1)[1].strip().splitlines()
        assert maps[0].startswith("1: ") and prog("fleet") in maps[0] and build_id in maps[0], maps
        assert any("libc.so.6" in m for m in maps), maps


def test_pprof_fast_mode_totals_match_the_json_report():
    """fast mode: counters and live blocks read from BPF maps at the end"""
    need_root()
    with traced(["-m", "fast"], [prog("fleet"), "0.05"]) as (r, pp, samples, out):
        want = json_totals(r)
        assert want[3] >= 314000 and sums(samples) == want, (want, out)


def test_pprof_sampled_values_are_the_weighted_estimates():
    env = dict(os.environ, MEMSCOPE_SAMPLE_INTERVAL="65536", MEMSCOPE_SAMPLE_SEED="7")
    with traced(["-m", "sampled"], [prog("sampled_known")], env=env) as (r, pp, samples, out):
        assert "Period: 65536\n" in out and "values are estimates" in out, out
        est = r["sampled"]
        for i, t in enumerate(SAMPLE_TYPES):
            got = sum(v[i] for v, _ in samples)
            # rounded to integers per sample; the JSON prints 6 digits
            assert abs(got - est[t]["estimate"]) <= len(samples) + 1e-5 * est[t]["estimate"], (t, got, est[t])
            assert top_total(pp, t) == got
        # the estimates, not the sampled blocks' own sizes: 32 MiB live at alloc_a
        # from about 512 samples of 16 KiB
        assert est["inuse_space"]["estimate"] > 40 * 2 ** 20
        assert sum(v[3] for v, _ in samples) > 40 * 2 ** 20


def test_pprof_into_a_missing_directory_is_refused_before_attaching():
    need_root()
    marker = tmpfile(".started")
    p = subprocess.run([TRACER, "--pprof", "/nonexistent-dir/heap.pb.gz", "--", "sh", "-c", "touch " + marker],
                       capture_output=True, text=True, timeout=30)
    lines = p.stderr.strip().splitlines()
    assert p.returncode != 0 and len(lines) == 1, p.stderr
    assert "/nonexistent-dir/heap.pb.gz" in lines[0] and "No such file or directory" in lines[0], lines
    assert not os.path.exists(marker)
