// SPDX-License-Identifier: GPL-3.0-or-later
// Turning what an OpenAI-compatible server streams into the plain TokenEvent values the widgets
// draw: `logprobs` (chat: content[{token, logprob, bytes, top_logprobs}]; completions: the legacy
// {tokens, token_logprobs, top_logprobs}) and, from our own server, the `logitscope` extension with
// ids, exact entropy and routing. Pure functions, no network.
#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QString>

#include <optional>
#include <string>
#include <vector>

#include "logitscope/events.h"

namespace logitscope::gui {

// Collects token bytes and hands out only complete UTF-8 characters (a token may end mid-character).
class Utf8Assembler {
 public:
  std::string push(const std::string& bytes);
  std::string flush();  // what is held back; incomplete bytes come out as U+FFFD

 private:
  std::string pending_;
};

// Probability from a server's log probability (-inf/absent -> 0).
float prob_from_logprob(double logprob);

// Entropy (nats) estimated from the top-k only: the listed candidates plus the rest of the mass as
// one more outcome. A lower bound of the true entropy; used when the server sends no exact value.
float entropy_from_top_k(const std::vector<TopKEntry>& top_k);

// "token_id:123" (return_tokens_as_token_ids) -> 123.
std::optional<TokenId> parse_token_id(const QString& token);

// A logprobs entry's exact bytes: its `bytes` list when present, else the token text as UTF-8.
std::string entry_bytes(const QJsonObject& entry);

// One token of our `logitscope` extension.
struct ExtensionToken {
  TokenEvent event;  // pos, id, prob, logprob, entropy, top_k (ids + logprobs), routing
  bool eos = false;
};
std::vector<ExtensionToken> parse_extension(const QJsonObject& choice);

// The candidates of one legacy completions top_logprobs entry ({"token_id:5": -0.1, ...}), best
// first. Keys that are not token ids are skipped (the caller asked for ids).
std::vector<TopKEntry> parse_legacy_top(const QJsonObject& top);

}  // namespace logitscope::gui
