// SPDX-License-Identifier: GPL-3.0-or-later
#include "recorded_stream.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace logitscope::test {
namespace {

// What the engine reports for a raw distribution: softmax at temperature 1, entropy in nats, top-k.
TokenEvent event_from_logits(std::int64_t pos, TokenId id, const QJsonArray& logits_json,
                             const QJsonArray& routing_json, int top_k) {
  std::vector<double> logits;
  for (const auto& v : logits_json) logits.push_back(v.toDouble());
  const double max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (double l : logits) sum += std::exp(l - max_logit);
  const double log_z = max_logit + std::log(sum);
  double entropy = 0.0;
  for (double l : logits) {
    const double lp = l - log_z;
    entropy -= std::exp(lp) * lp;
  }
  std::vector<int> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b]; });

  TokenEvent event;
  event.pos = pos;
  event.id = id;
  event.logprob = float(logits[id] - log_z);
  event.prob = float(std::exp(logits[id] - log_z));
  event.entropy = float(entropy);
  for (int k = 0; k < top_k && k < int(order.size()); ++k) {
    const double lp = logits[order[k]] - log_z;
    event.top_k.push_back({TokenId(order[k]), float(std::exp(lp)), float(lp), float(logits[order[k]])});
  }
  for (const auto& s : routing_json) {
    const QJsonObject slice = s.toObject();
    RoutingSlice out;
    out.layer = slice["layer"].toInt();
    for (const auto& e : slice["experts"].toArray()) out.experts.push_back(e.toInt());
    for (const auto& w : slice["weights"].toArray()) out.weights.push_back(float(w.toDouble()));
    event.routing.push_back(std::move(out));
  }
  event.timing.forward_ms = 1.0;
  return event;
}

}  // namespace

std::vector<TokenEvent> load_golden_stream(const QString& model_dir, int top_k) {
  QFile file(model_dir + QStringLiteral("/golden.json"));
  if (!file.open(QIODevice::ReadOnly)) return {};
  const QJsonObject golden = QJsonDocument::fromJson(file.readAll()).object();
  const QJsonArray prompt = golden["prompt_ids"].toArray();
  const QJsonArray logits = golden["logits"].toArray();
  const QJsonArray prompt_routing = golden["prompt_routing"].toArray();
  const QJsonArray greedy = golden["greedy_ids"].toArray();
  const QJsonArray greedy_logits = golden["greedy_logits"].toArray();
  const QJsonArray greedy_routing = golden["greedy_routing"].toArray();

  std::vector<TokenEvent> events;
  // Prompt token j+1 "comes from" the distribution after token j, and the routing of that pass.
  for (int j = 0; j + 1 < prompt.size(); ++j) {
    events.push_back(event_from_logits(j + 1, TokenId(prompt[j + 1].toInt()), logits[j].toArray(),
                                       prompt_routing[j].toArray(), top_k));
  }
  for (int k = 0; k < greedy.size(); ++k) {
    events.push_back(event_from_logits(prompt.size() + k, TokenId(greedy[k].toInt()), greedy_logits[k].toArray(),
                                       greedy_routing[k].toArray(), top_k));
  }
  return events;
}

std::vector<TokenEvent> repeat_stream(const std::vector<TokenEvent>& base, int count) {
  std::vector<TokenEvent> out;
  if (base.empty()) return out;
  out.reserve(std::size_t(count));
  for (int i = 0; i < count; ++i) {
    TokenEvent event = base[std::size_t(i) % base.size()];
    event.pos = i;
    out.push_back(std::move(event));
  }
  return out;
}

}  // namespace logitscope::test
