# SPDX-License-Identifier: BSD-3-Clause
"""Issue 18 point 2: --metrics ADDR:PORT serves Prometheus metrics while
tracing; Debian's real prometheus server scrapes them."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from harness import TRACER, Skip, need_root, prog, start_tracer, tmpfile, traced_child


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def get_from(source, port, path="/metrics"):
    """GET from another local address (the per-address connection limit
    is then another's)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def parse(text):
    """{(name, frozenset(labels)): value} from the text format."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        assert m, line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def family(metrics, name):
    return {dict(k[1]).get(next(iter(dict(k[1])), ""), ""): v for k, v in metrics.items() if k[0] == name}


def start(port, secs, extra=()):
    """memscope-trace --metrics on the fleet target, once it is traced and
    its known blocks exist."""
    need_root()
    tr = start_tracer(["--metrics", "127.0.0.1:%d" % port] + list(extra) + ["--", prog("fleet"), str(secs)])
    tr.target = traced_child(tr, 20)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            _, _, text = get("http://127.0.0.1:%d/metrics" % port)
            if parse(text).get(("memscope_live_bytes", frozenset()), 0) >= 300000:
                return tr, text
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)
    tr.kill()
    raise AssertionError("no metrics with the known blocks within 20 s")


def stop(tr):
    """SIGINT: the tracer detaches and exits 0; the target runs on (it
    holds the tracer's stdout, so it is ended before reading that)."""
    tr.send_signal(signal.SIGINT)
    tr.wait(timeout=60)
    os.kill(tr.target, signal.SIGKILL)
    out, err = tr.communicate(timeout=60)
    assert tr.returncode == 0, err
    return out, err


def test_metrics_scraped_by_a_real_prometheus():
    need_root()
    if not shutil.which("prometheus"):
        raise Skip("prometheus is not installed: make deps")
    port, pport = free_port(), free_port()
    tr, _ = start(port, 60)
    d = tempfile.mkdtemp(prefix="memscope-prom-")
    with open(os.path.join(d, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: memscope\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % port)
    prom = subprocess.Popen(["prometheus", "--config.file=" + os.path.join(d, "prometheus.yml"),
                             "--storage.tsdb.path=" + os.path.join(d, "data"),
                             "--web.listen-address=127.0.0.1:%d" % pport],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    api = "http://127.0.0.1:%d/api/v1/query?query=" % pport

    def query(q):
        _, _, body = get(api + urllib.parse.quote(q))
        r = json.loads(body)
        assert r["status"] == "success", r
        return r["data"]["result"]

    try:
        deadline, res = time.time() + 45, []
        while time.time() < deadline and not res:
            time.sleep(0.5)
            try:
                res = query('memscope_site_live_bytes{job="memscope"}')
            except (urllib.error.URLError, ConnectionError):
                continue
        assert res, "prometheus scraped no memscope series: %s" % prom.stderr
        sites = {r["metric"]["site"]: float(r["value"][1]) for r in res}
        # fleet.c's 300000-byte table, 4 x 1000 and 2 x 5000 bytes, by site
        assert any(v == 10000 and k.startswith("worker (fleet.c:") for k, v in sites.items()), sites
        assert any(v == 4000 and k.startswith("load_config (fleet.c:") for k, v in sites.items()), sites
        assert query('up{job="memscope"}')[0]["value"][1] == "1"
        tasks = {r["metric"]["task"]: float(r["value"][1]) for r in query("memscope_task_live_bytes")}
        assert tasks.get("loader") == 4000 and tasks.get("worker") == 10000, tasks
        var = {r["metric"]["variable"]: float(r["value"][1]) for r in query("memscope_variable_live_bytes")}
        assert var.get("conf") == 4000 and var.get("job") == 10000, var
        hits = {r["metric"]["program"]: float(r["value"][1]) for r in query("memscope_probe_hits_total")}
        assert hits.get("alloc_entry", 0) >= 17 and hits.get("ms_var", 0) == 6, hits
        assert float(query("process_resident_memory_bytes")[0]["value"][1]) > 1 << 20
        assert float(query("memscope_target_cost_seconds_total")[0]["value"][1]) > 0
        # the tick() loop allocates every 10 ms: Prometheus sees the rate
        deadline, rate = time.time() + 20, []
        while time.time() < deadline and not rate:
            rate = query('rate(memscope_allocations_total[5s]) > 10')
            time.sleep(0.5)
        assert rate, query("memscope_allocations_total")
    finally:
        prom.terminate()
        prom.wait(timeout=30)
        shutil.rmtree(d, ignore_errors=True)
        stop(tr)


def test_metrics_endpoint_answers_only_get_on_its_path_and_bounds_requests():
    port = free_port()
    tr, text = start(port, 30, ["--metrics-top", "2"])
    base = "http://127.0.0.1:%d" % port
    idle = []
    try:
        status, ctype, text = get(base + "/metrics")
        assert status == 200 and ctype == "text/plain; version=0.0.4; charset=utf-8"
        m = parse(text)
        # --metrics-top 2: two sites and "other", which holds the rest exactly
        sites = family(m, "memscope_site_live_bytes")
        assert len(sites) == 3 and "other" in sites, sites
        assert sum(sites.values()) == m[("memscope_live_bytes", frozenset())], (sites, m)
        assert any(k.startswith("big_table") or k.startswith("main") for k in sites if sites[k] == 300000), sites
        for name in ("memscope_allocated_bytes_total", "memscope_dropped_events_total",
                     "memscope_truncated_stacks_total", "memscope_probe_misses_total",
                     "process_resident_memory_bytes", "process_cpu_seconds_total"):
            assert (name, frozenset()) in m, name
        assert "# TYPE memscope_site_allocated_bytes_total counter" in text
        # Prometheus's own linter: names, units, _total on counters, HELP
        if shutil.which("promtool"):
            lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                                  text=True, timeout=60)
            assert lint.returncode == 0 and not (lint.stdout + lint.stderr).strip(), lint.stdout + lint.stderr
        for method in ("POST", "PUT", "HEAD", "DELETE"):
            try:
                urllib.request.urlopen(urllib.request.Request(base + "/metrics", method=method,
                                                              data=b"x" if method in ("POST", "PUT") else None),
                                       timeout=10)
                raise AssertionError(method + " answered")
            except urllib.error.HTTPError as e:
                assert e.code == 405 and e.headers.get("Allow") == "GET", (method, e.code)
        for path in ("/", "/metrics/", "/metricsx", "/../metrics"):
            try:
                get(base + path)
                raise AssertionError(path + " answered")
            except urllib.error.HTTPError as e:
                assert e.code == 404, (path, e.code)
        # a request over 16 KiB is refused, not buffered
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
        reply = s.recv(200)
        s.close()
        assert reply.startswith(b"HTTP/1.1 4") or reply == b"", reply
        # a GET with a body is refused
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        assert s.recv(200).startswith(b"HTTP/1.1 413"), "GET with a body"
        s.close()
        # clients that connect and say nothing are dropped after 5 s, and
        # hold nothing up meanwhile: the tracer drains, and scrapes from
        # another address are answered
        idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(4)]
        t0 = time.time()
        status, text2 = get_from("127.0.0.2", port)
        assert status == 200 and time.time() - t0 < 2
        a1 = parse(text2)[("memscope_allocations_total", frozenset())]
        time.sleep(1)
        a2 = parse(get_from("127.0.0.2", port)[1])[("memscope_allocations_total", frozenset())]
        assert a2 >= a1 + 50, (a1, a2)  # tick() every 10 ms, traced all along
        idle[0].settimeout(15)
        t0 = time.time()
        assert idle[0].recv(10) == b"" and time.time() - t0 < 10
    finally:
        for s in idle:
            s.close()
        out, err = stop(tr)


def test_metrics_address_in_use_or_unbindable_is_refused_before_attaching():
    need_root()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    marker = tmpfile(".started")
    try:
        for addr, why in (("127.0.0.1:%d" % port, "Address already in use"),
                          ("192.0.2.1:9464", "Cannot assign requested address"),
                          ("no-such-host.invalid:9464", "")):
            p = subprocess.run([TRACER, "--metrics", addr, "--", "sh", "-c", "touch " + marker],
                               capture_output=True, text=True, timeout=30)
            lines = p.stderr.strip().splitlines()
            assert p.returncode != 0 and len(lines) == 1, p.stderr
            assert lines[0].startswith("memscope-trace: --metrics %s: cannot listen: " % addr), lines
            assert why in lines[0], lines
            assert not os.path.exists(marker)
        for bad in ("9464", ":9464", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:x"):
            p = subprocess.run([TRACER, "--metrics", bad, "--", "true"], capture_output=True, text=True, timeout=30)
            assert p.returncode == 2 and p.stderr.startswith("memscope-trace: invalid --metrics '%s'" % bad), p.stderr
    finally:
        busy.close()
