#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# AddressSanitizer + UndefinedBehaviorSanitizer build of the unit tests (-DLOGITSCOPE_SANITIZE=ON),
# in its own build directory, then `ctest -L unit`. Kept lean for CI (2 cores): GUI and CUDA off,
# -O1 with line tables only, and only the unit-test programs plus logitscope-cli (which the CLI
# contract tests run) are built. Any sanitizer report fails the test that triggered it.
#   scripts/run-sanitizers.sh [ctest arguments...]
# Environment: LOGITSCOPE_ASAN_BUILD_DIR (default build-asan), LOGITSCOPE_JOBS (default 2).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LOGITSCOPE_ASAN_BUILD_DIR:-$root/build-asan}
jobs=${LOGITSCOPE_JOBS:-2}
start=$(date +%s)

generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
cmake -S "$root" -B "$build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Asan \
  -DCMAKE_C_FLAGS_ASAN="-O1 -g1" -DCMAKE_CXX_FLAGS_ASAN="-O1 -g1" \
  -DLOGITSCOPE_SANITIZE=ON -DLOGITSCOPE_GUI=OFF -DLOGITSCOPE_CUDA=OFF -DBUILD_TESTING=ON >/dev/null

# The unit tests' own programs (test names are target names), plus the CLI they drive.
mapfile -t tests < <(ctest --test-dir "$build" -N -L unit 2>/dev/null | sed -n 's/^ *Test *#[0-9]*: *//p')
# A lookup table rather than `printf | grep -q` per test: under pipefail, grep -q leaving early can
# kill printf with SIGPIPE, which silently dropped a test program from the build.
declare -A is_target=()
while IFS= read -r name; do is_target[$name]=1; done \
  < <(cmake --build "$build" --target help | sed -n 's/: phony$//p')
targets=(logitscope-cli)
for t in "${tests[@]}"; do
  if [[ -n ${is_target[$t]:-} ]]; then targets+=("$t"); fi
done
echo "run-sanitizers: building ${#targets[@]} targets with -j$jobs"
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
built=$(date +%s)
echo "run-sanitizers: build took $((built - start)) s"

# halt_on_error makes the first report fatal; leaks are reported at exit (LeakSanitizer).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=0:allow_user_segv_handler=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
status=0
ctest --test-dir "$build" -L unit --output-on-failure -j "$jobs" "$@" || status=$?
echo "run-sanitizers: tests took $(($(date +%s) - built)) s (total $(($(date +%s) - start)) s)"
exit $status
