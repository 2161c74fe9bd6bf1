#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The test command: installs what is missing, builds, and runs every test except benchmarks.
# GPU tests skip (exit 77) where there is no GPU. Works from any directory.
#   scripts/run-tests.sh [ctest arguments...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LOGITSCOPE_BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh"
# One CUDA architecture is enough to prove the CUDA code compiles; the default covers every card.
export CMAKE_CUDA_ARCHITECTURES=${CMAKE_CUDA_ARCHITECTURES:-90}
"$root/scripts/build.sh"
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
cd "$build"
ctest --output-on-failure -LE bench -j "${LOGITSCOPE_JOBS:-$(nproc)}" "$@"
