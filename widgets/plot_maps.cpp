// SPDX-License-Identifier: GPL-3.0-or-later
#include "plot_maps.h"

#include <qcustomplot.h>

#include <algorithm>

namespace logitscope::widgets {

void integer_ticks(QCPAxis* axis) {
  auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
  ticker->setTickStep(1.0);
  ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
  axis->setTicker(ticker);
}

void label_layer_rows(QCPAxis* axis, const std::vector<int>& layers) {
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  const int rows = int(layers.size());
  const int stride = std::max(1, rows / 16);
  for (int r = 0; r < rows; r += stride) ticker->addTick(r, QString::number(layers[std::size_t(r)]));
  axis->setTicker(ticker);
  axis->setRange(-0.5, std::max(rows, 1) - 0.5);
}

void zoom_along_x(QCustomPlot* plot) {
  plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot->axisRect()->setRangeDrag(Qt::Horizontal);
  plot->axisRect()->setRangeZoom(Qt::Horizontal);
}

QCPBars* add_bars(QCustomPlot* plot, const QColor& colour, const QString& name) {
  auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
  bars->setWidthType(QCPBars::wtPlotCoords);
  bars->setWidth(0.8);
  bars->setPen(Qt::NoPen);
  bars->setBrush(colour);
  bars->setName(name);
  return bars;
}

QCPColorMap* add_map(QCustomPlot* plot, const QCPColorGradient& gradient, const QString& scale_label) {
  auto* map = new QCPColorMap(plot->xAxis, plot->yAxis);
  map->setInterpolate(false);  // one crisp cell each
  map->setTightBoundary(false);
  auto* scale = new QCPColorScale(plot);
  plot->plotLayout()->addElement(0, 1, scale);
  scale->setType(QCPAxis::atRight);
  map->setColorScale(scale);
  // After setColorScale: attaching a scale hands the map the scale's (default) gradient.
  scale->setGradient(gradient);
  map->setGradient(gradient);
  scale->axis()->setLabel(scale_label);
  auto* margins = new QCPMarginGroup(plot);
  plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
  scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
  plot->xAxis->grid()->setVisible(false);
  plot->yAxis->grid()->setVisible(false);
  return map;
}

void size_map(QCPColorMap* map, int keys, int values) {
  map->data()->setSize(std::max(keys, 2), std::max(values, 2));
  map->data()->setRange(keys <= 1 ? QCPRange(-0.25, 0.25) : QCPRange(0, keys - 1),
                        values <= 1 ? QCPRange(-0.25, 0.25) : QCPRange(0, values - 1));
}

void set_map_cell(QCPColorMap* map, int key, int value, int keys, int values, double v) {
  for (int k = keys <= 1 ? 0 : key; k <= (keys <= 1 ? 1 : key); ++k)
    for (int w = values <= 1 ? 0 : value; w <= (values <= 1 ? 1 : value); ++w) map->data()->setCell(k, w, v);
}

double map_cell(const QCPColorMap* map, int key, int value, int keys, int values) {
  return map->data()->cell(keys <= 1 ? 0 : key, values <= 1 ? 0 : value);
}

}  // namespace logitscope::widgets
