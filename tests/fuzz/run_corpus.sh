#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# run_corpus.sh - CI's fuzzing pass: replay the committed seeds, then fuzz
# briefly from them. Builds nothing: run `make .output/fuzz/fuzz_registry`
# (or `make fuzz`) first. Exits non-zero on any crash, leak, timeout or
# broken oracle; the failing input is kept in .output/fuzz/artifacts/.
#
# Usage: tests/fuzz/run_corpus.sh [SECONDS]   (default 30; 0 = replay only)
# Environment: FUZZER (default .output/fuzz/fuzz_registry); MS_FUZZ_SKIP
# and the other knobs described at the top of tests/fuzz/fuzz_registry.c.
set -eu

cd "$(dirname "$0")/../.."
FUZZER=${FUZZER:-.output/fuzz/fuzz_registry}
SECONDS_=${1:-30}
CORPUS=tests/fuzz/corpus
ART=.output/fuzz/artifacts
# UBSan reports carry their stack (ASan's always do).
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export UBSAN_OPTIONS

if [ ! -x "$FUZZER" ]; then
	echo "run_corpus: $FUZZER missing: build it with 'make $FUZZER'" >&2
	exit 2
fi
mkdir -p "$ART"

# Every report writer declared in user/ headers should be in the harness's
# writers[] table; say so when one is not (not fatal: it may have landed
# a moment ago).
for w in $(grep -ho 'ms_report_[a-z0-9_]*(FILE' user/*.h | sed 's/(FILE//' | sort -u); do
	if ! grep -q "$w" tests/fuzz/fuzz_registry.c; then
		echo "run_corpus: warning: $w is not fuzzed: add it to writers[] in tests/fuzz/fuzz_registry.c" >&2
	fi
done

echo "run_corpus: replaying $(ls "$CORPUS" | wc -l) seeds"
"$FUZZER" -runs=0 -timeout=20 -artifact_prefix="$ART/" "$CORPUS"

if [ "$SECONDS_" -gt 0 ]; then
	# New inputs go to a scratch directory, never into the committed seeds.
	WORK=$(mktemp -d)
	trap 'rm -rf "$WORK"' EXIT
	echo "run_corpus: fuzzing for $SECONDS_ s"
	"$FUZZER" -max_total_time="$SECONDS_" -timeout=20 -print_final_stats=1 \
		-artifact_prefix="$ART/" "$WORK" "$CORPUS"
fi
echo "run_corpus: ok"
