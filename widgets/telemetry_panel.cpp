// SPDX-License-Identifier: GPL-3.0-or-later
#include "telemetry_panel.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPushButton>
#include <QTextStream>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace tel = logitscope::telemetry;

namespace {

// Distinct hues that stay readable on a light background.
const QColor kPalette[] = {QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44), QColor(214, 39, 40),
                           QColor(148, 103, 189), QColor(140, 86, 75), QColor(227, 119, 194), QColor(127, 127, 127),
                           QColor(188, 189, 34), QColor(23, 190, 207)};

}  // namespace

TelemetryPanel::TelemetryPanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->setSpacing(2);

  auto* controls = new QHBoxLayout();
  controls->addWidget(new QLabel(tr("Window:"), this));
  window_box_ = new QComboBox(this);
  for (auto [label, seconds] : {std::pair{tr("30 s"), 30}, {tr("1 min"), 60}, {tr("5 min"), 300}, {tr("15 min"), 900}})
    window_box_->addItem(label, seconds);
  window_box_->setCurrentIndex(1);
  connect(window_box_, &QComboBox::currentIndexChanged, this,
          [this](int i) { setWindowSeconds(window_box_->itemData(i).toDouble()); });
  controls->addWidget(window_box_);
  pause_button_ = new QPushButton(tr("Pause"), this);
  pause_button_->setCheckable(true);
  connect(pause_button_, &QPushButton::toggled, this, &TelemetryPanel::setPaused);
  controls->addWidget(pause_button_);
  auto* export_button = new QPushButton(tr("Export CSV…"), this);
  connect(export_button, &QPushButton::clicked, this, &TelemetryPanel::exportCsvInteractive);
  controls->addWidget(export_button);
  controls->addStretch(1);
  layout->addLayout(controls);

  memory_label_ = new QLabel(this);
  memory_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(memory_label_);
  hint_label_ = new QLabel(this);
  hint_label_->setWordWrap(true);
  hint_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  hint_label_->setStyleSheet("QLabel { background: #fff3cd; color: #664d03; padding: 4px; }");
  hint_label_->hide();
  layout->addWidget(hint_label_);

  memory_ = makePlot(tr("Memory"), tr("GiB"));
  gpu_ = makePlot(tr("GPU"), tr("%"), true);
  power_ = makePlot(tr("Power"), tr("W"));
  temps_ = makePlot(tr("Temperature"), tr("°C"));
  tokens_ = makePlot(tr("Throughput"), tr("tok/s"));
  for (Plot* p : {&memory_, &gpu_, &power_, &temps_, &tokens_}) {
    plots_.push_back(p);
    layout->addWidget(p->plot, 1);
  }

  readout_label_ = new QLabel(tr("Hover over a plot for values."), this);
  readout_label_->setWordWrap(true);
  layout->addWidget(readout_label_);

  // Coalesce: however many samples arrive, at most one replot per tick.
  replot_timer_.setSingleShot(true);
  replot_timer_.setInterval(50);
  connect(&replot_timer_, &QTimer::timeout, this, &TelemetryPanel::replotNow);
  updateLabels();
}

TelemetryPanel::Plot TelemetryPanel::makePlot(const QString& title, const QString& unit, bool percent_with_mhz) {
  Plot scratch;
  auto* plot = new QCustomPlot(this);  // software rendering: no OpenGL (X forwarding, VNC, Xvfb)
  plot->setMinimumHeight(110);
  plot->xAxis->setLabel(tr("time (s)"));
  plot->yAxis->setLabel(title + " (" + unit + ")");
  if (percent_with_mhz) {
    plot->yAxis->setRange(0, 100);
    plot->yAxis2->setVisible(true);
    plot->yAxis2->setLabel(tr("clock (MHz)"));
    scratch.fixed_percent = true;
  }
  plot->legend->setVisible(true);
  QFont small = font();
  small.setPointSizeF(std::max(6.0, small.pointSizeF() * 0.8));
  plot->legend->setFont(small);
  plot->legend->setBrush(QColor(255, 255, 255, 200));
  // A wide, short legend in the top-right corner hides less of the traces than a tall one.
  plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  plot->legend->setWrap(4);
  plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  plot->setInteractions(QCP::Interactions());
  plot->setMouseTracking(true);
  plot->installEventFilter(this);
  scratch.plot = plot;
  return scratch;
}

