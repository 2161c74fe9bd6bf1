// SPDX-License-Identifier: GPL-3.0-or-later
// logitscope-cli evaluate: the log-probability of every token of a text given the tokens before it
// (teacher forcing), its rank and the model's top alternatives there; total and mean NLL and the
// perplexity at the end.
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "args.h"
#include "command.h"
#include "intervention_options.h"
#include "json_output.h"
#include "logitscope/chat.h"
#include "logitscope/errors.h"
#include "logitscope/evaluate.h"
#include "logitscope/tokenizer.h"
#include "model_options.h"

namespace logitscope::cli {
namespace {

int run_evaluate(const std::vector<std::string>& words) {
  const Args args(words, merge({kModelOptions, kInterventionOptions, {"ids", "text-file", "top-k", "chunk"}}),
                  {"jsonl", "template"});
  const Interventions interventions = interventions_from(args);
  const int top_k = int(args.get_int("top-k", 5));
  if (top_k < 0 || top_k > 50) throw Error("option --top-k must be in 0..50");
  const std::int64_t chunk = args.get_int("chunk", 512);
  if (chunk < 1) throw Error("option --chunk must be positive");
  ScoringInput input = load_for_scoring(args);
  const std::unique_ptr<Model>& model = input.model;
  const std::vector<TokenId>& ids = input.ids;
  const bool jsonl = args.has("jsonl");
  const TextScore score = evaluate_text(*model, ids, top_k, [&](const TokenScore& s) {
    if (!jsonl) return;
    nlohmann::json top = nlohmann::json::array();
    for (const TopKEntry& t : s.top_k) top.push_back({{"id", t.id}, {"prob", t.prob}, {"logprob", t.logprob}});
    nlohmann::json line = {{"pos", s.pos}, {"id", s.id}, {"logprob", s.logprob}, {"rank", s.rank}, {"entropy", s.entropy},
                           {"top_k", top}};
    if (model->tokenizer()) line["text"] = model->tokenizer()->decode(std::vector<TokenId>{s.id}, false);
    std::cout << dump_json(line) << "\n";
  }, chunk, {}, interventions);
  std::ostream& out = jsonl ? std::cerr : std::cout;
  out << std::fixed << std::setprecision(4) << score.tokens << " tokens scored: total NLL " << score.total_nll
      << " nats, mean " << score.mean_nll() << " nats/token, perplexity " << score.perplexity() << "\n";
  return 0;
}

const CommandRegistration registration{{
    "evaluate",
    "the log-probability of every token of a text (surprise, perplexity)",
    std::string("usage: logitscope-cli evaluate --model M (--text-file F [--template] | --ids 1,2,3) [--top-k 5] [--jsonl]\n"
                "                               [--chunk 512] [model options]\n\n"
                "Scores every token from the second on given the ones before it, in prompt forwards of --chunk\n"
                "tokens. --jsonl prints one object per position {pos, id, logprob, rank, entropy, top_k [{id, prob,\n"
                "logprob}], text} (logprob: of that token given the tokens before it) and the summary on stderr.\n"
                "--template renders F through the model's chat template first: a JSON conversation\n"
                "([{\"role\", \"content\"}, ...]) or plain text as one user message.\n\n") +
        kModelOptionsUsage + "\n" + kInterventionOptionsUsage,
    run_evaluate,
}};

}  // namespace
}  // namespace logitscope::cli
