// SPDX-License-Identifier: GPL-3.0-or-later
#include "topk_view.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QScrollBar>
#include <QSplitter>
#include <QTableWidget>
#include <QTimer>
#include <QToolTip>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

#include "event_store.h"
#include "plot_style.h"
#include "token_format.h"

namespace logitscope::widgets {
namespace {

// Long tokens would widen the axis until the bars have no room.
constexpr int kMaxLabelChars = 18;

// Ranks 0..count-1 drawn `row_px` apart, labels `line_px` tall: every step-th rank so that no two
// labels overlap, and `keep` (the chosen candidate) always, displacing the labels too close to it.
std::vector<int> ranks_that_fit(int count, double row_px, double line_px, int keep) {
  const int step = row_px >= line_px || row_px <= 0.0 ? 1 : int(std::ceil(line_px / row_px));
  std::vector<int> ranks;
  for (int r = 0; r < count; r += step)
    if (keep < 0 || r == keep || std::abs(r - keep) >= step) ranks.push_back(r);
  if (keep >= 0 && keep < count && std::find(ranks.begin(), ranks.end(), keep) == ranks.end()) {
    ranks.push_back(keep);
    std::sort(ranks.begin(), ranks.end());
  }
  return ranks;
}

}  // namespace

TopKView::TopKView(workbench::EventStore* store, QWidget* parent) : QWidget(parent), store_(store) {
  header_ = new QLabel(this);
  header_->setWordWrap(true);
  plot_ = new QCustomPlot(this);
  plot_->setObjectName(QStringLiteral("topkChart"));
  plot_->setMinimumHeight(160);
  table_ = new QTableWidget(0, 4, this);
  table_->setHorizontalHeaderLabels({tr("token"), tr("prob"), tr("logprob"), tr("logit")});
  table_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 4);
  // Fixed widths for the numbers and the rest for the token: sizing columns to their contents
  // measured every cell at every streamed token (10 ms per refresh for 20 rows).
  QHeaderView* columns = table_->horizontalHeader();
  columns->setStretchLastSection(false);
  columns->setSectionResizeMode(0, QHeaderView::Stretch);
  const int number_width = fontMetrics().horizontalAdvance(QStringLiteral("-00.000 ")) + 12;
  for (int column = 1; column < 4; ++column) {
    columns->setSectionResizeMode(column, QHeaderView::Fixed);
    columns->resizeSection(column, number_width);
  }
  table_->verticalHeader()->setVisible(false);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  step_button_ = new QPushButton(tr("Force && step"), this);
  step_button_->setToolTip(tr("Use the selected candidate as this token and stop after it"));
  run_button_ = new QPushButton(tr("Force && run"), this);
  run_button_->setToolTip(tr("Use the selected candidate as this token and keep generating (double-click)"));

  auto* buttons = new QHBoxLayout;
  buttons->addStretch(1);
  buttons->addWidget(step_button_);
  buttons->addWidget(run_button_);
  auto* splitter = new QSplitter(Qt::Vertical, this);
  splitter->addWidget(plot_);
  splitter->addWidget(table_);
  // The chart gets as much of the dock as the table does (its labels need the height); the user
  // can move the handle.
  splitter->setStretchFactor(0, 1);
  splitter->setStretchFactor(1, 1);
  splitter->setSizes({1000, 1000});
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  layout->addWidget(header_);
  layout->addWidget(splitter, 1);
  layout->addLayout(buttons);

