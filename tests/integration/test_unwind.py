# SPDX-License-Identifier: BSD-3-Clause
"""Stacks walked by BPF with DWARF unwind tables (bpf/unwind.bpf.h), on
code built as distributions build it: -O2, no frame pointers, rbp
overwritten in every frame (tests/progs/unwind_nofp.c)."""
import os
import re
import shutil
import subprocess

from harness import PROGS, Skip, prog, trace_json

NOFP = prog("unwind_nofp")
# the chain of tests/progs/unwind_nofp.c, innermost first, and where each is
CHAIN = [("app_alloc", "unwind_nofp"), ("nofp_lib_inner", "libunwind_nofp.so"),
         ("nofp_lib_walk", "libunwind_nofp.so"), ("app_outer", "unwind_nofp"), ("main", "unwind_nofp"),
         ("__libc_start_call_main", "libc.so.6"), ("__libc_start_main", "libc.so.6"),
         ("_start", "unwind_nofp")]


def frames(stack):
    return [((f["function"] or "").split("@")[0], os.path.basename(f["module"] or "")) for f in stack]


def leak_of(report, size):
    (leak,) = [l for l in report["leaks"] if l["size"] == size]
    return leak


def test_nofp_chain_whole_stack_across_a_library():
    r, p = trace_json([], [NOFP, "leak"])
    assert p.returncode == 0, p.stderr
    leak = leak_of(r, 100)
    assert frames(leak["stack"]) == CHAIN
    assert leak["truncated"] is False and "truncated_reason" not in leak
    u = r["summary"]["unwind"]
    assert u["method"] == "dwarf" and u["files"] >= 4 and u["rows"] > 20000  # exe, ld.so, lib, libc
    assert 0 < u["bytes"] <= u["capacity_bytes"] and u["files_not_loaded"] == 0
    assert r["summary"]["truncated_stacks"] == 0 and r["summary"]["stack_failures"] == 0
    # the same run by the kernel's frame-pointer walk stops in the first frame
    r, p = trace_json(["--unwind", "fp"], [NOFP, "leak"])
    leak = leak_of(r, 100)
    assert frames(leak["stack"])[:1] == CHAIN[:1] and len(leak["stack"]) <= 2
    assert leak["truncated"] is None and r["summary"]["unwind"]["method"] == "fp"


def test_nofp_chain_in_fast_mode():
    r, p = trace_json(["-m", "fast"], [NOFP, "leak"])
    assert p.returncode == 0, p.stderr
    leak = leak_of(r, 100)
    assert frames(leak["stack"]) == CHAIN and leak["truncated"] is False


def test_nofp_chain_in_sampled_mode():
    """Sampled mode (every allocation sampled): the sampling library's
    probe walks the same whole chain, below the library's own frames."""
    env = dict(os.environ, MEMSCOPE_SAMPLE_INTERVAL="1")
    r, p = trace_json(["-m", "sampled"], [NOFP, "leak"], env=env)
    assert p.returncode == 0, p.stderr
    leak = leak_of(r, 100)
    assert frames(leak["stack"])[-len(CHAIN):] == CHAIN and leak["truncated"] is False
    # the program's two blocks and nothing else: the library's own
    # bootstrap blocks (dlsym's error strings, freed without a probe) are
    # not announced, or each would read as a leak of its own
    assert sorted(l["size"] for l in r["leaks"]) == [100, 4096], \
        [(l["size"], [f for f, _ in frames(l["stack"])]) for l in r["leaks"]]
    # the library's own frames are named from its file, found by LD_PRELOAD
    # though the target is gone when the report is written
    assert leak["stack"][0]["module"].endswith("/libmemscope_sample.so") and leak["stack"][0]["function"]


