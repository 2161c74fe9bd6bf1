// SPDX-License-Identifier: GPL-3.0-or-later
#include "router_view.h"

#include <QComboBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QSplitter>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "plot_maps.h"
#include "plot_style.h"
#include "token_format.h"

namespace logitscope::widgets {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

RouterView::RouterView(QWidget* parent) : QWidget(parent) {
  layer_box_ = new QComboBox;
  layer_box_->setToolTip(tr("The MoE layer whose router the bars show"));
  caption_ = new QLabel(tr("Select a token to see its router."));
  caption_->setWordWrap(true);
  summary_ = new QLabel;
  summary_->setWordWrap(true);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  readout_ = new QLabel(tr("Hover a bar or a cell"));
  readout_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  scores_plot_ = new QCustomPlot;
  scores_plot_->setObjectName(QStringLiteral("routerScores"));
  margin_plot_ = new QCustomPlot;
  margin_plot_->setObjectName(QStringLiteral("routingMargins"));
  load_plot_ = new QCustomPlot;
  load_plot_->setObjectName(QStringLiteral("expertLoad"));
  for (QCustomPlot* plot : {scores_plot_, margin_plot_, load_plot_}) plot->setMinimumHeight(120);

  auto* top = new QHBoxLayout;
  top->addWidget(new QLabel(tr("MoE layer")));
  top->addWidget(layer_box_);
  top->addWidget(caption_, 1);
  auto* maps = new QSplitter(Qt::Horizontal);
  maps->addWidget(margin_plot_);
  maps->addWidget(load_plot_);
  maps->setStretchFactor(0, 3);
  maps->setStretchFactor(1, 2);
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(scores_plot_);
  split->addWidget(maps);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  layout->addLayout(top);
  layout->addWidget(summary_);
  layout->addWidget(split, 1);
  layout->addWidget(readout_);

  setup_plots();
  connect(layer_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
    if (index >= 0 && index != moe_) set_moe(index);
  });
  connect(scores_plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* event) {
    readout_->setText(expert_readout(int(std::lround(scores_plot_->xAxis->pixelToCoord(event->position().x())))));
  });
  connect(margin_plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* event) {
    readout_->setText(margin_readout(std::llround(margin_plot_->xAxis->pixelToCoord(event->position().x())),
                                     int(std::lround(margin_plot_->yAxis->pixelToCoord(event->position().y())))));
  });
  connect(load_plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* event) {
    readout_->setText(load_readout(int(std::lround(load_plot_->yAxis->pixelToCoord(event->position().y()))),
                                   int(std::lround(load_plot_->xAxis->pixelToCoord(event->position().x())))));
  });
}

void RouterView::setup_plots() {
  score_bars_ = add_bars(scores_plot_, QColor(59, 82, 139), tr("score (sigmoid)"));
  chosen_bars_ = add_bars(scores_plot_, QColor(230, 126, 34), tr("chosen"));
  selection_dots_ = new QCPGraph(scores_plot_->xAxis, scores_plot_->yAxis);
  selection_dots_->setLineStyle(QCPGraph::lsNone);
  selection_dots_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(33, 145, 140), 5));
  selection_dots_->setName(tr("selection score (score + bias)"));
  // The marks are explained in the axis label: a legend inside the plot would hide experts' bars.
  scores_plot_->xAxis->setLabel(tr("expert · bars: sigmoid score (orange: chosen, labelled with its combine weight) · "
                                   "dots: selection score (score + correction bias)"));
  scores_plot_->yAxis->setLabel(tr("score"));
  integer_ticks(scores_plot_->xAxis);
  zoom_along_x(scores_plot_);

  // Small margins are the fragile choices: the inverted gradient makes them the brightest cells.
  margin_map_ = add_map(margin_plot_, heat_gradient().inverted(), tr("margin"));
  margin_plot_->xAxis->setLabel(tr("position"));
  margin_plot_->yAxis->setLabel(tr("MoE layer"));
  integer_ticks(margin_plot_->xAxis);
  zoom_along_x(margin_plot_);
  margin_cursor_ = new QCPItemStraightLine(margin_plot_);
  margin_cursor_->setPen(QPen(QColor(230, 126, 34), 1, Qt::DashLine));

  QCPColorGradient load_gradient = heat_gradient();
  // An expert that never fired is a NaN cell, drawn red so it cannot pass for a rare one.
  load_gradient.setNanHandling(QCPColorGradient::nhNanColor);
  load_gradient.setNanColor(QColor(192, 57, 43));
  load_map_ = add_map(load_plot_, load_gradient, tr("times chosen"));
  load_plot_->xAxis->setLabel(tr("expert (red: never chosen)"));
  load_plot_->yAxis->setLabel(tr("MoE layer"));
  integer_ticks(load_plot_->xAxis);
  zoom_along_x(load_plot_);
  for (QCustomPlot* plot : {scores_plot_, margin_plot_, load_plot_}) apply_plot_palette(plot, palette());
}

