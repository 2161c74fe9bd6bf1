// SPDX-License-Identifier: GPL-3.0-or-later
// What flows between the HTTP threads and the generation worker: a validated request (prompt ids,
// sampling, stop conditions, what to report) and the pieces of output the worker produces for it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api_error.h"
#include "logitscope/events.h"
#include "logitscope/sampling.h"
#include "logitscope/session.h"

namespace logitscope::server {

enum class Endpoint { Chat, Completion };

struct PreparedRequest {
  Endpoint endpoint = Endpoint::Chat;
  std::string model;                      // the served model name, echoed in responses
  bool stream = false;
  bool include_usage = false;             // stream_options.include_usage
  std::vector<TokenId> prompt_ids;
  bool split_reasoning = false;           // chat: reasoning_content apart from content
  GenerateOptions generate;               // max_new_tokens, stop ids, reasoning tags
  SamplingParams sampling;
  bool seeded = false;                    // the request gave a seed
  std::vector<std::string> stop_strings;  // matched against the generated text
  bool logprobs = false;
  int top_logprobs = 0;                   // 0..20 alternatives per token
  bool tokens_as_ids = false;             // vLLM's return_tokens_as_token_ids: "token_id:N"
  bool ext_tokens = false;                // logitscope extension: per-token ids, probabilities ...
  bool ext_routing = false;               // ... and MoE routing
};

// One generated token, as the response formats need it.
struct TokenInfo {
  std::int64_t pos = 0;
  TokenId id = 0;
  bool is_stop = false;                   // the end-of-sequence token that ended generation
  float prob = 0.0f;
  float logprob = 0.0f;
  float entropy = 0.0f;
  std::vector<TopKEntry> top;             // best first, at most top_logprobs (or the extension's 20)
  std::vector<RoutingSlice> routing;      // only with ext_routing
};

// A step of output. Text fields hold only what is new since the previous piece.
struct Piece {
  std::string reasoning;
  std::string content;
  std::vector<TokenInfo> tokens;
  bool final = false;
  std::string finish_reason;              // "stop" or "length" (final pieces)
  std::int64_t prompt_tokens = 0;         // final pieces
  std::int64_t completion_tokens = 0;
  std::optional<ApiError> error;          // the generation failed (final pieces)
};

// Worker -> HTTP thread. Closed by the worker when the request is done (or dropped).
class PieceChannel {
 public:
  void push(Piece piece);
  void close();
  // Waits up to `timeout` for pieces; returns what is there. `finished`: closed and drained.
  std::vector<Piece> take(std::chrono::milliseconds timeout, bool& finished);

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Piece> pieces_;
  bool closed_ = false;
};

}  // namespace logitscope::server
