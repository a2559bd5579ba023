#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# build.sh - `make deb`: a hardened build of its own, staged with
# `make install`, packed with dpkg-deb. Debian's own tools do each step
# (dpkg-buildflags, dpkg-shlibdeps, dpkg-deb); no debhelper is needed.
# Environment (from the Makefile): VERSION, DEB_ARCH, OUTPUT, MAKE.
set -eu
: "${VERSION:?}" "${DEB_ARCH:?}" "${OUTPUT:?}" "${MAKE:=make}"
B=$OUTPUT/deb
BUILD=$B/build
ROOT=$B/root
DEB=$OUTPUT/memscope_${VERSION}-1_${DEB_ARCH}.deb
rm -rf "$ROOT" "$B/shlibs"
mkdir -p "$BUILD" "$ROOT/DEBIAN"

# Debian's hardening flags; CC carries them so that every compile and link
# line of the Makefile (the sampling library's too) gets them.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
HARDEN="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get LDFLAGS)"
$MAKE -s OUTPUT="$BUILD" CC="cc $HARDEN" "$BUILD/memscope-trace" "$BUILD/libmemscope_sample.so"
$MAKE -s OUTPUT="$BUILD" CC="cc $HARDEN" PREFIX=/usr DESTDIR="$ROOT" install

# what Debian's packaging helpers would do to the staged tree
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
	"$ROOT/usr/sbin/memscope-trace" "$ROOT/usr/lib/memscope/libmemscope_sample.so"
gzip -9n "$ROOT/usr/share/man/man8/memscope-trace.8"
install -d "$ROOT/usr/share/doc/memscope" "$ROOT/usr/share/lintian/overrides"
install -m 0644 dist/deb/lintian-overrides "$ROOT/usr/share/lintian/overrides/memscope"
install -m 0644 dist/deb/copyright "$ROOT/usr/share/doc/memscope/copyright"
gzip -9nc dist/deb/changelog > "$ROOT/usr/share/doc/memscope/changelog.Debian.gz"
chmod 0644 "$ROOT/usr/share/doc/memscope/changelog.Debian.gz"

# Depends from the libraries the binaries link (dpkg-shlibdeps reads a
# debian/control, which it finds in a scratch directory)
mkdir -p "$B/shlibs/debian"
printf 'Source: memscope\n\nPackage: memscope\nArchitecture: any\n' > "$B/shlibs/debian/control"
ROOT_ABS=$(cd "$ROOT" && pwd)
DEPENDS=$(cd "$B/shlibs" && dpkg-shlibdeps -O "$ROOT_ABS/usr/sbin/memscope-trace" \
	"$ROOT_ABS/usr/lib/memscope/libmemscope_sample.so" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
sed -e "s|@VERSION@|$VERSION-1|" -e "s|@ARCH@|$DEB_ARCH|" -e "s|@SIZE@|$SIZE|" \
	-e "s|@DEPENDS@|$DEPENDS|" dist/deb/control.in > "$ROOT/DEBIAN/control"
(cd "$ROOT" && find usr -type f -exec md5sum {} + | sort -k2) > "$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/control" "$ROOT/DEBIAN/md5sums"
find "$ROOT" -type d -exec chmod 0755 {} +
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$DEB" >/dev/null
echo "$DEB"