def test_nofp_double_free_stack_starts_at_the_caller():
    r, p = trace_json([], [NOFP, "double"])
    assert r["target"]["signal"] == 6  # glibc aborts on the second free
    (d,) = r["double_frees"]
    names = [f for f, _ in frames(d["stack"])]
    # free's own frame is dropped; the caller comes once
    assert names[:2] == ["app_free_twice", "main"] and names[-1] == "_start", names
    assert len(names) == 5 and d["truncated"] is False


def test_stack_depth_limit_marks_truncated():
    r, p = trace_json(["--stack-depth", "3"], [NOFP, "leak"])
    leak = leak_of(r, 100)
    assert frames(leak["stack"]) == CHAIN[:3]
    assert leak["truncated"] is True and leak["truncated_reason"].startswith("stack depth limit")
    assert r["summary"]["truncated_stacks"] >= 1


def test_dlopened_library_gets_its_table_when_mapped():
    """A library dlopen()ed mid-run: ld.so's consistent point holds the
    process until the tracer has built the library's table, so even the
    first call through it is whole."""
    lib = os.path.join(PROGS, "libunwind_nofp_dl.so")
    r, p = trace_json([], [NOFP, "dlopen", lib])
    assert p.returncode == 0, p.stderr
    late = leak_of(r, 202)
    assert frames(late["stack"]) == [("app_alloc", "unwind_nofp"), ("nofp_dl_inner", "libunwind_nofp_dl.so"),
                                     ("nofp_dl_walk", "libunwind_nofp_dl.so"), ("dl_call", "unwind_nofp")] + CHAIN[4:]
    assert late["truncated"] is False
    assert r["summary"]["holds"]["count"] >= 1
    assert r["summary"]["unwind"]["files_mapped_before_table"] == 0
    early = leak_of(r, 201)
    assert early["truncated"] is False


def valgrind_leaks(cmd):
    """valgrind --leak-check=full on cmd: [(block size, [(function, file,
    line)...])] for every definitely and indirectly lost record, the
    allocator's own frame left out, up to main."""
    if not shutil.which("valgrind"):
        raise Skip("valgrind not installed (scripts/deps.sh installs it)")
    p = subprocess.run(["valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect",
                        "--num-callers=40"] + cmd, capture_output=True, text=True, timeout=300)
    # valgrind must have run the program to its leak check, or say why not
    assert "LEAK SUMMARY" in p.stderr or "All heap blocks were freed" in p.stderr, \
        (p.returncode, p.stderr[-2000:])
    records, cur = [], None
    for line in p.stderr.splitlines():
        m = re.search(r"== ([\d,]+)(?: \(([\d,]+) direct, [\d,]+ indirect\))? bytes in 1 blocks "
                      r"are (definitely|indirectly) lost", line)
        if m:
            cur = (int((m.group(2) or m.group(1)).replace(",", "")), [])
            records.append(cur)
            continue
        m = re.search(r"==\s+(at|by) 0x[0-9A-F]+: (.*?) \((?:in (.*)|(.*?):(\d+))\)$", line)
        if m and cur is not None:
            if m.group(1) == "at":
                continue  # the allocator (valgrind's replacement)
            if cur[1] and cur[1][-1][0] == "main":
                continue
            cur[1].append((m.group(2), m.group(4), int(m.group(5)) if m.group(5) else None))
        elif not line.strip("=0123456789 "):
            cur = None
    return records


def test_cxx_o2_stacks_match_valgrind_frame_by_frame():
    """A C++ program built -O2 -g (no frame pointers, inlined functions):
    each leak record valgrind prints, frame by frame up to main (function,
    file, line, inline frames included), is the stack memscope reports."""
    cxx = prog("unwind_cxx")
    vg = valgrind_leaks([cxx])
    assert len(vg) == 3, vg  # leaf_alloc's block, the std::string and its buffer
    r, p = trace_json([], [cxx])
    assert p.returncode == 0, p.stderr
    for size, want in vg:
        (leak,) = [l for l in r["leaks"] if l["size"] == size]
        got = [(f["function"], os.path.basename(f["file"]) if f["file"] else None, f["line"])
               for f in leak["stack"]][:len(want)]
        assert got == want, (size, got, want)
        assert leak["truncated"] is False
    (chain,) = [l for l in r["leaks"] if l["size"] == 30]
    assert [f.get("inlined", False) for f in chain["stack"][:3]] == [False, True, False]