void TelemetryPanel::put(Plot& p, const QString& series, double t, double value, bool right_axis) {
  auto it = p.graphs.find(series);
  if (it == p.graphs.end()) {
    QCPAxis* y = right_axis ? p.plot->yAxis2 : p.plot->yAxis;
    QCPGraph* g = p.plot->addGraph(p.plot->xAxis, y);
    g->setName(series);
    QPen pen(kPalette[p.graphs.size() % std::size(kPalette)]);
    pen.setWidthF(1.5);
    if (right_axis) pen.setStyle(Qt::DashLine);
    g->setPen(pen);
    it = p.graphs.emplace(series, g).first;
  }
  it->second->addData(t, value);

  const QString column = series + " [" + (right_axis ? QStringLiteral("MHz") : p.plot->yAxis->label().section('(', -1).chopped(1)) + "]";
  auto col = column_index_.find(column);
  if (col == column_index_.end()) {
    col = column_index_.emplace(column, static_cast<int>(columns_.size())).first;
    columns_.push_back(column);
  }
  if (rows_.empty() || rows_.back().t != t) rows_.push_back(Row{t, {}});
  rows_.back().values.emplace_back(col->second, value);
}

void TelemetryPanel::addSample(const tel::Sample& sample) {
  if (paused_) {
    pending_.push_back(sample);
    if (pending_.size() > 100000) pending_.pop_front();  // hours at 100 ms; keep memory bounded
    return;
  }
  ingest(sample);
  scheduleReplot();
}

void TelemetryPanel::ingest(const tel::Sample& s) {
  // A new source restarts its clock: start a fresh picture instead of drawing backwards.
  if (have_data_ && s.time_s + 1.0 < latest_t_) clear();
  const double t = s.time_s;
  latest_t_ = t;
  have_data_ = true;
  rows_.push_back(Row{t, {}});

  constexpr double kGiB = 1024.0;
  if (s.ram) {
    put(memory_, tr("RAM used"), t, s.ram->used_mb / kGiB);
    if (s.ram->cached_mb) put(memory_, tr("page cache"), t, *s.ram->cached_mb / kGiB);
  }
  if (s.swap) put(memory_, tr("swap used"), t, s.swap->used_mb / kGiB);
  if (counters_.device_allocated_mb) put(memory_, tr("model"), t, *counters_.device_allocated_mb / kGiB);
  if (s.device && s.device->mem_used_mb) put(memory_, tr("GPU memory used"), t, *s.device->mem_used_mb / kGiB);

  if (s.gpu) {
    // Thor prints no GPU load: leave the series empty rather than drawing a false 0 %.
    if (s.gpu->load_pct) put(gpu_, tr("GPU load"), t, *s.gpu->load_pct);
    if (auto f = s.gpu->max_freq_mhz()) put(gpu_, tr("GPU clock"), t, *f, true);
  }
  if (s.emc && s.emc->load_pct) put(gpu_, tr("EMC load"), t, *s.emc->load_pct);
  if (s.cpu) {
    if (auto load = s.cpu->mean_load_pct()) put(gpu_, tr("CPU load (mean)"), t, *load);
  }

  std::map<QString, int> seen;  // rails repeat (`NC` twice on AGX Orin JP5): number the repeats
  for (const auto& r : s.rails) {
    if (!r.cur_mw) continue;
    QString name = QString::fromStdString(r.name);
    int n = seen[name]++;
    if (n > 0) name += QStringLiteral(" #%1").arg(n + 1);
    put(power_, name, t, *r.cur_mw / 1000.0);
  }
  for (const auto& temp : s.temps) {
    if (temp.offline()) continue;  // -256C: sensor offline, not a reading
    put(temps_, QString::fromStdString(temp.name), t, temp.celsius);
  }
  if (counters_.prefill_tokens_per_s) put(tokens_, tr("prefill"), t, *counters_.prefill_tokens_per_s);
  if (counters_.decode_tokens_per_s) put(tokens_, tr("decode"), t, *counters_.decode_tokens_per_s);

  if (rows_.back().values.empty()) rows_.pop_back();
  last_sample_ = s;
  hint_visible_ = held_watch_.update(s);
}

