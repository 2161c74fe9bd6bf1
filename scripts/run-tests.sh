#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The test command: installs what is missing, builds, and runs every test except benchmarks and the
# slow packaging test (run those with `ctest -L bench` / `ctest -L packaging`), then the hardening
# stages: the unit tests again under AddressSanitizer + UBSan (scripts/run-sanitizers.sh, its own
# build directory) and every fuzz target for a few seconds (scripts/run-fuzz.sh). GPU tests skip
# (exit 77) where there is no GPU. Works from any directory.
#   scripts/run-tests.sh [ctest arguments...]   (with ctest arguments only the selected tests run)
# Environment: LOGITSCOPE_BUILD_DIR, LOGITSCOPE_JOBS, LOGITSCOPE_SKIP_INSTALL=1,
#   LOGITSCOPE_HARDENING=0 (skip the sanitizer and fuzz stages), LOGITSCOPE_FUZZ_SECONDS (default 5).
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
[[ $# -gt 0 || "${LOGITSCOPE_HARDENING:-1}" == 0 ]] && exit 0

# Hardening (docs/reliability.md). About 9 + 3 minutes on an idle 2-core machine.
echo "$me: unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
LOGITSCOPE_ASAN_BUILD_DIR="$build-asan" "$root/scripts/run-sanitizers.sh" || {
  echo "$me: the sanitizer build or one of its tests failed (above; build directory $build-asan)" >&2
  exit 1
}
echo "$me: fuzz targets, ${LOGITSCOPE_FUZZ_SECONDS:-5} s each"
CC=clang-14 CXX=clang++-14 LOGITSCOPE_FUZZ_BUILD_DIR="$build-fuzz" "$root/scripts/run-fuzz.sh" --seconds "${LOGITSCOPE_FUZZ_SECONDS:-5}" \
  --jobs "${LOGITSCOPE_JOBS:-$(nproc)}" || {
  echo "$me: a fuzz target failed or found something (reproducers in $build-fuzz/findings/)" >&2
  exit 1
}
echo "$me: all stages passed"
