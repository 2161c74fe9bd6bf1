// SPDX-License-Identifier: GPL-3.0-or-later
#include "remote_client.h"

#include <QJsonDocument>
#include <QNetworkReply>
#include <QNetworkRequest>

namespace logitscope::gui {

namespace {
constexpr int kConnectTimeoutMs = 15000;  // bounded: a dead host must not hang a request forever
}

RemoteClient::RemoteClient(QObject* parent) : QObject(parent) {}

QUrl RemoteClient::normalize_base_url(const QString& url) {
  QString text = url.trimmed();
  if (text.isEmpty()) return {};
  if (!text.contains(QLatin1String("://"))) text.prepend(QStringLiteral("http://"));
  while (text.endsWith(QLatin1Char('/'))) text.chop(1);
  if (!text.endsWith(QLatin1String("/v1"))) text += QStringLiteral("/v1");
  return QUrl(text);
}

QUrl RemoteClient::endpoint(const QString& path) const {
  QUrl url = base_;
  if (path.startsWith(QLatin1Char('/'))) {
    QString root = base_.path();
    if (root.endsWith(QLatin1String("/v1"))) root.chop(3);
    url.setPath(root + path);
  } else {
    url.setPath(base_.path() + QLatin1Char('/') + path);
  }
  return url;
}

QNetworkRequest RemoteClient::make_request(const QString& path) const {
  QNetworkRequest request(endpoint(path));
  if (!api_key_.isEmpty()) request.setRawHeader("Authorization", "Bearer " + api_key_.toUtf8());
  request.setTransferTimeout(kConnectTimeoutMs);
  return request;
}

QNetworkReply* RemoteClient::get(const QString& path) {
  QNetworkRequest request = make_request(path);
  request.setRawHeader("Accept", "application/json");
  return manager_.get(request);
}

QNetworkReply* RemoteClient::post(const QString& path, const QJsonObject& body, bool stream) {
  QNetworkRequest request = make_request(path);
  request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
  request.setRawHeader("Accept", stream ? "text/event-stream" : "application/json");
  if (stream) {
    // A stream may pause longer than the transfer timeout (a long prompt queued behind another
    // request sends only keep-alives); the user stops it instead.
    request.setTransferTimeout(0);
    request.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
  }
  return manager_.post(request, QJsonDocument(body).toJson(QJsonDocument::Compact));
}

QString RemoteClient::error_message(QNetworkReply* reply, const QByteArray& body) {
  const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
  QString detail;
  const QJsonDocument doc = QJsonDocument::fromJson(body);
  if (doc.isObject()) {
    const QJsonValue error = doc.object().value(QStringLiteral("error"));
    if (error.isObject()) {
      detail = error.toObject().value(QStringLiteral("message")).toString();
      const QString code = error.toObject().value(QStringLiteral("code")).toString();
      if (!code.isEmpty()) detail += QStringLiteral(" (%1)").arg(code);
    } else if (error.isString()) {
      detail = error.toString();
    } else if (doc.object().value(QStringLiteral("detail")).isString()) {
      detail = doc.object().value(QStringLiteral("detail")).toString();  // FastAPI's shape
    }
  }
  const QString where = reply->url().toString(QUrl::RemoveUserInfo);
  if (status > 0) {
    QString text = QObject::tr("The server at %1 answered HTTP %2").arg(where).arg(status);
    if (status == 401) text += QObject::tr(" (wrong or missing API key)");
    if (!detail.isEmpty()) text += QStringLiteral(": ") + detail;
    return text;
  }
  return QObject::tr("Could not reach %1: %2").arg(where, reply->errorString());
}

}  // namespace logitscope::gui
