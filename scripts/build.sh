#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Configures and builds Logitscope into build/ (or $LOGITSCOPE_BUILD_DIR). Extra arguments go to CMake.
# CUDA is built when nvcc is found; set CMAKE_CUDA_ARCHITECTURES (e.g. 90) to build for one card only.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LOGITSCOPE_BUILD_DIR:-$root/build}
args=(-S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo)
if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
if [[ -n "${CMAKE_CUDA_ARCHITECTURES:-}" ]]; then
  args+=(-DCMAKE_CUDA_ARCHITECTURES="$CMAKE_CUDA_ARCHITECTURES")
fi
cmake "${args[@]}" "$@"
cmake --build "$build" -j "${LOGITSCOPE_JOBS:-$(nproc)}"
