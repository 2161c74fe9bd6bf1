// SPDX-License-Identifier: GPL-3.0-or-later
// logitscope-cli lens: the logit lens at one position - the next-token distribution read from the
// residual stream after every layer - as one JSON object.
#include <iostream>

#include "args.h"
#include "command.h"
#include "intervention_options.h"
#include "json_output.h"
#include "logitscope/errors.h"
#include "logitscope/lens.h"
#include "model_options.h"

namespace logitscope::cli {
namespace {

int run_lens(const std::vector<std::string>& words) {
  const Args args(words, merge({kModelOptions, kInterventionOptions, {"ids", "pos", "top-k"}}), {});
  const std::vector<TokenId> ids = parse_id_list(args.require("ids"), "--ids");
  if (ids.empty()) throw Error("--ids is empty (expected ids such as 5,17,42)");
  const std::int64_t pos = args.get_int("pos", std::int64_t(ids.size()) - 1);
  const int top_k = int(args.get_int("top-k", 10));
  if (top_k < 1 || top_k > 50) throw Error("option --top-k must be in 1..50");
  LoadOptions options = load_options_from(args);
  options.load_tokenizer = false;
  options.max_context = std::max<std::int64_t>(options.max_context, pos + 1);
  auto model = Model::load(options);
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerLens& l : logit_lens(*model, ids, pos, top_k, interventions_from(args))) {
    nlohmann::json top = nlohmann::json::array();
    for (const TopKEntry& t : l.top_k) top.push_back({{"id", t.id}, {"prob", t.prob}, {"logprob", t.logprob}});
    layers.push_back({{"layer", l.layer}, {"kind", std::string(1, pattern_char(l.kind))}, {"top_k", top},
                      {"kl_to_final", l.kl_to_final}, {"final_top1_rank", l.final_top1_rank},
                      {"final_top1_prob", l.final_top1_prob}});
  }
  std::cout << dump_json({{"pos", pos}, {"layers", layers}}) << "\n";
  return 0;
}

const CommandRegistration registration{{
    "lens",
    "the logit lens at one position: the next-token distribution after every layer (JSON)",
    std::string("usage: logitscope-cli lens --model M --ids 1,2,3 [--pos P] [--top-k 10] [--backend cpu|cuda]\n\n"
                "Runs ids[0..P] (P defaults to the last) and applies the model's final norm and lm_head to the\n"
                "residual stream after every layer. Prints {\"pos\": P, \"layers\": [{\"layer\": i, \"kind\":\n"
                "\"M|E|*|-\", \"top_k\": [{id, prob, logprob}], \"kl_to_final\": KL(P_final || P_layer),\n"
                "\"final_top1_rank\": r, \"final_top1_prob\": p}, ...]} in stack order; the last entry is the\n"
                "model's own output distribution (the CPU backend; on CUDA a preview until checked on a GPU:\n"
                "LOGITSCOPE_CUDA_PREVIEW=1).\n\n") +
        kModelOptionsUsage + "\n" + kInterventionOptionsUsage,
    run_lens,
}};

}  // namespace
}  // namespace logitscope::cli
