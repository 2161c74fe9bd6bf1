// SPDX-License-Identifier: GPL-3.0-or-later
// logitscope-cli compare: two models on the same tokens (teacher forcing); per token the KL between
// their next-token distributions, top-1 agreement and the overlap of the expert sets of every MoE
// layer; a summary at the end.
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "args.h"
#include "command.h"
#include "intervention_options.h"
#include "json_output.h"
#include "logitscope/compare.h"
#include "logitscope/errors.h"
#include "logitscope/tokenizer.h"
#include "model_options.h"

namespace logitscope::cli {
namespace {

nlohmann::json top_json(const std::vector<TopKEntry>& top) {
  nlohmann::json out = nlohmann::json::array();
  for (const TopKEntry& t : top) out.push_back({{"id", t.id}, {"prob", t.prob}, {"logprob", t.logprob}});
  return out;
}

int run_compare(const std::vector<std::string>& words) {
  const Args args(words, merge({kModelOptions, kInterventionOptions, {"model-b", "quantize-b", "ids", "text-file", "top-k"}}),
                  {"jsonl"});
  const Interventions interventions_b = interventions_from(args);
  const int top_k = int(args.get_int("top-k", 5));
  if (top_k < 0 || top_k > 50) throw Error("option --top-k must be in 0..50");
  LoadOptions options_a = load_options_from(args);
  LoadOptions options_b = options_a;
  if (auto b = args.get("model-b")) {
    options_b.snapshot.model = *b;
    options_b.synthetic_config.clear();
    options_b.quantize = WeightFormat::Bf16;
  } else if (!args.has("quantize-b") && interventions_b.empty()) {
    throw Error("give the second model: --model-b M, --quantize-b fp8|nvfp4 for model A quantized on load, or an "
                "intervention (--mask-expert, --force-experts, --scale, --skip-layer) for model A with it");
  }
  // Model A against itself with interventions: one model, two sessions.
  const bool same_model = !args.has("model-b") && !args.has("quantize-b");
  if (auto q = args.get("quantize-b")) options_b.quantize = parse_weight_format(*q);

  auto [ids, text] = ids_or_text(args);
  auto a = Model::load(options_a);
  if (!text.empty()) {
    if (!a->tokenizer()) throw Error("model A has no tokenizer.json: use --ids");
    ids = a->tokenizer()->encode(text, false);
    options_a.max_context = options_b.max_context = std::max<std::int64_t>(options_a.max_context, std::int64_t(ids.size()));
  }
  if (std::int64_t(ids.size()) > a->max_context()) {
    options_a.max_context = options_b.max_context = std::int64_t(ids.size());
    a = Model::load(options_a);
  }
  options_b.max_context = a->max_context();
  std::unique_ptr<Model> b;
  try {
    if (!same_model) b = Model::load(options_b);
  } catch (const OutOfMemory& e) {
    throw Error(std::string("model B does not fit beside model A: ") + e.what());
  }
  const Model& model_b = same_model ? *a : *b;
  if (!text.empty() && model_b.tokenizer() && model_b.tokenizer()->encode(text, false) != ids)
    throw Error("the two models' tokenizers split this text differently: they do not share a tokenizer");

  const auto tokens = compare_models(*a, model_b, ids, top_k, {}, interventions_b);
  if (args.has("jsonl")) {
    for (const TokenComparison& t : tokens) {
      nlohmann::json overlap = nlohmann::json::array();
      for (const LayerOverlap& o : t.expert_overlap) overlap.push_back({{"layer", o.layer}, {"jaccard", o.jaccard}});
      std::cout << dump_json({{"pos", t.pos}, {"id", t.id}, {"kl", t.kl}, {"top1_agree", t.top1_agree},
                              {"logprob_a", t.logprob_a}, {"logprob_b", t.logprob_b}, {"expert_overlap", overlap},
                              {"top_k_a", top_json(t.top_k_a)}, {"top_k_b", top_json(t.top_k_b)}})
                << "\n";
    }
  }
  const ComparisonSummary s = summarize(tokens);
  std::ostream& out = args.has("jsonl") ? std::cerr : std::cout;
  out << std::fixed << std::setprecision(4) << "A: " << a->info().snapshot_dir.filename().string() << " ("
      << a->info().weight_format << ")  B: " << model_b.info().snapshot_dir.filename().string() << " ("
      << model_b.info().weight_format << ")" << (interventions_b.empty() ? "" : " with " + describe(interventions_b)) << "\n"
      << s.positions << " positions: mean KL(A||B) " << std::setprecision(6) << s.mean_kl << " nats, max " << s.max_kl
      << ", top-1 agreement " << std::setprecision(4) << s.top1_agreement << ", NLL A " << s.nll_a << " B " << s.nll_b
      << " nats/token\n";
  if (s.first_disagreement >= 0) out << "best guesses first differ at position " << s.first_disagreement << "\n";
  for (std::size_t l = 0; l < s.layers.size(); ++l)
    out << "  MoE layer " << s.layers[l] << ": expert set differs at " << std::setprecision(3) << 100.0 * s.expert_set_changed[l]
        << "% of positions, mean Jaccard " << std::setprecision(4) << s.mean_jaccard[l] << "\n";
  return 0;
}

const CommandRegistration registration{{
    "compare",
    "two models on the same tokens: per-token KL, top-1 agreement, expert-set overlap",
    std::string("usage: logitscope-cli compare --model A (--model-b B | --quantize-b fp8|nvfp4 | interventions)\n"
                "                              (--ids 1,2,3 | --text-file F)\n"
                "                              [--top-k 5] [--jsonl] [model options for both]\n\n"
                "Runs the tokens through both models (teacher forcing: one prompt forward each) and compares, for\n"
                "every position from the second on, the two next-token distributions: KL(A||B) over the whole\n"
                "vocabulary, whether the best tokens agree, the log-probability of the actual token under each,\n"
                "and per MoE layer the Jaccard overlap of the experts each chose in that forward. --jsonl prints one\n"
                "object per token {pos, id, kl, top1_agree, logprob_a, logprob_b, expert_overlap [{layer, jaccard}],\n"
                "top_k_a, top_k_b} and the summary on stderr. --text-file is tokenized by A's tokenizer; B must split\n"
                "it the same way. --quantize-b compares A with itself quantized on load. Intervention options apply\n"
                "to B; without --model-b and --quantize-b, B is A with them (the intervention's effect).\n\n") +
        kModelOptionsUsage + "\n" + kInterventionOptionsUsage,
    run_compare,
}};

}  // namespace
}  // namespace logitscope::cli
