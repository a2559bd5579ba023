#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench/redis_bench.sh - bench E (issue 16): a real server with its own
# allocator. Debian's redis-server (linked with jemalloc), and the same
# server with tcmalloc and with mimalloc preloaded, driven by
# redis-benchmark (SET and GET, 200-byte values, 50,000 keys) on loopback.
# Run as root after `make`; bench/run.sh runs it as its section E.
#
# Rows, side by side in one run, the order rotated every round:
#   untraced   the server, no tracer
#   floor      memscope-trace -m full with MEMSCOPE_BENCH_FLOOR=1: the same
#              probes on exactly the sites full mode uses (same placement,
#              same cookies), every program returning at once
#   light      memscope-trace -m light (redis has no memscope probes:
#              nothing is attached to it)
#   full       memscope-trace -m full (default stacks: 16 frames walked
#              with the DWARF tables; redis-server has no frame pointers)
#   full-sd0   memscope-trace -m full --stack-depth 0
#   full-fp16  memscope-trace -m full --unwind fp --stack-depth 16: the
#              kernel's frame-pointer walk forced on code without frame
#              pointers (what full mode did before the DWARF walk)
#   fast       memscope-trace -m fast
#   library    a second server started with libmemscope_sample.so
#              preloaded, no tracer: what the library costs on its own
#   sampled    that server with memscope-trace -m sampled attached
#   heaptrack  a third server started under heaptrack (its preload), the
#              peer a user would pick
# Every tracer runs with --budget none (the figure is the mode's own cost)
# and is attached to the running server (-p) before each load and stopped
# after it. For each: throughput (both loads' requests over their time)
# and the server's CPU time per request (utime + stime of its process,
# /proc/PID/stat) as ratios to untraced in the same round, traps per
# request (runs of the tracer's uprobe programs: each is one trap) and BPF
# time per request (kernel BPF statistics, kernel.bpf_stats_enabled=1:
# run_time_ns and run_cnt of each of the tracer's programs, read from its
# /proc/PID/fdinfo). Figures are medians over rounds; ratios the medians of
# the ratios within a round (each against that round's untraced run).
#
# Environment: REDIS_BENCH_ROUNDS (3), REDIS_BENCH_REQUESTS (20000 per
# command in rows that probe redis), REDIS_BENCH_REQUESTS_UNPROBED (100000
# in untraced, light, library, sampled, heaptrack), REDIS_BENCH_ALLOCATORS ("jemalloc tcmalloc mimalloc"),
# REDIS_BENCH_ROWS (all of the above). REDIS_BENCH_SUMMARY=FILE (set by
# run.sh): write the summary rows to FILE and problems to FILE.problems.
# Exit status 1 if a tracer or a server failed; a missed target is printed
# (MISSED) but is a result.
set -u

cd "$(dirname "$0")/.." || exit 1
OUT=.output/bench
TRACE=.output/memscope-trace
SAMPLE_LIB=$PWD/.output/libmemscope_sample.so
ROUNDS=${REDIS_BENCH_ROUNDS:-3}
N_PROBED=${REDIS_BENCH_REQUESTS:-20000}
# rows that put no uprobe in redis run 1 s at 20000 requests: too short on
# a shared machine (one round moved light and library alone by 0.7x)
N_UNPROBED=${REDIS_BENCH_REQUESTS_UNPROBED:-100000}
ALLOCS=${REDIS_BENCH_ALLOCATORS:-"jemalloc tcmalloc mimalloc"}
ROWS=${REDIS_BENCH_ROWS:-"untraced floor light full full-sd0 full-fp16 fast library sampled heaptrack"}
SUMMARY_FILE=${REDIS_BENCH_SUMMARY:-}
LOG=$OUT/redis_bench.log
HZ=$(getconf CLK_TCK)
T0=$(date +%s.%N)
BENCH_NAME=redis_bench
# shellcheck source=bench/stats.sh
. bench/stats.sh

die() {
	echo "redis_bench: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (BPF, uprobes); run as root: make bench"
[ -x "$TRACE" ] || die "$TRACE missing; run make first"
for c in redis-server redis-benchmark redis-cli heaptrack; do
	command -v $c >/dev/null || die "$c missing (make deps installs it)"
done
mkdir -p "$OUT" || exit 1
: >"$LOG"

LIBDIR=/usr/lib/x86_64-linux-gnu
preload_of() { # ALLOCATOR: what to preload for it (jemalloc: redis links it)
	case $1 in
	tcmalloc) echo $LIBDIR/libtcmalloc_minimal.so.4 ;;
	mimalloc) echo $LIBDIR/libmimalloc.so.2 ;;
	*) echo "" ;;
	esac
}

OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q -w kernel.bpf_stats_enabled=1
PIDS=()
TR_PID=
cleanup() {
	[ -n "$TR_PID" ] && kill -KILL "$TR_PID" 2>/dev/null
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	sysctl -q -w kernel.bpf_stats_enabled="$OLD_STATS"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# server_start NAME PRELOAD [heaptrack]: sets NAME_PID and NAME_PORT
server_start() {
	local name=$1 pre=$2 how=${3:-} port pid= i
	port=$(free_port)
	if [ "$how" = heaptrack ]; then
		(cd $OUT && LD_PRELOAD=$pre exec heaptrack -o "$PWD/heaptrack.$name" redis-server --port "$port" \
			--save '' --appendonly no >"$PWD/$name.out" 2>&1) &
	else
		LD_PRELOAD=$pre redis-server --port "$port" --save '' --appendonly no >$OUT/$name.out 2>&1 &
	fi
	PIDS+=($!)
	disown $! # killed at the end: no job notice
	for ((i = 0; i < 200; i++)); do
		pid=$(redis-cli -p "$port" info server 2>/dev/null | awk -F: '/^process_id/ { print $2 + 0 }')
		[ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ] || die "redis-server ($name) did not answer on port $port: $(tail -3 $OUT/$name.out)"
	PIDS+=("$pid")
	printf -v "${name}_PID" '%s' "$pid"
	printf -v "${name}_PORT" '%s' "$port"
	echo "server $name: pid $pid port $port preload '${pre}' ${how}" >>"$LOG"
}

cpu_ns() { awk -v hz="$HZ" '{ printf "%.0f", ($14 + $15) * 1e9 / hz }' /proc/"$1"/stat; }

# bpf_of PID: "run_time_ns run_cnt" summed over its uprobe programs
bpf_of() {
	local f rt=0 rc=0 t a b
	for f in /proc/"$1"/fdinfo/*; do
		t=$(awk '/^prog_type:/ { print $2 }' "$f" 2>/dev/null)
		[ "$t" = 2 ] || continue
		read -r a b < <(awk '/^run_time_ns:/ { r = $2 } /^run_cnt:/ { c = $2 } END { print r + 0, c + 0 }' "$f")
		rt=$((rt + a))
		rc=$((rc + b))
	done
	echo "$rt $rc"
}

# tracer_start ROW PID: start the row's tracer on PID, wait until it has
# attached everything (its bpf_link count stays put for 1 s)
tracer_start() {
	local row=$1 pid=$2 args=() envs=() prev=-1 n i
	case $row in
	floor) args=(-m full) envs=(MEMSCOPE_BENCH_FLOOR=1) ;;
	light) args=(-m light) ;;
	full) args=(-m full) ;;
	full-sd0) args=(-m full --stack-depth 0) ;;
	full-fp16) args=(-m full --unwind fp --stack-depth 16) ;;
	fast) args=(-m fast) ;;
	sampled) args=(-m sampled) ;;
	esac
	TR_NAME=tr_$row
	env "${envs[@]}" "$TRACE" "${args[@]}" --budget none -p "$pid" -o $OUT/$TR_NAME.json \
		>/dev/null 2>$OUT/$TR_NAME.err &
	TR_PID=$!
	echo "  $row: started tracer $TR_PID: ${envs[*]} ${args[*]}" >>"$LOG"
	sleep 1
	for ((i = 0; i < 120; i++)); do
		kill -0 "$TR_PID" 2>/dev/null || break
		n=$(ls -l /proc/"$TR_PID"/fd 2>/dev/null | grep -c 'bpf_link\|perf_event')
		[ "$n" -eq "$prev" ] && [ "$(ls /proc/"$TR_PID"/task | wc -l)" -eq 1 ] && break
		prev=$n
		sleep 1
	done
	kill -0 "$TR_PID" 2>/dev/null || { problem "$row: tracer exited: $(grep -v ^libbpf $OUT/$TR_NAME.err | tail -2)"; TR_PID=; return 1; }
	echo "  $row: tracer $TR_PID attached, $prev links" >>"$LOG"
}

tracer_stop() {
	[ -n "$TR_PID" ] || return 0
	tracer_wait_exit
	[ "$TR_RC" = 0 ] || problem "$TR_NAME exited with $TR_RC: $(grep -v ^libbpf $OUT/$TR_NAME.err | tail -2)"
	TR_PID=
}

declare -A R # R[alloc,row,metric,round]
# load ALLOC ROW ROUND PID PORT [TRACER_PID]
load() {
	local a=$1 row=$2 k=$3 pid=$4 port=$5 tp=${6:-} c0 c1 b0="0 0" b1="0 0" t0 t1 out set get N
	case $row in
	untraced | light | library | sampled | heaptrack) N=$N_UNPROBED ;;
	*) N=$N_PROBED ;;
	esac
	c0=$(cpu_ns "$pid")
	[ -n "$tp" ] && b0=$(bpf_of "$tp")
	t0=$(date +%s%N)
	out=$(redis-benchmark -p "$port" -t set,get -n "$N" -r 50000 -d 200 -q 2>&1 | tr '\r' '\n')
	t1=$(date +%s%N)
	c1=$(cpu_ns "$pid")
	[ -n "$tp" ] && b1=$(bpf_of "$tp")
	set=$(grep -o 'SET: [0-9.]* requests per second' <<<"$out" | awk '{ print $2 }' | tail -1)
	get=$(grep -o 'GET: [0-9.]* requests per second' <<<"$out" | awk '{ print $2 }' | tail -1)
	if [ -z "$set" ] || [ -z "$get" ]; then
		problem "$a $row: redis-benchmark printed no rates: $(tail -2 <<<"$out")"
		return 1
	fi
	R[$a,$row,rps,$k]=$(awk -v n="$N" -v s="$set" -v g="$get" 'BEGIN { print 2 * n / (n / s + n / g) }')
	R[$a,$row,cpu,$k]=$(awk -v a="$c0" -v b="$c1" -v n="$N" 'BEGIN { print (b - a) / (2 * n) }')
	if [ -n "$tp" ]; then
		read -r r0 n0 <<<"$b0"
		read -r r1 n1 <<<"$b1"
		R[$a,$row,traps,$k]=$(awk -v a="$n0" -v b="$n1" -v n="$N" 'BEGIN { print (b - a) / (2 * n) }')
		R[$a,$row,bpf,$k]=$(awk -v a="$r0" -v b="$r1" -v n="$N" 'BEGIN { print (b - a) / (2 * n) }')
	fi
	printf '  round %s %s %-9s SET %s GET %s  cpu/req %s ns  traps/req %s  bpf/req %s ns  (%.1f s)\n' \
		"$k" "$a" "$row" "$set" "$get" "${R[$a,$row,cpu,$k]}" "${R[$a,$row,traps,$k]:-}" \
		"${R[$a,$row,bpf,$k]:-}" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')" >>"$LOG"
}

# ---- the servers -------------------------------------------------------------

for a in $ALLOCS; do
	pre=$(preload_of "$a")
	server_start "plain_$a" "$pre"
	[[ " $ROWS " == *" sampled "* || " $ROWS " == *" library "* ]] &&
		server_start "samp_$a" "$SAMPLE_LIB${pre:+:$pre}"
	[[ " $ROWS " == *" heaptrack "* ]] && server_start "heap_$a" "$pre" heaptrack
done
read -ra ROWV <<<"$ROWS"

# warm-up: each server once, not counted
for a in $ALLOCS; do
	for s in plain samp heap; do
		v=${s}_${a}_PORT
		[ -n "${!v:-}" ] && redis-benchmark -p "${!v}" -t set,get -n 5000 -r 50000 -d 200 -q >/dev/null 2>&1
	done
done

for ((k = 0; k < ROUNDS; k++)); do
	for a in $ALLOCS; do
		for ((j = 0; j < ${#ROWV[@]}; j++)); do
			row=${ROWV[$(((j + k) % ${#ROWV[@]}))]}
			case $row in
			sampled | library) s=samp ;;
			heaptrack) s=heap ;;
			*) s=plain ;;
			esac
			pv=${s}_${a}_PID
			qv=${s}_${a}_PORT
			pid=${!pv}
			port=${!qv}
			case $row in
			untraced | library | heaptrack) load "$a" "$row" "$k" "$pid" "$port" ;;
			*)
				tracer_start "$row" "$pid" || continue
				load "$a" "$row" "$k" "$pid" "$port" "$TR_PID"
				tracer_stop
				;;
			esac
		done
	done
done

# ---- the table ---------------------------------------------------------------

med() { # ALLOC ROW METRIC
	local v=() k
	for ((k = 0; k < ROUNDS; k++)); do v+=("${R[$1,$2,$3,$k]:-}"); done
	median "${v[@]}"
}
# medrat ALLOC ROW METRIC BASEROW: median of the per-round ratios
medrat() {
	local v=() k a b
	for ((k = 0; k < ROUNDS; k++)); do
		a=${R[$1,$2,$3,$k]:-}
		b=${R[$1,$4,$3,$k]:-}
		[ -n "$a" ] && [ -n "$b" ] && v+=("$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) print a / b }')")
	done
	median "${v[@]}"
}
x() { awk -v v="$1" 'BEGIN { if (v == "nan" || v == "") print "n/a"; else printf "%.2fx", v }'; }
mx() { awk -v v="$1" 'BEGIN { if (v == "nan" || v == "") print "n/a"; else printf "%.1f", v / 1000 }'; }

{
	echo "E. redis-server under redis-benchmark (issue 16): SET+GET, $N_PROBED requests each ($N_UNPROBED in rows that probe nothing in redis), $ROUNDS rounds"
	for a in $ALLOCS; do
		echo
		echo "   $a$( [ "$a" = jemalloc ] && echo " (Debian's redis-server, linked)" || echo " (preloaded)")"
		printf '   %-10s %10s %9s %11s %9s %9s %10s %11s\n' "row" "req/s" "vs untr." "CPU us/req" "vs untr." "vs floor" "traps/req" "BPF us/req"
		for row in "${ROWV[@]}"; do
			fl=
			case $row in untraced | library | heaptrack) ;; *) fl=$(x "$(medrat "$a" "$row" cpu floor)") ;; esac
			printf '   %-10s %10s %9s %11s %9s %9s %10s %11s\n' "$row" "$(num "$(med "$a" "$row" rps)")" \
				"$(x "$(medrat "$a" "$row" rps untraced)")" "$(mx "$(med "$a" "$row" cpu)")" \
				"$(x "$(medrat "$a" "$row" cpu untraced)")" "${fl:--}" \
				"$(awk -v v="$(med "$a" "$row" traps)" 'BEGIN { if (v == "nan" || v == "") print "-"; else printf "%.1f", v }')" \
				"$(awk -v v="$(med "$a" "$row" bpf)" 'BEGIN { if (v == "nan" || v == "") print "-"; else printf "%.2f", v / 1000 }')"
		done
	done
	echo
	echo "   (ratios: medians of per-round ratios; vs floor: CPU per request against the floor's;"
	echo "    details in $LOG)"
} | tee -a "$LOG"

# ---- summary rows (judged on Debian's redis: jemalloc) ------------------------
A=jemalloc
[[ " $ALLOCS " == *" jemalloc "* ]] || A=${ALLOCS%% *}
F_FLOOR=$(medrat $A full cpu floor)
L_TP=$(medrat $A light rps untraced)
S_TP=$(medrat $A sampled rps untraced)
rows() {
	printf '  %-38s %10s  %-12s %-8s %s\n' "redis $A: full CPU/req / floor" "$(x "$F_FLOOR")" "<= 1.3x" \
		"$(verdict le "$F_FLOOR" 1.3)" "full $(mx "$(med $A full cpu)") us, floor $(mx "$(med $A floor cpu)") us"
	printf '  %-38s %10s  %-12s %-8s %s\n' "redis $A: light throughput / untraced" "$(x "$L_TP")" ">= 0.95x" \
		"$(verdict le 0.95 "$L_TP")" "$(num "$(med $A light rps)") / $(num "$(med $A untraced rps)") req/s"
	printf '  %-38s %10s  %-12s %-8s %s\n' "redis $A: sampled throughput / untraced" "$(x "$S_TP")" ">= 0.95x" \
		"$(verdict le 0.95 "$S_TP")" "$(num "$(med $A sampled rps)") / $(num "$(med $A untraced rps)") req/s"
}
if [ -n "$SUMMARY_FILE" ]; then
	rows >"$SUMMARY_FILE"
	# no problem, an empty file (printf of an empty list writes one blank line)
	if [ ${#PROBLEMS[@]} -gt 0 ]; then printf '%s\n' "${PROBLEMS[@]}"; fi >"$SUMMARY_FILE.problems"
else
	echo
	rows
	[ ${#PROBLEMS[@]} -gt 0 ] && printf 'Problems:\n' && printf '  %s\n' "${PROBLEMS[@]}"
	printf 'redis_bench took %.0f s, load now %s\n' "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
fi
[ ${#PROBLEMS[@]} -eq 0 ]
