// SPDX-License-Identifier: GPL-3.0-or-later
// Colours for QCustomPlot taken from the widget palette, so plots follow the system's light or dark
// scheme (and change with it), plus the heatmap gradient. Plots never use OpenGL.
#pragma once

#include <QPalette>

class QCustomPlot;
class QCPColorGradient;

namespace logitscope::widgets {

bool is_dark(const QPalette& palette);

// Background, axes, ticks, labels and grid from `palette`; no antialiasing of axes/grid (crisp
// under X forwarding and VNC). Call again on QEvent::PaletteChange.
void apply_plot_palette(QCustomPlot* plot, const QPalette& palette);

// Dark blue -> teal -> yellow, readable on both schemes (QCustomPlot 2.1.0 lacks gpViridis).
QCPColorGradient heat_gradient();

}  // namespace logitscope::widgets
