#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench/sampled_bench.sh - bench D (issue 6): sampled heap profiling with
# libmemscope_sample.so, side by side with untraced, full tracing and
# heaptrack, all as ratios against untraced measured in the same run. Run as
# root after `make`; bench/run.sh can run it as its section D (see
# bench/README.md).
#
#   D1. Per operation, on two loops that time themselves (the ready/stdin
#       protocol of bench/malloc_loop.c):
#         small blocks  bench/malloc_loop.c: malloc(64) + free
#         size mix      bench/size_mix_loop.c: free + malloc, sizes 16 B..64 KiB
#                       log-uniform by octave from a fixed seed, 1024 live blocks
#       in five configurations:
#         untraced      the loop alone
#         library       started with LD_PRELOAD=libmemscope_sample.so, no tracer
#         sampled       the same process, memscope-trace -m sampled -p PID attached
#         full          the untraced process, memscope-trace -m full -p PID attached
#         heaptrack     a third process started under heaptrack (from its start)
#       The untraced and library processes are started afresh every
#       round (heaptrack's stays up for the section). ROUNDS
#       rounds, each stepping through the configurations with its own stride
#       (see order()). In a round a tracer is attached once (the run waits
#       until its probes really are in the target: the library's semaphores
#       raised for sampled, int3 bytes in malloc and free for full), then a
#       warm-up loop and REPS loops of ~RUN_S s run; a round gives the median
#       of its loops, the figure is the median over rounds. After a heaptrack
#       loop the run waits until heaptrack_interpret has caught up, so its
#       backlog does not slow the next configuration.
#   D2. examples/epoll_server (one thread, a memscope task per connection,
#       TRACK_VAR per request) under wrk -tWRK_T -cWRK_C -dDUR s on loopback:
#       untraced (started without the library), library loaded (a second
#       server started with LD_PRELOAD) without a tracer, the same with
#       memscope-trace -m sampled attached (the library's probes only), and
#       with -m sampled --with-probes (the server's TRACK_VAR and task probes
#       too), and the untraced one with -m light attached (those probes only:
#       what they cost alone).
#       Throughput (requests/s) and the server's CPU time per request, median
#       over SERVER_ROUNDS rounds, the order changed every round.
#   D3. Accuracy: bench/sampled_sites.c, whose live bytes per site are known
#       exactly (five sites from 12 to 64 MiB, one below 10 MiB), traced
#       ACC_RUNS times with memscope-trace -m sampled -o JSON -- PROG at the
#       default interval (512 KiB) and an unfixed seed, then again at 64 KiB.
#       Per run, the worst relative error over the sites above 10 MiB; the
#       figure is the median over runs.
#
# Targets (issue 6), judged on the medians of per-round ratios (processes and
# servers are new every round): library/untraced <= 1.4x and sampled/untraced <= 1.5x on
# the small-block loop; server throughput untraced/sampled <= 1.05x; every
# site above 10 MiB live estimated within 15%.
#
# Environment: SAMPLED_BENCH_ROUNDS (5), SAMPLED_BENCH_REPS (3),
# SAMPLED_BENCH_RUN_S (0.2), SAMPLED_BENCH_SERVER_ROUNDS (5),
# SAMPLED_BENCH_DURATION (6 s per wrk load), SAMPLED_BENCH_ACC_RUNS (5),
# SAMPLED_BENCH_ACC_INTERVAL2 (65536: D3 again at this interval),
# WRK_THREADS (2), WRK_CONNS (16). SAMPLED_BENCH_SUMMARY=FILE: write the
# summary rows to FILE and the problems to FILE.problems instead of printing
# them (for run.sh). Exit status 1 if a tracer or heaptrack failed, did not
# attach or detach, dropped events, wrk saw errors, an estimate fell outside
# 3.5 of its own standard deviations, or a freed site was reported in use; a
# missed target is printed (MISSED) but is a result, not a failure.
set -u

cd "$(dirname "$0")/.." || exit 1
OUT=.output/bench
TRACE=.output/memscope-trace
LIB=$(realpath .output/libmemscope_sample.so 2>/dev/null)
ROUNDS=${SAMPLED_BENCH_ROUNDS:-5}
REPS=${SAMPLED_BENCH_REPS:-3}
RUN_S=${SAMPLED_BENCH_RUN_S:-0.2}
SERVER_ROUNDS=${SAMPLED_BENCH_SERVER_ROUNDS:-5}
DUR=${SAMPLED_BENCH_DURATION:-6}
ACC_RUNS=${SAMPLED_BENCH_ACC_RUNS:-5}
WRK_T=${WRK_THREADS:-2}
WRK_C=${WRK_CONNS:-16}
SUMMARY_FILE=${SAMPLED_BENCH_SUMMARY:-}
LOG=$OUT/sampled_bench.log
HZ=$(getconf CLK_TCK)
T0=$(date +%s.%N)
R_DEFAULT=524288
ACC_R2=${SAMPLED_BENCH_ACC_INTERVAL2:-65536}
R2=$ACC_R2 # the second operating point, in D1 and D2 too

