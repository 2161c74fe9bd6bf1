// SPDX-License-Identifier: GPL-3.0-or-later
// HTTP to an OpenAI-compatible server (ours, vLLM, ...) on the GUI thread's event loop: requests
// are asynchronous QNetworkReply objects, never waited on. Knows the base URL, the API key and how
// to turn an error reply into a message the user can act on.
#pragma once

#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QObject>
#include <QString>
#include <QUrl>

class QNetworkReply;

namespace logitscope::gui {

struct RemoteConfig {
  QString url;            // "http://host:port" or ".../v1"
  QString api_key;        // empty: no Authorization header
  QString model;          // the model id to send; empty: the first one /v1/models lists
  QString tokenizer_dir;  // optional local snapshot with tokenizer and chat template (stepping)
};

class RemoteClient : public QObject {
  Q_OBJECT
 public:
  explicit RemoteClient(QObject* parent = nullptr);

  void set_base_url(const QString& url) { base_ = normalize_base_url(url); }
  void set_api_key(const QString& key) { api_key_ = key; }
  QUrl base_url() const { return base_; }

  // "host:8000", "http://host:8000", "http://host:8000/v1/" -> "http://host:8000/v1".
  static QUrl normalize_base_url(const QString& url);
  // `path` relative to the /v1 base ("models", "chat/completions"), or absolute from the server
  // root when it starts with '/' ("/tokenize", vLLM's).
  QUrl endpoint(const QString& path) const;

  QNetworkReply* get(const QString& path);
  QNetworkReply* post(const QString& path, const QJsonObject& body, bool stream);

  // The message for a failed reply: the HTTP status and the server's {"error": {"message"}} when
  // it sent one, else Qt's description (connection refused, host not found, timeout).
  static QString error_message(QNetworkReply* reply, const QByteArray& body);

 private:
  QNetworkRequest make_request(const QString& path) const;

  QNetworkAccessManager manager_;
  QUrl base_;
  QString api_key_;
};

}  // namespace logitscope::gui
