// SPDX-License-Identifier: GPL-3.0-or-later
#include "plot_style.h"

#include <qcustomplot.h>

namespace logitscope::widgets {

bool is_dark(const QPalette& palette) {
  return palette.color(QPalette::Window).lightness() < palette.color(QPalette::WindowText).lightness();
}

void apply_plot_palette(QCustomPlot* plot, const QPalette& palette) {
  const QColor background = palette.color(QPalette::Base);
  const QColor text = palette.color(QPalette::Text);
  QColor grid = palette.color(QPalette::Mid);
  grid.setAlpha(110);
  plot->setBackground(background);
  plot->setAntialiasedElements(QCP::aeNone);
  plot->setNotAntialiasedElements(QCP::aeAxes | QCP::aeGrid | QCP::aeSubGrid);
  for (QCPAxisRect* rect : plot->axisRects()) {
    rect->setBackground(background);
    for (QCPAxis* axis : rect->axes()) {
      axis->setBasePen(QPen(text, 1));
      axis->setTickPen(QPen(text, 1));
      axis->setSubTickPen(QPen(text, 1));
      axis->setTickLabelColor(text);
      axis->setLabelColor(text);
      axis->grid()->setPen(QPen(grid, 1, Qt::DotLine));
      axis->grid()->setZeroLinePen(Qt::NoPen);
    }
  }
  for (int i = 0; i < plot->plotLayout()->elementCount(); ++i) {
    if (auto* scale = qobject_cast<QCPColorScale*>(plot->plotLayout()->elementAt(i))) {
      QCPAxis* axis = scale->axis();
      axis->setBasePen(QPen(text, 1));
      axis->setTickPen(QPen(text, 1));
      axis->setSubTickPen(QPen(text, 1));
      axis->setTickLabelColor(text);
      axis->setLabelColor(text);
    }
    if (auto* title = qobject_cast<QCPTextElement*>(plot->plotLayout()->elementAt(i))) {
      title->setTextColor(text);
    }
  }
}

QCPColorGradient heat_gradient() {
  QCPColorGradient gradient;
  gradient.clearColorStops();
  gradient.setColorStopAt(0.0, QColor(38, 20, 72));
  gradient.setColorStopAt(0.25, QColor(59, 82, 139));
  gradient.setColorStopAt(0.5, QColor(33, 145, 140));
  gradient.setColorStopAt(0.75, QColor(94, 201, 98));
  gradient.setColorStopAt(1.0, QColor(253, 231, 37));
  gradient.setColorInterpolation(QCPColorGradient::ciRGB);
  return gradient;
}

}  // namespace logitscope::widgets