void TelemetryPanel::setEngineCounters(const tel::EngineCounters& counters) {
  bool was_loaded = counters_.model_loaded;
  counters_ = counters;
  if (was_loaded && !counters.model_loaded) modelUnloaded();
  if (!was_loaded && counters.model_loaded) held_watch_.model_loaded();
  scheduleReplot();
}

void TelemetryPanel::modelLoading() {
  if (last_sample_) held_watch_.model_loading(*last_sample_);
}

void TelemetryPanel::modelUnloaded() { held_watch_.model_unloaded(latest_t_); }

void TelemetryPanel::setWindowSeconds(double seconds) {
  window_s_ = std::max(1.0, seconds);
  int index = window_box_->findData(static_cast<int>(window_s_));
  if (index >= 0 && index != window_box_->currentIndex()) window_box_->setCurrentIndex(index);
  scheduleReplot();
}

void TelemetryPanel::setPaused(bool paused) {
  if (paused_ == paused) return;
  paused_ = paused;
  if (pause_button_->isChecked() != paused) pause_button_->setChecked(paused);
  pause_button_->setText(paused ? tr("Resume") : tr("Pause"));
  if (!paused) {
    while (!pending_.empty()) {
      ingest(pending_.front());
      pending_.pop_front();
    }
    scheduleReplot();
  }
}

void TelemetryPanel::clear() {
  for (Plot* p : plots_) {
    p->plot->clearGraphs();
    p->graphs.clear();
  }
  rows_.clear();
  columns_.clear();
  column_index_.clear();
  pending_.clear();
  have_data_ = false;
  latest_t_ = 0;
  scheduleReplot();
}

void TelemetryPanel::scheduleReplot() {
  if (!replot_timer_.isActive()) replot_timer_.start();
}

void TelemetryPanel::replotNow() {
  const double lo = latest_t_ - window_s_;
  // Keep only the window: memory stays flat however long the panel runs.
  while (!rows_.empty() && rows_.front().t < lo) rows_.pop_front();
  for (Plot* p : plots_) {
    for (auto& [name, g] : p->graphs) g->data()->removeBefore(lo);
    // Until a full window has passed, show it from 0 so the trace grows left to right.
    if (lo < 0) p->plot->xAxis->setRange(0, window_s_);
    else p->plot->xAxis->setRange(lo, latest_t_);
    if (p->fixed_percent) {
      p->plot->yAxis->setRange(0, 100);
      p->plot->yAxis2->rescale(true);
      QCPRange r = p->plot->yAxis2->range();
      p->plot->yAxis2->setRange(0, std::max(100.0, r.upper * 1.1));
    } else {
      p->plot->yAxis->rescale(true);
      QCPRange r = p->plot->yAxis->range();
      double pad = std::max(0.05 * std::abs(r.upper - r.lower), 0.5 * std::max(1e-3, std::abs(r.upper) * 0.05));
      p->plot->yAxis->setRange(std::min(0.0, r.lower - pad), r.upper + pad);
    }
    p->plot->replot(QCustomPlot::rpQueuedReplot);
  }
  ++replots_;
  updateLabels();
}

