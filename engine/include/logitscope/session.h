// SPDX-License-Identifier: GPL-3.0-or-later
// One conversation over a loaded model: the token sequence, the backend caches, prefill, stepping,
// generation and exact rewinding. Use from one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "logitscope/events.h"
#include "logitscope/interventions.h"
#include "logitscope/model.h"
#include "logitscope/sampling.h"

namespace logitscope {

struct SessionOptions {
  std::int64_t max_context = 0;        // 0 = the model's LoadOptions::max_context
  int checkpoint_interval = 32;        // recurrent-state checkpoint every N fed tokens (for rewind_to)
  int max_checkpoints = 64;            // oldest are thinned out past this
};

struct GenerateOptions {
  int max_new_tokens = 256;
  std::vector<TokenId> stop_ids;       // empty: the model's stop ids (ModelInfo::stop_ids)
  // Thinking budget: after this many tokens inside a reasoning block, `think_end_id` is forced.
  int thinking_budget = -1;            // -1 = no budget
  TokenId think_start_id = -1;         // -1 = not known / not used
  TokenId think_end_id = -1;
  bool starts_in_thinking = false;     // the prompt ended inside an open reasoning block
};

// The distribution for the next token, without choosing one (for listing candidates before a step).
struct NextTokenPreview {
  std::int64_t pos = 0;                // position the next token would take
  float entropy = 0.0f;                // nats, raw distribution
  std::vector<TopKEntry> top_k;        // best first
  std::vector<RoutingSlice> routing;   // of the forward pass that produced this distribution
};

enum class StopReason { MaxTokens, StopToken, Cancelled, ContextFull };
const char* to_string(StopReason reason);

struct GenerateResult {
  std::vector<TokenEvent> events;
  StopReason reason = StopReason::MaxTokens;
  double prefill_ms = 0.0;             // time to feed the pending prompt tokens
  double decode_ms = 0.0;              // time for the generated tokens
  double time_to_first_token_ms = 0.0;
};

// Called for each token as it is generated; return false to stop.
using OnToken = std::function<bool(const TokenEvent&)>;

class Session {
 public:
  explicit Session(const Model& model, const SessionOptions& options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Appends tokens to the sequence. They are run through the model lazily, at the next step.
  // Throws logitscope::Error when the sequence would exceed the context.
  void prefill(std::span<const TokenId> tokens);
  // Runs pending tokens now (so prefill time is measured apart from the first step).
  void flush(std::stop_token stop = {});

  // Chooses the next token (sampled, or `forced`) from the distribution after the current sequence,
  // appends it and returns what the model saw. The sequence must not be empty.
  TokenEvent step(const SamplingParams& sampling, const ProbeOptions& probe,
                  std::optional<TokenId> forced = std::nullopt, std::stop_token stop = {});

  // The distribution after the current sequence (feeding pending tokens first), computed where the
  // logits are; nothing is appended. The sequence must not be empty.
  NextTokenPreview peek(const ProbeOptions& probe, std::stop_token stop = {});

  GenerateResult generate(const GenerateOptions& options, const SamplingParams& sampling,
                          const ProbeOptions& probe, const OnToken& on_token = {},
                          std::stop_token stop = {});

  // Keeps the first `length` tokens and brings the model state back to exactly what a fresh prefill
  // of them gives: attention caches truncate, recurrent state comes from the nearest checkpoint plus
  // a replay of the tokens since.
  void rewind_to(std::int64_t length);
  void reset();

  // Applies `interventions` to every token at or after their from_position, from now on: tokens
  // already fed from the earlier of the old and new starting positions are run again at the next
  // step (the state before that point is exact: it comes from a checkpoint). Throws
  // logitscope::Error (nothing changed) when they do not fit the model.
  void set_interventions(const Interventions& interventions);
  const Interventions& interventions() const;

  // Replaces the sequence with `ids`, runs them in one forward pass and returns the logits of every
  // position, row-major [ids.size(), vocab]; `routing` (optional) gets [ids.size()][moe layers].
  std::vector<float> evaluate(std::span<const TokenId> ids, std::vector<std::vector<RoutingSlice>>* routing = nullptr,
                              std::stop_token stop = {});

  const std::vector<TokenId>& tokens() const { return tokens_; }
  std::int64_t length() const { return std::int64_t(tokens_.size()); }
  std::int64_t max_context() const;
  // Recurrent-state checkpoints dropped or not taken because memory ran out (generation went on
  // without them; a rewind past them replays more tokens).
  std::int64_t checkpoints_lost_to_memory() const;
  const Model& model() const { return model_; }
  // Logits for the last fed position, after flush() (for diagnostics and the `logits` CLI).
  std::vector<float> last_logits();
  // Tokens replayed by the last rewind_to (for tests and the UI).
  std::int64_t last_replay_length() const { return last_replay_; }

 private:
  struct Impl;
  const Model& model_;
  std::unique_ptr<Impl> impl_;
  std::vector<TokenId> tokens_;
  std::int64_t last_replay_ = 0;
};

}  // namespace logitscope
