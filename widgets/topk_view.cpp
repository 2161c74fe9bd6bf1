// SPDX-License-Identifier: GPL-3.0-or-later
#include "topk_view.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>

#include "event_store.h"
#include "plot_style.h"
#include "token_format.h"

namespace logitscope::widgets {

TopKView::TopKView(EventStore* store, QWidget* parent) : QWidget(parent), store_(store) {
  header_ = new QLabel(this);
  header_->setWordWrap(true);
  plot_ = new QCustomPlot(this);
  plot_->setObjectName(QStringLiteral("topkChart"));
  plot_->setMinimumHeight(160);
  table_ = new QTableWidget(0, 4, this);
  table_->setHorizontalHeaderLabels({tr("token"), tr("prob"), tr("logprob"), tr("logit")});
  table_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 4);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setStretchLastSection(true);
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

  replot_timer_ = new QTimer(this);
  replot_timer_->setSingleShot(true);
  replot_timer_->setInterval(30);
  connect(replot_timer_, &QTimer::timeout, this, &TopKView::refresh);
  connect(store_, &EventStore::changed, this, &TopKView::schedule);
  connect(store_, &EventStore::selection_changed, this, &TopKView::refresh);
  connect(store_, &EventStore::next_candidates_changed, this, &TopKView::refresh);
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
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  double min_logprob = 0.0;
  table_->setRowCount(int(entries_.size()));
  for (int rank = 0; rank < int(entries_.size()); ++rank) {
    const TopKEntry& entry = entries_[rank];
    const QString label = visible_token(store_->label_bytes(entry.id), entry.id);
    keys << rank;
    probs << entry.prob;
    logprobs << entry.logprob;
    min_logprob = std::min(min_logprob, double(entry.logprob));
    ticker->addTick(rank, label);
    auto* token_item = new QTableWidgetItem(entry.id == chosen_id_ ? QStringLiteral("%1  \u2713").arg(label) : label);
    token_item->setData(Qt::UserRole, entry.id);
    token_item->setToolTip(tr("id %1").arg(entry.id));
    table_->setItem(rank, 0, token_item);
    table_->setItem(rank, 1, new QTableWidgetItem(format_percent(entry.prob)));
    table_->setItem(rank, 2, new QTableWidgetItem(QString::number(entry.logprob, 'f', 3)));
    table_->setItem(rank, 3, new QTableWidgetItem(QString::number(entry.logit, 'f', 3)));
  }
  prob_bars_->setData(keys, probs, true);
  logprob_dots_->setData(keys, logprobs, true);
  plot_->yAxis->setTicker(ticker);
  plot_->yAxis->setRange(-0.5, std::max<int>(int(entries_.size()), 1) - 0.5);
  double max_prob = 0.0;
  for (double p : probs) max_prob = std::max(max_prob, p);
  plot_->xAxis->setRange(0.0, std::clamp(max_prob * 1.15, 0.01, 1.0));
  plot_->xAxis2->setRange(std::min(min_logprob * 1.1, -1.0), 0.0);
  step_button_->setEnabled(!entries_.empty());
  run_button_->setEnabled(!entries_.empty());
  plot_->replot(QCustomPlot::rpQueuedReplot);
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

void TopKView::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) {
    apply_plot_palette(plot_, palette());
    plot_->replot(QCustomPlot::rpQueuedReplot);
  }
}

}  // namespace logitscope::widgets
