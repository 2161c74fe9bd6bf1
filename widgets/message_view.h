// SPDX-License-Identifier: GPL-3.0-or-later
// One message of the chat: role, the reasoning in a collapsible block apart from the answer, and
// the per-message actions (copy, edit, regenerate, thinking on/off for the reply).
#pragma once

#include <QFrame>

class QCheckBox;
class QLabel;
class QToolButton;

namespace logitscope::workbench {
struct ChatMessage;
}  // namespace logitscope::workbench

namespace logitscope::widgets {

class ChunkedText;

class MessageView : public QFrame {
  Q_OBJECT
 public:
  MessageView(int index, const workbench::ChatMessage& message, QWidget* parent = nullptr);

  // Streaming updates replace the texts only; the block's open/closed state is kept.
  void update_from(const workbench::ChatMessage& message);
  void set_busy(bool busy);
  void set_inspected(bool inspected);

  int index() const { return index_; }
  QString answer_text() const;
  QString reasoning_text() const;
  bool reasoning_expanded() const;
  void set_reasoning_expanded(bool expanded);
  QCheckBox* thinking_box() const { return thinking_; }

 signals:
  void copy_requested(int index);
  void edit_requested(int index);
  void regenerate_requested(int index);
  void inspect_requested(int index);
  void thinking_toggled(int index, bool on);

 protected:
  void mousePressEvent(QMouseEvent* event) override;

 private:
  int index_;
  bool reply_;
  QLabel* role_;
  QLabel* branch_info_;
  QToolButton* reasoning_toggle_;
  ChunkedText* reasoning_;  // long replies stream in: only the last chunk re-lays out
  ChunkedText* answer_;
  QCheckBox* thinking_ = nullptr;
  QToolButton* edit_ = nullptr;
  QToolButton* regenerate_ = nullptr;
};

}  // namespace logitscope::widgets
