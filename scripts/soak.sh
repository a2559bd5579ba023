#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# soak.sh - not CI: the event-loop example under steady load for DURATION
# seconds (default 3600) in full mode. Samples the tracer's RSS every 10 s,
# prints the RSS slope after warm-up, and compares the target's RSS and
# throughput with an untraced run (SOAK_UNTRACED seconds, default the
# smaller of DURATION and 600: throughput is compared as requests/second).
#   sudo scripts/soak.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-3600}
UDUR=${SOAK_UNTRACED:-$((DUR < 600 ? DUR : 600))}
OUT=.output/soak
mkdir -p "$OUT"
SERVER=.output/examples/epoll_server
CLIENT=.output/examples/http_client

run_load() { # PORT SECONDS -> requests served (connections churn: 50 x 20 each round)
	local port=$1 end=$((SECONDS + $2)) n=0
	while [ $SECONDS -lt $end ]; do
		"$CLIENT" "$port" 50 20 >/dev/null && n=$((n + 1000))
	done
	echo "$n"
}

port_of() { # FILE -> port from "listening on PORT"
	for _ in $(seq 100); do
		grep -q "listening on" "$1" 2>/dev/null && { sed -n 's/.*listening on \([0-9]*\).*/\1/p' "$1" | head -1; return; }
		sleep 0.1
	done
	echo "server did not start" >&2; exit 1
}

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

echo "== untraced, $UDUR s"
"$SERVER" --duration $((UDUR + 5)) > "$OUT/untraced.out" &
SPID=$!
PORT=$(port_of "$OUT/untraced.out")
REQ_U=$(run_load "$PORT" "$UDUR")
RSS_TU=$(rss_kb $SPID)
kill $SPID; wait $SPID || true

echo "== traced (-m full --keep 10000), $DUR s"
.output/memscope-trace -m full --keep 10000 -o "$OUT/report.json" -- "$SERVER" --duration $((DUR + 5)) > "$OUT/traced.out" &
TPID=$!
PORT=$(port_of "$OUT/traced.out")
SPID=$(pgrep -P $TPID -n)
: > "$OUT/rss.tsv"
( while kill -0 $TPID 2>/dev/null; do echo -e "$SECONDS\t$(rss_kb $TPID)\t$(rss_kb $SPID)" >> "$OUT/rss.tsv"; sleep 10; done ) &
SAMPLER=$!
REQ_T=$(run_load "$PORT" "$DUR")
RSS_TT=$(rss_kb $SPID)
kill $SPID; wait $TPID || true; kill $SAMPLER 2>/dev/null || true

# slope of the tracer's RSS over the second half (KiB per minute)
SLOPE=$(awk -v half=$((DUR / 2)) 'NR > 1 && $1 >= half { n++; sx += $1; sy += $2; sxx += $1*$1; sxy += $1*$2 }
	END { if (n > 1) printf "%.1f", 60 * (n*sxy - sx*sy) / (n*sxx - sx*sx); else print "n/a" }' "$OUT/rss.tsv")
echo
echo "tracer RSS samples: $OUT/rss.tsv ($(wc -l < "$OUT/rss.tsv") samples)"
echo "tracer RSS after warm-up: slope $SLOPE KiB/min (flat is ~0)"
echo "target RSS: untraced $RSS_TU KiB, traced $RSS_TT KiB"
awk -v u=$REQ_U -v ud=$UDUR -v t=$REQ_T -v td=$DUR 'BEGIN {
	printf "throughput: untraced %.0f req/s (%d s), traced %.0f req/s (%d s): %.2fx\n",
		u / ud, ud, t / td, td, (u && t) ? (t / td) / (u / ud) : 0 }'
