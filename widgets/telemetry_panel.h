// SPDX-License-Identifier: GPL-3.0-or-later
// The memory/throughput panel: scrolling time series of memory (RAM used, page cache, what the
// model holds, swap, GPU memory), GPU load and clock, power rails, temperatures and tokens/s over
// a fixed, selectable window. Pause, hover read-out, CSV export. Samples arrive as plain structs
// through addSample(); replots are coalesced by a single-shot timer and queued
// (rpQueuedReplot), so a 100 ms sampling interval costs one cheap repaint per timer tick.
#pragma once

#include <QString>
#include <QStringList>
#include <QTimer>
#include <QWidget>

#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "logitscope/telemetry/engine_counters.h"
#include "logitscope/telemetry/sample.h"

class QCustomPlot;
class QCPGraph;
class QComboBox;
class QLabel;
class QPushButton;

class TelemetryPanel : public QWidget {
  Q_OBJECT
 public:
  explicit TelemetryPanel(QWidget* parent = nullptr);

  double windowSeconds() const { return window_s_; }
  bool isPaused() const { return paused_; }
  // Writes the samples inside the window: one row per sample, one column per series.
  bool exportCsv(const QString& path, QString* error = nullptr) const;
  // The hover read-out for time `t` (seconds on the source's clock); also shown on mouse move.
  QString readoutAt(double t) const;
  int replotCount() const { return replots_; }
  int sampleCount() const { return static_cast<int>(rows_.size()); }
  QString memoryText() const;
  QString hintText() const;

 public slots:
  void addSample(const logitscope::telemetry::Sample& sample);
  void setEngineCounters(const logitscope::telemetry::EngineCounters& counters);
  void setWindowSeconds(double seconds);
  void setPaused(bool paused);
  void clear();
  // Model life cycle, for the "memory stays held after unloading" hint.
  void modelLoading();
  void modelUnloaded();
  void exportCsvInteractive();

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  struct Plot {
    QCustomPlot* plot = nullptr;
    std::map<QString, QCPGraph*> graphs;
    bool fixed_percent = false;  // left axis 0..100 %
  };
  struct Row {
    double t = 0;
    std::vector<std::pair<int, double>> values;  // column index, value
  };
  Plot makePlot(const QString& title, const QString& unit, bool percent_with_mhz = false);
  void ingest(const logitscope::telemetry::Sample& sample);
  void put(Plot& plot, const QString& series, double t, double value, bool right_axis = false);
  void scheduleReplot();
  void replotNow();
  void updateLabels();

  std::vector<Plot*> plots_;
  Plot memory_, gpu_, power_, temps_, tokens_;
  QComboBox* window_box_ = nullptr;
  QPushButton* pause_button_ = nullptr;
  QLabel* memory_label_ = nullptr;
  QLabel* hint_label_ = nullptr;
  QLabel* readout_label_ = nullptr;
  QTimer replot_timer_;
  double window_s_ = 60;
  bool paused_ = false;
  int replots_ = 0;
  double latest_t_ = 0;
  bool have_data_ = false;
  std::deque<logitscope::telemetry::Sample> pending_;  // held while paused
  std::deque<Row> rows_;
  QStringList columns_;
  std::map<QString, int> column_index_;
  std::optional<logitscope::telemetry::Sample> last_sample_;
  logitscope::telemetry::EngineCounters counters_;
  logitscope::telemetry::HeldMemoryWatch held_watch_;
  bool hint_visible_ = false;
};
