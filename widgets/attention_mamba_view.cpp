// SPDX-License-Identifier: GPL-3.0-or-later
#include "attention_mamba_view.h"

#include <QComboBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QSplitter>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

#include "plot_maps.h"
#include "plot_style.h"
#include "token_format.h"

namespace logitscope::widgets {
namespace {

constexpr qsizetype kTokenLabelLimit = 48;  // tokens named on the attention plot's axis

}  // namespace

AttentionMambaView::AttentionMambaView(QWidget* parent) : QWidget(parent) {
  attention_box_ = new QComboBox;
  attention_box_->setToolTip(tr("The attention layer whose weights the bars show"));
  head_box_ = new QComboBox;
  dt_head_box_ = new QComboBox;
  dt_head_box_->setToolTip(tr("The Mamba head the map shows"));
  mamba_quantity_box_ = new QComboBox;
  mamba_quantity_box_->addItem(tr("time step dt"));
  mamba_quantity_box_->addItem(tr("state norm"));
  mamba_quantity_box_->setToolTip(tr("dt: how strongly the layer writes into its state at the token; "
                                     "state norm: the L2 norm of the head's state after the token"));
  caption_ = new QLabel(tr("Select a token to see what it attends to."));
  caption_->setWordWrap(true);
  readout_ = new QLabel(tr("Hover a bar or a cell"));
  readout_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  attention_plot_ = new QCustomPlot;
  attention_plot_->setObjectName(QStringLiteral("attentionWeights"));
  dt_plot_ = new QCustomPlot;
  dt_plot_->setObjectName(QStringLiteral("mambaDt"));
  for (QCustomPlot* plot : {attention_plot_, dt_plot_}) plot->setMinimumHeight(120);

  auto* top = new QHBoxLayout;
  top->addWidget(new QLabel(tr("Attention layer")));
  top->addWidget(attention_box_);
  top->addWidget(head_box_);
  top->addWidget(new QLabel(tr("Mamba")));
  top->addWidget(mamba_quantity_box_);
  top->addWidget(dt_head_box_);
  top->addStretch(1);
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(attention_plot_);
  split->addWidget(dt_plot_);
  split->setStretchFactor(0, 3);  // the attention bars carry the token names under them
  split->setStretchFactor(1, 2);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  layout->addLayout(top);
  layout->addWidget(caption_);
  layout->addWidget(split, 1);
  layout->addWidget(readout_);

  attention_bars_ = add_bars(attention_plot_, QColor(59, 82, 139));
  attention_plot_->xAxis->setLabel(tr("earlier position"));
  attention_plot_->yAxis->setLabel(tr("attention weight"));
  integer_ticks(attention_plot_->xAxis);
  zoom_along_x(attention_plot_);
  dt_map_ = add_map(dt_plot_, heat_gradient(), tr("dt"));
  dt_plot_->xAxis->setLabel(tr("position"));
  dt_plot_->yAxis->setLabel(tr("Mamba layer"));
  integer_ticks(dt_plot_->xAxis);
  zoom_along_x(dt_plot_);
  dt_cursor_ = new QCPItemStraightLine(dt_plot_);
  dt_cursor_->setPen(QPen(QColor(230, 126, 34), 1, Qt::DashLine));
  for (QCustomPlot* plot : {attention_plot_, dt_plot_}) apply_plot_palette(plot, palette());

  connect(attention_box_, qOverload<int>(&QComboBox::activated), this, [this](int index) { set_attention(index, head_); });
  // The head box lists: the mean, then each KV group (when heads share KV), then each head.
  connect(head_box_, qOverload<int>(&QComboBox::activated), this, [this](int index) {
    const int groups = inside_.attention_kv_groups() > 1 ? inside_.attention_kv_groups() : 0;
    if (index >= 1 && index <= groups) set_attention_group(attention_, index - 1);
    else set_attention(attention_, index == 0 ? -1 : index - 1 - groups);
  });
  connect(dt_head_box_, qOverload<int>(&QComboBox::activated), this, [this](int index) { set_dt_head(index - 1); });
  connect(mamba_quantity_box_, qOverload<int>(&QComboBox::activated), this,
          [this](int index) { set_mamba_quantity(index == 1 ? MambaQuantity::StateNorm : MambaQuantity::TimeStep); });
  connect(attention_plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* event) {
    readout_->setText(attention_readout(std::llround(attention_plot_->xAxis->pixelToCoord(event->position().x()))));
  });
  connect(dt_plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* event) {
    readout_->setText(mamba_readout(std::llround(dt_plot_->xAxis->pixelToCoord(event->position().x())),
                                 int(std::lround(dt_plot_->yAxis->pixelToCoord(event->position().y())))));
  });
}

