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


def wait_attached(proc_tracer, target_pid, timeout=10, path=None, tracers=1):
    """Wait until every memscope semaphore of the target's probe sites (in
    its executable, or in the mapped library `path`) is raised, i.e. the
    tracer's USDT uprobes are all live (the kernel bumps each at attach).
    One raised is not enough: a test that freezes the tracer then may
    freeze it halfway through attaching. (The kernel counts uprobes, not
    tracers: a second tracer on the same sites adds nothing, so tracers=N
    only says that many sites share each semaphore; use tracers_attached
    to know that several tracers are.)"""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc_tracer.poll() is not None:
            raise AssertionError("tracer exited early: %s" % proc_tracer.stderr.read())
        if semaphores_raised(target_pid, every=True, path=path, at_least=tracers):
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
        # that starts its watchdog, nor the command still held before exec,
        # nor the leak check's helper (memscope-hold)
        kids = [k for k in subprocess.run(["pgrep", "-P", str(proc_tracer.pid)], capture_output=True,
                                          text=True).stdout.split()
                if not is_tracer(k) and comm(int(k)) != "memscope-hold"]
        if kids:
            wait_attached(proc_tracer, int(kids[0]), max(deadline - time.time(), 0.1))
            return int(kids[0])
        time.sleep(0.02)
    raise AssertionError("tracer started no command within %ss" % timeout)


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def semaphores_raised(pid, every=False, path=None, at_least=1):
    """True if any (every=True: every) memscope semaphore of the probe
    sites in pid's executable (or in its mapped library `path`) is
    non-zero (at_least: that many tracers' uprobes hold it up; the kernel
    counts them)."""
    try:
        exe = path or os.readlink("/proc/%d/exe" % pid)
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
                raised.append(int.from_bytes(m.read(2), "little") >= at_least)
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


def bpf_objects(pid):
    """The BPF programs, maps and links process pid holds, by id, from
    /proc/PID/fdinfo (what the kernel knows, not what bpftool can name)."""
    held = {"prog_id": set(), "map_id": set(), "link_id": set()}
    d = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(d):
        try:
            with open(os.path.join(d, fd)) as f:
                for line in f:
                    key, _, val = line.partition(":")
                    if key in held:
                        held[key].add(int(val))
        except OSError:
            continue
    return held


def tracers_attached(trs, timeout=20):
    """Wait until the tracers trs (same options, same target) hold as
    many BPF links as each other, give or take the one for libc's _exit
    that only the tracer whose helper holds the target (ptrace: one per
    process) attaches, more than none, unchanged for a few polls: each
    has attached all it attaches."""
    deadline = time.time() + timeout
    last, steady = None, 0
    while time.time() < deadline:
        for t in trs:
            if t.poll() is not None:
                raise AssertionError("tracer exited early: %s" % t.stderr.read())
        counts = tuple(len(bpf_objects(t.pid)["link_id"]) for t in trs)
        steady = steady + 1 if counts == last else 0
        last = counts
        if steady >= 4 and min(counts) > 0 and max(counts) - min(counts) <= 1:
            return min(counts)
        time.sleep(0.05)
    raise AssertionError("tracers did not all attach within %ss: links %s" % (timeout, last))


def bpf_ids_alive(kind, ids):
    """Which of ids (kind "prog", "map" or "link") the kernel still has."""
    out = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True, text=True).stdout
    return {o["id"] for o in json.loads(out or "[]")} & set(ids)


def _elf_symbol(path, name):
    """(file offset, size) of the function `name` in the ELF file path."""
    out = subprocess.run(["nm", "-D", "-S", "--defined-only", path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3].split("@")[0] == name and parts[2] in "TtWi":
            vaddr, size = int(parts[0], 16), int(parts[1], 16)
            break
    else:
        raise AssertionError("%s has no function %s" % (path, name))
    for line in subprocess.run(["readelf", "-lW", path], capture_output=True, text=True).stdout.splitlines():
        f = line.split()
        if f and f[0] == "LOAD" and int(f[2], 16) <= vaddr < int(f[2], 16) + int(f[5], 16):
            return vaddr - int(f[2], 16) + int(f[1], 16), vaddr, size
    raise AssertionError("%s: %s not in a LOAD segment" % (path, name))


def code_bytes(pid, lib_suffix, name, n=16):
    """The first n bytes of function `name` in pid's mapped library (path
    ending in lib_suffix): (as in the file, as in the target's memory), or
    None when the library is not mapped."""
    path = base = None
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            p = line.split()
            if len(p) >= 6 and p[5].endswith(lib_suffix) and int(p[2], 16) == 0:
                path, base = p[5], int(p[0].split("-")[0], 16)
                break
    if path is None:
        return None
    off, vaddr, size = _elf_symbol(path, name)
    n = min(n, size)
    with open(path, "rb") as elf, open("/proc/%d/mem" % pid, "rb") as mem:
        elf.seek(off)
        mem.seek(base + vaddr)
        return elf.read(n), mem.read(n)


def text_changed(pid, lib="/libc.so.6"):
    """True if a library's code (libc's by default) in pid's memory differs
    from the mapped file: probes or hooks the kernel put there. The file is
    read through /proc/PID/map_files, so a library inside a container's
    mount namespace is the one compared."""
    for line in open("/proc/%d/maps" % pid):
        parts = line.split()
        if len(parts) >= 6 and parts[1].startswith("r-x") and parts[5].endswith(lib):
            start, end = (int(x, 16) for x in parts[0].split("-"))
            with open("/proc/%d/mem" % pid, "rb") as m, \
                    open("/proc/%d/map_files/%s" % (pid, parts[0]), "rb") as f:
                m.seek(start)
                f.seek(int(parts[2], 16))
                return m.read(end - start) != f.read(end - start)
    raise AssertionError("no %s in %d" % (lib, pid))


def int3_at(pid, lib_suffix, name, off):
    """True if the target has a breakpoint (int3) at name + off where the
    file has none: the kernel's uprobe, in the target's own copy of the
    page."""
    b = code_bytes(pid, lib_suffix, name, off + 1)
    return b is not None and len(b[1]) > off and b[1][off] == 0xCC and b[0][off] != 0xCC


def planted(pid, lib_suffix, names):
    """True if each function of names in pid's mapped library carries a
    breakpoint among its first 16 bytes: proof that a probe is live there."""
    for name in names:
        b = code_bytes(pid, lib_suffix, name)
        if b is None or not any(g == 0xCC and w != 0xCC for w, g in zip(*b)):
            return False
    return True


def read_available(f):
    """What the pipe f holds now, without waiting for more."""
    fd = f.fileno()
    os.set_blocking(fd, False)
    data = b""
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    except BlockingIOError:
        pass
    finally:
        os.set_blocking(fd, True)
    return data.decode(errors="replace")


def wait_planted(proc_tracer, pid, lib_suffix="/libc.so.6", names=("malloc", "free"), timeout=20):
    """Wait until the allocator probes are live in pid (see planted()): the
    tracer raises the memscope semaphores (wait_attached) before it plants
    the allocator's uprobes."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc_tracer.poll() is not None:
            raise AssertionError("tracer exited early: %s" % proc_tracer.stderr.read())
        if planted(pid, lib_suffix, names):
            return
        time.sleep(0.05)
    raise AssertionError("allocator probes not planted in %d within %ss" % (pid, timeout))