void RouterView::set_busy(bool busy) {
  if (busy) caption_->setText(tr("Reading the routers…"));
}

void RouterView::set_unavailable(const QString& why) {
  show_inside({});
  caption_->setText(why);
}

void RouterView::show_error(const QString& message) {
  show_inside({});
  caption_->setText(tr("Could not read the routers: %1").arg(message));
}

void RouterView::show_inside(workbench::PromptInside inside) {
  inside_ = std::move(inside);
  const int keep = moe_;
  {
    const QSignalBlocker block(layer_box_);
    layer_box_->clear();
    for (int m = 0; m < inside_.moe_layers(); ++m) layer_box_->addItem(tr("layer %1").arg(inside_.layer_of(m)));
  }
  moe_ = std::clamp(keep, 0, std::max(inside_.moe_layers() - 1, 0));
  layer_box_->setCurrentIndex(inside_.moe_layers() > 0 ? moe_ : -1);
  render_maps();
  set_reply_index(reply_index_);
}

void RouterView::set_reply_index(int index) {
  reply_index_ = index;
  pos_ = inside_.positions() > 0 ? inside_.position_for_reply_index(index) : -1;
  render_scores();
}

void RouterView::set_moe(int moe) {
  if (moe < 0 || moe >= inside_.moe_layers()) return;
  moe_ = moe;
  if (layer_box_->currentIndex() != moe) layer_box_->setCurrentIndex(moe);
  render_scores();
}

QString RouterView::token_label(std::int64_t pos) const {
  if (pos < 0 || pos >= inside_.positions()) return {};
  return visible_token(inside_.bytes_at(pos), inside_.ids[std::size_t(pos)]);
}

QString RouterView::caption_text() const {
  if (pos_ < 0) return caption_->text();
  QString text = tr("Position %1 (reads %2").arg(pos_).arg(token_label(pos_));
  if (pos_ + 1 < inside_.positions()) text += tr(", chose %1").arg(token_label(pos_ + 1));
  return text + tr(") · %1 positions, %2 ms").arg(inside_.positions()).arg(inside_.ms, 0, 'f', 0);
}

QString RouterView::summary_text() const {
  if (pos_ < 0 || inside_.moe_layers() == 0) return {};
  const RoutingSlice& slice = inside_.choice(pos_, moe_);
  QStringList chosen;
  for (std::size_t i = 0; i < slice.experts.size(); ++i)
    chosen << tr("%1 (w %2)").arg(slice.experts[i]).arg(i < slice.weights.size() ? double(slice.weights[i]) : kNaN, 0, 'f', 3);
  return tr("Layer %1 chose %2 · margin %3 · router entropy %4 nats")
      .arg(inside_.layer_of(moe_))
      .arg(chosen.join(QStringLiteral(", ")))
      .arg(double(slice.margin), 0, 'g', 4)
      .arg(double(inside_.router_entropy(pos_, moe_)), 0, 'f', 3);
}

