// SPDX-License-Identifier: GPL-3.0-or-later
// Every producer of samples (tegrastats process, log replay, NVML, /proc) sits behind this interface.
// A source runs on its own thread and calls the sample callback there: a Qt receiver must hand the
// sample over with a queued signal (widgets/telemetry_feed.h does).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "logitscope/telemetry/sample.h"

namespace logitscope::telemetry {

// Errors a user can act on ("tegrastats was not found on PATH or in /usr/bin").
class TelemetryError : public std::runtime_error {
 public:
  explicit TelemetryError(const std::string& message) : std::runtime_error(message) {}
};

using SampleCallback = std::function<void(Sample)>;
// Restarts, exits and read errors, worded for a status bar.
using StatusCallback = std::function<void(const std::string&)>;
// Called once when a finite source (a replayed log) has delivered its last sample.
using FinishedCallback = std::function<void()>;

struct SourceCallbacks {
  SampleCallback on_sample;
  StatusCallback on_status;
  FinishedCallback on_finished;
};

class TelemetrySource {
 public:
  virtual ~TelemetrySource() = default;
  virtual std::string name() const = 0;  // "tegrastats", "replay", "nvml", "proc"
  // Starts the source's thread. Throws TelemetryError when it cannot start at all.
  virtual void start(SourceCallbacks callbacks) = 0;
  // Stops and joins the thread; no callback runs after stop() returns. Safe to call twice.
  virtual void stop() = 0;
  virtual bool running() const = 0;
};

enum class SourceKind { Auto, Tegrastats, Nvml, Proc };

// "auto", "tegrastats", "nvml", "proc"; throws TelemetryError naming the accepted values.
SourceKind parse_source_kind(const std::string& text);

struct SourceOptions {
  std::chrono::milliseconds interval{1000};
};

// Auto: tegrastats when it is installed, else NVML when the library loads and sees a GPU, else
// /proc. Throws TelemetryError when the requested kind is not available here.
std::unique_ptr<TelemetrySource> make_source(SourceKind kind, const SourceOptions& options);

}  // namespace logitscope::telemetry
