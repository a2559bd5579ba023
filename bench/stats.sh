# SPDX-License-Identifier: BSD-3-Clause
# bench/stats.sh - helpers shared by bench/run.sh, server_bench.sh and
# sampled_bench.sh (sourced, not run): medians and ranges of repeated
# figures, their formatting, the list of problems a run reports, and the
# build of the floor helper (bench/floor.c).
# A missing figure is "nan" (or empty) and prints as n/a.

median() { # numbers as arguments
	printf '%s\n' "$@" | grep . | sort -g | awk '{a[NR] = $1}
		END { if (!NR) print "nan"; else if (NR % 2) print a[(NR + 1) / 2];
		      else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
minmax() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s %s", lo, hi}'; }
fmt_ns() { awk -v v="$1" 'BEGIN { if (v == "nan" || v == "") print "n/a"; else if (v < 10) printf "%.2f", v;
	else if (v < 100) printf "%.1f", v; else printf "%.0f", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || a == "" || b == "" || b == 0) print "n/a";
	else printf "%.2fx", a / b }'; }
num() { awk -v v="$1" 'BEGIN { if (v == "nan" || v == "") print "n/a"; else printf "%.0f", v }'; }
us() { awk -v v="$1" 'BEGIN { if (v == "nan" || v == "") print "n/a"; else printf "%.1f", v }'; }
# le A B: A <= B (floats)
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "nan" && b != "nan" && a + 0 <= b + 0) }'; }
# rle A B LIMIT: A / B <= LIMIT
rle() { awk -v a="$1" -v b="$2" -v l="$3" 'BEGIN { exit !(a != "nan" && b != "nan" && a != "" && b != "" && b > 0 && a / b <= l) }'; }

# verdict CMD...: ok, MISSED, or n/a when a figure is missing
verdict() { if "$@"; then echo ok; elif [[ "$*" == *nan* ]]; then echo n/a; else echo MISSED; fi; }

cpu_ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat 2>/dev/null || echo 0; }

# tracer_wait_exit [cont]: SIGINT to $TR_PID (after SIGCONT with "cont"),
# wait up to 60 s, then SIGKILL, with the kernel stack it was stuck in going
# to $LOG. Sets TR_RC, TR_KILLED (1 or empty) and TR_STOP_MS, and logs them.
tracer_wait_exit() {
	local t0 waited=0
	t0=$(date +%s%N)
	TR_KILLED=
	[ "${1:-}" = cont ] && kill -CONT "$TR_PID" 2>/dev/null
	kill -INT "$TR_PID" 2>/dev/null
	while kill -0 "$TR_PID" 2>/dev/null; do
		sleep 0.05
		waited=$((waited + 1))
		if [ $waited -eq 1200 ]; then
			{
				echo "  $TR_NAME still running 60 s after SIGINT: $(ps -o stat=,wchan= -p "$TR_PID")"
				sed 's/^/    /' /proc/"$TR_PID"/stack 2>/dev/null
			} >>"$LOG"
			kill -KILL "$TR_PID" 2>/dev/null
			TR_KILLED=1
		fi
	done
	wait "$TR_PID" 2>/dev/null
	TR_RC=$?
	TR_STOP_MS=$((($(date +%s%N) - t0) / 1000000))
	echo "  stop $TR_NAME: rc $TR_RC after $TR_STOP_MS ms" >>"$LOG"
}

# problem TEXT [tracer]: remember it for the summary (once) and say it on
# stderr prefixed with $BENCH_NAME; with "tracer", or PROBLEM_STDERR=always,
# also show the end of the current tracer's stderr ($OUT/$TR_NAME.err)
PROBLEMS=()
problem() {
	local p
	for p in "${PROBLEMS[@]}"; do
		[ "$p" = "$1" ] && return 0
	done
	PROBLEMS+=("$1")
	echo "$BENCH_NAME: $1" >&2
	if { [ -n "${2:-}" ] || [ "${PROBLEM_STDERR:-}" = always ]; } && [ -s "$OUT/${TR_NAME:-}.err" ]; then
		grep -v -e '^libbpf:' -e 'RLIMIT_MEMLOCK' "$OUT/$TR_NAME.err" | tail -5 | sed 's/^/    /' >&2
	fi
}

# build_floor: $OUT/floor (bench/floor.c), the empty-program attacher the
# floor rows use
build_floor() {
	local b
	for b in floor floor_alloc; do
		clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -Ivmlinux/x86 \
			-I/usr/include/x86_64-linux-gnu -Wall -Werror \
			-c bench/$b.bpf.c -o $OUT/$b.bpf.o || return 1
		bpftool gen skeleton $OUT/$b.bpf.o >$OUT/$b.skel.h || return 1
	done
	cc -g -O2 -Wall -Wextra -Werror -std=gnu11 -I$OUT bench/floor.c \
		-lbpf -lelf -lz -o $OUT/floor
}

peek() { # PID ADDR COUNT: COUNT bytes at ADDR in PID, as unsigned decimals
	dd if=/proc/"$1"/mem bs=1 count="$3" skip=$(($2)) iflag=skip_bytes status=none 2>/dev/null |
		od -An -tu1 -v | tr -s ' \n' ' '
}
