#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# First command of the README: installs what a fresh Debian 12 machine lacks, builds, and starts the
# workbench (on the model given with --model, else the bundled toy demo model). Extra arguments go
# to the app, Qt's included: `-platform vnc:port=5900` serves the window over VNC (docs/remote.md).
# Works from any directory. Environment: LOGITSCOPE_BUILD_DIR (default build/ in the checkout),
# LOGITSCOPE_JOBS (build jobs), LOGITSCOPE_SKIP_INSTALL=1 (do not call install-deps.sh).
set -euo pipefail
me=setup-and-run
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LOGITSCOPE_BUILD_DIR:-$root/build}

if [[ "${LOGITSCOPE_SKIP_INSTALL:-0}" != 1 ]]; then
  "$root/scripts/install-deps.sh" || { echo "$me: stopped: the packages above are missing" >&2; exit 1; }
fi
LOGITSCOPE_BUILD_DIR="$build" "$root/scripts/build.sh" || { echo "$me: stopped: the build failed (log: $build/build.log)" >&2; exit 1; }

default_model="$root/resources/demo-model"
[[ -d "$default_model" ]] || default_model="$root/tests/fixtures/models/tiny-every-kind"
has_model=0
has_platform=0
for a in "$@"; do
  case "$a" in
    --model|--model=*|-m) has_model=1 ;;
    -platform|--platform|-platform=*|--platform=*) has_platform=1 ;;
  esac
done
model_args=()
[[ $has_model -eq 1 ]] || model_args=(--model "$default_model")

if [[ -x "$build/app/gui/logitscope" ]]; then
  if [[ $has_platform -eq 0 && -z "${QT_QPA_PLATFORM:-}" && -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
    echo "$me: built, but there is no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset)." >&2
    echo "$me: on a remote machine use 'ssh -X', or serve the window over VNC:" >&2
    echo "    $0 -platform vnc:port=5900      # then: ssh -L 5900:localhost:5900 HOST; vncviewer localhost:0" >&2
    echo "$me: see docs/remote.md" >&2
    exit 1
  fi
  echo "$me: starting $build/app/gui/logitscope ${model_args[*]} $*"
  exec "$build/app/gui/logitscope" "${model_args[@]}" "$@"
fi
echo "$me: no GUI was built (Qt 6 missing or -DLOGITSCOPE_GUI=OFF); showing the CLI on $default_model instead" >&2
exec "$build/app/cli/logitscope-cli" generate "${model_args[@]}" --ids 1,2,3 --max-new 8 --jsonl "$@"
