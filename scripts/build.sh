#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Configures and builds Logitscope into build/ (or $LOGITSCOPE_BUILD_DIR). Extra arguments go to CMake.
# CUDA is built when nvcc is found; set CMAKE_CUDA_ARCHITECTURES (e.g. 90) to build for one card only.
# Output goes to the terminal and to BUILD/build.log; a failure names that log.
# Environment: LOGITSCOPE_BUILD_DIR, LOGITSCOPE_JOBS (default: all cores), LOGITSCOPE_TARGETS
# (space-separated targets to build instead of everything).
set -euo pipefail
me=build
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LOGITSCOPE_BUILD_DIR:-$root/build}
log="$build/build.log"
for tool in cmake ninja g++; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$me: $tool is missing; run $root/scripts/install-deps.sh first" >&2; exit 1; }
done
args=(-S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo)
if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
if [[ -n "${CMAKE_CUDA_ARCHITECTURES:-}" ]]; then
  args+=(-DCMAKE_CUDA_ARCHITECTURES="$CMAKE_CUDA_ARCHITECTURES")
fi
mkdir -p "$build"
: >"$log"
fail() {
  echo >&2
  echo "$me: $1 failed. The whole output is in $log; the first errors:" >&2
  grep -n -m 15 -E 'FAILED:|error|Error|undefined reference|not found|No such file' "$log" >&2 || tail -n 30 "$log" >&2
  exit 1
}
echo "$me: configuring $build (log: $log)"
cmake "${args[@]}" "$@" 2>&1 | tee -a "$log" || fail "configuring (cmake)"
build_args=(--build "$build" -j "${LOGITSCOPE_JOBS:-$(nproc)}")
if [[ -n "${LOGITSCOPE_TARGETS:-}" ]]; then
  # shellcheck disable=SC2206
  build_args+=(--target ${LOGITSCOPE_TARGETS})
fi
echo "$me: building (log: $log)"
cmake "${build_args[@]}" 2>&1 | tee -a "$log" || fail "building"
echo "$me: done: $build"