# ---- symbols from wherever debuggers find them ---------------------------

SYM_CHAIN = ["sym_leaf", "sym_outer", "main"]


def sym_frames(report):
    (leak,) = [l for l in report["leaks"] if l["size"] == 77]
    return leak["stack"][:3]


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert p.returncode == 0, (cmd, p.stderr)
    return p.stdout


def stripped_copy(d):
    """tests/progs/symbols stripped of every symbol and all DWARF, and its
    debug file, kept in a directory of its own (next to the binary as
    symbols.debug, libdwfl would find it). Returns (stripped, debug file)."""
    os.mkdir(os.path.join(d, "keep"))
    src, out, dbg = prog("symbols"), os.path.join(d, "symbols"), os.path.join(d, "keep", "symbols.debug")
    run(["objcopy", "--only-keep-debug", src, dbg])
    run(["strip", "--strip-all", "-o", out, src])
    return out, dbg


def test_stripped_frames_say_module_and_offset():
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        exe, _ = stripped_copy(d)
        r, p = trace_json(["--no-debuginfod"], [exe])
    frames = sym_frames(r)
    # the static functions have no name left anywhere: module + offset
    for f in frames[:2]:
        assert f["function"] is None and f["module"].endswith("/symbols") and int(f["offset"], 16) > 0
    assert frames[2]["function"] is None  # main is local too once stripped
    assert len([l for l in r["leaks"] if l["size"] == 77][0]["stack"]) >= 5  # walked on by CFI


