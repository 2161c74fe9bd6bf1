// SPDX-License-Identifier: GPL-3.0-or-later
#include "comparison_view.h"

#include <QEvent>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "event_store.h"
#include "plot_maps.h"
#include "plot_style.h"
#include "token_format.h"

namespace logitscope::widgets {
namespace {

QString nats(double value) { return QString::number(value, 'f', 4); }
QString percent(double fraction) { return QString::number(100.0 * fraction, 'f', 1) + QLatin1Char('%'); }

QCPItemStraightLine* vertical_line(QCustomPlot* plot, const QColor& colour, Qt::PenStyle style) {
  auto* line = new QCPItemStraightLine(plot);
  line->setPen(QPen(colour, 1.5, style));
  line->setVisible(false);
  return line;
}

void place(QCPItemStraightLine* line, double x) {
  line->setVisible(std::isfinite(x));
  if (!std::isfinite(x)) return;
  line->point1->setCoords(x, 0.0);
  line->point2->setCoords(x, 1.0);
}

QTableWidget* compact_table(int columns, const QStringList& headers) {
  auto* table = new QTableWidget(0, columns);
  table->setHorizontalHeaderLabels(headers);
  table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table->setSelectionMode(QAbstractItemView::NoSelection);
  table->verticalHeader()->setVisible(false);
  table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 6);
  return table;
}

}  // namespace

ComparisonView::ComparisonView(workbench::EventStore* store, Mode mode, QWidget* parent)
    : QWidget(parent), store_(store), mode_(mode) {
  caption_ = new QLabel;
  caption_->setWordWrap(true);
  caption_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  summary_ = new QLabel;
  summary_->setWordWrap(true);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  plot_ = new QCustomPlot;
  plot_->setObjectName(mode == Mode::Effect ? QStringLiteral("effectKl") : QStringLiteral("compareKl"));
  plot_->setMinimumHeight(120);
  kl_graph_ = plot_->addGraph();
  kl_graph_->setName(tr("KL(A‖B) of the token's distribution"));
  kl_graph_->setPen(QPen(QColor(59, 130, 200), 1.5));
  kl_graph_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 4));
  disagree_graph_ = plot_->addGraph();
  disagree_graph_->setName(tr("best guesses differ"));
  disagree_graph_->setLineStyle(QCPGraph::lsNone);
  disagree_graph_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCross, QPen(QColor(192, 57, 43), 2), QBrush(), 9));
  plot_->xAxis->setLabel(tr("reply token"));
  plot_->yAxis->setLabel(tr("KL (nats)"));
  integer_ticks(plot_->xAxis);
  zoom_along_x(plot_);
  // A small see-through legend: the points it would hide stay readable.
  plot_->legend->setVisible(true);
  QFont legend_font = font();
  legend_font.setPointSizeF(legend_font.pointSizeF() * 0.85);
  plot_->legend->setFont(legend_font);
  plot_->legend->setBrush(QColor(255, 255, 255, 150));
  plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
  marker_ = vertical_line(plot_, QColor(230, 120, 40), Qt::SolidLine);
  intervened_line_ = vertical_line(plot_, QColor(127, 127, 127), Qt::DashLine);
  diverge_line_ = vertical_line(plot_, QColor(142, 68, 173), Qt::DashDotLine);
  apply_plot_palette(plot_, palette());

  token_ = new QLabel(tr("Select a token (click the plot) to see both top-k lists."));
  token_->setWordWrap(true);
  token_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  top_ = compact_table(5, {tr("#"), tr("A"), tr("p A"), tr("B"), tr("p B")});
  top_->setObjectName(QStringLiteral("comparisonTopK"));
  layers_ = compact_table(3, {tr("MoE layer"), tr("expert set changed"), tr("mean Jaccard")});
  layers_->setObjectName(QStringLiteral("comparisonLayers"));
  layers_->setToolTip(tr("Over the reply's tokens: the share of positions where the layer chose another set of "
                         "experts, and the mean overlap |A ∩ B| / |A ∪ B| of the two sets (1: the same)"));

  auto* right = new QWidget;
  auto* right_layout = new QVBoxLayout(right);
  right_layout->setContentsMargins(0, 0, 0, 0);
  right_layout->addWidget(token_);
  right_layout->addWidget(top_, 3);
  right_layout->addWidget(layers_, 2);
  auto* split = new QSplitter(Qt::Horizontal);
  split->addWidget(plot_);
  split->addWidget(right);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  split->setSizes({600, 400});  // the plot gets the larger share; the tables scroll
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  if (mode == Mode::Models) {
    interventions_b_ = new QLineEdit;
    interventions_b_->setObjectName(QStringLiteral("compareInterventionsB"));
    interventions_b_->setPlaceholderText(tr("none: the second model as loaded; e.g. mask *:0 or from 3: skip 2"));
    interventions_b_->setToolTip(tr("Interventions for side B (Generate > Intervene's forms; \"from\" counts reply "
                                    "tokens)"));
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("B with")));
    row->addWidget(interventions_b_, 1);
    layout->addLayout(row);
    connect(interventions_b_, &QLineEdit::editingFinished, this, [this] { emit interventions_b_edited(interventions_b_->text()); });
  }
  layout->addWidget(caption_);
  layout->addWidget(summary_);
  layout->addWidget(split, 1);

  connect(plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
    const long index = std::lround(plot_->xAxis->pixelToCoord(event->position().x()));
    if (index >= 0 && index < long(data_.reply_size())) store_->select(int(index));
  });
  connect(store_, &workbench::EventStore::selection_changed, this, [this] {
    render_selection();
    plot_->replot(QCustomPlot::rpQueuedReplot);
  });
  show_message(mode == Mode::Effect ? tr("Select a reply generated under interventions (Generate > Intervene).")
                                    : tr("Load a second model with File > Compare With Second Model…"));
}

