#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the libFuzzer targets with clang into build-fuzz/ and runs each for N seconds on a copy of
# its committed seed corpus. Fails when any target reports a crash, leak, timeout, out-of-memory or
# sanitizer finding (the reproducer is left in build-fuzz/findings/<target>/).
#   scripts/run-fuzz.sh [--seconds N] [--jobs J] [--only TARGET] [--build-only | --no-build]
# Environment: CC/CXX (default clang-14/clang++-14), LOGITSCOPE_FUZZ_BUILD_DIR (default build-fuzz).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LOGITSCOPE_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=60
jobs=2
only=""
build_only=0
no_build=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --build-only) build_only=1; shift ;;
    --no-build) no_build=1; shift ;;
    -h|--help) sed -n '3,8p' "$0"; exit 0 ;;
    *) echo "run-fuzz: unknown argument $1" >&2; exit 2 ;;
  esac
done
export CC=${CC:-clang-14} CXX=${CXX:-clang++-14}

generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
if [[ $no_build == 0 ]]; then
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DLOGITSCOPE_GUI=OFF -DLOGITSCOPE_CUDA=OFF -DBUILD_TESTING=OFF -DLOGITSCOPE_FUZZ=ON >/dev/null
cmake --build "$build" -j "$jobs" --target "${only:-logitscope_fuzzers}"
fi
[[ $build_only == 1 ]] && exit 0

# max_len: the seeds (whole tokenizer.json files and chat templates) are larger than libFuzzer's
# default 4096.
declare -A max_len=([fuzz_safetensors_header]=16384 [fuzz_tokenizer_json]=16384 [fuzz_chat_template]=16384
                    [fuzz_server_request]=8192 [fuzz_config]=8192 [fuzz_tokenizer_encode]=4096 [fuzz_tegrastats]=4096
                    [fuzz_interventions]=1024)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
summary=()
for exe in "$build"/tests/fuzz/fuzz_*; do
  [[ -x $exe && -f $exe ]] || continue
  name=$(basename "$exe")
  [[ -n $only && $name != "$only" ]] && continue
  seeds="$root/tests/fuzz/corpus/$name"
  work="$build/corpus/$name"      # grows while fuzzing; never written back to the repository
  findings="$build/findings/$name"
  mkdir -p "$work" "$findings"
  dict=()
  [[ -f $root/tests/fuzz/dict/$name.dict ]] && dict=(-dict="$root/tests/fuzz/dict/$name.dict")
  log="$build/findings/$name.log"
  echo "run-fuzz: $name for ${seconds}s"
  rc=0
  "$exe" "$work" "$seeds" "${dict[@]}" -max_total_time="$seconds" -max_len="${max_len[$name]:-4096}" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  line="$name: rc=$rc execs=${execs:-?} cov=${cov:-?} ft=${ft:-?} corpus=$(ls "$work" | wc -l)"
  summary+=("$line")
  if [[ $rc != 0 ]]; then
    status=1
    echo "run-fuzz: FINDING in $name (log: $log)" >&2
    grep -E "ERROR|runtime error|SUMMARY|Test unit written|#[0-9]+ 0x" "$log" | head -30 >&2 || true
  fi
done
printf '%s\n' "${summary[@]}"
exit $status