void AttentionMambaView::set_busy(bool busy) {
  if (busy) caption_->setText(tr("Reading attention and Mamba…"));
}

void AttentionMambaView::set_unavailable(const QString& why) {
  show_inside({});
  caption_->setText(why);
}

void AttentionMambaView::show_error(const QString& message) {
  show_inside({});
  caption_->setText(tr("Could not read attention and Mamba: %1").arg(message));
}

void AttentionMambaView::fill_boxes() {
  const QSignalBlocker a(attention_box_), h(head_box_), d(dt_head_box_);
  attention_box_->clear();
  for (const AttentionInternals& layer : inside_.internals.attentions) attention_box_->addItem(tr("layer %1").arg(layer.layer));
  head_box_->clear();
  head_box_->addItem(tr("mean of heads"));
  if (inside_.attention_kv_groups() > 1)
    for (int g = 0; g < inside_.attention_kv_groups(); ++g) {
      const auto [first, last] = inside_.heads_of_group(g);
      head_box_->addItem(tr("KV group %1 (heads %2-%3)").arg(g).arg(first).arg(last));
    }
  for (int h = 0; h < inside_.internals.attention_heads; ++h) head_box_->addItem(tr("head %1").arg(h));
  dt_head_box_->clear();
  dt_head_box_->addItem(tr("mean of heads"));
  for (int h = 0; h < inside_.internals.mamba_heads; ++h) dt_head_box_->addItem(tr("head %1").arg(h));
}

void AttentionMambaView::show_inside(workbench::PromptInside inside) {
  inside_ = std::move(inside);
  fill_boxes();
  attention_ = std::clamp(attention_, 0, std::max(int(inside_.internals.attentions.size()) - 1, 0));
  head_ = std::clamp(head_, -1, inside_.internals.attention_heads - 1);
  if (group_ >= inside_.attention_kv_groups() || inside_.attention_kv_groups() < 2) group_ = -1;
  dt_head_ = std::clamp(dt_head_, -1, inside_.internals.mamba_heads - 1);
  attention_box_->setCurrentIndex(inside_.internals.attentions.empty() ? -1 : attention_);
  head_box_->setCurrentIndex(head_box_index());
  dt_head_box_->setCurrentIndex(dt_head_ + 1);
  render_mamba();
  set_reply_index(reply_index_);
}

void AttentionMambaView::set_reply_index(int index) {
  reply_index_ = index;
  pos_ = inside_.positions() > 0 ? inside_.position_for_reply_index(index) : -1;
  render_attention();
  dt_cursor_->setVisible(pos_ >= 0);
  dt_cursor_->point1->setCoords(double(pos_), 0.0);
  dt_cursor_->point2->setCoords(double(pos_), 1.0);
  dt_plot_->replot(QCustomPlot::rpQueuedReplot);
}

void AttentionMambaView::set_attention(int attention, int head) {
  if (attention < 0 || attention >= int(inside_.internals.attentions.size())) return;
  attention_ = attention;
  head_ = std::clamp(head, -1, inside_.internals.attention_heads - 1);
  group_ = -1;
  attention_box_->setCurrentIndex(attention_);
  head_box_->setCurrentIndex(head_box_index());
  render_attention();
}

