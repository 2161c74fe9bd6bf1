#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Validates the desktop integration files: AppStream metainfo (appstreamcli, offline), the .desktop
# file (desktop-file-validate, when installed) and the man pages (man --warnings).
# Exit 77 (skipped) when appstreamcli is missing: scripts/install-deps.sh installs appstream.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v appstreamcli >/dev/null 2>&1 || { echo "check-metadata: appstreamcli missing (apt-get install appstream)"; exit 77; }
appstreamcli validate --no-net --pedantic "$here/io.github.logitscope.Logitscope.metainfo.xml"
if command -v desktop-file-validate >/dev/null 2>&1; then
  desktop-file-validate "$here/io.github.logitscope.Logitscope.desktop"
  echo "desktop-file-validate: ok"
fi
if command -v man >/dev/null 2>&1; then
  for page in "$here"/*.1; do
    warnings=$(LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l "$page" 2>&1 >/dev/null || true)
    [[ -z "$warnings" ]] || { echo "$page:"; echo "$warnings"; exit 1; }
    echo "man $(basename "$page"): ok"
  done
fi
