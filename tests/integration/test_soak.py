# SPDX-License-Identifier: BSD-3-Clause
"""Issue 7 point 1 (the CI version of scripts/soak.sh): under steady load
for 60 s in full mode the tracer's RSS stops growing."""
import os
import subprocess
import time

from harness import EXAMPLES, TRACER, need_root, tmpfile


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def test_tracer_memory_stays_flat_under_load():
    """Connections churn (every client round: 20 new tasks of 10 requests
    each) for ~60 s; after a 20 s warm-up the tracer's RSS, sampled every
    2 s, may not grow by 4 bytes per request served, where the README
    claims a flat line. A leak of a pointer per request (8 B) grows every
    interval (~8,000 requests each: 64 KB, the heap in 132 KiB steps every
    other interval). The tracer also grows in a few large steps while this
    load finds its high-water marks (the ring consumer's merge queue, the
    tables that --keep bounds): +2 MiB steps were seen in up to 3 of 18
    intervals on a busy machine, none on a quiet one. So the quarter of
    the intervals that grew most is set aside; a leak that shows only
    there is a leak in steps, which the README's 1-hour soak
    (scripts/soak.sh) is for."""
    need_root()
    out = tmpfile()
    tr = subprocess.Popen([TRACER, "-m", "full", "--keep", "2000", "-o", out, "--",
                           os.path.join(EXAMPLES, "epoll_server"), "--duration", "62"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = tr.stdout.readline()
    assert "listening on" in line, line
    port = line.split()[-1]
    samples = []   # (seconds, tracer RSS KiB, requests served)
    t0 = time.time()
    client = os.path.join(EXAMPLES, "http_client")
    served = 0
    while time.time() - t0 < 58:
        p = subprocess.run([client, port, "20", "10"], capture_output=True, text=True, timeout=30)
        assert p.stdout.strip() == "ok 200", (p.stdout, p.stderr)
        served += 200
        if not samples or time.time() - samples[-1][0] - t0 >= 2:
            samples.append((time.time() - t0, rss_kb(tr.pid), served))
    tr.wait(timeout=120)
    import json
    r = json.load(open(out))
    os.unlink(out)
    assert r["summary"]["folded_tasks"] > 0 and r["summary"]["folded_variables"] > 0
    assert r["summary"]["dropped_events"] == 0
    warm = [x for x in samples if x[0] >= 20]
    assert len(warm) >= 10, samples
    steps = [((b[1] - a[1]) * 1024, b[2] - a[2]) for a, b in zip(warm, warm[1:])]
    kept = sorted(steps, key=lambda x: x[0] / x[1])[:len(steps) - len(steps) // 4]
    grown, requests = sum(g for g, _ in kept), sum(n for _, n in kept)
    print("    RSS %d KiB at %.0f s, %d KiB at %.0f s; %d B over %d requests (%.2f B each) in the %d of %d"
          " intervals that grew least" % (warm[0][1], warm[0][0], warm[-1][1], warm[-1][0], grown, requests,
                                         grown / max(requests, 1), len(kept), len(steps)))
    assert requests >= 20000, samples
    assert grown < 4 * requests, samples
