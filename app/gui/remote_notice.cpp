// SPDX-License-Identifier: GPL-3.0-or-later
#include "remote_notice.h"

#include <QEvent>

#include "engine_types.h"

namespace logitscope::gui {

RemoteNotice::RemoteNotice(QWidget* view, Placement placement) : QLabel(view), placement_(placement) {
  setObjectName(QStringLiteral("remoteNotice"));
  setWordWrap(true);
  setAlignment(Qt::AlignCenter);
  setAttribute(Qt::WA_TransparentForMouseEvents);  // the view under it stays usable
  setAutoFillBackground(true);
  QPalette p = palette();
  p.setColor(QPalette::Window, QColor(255, 248, 220, 230));
  p.setColor(QPalette::WindowText, QColor(90, 70, 0));
  setPalette(p);
  setMargin(6);
  view->installEventFilter(this);
  hide();
}

RemoteNotice* RemoteNotice::on(QWidget* view, Placement placement) {
  if (auto* existing = view->findChild<RemoteNotice*>(QStringLiteral("remoteNotice"), Qt::FindDirectChildrenOnly)) return existing;
  return new RemoteNotice(view, placement);
}

void RemoteNotice::set_notice(const QString& text) {
  setText(text);
  setVisible(!text.isEmpty());
  if (!text.isEmpty()) {
    place();
    raise();
  }
}

bool RemoteNotice::eventFilter(QObject* watched, QEvent* event) {
  if (watched == parent() && event->type() == QEvent::Resize) place();
  return QLabel::eventFilter(watched, event);
}

void RemoteNotice::place() {
  const QWidget* view = parentWidget();
  if (!view) return;
  if (placement_ == Placement::Center) {
    const int w = std::min(view->width() - 20, 420);
    const int h = heightForWidth(w) > 0 ? heightForWidth(w) : sizeHint().height();
    setGeometry((view->width() - w) / 2, (view->height() - h) / 2, w, h);
  } else {
    const int w = std::min(view->width() - 20, 300);
    const int h = heightForWidth(w) > 0 ? heightForWidth(w) : sizeHint().height();
    setGeometry(view->width() - w - 10, 6, w, h);
  }
}

void apply_remote_notices(const ModelSummary& summary, QWidget* routing_view, QWidget* entropy_view, QWidget* topk_view) {
  const bool remote = !summary.remote_url.isEmpty();
  RemoteNotice::on(routing_view, RemoteNotice::Placement::Center)
      ->set_notice(remote && !summary.provides_routing
                       ? QObject::tr("Routing: not provided by this server (it has no logitscope routing extension; "
                                     "logitscope-cli serve sends it).")
                       : QString());
  RemoteNotice::on(entropy_view, RemoteNotice::Placement::TopRight)
      ->set_notice(remote && !summary.exact_entropy
                       ? QObject::tr("Estimated from the top-k log probabilities (a lower bound): exact entropy "
                                     "not provided by this server.")
                       : QString());
  RemoteNotice::on(topk_view, RemoteNotice::Placement::TopRight)
      ->set_notice(remote && !summary.exact_entropy
                       ? QObject::tr("From top_logprobs (at most 20): logits not provided by this server.")
                       : QString());
}

}  // namespace logitscope::gui
