#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Install the Debian packages memscope needs, only those missing.
#   scripts/deps.sh                  install what is missing (apt-get; sudo if not root)
#   scripts/deps.sh --missing-build  print, on one line, the missing packages a plain
#                                    `make` needs (nothing if none); installs nothing.
#                                    One dpkg-query: the Makefile asks at every run.
set -e
PKGS="clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libdw-dev systemtap-sdt-dev
libcapstone-dev libcap-dev make gcc g++ python3 libuv1-dev wrk bpftrace heaptrack
libjemalloc2 libtcmalloc-minimal4 gcc-multilib chromium libjson-c-dev nodejs python3-tinycss2
libprotobuf-c-dev protobuf-c-compiler golang-github-google-pprof-dev libmicrohttpd-dev
golang-go prometheus lintian bash-completion
redis-server redis-tools libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev libc6-dbg
valgrind xz-utils binutils libdebuginfod1 debuginfod python3.11 python3.11-dbg podman runc"
# what `make` (the tracer, the BPF object and skeleton, examples, test programs) needs
BUILD="make gcc g++ clang bpftool libbpf-dev libelf-dev zlib1g-dev libdw-dev systemtap-sdt-dev
libcapstone-dev libcap-dev libjson-c-dev libuv1-dev
libprotobuf-c-dev protobuf-c-compiler golang-github-google-pprof-dev libmicrohttpd-dev
libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev"

# The packages among "$@" that are not installed, space-separated. Without
# dpkg-query (not Debian) nothing is reported missing.
missing() {
	command -v dpkg-query >/dev/null 2>&1 || return 0
	ok=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null | awk '$1 == "ii" { print $2 }')
	for p in "$@"; do
		printf '%s\n' "$ok" | grep -qx -- "$p" || printf '%s ' "$p"
	done
}

if [ "${1:-}" = "--missing-build" ]; then
	# shellcheck disable=SC2086 # word splitting wanted
	out=$(missing $BUILD)
	[ -n "$out" ] && echo "${out% }"
	exit 0
fi
# shellcheck disable=SC2086
missing=$(missing $PKGS)
[ -z "$missing" ] && exit 0
echo "memscope deps: installing $missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
