// SPDX-License-Identifier: GPL-3.0-or-later
// logitscope-cli logits: the full logits of every input position, from one forward pass over the
// ids (no cache reuse), as JSON {"logits": [[...], ...]}. A contract other checks rely on.
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

int run_logits(const std::vector<std::string>& words) {
  const Args args(words, merge({kModelOptions, kInterventionOptions, {"ids"}}), {"routing"});
  const std::vector<TokenId> ids = parse_id_list(args.require("ids"), "--ids");
  if (ids.empty()) throw Error("--ids is empty (expected ids such as 5,17,42)");
  LoadOptions options = load_options_from(args);
  options.load_tokenizer = false;
  options.max_context = std::max<std::int64_t>(options.max_context, std::int64_t(ids.size()));
  auto model = Model::load(options);
  Session session(*model);
  session.set_interventions(interventions_from(args));
  std::vector<std::vector<RoutingSlice>> routing;
  const std::vector<float> logits = session.evaluate(ids, args.has("routing") ? &routing : nullptr);
  const std::size_t vocab = static_cast<std::size_t>(model->config().vocab_size);
  // Written by hand: a 131k-wide row per position is too large to build as a JSON tree first.
  std::string out = "{\"logits\": [";
  char buffer[32];
  for (std::size_t row = 0; row < ids.size(); ++row) {
    out += row ? ",\n[" : "\n[";
    for (std::size_t v = 0; v < vocab; ++v) {
      std::snprintf(buffer, sizeof buffer, v ? ",%.9g" : "%.9g", logits[row * vocab + v]);
      out += buffer;
    }
    out += "]";
  }
  out += "]";
  if (args.has("routing")) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& slices : routing) {
      nlohmann::json row = nlohmann::json::array();
      for (const RoutingSlice& r : slices) row.push_back(routing_slice_json(r));
      rows.push_back(row);
    }
    out += ",\n\"routing\": " + dump_json(rows);
  }
  out += "}\n";
  std::cout << out;
  return 0;
}

const CommandRegistration registration{{
    "logits",
    "print the logits of every position of a token sequence (JSON)",
    std::string("usage: logitscope-cli logits --model M --ids 5,17,42 [--backend cpu|cuda] [--routing] [interventions]\n\n"
                "Runs the ids through the model in one forward pass and prints {\"logits\": [[...], ...]}:\n"
                "one row per input position, the whole vocabulary. --routing adds the experts every MoE layer\n"
                "chose at every position.\n\n") + kModelOptionsUsage + "\n" + kInterventionOptionsUsage,
    run_logits,
}};

}  // namespace
}  // namespace logitscope::cli
