# SPDX-License-Identifier: BSD-3-Clause
"""Issue 18 point 3: make install / uninstall into a DESTDIR, a program
built against the installed header through pkg-config and traced by the
installed tracer; the man page documents every option; the Debian package
installs, runs and purges cleanly."""
import json
import os
import re
import shutil
import subprocess
import tempfile

from harness import ROOT, TRACER, Skip, need_root, tmpfile

PREFIX = "/usr/local"

# a user's program, built with nothing from this tree but what is installed
USER_PROG = r"""
#include <stdlib.h>
#include <string.h>
#include <memscope.h>

int main(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		MEMSCOPE_SCOPE("request");
		char *reply = malloc(2000);

		TRACK_VAR(reply);
		memset(reply, i, 2000);
		if (i < 2)
			free(reply);
	}
	return 0;
}
"""


def make(*args, **kw):
    p = subprocess.run(["make", "-s", "-C", ROOT] + list(args), capture_output=True, text=True, timeout=600, **kw)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def long_options(tracer):
    out = subprocess.run([tracer, "--help"], capture_output=True, text=True, timeout=30).stdout
    return sorted(set(re.findall(r"--([a-z][a-z-]+)", out)))


def build_user_prog(d, pkg_env):
    cflags = subprocess.run(["pkg-config", "--cflags", "memscope"], capture_output=True, text=True,
                            env=pkg_env, timeout=30)
    assert cflags.returncode == 0, cflags.stderr
    src = os.path.join(d, "user_prog.c")
    with open(src, "w") as f:
        f.write(USER_PROG)
    exe = os.path.join(d, "user_prog")
    cc = subprocess.run(["cc", "-O2", "-g"] + cflags.stdout.split() + [src, "-o", exe],
                        capture_output=True, text=True, timeout=60)
    assert cc.returncode == 0, cc.stderr
    return cflags.stdout.split(), exe


