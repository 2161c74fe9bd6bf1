#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# One call on the GPU machine: checks every fixture against the CPU reference (with the
# repeatability pass), optionally under compute-sanitizer, then benchmarks the real
# Nemotron-3-Nano-30B-A3B shape with synthetic weights: inspect off with the per-stage profile,
# inspect on, graphs off, and an optional baseline binary in the same run. Logs go to $OUT (or ./out).
#   tools/bench/gpu_session.sh [CLI] [what: all or a comma list of check,interventions,intervention-bench,bench,formats,timeline,prefill,sanitize,hf] [BASELINE_CLI]
# check: every fixture (the quantized ones too) with its golden prompt and with a 100-token prompt,
# and BF16 fixtures quantized on load; interventions: check under every kind of intervention (and
# compute-sanitizer over one); intervention-bench: decode with and without them; formats: the real shape with synthetic BF16, FP8 and NVFP4
# weights (decode, prefill, per-stage profile; the baseline's BF16 beside them); sanitize: compute-sanitizer
# memcheck, racecheck, initcheck and synccheck over prompt forwards and whole checks; prefill: prompt speeds per
# prompt-experts mode (LOGITSCOPE_PROMPT_EXPERTS: auto, cublas, cublas_grouped) and the per-stage
# prompt profile.
# timeline: per-stage decode times inside the graph (TIMELINE_CLI: a LOGITSCOPE_CUDA_TIMELINE=ON build).
# hf: Hugging Face transformers on the same shape and card (tools/bench/hf_baseline.py), side by side.
# CLI defaults to .deps/bin/logitscope-cli (a binary built on the dev machine and carried along).
# OOM_TEST=path/to/test_gpu_out_of_memory adds the GPU out-of-memory test to `check`.
set -uo pipefail
# The CUDA interventions and logit lens are refused unless this is set (cuda_tools.h): checked here.
export LOGITSCOPE_CUDA_PREVIEW=${LOGITSCOPE_CUDA_PREVIEW:-1}
CLI=${1:-.deps/bin/logitscope-cli}
WHAT=${2:-all}
BASE=${3:-}
FINAL=${OUT:-out}
OUT=$FINAL/logs   # everything is packed into $FINAL/logs.tgz at the end (the device returns few files)
mkdir -p "$OUT"
trap 'tar -C "$FINAL" -czf "$FINAL/logs.tgz" logs && rm -rf "$OUT"' EXIT
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1 | tee "$OUT/gpu.txt"
status=0
FIXTURES=${FIXTURES:-$(ls -d tests/fixtures/models/*/ tests/fixtures/quantized/tiny-*/)}
if [[ $WHAT == all || ,$WHAT, == *,check,* ]]; then
  for dir in $FIXTURES; do
    name=$(basename "$dir")
    echo "=== check $name"
    "$CLI" check --model "$dir" > "$OUT/check-$name.log" 2>&1
    rc=$?
    grep -E "^(prefill|decode|lens):|greedy|routing agreement|repeatab|FAIL|PASS|error" "$OUT/check-$name.log" | head -12
    echo "exit $rc"
    [[ $rc -ne 0 ]] && status=1
  done
  # Long prompts: two query tiles of the prompt attention and several staged chunks of the Mamba
  # scan; LOGITSCOPE_PROMPT_EXPERTS=cublas checks the host-grouped expert path (cards before 8.0).
  for dir in $FIXTURES; do
    name=$(basename "$dir")
    V=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['vocab_size'])" "$dir/config.json")
    ids=$(python3 -c "import sys; V=int(sys.argv[1]); print(','.join(str(3 + (i * 7919 + 13) % (V - 3)) for i in range(100)))" "$V")
    for mode in auto cublas; do
      echo "=== check $name (100-token prompt, prompt experts $mode)"
      LOGITSCOPE_PROMPT_EXPERTS=$mode "$CLI" check --model "$dir" --prompt-ids "$ids" --greedy 4 \
        > "$OUT/check-long-$mode-$name.log" 2>&1
      rc=$?
      grep -E "^(prefill|decode|lens):|routing agreement|FAIL|PASS|error" "$OUT/check-long-$mode-$name.log" | head -8
      echo "exit $rc"
      [[ $rc -ne 0 ]] && status=1
    done
  done
  # BF16 / F32 snapshots quantized on load: both backends quantize them the same way.
  for name in tiny-default-init tiny-latent-biases-bf16; do
    for format in fp8 nvfp4; do
      echo "=== check $name --quantize $format"
      "$CLI" check --model tests/fixtures/models/$name --quantize $format > "$OUT/check-$format-$name.log" 2>&1
      rc=$?
      grep -E "^(prefill|decode|lens):|greedy|routing agreement|FAIL|PASS|error" "$OUT/check-$format-$name.log" | head -8
      echo "exit $rc"
      [[ $rc -ne 0 ]] && status=1
    done
  done
  if [[ -n $BASE ]]; then
    for dir in tests/fixtures/models/*/; do
      name=$(basename "$dir")
      echo "=== baseline check $name"
      "$BASE" check --model "$dir" > "$OUT/base-check-$name.log" 2>&1
      grep -E "^(prefill|decode|lens):|routing agreement|PASS|FAIL" "$OUT/base-check-$name.log" | head -6
    done
  fi
fi
if [[ $WHAT == all || ,$WHAT, == *,interventions,* ]]; then
  # Interventions on both backends (tools/bench/intervention_cases.py picks them from each model's
  # layers): masks, forced sets (k and fewer), routed / shared scales, skipped layers of every kind,
  # all of them from position 5; the golden prompt and a 40-token one (prompt chunks split at P).
  # One fixture per background job (the CPU reference is single-threaded), summaries in order.
  check_interventions() {
    local dir=$1 name V ids case options prompt rc log
    name=$(basename "$dir")
    V=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['vocab_size'])" "$dir/config.json")
    ids=$(python3 -c "import sys; V=int(sys.argv[1]); print(','.join(str(3 + (i * 7919 + 13) % (V - 3)) for i in range(40)))" "$V")
    while read -r case options; do
      for prompt in golden long; do
        log=$OUT/check-iv-$name-$case-$prompt.log
        extra=()
        [[ $prompt == long ]] && extra=(--prompt-ids "$ids" --greedy 4)
        # shellcheck disable=SC2086  # the options are words
        timeout 300 "$CLI" check --model "$dir" $options "${extra[@]}" > "$log" 2>&1
        rc=$?
        { echo "=== check $name, interventions $case ($prompt prompt): $options"
          grep -E "^(prefill|decode|lens):|greedy|routing agreement|FAIL|PASS|error" "$log" | head -8
          echo "exit $rc"; } >> "$OUT/iv-summary-$name.txt"
        [[ $rc -ne 0 ]] && echo "$name $case $prompt" >> "$OUT/iv-failed.txt"
      done
    done < <(python3 tools/bench/intervention_cases.py "$dir")
  }
  for dir in $FIXTURES; do check_interventions "$dir" & done
  wait
  for dir in $FIXTURES; do cat "$OUT/iv-summary-$(basename "$dir").txt"; done
  if [[ -s $OUT/iv-failed.txt ]]; then
    echo "=== intervention checks that failed:"; cat "$OUT/iv-failed.txt"; status=1
  fi
  CS=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
  if [[ -n $CS ]]; then
    dir=tests/fixtures/models/tiny-every-kind
    options=$(python3 tools/bench/intervention_cases.py "$dir" --from 3 | sed -n 's/^all-from //p')
    short=$(python3 -c "print(','.join(str(3 + (i * 7919 + 13) % 150) for i in range(12)))")
    for tool in memcheck initcheck synccheck racecheck; do
      # racecheck of a whole check is too slow: one prompt forward (split at position 3) instead.
      what=(check --model "$dir" --prompt-ids "$short" --greedy 2)
      [[ $tool == racecheck ]] && what=(logits --model "$dir" --backend cuda --routing --ids "$short")
      echo "=== compute-sanitizer --tool $tool (${what[0]} with interventions, tiny-every-kind, 12-token prompt)"
      # shellcheck disable=SC2086
      timeout 240 "$CS" --tool $tool --print-limit 20 "$CLI" "${what[@]}" $options \
        > "$OUT/sanitize-$tool-interventions.log" 2>&1 &
    done
    wait
    for tool in memcheck initcheck synccheck racecheck; do
      echo "=== compute-sanitizer --tool $tool with interventions"
      grep -E "ERROR SUMMARY|RACECHECK SUMMARY|hazard|Invalid|Uninitialized|Barrier|^PASS|^FAIL|error" \
        "$OUT/sanitize-$tool-interventions.log" | sort | uniq -c | head -8
    done
  fi
fi
if [[ $WHAT == all || ,$WHAT, == *,intervention-bench,* ]]; then
  # What interventions cost decode at the real shape: the same binary without and with them, in
  # turn, twice (so drift on the card shows). Skipping layers does less work, so it is left out.
  CONFIG=tools/bench/configs/nemotron-3-nano-30b-a3b.json
  for round in 1 2; do
    for case in none masks forced shared; do
      case $case in
        none) options=() ;;
        masks) options=(--mask-expert '*:0' --mask-expert '*:1' --mask-expert 1:2) ;;
        forced) options=(--force-experts 1:0,1,2,3,4,5 --scale 3:routed:0.5 --mask-expert '*:7') ;;
        shared) options=(--scale 1:shared:0.5 --mask-expert '*:0') ;;
      esac
      echo "=== intervention bench round $round: $case ${options[*]}"
      "$CLI" bench --synthetic "$CONFIG" --context 1024 --decode-tokens 64 --prefill 128 "${options[@]}" 2>&1 \
        | tee "$OUT/iv-bench-$case-$round.log" | grep -E "device|interventions|decode |floor|prefill|first"
    done
  done
fi
if [[ -n ${OOM_TEST:-} && ( $WHAT == all || ,$WHAT, == *,check,* ) ]]; then
  echo "=== GPU out of memory ($OOM_TEST)"
  timeout 240 "$OOM_TEST" tests/fixtures/models/tiny-default-init > "$OUT/oom.log" 2>&1
  rc=$?
  tail -6 "$OUT/oom.log"
  echo "exit $rc"
  [[ $rc -ne 0 && $rc -ne 77 ]] && status=1
fi
if [[ $WHAT == all || ,$WHAT, == *,sanitize,* ]]; then
  CS=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
  if [[ -n $CS ]]; then
    # A 70-token prompt: the grouped expert products, the staged scan and the prompt attention.
    long=$(python3 -c "print(','.join(str(3 + (i * 7919 + 13) % 150) for i in range(70)))")
    # initcheck: reads of device memory nothing wrote (a 12-token prompt: one chunk, every layer);
    # synccheck: barriers that not every thread of a block reaches.
    short=$(python3 -c "print(','.join(str(3 + (i * 7919 + 13) % 150) for i in range(12)))")
    SANITIZE_SHORT=${SANITIZE_SHORT:-tests/fixtures/models/tiny-every-kind}
    for tool in initcheck synccheck; do
      echo "=== compute-sanitizer --tool $tool (logits --routing, $SANITIZE_SHORT, 12-token prompt)"
      timeout 200 "$CS" --tool $tool --print-limit 20 "$CLI" logits --model "$SANITIZE_SHORT" \
        --backend cuda --routing --ids "$short" > "$OUT/sanitize-$tool-logits.log" 2>&1
      echo "exit $?"
      grep -E "ERROR SUMMARY|Uninitialized|Barrier|Invalid" "$OUT/sanitize-$tool-logits.log" | sort | uniq -c | head -8
      echo "=== compute-sanitizer --tool $tool (check, $SANITIZE_SHORT, 12-token prompt)"
      timeout 240 "$CS" --tool $tool --print-limit 20 "$CLI" check --model "$SANITIZE_SHORT" \
        --prompt-ids "$short" --greedy 2 > "$OUT/sanitize-$tool-check.log" 2>&1
      echo "exit $?"
      grep -E "ERROR SUMMARY|Uninitialized|Barrier|Invalid" "$OUT/sanitize-$tool-check.log" | sort | uniq -c | head -8
    done
    for tool in racecheck memcheck; do
      # One prompt forward alone (racecheck of the whole check is too slow): every prompt kernel.
      echo "=== compute-sanitizer --tool $tool (logits, $SANITIZE_SHORT, 70-token prompt)"
      timeout 200 "$CS" --tool $tool --print-limit 20 "$CLI" logits --model "$SANITIZE_SHORT" \
        --backend cuda --ids "$long" > "$OUT/sanitize-$tool-logits.log" 2>&1
      echo "exit $?"
      grep -E "ERROR SUMMARY|RACECHECK SUMMARY|hazard|Invalid" "$OUT/sanitize-$tool-logits.log" | head -8
      # A name is a fixture under tests/fixtures/models or a path (quantized fixtures).
      for name in ${SANITIZE_MODELS-tiny-fused-experts tiny-every-kind}; do
        dir=tests/fixtures/models/$name
        [[ -d $name ]] && dir=$name && name=$(basename "$name")
        echo "=== compute-sanitizer --tool $tool ($name, 70-token prompt)"
        timeout 240 "$CS" --tool $tool --print-limit 20 "$CLI" check \
          --model "$dir" --prompt-ids "$long" --greedy 2 > "$OUT/sanitize-$tool-$name.log" 2>&1
        echo "exit $?"
        grep -E "ERROR SUMMARY|RACECHECK SUMMARY|hazard|Invalid" "$OUT/sanitize-$tool-$name.log" | head -8
      done
    done
  else
    echo "=== compute-sanitizer not found"
  fi
fi
if [[ $WHAT == all || ,$WHAT, == *,bench,* ]]; then
  CONFIG=tools/bench/configs/nemotron-3-nano-30b-a3b.json
  echo "=== bench (inspect off, per-stage profile)"
  "$CLI" bench --synthetic "$CONFIG" --context 1024 --decode-tokens 48 --profile 8 2>&1 | tee "$OUT/bench.log"
  echo "=== bench (inspect on)"
  "$CLI" bench --synthetic "$CONFIG" --context 1024 --decode-tokens 48 --prefill 128 --inspect 2>&1 | tee "$OUT/bench-inspect.log"
  echo "=== bench (programmatic dependent launch off)"
  LOGITSCOPE_CUDA_PDL=0 "$CLI" bench --synthetic "$CONFIG" --context 1024 --decode-tokens 48 --prefill 128 2>&1 \
    | tee "$OUT/bench-nopdl.log" | grep -E "decode |fraction"
  echo "=== bench (32k context)"
  "$CLI" bench --synthetic "$CONFIG" --context 32768 --decode-tokens 32 --prefill 128 --profile 4 2>&1 \
    | tee "$OUT/bench-32k.log" | grep -E "decode |fraction|peak|attn|total"
  echo "=== bench (graphs off)"
  "$CLI" bench --synthetic "$CONFIG" --context 1024 --decode-tokens 48 --prefill 128 --no-graphs 2>&1 \
    | tee "$OUT/bench-nographs.log" | grep -E "decode |fraction"
  if [[ -n $BASE ]]; then
    echo "=== baseline bench (inspect off)"
    "$BASE" bench --synthetic "$CONFIG" --context 1024 --decode-tokens 48 2>&1 | tee "$OUT/bench-base.log" \
      | grep -E "device|copy|decode |floor|prefill|first"
  fi
fi
if [[ $WHAT == all || ,$WHAT, == *,formats,* ]]; then
  # The weight formats at the real shape, one after the other on this card (synthetic weights: FP8 /
  # NVFP4 codes and scales with NVIDIA's NVFP4 exclusions kept in BF16).
  CONFIG=tools/bench/configs/nemotron-3-nano-30b-a3b.json
  if [[ -n $BASE ]]; then
    echo "=== baseline bench (BF16)"
    "$BASE" bench --synthetic "$CONFIG" --context 1024 --decode-tokens 48 --prefill 128,2048 2>&1 \
      | tee "$OUT/formats-base.log" | grep -E "device|copy|bytes per|decode |floor|prefill|first|peak"
  fi
  for format in ${FORMATS:-bf16 fp8 nvfp4}; do
    echo "=== bench --format $format"
    "$CLI" bench --synthetic "$CONFIG" --format $format --context 1024 --decode-tokens 48 --prefill 128,2048 \
      --profile ${PROFILE_TOKENS:-4} 2>&1 | tee "$OUT/formats-$format.log" \
      | grep -E "device|weights|copy|bytes per|decode |achieved|floor|prefill|first|peak|^mamba|^moe|^attn|^lm_head|^total"
  done
fi
if [[ $WHAT == all || ,$WHAT, == *,timeline,* ]]; then
  # Where a graph replay's time goes, stage by stage, from the kernels' own start stamps: needs a
  # build configured with -DLOGITSCOPE_CUDA_TIMELINE=ON (TIMELINE_CLI).
  CONFIG=tools/bench/configs/nemotron-3-nano-30b-a3b.json
  TL=${TIMELINE_CLI:-.deps/bin/logitscope-cli-timeline}
  for ctx in 1024 32768; do
    echo "=== timeline ($ctx context, $TL)"
    "$TL" bench --synthetic "$CONFIG" --context $ctx --decode-tokens 16 --prefill 128 --timeline 32 2>&1 \
      | tee "$OUT/timeline-$ctx.log" | sed -n '/^device/p;/^decode /p;/^floor/p;/per-stage decode timeline/,$p'
  done
fi
if [[ $WHAT == all || ,$WHAT, == *,prefill,* ]]; then
  # Prompt speed: the default path, each prompt-experts mode, the per-stage prompt profile, a baseline.
  CONFIG=tools/bench/configs/nemotron-3-nano-30b-a3b.json
  for mode in ${PREFILL_MODES:-auto cublas cublas_grouped}; do
    echo "=== prefill (prompt experts $mode)"
    LOGITSCOPE_PROMPT_EXPERTS=$mode "$CLI" bench --synthetic "$CONFIG" --context 4096 --decode-tokens 8 \
      --prefill 32,128,512,2048 2>&1 | tee "$OUT/prefill-$mode.log" | grep -E "device|prefill|first"
  done
  echo "=== prefill profile (2048 tokens)"
  "$CLI" bench --synthetic "$CONFIG" --context 4096 --decode-tokens 8 --prefill 2048 --profile 2 2>&1 \
    | tee "$OUT/prefill-profile.log" | grep -E "prefill|first|mamba|moe|attn|total|rmsnorm|lm_head"
  echo "=== prefill profile (28 tokens)"
  "$CLI" bench --synthetic "$CONFIG" --context 4096 --decode-tokens 8 --prefill 28 --profile 2 2>&1 \
    | tee "$OUT/prefill-profile-28.log" | grep -E "prefill|first|mamba|moe|attn|total"
  if [[ -n $BASE ]]; then
    echo "=== baseline prefill"
    "$BASE" bench --synthetic "$CONFIG" --context 4096 --decode-tokens 8 --prefill 32,128,512,2048 2>&1 \
      | tee "$OUT/prefill-base.log" | grep -E "prefill|first"
  fi
fi
if [[ $WHAT == all || ,$WHAT, == *,hf,* ]]; then
  echo "=== Hugging Face transformers, same shape and card"
  timeout 420 python3 tools/bench/hf_baseline.py tools/bench/configs/nemotron-3-nano-30b-a3b.json --context 1024 \
    --decode-tokens 8 --prefill 128,2048 2>&1 | grep -v "falling back" | tee "$OUT/hf.log"
fi
exit $status
