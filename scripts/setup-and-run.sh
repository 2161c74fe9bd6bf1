#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# First command of the README: installs what a fresh Debian 12 machine lacks, builds, and starts the
# workbench (on the model given with --model, else the bundled model). Extra arguments go to the app.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LOGITSCOPE_BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
default_model="$root/resources/demo-model"
[[ -d "$default_model" ]] || default_model="$root/tests/fixtures/models/tiny-every-kind"
has_model=0
for a in "$@"; do [[ "$a" == --model || "$a" == --model=* ]] && has_model=1; done
model_args=()
[[ $has_model -eq 1 ]] || model_args=(--model "$default_model")
if [[ -x "$build/app/gui/logitscope" ]]; then
  exec "$build/app/gui/logitscope" "${model_args[@]}" "$@"
fi
echo "setup-and-run: no GUI was built; showing the CLI on $default_model instead" >&2
exec "$build/app/cli/logitscope-cli" generate "${model_args[@]}" --ids 1,2,3 --max-new 8 --jsonl "$@"
