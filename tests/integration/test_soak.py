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
    need_root()
    out = tmpfile()
    tr = subprocess.Popen([TRACER, "-m", "full", "--keep", "2000", "-o", out, "--",
                           os.path.join(EXAMPLES, "epoll_server"), "--duration", "62"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = tr.stdout.readline()
    assert "listening on" in line, line
    port = line.split()[-1]
    samples = []
    t0 = time.time()
    client = os.path.join(EXAMPLES, "http_client")
    served = 0
    while time.time() - t0 < 58:
        # connections churn: every round makes 20 new tasks with 10 requests each
        subprocess.run([client, port, "20", "10"], capture_output=True, timeout=30)
        served += 200
        if not samples or time.time() - samples[-1][0] - t0 >= 5:
            samples.append((time.time() - t0, rss_kb(tr.pid)))
    tr.wait(timeout=120)
    import json
    r = json.load(open(out))
    os.unlink(out)
    assert r["summary"]["folded_tasks"] > 0 and r["summary"]["folded_variables"] > 0
    warm = [kb for t, kb in samples if 20 <= t <= 30]
    late = [kb for t, kb in samples if t >= 45]
    assert warm and late, samples
    # flat after warm-up: no more than 10% + 4 MiB over the rest of the minute
    assert max(late) <= 1.10 * max(warm) + 4096, samples
