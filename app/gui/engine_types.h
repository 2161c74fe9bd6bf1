// SPDX-License-Identifier: GPL-3.0-or-later
// Plain values that cross between the GUI thread and the engine worker through queued signals.
// They hold no pointers into the engine, so either side can drop them at any time.
#pragma once

#include <QMetaType>
#include <QString>

#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include <atomic>
#include <memory>

#include "lens_capture.h"
#include "logitscope/events.h"
#include "logitscope/interventions.h"
#include "model_comparison.h"
#include "prompt_inside.h"
#include "scored_text.h"

namespace logitscope::gui {

struct LoadRequest {
  QString model;        // a folder, or a hub id
  QString revision = QStringLiteral("main");
  QString cache_dir;    // empty: the default hub cache
  QString backend = QStringLiteral("cpu");
  std::int64_t max_context = 8192;
  int threads = 0;
  QString synthetic_config;  // instead of `model`: random weights at this config.json's shape (CUDA)
  QString quantize;          // "", "fp8" or "nvfp4": quantize a BF16 snapshot while loading
  std::stop_token stop;  // cancels the load between files
};

struct ModelSummary {
  QString model;             // as asked for
  QString snapshot_dir;
  QString backend;
  QString device_name;
  QString pattern;           // "MEMEM*E..."
  bool is_demo = false;      // the toy demo model, not a real checkpoint
  bool has_tokenizer = false;
  bool has_template = false;
  bool can_think = false;    // <think> and </think> are tokens of the vocabulary
  int num_layers = 0;
  std::vector<int> moe_layers;
  int num_experts = 0;
  int experts_per_tok = 0;
  std::int64_t vocab_size = 0;
  std::int64_t max_context = 0;
  std::uint64_t parameter_count = 0;
  std::uint64_t device_bytes = 0;
  QString weight_format;           // "BF16", "F32", "BF16 + F32"; empty for a remote server
  std::uint64_t bytes_per_token = 0;     // weights one decoded token reads
  double floor_tokens_per_second = 0.0;  // what the device's measured copy rate allows (0: not measured)
  QString memory_plan;                   // GPU memory the load needed against what was free (CUDA)
  // A remote OpenAI-compatible server (remote_worker.h) instead of a local engine.
  QString remote_url;              // empty: local
  bool provides_routing = true;    // per-token MoE routing comes with the tokens
  bool exact_entropy = true;       // false: entropy is estimated from the top-k logprobs
};

struct LoadProgressInfo {
  QString stage;
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
};

// Sampling and generation settings as the settings panel edits them.
struct GenerationSettings {
  double temperature = 0.7;
  double top_p = 0.95;
  int top_k = 0;
  double min_p = 0.0;
  std::uint64_t seed = 0;
  int max_new_tokens = 512;
  int thinking_budget = -1;   // -1: no budget
  int probe_top_k = 20;       // alternatives recorded per token
};

// One turn of the conversation as the prompt needs it.
struct PromptTurn {
  std::string role;
  std::string content;               // user/system text, or the reply's answer
  std::vector<TokenId> ids;          // a reply's generated tokens (used when there is no chat template)
};

struct GenerateRequest {
  std::uint64_t id = 0;
  std::vector<PromptTurn> turns;     // up to and including the last user message
  bool enable_thinking = false;
  std::vector<TokenId> prefix;       // reply tokens kept (the branch up to the fork point)
  std::optional<TokenId> forced;     // the first new token, chosen by the user
  int steps = -1;                    // -1: run until a stop token or max_new_tokens; N: N tokens
  bool preview_next = false;         // afterwards, list the candidates for the next token
  // The branch's interventions; from_position counts the reply's tokens (the worker adds the prompt).
  Interventions interventions;
  GenerationSettings settings;
  std::stop_token stop;
};

struct PromptInfo {
  std::uint64_t request = 0;
  std::int64_t prompt_length = 0;    // tokens before the reply
  std::int64_t reused = 0;           // tokens kept from the previous request (no recompute)
  std::int64_t replayed = 0;         // tokens the rewind replayed from a checkpoint
  bool starts_in_thinking = false;
};

struct TokenBatch {
  std::uint64_t request = 0;
  std::vector<TokenEvent> events;
  std::vector<std::pair<TokenId, std::string>> labels;  // raw bytes of new top-k ids
};

struct NextPreview {
  std::uint64_t request = 0;
  float entropy = 0.0f;
  std::vector<TopKEntry> top_k;
  std::vector<std::pair<TokenId, std::string>> labels;
};

struct GenerationStats {
  std::uint64_t request = 0;
  QString stop_reason;               // "max_tokens", "stop_token", "cancelled", "context_full", "steps"
  int tokens = 0;
  double prefill_ms = 0.0;
  double decode_ms = 0.0;
  double time_to_first_token_ms = 0.0;
  double tokens_per_second = 0.0;
  std::int64_t prompt_tokens = 0;    // the rendered prompt (earlier turns included)
  std::int64_t context_used = 0;     // tokens in the session after this request
  std::int64_t context_max = 0;
};

// The surprise of a text (the Surprise dock): `text` scored as it is, or when empty the conversation
// `turns` rendered through the chat template.
struct EvaluateRequest {
  std::uint64_t id = 0;
  QString text;
  QString source;                    // what the view calls it ("pasted text", a file name)
  std::vector<PromptTurn> turns;
  bool enable_thinking = false;
  int top_k = 10;
  std::stop_token stop;
};

struct EvaluateResult {
  std::uint64_t request = 0;
  workbench::ScoredText text;
};

// The conversation as the "see inside" docks ask for it: the prompt of `turns` (up to the inspected
// reply) followed by that reply's tokens.
struct ConversationIds {
  std::vector<PromptTurn> turns;
  bool enable_thinking = false;
  std::vector<TokenId> reply;
  // A text's own ids (a token picked in the Surprise dock), read as they are: no chat template, no
  // reply; when set, turns and reply are empty and "reply token i" is the text's token i.
  std::vector<TokenId> text;
  // The reply branch's interventions (from_position counts reply tokens): the lens reads the model
  // the branch was generated with. The Router and Attention/Mamba docks show the plain model.
  Interventions interventions;
};

// The logit lens (the Lens dock) at the forward that chose reply token `reply_index`; -1 or past the
// reply: at the last position (what the model would say next).
struct LensRequest {
  std::uint64_t id = 0;
  ConversationIds conversation;
  int reply_index = -1;
  int top_k = 10;
  std::stop_token stop;  // requested when a newer lens request comes: the running one stops
  // The newest lens request's id: a queued one that is older is skipped without computing, so a
  // burst of selections costs one lens (shared with the controller that numbers the requests).
  std::shared_ptr<const std::atomic<std::uint64_t>> newest;
};

struct LensResult {
  std::uint64_t request = 0;
  workbench::LensCapture lens;
};

// The most a capture keeps of every attention row (all layers, all heads) before it keeps only the
// selected row: a conversation of a few hundred tokens at the real model's shape.
inline constexpr std::int64_t kFullAttentionBytes = std::int64_t(64) << 20;

// The internals of the whole conversation (the Router dock); superseded like LensRequest.
struct InsideRequest {
  std::uint64_t id = 0;
  ConversationIds conversation;
  // Attention weights ([heads, positions, positions] per layer) only for a view that draws them; past
  // full_attention_bytes only the row of the forward that chose reply token `reply_index` (-1: the last).
  bool keep_attention = false;
  int reply_index = -1;
  std::int64_t full_attention_bytes = kFullAttentionBytes;
  std::stop_token stop;  // requested when a newer inside request comes
  std::shared_ptr<const std::atomic<std::uint64_t>> newest;
};

struct InsideResult {
  std::uint64_t request = 0;
  workbench::PromptInside inside;
};

// Two forward passes over the conversation compared (the Effect and Compare docks). Effect: the
// window's model under `interventions_a` (the reference branch's) against itself under
// `interventions_b` (the branch's). Compare: the window's model under `interventions_a` (the branch's)
// against the second model under `interventions_b`. Both count "from" in reply tokens, as branches
// do. Superseded like LensRequest, per kind.
struct CompareRequest {
  std::uint64_t id = 0;
  ConversationIds conversation;        // its interventions are unused: the two sides' are below
  bool second_model = false;           // false: the Effect (one model, two sets of interventions)
  Interventions interventions_a, interventions_b;
  std::int64_t texts_diverge = -1;     // copied into the result (the view marks it)
  int top_k = 10;
  std::shared_ptr<const std::atomic<std::uint64_t>> newest;
};

struct CompareResult {
  std::uint64_t request = 0;
  bool second_model = false;
  workbench::ModelComparison comparison;
};

// File > Export Trace: the conversation's tokens written as `logitscope-cli trace --out DIR` writes
// them (trace_tokens + write_trace), under the branch's interventions.
struct TraceExportRequest {
  std::uint64_t id = 0;
  ConversationIds conversation;
  QString dir;
  int top_k = 5;
  bool internals = false;
  std::stop_token stop;
};

struct TraceExported {
  std::uint64_t request = 0;
  QString dir;
  std::int64_t tokens = 0;
  QString interventions;               // as meta.json names them ("" for none)
  double ms = 0.0;
};

// Registers every type above for queued connections (call once, before the worker starts).
void register_engine_types();

}  // namespace logitscope::gui

