// SPDX-License-Identifier: GPL-3.0-or-later
#include "lens_view.h"

#include <QEvent>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>

#include "plot_style.h"
#include "token_format.h"

namespace logitscope::widgets {

LensView::LensView(QWidget* parent) : QWidget(parent) {
  header_ = new QLabel(tr("Select a token to read the lens at it."));
  header_->setWordWrap(true);
  header_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  table_ = new QTableWidget(0, kFirstRankColumn);
  table_->setObjectName(QStringLiteral("lensTable"));
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionMode(QAbstractItemView::NoSelection);
  table_->verticalHeader()->setVisible(false);
  // Compact rows so that a screenful holds many layers; the rest scrolls.
  table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 6);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
  table_->setMouseTracking(true);
  readout_ = new QLabel(tr("Hover a cell"));
  readout_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  layout->addWidget(header_);
  layout->addWidget(table_, 1);
  layout->addWidget(readout_);
  connect(table_, &QTableWidget::cellEntered, this, [this](int row, int column) { readout_->setText(readout_at(row, column)); });
}

void LensView::set_busy(bool busy) {
  if (busy) header_->setText(tr("Reading the lens…"));
}

void LensView::set_unavailable(const QString& why) {
  lens_ = {};
  table_->setRowCount(0);
  header_->setText(why);
}

void LensView::show_error(const QString& message) {
  lens_ = {};
  table_->setRowCount(0);
  header_->setText(tr("Could not read the lens: %1").arg(message));
}

void LensView::show_lens(workbench::LensCapture lens) {
  lens_ = std::move(lens);
  header_->setText(header_text());
  render();
}

QString LensView::token_label(TokenId id) const { return visible_token(lens_.bytes_of(id), id); }

QString LensView::header_text() const {
  if (lens_.empty()) return header_->text();
  QString text = tr("Position %1 (reads %2)").arg(lens_.pos).arg(token_label(lens_.input));
  if (lens_.chosen >= 0) text += tr(", which chose %1").arg(token_label(lens_.chosen));
  const TokenId best = lens_.final_top1();
  text += tr(" · final top-1 %1").arg(token_label(best));
  const int settled = lens_.settled_from();
  if (settled >= 0) text += tr(" · top-1 from layer %1 on").arg(settled);
  return text + tr(" · %1 ms").arg(lens_.ms, 0, 'f', 0);
}

void LensView::render() {
  const int ranks = lens_.empty() ? 0 : int(lens_.layers.front().top_k.size());
  table_->clear();
  table_->setColumnCount(kFirstRankColumn + ranks);
  QStringList headers{tr("Layer"), tr("KL to final"), tr("Final top-1")};
  for (int r = 0; r < ranks; ++r) headers << tr("#%1").arg(r + 1);
  table_->setHorizontalHeaderLabels(headers);
  table_->setRowCount(int(lens_.layers.size()));
  const bool dark = is_dark(palette());
  const QColor ink = dark ? QColor(Qt::white) : QColor(Qt::black);
  for (int row = 0; row < int(lens_.layers.size()); ++row) {
    const LayerLens& layer = lens_.layers[std::size_t(row)];
    auto* name = new QTableWidgetItem(QStringLiteral("%1 %2").arg(layer.layer).arg(QChar(lens_.kind_letter(layer.layer))));
    table_->setItem(row, 0, name);
    table_->setItem(row, 1, new QTableWidgetItem(QString::number(layer.kl_to_final, 'f', 3)));
    auto* final_rank = new QTableWidgetItem(tr("rank %1 · %2").arg(layer.final_top1_rank + 1).arg(format_percent(layer.final_top1_prob)));
    final_rank->setBackground(probability_color(layer.final_top1_prob, dark));
    final_rank->setForeground(ink);
    table_->setItem(row, 2, final_rank);
    for (int r = 0; r < int(layer.top_k.size()) && r < ranks; ++r) {
      const TopKEntry& entry = layer.top_k[std::size_t(r)];
      auto* cell = new QTableWidgetItem(QStringLiteral("%1  %2").arg(token_label(entry.id), format_percent(entry.prob)));
      cell->setBackground(probability_color(entry.prob, dark));
      cell->setForeground(ink);
      // The token this forward went on to choose stands out wherever a layer already predicts it.
      if (entry.id == lens_.chosen) {
        QFont bold = cell->font();
        bold.setBold(true);
        cell->setFont(bold);
      }
      cell->setToolTip(readout_at(row, kFirstRankColumn + r));
      table_->setItem(row, kFirstRankColumn + r, cell);
    }
  }
  table_->resizeColumnsToContents();
}

QString LensView::cell_text(int layer, int rank) const {
  const QTableWidgetItem* item = table_->item(layer, kFirstRankColumn + rank);
  return item ? item->text() : QString();
}

QColor LensView::cell_colour(int layer, int rank) const {
  const QTableWidgetItem* item = table_->item(layer, kFirstRankColumn + rank);
  return item ? item->background().color() : QColor();
}

QString LensView::kl_text(int layer) const {
  const QTableWidgetItem* item = table_->item(layer, 1);
  return item ? item->text() : QString();
}

QString LensView::final_rank_text(int layer) const {
  const QTableWidgetItem* item = table_->item(layer, 2);
  return item ? item->text() : QString();
}

QString LensView::readout_at(int row, int column) const {
  if (row < 0 || row >= int(lens_.layers.size())) return tr("Hover a cell");
  const LayerLens& layer = lens_.layers[std::size_t(row)];
  const QString where = tr("layer %1 (%2)").arg(layer.layer).arg(QChar(lens_.kind_letter(layer.layer)));
  const int rank = column - kFirstRankColumn;
  if (rank >= 0 && rank < int(layer.top_k.size())) {
    const TopKEntry& entry = layer.top_k[std::size_t(rank)];
    return tr("%1, rank %2: %3, p %4, logprob %5")
        .arg(where).arg(rank + 1).arg(token_label(entry.id), format_percent(entry.prob))
        .arg(double(entry.logprob), 0, 'f', 3);
  }
  return tr("%1: KL to final %2 nats; the final top-1 %3 is rank %4 here (p %5)")
      .arg(where).arg(layer.kl_to_final, 0, 'f', 4).arg(token_label(lens_.final_top1()))
      .arg(layer.final_top1_rank + 1).arg(format_percent(layer.final_top1_prob));
}

QString LensView::readout_text() const { return readout_->text(); }

void LensView::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange && !lens_.empty()) render();
}

}  // namespace logitscope::widgets