  // Candidates down the left axis (best at the top): probability as bars along the bottom axis,
  // logprob as dots along the top axis (bars growing from 0 towards -inf would dwarf the
  // probabilities they are meant to explain).
  prob_bars_ = new QCPBars(plot_->yAxis, plot_->xAxis);
  prob_bars_->setName(tr("probability"));
  prob_bars_->setPen(Qt::NoPen);
  prob_bars_->setBrush(QColor(33, 145, 140));
  prob_bars_->setWidth(0.7);
  logprob_dots_ = new QCPGraph(plot_->yAxis, plot_->xAxis2);
  logprob_dots_->setName(tr("logprob"));
  logprob_dots_->setLineStyle(QCPGraph::lsNone);
  logprob_dots_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(230, 140, 60), 7));
  plot_->xAxis->setLabel(tr("probability"));
  plot_->xAxis2->setLabel(tr("logprob (nats)"));
  plot_->xAxis2->setVisible(true);
  plot_->yAxis->setRangeReversed(true);  // best candidate at the top
  plot_->legend->setVisible(false);
  apply_plot_palette(plot_, palette());
  // Labels are re-chosen when a layout finds the chart at another height (they show at the next
  // replot; a streaming reply does not change the height, so this costs nothing then).
  connect(plot_, &QCustomPlot::afterLayout, this, [this] {
    if (std::abs(plot_->axisRect()->rect().height() - labelled_height_) < 0.5) return;
    label_chart();
    plot_->replot(QCustomPlot::rpQueuedReplot);
  });
  connect(plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* event) {
    const int rank = int(std::lround(plot_->yAxis->pixelToCoord(event->pos().y())));
    if (rank < 0 || rank >= int(entries_.size())) return QToolTip::hideText();
    QToolTip::showText(event->globalPosition().toPoint(),
                       tr("#%1 %2: p %3, logprob %4").arg(rank + 1).arg(labels_.value(rank)).arg(format_percent(entries_[rank].prob))
                           .arg(double(entries_[rank].logprob), 0, 'f', 3),
                       plot_);
  });

  replot_timer_ = new QTimer(this);
  replot_timer_->setSingleShot(true);
  replot_timer_->setInterval(30);
  connect(replot_timer_, &QTimer::timeout, this, &TopKView::refresh);
  connect(store_, &workbench::EventStore::changed, this, &TopKView::schedule);
  connect(store_, &workbench::EventStore::selection_changed, this, &TopKView::refresh);
  connect(store_, &workbench::EventStore::next_candidates_changed, this, &TopKView::refresh);
  connect(step_button_, &QPushButton::clicked, this, [this] { choose(false); });
  connect(run_button_, &QPushButton::clicked, this, [this] { choose(true); });
  connect(table_, &QTableWidget::cellDoubleClicked, this, [this](int, int) { choose(true); });
  refresh();
}

void TopKView::set_hovered(int index) {
  if (hovered_ == index) return;
  hovered_ = index;
  refresh();
}

void TopKView::schedule() {
  if (!replot_timer_->isActive()) replot_timer_->start();
}

