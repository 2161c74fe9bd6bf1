// SPDX-License-Identifier: GPL-3.0-or-later
#include "telemetry_feed.h"

TelemetryFeed::TelemetryFeed(QObject* parent) : QObject(parent) {
  qRegisterMetaType<logitscope::telemetry::Sample>();
  qRegisterMetaType<logitscope::telemetry::EngineCounters>();
}

TelemetryFeed::~TelemetryFeed() { stop(); }

void TelemetryFeed::start(std::unique_ptr<logitscope::telemetry::TelemetrySource> source) {
  stop();
  source_ = std::move(source);
  if (!source_) return;
  // These lambdas run on the source's thread; emitting from there queues to GUI-thread receivers.
  source_->start({[this](logitscope::telemetry::Sample s) { emit sampleReady(s); },
                  [this](const std::string& m) { emit statusMessage(QString::fromStdString(m)); },
                  [this] { emit finished(); }});
}

void TelemetryFeed::stop() {
  if (source_) source_->stop();  // joins: no signal is emitted after this returns
}

QString TelemetryFeed::sourceName() const {
  return source_ ? QString::fromStdString(source_->name()) : QString();
}