def test_minidebuginfo_names_stripped_functions():
    """MiniDebugInfo, as Fedora ships it: the function symbols of a
    stripped binary in an xz-compressed .gnu_debugdata section."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        exe, dbg = stripped_copy(d)
        src = prog("symbols")
        dyn = {l.split()[0] for l in run(["nm", "-D", "--format=posix", "--defined-only", src]).splitlines()}
        funcs = [l.split()[0] for l in run(["nm", "--format=posix", "--defined-only", src]).splitlines()
                 if l.split()[1] in ("T", "t")]
        keep = os.path.join(d, "keep.syms")
        with open(keep, "w") as f:
            f.write("\n".join(sorted(set(funcs) - dyn)) + "\n")
        mini = os.path.join(d, "mini")
        run(["objcopy", "-S", "--remove-section", ".gdb_index", "--remove-section", ".comment",
             "--keep-symbols=" + keep, dbg, mini])
        run(["xz", "-f", mini])
        run(["objcopy", "--add-section", ".gnu_debugdata=" + mini + ".xz", exe])
        assert ".symtab" not in run(["readelf", "-S", exe])
        r, p = trace_json(["--no-debuginfod"], [exe])
    frames = sym_frames(r)
    assert [f["function"] for f in frames] == SYM_CHAIN
    assert all(f["file"] is None for f in frames)  # symbols only: no lines


def test_debuginfod_fetches_debug_info_of_a_stripped_binary():
    """Debian's debuginfod serves a directory holding the stripped binary's
    debug file; DEBUGINFOD_URLS points the tracer at it: names, files and
    lines come back, the file lands in the cache named with
    --debuginfod-cache. --no-debuginfod leaves the frames unnamed."""
    import socket
    import tempfile
    import time
    import urllib.request
    if not shutil.which("debuginfod"):
        raise Skip("debuginfod not installed (scripts/deps.sh installs it)")
    with tempfile.TemporaryDirectory() as d:
        srv = os.path.join(d, "srv")
        os.mkdir(srv)
        exe, dbg = stripped_copy(d)
        os.rename(dbg, os.path.join(srv, "symbols.debug"))
        build_id = run(["readelf", "-n", exe]).split("Build ID:")[1].split()[0]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(["debuginfod", "-F", "-p", str(port), "-d", os.path.join(d, "db.sqlite"),
                                   "-t", "0", "-g", "0", srv], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            url = "http://127.0.0.1:%d" % port
            deadline = time.time() + 20
            while True:  # until the debug file is indexed
                try:
                    urllib.request.urlopen("%s/buildid/%s/debuginfo" % (url, build_id), timeout=2).read(1)
                    break
                except Exception:
                    assert time.time() < deadline, "debuginfod did not index %s" % srv
                    time.sleep(0.2)
            cache = os.path.join(d, "cache")
            env = dict(os.environ, DEBUGINFOD_URLS=url)
            r, p = trace_json(["--debuginfod-cache", cache], [exe], env=env)
            frames = sym_frames(r)
            assert [f["function"] for f in frames] == SYM_CHAIN
            assert all(f["file"].endswith("symbols.c") and f["line"] for f in frames)
            assert os.path.exists(os.path.join(cache, build_id, "debuginfo"))
            r, p = trace_json(["--no-debuginfod"], [exe], env=env)
            assert all(f["function"] is None for f in sym_frames(r))
        finally:
            server.terminate()
            server.wait(timeout=10)


# ---- programs nobody here wrote ------------------------------------------

def allocator_probed(pid, lib_part, func="malloc"):
    """True once a uprobe (int3) sits in the first bytes of func in the
    library of pid whose path contains lib_part."""
    base = path = None
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and lib_part in parts[5] and int(parts[2], 16) == 0:
                base, path = int(parts[0].split("-")[0], 16), parts[5]
                break
    if not path:
        return False
    out = run(["nm", "-D", "--defined-only", path])
    addr = [int(l.split()[0], 16) for l in out.splitlines() if l.split()[-1] in (func, func + "@@GLIBC_2.2.5")]
    if not addr:
        return False
    with open("/proc/%d/mem" % pid, "rb") as m:
        m.seek(base + addr[0])
        return 0xcc in m.read(16)


def outermost_ok(stack):
    names = [(f["function"] or "") for f in stack]
    return names and (names[-1] == "_start" or "start_thread" in names[-1] or "clone" in names[-1])


def test_redis_server_stacks_reach_main():
    """Debian's redis-server (jemalloc, -O2, no frame pointers), attached
    with -p under redis-benchmark: allocation stacks are whole, from
    zmalloc through processCommand and call down to main."""
    import tempfile
    import time
    from harness import need_root, start_tracer, tmpfile
    need_root()
    if not shutil.which("redis-server") or not shutil.which("redis-benchmark"):
        raise Skip("redis-server/redis-tools not installed (scripts/deps.sh installs them)")
    with tempfile.TemporaryDirectory() as d:
        sock = os.path.join(d, "redis.sock")
        srv = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
                                "--appendonly", "no", "--dir", d], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        out = tmpfile()
        try:
            deadline = time.time() + 10
            while not os.path.exists(sock):
                assert time.time() < deadline and srv.poll() is None, "redis-server did not start"
                time.sleep(0.05)
            tr = start_tracer(["-p", str(srv.pid), "-o", out, "--stack-depth", "64", "--budget", "none"])
            deadline = time.time() + 20
            while not allocator_probed(srv.pid, "jemalloc"):
                assert time.time() < deadline and tr.poll() is None, "tracer did not attach"
                time.sleep(0.1)
            run(["redis-benchmark", "-s", sock, "-n", "3000", "-c", "4", "-q", "-t", "set,lpush,get"],
                timeout=120)
            tr.send_signal(2)
            tr.wait(timeout=60)
            with open(out) as f:
                import json
                r = json.load(f)
        finally:
            srv.terminate()
            srv.wait(timeout=10)
            if os.path.exists(out):
                os.unlink(out)
    sites = r["live_sites"]
    assert sites and r["summary"]["unwind"]["method"] == "dwarf"
    whole = [s for s in sites if s["truncated"] is False]
    assert len(whole) >= 0.9 * len(sites), [s.get("truncated_reason") for s in sites if s["truncated"]]
    assert all(outermost_ok(s["stack"]) for s in whole)
    names = [[f["function"] or "" for f in s["stack"]] for s in whole]
    cmd = [n for n in names if "processCommand" in n and "call" in n]
    assert cmd and all("main" in n and "aeMain" in n for n in cmd), names[:3]
    assert any(n[0].startswith("zmalloc") or n[0].startswith("ztrymalloc") for n in cmd)


def test_python311_stacks_reach_main():
    """Debian's python3.11 (LTO, -O2, no frame pointers; python3.11-dbg's
    debug files): the 30 MB of bytearrays a script keeps are allocated by
    bytearray code under the interpreter loop, and their stacks reach
    main's callee and _start."""
    py = "/usr/bin/python3.11"  # Debian's, not whatever python3.11 PATH finds first
    if not os.path.exists(py) or not os.path.exists("/usr/lib/debug/.build-id"):
        raise Skip("python3.11 / python3.11-dbg not installed (scripts/deps.sh installs them)")
    script = "keep = [bytearray(1 << 20) for _ in range(30)]\nimport os\nos._exit(0)\n"
    r, p = trace_json(["--stack-depth", "127"], [py, "-c", script], timeout=120)
    big = [l for l in r["leaks"] if l["size"] >= (1 << 20)]
    assert len(big) >= 30, len(big)
    for l in big:
        names = [f["function"] or "" for f in l["stack"]]
        assert l["truncated"] is False and names[-1] == "_start", (l.get("truncated_reason"), names)
        # Debian's main() tail-calls Py_BytesMain: it is not on the stack
        assert "Py_BytesMain" in names and "_PyEval_EvalFrameDefault" in names, names
        assert any("bytearray" in n.lower() for n in names[:6]), names[:6]