void AttentionMambaView::set_attention_group(int attention, int group) {
  if (attention < 0 || attention >= int(inside_.internals.attentions.size())) return;
  if (group < 0 || group >= inside_.attention_kv_groups()) return;
  attention_ = attention;
  head_ = -1;
  group_ = group;
  attention_box_->setCurrentIndex(attention_);
  head_box_->setCurrentIndex(head_box_index());
  render_attention();
}

int AttentionMambaView::head_box_index() const {
  const int groups = inside_.attention_kv_groups() > 1 ? inside_.attention_kv_groups() : 0;
  if (group_ >= 0) return 1 + group_;
  return head_ < 0 ? 0 : 1 + groups + head_;
}

void AttentionMambaView::set_dt_head(int head) {
  dt_head_ = std::clamp(head, -1, inside_.internals.mamba_heads - 1);
  dt_head_box_->setCurrentIndex(dt_head_ + 1);
  render_mamba();
}

void AttentionMambaView::set_mamba_quantity(MambaQuantity quantity) {
  quantity_ = quantity;
  mamba_quantity_box_->setCurrentIndex(quantity == MambaQuantity::StateNorm ? 1 : 0);
  render_mamba();
}

QString AttentionMambaView::token_label(std::int64_t pos) const {
  if (pos < 0 || pos >= inside_.positions()) return {};
  return visible_token(inside_.bytes_at(pos), inside_.ids[std::size_t(pos)]);
}

QString AttentionMambaView::caption_text() const {
  if (pos_ < 0) return caption_->text();
  if (inside_.internals.attentions.empty()) return tr("Position %1 (%2): this capture has no attention weights").arg(pos_).arg(token_label(pos_));
  if (!inside_.has_attention_row(pos_)) return tr("Position %1 (%2): reading its attention weights…").arg(pos_).arg(token_label(pos_));
  return tr("Position %1 (%2) attends over %3 tokens in layer %4 (%5)")
      .arg(pos_).arg(token_label(pos_)).arg(pos_ + 1)
      .arg(inside_.internals.attentions[std::size_t(attention_)].layer)
      .arg(heads_text());
}

QString AttentionMambaView::heads_text() const {
  if (group_ >= 0) {
    const auto [first, last] = inside_.heads_of_group(group_);
    return tr("KV group %1, mean of heads %2-%3").arg(group_).arg(first).arg(last);
  }
  return head_ < 0 ? tr("mean of %1 heads").arg(inside_.internals.attention_heads) : tr("head %1").arg(head_);
}

std::vector<double> AttentionMambaView::shown_row() const {
  if (group_ >= 0) return inside_.attention_group_row(attention_, group_, pos_);
  return inside_.attention_row(attention_, head_, pos_);
}

void AttentionMambaView::render_attention() {
  QVector<double> keys, values;
  if (pos_ >= 0 && inside_.has_attention_row(pos_)) {
    const std::vector<double> row = shown_row();  // [pos + 1]
    for (std::size_t k = 0; k < row.size(); ++k) {
      keys << double(k);
      values << row[k];
    }
  }
  attention_bars_->setData(keys, values, true);
  // Up to a screenful of tokens the axis names them (the weights drawn over the token text);
  // past that, positions, with the token in the hover read-out.
  if (keys.size() <= kTokenLabelLimit) {
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    for (qsizetype k = 0; k < keys.size(); ++k) {
      const QString label = token_label(k);
      ticker->addTick(double(k), label.size() > 8 ? label.left(7) + QChar(0x2026) : label);
    }
    attention_plot_->xAxis->setTicker(ticker);
    attention_plot_->xAxis->setTickLabelRotation(-90);
  } else {
    integer_ticks(attention_plot_->xAxis);
    attention_plot_->xAxis->setTickLabelRotation(0);
  }
  attention_plot_->xAxis->setRange(-0.5, std::max<double>(double(keys.size()), 1.0) - 0.5);
  double top = 0.0;
  for (double v : values) top = std::max(top, v);
  attention_plot_->yAxis->setRange(0.0, top > 0 ? top * 1.1 : 1.0);
  caption_->setText(caption_text());
  attention_plot_->replot(QCustomPlot::rpQueuedReplot);
}

