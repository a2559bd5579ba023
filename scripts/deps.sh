#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Install the Debian packages memscope needs, only those missing.
set -e
PKGS="clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libdw-dev systemtap-sdt-dev
libcapstone-dev libcap-dev make gcc g++ python3 libuv1-dev wrk bpftrace heaptrack
libjemalloc2 libtcmalloc-minimal4 gcc-multilib chromium libjson-c-dev nodejs python3-tinycss2"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "memscope deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
