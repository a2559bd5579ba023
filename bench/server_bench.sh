#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench/server_bench.sh - bench C (issue 4): an event-loop server under load
# from wrk on loopback: untraced, traced, traced with the tracer frozen, and
# built with a classic in-process tracker. Run as root after `make`;
# bench/run.sh runs it as its section C (see bench/README.md).
#
# Server: .output/bench/mt_server (bench/mt_server.c): SERVER_THREADS worker
# threads, each with its own epoll loop on a SO_REUSEPORT socket, a memscope
# task per connection, TRACK_VAR on every per-request buffer. The same source
# is built twice: with include/memscope.h (rows untraced, light, full,
# frozen: one server process serves all of them) and with -DCLASSIC, where
# the macros go to bench/classic_tracker.h (row classic: its own process).
#
# Configurations:
#   untraced   no tracer
#   floor      empty BPF programs on every memscope probe of the server
#              (bench/floor.c probes): the cost of the probe sites alone
#   light      memscope-trace -m light -p PID -o JSON (USDT probes only)
#   light1     the same on the server built with MEMSCOPE_NOP1: the 1-byte
#              probe sites of an older header (an int3 trap per hit, where
#              memscope.h's 5-byte sites become calls); its own process
#   full       memscope-trace -m full -p PID -o JSON (USDT probes + allocator)
#   frozen     memscope-trace -m full attached, then SIGSTOPped before the
#              load and SIGCONTed after it: the ring buffer fills up and the
#              probes drop events (counted; read from its JSON report)
#   classic    the -DCLASSIC build, no tracer
# Each configuration runs two wrk loads with bench/wrk_latency.lua
# (p50/p99/p99.9): "saturated", -tWRK_T -cWRK_C back to back (throughput;
# latency there is mostly queueing), then "paced", the same connections
# waiting THINK_MS ms between a response and the next request (latency
# below saturation). With each: the server's CPU time per request (all its
# threads, from /proc/PID/stat), which scheduling noise hardly moves.
#
# ROUNDS rounds, the configuration order rotated every round; a figure is
# the median over rounds, a ratio the median of the ratios within a round. A tracer counts as attached once every memscope
# semaphore in the server is raised, the tracer is back to one thread (it
# attaches uprobes from helper threads) and, for -m full, an int3 sits in
# libc's free; after it exits, the semaphores must be back to 0 before the
# next configuration runs.
#
# Environment: SERVER_BENCH_ROUNDS (5), SERVER_BENCH_DURATION (3 s per load),
# SERVER_BENCH_THINK_MS (2), SERVER_THREADS (2), WRK_THREADS (2),
# WRK_CONNS (32). SERVER_BENCH_SUMMARY=FILE (set by run.sh): write the
# summary rows to FILE and the problems to FILE.problems instead of printing
# them. Exit status 1 if a tracer failed, did not attach or detach, dropped
# events while not frozen, did not drop while frozen, or wrk saw errors; a
# missed target is printed (MISSED) but is a result, not a failure.
set -u

cd "$(dirname "$0")/.." || exit 1
OUT=.output/bench
TRACE=.output/memscope-trace
ROUNDS=${SERVER_BENCH_ROUNDS:-5}
DUR=${SERVER_BENCH_DURATION:-3}
THINK_MS=${SERVER_BENCH_THINK_MS:-2}
THREADS=${SERVER_THREADS:-2}
WRK_T=${WRK_THREADS:-2}
WRK_C=${WRK_CONNS:-32}
SUMMARY_FILE=${SERVER_BENCH_SUMMARY:-}
LOG=$OUT/server_bench.log
HZ=$(getconf CLK_TCK)
T0=$(date +%s.%N)

