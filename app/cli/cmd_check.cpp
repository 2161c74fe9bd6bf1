// SPDX-License-Identifier: GPL-3.0-or-later
// logitscope-cli check: the CUDA backend against the fp32 CPU reference on the same tokens. Prints
// per-position max |logit diff|, top-1, greedy and routing agreement; exits 1 past tolerance and 77
// (CTest's "skipped") when this build has no CUDA or the machine no GPU.
#include <cstdio>
#include <set>
#include <iostream>

#include "args.h"
#include "command.h"
#include "intervention_options.h"
#include "logitscope/errors.h"
#ifdef LOGITSCOPE_HAVE_CUDA
#include "logitscope/cuda_tools.h"
#endif

namespace logitscope::cli {
namespace {

constexpr int kSkipped = 77;

int run_check(const std::vector<std::string>& words) {
  std::set<std::string> valued{"model", "quantize", "prompt-ids", "tolerance", "min-routing", "tie-margin", "greedy",
                               "context", "cpu-threads"};
  valued.insert(kInterventionOptions.begin(), kInterventionOptions.end());
  const Args args(words, valued, {});
#ifndef LOGITSCOPE_HAVE_CUDA
  (void)args;
  std::cerr << "logitscope-cli check: this build has no CUDA backend (configure with -DLOGITSCOPE_CUDA=ON); skipped\n";
  return kSkipped;
#else
  if (cuda_tools::device_count() == 0) {
    std::cerr << "logitscope-cli check: no CUDA GPU is available on this machine; skipped\n";
    return kSkipped;
  }
  cuda_tools::CheckOptions o;
  o.model = args.require("model");
  if (auto q = args.get("quantize")) o.quantize = parse_weight_format(*q);
  if (auto ids = args.get("prompt-ids")) o.prompt = parse_id_list(*ids, "--prompt-ids");
  o.tolerance = args.get_double("tolerance", o.tolerance);
  o.min_routing = args.get_double("min-routing", o.min_routing);
  o.tie_margin = args.get_double("tie-margin", o.tie_margin);
  o.greedy_tokens = int(args.get_int("greedy", o.greedy_tokens));
  o.max_context = args.get_int("context", o.max_context);
  o.cpu_threads = int(args.get_int("cpu-threads", o.cpu_threads));
  o.interventions = interventions_from(args);
  const auto r = cuda_tools::run_check(o);
  std::printf("check %s on %s\n", o.model.c_str(), r.device.c_str());
  if (!o.interventions.empty()) std::printf("interventions: %s\n", describe(o.interventions).c_str());
  std::printf("%-8s %5s %12s %10s %5s %10s %s\n", "path", "pos", "max|diff|", "rel", "top1", "cpu-margin", "routing");
  auto rows = [](const char* name, const std::vector<cuda_tools::CheckRow>& v) {
    double worst = 0, worst_rel = 0;
    int agree = 0;
    for (const auto& row : v) {
      std::printf("%-8s %5lld %12.5g %10.3g %5s %10.4g %s\n", name, static_cast<long long>(row.pos), row.max_abs, row.rel,
                  row.top1 ? "yes" : "NO", row.cpu_margin,
                  row.routing_flips ? ("FLIP x" + std::to_string(row.routing_flips)).c_str()
                                    : row.after_flip ? "after flip" : "");
      worst = std::max(worst, row.max_abs);
      worst_rel = std::max(worst_rel, row.rel);
      agree += row.top1;
    }
    std::printf("%s: max |diff| %.5g, max rel %.3g, top-1 agreement %d/%zu\n", name, worst, worst_rel, agree, v.size());
  };
  rows("prefill", r.prefill);
  rows("decode", r.decode);
  rows("lens", r.lens);
  std::printf("greedy agreement %d/%zu (cpu:", r.greedy_agree, r.greedy_cpu.size());
  for (auto id : r.greedy_cpu) std::printf(" %d", id);
  std::printf("; cuda:");
  for (auto id : r.greedy_cuda) std::printf(" %d", id);
  std::printf(")\nrouting agreement %d/%d expert sets; max entropy diff %.3g nats\n", r.routing_agree, r.routing_total,
              r.max_entropy_diff);
  auto experts = [](const std::vector<int>& v) {
    std::string s = "{";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s + "}";
  };
  for (const auto& f : r.flips)
    std::printf("routing differs: %s position %lld, layer %d: cpu %s, cuda %s, reference margin %.3g%s\n", f.path.c_str(),
                static_cast<long long>(f.pos), f.layer, experts(f.cpu_experts).c_str(), experts(f.cuda_experts).c_str(),
                f.cpu_margin, f.near_tie ? " (near-tie: bf16 rounding chose the runner-up)" : "");
  std::printf("repeatability: cuda run-to-run max |diff| %.3g, graph vs eager %.3g, expert ids differing %d; "
              "cpu run-to-run %.3g, expert ids differing %d\n",
              r.gpu_repeat_max_diff, r.gpu_graph_vs_eager, r.gpu_repeat_routing_diffs, r.cpu_repeat_max_diff,
              r.cpu_repeat_routing_diffs);
  for (const auto& f : r.failures) std::printf("FAIL: %s\n", f.c_str());
  std::printf("%s\n", r.failures.empty() ? "PASS" : "FAIL");
  return r.failures.empty() ? 0 : 1;
#endif
}

const CommandRegistration registration{{
    "check",
    "compare the CUDA backend with the CPU reference on the same tokens",
    "usage: logitscope-cli check --model M [--prompt-ids 5,17,42] [--tolerance 0.03] [--min-routing 0.95]\n"
    "                            [--tie-margin 0.02] [--greedy 8] [--context 512] [--cpu-threads 1]\n"
    "                            [intervention options]\n\n"
    "Runs the prompt (default: the snapshot's golden.json prompt_ids, else a fixed pseudo-random one)\n"
    "through both backends as one prompt forward (every position's logits; then the logit lens at the\n"
    "last position, one row per layer) and token by token (logits\n"
    "and routing at every position), then greedy tokens. Prints per-position max |logit diff|, relative\n"
    "error, top-1, greedy and routing agreement, and every MoE layer whose expert set differs with the\n"
    "reference's margin there (selection score of the last chosen minus the best left out): below\n"
    "--tie-margin it is a near-tie that bf16 rounding flipped, and the rows from that position on are\n"
    "excused from the logit tolerance; a larger margin fails. Exit 0 = pass, 1 = past tolerance (relative L2 error of\n"
    "a logit row above --tolerance, a top-1/greedy flip where the reference margin exceeds twice the\n"
    "row's error, or routing agreement below --min-routing, or either backend not repeatable bit for bit\n"
    "over three more token-by-token runs), 77 = no CUDA build or no GPU (skipped). The CPU reference\n"
    "runs on --cpu-threads threads (default 1, which is deterministic).\n\n"
    "With intervention options both backends apply them in every pass (the CUDA backend forces at most\n"
    "num_experts_per_tok experts in a layer). The CUDA interventions and logit lens are a preview until\n"
    "checked on a GPU: LOGITSCOPE_CUDA_PREVIEW=1 turns them on (and the lens pass of this check).\n" + std::string(kInterventionOptionsUsage),
    run_check,
}};

}  // namespace
}  // namespace logitscope::cli
