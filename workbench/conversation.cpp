// SPDX-License-Identifier: GPL-3.0-or-later
#include "conversation.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

#include <cmath>
#include <limits>

#include "logitscope/errors.h"

namespace logitscope::workbench {
namespace {

const QLatin1String kFormat("logitscope-conversation");

// Token bytes may be part of a UTF-8 sequence, so they are stored as base64, not as JSON strings.
QString bytes_to_json(const std::string& bytes) {
  return QString::fromLatin1(QByteArray(bytes.data(), qsizetype(bytes.size())).toBase64());
}

std::string bytes_from_json(const QJsonValue& value) {
  const QByteArray raw = QByteArray::fromBase64(value.toString().toLatin1());
  return std::string(raw.constData(), std::size_t(raw.size()));
}

std::string utf8(const QJsonValue& value) { return value.toString().toStdString(); }

// Floats go out as doubles; QJsonDocument prints the shortest text that reads back to the same
// double, and float -> double -> float is exact, so the file round-trips bit for bit.
// JSON has no infinities (a forced token of probability 0 has logprob -inf), so those are strings.
QJsonValue num(float value) {
  if (std::isfinite(value)) return double(value);
  if (std::isnan(value)) return QStringLiteral("nan");
  return value > 0 ? QStringLiteral("inf") : QStringLiteral("-inf");
}

float fnum(const QJsonValue& value) {
  if (value.isString()) {
    const QString text = value.toString();
    if (text == QLatin1String("inf")) return std::numeric_limits<float>::infinity();
    if (text == QLatin1String("-inf")) return -std::numeric_limits<float>::infinity();
    return std::numeric_limits<float>::quiet_NaN();
  }
  return float(value.toDouble());
}

}  // namespace

std::vector<TokenEvent> Conversation::branch_events(int index, int branch) const {
  if (index < 0 || index >= int(messages.size())) return {};
  const auto& branches = messages[index].branches;
  if (branch < 0 || branch >= int(branches.size())) return {};
  std::vector<int> chain;  // branch, parent, grandparent, ...
  for (int b = branch; b >= 0 && int(chain.size()) <= int(branches.size()); b = branches[b].parent) chain.push_back(b);
  std::vector<TokenEvent> out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const Branch& part = branches[*it];
    out.resize(std::min<std::size_t>(out.size(), std::size_t(std::max(part.fork_at, 0))));
    out.insert(out.end(), part.events.begin(), part.events.end());
  }
  return out;
}

std::vector<TokenEvent> Conversation::current_events(int index) const {
  if (index < 0 || index >= int(messages.size())) return {};
  return branch_events(index, messages[index].current_branch);
}

int Conversation::choose_branch(int index, int branch) {
  if (index < 0 || index >= int(messages.size())) return -1;
  ChatMessage& reply = messages[index];
  if (branch < 0 || branch >= int(reply.branches.size())) return -1;
  if (branch == reply.current_branch) return branch;
  std::vector<ChatMessage> after(std::make_move_iterator(messages.begin() + index + 1),
                                 std::make_move_iterator(messages.end()));
  messages.resize(std::size_t(index) + 1);
  ChatMessage& kept = messages[index];  // the resize may not move it, but be explicit
  if (kept.current_branch >= 0 && kept.current_branch < int(kept.branches.size()))
    kept.branches[kept.current_branch].followers = std::move(after);
  kept.current_branch = branch;
  std::vector<ChatMessage> back = std::move(kept.branches[branch].followers);
  kept.branches[branch].followers.clear();
  messages.insert(messages.end(), std::make_move_iterator(back.begin()), std::make_move_iterator(back.end()));
  return branch;
}

int Conversation::add_branch(int index, int parent, int fork_at) {
  if (index < 0 || index >= int(messages.size())) return -1;
  auto& branches = messages[index].branches;
  if (parent >= int(branches.size())) return -1;
  Branch branch;
  branch.parent = parent;
  branch.fork_at = parent < 0 ? 0 : fork_at;
  if (parent >= 0) branch.interventions = branches[parent].interventions;
  branches.push_back(std::move(branch));
  return choose_branch(index, int(branches.size()) - 1);
}

