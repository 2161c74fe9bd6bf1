// SPDX-License-Identifier: GPL-3.0-or-later
// MoE routing as a layers x experts colour map (QCPColorMap, no interpolation) with a colour scale,
// a hover read-out and a per-expert usage histogram. Shows the selected token's combine weights, or
// choice counts summed over the selected span or the whole answer.
#pragma once

#include <QWidget>

#include "routing_grid.h"

class QComboBox;
class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QCPBars;
class QLabel;
class QTimer;

namespace logitscope::workbench {
class EventStore;
}  // namespace logitscope::workbench

namespace logitscope::widgets {

class RoutingHeatmap : public QWidget {
  Q_OBJECT
 public:
  enum class Mode { SelectedToken = 0, SelectedSpan = 1, WholeAnswer = 2 };

  explicit RoutingHeatmap(workbench::EventStore* store, QWidget* parent = nullptr);

  void set_mode(Mode mode);
  Mode mode() const { return mode_; }
  // The grid on screen (tests compare it with the events) and the colour map's cell data.
  const RoutingGrid& grid() const { return grid_; }
  double cell_value(int row, int expert) const;  // read back from QCPColorMapData
  std::vector<double> histogram_values() const;
  // What the read-out says for a pixel of the map plot (the hover logic).
  QString readout_at(const QPoint& pixel) const;
  QString readout_text() const;
  QCustomPlot* map_plot() const { return map_plot_; }
  // Redraws now instead of at the next coalesced tick.
  void refresh();

 protected:
  void changeEvent(QEvent* event) override;

 private:
  void schedule();
  void setup_plots();
  // The events the current mode covers: [begin, end).
  std::pair<int, int> current_range() const;

  workbench::EventStore* store_;
  Mode mode_ = Mode::SelectedToken;
  RoutingGrid grid_;
  QComboBox* mode_box_;
  QLabel* readout_;
  QLabel* caption_;
  QCustomPlot* map_plot_;
  QCustomPlot* hist_plot_;
  QCPColorMap* map_;
  QCPColorScale* scale_;
  QCPBars* bars_;
  QTimer* replot_timer_;
};

}  // namespace logitscope::widgets
