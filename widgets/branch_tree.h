// SPDX-License-Identifier: GPL-3.0-or-later
// The branches of one reply as a tree (a branch hangs under the branch it forked from); clicking
// one asks to switch to it.
#pragma once

#include <QTreeWidget>

namespace logitscope::workbench {
struct Conversation;
}  // namespace logitscope::workbench

namespace logitscope::widgets {

class BranchTree : public QTreeWidget {
  Q_OBJECT
 public:
  explicit BranchTree(QWidget* parent = nullptr);

  // Shows the branches of reply `message` of `conversation` (none when it is not a reply).
  void show_message(const workbench::Conversation& conversation, int message);
  int message() const { return message_; }
  // Label of branch `branch` as shown (tests).
  QString branch_label(int branch) const;

 signals:
  void branch_selected(int message, int branch);

 private:
  int message_ = -1;
  bool filling_ = false;
};

}  // namespace logitscope::widgets
