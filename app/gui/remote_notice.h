// SPDX-License-Identifier: GPL-3.0-or-later
// A note laid over a view from outside it, for data a remote server does not provide ("Routing: not
// provided by this server") or provides only approximately ("entropy estimated from the top-k"),
// so the view says so instead of showing nothing. The views themselves stay unchanged.
#pragma once

#include <QLabel>

namespace logitscope::gui {

class RemoteNotice : public QLabel {
  Q_OBJECT
 public:
  enum class Placement { Center, TopRight };
  // Finds the notice on `view` (objectName "remoteNotice") or makes one.
  static RemoteNotice* on(QWidget* view, Placement placement);
  // Empty text hides it.
  void set_notice(const QString& text);

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  RemoteNotice(QWidget* view, Placement placement);
  void place();

  Placement placement_;
};

// Sets the notices of the views for a model summary (local models clear them).
struct ModelSummary;
void apply_remote_notices(const ModelSummary& summary, QWidget* routing_view, QWidget* entropy_view, QWidget* topk_view);

}  // namespace logitscope::gui
