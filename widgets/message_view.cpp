// SPDX-License-Identifier: GPL-3.0-or-later
#include "message_view.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QToolButton>
#include <QVBoxLayout>

#include "chunked_text.h"
#include "conversation.h"

namespace logitscope::widgets {

MessageView::MessageView(int index, const workbench::ChatMessage& message, QWidget* parent)
    : QFrame(parent), index_(index), reply_(message.is_reply()) {
  setObjectName(QStringLiteral("message%1").arg(index));
  setFrameShape(QFrame::StyledPanel);
  setAutoFillBackground(true);
  setBackgroundRole(reply_ ? QPalette::Base : QPalette::AlternateBase);

  role_ = new QLabel(this);
  QFont bold = role_->font();
  bold.setBold(true);
  role_->setFont(bold);
  branch_info_ = new QLabel(this);
  branch_info_->setForegroundRole(QPalette::PlaceholderText);
  auto* copy = new QToolButton(this);
  copy->setText(tr("Copy"));
  copy->setToolTip(tr("Copy the answer to the clipboard"));
  connect(copy, &QToolButton::clicked, this, [this] { emit copy_requested(index_); });

  auto* header = new QHBoxLayout;
  header->addWidget(role_);
  header->addWidget(branch_info_);
  header->addStretch(1);
  if (!reply_ && message.role == QLatin1String("user")) {
    thinking_ = new QCheckBox(tr("thinking"), this);
    thinking_->setToolTip(tr("Let the model reason before answering this message (applies when it is regenerated or resent)"));
    thinking_->setChecked(message.thinking);
    connect(thinking_, &QCheckBox::toggled, this, [this](bool on) { emit thinking_toggled(index_, on); });
    header->addWidget(thinking_);
    edit_ = new QToolButton(this);
    edit_->setText(tr("Edit"));
    edit_->setToolTip(tr("Edit this message and send it again (later messages are dropped)"));
    connect(edit_, &QToolButton::clicked, this, [this] { emit edit_requested(index_); });
    header->addWidget(edit_);
  }
  if (reply_) {
    regenerate_ = new QToolButton(this);
    regenerate_->setText(tr("Regenerate"));
    regenerate_->setToolTip(tr("Generate this reply again as a new branch"));
    connect(regenerate_, &QToolButton::clicked, this, [this] { emit regenerate_requested(index_); });
    header->addWidget(regenerate_);
  }
  header->addWidget(copy);

  reasoning_toggle_ = new QToolButton(this);
  reasoning_toggle_->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  reasoning_toggle_->setArrowType(Qt::RightArrow);
  reasoning_toggle_->setCheckable(true);
  reasoning_toggle_->setAutoRaise(true);
  reasoning_ = new ChunkedText(this);
  reasoning_->setForegroundRole(QPalette::PlaceholderText);
  reasoning_->setContentsMargins(12, 0, 0, 0);
  reasoning_->setVisible(false);
  connect(reasoning_toggle_, &QToolButton::toggled, this, &MessageView::set_reasoning_expanded);

  answer_ = new ChunkedText(this);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 4, 6, 6);
  layout->setSpacing(2);
  layout->addLayout(header);
  layout->addWidget(reasoning_toggle_);
  layout->addWidget(reasoning_);
  layout->addWidget(answer_);
  update_from(message);
}

void MessageView::update_from(const workbench::ChatMessage& message) {
  const QString role = message.role == QLatin1String("assistant") ? tr("Model")
                       : message.role == QLatin1String("user")    ? tr("You")
                                                                  : message.role;
  role_->setText(role);
  if (reply_ && message.branches.size() > 1) {
    branch_info_->setText(tr("branch %1 of %2").arg(message.current_branch + 1).arg(message.branches.size()));
  } else {
    branch_info_->clear();
  }
  const bool has_reasoning = !message.reasoning.isEmpty();
  reasoning_toggle_->setVisible(has_reasoning);
  reasoning_toggle_->setText(tr("Reasoning (%1 characters)").arg(message.reasoning.size()));
  // Streaming calls this for every batch: only the chunks that changed are laid out again.
  reasoning_->set_text(message.reasoning);
  reasoning_->setVisible(has_reasoning && reasoning_toggle_->isChecked());
  answer_->set_text(message.content);
  if (thinking_ && thinking_->isChecked() != message.thinking) {
    const QSignalBlocker blocker(thinking_);
    thinking_->setChecked(message.thinking);
  }
}

void MessageView::set_busy(bool busy) {
  if (edit_) edit_->setEnabled(!busy);
  if (regenerate_) regenerate_->setEnabled(!busy);
}

void MessageView::set_inspected(bool inspected) {
  setFrameShadow(inspected ? QFrame::Sunken : QFrame::Plain);
  setLineWidth(inspected ? 2 : 1);
}

QString MessageView::answer_text() const { return answer_->text(); }
QString MessageView::reasoning_text() const { return reasoning_->text(); }
bool MessageView::reasoning_expanded() const { return reasoning_toggle_->isChecked(); }

void MessageView::set_reasoning_expanded(bool expanded) {
  if (reasoning_toggle_->isChecked() != expanded) reasoning_toggle_->setChecked(expanded);
  reasoning_toggle_->setArrowType(expanded ? Qt::DownArrow : Qt::RightArrow);
  reasoning_->setVisible(expanded && !reasoning_->text().isEmpty());
}

void MessageView::mousePressEvent(QMouseEvent* event) {
  QFrame::mousePressEvent(event);
  if (reply_ && event->button() == Qt::LeftButton) emit inspect_requested(index_);
}

}  // namespace logitscope::widgets
