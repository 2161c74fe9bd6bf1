#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Regenerates the PNG icons from logitscope.svg (Debian: librsvg2-bin). The PNGs are committed, so
# building and packaging do not need this.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v rsvg-convert >/dev/null 2>&1 || { echo "render.sh: rsvg-convert missing (apt-get install librsvg2-bin)" >&2; exit 1; }
for size in 16 24 32 48 64 128 256 512; do
  mkdir -p "$here/hicolor/${size}x${size}"
  rsvg-convert -w "$size" -h "$size" "$here/logitscope.svg" -o "$here/hicolor/${size}x${size}/logitscope.png"
done
