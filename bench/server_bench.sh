#!/usr/bin/env bash
# bench/server_bench.sh - bench C (issue 4): an event-loop server under load
# from wrk on loopback, untraced, traced, frozen-traced, and built with a
# classic in-process tracker. Run as root after `make`; bench/run.sh runs it
# as its section C (see bench/README.md).
#
# Target: .output/bench/mt_server (bench/mt_server.c): SERVER_THREADS worker
# threads, each with its own epoll loop on a SO_REUSEPORT socket, a memscope
# task per connection, TRACK_VAR on every per-request buffer. The same source
# is built twice: with include/memscope.h (rows untraced, light, full,
# frozen: one server process for all of them) and with -DCLASSIC, where the
# macros go to bench/classic_tracker.h (row classic: its own process).
#
# Configurations, each measured by one `wrk -tWRK_T -cWRK_C -dDURATIONs`
# run with bench/wrk_latency.lua (p50/p99/p99.9, throughput):
#   untraced   no tracer
#   light      memscope-trace -m light -p PID (USDT probes only)
#   full       memscope-trace -m full -p PID (USDT probes + allocator)
#   classic    the -DCLASSIC build, untraced
#   frozen     memscope-trace -m full attached, then SIGSTOPped before the
#              load and SIGCONTed after it: the ring buffer fills up and the
#              probes drop events (counted, read from the JSON report)
# ROUNDS rounds, the order rotated every round; figures are medians over
# rounds. A tracer counts only once every memscope semaphore in the server
# is raised (and, for -m full, an int3 sits in libc's free: the allocator
# probes are attached after the USDT ones); after it stops, the semaphores
# must be back to 0 before the next configuration runs.
#
# Environment: SERVER_BENCH_ROUNDS (3), SERVER_BENCH_DURATION (8 s),
# SERVER_THREADS (2), WRK_THREADS (2), WRK_CONNS (32).
# SERVER_BENCH_SUMMARY=FILE (set by run.sh): write the summary rows to FILE
# and the problems to FILE.problems instead of printing them.
# Exit status 1 if a tracer failed, did not attach or detach, dropped events
# while not frozen, or wrk saw errors; a missed target is a result.
set -u

cd "$(dirname "$0")/.." || exit 1
OUT=.output/bench
TRACE=.output/memscope-trace
ROUNDS=${SERVER_BENCH_ROUNDS:-3}
DUR=${SERVER_BENCH_DURATION:-8}
THREADS=${SERVER_THREADS:-2}
WRK_T=${WRK_THREADS:-2}
WRK_C=${WRK_CONNS:-32}
SUMMARY_FILE=${SERVER_BENCH_SUMMARY:-}
LOG=$OUT/server_bench.log
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
	cc $SRV_CFLAGS -DCLASSIC bench/mt_server.c -pthread -o $OUT/mt_server_classic ||
	die "building bench/mt_server.c failed"

# ---- number helpers ------------------------------------------------------------

