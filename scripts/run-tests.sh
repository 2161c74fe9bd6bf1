#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The test command: installs what is missing, builds, and runs every test except benchmarks and the
# slow packaging test (run those with `ctest -L bench` / `ctest -L packaging`).
# GPU tests skip (exit 77) where there is no GPU. Works from any directory.
#   scripts/run-tests.sh [ctest arguments...]
# Environment: LOGITSCOPE_BUILD_DIR, LOGITSCOPE_JOBS, LOGITSCOPE_SKIP_INSTALL=1.
set -euo pipefail
me=run-tests
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LOGITSCOPE_BUILD_DIR:-$root/build}
if [[ "${LOGITSCOPE_SKIP_INSTALL:-0}" != 1 ]]; then
  "$root/scripts/install-deps.sh" || { echo "$me: stopped: the packages above are missing" >&2; exit 1; }
fi
# One CUDA architecture is enough to prove the CUDA code compiles; the default covers every card.
export CMAKE_CUDA_ARCHITECTURES=${CMAKE_CUDA_ARCHITECTURES:-90}
LOGITSCOPE_BUILD_DIR="$build" "$root/scripts/build.sh" || { echo "$me: stopped: the build failed (log: $build/build.log)" >&2; exit 1; }
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
cd "$build"
ctest --output-on-failure -LE 'bench|packaging' -j "${LOGITSCOPE_JOBS:-$(nproc)}" "$@" || {
  echo "$me: some tests failed (above; logs in $build/Testing/Temporary/LastTest.log)" >&2
  exit 1
}
