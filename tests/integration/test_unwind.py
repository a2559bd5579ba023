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
    """A library dlopen()ed mid-run has no table until BPF reports it;
    the tracer builds it then, and later stacks through it are whole."""
    lib = os.path.join(PROGS, "libunwind_nofp_dl.so")
    r, p = trace_json([], [NOFP, "dlopen", lib])
    assert p.returncode == 0, p.stderr
    late = leak_of(r, 202)
    assert frames(late["stack"]) == [("app_alloc", "unwind_nofp"), ("nofp_dl_inner", "libunwind_nofp_dl.so"),
                                     ("nofp_dl_walk", "libunwind_nofp_dl.so"), ("dl_call", "unwind_nofp")] + CHAIN[4:]
    assert late["truncated"] is False
    assert r["summary"]["unwind"]["files_mapped_before_table"] >= 1
    # the first call raced the table: it may stop in the library, and says so
    early = leak_of(r, 201)
    assert early["truncated"] is False or early["truncated_reason"].startswith("no unwind information")


def valgrind_leaks(cmd):
    """valgrind --leak-check=full on cmd: [(block size, [(function, file,
    line)...])] for every definitely and indirectly lost record, the
    allocator's own frame left out, up to main."""
    if not shutil.which("valgrind"):
        raise Skip("valgrind not installed (scripts/deps.sh installs it)")
    p = subprocess.run(["valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect",
                        "--num-callers=40"] + cmd, capture_output=True, text=True, timeout=300)
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