void ComparisonView::set_interventions_b_text(const QString& text) {
  if (interventions_b_) interventions_b_->setText(text);
}

void ComparisonView::clear_numbers() {
  data_ = {};
  summary_->clear();
  render();
}

void ComparisonView::show_message(const QString& text) {
  clear_numbers();
  caption_->setText(text);
}

void ComparisonView::show_error(const QString& message) {
  clear_numbers();
  caption_->setText(tr("Could not compare: %1").arg(message));
}

void ComparisonView::set_busy(bool busy) {
  if (busy) caption_->setText(tr("Comparing…"));
}

void ComparisonView::show_comparison(workbench::ModelComparison comparison) {
  data_ = std::move(comparison);
  caption_->setText(caption_text());
  summary_->setText(summary_text());
  render();
}

QString ComparisonView::token_label(TokenId id) const { return visible_token(data_.bytes_of(id), id); }

QString ComparisonView::side_name(bool b) const {
  const std::string& interventions = b ? data_.interventions_b : data_.interventions_a;
  if (mode_ == Mode::Effect) {
    if (b) return tr("this branch (%1)").arg(QString::fromStdString(interventions));
    return interventions.empty() ? tr("the plain model") : tr("the branch it was made from (%1)").arg(QString::fromStdString(interventions));
  }
  const QString name = QString::fromStdString(b ? data_.name_b : data_.name_a);
  return interventions.empty() ? name : tr("%1 with %2").arg(name, QString::fromStdString(interventions));
}

QString ComparisonView::caption_text() const {
  if (data_.empty()) return caption_->text();
  const QString sides = mode_ == Mode::Effect ? tr("A: %1 · B: %2").arg(side_name(false), side_name(true))
                                              : tr("A: %1 (this window's) · B: %2").arg(side_name(false), side_name(true));
  return tr("%1 · the same %2 tokens read by both (teacher forcing) · %3 ms").arg(sides).arg(data_.ids.size()).arg(data_.ms, 0, 'f', 0);
}

QString ComparisonView::summary_text() const {
  if (data_.empty()) return {};
  const ComparisonSummary& r = data_.reply;
  QStringList parts;
  if (r.positions > 0) {
    parts << tr("Reply (%1 tokens): mean KL %2 nats, max %3").arg(r.positions).arg(nats(r.mean_kl), nats(r.max_kl));
    parts << tr("top-1 agreement %1").arg(percent(r.top1_agreement));
    const std::int64_t differ = data_.first_disagreement();
    parts << (differ >= 0 ? tr("best guesses first differ at #%1").arg(differ) : tr("best guesses agree everywhere"));
  } else {
    parts << tr("No reply tokens to compare yet");
  }
  if (data_.intervened_from >= 0)
    parts << tr("B's interventions act on the forwards that read #%1 on (the choices of #%2 on: right of the grey line)")
                 .arg(data_.intervened_from).arg(data_.intervened_from + 1);
  if (mode_ == Mode::Effect)
    parts << (data_.texts_diverge >= 0 ? tr("the texts diverge at #%1 (right of the purple line)").arg(data_.texts_diverge)
                                       : tr("the texts do not diverge within this reply"));
  const ComparisonSummary& w = data_.whole;
  return parts.join(QStringLiteral(" · ")) + QLatin1Char('\n') +
         tr("Whole conversation (%1 positions): mean KL %2 nats, top-1 agreement %3; NLL A %4, B %5 nats/token")
             .arg(w.positions).arg(nats(w.mean_kl), percent(w.top1_agreement))
             .arg(w.nll_a, 0, 'f', 4).arg(w.nll_b, 0, 'f', 4);
}