double AttentionMambaView::mamba_value(int mamba, std::int64_t pos) const {
  return quantity_ == MambaQuantity::StateNorm ? inside_.mamba_state_norm(mamba, dt_head_, pos) : inside_.mamba_dt(mamba, dt_head_, pos);
}

QString AttentionMambaView::quantity_name() const {
  return quantity_ == MambaQuantity::StateNorm ? tr("state norm") : tr("dt");
}

void AttentionMambaView::render_mamba() {
  const int positions = int(inside_.positions());
  const int mambas = int(inside_.internals.mambas.size());
  size_map(dt_map_, positions, mambas);
  double top = 0.0;
  for (int m = 0; m < mambas; ++m)
    for (int p = 0; p < positions; ++p) {
      const double value = mamba_value(m, p);
      top = std::max(top, value);
      set_map_cell(dt_map_, p, m, positions, mambas, value);
    }
  dt_map_->setDataRange(QCPRange(0.0, top > 0 ? top : 1.0));
  if (dt_map_->colorScale()) dt_map_->colorScale()->axis()->setLabel(quantity_name());
  std::vector<int> layers;  // [Mamba layers] stack index
  for (const MambaInternals& mamba : inside_.internals.mambas) layers.push_back(mamba.layer);
  label_layer_rows(dt_plot_->yAxis, layers);
  dt_plot_->xAxis->setRange(-0.5, std::max(positions, 1) - 0.5);
  dt_plot_->replot(QCustomPlot::rpQueuedReplot);
}

std::vector<double> AttentionMambaView::attention_values() const {
  std::vector<double> out;
  for (auto it = attention_bars_->data()->constBegin(); it != attention_bars_->data()->constEnd(); ++it) out.push_back(it->value);
  return out;
}

double AttentionMambaView::mamba_cell(std::int64_t pos, int mamba) const {
  return map_cell(dt_map_, int(pos), mamba, int(inside_.positions()), int(inside_.internals.mambas.size()));
}

QString AttentionMambaView::attention_readout(std::int64_t key) const {
  if (pos_ < 0 || key < 0 || key > pos_ || !inside_.has_attention_row(pos_)) return tr("Hover a bar or a cell");
  const double weight = shown_row()[std::size_t(key)];
  return tr("position %1 (%2) attends to position %3 (%4) with weight %5")
      .arg(pos_).arg(token_label(pos_)).arg(key).arg(token_label(key)).arg(weight, 0, 'f', 4);
}

QString AttentionMambaView::mamba_readout(std::int64_t pos, int mamba) const {
  if (pos < 0 || pos >= inside_.positions() || mamba < 0 || mamba >= int(inside_.internals.mambas.size()))
    return tr("Hover a bar or a cell");
  return tr("position %1 (%2), Mamba layer %3, %4: %5 %6")
      .arg(pos).arg(token_label(pos)).arg(inside_.internals.mambas[std::size_t(mamba)].layer)
      .arg(dt_head_ < 0 ? tr("mean of heads") : tr("head %1").arg(dt_head_))
      .arg(quantity_name()).arg(mamba_value(mamba, pos), 0, 'f', 4);
}

QString AttentionMambaView::readout_text() const { return readout_->text(); }

void AttentionMambaView::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) {
    for (QCustomPlot* plot : {attention_plot_, dt_plot_}) {
      apply_plot_palette(plot, palette());
      plot->replot(QCustomPlot::rpQueuedReplot);
    }
  }
}

}  // namespace logitscope::widgets
