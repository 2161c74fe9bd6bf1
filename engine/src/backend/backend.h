// SPDX-License-Identifier: GPL-3.0-or-later
// The interface both backends (cpu: fp32 reference, cuda: bf16 fused kernels) implement. The session
// drives it; nothing above the session sees a backend directly.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "logitscope/config.h"
#include "logitscope/errors.h"
#include "logitscope/events.h"
#include "logitscope/inspect.h"
#include "logitscope/interventions.h"
#include "logitscope/model.h"
#include "logitscope/sampling.h"
#include "model/weights.h"

namespace logitscope {

// Per-session caches: KV cache of every attention layer, conv + SSM state of every Mamba layer, and
// the outputs of the last forward (logits, routing).
// Throws Error naming the first id outside [0, vocab): every path that feeds ids (the backends'
// forward, the session, inspect, lens, evaluate) says it the same way.
inline void check_token_ids(std::span<const TokenId> ids, std::int64_t vocab) {
  for (TokenId id : ids)
    if (id < 0 || id >= vocab)
      throw Error("token id " + std::to_string(id) + " is outside the vocabulary (0.." + std::to_string(vocab - 1) + ")");
}

class BackendState {
 public:
  virtual ~BackendState() = default;
  std::int64_t fed = 0;           // tokens run through the model so far
  std::int64_t max_context = 0;
};

// A copy of the recurrent state (Mamba conv + SSM) after `fed` tokens. Attention caches need no copy:
// they are truncated to `fed` on restore.
class RecurrentCheckpoint {
 public:
  virtual ~RecurrentCheckpoint() = default;
  std::int64_t fed = 0;
  virtual std::uint64_t bytes() const = 0;
};

struct ForwardOptions {
  bool all_logits = false;        // keep logits of every fed token (else only the last)
  bool capture_routing = true;    // keep the routing of the last token
  bool lens_last = false;         // keep the logit lens of the last token (lens_logits)
  bool capture_internals = false; // keep routers' scores, Mamba dt, attention weights of every row (internals)
  bool capture_attention = true;  // with capture_internals: the attention weights too
  // With capture_attention: only these query positions' weights, ascending (null: every row).
  const std::vector<std::int64_t>* attention_rows = nullptr;
  // Applied to the rows at positions >= interventions->from_position (null or empty: none). The
  // caller validates them against the model first.
  const Interventions* interventions = nullptr;
};

// The first row of a forward of `rows` tokens starting at position `fed` that `interventions` touch
// (`rows` when none does).
inline std::int64_t first_intervened_row(const Interventions* interventions, std::int64_t fed, std::int64_t rows) {
  if (!interventions || interventions->empty()) return rows;
  return std::clamp<std::int64_t>(interventions->from_position - fed, 0, rows);
}

// What the session asks of the distribution after the last fed token.
struct ChoiceRequest {
  SamplingParams sampling;
  int report_top_k = 20;          // alternatives to return (0..50)
  std::optional<TokenId> forced;  // take this id instead of sampling
  double uniform = 0.0;           // a draw in [0, 1) from the session's RNG, for sampling
};

struct ChoiceResult {
  TokenId id = 0;
  float prob = 0.0f;              // raw model probability (softmax of the logits, temperature 1)
  float logprob = 0.0f;
  float entropy = 0.0f;           // nats, raw distribution
  std::vector<TopKEntry> top_k;   // best first
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string device_name() const = 0;
  virtual std::uint64_t device_bytes() const = 0;  // memory held for weights (+ workspaces)

  virtual std::unique_ptr<BackendState> create_state(std::int64_t max_context) = 0;

  // Runs `tokens` at positions state.fed .. state.fed + n - 1 and advances state.fed. Throws
  // Cancelled when `stop` is requested (state is then unspecified: restore or reset it).
  virtual void forward(BackendState& state, std::span<const TokenId> tokens,
                       const ForwardOptions& options, std::stop_token stop = {}) = 0;

  // Logits of the last forward, row-major [rows, vocab]: rows = tokens of that forward when
  // all_logits was set, else 1 (the last token).
  virtual std::vector<float> logits(BackendState& state) = 0;
  // Routing of the last token of the last forward, one slice per MoE layer (empty if not captured).
  virtual std::vector<RoutingSlice> routing(BackendState& state) = 0;
  // Routing of every token of the last forward when it ran with all_logits ([tokens][moe layers]).
  // Backends that keep only the last token return just that one.
  virtual std::vector<std::vector<RoutingSlice>> routing_all(BackendState& state) { return {routing(state)}; }
  // The logit lens of the last token of the last forward that asked for it (lens_last): row i is
  // lm_head(final norm(residual after layer i)), [layers, vocab]. Backends that cannot throw.
  virtual std::vector<float> lens_logits(BackendState& state) {
    (void)state;
    throw Error("the logit lens is not available on the " + device_name() + " backend yet");
  }
  // Whether forward() honours capture_internals; when not, internals() throws the reason (callers
  // ask first, so that a long prompt is not run for nothing).
  virtual bool captures_internals() const { return false; }
  // The internals of every row of the last forward that asked for them (capture_internals).
  virtual PromptInternals internals(BackendState& state) {
    (void)state;
    throw Error("layer internals (router scores, Mamba dt, attention weights) are not available on the " +
                device_name() + " backend yet");
  }
  // Summarises the last token's distribution and chooses the next token.
  virtual ChoiceResult choose(BackendState& state, const ChoiceRequest& request) = 0;

  virtual std::unique_ptr<RecurrentCheckpoint> checkpoint(const BackendState& state) = 0;
  // Brings state back to the checkpoint: recurrent state copied, attention caches truncated.
  virtual void restore(BackendState& state, const RecurrentCheckpoint& checkpoint) = 0;
  // Back to an empty sequence.
  virtual void reset(BackendState& state) = 0;
};

std::unique_ptr<Backend> make_cpu_backend(const ModelConfig& config, ModelWeights weights, int threads);
// Defined only when built with LOGITSCOPE_CUDA; otherwise make_backend throws a clear error.
std::unique_ptr<Backend> make_cuda_backend(const ModelConfig& config, const ModelWeights& weights,
                                           std::int64_t max_context, const ProgressFn& progress);

}  // namespace logitscope
