#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs the official OpenAI Node client, which the serve tests use to drive `logitscope-cli serve`
# (a client we did not write), into DIR (idempotent).
#
# usage: install-openai.sh DIR
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
# 6.x is the newest line that runs on Node 20 (7.x needs Node 22).
package=openai@6.30.1
stamp="$dir/.installed-$package"
if [[ -f $stamp && -f "$dir/node_modules/openai/package.json" ]]; then
  echo "$package already installed in $dir"
  exit 0
fi
for tool in npm node; do
  if ! command -v "$tool" > /dev/null; then
    echo "install-openai.sh: error: '$tool' is not installed; the serve tests need Node.js (18+) and npm" >&2
    exit 1
  fi
done
mkdir -p "$dir"
echo "installing $package into $dir"
if ! npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund --legacy-peer-deps --loglevel=error "$package"; then
  echo "install-openai.sh: error: npm could not install $package into $dir." >&2
  echo "  Is the npm registry reachable (proxy, offline machine)? The serve tests need it once;" >&2
  echo "  afterwards the package stays in $dir." >&2
  exit 1
fi
rm -f "$dir"/.installed-*
touch "$stamp"
echo "$package installed in $dir"
