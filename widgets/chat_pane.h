// SPDX-License-Identifier: GPL-3.0-or-later
// The conversation as a column of messages plus the input box. It shows what it is given and
// turns clicks into requests; the app decides what they mean for the engine.
#pragma once

#include <QWidget>

#include <vector>

class QCheckBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QScrollArea;
class QVBoxLayout;

namespace logitscope::workbench {
struct ChatMessage;
struct Conversation;
}  // namespace logitscope::workbench

namespace logitscope::widgets {

class MessageView;

class ChatPane : public QWidget {
  Q_OBJECT
 public:
  explicit ChatPane(QWidget* parent = nullptr);

  // Rebuilds every message view (a loaded file, an edit, a branch switch).
  void set_conversation(const workbench::Conversation& conversation);
  // Refreshes one message's texts while it streams (adds a view when `index` is new).
  void update_message(int index, const workbench::ChatMessage& message);
  void set_busy(bool busy);
  void set_inspected(int index);

  QString input_text() const;
  void set_input_text(const QString& text);
  bool thinking_enabled() const;
  void set_thinking_enabled(bool on);
  void set_thinking_available(bool available);
  int message_count() const { return int(views_.size()); }
  MessageView* message_view(int index) const;
  int editing_index() const { return editing_; }

 public slots:
  void send();    // Ctrl+Return
  void begin_edit(int index);
  void cancel_edit();

 signals:
  void send_requested(const QString& text, bool thinking);
  void edit_resend_requested(int index, const QString& text, bool thinking);
  void regenerate_requested(int index);
  void stop_requested();
  void inspect_requested(int index);
  void thinking_toggled(int index, bool on);
  void copy_requested(int index);

 private:
  MessageView* add_view(int index, const workbench::ChatMessage& message);
  void scroll_to_end_if_following();

  std::vector<MessageView*> views_;
  std::vector<QString> user_texts_;  // for edit: the text of each user message
  QScrollArea* scroll_;
  QWidget* column_;
  QVBoxLayout* column_layout_;
  QPlainTextEdit* input_;
  QCheckBox* thinking_;
  QPushButton* send_;
  QPushButton* stop_;
  QLabel* edit_banner_;
  QPushButton* cancel_edit_;
  int editing_ = -1;
  bool busy_ = false;
};

}  // namespace logitscope::widgets
