// SPDX-License-Identifier: GPL-3.0-or-later
#include "branch_tree.h"

#include <QHeaderView>

#include <vector>

#include "conversation.h"
#include "logitscope/interventions.h"
#include "token_format.h"

namespace logitscope::widgets {

BranchTree::BranchTree(QWidget* parent) : QTreeWidget(parent) {
  setColumnCount(2);
  setHeaderLabels({tr("branch"), tr("tokens")});
  header()->setSectionResizeMode(0, QHeaderView::Stretch);
  setRootIsDecorated(true);
  connect(this, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem* item, QTreeWidgetItem*) {
    if (filling_ || !item) return;
    emit branch_selected(message_, item->data(0, Qt::UserRole).toInt());
  });
}

void BranchTree::show_message(const workbench::Conversation& conversation, int message) {
  filling_ = true;
  clear();
  message_ = message;
  if (message < 0 || message >= int(conversation.messages.size()) || !conversation.messages[message].is_reply()) {
    filling_ = false;
    return;
  }
  const workbench::ChatMessage& reply = conversation.messages[message];
  std::vector<QTreeWidgetItem*> items(reply.branches.size(), nullptr);
  for (int b = 0; b < int(reply.branches.size()); ++b) {
    const workbench::Branch& branch = reply.branches[b];
    QString label;
    if (branch.parent < 0) {
      label = b == 0 ? tr("answer") : tr("regenerated %1").arg(b);
    } else {
      const auto parent_events = conversation.branch_events(message, branch.parent);
      const QString from = branch.fork_at < int(parent_events.size()) ? visible_token(parent_events[branch.fork_at]) : tr("(end)");
      const QString to = branch.events.empty() ? QStringLiteral("?") : visible_token(branch.events.front());
      label = tr("#%1: %2 \u2192 %3").arg(branch.fork_at).arg(from, to);
    }
    if (!branch.stop_reason.isEmpty()) label += QStringLiteral("  [%1]").arg(branch.stop_reason);
    // An intervention branch says what it changed (from: an index among the reply's tokens).
    const QString changed = QString::fromStdString(describe(branch.interventions));
    if (!changed.isEmpty()) label += QStringLiteral("  \u2691 %1").arg(changed);
    const int total = int(conversation.branch_events(message, b).size());
    QTreeWidgetItem* parent_item = branch.parent >= 0 && branch.parent < b ? items[branch.parent] : nullptr;
    auto* item = parent_item ? new QTreeWidgetItem(parent_item) : new QTreeWidgetItem(this);
    item->setText(0, label);
    item->setText(1, QString::number(total));
    item->setData(0, Qt::UserRole, b);
    items[b] = item;
  }
  expandAll();
  if (reply.current_branch >= 0 && reply.current_branch < int(items.size())) setCurrentItem(items[reply.current_branch]);
  filling_ = false;
}

QString BranchTree::branch_label(int branch) const {
  for (QTreeWidgetItemIterator it(const_cast<BranchTree*>(this)); *it; ++it) {
    if ((*it)->data(0, Qt::UserRole).toInt() == branch) return (*it)->text(0);
  }
  return {};
}

}  // namespace logitscope::widgets
