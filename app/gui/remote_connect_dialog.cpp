// SPDX-License-Identifier: GPL-3.0-or-later
#include "remote_connect_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QNetworkReply>
#include <QPushButton>
#include <QSettings>
#include <QVBoxLayout>

#include "settings_store.h"

namespace logitscope::gui {

ConnectDialog::ConnectDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Connect to Server"));
  setObjectName(QStringLiteral("connectDialog"));
  url_ = new QLineEdit(this);
  url_->setObjectName(QStringLiteral("serverUrl"));
  url_->setPlaceholderText(QStringLiteral("http://127.0.0.1:8000/v1"));
  key_ = new QLineEdit(this);
  key_->setObjectName(QStringLiteral("apiKey"));
  key_->setEchoMode(QLineEdit::Password);
  key_->setPlaceholderText(tr("none"));
  remember_ = new QCheckBox(tr("Remember the key (stored in plain text in the settings file)"), this);
  model_ = new QComboBox(this);
  model_->setObjectName(QStringLiteral("modelBox"));
  model_->setEditable(true);
  model_->setMinimumContentsLength(40);
  fetch_ = new QPushButton(tr("Fetch"), this);
  fetch_->setToolTip(tr("Read the model list (GET /v1/models)"));
  tokenizer_dir_ = new QLineEdit(this);
  tokenizer_dir_->setPlaceholderText(tr("optional: found from the model id when it is a local folder or in the hub cache"));
  auto* browse = new QPushButton(tr("Browse…"), this);
  status_ = new QLabel(this);
  status_->setObjectName(QStringLiteral("connectStatus"));
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  buttons_ = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  buttons_->button(QDialogButtonBox::Ok)->setText(tr("Connect"));

  auto* model_row = new QHBoxLayout;
  model_row->addWidget(model_, 1);
  model_row->addWidget(fetch_);
  auto* dir_row = new QHBoxLayout;
  dir_row->addWidget(tokenizer_dir_, 1);
  dir_row->addWidget(browse);
  auto* form = new QFormLayout;
  form->addRow(tr("Server URL"), url_);
  form->addRow(tr("API key"), key_);
  form->addRow(QString(), remember_);
  form->addRow(tr("Model"), model_row);
  form->addRow(tr("Tokenizer for stepping"), dir_row);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(new QLabel(tr("Any OpenAI-compatible server (logitscope-cli serve, vLLM, …). Chat streams with "
                                  "top-k from top_logprobs; routing and exact entropy need logitscope-cli serve."), this));
  layout->addWidget(status_);
  layout->addWidget(buttons_);

  connect(fetch_, &QPushButton::clicked, this, &ConnectDialog::fetch_models);
  connect(url_, &QLineEdit::editingFinished, this, &ConnectDialog::fetch_models);
  connect(browse, &QPushButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Snapshot folder with tokenizer.json"), tokenizer_dir_->text());
    if (!dir.isEmpty()) tokenizer_dir_->setText(dir);
  });
  connect(buttons_, &QDialogButtonBox::accepted, this, [this] {
    save_settings();
    accept();
  });
  connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
  set_config(load_settings());
  QSettings settings;
  remember_->setChecked(read_setting_bool(settings, QStringLiteral("remote/remember_key"), false));
}

RemoteConfig ConnectDialog::config() const {
  RemoteConfig c;
  c.url = url_->text().trimmed();
  c.api_key = key_->text();
  c.model = model_->currentText().trimmed();
  c.tokenizer_dir = tokenizer_dir_->text().trimmed();
  return c;
}

void ConnectDialog::set_config(const RemoteConfig& c) {
  url_->setText(c.url);
  key_->setText(c.api_key);
  if (!c.model.isEmpty() && model_->findText(c.model) < 0) model_->addItem(c.model);
  model_->setCurrentText(c.model);
  tokenizer_dir_->setText(c.tokenizer_dir);
}

QStringList ConnectDialog::model_ids() const {
  QStringList ids;
  for (int i = 0; i < model_->count(); ++i) ids << model_->itemText(i);
  return ids;
}

QString ConnectDialog::status_text() const { return status_->text(); }
bool ConnectDialog::remember_key() const { return remember_->isChecked(); }
void ConnectDialog::set_remember_key(bool on) { remember_->setChecked(on); }

RemoteConfig ConnectDialog::load_settings() {
  QSettings s;
  RemoteConfig c;
  c.url = read_setting_string(s, QStringLiteral("remote/url"), QStringLiteral("http://127.0.0.1:8000/v1"));
  c.model = read_setting_string(s, QStringLiteral("remote/model"));
  c.tokenizer_dir = read_setting_string(s, QStringLiteral("remote/tokenizer_dir"));
  if (read_setting_bool(s, QStringLiteral("remote/remember_key"), false))
    c.api_key = read_setting_string(s, QStringLiteral("remote/api_key"));
  return c;
}

void ConnectDialog::save_settings() const {
  QSettings s;
  if (!begin_settings_write(s)) return;  // a newer build's file: read, never written
  const RemoteConfig c = config();
  s.setValue(QStringLiteral("remote/url"), c.url);
  s.setValue(QStringLiteral("remote/model"), c.model);
  s.setValue(QStringLiteral("remote/tokenizer_dir"), c.tokenizer_dir);
  s.setValue(QStringLiteral("remote/remember_key"), remember_->isChecked());
  if (remember_->isChecked()) s.setValue(QStringLiteral("remote/api_key"), c.api_key);
  else s.remove(QStringLiteral("remote/api_key"));  // unticked: a key stored earlier goes too
}

void ConnectDialog::fetch_models() {
  if (pending_) {
    pending_->disconnect(this);
    pending_->abort();
  }
  client_.set_base_url(url_->text());
  client_.set_api_key(key_->text());
  if (!client_.base_url().isValid() || client_.base_url().host().isEmpty()) {
    status_->setText(tr("Give the server's address, e.g. http://127.0.0.1:8000/v1"));
    emit models_fetched(false);
    return;
  }
  status_->setText(tr("Reading %1…").arg(client_.endpoint(QStringLiteral("models")).toString()));
  QNetworkReply* reply = client_.get(QStringLiteral("models"));
  pending_ = reply;
  connect(reply, &QNetworkReply::finished, this, [this, reply] { on_models(reply); });
}

void ConnectDialog::on_models(QNetworkReply* reply) {
  reply->deleteLater();
  const QByteArray body = reply->readAll();
  if (reply->error() != QNetworkReply::NoError) {
    status_->setText(RemoteClient::error_message(reply, body));
    emit models_fetched(false);
    return;
  }
  const QString current = model_->currentText();
  model_->clear();
  for (const QJsonValue& v : QJsonDocument::fromJson(body).object().value(QStringLiteral("data")).toArray())
    model_->addItem(v.toObject().value(QStringLiteral("id")).toString());
  if (model_->findText(current) >= 0) model_->setCurrentText(current);
  const bool ours = QJsonDocument::fromJson(body).object().value(QStringLiteral("data")).toArray()
                        .first().toObject().contains(QStringLiteral("logitscope"));
  status_->setText(model_->count() == 0 ? tr("The server lists no models.")
                                        : tr("%n model(s). %1", nullptr, model_->count())
                                              .arg(ours ? tr("Logitscope server: routing and exact entropy available.")
                                                        : tr("No logitscope extension: no routing, entropy estimated from the top-k.")));
  emit models_fetched(model_->count() > 0);
}

}  // namespace logitscope::gui