die() {
	echo "server_bench: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (BPF, uprobes); run as root: make bench"
[ -x "$TRACE" ] || die "$TRACE missing; run make first"
command -v wrk >/dev/null || die "wrk missing (Debian package wrk; make deps installs it)"
mkdir -p "$OUT" || exit 1
: >"$LOG"

# ---- build the two servers ---------------------------------------------------

SRV_CFLAGS="-g -O2 -fno-omit-frame-pointer -Wall -Wextra -Werror -std=gnu11 -Iinclude -Ibench"
cc $SRV_CFLAGS bench/mt_server.c -pthread -o $OUT/mt_server &&
	cc $SRV_CFLAGS -DMEMSCOPE_NOP1 bench/mt_server.c -pthread -o $OUT/mt_server_nop1 &&
	cc $SRV_CFLAGS -DCLASSIC bench/mt_server.c -pthread -o $OUT/mt_server_classic ||
	die "building bench/mt_server.c failed"

# ---- number helpers (the rest in bench/stats.sh) --------------------------------
BENCH_NAME=server_bench
# shellcheck source=bench/stats.sh
. bench/stats.sh
build_floor || die "building bench/floor.c failed"

ms() { awk -v v="$1" 'BEGIN { if (v == "nan") print "n/a"; else if (v < 10000) printf "%.2f", v / 1000;
	else printf "%.1f", v / 1000 }'; }

# ---- processes -------------------------------------------------------------------

SRV_PID= SRV_C_PID= SRV1_PID= TR_PID= TR_NAME=
cleanup() {
	[ -n "$TR_PID" ] && kill -CONT "$TR_PID" 2>/dev/null && kill -KILL "$TR_PID" 2>/dev/null
	[ -n "$SRV_PID" ] && kill -KILL "$SRV_PID" 2>/dev/null
	[ -n "$SRV1_PID" ] && kill -KILL "$SRV1_PID" 2>/dev/null
	[ -n "$SRV_C_PID" ] && kill -KILL "$SRV_C_PID" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# server_start VAR BINARY: start it and wait for "listening on PORT";
# sets VAR_PID and VAR_PORT
server_start() {
	local var=$1 bin=$2 pid port= i
	: >$OUT/$var.out
	"$bin" --threads "$THREADS" >$OUT/$var.out 2>$OUT/$var.err &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		port=$(awk '/^listening on/ { print $3; exit }' $OUT/$var.out)
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || die "$bin exited: $(cat $OUT/$var.err)"
		sleep 0.05
	done
	[ -n "$port" ] || die "$bin printed no 'listening on PORT' in 5 s"
	printf -v "${var}_PID" '%s' "$pid"
	printf -v "${var}_PORT" '%s' "$port"
}

server_stop() { # PID
	kill -INT "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# irq_work interrupts so far, all CPUs: a BPF ring buffer wakeup is one
irq_work() { awk '$1 == "IWI:" { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }' /proc/interrupts; }

# ---- is the tracer in? -------------------------------------------------------------

# The server's memscope semaphores (link-time addresses from its USDT notes)
# plus its load bias, read in the live process as tests/harness.py
# semaphores_raised does; and libc's free, where -m full puts the last of
# its allocator probes.
SEM_ADDRS=()
sem_setup() { # PID EXE
	local exe
	exe=$(readlink -f "$2")
	mapfile -t SEM_ADDRS < <(readelf -n "$exe" | awk '/Provider: memscope/ { p = 1 }
		p && /Semaphore:/ { print $NF; p = 0 }' | sort -u)
	[ ${#SEM_ADDRS[@]} -gt 0 ] || die "$exe has no memscope semaphores"
	SEM_BASE=0
	if readelf -h "$exe" | grep -q 'DYN'; then
		SEM_BASE=0x$(awk -v f="$exe" '$6 == f && $3 == "00000000" { split($1, a, "-"); print a[1]; exit }' \
			/proc/"$1"/maps)
	fi
	LIBC=$(awk '$6 ~ /\/libc\.so/ { print $6; exit }' /proc/"$1"/maps)
	LIBC_BASE=0x$(awk -v f="$LIBC" '$6 == f && $3 == "00000000" { split($1, a, "-"); print a[1]; exit }' \
		/proc/"$1"/maps)
	FREE_OFF=0x$(nm -D --defined-only "$LIBC" | awk '$3 ~ /^free(@@|$)/ { print $1; exit }')
	echo "semaphores ${SEM_ADDRS[*]} (load bias $SEM_BASE); free in $LIBC at $FREE_OFF (base $LIBC_BASE)" >>"$LOG"
}

sems_raised() { # PID: how many of the semaphores are non-zero
	local a n=0 b
	for a in "${SEM_ADDRS[@]}"; do
		b=$(peek "$1" $((SEM_BASE + a)) 2)
		[ -n "${b// /}" ] && [ "$(awk '{ print $1 + $2 }' <<<"$b")" != 0 ] && n=$((n + 1))
	done
	echo $n
}

free_probed() { # PID: an int3 in the first 16 bytes of free
	[[ " $(peek "$1" $((LIBC_BASE + FREE_OFF)) 16) " == *" 204 "* ]]
}

# ---- the tracer ------------------------------------------------------------------

tracer_start() { # NAME MODE
	TR_NAME=$1
	rm -f $OUT/$1.json
	echo "  start $1: $TRACE -p $SRV_PID -m $2 -o $OUT/$1.json" >>"$LOG"
	TR_T0=$(date +%s%N)
	"$TRACE" -p "$SRV_PID" -m "$2" -o $OUT/$1.json >$OUT/$1.out 2>$OUT/$1.err &
	TR_PID=$!
}

# The tracer attaches allocator probes from short-lived threads, return
# probes first (user/probe/loader.c): an int3 in free (an entry probe) and the
# tracer back to one thread mean that batch is done.
tracer_threads() { awk '/^Threads:/ { print $2 }' /proc/"$TR_PID"/status 2>/dev/null; }

# wait_attached MODE: poll up to 60 s (attaching a uprobe can take seconds
# on a busy machine), then settle 0.2 s
wait_attached() {
	local i raised=0
	for ((i = 0; i < 1200; i++)); do
		if ! kill -0 "$TR_PID" 2>/dev/null; then
			problem "$TR_NAME: memscope-trace exited while attaching" tracer
			return 1
		fi
		raised=$(sems_raised "$SRV_PID")
		if [ "$raised" -eq ${#SEM_ADDRS[@]} ] && [ "$(tracer_threads)" = 1 ]; then
			[ "$1" != full ] && break
			free_probed "$SRV_PID" && break
		fi
		sleep 0.05
	done
	if [ $i -ge 1200 ]; then
		problem "$TR_NAME: not attached after 60 s ($raised of ${#SEM_ADDRS[@]} semaphores raised)" tracer
		return 1
	fi
	echo "  attached $TR_NAME after $((($(date +%s%N) - TR_T0) / 1000000)) ms" >>"$LOG"
	sleep 0.2
}

# tracer_stop: stop memscope-trace or the floor (TR_PID): SIGCONT +
# SIGINT, wait up to 60 s; then the server's semaphores must come down
tracer_stop() {
	local i
	tracer_wait_exit cont
	if [ -n "$TR_KILLED" ]; then
		problem "$TR_NAME: the tracer did not stop within 60 s of SIGINT (killed)" tracer
	elif [ "$TR_RC" -ne 0 ]; then
		problem "$TR_NAME: the tracer exited with status $TR_RC" tracer
	fi
	TR_PID=
	for ((i = 0; i < 100; i++)); do
		[ "$(sems_raised "$SRV_PID")" -eq 0 ] && return 0
		sleep 0.05
	done
	problem "$TR_NAME: server semaphores still raised 5 s after the tracer exited"
}

# json_summary NAME: "events dropped probe_misses" from the tracer's JSON
# report (probe_misses: runs of a BPF program the kernel skipped)
json_summary() {
	python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))["summary"]
print(s["events"], s["dropped_events"], s.get("probe_misses", 0))' $OUT/$1.json 2>/dev/null ||
		echo "nan nan nan"
}

# ---- load ------------------------------------------------------------------------

declare -A RES BYROUND EVENTS DROPS MISSES TCPU NRUNS IWI
# add NAME VALUE: one more figure for NAME (KEY.PHASE.FIELD), in round $r
add() {
	RES[$1]="${RES[$1]:-} $2"
	BYROUND[$1.$r]=$2
}
med() { median ${RES[$1]:-}; }
# pr KEY PHASE FIELD [BASE]: the median over rounds of KEY's figure / BASE's
# (default untraced) in the same round: paired, so drift between rounds
# cancels out
pr() {
	local i v=()
	for ((i = 0; i < ROUNDS; i++)); do
		[ -n "${BYROUND[$1.$2.$3.$i]:-}" ] && [ -n "${BYROUND[${4:-untraced}.$2.$3.$i]:-}" ] &&
			v+=("$(awk -v a="${BYROUND[$1.$2.$3.$i]}" -v b="${BYROUND[${4:-untraced}.$2.$3.$i]}" \
				'BEGIN { if (b > 0) printf "%.4f", a / b }')")
	done
	median "${v[@]}"
}
x() { awk -v v="$1" 'BEGIN { if (v == "nan") print "n/a"; else printf "%.2fx", v }'; }

# load KEY PHASE PID PORT [SECONDS]: one wrk run against server PID on PORT;
# PHASE "sat" or "paced". Figures go to RES[KEY.PHASE.rps|p50|p99|p999|cpu]
# (cpu: the server's CPU µs per request), IWI[KEY] (irq_work interrupts).
# KEY "-": warm-up, nothing kept.
load() {
	local key=$1 phase=$2 pid=$3 port=$4 d=${5:-$DUR} think=0 line c0 c1 i0 i1 req dur p50 p99 p999 err
	[ "$phase" = paced ] && think=$THINK_MS
	c0=$(cpu_ticks "$pid")
	i0=$(irq_work)
	WRK_THINK_MS=$think wrk -t"$WRK_T" -c"$WRK_C" -d"${d}s" -s bench/wrk_latency.lua \
		"http://127.0.0.1:$port/" >$OUT/wrk.out 2>&1
	i1=$(irq_work)
	c1=$(cpu_ticks "$pid")
	echo "  $key $phase:" >>"$LOG"
	sed 's/^/    /' $OUT/wrk.out >>"$LOG"
	line=$(grep '^wrk_latency ' $OUT/wrk.out)
	if [ -z "$line" ]; then
		problem "$key $phase: wrk printed no wrk_latency line: $(tail -1 $OUT/wrk.out)"
		return 1
	fi
	[ "$key" = - ] && return 0
	read -r req dur p50 p99 p999 err <<<"$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print v["requests"], v["duration_us"], v["p50_us"], v["p99_us"], v["p999_us"], v["errors"] }' <<<"$line")"
	add "$key.$phase.rps" "$(awk -v r="$req" -v d="$dur" 'BEGIN { printf "%.1f", r / (d / 1e6) }')"
	add "$key.$phase.p50" "$p50"
	add "$key.$phase.p99" "$p99"
	add "$key.$phase.p999" "$p999"
	add "$key.$phase.cpu" "$(awk -v t="$((c1 - c0))" -v hz="$HZ" -v r="$req" \
		'BEGIN { printf "%.2f", r ? t / hz * 1e6 / r : 0 }')"
	NRUNS[$key]=$((${NRUNS[$key]:-0} + 1))
	IWI[$key]=$((${IWI[$key]:-0} + i1 - i0))
	[ "$err" -eq 0 ] || problem "$key $phase: wrk saw $err socket errors or timeouts"
}

both() { # KEY PID PORT
	load "$1" sat "$2" "$3" && load "$1" paced "$2" "$3"
}

# ---- configurations ---------------------------------------------------------------

c_untraced() { both untraced "$SRV_PID" "$SRV_PORT"; }
c_classic() { both classic "$SRV_C_PID" "$SRV_C_PORT"; }

# c_traced KEY MODE [frozen]
c_traced() {
	local key=$1 ev dr mi t0 t1
	tracer_start "c_$key" "$2"
	if wait_attached "$2"; then
		if [ -n "${3:-}" ]; then
			kill -STOP "$TR_PID"
			echo "  froze c_$key ($(ps -o stat= -p "$TR_PID"))" >>"$LOG"
		fi
		t0=$(cpu_ticks "$TR_PID")
		both "$key" "$SRV_PID" "$SRV_PORT"
		t1=$(cpu_ticks "$TR_PID")
		TCPU[$key]="${TCPU[$key]:-} $(awk -v t="$((t1 - t0))" -v hz="$HZ" -v d="$((2 * DUR))" \
			'BEGIN { printf "%.2f", t / hz / d }')"
	fi
	tracer_stop
	read -r ev dr mi <<<"$(json_summary "c_$key")"
	echo "  $key: events $ev dropped $dr probe_misses $mi" >>"$LOG"
	if [ "$ev" = nan ]; then
		problem "$key: no JSON report from memscope-trace"
		return
	fi
	EVENTS[$key]=$((${EVENTS[$key]:-0} + ev))
	DROPS[$key]=$((${DROPS[$key]:-0} + dr))
	MISSES[$key]=$((${MISSES[$key]:-0} + mi))
}

# c_floor: EMPTY BPF programs on every memscope probe of the server
# (bench/floor.c probes), the sites -m light attaches to: what any USDT
# tracer costs this server before it does any work.
c_floor() {
	TR_NAME=c_floor
	TR_T0=$(date +%s%N)
	$OUT/floor probes "$SRV_PID" >$OUT/c_floor.out 2>$OUT/c_floor.err &
	TR_PID=$!
	wait_attached light && both floor "$SRV_PID" "$SRV_PORT"
	tracer_stop
}

c_light() { c_traced light light; }

# c_light1: -m light on the 1-byte build, its own process: the tracer
# helpers look at SRV_PID and SEM_*, so they point there for this row
c_light1() {
	local pid=$SRV_PID port=$SRV_PORT base=$SEM_BASE addrs=("${SEM_ADDRS[@]}")
	SRV_PID=$SRV1_PID SRV_PORT=$SRV1_PORT SEM_BASE=$SEM1_BASE SEM_ADDRS=("${SEM1_ADDRS[@]}")
	c_traced light1 light
	SRV_PID=$pid SRV_PORT=$port SEM_BASE=$base SEM_ADDRS=("${addrs[@]}")
}
c_full() { c_traced full full; }
c_frozen() { c_traced frozen full frozen; }

# ---- run -------------------------------------------------------------------------

[ -n "$SUMMARY_FILE" ] ||
	echo "server bench: $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds"
server_start SRV $OUT/mt_server
server_start SRV1 $OUT/mt_server_nop1
server_start SRV_C $OUT/mt_server_classic
sem_setup "$SRV1_PID" $OUT/mt_server_nop1
SEM1_ADDRS=("${SEM_ADDRS[@]}") SEM1_BASE=$SEM_BASE
sem_setup "$SRV_PID" $OUT/mt_server
echo "servers: memscope build PID $SRV_PID port $SRV_PORT, classic build PID $SRV_C_PID port $SRV_C_PORT" >>"$LOG"
echo "warm-up" >>"$LOG"
load - sat "$SRV_PID" "$SRV_PORT" 2
load - sat "$SRV_C_PID" "$SRV_C_PORT" 2
load - sat "$SRV1_PID" "$SRV1_PORT" 2

CONFIGS=(c_untraced c_floor c_light c_full c_classic c_frozen c_light1)
for ((r = 0; r < ROUNDS; r++)); do
	echo "round $((r + 1))" >>"$LOG"
	for ((c = 0; c < ${#CONFIGS[@]}; c++)); do
		${CONFIGS[$(((c + r) % ${#CONFIGS[@]}))]}
	done
done
server_stop "$SRV_PID"
server_stop "$SRV1_PID"
server_stop "$SRV_C_PID"
SRV_PID= SRV1_PID= SRV_C_PID=
SRV_LINE=$(grep '^mt_server:' $OUT/SRV.out)
SRV_C_LINE=$(grep '^mt_server:' $OUT/SRV_C.out)
printf '%s\n%s\n' "$SRV_LINE" "$SRV_C_LINE" >>"$LOG"

# ---- report ------------------------------------------------------------------------

KEYS=(untraced floor light light1 full frozen classic)
for k in "${KEYS[@]}"; do
	for p in sat paced; do
		for f in rps p50 p99 p999 cpu; do
			printf -v "M_${k}_${p}_$f" '%s' "$(med "$k.$p.$f")"
		done
	done
	[ "${NRUNS[$k]:-0}" -gt 0 ] || problem "$k: no measurement"
done
m() { local v="M_$1_$2_$3"; echo "${!v}"; } # m KEY PHASE FIELD

row() { # PHASE KEY LABEL
	local p=$1 k=$2 lo hi
	read -r lo hi <<<"$([ -n "${RES[$k.$p.p99]:-}" ] && minmax ${RES[$k.$p.p99]} || echo "nan nan")"
	printf '  %-34s %6s %5s %5s %5s %5s | %5s %5s %5s %5s %5s  [%s..%s]\n' "$3" \
		"$(num "$(m $k $p rps)")" "$(ms "$(m $k $p p50)")" "$(ms "$(m $k $p p99)")" "$(ms "$(m $k $p p999)")" \
		"$(us "$(m $k $p cpu)")" \
		"$(x "$(pr $k $p rps)" | tr -d x)" "$(x "$(pr $k $p p50)" | tr -d x)" \
		"$(x "$(pr $k $p p99)" | tr -d x)" "$(x "$(pr $k $p p999)" | tr -d x)" \
		"$(x "$(pr $k $p cpu)" | tr -d x)" "$(ms "$lo")" "$(ms "$hi")"
}

table() { # PHASE TITLE
	echo "   $2"
	printf '  %-34s %6s %5s %5s %5s %5s | %5s %5s %5s %5s %5s  %s\n' "" "req/s" "p50" "p99" "p99.9" "CPU" \
		"req/s" "p50" "p99" "p99.9" "CPU" "p99 range"
	row "$1" untraced "untraced (no tracer)"
	row "$1" floor "floor: empty BPF on its probes"
	row "$1" light "memscope-trace -m light"
	row "$1" light1 "-m light, 1-byte sites (old header)"
	row "$1" full "memscope-trace -m full"
	row "$1" frozen "-m full, tracer frozen (SIGSTOP)"
	row "$1" classic "classic tracker (-DCLASSIC)"
}

events_note() { # KEY LABEL
	local k=$1 cpu
	[ -n "${EVENTS[$k]+x}" ] || return 0
	cpu=$(median ${TCPU[$k]:-})
	printf '  %-28s memscope saw %s events, dropped %s, probe misses %s%s\n' "$2" "${EVENTS[$k]}" \
		"${DROPS[$k]}" "${MISSES[$k]}" \
		"$([ "$k" != frozen ] && [ "$cpu" != nan ] && echo "; the tracer used $cpu CPUs while loaded")"
	[ "$k" = frozen ] || [ "${DROPS[$k]}" -eq 0 ] ||
		problem "$k: memscope dropped ${DROPS[$k]} events (tracer not frozen)"
}

LIGHT_SAT_OK=$(verdict rle "$(pr light sat p99)" 1 1.10)
LIGHT_PACED_OK=$(verdict rle "$(pr light paced p99)" 1 1.10)
FROZEN_SAT_OK=$(verdict rle "$(pr frozen sat p99 full)" 1 1.10)
FROZEN_PACED_OK=$(verdict rle "$(pr frozen paced p99 full)" 1 1.10)
FROZEN_CPU_OK=$(verdict rle "$(pr frozen sat cpu full)" 1 1.10)
FROZEN_DROP_PCT=$(awk -v e="${EVENTS[frozen]:-0}" -v d="${DROPS[frozen]:-0}" \
	'BEGIN { if (e + d) printf "%.1f", 100 * d / (e + d); else print "nan" }')
[ "${DROPS[frozen]:-0}" -gt 0 ] ||
	problem "frozen: memscope dropped nothing: the ring buffer never filled, so the run proves nothing"

echo
echo "C. Event-loop server under load (issue 4): wrk -t$WRK_T -c$WRK_C -d${DUR}s, keep-alive GET on 127.0.0.1"
echo "   server: .output/bench/mt_server --threads $THREADS (bench/mt_server.c: an epoll loop per thread on a"
echo "   SO_REUSEPORT socket, a task per connection, TRACK_VAR per request buffer), the memscope.h build for"
echo "   every row but 'classic', the same source built with -DCLASSIC (bench/classic_tracker.h), and"
echo "   '1-byte sites', built with -DMEMSCOPE_NOP1 as an older memscope.h would (int3 trap per hit)."
echo "   Median over $ROUNDS rounds (order rotated). Latency in ms; CPU: the server's CPU µs per request;"
echo "   right of |: the same figures / untraced in the same round, median over rounds; [range of p99]."
table sat "saturated (back to back):"
table paced "paced (each connection waits ${THINK_MS} ms between requests):"
events_note light "  -m light:"
events_note light1 "  -m light, 1-byte sites:"
events_note full "  -m full:"
events_note frozen "  -m full, frozen:"
printf '  %-28s %s%% of the events dropped; p99 %s (saturated), %s (paced), CPU/request %s of unfrozen -m full\n' "" \
	"$FROZEN_DROP_PCT" "$(x "$(pr frozen sat p99 full)")" "$(x "$(pr frozen paced p99 full)")" \
	"$(x "$(pr frozen sat cpu full)")"
echo "   irq_work interrupts during the loads (all CPUs; a forced ring buffer wakeup is one): untraced ${IWI[untraced]:-?},"
echo "   light ${IWI[light]:-?}, full ${IWI[full]:-?}, frozen ${IWI[frozen]:-?}, classic ${IWI[classic]:-?}"
echo "   memscope build: $SRV_LINE"
echo "   classic build:  $SRV_C_LINE"

srow() { printf '  %-38s %10s  %-12s %-8s %s\n' "$@"; }
# p99row KEY BASE PHASE [TARGET STATUS]: KEY's p99 against BASE's
p99row() {
	local phase=saturated
	[ "$3" = paced ] && phase=paced
	srow "server p99 $1 / $2, $phase" "$(x "$(pr "$1" "$3" p99 "$2")")" "${4:--}" "${5:--}" \
		"$(ms "$(m "$1" "$3" p99)") / $(ms "$(m "$2" "$3" p99)") ms"
}
SUMMARY=$(
	p99row light untraced sat "<= 1.10x" "$LIGHT_SAT_OK"
	p99row light untraced paced "<= 1.10x" "$LIGHT_PACED_OK"
	p99row floor untraced sat
	p99row floor untraced paced
	p99row light floor paced
	p99row light1 untraced paced
	p99row full untraced paced
	p99row classic untraced paced
	p99row frozen full sat "<= 1.10x" "$FROZEN_SAT_OK"
	p99row frozen full paced "<= 1.10x" "$FROZEN_PACED_OK"
	srow "server CPU/request frozen / full" "$(x "$(pr frozen sat cpu full)")" \
		"<= 1.10x" "$FROZEN_CPU_OK" "$(us "$(m frozen sat cpu)") / $(us "$(m full sat cpu)") us; ${DROPS[frozen]:-0} events dropped (${FROZEN_DROP_PCT}%)"
	for k in light light1 full classic; do
		srow "server req/s $k / untraced" "$(x "$(pr $k sat rps)")" "-" "-" \
			"$(num "$(m $k sat rps)") / $(num "$(m untraced sat rps)")"
	done
	for k in floor light light1 full classic; do
		srow "server CPU/request $k / untraced" "$(x "$(pr $k sat cpu)")" "-" "-" \
			"$(us "$(m $k sat cpu)") / $(us "$(m untraced sat cpu)") us"
	done
)

ELAPSED=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
echo "server bench took $ELAPSED s" >>"$LOG"
if [ -n "$SUMMARY_FILE" ]; then
	printf '%s\n' "$SUMMARY" >"$SUMMARY_FILE"
	printf '%s\n' "${PROBLEMS[@]}" | grep . >"$SUMMARY_FILE.problems"
	echo "   (section C took $ELAPSED s; details in $LOG)"
else
	echo
	echo "Summary"
	srow "figure" "value" "target" "status" "as"
	printf '%s\n' "$SUMMARY"
	echo
	if [ ${#PROBLEMS[@]} -gt 0 ]; then
		echo "Problems:"
		printf '  %s\n' "${PROBLEMS[@]}"
	fi
	printf 'server bench took %s s, load now %s; details in %s\n' "$ELAPSED" "$(cut -d' ' -f1-3 /proc/loadavg)" "$LOG"
fi
[ ${#PROBLEMS[@]} -eq 0 ]
