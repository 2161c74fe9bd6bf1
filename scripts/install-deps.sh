#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs the Debian 12 packages Logitscope needs to build, run and test. Idempotent; works from any
# directory; installs nothing when everything is there (so it needs no root then).
#   scripts/install-deps.sh            everything (build, GUI, tests, packaging checks)
#   scripts/install-deps.sh --cli      only what the engine and logitscope-cli need
#   scripts/install-deps.sh --list     print the package list and exit
# Exit status: 0 installed or already present; 1 with a message saying what is missing and why.
set -euo pipefail
me=install-deps

# Engine + CLI. libcpp-httplib-dev gives `logitscope-cli serve` (the CLI builds without it).
packages=(cmake ninja-build g++ pkg-config nlohmann-json3-dev libpcre2-dev libutf8proc-dev
          libcpp-httplib-dev)
mode=${1:-}
case "$mode" in
  ""|--list) ;;
  --cli) ;;
  -h|--help) sed -n '3,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "$me: unknown option $mode (use --cli, --list or nothing)" >&2; exit 1 ;;
esac
if [[ "$mode" != --cli ]]; then
  # Workbench window (Qt 6.4, QCustomPlot; libgl-dev because Qt6Gui's CMake package wants OpenGL).
  packages+=(qt6-base-dev qt6-base-dev-tools qt6-qpa-plugins libqcustomplot-dev libgl-dev)
  # Tests: screenshots under Xvfb, the VNC frame test, reference scripts, the serve client test,
  # the trace reader's round trip (tools/read_trace.py loads traces with numpy alone).
  packages+=(xvfb xauth imagemagick vncsnapshot python3 python3-jinja2 python3-yaml python3-numpy nodejs npm)
  # Fuzz targets (libFuzzer is in clang's runtime package); the sanitizer build uses g++'s libasan.
  packages+=(clang-14 libclang-rt-14-dev)
  # Packaging checks (ctest -L packaging): .deb dependencies, metainfo, desktop file, clean install.
  packages+=(dpkg-dev file appstream desktop-file-utils debootstrap)
fi
if [[ "$mode" == --list ]]; then printf '%s\n' "${packages[@]}"; exit 0; fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "$me: this script installs Debian 12 packages with apt-get, which is not here." >&2
  echo "$me: install the equivalents of: ${packages[*]}" >&2
  exit 1
fi
if [[ -r /etc/os-release ]]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  if [[ "${ID:-}" != debian || "${VERSION_ID:-}" != 12 ]]; then
    echo "$me: warning: made for Debian 12, this is ${PRETTY_NAME:-unknown}; package names may differ" >&2
  fi
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm may come with a Node.js that is not Debian's; accept any working npm.
if command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "$me: all ${#packages[@]} packages present"
  exit 0
fi
echo "$me: missing ${missing[*]}"

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "$me: these packages are missing and you are neither root nor have sudo." >&2
    echo "$me: ask an administrator to run:" >&2
    echo "    apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  if ! sudo -n true 2>/dev/null && [[ ! -t 0 ]]; then
    echo "$me: sudo needs a password and there is no terminal to ask for it; run this script in a" >&2
    echo "$me: terminal, or have an administrator run: apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# --error-on=any: a mirror that cannot be reached is an error, not a warning (apt 2.1+).
if ! "${sudo_cmd[@]}" apt-get update -qq --error-on=any; then
  echo "$me: 'apt-get update' failed: the Debian archive cannot be reached (network, proxy or" >&2
  echo "$me: /etc/apt/sources.list?). Nothing was installed; still missing: ${missing[*]}" >&2
  exit 1
fi
if ! "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  echo "$me: 'apt-get install' failed (see the apt messages above: network, disk space or a broken" >&2
  echo "$me: package state?); still missing: ${missing[*]}" >&2
  exit 1
fi
echo "$me: installed ${missing[*]}"
