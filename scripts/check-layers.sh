#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# check-layers.sh - each folder of user/ may include only what its stage may
# depend on. The core (util, registry, report) is what the unit tests and the
# fuzzer link without root: it must never reach libbpf, libdw/libelf or
# capstone, or the tracer's other stages. Prints one line per violation and
# exits 1 if there is any.
#
#   folder     may include project headers from     may use
#   util       util                                 libc
#   registry   util registry                        libc
#   report     util registry report                 libc
#   proc       util proc elf/segments.h             libelf
#   elf        util proc elf report/frame.h         libelf, libdw, capstone
#   probe      util registry elf proc probe         libbpf
#   trace, cli everything
set -u
cd "$(dirname "$0")/.." || exit 1

allowed() {
	case $1 in
	util) echo "util" ;;
	registry) echo "util registry" ;;
	report) echo "util registry report" ;;
	proc) echo "util proc elf/segments.h" ;;
	elf) echo "util proc elf report/frame.h" ;;
	probe) echo "util registry elf proc probe" ;;
	*) echo "*" ;;
	esac
}

# System headers of the libraries the core must not see.
FORBIDDEN_SYS='<bpf/|<libbpf|<elfutils/|<libelf\.h>|<gelf\.h>|<dwarf\.h>|<capstone/'

bad=0
for dir in user/*/; do
	layer=$(basename "$dir")
	ok=$(allowed "$layer")
	for f in "$dir"*.c "$dir"*.h; do
		[ -e "$f" ] || continue
		case $layer in
		util | registry | report)
			if grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*($FORBIDDEN_SYS)" "$f"; then
				echo "check-layers: $f: $layer/ may not include libbpf, libelf/libdw or capstone"
				bad=1
			fi
			;;
		proc | elf)
			if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<(bpf/|libbpf)' "$f"; then
				echo "check-layers: $f: $layer/ may not include libbpf"
				bad=1
			fi
			;;
		esac
		[ "$ok" = "*" ] && continue
		# project includes: "folder/file.h" (memscope_events.h comes
		# from include/, memscope.skel.h and html_page.h from the build)
		for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
			case $inc in
			*/*) ;;
			memscope_events.h) continue ;;
			memscope.skel.h) [ "$layer" = probe ] && continue ;;
			html_page.h) [ "$layer" = report ] && continue ;;
			*)
				echo "check-layers: $f: include \"$inc\" without its folder"
				bad=1
				continue
				;;
			esac
			pass=0
			for a in $ok; do
				case $inc in
				"$a" | "$a"/*) pass=1 ;;
				esac
			done
			if [ $pass = 0 ]; then
				echo "check-layers: $f: $layer/ may not include \"$inc\""
				bad=1
			fi
		done
	done
done
exit $bad
