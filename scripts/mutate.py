#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""scripts/mutate.py - would the test suite catch a bug? (Not run by CI.)

Each mutation below changes one line of the BPF programs, the registry, the
report writers or the tracer's consumer into a plausible bug. For each one
the script applies it, rebuilds, runs the tests named as its likely
catchers with --fail-fast (a few seconds each, not the whole suite), puts
the line back, and records which test caught it, or that none did. A
mutation that survives is a bug the suite would let through: the answer is
a test that catches it (then name that test here). --full also runs the
whole suite for a mutation its named tests missed (~8 minutes each). At
the end the tree is rebuilt as it was. --unit-only runs the unit tests
alone for each (no root, no BPF: a first pass while the machine is busy).

Needs root (the integration tests load BPF) and no uncommitted change in the
files it mutates. It loads BPF: give it the machine to itself.
    scripts/mutate.py [--list] [--full | --unit-only] [NAME ...]
Exit status 0 when every mutation was caught."""
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, file, [(the line as it is, as mutated), ...], tests that should
# catch it, what). The first (old, new) pair whose old text occurs exactly
# once in the file is applied: alternatives keep a mutation applicable while
# the code around it changes shape.
MUTATIONS = [
    # ---- BPF -----------------------------------------------------------------
    ("bpf-drop-1pct-frees", "bpf/heap.bpf.h",
     [("\tknown = block_take(pid_tgid >> 32, ptr, &v);",
       "\tknown = block_take(pid_tgid >> 32, ptr, &v); if (bpf_get_prandom_u32() % 100 == 0) return;")],
     ["test_attach_to_a_target_working_at_once", "test_known_figures"], "lose about every 100th free"),
    ("bpf-calloc-size", "bpf/memscope.bpf.c",
     [("ALLOC_ENTRY(calloc, MS_K_CALLOC, PT_REGS_PARM1(ctx) * PT_REGS_PARM2(ctx), 0)",
       "ALLOC_ENTRY(calloc, MS_K_CALLOC, PT_REGS_PARM2(ctx), 0)"),
      ("ALLOC_ENTRY(calloc, ck_arg(ctx, ck, 0) * ck_arg(ctx, ck, 1), 0)",
       "ALLOC_ENTRY(calloc, ck_arg(ctx, ck, 1), 0)")],
     ["test_aligned_calloc", "test_known_figures"], "calloc(n, size) recorded as size bytes"),
    ("bpf-scope-exit-no-pop", "bpf/memscope.bpf.c",
     [("\t\tt->scope_depth = --d;", "\t\t--d;")],
     ["test_attach_to_a_target_working_at_once", "test_threads_sharing_state_slots"],
     "scope exit leaves the scope on BPF's stack"),
    ("bpf-free-not-known", "bpf/heap.bpf.h",
     [("\te->h.flags = flags | (known ? MS_F_KNOWN : 0);\n\te->addr = ptr;\n\te->size = v.size;",
       "\te->h.flags = flags;\n\te->addr = ptr;\n\te->size = v.size;")],
     ["test_ring_overflow", "test_frees_of_lost_allocations"], "a free BPF saw allocated is not marked known"),
    ("bpf-realloc-old-size", "bpf/heap.bpf.h",
     [("\te->old_addr = old;\n\te->old_size = v.size;", "\te->old_addr = old;\n\te->old_size = size;")],
     ["test_known_leaks", "test_fast_mode", "test_frees_of_lost_allocations"],
     "realloc's old size swapped for the new one"),
    ("bpf-delete-chain-twice", "bpf/memscope.bpf.c",
     [("\t\tif (t->skip_free == ptr) {", "\t\tif (!from_delete && t->skip_free == ptr) {"),
      ("\t\tif (t->skip_free == ptr && sp <= t->skip_sp) {",
       "\t\tif (!from_delete && t->skip_free == ptr && sp <= t->skip_sp) {")],
     ["test_cxx_new_delete"], "sized delete and the unsized delete it calls both recorded"),
    # ---- consumer ----------------------------------------------------------
    ("consumer-lose-first-record", "user/probe/consumer.c",
     [("\thand_over(c, data, len);\n\t/* the ring's record header",
       "\tif (c->pos) hand_over(c, data, len);\n\t/* the ring's record header")],
     ["test_attach_mid_run", "test_cmd_traces_every_macro", "test_known_figures"],
     "lose the first ring record after attach"),
    # ---- registry ------------------------------------------------------------
    ("registry-hist-off-by-one", "user/registry/registry_heap.c",
     [("\tunsigned b = v ? 64 - (unsigned)__builtin_clzll(v) : 0;",
       "\tunsigned b = v ? 65 - (unsigned)__builtin_clzll(v) : 0;")],
     ["unit/", "test_known_figures"], "log2 histogram buckets one off"),
    ("registry-temporary-threshold", "user/registry/registry_heap.c",
     [("\t\tif (life < r->opts.temp_ns) {", "\t\tif (life < 100 * r->opts.temp_ns) {")],
     ["unit/", "test_known_figures"], "temporaries counted up to 100 ms"),
    ("registry-unknown-frees-uncounted", "user/registry/registry_heap.c",
     [("\tr->sum.unknown_frees++;", "\t;")],
     ["unit/", "test_attach_mid_run"], "frees of pre-attach blocks not counted"),
    ("registry-peak-not-kept", "user/registry/registry_heap.c",
     [("\tif (r->sum.live_bytes > r->sum.peak_live_bytes) {",
       "\tif (r->sum.live_bytes > r->sum.peak_live_bytes && 0) {")],
     ["unit/", "test_known_figures"], "peak live bytes never updated"),
    ("registry-task-spawn-parent", "user/registry/registry_task.c",
     [("\t\t\tc->parent = t->id;", "\t\t\tc->parent = 0;")],
     ["unit/", "test_known_figures"], "a spawned task loses its parent"),
    ("registry-fold-all", "user/registry/registry_fold.c",
     [("\t\tif (excess && s->exit_ns && (g = agg_of(r, 1, s->name, s->file, s->line))) {",
       "\t\tif (s->exit_ns && (g = agg_of(r, 1, s->name, s->file, s->line))) {")],
     ["unit/", "test_aggregates_past_keep"], "every ended scope folded, --keep ignored"),
    ("registry-growth-drop", "user/registry/registry_growth.c",
     [("\t\tif (drop > rise * 0.1 || r2 < 0.8 || slope <= 0)",
       "\t\tif (drop > rise * 0.2 || r2 < 0.8 || slope <= 0)")],
     ["unit/test_registry"], "growth tolerates drops of 20% of the rise"),
    ("registry-double-first-free", "user/registry/registry_heap.c",
     [("\tf->first_free_ns = first_ns;", "\tf->first_free_ns = first_ns ? 1 : 0;")],
     ["unit/", "test_file_closed_twice"], "a double free loses the time of the first free"),
    ("registry-bookkeeping-by-prefix", "user/registry/registry_heap.c",
     [("\treturn !freed_before && !strncmp(function, \"_dl_\", 4);",
       "\treturn !strncmp(function, \"_IO_\", 4) || (!freed_before && !strncmp(function, \"_dl_\", 4));")],
     ["unit/test_registry", "test_file_closed_twice"], "stdio's frees discarded as bookkeeping"),
    ("registry-sampled-variance", "user/registry/registry_heap.c",
     [("\t\te->alloc_space_var += w * (w - sz);", "\t\te->alloc_space_var += w * w * w;")],
     ["unit/", "test_sampled_estimates_per_site"], "sampled alloc_space variance wrong"),
    # ---- writers ------------------------------------------------------------
    ("json-no-lt-escape", "user/util/json.c",
     [("\t\tcase '<': fputs(\"\\\\u003c\", f); s++; continue;", "\t\tcase '<': fputc('<', f); s++; continue;")],
     ["unit/", "test_html::test_page_data"], "'<' left unescaped in JSON inside the HTML page"),
    ("json-summary-frees", "user/report/shapes.c",
     [("\tms_json_key(j, \"frees\"); ms_json_u64(j, s->frees);",
       "\tms_json_key(j, \"frees\"); ms_json_u64(j, s->allocs);")],
     ["unit/", "test_known_figures"], "summary.frees written as allocs"),
    ("json-dbl-precision", "user/util/json.c",
     [("\t\tfprintf(j->f, \"%.15g\", v);", "\t\tfprintf(j->f, \"%.6g\", v);")],
     ["unit/", "test_sampled_attach"], "doubles written with 6 significant digits"),
    ("folded-semicolon", "user/report/report_folded.c",
     [("\t\tif (*s == ';')\n\t\t\tfputc(':', f);", "\t\tif (*s == 1)\n\t\t\tfputc(':', f);")],
     ["unit/", "test_folded_matches_json", "test_report_files_through"],
     "';' in a frame name left as is (splits the frame)"),
    ("timeline-dur", "user/report/report_timeline.c",
     [("\t\tms_json_key(j, \"dur\"); us(j, exit > s[i].enter_ns ? exit - s[i].enter_ns : 0);",
       "\t\tms_json_key(j, \"dur\"); us(j, exit > s[i].enter_ns ? exit - s[i].enter_ns + 1000 : 0);")],
     ["unit/", "test_timeline_matches_json", "test_report_files_through"], "scope slices 1 us too long"),
]


def sh(cmd, timeout=None):
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def build(targets=("all", "unit")):
    p = sh(["make", "-j2"] + list(targets))
    return p.returncode == 0, (p.stdout + p.stderr)[-2000:]


def first_failure(args):
    """Run tests/run.py --fail-fast ARGS: (failing test or None, seconds)."""
    t = time.time()
    p = sh([sys.executable, "tests/run.py", "--fail-fast"] + args, timeout=3600)
    m = re.search(r"^FAIL (\S+)", p.stdout, re.M)
    if m:
        return m.group(1), time.time() - t
    if p.returncode != 0:
        return "(runner exit %d)" % p.returncode, time.time() - t
    if re.search(r"^0 passed, 0 failed", p.stdout, re.M):
        return "(no test matched %s)" % " ".join(args), time.time() - t
    return None, time.time() - t


def run_one(m, full_suite, unit_only):
    name, path, alts, hints, _ = m
    fn = os.path.join(ROOT, path)
    with open(fn) as f:
        text = f.read()
    pair = next(((old, new) for old, new in alts if text.count(old) == 1), None)
    if pair is None:
        return "not applied (no form of the line occurs exactly once: the source moved on)"
    try:
        with open(fn, "w") as f:
            f.write(text.replace(*pair))
        ok, log = build(["unit"] if unit_only else ["all", "unit"])
        if not ok:
            return "does not build: " + log.strip().splitlines()[-1]
        who, secs = first_failure(["unit/"] if unit_only else hints)
        if not who and full_suite:
            who, more = first_failure([])
            secs += more
        return ("caught by %s (%.0f s)" % (who, secs)) if who else "SURVIVED%s (%.0f s)" % (
            " the unit tests" if unit_only else "", secs)
    finally:
        with open(fn, "w") as f:
            f.write(text)


def main():
    args = sys.argv[1:]
    if "--list" in args:
        for name, path, _, _, what in MUTATIONS:
            print("%-34s %-32s %s" % (name, path, what))
        return 0
    full_suite, unit_only = "--full" in args, "--unit-only" in args
    names = [a for a in args if not a.startswith("--")]
    chosen = [m for m in MUTATIONS if not names or m[0] in names]
    if os.geteuid() != 0 and not unit_only:
        print("mutate.py: needs root (the integration tests load BPF)", file=sys.stderr)
        return 2
    dirty = sh(["git", "status", "--porcelain", "--"] + sorted({m[1] for m in chosen})).stdout.strip()
    if dirty:
        print("mutate.py: uncommitted changes in files it would mutate:\n" + dirty, file=sys.stderr)
        return 2
    results = []
    try:
        for m in chosen:
            print("%-34s ..." % m[0], end=" ", flush=True)
            out = run_one(m, full_suite, unit_only)
            print(out, flush=True)
            results.append((m, out))
    finally:
        ok, log = build(["unit"] if unit_only else ["all", "unit"])
        if not ok:
            print("mutate.py: the restored tree does not build:\n" + log, file=sys.stderr)
    print("\n%-34s %-32s %-46s %s" % ("mutation", "file", "what", "outcome"))
    for (name, path, _, _, what), out in results:
        print("%-34s %-32s %-46s %s" % (name, path, what, out))
    caught = sum(1 for _, o in results if o.startswith("caught"))
    print("\n%d mutations: %d caught, %d survived, %d not run" % (
        len(results), caught, sum(1 for _, o in results if o.startswith("SURVIVED")),
        sum(1 for _, o in results if not o.startswith(("caught", "SURVIVED")))))
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