def check_trace(tracer, exe, args=()):
    out = tmpfile()
    try:
        p = subprocess.run([tracer, "-o", out] + list(args) + ["--", exe], capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0, p.stderr
        with open(out) as f:
            return json.load(f)
    finally:
        if os.path.exists(out):
            os.unlink(out)


def test_install_into_destdir_build_with_pkg_config_trace_uninstall():
    need_root()
    d = tempfile.mkdtemp(prefix="memscope-install-")
    dest = os.path.join(d, "root")
    try:
        make("install", "DESTDIR=" + dest, "PREFIX=" + PREFIX)
        files = sorted(os.path.relpath(os.path.join(r, f), dest) for r, _, fs in os.walk(dest) for f in fs)
        assert files == sorted(p.lstrip("/") for p in [
            PREFIX + "/sbin/memscope-trace", PREFIX + "/include/memscope.h",
            PREFIX + "/lib/memscope/libmemscope_sample.so", PREFIX + "/share/man/man8/memscope-trace.8",
            PREFIX + "/share/pkgconfig/memscope.pc",
            PREFIX + "/share/bash-completion/completions/memscope-trace"]), files
        tracer = dest + PREFIX + "/sbin/memscope-trace"
        pkg_env = dict(os.environ, PKG_CONFIG_PATH=dest + PREFIX + "/share/pkgconfig",
                       PKG_CONFIG_SYSROOT_DIR=dest)
        cflags, exe = build_user_prog(d, pkg_env)
        assert cflags == ["-I" + dest + PREFIX + "/include"], cflags
        r = check_trace(tracer, exe)
        assert [v["name"] for v in r["variables"]] == ["reply"] * 3
        assert len([s for s in r["scopes"] if s["name"] == "request"]) == 3
        assert [(x["size"], x["variable"]) for x in r["leaks"] if x["size"] == 2000] == [(2000, "reply")], r["leaks"]
        # sampled mode finds the installed sampling library from the tracer's place
        r = check_trace(tracer, exe, ["-m", "sampled"])
        assert r["mode"] == "sampled" and "sampled" in r
        # the man page names every option the tracer has
        man = open(dest + PREFIX + "/share/man/man8/memscope-trace.8").read()
        assert "@" not in man.split(".SH FILES", 1)[1].split(".SH", 1)[0], "unsubstituted path"
        missing = [o for o in long_options(tracer) if "\\-\\-" + o.replace("-", "\\-") not in man]
        assert not missing, missing
        render = subprocess.run(["man", "--warnings", "-l", dest + PREFIX + "/share/man/man8/memscope-trace.8"],
                                capture_output=True, text=True, timeout=60, env=dict(os.environ, MANWIDTH="80"))
        assert render.returncode == 0 and not render.stderr.strip(), render.stderr
        assert "--metrics-top" in render.stdout
        # bash completion: options, modes, and the command after "--"
        comp = dest + PREFIX + "/share/bash-completion/completions/memscope-trace"
        if os.path.exists("/usr/share/bash-completion/bash_completion"):
            def complete(*words):
                script = ("source /usr/share/bash-completion/bash_completion; source %s; "
                          "COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE=\"${COMP_WORDS[*]}\"; "
                          "COMP_POINT=${#COMP_LINE}; _memscope_trace memscope-trace; "
                          "printf '%%s\\n' \"${COMPREPLY[@]}\"" %
                          (comp, " ".join("'%s'" % w for w in words), len(words) - 1))
                env = dict(os.environ, PATH=os.path.dirname(tracer) + ":" + os.environ["PATH"])
                return subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                                      timeout=30, env=env).stdout.split()
            assert complete("memscope-trace", "--pp") in (["--pprof="], ["--pprof"])
            assert complete("memscope-trace", "-m", "s") == ["sampled"]
            assert "--metrics-top" in " ".join(complete("memscope-trace", "--metrics"))
        make("uninstall", "DESTDIR=" + dest, "PREFIX=" + PREFIX)
        left = [os.path.join(r, f) for r, _, fs in os.walk(dest) for f in fs]
        assert not left, left
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_deb_installs_runs_and_purges_cleanly():
    need_root()
    if not shutil.which("dpkg-deb"):
        raise Skip("not a Debian system")
    st = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "memscope"], capture_output=True, text=True)
    if "installed" in st.stdout and "not-installed" not in st.stdout:
        raise Skip("a memscope package is installed on this machine already: not touching it")
    p = make("deb")
    deb = os.path.join(ROOT, p.stdout.strip().splitlines()[-1])
    assert os.path.isfile(deb), p.stdout
    if shutil.which("lintian"):
        lint = subprocess.run(["lintian", "--pedantic", deb], capture_output=True, text=True, timeout=300)
        findings = [l for l in lint.stdout.splitlines() if re.match(r"^[EWIPX]: ", l)]
        assert not findings, findings
    r = subprocess.run(["dpkg", "-i", deb], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    try:
        ver = subprocess.run(["/usr/sbin/memscope-trace", "--version"], capture_output=True, text=True, timeout=30)
        assert ver.returncode == 0 and ver.stdout.startswith("memscope-trace "), ver
        assert subprocess.run(["man", "-w", "memscope-trace"], capture_output=True, text=True).stdout.strip() == \
            "/usr/share/man/man8/memscope-trace.8.gz"
        d = tempfile.mkdtemp(prefix="memscope-deb-")
        try:
            _, exe = build_user_prog(d, dict(os.environ, PKG_CONFIG_PATH="/usr/share/pkgconfig"))
            r2 = check_trace("/usr/sbin/memscope-trace", exe)
            assert [v["name"] for v in r2["variables"]] == ["reply"] * 3
            r2 = check_trace("/usr/sbin/memscope-trace", exe, ["-m", "sampled"])
            assert r2["mode"] == "sampled"
        finally:
            shutil.rmtree(d, ignore_errors=True)
    finally:
        purge = subprocess.run(["dpkg", "--purge", "memscope"], capture_output=True, text=True, timeout=300)
    assert purge.returncode == 0, purge.stderr
    for path in ("/usr/sbin/memscope-trace", "/usr/include/memscope.h", "/usr/lib/memscope",
                 "/usr/share/man/man8/memscope-trace.8.gz", "/usr/share/pkgconfig/memscope.pc",
                 "/usr/share/bash-completion/completions/memscope-trace", "/usr/share/doc/memscope"):
        assert not os.path.exists(path), path
    assert "memscope" not in subprocess.run(["dpkg", "-l"], capture_output=True, text=True).stdout.split()