void RouterView::render_scores() {
  for (QCPItemText* item : weight_items_) scores_plot_->removeItem(item);
  weight_items_.clear();
  const int experts = inside_.experts();
  QVector<double> keys, scores, selections, chosen_keys, chosen_scores;
  if (pos_ >= 0 && inside_.moe_layers() > 0) {
    const float* score = inside_.scores(pos_, moe_);
    const float* selection = inside_.selection(pos_, moe_);
    for (int e = 0; e < experts; ++e) {
      keys << e;
      scores << double(score[e]);
      selections << double(selection[e]);
    }
    const RoutingSlice& slice = inside_.choice(pos_, moe_);
    std::vector<std::pair<int, float>> chosen;  // [chosen experts] (expert, combine weight)
    for (std::size_t i = 0; i < slice.experts.size(); ++i)
      chosen.emplace_back(slice.experts[i], i < slice.weights.size() ? slice.weights[i] : 0.0f);
    std::sort(chosen.begin(), chosen.end());
    for (const auto& [expert, weight] : chosen) {
      if (expert < 0 || expert >= experts) continue;
      chosen_keys << expert;
      chosen_scores << double(score[expert]);
      auto* label = new QCPItemText(scores_plot_);
      label->position->setCoords(expert, double(score[expert]));
      label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
      label->setText(QString::number(double(weight), 'f', 2));
      label->setColor(palette().color(QPalette::Text));
      weight_items_.push_back(label);
    }
  }
  score_bars_->setData(keys, scores, true);
  chosen_bars_->setData(chosen_keys, chosen_scores, true);
  selection_dots_->setData(keys, selections, true);
  scores_plot_->xAxis->setRange(-0.5, std::max(experts, 1) - 0.5);
  double top = 1.0;
  for (double v : selections) top = std::max(top, v);
  scores_plot_->yAxis->setRange(0.0, top * 1.12);  // room for the weight labels
  margin_cursor_->setVisible(pos_ >= 0);
  margin_cursor_->point1->setCoords(double(pos_), 0.0);
  margin_cursor_->point2->setCoords(double(pos_), 1.0);
  caption_->setText(caption_text());
  summary_->setText(summary_text());
  scores_plot_->replot(QCustomPlot::rpQueuedReplot);
  margin_plot_->replot(QCustomPlot::rpQueuedReplot);
}

void RouterView::render_maps() {
  const int positions = int(inside_.positions());
  const int moes = inside_.moe_layers();
  const int experts = inside_.experts();
  size_map(margin_map_, positions, moes);
  double top_margin = 0.0;
  for (int p = 0; p < positions; ++p)
    for (int m = 0; m < moes; ++m) {
      const double margin = double(inside_.margin(p, m));
      if (std::isfinite(margin)) top_margin = std::max(top_margin, margin);
      set_map_cell(margin_map_, p, m, positions, moes, margin);
    }
  margin_map_->setDataRange(QCPRange(0.0, top_margin > 0 ? top_margin : 1.0));
  size_map(load_map_, experts, moes);
  int top_load = 0;
  for (int m = 0; m < moes; ++m) {
    const std::vector<int> load = inside_.expert_load(m);  // [experts]
    for (int e = 0; e < experts; ++e) {
      const int count = load[std::size_t(e)];
      top_load = std::max(top_load, count);
      set_map_cell(load_map_, e, m, experts, moes, count > 0 ? double(count) : kNaN);
    }
  }
  load_map_->setDataRange(QCPRange(0.0, top_load > 0 ? top_load : 1.0));
  std::vector<int> layers;  // [MoE layers] stack index
  for (int m = 0; m < moes; ++m) layers.push_back(inside_.layer_of(m));
  for (QCustomPlot* plot : {margin_plot_, load_plot_}) label_layer_rows(plot->yAxis, layers);
  margin_plot_->xAxis->setRange(-0.5, std::max(positions, 1) - 0.5);
  load_plot_->xAxis->setRange(-0.5, std::max(experts, 1) - 0.5);
  margin_plot_->replot(QCustomPlot::rpQueuedReplot);
  load_plot_->replot(QCustomPlot::rpQueuedReplot);
}