void ComparisonView::render() {
  const std::vector<double> kl = data_.reply_kl();
  QVector<double> keys, values, bad_keys, bad_values;
  double top = 0.0;
  for (int i = 0; i < int(kl.size()); ++i) {
    const TokenComparison* t = data_.at_reply(i);
    if (!t) continue;  // reply token 0 of a conversation without prompt: nothing before it
    keys << i;
    values << kl[std::size_t(i)];
    top = std::max(top, kl[std::size_t(i)]);
    if (!t->top1_agree) {
      bad_keys << i;
      bad_values << kl[std::size_t(i)];
    }
  }
  kl_graph_->setData(keys, values, true);
  disagree_graph_->setData(bad_keys, bad_values, true);
  plot_->xAxis->setRange(-0.5, std::max<double>(double(kl.size()) - 0.5, 10.0));
  plot_->yAxis->setRange(0.0, top > 0.0 ? top * 1.1 : 1.0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Boundaries, "from here on": the interventions' forwards choose the tokens after the first one.
  place(intervened_line_, data_.intervened_from >= 0 && !data_.empty() ? double(data_.intervened_from) + 0.5 : nan);
  place(diverge_line_, data_.texts_diverge >= 0 && !data_.empty() ? double(data_.texts_diverge) - 0.5 : nan);
  render_layers();
  render_selection();
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void ComparisonView::render_layers() {
  const ComparisonSummary& s = data_.reply.positions > 0 ? data_.reply : data_.whole;
  layers_->setRowCount(data_.empty() ? 0 : int(s.layers.size()));
  if (data_.empty()) return;
  const bool dark = is_dark(palette());
  for (int row = 0; row < int(s.layers.size()); ++row) {
    const double changed = s.expert_set_changed[std::size_t(row)], jaccard = s.mean_jaccard[std::size_t(row)];
    auto* changed_item = new QTableWidgetItem(percent(changed));
    changed_item->setBackground(probability_color(float(1.0 - changed), dark));
    changed_item->setForeground(dark ? QColor(Qt::white) : QColor(Qt::black));
    layers_->setItem(row, kLayer, new QTableWidgetItem(QString::number(s.layers[std::size_t(row)])));
    layers_->setItem(row, kSetChanged, changed_item);
    layers_->setItem(row, kMeanJaccard, new QTableWidgetItem(QString::number(jaccard, 'f', 3)));
  }
  layers_->resizeColumnsToContents();
}

void ComparisonView::render_selection() {
  const int selected = store_->selected();
  const TokenComparison* t = data_.at_reply(selected);
  shown_index_ = t ? selected : -1;
  place(marker_, t ? double(selected) : std::numeric_limits<double>::quiet_NaN());
  top_->setRowCount(0);
  if (!t) {
    token_->setText(data_.empty() ? QString() : tr("Select a token (click the plot) to see both top-k lists."));
    return;
  }
  token_->setText(tr("#%1 %2: KL %3 nats · log p A %4, B %5 · best guesses %6")
                      .arg(selected).arg(token_label(t->id), nats(t->kl))
                      .arg(t->logprob_a, 0, 'f', 3).arg(t->logprob_b, 0, 'f', 3)
                      .arg(t->top1_agree ? tr("agree") : tr("differ")));
  const int rows = int(std::max(t->top_k_a.size(), t->top_k_b.size()));
  top_->setRowCount(rows);
  auto cell = [&](int row, int column, const QString& text, bool bold) {
    auto* item = new QTableWidgetItem(text);
    if (bold) {
      QFont font = item->font();
      font.setBold(true);
      item->setFont(font);
    }
    top_->setItem(row, column, item);
  };
  for (int r = 0; r < rows; ++r) {
    cell(r, kRank, QString::number(r + 1), false);
    // The token the reply has there stands out in both lists.
    if (r < int(t->top_k_a.size())) {
      const TopKEntry& e = t->top_k_a[std::size_t(r)];
      cell(r, kTokenA, token_label(e.id), e.id == t->id);
      cell(r, kProbA, format_percent(e.prob), e.id == t->id);
    }
    if (r < int(t->top_k_b.size())) {
      const TopKEntry& e = t->top_k_b[std::size_t(r)];
      cell(r, kTokenB, token_label(e.id), e.id == t->id);
      cell(r, kProbB, format_percent(e.prob), e.id == t->id);
    }
  }
  top_->resizeColumnsToContents();
}

std::vector<double> ComparisonView::plotted_kl() const {
  std::vector<double> out;
  for (auto it = kl_graph_->data()->constBegin(); it != kl_graph_->data()->constEnd(); ++it) out.push_back(it->value);
  return out;
}

std::vector<int> ComparisonView::marked_disagreements() const {
  std::vector<int> out;
  for (auto it = disagree_graph_->data()->constBegin(); it != disagree_graph_->data()->constEnd(); ++it)
    out.push_back(int(std::lround(it->key)));
  return out;
}

double ComparisonView::marker_position() const {
  return marker_->visible() ? marker_->point1->coords().x() : std::numeric_limits<double>::quiet_NaN();
}

QString ComparisonView::token_text() const { return token_->text(); }

void ComparisonView::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) {
    apply_plot_palette(plot_, palette());
    render();
  }
}

}  // namespace logitscope::widgets