QString TelemetryPanel::memoryText() const {
  if (!last_sample_) return tr("No telemetry yet.");
  auto b = tel::memory_breakdown(*last_sample_, counters_);
  auto gib = [](const std::optional<double>& mb) {
    return mb ? QString::number(*mb / 1024.0, 'f', 1) + " GiB" : QStringLiteral("n/a");
  };
  QString text = QStringLiteral("RAM used %1 of %2 · page cache %3 · model %4")
                     .arg(gib(b.used_mb), gib(b.total_mb), gib(b.cached_mb), gib(b.model_mb));
  if (b.unified) text += tr(" · unified memory (CPU and GPU share RAM)");
  if (b.gpu_total_mb) text += QStringLiteral(" · GPU %1 of %2").arg(gib(b.gpu_used_mb), gib(b.gpu_total_mb));
  if (counters_.time_to_first_token_ms)
    text += QStringLiteral(" · TTFT %1 ms").arg(*counters_.time_to_first_token_ms, 0, 'f', 0);
  return text;
}

QString TelemetryPanel::hintText() const {
  return hint_visible_ && last_sample_ ? QString::fromStdString(held_watch_.hint(*last_sample_)) : QString();
}

void TelemetryPanel::updateLabels() {
  memory_label_->setText(memoryText());
  QString hint = hintText();
  hint_label_->setText(hint);
  hint_label_->setVisible(!hint.isEmpty());
}

QString TelemetryPanel::readoutAt(double t) const {
  // The sample nearest to t, so a series that stopped (Thor has no GPU load) shows nothing stale.
  if (rows_.empty()) return tr("no data");
  auto it = std::lower_bound(rows_.begin(), rows_.end(), t, [](const Row& r, double x) { return r.t < x; });
  if (it == rows_.end() || (it != rows_.begin() && t - std::prev(it)->t < it->t - t)) --it;
  QStringList parts{QStringLiteral("t = %1 s").arg(it->t, 0, 'f', 1)};
  for (auto [col, value] : it->values) {
    const QString& column = columns_[col];
    int open = column.lastIndexOf(QStringLiteral(" ["));
    parts << QStringLiteral("%1 %2 %3")
                 .arg(column.left(open))
                 .arg(value, 0, 'f', std::abs(value) < 10 ? 2 : 0)
                 .arg(column.mid(open + 2).chopped(1));
  }
  return parts.join(QStringLiteral(" · "));
}

bool TelemetryPanel::eventFilter(QObject* watched, QEvent* event) {
  if (event->type() == QEvent::MouseMove) {
    for (const Plot* p : plots_) {
      if (p->plot != watched) continue;
      auto* me = static_cast<QMouseEvent*>(event);
      double t = p->plot->xAxis->pixelToCoord(me->position().x());
      QString text = readoutAt(t);
      readout_label_->setText(text);
      QToolTip::showText(me->globalPosition().toPoint(), text.replace(QStringLiteral(" · "), QStringLiteral("\n")), p->plot);
    }
  }
  return QWidget::eventFilter(watched, event);
}

bool TelemetryPanel::exportCsv(const QString& path, QString* error) const {
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text)) {
    if (error) *error = tr("cannot write %1: %2").arg(path, file.errorString());
    return false;
  }
  QTextStream out(&file);
  out << "time_s";
  for (const QString& c : columns_) out << ',' << '"' << QString(c).replace('"', "\"\"") << '"';
  out << '\n';
  for (const Row& row : rows_) {
    std::vector<std::optional<double>> cells(static_cast<std::size_t>(columns_.size()));
    for (auto [col, v] : row.values) cells[static_cast<std::size_t>(col)] = v;
    // 'g' formatting through QString::number is locale-independent: CSV stays '.'-decimal.
    out << QString::number(row.t, 'f', 3);
    for (const auto& cell : cells) out << ',' << (cell ? QString::number(*cell, 'g', 8) : QString());
    out << '\n';
  }
  return out.status() == QTextStream::Ok;
}

void TelemetryPanel::exportCsvInteractive() {
  QString path = QFileDialog::getSaveFileName(this, tr("Export telemetry"), QStringLiteral("telemetry.csv"),
                                              tr("CSV files (*.csv)"));
  if (path.isEmpty()) return;
  QString error;
  if (!exportCsv(path, &error)) readout_label_->setText(error);
}