std::vector<double> RouterView::score_values() const {
  std::vector<double> out;
  for (auto it = score_bars_->data()->constBegin(); it != score_bars_->data()->constEnd(); ++it) out.push_back(it->value);
  return out;
}

std::vector<double> RouterView::selection_values() const {
  std::vector<double> out;
  for (auto it = selection_dots_->data()->constBegin(); it != selection_dots_->data()->constEnd(); ++it) out.push_back(it->value);
  return out;
}

std::vector<int> RouterView::highlighted_experts() const {
  std::vector<int> out;
  for (auto it = chosen_bars_->data()->constBegin(); it != chosen_bars_->data()->constEnd(); ++it) out.push_back(int(it->key));
  return out;
}

std::vector<QString> RouterView::weight_labels() const {
  std::vector<QString> out;
  for (const QCPItemText* item : weight_items_) out.push_back(item->text());
  return out;
}

double RouterView::margin_cell(std::int64_t pos, int moe) const {
  return map_cell(margin_map_, int(pos), moe, int(inside_.positions()), inside_.moe_layers());
}

double RouterView::load_cell(int moe, int expert) const {
  return map_cell(load_map_, expert, moe, inside_.experts(), inside_.moe_layers());
}

QString RouterView::expert_readout(int expert) const {
  if (pos_ < 0 || inside_.moe_layers() == 0 || expert < 0 || expert >= inside_.experts()) return tr("Hover a bar or a cell");
  const RoutingSlice& slice = inside_.choice(pos_, moe_);
  QString text = tr("layer %1, expert %2: score %3, selection score %4")
                     .arg(inside_.layer_of(moe_)).arg(expert)
                     .arg(double(inside_.scores(pos_, moe_)[expert]), 0, 'f', 4)
                     .arg(double(inside_.selection(pos_, moe_)[expert]), 0, 'f', 4);
  const auto it = std::find(slice.experts.begin(), slice.experts.end(), expert);
  if (it != slice.experts.end()) {
    const std::size_t i = std::size_t(it - slice.experts.begin());
    text += tr(", chosen #%1 with weight %2").arg(i + 1).arg(i < slice.weights.size() ? double(slice.weights[i]) : kNaN, 0, 'f', 4);
  }
  return text;
}

QString RouterView::margin_readout(std::int64_t pos, int moe) const {
  if (pos < 0 || pos >= inside_.positions() || moe < 0 || moe >= inside_.moe_layers()) return tr("Hover a bar or a cell");
  return tr("position %1 (%2), layer %3: margin %4, router entropy %5 nats")
      .arg(pos).arg(token_label(pos)).arg(inside_.layer_of(moe))
      .arg(double(inside_.margin(pos, moe)), 0, 'g', 4)
      .arg(double(inside_.router_entropy(pos, moe)), 0, 'f', 3);
}

QString RouterView::load_readout(int moe, int expert) const {
  if (moe < 0 || moe >= inside_.moe_layers() || expert < 0 || expert >= inside_.experts()) return tr("Hover a bar or a cell");
  const int count = inside_.expert_load(moe)[std::size_t(expert)];
  if (count == 0) return tr("layer %1, expert %2: never chosen in %3 positions").arg(inside_.layer_of(moe)).arg(expert).arg(inside_.positions());
  return tr("layer %1, expert %2: chosen at %3 of %4 positions").arg(inside_.layer_of(moe)).arg(expert).arg(count).arg(inside_.positions());
}

QString RouterView::readout_text() const { return readout_->text(); }

void RouterView::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) {
    for (QCustomPlot* plot : {scores_plot_, margin_plot_, load_plot_}) {
      apply_plot_palette(plot, palette());
      plot->replot(QCustomPlot::rpQueuedReplot);
    }
  }
}

}  // namespace logitscope::widgets
