// SPDX-License-Identifier: GPL-3.0-or-later
#include "logitscope/telemetry/polling_source.h"

namespace logitscope::telemetry {

PollingSource::~PollingSource() {
  // Derived destructors must have stopped already (poll() is theirs); this is a safety net.
  stop();
}

double PollingSource::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

void PollingSource::start(SourceCallbacks callbacks) {
  stop();
  callbacks_ = std::move(callbacks);
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = false;
  }
  t0_ = std::chrono::steady_clock::now();
  running_ = true;
  thread_ = std::thread([this] { loop(); });
}

void PollingSource::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  running_ = false;
}

void PollingSource::loop() {
  auto next = std::chrono::steady_clock::now();
  while (true) {
    // Sleep first, as tegrastats does: the first reading of a delta-based source (CPU load from
    // /proc/stat) needs one interval to mean anything.
    next += interval_;
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_until(lock, next, [this] { return stop_requested_; })) break;
    }
    std::optional<Sample> sample;
    try {
      sample = poll();
    } catch (const std::exception& e) {
      if (callbacks_.on_status) callbacks_.on_status(name() + ": " + e.what());
    }
    if (sample && callbacks_.on_sample) callbacks_.on_sample(std::move(*sample));
    // A slow poll must not make the loop try to catch up with a burst.
    auto now = std::chrono::steady_clock::now();
    if (next < now - interval_) next = now;
  }
  running_ = false;
}

}  // namespace logitscope::telemetry
