#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# make demo: trace a bundled example from its first instruction and print
# the report (text summary), then where the JSON went.
set -e
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "== memscope-trace -- .output/tests/macros_mt (threads, scopes, variables, one leak)"
$SUDO .output/memscope-trace -o /tmp/memscope-demo.json -- .output/tests/macros_mt
$SUDO .output/memscope-trace -- .output/tests/macros_mt
echo "== JSON report: /tmp/memscope-demo.json"
