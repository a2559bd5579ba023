# SPDX-License-Identifier: BSD-3-Clause
"""Issue 7 point 3: bad input, one clear line and a non-zero exit each,
refused before anything is attached."""
import os
import subprocess
import tempfile
import time

from harness import TRACER, Skip, need_root, prog

T = prog("macros_mt")


def refused(args, must_contain, **kw):
    """Exactly one line on stderr, naming what was wrong; a non-zero exit;
    nothing on stdout (the README's promise)."""
    p = subprocess.run([TRACER] + args, capture_output=True, text=True, timeout=30, **kw)
    assert p.returncode != 0, (args, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and p.stderr.endswith("\n"), (args, p.stderr)
    assert lines[0].startswith("memscope-trace: ") and must_contain in lines[0], (args, p.stderr)
    assert p.stdout == "", (args, p.stdout)
    return p


def test_every_flag_with_malformed_values():
    need_root()
    cases = [
        (["-p", ""], "PID"), (["-p", "-5"], "PID '-5'"), (["-p", "12x"], "PID '12x'"),
        (["-p", "99999999999999999999"], "PID"),
        (["-d", "0", "--", T], "--duration '0'"), (["-d", "abc", "--", T], "--duration 'abc'"),
        (["-d", "nan", "--", T], "--duration 'nan'"),
        (["-m", "", "--", T], "--mode ''"), (["--stack-depth", "-1", "--", T], "--stack-depth '-1'"),
        (["--stack-depth", "x", "--", T], "--stack-depth 'x'"),
        (["--ring-size", "0", "--", T], "--ring-size '0'"), (["--ring-size", "2048", "--", T], "--ring-size '2048'"),
        (["--max-live", "0", "--", T], "--max-live '0'"), (["--keep", "0", "--", T], "--keep '0'"),
        (["-i", "0.001", "--", T], "--interval '0.001'"),
        (["--snapshot-interval", "-1", "--", T], "--snapshot-interval '-1'"),
        (["-o", "", "--", T], "--output"), (["--html", "", "--", T], "--html"),
        (["-p", "1", "--", T], "not both"),
        # getopt's own errors: one line too, naming the flag
        (["--frobnicate", "--", T], "'--frobnicate'"), (["-x", "--", T], "'x'"),
        (["-p"], "'p'"), (["--mode"], "'--mode'"),
    ]
    for args, msg in cases:
        refused(args, msg)


def test_test_only_settings_refused_when_malformed():
    """MEMSCOPE_TEST_* (README: test-only settings) are checked like flags,
    before anything is attached; a good value is taken."""
    need_root()
    for name, val in (("MEMSCOPE_TEST_THREAD_SLOTS", "3"), ("MEMSCOPE_TEST_THREAD_SLOTS", "0"),
                      ("MEMSCOPE_TEST_THREAD_SLOTS", "x"), ("MEMSCOPE_TEST_THREAD_SLOTS", ""),
                      ("MEMSCOPE_TEST_VAR_SLOTS", "-1"), ("MEMSCOPE_TEST_VAR_SLOTS", "131072"),
                      ("MEMSCOPE_TEST_VAR_SLOTS", "12k")):
        p = refused(["--", T], "%s '%s'" % (name, val), env=dict(os.environ, **{name: val}))
        assert "test-only" in p.stderr, p.stderr
    p = subprocess.run([TRACER, "-o", "/dev/null", "--", T], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MEMSCOPE_TEST_VAR_SLOTS="0", MEMSCOPE_TEST_THREAD_SLOTS="4"))
    assert p.returncode == 0 and p.stderr == "", p.stderr


def test_special_pids():
    need_root()
    # a zombie: a child that exited and was not reaped
    z = subprocess.Popen(["sh", "-c", "exit 0"])
    time.sleep(0.3)
    refused(["-p", str(z.pid)], "zombie")
    z.wait()
    refused(["-p", "2"], "kernel thread")
    # the tracer's own PID (exec keeps the shell's PID)
    p = subprocess.run(["sh", "-c", "exec %s -p $$" % TRACER], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and len(p.stderr.splitlines()) == 1 and "memscope-trace itself" in p.stderr, p.stderr


def test_unsuitable_executables():
    need_root()
    d = tempfile.mkdtemp()
    src = os.path.join(d, "t.c")
    open(src, "w").write("int main(void){return 0;}\n")
    exe32 = os.path.join(d, "t32")
    if subprocess.run(["gcc", "-m32", src, "-o", exe32]).returncode != 0:
        raise Skip("gcc -m32 cannot build (Debian package gcc-multilib)")
    refused(["--", exe32], "32-bit")
    notexec = os.path.join(d, "data")
    open(notexec, "w").write("x")
    refused(["--", notexec], notexec)
    refused(["--", d], d)
    refused(["-o", os.path.join(d, "missing", "r.json"), "--", T], os.path.join(d, "missing"))
    ro = os.path.join(d, "ro")
    os.chmod(d, 0o755)
    os.mkdir(ro, 0o555)
    # root may write anywhere; as nobody with every capability the tracer
    # needs (none of which lets it write there) the read-only folder refuses
    caps = "+bpf,+perfmon,+sys_admin,+sys_ptrace,+dac_read_search"
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=" + caps,
                        "--ambient-caps=" + caps, TRACER, "-o", os.path.join(ro, "r.json"), "--", T],
                       capture_output=True, text=True)
    assert p.returncode != 0 and p.stderr == "memscope-trace: cannot write output file %s: Permission denied\n" \
        % os.path.join(ro, "r.json"), p.stderr
