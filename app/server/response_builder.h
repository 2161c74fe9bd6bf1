// SPDX-License-Identifier: GPL-3.0-or-later
// Pieces -> OpenAI response bodies: chat.completion / text_completion objects, or their streamed
// chunks as server-sent events. Logprobs in the chat shape (choices[].logprobs.content[]) or the
// legacy completions shape, and the `logitscope` extension field (see docs/serve.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "generation_types.h"
#include "logitscope/model.h"

namespace logitscope::server {

class ResponseBuilder {
 public:
  ResponseBuilder(const PreparedRequest& request, const Model& model);

  // Streaming: each returns zero or more complete SSE events ("data: {...}\n\n").
  std::string stream_start();
  std::string stream_piece(const Piece& piece);
  static std::string stream_error(const ApiError& error);
  static std::string stream_done() { return "data: [DONE]\n\n"; }

  // Not streaming: collect every piece, then build the one response object.
  void add(const Piece& piece);
  nlohmann::json response();

  const std::string& id() const { return id_; }

 private:
  nlohmann::json chunk(nlohmann::json choice) const;
  nlohmann::json chat_logprobs(const std::vector<TokenInfo>& tokens) const;
  nlohmann::json completion_logprobs(const std::vector<TokenInfo>& tokens);
  nlohmann::json extension(const std::vector<TokenInfo>& tokens) const;
  std::string token_text(TokenId id) const;
  static nlohmann::json usage(std::int64_t prompt, std::int64_t completion);

  const PreparedRequest& request_;
  const Model& model_;
  std::string id_;
  std::int64_t created_ = 0;
  std::int64_t text_offset_ = 0;     // legacy logprobs: where the next token starts in the text
  // Accumulated (non-streaming).
  std::string reasoning_;
  std::string content_;
  std::vector<TokenInfo> tokens_;
  Piece final_;
};

// Serialises with invalid UTF-8 replaced (a token may be part of a character).
std::string to_json_text(const nlohmann::json& value);

}  // namespace logitscope::server
