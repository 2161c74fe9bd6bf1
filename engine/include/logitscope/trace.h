// SPDX-License-Identifier: GPL-3.0-or-later
// Traces for notebooks: everything the engine knows about every token of a text (teacher forcing),
// written as one JSON object per token plus dense NumPy arrays (docs/traces.md; tools/read_trace.py
// loads them with numpy alone).
//
// Two kinds of per-token facts, indexed the same way (t = 0..T-1):
//   predicted  how ids[t] looked before it was read: its log-probability, rank and the top-k of the
//              distribution after ids[0..t-1] (nothing at t = 0)
//   forward    what the model did while reading ids[t]: the routing of that forward row (and, with
//              internals, router scores, Mamba dt and state norms, attention weights)
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "logitscope/events.h"
#include "logitscope/inspect.h"
#include "logitscope/interventions.h"
#include "logitscope/model.h"

namespace logitscope {

struct TraceOptions {
  int top_k = 5;                  // 1..50 alternatives per position
  bool internals = false;         // router scores, Mamba dt/state norms, attention weights (CPU backend)
  std::int64_t chunk = 512;       // tokens per forward (memory for one chunk's logits)
  Interventions interventions;    // applied from their from_position on
};

struct Trace {
  std::vector<TokenId> ids;                     // [T]
  std::vector<std::string> texts;               // [T] each token's text (empty without a tokenizer)
  int top_k = 0;
  // predicted (index 0: NaN / -1 / empty)
  std::vector<float> logprob;                   // [T] natural log
  std::vector<float> entropy;                   // [T] nats
  std::vector<std::int64_t> rank;               // [T] 0 = the model's best guess
  std::vector<std::vector<TopKEntry>> top;      // [T][top_k] best first
  // forward
  std::vector<std::vector<RoutingSlice>> routing;  // [T][MoE layers that ran]
  bool has_internals = false;
  PromptInternals internals;                    // rows = input positions (see inspect.h)
  // what produced it
  std::string model_name, weight_format, backend, layer_pattern, interventions;
  std::int64_t vocab_size = 0;
};

// Runs `ids` (at least 1) through the model in chunks. Throws logitscope::Error for ids outside the
// vocabulary or the context, Cancelled when `stop` is requested.
Trace trace_tokens(const Model& model, std::span<const TokenId> ids, const TraceOptions& options,
                   std::stop_token stop = {});

// Writes trace.jsonl, meta.json and the .npy arrays into `dir` (created; files there replaced).
// Throws logitscope::Error naming the file that could not be written.
void write_trace(const Trace& trace, const std::filesystem::path& dir);

}  // namespace logitscope