Q_DECLARE_METATYPE(logitscope::gui::LoadRequest)
Q_DECLARE_METATYPE(logitscope::gui::ModelSummary)
Q_DECLARE_METATYPE(logitscope::gui::LoadProgressInfo)
Q_DECLARE_METATYPE(logitscope::gui::GenerateRequest)
Q_DECLARE_METATYPE(logitscope::gui::PromptInfo)
Q_DECLARE_METATYPE(logitscope::gui::TokenBatch)
Q_DECLARE_METATYPE(logitscope::gui::NextPreview)
Q_DECLARE_METATYPE(logitscope::gui::GenerationStats)
Q_DECLARE_METATYPE(logitscope::gui::EvaluateRequest)
Q_DECLARE_METATYPE(logitscope::gui::EvaluateResult)
Q_DECLARE_METATYPE(logitscope::gui::LensRequest)
Q_DECLARE_METATYPE(logitscope::gui::LensResult)
Q_DECLARE_METATYPE(logitscope::gui::InsideRequest)
Q_DECLARE_METATYPE(logitscope::gui::InsideResult)
Q_DECLARE_METATYPE(logitscope::gui::CompareRequest)
Q_DECLARE_METATYPE(logitscope::gui::CompareResult)
Q_DECLARE_METATYPE(logitscope::gui::TraceExportRequest)
Q_DECLARE_METATYPE(logitscope::gui::TraceExported)
