# SPDX-License-Identifier: BSD-3-Clause
"""Issue 7 point 5: CI's short fuzzing pass over the committed corpus
(libFuzzer + ASan/UBSan over the registry and every report writer)."""
import os
import subprocess

from harness import ROOT, Skip


def test_fuzz_corpus_replay_and_short_pass():
    fuzzer = os.path.join(ROOT, ".output", "fuzz", "fuzz_registry")
    if not os.path.exists(fuzzer):
        raise Skip("fuzzer not built (make .output/fuzz/fuzz_registry)")
    p = subprocess.run([os.path.join(ROOT, "tests", "fuzz", "run_corpus.sh"), "30"], cwd=ROOT,
                       capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
