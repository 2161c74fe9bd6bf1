// SPDX-License-Identifier: GPL-3.0-or-later
#include "entropy_plot.h"

#include <QTimer>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <cmath>
#include <limits>

#include "event_store.h"
#include "plot_style.h"

namespace logitscope::widgets {

EntropyPlot::EntropyPlot(workbench::EventStore* store, QWidget* parent) : QWidget(parent), store_(store) {
  plot_ = new QCustomPlot(this);
  plot_->setObjectName(QStringLiteral("entropyPlot"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(plot_);
  graph_ = plot_->addGraph();
  graph_->setAdaptiveSampling(true);
  graph_->setPen(QPen(QColor(59, 130, 200), 1.5));
  graph_->setLineStyle(QCPGraph::lsStepCenter);
  plot_->xAxis->setLabel(tr("token"));
  plot_->yAxis->setLabel(tr("entropy (nats)"));
  marker_ = new QCPItemStraightLine(plot_);
  marker_->setPen(QPen(QColor(230, 120, 40), 2));
  marker_->setVisible(false);
  apply_plot_palette(plot_, palette());

  replot_timer_ = new QTimer(this);
  replot_timer_->setSingleShot(true);
  replot_timer_->setInterval(30);
  connect(replot_timer_, &QTimer::timeout, this, &EntropyPlot::refresh);
  connect(store_, &workbench::EventStore::changed, this, &EntropyPlot::schedule);
  connect(store_, &workbench::EventStore::selection_changed, this, [this] {
    update_marker();
    plot_->replot(QCustomPlot::rpQueuedReplot);
  });
  // Clicking the plot selects the nearest token.
  connect(plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
    const long index = std::lround(plot_->xAxis->pixelToCoord(event->position().x()));
    if (index >= 0 && index < long(store_->size())) store_->select(int(index));
  });
  refresh();
}

void EntropyPlot::schedule() {
  if (!replot_timer_->isActive()) replot_timer_->start();
}

void EntropyPlot::refresh() {
  replot_timer_->stop();
  const auto& events = store_->events();
  // Only the new tail is added while streaming; a replaced list starts over.
  if (generation_ != store_->generation() || graph_->dataCount() > int(events.size())) {
    graph_->data()->clear();
    generation_ = store_->generation();
    max_entropy_ = 1.0;
  }
  for (int i = graph_->dataCount(); i < int(events.size()); ++i) {
    graph_->addData(i, events[i].entropy);
    max_entropy_ = std::max(max_entropy_, double(events[i].entropy));
  }
  plot_->xAxis->setRange(-0.5, std::max<double>(double(events.size()) - 0.5, 10.0));
  plot_->yAxis->setRange(0.0, max_entropy_ * 1.08);
  update_marker();
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void EntropyPlot::update_marker() {
  const int selected = store_->selected();
  marker_->setVisible(selected >= 0);
  if (selected >= 0) {
    marker_->point1->setCoords(selected, 0.0);
    marker_->point2->setCoords(selected, 1.0);
  }
}

int EntropyPlot::point_count() const { return graph_->dataCount(); }

double EntropyPlot::marker_position() const {
  return marker_->visible() ? marker_->point1->coords().x() : std::numeric_limits<double>::quiet_NaN();
}

void EntropyPlot::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) {
    apply_plot_palette(plot_, palette());
    plot_->replot(QCustomPlot::rpQueuedReplot);
  }
}

}  // namespace logitscope::widgets
