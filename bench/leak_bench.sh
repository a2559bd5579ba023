#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench/leak_bench.sh - what the leak check costs the target (issue 19): how
# long it is held while its memory is read, per GiB of live heap and per
# million live blocks (see bench/README.md, section L). Run as root after
# `make`; `make bench` runs it after bench/run.sh.
#
# Targets: tests/progs/leak_big (MIB MiB of live blocks of BLOCK bytes, all
# reachable, then return from main): 1 GiB in 16,384 blocks of 64 KiB, and
# 1,048,576 blocks of 64 bytes. The hold is the report's leak_check.hold_ns:
# from the target's first thread stopping at _exit to its release. Beside
# each row, measured in turns with it, the floor: bench/readmem copying every
# writable mapping of the same target (waiting, untraced) out with
# process_vm_readv in the same batches - what reading alone costs.
# Environment: BENCH_LEAK_ROUNDS (5).
set -u

cd "$(dirname "$0")/.." || exit 1
OUT=.output/bench
TRACE=.output/memscope-trace
BIG=.output/tests/leak_big
ROUNDS=${BENCH_LEAK_ROUNDS:-5}
LOG=$OUT/leak_bench.log
BENCH_NAME=leak_bench
PROBLEM_STDERR=always
# shellcheck source=bench/stats.sh
. bench/stats.sh
T0=$(date +%s.%N)

die() {
	echo "leak_bench: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "needs root (BPF, uprobes, ptrace); run as root: make bench"
[ -x "$TRACE" ] && [ -x "$BIG" ] || die "$TRACE or $BIG missing; run make first"
mkdir -p "$OUT" || exit 1
: >"$LOG"
cc -O2 -Wall -Wextra -Werror bench/readmem.c -o $OUT/readmem || die "building bench/readmem.c failed"

# traced NAME MIB BLOCK: one traced run; appends hold ms, scan ms, read MiB
# and live blocks to H_NAME, S_NAME, R_NAME, B_NAME
declare -A V
traced() {
	local name=$1 out=$OUT/leak_$1.json fields
	if ! "$TRACE" -o "$out" -- "$BIG" "$2" "$3" 0 >>"$LOG" 2>&1; then
		problem "memscope-trace on leak_big $2 $3 failed (see $LOG)"
		return
	fi
	fields=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); l=r["leak_check"]
print(l["status"], l["hold_ns"] / 1e6, l["scan_ns"] / 1e6, l["read_bytes"] / 2**20, l["blocks"], r["summary"]["dropped_events"])' "$out")
	echo "  $name traced: $fields" >>"$LOG"
	set -- $fields
	[ "$1" = done ] || problem "$name: leak check $1"
	[ "$6" = 0 ] || problem "$name: $6 events dropped"
	V[h_$name]+="$2 "
	V[s_$name]+="$3 "
	V[r_$name]+="$4 "
	V[b_$name]+="$5 "
}

# floor NAME MIB BLOCK: the same heap, untraced, read by readmem
floor() {
	local name=$1 pid line fields
	coproc BIGP { exec "$BIG" "$2" "$3" 0 wait; }
	pid=$BIGP_PID
	read -r -t 120 -u "${BIGP[0]}" line || { problem "$name floor: leak_big did not start"; return; }
	fields=$($OUT/readmem "$pid")
	walked "$name" "$pid"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	echo "  $name floor: $fields ($line)" >>"$LOG"
	set -- $fields
	V[f_$name]+="$(awk -v ns="$1" 'BEGIN { print ns / 1e6 }') "
}

# walked NAME PID: `memscope-trace leak-check PID` on the same heap, untraced
# until then: the hold includes walking glibc's heap to find the blocks
walked() {
	local name=$1 out=$OUT/leak_walk_$1.json fields
	if ! "$TRACE" leak-check -o "$out" "$2" >>"$LOG" 2>&1; then
		problem "memscope-trace leak-check on leak_big ($name) failed (see $LOG)"
		return
	fi
	fields=$(python3 -c 'import json,sys; l=json.load(open(sys.argv[1]))["leak_check"]
print(l["status"], l["hold_ns"] / 1e6, l["scan_ns"] / 1e6, l["blocks"])' "$out")
	echo "  $name leak-check PID: $fields" >>"$LOG"
	set -- $fields
	[ "$1" = done ] || problem "$name: leak-check PID $1"
	V[w_$name]+="$2 "
	V[wb_$name]+="$4 "
}

for ((round = 0; round < ROUNDS; round++)); do
	echo "round $round" >>"$LOG"
	if ((round % 2)); then
		floor gib 1024 65536; traced gib 1024 65536
		floor mblk 64 64; traced mblk 64 64
	else
		traced gib 1024 65536; floor gib 1024 65536
		traced mblk 64 64; floor mblk 64 64
	fi
done

# row NAME LABEL PER UNIT: median hold [range], floor, the ratio, per unit
row() {
	local h f s r b per w
	# shellcheck disable=SC2086
	h=$(median ${V[h_$1]:-}); f=$(median ${V[f_$1]:-}); s=$(median ${V[s_$1]:-})
	# shellcheck disable=SC2086
	r=$(median ${V[r_$1]:-}); b=$(median ${V[b_$1]:-})
	# shellcheck disable=SC2086
	set -- "$1" "$2" "$3" "$4" $(minmax ${V[h_$1]:-})
	if [ "$3" = gib ]; then
		per=$(awk -v h="$h" -v r="$r" 'BEGIN { if (r > 0) printf "%.0f", h * 1024 / r; else print "n/a" }')
	else
		per=$(awk -v h="$h" -v b="$b" 'BEGIN { if (b > 0) printf "%.0f", h * 1e6 / b; else print "n/a" }')
	fi
	printf '  %-36s %8s ms [%s-%s]  scan %s ms  floor %s ms  %s floor  = %s ms %s\n' "$2" "$(fmt_ns "$h")" \
		"$(fmt_ns "${5:-nan}")" "$(fmt_ns "${6:-nan}")" "$(fmt_ns "$s")" "$(fmt_ns "$f")" "$(ratio "$h" "$f")" "$per" "$4"
	printf '  %-36s %8s MiB read, %s blocks\n' "" "$(fmt_ns "$r")" "$(num "$b")"
	w=$(median ${V[w_$1]:-})
	# shellcheck disable=SC2086
	set -- "$1" "$2" "$3" "$4" $(minmax ${V[w_$1]:-})
	printf '  %-36s %8s ms [%s-%s]  %s the traced hold, %s blocks walked\n' "  leak-check PID (heap walked)" \
		"$(fmt_ns "$w")" "$(fmt_ns "${5:-nan}")" "$(fmt_ns "${6:-nan}")" "$(ratio "$w" "$h")" \
		"$(num "$(median ${V[wb_$1]:-})")"
}

echo
echo "L. Leak check: the target held at exit while its memory is read, ms, median over $ROUNDS rounds [range]"
echo "   floor: the same heap copied out with process_vm_readv alone (bench/readmem.c), in turns"
echo "   leak-check PID: the same heap, untraced, held while glibc's heap is walked, then read"
row gib "1 GiB live (16,384 x 64 KiB)" gib "per GiB of live heap"
row mblk "1 M live blocks (64 B each)" mblk "per million live blocks"
if [ ${#PROBLEMS[@]} -gt 0 ]; then
	echo "Problems:"
	printf '  %s\n' "${PROBLEMS[@]}"
fi
printf 'leak_bench took %.0f s, load now %s; details in %s\n' "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" "$LOG"
[ ${#PROBLEMS[@]} -eq 0 ]
