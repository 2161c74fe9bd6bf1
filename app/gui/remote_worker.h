// SPDX-License-Identifier: GPL-3.0-or-later
// The remote counterpart of EngineWorker: answers the same requests with the same plain structs,
// but from an OpenAI-compatible server over HTTP. Lives on the GUI thread (all network I/O is
// asynchronous through QNetworkAccessManager, nothing blocks); EngineController routes to it while
// a server is connected, so the conversation driver and the widgets do not know the difference.
//
// - A reply (no prefix, no forced token, no step count) is a streaming /v1/chat/completions with
//   logprobs + top_logprobs, chat_template_kwargs.enable_thinking and, on our server, the
//   `logitscope` extension (ids, exact entropy, routing).
// - Stepping (a step count, kept tokens or a chosen token) goes through /v1/completions with the
//   prompt as token ids: the conversation rendered by a local copy of the model's tokenizer and chat
//   template (the server's model id when it names a local snapshot, or the folder given in the
//   connect dialog). One more token than asked is generated; its distribution is the preview of
//   the candidates for the next token.
// - Stop aborts the HTTP reply; the server cancels the generation when the client goes away.
#pragma once

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QPointer>
#include <QSet>

#include <functional>
#include <memory>
#include <optional>
#include <stop_token>

#include "engine_types.h"
#include "remote_client.h"
#include "remote_events.h"
#include "remote_sse_parser.h"
#include "worker_signals.h"

class QNetworkReply;

namespace logitscope {
class ChatTemplate;
class Tokenizer;
}  // namespace logitscope

namespace logitscope::gui {

class RemoteWorker : public WorkerSignals {
  Q_OBJECT
 public:
  explicit RemoteWorker(QObject* parent = nullptr);
  ~RemoteWorker() override;

  // Lists the server's models (GET /v1/models); emits loaded() or load_failed().
  void connect_to(const RemoteConfig& config);
  void generate(const GenerateRequest& request);
  void abort();  // ends the running request (the server cancels it)
  void disconnect_from();

  const RemoteConfig& config() const { return config_; }
  bool connected() const { return connected_; }
  // The key can change while connected (a revoked or rotated key); tests use it too.
  void set_api_key(const QString& key);
  bool has_extension() const { return extension_; }

 private:
  enum class Kind { Chat, Probe, Steps };
  struct Run {
    GenerateRequest request;
    Kind kind = Kind::Chat;
    QPointer<QNetworkReply> reply;
    SseParser sse;
    QByteArray body;             // a non-streamed (error) answer
    Utf8Assembler text;
    QElapsedTimer clock;
    double first_token_ms = -1.0;
    int tokens = 0;              // events emitted
    int received = 0;            // tokens received in the current completions request
    int wanted = 0;              // of those, how many become events (the next one is the preview)
    bool want_preview = false;
    bool got_preview = false;
    std::vector<TokenId> sequence;  // prompt + reply so far (completions)
    std::int64_t prompt_length = 0;
    bool starts_in_thinking = false;
    bool prompt_sent = false;
    bool saw_text = false;
    bool saw_reasoning = false;
    bool saw_content = false;
    QString finish_reason;
    QString error;
    std::unique_ptr<std::stop_callback<std::function<void()>>> on_stop;
  };

  void on_models_reply(QNetworkReply* reply);
  bool ensure_local_text(QString* error);
  void start_chat();
  void start_completions();
  void start_probe();
  void send(const QString& path, const QJsonObject& body);
  QJsonObject sampling_fields(const GenerationSettings& settings) const;
  void on_ready_read();
  void on_reply_finished();
  void handle_chunk(const QJsonObject& chunk);
  void handle_chat_choice(const QJsonObject& choice);
  void handle_completion_choice(const QJsonObject& choice);
  // Files one generated token: an event of the reply, or the preview of the next token.
  void take_completion_token(TokenEvent event);
  void emit_prompt(std::int64_t prompt_length, bool starts_in_thinking);
  void emit_events(std::vector<TokenEvent> events, std::vector<std::pair<TokenId, std::string>> labels);
  void add_label(TokenId id, const std::string& bytes, std::vector<std::pair<TokenId, std::string>>* labels);
  std::string local_bytes(TokenId id) const;
  TokenId synthetic_id(const std::string& bytes);
  void finish_run(const QString& stop_reason);
  void fail_run(const QString& message);

  RemoteClient client_;
  RemoteConfig config_;
  ModelSummary summary_;
  bool connected_ = false;
  bool extension_ = false;  // our `logitscope` field is understood
  bool routing_ = false;
  QPointer<QNetworkReply> models_reply_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ChatTemplate> template_;
  bool local_tried_ = false;
  QString local_error_;
  std::unique_ptr<Run> run_;
  // The distribution listed after the last step, for the token sequence it follows: a chosen
  // candidate is filed with it, no request needed.
  std::vector<TokenId> preview_sequence_;
  NextPreview preview_cache_;
  QSet<TokenId> labelled_;
  // Tokens that came without ids (a server without our extension, chat): one made-up id per spelling.
  QHash<QByteArray, TokenId> synthetic_;
  TokenId next_synthetic_ = TokenId(1) << 30;
};

}  // namespace logitscope::gui
