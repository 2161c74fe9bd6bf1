#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The workbench window on a GPU: tst_window_on_gpu streams a 1,000-token reply at the real
# Nemotron-3-Nano-30B-A3B shape (synthetic weights) with the top-k chart, the routing heatmap and
# NVML telemetry updating, offscreen; `logitscope-cli bench` then measures the engine alone on the
# same card, so the two tokens/s sit side by side. Prints the card, the window's RESULT line and
# bench's decode line; logs into $OUT (default ./out).
#   tools/gpu_window.sh [TST_WINDOW_ON_GPU] [CLI]
# Defaults: .deps/bin/tst_window_on_gpu and .deps/bin/logitscope-cli, with the Qt libraries (and
# the offscreen platform plugin under .deps/lib/qt6/plugins) in .deps/lib when Qt is not installed:
# tools/bench/make_device_bundle.sh packs them into .deps/bundle.tar.xz, unpacked here.
set -uo pipefail
TEST=${1:-.deps/bin/tst_window_on_gpu}
CLI=${2:-.deps/bin/logitscope-cli}
OUT_DIR=${OUT:-out}
mkdir -p "$OUT_DIR"
CONFIG=tools/bench/configs/nemotron-3-nano-30b-a3b.json
here=$(pwd)
if [[ -f .deps/bundle.tar.xz && ! -d .deps/lib ]]; then
  tar -C .deps -xJf .deps/bundle.tar.xz  # tools/bench/make_device_bundle.sh
fi
if [[ -d .deps/lib ]]; then
  export LD_LIBRARY_PATH=$here/.deps/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  [[ -d .deps/lib/qt6/plugins ]] && export QT_PLUGIN_PATH=$here/.deps/lib/qt6/plugins
  [[ -f .deps/fonts/fonts.conf ]] && export FONTCONFIG_FILE=$here/.deps/fonts/fonts.conf
fi
export QT_QPA_PLATFORM=offscreen LOGITSCOPE_NO_CLOSE_PROMPT=1 XDG_CONFIG_HOME=$OUT_DIR/config
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1 | tee "$OUT_DIR/gpu.txt"
echo "=== the window, ${LOGITSCOPE_GPU_WINDOW_TOKENS:-1000} tokens"
LOGITSCOPE_GPU_WINDOW_SHOT=$OUT_DIR/window.png "$TEST" -maxwarnings 0 2>&1 | tee "$OUT_DIR/window.log" | grep -E "RESULT|loaded|status line|PASS|FAIL|SKIP"
status=${PIPESTATUS[0]}
echo "=== bench, same card and shape"
"$CLI" bench --synthetic "$CONFIG" --context 1024 --decode-tokens 64 --prefill 128 --inspect 2>&1 | tee "$OUT_DIR/bench.log" \
  | grep -E "device|decode |floor|first"
exit "$status"
