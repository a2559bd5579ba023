# SPDX-License-Identifier: BSD-3-Clause
"""Issue 17: a target in its own PID and mount namespaces, traced from the
host by its host PID. Its files (a private root with copies of libc and
ld.so: other inodes than the host's) are found through /proc/PID/root; its
probes, its allocator and a library it dlopens are attached; the report
gives its host PID, its PID inside the namespace, its cgroup and, under
podman, the container's id."""
import json
import os
import shutil
import subprocess
import tempfile
import time

from harness import ROOT, by_name, need_root, prog, semaphore_addrs, start_tracer, text_changed, tmpfile

LIBDIR = "/lib/x86_64-linux-gnu"


def make_root():
    """A private root: /bin/lifecycle, /lib/libplugin.so, and copies of the
    libraries and dynamic linker they need."""
    root = tempfile.mkdtemp(prefix="memscope-root-")
    for d in ("bin", "lib", "lib64", LIBDIR[1:], "etc"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copy(prog("lifecycle"), os.path.join(root, "bin/lifecycle"))
    shutil.copy(prog("libplugin.so"), os.path.join(root, "lib/libplugin.so"))
    for lib in ("libc.so.6", "ld-linux-x86-64.so.2"):
        shutil.copy(os.path.join(LIBDIR, lib), os.path.join(root, LIBDIR[1:], lib))
    os.symlink(LIBDIR + "/ld-linux-x86-64.so.2", os.path.join(root, "lib64/ld-linux-x86-64.so.2"))
    return root


def attached_in_root(pid, timeout=15):
    """Wait until every memscope semaphore of pid's executable, read from its
    own root, is raised (the tracer's probes are live)."""
    deadline = time.time() + timeout
    exe = os.readlink("/proc/%d/exe" % pid)          # as maps names it
    sems = semaphore_addrs("/proc/%d/exe" % pid)
    assert sems
    while time.time() < deadline:
        base = 0
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and parts[5] == exe and int(parts[2], 16) == 0:
                    base = int(parts[0].split("-")[0], 16)
                    break
        with open("/proc/%d/mem" % pid, "rb") as m:
            vals = []
            for off in sems:
                m.seek(base + off)
                vals.append(int.from_bytes(m.read(2), "little"))
        # the allocator probes and ld.so's hook come after the executable's
        # probes: the target must not work before they are in
        if all(vals) and all(text_changed(pid, lib) for lib in ("/libc.so.6", "/ld-linux-x86-64.so.2")):
            return
        time.sleep(0.05)
    raise AssertionError("probes not attached in the container")


def trace_in_namespace(pid, expect_ns_pid):
    """Attach by host PID, let the target work (SIGUSR1), check the report."""
    out = tmpfile()
    tr = start_tracer(["-p", str(pid), "-o", out])
    try:
        attached_in_root(pid)
        os.kill(pid, 10)  # SIGUSR1: it works and exits
        tr.wait(timeout=60)
        assert tr.returncode == 0, tr.stderr.read()
        r = json.load(open(out))
    finally:
        if tr.poll() is None:
            tr.kill()
        if os.path.exists(out):
            os.unlink(out)
    t = r["target"]
    assert t["pid"] == pid and t["ns_pid"] == expect_ns_pid and t["exe"] == "/bin/lifecycle", t
    assert t["exited"] and t["exit_code"] == 0
    (v,) = by_name(r["variables"], "at_work")
    assert (v["type"], v["file"], v["pid"]) == ("int", "tests/progs/lifecycle.c", pid)
    (sc,) = by_name(r["scopes"], "work")
    assert v["scope"] == sc["id"]
    # the plugin it dlopen'ed in there: probes and allocator from its first call
    (pb,) = by_name(r["variables"], "plugin_buf")
    assert pb["heap"]["size"] == 64 and pb["heap"]["freed_ns"] is not None
    assert [b["size"] for b in r["leaks"] if b["size"] == 777] == [777]
    return r


def test_unshare_pid_mount_namespaces_private_root():
    need_root()
    root = make_root()
    p = subprocess.Popen(["unshare", "--pid", "--mount", "--fork", "--root=" + root,
                          "/bin/lifecycle", "wait-work", "/lib/libplugin.so"],
                         stdout=subprocess.PIPE, text=True)
    pid = None
    try:
        assert p.stdout.readline() == "waiting\n"
        (pid,) = [int(x) for x in subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True,
                                                 text=True).stdout.split()]
        r = trace_in_namespace(pid, 1)
        assert p.stdout.read() == "worked\n" and p.wait(timeout=30) == 0
        # same cgroup as this test (no container here)
        own = [l.split(":", 2)[2].strip() for l in open("/proc/self/cgroup")]
        assert r["target"]["cgroup"] in own and r["target"]["container_id"] is None
    finally:
        if p.poll() is None:
            if pid:
                os.kill(pid, 9)   # PID 1 of its namespace: it outlives unshare
            p.kill()
            p.wait()
        shutil.rmtree(root, ignore_errors=True)


def podman(*args, check=True):
    # runc: crun refuses this machine's hybrid cgroup setup; the limits:
    # without CAP_SYS_RESOURCE podman may not raise them
    p = subprocess.run(["podman", "--runtime", "runc"] + list(args), capture_output=True, text=True,
                       timeout=120)
    assert not check or p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_podman_container_by_host_pid():
    need_root()
    assert shutil.which("podman"), "podman missing: make deps installs it"
    root = make_root()
    tag = "memscope-test-%d" % os.getpid()
    cid = None
    try:
        with open(os.path.join(root, "..", os.path.basename(root) + ".Containerfile"), "w") as f:
            f.write("FROM scratch\nCOPY . /\n")
        podman("build", "-q", "-t", tag, "-f", f.name, root)
        cid = podman("run", "-d", "--network", "none", "--ulimit", "nofile=1024:4096",
                     "--ulimit", "nproc=1024:4096", tag, "/bin/lifecycle", "wait-work",
                     "/lib/libplugin.so")
        pid = int(podman("inspect", "-f", "{{.State.Pid}}", cid))
        deadline = time.time() + 30
        while "waiting" not in podman("logs", cid) and time.time() < deadline:
            time.sleep(0.05)
        r = trace_in_namespace(pid, 1)
        assert r["target"]["container_id"] == cid and cid in r["target"]["cgroup"]
        assert podman("wait", cid) == "0" and "worked" in podman("logs", cid)
    finally:
        if cid:
            podman("rm", "-f", cid, check=False)
        podman("rmi", "-f", tag, check=False)
        os.unlink(os.path.join(root, "..", os.path.basename(root) + ".Containerfile"))
        shutil.rmtree(root, ignore_errors=True)
