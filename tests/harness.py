# SPDX-License-Identifier: BSD-3-Clause
"""Shared helpers for memscope's integration tests: run the real tracer on
real targets (as root, real BPF) and parse what it wrote with a real JSON
parser."""
import json
import os
import signal
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRACER = os.path.join(ROOT, ".output", "memscope-trace")
PROGS = os.path.join(ROOT, ".output", "tests")
EXAMPLES = os.path.join(ROOT, ".output", "examples")


class Skip(Exception):
    """Raised by a test that cannot run here (says why)."""


def need_root():
    if os.geteuid() != 0:
        raise Skip("needs root to load BPF programs")


def prog(name):
    return os.path.join(PROGS, name)


def tmpfile(suffix=".json"):
    fd, path = tempfile.mkstemp(prefix="memscope-test-", suffix=suffix)
    os.close(fd)
    os.unlink(path)
    return path


def trace_json(args, cmd, timeout=60, env=None):
    """Run `memscope-trace -o TMP ARGS -- CMD`; return (report, proc)."""
    need_root()
    out = tmpfile()
    p = subprocess.run([TRACER, "-o", out] + list(args) + ["--"] + list(cmd),
                       capture_output=True, text=True, timeout=timeout, env=env)
    try:
        with open(out) as f:
            report = json.load(f)
    except FileNotFoundError:
        raise AssertionError("no report written: rc=%d stderr=%s" % (p.returncode, p.stderr))
    finally:
        if os.path.exists(out):
            os.unlink(out)
    return report, p


def start_tracer(args, stdout=subprocess.PIPE):
    need_root()
    return subprocess.Popen([TRACER] + list(args), stdout=stdout, stderr=subprocess.PIPE, text=True)


def wait_attached(proc_tracer, target_pid, timeout=10):
    """Wait until every memscope semaphore of the target's probe sites is
    raised, i.e. the tracer's USDT uprobes are all live (the kernel bumps
    each at attach). One raised is not enough: a test that freezes the
    tracer then may freeze it halfway through attaching."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc_tracer.poll() is not None:
            raise AssertionError("tracer exited early: %s" % proc_tracer.stderr.read())
        if semaphores_raised(target_pid, every=True):
            return
        time.sleep(0.05)
    raise AssertionError("tracer did not attach within %ss" % timeout)


def is_tracer(pid):
    try:
        return os.readlink("/proc/%s/exe" % pid) == os.path.realpath(TRACER)
    except OSError:
        return True


def traced_child(proc_tracer, timeout=10):
    """The PID of the command `memscope-trace -- CMD` started, once the
    tracer's probes are live in it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        # the command once exec'd: not the tracer's own short-lived fork
        # that starts its watchdog, nor the command still held before exec
        kids = [k for k in subprocess.run(["pgrep", "-P", str(proc_tracer.pid)], capture_output=True,
                                          text=True).stdout.split() if not is_tracer(k)]
        if kids:
            wait_attached(proc_tracer, int(kids[0]), max(deadline - time.time(), 0.1))
            return int(kids[0])
        time.sleep(0.02)
    raise AssertionError("tracer started no command within %ss" % timeout)


def semaphores_raised(pid, every=False):
    """True if any (every=True: every) memscope semaphore of the probe
    sites in pid's executable is non-zero."""
    try:
        exe = os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return False
    sem = semaphore_addrs(exe)
    if not sem:
        return False
    base = load_base(pid, exe)
    try:
        with open("/proc/%d/mem" % pid, "rb") as m:
            raised = []
            for off in sem:
                m.seek(base + off)
                raised.append(int.from_bytes(m.read(2), "little") != 0)
    except OSError:
        return False
    return all(raised) if every else any(raised)


def semaphore_addrs(exe):
    out = subprocess.run(["readelf", "-n", exe], capture_output=True, text=True).stdout
    addrs = set()
    for line in out.splitlines():
        if "Semaphore:" in line:
            addrs.add(int(line.split("Semaphore:")[1].strip(), 16))
    return addrs


def load_base(pid, exe):
    """Load bias of a PIE executable (0 for a fixed-address one)."""
    hdr = subprocess.run(["readelf", "-h", exe], capture_output=True, text=True).stdout
    if "EXEC (Executable file)" in hdr:
        return 0
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and os.path.realpath(parts[5]) == os.path.realpath(exe) and int(parts[2], 16) == 0:
                return int(parts[0].split("-")[0], 16)
    return 0


def by_name(items, name):
    return [i for i in items if i.get("name") == name]
