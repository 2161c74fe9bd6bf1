// SPDX-License-Identifier: GPL-3.0-or-later
#include "routing_heatmap.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSplitter>
#include <QTimer>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <cmath>

#include "event_store.h"
#include "plot_style.h"

namespace logitscope::widgets {
namespace {

// Cell centres sit on integers. A dimension of one cell would make QCustomPlot's range zero wide
// (and the cell invisible), so it is stored as two equal cells spanning [-0.25, 0.25].
void set_dimension(int count, int* cells, QCPRange* range) {
  if (count <= 1) {
    *cells = 2;
    *range = QCPRange(-0.25, 0.25);
  } else {
    *cells = count;
    *range = QCPRange(0, count - 1);
  }
}

}  // namespace

RoutingHeatmap::RoutingHeatmap(workbench::EventStore* store, QWidget* parent) : QWidget(parent), store_(store) {
  mode_box_ = new QComboBox(this);
  mode_box_->addItems({tr("Selected token (weights)"), tr("Selected span (counts)"), tr("Whole answer (counts)")});
  mode_box_->setToolTip(tr("Shift-click in the token strip to select a span"));
  caption_ = new QLabel(this);
  readout_ = new QLabel(tr("Hover a cell"), this);
  readout_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  map_plot_ = new QCustomPlot(this);
  hist_plot_ = new QCustomPlot(this);
  map_plot_->setObjectName(QStringLiteral("routingMap"));
  hist_plot_->setObjectName(QStringLiteral("expertHistogram"));

  auto* top = new QHBoxLayout;
  top->addWidget(mode_box_);
  top->addWidget(caption_, 1);
  auto* splitter = new QSplitter(Qt::Vertical, this);
  splitter->addWidget(map_plot_);
  splitter->addWidget(hist_plot_);
  splitter->setStretchFactor(0, 3);
  splitter->setStretchFactor(1, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  layout->addLayout(top);
  layout->addWidget(splitter, 1);
  layout->addWidget(readout_);

  replot_timer_ = new QTimer(this);
  replot_timer_->setSingleShot(true);
  replot_timer_->setInterval(30);
  connect(replot_timer_, &QTimer::timeout, this, &RoutingHeatmap::refresh);

  setup_plots();
  connect(mode_box_, qOverload<int>(&QComboBox::currentIndexChanged), this,
          [this](int index) { set_mode(Mode(index)); });
  connect(store_, &workbench::EventStore::changed, this, &RoutingHeatmap::schedule);
  connect(store_, &workbench::EventStore::selection_changed, this, &RoutingHeatmap::schedule);
  connect(map_plot_, &QCustomPlot::mouseMove, this,
          [this](QMouseEvent* event) { readout_->setText(readout_at(event->position().toPoint())); });
  refresh();
}

void RoutingHeatmap::setup_plots() {
  map_ = new QCPColorMap(map_plot_->xAxis, map_plot_->yAxis);
  map_->setInterpolate(false);  // one crisp cell per (layer, expert)
  map_->setTightBoundary(false);
  scale_ = new QCPColorScale(map_plot_);
  map_plot_->plotLayout()->addElement(0, 1, scale_);
  scale_->setType(QCPAxis::atRight);
  map_->setColorScale(scale_);
  // After setColorScale: attaching a scale hands the map the scale's (default) gradient.
  scale_->setGradient(heat_gradient());
  map_->setGradient(heat_gradient());
  auto* margins = new QCPMarginGroup(map_plot_);
  map_plot_->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
  scale_->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
  map_plot_->xAxis->setLabel(tr("expert"));
  map_plot_->yAxis->setLabel(tr("MoE layer"));
  map_plot_->xAxis->grid()->setVisible(false);
  map_plot_->yAxis->grid()->setVisible(false);

  bars_ = new QCPBars(hist_plot_->xAxis, hist_plot_->yAxis);
  bars_->setWidthType(QCPBars::wtPlotCoords);
  bars_->setWidth(0.8);
  bars_->setPen(Qt::NoPen);
  bars_->setBrush(QColor(33, 145, 140));
  hist_plot_->xAxis->setLabel(tr("expert"));
  hist_plot_->yAxis->setLabel(tr("usage"));
  apply_plot_palette(map_plot_, palette());
  apply_plot_palette(hist_plot_, palette());
}

void RoutingHeatmap::set_mode(Mode mode) {
  mode_ = mode;
  if (mode_box_->currentIndex() != int(mode)) mode_box_->setCurrentIndex(int(mode));
  refresh();
}

void RoutingHeatmap::schedule() {
  if (!replot_timer_->isActive()) replot_timer_->start();
}

std::pair<int, int> RoutingHeatmap::current_range() const {
  const int size = int(store_->size());
  switch (mode_) {
    case Mode::WholeAnswer:
      return {0, size};
    case Mode::SelectedSpan:
      if (store_->has_span()) return {store_->span_begin(), store_->span_end()};
      [[fallthrough]];
    case Mode::SelectedToken: {
      // Without a selection follow the newest token, so the map moves while streaming.
      const int index = store_->selected() >= 0 ? store_->selected() : size - 1;
      return index >= 0 ? std::pair{index, index + 1} : std::pair{0, 0};
    }
  }
  return {0, 0};
}

void RoutingHeatmap::refresh() {
  replot_timer_->stop();
  const auto [begin, end] = current_range();
  const bool counts = mode_ != Mode::SelectedToken;
  grid_ = compute_routing_grid(store_->events(), begin, end, store_->routing_shape(), counts);

  if (end - begin == 1) caption_->setText(tr("token #%1").arg(begin));
  else if (end > begin) caption_->setText(tr("tokens #%1-#%2 (%3)").arg(begin).arg(end - 1).arg(end - begin));
  else caption_->setText(tr("no tokens"));

  int key_cells = 0, value_cells = 0;
  QCPRange key_range, value_range;
  set_dimension(grid_.num_experts, &key_cells, &key_range);
  set_dimension(grid_.rows(), &value_cells, &value_range);
  map_->data()->setSize(key_cells, value_cells);
  map_->data()->setRange(key_range, value_range);
  for (int x = 0; x < key_cells; ++x) {
    for (int y = 0; y < value_cells; ++y) {
      const int expert = std::min(x, grid_.num_experts - 1);
      const int row = std::min(y, grid_.rows() - 1);
      map_->data()->setCell(x, y, expert >= 0 && row >= 0 ? grid_.at(row, expert) : 0.0);
    }
  }
  const double top = grid_.max_value();
  map_->setDataRange(QCPRange(0.0, top > 0 ? top : 1.0));
  scale_->axis()->setLabel(counts ? tr("times chosen") : tr("combine weight"));

  // Layer numbers of the full stack on the y axis; thin the labels when there are many rows.
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  const int stride = std::max(1, grid_.rows() / 24);
  for (int r = 0; r < grid_.rows(); r += stride) ticker->addTick(r, QString::number(grid_.layers[r]));
  map_plot_->yAxis->setTicker(ticker);
  map_plot_->xAxis->setRange(-0.5, std::max(grid_.num_experts, 1) - 0.5);
  // Experts are whole numbers: ticks on integers only (1, 2, 5, 10, ... steps as space allows).
  for (QCustomPlot* plot : {map_plot_, hist_plot_}) {
    auto integer_ticks = QSharedPointer<QCPAxisTickerFixed>::create();
    integer_ticks->setTickStep(1.0);
    integer_ticks->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    plot->xAxis->setTicker(integer_ticks);
  }
  map_plot_->yAxis->setRange(-0.5, std::max(grid_.rows(), 1) - 0.5);

  const std::vector<double> totals = grid_.expert_totals();
  QVector<double> keys(qsizetype(totals.size())), values(totals.begin(), totals.end());
  for (qsizetype i = 0; i < keys.size(); ++i) keys[i] = double(i);
  bars_->setData(keys, values, true);
  hist_plot_->xAxis->setRange(-0.5, std::max(grid_.num_experts, 1) - 0.5);
  double hist_top = 0.0;
  for (double v : totals) hist_top = std::max(hist_top, v);
  hist_plot_->yAxis->setRange(0.0, hist_top > 0 ? hist_top * 1.05 : 1.0);

  map_plot_->replot(QCustomPlot::rpQueuedReplot);
  hist_plot_->replot(QCustomPlot::rpQueuedReplot);
}

double RoutingHeatmap::cell_value(int row, int expert) const {
  return map_->data()->cell(grid_.num_experts <= 1 ? 0 : expert, grid_.rows() <= 1 ? 0 : row);
}

std::vector<double> RoutingHeatmap::histogram_values() const {
  std::vector<double> out;
  for (auto it = bars_->data()->constBegin(); it != bars_->data()->constEnd(); ++it) out.push_back(it->value);
  return out;
}

QString RoutingHeatmap::readout_at(const QPoint& pixel) const {
  const int expert = int(std::lround(map_plot_->xAxis->pixelToCoord(pixel.x())));
  const int row = int(std::lround(map_plot_->yAxis->pixelToCoord(pixel.y())));
  if (expert < 0 || expert >= grid_.num_experts || row < 0 || row >= grid_.rows()) return tr("Hover a cell");
  const double value = grid_.at(row, expert);
  return grid_.counts
             ? tr("layer %1, expert %2: chosen %3 times").arg(grid_.layers[row]).arg(expert).arg(value)
             : tr("layer %1, expert %2: weight %3").arg(grid_.layers[row]).arg(expert).arg(value, 0, 'f', 4);
}

QString RoutingHeatmap::readout_text() const { return readout_->text(); }

void RoutingHeatmap::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) {
    apply_plot_palette(map_plot_, palette());
    apply_plot_palette(hist_plot_, palette());
    map_plot_->replot(QCustomPlot::rpQueuedReplot);
    hist_plot_->replot(QCustomPlot::rpQueuedReplot);
  }
}

}  // namespace logitscope::widgets
