// SPDX-License-Identifier: GPL-3.0-or-later
#include "chat_pane.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QTimer>
#include <QVBoxLayout>

#include "conversation.h"
#include "message_view.h"

namespace logitscope::widgets {

ChatPane::ChatPane(QWidget* parent) : QWidget(parent) {
  scroll_ = new QScrollArea(this);
  scroll_->setWidgetResizable(true);
  scroll_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  column_ = new QWidget(scroll_);
  column_layout_ = new QVBoxLayout(column_);
  column_layout_->setContentsMargins(4, 4, 4, 4);
  column_layout_->addStretch(1);
  scroll_->setWidget(column_);

  edit_banner_ = new QLabel(this);
  edit_banner_->setVisible(false);
  cancel_edit_ = new QPushButton(tr("Cancel edit"), this);
  cancel_edit_->setVisible(false);
  connect(cancel_edit_, &QPushButton::clicked, this, &ChatPane::cancel_edit);

  input_ = new QPlainTextEdit(this);
  input_->setObjectName(QStringLiteral("chatInput"));
  input_->setPlaceholderText(tr("Message (Ctrl+Return sends)"));
  input_->setMaximumHeight(input_->fontMetrics().height() * 6);
  thinking_ = new QCheckBox(tr("Thinking"), this);
  thinking_->setToolTip(tr("Let the model reason before it answers (when the chat template supports it)"));
  send_ = new QPushButton(tr("Send"), this);
  send_->setToolTip(tr("Send (Ctrl+Return)"));
  stop_ = new QPushButton(tr("Stop"), this);
  stop_->setToolTip(tr("Stop generating (Esc)"));
  stop_->setEnabled(false);
  connect(send_, &QPushButton::clicked, this, &ChatPane::send);
  connect(stop_, &QPushButton::clicked, this, &ChatPane::stop_requested);

  auto* edit_row = new QHBoxLayout;
  edit_row->addWidget(edit_banner_, 1);
  edit_row->addWidget(cancel_edit_);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(thinking_);
  buttons->addStretch(1);
  buttons->addWidget(stop_);
  buttons->addWidget(send_);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  layout->addWidget(scroll_, 1);
  layout->addLayout(edit_row);
  layout->addWidget(input_);
  layout->addLayout(buttons);
}

MessageView* ChatPane::add_view(int index, const workbench::ChatMessage& message) {
  auto* view = new MessageView(index, message, column_);
  column_layout_->insertWidget(column_layout_->count() - 1, view);  // before the stretch
  connect(view, &MessageView::copy_requested, this, &ChatPane::copy_requested);
  connect(view, &MessageView::edit_requested, this, &ChatPane::begin_edit);
  connect(view, &MessageView::regenerate_requested, this, &ChatPane::regenerate_requested);
  connect(view, &MessageView::inspect_requested, this, &ChatPane::inspect_requested);
  connect(view, &MessageView::thinking_toggled, this, &ChatPane::thinking_toggled);
  view->set_busy(busy_);
  views_.push_back(view);
  user_texts_.push_back(message.role == QLatin1String("user") ? message.content : QString());
  return view;
}

void ChatPane::set_conversation(const workbench::Conversation& conversation) {
  for (MessageView* view : views_) view->deleteLater();
  views_.clear();
  user_texts_.clear();
  for (int i = 0; i < int(conversation.messages.size()); ++i) add_view(i, conversation.messages[i]);
  if (editing_ >= int(views_.size())) cancel_edit();
  scroll_to_end_if_following();
}

void ChatPane::update_message(int index, const workbench::ChatMessage& message) {
  if (index < 0) return;
  if (index < int(views_.size())) {
    views_[index]->update_from(message);
    if (message.role == QLatin1String("user")) user_texts_[index] = message.content;
  } else {
    while (int(views_.size()) < index) add_view(int(views_.size()), workbench::ChatMessage::make(QStringLiteral("system")));
    add_view(index, message);
  }
  scroll_to_end_if_following();
}

void ChatPane::scroll_to_end_if_following() {
  QScrollBar* bar = scroll_->verticalScrollBar();
  // Follow the stream only when the user has not scrolled up to read something.
  if (bar->value() >= bar->maximum() - 40) {
    QTimer::singleShot(0, this, [bar] { bar->setValue(bar->maximum()); });
  }
}

void ChatPane::set_busy(bool busy) {
  busy_ = busy;
  send_->setEnabled(!busy);
  stop_->setEnabled(busy);
  for (MessageView* view : views_) view->set_busy(busy);
}

void ChatPane::set_inspected(int index) {
  for (MessageView* view : views_) view->set_inspected(view->index() == index);
}

QString ChatPane::input_text() const { return input_->toPlainText(); }
void ChatPane::set_input_text(const QString& text) { input_->setPlainText(text); }
bool ChatPane::thinking_enabled() const { return thinking_->isChecked(); }
void ChatPane::set_thinking_enabled(bool on) { thinking_->setChecked(on); }

void ChatPane::set_thinking_available(bool available) {
  thinking_->setEnabled(available);
  if (!available) thinking_->setToolTip(tr("This model's chat template has no thinking switch"));
}

MessageView* ChatPane::message_view(int index) const {
  return index >= 0 && index < int(views_.size()) ? views_[index] : nullptr;
}

void ChatPane::send() {
  if (busy_) return;
  const QString text = input_->toPlainText().trimmed();
  if (text.isEmpty()) return;
  const int editing = editing_;
  input_->clear();
  cancel_edit();
  if (editing >= 0) emit edit_resend_requested(editing, text, thinking_->isChecked());
  else emit send_requested(text, thinking_->isChecked());
}

void ChatPane::begin_edit(int index) {
  if (index < 0 || index >= int(user_texts_.size())) return;
  editing_ = index;
  input_->setPlainText(user_texts_[index]);
  if (MessageView* view = message_view(index); view && view->thinking_box()) {
    thinking_->setChecked(view->thinking_box()->isChecked());
  }
  edit_banner_->setText(tr("Editing message %1: sending replaces it and drops the messages after it").arg(index + 1));
  edit_banner_->setVisible(true);
  cancel_edit_->setVisible(true);
  input_->setFocus();
}

void ChatPane::cancel_edit() {
  editing_ = -1;
  edit_banner_->setVisible(false);
  cancel_edit_->setVisible(false);
}

}  // namespace logitscope::widgets
