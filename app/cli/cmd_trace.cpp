// SPDX-License-Identifier: GPL-3.0-or-later
// logitscope-cli trace: everything the engine knows about every token of a text, written for
// notebooks: trace.jsonl, meta.json and NumPy arrays (docs/traces.md; tools/read_trace.py).
#include <iostream>

#include "args.h"
#include "command.h"
#include "intervention_options.h"
#include "logitscope/errors.h"
#include "logitscope/trace.h"
#include "model_options.h"

namespace logitscope::cli {
namespace {

int run_trace(const std::vector<std::string>& words) {
  const Args args(words, merge({kModelOptions, kInterventionOptions, {"ids", "text-file", "top-k", "chunk", "out"}}),
                  {"template", "internals"});
  const std::string out = args.require("out");
  TraceOptions trace;
  trace.top_k = int(args.get_int("top-k", 5));
  if (trace.top_k < 1 || trace.top_k > 50) throw Error("option --top-k must be in 1..50");
  trace.chunk = args.get_int("chunk", 512);
  if (trace.chunk < 1) throw Error("option --chunk must be positive");
  trace.internals = args.has("internals");
  trace.interventions = interventions_from(args);
  const auto [model, ids] = load_for_scoring(args);
  const Trace result = trace_tokens(*model, ids, trace);
  write_trace(result, out);
  std::cerr << "wrote " << out << ": " << ids.size() << " tokens (trace.jsonl, meta.json, "
            << (trace.internals ? "predicted, routing and internals arrays" : "predicted and routing arrays") << ")\n";
  return 0;
}

const CommandRegistration registration{{
    "trace",
    "write a text's per-token trace for notebooks (JSONL + NumPy arrays)",
    std::string("usage: logitscope-cli trace --model M (--text-file F [--template] | --ids 1,2,3) --out DIR\n"
                "                            [--top-k 5] [--internals] [--chunk 512] [interventions] [model options]\n\n"
                "Runs the tokens through the model (teacher forcing, --chunk tokens per forward) and writes into\n"
                "DIR: trace.jsonl (one object per token: pos, id, text, logprob, rank, entropy, top_k, routing),\n"
                "meta.json (model, layers, what each array holds) and .npy arrays (ids, logprob, entropy, rank,\n"
                "topk_ids, topk_logprob, routing_experts, routing_weights, routing_margin; with --internals also\n"
                "router_scores, router_selection, mamba_dt, mamba_state_norm, attention: CPU backend). Load them\n"
                "with tools/read_trace.py or numpy.load; the layout is in docs/traces.md.\n\n") +
        kModelOptionsUsage + "\n" + kInterventionOptionsUsage,
    run_trace,
}};

}  // namespace
}  // namespace logitscope::cli
