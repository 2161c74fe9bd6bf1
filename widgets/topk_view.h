// SPDX-License-Identifier: GPL-3.0-or-later
// The top-k alternatives of one token (hovered, else selected) or of the token about to be chosen:
// a QCustomPlot bar chart of probabilities and logprobs plus a table to pick a candidate from.
// Picking one asks for it to be forced at that position (a new branch when the position is earlier).
// The axis labels as many candidates as fit a line each (always the best and the chosen one); a
// hover over a bar names it, and the table lists all.
#pragma once

#include <QWidget>

#include <vector>

#include "logitscope/events.h"

class QCustomPlot;
class QCPBars;
class QCPGraph;
class QLabel;
class QPushButton;
class QTableWidget;
class QTimer;

namespace logitscope::workbench {
class EventStore;
}  // namespace logitscope::workbench

namespace logitscope::widgets {

class TopKView : public QWidget {
  Q_OBJECT
 public:
  explicit TopKView(workbench::EventStore* store, QWidget* parent = nullptr);

  // Shows token `index` while the mouse is over it; -1 goes back to the selection.
  void set_hovered(int index);

  // What is shown: the index in the store the candidates are for (== size() for the next token),
  // the entries and the chart's data (tests compare them with the event).
  int shown_index() const { return shown_index_; }
  const std::vector<TopKEntry>& shown_entries() const { return entries_; }
  std::vector<double> chart_probabilities() const;
  std::vector<double> chart_logprobs() const;
  QString chart_label(int rank) const;          // "" where the axis leaves the rank unlabelled
  std::vector<int> chart_labelled_ranks() const;  // ranks with a label on the chart's axis
  // Axis position (pixels) of a rank's bar centre; for tests that check labels do not overlap.
  double chart_rank_pixel(int rank) const;
  QTableWidget* table() const { return table_; }
  void refresh();

 signals:
  // Force `id` as token `index` (index == store size: the next token). `run`: keep generating.
  void candidate_chosen(int index, logitscope::TokenId id, bool run);

 protected:
  void changeEvent(QEvent* event) override;

 private:
  void schedule();
  void choose(bool run);
  void label_chart();  // the axis labels that fit the chart's current height

  workbench::EventStore* store_;
  int hovered_ = -1;
  int shown_index_ = -1;
  std::vector<TopKEntry> entries_;
  TokenId chosen_id_ = -1;
  QStringList labels_;           // [entries_] token text of each rank
  std::vector<int> labelled_;    // ranks labelled on the axis
  double labelled_height_ = -1;  // the axis rect height (px) the labels were chosen for
  QLabel* header_;
  QCustomPlot* plot_;
  QCPBars* prob_bars_;
  QCPGraph* logprob_dots_;
  QTableWidget* table_;
  QPushButton* step_button_;
  QPushButton* run_button_;
  QTimer* replot_timer_;
};

}  // namespace logitscope::widgets
