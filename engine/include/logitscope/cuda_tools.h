// SPDX-License-Identifier: GPL-3.0-or-later
// The work behind `logitscope-cli check` and `logitscope-cli bench`, with plain result types so the CLI
// needs none of the engine's private headers. Only built with LOGITSCOPE_CUDA (LOGITSCOPE_HAVE_CUDA).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "logitscope/interventions.h"
#include "logitscope/quantization.h"

namespace logitscope::cuda_tools {

// Number of CUDA devices usable now (0 without a driver or a GPU).
int device_count();
// Whether this build's kernels stamp their start for bench --timeline (LOGITSCOPE_CUDA_TIMELINE=ON).
bool timeline_available();
// Whether LOGITSCOPE_CUDA_PREVIEW=1 turns on the CUDA paths written but not yet checked on a GPU
// (interventions, the logit lens): until `check` passes them on every fixture (tests/gpu,
// tools/bench/gpu_session.sh interventions, which set it), the CUDA backend refuses them.
bool preview_enabled();

struct CheckOptions {
  std::string model;                 // snapshot folder or hub id
  WeightFormat quantize = WeightFormat::Bf16;  // fp8 / nvfp4: both backends load it quantized on load
  std::vector<std::int32_t> prompt;  // empty: golden.json's prompt_ids, else a fixed pseudo-random prompt
  double tolerance = 0.03;           // max relative L2 error of a logit row (bf16 weights vs fp32)
  double min_routing = 0.95;         // fraction of (position, layer) expert sets that must match
  // A routing difference counts as a near-tie (bf16 rounding chose the runner-up) when the CPU
  // reference's margin (RoutingSlice::margin) is below this; a larger one is a defect.
  double tie_margin = 0.02;
  int greedy_tokens = 8;
  std::int64_t max_context = 512;
  int cpu_threads = 1;               // CPU reference threads (1: deterministic; 0 = all cores)
  Interventions interventions;       // applied on both backends from their position on (none: empty)
};

struct CheckRow {
  std::int64_t pos = 0;
  double max_abs = 0.0;              // max |cuda - cpu| over the vocabulary
  double rel = 0.0;                  // ||cuda - cpu|| / ||cpu||
  bool top1 = true;                  // same argmax
  double cpu_margin = 0.0;           // cpu top-1 minus top-2 logit
  int routing_flips = 0;             // MoE layers whose expert set differs at this position
  bool after_flip = false;           // at or after the first near-tie flip: bf16 rounding chose other experts
};

// One MoE decision the backends took differently.
struct RoutingFlip {
  std::string path;                  // "prefill" (one prompt forward) or "decode" (token by token)
  std::int64_t pos = 0;
  int layer = 0;                     // index in the full layer stack
  std::vector<int> cpu_experts, cuda_experts;
  double cpu_margin = 0.0;           // the reference's margin there (RoutingSlice::margin)
  bool near_tie = false;             // cpu_margin < CheckOptions::tie_margin
};

struct CheckReport {
  std::string device;
  std::vector<CheckRow> prefill;     // one forward over the prompt, all logits
  std::vector<CheckRow> decode;      // the prompt fed token by token
  std::vector<CheckRow> lens;        // logit lens at the last prompt position, one row per layer (pos = layer)
  std::vector<std::int32_t> greedy_cpu, greedy_cuda;
  int greedy_agree = 0;
  int routing_total = 0, routing_agree = 0;  // expert sets per (position, MoE layer), both paths
  std::vector<RoutingFlip> flips;    // every differing expert set, prefill then decode
  double max_entropy_diff = 0.0;
  // Repeatability: the prompt fed token by token again on each backend, compared bit for bit.
  double gpu_repeat_max_diff = 0.0;  // two CUDA runs (graph replay), max |logit diff|
  int gpu_repeat_routing_diffs = 0;  // expert sets that differ between those runs
  double gpu_graph_vs_eager = 0.0;   // CUDA graph replay vs plain launches, max |logit diff|
  double cpu_repeat_max_diff = 0.0;  // two CPU runs
  int cpu_repeat_routing_diffs = 0;
  std::vector<std::string> failures; // empty = passed
};

CheckReport run_check(const CheckOptions& options);

struct BenchOptions {
  std::string synthetic_config;      // config.json for random weights on the GPU, or
  std::string model;                 // a snapshot to load
  WeightFormat format = WeightFormat::Bf16;  // fp8 / nvfp4: synthetic weights in that format, or the
                                     // snapshot quantized on load (--quantize)
  std::int64_t context = 1024;       // tokens in the cache while decode is timed
  int decode_tokens = 64;
  bool inspect = false;              // top-k 20 + routing copied back every token
  std::vector<int> prefill_lengths = {128, 2048};
  int ttft_prompt = 28;
  std::uint64_t seed = 1;
  bool graphs = true;                // decode step as a CUDA graph replay
  int profile_tokens = 0;            // > 0: also time each decode stage over this many tokens, and
                                     // each stage of one prompt of the longest prefill length
  int timeline_tokens = 0;           // > 0: also time each decode stage inside the CUDA graph over
                                     // this many tokens (builds with LOGITSCOPE_CUDA_TIMELINE only)
  Interventions interventions;       // applied to every forward (their cost: bench with and without)
};

// One decode stage in the per-kernel table (per token: time summed over its launches).
struct KernelRow {
  std::string name;
  int calls = 0;                     // launches per token
  double us = 0.0;                   // microseconds per token (profile: events around each launch,
                                     // no graph; timeline: the stage's share of a graph replay)
  std::uint64_t bytes = 0;           // bytes per token
};

struct BenchReport {
  std::string device;
  std::string weight_format;         // "NVFP4 + BF16" ... as the matrices are stored
  double copy_gbps = 0.0;            // device-to-device copy, read + write bytes
  std::uint64_t weight_bytes = 0, workspace_bytes = 0;
  std::uint64_t bytes_per_token = 0; // weights of one decoded token + state r/w + KV at `context`
  double decode_ms = 0.0;            // median per token (forward + choose [+ routing])
  double decode_tok_s = 0.0, achieved_gbps = 0.0, floor_ms = 0.0, floor_fraction = 0.0;
  std::vector<std::pair<int, double>> prefill_tok_s;
  double ttft_ms = 0.0;
  std::uint64_t peak_device_bytes = 0;
  double load_s = 0.0;
  std::vector<KernelRow> kernels;    // profile_tokens > 0: slowest first
  double profiled_ms = 0.0;          // sum of the rows (per token)
  // profile_tokens > 0: the stages of one prompt of the longest prefill length (us and bytes per
  // prompt; stages whose bytes are not known up front show 0 bytes).
  int prefill_profiled_tokens = 0;
  std::vector<KernelRow> prefill_kernels;
  double prefill_profiled_ms = 0.0;
  // timeline_tokens > 0: the stages' shares of a graph replay (us per token, from the kernels' own
  // start stamps; the shared expert on the main stream), slowest first, and their sum.
  std::vector<KernelRow> timeline;
  double timeline_ms = 0.0;
};

BenchReport run_bench(const BenchOptions& options);
// The device's copy rate (read + write bytes per second / 1e9) over two 256 MiB buffers; 0 when
// they cannot be allocated.
double measure_copy_bandwidth_gbps();

}  // namespace logitscope::cuda_tools
