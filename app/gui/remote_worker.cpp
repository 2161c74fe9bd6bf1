// SPDX-License-Identifier: GPL-3.0-or-later
#include "remote_worker.h"

#include <QJsonDocument>
#include <QNetworkReply>

#include <algorithm>
#include <cmath>

#include "logitscope/chat.h"
#include "logitscope/config.h"
#include "logitscope/snapshot.h"
#include "logitscope/tokenizer.h"
#include "prompt_builder.h"

namespace logitscope::gui {

namespace {

int top_count(const GenerationSettings& settings) { return std::clamp(settings.probe_top_k, 1, 20); }

QString stop_reason_from_finish(const QString& finish, bool stepping) {
  if (finish == QLatin1String("length")) return stepping ? QStringLiteral("steps") : QStringLiteral("max_tokens");
  if (finish == QLatin1String("stop")) return QStringLiteral("stop_token");
  return finish.isEmpty() ? QStringLiteral("stop_token") : finish;
}

}  // namespace

RemoteWorker::RemoteWorker(QObject* parent) : WorkerSignals(parent) {}

RemoteWorker::~RemoteWorker() {
  if (run_ && run_->reply) {
    run_->reply->disconnect(this);
    run_->reply->abort();
  }
}

void RemoteWorker::set_api_key(const QString& key) {
  config_.api_key = key;
  client_.set_api_key(key);
}

void RemoteWorker::disconnect_from() {
  abort();
  if (models_reply_) models_reply_->abort();
  connected_ = false;
}

void RemoteWorker::connect_to(const RemoteConfig& config) {
  abort();
  if (models_reply_) {
    models_reply_->disconnect(this);
    models_reply_->abort();
  }
  const bool same_server = connected_ && RemoteClient::normalize_base_url(config.url) == client_.base_url() &&
                           config.tokenizer_dir == config_.tokenizer_dir;
  config_ = config;
  connected_ = false;
  client_.set_base_url(config.url);
  client_.set_api_key(config.api_key);
  if (!client_.base_url().isValid() || client_.base_url().host().isEmpty()) {
    QMetaObject::invokeMethod(this, [this, url = config.url] {
      emit load_failed(tr("\"%1\" is not a server address: give e.g. http://127.0.0.1:8000").arg(url));
    }, Qt::QueuedConnection);
    return;
  }
  if (!same_server) {
    // Token ids (and their labels) belong to the server's model; another one starts over.
    labelled_.clear();
    synthetic_.clear();
    tokenizer_.reset();
    template_.reset();
    local_tried_ = false;
    preview_sequence_.clear();
  }
  QNetworkReply* reply = client_.get(QStringLiteral("models"));
  models_reply_ = reply;
  connect(reply, &QNetworkReply::finished, this, [this, reply] { on_models_reply(reply); });
}

void RemoteWorker::on_models_reply(QNetworkReply* reply) {
  reply->deleteLater();
  if (reply != models_reply_) return;
  const QByteArray body = reply->readAll();
  if (reply->error() != QNetworkReply::NoError) {
    emit load_failed(RemoteClient::error_message(reply, body));
    return;
  }
  const QJsonArray data = QJsonDocument::fromJson(body).object().value(QStringLiteral("data")).toArray();
  if (data.isEmpty()) {
    emit load_failed(tr("%1 lists no models (GET /v1/models returned no \"data\" entries)").arg(reply->url().toString()));
    return;
  }
  QJsonObject entry = data.first().toObject();
  if (!config_.model.isEmpty()) {
    bool found = false;
    for (const QJsonValue& v : data)
      if (v.toObject().value(QStringLiteral("id")).toString() == config_.model) {
        entry = v.toObject();
        found = true;
      }
    if (!found) {
      QStringList ids;
      for (const QJsonValue& v : data) ids << v.toObject().value(QStringLiteral("id")).toString();
      emit load_failed(tr("The server has no model \"%1\"; it serves: %2").arg(config_.model, ids.join(QStringLiteral(", "))));
      return;
    }
  }
  ModelSummary s;
  s.model = entry.value(QStringLiteral("id")).toString();
  config_.model = s.model;
  s.remote_url = client_.base_url().toString();
  s.backend = QStringLiteral("remote");
  s.has_tokenizer = true;  // the server tokenizes
  s.has_template = true;
  s.can_think = true;      // unknown for a foreign server: offer the toggle, the template decides
  s.max_context = entry.value(QStringLiteral("max_model_len")).toInteger();
  const QJsonObject ext = entry.value(QStringLiteral("logitscope")).toObject();
  extension_ = !ext.isEmpty();
  routing_ = ext.value(QStringLiteral("routing")).toBool();
  s.device_name = extension_ ? tr("%1 at %2").arg(ext.value(QStringLiteral("device")).toString(), client_.base_url().authority())
                             : client_.base_url().authority();
  if (extension_) {
    s.backend = QStringLiteral("remote ") + ext.value(QStringLiteral("backend")).toString();
    s.vocab_size = ext.value(QStringLiteral("vocab_size")).toInteger();
    if (ext.contains(QStringLiteral("max_context"))) s.max_context = ext.value(QStringLiteral("max_context")).toInteger();
    for (const QJsonValue& v : ext.value(QStringLiteral("moe_layers")).toArray()) s.moe_layers.push_back(v.toInt());
    s.num_experts = ext.value(QStringLiteral("n_routed_experts")).toInt();
    s.experts_per_tok = ext.value(QStringLiteral("num_experts_per_tok")).toInt();
    if (ext.contains(QStringLiteral("chat"))) s.has_template = ext.value(QStringLiteral("chat")).toBool();
  }
  s.provides_routing = routing_;
  s.exact_entropy = extension_;
  summary_ = s;
  connected_ = true;
  emit loaded(s);
}

void RemoteWorker::abort() {
  if (run_ && run_->reply) run_->reply->abort();  // finished() follows, reported as cancelled
}

void RemoteWorker::generate(const GenerateRequest& request) {
  if (run_) {
    // The controller sends one at a time; a leftover is ended quietly.
    if (run_->reply) {
      run_->reply->disconnect(this);
      run_->reply->abort();
    }
    run_.reset();
  }
  if (!connected_) {
    emit failed(request.id, tr("Not connected to a server: File > Connect to Server."));
    return;
  }
  if (!request.interventions.empty()) {
    emit failed(request.id, tr("A remote server cannot apply interventions (%1): load a model in the window to use them.")
                                .arg(QString::fromStdString(describe(request.interventions))));
    return;
  }
  run_ = std::make_unique<Run>();
  run_->request = request;
  run_->clock.start();
  QPointer<RemoteWorker> self(this);
  const std::uint64_t id = request.id;
  run_->on_stop = std::make_unique<std::stop_callback<std::function<void()>>>(request.stop, std::function<void()>([self, id] {
    // May run on any thread that requests the stop: hop to ours.
    QMetaObject::invokeMethod(self.data(), [self, id] {
      if (self && self->run_ && self->run_->request.id == id) self->abort();
    }, Qt::QueuedConnection);
  }));
  const bool stepping = request.steps >= 0 || !request.prefix.empty() || request.forced.has_value();
  if (!stepping) {
    run_->kind = Kind::Chat;
    start_chat();
    return;
  }
  for (TokenId t : request.prefix)
    if (t >= (TokenId(1) << 30)) {
      fail_run(tr("This reply's tokens came from the server without ids (it has no logitscope extension), so it "
                  "cannot be continued token by token; regenerate it with Step (F10) instead."));
      return;
    }
  QString error;
  if (!ensure_local_text(&error)) {
    fail_run(error);
    return;
  }
  BuiltPrompt prompt;
  try {
    prompt = build_prompt(tokenizer_.get(), template_.get(), ModelConfig{}, request.turns, request.enable_thinking);
  } catch (const std::exception& e) {
    fail_run(tr("Could not render the conversation with the local chat template: %1").arg(QString::fromUtf8(e.what())));
    return;
  }
  run_->prompt_length = std::int64_t(prompt.ids.size());
  run_->starts_in_thinking = prompt.starts_in_thinking;
  run_->sequence = prompt.ids;
  run_->sequence.insert(run_->sequence.end(), request.prefix.begin(), request.prefix.end());
  // The reply's text so far, so that a character split across the kept tokens joins up.
  for (TokenId t : request.prefix) run_->text.push(local_bytes(t));
  emit_prompt(run_->prompt_length, prompt.starts_in_thinking);
  if (request.forced && preview_sequence_ != run_->sequence) {
    start_probe();  // the chosen token's distribution is not known yet
    return;
  }
  start_completions();
}

bool RemoteWorker::ensure_local_text(QString* error) {
  if (!tokenizer_ && !local_tried_) {
    local_tried_ = true;
    try {
      std::filesystem::path dir;
      if (!config_.tokenizer_dir.isEmpty()) dir = config_.tokenizer_dir.toStdString();
      else {
        SnapshotQuery query;
        query.model = summary_.model.toStdString();
        dir = resolve_snapshot(query);
      }
      tokenizer_ = Tokenizer::from_file(dir);
      template_ = ChatTemplate::from_snapshot(dir);
    } catch (const std::exception& e) {
      tokenizer_.reset();
      local_error_ = QString::fromUtf8(e.what());
    }
  }
  if (tokenizer_) return true;
  *error = tr("Stepping through a remote server sends the conversation as token ids, which needs the model's "
              "tokenizer and chat template on this machine; none found for \"%1\" (%2). Give the snapshot folder "
              "in File > Connect to Server.").arg(summary_.model, local_error_);
  return false;
}

QJsonObject RemoteWorker::sampling_fields(const GenerationSettings& s) const {
  QJsonObject body;
  if (!config_.model.isEmpty()) body[QStringLiteral("model")] = config_.model;
  body[QStringLiteral("temperature")] = s.temperature;
  body[QStringLiteral("top_p")] = s.top_p;
  if (s.top_k > 0) body[QStringLiteral("top_k")] = s.top_k;
  if (s.min_p > 0.0) body[QStringLiteral("min_p")] = s.min_p;
  if (s.seed != 0) body[QStringLiteral("seed")] = qint64(s.seed & ((std::uint64_t(1) << 53) - 1));  // exact in JSON
  body[QStringLiteral("stream")] = true;
  if (extension_) body[QStringLiteral("logitscope")] = QJsonObject{{QStringLiteral("tokens"), true}, {QStringLiteral("routing"), routing_}};
  return body;
}

void RemoteWorker::start_chat() {
  const GenerateRequest& r = run_->request;
  QJsonObject body = sampling_fields(r.settings);
  QJsonArray messages;
  for (const PromptTurn& turn : r.turns)
    messages.append(QJsonObject{{QStringLiteral("role"), QString::fromStdString(turn.role)},
                                {QStringLiteral("content"), QString::fromStdString(turn.content)}});
  body[QStringLiteral("messages")] = messages;
  body[QStringLiteral("max_tokens")] = std::max(r.settings.max_new_tokens, 1);
  body[QStringLiteral("logprobs")] = true;
  body[QStringLiteral("top_logprobs")] = top_count(r.settings);
  body[QStringLiteral("chat_template_kwargs")] = QJsonObject{{QStringLiteral("enable_thinking"), r.enable_thinking}};
  body[QStringLiteral("stream_options")] = QJsonObject{{QStringLiteral("include_usage"), true}};
  send(QStringLiteral("chat/completions"), body);
}

void RemoteWorker::start_completions() {
  Run& run = *run_;
  const GenerateRequest& r = run.request;
  run.kind = Kind::Steps;
  run.received = 0;
  if (r.forced && run.tokens == 0) {
    // The chosen candidate, filed with the distribution it was chosen from.
    TokenEvent e;
    e.pos = std::int64_t(run.sequence.size());
    e.id = *r.forced;
    e.forced = true;
    e.entropy = preview_cache_.entropy;
    e.top_k = preview_cache_.top_k;
    e.logprob = e.top_k.empty() ? 0.0f : e.top_k.back().logprob;  // below the list: at most the last one's
    for (const TopKEntry& k : e.top_k)
      if (k.id == e.id) {
        e.prob = k.prob;
        e.logprob = k.logprob;
      }
    take_completion_token(std::move(e));  // its labels came with the preview
  }
  const int forced = r.forced ? 1 : 0;
  int wanted = r.steps >= 0 ? r.steps - forced
                            : r.settings.max_new_tokens - int(r.prefix.size()) - forced;
  wanted = std::max(wanted, 0);
  run.want_preview = r.preview_next;
  run.wanted = wanted;
  int max_tokens = wanted + (run.want_preview ? 1 : 0);
  if (summary_.max_context > 0)
    max_tokens = int(std::min<std::int64_t>(max_tokens, summary_.max_context - std::int64_t(run.sequence.size())));
  if (max_tokens <= 0) {
    finish_run(r.steps >= 0 ? QStringLiteral("steps") : QStringLiteral("context_full"));
    return;
  }
  QJsonObject body = sampling_fields(r.settings);
  QJsonArray prompt;
  for (TokenId t : run.sequence) prompt.append(int(t));
  body[QStringLiteral("prompt")] = prompt;
  body[QStringLiteral("max_tokens")] = max_tokens;
  body[QStringLiteral("logprobs")] = top_count(r.settings);
  body[QStringLiteral("return_tokens_as_token_ids")] = true;
  send(QStringLiteral("completions"), body);
}

void RemoteWorker::start_probe() {
  Run& run = *run_;
  run.kind = Kind::Probe;
  run.received = 0;
  run.wanted = 0;
  run.want_preview = true;
  run.got_preview = false;
  QJsonObject body = sampling_fields(run.request.settings);
  body[QStringLiteral("temperature")] = 0.0;
  QJsonArray prompt;
  for (TokenId t : run.sequence) prompt.append(int(t));
  body[QStringLiteral("prompt")] = prompt;
  body[QStringLiteral("max_tokens")] = 1;
  body[QStringLiteral("logprobs")] = top_count(run.request.settings);
  body[QStringLiteral("return_tokens_as_token_ids")] = true;
  send(QStringLiteral("completions"), body);
}

void RemoteWorker::send(const QString& path, const QJsonObject& body) {
  Run& run = *run_;
  run.sse.reset();
  run.body.clear();
  run.finish_reason.clear();
  QNetworkReply* reply = client_.post(path, body, true);
  run.reply = reply;
  connect(reply, &QNetworkReply::readyRead, this, &RemoteWorker::on_ready_read);
  connect(reply, &QNetworkReply::finished, this, &RemoteWorker::on_reply_finished);
}

void RemoteWorker::on_ready_read() {
  auto* reply = qobject_cast<QNetworkReply*>(sender());
  if (!run_ || reply != run_->reply) return;
  const QByteArray bytes = reply->readAll();
  const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
  if (status >= 400) {
    run_->body += bytes;  // an error answer, read at the end
    return;
  }
  for (const QByteArray& data : run_->sse.feed(bytes)) {
    if (!run_ || reply != run_->reply) return;  // a handler ended the run
    if (data.trimmed() == "[DONE]") continue;
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(data, &error);
    if (!doc.isObject()) {
      run_->error = tr("The server sent an event that is not a JSON object (%1): %2")
                        .arg(error.errorString(), QString::fromUtf8(data.left(200)));
      reply->abort();
      return;
    }
    handle_chunk(doc.object());
  }
}

void RemoteWorker::emit_prompt(std::int64_t prompt_length, bool starts_in_thinking) {
  run_->prompt_sent = true;
  run_->prompt_length = prompt_length;
  run_->starts_in_thinking = starts_in_thinking;
  PromptInfo info;
  info.request = run_->request.id;
  info.prompt_length = prompt_length;
  info.starts_in_thinking = starts_in_thinking;
  emit prompt_ready(info);
}

void RemoteWorker::emit_events(std::vector<TokenEvent> events, std::vector<std::pair<TokenId, std::string>> labels) {
  if (!events.empty() && run_->first_token_ms < 0) run_->first_token_ms = double(run_->clock.nsecsElapsed()) / 1e6;
  TokenBatch batch;
  batch.request = run_->request.id;
  batch.events = std::move(events);
  batch.labels = std::move(labels);
  emit tokens(batch);
}

void RemoteWorker::add_label(TokenId id, const std::string& bytes, std::vector<std::pair<TokenId, std::string>>* labels) {
  if (labelled_.contains(id)) return;
  labelled_.insert(id);
  labels->emplace_back(id, bytes);
}

std::string RemoteWorker::local_bytes(TokenId id) const {
  if (!tokenizer_ || id < 0 || std::size_t(id) >= tokenizer_->vocab_size()) return {};
  return tokenizer_->token_bytes(id);
}

TokenId RemoteWorker::synthetic_id(const std::string& bytes) {
  const QByteArray key = QByteArray::fromStdString(bytes);
  auto it = synthetic_.find(key);
  if (it != synthetic_.end()) return it.value();
  const TokenId id = next_synthetic_++;
  synthetic_.insert(key, id);
  return id;
}

void RemoteWorker::on_reply_finished() {
  auto* reply = qobject_cast<QNetworkReply*>(sender());
  if (!reply) return;
  reply->deleteLater();
  if (!run_ || reply != run_->reply) return;
  if (reply->error() == QNetworkReply::NoError) {
    for (const QByteArray& data : run_->sse.finish()) {
      const QJsonDocument doc = QJsonDocument::fromJson(data);
      if (doc.isObject() && run_) handle_chunk(doc.object());
    }
  }
  if (!run_) return;
  const bool stop_requested = run_->request.stop.stop_requested();
  if (!run_->error.isEmpty()) {
    fail_run(run_->error);
    return;
  }
  if (reply->error() == QNetworkReply::OperationCanceledError || stop_requested) {
    finish_run(QStringLiteral("cancelled"));
    return;
  }
  if (reply->error() != QNetworkReply::NoError) {
    fail_run(RemoteClient::error_message(reply, run_->body + reply->readAll()));
    return;
  }
  if (run_->kind == Kind::Probe) {
    if (!run_->got_preview) {
      fail_run(tr("The server returned no log probabilities for the chosen position, so the candidate cannot be filed."));
      return;
    }
    start_completions();
    return;
  }
  const bool stepping = run_->kind == Kind::Steps && run_->request.steps >= 0;
  QString reason = stop_reason_from_finish(run_->finish_reason, stepping);
  // The preview token may have been the end-of-sequence token: the steps still all came.
  if (stepping && run_->tokens >= run_->request.steps) reason = QStringLiteral("steps");
  finish_run(reason);
}

void RemoteWorker::finish_run(const QString& stop_reason) {
  std::unique_ptr<Run> run = std::move(run_);
  GenerationStats stats;
  stats.request = run->request.id;
  stats.stop_reason = stop_reason;
  stats.tokens = run->tokens;
  const double total_ms = double(run->clock.nsecsElapsed()) / 1e6;
  stats.time_to_first_token_ms = std::max(run->first_token_ms, 0.0);
  stats.prefill_ms = stats.time_to_first_token_ms;
  stats.decode_ms = total_ms - stats.time_to_first_token_ms;
  stats.tokens_per_second = run->tokens > 1 && stats.decode_ms > 0 ? (run->tokens - 1) * 1000.0 / stats.decode_ms : 0.0;
  emit finished(stats);
}

void RemoteWorker::fail_run(const QString& message) {
  std::unique_ptr<Run> run = std::move(run_);
  if (run->reply) {
    run->reply->disconnect(this);
    run->reply->abort();
    run->reply->deleteLater();
  }
  emit failed(run->request.id, message);
}

}  // namespace logitscope::gui
