#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Packs binaries built here (Debian 12) for the GPU machine, which has CUDA but no Qt and few
# development packages: the binaries stripped into .deps/bin, and every shared library they need
# that is not part of the C/C++ runtime or CUDA (Qt, QCustomPlot, ICU, PCRE2, utf8proc, ...) plus
# Qt's offscreen platform plugin and a font, all in one .deps/bundle.tar.xz (the device takes a
# 64 MiB tree; ICU alone is 30 MB unpacked). On the device: tar -C .deps -xJf .deps/bundle.tar.xz,
# then LD_LIBRARY_PATH=.deps/lib QT_PLUGIN_PATH=.deps/lib/qt6/plugins (tools/gpu_window.sh does it).
#   tools/bench/make_device_bundle.sh BINARY...
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
deps=$root/.deps
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib/qt6/plugins/platforms" "$stage/fonts"
plugin=$(find /usr/lib -path '*qt6/plugins/platforms/libqoffscreen.so' | head -1)
[[ -n $plugin ]] || { echo "make_device_bundle: Qt's offscreen plugin is not installed (qt6-qpa-plugins)" >&2; exit 1; }
cp "$plugin" "$stage/lib/qt6/plugins/platforms/"
for binary in "$@"; do
  cp "$binary" "$stage/bin/"
  strip --strip-debug "$stage/bin/$(basename "$binary")"
done
# The C/C++ runtime and CUDA come from the device itself; everything else travels.
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|libgcc_s|libstdc\+\+|libcuda|libcublas|libcudart|libnvidia)'
for file in "$stage"/bin/* "$stage/lib/qt6/plugins/platforms/libqoffscreen.so"; do
  ldd "$file" | awk '$3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
  [[ $name =~ $skip ]] && continue
  cp -L "$path" "$stage/lib/$name"
done
cp /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf "$stage/fonts/" 2>/dev/null || true
cat > "$stage/fonts/fonts.conf" <<'CONF'
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir prefix="relative">.</dir><cachedir prefix="relative">cache</cachedir></fontconfig>
CONF
mkdir -p "$deps"
tar -C "$stage" -cJf "$deps/bundle.tar.xz" bin lib fonts
ls -la "$deps/bundle.tar.xz"