void TopKView::refresh() {
  replot_timer_->stop();
  const auto& events = store_->events();
  const auto& next = store_->next_candidates();
  entries_.clear();
  chosen_id_ = -1;
  float entropy = 0.0f;
  shown_index_ = -1;
  if (hovered_ >= 0 && hovered_ < int(events.size())) shown_index_ = hovered_;
  else if (store_->selected() >= 0) shown_index_ = store_->selected();
  else if (next) shown_index_ = int(next->index);
  else if (!events.empty()) shown_index_ = int(events.size()) - 1;

  if (shown_index_ >= 0 && shown_index_ < int(events.size())) {
    const TokenEvent& event = events[shown_index_];
    entries_ = event.top_k;
    chosen_id_ = event.id;
    entropy = event.entropy;
    header_->setText(tr("Token #%1: chose %2 (p %3%4), entropy %5 nats")
                         .arg(shown_index_)
                         .arg(visible_token(event).toHtmlEscaped())
                         .arg(format_percent(event.prob))
                         .arg(event.forced ? tr(", forced") : QString())
                         .arg(double(entropy), 0, 'f', 3));
  } else if (next && shown_index_ == int(next->index)) {
    entries_ = next->top_k;
    entropy = next->entropy;
    header_->setText(tr("Next token #%1: pick a candidate (entropy %2 nats)").arg(shown_index_).arg(double(entropy), 0, 'f', 3));
  } else {
    header_->setText(tr("No token selected"));
  }

  QVector<double> keys, probs, logprobs;
  double min_logprob = 0.0;
  labels_.clear();
  int chosen_row = -1;
  table_->setRowCount(int(entries_.size()));
  // Cells are kept and rewritten: new items for every cell at every streamed token cost more than
  // the chart's whole replot.
  auto cell = [this](int row, int column) {
    QTableWidgetItem* item = table_->item(row, column);
    if (!item) {
      item = new QTableWidgetItem;
      table_->setItem(row, column, item);
    }
    return item;
  };
  for (int rank = 0; rank < int(entries_.size()); ++rank) {
    const TopKEntry& entry = entries_[rank];
    const QString label = visible_token(store_->label_bytes(entry.id), entry.id);
    keys << rank;
    probs << entry.prob;
    logprobs << entry.logprob;
    min_logprob = std::min(min_logprob, double(entry.logprob));
    labels_ << label;
    if (entry.id == chosen_id_) chosen_row = rank;
    QTableWidgetItem* token_item = cell(rank, 0);
    token_item->setText(entry.id == chosen_id_ ? QStringLiteral("%1  \u2713").arg(label) : label);
    token_item->setData(Qt::UserRole, entry.id);
    token_item->setToolTip(tr("id %1").arg(entry.id));
    cell(rank, 1)->setText(format_percent(entry.prob));
    cell(rank, 2)->setText(QString::number(entry.logprob, 'f', 3));
    cell(rank, 3)->setText(QString::number(entry.logit, 'f', 3));
  }
  prob_bars_->setData(keys, probs, true);
  logprob_dots_->setData(keys, logprobs, true);
  plot_->yAxis->setRange(-0.5, std::max<int>(int(entries_.size()), 1) - 0.5);
  label_chart();
  // The row being picked stays in view while tokens stream in (rows are rebuilt on every refresh);
  // without one, the chosen token's row.
  const QModelIndexList picked = table_->selectionModel()->selectedRows();
  const int keep_row = !picked.isEmpty() ? picked.front().row() : chosen_row;
  // Rows are of one height and the table scrolls by row, so what is in view is known without a
  // layout pass (scrollToItem lays the table out, too costly at every streamed token).
  const int first_visible = table_->verticalScrollBar()->value();
  const int rows_visible = std::max(1, table_->viewport()->height() / std::max(1, table_->verticalHeader()->defaultSectionSize()));
  if (keep_row >= 0 && keep_row < table_->rowCount() && (keep_row < first_visible || keep_row >= first_visible + rows_visible))
    table_->scrollToItem(table_->item(keep_row, 0), QAbstractItemView::EnsureVisible);
  double max_prob = 0.0;
  for (double p : probs) max_prob = std::max(max_prob, p);
  plot_->xAxis->setRange(0.0, std::clamp(max_prob * 1.15, 0.01, 1.0));
  plot_->xAxis2->setRange(std::min(min_logprob * 1.1, -1.0), 0.0);
  step_button_->setEnabled(!entries_.empty());
  run_button_->setEnabled(!entries_.empty());
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void TopKView::label_chart() {
  int keep = -1;
  for (int rank = 0; rank < int(entries_.size()); ++rank)
    if (entries_[rank].id == chosen_id_) keep = rank;
  // The axis rect's height is known after a layout; before the first one, estimate it.
  double height = plot_->axisRect()->rect().height();
  labelled_height_ = height;
  if (height <= 0.0) height = plot_->height() - 60.0;
  const double row_px = entries_.empty() ? 0.0 : height / double(entries_.size());
  const double line_px = QFontMetricsF(plot_->yAxis->tickLabelFont()).height();
  labelled_ = ranks_that_fit(int(entries_.size()), row_px, line_px, keep);
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  for (int rank : labelled_) {
    QString label = labels_.value(rank);
    if (label.size() > kMaxLabelChars) label = label.left(kMaxLabelChars - 1) + QChar(0x2026);
    ticker->addTick(rank, label);
  }
  plot_->yAxis->setTicker(ticker);
}

void TopKView::choose(bool run) {
  const int row = table_->currentRow();
  if (row < 0 || row >= int(entries_.size()) || shown_index_ < 0) return;
  emit candidate_chosen(shown_index_, entries_[row].id, run);
}

std::vector<double> TopKView::chart_probabilities() const {
  std::vector<double> out;
  for (auto it = prob_bars_->data()->constBegin(); it != prob_bars_->data()->constEnd(); ++it) out.push_back(it->value);
  return out;
}

std::vector<double> TopKView::chart_logprobs() const {
  std::vector<double> out;
  for (auto it = logprob_dots_->data()->constBegin(); it != logprob_dots_->data()->constEnd(); ++it) out.push_back(it->value);
  return out;
}

QString TopKView::chart_label(int rank) const {
  auto ticker = plot_->yAxis->ticker().dynamicCast<QCPAxisTickerText>();
  return ticker ? ticker->ticks().value(rank) : QString();
}

std::vector<int> TopKView::chart_labelled_ranks() const { return labelled_; }

double TopKView::chart_rank_pixel(int rank) const { return plot_->yAxis->coordToPixel(rank); }

void TopKView::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) {
    apply_plot_palette(plot_, palette());
    plot_->replot(QCustomPlot::rpQueuedReplot);
  }
}

}  // namespace logitscope::widgets