std::vector<TokenId> Conversation::current_ids(int index) const {
  std::vector<TokenId> ids;
  for (const auto& event : current_events(index)) ids.push_back(event.id);
  return ids;
}

QJsonObject event_to_json(const TokenEvent& event) {
  QJsonObject object;
  object["pos"] = double(event.pos);
  object["id"] = event.id;
  object["text"] = QString::fromStdString(event.text);
  object["bytes"] = bytes_to_json(event.bytes);
  object["forced"] = event.forced;
  if (event.end_of_turn) object["end_of_turn"] = true;
  object["prob"] = num(event.prob);
  object["logprob"] = num(event.logprob);
  object["entropy"] = num(event.entropy);
  QJsonArray top_k;
  for (const auto& entry : event.top_k) {
    top_k.append(QJsonArray{entry.id, num(entry.prob), num(entry.logprob), num(entry.logit)});
  }
  object["top_k"] = top_k;
  QJsonArray routing;
  for (const auto& slice : event.routing) {
    QJsonArray experts, weights;
    for (int e : slice.experts) experts.append(e);
    for (float w : slice.weights) weights.append(num(w));
    QJsonObject slice_object{{"layer", slice.layer}, {"experts", experts}, {"weights", weights}};
    if (std::isfinite(slice.margin)) slice_object["margin"] = num(slice.margin);
    routing.append(slice_object);
  }
  object["routing"] = routing;
  object["timing"] = QJsonObject{{"forward_ms", event.timing.forward_ms}, {"sample_ms", event.timing.sample_ms}};
  return object;
}

TokenEvent event_from_json(const QJsonObject& object) {
  TokenEvent event;
  event.pos = std::int64_t(object["pos"].toDouble());
  event.id = TokenId(object["id"].toInt());
  event.text = utf8(object["text"]);
  event.bytes = bytes_from_json(object["bytes"]);
  event.forced = object["forced"].toBool();
  event.end_of_turn = object["end_of_turn"].toBool();
  event.prob = fnum(object["prob"]);
  event.logprob = fnum(object["logprob"]);
  event.entropy = fnum(object["entropy"]);
  for (const auto& value : object["top_k"].toArray()) {
    const QJsonArray entry = value.toArray();
    event.top_k.push_back({TokenId(entry.at(0).toInt()), fnum(entry.at(1)), fnum(entry.at(2)), fnum(entry.at(3))});
  }
  for (const auto& value : object["routing"].toArray()) {
    const QJsonObject slice_object = value.toObject();
    RoutingSlice slice;
    slice.layer = slice_object["layer"].toInt();
    for (const auto& e : slice_object["experts"].toArray()) slice.experts.push_back(e.toInt());
    for (const auto& w : slice_object["weights"].toArray()) slice.weights.push_back(fnum(w));
    if (slice_object.contains(QLatin1String("margin"))) slice.margin = fnum(slice_object["margin"]);
    event.routing.push_back(std::move(slice));
  }
  const QJsonObject timing = object["timing"].toObject();
  event.timing.forward_ms = timing["forward_ms"].toDouble();
  event.timing.sample_ms = timing["sample_ms"].toDouble();
  return event;
}

QJsonObject interventions_to_json(const Interventions& iv) {
  QJsonObject out{{"from", qint64(iv.from_position)}};
  auto texts = [](const auto& items) {
    QJsonArray list;
    for (const auto& item : items) list.append(QString::fromStdString(to_text(item)));
    return list;
  };
  if (!iv.masked.empty()) out["mask"] = texts(iv.masked);
  if (!iv.forced.empty()) out["force"] = texts(iv.forced);
  if (!iv.scaled.empty()) out["scale"] = texts(iv.scaled);
  if (!iv.skipped.empty()) {
    QJsonArray skip;
    for (int layer : iv.skipped) skip.append(layer);
    out["skip"] = skip;
  }
  return out;
}