def test_table_memory_overflow_is_counted_and_named():
    """Tables that do not fit --unwind-tables are counted, named on
    stderr, and their files walked by frame pointer; what fits works."""
    env = dict(os.environ, MEMSCOPE_TEST_UNWIND_ROWS="200")  # the program's ~50 rows, not libc's
    r, p = trace_json([], [NOFP, "leak"], env=env)
    u = r["summary"]["unwind"]
    assert u["files_not_loaded"] >= 1 and "no room for the unwind table of" in p.stderr
    assert "libc.so.6" in p.stderr and "--unwind-tables" in p.stderr
    assert u["bytes"] <= u["capacity_bytes"]
    leak = leak_of(r, 100)
    # the program's own frames are walked by their table; libc's are not
    assert frames(leak["stack"])[:5] == CHAIN[:5]


# ---- bad input: the walk stops at that frame and says so -----------------

def test_pc_in_jit_code_ends_the_walk_there():
    """app_alloc called from code in an anonymous executable mapping (as
    a JIT's): the walk takes app_alloc and the JIT frame, then stops, and
    the target runs on unharmed."""
    r, p = trace_json([], [NOFP, "jit"])
    assert p.returncode == 0 and p.stdout.strip().startswith("0x"), p.stderr
    leak = leak_of(r, 303)
    assert frames(leak["stack"])[0] == ("app_alloc", "unwind_nofp")
    assert len(leak["stack"]) == 2 and leak["stack"][1]["module"] is None
    assert leak["truncated"] is True
    assert leak["truncated_reason"] == "code outside any file mapping (JIT or anonymous memory)"
    assert r["summary"]["truncated_stacks"] >= 1


