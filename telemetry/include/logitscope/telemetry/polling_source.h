// SPDX-License-Identifier: GPL-3.0-or-later
// Base for sources that are read on a timer (NVML, /proc): a thread calls poll() every interval.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "logitscope/telemetry/source.h"

namespace logitscope::telemetry {

class PollingSource : public TelemetrySource {
 public:
  explicit PollingSource(std::chrono::milliseconds interval) : interval_(interval) {}
  ~PollingSource() override;
  void start(SourceCallbacks callbacks) override;
  void stop() override;
  bool running() const override { return running_; }

  // One reading, on the caller's thread. time_s is set from the source's start.
  virtual std::optional<Sample> poll() = 0;

 protected:
  double elapsed_s() const;

 private:
  void loop();
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  SourceCallbacks callbacks_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_requested_ = false;
  std::atomic<bool> running_{false};
};

}  // namespace logitscope::telemetry
