// SPDX-License-Identifier: GPL-3.0-or-later
// Entropy of the next-token distribution over the generated tokens, with the selected position
// marked by a vertical line. Appends only add points; the replot is coalesced.
#pragma once

#include <QWidget>

class QCustomPlot;
class QCPGraph;
class QCPItemStraightLine;
class QTimer;

namespace logitscope::workbench {
class EventStore;
}  // namespace logitscope::workbench

namespace logitscope::widgets {

class EntropyPlot : public QWidget {
  Q_OBJECT
 public:
  explicit EntropyPlot(workbench::EventStore* store, QWidget* parent = nullptr);

  int point_count() const;
  double marker_position() const;  // NaN when hidden
  QCustomPlot* plot() const { return plot_; }
  void refresh();

 protected:
  void changeEvent(QEvent* event) override;

 private:
  void schedule();
  void update_marker();

  workbench::EventStore* store_;
  QCustomPlot* plot_;
  QCPGraph* graph_;
  QCPItemStraightLine* marker_;
  QTimer* replot_timer_;
  int generation_ = -1;
  double max_entropy_ = 1.0;
};

}  // namespace logitscope::widgets
