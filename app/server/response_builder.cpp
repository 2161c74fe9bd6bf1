// SPDX-License-Identifier: GPL-3.0-or-later
#include "response_builder.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "logitscope/tokenizer.h"

namespace logitscope::server {
namespace {

using nlohmann::json;

std::string random_id(const char* prefix) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return std::string(prefix) + hex;
}

// Bytes -> valid UTF-8: malformed or truncated sequences become U+FFFD.
std::string valid_utf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok && len == 2) ok = c >= 0xC2;
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

json byte_list(const std::string& bytes) {
  json out = json::array();
  for (char c : bytes) out.push_back(static_cast<int>(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string to_json_text(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

ResponseBuilder::ResponseBuilder(const PreparedRequest& request, const Model& model)
    : request_(request), model_(model),
      id_(random_id(request.endpoint == Endpoint::Chat ? "chatcmpl-" : "cmpl-")),
      created_(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                   .count()) {}

json ResponseBuilder::usage(std::int64_t prompt, std::int64_t completion) {
  return {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
}

std::string ResponseBuilder::token_text(TokenId id) const {
  const Tokenizer* tokenizer = model_.tokenizer();
  if (request_.tokens_as_ids || !tokenizer) return "token_id:" + std::to_string(id);
  return valid_utf8(tokenizer->token_bytes(id));
}

json ResponseBuilder::chat_logprobs(const std::vector<TokenInfo>& tokens) const {
  json content = json::array();
  const Tokenizer* tokenizer = model_.tokenizer();
  auto entry = [&](TokenId id, float logprob) {
    const std::string bytes = tokenizer ? tokenizer->token_bytes(id) : std::string();
    return json{{"token", token_text(id)}, {"logprob", logprob}, {"bytes", byte_list(bytes)}};
  };
  for (const TokenInfo& t : tokens) {
    if (t.is_stop) continue;
    json e = entry(t.id, t.logprob);
    json top = json::array();
    for (int k = 0; k < request_.top_logprobs && k < int(t.top.size()); ++k) top.push_back(entry(t.top[k].id, t.top[k].logprob));
    e["top_logprobs"] = std::move(top);
    content.push_back(std::move(e));
  }
  return {{"content", std::move(content)}};
}

json ResponseBuilder::completion_logprobs(const std::vector<TokenInfo>& tokens) {
  json out = {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()},
              {"text_offset", json::array()}};
  for (const TokenInfo& t : tokens) {
    if (t.is_stop) continue;
    const std::string text = token_text(t.id);
    out["tokens"].push_back(text);
    out["token_logprobs"].push_back(t.logprob);
    json top = json::object();
    for (int k = 0; k < request_.top_logprobs && k < int(t.top.size()); ++k) {
      const std::string alt = token_text(t.top[k].id);
      if (!top.contains(alt)) top[alt] = t.top[k].logprob;  // two ids with one spelling: the likelier
    }
    out["top_logprobs"].push_back(std::move(top));
    out["text_offset"].push_back(text_offset_);
    text_offset_ += std::int64_t(text.size());
  }
  return out;
}

json ResponseBuilder::extension(const std::vector<TokenInfo>& tokens) const {
  json list = json::array();
  for (const TokenInfo& t : tokens) {
    json e = {{"pos", t.pos}, {"id", t.id}, {"prob", t.prob}, {"logprob", t.logprob}, {"entropy", t.entropy}};
    json top = json::array();
    for (const TopKEntry& k : t.top) top.push_back({{"id", k.id}, {"logprob", k.logprob}});
    e["top"] = std::move(top);
    if (t.is_stop) e["eos"] = true;
    if (request_.ext_routing) {
      json routing = json::array();
      for (const RoutingSlice& s : t.routing) routing.push_back({{"layer", s.layer}, {"experts", s.experts}, {"weights", s.weights}});
      e["routing"] = std::move(routing);
    }
    list.push_back(std::move(e));
  }
  return {{"tokens", std::move(list)}};
}

json ResponseBuilder::chunk(json choice) const {
  const bool chat = request_.endpoint == Endpoint::Chat;
  json out = {{"id", id_}, {"object", chat ? "chat.completion.chunk" : "text_completion"}, {"created", created_},
              {"model", request_.model}, {"choices", json::array({std::move(choice)})}};
  if (request_.include_usage) out["usage"] = nullptr;
  return out;
}

std::string ResponseBuilder::stream_start() {
  if (request_.endpoint != Endpoint::Chat) return {};
  json choice = {{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr},
                 {"finish_reason", nullptr}};
  return "data: " + to_json_text(chunk(std::move(choice))) + "\n\n";
}

std::string ResponseBuilder::stream_piece(const Piece& piece) {
  if (piece.error) return stream_error(*piece.error);
  const bool chat = request_.endpoint == Endpoint::Chat;
  const bool has_text = !piece.content.empty() || !piece.reasoning.empty();
  std::vector<TokenInfo> logprob_tokens;
  for (const TokenInfo& t : piece.tokens)
    if (!t.is_stop) logprob_tokens.push_back(t);
  const bool has_logprobs = request_.logprobs && !logprob_tokens.empty();
  const bool has_ext = request_.ext_tokens && !piece.tokens.empty();
  std::string out;
  if (has_text || has_logprobs || has_ext || piece.final) {
    json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
    if (chat) {
      json delta = json::object();
      if (!piece.reasoning.empty()) delta["reasoning_content"] = piece.reasoning;
      if (!piece.content.empty()) delta["content"] = piece.content;
      choice["delta"] = std::move(delta);
      if (has_logprobs) choice["logprobs"] = chat_logprobs(logprob_tokens);
    } else {
      choice["text"] = piece.content;
      if (has_logprobs) choice["logprobs"] = completion_logprobs(logprob_tokens);
    }
    if (has_ext) choice["logitscope"] = extension(piece.tokens);
    if (piece.final) choice["finish_reason"] = piece.finish_reason;
    out += "data: " + to_json_text(chunk(std::move(choice))) + "\n\n";
  }
  if (piece.final && request_.include_usage) {
    const bool is_chat = chat;
    json last = {{"id", id_}, {"object", is_chat ? "chat.completion.chunk" : "text_completion"}, {"created", created_},
                 {"model", request_.model}, {"choices", json::array()},
                 {"usage", usage(piece.prompt_tokens, piece.completion_tokens)}};
    out += "data: " + to_json_text(last) + "\n\n";
  }
  return out;
}

std::string ResponseBuilder::stream_error(const ApiError& error) {
  return "data: " + to_json_text(error.body()) + "\n\n";
}

void ResponseBuilder::add(const Piece& piece) {
  reasoning_ += piece.reasoning;
  content_ += piece.content;
  tokens_.insert(tokens_.end(), piece.tokens.begin(), piece.tokens.end());
  if (piece.final) final_ = piece;
}

json ResponseBuilder::response() {
  const bool chat = request_.endpoint == Endpoint::Chat;
  json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", final_.finish_reason}};
  if (chat) {
    json message = {{"role", "assistant"}, {"content", content_}, {"reasoning_content", nullptr}};
    if (!reasoning_.empty()) message["reasoning_content"] = reasoning_;
    choice["message"] = std::move(message);
    if (request_.logprobs) choice["logprobs"] = chat_logprobs(tokens_);
  } else {
    choice["text"] = content_;
    if (request_.logprobs) choice["logprobs"] = completion_logprobs(tokens_);
  }
  if (request_.ext_tokens) choice["logitscope"] = extension(tokens_);
  return {{"id", id_},
          {"object", chat ? "chat.completion" : "text_completion"},
          {"created", created_},
          {"model", request_.model},
          {"choices", json::array({std::move(choice)})},
          {"usage", usage(final_.prompt_tokens, final_.completion_tokens)}};
}

}  // namespace logitscope::server
