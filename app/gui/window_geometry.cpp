// SPDX-License-Identifier: GPL-3.0-or-later
#include "window_geometry.h"

#include <QGuiApplication>
#include <QScreen>
#include <QWidget>

#include <algorithm>

namespace logitscope::gui {
namespace {

// Room left around a fitted window (and allowed outside for decorations when checking a saved one).
constexpr int kMargin = 16;

}  // namespace

QRect fitted_window_rect(QSize preferred, QSize minimum, const QRect& available) {
  if (!available.isValid()) return QRect(QPoint(0, 0), preferred);
  const QSize room = available.size() - QSize(2 * kMargin, 2 * kMargin);
  QSize size = preferred.boundedTo(room);
  // The minimum wins over the margin, never over the screen.
  size = size.expandedTo(minimum.boundedTo(available.size()));
  QRect rect(QPoint(0, 0), size);
  rect.moveCenter(available.center());
  return rect;
}

bool fits_a_screen(const QRect& frame, const QList<QRect>& screens) {
  if (!frame.isValid()) return false;
  return std::any_of(screens.begin(), screens.end(), [&](const QRect& screen) {
    return screen.adjusted(-kMargin, -kMargin, kMargin, kMargin).contains(frame);
  });
}

bool place_window(QWidget* window, QSize preferred, const QByteArray& saved) {
  QScreen* screen = window->screen() ? window->screen() : QGuiApplication::primaryScreen();
  const QRect available = screen ? screen->availableGeometry() : QRect();
  const QRect fitted = fitted_window_rect(preferred, window->minimumSizeHint(), available);
  window->resize(fitted.size());
  window->move(fitted.topLeft());
  if (saved.isEmpty() || !window->restoreGeometry(saved)) return false;
  QList<QRect> screens;
  for (QScreen* s : QGuiApplication::screens()) screens << s->availableGeometry();
  if (fits_a_screen(window->geometry(), screens)) return true;
  // Saved on a larger or a disconnected screen: the fitted default instead.
  window->setWindowState(Qt::WindowNoState);
  window->resize(fitted.size());
  window->move(fitted.topLeft());
  return false;
}

}  // namespace logitscope::gui
