// SPDX-License-Identifier: GPL-3.0-or-later
// Connect to Server: the URL of an OpenAI-compatible server (ours, vLLM, ...), its API key, the
// model picked from its /v1/models list (fetched asynchronously), and optionally a local snapshot
// folder whose tokenizer and chat template make stepping possible. Remembered in QSettings; the key
// only when the user ticks "Remember the key".
#pragma once

#include <QDialog>
#include <QPointer>

#include "remote_client.h"

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QNetworkReply;
class QPushButton;

namespace logitscope::gui {

class ConnectDialog : public QDialog {
  Q_OBJECT
 public:
  explicit ConnectDialog(QWidget* parent = nullptr);

  RemoteConfig config() const;
  void set_config(const RemoteConfig& config);
  // Reads the model list now (also done when the dialog opens with a URL, and on "Fetch").
  void fetch_models();
  QStringList model_ids() const;
  QString status_text() const;
  bool remember_key() const;
  void set_remember_key(bool on);

  static RemoteConfig load_settings();   // the last accepted connection
  void save_settings() const;

 signals:
  void models_fetched(bool ok);

 private:
  void on_models(QNetworkReply* reply);

  QLineEdit* url_;
  QLineEdit* key_;
  QCheckBox* remember_;
  QComboBox* model_;
  QPushButton* fetch_;
  QLineEdit* tokenizer_dir_;
  QLabel* status_;
  QDialogButtonBox* buttons_;
  RemoteClient client_;
  QPointer<QNetworkReply> pending_;
};

}  // namespace logitscope::gui
