// SPDX-License-Identifier: GPL-3.0-or-later
// logitscope-cli generate: continues a token sequence and prints, per generated token, what the
// model saw (--jsonl: one JSON object per token). A contract other checks rely on.
#include <iostream>

#include "args.h"
#include "command.h"
#include "intervention_options.h"
#include "json_output.h"
#include "logitscope/errors.h"
#include "logitscope/session.h"
#include "model_options.h"

namespace logitscope::cli {
namespace {

int run_generate(const std::vector<std::string>& words) {
  const Args args(words, merge({kModelOptions, kSamplingOptions, kInterventionOptions, {"ids", "max-new", "top-k"}}),
                  merge({kSamplingFlags, {"jsonl", "no-routing", "ignore-eos"}}));
  const std::vector<TokenId> ids = parse_id_list(args.require("ids"), "--ids");
  if (ids.empty()) throw Error("--ids is empty (expected ids such as 5,17,42)");
  const std::int64_t max_new = args.get_int("max-new", 16);
  if (max_new < 0) throw Error("option --max-new must be >= 0");
  LoadOptions options = load_options_from(args);
  options.max_context = std::max<std::int64_t>(options.max_context, std::int64_t(ids.size()) + max_new);
  auto model = Model::load(options);
  Session session(*model);
  session.set_interventions(interventions_from(args));
  session.prefill(ids);

  GenerateOptions generate;
  generate.max_new_tokens = static_cast<int>(max_new);
  if (args.has("ignore-eos")) generate.stop_ids = {-1};
  ProbeOptions probe;
  probe.top_k = static_cast<int>(args.get_int("top-k", 20));
  if (probe.top_k < 0 || probe.top_k > 50) throw Error("option --top-k must be in 0..50 (alternatives to report)");
  probe.routing = !args.has("no-routing");
  const bool jsonl = args.has("jsonl");
  GenerateResult result = session.generate(generate, sampling_from(args), probe, [&](const TokenEvent& event) {
    if (jsonl) {
      std::cout << dump_json(token_event_json(event)) << "\n" << std::flush;
    } else {
      std::cout << event.id << (event.text.empty() ? "" : " " + nlohmann::json(event.text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
                << "\n" << std::flush;
    }
    return true;
  });
  std::cerr << "generated " << result.events.size() << " tokens (" << to_string(result.reason) << "), prefill "
            << result.prefill_ms << " ms, decode " << result.decode_ms << " ms\n";
  return 0;
}

const CommandRegistration registration{{
    "generate",
    "continue a token sequence, printing each token with its top-k and routing",
    std::string("usage: logitscope-cli generate --model M --ids 5,17,42 --max-new N [--greedy | sampling options]\n"
                "                               [--top-k K] [--backend cpu|cuda] [--jsonl]\n\n"
                "--jsonl prints one object per generated token: pos, id, prob, logprob, entropy,\n"
                "top_k [{id, prob, logprob, logit}] (the raw distribution the token was drawn from) and routing\n"
                "[{layer, experts, weights}] of the forward pass whose input was the token at pos - 1.\n\n"
                "  --max-new N        tokens to generate (default 16)\n"
                "  --top-k K          alternatives to report per token (default 20, max 50); the sampling\n"
                "                     filter of the same name is --sample-top-k\n"
                "  --no-routing       do not report routing\n"
                "  --ignore-eos       do not stop at end-of-sequence tokens\n") +
        kSamplingOptionsUsage + kModelOptionsUsage + "\n" + kInterventionOptionsUsage,
    run_generate,
}};

}  // namespace
}  // namespace logitscope::cli
