# SPDX-License-Identifier: BSD-3-Clause
"""Issue 14: memscope's probes sit on a 5-byte nop the kernel turns into a
call (no trap), with the red zone stepped over. Every program here is built
at test time with the compilers and flags named, and traced for real."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from harness import ROOT, TRACER, Skip, by_name, load_base, need_root, semaphores_raised, \
    start_tracer, trace_json

INCLUDE = os.path.join(ROOT, "include")
PROGS_SRC = os.path.join(ROOT, "tests", "progs")
LEAVES = ("leaf8", "leaf24", "leaf56", "leaf96")
MODES = (["-m", "full"], ["-m", "fast"], ["-m", "light"], ["-m", "sampled", "--with-probes"])


def build(srcs, cc="gcc", flags=("-O2",), name="t", extra_objs=()):
    """Compile srcs [(path, extra flags)] with cc and flags into a fresh
    temporary directory; returns the executable."""
    d = tempfile.mkdtemp(prefix="memscope-sites-")
    objs = []
    for i, (src, more) in enumerate(srcs):
        obj = os.path.join(d, "%d.o" % i)
        lang = ["-x", "c++"] if cc.endswith("++") else []
        p = subprocess.run([cc] + list(flags) + list(more) + ["-Wall", "-Wextra", "-Werror", "-I" + INCLUDE,
                           "-c"] + lang + [src, "-o", obj], capture_output=True, text=True)
        assert p.returncode == 0, (cc, flags, more, p.stderr)
        objs.append(obj)
    exe = os.path.join(d, name)
    p = subprocess.run([cc] + list(flags) + objs + list(extra_objs) + ["-o", exe], capture_output=True,
                       text=True)
    assert p.returncode == 0, (cc, flags, p.stderr)
    return exe


def src(name):
    return os.path.join(PROGS_SRC, name)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, (cmd, p.returncode, p.stderr)
    return p.stdout


def kernel_optimizes():
    """None if this kernel turns uprobes on 5-byte nops into calls, else why
    not (a reason to skip with)."""
    need_root()
    try:
        with open("/proc/kallsyms") as f:
            if any(l.rstrip().endswith(" __x64_sys_uprobe") for l in f):
                return None
    except OSError as e:
        return "cannot read /proc/kallsyms: %s" % e
    return "kernel %s has no uprobe syscall (__x64_sys_uprobe): uprobes are optimized into " \
           "calls from Linux 6.18 on" % os.uname().release


def sites(exe):
    """[(name, address, semaphore)] from readelf -n: an independent reader."""
    out = run(["readelf", "-n", exe])
    res, name = [], None
    for line in out.splitlines():
        if "Name:" in line:
            name = line.split("Name:")[1].strip()
        m = re.search(r"Location: (0x[0-9a-f]+), Base: 0x[0-9a-f]+, Semaphore: (0x[0-9a-f]+)", line)
        if m:
            res.append((name, int(m.group(1), 16), int(m.group(2), 16)))
    return res


def site_bytes(pid, exe, addr, n=5):
    with open("/proc/%d/mem" % pid, "rb") as m:
        m.seek(load_base(pid, exe) + addr)
        return m.read(n)


def file_bytes(exe, addr, n=5):
    """Bytes at link-time address addr of exe (through the program headers)."""
    out = run(["readelf", "-lW", exe])
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            off, va, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
            if va <= addr < va + filesz:
                with open(exe, "rb") as fh:
                    fh.seek(off + addr - va)
                    return fh.read(n)
    raise AssertionError("0x%x not in a loaded segment of %s" % (addr, exe))


def uses_red_zone(exe, fn):
    """The function calls nothing, never moves rsp down, and keeps locals
    below rsp (other than the probe site's own lea -0x80(%rsp))."""
    asm = run(["objdump", "-d", "--no-show-raw-insn", exe])
    body = asm.split("<%s>:" % fn, 1)[1].split("\n\n", 1)[0]
    low = [int(o, 16) for o in re.findall(r"-0x([0-9a-f]+)\(%rsp[,)]", body)]
    return (not re.search(r"\bcall", body) and not re.search(r"sub +\$0x[0-9a-f]+,%rsp", body) and
            any(0 < o < 0x80 for o in low))


def test_red_zone_leaf_functions_compute_the_same_traced_in_every_mode():
    need_root()
    for cc in ("gcc", "clang"):
        exe = build([(src("redzone.c"), [])], cc, ["-O2"])
        for fn in LEAVES:
            assert uses_red_zone(exe, fn), (cc, fn, "does not keep locals in the red zone")
        want = run([exe, "3000"])
        for mode in MODES:
            r, p = trace_json(mode, [exe, "3000"], timeout=120)
            assert p.returncode == 0, (cc, mode, p.stderr)
            assert p.stdout == want, (cc, mode, p.stdout, want)
            # the probes did fire: one variable per hit (some may be dropped)
            assert r["summary"]["variables"] + r["summary"]["dropped_events"] >= 4 * 3000 * 0.9, \
                (cc, mode, r["summary"])
    # Without the guard the same functions compute garbage while traced:
    # the kernel's call really writes into the red zone, and the check
    # above would have seen it.
    why = kernel_optimizes()
    if why:
        raise Skip("guard shown needed only where the kernel optimizes: " + why)
    exe = build([(src("redzone.c"), ["-DMEMSCOPE__TEST_UNGUARDED"])], "gcc", ["-O2"])
    want = run([exe, "3000"])
    r, p = trace_json(["-m", "light"], [exe, "3000"], timeout=120)
    assert p.returncode == 0 and p.stdout != want, (p.stdout, want)


def forms_values(r, rounds):
    """What probe_forms' probes must have told the tracer."""
    vs = r["variables"]
    assert sorted(int(v["value"], 16) for v in by_name(vs, "plain_val")) == \
        [1000 + i for i in range(rounds)], by_name(vs, "plain_val")[:3]
    assert sorted(int(v["value"], 16) for v in by_name(vs, "sig_val")) == [2000 + i for i in range(rounds)]
    assert sorted(int(v["value"], 16) for v in by_name(vs, "alt_val")) == [3000 + i for i in range(rounds)]
    bufs = by_name(vs, "stack_buf")
    assert len(bufs) == rounds and all(v["size"] == 8 for v in bufs)
    # the alloca'd buffer: TRACK_VAR saw the pointer, MEMSCOPE_ALLOC the size
    assert all(v["heap"] and v["heap"]["size"] == 64 + i
               for i, v in enumerate(sorted(bufs, key=lambda v: v["first_seen_ns"]))), bufs[:2]
    assert len(by_name(r["scopes"], "plain")) == rounds
    (task,) = [t for t in r["tasks"] if t["id"] == 7]
    assert task["name"] == "forms" and task["ended_ns"] is not None
    assert len(r["snapshots"]) == rounds and {s["label"] for s in r["snapshots"]} == {"round"}
    sizes = sorted(l["size"] for l in r["leaks"] if l["kind"] == "custom")
    want = sorted([500 + i for i in range(rounds)] + [300 + i for i in range(rounds)])
    assert sizes == want, (sizes, want)


def test_probes_at_O0_O3_c_cxx_in_signal_handlers_and_alloca_functions():
    need_root()
    rounds = 12
    for cc, flags in (("gcc", ["-O0"]), ("gcc", ["-O3"]), ("clang", ["-O0", "-fcf-protection"]),
                      ("g++", ["-O3", "-no-pie"]), ("clang++", ["-O0"]), ("g++", ["-O1", "-fPIE", "-pie"])):
        exe = build([(src("probe_forms.c"), [])], cc, flags)
        want = run([exe, str(rounds)])
        r, p = trace_json([], [exe, str(rounds)])
        assert p.returncode == 0 and p.stdout == want, (cc, flags, p.stdout, want, p.stderr)
        forms_values(r, rounds)


def test_stacks_at_a_probe_are_the_same_in_both_forms():
    """MEMSCOPE_ALLOC in an alloca() function: the kept block's stack is
    with_alloca <- main whichever form the probe has (the kernel walks
    frame pointers from ip and rbp, which the 5-byte site leaves alone)."""
    need_root()
    rounds = 8
    stacks = {}
    for form in ([], ["-DMEMSCOPE_NOP1"]):
        exe = build([(src("probe_forms.c"), form)], "gcc", ["-O2", "-fno-omit-frame-pointer"])
        r, p = trace_json([], [exe, str(rounds)])
        assert p.returncode == 0, p.stderr
        got = [[f["function"] for f in l["stack"][:2]] for l in r["leaks"]
               if l["kind"] == "custom" and l["size"] >= 500]
        assert len(got) == rounds and all(g == ["with_alloca", "main"] for g in got), (form, got)
        stacks[tuple(form)] = got
    assert stacks[()] == stacks[("-DMEMSCOPE_NOP1",)]


def test_old_1_byte_binaries_traced_as_before():
    """A program built with the 1-byte form (as every older header made it)
    and one mixing both forms in one file: same report as the new form."""
    need_root()
    rounds = 10
    old = build([(src("probe_forms.c"), ["-DMEMSCOPE_NOP1"])], "gcc", ["-O2"])
    assert all(file_bytes(old, a, 1) == b"\x90" for _, a, _ in sites(old))
    r, p = trace_json(["-v"], [old, str(rounds)])
    assert p.returncode == 0, p.stderr
    forms_values(r, rounds)
    assert "1-byte nop (an int3 trap on every hit)" in p.stderr
    assert "5-byte" not in p.stderr


def bpftrace_script(exe):
    u = "usdt:%s:memscope:" % exe
    return "".join([
        u + 'var { printf("var %s %d %d %s\\n", str(arg0), arg2, arg3, str(arg4)); }\n',
        u + 'scope_enter { printf("scope_enter %s %d\\n", str(arg0), arg2); }\n',
        u + 'scope_exit { printf("scope_exit\\n"); }\n',
        u + 'alloc { printf("alloc %d\\n", arg1); }\n',
        u + 'free { printf("free %d\\n", arg0 != 0); }\n',
        u + 'task_enter { printf("task_enter %d\\n", arg0); }\n',
        u + 'task_exit { printf("task_exit %d\\n", arg0); }\n',
        u + 'task_name { printf("task_name %d %s\\n", arg0, str(arg1)); }\n',
        u + 'task_spawn { printf("task_spawn %d %d\\n", arg0, arg1); }\n',
        u + 'task_end { printf("task_end %d\\n", arg0); }\n',
        u + 'snapshot { printf("snapshot %s\\n", str(arg0)); }\n',
    ])


def bpftrace_lines(exe, args):
    if not shutil.which("bpftrace"):
        raise Skip("bpftrace not installed")
    # bpftrace 0.17 finds USDT semaphores through tracefs
    if not os.path.ismount("/sys/kernel/tracing"):
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], check=True)
    p = subprocess.run(["bpftrace", "-B", "none", "-c", " ".join([exe] + args), "-e", bpftrace_script(exe)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [l for l in p.stdout.splitlines() if l and not l.startswith(("Attaching", "sum "))]


def test_bpftrace_decodes_every_probe_of_both_forms():
    need_root()
    rounds = 3
    want = None
    for form in ([], ["-DMEMSCOPE_NOP1"]):
        exe = build([(src("probe_forms.c"), form)], "gcc", ["-O2"])
        lines = bpftrace_lines(exe, [str(rounds)])
        # stack addresses differ from run to run
        got = sorted(l for l in lines if not l.startswith("var stack_buf "))
        assert len(lines) - len(got) == rounds, lines
        if want is None:
            want = got
            # spot checks of the decoding: strings, sizes, values, lines
            assert sorted(l for l in lines if l.startswith("var plain_val")) == sorted(
                "var plain_val 8 %d long" % (1000 + i) for i in range(rounds)), lines
            assert sorted(l for l in lines if l.startswith("var alt_val")) == sorted(
                "var alt_val 8 %d long" % (3000 + i) for i in range(rounds))
            assert sorted(int(l.split()[1]) for l in lines if l.startswith("alloc ")) == sorted(
                [100 + i for i in range(rounds)] + [64 + i for i in range(rounds)] +
                [500 + i for i in range(rounds)] + [300 + i for i in range(rounds)])
            assert lines.count("free 1") == 2 * rounds
            assert lines.count("scope_enter plain %d" % scope_line()) == rounds
            assert lines.count("task_name 7 forms") == rounds and lines.count("snapshot round") == rounds
            assert sorted(l for l in lines if l.startswith("task_spawn")) == sorted(
                "task_spawn 7 %d" % (8 + i) for i in range(rounds))
            assert lines.count("task_end 7") == 1
            for name in ("var", "scope_enter", "scope_exit", "alloc", "free", "task_enter", "task_exit",
                         "task_name", "task_spawn", "task_end", "snapshot"):
                assert any(l.split()[0] == name for l in lines), name
        else:
            assert got == want, set(got) ^ set(want)


def source_line(pattern):
    with open(src("probe_forms.c")) as f:
        for i, line in enumerate(f, 1):
            if pattern in line:
                return i
    raise AssertionError(pattern)


def scope_line():
    return source_line('MEMSCOPE_SCOPE("plain")')


LOOP_C = r"""
#include <stdio.h>
#include <unistd.h>
#include "memscope.h"
void old_form(long i);
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("ready\n");
    for (long i = 0; i < 2000; i++) { TRACK_VAR(i); old_form(i); usleep(5000); }
    return 0;
}
"""
OLD_C = r"""
#include "memscope.h"
void old_form(long i) { long j = i + 1; TRACK_VAR(j); }
"""


def loop_target():
    d = tempfile.mkdtemp(prefix="memscope-sites-")
    a, b = os.path.join(d, "a.c"), os.path.join(d, "b.c")
    with open(a, "w") as f:
        f.write(LOOP_C)
    with open(b, "w") as f:
        f.write(OLD_C)
    return build([(a, []), (b, ["-DMEMSCOPE_NOP1"])], "gcc", ["-O2"])


def test_kernel_optimizes_the_5_byte_site_and_v_says_so():
    why = kernel_optimizes()
    if why:
        raise Skip(why)
    exe = loop_target()
    (new_site,) = [a for n, a, _ in sites(exe) if file_bytes(exe, a, 1) == b"\x0f"]
    (old_site,) = [a for n, a, _ in sites(exe) if file_bytes(exe, a, 1) == b"\x90"]
    target = subprocess.Popen([exe], stdout=subprocess.PIPE, text=True)
    tracer = None
    try:
        assert target.stdout.readline() == "ready\n"
        tracer = start_tracer(["-v", "-m", "light", "-p", str(target.pid), "-o", "/dev/null"])
        deadline = time.time() + 20
        while not semaphores_raised(target.pid, every=True):
            assert time.time() < deadline and tracer.poll() is None, "tracer did not attach"
            time.sleep(0.05)
        time.sleep(0.5)  # hits every 5 ms: the first one makes the kernel optimize
        assert site_bytes(target.pid, exe, new_site)[:1] == b"\xe8", site_bytes(target.pid, exe, new_site)
        assert site_bytes(target.pid, exe, old_site)[:1] == b"\xcc"
        with open("/proc/%d/maps" % target.pid) as f:
            assert "[uprobes-trampoline]" in f.read()
        tracer.send_signal(signal.SIGINT)
        _, err = tracer.communicate(timeout=60)
        assert tracer.returncode == 0, err
        # detached: the file's bytes again
        assert site_bytes(target.pid, exe, new_site) == file_bytes(exe, new_site)
        assert site_bytes(target.pid, exe, old_site, 1) == b"\x90"
    finally:
        if tracer and tracer.poll() is None:
            tracer.kill()
        target.kill()
        target.wait()
    assert "memscope:var at 0x%x in %s: 5-byte nop, red zone stepped over" % (new_site, exe) in err, err
    assert "memscope:var at 0x%x in %s: 1-byte nop (an int3 trap on every hit)" % (old_site, exe) in err
    assert "memscope:var at 0x%x in %s, PID %d: optimized: a call into the [uprobes-trampoline] page (e8)" % (
        new_site, exe, target.pid) in err, err
    assert "memscope:var at 0x%x in %s, PID %d: int3 trap (cc)" % (old_site, exe, target.pid) in err
    assert "1 of 1 5-byte sites optimized into calls" in err and "[uprobes-trampoline] mapped" in err, err


FORK_C = r"""
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
#include "memscope.h"
static void work(int who, int n) {
    for (int k = 0; k < n; k++) { int round = who * 1000 + k; TRACK_VAR(round); usleep(2000); }
}
int main(void) {
    int st = -1;
    work(0, 150); /* the parent's site is optimized by now */
    pid_t c = fork();
    if (c == 0) { work(1, 700); _exit(0); }
    waitpid(c, &st, 0);
    printf("child status %d\n", st);
    return 0;
}
"""


def test_fork_child_of_a_traced_process_never_crashes_and_f_traces_it():
    """This kernel does not copy the trampoline page into a fork child,
    which inherits the parent's calls into it: the child must skip its
    probes (the header's fork-wiped page) and -f must adopt it. Under -f
    the probes are attached without a PID filter, which the kernel does
    not re-arm in a child: the child held at its fork gets its sites in
    int3 form, so every one of its 700 rounds is traced."""
    need_root()
    d = tempfile.mkdtemp(prefix="memscope-sites-")
    c = os.path.join(d, "fork.c")
    with open(c, "w") as f:
        f.write(FORK_C)
    exe = build([(c, [])], "gcc", ["-O2"])
    r, p = trace_json(["-m", "light"], [exe])
    assert p.stdout == "child status 0\n", (p.stdout, p.stderr)
    assert {v["pid"] for v in r["variables"]} == {r["target"]["pid"]}
    r, p = trace_json(["-m", "light", "-f", "-v"], [exe])
    assert p.stdout == "child status 0\n", (p.stdout, p.stderr)
    kids = [v for v in r["variables"] if v["pid"] != r["target"]["pid"]]
    assert {v["name"] for v in kids} == {"round"}, len(kids)
    assert len(kids) == 700, (len(kids), kids[:1])
    assert "is a fork child: its sites in %s armed" % exe in p.stderr, p.stderr


SP_MAIN_C = r"""
#include <stdio.h>
#include <unistd.h>
void probe_a(void);
void probe_b(void);
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("ready\n");
    for (int i = 0; i < 2000; i++) { probe_a(); probe_b(); usleep(5000); }
    return 0;
}
"""
SP_PROBE_C = r"""
#include <stdint.h>
#include "memscope.h"
/* the size argument is this function's rsp, read just before the probe:
 * the stack pointer the unwind tables describe at the probe */
__attribute__((noinline)) void NAME(void) {
    uintptr_t sp;
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
    MEMSCOPE_ALLOC((void *)0x1000, sp);
}
"""


def test_bpf_knows_the_stack_pointer_at_both_site_forms():
    """bpf/usdt_site.bpf.h's ms_usdt_site_sp() gives the stack pointer the
    unwind tables describe, from the loader's cookie: all 5-byte, all
    1-byte, and both in one file (asked at the site). pt_regs->sp itself is
    128 bytes lower at a 5-byte site."""
    need_root()
    tool = os.path.join(ROOT, ".output", "tests", "site_sp")
    d = tempfile.mkdtemp(prefix="memscope-sites-")
    paths = {}
    for name, text in (("main", SP_MAIN_C), ("a", SP_PROBE_C.replace("NAME", "probe_a")),
                       ("b", SP_PROBE_C.replace("NAME", "probe_b"))):
        paths[name] = os.path.join(d, name + ".c")
        with open(paths[name], "w") as f:
            f.write(text)
    for forms, cookie in ((([], []), 1), ((["-DMEMSCOPE_NOP1"], ["-DMEMSCOPE_NOP1"]), 0),
                          (([], ["-DMEMSCOPE_NOP1"]), 2)):
        for opt in ("-O0", "-O2"):
            exe = build([(paths["main"], []), (paths["a"], forms[0]), (paths["b"], forms[1])], "gcc", [opt])
            target = subprocess.Popen([exe], stdout=subprocess.PIPE, text=True)
            try:
                assert target.stdout.readline() == "ready\n"
                out = subprocess.run([tool, str(target.pid), exe, "40"], capture_output=True, text=True,
                                     timeout=60)
                base = load_base(target.pid, exe)
            finally:
                target.kill()
                target.wait()
            assert out.returncode == 0, out.stderr
            hits = [l.split() for l in out.stdout.splitlines() if l.startswith("sp ")]
            assert len(hits) == 40
            ips = set()
            for h in hits:
                sp, raw, want, ip, ck = (int(h[i], 0) for i in (1, 3, 5, 7, 9))
                assert ck == cookie and sp == want, (forms, opt, h)
                five = file_bytes(exe, ip - base, 1) == b"\x0f"
                assert raw == (want - 128 if five else want), (forms, opt, h)
                ips.add((ip, five))
            assert len(ips) == 2 and {f for _, f in ips} == ({True} if cookie == 1 else {False} if cookie == 0
                                                               else {True, False}), ips