def test_stack_pointer_pointing_nowhere_ends_the_walk_there():
    """A function whose CFI finds its caller's frame through an rbp that
    points above the stack, where nothing is mapped: the walk stops in
    that function, saying the stack could not be read."""
    r, p = trace_json([], [NOFP, "badsp"])
    assert p.returncode == 0 and p.stdout.strip().startswith("0x"), p.stderr
    leak = leak_of(r, 304)
    assert frames(leak["stack"]) == [("app_alloc", "unwind_nofp"), ("bad_sp_call", "unwind_nofp")]
    assert leak["truncated"] is True and leak["truncated_reason"] == "stack memory not readable"


# ---- processes that appear later ----------------------------------------

def test_forked_child_stacks_are_whole():
    """-f: a forked child's allocations are walked with the tables of the
    files it shares with its parent."""
    r, p = trace_json(["-f"], [NOFP, "fork"])
    assert p.returncode == 0, p.stderr
    leak = leak_of(r, 401)
    assert leak["pid"] != r["target"]["pid"]
    assert frames(leak["stack"]) == CHAIN and leak["truncated"] is False


def test_exec_of_a_new_file_gets_its_tables_when_mapped():
    """The target execs a copy of itself and of its library, files no
    table was built for: the tracer builds their tables when it sees the
    exec or when BPF reports their mappings, and the stacks after that are
    whole."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        for f in ("unwind_nofp", "libunwind_nofp.so"):
            shutil.copy2(os.path.join(PROGS, f), os.path.join(d, f))
        copy = os.path.join(d, "unwind_nofp")
        r, p = trace_json([], [NOFP, "exec", copy, "late"])
    assert p.returncode == 0, p.stderr
    assert r["summary"]["unwind"]["files"] == 6  # exe, ld.so, lib, libc, and the two copies
    late = leak_of(r, 502)
    assert [f for f, _ in frames(late["stack"])] == [f for f, _ in CHAIN] and late["truncated"] is False
    # the first allocation raced the tables: whole, or cut short saying why
    early = leak_of(r, 501)
    assert early["truncated"] is False or early["truncated_reason"].startswith("no unwind information")


def test_pprof_shows_inline_frames_as_lines_of_one_location():
    """--pprof: the frames inlined at one address are one location with a
    line per function, which go tool pprof prints as "(inline)"."""
    from harness import tmpfile
    if not shutil.which("go"):
        raise Skip("go (golang-go) is not installed: make deps")
    pp = tmpfile(".pb.gz")
    try:
        r, p = trace_json(["--pprof", pp], [prog("unwind_cxx")])
        assert p.returncode == 0, p.stderr
        out = subprocess.run(["go", "tool", "pprof", "-traces", "-sample_index=inuse_space", pp],
                             capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, HOME=os.environ.get("HOME", "/root"),
                                      GOCACHE=os.path.join(os.environ.get("TMPDIR", "/tmp"), "memscope-gocache")))
        assert out.returncode == 0, out.stderr
    finally:
        if os.path.exists(pp):
            os.unlink(pp)
    (trace,) = [t for t in out.stdout.split("-----------+") if "leaf_alloc" in t]
    lines = [l.split("   ")[-1].strip() for l in trace.splitlines()
             if l.strip() and not l.strip().startswith("-") and ":" not in l.split()[0]]
    assert lines[:3] == ["leaf_alloc(unsigned long)", "mid_c (inline)", "mid_b(unsigned long)"], trace


def test_custom_allocator_probe_at_a_five_byte_site_walks_whole():
    """MEMSCOPE_ALLOC in code without frame pointers, at a 5-byte nop site
    (rsp 128 bytes below what the CFI describes there): the walk starts
    from the stack pointer the site's form gives and is whole."""
    r, p = trace_json([], [NOFP, "custom"])
    assert p.returncode == 0, p.stderr
    leak = leak_of(r, 600)
    assert leak["kind"] == "custom" and frames(leak["stack"]) == CHAIN and leak["truncated"] is False
