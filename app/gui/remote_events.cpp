// SPDX-License-Identifier: GPL-3.0-or-later
#include "remote_events.h"

#include <algorithm>
#include <cmath>

namespace logitscope::gui {

namespace {

// Length of the UTF-8 sequence a lead byte starts (0: not a lead byte).
int sequence_length(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 0;
}

}  // namespace

std::string Utf8Assembler::push(const std::string& bytes) {
  pending_ += bytes;
  std::string out;
  std::size_t i = 0;
  while (i < pending_.size()) {
    const int length = sequence_length(static_cast<unsigned char>(pending_[i]));
    if (length == 0) {  // a stray continuation byte: it can never complete
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (i + std::size_t(length) > pending_.size()) break;  // wait for the rest of the character
    bool valid = true;
    for (int k = 1; k < length; ++k)
      if ((static_cast<unsigned char>(pending_[i + k]) & 0xC0) != 0x80) valid = false;
    if (!valid) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(pending_, i, std::size_t(length));
    i += std::size_t(length);
  }
  pending_.erase(0, i);
  return out;
}

std::string Utf8Assembler::flush() {
  std::string out;
  if (!pending_.empty()) out = "\xEF\xBF\xBD";
  pending_.clear();
  return out;
}

float prob_from_logprob(double logprob) {
  if (!std::isfinite(logprob)) return 0.0f;
  return float(std::exp(std::min(logprob, 0.0)));
}

float entropy_from_top_k(const std::vector<TopKEntry>& top_k) {
  double entropy = 0.0;
  double mass = 0.0;
  for (const TopKEntry& entry : top_k) {
    if (entry.prob <= 0.0f) continue;
    entropy -= double(entry.prob) * std::log(double(entry.prob));
    mass += entry.prob;
  }
  const double rest = 1.0 - mass;
  if (rest > 1e-9) entropy -= rest * std::log(rest);
  return float(std::max(entropy, 0.0));
}

std::optional<TokenId> parse_token_id(const QString& token) {
  static const QString prefix = QStringLiteral("token_id:");
  if (!token.startsWith(prefix)) return std::nullopt;
  bool ok = false;
  const qlonglong id = token.mid(prefix.size()).toLongLong(&ok);
  if (!ok || id < 0 || id > 0x7fffffff) return std::nullopt;
  return TokenId(id);
}

std::string entry_bytes(const QJsonObject& entry) {
  const QJsonValue bytes = entry.value(QStringLiteral("bytes"));
  if (bytes.isArray()) {
    std::string out;
    for (const QJsonValue& b : bytes.toArray()) out.push_back(char(b.toInt() & 0xff));
    return out;
  }
  return entry.value(QStringLiteral("token")).toString().toStdString();
}

std::vector<ExtensionToken> parse_extension(const QJsonObject& choice) {
  std::vector<ExtensionToken> out;
  const QJsonObject ext = choice.value(QStringLiteral("logitscope")).toObject();
  for (const QJsonValue& value : ext.value(QStringLiteral("tokens")).toArray()) {
    const QJsonObject t = value.toObject();
    ExtensionToken token;
    TokenEvent& e = token.event;
    e.pos = t.value(QStringLiteral("pos")).toInteger();
    e.id = TokenId(t.value(QStringLiteral("id")).toInt());
    e.logprob = float(t.value(QStringLiteral("logprob")).toDouble());
    e.prob = t.contains(QStringLiteral("prob")) ? float(t.value(QStringLiteral("prob")).toDouble()) : prob_from_logprob(e.logprob);
    e.entropy = float(t.value(QStringLiteral("entropy")).toDouble());
    for (const QJsonValue& k : t.value(QStringLiteral("top")).toArray()) {
      const QJsonObject o = k.toObject();
      TopKEntry entry;
      entry.id = TokenId(o.value(QStringLiteral("id")).toInt());
      entry.logprob = float(o.value(QStringLiteral("logprob")).toDouble());
      entry.prob = prob_from_logprob(entry.logprob);
      entry.logit = entry.logprob;  // the server sends no logits; logprobs differ by a constant
      e.top_k.push_back(entry);
    }
    for (const QJsonValue& r : t.value(QStringLiteral("routing")).toArray()) {
      const QJsonObject o = r.toObject();
      RoutingSlice slice;
      slice.layer = o.value(QStringLiteral("layer")).toInt();
      for (const QJsonValue& x : o.value(QStringLiteral("experts")).toArray()) slice.experts.push_back(x.toInt());
      for (const QJsonValue& x : o.value(QStringLiteral("weights")).toArray()) slice.weights.push_back(float(x.toDouble()));
      e.routing.push_back(std::move(slice));
    }
    token.eos = t.value(QStringLiteral("eos")).toBool();
    out.push_back(std::move(token));
  }
  return out;
}

std::vector<TopKEntry> parse_legacy_top(const QJsonObject& top) {
  std::vector<TopKEntry> out;
  for (auto it = top.begin(); it != top.end(); ++it) {
    const auto id = parse_token_id(it.key());
    if (!id) continue;
    TopKEntry entry;
    entry.id = *id;
    entry.logprob = float(it.value().toDouble());
    entry.prob = prob_from_logprob(entry.logprob);
    entry.logit = entry.logprob;
    out.push_back(entry);
  }
  std::sort(out.begin(), out.end(), [](const TopKEntry& a, const TopKEntry& b) { return a.logprob > b.logprob; });
  return out;
}

}  // namespace logitscope::gui
