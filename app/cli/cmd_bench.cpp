// SPDX-License-Identifier: GPL-3.0-or-later
// logitscope-cli bench: decode and prefill speed of the CUDA backend at batch 1, against the
// device's copy bandwidth measured in the same run. --synthetic CONFIG.json benchmarks any shape
// (the real 30B-A3B config too) with random weights generated on the GPU, without a download.
#include <cstdio>
#include <iostream>
#include <set>

#include "args.h"
#include "command.h"
#include "intervention_options.h"
#include "logitscope/errors.h"
#ifdef LOGITSCOPE_HAVE_CUDA
#include "logitscope/cuda_tools.h"
#endif

namespace logitscope::cli {
namespace {

int run_bench(const std::vector<std::string>& words) {
  std::set<std::string> valued{"synthetic", "model", "format", "quantize", "context", "decode-tokens", "prefill",
                               "seed", "profile", "timeline"};
  valued.insert(kInterventionOptions.begin(), kInterventionOptions.end());
  const Args args(words, valued, {"inspect", "no-graphs"});
#ifndef LOGITSCOPE_HAVE_CUDA
  (void)args;
  std::cerr << "logitscope-cli bench: this build has no CUDA backend (configure with -DLOGITSCOPE_CUDA=ON)\n";
  return 77;
#else
  if (cuda_tools::device_count() == 0) {
    std::cerr << "logitscope-cli bench: no CUDA GPU is available on this machine\n";
    return 77;
  }
  cuda_tools::BenchOptions o;
  o.synthetic_config = args.get_or("synthetic", "");
  o.model = args.get_or("model", "");
  if (o.synthetic_config.empty() == o.model.empty())
    throw Error("give exactly one of --synthetic CONFIG.json or --model M");
  if (args.has("format") && args.has("quantize")) throw Error("give --format or --quantize, not both");
  if (auto f = args.get("format")) o.format = parse_weight_format(*f);
  if (auto f = args.get("quantize")) o.format = parse_weight_format(*f);
  o.context = args.get_int("context", o.context);
  o.decode_tokens = int(args.get_int("decode-tokens", o.decode_tokens));
  o.inspect = args.has("inspect");
  o.seed = std::uint64_t(args.get_int("seed", 1));
  o.graphs = !args.has("no-graphs");
  o.profile_tokens = int(args.get_int("profile", 0));
  o.timeline_tokens = int(args.get_int("timeline", 0));
  o.interventions = interventions_from(args);
  if (o.timeline_tokens > 0 && !cuda_tools::timeline_available())
    throw Error("--timeline needs a build configured with -DLOGITSCOPE_CUDA_TIMELINE=ON (kernels that stamp the clock)");
  if (auto p = args.get("prefill")) {
    o.prefill_lengths.clear();
    for (auto v : parse_id_list(*p, "--prefill")) o.prefill_lengths.push_back(v);
  }
  const auto r = cuda_tools::run_bench(o);
  const double gib = double(1ull << 30);
  std::printf("device                 %s\n", r.device.c_str());
  std::printf("model                  %s%s\n", o.synthetic_config.empty() ? o.model.c_str() : o.synthetic_config.c_str(),
              o.synthetic_config.empty() ? "" : " (synthetic weights)");
  std::printf("weights                %s\n", r.weight_format.c_str());
  if (!o.interventions.empty()) std::printf("interventions          %s\n", describe(o.interventions).c_str());
  std::printf("load                   %.1f s\n", r.load_s);
  std::printf("weights on device      %.2f GiB (+ workspace %.2f GiB)\n", r.weight_bytes / gib, r.workspace_bytes / gib);
  std::printf("copy bandwidth         %.0f GB/s (device-to-device, read + write)\n", r.copy_gbps);
  std::printf("decode graph           %s\n", o.graphs ? "on (one CUDA graph replay per token)" : "off");
  std::printf("inspection             %s\n", o.inspect ? "on (top-k 20 + routing every token)" : "off");
  std::printf("context                %lld tokens\n", static_cast<long long>(o.context));
  std::printf("bytes per token        %.3f GB\n", r.bytes_per_token / 1e9);
  std::printf("decode                 %.3f ms/token = %.1f tok/s\n", r.decode_ms, r.decode_tok_s);
  std::printf("achieved bandwidth     %.0f GB/s\n", r.achieved_gbps);
  std::printf("floor                  %.3f ms/token = %.1f tok/s; fraction of floor %.1f%%\n", r.floor_ms,
              1e3 / r.floor_ms, 100.0 * r.floor_fraction);
  for (const auto& [len, tps] : r.prefill_tok_s) std::printf("prefill %-5d tokens    %.0f tok/s\n", len, tps);
  std::printf("time to first token    %.2f ms (%d-token prompt, median of 5)\n", r.ttft_ms, o.ttft_prompt);
  std::printf("peak device memory     %.2f GiB\n", r.peak_device_bytes / gib);
  if (!r.kernels.empty()) {
    std::printf("\nper-stage decode profile (%d tokens, events around each launch, no graph; us per token)\n",
                o.profile_tokens);
    std::printf("%-18s %6s %10s %12s %8s %6s\n", "stage", "calls", "us", "MB", "GB/s", "share");
    for (const auto& k : r.kernels)
      std::printf("%-18s %6d %10.1f %12.2f %8.0f %5.1f%%\n", k.name.c_str(), k.calls, k.us, k.bytes / 1e6,
                  k.us > 0 ? k.bytes / (k.us * 1e-6) / 1e9 : 0.0, 100.0 * k.us * 1e-3 / r.profiled_ms);
    std::printf("%-18s %6s %10.1f\n", "total", "", r.profiled_ms * 1e3);
  }
  if (!r.timeline.empty()) {
    // Against the byte counts: "at copy" is the time the stage's bytes take at the copy rate measured
    // above, "over" what the stage spends beyond it (launch boundary and latency included).
    std::printf("\nper-stage decode timeline (%d tokens, inside the CUDA graph: each stage from its first kernel's\n"
                "start to the next stage's, shared expert on the main stream; us per token)\n",
                o.timeline_tokens);
    std::printf("%-18s %6s %10s %12s %8s %9s %9s %6s\n", "stage", "calls", "us", "MB", "GB/s", "at copy", "over",
                "share");
    double at_copy_total = 0.0;
    for (const auto& k : r.timeline) {
      const double at_copy = k.bytes / (r.copy_gbps * 1e9) * 1e6;
      at_copy_total += at_copy;
      std::printf("%-18s %6d %10.1f %12.2f %8.0f %9.1f %9.1f %5.1f%%\n", k.name.c_str(), k.calls, k.us, k.bytes / 1e6,
                  k.us > 0 ? k.bytes / (k.us * 1e-6) / 1e9 : 0.0, at_copy, k.us - at_copy,
                  100.0 * k.us * 1e-3 / r.timeline_ms);
    }
    std::printf("%-18s %6s %10.1f %12s %8s %9.1f %9.1f\n", "total", "", r.timeline_ms * 1e3, "", "", at_copy_total,
                r.timeline_ms * 1e3 - at_copy_total);
  }
  if (!r.prefill_kernels.empty()) {
    std::printf("\nper-stage prefill profile (one %d-token prompt, events around each launch; us per prompt)\n",
                r.prefill_profiled_tokens);
    std::printf("%-18s %6s %10s %12s %8s %6s\n", "stage", "calls", "us", "MB", "GB/s", "share");
    for (const auto& k : r.prefill_kernels) {
      const double gbps = k.us > 0 && k.bytes > 0 ? k.bytes / (k.us * 1e-6) / 1e9 : 0.0;
      std::printf("%-18s %6d %10.1f %12.2f %8.0f %5.1f%%\n", k.name.c_str(), k.calls, k.us, k.bytes / 1e6, gbps,
                  100.0 * k.us * 1e-3 / r.prefill_profiled_ms);
    }
    std::printf("%-18s %6s %10.1f\n", "total", "", r.prefill_profiled_ms * 1e3);
  }
  return 0;
#endif
}

const CommandRegistration registration{{
    "bench",
    "decode / prefill speed of the CUDA backend against the memory-bandwidth floor",
    "usage: logitscope-cli bench (--synthetic CONFIG.json [--format bf16|fp8|nvfp4] | --model M [--quantize fp8|nvfp4])\n"
    "                            [--context 1024] [--decode-tokens 64] [--prefill 128,2048] [--inspect] [--seed 1]\n"
    "                            [--no-graphs] [--profile N] [--timeline N] [intervention options]\n\n"
    "Measures the device's copy bandwidth, then decode tokens/s at --context tokens of history (median\n"
    "of --decode-tokens steps of forward + greedy choose), prefill tokens/s per prompt length, time to\n"
    "first token (28-token prompt), bytes read per token, achieved GB/s, the fraction of the bandwidth\n"
    "floor, peak device memory and the card's name. --synthetic generates random (never zero) bf16\n"
    "weights on the GPU from a config.json (e.g. tools/bench/configs/nemotron-3-nano-30b-a3b.json);\n"
    "--format fp8|nvfp4 makes them FP8 or NVFP4 codes and scales instead, with the modules NVIDIA's NVFP4\n"
    "checkpoint keeps in BF16 kept so (bytes per token and the floor follow). --quantize quantizes a\n"
    "--model snapshot while loading.\n"
    "--inspect turns on top-k 20 and routing capture every token, to show their cost. --no-graphs launches\n"
    "every decode kernel from the host instead of replaying one CUDA graph. --profile N times each decode\n"
    "stage with events over N more tokens and prints a table (stage, calls, us, bytes, GB/s), and the same\n"
    "for one prompt of the longest --prefill length. --timeline N (a build configured with\n"
    "-DLOGITSCOPE_CUDA_TIMELINE=ON) times each decode stage inside the graph replay over N tokens, from\n"
    "the kernels' own start stamps, beside the time its bytes take at the measured copy rate.\n"
    "Intervention options apply to every forward: bench with and without them for their cost.\n" +
        std::string(kInterventionOptionsUsage),
    run_bench,
}};

}  // namespace
}  // namespace logitscope::cli