die() {
	echo "sampled_bench: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (BPF, uprobes); run as root: make bench"
[ -x "$TRACE" ] || die "$TRACE missing; run make first"
[ -n "$LIB" ] && [ -f "$LIB" ] || die ".output/libmemscope_sample.so missing; run make first"
[ -x .output/examples/epoll_server ] || die ".output/examples/epoll_server missing; run make first"
command -v wrk >/dev/null || die "wrk missing (Debian package wrk; make deps installs it)"
command -v heaptrack >/dev/null || die "heaptrack missing (Debian package heaptrack; make deps installs it)"
command -v python3 >/dev/null || die "python3 missing"
mkdir -p "$OUT" || exit 1
: >"$LOG"
# the figures are for the library's defaults
unset MEMSCOPE_SAMPLE_INTERVAL MEMSCOPE_SAMPLE_SEED

# ---- build the helpers ---------------------------------------------------------

LOOP_CFLAGS="-g -O2 -Wall -Wextra -Werror -std=gnu11 -fno-builtin-malloc -fno-builtin-free"
cc $LOOP_CFLAGS bench/malloc_loop.c -ldl -o $OUT/malloc_loop &&
	cc $LOOP_CFLAGS bench/size_mix_loop.c -ldl -o $OUT/size_mix_loop &&
	cc $LOOP_CFLAGS -fno-omit-frame-pointer bench/sampled_sites.c -o $OUT/sampled_sites ||
	die "building the bench D helpers failed"

# ---- number helpers (the rest in bench/stats.sh) ------------------------------------
BENCH_NAME=sampled_bench
# shellcheck source=bench/stats.sh
. bench/stats.sh


# order N R: the configuration indices for round R, one per line. Round R
# steps through the N configurations with a stride coprime with N that
# changes from round to round, starting at R, so a configuration neither
# always comes first nor always follows the same one (heaptrack's loop,
# for one, leaves cold caches behind).
order() {
	local n=$1 r=$2 strides=() a i
	for ((a = 1; a < n || a == 1; a++)); do
		[ "$(gcd $a "$n")" -eq 1 ] && strides+=("$a")
	done
	a=${strides[$((r % ${#strides[@]}))]}
	for ((i = 0; i < n; i++)); do
		echo $(((r + i * a) % n))
	done
}
gcd() { local x=$1 y=$2 t; while [ "$y" -ne 0 ]; do t=$((x % y)); x=$y; y=$t; done; echo "$x"; }

declare -A RES LAST
add() { RES[$1]="${RES[$1]:-} $2"; LAST[$1]=$2; }
# paired KEY NUM DEN: one more per-round ratio, this round's NUM / DEN
# figures (measured seconds apart), if the round has both
paired() {
	[ -n "${LAST[$2]:-}" ] && [ -n "${LAST[$3]:-}" ] &&
		add "$1" "$(awk -v a="${LAST[$2]}" -v b="${LAST[$3]}" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')"
}
med() { median ${RES[$1]:-}; }
rng() { [ -n "${RES[$1]:-}" ] && minmax ${RES[$1]} || echo "nan nan"; }



# ---- processes -----------------------------------------------------------------------

# Loop targets live in slots (U: untraced, L: library, H: heaptrack). Per
# slot: PID_<slot> (the loop's own pid, from its "ready" line), JOB_<slot>
# (what the shell started: heaptrack's script for H), IN_<slot>/OUT_<slot>
# (file descriptors of its stdin/stdout fifos).
SLOTS_UP=()
TR_PID= TR_NAME= SRV0_PID= SRV1_PID= SRV2_PID=
cleanup() {
	local s j
	[ -n "$TR_PID" ] && kill -KILL "$TR_PID" 2>/dev/null
	for s in "${SLOTS_UP[@]}"; do
		j=JOB_$s
		[ -n "${!j:-}" ] && kill -KILL "${!j}" 2>/dev/null
		j=PID_$s
		[ -n "${!j:-}" ] && kill -KILL "${!j}" 2>/dev/null
	done
	[ -n "$SRV0_PID" ] && kill -KILL "$SRV0_PID" 2>/dev/null
	[ -n "$SRV1_PID" ] && kill -KILL "$SRV1_PID" 2>/dev/null
	[ -n "$SRV2_PID" ] && kill -KILL "$SRV2_PID" 2>/dev/null
	rm -f $OUT/d_*.in $OUT/d_*.fifo $OUT/d_heaptrack.*.zst $OUT/d_heaptrack.*.gz
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# slot_start SLOT COMMAND...: start it with fifos on stdin/stdout; read lines
# (heaptrack prints its own first) until "ready PID"
slot_start() {
	local s=$1 line pid i fi fo
	shift
	rm -f $OUT/d_$s.in $OUT/d_$s.fifo
	mkfifo $OUT/d_$s.in $OUT/d_$s.fifo || die "mkfifo failed"
	eval "exec {IN_$s}<>$OUT/d_$s.in {OUT_$s}<>$OUT/d_$s.fifo"
	fi=IN_$s fo=OUT_$s
	"$@" <$OUT/d_$s.in >$OUT/d_$s.fifo 2>>"$LOG" &
	printf -v "JOB_$s" '%s' "$!"
	SLOTS_UP+=("$s")
	for ((i = 0; i < 20; i++)); do
		read -r -t 30 -u "${!fo}" line || die "$* did not start (no 'ready' line in 30 s)"
		case "$line" in
		"ready "*) break ;;
		*) echo "  $s: $line" >>"$LOG" ;;
		esac
	done
	pid=${line#ready }
	[[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || die "$* said '$line', expected 'ready PID'"
	printf -v "PID_$s" '%s' "$pid"
	echo "  slot $s: pid $pid: $*" >>"$LOG"
}

slot_stop() { # SLOT
	local s=$1 j fi fo
	j=JOB_$s fi=IN_$s fo=OUT_$s
	echo quit >&"${!fi}"
	wait "${!j}" 2>/dev/null
	eval "exec {IN_$s}>&- {OUT_$s}>&-"
	printf -v "JOB_$s" '%s' ""
	printf -v "PID_$s" '%s' ""
	rm -f $OUT/d_$s.in $OUT/d_$s.fifo
}

# tcmd SLOT LINE [TIMEOUT]: one command, the answer in REPLY_LINE
tcmd() {
	local fi=IN_$1 fo=OUT_$1
	echo "$2" >&"${!fi}"
	read -r -t "${3:-120}" -u "${!fo}" REPLY_LINE || die "slot $1 gave no answer to '$2'"
	case "$REPLY_LINE" in error*) die "slot $1: $REPLY_LINE" ;; esac
}

# measure SLOT: ns per operation of "run N" in SLOT. A calibration run sizes
# N for ~RUN_S seconds, then REPS loops; the median goes to M_NS, the
# operations made (calibration included) to M_CALLS.
measure() {
	local cal=2000 n vals=() i
	tcmd "$1" "run $cal"
	n=$(awk -v ns="${REPLY_LINE#ns }" -v s="$RUN_S" 'BEGIN { n = s * 1e9 / (ns > 0.05 ? ns : 0.05);
		if (n < 1000) n = 1000; if (n > 2e9) n = 2e9; printf "%d", n }')
	# a warm-up loop, not counted: the first loop after a pause (another
	# process ran meanwhile) is often slow
	tcmd "$1" "run $((n / 2 + 1))" 600
	M_CALLS=$((cal + n / 2 + 1))
	for ((i = 0; i < REPS; i++)); do
		tcmd "$1" "run $n" 600
		vals+=("${REPLY_LINE#ns }")
		M_CALLS=$((M_CALLS + n))
	done
	M_NS=$(median "${vals[@]}")
	echo "  $1 run: n=$n ${vals[*]} -> $M_NS" >>"$LOG"
}

# ---- is a tracer in? ------------------------------------------------------------------

# sem_addrs PID FILE: absolute addresses of FILE's memscope semaphores in PID
sem_addrs() {
	local f base=0 a
	f=$(readlink -f "$2")
	if readelf -h "$f" | grep -q 'DYN'; then
		base=$(awk -v f="$f" '$6 == f && $3 == "00000000" { split($1, a, "-"); print a[1]; exit }' /proc/"$1"/maps)
		[ -n "$base" ] || die "$f is not mapped in PID $1"
		base=0x$base
	fi
	readelf -n "$f" | awk '/Provider: memscope/ { p = 1 } p && /Semaphore:/ { print $NF; p = 0 }' | sort -u |
		while read -r a; do
			[ $((a)) -ne 0 ] && echo $((base + a))
		done
}

sems_raised() { # PID ADDR...: how many of the semaphores are non-zero
	local pid=$1 a n=0 b
	shift
	for a in "$@"; do
		b=$(peek "$pid" "$a" 2)
		[ -n "${b// /}" ] && [ "$(awk '{ print $1 + $2 }' <<<"$b")" != 0 ] && n=$((n + 1))
	done
	echo $n
}

# Foreign uprobes: other sessions on this machine trace libc's malloc and
# free too. A uprobe attached without a pid filter puts an int3 into every
# process that maps libc, and then every malloc here costs microseconds. A
# figure measured while an int3 sat in libc's malloc or free of a process no
# tracer of ours was attached to is discarded (and counted).
declare -A LIBC_ADDRS
DISCARDED=()
libc_addrs() { # PID: absolute addresses of libc's malloc and free in PID
	local libc base m f
	libc=$(awk '$6 ~ /\/libc\.so/ { print $6; exit }' /proc/"$1"/maps)
	base=$(awk -v f="$libc" '$6 == f && $3 == "00000000" { split($1, a, "-"); print a[1]; exit }' /proc/"$1"/maps)
	read -r m f <<<"$(nm -D --defined-only "$libc" | awk '$3 ~ /^malloc(@@|$)/ { m = $1 }
		$3 ~ /^free(@@|$)/ { f = $1 } END { print m, f }')"
	[ -n "$base" ] && [ -n "$m" ] && [ -n "$f" ] || die "cannot find malloc and free of $libc in PID $1"
	echo $((0x$base + 0x$m)) $((0x$base + 0x$f))
}
libc_probed() { # PID: true if an int3 sits in the first 16 bytes of libc's malloc or free
	local a
	[ -n "${LIBC_ADDRS[$1]:-}" ] || LIBC_ADDRS[$1]=$(libc_addrs "$1")
	for a in ${LIBC_ADDRS[$1]}; do
		[[ " $(peek "$1" "$a" 16) " == *" 204 "* ]] && return 0
	done
	return 1
}
# clean_wait PID...: wait up to 30 s until none of them has an int3 in libc's
# malloc or free; false if one still has
clean_wait() {
	local i p dirty
	for ((i = 0; i < 300; i++)); do
		dirty=
		for p in "$@"; do
			libc_probed "$p" && dirty=$p
		done
		if [ -z "$dirty" ]; then
			[ $i -gt 0 ] && echo "  foreign int3 gone after $((i / 10)) s" >>"$LOG"
			return 0
		fi
		[ $i -eq 0 ] && echo "  foreign int3 in libc malloc/free of PID $dirty (not ours): waiting" >>"$LOG"
		sleep 0.1
	done
	return 1
}
# clean_after KEY PID...: after a measurement: false (and the figure is to
# be discarded) if a foreign int3 appeared meanwhile
clean_after() {
	local key=$1 p
	shift
	for p in "$@"; do
		if libc_probed "$p"; then
			echo "  $key: foreign int3 in libc malloc/free of PID $p after the measurement: discarded" >>"$LOG"
			DISCARDED+=("$key")
			return 1
		fi
	done
	return 0
}
clean_before() { # KEY PID...
	local key=$1
	shift
	clean_wait "$@" && return 0
	echo "  $key: foreign int3 in libc malloc/free for 30 s: skipped" >>"$LOG"
	DISCARDED+=("$key")
	return 1
}

tracer_start() { # NAME memscope-trace options...
	TR_NAME=$1
	shift
	rm -f $OUT/$TR_NAME.json
	echo "  start $TR_NAME: $TRACE $* -o $OUT/$TR_NAME.json" >>"$LOG"
	TR_T0=$(date +%s%N)
	"$TRACE" "$@" -o $OUT/$TR_NAME.json >$OUT/$TR_NAME.out 2>$OUT/$TR_NAME.err &
	TR_PID=$!
}

# attached_now HOW: 0 when the tracer's probes are in
#   sem PID ADDR...   every listed semaphore raised
#   int3 SLOT         int3 bytes at the start of both malloc and free (the
#                     slot's "probes" command)
attached_now() {
	case "$1" in
	sem)
		local pid=$2
		shift 2
		[ "$(sems_raised "$pid" "$@")" -eq $# ]
		;;
	int3)
		tcmd "$2" probes
		case "$REPLY_LINE" in *=-*) return 1 ;; *) return 0 ;; esac
		;;
	esac
}

# detached_now HOW (as attached_now): 0 when none of the probes is left
detached_now() {
	case "$1" in
	sem)
		local pid=$2
		shift 2
		[ "$(sems_raised "$pid" "$@")" -eq 0 ]
		;;
	int3)
		tcmd "$2" probes
		[ "$REPLY_LINE" = "probes malloc=- free=-" ]
		;;
	esac
}

# wait_attached HOW...: poll up to 60 s (a uprobe can take seconds to attach
# on a busy machine), then settle 0.2 s
wait_attached() {
	local i
	for ((i = 0; i < 1200; i++)); do
		if ! kill -0 "$TR_PID" 2>/dev/null; then
			problem "$TR_NAME: memscope-trace exited while attaching" tracer
			return 1
		fi
		attached_now "$@" && break
		sleep 0.05
	done
	if [ $i -ge 1200 ]; then
		problem "$TR_NAME: not attached after 60 s" tracer
		return 1
	fi
	echo "  attached $TR_NAME after $((($(date +%s%N) - TR_T0) / 1000000)) ms" >>"$LOG"
	add "attach_ms.${TR_NAME%%.*}" $((($(date +%s%N) - TR_T0) / 1000000))
	sleep 0.2
}

# tracer_stop HOW...: SIGINT, wait up to 60 s; then the probes must be gone
tracer_stop() {
	local i
	tracer_wait_exit
	add "stop_ms.${TR_NAME%%.*}" "$TR_STOP_MS"
	if [ -n "$TR_KILLED" ]; then
		problem "$TR_NAME: memscope-trace did not stop within 60 s of SIGINT (killed)" tracer
	elif [ "$TR_RC" -ne 0 ]; then
		problem "$TR_NAME: memscope-trace exited with status $TR_RC" tracer
	fi
	TR_PID=
	for ((i = 0; i < 100; i++)); do
		detached_now "$@" && return 0
		sleep 0.05
	done
	problem "$TR_NAME: probes still in the target 5 s after memscope-trace exited"
}

# json_counts NAME: "events dropped allocs samples alloc_objects" from the
# tracer's JSON report (nan when there is none)
json_counts() {
	python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
m = r.get("sampled") or {}
print(s["events"], s["dropped_events"], s["allocs"], m.get("samples", 0),
      (m.get("alloc_objects") or {}).get("estimate", 0))' $OUT/$1.json 2>/dev/null || echo "nan nan nan nan nan"
}

declare -A CALLS EVENTS DROPS ALLOCS SAMPLES AOBJ
add_counts() { # KEY CALLS NAME
	local ev dr al sa ao
	read -r ev dr al sa ao <<<"$(json_counts "$3")"
	if [ "$ev" = nan ]; then
		problem "$1: no JSON report from memscope-trace"
		return
	fi
	CALLS[$1]=$((${CALLS[$1]:-0} + $2))
	EVENTS[$1]=$((${EVENTS[$1]:-0} + ev))
	DROPS[$1]=$((${DROPS[$1]:-0} + dr))
	ALLOCS[$1]=$((${ALLOCS[$1]:-0} + al))
	SAMPLES[$1]=$((${SAMPLES[$1]:-0} + sa))
	AOBJ[$1]=$(awk -v a="${AOBJ[$1]:-0}" -v b="$ao" 'BEGIN { printf "%.0f", a + b }')
}

# ============================================================================
# D1. loops
# ============================================================================

# The heaptrack slot: heaptrack's script runs heaptrack_interpret | zstd
# beside the loop. Wait until they stop using CPU (the loop's events are
# all interpreted), up to 30 s; the time it took goes to the log.
heaptrack_drain() {
	local t0 prev=-1 cur kids i k
	t0=$(date +%s%N)
	for ((i = 0; i < 300; i++)); do
		kids=$(ps --ppid "$JOB_H" -o pid= | grep -vw "$PID_H")
		cur=0
		for k in $kids; do cur=$((cur + $(cpu_ticks "$k"))); done
		[ "$cur" -eq "$prev" ] && break
		prev=$cur
		sleep 0.1
	done
	echo "  heaptrack drained in $((($(date +%s%N) - t0) / 1000000)) ms" >>"$LOG"
}

# plain KEY SLOT: measure with no tracer of ours
plain() {
	clean_before "$LP.$1" "$(pid_of "$2")" || return 0
	measure "$2"
	clean_after "$LP.$1" "$(pid_of "$2")" && add "$LP.$1" "$M_NS"
}
pid_of() { local v=PID_$1; echo "${!v}"; }
d_untraced() { plain untraced U; }
d_library() { plain library L; }
d_heaptrack() { plain heaptrack H; heaptrack_drain; }

# d_sampled_in KEY SLOT SEMAPHORE_ADDR...: -m sampled attached to SLOT's loop
d_sampled_in() {
	local key=$1 slot=$2 pid
	shift 2
	pid=$(pid_of "$slot")
	clean_before "$LP.$key" "$pid" || return 0
	tracer_start "d_$key.$LP" -m sampled -p "$pid"
	if wait_attached sem "$pid" "$@"; then
		measure "$slot"
		clean_after "$LP.$key" "$pid" && add "$LP.$key" "$M_NS"
		tracer_stop sem "$pid" "$@"
		add_counts "$LP.$key" "$M_CALLS" "d_$key.$LP"
	else
		tracer_stop sem "$pid" "$@"
	fi
}
d_sampled() { d_sampled_in sampled L "${LIB_SEMS[@]}"; }
# the second operating point: a library process started with
# MEMSCOPE_SAMPLE_INTERVAL=R2
d_sampled2() { d_sampled_in sampled2 M "${LIB_SEMS_M[@]}"; }

d_full() {
	# a foreign int3 would pass for ours
	clean_before "$LP.full" "$PID_U" || return 0
	tracer_start "d_full.$LP" -m full -p "$PID_U"
	if wait_attached int3 U; then
		measure U
		add "$LP.full" "$M_NS"
		tracer_stop int3 U
		add_counts "$LP.full" "$M_CALLS" "d_full.$LP"
	else
		tracer_stop int3 U
	fi
}

[ -n "$SUMMARY_FILE" ] ||
	echo "sampled bench: $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)," \
		"$ROUNDS rounds x $REPS loops of ~${RUN_S}s; server $SERVER_ROUNDS rounds x ${DUR}s; $ACC_RUNS accuracy runs"

D_CONFIGS=(d_untraced d_library d_sampled d_sampled2 d_full d_heaptrack)
for LP in malloc_loop size_mix_loop; do
	echo "D1 $LP" >>"$LOG"
	slot_start H heaptrack -o $OUT/d_heaptrack.$LP $OUT/$LP
	grep -q "$(basename "$LIB")" /proc/"$PID_H"/maps && problem "heaptrack slot has libmemscope_sample.so loaded"
	for ((r = 0; r < ROUNDS; r++)); do
		echo " round $((r + 1))" >>"$LOG"
		# Fresh untraced and library processes every round: one process
		# of a pair can be 1.5x slower than the next for its whole life
		# (where ASLR put its stack, heap and code), which no number of
		# loops in it averages away.
		[ $r -gt 0 ] && slot_stop U && slot_stop L && slot_stop M
		slot_start U $OUT/$LP
		slot_start L env LD_PRELOAD="$LIB" $OUT/$LP
		slot_start M env LD_PRELOAD="$LIB" MEMSCOPE_SAMPLE_INTERVAL="$R2" $OUT/$LP
		mapfile -t LIB_SEMS < <(sem_addrs "$PID_L" "$LIB")
		[ ${#LIB_SEMS[@]} -eq 2 ] || die "expected 2 memscope semaphores in $LIB, found ${#LIB_SEMS[@]}"
		mapfile -t LIB_SEMS_M < <(sem_addrs "$PID_M" "$LIB")
		LAST=()
		for c in $(order ${#D_CONFIGS[@]} "$r"); do
			${D_CONFIGS[$c]}
		done
		for k in library sampled sampled2 full heaptrack; do
			paired "$LP.$k.paired" "$LP.$k" "$LP.untraced"
		done
	done
	slot_stop U
	slot_stop L
	slot_stop M
	slot_stop H
	echo "  heaptrack $LP: $(ls -la $OUT/d_heaptrack.$LP.* 2>/dev/null)" >>"$LOG"
	rm -f $OUT/d_heaptrack.$LP.*
	SLOTS_UP=()
done

# ============================================================================
# D2. the event-loop server
# ============================================================================

# server_start VAR [env ...]: examples/epoll_server --port 0, for the whole
# section; sets VAR_PID and VAR_PORT
server_start() {
	local var=$1 pid port= i
	shift
	: >$OUT/d_$var.out
	"$@" .output/examples/epoll_server --port 0 --duration 100000 >$OUT/d_$var.out 2>$OUT/d_$var.err &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		port=$(awk '/^listening on/ { print $3; exit }' $OUT/d_$var.out)
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || die "epoll_server exited: $(cat $OUT/d_$var.err)"
		sleep 0.05
	done
	[ -n "$port" ] || die "epoll_server printed no 'listening on PORT' in 5 s"
	printf -v "${var}_PID" '%s' "$pid"
	printf -v "${var}_PORT" '%s' "$port"
}

# load KEY PID PORT [SECONDS]: one wrk run; RES[KEY.rps], RES[KEY.cpu] (the
# server's CPU µs per request), RES[KEY.p99]. KEY "-": warm-up.
load() {
	local key=$1 pid=$2 port=$3 d=${4:-$DUR} c0 c1 line req dur p99 err
	[ "$key" = - ] || clean_before "srv.$key" "$pid" || return 1
	c0=$(cpu_ticks "$pid")
	wrk -t"$WRK_T" -c"$WRK_C" -d"${d}s" -s bench/wrk_latency.lua "http://127.0.0.1:$port/" >$OUT/d_wrk.out 2>&1
	c1=$(cpu_ticks "$pid")
	echo "  $key:" >>"$LOG"
	sed 's/^/    /' $OUT/d_wrk.out >>"$LOG"
	line=$(grep '^wrk_latency ' $OUT/d_wrk.out)
	if [ -z "$line" ]; then
		problem "server $key: wrk printed no wrk_latency line: $(tail -1 $OUT/d_wrk.out)"
		return 1
	fi
	read -r req dur p99 err <<<"$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print v["requests"], v["duration_us"], v["p99_us"], v["errors"] }' <<<"$line")"
	[ "$err" -eq 0 ] || problem "server $key: wrk saw $err socket errors or timeouts"
	[ "$key" = - ] && return 0
	SRV_REQ[$key]=$((${SRV_REQ[$key]:-0} + req))
	clean_after "srv.$key" "$pid" || return 1
	add "srv.$key.rps" "$(awk -v r="$req" -v d="$dur" 'BEGIN { printf "%.1f", r / (d / 1e6) }')"
	add "srv.$key.p99" "$p99"
	add "srv.$key.cpu" "$(awk -v t="$((c1 - c0))" -v hz="$HZ" -v r="$req" 'BEGIN { printf "%.2f", r ? t / hz * 1e6 / r : 0 }')"
}

declare -A SRV_REQ TCPU
s_untraced() { load untraced "$SRV0_PID" "$SRV0_PORT"; }
s_library() { load library "$SRV1_PID" "$SRV1_PORT"; }
# (load checks for foreign int3 in the server before and after)
# s_traced KEY "MODE [FLAGS]" PID PORT SEMAPHORE_ADDR...
s_traced() {
	local key=$1 mode=$2 pid=$3 port=$4 t0 t1 r0
	shift 4
	r0=${SRV_REQ[$key]:-0}
	# shellcheck disable=SC2086 # MODE may carry flags
	tracer_start d_srv_$key -m $mode -p "$pid"
	if wait_attached sem "$pid" "$@"; then
		t0=$(cpu_ticks "$TR_PID")
		load "$key" "$pid" "$port"
		t1=$(cpu_ticks "$TR_PID")
		add "srv.$key.tracer_cpu" "$(awk -v t="$((t1 - t0))" -v hz="$HZ" -v d="$DUR" 'BEGIN { printf "%.3f", t / hz / d }')"
		tracer_stop sem "$pid" "$@"
		add_counts "srv.$key" "$((${SRV_REQ[$key]:-0} - r0))" "d_srv_$key"
	else
		tracer_stop sem "$pid" "$@"
	fi
}
# -m sampled on the server with the library (the library's probes only, the
# default), and with --with-probes (the server's TRACK_VAR and task probes
# too); -m light (those probes only, no allocator) on the one without: what
# the server's own probes cost
s_sampled() { s_traced sampled sampled "$SRV1_PID" "$SRV1_PORT" "${SRV_LIB_SEMS[@]}"; }
s_sampled2() { s_traced sampled2 sampled "$SRV2_PID" "$SRV2_PORT" "${SRV2_LIB_SEMS[@]}"; }
s_sampled_probes() { s_traced sampled_probes "sampled --with-probes" "$SRV1_PID" "$SRV1_PORT" "${SRV_SEMS[@]}"; }
s_light() { s_traced light light "$SRV0_PID" "$SRV0_PORT" "${SRV0_SEMS[@]}"; }

echo "D2 server ($(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s)" >>"$LOG"
# servers_down: stop the servers that are up, their last line to the log
servers_down() {
	local v p
	for v in SRV0 SRV1 SRV2; do
		p=${v}_PID
		[ -n "${!p}" ] || continue
		kill -INT "${!p}" 2>/dev/null
		wait "${!p}" 2>/dev/null
		printf -v "$p" '%s' ""
		echo "  $(grep '^epoll_server:' $OUT/d_$v.out)" >>"$LOG"
	done
}

# servers_up: three fresh servers (a server process, like a loop, can be
# slow for its whole life), their semaphores, a warm-up load each
servers_up() {
	servers_down
	server_start SRV0 env
	server_start SRV1 env LD_PRELOAD="$LIB"
	server_start SRV2 env LD_PRELOAD="$LIB" MEMSCOPE_SAMPLE_INTERVAL="$R2"
	mapfile -t SRV2_LIB_SEMS < <(sem_addrs "$SRV2_PID" "$LIB")
	# the semaphores sampled mode raises: the library's; with
	# --with-probes the server's own too (TRACK_VAR and tasks)
	mapfile -t SRV_LIB_SEMS < <(sem_addrs "$SRV1_PID" "$LIB")
	mapfile -t SRV_SEMS < <(sem_addrs "$SRV1_PID" "$LIB"; sem_addrs "$SRV1_PID" .output/examples/epoll_server)
	mapfile -t SRV0_SEMS < <(sem_addrs "$SRV0_PID" .output/examples/epoll_server)
	echo "  servers: untraced PID $SRV0_PID port $SRV0_PORT, library PID $SRV1_PID port $SRV1_PORT," \
		"${#SRV_SEMS[@]} semaphores" >>"$LOG"
	load - "$SRV0_PID" "$SRV0_PORT" 1
	load - "$SRV1_PID" "$SRV1_PORT" 1
	load - "$SRV2_PID" "$SRV2_PORT" 1
}
S_CONFIGS=(s_untraced s_library s_sampled s_sampled2 s_sampled_probes s_light)
for ((r = 0; r < SERVER_ROUNDS; r++)); do
	echo " round $((r + 1))" >>"$LOG"
	servers_up
	LAST=()
	for c in $(order ${#S_CONFIGS[@]} "$r"); do
		${S_CONFIGS[$c]}
	done
	# per-round slowdowns: untraced req/s / this req/s
	for k in library sampled sampled2 sampled_probes light; do
		paired "srv.$k.paired" srv.untraced.rps "srv.$k.rps"
	done
done
servers_down

# ============================================================================
# D3. accuracy
# ============================================================================

echo "D3 accuracy ($(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s)" >>"$LOG"
# acc_runs R: ACC_RUNS traced runs of sampled_sites at interval R; sets ACC_FILES
acc_runs() {
	local r=$1 i rc
	ACC_FILES=()
	for ((i = 1; i <= ACC_RUNS; i++)); do
		TR_NAME=d_acc.$r.$i
		MEMSCOPE_SAMPLE_INTERVAL=$r "$TRACE" -m sampled -o $OUT/d_acc.$r.$i.json -- $OUT/sampled_sites \
			>$OUT/d_acc.$r.$i.out 2>$OUT/d_acc.$r.$i.err
		rc=$?
		echo "  interval $r run $i: rc $rc" >>"$LOG"
		if [ $rc -ne 0 ] || ! grep -q '^site churn' $OUT/d_acc.$r.$i.out; then
			problem "accuracy run $i (interval $r): memscope-trace -m sampled -- sampled_sites failed (status $rc)" tracer
			continue
		fi
		ACC_FILES+=("$OUT/d_acc.$r.$i.out" "$OUT/d_acc.$r.$i.json")
	done
}
# acc_table R: the accuracy table at interval R (python below)
acc_table() {
python3 - "$1" "${ACC_FILES[@]}" <<'EOF'
import json, math, sys

R = float(sys.argv[1])
files = sys.argv[2:]
LINE = 10 * 2**20
runs = []     # per run: {site: (true, est, sd)}
problems = []
interval = None
for k in range(0, len(files), 2):
    truth = {}
    for line in open(files[k]):
        w = line.split()
        if len(w) == 5 and w[0] == "site":
            truth[w[1]] = (int(w[2]), int(w[4]))  # size, live count
    r = json.load(open(files[k + 1]))
    s = r["sampled"]
    interval = s["interval_bytes"]
    got = {}
    for name, (size, live) in truth.items():
        fn = "site_" + name
        est = var = aspace = 0.0
        found = False
        for x in s["sites"]:
            funcs = [f.get("function") for f in x.get("stack", [])]
            o = x["inuse_objects"]["estimate"]
            by_fn = fn in funcs
            # fallback when a frame is missing: a one-size site's mean size
            by_size = not any((f or "").startswith("site_") for f in funcs) and o > 0 and \
                abs(x["inuse_space"]["estimate"] / o - size) < 0.5
            if by_fn or by_size:
                found = True
                est += x["inuse_space"]["estimate"]
                var += x["inuse_space"]["stddev"] ** 2
                aspace += x["alloc_space"]["estimate"]
        got[name] = (size * live, est, math.sqrt(var), found, aspace, size)
    if r["summary"]["dropped_events"]:
        problems.append("accuracy run %d: memscope dropped %d events" % (k // 2 + 1, r["summary"]["dropped_events"]))
    runs.append(got)

if not runs:
    print("  no accuracy run succeeded")
    print("VERDICT nan 0 0")
    sys.exit(0)

names = list(runs[0].keys())
def mib(b): return "%.1f" % (b / 2**20)
print("   interval %s KiB; estimate (MiB) and error per run; a site's stddev as the tracer states it" %
      ("%.0f" % (interval / 1024) if interval else "?"))
hdr = "  %-6s %6s %9s %8s" % ("site", "size", "live MiB", "sd/live")
for i in range(len(runs)):
    hdr += "  %-14s" % ("run %d" % (i + 1))
print(hdr + "  %6s %6s" % ("RMS", "worst"))
worst_per_run = [0.0] * len(runs)
for n in names:
    true = runs[0][n][0]
    size = None
    row = ""
    errs = []
    sds = []
    for i, g in enumerate(runs):
        t, est, sd, found, aspace, size = g[n]
        if true == 0:
            row += "  %-14s" % (mib(est) + (" ok" if est == 0 else " IN USE"))
            if est != 0:
                problems.append("accuracy run %d: site %s (all freed) estimated %s MiB in use" % (i + 1, n, mib(est)))
            continue
        if not found:
            row += "  %-14s" % "missing"
            problems.append("accuracy run %d: no report site for site_%s" % (i + 1, n))
            errs.append(float("nan"))
            continue
        e = est / t - 1
        errs.append(e)
        sds.append(sd / t)
        row += "  %-14s" % ("%s %+.0f%%" % (mib(est), 100 * e))
        if sd > 0 and abs(est - t) > 3.5 * sd + 1:
            problems.append("accuracy run %d: site %s estimate %s MiB is %.1f stddevs from the true %s MiB"
                            % (i + 1, n, mib(est), abs(est - t) / sd, mib(t)))
        if t > LINE:
            worst_per_run[i] = max(worst_per_run[i], abs(e) if e == e else float("inf"))
    good = [e for e in errs if e == e]
    rms = math.sqrt(sum(e * e for e in good) / len(good)) if good else float("nan")
    worst = max((abs(e) for e in good), default=float("nan"))
    sdr = sorted(sds)[len(sds) // 2] if sds else float("nan")
    mark = "" if true > LINE or true == 0 else " (below 10 MiB: no target)"
    print("  %-6s %6s %9s %8s%s" % (n, size, mib(true), "-" if true == 0 else "%.0f%%" % (100 * sdr), row) +
          ("  %5.0f%% %5.0f%%" % (100 * rms, 100 * worst) if good else "") + mark)
print("  worst error over the sites > 10 MiB, per run: " +
      " ".join("%.0f%%" % (100 * w) for w in worst_per_run))
ok_runs = sum(1 for w in worst_per_run if w <= 0.15)
ws = sorted(worst_per_run)
m = ws[len(ws) // 2] if len(ws) % 2 else (ws[len(ws) // 2 - 1] + ws[len(ws) // 2]) / 2
print("  runs with every site > 10 MiB within 15%%: %d of %d" % (ok_runs, len(runs)))
print("  (for blocks much smaller than R a site of B bytes has a relative stddev of about sqrt(R/B):")
print("   %s)" % ", ".join("%d MiB %.0f%%" % (b, 100 * math.sqrt(R / (b * 2**20))) for b in (10, 12, 16, 32, 64)))
print("VERDICT %.4f %d %d" % (m, ok_runs, len(runs)))
for p in problems:
    print("PROBLEM " + p)
EOF
}
# At the default interval (the target's figure), and at ACC_R2 (64 KiB):
# for small blocks a site of B bytes has a relative stddev of sqrt(R/B),
# 20% for a 12 MiB site at 512 KiB, so 15% needs a smaller interval there.
acc_runs "$R_DEFAULT"
ACC_TEXT=$(acc_table "$R_DEFAULT")
acc_runs "$ACC_R2"
ACC_TEXT2=$(acc_table "$ACC_R2")
while IFS= read -r l; do
	case "$l" in
	"PROBLEM "*) problem "${l#PROBLEM }" ;;
	esac
done <<<"$ACC_TEXT
$ACC_TEXT2"
read -r _ ACC_WORST ACC_OK_RUNS ACC_N <<<"$(grep '^VERDICT ' <<<"$ACC_TEXT")"
read -r _ ACC2_WORST ACC2_OK_RUNS ACC2_N <<<"$(grep '^VERDICT ' <<<"$ACC_TEXT2")"

# ============================================================================
# report
# ============================================================================

for LP in malloc_loop size_mix_loop; do
	for k in untraced library sampled sampled2 full heaptrack; do
		[ -n "${RES[$LP.$k]:-}" ] || problem "$LP $k: no measurement"
	done
	for k in sampled sampled2 full; do
		[ "${DROPS[$LP.$k]:-0}" -eq 0 ] || problem "$LP $k: memscope dropped ${DROPS[$LP.$k]} events"
	done
	[ -z "${CALLS[$LP.full]:-}" ] || [ "${ALLOCS[$LP.full]}" -eq "${CALLS[$LP.full]}" ] ||
		problem "$LP full: memscope counted ${ALLOCS[$LP.full]} allocations, the loop made ${CALLS[$LP.full]}"
	# a tracer that costs nothing was not really attached
	awk -v a="$(med "$LP.full")" -v b="$(med "$LP.untraced")" 'BEGIN { exit !(a != "nan" && b != "nan" && a > 3 * b) }' ||
		problem "$LP full: $(fmt_ns "$(med "$LP.full")") ns is not far above untraced: was the tracer attached?"
done
for k in sampled sampled2 sampled_probes light; do
	[ "${DROPS[srv.$k]:-0}" -eq 0 ] || problem "server $k: memscope dropped ${DROPS[srv.$k]} events"
	[ -n "${RES[srv.$k.rps]:-}" ] || problem "server $k: no measurement"
done

best() { rng "$1" | awk '{ print $1 }'; } # KEY: the best (lowest) round median
cell() { # LP KEY: "ns [lo..hi] median-ratio paired-ratio best-ratio"
	local lo hi p
	read -r lo hi <<<"$(rng "$1.$2")"
	p=$(med "$1.$2.paired")
	[ "$2" = untraced ] && p=1
	printf '%6s [%s..%s]' "$(fmt_ns "$(med "$1.$2")")" "$(fmt_ns "$lo")" "$(fmt_ns "$hi")"
	printf ' %7s %7s %7s' "$(ratio "$(med "$1.$2")" "$(med "$1.untraced")")" "$(ratio "$p" 1)" \
		"$(ratio "$lo" "$(best "$1.untraced")")"
}
drow() { # LABEL KEY
	printf '  %-27s %-50s %s\n' "$1" "$(cell malloc_loop "$2")" "$(cell size_mix_loop "$2")"
}
note() { # LP KEY: what memscope saw against what the loop did while it was attached
	[ -n "${CALLS[$1.$2]:-}" ] || return 0
	if [ "${2#sampled}" != "$2" ]; then
		printf '%s: %s samples, est. %s allocations for %s made; ' "$1" "${SAMPLES[$1.$2]}" "${AOBJ[$1.$2]}" "${CALLS[$1.$2]}"
	else
		printf '%s: %s allocs counted for %s made; ' "$1" "${ALLOCS[$1.$2]}" "${CALLS[$1.$2]}"
	fi
	printf 'dropped %s' "${DROPS[$1.$2]}"
}

SMALL_UN=$(med malloc_loop.untraced) SMALL_LIB=$(med malloc_loop.library) SMALL_S=$(med malloc_loop.sampled)
# Targets are judged on the median of the per-round ratios ("paired"):
# processes are new every round, and the machine's phase (loops run at
# ~11 or ~20 ns a pair for minutes at a time) moves a ratio of medians
# taken from different rounds by up to 0.4.
LIB_P=$(med malloc_loop.library.paired) SMALL_S_P=$(med malloc_loop.sampled.paired)
SMALL_S2_P=$(med malloc_loop.sampled2.paired)
LIB_OK=$(verdict rle "$LIB_P" 1 1.4)
SAMPLED_OK=$(verdict rle "$SMALL_S_P" 1 1.5)
SMALL_S2=$(med malloc_loop.sampled2)
SAMPLED2_OK=$(verdict rle "$SMALL_S2_P" 1 1.5)
S_UN=$(med srv.untraced.rps) S_LIB=$(med srv.library.rps) S_S=$(med srv.sampled.rps)
S_S_P=$(med srv.sampled.paired) S_S2_P=$(med srv.sampled2.paired)
SRV_OK=$(verdict rle "$S_S_P" 1 1.05)
S_S2=$(med srv.sampled2.rps)
SRV2_OK=$(verdict rle "$S_S2_P" 1 1.05)
acc_le() { awk -v w="$1" -v l="$2" 'BEGIN { exit !(w != "nan" && w != "" && w + 0 <= l) }'; }
ACC_OK=$(verdict acc_le "${ACC_WORST:-nan}" 0.15)
ACC2_OK=$(verdict acc_le "${ACC2_WORST:-nan}" 0.15)

echo
echo "D. Sampled mode (issue 6): libmemscope_sample.so + memscope-trace -m sampled, interval $((R_DEFAULT / 1024)) KiB"
echo "D1. ns per operation: median over $ROUNDS rounds [range of round medians]; against untraced: ratio of"
echo "    the medians (the figure), median of the per-round ratios, ratio of the best rounds"
printf '  %-27s %-50s %s\n' "" "small blocks: malloc(64)+free" "size mix 16 B..64 KiB: free+malloc"
printf '  %-27s %-50s %s\n' "" "    ns [range]         median  paired    best" "    ns [range]         median  paired    best"
drow "untraced" untraced
drow "library loaded, no tracer" library
drow "memscope-trace -m sampled" sampled
drow "  the same at $((R2 / 1024)) KiB interval" sampled2
drow "memscope-trace -m full" full
drow "heaptrack $(heaptrack --version | awk '{ print $2 }') (from start)" heaptrack
echo "    -m sampled  $(note malloc_loop sampled)"
echo "                $(note size_mix_loop sampled)"
echo "    at $((R2 / 1024)) KiB   $(note malloc_loop sampled2)"
echo "                $(note size_mix_loop sampled2)"
echo "    -m full     $(note malloc_loop full)"
echo "                $(note size_mix_loop full)"
echo "    memscope-trace took $(fmt_ns "$(med attach_ms.d_sampled)") ms to attach -m sampled, $(fmt_ns "$(med attach_ms.d_full)") ms -m full," \
	"$(fmt_ns "$(med stop_ms.d_sampled)") / $(fmt_ns "$(med stop_ms.d_full)") ms to stop (medians)"

srow() { printf '  %-32s %9s %8s [%s..%s] %7s %7s %8s\n' "$@"; }
srv_row() { # LABEL KEY
	local lo hi
	read -r lo hi <<<"$(rng "srv.$2.rps")"
	srow "$1" "$(num "$(med "srv.$2.rps")")" "" "$(num "$lo")" "$(num "$hi")" \
		"$(ratio "$S_UN" "$(med "srv.$2.rps")")" "$(us "$(med "srv.$2.cpu")")" \
		"$(ratio "$(med "srv.$2.cpu")" "$(med srv.untraced.cpu)")"
}
echo
echo "D2. examples/epoll_server (1 thread) under wrk -t$WRK_T -c$WRK_C -d${DUR}s on 127.0.0.1, median over $SERVER_ROUNDS rounds"
printf '  %-32s %9s %8s %-16s %7s %7s %8s\n' "" "req/s" "" "[range]" "slowdn" "CPU us" "CPU x"
srv_row "untraced (no library)" untraced
srv_row "library loaded, no tracer" library
srv_row "memscope-trace -m sampled" sampled
srv_row "  the same at $((R2 / 1024)) KiB interval" sampled2
srv_row "-m sampled --with-probes" sampled_probes
srv_row "-m light, no library" light
echo "    slowdn: untraced req/s / this req/s; CPU us: the server's CPU time per request."
for k in sampled sampled2 sampled_probes light; do
	[ -n "${CALLS[srv.$k]:-}" ] || continue
	printf '    %-26s %s events for %s requests (%s per request), %s samples, dropped %s; the tracer used %s CPUs\n' \
		"-m ${k/_probes/ --with-probes}:" "${EVENTS[srv.$k]}" "${CALLS[srv.$k]}" \
		"$(awk -v e="${EVENTS[srv.$k]}" -v r="${CALLS[srv.$k]}" 'BEGIN { printf "%.1f", r ? e / r : 0 }')" \
		"${SAMPLES[srv.$k]}" "${DROPS[srv.$k]}" "$(med srv.$k.tracer_cpu)"
done
echo "    -m sampled attaches the library's probes only; --with-probes adds the server's TRACK_VAR and task"
echo "    probes (a trap on every hit, as -m light), so samples carry variable names, scopes and tasks."
[ ${#DISCARDED[@]} -eq 0 ] ||
	echo "    figures discarded (a foreign int3 in libc malloc/free: another tracer on this machine): $(printf '%s\n' \
		"${DISCARDED[@]}" | sort | uniq -c | awk '{ printf "%s%s x%d", (NR > 1 ? ", " : ""), $2, $1 }')"

echo
echo "D3. accuracy: bench/sampled_sites.c traced from its start with -m sampled, $ACC_RUNS runs, unfixed seed"
grep -v -e '^VERDICT ' -e '^PROBLEM ' <<<"$ACC_TEXT"
echo "    the same at MEMSCOPE_SAMPLE_INTERVAL=$ACC_R2:"
grep -v -e '^VERDICT ' -e '^PROBLEM ' -e '^  (for blocks' -e '^   [0-9]* MiB' <<<"$ACC_TEXT2"

sline() { printf '  %-38s %10s  %-12s %-8s %s\n' "$@"; }
SUMMARY=$(
	sline "small blocks: library / untraced" "$(ratio "$LIB_P" 1)" "<= 1.4x" "$LIB_OK" \
		"paired; ratio of medians $(ratio "$SMALL_LIB" "$SMALL_UN") ($(fmt_ns "$SMALL_LIB") / $(fmt_ns "$SMALL_UN") ns)"
	sline "small blocks: sampled / untraced" "$(ratio "$SMALL_S_P" 1)" "<= 1.5x" "$SAMPLED_OK" \
		"paired; ratio of medians $(ratio "$SMALL_S" "$SMALL_UN") ($(fmt_ns "$SMALL_S") / $(fmt_ns "$SMALL_UN") ns)"
	sline "  the same at $((R2 / 1024)) KiB interval" "$(ratio "$SMALL_S2_P" 1)" "<= 1.5x" "$SAMPLED2_OK" \
		"paired; ratio of medians $(ratio "$SMALL_S2" "$SMALL_UN") ($(fmt_ns "$SMALL_S2") / $(fmt_ns "$SMALL_UN") ns)"
	sline "small blocks: sampled / library" "$(ratio "$SMALL_S" "$SMALL_LIB")" "-" "-" \
		"$(fmt_ns "$SMALL_S") / $(fmt_ns "$SMALL_LIB") ns (the same process, tracer attached or not)"
	sline "small blocks: full / untraced" "$(ratio "$(med malloc_loop.full)" "$SMALL_UN")" "-" "-" \
		"$(fmt_ns "$(med malloc_loop.full)") / $(fmt_ns "$SMALL_UN") ns"
	sline "small blocks: heaptrack / untraced" "$(ratio "$(med malloc_loop.heaptrack)" "$SMALL_UN")" "-" "-" \
		"$(fmt_ns "$(med malloc_loop.heaptrack)") / $(fmt_ns "$SMALL_UN") ns"
	for k in library sampled full heaptrack; do
		sline "size mix: $k / untraced" "$(ratio "$(med size_mix_loop.$k)" "$(med size_mix_loop.untraced)")" "-" "-" \
			"$(fmt_ns "$(med size_mix_loop.$k)") / $(fmt_ns "$(med size_mix_loop.untraced)") ns"
	done
	sline "server req/s untraced / sampled" "$(ratio "$S_S_P" 1)" "<= 1.05x" "$SRV_OK" \
		"paired; ratio of medians $(ratio "$S_UN" "$S_S") ($(num "$S_UN") / $(num "$S_S") req/s)"
	sline "  the same at $((R2 / 1024)) KiB interval" "$(ratio "$S_S2_P" 1)" "<= 1.05x" "$SRV2_OK" \
		"paired; ratio of medians $(ratio "$S_UN" "$S_S2") ($(num "$S_UN") / $(num "$S_S2") req/s)"
	sline "server req/s untraced / library" "$(ratio "$S_UN" "$S_LIB")" "-" "-" "$(num "$S_UN") / $(num "$S_LIB") req/s"
	sline "server req/s untraced / sampled+probes" "$(ratio "$S_UN" "$(med srv.sampled_probes.rps)")" "-" "-" \
		"$(num "$S_UN") / $(num "$(med srv.sampled_probes.rps)") req/s"
	sline "server req/s untraced / light" "$(ratio "$S_UN" "$(med srv.light.rps)")" "-" "-" \
		"$(num "$S_UN") / $(num "$(med srv.light.rps)") req/s"
	sline "server CPU/request sampled / untraced" "$(ratio "$(med srv.sampled.cpu)" "$(med srv.untraced.cpu)")" "-" "-" \
		"$(us "$(med srv.sampled.cpu)") / $(us "$(med srv.untraced.cpu)") us"
	sline "sites > 10 MiB: worst error" "$(awk -v w="${ACC_WORST:-nan}" 'BEGIN { if (w == "nan") print "n/a"; else printf "%.0f%%", 100 * w }')" \
		"<= 15%" "$ACC_OK" "median over $ACC_N runs; ${ACC_OK_RUNS:-0} of ${ACC_N:-0} runs had every site within 15%"
	sline "  the same at $((ACC_R2 / 1024)) KiB interval" "$(awk -v w="${ACC2_WORST:-nan}" 'BEGIN { if (w == "nan") print "n/a"; else printf "%.0f%%", 100 * w }')" \
		"<= 15%" "$ACC2_OK" "median over $ACC2_N runs; ${ACC2_OK_RUNS:-0} of ${ACC2_N:-0} runs had every site within 15%"
)

ELAPSED=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
echo "sampled bench took $ELAPSED s" >>"$LOG"
if [ -n "$SUMMARY_FILE" ]; then
	printf '%s\n' "$SUMMARY" >"$SUMMARY_FILE"
	printf '%s\n' "${PROBLEMS[@]}" | grep . >"$SUMMARY_FILE.problems"
	echo "   (section D took $ELAPSED s; details in $LOG)"
else
	echo
	echo "Summary"
	sline "figure" "value" "target" "status" "as"
	printf '%s\n' "$SUMMARY"
	echo
	if [ ${#PROBLEMS[@]} -gt 0 ]; then
		echo "Problems:"
		printf '  %s\n' "${PROBLEMS[@]}"
	fi
	printf 'sampled bench took %s s, load now %s; details in %s\n' "$ELAPSED" "$(cut -d' ' -f1-3 /proc/loadavg)" "$LOG"
fi
[ ${#PROBLEMS[@]} -eq 0 ]
