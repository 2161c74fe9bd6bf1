// SPDX-License-Identifier: GPL-3.0-or-later
// Bridges a TelemetrySource (its own thread) to widgets (the GUI thread): each sample is emitted
// as a signal, which Qt queues to receivers on the GUI thread, so the panel never sees a
// half-written sample and the source never waits for a repaint.
#pragma once

#include <QObject>
#include <QString>

#include <memory>

#include "logitscope/telemetry/engine_counters.h"
#include "logitscope/telemetry/sample.h"
#include "logitscope/telemetry/source.h"

Q_DECLARE_METATYPE(logitscope::telemetry::Sample)
Q_DECLARE_METATYPE(logitscope::telemetry::EngineCounters)

class TelemetryFeed : public QObject {
  Q_OBJECT
 public:
  explicit TelemetryFeed(QObject* parent = nullptr);
  ~TelemetryFeed() override;
  // Takes the source and starts it; a previous source is stopped first. Throws TelemetryError.
  void start(std::unique_ptr<logitscope::telemetry::TelemetrySource> source);
  void stop();
  QString sourceName() const;

 signals:
  void sampleReady(const logitscope::telemetry::Sample& sample);
  void statusMessage(const QString& message);
  void finished();

 private:
  std::unique_ptr<logitscope::telemetry::TelemetrySource> source_;
};