bool interventions_from_json(const QJsonObject& object, Interventions* out, QString* error) {
  Interventions iv;
  try {
    iv.from_position = object["from"].toInteger(0);
    for (const auto& v : object["mask"].toArray()) iv.masked.push_back(parse_expert_mask(v.toString().toStdString()));
    for (const auto& v : object["force"].toArray()) iv.forced.push_back(parse_forced_experts(v.toString().toStdString()));
    for (const auto& v : object["scale"].toArray()) iv.scaled.push_back(parse_part_scale(v.toString().toStdString()));
    for (const auto& v : object["skip"].toArray()) {
      if (!v.isDouble()) throw Error("skip: expected layer numbers");
      iv.skipped.push_back(v.toInt());
    }
  } catch (const Error& e) {
    *error = QStringLiteral("interventions: %1").arg(QString::fromUtf8(e.what()));
    return false;
  }
  if (iv.from_position < 0) {
    *error = QStringLiteral("interventions: \"from\" is negative");
    return false;
  }
  *out = std::move(iv);
  return true;
}

namespace {

// Followers nest messages inside branches; a damaged or hostile file must not recurse without end.
constexpr int kMaxFollowerDepth = 256;

QJsonArray messages_to_json(const std::vector<ChatMessage>& list) {
  QJsonArray messages;
  for (const auto& message : list) {
    QJsonObject m{{"role", message.role}, {"content", message.content}, {"thinking", message.thinking}};
    if (message.is_reply()) {
      m["reasoning"] = message.reasoning;
      m["starts_in_thinking"] = message.starts_in_thinking;
      m["current_branch"] = message.current_branch;
      QJsonArray branches;
      for (const auto& branch : message.branches) {
        QJsonArray events;
        for (const auto& event : branch.events) events.append(event_to_json(event));
        QJsonObject b{{"parent", branch.parent}, {"fork_at", branch.fork_at}, {"stop_reason", branch.stop_reason},
                      {"events", events}};
        if (!branch.followers.empty()) b["followers"] = messages_to_json(branch.followers);
        if (!branch.interventions.empty()) b["interventions"] = interventions_to_json(branch.interventions);
        branches.append(b);
      }
      m["branches"] = branches;
    }
    messages.append(m);
  }
  return messages;
}

// `where` names the list in errors ("message 3", "message 3, branch 1, follower 0").
bool messages_from_json(const QJsonArray& array, const QString& where, int depth, std::vector<ChatMessage>* out,
                        QString* error) {
  if (depth > kMaxFollowerDepth) {
    *error = QStringLiteral("%1: branches nest deeper than %2 levels").arg(where).arg(kMaxFollowerDepth);
    return false;
  }
  for (const auto& value : array) {
    const QJsonObject m = value.toObject();
    const QString here = (where.isEmpty() ? QStringLiteral("message %1") : where + QStringLiteral(", follower %1")).arg(out->size());
    ChatMessage message;
    message.role = m["role"].toString();
    if (message.role.isEmpty()) {
      *error = QStringLiteral("%1 has no \"role\"").arg(here);
      return false;
    }
    message.content = m["content"].toString();
    message.thinking = m["thinking"].toBool();
    message.reasoning = m["reasoning"].toString();
    message.starts_in_thinking = m["starts_in_thinking"].toBool();
    message.current_branch = m["current_branch"].toInt();
    for (const auto& b : m["branches"].toArray()) {
      const QJsonObject bo = b.toObject();
      Branch branch;
      branch.parent = bo["parent"].toInt(-1);
      branch.fork_at = bo["fork_at"].toInt();
      branch.stop_reason = bo["stop_reason"].toString();
      for (const auto& e : bo["events"].toArray()) branch.events.push_back(event_from_json(e.toObject()));
      // Files written before "end_of_turn" existed: a branch that stopped on a stop token ends in it.
      if (branch.stop_reason == QLatin1String("stop_token") && !branch.events.empty()) branch.events.back().end_of_turn = true;
      const QString branch_where = here + QStringLiteral(", branch %1").arg(message.branches.size());
      if (bo.contains("interventions") && !interventions_from_json(bo["interventions"].toObject(), &branch.interventions, error)) {
        *error = branch_where + QStringLiteral(": ") + *error;
        return false;
      }
      if (!messages_from_json(bo["followers"].toArray(), branch_where, depth + 1, &branch.followers, error)) return false;
      message.branches.push_back(std::move(branch));
    }
    const int count = int(message.branches.size());
    for (int b = 0; b < count; ++b) {
      // A parent must come earlier, so a damaged file cannot make a cycle.
      if (message.branches[b].parent >= b) {
        *error = QStringLiteral("%1, branch %2: parent %3 is not an earlier branch").arg(here).arg(b).arg(message.branches[b].parent);
        return false;
      }
    }
    if (message.current_branch < 0 || (count > 0 && message.current_branch >= count)) message.current_branch = 0;
    out->push_back(std::move(message));
  }
  return true;
}

}  // namespace

