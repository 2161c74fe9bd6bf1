// SPDX-License-Identifier: GPL-3.0-or-later
// Where the main window opens: never larger than the screen it opens on (a 1024x768 VNC desktop, a
// laptop panel), and the last session's geometry only when it still fits one of the screens now.
#pragma once

#include <QByteArray>
#include <QList>
#include <QRect>
#include <QSize>

class QWidget;

namespace logitscope::gui {

// The window's first frame: `preferred` shrunk to `available` (the screen less its panels) with a
// small margin, but not below `minimum` where the screen allows it, centred on `available`.
QRect fitted_window_rect(QSize preferred, QSize minimum, const QRect& available);

// True when `frame` lies within one of `screens` (their available areas), allowing a few pixels of
// window decoration outside.
bool fits_a_screen(const QRect& frame, const QList<QRect>& screens);

// Sizes and places `window` for its screen, then restores `saved` (QWidget::saveGeometry()) when
// the result fits a screen; otherwise the fitted default stays. Returns whether `saved` was used.
bool place_window(QWidget* window, QSize preferred, const QByteArray& saved);

}  // namespace logitscope::gui
