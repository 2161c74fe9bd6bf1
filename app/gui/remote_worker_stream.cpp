// SPDX-License-Identifier: GPL-3.0-or-later
// RemoteWorker's reading of the streamed chunks: chat deltas (reasoning_content/content, chat
// logprobs, our extension) and completions tokens (legacy logprobs with token ids, our extension)
// become TokenEvents, the preview of the next token, and labels.
#include <QJsonDocument>
#include <QNetworkReply>

#include "logitscope/tokenizer.h"
#include "remote_worker.h"

namespace logitscope::gui {

void RemoteWorker::handle_chunk(const QJsonObject& chunk) {
  if (chunk.contains(QStringLiteral("error"))) {
    const QJsonObject e = chunk.value(QStringLiteral("error")).toObject();
    run_->error = tr("The server stopped the reply with an error: %1").arg(e.value(QStringLiteral("message")).toString());
    return;
  }
  const QJsonArray choices = chunk.value(QStringLiteral("choices")).toArray();
  if (choices.isEmpty()) return;  // the usage chunk
  const QJsonObject choice = choices.first().toObject();
  if (run_->kind == Kind::Chat) handle_chat_choice(choice);
  else handle_completion_choice(choice);
  const QJsonValue finish = choice.value(QStringLiteral("finish_reason"));
  if (run_ && finish.isString()) run_->finish_reason = finish.toString();
}

void RemoteWorker::handle_chat_choice(const QJsonObject& choice) {
  Run& run = *run_;
  const QJsonObject delta = choice.value(QStringLiteral("delta")).toObject();
  const QString reasoning = delta.value(QStringLiteral("reasoning_content")).toString();
  const QString content = delta.value(QStringLiteral("content")).toString();
  const QJsonArray logprobs = choice.value(QStringLiteral("logprobs")).toObject().value(QStringLiteral("content")).toArray();
  const std::vector<ExtensionToken> ext = parse_extension(choice);
  std::vector<TokenEvent> events;
  std::vector<std::pair<TokenId, std::string>> labels;
  if (!ext.empty()) {
    if (!run.prompt_sent) emit_prompt(ext.front().event.pos, false);
    int j = 0;
    for (const ExtensionToken& t : ext) {
      if (t.eos) continue;  // ends the reply; no text, no logprobs entry
      TokenEvent e = t.event;
      const QJsonObject entry = j < logprobs.size() ? logprobs[j].toObject() : QJsonObject();
      ++j;
      e.bytes = entry.isEmpty() ? local_bytes(e.id) : entry_bytes(entry);
      add_label(e.id, e.bytes, &labels);
      const QJsonArray top = entry.value(QStringLiteral("top_logprobs")).toArray();
      for (std::size_t k = 0; k < e.top_k.size(); ++k) {
        const std::string bytes = int(k) < top.size() ? entry_bytes(top[int(k)].toObject()) : local_bytes(e.top_k[k].id);
        if (int(k) < top.size() || tokenizer_) add_label(e.top_k[k].id, bytes, &labels);
      }
      events.push_back(std::move(e));
    }
  } else if (!logprobs.isEmpty()) {
    // A server without our extension: ids are made up per spelling, entropy is estimated.
    for (const QJsonValue& v : logprobs) {
      const QJsonObject entry = v.toObject();
      TokenEvent e;
      e.bytes = entry_bytes(entry);
      e.id = synthetic_id(e.bytes);
      e.logprob = float(entry.value(QStringLiteral("logprob")).toDouble());
      e.prob = prob_from_logprob(e.logprob);
      add_label(e.id, e.bytes, &labels);
      for (const QJsonValue& t : entry.value(QStringLiteral("top_logprobs")).toArray()) {
        TopKEntry k;
        const std::string bytes = entry_bytes(t.toObject());
        k.id = synthetic_id(bytes);
        k.logprob = float(t.toObject().value(QStringLiteral("logprob")).toDouble());
        k.prob = prob_from_logprob(k.logprob);
        k.logit = k.logprob;
        add_label(k.id, bytes, &labels);
        e.top_k.push_back(k);
      }
      e.entropy = entropy_from_top_k(e.top_k);
      events.push_back(std::move(e));
    }
  } else if (!reasoning.isEmpty() || !content.isEmpty()) {
    // No per-token data at all: one event per delta so the text still shows; the tags the server
    // took out are put back so the reply splits into reasoning and answer as it did there.
    std::string text;
    if (!reasoning.isEmpty() && !run.saw_text) text += "<think>";
    if (!content.isEmpty() && run.saw_reasoning && !run.saw_content) text += "</think>";
    text += (reasoning + content).toStdString();
    TokenEvent e;
    e.bytes = text;
    e.id = synthetic_id(text);
    events.push_back(std::move(e));
  }
  // Which side of </think> the reply starts on: the server's split tells (its prompt may have
  // opened the block), unless the model wrote the <think> itself.
  if (!run.saw_text && (!reasoning.isEmpty() || !content.isEmpty())) {
    bool wrote_open_tag = false;
    for (const TokenEvent& e : events) wrote_open_tag |= e.bytes.find("<think>") != std::string::npos;
    const bool inside = !reasoning.isEmpty() && !wrote_open_tag && !logprobs.isEmpty();
    if (inside != run.starts_in_thinking || !run.prompt_sent) emit_prompt(run.prompt_length, inside);
  }
  if (!reasoning.isEmpty()) run.saw_reasoning = true;
  if (!content.isEmpty()) run.saw_content = true;
  if (!reasoning.isEmpty() || !content.isEmpty()) run.saw_text = true;
  for (TokenEvent& e : events) {
    e.text = run.text.push(e.bytes);
    e.pos = e.pos > 0 ? e.pos : run.prompt_length + run.tokens;
    ++run.tokens;
  }
  if (!events.empty() || !labels.empty()) emit_events(std::move(events), std::move(labels));
}

void RemoteWorker::handle_completion_choice(const QJsonObject& choice) {
  const std::vector<ExtensionToken> ext = parse_extension(choice);
  if (!ext.empty()) {
    for (const ExtensionToken& t : ext) {
      if (!run_) return;
      if (t.eos && run_->received < run_->wanted) {
        ++run_->received;  // the end: not a token of the reply
        continue;
      }
      take_completion_token(t.event);
    }
    return;
  }
  const QJsonObject logprobs = choice.value(QStringLiteral("logprobs")).toObject();
  const QJsonArray tokens = logprobs.value(QStringLiteral("tokens")).toArray();
  const QJsonArray token_logprobs = logprobs.value(QStringLiteral("token_logprobs")).toArray();
  const QJsonArray tops = logprobs.value(QStringLiteral("top_logprobs")).toArray();
  for (int i = 0; i < tokens.size(); ++i) {
    if (!run_) return;
    const auto id = parse_token_id(tokens[i].toString());
    if (!id) {
      run_->error = tr("The server did not return token ids (\"%1\"): it ignores return_tokens_as_token_ids, so "
                       "stepping cannot follow its tokens.").arg(tokens[i].toString());
      if (run_->reply) run_->reply->abort();
      return;
    }
    TokenEvent e;
    e.id = *id;
    e.pos = std::int64_t(run_->sequence.size());
    e.logprob = float(token_logprobs[i].toDouble());
    e.prob = prob_from_logprob(e.logprob);
    e.top_k = parse_legacy_top(tops[i].toObject());
    e.entropy = entropy_from_top_k(e.top_k);
    take_completion_token(std::move(e));
  }
}

void RemoteWorker::take_completion_token(TokenEvent event) {
  Run& run = *run_;
  std::vector<std::pair<TokenId, std::string>> labels;
  for (const TopKEntry& k : event.top_k)
    if (tokenizer_) add_label(k.id, local_bytes(k.id), &labels);
  const bool forced_event = event.forced;
  if (forced_event || run.received < run.wanted) {
    if (!forced_event) ++run.received;
    event.bytes = local_bytes(event.id);
    event.text = run.text.push(event.bytes);
    if (tokenizer_) add_label(event.id, event.bytes, &labels);
    run.sequence.push_back(event.id);
    ++run.tokens;
    emit_events({std::move(event)}, std::move(labels));
    return;
  }
  ++run.received;
  if (!run.want_preview || run.got_preview) return;
  run.got_preview = true;
  NextPreview p;
  p.request = run.request.id;
  p.entropy = event.entropy;
  p.top_k = event.top_k;
  for (const TopKEntry& k : p.top_k)
    if (tokenizer_) p.labels.emplace_back(k.id, local_bytes(k.id));
  preview_sequence_ = run.sequence;
  preview_cache_ = p;
  if (run.kind == Kind::Steps) {
    if (!labels.empty()) emit_events({}, std::move(labels));
    emit preview(p);
  }
}

}  // namespace logitscope::gui