median() {
	printf '%s\n' "$@" | grep . | sort -g | awk '{a[NR] = $1}
		END { if (!NR) print "nan"; else if (NR % 2) print a[(NR + 1) / 2];
		      else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
minmax() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s %s", lo, hi}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b == 0) print "n/a";
	else printf "%.2fx", a / b }'; }
ms() { awk -v v="$1" 'BEGIN { if (v == "nan") print "n/a"; else if (v < 10000) printf "%.2f", v / 1000;
	else printf "%.1f", v / 1000 }'; }
kreq() { awk -v v="$1" 'BEGIN { if (v == "nan") print "n/a"; else printf "%.0f", v }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "nan" && b != "nan" && a + 0 <= b + 0) }'; }
# rle A B LIMIT: A / B <= LIMIT
rle() { awk -v a="$1" -v b="$2" -v l="$3" 'BEGIN { exit !(a != "nan" && b != "nan" && b > 0 && a / b <= l) }'; }
verdict() { if "$@"; then echo ok; elif [[ "$*" == *nan* ]]; then echo n/a; else echo MISSED; fi; }

# ---- processes -------------------------------------------------------------------

SRV_PID= SRV_C_PID= TR_PID= TR_NAME=
cleanup() {
	[ -n "$TR_PID" ] && kill -CONT "$TR_PID" 2>/dev/null && kill -KILL "$TR_PID" 2>/dev/null
	[ -n "$SRV_PID" ] && kill -KILL "$SRV_PID" 2>/dev/null
	[ -n "$SRV_C_PID" ] && kill -KILL "$SRV_C_PID" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PROBLEMS=()
# problem TEXT [tracer]: remember it for the summary; with "tracer", show
# the last lines of the tracer's stderr
problem() {
	local p
	for p in "${PROBLEMS[@]}"; do
		[ "$p" = "$1" ] && return 0
	done
	PROBLEMS+=("$1")
	echo "server_bench: $1" >&2
	if [ -n "${2:-}" ] && [ -s $OUT/$TR_NAME.err ]; then
		grep -v -e '^libbpf:' -e 'RLIMIT_MEMLOCK' $OUT/$TR_NAME.err | tail -5 | sed 's/^/    /' >&2
	fi
}

# server_start VAR BINARY: start it, wait for "listening on PORT";
# VAR_PID and VAR_PORT are set
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

# ---- is the tracer in? -------------------------------------------------------------

# The memscope semaphores of the server (link-time addresses, from its USDT
# notes) and its load bias: read from the live process, as
# tests/harness.py semaphores_raised does.
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
	# libc's free, where -m full puts its last allocator probe
	LIBC=$(awk '$6 ~ /\/libc\.so/ { print $6; exit }' /proc/"$1"/maps)
	LIBC_BASE=0x$(awk -v f="$LIBC" '$6 == f && $3 == "00000000" { split($1, a, "-"); print a[1]; exit }' \
		/proc/"$1"/maps)
	FREE_OFF=0x$(nm -D --defined-only "$LIBC" | awk '$3 ~ /^free(@@|$)/ { print $1; exit }')
	echo "semaphores ${SEM_ADDRS[*]} (load bias $SEM_BASE); free in $LIBC at $FREE_OFF (base $LIBC_BASE)" >>"$LOG"
}

peek() { # PID ADDR COUNT: COUNT bytes at ADDR in PID, as unsigned decimal bytes
	dd if=/proc/"$1"/mem bs=1 count="$3" skip=$(($2)) iflag=skip_bytes status=none 2>/dev/null |
		od -An -tu1 -v | tr -s ' \n' ' '
}

# sems_raised PID: how many of the semaphores are non-zero
sems_raised() {
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

# wait_attached MODE: every semaphore raised (and free probed for full), up
# to 60 s; the attach of a USDT probe to a busy process can take seconds.
wait_attached() {
	local i raised=0
	for ((i = 0; i < 1200; i++)); do
		if ! kill -0 "$TR_PID" 2>/dev/null; then
			problem "$TR_NAME: memscope-trace exited while attaching" tracer
			return 1
		fi
		raised=$(sems_raised "$SRV_PID")
		if [ "$raised" -eq ${#SEM_ADDRS[@]} ]; then
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

cpu_ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat 2>/dev/null || echo 0; }

# tracer_stop: SIGCONT + SIGINT, wait up to 60 s, then check the server's
# semaphores are down again.
tracer_stop() {
	local t0 waited=0 rc i
	t0=$(date +%s%N)
	kill -CONT "$TR_PID" 2>/dev/null
	kill -INT "$TR_PID" 2>/dev/null
	while kill -0 "$TR_PID" 2>/dev/null; do
		sleep 0.05
		waited=$((waited + 1))
		if [ $waited -eq 1200 ]; then
			problem "$TR_NAME: memscope-trace did not stop within 60 s of SIGINT (killed)" tracer
			kill -KILL "$TR_PID" 2>/dev/null
		fi
	done
	wait "$TR_PID" 2>/dev/null
	rc=$?
	echo "  stop $TR_NAME: rc $rc after $((($(date +%s%N) - t0) / 1000000)) ms" >>"$LOG"
	[ $rc -eq 0 ] || [ $waited -ge 1200 ] || problem "$TR_NAME: memscope-trace exited with status $rc" tracer
	TR_PID=
	for ((i = 0; i < 100; i++)); do
		[ "$(sems_raised "$SRV_PID")" -eq 0 ] && return 0
		sleep 0.05
	done
	problem "$TR_NAME: server semaphores still raised 5 s after memscope-trace exited"
}

# json_summary NAME: "events dropped" from the tracer's JSON report
json_summary() {
	python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))["summary"]
print(s["events"], s["dropped_events"])' $OUT/$1.json 2>/dev/null || echo "nan nan"
}

# ---- load ------------------------------------------------------------------------

declare -A RES EVENTS DROPS TCPU NRUNS
add() { RES[$1]="${RES[$1]:-} $2"; }
med() { median ${RES[$1]:-}; }

# load KEY PORT [DURATION]: one wrk run; figures go to RES[KEY.rps|p50|p99|p999|err]
# unless KEY is "-" (warm-up)
load() {
	local key=$1 port=$2 d=${3:-$DUR} line req dur p50 p99 p999 err
	wrk -t"$WRK_T" -c"$WRK_C" -d"${d}s" -s bench/wrk_latency.lua "http://127.0.0.1:$port/" \
		>$OUT/wrk.out 2>&1
	sed 's/^/    /' $OUT/wrk.out >>"$LOG"
	line=$(grep '^wrk_latency ' $OUT/wrk.out)
	if [ -z "$line" ]; then
		problem "$key: wrk printed no wrk_latency line: $(tail -1 $OUT/wrk.out)"
		return 1
	fi
	[ "$key" = - ] && return 0
	read -r req dur p50 p99 p999 err <<<"$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print v["requests"], v["duration_us"], v["p50_us"], v["p99_us"], v["p999_us"], v["errors"] }' <<<"$line")"
	add "$key.rps" "$(awk -v r="$req" -v d="$dur" 'BEGIN { printf "%.1f", r / (d / 1e6) }')"
	add "$key.p50" "$p50"
	add "$key.p99" "$p99"
	add "$key.p999" "$p999"
	NRUNS[$key]=$((${NRUNS[$key]:-0} + 1))
	[ "$err" -eq 0 ] || problem "$key: wrk saw $err socket errors or timeouts"
}

# ---- configurations ---------------------------------------------------------------

c_untraced() { load untraced "$SRV_PORT"; }
c_classic() { load classic "$SRV_C_PORT"; }

c_traced() { # KEY MODE
	local key=$1 ev dr t0 t1
	tracer_start "c_$key" "$2"
	if wait_attached "$2"; then
		t0=$(cpu_ticks "$TR_PID")
		load "$key" "$SRV_PORT"
		t1=$(cpu_ticks "$TR_PID")
		TCPU[$key]="${TCPU[$key]:-} $(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v d="$DUR" \
			'BEGIN { printf "%.2f", t / hz / d }')"
	fi
	tracer_stop
	read -r ev dr <<<"$(json_summary "c_$key")"
	echo "  $key: events $ev dropped $dr" >>"$LOG"
	[ "$ev" = nan ] && { problem "$key: no JSON report from memscope-trace"; return; }
	EVENTS[$key]=$((${EVENTS[$key]:-0} + ev))
	DROPS[$key]=$((${DROPS[$key]:-0} + dr))
}

c_light() { c_traced light light; }
c_full() { c_traced full full; }

c_frozen() {
	local ev dr
	tracer_start c_frozen full
	if wait_attached full; then
		kill -STOP "$TR_PID"
		echo "  froze c_frozen ($(ps -o stat= -p "$TR_PID"))" >>"$LOG"
		load frozen "$SRV_PORT"
	fi
	tracer_stop
	read -r ev dr <<<"$(json_summary c_frozen)"
	echo "  frozen: events $ev dropped $dr" >>"$LOG"
	[ "$ev" = nan ] && { problem "frozen: no JSON report from memscope-trace"; return; }
	EVENTS[frozen]=$((${EVENTS[frozen]:-0} + ev))
	DROPS[frozen]=$((${DROPS[frozen]:-0} + dr))
}

# ---- run -------------------------------------------------------------------------

[ -n "$SUMMARY_FILE" ] || echo "server bench: $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
server_start SRV $OUT/mt_server
server_start SRV_C $OUT/mt_server_classic
sem_setup "$SRV_PID" $OUT/mt_server
echo "servers: memscope build PID $SRV_PID port $SRV_PORT, classic build PID $SRV_C_PID port $SRV_C_PORT" >>"$LOG"
echo "warm-up" >>"$LOG"
load - "$SRV_PORT" 2
load - "$SRV_C_PORT" 2

CONFIGS=(c_untraced c_light c_full c_classic c_frozen)
for ((r = 0; r < ROUNDS; r++)); do
	echo "round $((r + 1))" >>"$LOG"
	for ((c = 0; c < ${#CONFIGS[@]}; c++)); do
		${CONFIGS[$(((c + r) % ${#CONFIGS[@]}))]}
	done
done
server_stop "$SRV_PID"
server_stop "$SRV_C_PID"
cat $OUT/SRV.out $OUT/SRV_C.out | grep '^mt_server:' >>"$LOG"
SRV_LINE=$(grep '^mt_server:' $OUT/SRV.out)
SRV_C_LINE=$(grep '^mt_server:' $OUT/SRV_C.out)
SRV_PID= SRV_C_PID=

# ---- report ------------------------------------------------------------------------

for k in untraced light full classic frozen; do
	for f in rps p50 p99 p999; do
		eval "M_${k}_$f=$(med "$k.$f")"
	done
done

row() { # LABEL KEY
	local k=$1 u lo hi
	eval "local rps=\$M_${k}_rps p50=\$M_${k}_p50 p99=\$M_${k}_p99 p999=\$M_${k}_p999"
	read -r lo hi <<<"$( [ -n "${RES[$k.p99]:-}" ] && minmax ${RES[$k.p99]} || echo "nan nan")"
	printf '  %-38s %7s %6s %6s %7s  | %6s %6s %6s %6s  [%s..%s]\n' "$2" "$(kreq "$rps")" "$(ms "$p50")" \
		"$(ms "$p99")" "$(ms "$p999")" "$(ratio "$rps" "$M_untraced_rps")" "$(ratio "$p50" "$M_untraced_p50")" \
		"$(ratio "$p99" "$M_untraced_p99")" "$(ratio "$p999" "$M_untraced_p999")" "$(ms "$lo")" "$(ms "$hi")"
}

events_note() { # KEY
	local k=$1 cpu
	[ -n "${EVENTS[$k]+x}" ] || return 0
	cpu=$(median ${TCPU[$k]:-})
	printf '  %-38s memscope saw %s events, dropped %s%s\n' "" "${EVENTS[$k]}" "${DROPS[$k]}" \
		"$([ "$cpu" != nan ] && echo "; the tracer used $cpu CPUs during the load")"
	[ "$k" = frozen ] || [ "${DROPS[$k]}" -eq 0 ] ||
		problem "$k: memscope dropped ${DROPS[$k]} events (tracer not frozen)"
}

LIGHT_OK=$(verdict rle "$M_light_p99" "$M_untraced_p99" 1.10)
FROZEN_OK=$(verdict rle "$M_frozen_p99" "$M_full_p99" 1.10)
FROZEN_DROP_PCT=$(awk -v e="${EVENTS[frozen]:-0}" -v d="${DROPS[frozen]:-0}" 'BEGIN { if (e + d) printf "%.1f", 100 * d / (e + d); else print "nan" }')
for k in untraced light full classic frozen; do
	[ "${NRUNS[$k]:-0}" -gt 0 ] || problem "$k: no measurement"
done
[ "${DROPS[frozen]:-0}" -gt 0 ] || problem "frozen: memscope dropped nothing: the ring buffer never filled, the test proves nothing"

{
	echo
	echo "C. Event-loop server under load (issue 4): wrk -t$WRK_T -c$WRK_C -d${DUR}s, keep-alive GET on 127.0.0.1;"
	echo "   median over $ROUNDS rounds (order rotated); latency in ms; ratios against untraced [range of p99]"
	echo "   server: .output/bench/mt_server --threads $THREADS (bench/mt_server.c: an epoll loop per thread on a"
	echo "   SO_REUSEPORT socket, a task per connection, TRACK_VAR per request buffer); the memscope.h build for"
	echo "   every row but 'classic', which is the same source built with -DCLASSIC (bench/classic_tracker.h)"
	printf '  %-38s %7s %6s %6s %7s  | %6s %6s %6s %6s\n' "configuration" "req/s" "p50" "p99" "p99.9" \
		"req/s" "p50" "p99" "p99.9"
	row untraced "untraced (no tracer)"
	row light "memscope-trace -m light"
	events_note light
	row full "memscope-trace -m full"
	events_note full
	row frozen "-m full, tracer frozen (SIGSTOP)"
	events_note frozen
	printf '  %-38s %s%% of the events the probes produced were dropped; p99 %s of unfrozen full\n' "" \
		"$FROZEN_DROP_PCT" "$(ratio "$M_frozen_p99" "$M_full_p99")"
	row classic "classic tracker (-DCLASSIC), $THREADS threads"
	echo "   memscope build: $SRV_LINE"
	echo "   classic build:  $SRV_C_LINE"
} 

SUMMARY=$(
	printf '  %-38s %10s  %-12s %-8s %s\n' "server p99 light / untraced" "$(ratio "$M_light_p99" "$M_untraced_p99")" \
		"<= 1.10x" "$LIGHT_OK" "$(ms "$M_light_p99") / $(ms "$M_untraced_p99") ms"
	printf '  %-38s %10s  %-12s %-8s %s\n' "server p99 full / untraced" "$(ratio "$M_full_p99" "$M_untraced_p99")" \
		"-" "-" "$(ms "$M_full_p99") / $(ms "$M_untraced_p99") ms"
	printf '  %-38s %10s  %-12s %-8s %s\n' "server p99 frozen / full (unfrozen)" "$(ratio "$M_frozen_p99" "$M_full_p99")" \
		"<= 1.10x" "$FROZEN_OK" "$(ms "$M_frozen_p99") / $(ms "$M_full_p99") ms; dropped ${DROPS[frozen]:-0} events (${FROZEN_DROP_PCT}%)"
	printf '  %-38s %10s  %-12s %-8s %s\n' "server p99 classic / untraced" "$(ratio "$M_classic_p99" "$M_untraced_p99")" \
		"-" "-" "$(ms "$M_classic_p99") / $(ms "$M_untraced_p99") ms"
	printf '  %-38s %10s  %-12s %-8s %s\n' "server req/s light / untraced" "$(ratio "$M_light_rps" "$M_untraced_rps")" \
		"-" "-" "$(kreq "$M_light_rps") / $(kreq "$M_untraced_rps")"
	printf '  %-38s %10s  %-12s %-8s %s\n' "server req/s full / untraced" "$(ratio "$M_full_rps" "$M_untraced_rps")" \
		"-" "-" "$(kreq "$M_full_rps") / $(kreq "$M_untraced_rps")"
	printf '  %-38s %10s  %-12s %-8s %s\n' "server req/s classic / untraced" "$(ratio "$M_classic_rps" "$M_untraced_rps")" \
		"-" "-" "$(kreq "$M_classic_rps") / $(kreq "$M_untraced_rps")"
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
	printf '  %-38s %10s  %-12s %-8s %s\n' "figure" "value" "target" "status" "as"
	printf '%s\n' "$SUMMARY"
	echo
	if [ ${#PROBLEMS[@]} -gt 0 ]; then
		echo "Problems:"
		printf '  %s\n' "${PROBLEMS[@]}"
	fi
	printf 'server bench took %s s, load now %s; details in %s\n' "$ELAPSED" "$(cut -d' ' -f1-3 /proc/loadavg)" "$LOG"
fi
[ ${#PROBLEMS[@]} -eq 0 ]