QJsonObject conversation_to_json(const Conversation& conversation) {
  QJsonObject labels;
  for (auto it = conversation.labels.constBegin(); it != conversation.labels.constEnd(); ++it) {
    labels[QString::number(it.key())] = bytes_to_json(it.value());
  }
  return QJsonObject{{"format", kFormat},
                     {"version", kConversationFormatVersion},
                     {"model", conversation.model},
                     {"sampling", conversation.sampling},
                     {"labels", labels},
                     {"messages", messages_to_json(conversation.messages)}};
}

bool conversation_from_json(const QJsonObject& object, Conversation* out, QString* error) {
  if (object["format"].toString() != kFormat) {
    *error = QStringLiteral("not a Logitscope conversation (\"format\" is not \"%1\")").arg(kFormat);
    return false;
  }
  const int version = object["version"].toInt(-1);
  if (version < 1 || version > kConversationFormatVersion) {
    *error = QStringLiteral("conversation format version %1 is not supported (this build reads 1 to %2)")
                 .arg(version).arg(kConversationFormatVersion);
    return false;
  }
  Conversation conversation;
  conversation.model = object["model"].toString();
  conversation.sampling = object["sampling"].toObject();
  const QJsonObject labels = object["labels"].toObject();
  for (auto it = labels.constBegin(); it != labels.constEnd(); ++it) {
    conversation.labels.insert(TokenId(it.key().toInt()), bytes_from_json(it.value()));
  }
  if (!messages_from_json(object["messages"].toArray(), QString(), 0, &conversation.messages, error)) return false;
  *out = std::move(conversation);
  return true;
}

bool save_conversation(const QString& path, const Conversation& conversation, QString* error) {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly)) {
    *error = QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
    return false;
  }
  const QByteArray bytes = QJsonDocument(conversation_to_json(conversation)).toJson(QJsonDocument::Indented);
  if (file.write(bytes) != bytes.size()) {
    *error = QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
    file.cancelWriting();  // the previous file stays as it was
    return false;
  }
  if (!file.commit()) {
    *error = QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
    return false;
  }
  return true;
}

bool load_conversation(const QString& path, Conversation* out, QString* error) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) {
    *error = QStringLiteral("cannot open %1: %2").arg(path, file.errorString());
    return false;
  }
  QJsonParseError parse_error;
  const QJsonDocument document = QJsonDocument::fromJson(file.readAll(), &parse_error);
  if (document.isNull()) {
    *error = QStringLiteral("%1: invalid JSON at byte %2: %3").arg(path).arg(parse_error.offset).arg(parse_error.errorString());
    return false;
  }
  if (!conversation_from_json(document.object(), out, error)) {
    *error = QStringLiteral("%1: %2").arg(path, *error);
    return false;
  }
  return true;
}

}  // namespace logitscope::workbench
